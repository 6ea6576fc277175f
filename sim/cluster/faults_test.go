package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/kubelet"
)

var bg = context.Background()

// fenv is a cluster without a scheduler; pods are bound by spec.nodeName.
type fenv struct {
	t    *testing.T
	c    *cluster.Cluster
	cl   client.Interface
	recs []sim.Record
	rt   []cluster.RuntimeEvent
}

func newFenv(t *testing.T) *fenv {
	t.Helper()
	e := &fenv{t: t}
	e.c = cluster.New(cluster.Config{Seed: 11, DetectCacheMutations: true, NoScheduler: true,
		Kubelet: cluster.KubeletConfig{Config: kubelet.Config{DisableJitter: true}}})
	e.c.Engine.AddTraceSink(func(r sim.Record) { e.recs = append(e.recs, r) })
	e.c.OnRuntimeChange(func(ev cluster.RuntimeEvent) { e.rt = append(e.rt, ev) })
	e.cl = e.c.Client("test")
	e.c.Start()
	t.Cleanup(func() {
		if !t.Failed() {
			require.NoError(t, e.c.Informers.CheckMutations())
		}
	})
	return e
}

func (e *fenv) node(name string, labels map[string]string) {
	e.t.Helper()
	require.NoError(e.t, e.c.AddNode(cluster.NodeSpec{Name: name, Labels: labels,
		Capacity: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi")}}))
}

func (e *fenv) pod(name, node string, annotations map[string]string, mutate ...func(*v1.Pod)) {
	e.t.Helper()
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "web"}, Annotations: annotations},
		Spec: v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "c", Image: "web:1"}}}}
	for _, m := range mutate {
		m(p)
	}
	_, err := e.cl.CoreV1().Pods("default").Create(bg, p, metav1.CreateOptions{})
	require.NoError(e.t, err)
}

func (e *fenv) get(name string) *v1.Pod {
	e.t.Helper()
	p, err := e.cl.CoreV1().Pods("default").Get(bg, name, metav1.GetOptions{})
	require.NoError(e.t, err)
	return p
}

func (e *fenv) exists(name string) bool {
	_, err := e.cl.CoreV1().Pods("default").Get(bg, name, metav1.GetOptions{})
	return err == nil
}

func (e *fenv) at(d time.Duration) { e.c.Engine.RunUntil(d) }

func (e *fenv) count(component, verb, kind, name string, from, to time.Duration) int {
	n := 0
	for _, r := range e.recs {
		if r.Component == component && r.Verb == verb && r.Kind == kind && r.Name == name && r.Time >= from && r.Time <= to {
			n++
		}
	}
	return n
}

func podCondition(p *v1.Pod, t v1.PodConditionType) v1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return v1.PodCondition{}
}

func (e *fenv) verbs(component, verb string) []sim.Record {
	var out []sim.Record
	for _, r := range e.recs {
		if r.Component == component && r.Verb == verb {
			out = append(out, r)
		}
	}
	return out
}

