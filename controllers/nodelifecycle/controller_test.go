package nodelifecycle

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/controllers/internal/ctltest"
	"github.com/kubesim/kubesim/controllers/nodeutil"
	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/sim/record"
)

func newController(env *ctltest.Env, cfg Config) *Controller {
	c := env.Client(EventSource)
	return New(env.Eng, env.Factory, c, record.New(c, env.Eng, EventSource, ""), cfg)
}

// taintTimes returns when the controller traced adding (verb "tainted") or
// removing ("untainted") a taint key:effect on node.
func taintTimes(env *ctltest.Env, verb, node, taint string) []time.Duration {
	var out []time.Duration
	for _, r := range env.Traced(Component, verb) {
		if r.Name == node && strings.Contains(r.Msg, taint) {
			out = append(out, r.Time)
		}
	}
	return out
}

func nodeCond(n *v1.Node, t v1.NodeConditionType) v1.NodeCondition {
	_, c := nodeutil.GetNodeCondition(&n.Status, t)
	if c == nil {
		return v1.NodeCondition{}
	}
	return *c
}

func hasTaint(n *v1.Node, key string, effect v1.TaintEffect) bool {
	return nodeutil.TaintExists(n.Spec.Taints, &v1.Taint{Key: key, Effect: effect})
}

const (
	unreachableNoSchedule = "node.kubernetes.io/unreachable:NoSchedule"
	unreachableNoExecute  = "node.kubernetes.io/unreachable:NoExecute"
	notReadyNoExecute     = "node.kubernetes.io/not-ready:NoExecute"
)

// TestDeadNodeTimeline stops one node's heartbeats (Lease renewals) at L and
// checks every step of the controller's reaction to the second, for a
// renewal on the 5 s monitor grid and for one between two ticks.
func TestDeadNodeTimeline(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, last time.Duration // first and last Lease renewal of n1
		unknownAt   time.Duration // first 5 s tick strictly after last+50 s
	}{
		{"last renewal on a tick", 0, 100 * s, 155 * s},
		{"last renewal between ticks", 2 * s, 102 * s, 155 * s},
		{"last renewal just before a tick", 4 * s, 104 * s, 155 * s},
		{"last renewal just after a tick", 6 * s, 106 * s, 160 * s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := ctltest.New(t, 1)
			for _, n := range []string{"n1", "n2", "n3"} {
				env.CreateNode(ctltest.Node(n, nil, 0))
			}
			env.CreatePod(ctltest.Pod("default", "web-1", "n1", 0))
			env.CreatePod(ctltest.Pod("default", "web-2", "n2", 0))
			nc := newController(env, Config{})
			env.Start()
			env.HeartbeatUntil("n1", tc.first, 10*s, tc.last)
			env.HeartbeatUntil("n2", 0, 10*s, 600*s)
			env.HeartbeatUntil("n3", 0, 10*s, 600*s)

			env.Eng.RunUntil(tc.unknownAt - 1)
			n1 := env.GetNode("n1")
			require.Equal(t, v1.ConditionTrue, nodeCond(n1, v1.NodeReady).Status, "still Ready one instant before")

			env.Eng.RunUntil(tc.unknownAt)
			n1 = env.GetNode("n1")
			for _, ct := range []v1.NodeConditionType{v1.NodeReady, v1.NodeMemoryPressure, v1.NodeDiskPressure, v1.NodePIDPressure} {
				c := nodeCond(n1, ct)
				assert.Equal(t, v1.ConditionUnknown, c.Status, ct)
				assert.Equal(t, "NodeStatusUnknown", c.Reason, ct)
				assert.Equal(t, "Kubelet stopped posting node status.", c.Message, ct)
				assert.True(t, c.LastTransitionTime.Equal(ptrTime(ctltest.At(tc.unknownAt).Time)), "%s transition at %v", ct, c.LastTransitionTime)
			}
			assert.Equal(t, []time.Duration{tc.unknownAt}, env.TracedAt(Component, "statusUnknown", "n1"))
			assert.Equal(t, []time.Duration{tc.unknownAt}, env.TracedAt(Component, "nodeNotReady", "n1"))
			assert.Equal(t, []string{"Node/n1: Node n1 status is now: NodeNotReady"}, env.EventMessages("NodeNotReady")[:1])

			// The unreachable:NoSchedule taint comes at once; NoExecute not yet.
			assert.True(t, hasTaint(n1, v1.TaintNodeUnreachable, v1.TaintEffectNoSchedule))
			assert.False(t, hasTaint(n1, v1.TaintNodeUnreachable, v1.TaintEffectNoExecute))
			assert.Equal(t, []time.Duration{tc.unknownAt}, taintTimes(env, "tainted", "n1", unreachableNoSchedule))

			// The pod on n1 is not ready any more but keeps its phase; the
			// pod on n2 is untouched.
			p1 := env.GetPod("default", "web-1")
			assert.False(t, podutil.IsPodReady(p1))
			assert.Equal(t, v1.PodRunning, p1.Status.Phase)
			assert.True(t, podutil.GetPodReadyCondition(p1.Status).LastTransitionTime.Equal(ptrTime(ctltest.At(tc.unknownAt).Time)))
			assert.True(t, podutil.IsPodReady(env.GetPod("default", "web-2")))
			assert.Equal(t, []string{"Pod/web-1: Node is not ready"}, podEvents(env.EventMessages("NodeNotReady")))

			// NoExecute at the next pass: the zone "" is Normal (1 of 3
			// not ready) and its bucket has a token.
			env.Eng.RunUntil(tc.unknownAt + 5*s)
			n1 = env.GetNode("n1")
			assert.True(t, hasTaint(n1, v1.TaintNodeUnreachable, v1.TaintEffectNoExecute))
			assert.Equal(t, []time.Duration{tc.unknownAt + 5*s}, taintTimes(env, "tainted", "n1", unreachableNoExecute))
			for _, taint := range n1.Spec.Taints {
				if taint.Key == v1.TaintNodeUnreachable && taint.Effect == v1.TaintEffectNoExecute {
					assert.True(t, taint.TimeAdded.Equal(ptrTime(ctltest.At(tc.unknownAt+5*s).Time)))
				}
			}
			env.Eng.RunUntil(600 * s)
			for _, n := range []string{"n2", "n3"} {
				node := env.GetNode(n)
				assert.True(t, nodeutil.IsNodeReady(node), n)
				assert.Empty(t, node.Spec.Taints, n)
			}
			assert.Equal(t, []ZoneStatus{{Zone: `""`, Key: "", State: StateNormal, TaintingQPS: 0.1, Queued: []string{}}}, nc.Zones())
			env.CheckMutations()
		})
	}
}

