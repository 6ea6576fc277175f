package scheduler

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/scheduler/internal/queue"
	"github.com/kubesim/kubesim/sim"
)

// Cases from upstream schedule_one_test.go, TestNumFeasibleNodesToFind.
func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		name       string
		percentage int32
		nodes      int32
		want       int32
	}{
		{"not set percentageOfNodesToScore and nodes number not more than 50", 0, 10, 10},
		{"set percentageOfNodesToScore and nodes number not more than 50", 40, 10, 10},
		{"not set percentageOfNodesToScore and nodes number more than 50", 0, 1000, 420},
		{"set percentageOfNodesToScore and nodes number more than 50", 40, 1000, 400},
		{"not set percentageOfNodesToScore and nodes number more than 50*125", 0, 6000, 300},
		{"set percentageOfNodesToScore and nodes number more than 50*125", 40, 6000, 2400},
		{"5,000 nodes", 0, 5000, 500},
		{"just above 100 nodes", 0, 150, 100},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, numFeasibleNodesToFind(tc.percentage, tc.nodes), tc.name)
	}
}

// With 200 identical nodes only 100 are examined per cycle, and the next
// cycle starts where the previous one stopped.
func TestNextStartNodeIndexRotates(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	for i := 0; i < 200; i++ {
		e.addNodes(node(fmt.Sprintf("n%03d", i), "4", "8Gi"))
	}
	e.addPods(pod("a", "100m", ""), pod("b", "100m", ""), pod("c", "100m", ""))
	e.settle()
	var starts []int
	for _, name := range []string{"a", "b", "c"} {
		a, _ := e.s.Explain("default", name)
		assert.Equal(t, 100, a.Examined)
		assert.Equal(t, 100, a.NumToFind)
		starts = append(starts, a.StartIndex)
	}
	assert.Equal(t, []int{0, 100, 0}, starts)
}

// A nominated node that fails its first, lone evaluation keeps its status
// in the diagnosis (upstream evaluateNominatedNode writes it into the
// shared NodeToStatus), so when the following search stops before reaching
// it, the next start index still counts it: 100 feasible + 1 rejected.
func TestFailedNominatedNodeCountsForNextStartNodeIndex(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	for i := 0; i < 120; i++ {
		e.addNodes(node(fmt.Sprintf("n%03d", i), "1", "8Gi"))
	}
	e.addPods(pod("full", "1", "", onNode("n119")))
	nominated := pod("a", "500m", "", priority(10))
	nominated.Status.NominatedNodeName = "n119"
	e.addPods(nominated, pod("b", "100m", ""))
	e.settle()
	a, _ := e.s.Explain("default", "a")
	assert.Equal(t, 0, a.StartIndex)
	assert.Equal(t, 101, a.Examined, "upstream's EvaluatedNodes: feasible + NodeToStatus")
	b, _ := e.s.Explain("default", "b")
	assert.Equal(t, 101, b.StartIndex)
}

// The same when a PreFilter excluded the nominated node: the FitError
// counts its own rejection, not the PreFilter's reason.
func TestFailedNominatedNodeOutsidePreFilterNodes(t *testing.T) {
	p := pod("p", "2", "", neverPreempt())
	p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchFields: []v1.NodeSelectorRequirement{{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{"a"}}},
		}}},
	}}
	p.Status.NominatedNodeName = "b"
	got := failOnce(t, []*v1.Node{node("a", "1", "1Gi"), node("b", "4", "1Gi"), node("c", "4", "1Gi")}, nil, p)
	assert.Equal(t, "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector, "+
		"1 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: not eligible due to preemptionPolicy=Never.", got)
}