func TestCrashStopsHeartbeatsAndContainersPodsStay(t *testing.T) {
	e := newFenv(t)
	e.node("n1", nil)
	e.node("n2", nil)
	e.pod("p", "n1", nil)
	e.at(30 * time.Second)
	require.True(t, e.c.PodServing("default", "p"))
	before := e.get("p")
	e.rt = nil
	require.NoError(t, e.c.CrashNode("n1"))
	assert.False(t, e.c.NodeUp("n1"))
	assert.False(t, e.c.NodeRunning("n1"))
	assert.False(t, e.c.PodServing("default", "p"))
	assert.Equal(t, []cluster.RuntimeEvent{{Node: "n1", Namespace: "default", Pod: "p", Serving: false}, {Node: "n1"}}, e.rt)
	e.at(10 * time.Minute)
	assert.Zero(t, e.count("kubelet/n1", "update", "Lease", "n1", 31*time.Second, 10*time.Minute), "no lease renewal")
	assert.Zero(t, e.count("kubelet/n1", "update/status", "Node", "n1", 31*time.Second, 10*time.Minute), "no node status")
	assert.Equal(t, 57, e.count("kubelet/n2", "update", "Lease", "n2", 31*time.Second, 10*time.Minute), "n2 renews every 10 s")
	// The kubelet writes nothing more about the pod. The node lifecycle
	// controller marks it Ready=False at the first monitor tick strictly
	// after the last lease renewal (30 s) + the 50 s grace period, and taint
	// eviction deletes it 300 s after the unreachable:NoExecute taint (90 s);
	// it stays Terminating with its last phase, as upstream.
	assert.Zero(t, e.count("kubelet/n1", "update/status", "Pod", "p", 31*time.Second, 10*time.Minute), "the kubelet is down")
	var writes []string
	for _, r := range e.recs {
		if r.Kind == "Pod" && r.Name == "p" && r.Time > 30*time.Second && (r.Verb == "update/status" || r.Verb == "delete") {
			writes = append(writes, fmt.Sprintf("%v %s %s", r.Time, r.Component, r.Verb))
		}
	}
	assert.Equal(t, []string{
		"1m25s node-controller update/status",           // Ready=False
		"6m30s taint-eviction-controller update/status", // DisruptionTarget
		"6m30s taint-eviction-controller delete",
	}, writes)
	after := e.get("p")
	assert.NotEqual(t, before.ResourceVersion, after.ResourceVersion)
	assert.Equal(t, v1.PodRunning, after.Status.Phase, "the phase is not changed")
	assert.Equal(t, v1.ConditionFalse, podCondition(after, v1.PodReady).Status)
	assert.Equal(t, sim.Epoch.Add(85*time.Second), podCondition(after, v1.PodReady).LastTransitionTime.Time.UTC())
	require.NotNil(t, after.DeletionTimestamp, "Terminating")
	assert.Equal(t, sim.Epoch.Add(7*time.Minute), after.DeletionTimestamp.Time.UTC(), "deleted at 6m30s with a 30 s grace period")
	assert.Equal(t, before.Status.ContainerStatuses, after.Status.ContainerStatuses, "the last container states the kubelet reported")
	require.Len(t, e.verbs("fault", "crashNode"), 1)
	assert.Error(t, e.c.CrashNode("n1"), "already crashed")
	assert.Error(t, e.c.PartitionNode("n1"))
}

// Recovery from a crash: the machine boots again; every container that had
// run restarts from scratch in a new sandbox (restart counted, last state
// Unknown/255), and init containers run again.
func TestCrashRecoveryRestartsContainers(t *testing.T) {
	e := newFenv(t)
	e.node("n1", nil)
	e.pod("p", "n1", nil, func(p *v1.Pod) {
		p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "init:1"}}
	})
	e.at(30 * time.Second)
	ip := e.get("p").Status.PodIP
	require.NoError(t, e.c.CrashNode("n1"))
	e.at(2 * time.Minute)
	require.NoError(t, e.c.RecoverNode("n1"))
	assert.True(t, e.c.NodeUp("n1"))
	e.at(3 * time.Minute)
	p := e.get("p")
	assert.Equal(t, v1.PodRunning, p.Status.Phase)
	s := p.Status.ContainerStatuses[0]
	assert.Equal(t, int32(1), s.RestartCount)
	require.NotNil(t, s.State.Running)
	assert.Equal(t, "Unknown", s.LastTerminationState.Terminated.Reason)
	assert.Equal(t, int32(255), s.LastTerminationState.Terminated.ExitCode)
	assert.Equal(t, metav1.NewTime(sim.Epoch.Add(30*time.Second)), s.LastTerminationState.Terminated.FinishedAt)
	assert.Equal(t, int32(1), p.Status.InitContainerStatuses[0].RestartCount, "init containers ran again")
	assert.NotEqual(t, ip, p.Status.PodIP, "a new sandbox gets a new IP")
	assert.True(t, e.c.PodServing("default", "p"))
	assert.Greater(t, e.count("kubelet/n1", "update", "Lease", "n1", 2*time.Minute, 3*time.Minute), 0, "heartbeats resumed")
	n, err := e.cl.CoreV1().Nodes().Get(bg, "n1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1.ConditionTrue, n.Status.Conditions[3].Status)
}

