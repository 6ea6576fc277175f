package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios/runner"
)

// throughoutDoc scales web from 1 to 4 at 1m and deletes the ConfigMap
// at 2m: replicas stay at most 1 only before 1m, the ConfigMap exists
// until 2m.
const throughoutDoc = `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: throughout}
spec:
  seed: 5
  duration: 3m
  objects:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {mode: slow}}
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 1, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "nginx:1.27"}]}}}}
  events:
  - {at: 1m, action: scale, target: deployment/web, replicas: 4}
  - {at: 2m, action: delete, target: configmap/settings}
  expect:
  - {name: settings kept, from: 30s, throughout: 3m, get: configmap/settings, jsonpath: '{.data.mode}', equals: slow}
  - {name: scaled for good, from: 1m, throughout: 3m, get: deployment/web, jsonpath: '{.spec.replicas}', equals: "4"}
  - {name: one configmap at most, throughout: 3m, count: configmaps, atMost: 1}
`

// A throughout in the text output: its window in the timing column, the
// instant of a failure and the value then, a pass decided at its end; in
// -o json its from beside its time.
func TestRunReportsThroughout(t *testing.T) {
	file := write(t, "throughout.yaml", throughoutDoc)
	code, out, errOut := cli(t, "run", "-q", file)
	require.Equal(t, 1, code, "%s\n%s", out, errOut)
	assert.Regexp(t, `FAIL  throughout 30s-3m +settings kept: decided at 2m, observed "configmap/settings not found in namespace default", wants "slow" \[.*throughout.yaml:14, seed 5\]`, out)
	assert.Contains(t, out, "PASS  throughout 1m-3m  scaled for good (decided at 3m)")
	assert.Contains(t, out, "PASS  throughout 3m     one configmap at most (decided at 3m)")

	code, out, _ = cli(t, "run", "-o", "json", file)
	require.Equal(t, 1, code)
	var rep runner.Report
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&rep), out)
	require.Len(t, rep.Expectations, 3)
	e := rep.Expectations[0]
	assert.Equal(t, []string{"throughout", "30s", "3m", "FAIL", "2m", "configmap/settings not found in namespace default", `"slow"`},
		[]string{e.Timing, e.From, e.Time, e.Status, e.DecidedAt, e.Observed, e.Wants})
	e = rep.Expectations[2]
	assert.Equal(t, []string{"throughout", "0s", "3m", "PASS", "3m", "0 (no configmaps in namespace default)", "<= 1"},
		[]string{e.Timing, e.From, e.Time, e.Status, e.DecidedAt, e.Observed, e.Wants})

	// --until before the end: not checked, unless it already failed
	code, out, _ = cli(t, "run", "-q", file, "--until", "2m30s")
	require.Equal(t, 1, code)
	assert.Contains(t, out, `FAIL  throughout 30s-3m settings kept: decided at 2m`)
	assert.Contains(t, out, "----  throughout 1m-3m  scaled for good: not checked, the run stopped before 3m")
	assert.Contains(t, out, "FAIL: 0 passed, 1 failed, 2 not checked (after --until)")

	// same seed, same bytes
	_, again, _ := cli(t, "run", "-q", file, "--until", "2m30s")
	assert.Equal(t, out, again)
}
