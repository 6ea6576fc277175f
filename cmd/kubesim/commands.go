package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/library"
	"github.com/kubesim/kubesim/scenarios/runner"
)

func newScenariosCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:     "scenarios",
		Aliases: []string{"list"},
		Short:   "List the built-in scenarios",
		Long: `scenarios lists the built-in scenario library, one line each: the name to give
kubesim run and what the scenario shows.`,
		Example: `  kubesim scenarios
  kubesim run $(kubesim scenarios | awk 'NR==2 {print $1}')`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDESCRIPTION")
			for _, s := range library.List() {
				fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
			}
			return tw.Flush()
		},
	}
}

func newValidateCmd(e env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "validate SCENARIO...",
		Short: "Check scenario files without running them",
		Long: `validate makes every check kubesim run makes before it runs anything: YAML syntax,
unknown or misspelled fields (in the scenario and in its manifests), types, actions
and the fields they need, durations, times past spec.duration, references to nodes
and objects that never exist, node faults that do not fit the node's state then
(recovering a running node, crashing a crashed one, a zone with nothing to fail or
recover), and the API server's validation of every manifest.
Each problem is printed on stderr as FILE:LINE: field.path: message (FILE: message
when the file cannot be read).

With --output json it also prints one JSON document on stdout: "valid" (every
scenario is) and "files", per SCENARIO its "file" (as given), "valid", "scenario"
(its name, when valid) and "errors", each with "source" (FILE:LINE), "file",
"line", "column" (when known), "path" (when in a field) and "message": the items
kubesim run --output json prints when a scenario is invalid.

Exit codes: 0 every scenario is valid; 2 a scenario has problems; 3 an internal
error (a bug in kubesim).`,
		Example: `  kubesim validate my-scenario.yaml
  kubesim validate scenarios/*.yaml
  kubesim validate node-failure   # a built-in
  kubesim validate -o json scenarios/*.yaml | jq -r '.files[].errors[] | "\(.source): \(.message)"'`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("%s needs at least one SCENARIO (see %s --help)", c.CommandPath(), c.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("--output must be text or json, not %q", output)
			}
			doc := struct {
				Valid bool                 `json:"valid"`
				Files []runner.InputReport `json:"files"`
			}{Valid: true, Files: []runner.InputReport{}}
			for _, arg := range args {
				sc, err := loadScenario(arg)
				if err != nil {
					err = unwrapExit(err)
					printError(e.stderr, err)
					doc.Valid = false
					doc.Files = append(doc.Files, runner.NewInputReport(arg, nil, err))
					continue
				}
				doc.Files = append(doc.Files, runner.NewInputReport(arg, sc, nil))
				if output == "text" {
					fmt.Fprintf(e.stdout, "%s: valid: %s\n", arg, describeScenario(sc))
				}
			}
			if output == "json" {
				if err := writeJSON(e.stdout, doc); err != nil {
					return &exitError{code: exitFailed, err: err}
				}
			}
			if !doc.Valid {
				return &exitError{code: exitUsage}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json (one JSON document, for scripts; the errors stay on stderr too)")
	return cmd
}

func unwrapExit(err error) error {
	if ee, ok := err.(*exitError); ok && ee.err != nil {
		return ee.err
	}
	return err
}

// describeScenario says what a scenario holds, in one line.
func describeScenario(sc *scenarios.Scenario) string {
	plural := func(n int, what string) string {
		if n == 1 {
			return "1 " + what
		}
		return fmt.Sprintf("%d %ss", n, what)
	}
	return fmt.Sprintf("%s, %s, %s, %s over %s (seed %d)", plural(len(sc.NodeNames()), "node"),
		plural(len(sc.InitialObjects()), "object"), plural(len(sc.Spec.Events), "event"),
		plural(len(sc.Spec.Expect), "expectation"), scenarios.FormatDuration(sc.Spec.Duration), sc.Spec.Seed)
}

func newExplainCmd(e env) *cobra.Command {
	var scenario, namespace string
	var at time.Duration
	var seed uint64
	cmd := &cobra.Command{
		Use:   "explain pod/NAME --scenario SCENARIO [--at TIME]",
		Short: "Explain why a pod is on its node, still Pending, not Ready, or gone",
		Long: `explain runs SCENARIO up to --at (default: its end) and answers "why is this pod on
that node / still Pending / not Ready / what happened to it". From the scheduler's
record: every scheduling attempt of the pod, and for the latest one the nodes each
filter rejected and why, the score of every feasible node per plugin, preemption,
and what the pod waits for. As kubectl describe pod shows them: its containers
(State, Last State, Ready, Restart Count; a not-ready container's last probe
failure), its Conditions and its last 10 Events, with simulated times since the
start of the run. For a Terminating pod it also says since when, why it was
deleted (its DisruptionTarget condition) and whether its node can confirm the
deletion; for a pod deleted before then, how it ended: its DisruptionTarget
condition or who deleted it, when, and its last phase.

Pod names are those the timeline of kubesim run prints (pod/NAME, or
NAMESPACE/pod/NAME outside the default namespace), and instants are printed as
its clock (h:mm:ss.mmm: "attempt 3 at 0:05:30.000"); durations as durations
("grace period 30s").

Exit codes: 0 explained; 1 the pod does not exist then and was never scheduled
nor deleted; 2 bad input or usage; 3 an internal error (a bug in kubesim).`,
		Example: `  kubesim explain pod/big --scenario pending-pods
  kubesim explain pod/big --scenario pending-pods --at 1m
  kubesim explain shop/pod/api-5d8f7c9b4-x2x4k --scenario ./shop.yaml --seed 7`,
		Args: exactArgs(1, "one pod/NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, name, err := podRef(args[0], namespace)
			if err != nil {
				return err
			}
			if scenario == "" {
				return usageError("explain needs --scenario SCENARIO (a file or a built-in name)")
			}
			if at < 0 || (at == 0 && cmd.Flags().Changed("at")) {
				return usageError("--at must be greater than 0 (the simulated time to explain at), got %s", at)
			}
			sc, err := loadScenario(scenario)
			if err != nil {
				return err
			}
			opts := runner.Options{Until: at}
			if cmd.Flags().Changed("seed") {
				opts.Seed = &seed
			}
			r, err := runner.New(sc, opts)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			r.Finish()
			text, err := r.Explain(ns, name)
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("%v (seed %d)", err, r.Seed())}
			}
			fmt.Fprint(e.stdout, strings.TrimRight(text, "\n")+"\n")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&scenario, "scenario", "s", "", "the scenario to run (a file or a built-in name)")
	fl.DurationVar(&at, "at", 0, "explain at this simulated time (default: the end of the scenario)")
	fl.Uint64Var(&seed, "seed", 0, "random seed of the run (default: the scenario's spec.seed)")
	fl.StringVarP(&namespace, "namespace", "n", scenarios.DefaultNamespace, "namespace of a pod given as pod/NAME")
	return cmd
}
