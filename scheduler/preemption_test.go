package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// A high-priority pod that fits nowhere evicts the minimal set of
// lowest-priority pods: all lower-priority pods are removed, then added back
// most important first while the preemptor still fits.
func TestPreemptionEvictsMinimalLowestPrioritySet(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n", "4", "8Gi"))
	e.addPods(
		pod("p1", "2", "", priority(1), onNode("n")),
		pod("p2", "1", "", priority(2), onNode("n")),
		pod("p3", "1", "", priority(3), onNode("n")),
	)
	e.addPods(pod("vip", "2", "", priority(10)))
	e.eng.RunFor(0)

	assert.Equal(t, []string{"default/p1"}, e.api.preempts)
	assert.Equal(t, "n", e.api.nominate["default/vip"])
	assert.Contains(t, e.api.events, "default/p1 Normal Preempted: Preempted by pod uid-vip on node n")
	a, _ := e.s.Explain("default", "vip")
	require.NotNil(t, a.Preemption)
	assert.Equal(t, "n", a.Preemption.Node)
	assert.Equal(t, []string{"default/p1"}, a.Preemption.Victims)
	// Preemption succeeded: the FitError ends with DefaultPreemption's
	// success message (upstream v1.37, kubernetes#140180).
	assert.Equal(t, "0/1 nodes are available: 1 Insufficient cpu. preemption: found a potential placement for pod on node n, preempting 1 victims", a.Message)
	assert.Contains(t, e.api.events, "default/vip Warning FailedScheduling: "+a.Message)
	// The victim's deletion arrived while vip was in flight: backoffQ, not
	// the unschedulable pool; it binds to the nominated node after 1 s.
	assert.Equal(t, "backoffQ", a.RequeuedTo)
	e.eng.RunFor(time.Second)
	assert.Equal(t, "n", e.api.binds["default/vip"])
	a, _ = e.s.Explain("default", "vip")
	assert.True(t, a.ViaNominatedNode)
	// Only the nominated node was filtered (upstream's
	// evaluateNominatedNode): nothing was dropped, nothing scored.
	assert.True(t, a.Detailed)
	assert.Empty(t, a.Filtered)
	assert.Empty(t, a.Scores)
	out := a.String()
	assert.Contains(t, out, "Bound on n (nominated node)\n")
	assert.Contains(t, out, "  nodes: 1; the nominated node n passed every filter, so no other node was examined and none was scored\n")
	assert.NotContains(t, out, "dropped")
	assert.NotContains(t, out, "looking for")
}

func TestPreemptionPolicyNeverDoesNotPreempt(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n", "2", "8Gi"))
	e.addPods(pod("low", "2", "", priority(1), onNode("n")))
	e.addPods(pod("vip", "2", "", priority(10), neverPreempt()))
	e.eng.RunFor(time.Minute)
	assert.Empty(t, e.api.preempts)
	assert.Empty(t, e.api.nominate["default/vip"])
	assert.Equal(t, "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.",
		e.api.conds["default/vip"].Message)
}

func TestPreemptionNeverEvictsEqualOrHigherPriority(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n", "2", "8Gi"))
	e.addPods(pod("peer", "2", "", priority(10), onNode("n")))
	e.addPods(pod("vip", "2", "", priority(10)))
	e.eng.RunFor(0)
	assert.Empty(t, e.api.preempts)
	assert.Equal(t, "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
		e.api.conds["default/vip"].Message)
}

// Node choice: the node whose most important victim has the lowest priority.
func TestPreemptionPicksNodeWithLowestVictimPriority(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("a", "2", "8Gi"), node("b", "2", "8Gi"))
	e.addPods(pod("on-a", "2", "", priority(5), onNode("a")), pod("on-b", "2", "", priority(1), onNode("b")))
	e.addPods(pod("vip", "2", "", priority(10)))
	e.eng.RunFor(0)
	assert.Equal(t, []string{"default/on-b"}, e.api.preempts)
	a, _ := e.s.Explain("default", "vip")
	assert.Len(t, a.Preemption.Candidates, 2)
}

// Node choice: fewest PDB violations first, even over a lower victim priority.
func TestPreemptionAvoidsPDBViolations(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("a", "2", "8Gi"), node("b", "2", "8Gi"))
	e.addPods(pod("guarded", "2", "", priority(1), onNode("a"), podLabels("app", "db")),
		pod("plain", "2", "", priority(5), onNode("b")))
	min := intstr.FromInt32(1)
	e.s.OnPDBAdd(&policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &min, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0},
	})
	e.addPods(pod("vip", "2", "", priority(10)))
	e.eng.RunFor(0)
	assert.Equal(t, []string{"default/plain"}, e.api.preempts)
	a, _ := e.s.Explain("default", "vip")
	for _, c := range a.Preemption.Candidates {
		if c.Node == "a" {
			assert.Equal(t, 1, c.PDBViolations)
		}
	}
}

// A pod nominated by preemption keeps its place: lower-priority pods are
// filtered as if the nominated pod already ran on the node.
func TestNominatedPodReservesNode(t *testing.T) {
	e := newEnv(t, DefaultConfig(), false) // no echo: the victim stays until we delete it
	e.addNodes(node("n", "2", "8Gi"))
	victim := pod("low", "2", "", priority(1), onNode("n"))
	e.addPods(victim)
	e.addPods(pod("vip", "2", "", priority(10)))
	e.eng.RunFor(0)
	require.Equal(t, []string{"default/low"}, e.api.preempts)
	e.s.OnPodDelete(victim)
	e.addPods(pod("sneaky", "1", "", priority(5)))
	e.eng.RunFor(0)
	assert.NotContains(t, e.api.binds, "default/sneaky", "the node is reserved for the nominated pod")
	e.eng.RunFor(time.Second)
	assert.Equal(t, "n", e.api.binds["default/vip"])
}