// A pod deleted while its node is down stays Terminating until the node
// returns; then the kubelet finishes the deletion.
func TestPodDeletedWhileCrashedStaysTerminating(t *testing.T) {
	e := newFenv(t)
	e.node("n1", nil)
	e.pod("p", "n1", nil)
	e.at(30 * time.Second)
	require.NoError(t, e.c.CrashNode("n1"))
	e.at(time.Minute)
	require.NoError(t, e.cl.CoreV1().Pods("default").Delete(bg, "p", metav1.DeleteOptions{}))
	e.at(20 * time.Minute)
	p := e.get("p")
	assert.NotNil(t, p.DeletionTimestamp, "Terminating")
	require.NoError(t, e.c.RecoverNode("n1"))
	e.at(20*time.Minute + time.Second)
	assert.False(t, e.exists("p"), "deleted by the kubelet after recovery")
	assert.Equal(t, 0, e.c.Kubelet("n1").PodCount())
}

// A partitioned node's containers keep running and serving; what happens
// meanwhile reaches the API only after recovery, and a deletion it missed
// is carried out then, with the pod's full grace period.
func TestPartitionKeepsContainersServing(t *testing.T) {
	e := newFenv(t)
	e.node("n1", nil)
	e.pod("web", "n1", map[string]string{kubelet.AnnotationPreStopDuration: "5s"})
	e.pod("job", "n1", map[string]string{kubelet.AnnotationCompleteAfter: "90s"}, func(p *v1.Pod) { p.Spec.RestartPolicy = v1.RestartPolicyNever })
	e.at(30 * time.Second)
	require.NoError(t, e.c.PartitionNode("n1"))
	assert.False(t, e.c.NodeUp("n1"))
	assert.True(t, e.c.NodeRunning("n1"))
	assert.True(t, e.c.PodServing("default", "web"))
	require.NoError(t, e.cl.CoreV1().Pods("default").Delete(bg, "web", metav1.DeleteOptions{}))
	e.at(5 * time.Minute)
	assert.True(t, e.c.PodServing("default", "web"), "the kubelet did not see the deletion")
	assert.Equal(t, v1.PodRunning, e.get("job").Status.Phase, "the job finished at 92 s but its status is not reported")
	assert.Zero(t, e.count("kubelet/n1", "update", "Lease", "n1", 31*time.Second, 5*time.Minute))

	require.NoError(t, e.c.RecoverNode("n1"))
	e.at(5*time.Minute + time.Second)
	assert.Equal(t, v1.PodSucceeded, e.get("job").Status.Phase)
	assert.True(t, e.exists("web"), "preStop (5 s) runs first")
	e.at(5*time.Minute + 5*time.Second)
	assert.False(t, e.exists("web"))
	assert.Greater(t, e.count("kubelet/n1", "update", "Lease", "n1", 5*time.Minute, 5*time.Minute+time.Second), 0)
}

// While a node is partitioned the node lifecycle controller marks its pods
// Ready=False; when the node is back, the kubelet, whose containers kept
// running and ready, reconciles the status it owns (upstream's status
// manager: needsReconcile), so the pods are Ready again at once.
func TestPartitionRecoveryRestoresPodReady(t *testing.T) {
	e := newFenv(t)
	e.node("n1", nil)
	e.pod("p", "n1", nil)
	e.at(10 * time.Second)
	require.NoError(t, e.c.PartitionNode("n1"))
	e.at(2 * time.Minute)
	ready := podCondition(e.get("p"), v1.PodReady)
	assert.Equal(t, v1.ConditionFalse, ready.Status, "marked by the node lifecycle controller")
	assert.Equal(t, sim.Epoch.Add(65*time.Second), ready.LastTransitionTime.Time.UTC(), "first tick after the 10 s renewal + 50 s")
	require.NoError(t, e.c.RecoverNode("n1"))
	e.at(2*time.Minute + time.Second)
	ready = podCondition(e.get("p"), v1.PodReady)
	assert.Equal(t, v1.ConditionTrue, ready.Status, "the kubelet reported its view again")
	assert.Equal(t, sim.Epoch.Add(2*time.Minute), ready.LastTransitionTime.Time.UTC())
	assert.Equal(t, int32(0), e.get("p").Status.ContainerStatuses[0].RestartCount)
	e.at(5 * time.Minute)
	assert.Equal(t, v1.ConditionTrue, podCondition(e.get("p"), v1.PodReady).Status, "and it stays Ready")
}

