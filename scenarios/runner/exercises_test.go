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
			// The expectations are about behaviour, not one seed's jitter:
			// the file's own seed and two others.
			for _, seed := range []uint64{sc.Spec.Seed, 2, 7} {
				r, err := runner.New(sc, runner.Options{Seed: &seed})
				require.NoError(t, err)
				requireOK(t, r.Finish())
			}
		})
	}
}