// A victim that is already terminating (deleted by its controller, say) is
// still counted among the victims, but upstream's executor (v1.35+,
// prepareCandidate and prepareCandidateAsync) sends it no API call: no
// DisruptionTarget condition, no second delete and no Preempted event. The
// preemptor is nominated all the same. A victim that is not yet
// terminating on the same node is preempted as usual.
func TestPreemptionSkipsVictimAlreadyTerminating(t *testing.T) {
	e := newEnv(t, DefaultConfig(), false)
	e.addNodes(node("n", "2", "8Gi"))
	low := pod("low", "1", "", priority(1), onNode("n"))
	deleted := metav1.NewTime(e.eng.Now())
	low.DeletionTimestamp = &deleted
	e.addPods(low, pod("other", "1", "", priority(2), onNode("n")))
	e.addPods(pod("vip", "2", "", priority(10)))
	e.eng.RunFor(0)
	assert.Equal(t, []string{"default/other"}, e.api.preempts)
	assert.NotContains(t, e.api.events, "default/low Normal Preempted: Preempted by pod uid-vip on node n")
	assert.Contains(t, e.api.events, "default/other Normal Preempted: Preempted by pod uid-vip on node n")
	assert.Equal(t, "n", e.api.nominate["default/vip"])
	a, _ := e.s.Explain("default", "vip")
	require.NotNil(t, a.Preemption)
	assert.Equal(t, []string{"default/other", "default/low"}, a.Preemption.Victims, "both are victims, most important first")
}

func TestDisruptionTargetCondition(t *testing.T) {
	victim := pod("low", "", "")
	victim.Generation = 2
	c := DisruptionTargetCondition(victim, pod("vip", "", ""))
	assert.Equal(t, v1.DisruptionTarget, c.Type)
	assert.Equal(t, int64(2), c.ObservedGeneration, "the victim's generation")
	assert.Equal(t, v1.ConditionTrue, c.Status)
	assert.Equal(t, v1.PodReasonPreemptionByScheduler, c.Reason)
	assert.Equal(t, "default-scheduler: preempting to accommodate a higher priority pod", c.Message)
}

// The dry run keeps at most numCandidates candidates of each kind (upstream's
// candidateList drops the adds beyond its size): with one candidate wanted
// and only PDB-violating nodes, the first node found in dry-run order is the
// only candidate, even where a later node would violate fewer budgets.
func TestPreemptionKeepsAtMostNumCandidatesViolating(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinCandidateNodesAbsolute = 1 // max(2 × 10 / 100, 1) = 1 candidate
	e := newEnv(t, cfg, true)
	e.addNodes(node("a", "2", "8Gi"), node("b", "2", "8Gi"))
	e.addPods(
		pod("a1", "1", "", priority(1), onNode("a"), podLabels("app", "db")),
		pod("a2", "1", "", priority(1), onNode("a"), podLabels("app", "db")),
		pod("b1", "2", "", priority(1), onNode("b"), podLabels("app", "db")),
	)
	e.s.OnPDBAdd(&policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0},
	})
	e.addPods(pod("vip", "2", "", priority(10)))
	e.eng.RunFor(0)
	a, _ := e.s.Explain("default", "vip")
	require.NotNil(t, a.Preemption)
	assert.Equal(t, 2, a.Preemption.DryRunNodes, "no non-violating candidate: every potential node is dry-run")
	require.Len(t, a.Preemption.Candidates, 1)
	first := []string{"a", "b"}[a.Preemption.Offset]
	assert.Equal(t, first, a.Preemption.Candidates[0].Node)
	assert.Equal(t, first, a.Preemption.Node)
}

// A victim the API server no longer has (deleted after the scheduler's
// cache last saw it) counts as preempted, as upstream's PreemptPod treats a
// NotFound from the status patch or the delete: no Preempted event for it,
// no error, and the preemptor is nominated.
func TestPreemptionOfVictimAlreadyGone(t *testing.T) {
	e := newEnv(t, DefaultConfig(), false)
	e.api.preemptErr = func(victim *v1.Pod) error {
		if victim.Name == "gone" {
			return apierrors.NewNotFound(v1.Resource("pods"), victim.Name)
		}
		return nil
	}
	e.addNodes(node("n", "2", "8Gi"))
	e.addPods(pod("gone", "1", "", priority(1), onNode("n")), pod("other", "1", "", priority(2), onNode("n")))
	e.addPods(pod("vip", "2", "", priority(10)))
	e.eng.RunFor(0)
	assert.Equal(t, []string{"default/other"}, e.api.preempts)
	assert.Equal(t, []string{
		"default/other Normal Preempted: Preempted by pod uid-vip on node n",
		"default/vip Warning FailedScheduling: 0/1 nodes are available: 1 Insufficient cpu. preemption: found a potential placement for pod on node n, preempting 2 victims",
	}, e.api.events)
	assert.Equal(t, "n", e.api.nominate["default/vip"])
}