func TestKillContainerCountsARestart(t *testing.T) {
	e := newFenv(t)
	e.node("n1", nil)
	e.pod("p", "n1", nil)
	e.at(10 * time.Second)
	e.c.Inject(cluster.Fault{At: 20 * time.Second, Action: cluster.FaultKillContainer, Namespace: "default", Pod: "p"})
	e.at(30 * time.Second)
	s := e.get("p").Status.ContainerStatuses[0]
	assert.Equal(t, int32(1), s.RestartCount)
	assert.Equal(t, "Error", s.LastTerminationState.Terminated.Reason)
	assert.Equal(t, int32(137), s.LastTerminationState.Terminated.ExitCode)
	assert.Empty(t, e.c.FaultErrors())
	var msgs []string
	for _, r := range e.recs {
		if r.Verb == string(cluster.FaultKillContainer) {
			msgs = append(msgs, r.Msg)
		}
	}
	assert.Equal(t, []string{`container "c" on n1 killed`}, msgs, "the fault names the container it killed, the pod's first when none was asked for")
	assert.Error(t, e.c.KillContainer("default", "p", "nope"))
	assert.Error(t, e.c.KillContainer("default", "missing", ""))
}

func TestInjectRecordsErrors(t *testing.T) {
	e := newFenv(t)
	e.c.Inject(cluster.Fault{At: time.Second, Action: cluster.FaultCrashNode, Node: "ghost"})
	e.c.Inject(cluster.Fault{At: 2 * time.Second, Action: cluster.FaultAddNode, Spec: &cluster.NodeSpec{Name: "n9",
		Capacity: v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("1Gi")}}})
	e.at(3 * time.Second)
	require.Len(t, e.c.FaultErrors(), 1)
	assert.Contains(t, e.c.FaultErrors()[0].Error(), "node ghost does not exist")
	assert.True(t, e.c.NodeUp("n9"))
	assert.Equal(t, []string{"n9"}, e.c.KubeletNodes())
}

func TestZoneFailureAndRecovery(t *testing.T) {
	e := newFenv(t)
	e.node("a1", map[string]string{v1.LabelTopologyZone: "a"})
	e.node("a2", map[string]string{v1.LabelTopologyZone: "a"})
	e.node("b1", map[string]string{v1.LabelTopologyZone: "b"})
	require.NoError(t, e.c.FailZone("a"))
	assert.False(t, e.c.NodeUp("a1"))
	assert.False(t, e.c.NodeUp("a2"))
	assert.True(t, e.c.NodeUp("b1"))
	assert.Error(t, e.c.FailZone("nowhere"))
	require.NoError(t, e.c.RecoverZone("a"))
	assert.True(t, e.c.NodeUp("a1"))
	assert.True(t, e.c.NodeUp("a2"))
}

// TestZoneFaultsTraceTheNodesTheyActOn: failZone and recoverZone say which
// nodes they crash or recover, out of the zone's nodes.
func TestZoneFaultsTraceTheNodesTheyActOn(t *testing.T) {
	e := newFenv(t)
	for _, n := range []string{"a1", "a2", "a3"} {
		e.node(n, map[string]string{v1.LabelTopologyZone: "a"})
	}
	require.NoError(t, e.c.CrashNode("a1"))
	require.NoError(t, e.c.PartitionNode("a2"))
	require.NoError(t, e.c.FailZone("a"))
	require.NoError(t, e.c.FailZone("a"))
	require.NoError(t, e.c.RecoverZone("a"))
	require.NoError(t, e.c.RecoverZone("a"))
	var msgs []string
	for _, verb := range []string{"failZone", "recoverZone"} {
		for _, r := range e.verbs("fault", verb) {
			msgs = append(msgs, verb+" "+r.Name+": "+r.Msg)
		}
	}
	assert.Equal(t, []string{
		"failZone a: crashing 2 of 3 node(s): a2, a3",
		"failZone a: crashing 0 of 3 node(s): every node is already crashed",
		"recoverZone a: recovering 3 of 3 node(s): a1, a2, a3",
		"recoverZone a: recovering 0 of 3 node(s): none is crashed or partitioned",
	}, msgs)
}