// The scheduler assumes a pod before its binding is confirmed: the next
// cycle already sees its resources.
func TestAssumedPodResourcesVisibleBeforeBind(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BindDelay = 5 * time.Second
	e := newEnv(t, cfg, true)
	e.addNodes(node("n", "1", "1Gi"))
	e.addPods(pod("a", "600m", ""), pod("b", "600m", ""))
	e.eng.RunFor(0)
	assert.Empty(t, e.api.binds, "bind has not happened yet")
	a, _ := e.s.Explain("default", "a")
	assert.Equal(t, OutcomeAssumed, a.Outcome)
	b, _ := e.s.Explain("default", "b")
	assert.Equal(t, OutcomeUnschedulable, b.Outcome)
	assert.Contains(t, b.Message, "1 Insufficient cpu")
	e.eng.RunFor(5 * time.Second)
	assert.Equal(t, "n", e.api.binds["default/a"])
	a, _ = e.s.Explain("default", "a")
	assert.Equal(t, OutcomeBound, a.Outcome)
}

// A failed bind forgets the assumed pod (freeing its resources, which
// requeues pods that did not fit) and retries the pod after an error backoff.
func TestBindFailureForgetsAssumedPod(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BindDelay = time.Second
	e := newEnv(t, cfg, true)
	fails := 1
	e.api.bindErr = func(p *v1.Pod, _ string) error {
		if p.Name == "a" && fails > 0 {
			fails--
			return errors.New("conflict")
		}
		return nil
	}
	e.addNodes(node("n", "1", "1Gi"))
	e.addPods(pod("a", "600m", ""))
	e.eng.RunFor(0)
	e.addPods(pod("b", "600m", ""))
	e.eng.RunFor(0)
	b, _ := e.s.Explain("default", "b")
	require.Equal(t, OutcomeUnschedulable, b.Outcome, "a is assumed")
	e.eng.RunFor(time.Second) // a's bind fails, b is requeued and fits
	a, _ := e.s.Explain("default", "a")
	assert.Equal(t, OutcomeBindFailed, a.Outcome)
	assert.Equal(t, `running Bind plugin "DefaultBinder": conflict`, a.Message)
	assert.Equal(t, v1.PodReasonSchedulerError, e.api.conds["default/a"].Reason)
	e.eng.RunFor(10 * time.Second)
	assert.Equal(t, "n", e.api.binds["default/b"])
	_, aBound := e.api.binds["default/a"]
	assert.False(t, aBound, "b took the room")
}

// An assumed pod whose bound version never arrives expires after the TTL
// (when one is configured) and frees its node.
func TestAssumedPodExpiry(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AssumedPodTTL = 30 * time.Second
	e := newEnv(t, cfg, false) // no echo: the informer never confirms
	e.addNodes(node("n", "1", "1Gi"))
	e.addPods(pod("a", "600m", ""))
	e.eng.RunFor(0)
	e.addPods(pod("b", "600m", ""))
	e.eng.RunFor(29 * time.Second)
	assert.NotContains(t, e.api.binds, "default/b")
	e.eng.RunFor(time.Second) // expired by the 30 s housekeeping tick: deadline = bind + 30 s
	assert.Equal(t, "n", e.api.binds["default/b"])
}

func TestTerminatedPodsLeaveTheCache(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n", "1", "1Gi"))
	done := pod("job", "1", "", onNode("n"))
	e.addPods(done)
	e.addPods(pod("p", "1", ""))
	e.eng.RunFor(0)
	require.NotContains(t, e.api.binds, "default/p")
	finished := *done
	finished.Status.Phase = v1.PodSucceeded
	e.s.OnPodUpdate(done, &finished)
	e.eng.RunFor(2 * time.Second)
	assert.Equal(t, "n", e.api.binds["default/p"])
}

func TestNodeDeleteWithPodsKeepsGhostUntilPodsGo(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	n := node("n", "1", "1Gi")
	e.addNodes(n)
	e.addPods(pod("a", "500m", "", onNode("n")))
	e.s.OnNodeDelete(n)
	assert.Nil(t, e.s.cache.Get("n"))
	assert.Equal(t, 1, e.s.cache.NumPods())
	e.s.OnPodDelete(e.api.pods["default/a"])
	assert.Zero(t, e.s.cache.NumPods())
	e.addNodes(n)
	e.addPods(pod("b", "1", ""))
	e.eng.RunFor(0)
	assert.Equal(t, "n", e.api.binds["default/b"])
}

