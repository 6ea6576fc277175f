package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"

	"github.com/kubesim/kubesim/scheduler/internal/queue"
)

const sec = time.Second

// A pod with no rejecting plugin (no nodes at all) is retried after 1, 2,
// 4, 8, 10, 10 s: attempts at 0, 1, 3, 7, 15, 25, 35 s.
func TestBackoffThroughEngine(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addPods(pod("p", "100m", ""))
	e.eng.RunFor(36 * sec)
	want := []time.Duration{0, 1 * sec, 3 * sec, 7 * sec, 15 * sec, 25 * sec, 35 * sec}
	assert.Equal(t, want, e.api.failedAt["default/p"])
	h := e.s.History("default", "p")
	require.Len(t, h, 5, "History keeps the last ExplainAttemptsPerPod attempts")
	assert.Equal(t, 7, h[4].AttemptNumber)
	assert.Equal(t, "backoffQ", h[4].RequeuedTo)
}

func TestNodeAddMovesUnschedulablePod(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("small", "1", "1Gi"))
	e.addPods(pod("p", "2", ""))
	e.eng.RunFor(0)
	uid := e.api.pods["default/p"].UID
	require.Equal(t, queue.Unschedulable, e.s.queue.Get(uid).Location)

	// A node the pod still does not fit on is filtered by NodeResourcesFit's hint.
	e.eng.RunFor(5 * sec)
	e.addNodes(node("small2", "1", "1Gi"))
	assert.Equal(t, queue.Unschedulable, e.s.queue.Get(uid).Location)

	// A node it fits on moves it; its 1 s backoff expired long ago, so it is
	// scheduled right away.
	e.eng.RunFor(15 * sec)
	e.addNodes(node("big", "4", "1Gi"))
	assert.Equal(t, queue.Active, e.s.queue.Get(uid).Location)
	e.eng.RunFor(0)
	assert.Equal(t, "big", e.api.binds["default/p"])
	a, _ := e.s.Explain("default", "p")
	assert.Equal(t, "NodeAdd", a.MovedBy)
	assert.Equal(t, 20*sec, a.Time)
	assert.Equal(t, []time.Duration{0}, e.api.failedAt["default/p"])
}

func TestNodeAddDuringBackoffWaitsForExpiry(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("small", "1", "1Gi"))
	e.addPods(pod("p", "2", ""))
	e.eng.RunFor(500 * time.Millisecond)
	e.addNodes(node("big", "4", "1Gi"))
	uid := e.api.pods["default/p"].UID
	assert.Equal(t, queue.Backoff, e.s.queue.Get(uid).Location)
	e.eng.RunFor(499 * time.Millisecond)
	assert.Empty(t, e.api.binds)
	e.eng.RunFor(1 * time.Millisecond)
	assert.Equal(t, "big", e.api.binds["default/p"], "bound at exactly 1 s")
}

func TestUnschedulableLeftoverFlushAfterFiveMinutes(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("small", "1", "1Gi"))
	e.addPods(pod("p", "2", ""))
	e.eng.RunFor(11 * time.Minute)
	// Flushes run every 30 s and move pods that waited more than 5 min.
	assert.Equal(t, []time.Duration{0, 330 * sec, 660 * sec}, e.api.failedAt["default/p"])
	a, _ := e.s.Explain("default", "p")
	assert.Equal(t, "UnschedulableTimeout", a.MovedBy)
}

func TestPriorityOrder(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n", "4", "4Gi", maxPods("1")))
	e.addPods(pod("low", "", "", priority(1)), pod("high", "", "", priority(1000)))
	e.settle()
	assert.Equal(t, []string{"default/high"}, e.api.order)

	e2 := newEnv(t, DefaultConfig(), true)
	e2.addNodes(node("n", "4", "4Gi", maxPods("1")))
	e2.addPods(pod("first", "", "", priority(5)), pod("second", "", "", priority(5)))
	e2.settle()
	assert.Equal(t, []string{"default/first"}, e2.api.order, "equal priority: FIFO")
}

func TestSchedulingGates(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n", "4", "4Gi"))
	gatedPod := pod("g", "100m", "", gates("example.com/wait"))
	e.addPods(gatedPod)
	e.eng.RunFor(10 * time.Minute)
	assert.Empty(t, e.api.binds)
	assert.Empty(t, e.api.failedAt["default/g"], "a gated pod is never attempted")
	_, ok := e.s.Explain("default", "g")
	assert.False(t, ok)

	ungated := *gatedPod
	ungated.Spec.SchedulingGates = nil
	e.s.OnPodUpdate(gatedPod, &ungated)
	e.eng.RunFor(0)
	assert.Equal(t, "n", e.api.binds["default/g"])
}

// Pods of another scheduler are ignored; assigned pods of any scheduler are
// accounted in the cache.
func TestOtherSchedulerName(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n", "1", "4Gi"))
	other := pod("other", "100m", "")
	other.Spec.SchedulerName = "my-scheduler"
	e.addPods(other)
	e.settle()
	assert.Empty(t, e.api.binds)
	e.addPods(pod("bound-by-other", "900m", "", onNode("n")))
	failOnceIn(t, e, pod("p", "200m", ""))
}

func failOnceIn(t *testing.T, e *env, p *v1.Pod) {
	t.Helper()
	e.addPods(p)
	e.settle()
	require.NotContains(t, e.api.binds, key(p))
}

