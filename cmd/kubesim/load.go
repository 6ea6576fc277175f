package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/kubesim/kubesim/internal/suggest"
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
	if arg == "-" {
		if _, err := os.Stat(arg); err != nil {
			return nil, usageError("kubesim does not read a scenario from standard input (\"-\"): write it to a file and give its path (spec.files are read relative to the file's directory)")
		}
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
		arg, suggest.Hint(arg, library.Names()), strings.Join(library.Names(), ", "))
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