// Pods of a ReplicaSet behind a Service spread over nodes by the default
// PodTopologySpread constraints (hostname maxSkew 3).
func TestDefaultSpreadFromReplicaSetAndService(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n1", "8", "16Gi"), node("n2", "8", "16Gi"))
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-1"},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	e.s.OnReplicaSetAdd(rs)
	e.s.OnServiceAdd(&v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}, Spec: v1.ServiceSpec{Selector: map[string]string{"app": "web"}}})
	isController := true
	for i := 0; i < 6; i++ {
		p := pod(fmt.Sprintf("web-%d", i), "100m", "", podLabels("app", "web"))
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", Controller: &isController}}
		e.addPods(p)
		e.settle()
	}
	count := map[string]int{}
	for _, n := range e.api.binds {
		count[n]++
	}
	assert.Equal(t, map[string]int{"n1": 3, "n2": 3}, count)
	a, _ := e.s.Explain("default", "web-5")
	var spread *PluginScore
	for i, p := range a.Scores[0].Plugins {
		if p.Plugin == "PodTopologySpread" {
			spread = &a.Scores[0].Plugins[i]
		}
	}
	require.NotNil(t, spread)
	assert.False(t, spread.Skipped)
}

// Ties between equally scored nodes are broken by the seeded "scheduler"
// stream: the same seed picks the same node, and every tied node gets picked
// for some seed.
func TestSelectHostUniformAmongTies(t *testing.T) {
	pick := func(seed uint64) string {
		eng := sim.New(seed)
		api := newFakeAPI()
		api.echo = true
		s := New(eng, api, DefaultConfig())
		api.s = s
		for _, n := range []string{"a", "b", "c", "d"} {
			s.OnNodeAdd(node(n, "4", "8Gi"))
		}
		s.OnPodAdd(pod("p", "100m", ""))
		eng.RunUntilIdle(1000)
		return api.binds["default/p"]
	}
	seen := map[string]int{}
	for seed := uint64(0); seed < 200; seed++ {
		seen[pick(seed)]++
		assert.Equal(t, pick(seed), pick(seed))
	}
	assert.Len(t, seen, 4)
	for n, c := range seen {
		assert.Greater(t, c, 20, "node %s picked only %d/200 times", n, c)
	}
}

// Same seed, same inputs ⇒ identical decisions, events and explain output.
func TestDeterministicRuns(t *testing.T) {
	run := func() string {
		e := newEnv(t, DefaultConfig(), true)
		for i := 0; i < 12; i++ {
			e.addNodes(node(fmt.Sprintf("n%d", i), "2", "4Gi", withLabels(v1.LabelTopologyZone, fmt.Sprintf("z%d", i%3))))
		}
		for i := 0; i < 40; i++ {
			e.addPods(pod(fmt.Sprintf("p%d", i), "300m", "256Mi", podLabels("app", "x"),
				spread(v1.LabelTopologyZone, 1, v1.ScheduleAnyway, map[string]string{"app": "x"}), priority(int32(i%3))))
		}
		e.eng.RunFor(time.Minute)
		out := fmt.Sprint(e.api.order, e.api.binds, e.api.events)
		for i := 0; i < 40; i++ {
			if a, ok := e.s.Explain("default", fmt.Sprintf("p%d", i)); ok {
				out += a.String()
			}
		}
		return out
	}
	assert.Equal(t, run(), run())
}

