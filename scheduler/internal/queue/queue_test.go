package queue

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

const s = time.Second

func newQueue() *Queue {
	return New(Config{InitialBackoff: s, MaxBackoff: 10 * s, MaxInUnschedulable: 5 * time.Minute})
}

func podInfo(name string, prio int32) *fw.PodInfo {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(name)}}
	return fw.NewPodInfo(p, prio)
}

func always(*QueuedPodInfo, *fw.ClusterEvent) bool { return true }
func never(*QueuedPodInfo, *fw.ClusterEvent) bool  { return false }

var nodeAdd = &fw.ClusterEvent{Kind: fw.NodeAdd, NewNode: &v1.Node{}}

// Backoff per failed attempt: 1, 2, 4, 8, 10, 10 s (initial 1 s doubling,
// capped at 10 s), counted from the time of the failure.
func TestBackoffDurations(t *testing.T) {
	for _, errored := range []bool{false, true} {
		q := newQueue()
		q.Add(podInfo("p", 0), false, 0)
		now := time.Duration(0)
		var got []time.Duration
		for i := 0; i < 6; i++ {
			p := q.Pop(now)
			require.NotNil(t, p, "attempt %d", i)
			loc := q.AddUnschedulableIfNotPresent(p, 0, errored, now, always)
			require.Equal(t, Backoff, loc, "no rejector: straight to backoffQ")
			got = append(got, q.BackoffDuration(p))
			exp, ok := q.NextBackoffExpiry()
			require.True(t, ok)
			assert.Equal(t, now+q.BackoffDuration(p), exp)
			assert.Zero(t, q.FlushBackoffCompleted(exp-1), "still backing off just before expiry")
			assert.Equal(t, 1, q.FlushBackoffCompleted(exp))
			now = exp
		}
		assert.Equal(t, []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 10 * s, 10 * s}, got, "errored=%v", errored)
	}
}

// Upstream AddUnschedulableIfNotPresent counts a failure that no plugin
// rejected ("no nodes available") as an error: it raises the consecutive
// error count, leaves the unschedulable count alone, and the next rejection
// resets the errors and resumes the unschedulable count.
func TestBackoffCountsFailureWithoutRejectorAsError(t *testing.T) {
	q := newQueue()
	q.Add(podInfo("p", 0), false, 0)
	now := time.Duration(0)
	attempt := func(rejectors uint16) time.Duration {
		p := q.Pop(now)
		require.NotNil(t, p)
		q.AddUnschedulableIfNotPresent(p, rejectors, false, now, always)
		q.MoveAllToActiveOrBackoffQueue(nodeAdd, now, always)
		d := q.BackoffDuration(p)
		now += d
		q.FlushBackoffCompleted(now)
		return d
	}
	var got []time.Duration
	for _, rejectors := range []uint16{1, 1, 1, 0, 0, 1} {
		got = append(got, attempt(rejectors))
	}
	assert.Equal(t, []time.Duration{1 * s, 2 * s, 4 * s, 1 * s, 2 * s, 8 * s}, got)
}

func TestActiveQOrder(t *testing.T) {
	q := newQueue()
	q.Add(podInfo("low-early", 1), false, 0)
	q.Add(podInfo("high", 100), false, 2*s)
	q.Add(podInfo("low-late", 1), false, 3*s)
	q.Add(podInfo("low-same-time", 1), false, 3*s)
	var order []string
	for p := q.Pop(4 * s); p != nil; p = q.Pop(4 * s) {
		order = append(order, p.PodInfo.Name)
	}
	assert.Equal(t, []string{"high", "low-early", "low-late", "low-same-time"}, order)
}

func TestUnschedulablePoolAndHints(t *testing.T) {
	q := newQueue()
	q.Add(podInfo("p", 0), false, 0)
	p := q.Pop(0)
	assert.Equal(t, Unschedulable, q.AddUnschedulableIfNotPresent(p, 1, false, 0, always))
	assert.Zero(t, q.MoveAllToActiveOrBackoffQueue(nodeAdd, 5*s, never), "an event no rejector cares about moves nothing")
	assert.Equal(t, Unschedulable, p.Location)
	assert.Equal(t, 1, q.MoveAllToActiveOrBackoffQueue(nodeAdd, 5*s, always))
	assert.Equal(t, Active, p.Location)
	assert.Equal(t, "NodeAdd", p.MovedBy)

	// Moved while still backing off: backoffQ, then activeQ at expiry.
	p = q.Pop(5 * s)
	q.AddUnschedulableIfNotPresent(p, 1, false, 5*s, always) // 2nd failure: 2 s backoff
	q.MoveAllToActiveOrBackoffQueue(nodeAdd, 6*s, always)
	assert.Equal(t, Backoff, p.Location)
	assert.Zero(t, q.FlushBackoffCompleted(7*s-1))
	assert.Equal(t, 1, q.FlushBackoffCompleted(7*s))
}