// updatePod hands the scheduler a new version of a pod, as the informer does.
func (e *env) updatePod(old *v1.Pod, change func(*v1.Pod)) *v1.Pod {
	cur := old.DeepCopy()
	change(cur)
	e.api.pods[key(cur)] = cur
	e.s.OnPodUpdate(old, cur)
	return cur
}

// An update of an unschedulable pod requeues it only when one of the
// plugins that rejected it registers for that kind of update and its hint
// says Queue (upstream PriorityQueue.Update with queueing hints: the events
// of framework.PodSchedulingPropertiesChange, each checked by
// isPodWorthRequeuing). NodeResourcesFit registers only for scale-downs,
// TaintToleration for toleration changes, NodeUnschedulable for tolerations
// of the unschedulable taint.
func TestPodUpdateRequeuesOnlyThroughRejectorHints(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("small", "1", "1Gi"))
	e.addNodes(node("tainted", "4", "4Gi", withTaint("dedicated", "x", v1.TaintEffectNoSchedule), withLabels("pool", "t")))
	e.addNodes(node("cordoned", "4", "4Gi", unschedulable(), withLabels("pool", "c")))
	big := pod("big", "2", "", nodeSelector(v1.LabelHostname, "small"))
	taint := pod("taint", "100m", "", nodeSelector("pool", "t"))
	cordon := pod("cordon", "100m", "", nodeSelector("pool", "c"), toleration("dedicated", "x", v1.TaintEffectNoSchedule))
	e.addPods(big, taint, cordon)
	e.eng.RunFor(0)
	loc := func(p *v1.Pod) queue.Location { return e.s.queue.Get(p.UID).Location }
	for _, p := range []*v1.Pod{big, taint, cordon} {
		require.Equal(t, queue.Unschedulable, loc(p), p.Name)
	}
	e.eng.RunFor(20 * sec) // backoffs expired

	// A relabel helps none of them: no rejecting plugin registers for it.
	big = e.updatePod(big, func(p *v1.Pod) { p.Labels["tier"] = "web" })
	taint = e.updatePod(taint, func(p *v1.Pod) { p.Labels["tier"] = "web" })
	assert.Equal(t, queue.Unschedulable, loc(big), "NodeResourcesFit ignores label updates")
	assert.Equal(t, queue.Unschedulable, loc(taint), "TaintToleration ignores label updates")

	// A toleration that is not the unschedulable taint's does not help the
	// pod NodeUnschedulable rejected; the unschedulable taint's does.
	cordon = e.updatePod(cordon, toleration("other", "", v1.TaintEffectNoSchedule))
	assert.Equal(t, queue.Unschedulable, loc(cordon))
	e.updatePod(cordon, toleration(v1.TaintNodeUnschedulable, "", v1.TaintEffectNoSchedule))
	assert.Equal(t, queue.Active, loc(cordon))

	// Any new toleration requeues the pod TaintToleration rejected.
	e.updatePod(taint, toleration("dedicated", "x", v1.TaintEffectNoSchedule))
	assert.Equal(t, queue.Active, loc(taint))
	e.eng.RunFor(0)
	assert.Equal(t, "tainted", e.api.binds["default/taint"])
	assert.Equal(t, "cordoned", e.api.binds["default/cordon"])
	a, _ := e.s.Explain("default", "taint")
	assert.Equal(t, "PodSelfUpdate", a.MovedBy)
}

// A pod nominated to a node holds room there for the pods of lower or equal
// priority; when it is deleted, or its nomination changes, those pods are
// requeued as if an assigned pod had left the node (upstream
// deletePodFromSchedulingQueue and updatePodInSchedulingQueue send
// EventAssignedPodDelete with getLEPriorityPreCheck). Higher-priority pods
// are not.
func TestNominatedPodLeavingRequeuesLowerPriorityPods(t *testing.T) {
	for _, how := range []string{"deleted", "nomination cleared"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, DefaultConfig(), true)
			e.addNodes(node("n", "2", "4Gi"))
			vip := pod("vip", "3", "", priority(100), neverPreempt())
			vip.Status.NominatedNodeName = "n"
			low := pod("low", "1500m", "", priority(1))
			huge := pod("huge", "5", "", priority(200), neverPreempt())
			e.addPods(vip, low, huge)
			e.eng.RunFor(20 * sec)
			loc := func(p *v1.Pod) queue.Location { return e.s.queue.Get(p.UID).Location }
			require.Equal(t, queue.Unschedulable, loc(low), "vip's nomination holds the node")
			require.Equal(t, queue.Unschedulable, loc(huge))

			switch how {
			case "deleted":
				e.s.OnPodDelete(e.api.pods["default/vip"])
			default:
				e.updatePod(e.api.pods["default/vip"], func(p *v1.Pod) { p.Status.NominatedNodeName = "" })
			}
			assert.Equal(t, queue.Active, loc(low))
			assert.Equal(t, queue.Unschedulable, loc(huge), "only pods of lower or equal priority")
			assert.Equal(t, "AssignedPodDelete", e.s.queue.Get(low.UID).MovedBy)
			e.eng.RunFor(0)
			assert.Equal(t, "n", e.api.binds["default/low"])
		})
	}
}
