package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kubesim/kubesim/scenarios"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
	// exitInternal is a bug in kubesim (a panic). Go's own exit code for a
	// panic is 2, which would read as bad input.
	exitInternal = 3
)

// exitError carries a process exit code through cobra. A nil err means
// the command already printed what there was to say.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is bad input: exit code 2.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// env is what commands write to and know about their terminal.
type env struct {
	stdout, stderr io.Writer
	// terminal reports whether stdout is a terminal (progress bar).
	terminal bool
	// columns is the terminal's width, 0 if unknown.
	columns int
}

func main() {
	e := env{stdout: os.Stdout, stderr: os.Stderr, terminal: term.IsTerminal(int(os.Stdout.Fd()))}
	if e.terminal {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
			e.columns = w
		}
	}
	os.Exit(execute(os.Args[1:], e))
}

// execute runs the command line and returns the exit code.
func execute(args []string, e env) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "kubesim: internal error (a bug in kubesim; please report it with the command line): %v\n%s", r, debug.Stack())
			code = exitInternal
		}
	}()
	stdout := &stickyWriter{w: e.stdout}
	e.stdout = stdout
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.Execute()
	var ee *exitError
	switch {
	case err == nil:
		code = exitOK
	case errors.As(err, &ee):
		if ee.err != nil {
			printError(e.stderr, ee.err)
		}
		code = ee.code
	default:
		printError(e.stderr, err)
		code = exitUsage
	}
	// Output that could not be written (a full disk) fails the command,
	// as a --trace or --metrics file that cannot be written fails a run: a
	// script must not take a truncated report for a complete one.
	if stdout.err != nil {
		wrote := err != nil && errors.Is(err, stdout.err)
		if !wrote {
			printError(e.stderr, stdout.err)
		}
		if code == exitOK || wrote {
			code = exitFailed
		}
	}
	return code
}

// stickyWriter remembers the first error of its writer and refuses every
// write after it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// printError prints an error; a scenario ErrorList is printed one
// FILE:LINE: line each, as compilers do.
func printError(w io.Writer, err error) {
	var list scenarios.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(w, e.Error())
		}
		n := "1 error"
		if len(list) != 1 {
			n = fmt.Sprintf("%d errors", len(list))
		}
		fmt.Fprintf(w, "kubesim: %s; nothing was run\n", n)
		return
	}
	fmt.Fprintln(w, "kubesim:", err)
}

func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubesim",
		Short: "A deterministic, event-driven Kubernetes cluster simulator",
		Long: `kubesim runs a whole Kubernetes cluster (API server, etcd-style store, scheduler,
kubelets, controllers, kube-proxy and service traffic) as one deterministic program
on a virtual clock. The same scenario and seed always give the same history.

Exit codes: 0 all expectations passed, 1 the run failed (an expectation failed,
an action errored, a pod to explain does not exist and was never scheduled nor
deleted, or
the output, the --trace or the --metrics file could not be written), 2 bad input
or usage (nothing was run), 3 an internal error (a bug in kubesim).`,
		Example: `  kubesim scenarios                       # the built-in library
  kubesim run node-failure                # run a built-in scenario
  kubesim run my-scenario.yaml --seed 7   # run a file with another seed
  kubesim validate my-scenario.yaml       # check a file without running it
  kubesim explain pod/big --scenario pending-pods`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(newDemoCmd(), newRunCmd(e), newScenariosCmd(e), newValidateCmd(e), newExplainCmd(e))
	return root
}

// exactArgs is cobra.ExactArgs with exit code 2 and a hint.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s needs %s (see %s --help)", c.CommandPath(), what, c.CommandPath())
		}
		return nil
	}
}
