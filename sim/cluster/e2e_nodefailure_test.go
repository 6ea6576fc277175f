package cluster_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/controllers/nodelifecycle"
	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/controllers/replicaset"
	"github.com/kubesim/kubesim/controllers/tainteviction"
	"github.com/kubesim/kubesim/sim/cluster"
)

// firstTickAfter is the first node-monitor tick (every period from engine
// time 0) strictly after t.
func firstTickAfter(t, period time.Duration) time.Duration { return (t/period + 1) * period }

// lastLeaseRenewal is the time of node's last Lease renewal at or before t.
func (e *e2e) lastLeaseRenewal(node string, t time.Duration) time.Duration {
	last := time.Duration(-1)
	for _, r := range e.recs {
		if r.Component == "kubelet/"+node && r.Kind == "Lease" && (r.Verb == "update" || r.Verb == "create") && r.Time <= t {
			last = r.Time
		}
	}
	require.GreaterOrEqual(e.t, last, time.Duration(0), "node %s renewed its lease", node)
	return last
}

// TestE2ENodeFailureTimeline is issue 3's end-to-end test with every real
// component: 3 nodes, a 6-replica Deployment spread 2/2/2, node n2 crashed
// at 2m3s, recovered at 20m. The times are §6.4's, to the second:
//
//	2m0s   last Lease renewal of n2 (renewed every 10 s, no jitter)
//	2m3s   crash: kubelet, containers and heartbeats stop
//	2m55s  first 5 s monitor tick strictly after 2m0s + 50 s grace: Ready=Unknown,
//	       both pods Ready=False (52 s after the crash ≤ grace + one period),
//	       unreachable:NoSchedule
//	3m0s   next pass: unreachable:NoExecute (zone Normal, token available)
//	8m0s   300 s later (DefaultTolerationSeconds): both pods deleted, deletionTimestamp
//	       8m30s (grace 30 s); the ReplicaSet creates 2 replacements at once,
//	       scheduled on n1 and n3 (n2 is tainted), Running at 8m0.5s (image cached)
//	…      the old pods stay Terminating (phase Running) while n2 is down
//	20m0s  recovery: the kubelet finishes the deletions at once; Ready=True,
//	       NoSchedule taint removed; NoExecute removed at the next pass (20m5s)
func TestE2ENodeFailureTimeline(t *testing.T) {
	e := newE2E(t, 1, cluster.Config{Kubelet: exact})
	e.addNodes("n1", "n2", "n3")
	e.createDeployment(webDeployment(6, "web:1"))
	e.at(time.Minute)
	pods := e.pods("app=web")
	require.Len(t, pods, 6)
	assert.Equal(t, "n1=2 n2=2 n3=2", perNode(pods), "the scheduler spreads the replicas (default topology spread, least allocated)")
	var victims []string
	for _, p := range pods {
		require.True(t, podutil.IsPodReady(p), p.Name)
		if p.Spec.NodeName == "n2" {
			victims = append(victims, p.Name)
		}
	}

	const crash = 2*time.Minute + 3*time.Second
	e.c.Inject(cluster.Fault{At: crash, Action: cluster.FaultCrashNode, Node: "n2"})
	e.c.Inject(cluster.Fault{At: 20 * time.Minute, Action: cluster.FaultRecoverNode, Node: "n2"})
	e.at(crash)
	assert.False(t, e.c.NodeUp("n2"))
	assert.False(t, e.c.Proxies().Proxy("n2").Running(), "n2's kube-proxy stopped with its node")

	// Detection: the node lifecycle controller's rule.
	period, grace := e.c.NodeLifecycle.Config().MonitorPeriod, e.c.NodeLifecycle.Config().MonitorGracePeriod
	require.Equal(t, []time.Duration{5 * time.Second, 50 * time.Second}, []time.Duration{period, grace})
	lastRenewal := e.lastLeaseRenewal("n2", crash)
	assert.Equal(t, 2*time.Minute, lastRenewal)
	detected := firstTickAfter(lastRenewal+grace, period)
	require.Equal(t, 2*time.Minute+55*time.Second, detected)
	assert.LessOrEqual(t, detected-crash, grace+period, "Ready=False within the grace period plus one monitor period")

	e.at(detected - time.Millisecond)
	for _, name := range victims {
		assert.True(t, podutil.IsPodReady(e.pod(name)), "%s still Ready just before detection", name)
	}
	e.at(detected)
	assert.Equal(t, []time.Duration{detected}, e.times(nodelifecycle.Component, "statusUnknown", "n2"))
	assert.Equal(t, []time.Duration{detected}, e.times(nodelifecycle.Component, "nodeNotReady", "n2"))
	node, err := e.cl.CoreV1().Nodes().Get(bg, "n2", metav1.GetOptions{})
	require.NoError(t, err)
	ready := nodeCondition(node, v1.NodeReady)
	assert.Equal(t, v1.ConditionUnknown, ready.Status)
	assert.Equal(t, "NodeStatusUnknown", ready.Reason)
	assert.Equal(t, "Kubelet stopped posting node status.", ready.Message)
	assert.Equal(t, at0(detected), ready.LastTransitionTime.Time.UTC())
	tAdded := metav1.NewTime(at0(detected))
	assert.Equal(t, []v1.Taint{{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoSchedule, TimeAdded: &tAdded}}, node.Spec.Taints)
	for _, name := range victims {
		p := e.pod(name)
		assert.Equal(t, v1.PodRunning, p.Status.Phase, "the phase is not changed")
		c := podutil.GetPodReadyCondition(p.Status)
		require.NotNil(t, c)
		assert.Equal(t, v1.ConditionFalse, c.Status, name)
		assert.Equal(t, at0(detected), c.LastTransitionTime.Time.UTC(), name)
	}

	// NoExecute at the next pass, deletion 300 s after it.
	noExecute := detected + period
	e.at(noExecute)
	node, err = e.cl.CoreV1().Nodes().Get(bg, "n2", metav1.GetOptions{})
	require.NoError(t, err)
	require.Len(t, node.Spec.Taints, 2)
	assert.Equal(t, v1.TaintNodeUnreachable, node.Spec.Taints[1].Key)
	assert.Equal(t, v1.TaintEffectNoExecute, node.Spec.Taints[1].Effect)
	assert.Equal(t, at0(noExecute), node.Spec.Taints[1].TimeAdded.Time.UTC())
	assert.Equal(t, repeat(noExecute, 2), e.times(tainteviction.Component, "evictionScheduled", victims...))

	evicted := noExecute + 300*time.Second
	require.Equal(t, 8*time.Minute, evicted)
	e.at(evicted - time.Millisecond)
	for _, name := range victims {
		assert.Nil(t, e.pod(name).DeletionTimestamp, "%s not deleted before tolerationSeconds ran out", name)
	}
	e.at(evicted)
	assert.Equal(t, repeat(evicted, 2), e.times(tainteviction.Component, "evicted", victims...))
	for _, name := range victims {
		p := e.pod(name)
		require.NotNil(t, p.DeletionTimestamp, name)
		assert.Equal(t, at0(evicted+30*time.Second), p.DeletionTimestamp.Time.UTC(), "deleted at %v with the 30 s grace period", evicted)
		_, dt := podutil.GetPodCondition(&p.Status, v1.DisruptionTarget)
		require.NotNil(t, dt)
		assert.Equal(t, "DeletionByTaintManager", dt.Reason)
	}
	created := e.records(replicaset.ComponentName, "scaledUp")
	require.Len(t, created, 2, "the initial 6 and the 2 replacements")
	assert.Equal(t, evicted, created[1].Time, "replacements created at the instant of the deletion")
	assert.Contains(t, created[1].Msg, "created 2 pods (4 active, want 6)")

	e.at(evicted + time.Second)
	var replacements []*v1.Pod
	for _, p := range e.pods("app=web") {
		if !contains(victims, p.Name) && p.CreationTimestamp.Time.UTC().Equal(at0(evicted)) {
			replacements = append(replacements, p)
		}
	}
	require.Len(t, replacements, 2)
	assert.Equal(t, "n1=1 n3=1", perNode(replacements), "scheduled on the surviving nodes")
	for _, p := range replacements {
		assert.Equal(t, v1.PodRunning, p.Status.Phase)
		assert.True(t, podutil.IsPodReady(p))
		assert.Equal(t, at0(evicted), podutil.GetPodReadyCondition(p.Status).LastTransitionTime.Time.UTC(),
			"Ready at 8m0.5s (stored with whole seconds)")
	}
	assert.Equal(t, repeat(evicted+500*time.Millisecond, 2), e.times("", "containerStarted", names(replacements)...))

	// The old pods stay Terminating while n2 is down.
	e.at(20*time.Minute - time.Millisecond)
	for _, name := range victims {
		p := e.pod(name)
		assert.NotNil(t, p.DeletionTimestamp, name)
		assert.Equal(t, v1.PodRunning, p.Status.Phase, "Terminating: no kubelet confirms")
	}
	d := e.deployment("web")
	assert.Equal(t, []int32{6, 6, 6}, []int32{d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas})

	// Recovery: the kubelet finishes the deletions.
	e.at(20 * time.Minute)
	assert.Equal(t, repeat(20*time.Minute, 2), e.times("kubelet/n2", "podDeleted", victims...))
	for _, name := range victims {
		_, err := e.cl.CoreV1().Pods("default").Get(bg, name, metav1.GetOptions{})
		assert.True(t, err != nil && strings.Contains(err.Error(), "not found"), "%s gone at recovery: %v", name, err)
	}
	e.at(20*time.Minute + period)
	node, err = e.cl.CoreV1().Nodes().Get(bg, "n2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1.ConditionTrue, nodeCondition(node, v1.NodeReady).Status)
	assert.Empty(t, node.Spec.Taints)
	var untainted []string
	for _, r := range e.records(nodelifecycle.Component, "untainted") {
		if r.Name == "n2" && r.Time >= 20*time.Minute {
			untainted = append(untainted, r.Time.String()+" "+r.Msg)
		}
	}
	assert.Equal(t, []string{
		"20m0s node.kubernetes.io/unreachable:NoSchedule (node conditions)",
		"20m5s node.kubernetes.io/unreachable:NoExecute (node reachable)",
	}, untainted)
	pods = e.pods("app=web")
	assert.Len(t, pods, 6)
	assert.Equal(t, "n1=3 n3=3", perNode(pods), "nothing moves back by itself")
	assert.True(t, e.c.Proxies().Proxy("n2").Running(), "n2's kube-proxy started again")
}

func nodeCondition(n *v1.Node, t v1.NodeConditionType) v1.NodeCondition {
	for _, c := range n.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return v1.NodeCondition{}
}
