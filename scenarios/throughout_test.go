package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
)

// throughout and its optional from decode into the timing, the window's
// end and its start (0s when from is not set).
func TestThroughoutDecodes(t *testing.T) {
	exps := expectFrom(t, `
  - {throughout: 10m, count: pods, atLeast: 2}
  - {throughout: 5m, from: 1m30s, get: deployment/web, jsonpath: '{.spec.replicas}', equals: "1"}
  - {throughout: 1h, from: 0s, metric: 'kubesim_requests_total{outcome="failed"}', equals: 0}
`)
	require.Len(t, exps, 3)
	assert.Equal(t, TimingThroughout, exps[0].Timing)
	assert.Equal(t, 10*time.Minute, exps[0].Time)
	assert.Equal(t, time.Duration(0), exps[0].From)
	assert.Equal(t, "throughout 10m", exps[0].When())
	assert.Equal(t, "count pods >= 2 throughout 10m", exps[0].String())

	assert.Equal(t, 5*time.Minute, exps[1].Time)
	assert.Equal(t, 90*time.Second, exps[1].From)
	assert.Equal(t, "throughout 1m30s-5m", exps[1].When())

	assert.Equal(t, ExpectMetric, exps[2].Kind)
	assert.Equal(t, time.Duration(0), exps[2].From)
	assert.Equal(t, "throughout 1h", exps[2].When())

	at := expectFrom(t, "  - {at: 5m, count: pods, equals: 0}\n  - {within: 5m, count: pods, equals: 0}\n")
	assert.Equal(t, "at 5m", at[0].When(), "at and within print as before")
	assert.Equal(t, "within 5m", at[1].When())
	assert.Equal(t, time.Duration(0), at[1].From)
}

// A throughout is evaluated at every Observe in [from, throughout] (and at
// from itself, a deadline), fails at the first instant it does not hold
// with the value seen then, and passes at throughout when it always held.
// What happens before from or after throughout does not count.
func TestCheckerThroughout(t *testing.T) {
	exps := expectFrom(t, `
  - {name: fails inside, throughout: 5m, from: 1m, count: pods, atLeast: 2}
  - {name: fails only outside, throughout: 5m, from: 1m, count: pods, atMost: 4}
  - {name: from zero, throughout: 2m, count: pods, atMost: 9}
  - {name: an at, at: 1m, count: pods, equals: 3}
`)
	cl := &stepCluster{pods: 9}
	chk := NewChecker(exps)
	next, ok := chk.NextDeadline()
	require.True(t, ok)
	assert.Equal(t, time.Duration(0), next, "the from of a throughout from 0s")
	assert.Empty(t, chk.Observe(0, cl))

	next, _ = chk.NextDeadline()
	assert.Equal(t, time.Minute, next, "the from of the other two, and the at")
	assert.Empty(t, chk.Observe(30*time.Second, cl), "9 pods, before from: not evaluated")
	assert.Equal(t, 0, chk.Results()[1].Evaluations)

	cl.pods = 3
	decided := chk.Observe(time.Minute, cl)
	require.Len(t, decided, 1, "only the at is decided at from")
	assert.Equal(t, "an at", decided[0].Expectation.Name)
	assert.Equal(t, 1, chk.Results()[0].Evaluations, "evaluated at from")

	next, _ = chk.NextDeadline()
	assert.Equal(t, 2*time.Minute, next, "after from, a throughout's deadline is its end")
	decided = chk.Observe(2*time.Minute, cl)
	require.Len(t, decided, 1)
	assert.Equal(t, Result{Expectation: &exps[2], Status: Passed, DecidedAt: 2 * time.Minute, Observed: "3", Evaluations: 4, inWindow: true}, decided[0],
		"held at every instant: passes at its end")

	cl.pods = 1
	decided = chk.Observe(3*time.Minute+30*time.Second, cl)
	require.Len(t, decided, 1)
	assert.Equal(t, Result{Expectation: &exps[0], Status: Failed, DecidedAt: 3*time.Minute + 30*time.Second, Observed: "1", Evaluations: 3, inWindow: true}, decided[0],
		"fails at the first instant it does not hold, with the value then")

	cl.pods = 4
	assert.Empty(t, chk.Observe(4*time.Minute, cl))
	decided = chk.Observe(5*time.Minute, cl)
	require.Len(t, decided, 1)
	assert.Equal(t, Result{Expectation: &exps[1], Status: Passed, DecidedAt: 5 * time.Minute, Observed: "4", Evaluations: 5, inWindow: true}, decided[0])
	assert.True(t, chk.Done())

	cl.pods = 9
	assert.Empty(t, chk.Observe(6*time.Minute, cl), "after the end: nothing left to decide")
	var statuses []Status
	for _, r := range chk.Results() {
		statuses = append(statuses, r.Status)
	}
	assert.Equal(t, []Status{Failed, Passed, Passed, Passed}, statuses)
}