func podEvents(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		if strings.HasPrefix(m, "Pod/") {
			out = append(out, m)
		}
	}
	return out
}

// TestNodeReturnsControllerSide: when the kubelet posts Ready=True again the
// controller removes its taints (NoSchedule at once, NoExecute at the next
// pass); making pods Ready again is the kubelet's job, so they stay False.
func TestNodeReturnsControllerSide(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	env.CreateNode(ctltest.Node("n2", nil, 0))
	env.CreatePod(ctltest.Pod("default", "web-1", "n1", 0))
	newController(env, Config{})
	env.Start()
	env.HeartbeatUntil("n1", 2*s, 10*s, 12*s)
	env.HeartbeatUntil("n2", 2*s, 10*s, 1000*s)
	env.Eng.RunUntil(200 * s)
	n1 := env.GetNode("n1")
	require.True(t, hasTaint(n1, v1.TaintNodeUnreachable, v1.TaintEffectNoExecute))
	require.Equal(t, []time.Duration{65 * s}, env.TracedAt(Component, "statusUnknown", "n1"))

	env.Eng.At(202*s, "kubelet back", func() {
		env.SetNodeReady("n1", v1.ConditionTrue)
		env.RenewLease("n1")
	})
	env.HeartbeatUntil("n1", 212*s, 10*s, 1000*s)
	env.Eng.RunUntil(202 * s)
	n1 = env.GetNode("n1")
	assert.False(t, hasTaint(n1, v1.TaintNodeUnreachable, v1.TaintEffectNoSchedule), "NoSchedule follows the condition at once")
	assert.True(t, hasTaint(n1, v1.TaintNodeUnreachable, v1.TaintEffectNoExecute), "NoExecute is removed by the next monitor pass")
	env.Eng.RunUntil(205 * s)
	n1 = env.GetNode("n1")
	assert.Empty(t, n1.Spec.Taints)
	assert.Equal(t, []time.Duration{205 * s}, taintTimes(env, "untainted", "n1", unreachableNoExecute))
	env.Eng.RunUntil(400 * s)
	assert.True(t, nodeutil.IsNodeReady(env.GetNode("n1")), "heartbeats keep it Ready")
	assert.False(t, podutil.IsPodReady(env.GetPod("default", "web-1")), "the controller never sets pods Ready")
	env.CheckMutations()
}

