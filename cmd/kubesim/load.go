package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/library"
	"github.com/kubesim/kubesim/scenarios/runner"
)

// loadScenario loads SCENARIO: a file path, or the name of a built-in
// scenario. Every problem is a usage error (exit 2): nothing runs.
func loadScenario(arg string) (*scenarios.Scenario, error) {
	if arg == "" {
		return nil, usageError("the scenario name or file is empty")
	}
	looksLikeFile := strings.ContainsRune(arg, os.PathSeparator) || strings.ContainsRune(arg, '/') ||
		strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml")
	if _, err := os.Stat(arg); err == nil || looksLikeFile {
		sc, err := runner.Load(arg)
		if err != nil {
			return nil, &exitError{code: exitUsage, err: err}
		}
		return sc, nil
	}
	if library.Has(arg) {
		sc, err := library.Load(arg, scenarios.WithValidator(runner.Validator()))
		if err != nil {
			return nil, &exitError{code: exitUsage, err: err}
		}
		return sc, nil
	}
	return nil, usageError("%q is neither a scenario file nor a built-in scenario%s (built-ins: %s; see kubesim scenarios)",
		arg, didYouMean(arg, library.Names()), strings.Join(library.Names(), ", "))
}

// displayName is how a scenario is named in rerun hints: the file path or
// the built-in name.
func displayName(arg string) string {
	if library.Has(arg) {
		if _, err := os.Stat(arg); err != nil {
			return arg
		}
	}
	return filepath.ToSlash(arg)
}

// didYouMean suggests the closest name (edit distance at most 3).
func didYouMean(s string, names []string) string {
	best, bestD := "", 4
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// podRef parses what the timeline prints for a pod, as --explain takes it:
// pod/NAME or NAMESPACE/pod/NAME (po and pods work too).
func podRef(s, namespace string) (ns, name string, err error) {
	parts := strings.Split(s, "/")
	switch len(parts) {
	case 2:
		ns = namespace
	case 3:
		ns, parts = parts[0], parts[1:]
	default:
		return "", "", usageError("%q: name a pod as pod/NAME or NAMESPACE/pod/NAME", s)
	}
	switch parts[0] {
	case "pod", "pods", "po":
	default:
		return "", "", usageError("%q: explain answers for pods only (pod/NAME), not %s", s, parts[0])
	}
	if parts[1] == "" || ns == "" {
		return "", "", usageError("%q: empty pod name or namespace", s)
	}
	return ns, parts[1], nil
}