func TestNodeLabelsTaintsCordon(t *testing.T) {
	e := newFenv(t)
	e.node("n1", map[string]string{"old": "x"})
	require.NoError(t, e.c.LabelNode("n1", map[string]string{"disk": "ssd"}, []string{"old"}))
	require.NoError(t, e.c.TaintNode("n1", []v1.Taint{{Key: "k", Value: "1", Effect: v1.TaintEffectNoSchedule}}))
	require.NoError(t, e.c.TaintNode("n1", []v1.Taint{{Key: "k", Value: "2", Effect: v1.TaintEffectNoSchedule},
		{Key: "k", Effect: v1.TaintEffectNoExecute}}))
	require.NoError(t, e.c.Cordon("n1"))
	n, err := e.cl.CoreV1().Nodes().Get(bg, "n1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "ssd", n.Labels["disk"])
	assert.NotContains(t, n.Labels, "old")
	assert.True(t, n.Spec.Unschedulable)
	assert.Equal(t, []v1.Taint{{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoSchedule},
		{Key: "k", Value: "2", Effect: v1.TaintEffectNoSchedule}, {Key: "k", Effect: v1.TaintEffectNoExecute}}, n.Spec.Taints)
	require.NoError(t, e.c.UntaintNode("n1", []v1.Taint{{Key: "k"}}))
	require.NoError(t, e.c.Uncordon("n1"))
	n, err = e.cl.CoreV1().Nodes().Get(bg, "n1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.False(t, n.Spec.Unschedulable)
	assert.Equal(t, []v1.Taint{{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoSchedule}}, n.Spec.Taints)
	assert.Error(t, e.c.TaintNode("n1", []v1.Taint{{Key: "k"}}), "a taint needs an effect")
	for _, verb := range []string{"labelNode", "taintNode", "cordon", "untaintNode", "uncordon"} {
		assert.NotEmpty(t, e.verbs("fault", verb), verb)
	}
}

func TestDrainEvictsAllButDaemonSetPods(t *testing.T) {
	e := newFenv(t)
	e.node("n1", nil)
	e.pod("a", "n1", nil)
	e.pod("b", "n1", nil)
	yes := true
	e.pod("ds", "n1", nil, func(p *v1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: "u1", Controller: &yes}}
	})
	e.at(10 * time.Second)
	require.NoError(t, e.c.Drain("n1"))
	e.at(11 * time.Second)
	assert.False(t, e.exists("a"))
	assert.False(t, e.exists("b"))
	assert.True(t, e.exists("ds"))
	n, err := e.cl.CoreV1().Nodes().Get(bg, "n1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, n.Spec.Unschedulable)
	assert.Len(t, e.verbs("fault", "evicted"), 2)
	assert.Len(t, e.verbs("fault", "drained"), 1)
	assert.False(t, e.c.Draining("n1"))
}

// With a PodDisruptionBudget evictions are refused while the budget allows
// no disruption and retried every 5 s, as kubectl drain does. The budget's
// status comes from the disruption controller: minAvailable 2 of 2 healthy
// pods allows none; lowered to 1 it allows one eviction, which uses it up.
func TestDrainRetriesWhileABudgetRefuses(t *testing.T) {
	e := newFenv(t)
	e.node("n1", nil)
	e.pod("a", "n1", nil)
	e.pod("b", "n1", nil)
	two := intstr.FromInt32(2)
	pdbs := e.cl.PolicyV1().PodDisruptionBudgets("default")
	_, err := pdbs.Create(bg, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}},
		metav1.CreateOptions{})
	require.NoError(t, err)
	e.at(10 * time.Second)
	pdb, err := pdbs.Get(bg, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 2, 2, 2}, []int32{pdb.Status.DisruptionsAllowed, pdb.Status.CurrentHealthy, pdb.Status.DesiredHealthy,
		pdb.Status.ExpectedPods}, "disruptionsAllowed, currentHealthy, desiredHealthy, expectedPods as computed by the disruption controller")
	require.NoError(t, e.c.Drain("n1"))
	e.at(32 * time.Second)
	assert.True(t, e.exists("a"))
	assert.True(t, e.exists("b"))
	assert.True(t, e.c.Draining("n1"))
	assert.Equal(t, []string{"default/a", "default/b"}, e.c.DrainWaiting("n1"), "the pods whose eviction the drain retries")
	var refused []time.Duration
	for _, r := range e.verbs("fault", "evictionRefused") {
		if r.Name == "a" {
			refused = append(refused, r.Time)
		}
	}
	assert.Equal(t, []time.Duration{10 * time.Second, 15 * time.Second, 20 * time.Second, 25 * time.Second, 30 * time.Second}, refused)
	assert.Contains(t, e.verbs("fault", "evictionRefused")[0].Msg, "Cannot evict pod as it would violate the pod's disruption budget.")

	// One disruption allowed from now on.
	pdb, err = pdbs.Get(bg, "web", metav1.GetOptions{})
	require.NoError(t, err)
	one := intstr.FromInt32(1)
	pdb.Spec.MinAvailable = &one
	_, err = pdbs.Update(bg, pdb, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.at(36 * time.Second)
	require.Len(t, e.verbs("fault", "evicted"), 1)
	assert.Equal(t, 35*time.Second, e.verbs("fault", "evicted")[0].Time, "evicted at the 35 s retry")
	assert.Equal(t, "a", e.verbs("fault", "evicted")[0].Name)
	assert.False(t, e.exists("a"), "the kubelet stopped it and removed the object")
	assert.Nil(t, e.get("b").DeletionTimestamp, "the budget is used up")
	assert.True(t, e.c.Draining("n1"))
	assert.Equal(t, []string{"default/b"}, e.c.DrainWaiting("n1"))
	e.at(time.Minute)
	assert.Nil(t, e.get("b").DeletionTimestamp, "one healthy pod left: minAvailable 1 allows no more")
	assert.Len(t, e.verbs("fault", "evictionRefused"), 5+11, "a refused 5 times (10–30 s), b 11 times (10–60 s)")
	require.NoError(t, e.c.Uncordon("n1"))
	assert.False(t, e.c.Draining("n1"), "uncordon ends the drain")
	assert.Empty(t, e.c.DrainWaiting("n1"))
}