// TestReadyFalseSwapsNoExecuteTaint: a node the kubelet reports Ready=False
// (while still heartbeating) gets not-ready:NoExecute through the queue; when
// it then goes silent the taint is swapped for unreachable in one write.
func TestReadyFalseSwapsNoExecuteTaint(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	env.CreateNode(ctltest.Node("n2", nil, 0))
	newController(env, Config{})
	env.Start()
	env.HeartbeatUntil("n2", 1*s, 10*s, 1000*s)
	env.HeartbeatUntil("n1", 1*s, 10*s, 101*s)
	env.Eng.At(31*s, "kubelet reports NotReady", func() { env.SetNodeReady("n1", v1.ConditionFalse) })
	env.Eng.RunUntil(31 * s)
	n1 := env.GetNode("n1")
	assert.True(t, hasTaint(n1, v1.TaintNodeNotReady, v1.TaintEffectNoSchedule))
	env.Eng.RunUntil(40 * s)
	assert.Equal(t, []time.Duration{35 * s}, taintTimes(env, "tainted", "n1", notReadyNoExecute), "queued and tainted at the first pass that reads Ready=False")
	assert.Empty(t, env.TracedAt(Component, "nodeNotReady", "n1"), "the kubelet, not this controller, reports its own NotReady")

	// Last heartbeat 101 s: Unknown at 155 s, and since the node already has
	// the not-ready NoExecute taint the swap is immediate at the next pass.
	env.Eng.RunUntil(200 * s)
	assert.Equal(t, []time.Duration{155 * s}, env.TracedAt(Component, "statusUnknown", "n1"))
	assert.Equal(t, []time.Duration{160 * s}, taintTimes(env, "tainted", "n1", unreachableNoExecute))
	assert.Equal(t, []time.Duration{160 * s}, taintTimes(env, "untainted", "n1", notReadyNoExecute))
	n1 = env.GetNode("n1")
	assert.True(t, hasTaint(n1, v1.TaintNodeUnreachable, v1.TaintEffectNoExecute))
	assert.False(t, hasTaint(n1, v1.TaintNodeNotReady, v1.TaintEffectNoExecute))
	assert.True(t, hasTaint(n1, v1.TaintNodeUnreachable, v1.TaintEffectNoSchedule))
	assert.False(t, hasTaint(n1, v1.TaintNodeNotReady, v1.TaintEffectNoSchedule))
	env.CheckMutations()
}

// zoneCluster creates size nodes in zone z (named z-01, z-02, ...), all
// heartbeating from 1 s; the first dead of them stop after 101 s.
func zoneCluster(env *ctltest.Env, z string, size, dead int) []string {
	var names []string
	for i := 1; i <= size; i++ {
		name := fmt.Sprintf("%s-%02d", z, i)
		names = append(names, name)
		env.CreateNode(ctltest.Node(name, ctltest.Zone(z), 0))
		until := 3600 * s
		if i <= dead {
			until = 101 * s
		}
		env.HeartbeatUntil(name, 1*s, 10*s, until)
	}
	return names
}

func noExecuteTimes(env *ctltest.Env) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, r := range env.Traced(Component, "tainted") {
		if strings.Contains(r.Msg, unreachableNoExecute) {
			out[r.Name] = r.Time
		}
	}
	return out
}

func zoneChanges(env *ctltest.Env) []string {
	var out []string
	for _, r := range env.Traced(Component, "zoneStateChanged") {
		out = append(out, fmt.Sprintf("%gs %s %s", r.Time.Seconds(), r.Name, strings.SplitN(r.Msg, ":", 2)[0]))
	}
	return out
}

