package runner

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios"
)

// Pods a, b, c (app=x) run all along until a is deleted at 2m (gone 1 s
// later: the fake runtime stops it); e lives from 0s to 30s, f and g from
// 5m40s.
const throughoutScenario = `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 10m
  cluster:
    nodes: [{name: w, count: 2, capacity: {cpu: "2", memory: 4Gi}}]
  objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: a, labels: {app: x}}, spec: {containers: [{name: c, image: i}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: b, labels: {app: x}}, spec: {containers: [{name: c, image: i}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: c, labels: {app: x}}, spec: {containers: [{name: c, image: i}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: e, labels: {app: x}}, spec: {containers: [{name: c, image: i}]}}
  events:
  - {at: 30s, action: delete, target: pod/e}
  - {at: 2m, action: delete, target: pod/a}
  - {at: 5m40s, action: apply, object: {apiVersion: v1, kind: Pod, metadata: {name: f, labels: {app: x}}, spec: {containers: [{name: c, image: i}]}}}
  - {at: 5m40s, action: apply, object: {apiVersion: v1, kind: Pod, metadata: {name: g, labels: {app: x}}, spec: {containers: [{name: c, image: i}]}}}
  expect:
  - name: fails inside
    from: 1m
    throughout: 5m
    count: pods
    labelSelector: app=x
    atLeast: 3
  - name: fails only outside
    from: 1m
    throughout: 5m30s
    count: pods
    labelSelector: app=x
    atMost: 3
  - name: a is there
    from: 1m
    throughout: 3m
    get: pod/a
    jsonpath: '{.metadata.name}'
    equals: a
  - name: b runs
    from: 10s
    throughout: 10m
    get: pod/b
    jsonpath: '{.status.phase}'
    equals: Running
  - {name: 4 before from, at: 0s, count: pods, labelSelector: app=x, equals: 4}
  - {name: 4 after the end, at: 10m, count: pods, labelSelector: app=x, equals: 4}
`

func throughoutResults(t *testing.T, opts Options) (map[string]scenarios.Result, *Result) {
	t.Helper()
	res := newRun(t, throughoutScenario, opts).Finish()
	byName := map[string]scenarios.Result{}
	for _, e := range res.Expectations {
		byName[e.Expectation.Name] = e
	}
	return byName, res
}

// A throughout fails at the first instant in its window it does not hold,
// with the value then, and passes at its end when it always held: what
// happens before from or after the end does not count.
func TestThroughoutFailsAtTheFirstInstantItDoesNotHold(t *testing.T) {
	byName, res := throughoutResults(t, Options{})

	inside := byName["fails inside"]
	assert.Equal(t, scenarios.Failed, inside.Status)
	assert.Equal(t, "2", inside.Observed)
	assert.Greater(t, inside.DecidedAt, 2*time.Minute, "a is deleted at 2m and gone once stopped")
	assert.Less(t, inside.DecidedAt, 2*time.Minute+5*time.Second)

	missing := byName["a is there"]
	assert.Equal(t, scenarios.Failed, missing.Status, "a get of an object that does not exist fails")
	assert.Equal(t, inside.DecidedAt, missing.DecidedAt, "at the same instant: a is gone")
	assert.Equal(t, "pod/a not found in namespace default", missing.Observed)

	outside := byName["fails only outside"]
	assert.Equal(t, scenarios.Passed, outside.Status, "4 pods until e is gone (after 30s) and from 5m40s: outside [1m, 5m30s]")
	assert.Equal(t, 5*time.Minute+30*time.Second, outside.DecidedAt, "passes at its end")
	assert.Equal(t, "2", outside.Observed, "b and c")
	assert.Greater(t, outside.Evaluations, 2, "evaluated at every instant of its window")

	assert.Equal(t, scenarios.Passed, byName["4 before from"].Status, "fails only outside would fail there")
	assert.Equal(t, scenarios.Passed, byName["4 after the end"].Status, "and there")
	assert.Equal(t, scenarios.Passed, byName["b runs"].Status)
	assert.Equal(t, 10*time.Minute, byName["b runs"].DecidedAt)
	assert.False(t, res.OK())

	// The instant before the failure, the run cut there has not failed it.
	byName, _ = throughoutResults(t, Options{Until: inside.DecidedAt - time.Nanosecond})
	assert.Equal(t, scenarios.Pending, byName["fails inside"].Status)
	assert.Equal(t, "3", byName["fails inside"].Observed)
}