func TestExplainBoundsAndGC(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ExplainAttemptsPerPod = 2
	cfg.ExplainDetailedAttempts = 3
	e := newEnv(t, cfg, true)
	e.addNodes(node("a", "1", "1Gi"), node("b", "1", "1Gi"), node("c", "1", "1Gi"))
	for i := 0; i < 5; i++ {
		e.addPods(pod(fmt.Sprintf("p%d", i), "100m", ""))
	}
	e.settle()
	first, _ := e.s.Explain("default", "p0")
	assert.False(t, first.Detailed, "details of old attempts are dropped")
	assert.Len(t, first.Top, 3, "but the top 3 scores stay")
	assert.True(t, first.Top[0].Chosen)
	last, _ := e.s.Explain("default", "p4")
	assert.True(t, last.Detailed)
	assert.Len(t, last.Scores, 3)

	// History is bounded per pod.
	e.addPods(pod("big", "2", ""))
	e.eng.RunFor(12 * time.Minute)
	assert.Len(t, e.s.History("default", "big"), 2)

	// A deleted pod's records go after ExplainRetainDeleted (5 min).
	e.s.OnPodDelete(e.api.pods["default/big"])
	e.eng.RunFor(4 * time.Minute)
	_, ok := e.s.Explain("default", "big")
	assert.True(t, ok)
	e.eng.RunFor(2 * time.Minute)
	_, ok = e.s.Explain("default", "big")
	assert.False(t, ok)
}

func TestExplainText(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("a", "1", "1Gi"), node("b", "2", "1Gi", withTaint("team", "x", v1.TaintEffectNoSchedule)))
	e.addPods(pod("p", "1500m", ""))
	e.settle()
	a, _ := e.s.Explain("default", "p")
	txt := a.String()
	for _, want := range []string{
		"pod default/p attempt 1 at 0:00:00.000 (cycle 1, priority 0): Unschedulable",
		"message: 0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {team: x}.",
		"a                    NodeResourcesFit   Insufficient cpu",
		"b                    TaintToleration    node(s) had untolerated taint {team: x}",
		"requeued to unschedulable (waits for events relevant to TaintToleration, NodeResourcesFit)",
	} {
		assert.Contains(t, txt, want)
	}
	e.addNodes(node("c", "2", "1Gi"), node("d", "4", "1Gi"))
	e.eng.RunFor(time.Second)
	a, _ = e.s.Explain("default", "p")
	assert.Equal(t, OutcomeBound, a.Outcome)
	assert.Equal(t, "d", a.Node, "LeastAllocated prefers the emptier node")
	assert.Contains(t, a.String(), "*d                    total")
	assert.Equal(t, queue.Location(0), locationOf(e, "p"))
}

func locationOf(e *env, name string) queue.Location {
	p := e.s.queue.Get(e.api.pods["default/"+name].UID)
	if p == nil {
		return 0
	}
	return p.Location
}

// Pods without spec.priority (admission did not resolve it) take the
// priority of their PriorityClass, or of the globalDefault class.
func TestPriorityClassFallback(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.s.OnPriorityClassAdd(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000})
	e.s.OnPriorityClassAdd(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Value: 5, GlobalDefault: true})
	e.addNodes(node("n", "4", "4Gi", maxPods("1")))
	low := pod("low", "", "")
	high := pod("high", "", "")
	high.Spec.PriorityClassName = "high"
	e.addPods(low, high)
	e.settle()
	assert.Equal(t, []string{"default/high"}, e.api.order)
	a, _ := e.s.Explain("default", "low")
	assert.Equal(t, int32(5), a.Priority)
}

// A relist may deliver a known pod again: it is treated as an update.
func TestDuplicateAddIsAnUpdate(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n", "1", "1Gi"))
	p := pod("p", "2", "")
	e.addPods(p)
	e.eng.RunFor(0)
	assert.NotPanics(t, func() { e.s.OnPodAdd(p) })
	e.settle()
}

// addUnevenNodes adds six nodes whose CPU grows as their memory shrinks,
// so that every node scores differently.
func addUnevenNodes(e *env) {
	for i := 0; i < 6; i++ {
		e.addNodes(node(fmt.Sprintf("n%d", i), fmt.Sprint(i+1), fmt.Sprintf("%dGi", 6-i)))
	}
}

// When an attempt loses its per-node details it keeps its best 3 scored
// nodes exactly as they were (node, total, chosen, every plugin's scores).
func TestExplainTopSurvivesCompaction(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ExplainDetailedAttempts = 1
	e := newEnv(t, cfg, true)
	addUnevenNodes(e)
	e.addPods(pod("p0", "500m", "512Mi"))
	e.settle()
	detailed, _ := e.s.Explain("default", "p0")
	require.True(t, detailed.Detailed)
	require.Len(t, detailed.Scores, 6)
	e.addPods(pod("p1", "100m", ""))
	e.settle()
	compact, _ := e.s.Explain("default", "p0")
	assert.False(t, compact.Detailed)
	assert.Empty(t, compact.Scores)
	assert.Equal(t, detailed.Scores[:3], compact.Top)
	assert.Equal(t, detailed.Node, compact.Node)
}

