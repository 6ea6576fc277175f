package kubelet_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/sim/kubelet"
)

// TestPartitionHealRestoresPodReady: while a node is partitioned the node
// lifecycle controller marks its pods Ready=False (MarkPodsNotReady); when
// the partition heals, the kubelet's status manager sees that the API's
// status differs from what it knows and writes Ready=True again
// (needsReconcile in the status manager's sync loop). Found by the
// scenario convergence property (seed 1: a partitioned node's pod stayed
// Running but not Ready for good).
func TestPartitionHealRestoresPodReady(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.create(pod("web", ctr("web", "nginx")), "n1")
	e.at(30 * time.Second)
	require.Equal(t, v1.ConditionTrue, cond(e.get("web"), v1.PodReady).Status)

	require.NoError(t, e.c.PartitionNode("n1"))
	e.at(3 * time.Minute)
	assert.Equal(t, v1.ConditionFalse, cond(e.get("web"), v1.PodReady).Status,
		"the node lifecycle controller marked the pod not ready while the node was unreachable")

	require.NoError(t, e.c.RecoverNode("n1"))
	e.at(3*time.Minute + 15*time.Second)
	p := e.get("web")
	assert.Equal(t, v1.ConditionTrue, cond(p, v1.PodReady).Status, "%v", condTypes(p))
	assert.Equal(t, v1.ConditionTrue, cond(p, v1.ContainersReady).Status, "%v", condTypes(p))
	assert.Equal(t, v1.PodRunning, p.Status.Phase)
}

// TestTerminationIsToldOnce: the status write of a finished termination
// comes back from the watch after the kubelet deleted the pod; it must not
// start the termination again (found through the drain scenario's
// timeline: "terminating" and "terminated" twice for every drained pod).
func TestTerminationIsToldOnce(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.create(pod("web", ctr("web", "nginx")), "n1")
	e.at(30 * time.Second)
	require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}))
	e.at(2 * time.Minute)
	assert.True(t, e.gone("web"))
	assert.Len(t, e.times("terminating", "web"), 1)
	assert.Len(t, e.times("terminated", "web"), 1)
	assert.Len(t, e.times("podDeleted", "web"), 1)
}

// TestReadyFlippedByAnotherWriterIsRestored: the node lifecycle controller
// may mark a pod Ready=False just as its node's partition heals (its pass
// sees the missed heartbeats in the same instant the kubelet is back); the
// kubelet, reachable again, sees the change and writes its own status
// (the status manager's needsReconcile). Found by the scenario convergence
// property (testdata/convergence/partition-heal-race.yaml).
func TestReadyFlippedByAnotherWriterIsRestored(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.create(pod("web", ctr("web", "nginx")), "n1")
	e.at(30 * time.Second)
	p := e.get("web")
	require.Equal(t, v1.ConditionTrue, cond(p, v1.PodReady).Status)
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == v1.PodReady {
			p.Status.Conditions[i].Status = v1.ConditionFalse
		}
	}
	_, err := e.c.Client("node-controller").CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.at(31 * time.Second)
	p = e.get("web")
	assert.Equal(t, v1.ConditionTrue, cond(p, v1.PodReady).Status, "%v", condTypes(p))
}
