package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios/runner"
)

// runInputDoc is what kubesim run -o json prints on exit 2.
type runInputDoc struct {
	runner.InputReport
	Passed bool `json:"passed"`
}

// decodeOne decodes stdout as exactly one JSON document with no unknown key.
func decodeOne(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v), out)
	assert.False(t, dec.More(), "exactly one document")
}

// errorText is the text line an input error item stands for, as stderr
// prints it.
func errorText(e runner.ReportInputError) string {
	switch {
	case e.Source == "":
		return "kubesim: " + e.Message
	case e.Path == "":
		return e.Source + ": " + e.Message
	}
	return e.Source + ": " + e.Path + ": " + e.Message
}

// On exit 2 kubesim run -o json prints one document with every input
// error (file, line, field path, message), as stderr still prints them as
// FILE:LINE: field.path: message lines; it printed nothing on stdout.
func TestRunJSONPrintsTheInputErrorsOnExitTwo(t *testing.T) {
	for name, tc := range badInputs {
		t.Run(name, func(t *testing.T) {
			file := write(t, "bad.yaml", tc.doc)
			code, out, errOut := cli(t, "run", file, "-o", "json")
			require.Equal(t, exitUsage, code)
			var doc runInputDoc
			decodeOne(t, out, &doc)
			assert.Equal(t, file, doc.File)
			assert.False(t, doc.Valid)
			assert.False(t, doc.Passed)
			assert.Empty(t, doc.Scenario, "not known when the file does not load")
			require.NotEmpty(t, doc.Errors)
			for _, e := range doc.Errors {
				assert.Equal(t, file, e.File)
				assert.Equal(t, fmt.Sprintf("%s:%d", e.File, e.Line), e.Source)
				assert.Contains(t, errOut, errorText(e)+"\n", "the same error as the text on stderr")
			}
			assert.Contains(t, errOut, filepath.Dir(file)+"/"+tc.want+"\n", "stderr is as before")
			assert.Contains(t, errOut, "nothing was run")
		})
	}

	// The path and the line, as numbers and strings a CI annotation takes.
	file := write(t, "bad.yaml", "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1m\n  seeed: 1\n")
	_, out, _ := cli(t, "run", file, "-o", "json")
	var doc runInputDoc
	decodeOne(t, out, &doc)
	assert.Equal(t, []runner.ReportInputError{{Source: file + ":5", File: file, Line: 5, Column: 3, Path: "spec.seeed",
		Message: `unknown field "seeed" (did you mean "seed"?)`}}, doc.Errors)

	// A file that cannot be read has no line; a name that is neither a
	// file nor a built-in has no file either.
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	code, out, errOut := cli(t, "run", missing, "-o", "json")
	assert.Equal(t, exitUsage, code)
	doc = runInputDoc{}
	decodeOne(t, out, &doc)
	assert.Equal(t, []runner.ReportInputError{{Source: missing, File: missing, Message: "cannot read scenario: no such file or directory"}}, doc.Errors)
	assert.Equal(t, missing+": cannot read scenario: no such file or directory\nkubesim: 1 error; nothing was run\n", errOut)

	code, out, errOut = cli(t, "run", "node-failur", "-o", "json")
	assert.Equal(t, exitUsage, code)
	doc = runInputDoc{}
	decodeOne(t, out, &doc)
	assert.Equal(t, "node-failur", doc.File)
	require.Len(t, doc.Errors, 1)
	assert.Contains(t, doc.Errors[0].Message, `did you mean "node-failure"?`)
	assert.Equal(t, errorText(doc.Errors[0])+"\n", errOut)
}

// Errors in how kubesim is called, rather than in the scenario, stay text
// on stderr: the command line is the caller's own.
func TestRunJSONUsageErrorsStayText(t *testing.T) {
	file := write(t, "passing.yaml", passing)
	for _, args := range [][]string{
		{"run", file, "-o", "json", "--until", "0s"},
		{"run", file, "-o", "json", "--no-such-flag"},
		{"run", file, "-o", "json", "--explain", "deployment/web"},
	} {
		code, out, errOut := cli(t, args...)
		assert.Equal(t, exitUsage, code, args)
		assert.Empty(t, out, args)
		assert.NotEmpty(t, errOut, args)
	}
}

// validateDoc is what kubesim validate -o json prints.
type validateDoc struct {
	Valid bool                 `json:"valid"`
	Files []runner.InputReport `json:"files"`
}

// kubesim validate -o json prints one document: per SCENARIO its file,
// whether it is valid, its name when it is, and its errors in the shape of
// kubesim run -o json's on exit 2.
func TestValidateJSON(t *testing.T) {
	good := write(t, "passing.yaml", passing)
	bad := write(t, "bad.yaml", "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1m\n  seeed: 1\n")
	code, out, errOut := cli(t, "validate", "-o", "json", "node-failure", good)
	require.Equal(t, exitOK, code, errOut)
	var doc validateDoc
	decodeOne(t, out, &doc)
	assert.Equal(t, validateDoc{Valid: true, Files: []runner.InputReport{
		{File: "node-failure", Valid: true, Scenario: "node-failure", Errors: []runner.ReportInputError{}},
		{File: good, Valid: true, Scenario: "passing", Errors: []runner.ReportInputError{}},
	}}, doc)
	assert.Contains(t, out, `"errors": []`, "an empty list, not null")

	code, out, errOut = cli(t, "validate", "-o", "json", good, bad)
	require.Equal(t, exitUsage, code)
	doc = validateDoc{}
	decodeOne(t, out, &doc)
	assert.False(t, doc.Valid)
	require.Len(t, doc.Files, 2)
	assert.True(t, doc.Files[0].Valid)
	assert.Equal(t, runner.InputReport{File: bad, Errors: []runner.ReportInputError{{Source: bad + ":5", File: bad, Line: 5, Column: 3,
		Path: "spec.seeed", Message: `unknown field "seeed" (did you mean "seed"?)`}}}, doc.Files[1])
	assert.Equal(t, bad+`:5: spec.seeed: unknown field "seeed" (did you mean "seed"?)`+"\nkubesim: 1 error; nothing was run\n", errOut,
		"stderr is as without -o json")

	// The same items as kubesim run -o json's on exit 2.
	_, runOut, _ := cli(t, "run", bad, "-o", "json")
	var run runInputDoc
	decodeOne(t, runOut, &run)
	assert.Equal(t, doc.Files[1], run.InputReport)

	// Text stays the default, and other formats are refused.
	code, out, _ = cli(t, "validate", good)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "passing.yaml: valid: ")
	code, out, errOut = cli(t, "validate", "-o", "yaml", good)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "--output must be text or json")
}