// --until before a throughout's end leaves it pending (not checked), but a
// failure seen before --until stands.
func TestThroughoutWithUntilBeforeItsEnd(t *testing.T) {
	byName, res := throughoutResults(t, Options{Until: 4 * time.Minute})
	assert.Equal(t, scenarios.Failed, byName["fails inside"].Status)
	assert.Equal(t, scenarios.Pending, byName["fails only outside"].Status)
	assert.Equal(t, scenarios.Pending, byName["b runs"].Status)
	_, failed, pending := res.Counts() // and the at 0s passed
	assert.Equal(t, 2, failed)
	assert.Equal(t, 3, pending)
	assert.False(t, res.OK())

	byName, _ = throughoutResults(t, Options{Until: 30 * time.Second})
	assert.Equal(t, scenarios.Pending, byName["fails inside"].Status, "stopped before its from")
	assert.Equal(t, 0, byName["fails inside"].Evaluations)
}

// The JSON report gives a throughout's from beside its time, when it was
// decided and the value then; the timeline says the window.
func TestThroughoutInTheReportAndTheTimeline(t *testing.T) {
	opts := Options{}
	story := storyOf(&opts)
	res := newRun(t, throughoutScenario, opts).Finish()
	out, err := json.Marshal(res.Report().Expectations)
	require.NoError(t, err)
	var got []map[string]any
	require.NoError(t, json.Unmarshal(out, &got))
	require.Len(t, got, 6)
	assert.NotContains(t, got[4], "from", "an at has no from")
	decided := scenarios.FormatDuration(res.Expectations[0].DecidedAt.Truncate(time.Millisecond))
	assert.Equal(t, map[string]any{
		"index": 0.0, "name": "fails inside", "description": "fails inside", "timing": "throughout", "from": "1m", "time": "5m",
		"status": "FAIL", "decidedAt": decided, "observed": "2", "wants": ">= 3", "source": "test.yaml:18",
	}, got[0])
	assert.Equal(t, "1m", got[1]["from"])
	assert.Equal(t, "5m30s", got[1]["decidedAt"])
	assert.Equal(t, "10s", got[3]["from"])

	var lines []string
	for _, e := range *story {
		if e.Component == "expect" {
			lines = append(lines, e.String())
		}
	}
	assert.Equal(t, []string{
		"0:00:00.000   expect                 PASS             4 before from",
		"0:02:01.000 ! expect                 FAIL             fails inside (throughout 1m-5m) (observed \"2\")",
		"0:02:01.000 ! expect                 FAIL             a is there (throughout 1m-3m) (observed \"pod/a not found in namespace default\")",
		"0:05:30.000   expect                 PASS             fails only outside (throughout 1m-5m30s)",
		"0:10:00.000   expect                 PASS             b runs (throughout 10s-10m)",
		"0:10:00.000   expect                 PASS             4 after the end",
	}, lines)
}

// Same seed, same run: byte-identical reports.
func TestThroughoutIsDeterministic(t *testing.T) {
	report := func() string {
		_, res := throughoutResults(t, Options{})
		out, err := json.Marshal(res.Report())
		require.NoError(t, err)
		return string(out)
	}
	assert.Equal(t, report(), report())
}

// Advancing in slices decides a throughout at the same instants as one go
// (a slice may end between from and the next event).
func TestThroughoutAdvancedInSlices(t *testing.T) {
	run := func(step time.Duration) []scenarios.Result {
		r := newRun(t, throughoutScenario, Options{})
		if step > 0 {
			for at := time.Duration(0); at < r.Until(); at += step {
				r.AdvanceTo(at)
			}
		}
		res := r.Finish()
		for i := range res.Expectations {
			res.Expectations[i].Evaluations = 0 // slices may add evaluations of unchanged state
		}
		return res.Expectations
	}
	whole := run(0)
	for _, step := range []time.Duration{7 * time.Second, time.Minute, 333 * time.Millisecond} {
		assert.Equal(t, whole, run(step), "step %v", step)
	}
}