func TestZoneNormalTaintsOneNodePer10s(t *testing.T) {
	env := ctltest.New(t, 1)
	zoneCluster(env, "a", 6, 2)
	newController(env, Config{})
	env.Start()
	env.Eng.RunUntil(400 * s)
	// Both Unknown at 155 s, queued at 160 s: a-01 at once, a-02 one token
	// (10 s) later.
	assert.Equal(t, map[string]time.Duration{"a-01": 160 * s, "a-02": 170 * s}, noExecuteTimes(env))
	assert.Equal(t, []string{"0s a Initial → Normal"}, zoneChanges(env))
}

func TestZonePartialDisruptionSmallZoneStopsTainting(t *testing.T) {
	env := ctltest.New(t, 1)
	zoneCluster(env, "a", 5, 3)
	zoneCluster(env, "b", 2, 0)
	nc := newController(env, Config{})
	env.Start()
	env.Eng.RunUntil(1000 * s)
	assert.Empty(t, noExecuteTimes(env), "3 of 5 not ready in a zone of at most 50 nodes: no NoExecute taint")
	assert.Equal(t, []string{"0s a Initial → Normal", "0s b Initial → Normal", "155s a Normal → PartialDisruption"}, zoneChanges(env))
	for _, n := range []string{"a-01", "a-02", "a-03"} {
		assert.True(t, hasTaint(env.GetNode(n), v1.TaintNodeUnreachable, v1.TaintEffectNoSchedule), n)
	}
	zones := nc.Zones()
	require.Len(t, zones, 2)
	assert.Equal(t, StatePartialDisruption, zones[0].State)
	assert.Equal(t, 0.0, zones[0].TaintingQPS)
	assert.Equal(t, []string{"a-01", "a-02", "a-03"}, zones[0].Queued)
}

func TestZonePartialDisruptionLargeZoneSecondaryRate(t *testing.T) {
	env := ctltest.New(t, 1)
	zoneCluster(env, "big", 52, 30) // 30/52 ≈ 58% not ready, zone > 50 nodes
	newController(env, Config{})
	env.Start()
	env.Eng.RunUntil(400 * s)
	got := noExecuteTimes(env)
	// The zone turns PartialDisruption at 155 s while its 0.1/s bucket still
	// holds a token, so the 0.01/s bucket starts full: one taint at 160 s,
	// then one every 100 s.
	assert.Equal(t, map[string]time.Duration{"big-01": 160 * s, "big-02": 260 * s, "big-03": 360 * s}, got)
	assert.Equal(t, []string{"0s big Initial → Normal", "155s big Normal → PartialDisruption"}, zoneChanges(env))
}

func TestAllZonesFullyDisruptedStopsAndUntaints(t *testing.T) {
	env := ctltest.New(t, 1)
	for _, z := range []string{"a", "b"} {
		for i := 1; i <= 2; i++ {
			env.CreateNode(ctltest.Node(fmt.Sprintf("%s-%d", z, i), ctltest.Zone(z), 0))
		}
	}
	env.HeartbeatUntil("a-1", 1*s, 10*s, 101*s) // dies first
	for _, n := range []string{"a-2", "b-1", "b-2"} {
		env.HeartbeatUntil(n, 3*s, 10*s, 303*s) // all die together later
	}
	newController(env, Config{})
	env.Start()
	env.Eng.RunUntil(300 * s)
	require.Equal(t, map[string]time.Duration{"a-1": 160 * s}, noExecuteTimes(env), "1 of 2 not ready: Normal")
	env.Eng.RunUntil(2000 * s)
	// Last heartbeats at 303 s: Unknown at 355 s; both zones are then fully
	// disrupted, so the controller assumes a control-plane problem.
	assert.Equal(t, map[string]time.Duration{"a-1": 160 * s}, noExecuteTimes(env), "no NoExecute taint while every zone is down")
	assert.Equal(t, []time.Duration{355 * s}, taintTimes(env, "untainted", "a-1", unreachableNoExecute))
	for _, n := range []string{"a-1", "a-2", "b-1", "b-2"} {
		node := env.GetNode(n)
		assert.False(t, hasTaint(node, v1.TaintNodeUnreachable, v1.TaintEffectNoExecute), n)
		assert.True(t, hasTaint(node, v1.TaintNodeUnreachable, v1.TaintEffectNoSchedule), n)
	}
	assert.Equal(t, []string{"0s a Initial → Normal", "0s b Initial → Normal",
		"355s a Normal → FullDisruption", "355s b Normal → FullDisruption"}, zoneChanges(env))
}

