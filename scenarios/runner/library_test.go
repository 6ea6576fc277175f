package runner_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/library"
	"github.com/kubesim/kubesim/scenarios/runner"
	"github.com/kubesim/kubesim/sim"
)

// traceOf runs a built-in scenario and returns its --trace bytes.
func traceOf(t *testing.T, name string, seed *uint64) []byte {
	t.Helper()
	sc, err := library.Load(name, scenarios.WithValidator(runner.Validator()))
	require.NoError(t, err)
	var buf bytes.Buffer
	var line []byte
	_, err = runner.Execute(sc, runner.Options{Seed: seed, Trace: func(r sim.Record) {
		line = append(r.AppendJSON(line[:0]), '\n')
		buf.Write(line)
	}})
	require.NoError(t, err)
	return buf.Bytes()
}

// TestBuiltinsAreDeterministic: the same built-in scenario and seed give
// byte-identical --trace output, for every built-in.
func TestBuiltinsAreDeterministic(t *testing.T) {
	names := library.Names()
	require.GreaterOrEqual(t, len(names), 8)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			a, b := traceOf(t, name, nil), traceOf(t, name, nil)
			require.NotEmpty(t, a)
			assert.Equal(t, string(a), string(b))
		})
	}
}

// TestLibraryLoadsWithDescriptions: every built-in loads with the API
// server's validation and says what it shows.
func TestLibraryLoadsWithDescriptions(t *testing.T) {
	infos := library.List()
	require.GreaterOrEqual(t, len(infos), 8)
	for _, info := range infos {
		sc, err := library.Load(info.Name, scenarios.WithValidator(runner.Validator()))
		require.NoError(t, err, info.Name)
		assert.Equal(t, info.Name, sc.Metadata.Name, "the file name is the scenario name")
		assert.NotEmpty(t, info.Description, info.Name)
		assert.NotEmpty(t, sc.Spec.Expect, "%s checks something", info.Name)
	}
	assert.True(t, library.Has("node-failure"))
	assert.False(t, library.Has("no-such-scenario"))
	_, err := library.Load("no-such-scenario")
	assert.Error(t, err)
}