// A throughout that was never evaluated stays pending with nothing
// observed; one that held so far stays pending with its last value.
func TestThroughoutPendingWhenTheRunStopsEarly(t *testing.T) {
	exps := expectFrom(t, "  - {throughout: 5m, from: 2m, count: pods, atLeast: 1}\n  - {throughout: 5m, count: pods, atLeast: 1}\n")
	chk := NewChecker(exps)
	chk.Observe(0, &stepCluster{pods: 0})
	chk.Observe(time.Minute, &stepCluster{pods: 2})
	rs := chk.Results()
	assert.Equal(t, Pending, rs[0].Status)
	assert.Equal(t, 0, rs[0].Evaluations)
	assert.Equal(t, Failed, rs[1].Status, "a failure before the run stopped is a failure")
	assert.Equal(t, time.Duration(0), rs[1].DecidedAt)
	assert.Equal(t, "0 (no pods in namespace default)", rs[1].Observed)
}

// A get on an object that does not exist fails a throughout, as it never
// matches for at and within.
func TestThroughoutGetOfAMissingObjectFails(t *testing.T) {
	exps := expectFrom(t, "  - {throughout: 5m, from: 1m, get: deployment/web, jsonpath: '{.spec.replicas}', equals: \"3\"}\n")
	chk := NewChecker(exps)
	dep := &deploymentCluster{fakeCluster: &fakeCluster{objects: []runtime.Object{testDeployment()}}}
	assert.Empty(t, chk.Observe(time.Minute, dep))
	decided := chk.Observe(2*time.Minute, &deploymentCluster{fakeCluster: &fakeCluster{}})
	require.Len(t, decided, 1)
	assert.Equal(t, Failed, decided[0].Status)
	assert.Equal(t, 2*time.Minute, decided[0].DecidedAt)
	assert.Equal(t, "deployment/web not found in namespace default", decided[0].Observed)
	assert.True(t, decided[0].NotFound, "a script tells the text from a value by NotFound")
}

// A metric throughout goes through the same evaluation as a within.
func TestThroughoutMetric(t *testing.T) {
	exps := expectFrom(t, `  - {throughout: 3m, metric: 'kubesim_requests_total{service="web",outcome="failed"}', atMost: 10}`+"\n")
	failed := func(v float64) *fakeCluster {
		return &fakeCluster{metrics: map[string][]Sample{"kubesim_requests_total": {
			{Labels: map[string]string{"service": "web", "outcome": "served"}, Value: 1000},
			{Labels: map[string]string{"service": "web", "outcome": "failed"}, Value: v},
		}}}
	}
	chk := NewChecker(exps)
	assert.Empty(t, chk.Observe(0, failed(0)))
	assert.Empty(t, chk.Observe(time.Minute, failed(10)))
	decided := chk.Observe(time.Minute+time.Millisecond, failed(10.5))
	require.Len(t, decided, 1)
	assert.Equal(t, Failed, decided[0].Status)
	assert.Equal(t, "10.5", decided[0].Observed)
	assert.Equal(t, time.Minute+time.Millisecond, decided[0].DecidedAt)
}

// Skipping a throughout's from is a runner bug, as skipping any deadline.
func TestCheckerRejectsASkippedFrom(t *testing.T) {
	exps := expectFrom(t, "  - {throughout: 5m, from: 1m, count: pods, equals: 0}\n")
	chk := NewChecker(exps)
	chk.Observe(30*time.Second, &stepCluster{})
	assert.PanicsWithValue(t,
		"scenarios: expectation 0 (count pods == 0 throughout 1m-5m) starts at 1m0s but Observe was first called at 2m0s after it; the runner must call Observe at every NextDeadline",
		func() { chk.Observe(2*time.Minute, &stepCluster{}) })
}
