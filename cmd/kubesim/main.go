// Command kubesim runs simulated Kubernetes clusters: deterministic,
// event-driven, an hour of cluster time in well under a second.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil && ee.err.Error() != "" {
				fmt.Fprintln(os.Stderr, "kubesim:", ee.err)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "kubesim:", err)
		os.Exit(2)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "kubesim",
		Short: "A deterministic, event-driven Kubernetes cluster simulator",
		Long: `kubesim runs a whole Kubernetes cluster (API server, etcd-style store, scheduler,
kubelets, controllers, kube-proxy and service traffic) as one deterministic program
on a virtual clock. The same scenario and seed always give the same history.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDemoCmd())
	return root
}