func TestEventWhileInFlightSendsPodToBackoff(t *testing.T) {
	q := newQueue()
	q.Add(podInfo("p", 0), false, 0)
	q.Add(podInfo("other", 0), false, 0)
	p := q.Pop(0)
	q.MoveAllToActiveOrBackoffQueue(nodeAdd, 0, always) // arrives during p's cycle
	assert.Equal(t, Backoff, q.AddUnschedulableIfNotPresent(p, 1, false, 0, always))
	assert.Equal(t, "NodeAdd (while in flight)", p.MovedBy)

	// Without a relevant event the pod waits in the unschedulable pool, and
	// events from before its pop do not count.
	o := q.Pop(0)
	assert.Equal(t, Unschedulable, q.AddUnschedulableIfNotPresent(o, 1, false, 0, always))
}

func TestLeftoverFlush(t *testing.T) {
	q := newQueue()
	q.Add(podInfo("p", 0), false, 0)
	p := q.Pop(0)
	q.AddUnschedulableIfNotPresent(p, 1, false, 10*s, never)
	assert.Zero(t, q.FlushUnschedulableLeftover(10*s+5*time.Minute), "exactly 5 min is not longer than 5 min")
	assert.Equal(t, 1, q.FlushUnschedulableLeftover(10*s+5*time.Minute+1))
	assert.Equal(t, Active, p.Location)
	assert.Equal(t, "UnschedulableTimeout", p.MovedBy)
}

func TestGates(t *testing.T) {
	q := newQueue()
	assert.False(t, q.Add(podInfo("p", 0), true, 0))
	assert.Nil(t, q.Pop(0))
	assert.Zero(t, q.MoveAllToActiveOrBackoffQueue(nodeAdd, s, always), "events never release a gated pod")
	assert.Zero(t, q.FlushUnschedulableLeftover(time.Hour))
	assert.False(t, q.Update(podInfo("p", 0), true, fw.PodLabelsChanged, 2*s, always), "still gated")
	assert.True(t, q.Update(podInfo("p", 0), false, 0, 3*s, never), "gates removed")
	assert.Equal(t, "p", q.Pop(3*s).PodInfo.Name)
}

func TestDeleteInFlight(t *testing.T) {
	q := newQueue()
	q.Add(podInfo("p", 0), false, 0)
	p := q.Pop(0)
	q.Delete(p.PodInfo.UID)
	assert.Equal(t, Location(0), q.AddUnschedulableIfNotPresent(p, 1, false, 0, always))
	assert.Zero(t, q.Len())
}

// An update of an unschedulable pod is a PodSelfUpdate event for the hint
// (upstream PriorityQueue.Update); one of a pod in flight is kept for when
// the pod comes back, and only its own updates count for it.
func TestPodSelfUpdate(t *testing.T) {
	var seen []*fw.ClusterEvent
	labelsOnly := func(_ *QueuedPodInfo, ev *fw.ClusterEvent) bool {
		seen = append(seen, ev)
		return ev.PodChange&fw.PodLabelsChanged != 0
	}
	q := newQueue()
	q.Add(podInfo("p", 0), false, 0)
	p := q.Pop(0)
	q.AddUnschedulableIfNotPresent(p, 1, false, 0, never)
	assert.False(t, q.Update(podInfo("p", 0), false, 0, 5*s, labelsOnly), "nothing the scheduler looks at changed")
	assert.Empty(t, seen)
	old := p.PodInfo
	assert.False(t, q.Update(podInfo("p", 0), false, fw.PodTolerationsChanged, 5*s, labelsOnly))
	assert.Equal(t, Unschedulable, p.Location)
	require.Len(t, seen, 1)
	assert.Equal(t, fw.PodSelfUpdate, seen[0].Kind)
	assert.Same(t, old, seen[0].OldPod)
	assert.Same(t, p.PodInfo, seen[0].NewPod)
	assert.True(t, q.Update(podInfo("p", 0), false, fw.PodLabelsChanged, 5*s, labelsOnly))
	assert.Equal(t, Active, p.Location)
	assert.Equal(t, "PodSelfUpdate", p.MovedBy)

	// In flight: p's own update counts when it fails, other's does not.
	q.Add(podInfo("other", 0), false, 5*s)
	p = q.Pop(5 * s)
	require.Equal(t, "p", p.PodInfo.Name)
	q.Update(podInfo("other", 0), false, fw.PodLabelsChanged, 5*s, never)
	q.Update(podInfo("p", 0), false, fw.PodTolerationsChanged, 5*s, never)
	assert.Equal(t, Unschedulable, q.AddUnschedulableIfNotPresent(p, 1, false, 5*s, labelsOnly))
	q.Delete("other")
	q.MoveAllToActiveOrBackoffQueue(nodeAdd, 20*s, always)
	p = q.Pop(20 * s)
	q.Update(podInfo("p", 0), false, fw.PodLabelsChanged, 20*s, never)
	assert.Equal(t, Backoff, q.AddUnschedulableIfNotPresent(p, 1, false, 20*s, labelsOnly))
	assert.Equal(t, "PodSelfUpdate (while in flight)", p.MovedBy)
}
