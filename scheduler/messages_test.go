package scheduler

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// failOnce schedules one pod on the given nodes and returns its PodScheduled
// condition message; the pod must fail.
func failOnce(t *testing.T, nodes []*v1.Node, existing []*v1.Pod, p *v1.Pod) string {
	t.Helper()
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(nodes...)
	e.addPods(existing...)
	e.addPods(p)
	e.settle()
	require.NotContains(t, e.api.binds, key(p), "pod should not fit")
	c, ok := e.api.conds[key(p)]
	require.True(t, ok, "no PodScheduled condition")
	assert.Equal(t, v1.PodScheduled, c.Type)
	assert.Equal(t, v1.ConditionFalse, c.Status)
	assert.Equal(t, v1.PodReasonUnschedulable, c.Reason)
	assert.Contains(t, e.api.events, fmt.Sprintf("%s Warning FailedScheduling: %s", key(p), c.Message))
	return c.Message
}

func TestUnschedulableMessages(t *testing.T) {
	tests := []struct {
		name     string
		nodes    []*v1.Node
		existing []*v1.Pod
		pod      *v1.Pod
		want     string
	}{
		{
			name:     "insufficient cpu, resolvable by preemption but nothing to preempt",
			nodes:    []*v1.Node{node("n1", "2", "4Gi"), node("n2", "2", "4Gi")},
			existing: []*v1.Pod{pod("e1", "1500m", "", onNode("n1")), pod("e2", "1500m", "", onNode("n2"))},
			pod:      pod("p", "1", "1Gi"),
			want:     "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
		},
		{
			name:  "insufficient memory larger than any node",
			nodes: []*v1.Node{node("n1", "2", "4Gi"), node("n2", "2", "4Gi")},
			pod:   pod("p", "1", "8Gi"),
			want:  "0/2 nodes are available: 2 Insufficient memory. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
		},
		{
			name:     "insufficient cpu and memory on one node",
			nodes:    []*v1.Node{node("n1", "2", "4Gi")},
			existing: []*v1.Pod{pod("e1", "1500m", "3Gi", onNode("n1"))},
			pod:      pod("p", "1", "2Gi"),
			want:     "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
		},
		{
			name:  "untolerated taint",
			nodes: []*v1.Node{node("cp", "4", "8Gi", withTaint("node-role.kubernetes.io/control-plane", "", v1.TaintEffectNoSchedule))},
			pod:   pod("p", "100m", ""),
			want:  "0/1 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
		},
		{
			name:  "node affinity mismatch",
			nodes: []*v1.Node{node("n1", "2", "4Gi"), node("n2", "2", "4Gi"), node("n3", "2", "4Gi")},
			pod:   pod("p", "100m", "", nodeSelector("disktype", "ssd")),
			want:  "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
		},
		{
			name:  "unschedulable node",
			nodes: []*v1.Node{node("n1", "2", "4Gi", unschedulable())},
			pod:   pod("p", "100m", ""),
			want:  "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
		},
		{
			// The example of the brief: requests larger than the nodes' cpu are
			// unresolvable, so preemption has no candidate at all.
			name: "mixed histogram, sorted",
			nodes: []*v1.Node{
				node("n1", "1", "4Gi", withTaint(v1.TaintNodeUnreachable, "", v1.TaintEffectNoSchedule)),
				node("n2", "1", "4Gi"), node("n3", "1", "4Gi"),
			},
			pod:  pod("p", "2", ""),
			want: "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
		},
		{
			name: "mixed histogram with resolvable nodes",
			nodes: []*v1.Node{
				node("n1", "2", "4Gi", withTaint(v1.TaintNodeUnreachable, "", v1.TaintEffectNoSchedule)),
				node("n2", "2", "4Gi"), node("n3", "2", "4Gi"),
			},
			existing: []*v1.Pod{pod("e2", "1500m", "", onNode("n2")), pod("e3", "1500m", "", onNode("n3"))},
			pod:      pod("p", "1", ""),
			want:     "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.",
		},
		{
			name:     "too many pods",
			nodes:    []*v1.Node{node("n1", "2", "4Gi", maxPods("1"))},
			existing: []*v1.Pod{pod("e1", "", "", onNode("n1"))},
			pod:      pod("p", "", ""),
			want:     "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
		},
		{
			name:     "host ports",
			nodes:    []*v1.Node{node("n1", "2", "4Gi")},
			existing: []*v1.Pod{pod("e1", "", "", onNode("n1"), hostPort(80))},
			pod:      pod("p", "", "", hostPort(80)),
			want:     "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
		},
		{
			name:  "preemptionPolicy Never",
			nodes: []*v1.Node{node("n1", "1", "4Gi")},
			pod:   pod("p", "2", "", neverPreempt()),
			want:  "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, failOnce(t, tc.nodes, tc.existing, tc.pod))
		})
	}
}