// In a namespace being deleted the eviction API refuses every eviction
// (403, NamespaceTerminating); kubectl drain then retries every 5 s while
// the pod is not yet being deleted and counts it as evicted once it is
// (k8s.io/kubectl/pkg/drain evictPods).
func TestDrainInTerminatingNamespace(t *testing.T) {
	e := newFenv(t)
	e.node("n1", nil)
	_, err := e.cl.CoreV1().Namespaces().Create(bg, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	// A finalizer keeps the deleted pod Terminating.
	_, err = e.cl.CoreV1().Pods("shop").Create(bg, &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "shop", Finalizers: []string{"example.com/keep"}},
		Spec: v1.PodSpec{NodeName: "n1", Containers: []v1.Container{{Name: "c", Image: "web:1"}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	e.at(10 * time.Second)
	require.NoError(t, e.cl.CoreV1().Namespaces().Delete(bg, "shop", metav1.DeleteOptions{}))
	require.NoError(t, e.c.Drain("n1"), "in the same instant: the namespace's pods are not deleted yet")
	require.Len(t, e.verbs("fault", "evictionRefused"), 1)
	assert.Equal(t, `pods "a" is forbidden: unable to create new content in namespace shop because it is being terminated; retrying in 5s`,
		e.verbs("fault", "evictionRefused")[0].Msg)
	assert.Equal(t, []string{"shop/a"}, e.c.DrainWaiting("n1"))
	e.at(15 * time.Second)
	assert.Empty(t, e.c.FaultErrors())
	require.Len(t, e.verbs("fault", "evicted"), 1)
	assert.Equal(t, 15*time.Second, e.verbs("fault", "evicted")[0].Time)
	assert.Equal(t, "being deleted with its namespace (drain of n1)", e.verbs("fault", "evicted")[0].Msg)
	assert.Len(t, e.verbs("fault", "evictionRefused"), 1)
	assert.Len(t, e.verbs("fault", "drained"), 1)
	assert.False(t, e.c.Draining("n1"))
}

// DeleteNode stops the machine and deletes the Node; pods stay for the pod
// garbage collector.
func TestDeleteNode(t *testing.T) {
	e := newFenv(t)
	e.node("n1", nil)
	e.pod("p", "n1", nil)
	e.at(10 * time.Second)
	require.NoError(t, e.c.DeleteNode("n1"))
	_, err := e.cl.CoreV1().Nodes().Get(bg, "n1", metav1.GetOptions{})
	assert.Error(t, err)
	assert.False(t, e.c.NodeRunning("n1"))
	assert.True(t, e.exists("p"))
	assert.False(t, e.c.PodServing("default", "p"))
	assert.Error(t, e.c.DeleteNode("n1"))
	assert.Empty(t, e.c.KubeletNodes())
	// The name can be registered again.
	e.node("n1", nil)
	assert.True(t, e.c.NodeUp("n1"))
}