// TestLeavingFullDisruptionOfEveryZoneTracesEveryRate: when one node of
// one zone comes back, every zone gets its own rate again (upstream
// handleDisruption, "exiting master disruption mode"); a zone still fully
// disrupted keeps its state but goes from 0 back to the normal rate, and
// the trace says so, since its nodes are tainted from then on.
func TestLeavingFullDisruptionOfEveryZoneTracesEveryRate(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("a-1", ctltest.Zone("a"), 0))
	for _, n := range []string{"b-1", "b-2"} {
		env.CreateNode(ctltest.Node(n, ctltest.Zone("b"), 0))
	}
	for _, n := range []string{"a-1", "b-1", "b-2"} {
		env.HeartbeatUntil(n, 1*s, 10*s, 101*s)
	}
	newController(env, Config{})
	env.Start()
	env.Eng.At(302*s, "a-1 back", func() {
		env.SetNodeReady("a-1", v1.ConditionTrue)
		env.RenewLease("a-1")
	})
	env.HeartbeatUntil("a-1", 312*s, 10*s, 1000*s)
	env.Eng.RunUntil(400 * s)
	assert.Equal(t, []string{"0s a Initial → Normal", "0s b Initial → Normal",
		"155s a Normal → FullDisruption", "155s b Normal → FullDisruption",
		"305s a FullDisruption → Normal"}, zoneChanges(env))
	var rates []string
	for _, r := range env.Traced(Component, "zoneRateChanged") {
		rates = append(rates, fmt.Sprintf("%gs %s %s", r.Time.Seconds(), r.Name, r.Msg))
	}
	assert.Equal(t, []string{"305s b FullDisruption: 2 of 2 node(s) not ready; NoExecute tainting at 0 → 0.1 nodes/s (leaving full disruption of every zone)"}, rates)
	// The new limiter starts drained (upstream SwapLimiter): b-1 a token later.
	assert.Equal(t, map[string]time.Duration{"b-1": 315 * s, "b-2": 325 * s}, noExecuteTimes(env))
}

// TestOneZoneFullyDisruptedKeepsNormalRate: a whole zone down while another
// is healthy is tainted at the normal rate.
func TestOneZoneFullyDisruptedKeepsNormalRate(t *testing.T) {
	env := ctltest.New(t, 1)
	zoneCluster(env, "a", 3, 3)
	zoneCluster(env, "b", 3, 0)
	newController(env, Config{})
	env.Start()
	env.Eng.RunUntil(400 * s)
	assert.Equal(t, map[string]time.Duration{"a-01": 160 * s, "a-02": 170 * s, "a-03": 180 * s}, noExecuteTimes(env))
	assert.Contains(t, zoneChanges(env), "155s a Normal → FullDisruption")
}

// TestNeverReportedNode: a node that never posted a Ready condition gets
// the startup grace from its creation and NodeStatusNeverUpdated conditions.
func TestNeverReportedNode(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("good", nil, 0))
	env.HeartbeatUntil("good", 1*s, 10*s, 1000*s)
	env.Eng.At(12*s, "register silent node", func() {
		env.CreateNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "silent"}})
	})
	newController(env, Config{})
	env.Start()
	env.Eng.RunUntil(200 * s)
	n := env.GetNode("silent")
	for _, ct := range []v1.NodeConditionType{v1.NodeReady, v1.NodeMemoryPressure, v1.NodeDiskPressure, v1.NodePIDPressure} {
		c := nodeCond(n, ct)
		assert.Equal(t, v1.ConditionUnknown, c.Status, ct)
		assert.Equal(t, "NodeStatusNeverUpdated", c.Reason, ct)
		assert.Equal(t, "Kubelet never posted node status.", c.Message, ct)
	}
	// Created at 12 s: the first pass with now >= 12 s + 60 s is at 75 s.
	assert.Equal(t, []time.Duration{75 * s}, env.TracedAt(Component, "statusUnknown", "silent"))
	assert.Empty(t, env.TracedAt(Component, "nodeNotReady", "silent"), "it was never Ready")
	// The pass at 75 s reads the (fake) Unknown condition and queues the node
	// at once; the tainting pass that follows it sees the written status.
	assert.Equal(t, []time.Duration{75 * s}, taintTimes(env, "tainted", "silent", unreachableNoExecute))
	assert.Equal(t, []string{"Node/good: Node good event: Registered Node good in Controller",
		"Node/silent: Node silent event: Registered Node silent in Controller"}, env.EventMessages("RegisteredNode"))
}

