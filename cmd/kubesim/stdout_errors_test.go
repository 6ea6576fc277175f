package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A command whose standard output cannot be written (a full disk, a
// closed file) fails with exit 1 and says so on stderr, once; it does not
// exit 0 having printed nothing, nor 2 as for bad input.
func TestStdoutWriteErrorsExitOne(t *testing.T) {
	file := write(t, "passing.yaml", passing)
	for _, args := range [][]string{
		{"run", file},
		{"run", file, "-q"},
		{"run", file, "-o", "json"},
		{"scenarios"},
		{"validate", file},
		{"explain", "pod/big", "--scenario", "pending-pods", "--at", "1m"},
		{"demo"},
	} {
		var errOut strings.Builder
		code := execute(args, env{stdout: fullWriter{}, stderr: &errOut})
		assert.Equal(t, 1, code, "%v: stderr %q", args, errOut.String())
		assert.Equal(t, "kubesim: write full: no space left on device\n", errOut.String(), args)
	}

	// A failed run whose output is lost still exits 1; bad input still 2.
	var errOut strings.Builder
	assert.Equal(t, 1, execute([]string{"run", write(t, "failing.yaml", failing())}, env{stdout: fullWriter{}, stderr: &errOut}))
	assert.Equal(t, "kubesim: write full: no space left on device\n", errOut.String())
	errOut.Reset()
	assert.Equal(t, 2, execute([]string{"run", file, "--output", "yaml"}, env{stdout: fullWriter{}, stderr: &errOut}))
	assert.Equal(t, "kubesim: --output must be text or json, not \"yaml\"\n", errOut.String())
}