// An attempt's details keep their own scores while later attempts are
// scored (the detail takes the framework's score buffers over, and the
// framework gets recycled ones).
func TestExplainDetailsKeepTheirScores(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ExplainDetailedAttempts = 2
	e := newEnv(t, cfg, true)
	addUnevenNodes(e)
	var want []*Attempt
	for i := 0; i < 5; i++ {
		e.addPods(pod(fmt.Sprintf("p%d", i), fmt.Sprintf("%dm", 100*(i+1)), fmt.Sprintf("%dMi", 64*(i+1))))
		e.settle()
		a, _ := e.s.Explain("default", fmt.Sprintf("p%d", i))
		require.True(t, a.Detailed)
		require.Len(t, a.Scores, 6)
		want = append(want, a)
		if i > 0 {
			prev, _ := e.s.Explain("default", fmt.Sprintf("p%d", i-1))
			assert.Equal(t, want[i-1].Scores, prev.Scores, "p%d's details after p%d was scored", i-1, i)
			assert.NotEqual(t, want[i-1].Scores, a.Scores, "the pods' requests differ, so do their scores")
		}
		if i > 1 {
			old, _ := e.s.Explain("default", fmt.Sprintf("p%d", i-2))
			assert.False(t, old.Detailed)
			assert.Equal(t, want[i-2].Scores[:3], old.Top)
		}
	}
}

// A cycle's score rows go to its explain record, and the rows of an older
// record come back as the next cycle's buffers; a plugin without
// ScoreExtensions writes one buffer for its raw and normalised rows, one
// with them two. With a detail ring of two attempts every cycle scores
// into recycled rows, and every attempt keeps its own scores:
// TaintToleration counts a node's PreferNoSchedule taints and reverses
// them when normalising, NodeResourcesFit's raw and normalised scores are
// one.
func TestExplainScoresWithRecycledRows(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ExplainDetailedAttempts = 2
	e := newEnv(t, cfg, true)
	for i := range 6 {
		var opts []nodeOpt
		if i%2 == 1 {
			opts = append(opts, withTaint("spot", "yes", v1.TaintEffectPreferNoSchedule))
		}
		e.addNodes(node(fmt.Sprintf("n%d", i), "8", "16Gi", opts...))
	}
	for i := range 12 {
		e.addPods(pod(fmt.Sprintf("p%02d", i), fmt.Sprintf("%dm", 100+50*i), "128Mi"))
		e.settle()
	}
	checked := map[string]int{}
	for i := range 12 {
		a, ok := e.s.Explain("default", fmt.Sprintf("p%02d", i))
		require.True(t, ok)
		require.NotEmpty(t, a.Top, "pod %d", i)
		for _, ns := range a.Top {
			var n int
			_, err := fmt.Sscanf(ns.Node, "n%d", &n)
			require.NoError(t, err)
			tainted := n%2 == 1
			for _, ps := range ns.Plugins {
				switch ps.Plugin {
				case "TaintToleration":
					want := [2]int64{0, 100}
					if tainted {
						want = [2]int64{1, 0}
					}
					assert.Equal(t, want, [2]int64{ps.Raw, ps.Normalized}, "pod %d on %s", i, ns.Node)
					checked[ps.Plugin]++
				case "NodeResourcesFit":
					assert.Equal(t, ps.Raw, ps.Normalized, "pod %d on %s", i, ns.Node)
					assert.Positive(t, ps.Raw)
					checked[ps.Plugin]++
				}
			}
		}
	}
	assert.Equal(t, 36, checked["TaintToleration"], "three top nodes of twelve pods")
	assert.Equal(t, 36, checked["NodeResourcesFit"])
}