// TestNoScheduleTaintsFollowConditions covers the registration taint going
// away when the node turns Ready, cordoning, and a pressure condition.
func TestNoScheduleTaintsFollowConditions(t *testing.T) {
	env := ctltest.New(t, 1)
	n := ctltest.Node("n1", map[string]string{v1.LabelOSStable: "linux"}, 0)
	n.Status.Conditions[3].Status = v1.ConditionFalse // registers not ready
	n.Spec.Taints = []v1.Taint{{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoSchedule}, {Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule}}
	env.CreateNode(n)
	env.HeartbeatUntil("n1", 1*s, 10*s, 1000*s)
	newController(env, Config{})
	env.Start()
	env.Eng.RunUntil(1 * s)
	got := env.GetNode("n1")
	assert.True(t, hasTaint(got, v1.TaintNodeNotReady, v1.TaintEffectNoSchedule))
	assert.Equal(t, "linux", got.Labels["beta.kubernetes.io/os"], "beta OS label reconciled from the GA one")

	env.Eng.At(20*s, "kubelet ready", func() { env.SetNodeReady("n1", v1.ConditionTrue) })
	env.Eng.At(30*s, "cordon", func() {
		node := env.GetNode("n1")
		node.Spec.Unschedulable = true
		_, err := env.Admin.CoreV1().Nodes().Update(context.TODO(), node, metav1.UpdateOptions{})
		require.NoError(t, err)
	})
	env.Eng.At(40*s, "memory pressure", func() {
		node := env.GetNode("n1")
		for i := range node.Status.Conditions {
			if node.Status.Conditions[i].Type == v1.NodeMemoryPressure {
				node.Status.Conditions[i].Status = v1.ConditionTrue
			}
		}
		_, err := env.Admin.CoreV1().Nodes().UpdateStatus(context.TODO(), node, metav1.UpdateOptions{})
		require.NoError(t, err)
	})
	env.Eng.RunUntil(20 * s)
	got = env.GetNode("n1")
	assert.False(t, hasTaint(got, v1.TaintNodeNotReady, v1.TaintEffectNoSchedule))
	assert.Equal(t, []time.Duration{20 * s}, taintTimes(env, "untainted", "n1", "node.kubernetes.io/not-ready:NoSchedule"))
	env.Eng.RunUntil(40 * s)
	got = env.GetNode("n1")
	assert.Equal(t, []v1.Taint{
		{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule},
		{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule, TimeAdded: ptrTime(ctltest.At(30 * s).Time)},
		{Key: v1.TaintNodeMemoryPressure, Effect: v1.TaintEffectNoSchedule, TimeAdded: ptrTime(ctltest.At(40 * s).Time)},
	}, normalizeTaints(got.Spec.Taints))
	env.CheckMutations()
}

func normalizeTaints(ts []v1.Taint) []v1.Taint {
	out := make([]v1.Taint, len(ts))
	for i, t := range ts {
		out[i] = t
		if t.TimeAdded != nil {
			out[i].TimeAdded = ptrTime(t.TimeAdded.UTC())
		}
	}
	return out
}

