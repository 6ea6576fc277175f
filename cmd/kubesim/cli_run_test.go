package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIntegrationMakeRunScenarioPassesAndWritesMetrics: the scenario make
// run shows passes, and --metrics writes the Prometheus text format.
func TestIntegrationMakeRunScenarioPassesAndWritesMetrics(t *testing.T) {
	metrics := filepath.Join(t.TempDir(), "metrics.txt")
	code, out, errOut := cli(t, "run", "service-failover", "--metrics", metrics)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	data, err := os.ReadFile(metrics)
	require.NoError(t, err)
	assert.Contains(t, string(data), "# TYPE kubesim_requests_total counter")
	assert.Contains(t, string(data), `kubesim_requests_total{`)
}
