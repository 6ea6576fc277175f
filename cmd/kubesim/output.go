package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/runner"
)

// writeText prints the end of a run for people: the summary (unless
// quiet), explanations, every expectation, the errors and the verdict with
// the rerun command line that replays the run.
func writeText(w io.Writer, res *runner.Result, rerun string, quiet bool, explanations []string) {
	if !quiet {
		fmt.Fprintf(w, "\nSUMMARY at %s (%d engine events, store revision %d)\n", scenarios.FormatDuration(res.RanUntil), res.Events, res.Revision)
		writeSummary(w, res.Summary)
	}
	for _, s := range explanations {
		fmt.Fprintf(w, "\nEXPLAIN %s", s)
	}
	fmt.Fprintln(w, "\nEXPECTATIONS")
	if len(res.Expectations) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	width := timingWidth(res.Expectations)
	for _, e := range res.Expectations {
		fmt.Fprintln(w, "  "+expectationLine(e, res.Seed, width))
	}
	if len(res.Errors) > 0 {
		fmt.Fprintln(w, "\nERRORS")
		for _, e := range res.Errors {
			fmt.Fprintf(w, "  %s (seed %d)\n", e, res.Seed)
		}
	}
	passed, failed, pending := res.Counts()
	verdict := "PASS"
	if !res.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n%s: %d passed, %d failed", verdict, passed, failed)
	if pending > 0 {
		fmt.Fprintf(w, ", %d not checked (after --until)", pending)
	}
	if len(res.Errors) > 0 {
		noun := "errors"
		if len(res.Errors) == 1 {
			noun = "error"
		}
		fmt.Fprintf(w, ", %d %s", len(res.Errors), noun)
	}
	fmt.Fprintf(w, " (seed %d; rerun: %s)\n", res.Seed, rerun)
}

// writeJSON writes v as the one indented JSON document of -o json, with
// <, > and & as they are (they appear in messages and jsonpaths).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// rerunCommand is the command line that replays a run exactly: the
// scenario, the seed and, when the run was given one, --until (0: none).
// Nothing else changes what happens in a run: the other flags choose what
// is printed (-o, -q, --explain, -n) or written (--trace, --metrics).
func rerunCommand(name string, seed uint64, until time.Duration) string {
	cmd := fmt.Sprintf("kubesim run %s --seed %d", shellQuote(name), seed)
	if until > 0 {
		cmd += " --until " + scenarios.FormatDuration(until)
	}
	return cmd
}

// shellSafe matches the words a POSIX shell takes as they are.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// timingWidth is the width of the expectations' timing column: at least
// 14, wider when a timing is ("throughout 30s-10m"), so that the
// descriptions start in one column.
func timingWidth(results []scenarios.Result) int {
	width := 14
	for _, e := range results {
		width = max(width, len(e.Expectation.When()))
	}
	return width
}

// expectationLine prints one expectation's outcome, its timing padded to
// width.
func expectationLine(e scenarios.Result, seed uint64, width int) string {
	x := e.Expectation
	when := x.When()
	switch e.Status {
	case scenarios.Passed:
		return fmt.Sprintf("PASS  %-*s %s (decided at %s)", width, when, x.Description(), scenarios.FormatDuration(e.DecidedAt.Truncate(time.Millisecond)))
	case scenarios.Failed:
		return fmt.Sprintf("FAIL  %-*s %s: decided at %s, observed %q, wants %s [%s, seed %d]",
			width, when, x.Description(), scenarios.FormatDuration(e.DecidedAt.Truncate(time.Millisecond)), e.Observed, x.Wants(), x.Source, seed)
	}
	return fmt.Sprintf("----  %-*s %s: not checked, the run stopped before %s", width, when, x.Description(), scenarios.FormatDuration(x.Time))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func nsName(ns, name string) string {
	if ns == "" || ns == scenarios.DefaultNamespace {
		return name
	}
	return ns + "/" + name
}

// writeSummary prints the cluster at the end of the run as tables.
func writeSummary(w io.Writer, s runner.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  NODES\tZONE\tSTATUS\tPODS\tCPU REQ/ALLOC\tMEMORY REQ/ALLOC\tTAINTS\n")
	if len(s.Nodes) == 0 {
		fmt.Fprintf(tw, "  (none)\n")
	}
	for _, n := range s.Nodes {
		// STATUS is kubectl get nodes' (Ready, NotReady, Unknown, then
		// SchedulingDisabled when cordoned); the node's unschedulable
		// taint is listed with the others.
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\t%s\n", n.Name, dash(n.Zone), n.Status, n.Pods, n.CPU, n.Memory, dash(strings.Join(n.Taints, ",")))
	}
	tw.Flush()
	for _, n := range s.Nodes {
		if len(n.DrainWaiting) == 0 {
			continue
		}
		pods := make([]string, len(n.DrainWaiting))
		for i, key := range n.DrainWaiting {
			ns, name, _ := strings.Cut(key, "/")
			pods[i] = nsName(ns, name)
		}
		fmt.Fprintf(w, "  %s: the drain still retries evicting %d pod(s), which the API refused (429: a PodDisruptionBudget forbids it): %s\n",
			n.Name, len(pods), strings.Join(pods, ", "))
	}
	if len(s.Deployments) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(tw, "  DEPLOYMENTS\tREADY\tUP-TO-DATE\tAVAILABLE\tREVISION\n")
		for _, d := range s.Deployments {
			fmt.Fprintf(tw, "  %s\t%d/%d\t%d\t%d\t%s\n", nsName(d.Namespace, d.Name), d.Ready, d.Replicas, d.Updated, d.Available, dash(d.Revision))
		}
		tw.Flush()
	}
	if len(s.HPAs) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(tw, "  HPAS\tREFERENCE\tTARGETS\tMIN\tMAX\tCURRENT\tDESIRED\n")
		for _, h := range s.HPAs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%d\n", nsName(h.Namespace, h.Name), h.Target, h.Targets, h.Min, h.Max, h.Current, h.Desired)
		}
		tw.Flush()
	}
	p := s.Pods
	fmt.Fprintf(w, "\n  PODS  %d total: %d Running (%d ready), %d Pending (%d unschedulable), %d Succeeded, %d Failed",
		p.Total, p.Running, p.Ready, p.Pending, p.Unschedulable, p.Succeeded, p.Failed)
	if p.Unknown > 0 {
		fmt.Fprintf(w, ", %d Unknown", p.Unknown)
	}
	fmt.Fprintf(w, "; %d Terminating\n", p.Terminating)
	if len(s.Services) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(tw, "  SERVICES\tTYPE\tCLUSTER-IP\tENDPOINTS READY\tNOT READY\tTERMINATING\tREQUESTS SERVED\tFAILED\n")
		for _, svc := range s.Services {
			clusterIP := svc.ClusterIP
			if clusterIP == "" {
				clusterIP = "<none>" // kubectl get services' CLUSTER-IP (printService)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", nsName(svc.Namespace, svc.Name), svc.Type, clusterIP,
				svc.Ready, svc.NotReady, svc.Terminating, svc.Served, svc.Failed)
		}
		tw.Flush()
	}
}