// TestPodBoundToNotReadyNode: a pod that lands on a node already not ready
// is marked not ready by the pod queue, without waiting for a pass.
func TestPodBoundToNotReadyNode(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	env.CreateNode(ctltest.Node("n2", nil, 0))
	env.HeartbeatUntil("n2", 1*s, 10*s, 1000*s)
	newController(env, Config{})
	env.Start()
	env.Eng.At(72*s, "late pod", func() { env.CreatePod(ctltest.Pod("default", "late", "n1", 72*s)) })
	env.Eng.RunUntil(72 * s)
	p := env.GetPod("default", "late")
	require.NotNil(t, p)
	assert.False(t, podutil.IsPodReady(p))
	assert.Equal(t, []time.Duration{72 * s}, env.TracedAt(Component, "podNotReady", "late"))
}

// TestLeavingFullDisruptionOfEveryZone: once some nodes are Ready again the
// zones get their rates back and the still-dead zone is tainted at
// EvictionRate, from a drained bucket — except with --node-eviction-rate=1,
// where upstream's SwapLimiter keeps the never limiter (it reports QPS 1) and
// the dead zone is never tainted.
func TestLeavingFullDisruptionOfEveryZone(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want map[string]time.Duration
	}{
		{0.1, map[string]time.Duration{"a-1": 315 * s, "a-2": 325 * s}},
		{1, map[string]time.Duration{}},
	} {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			env := ctltest.New(t, 1)
			for _, z := range []string{"a", "b"} {
				for i := 1; i <= 2; i++ {
					name := fmt.Sprintf("%s-%d", z, i)
					env.CreateNode(ctltest.Node(name, ctltest.Zone(z), 0))
					env.HeartbeatUntil(name, 1*s, 10*s, 101*s)
				}
			}
			for _, n := range []string{"b-1", "b-2"} {
				env.Eng.At(300*s, "kubelet back", func() { env.SetNodeReady(n, v1.ConditionTrue) })
				env.HeartbeatUntil(n, 300*s, 10*s, 3600*s)
			}
			newController(env, Config{EvictionRate: tc.rate})
			env.Start()
			env.Eng.RunUntil(1000 * s)
			// Every node Unknown at 155 s: every zone fully disrupted, no
			// NoExecute taint. b Ready again at 300 s, seen by the 305 s pass.
			assert.Equal(t, []string{"0s a Initial → Normal", "0s b Initial → Normal",
				"155s a Normal → FullDisruption", "155s b Normal → FullDisruption", "305s b FullDisruption → Normal"}, zoneChanges(env))
			assert.Equal(t, tc.want, noExecuteTimes(env))
		})
	}
}

// TestLeaseWithoutRenewTime follows upstream's comparison of renew times
// (metav1.MicroTime.Before is false when either is nil): a Lease seen for
// the first time counts as a heartbeat even without renewTime, and once
// such a Lease is saved no renewal counts until the Ready heartbeat moves.
func TestLeaseWithoutRenewTime(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n", nil, 0))
	env.Eng.At(30*s, "lease without renewTime", func() {
		_, err := env.Admin.CoordinationV1().Leases(v1.NamespaceNodeLease).Create(context.TODO(),
			&coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n"}}, metav1.CreateOptions{})
		require.NoError(t, err)
	})
	env.HeartbeatUntil("n", 60*s, 10*s, 1000*s)
	newController(env, Config{})
	env.Start()
	env.Eng.RunUntil(200 * s)
	// Probe at 0 (first pass), then at 35 (the Lease first seen); the
	// renewals from 60 s do not count.
	assert.Equal(t, []time.Duration{85 * s}, env.TracedAt(Component, "statusUnknown", "n"))
}

// TestStatusUnknownSaysHowLongAgo: the statusUnknown record names the last
// heartbeat's time and how long ago it was. "since 3m55s" alone, printed at
// 4m45s after a node had flapped, read as a silence of 3m55s against a
// grace period of 50s.
func TestStatusUnknownSaysHowLongAgo(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	newController(env, Config{})
	env.Start()
	env.HeartbeatUntil("n1", 2*s, 10*s, 12*s)
	env.Eng.RunUntil(100 * s)
	recs := env.Traced(Component, "statusUnknown")
	require.Len(t, recs, 1)
	assert.Equal(t, 65*s, recs[0].Time)
	assert.Contains(t, recs[0].Msg, "no heartbeat observed since 15s (50s ago), grace 50s")
}
