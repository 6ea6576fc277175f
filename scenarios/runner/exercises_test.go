package runner_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/runner"
)

// TestExercises runs the classroom exercises of testdata/exercises: each
// checks numbers and messages against upstream's (the comments in each file
// give the arithmetic), so every expectation must pass.
func TestExercises(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "exercises", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := scenarios.Load(f, scenarios.WithValidator(runner.Validator()))
			require.NoError(t, err)
			r, err := runner.New(sc, runner.Options{})
			require.NoError(t, err)
			requireOK(t, r.Finish())
		})
	}
}