func TestNoNodesAvailable(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addPods(pod("p", "100m", ""))
	e.eng.RunFor(0)
	c := e.api.conds["default/p"]
	assert.Equal(t, "no nodes available to schedule pods", c.Message)
	assert.Equal(t, v1.PodReasonUnschedulable, c.Reason)
	// Without a rejecting plugin the pod retries after its backoff, and fits
	// once a node exists.
	e.addNodes(node("n1", "1", "1Gi"))
	e.eng.RunFor(1e9)
	assert.Equal(t, "n1", e.api.binds["default/p"])
}

// The histogram is sorted as strings, exactly as upstream does: "10 …"
// sorts before "2 …".
func TestHistogramSortsAsStrings(t *testing.T) {
	var nodes []*v1.Node
	for i := 0; i < 10; i++ {
		nodes = append(nodes, node(fmt.Sprintf("a%02d", i), "1", "1Gi", unschedulable()))
	}
	nodes = append(nodes, node("b1", "1", "1Gi"), node("b2", "1", "1Gi"))
	got := failOnce(t, nodes, nil, pod("p", "2", ""))
	assert.Equal(t, "0/12 nodes are available: 10 node(s) were unschedulable, 2 Insufficient cpu. preemption: 0/12 nodes are available: 12 Preemption is not helpful for scheduling.", got)
}

func TestScheduledEventAndBind(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n1", "2", "4Gi"))
	e.addPods(pod("a", "100m", ""))
	e.settle()
	assert.Equal(t, "n1", e.api.binds["default/a"])
	assert.Contains(t, e.api.events, "default/a Normal Scheduled: Successfully assigned default/a to n1")
	a, ok := e.s.Explain("default", "a")
	require.True(t, ok)
	assert.Equal(t, OutcomeBound, a.Outcome)
	assert.Equal(t, "n1", a.Node)
}

// A pod being deleted is popped but not scheduled: upstream skipPodSchedule
// (schedule_one.go) records a FailedScheduling event saying so and drops
// the pod from the queue without a status update.
func TestDeletingPodIsSkippedWithAnEvent(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n1", "2", "4Gi"))
	p := pod("p", "100m", "")
	p.Finalizers = []string{"example.com/hold"}
	deleted := metav1.NewTime(e.eng.Now())
	p.DeletionTimestamp = &deleted
	e.addPods(p)
	e.settle()
	assert.Empty(t, e.api.binds)
	assert.Equal(t, []string{"default/p Warning FailedScheduling: skip schedule deleting pod: default/p"}, e.api.events)
	assert.Empty(t, e.api.conds)
	assert.Zero(t, e.s.queue.Len())
}

// The PodScheduled=False condition of a failed attempt carries the
// generation of the pod the scheduler tried (handleSchedulingFailure:
// podutil.CalculatePodConditionObservedGeneration; KEP-5067).
func TestUnschedulableConditionCarriesObservedGeneration(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n1", "1", "1Gi"))
	p := pod("p", "2", "")
	p.Generation = 3
	e.addPods(p)
	e.settle()
	c, ok := e.api.conds["default/p"]
	require.True(t, ok, "no PodScheduled condition")
	assert.Equal(t, v1.PodReasonUnschedulable, c.Reason)
	assert.Equal(t, int64(3), c.ObservedGeneration)
}
