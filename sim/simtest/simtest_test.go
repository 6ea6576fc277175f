package simtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/simtest"
)

// TestSchedulerAndFakeKubelet checks the scheduler wiring end to end: pods
// are scheduled by the real scheduler onto nodes with room, run under the
// fake kubelet, and one that fits nowhere is reported Unschedulable.
func TestSchedulerAndFakeKubelet(t *testing.T) {
	c := cluster.New(cluster.Config{Seed: 1, DetectCacheMutations: true})
	require.NoError(t, simtest.AddNodes(c, simtest.Node("n1", "1", "1Gi", nil), simtest.Node("n2", "1", "1Gi", nil)))
	simtest.StartFakeKubelet(c, 2*time.Second, time.Second)
	c.Start()
	cl := c.Client("test")
	for _, name := range []string{"a", "b", "c"} {
		p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "img",
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("600m")}}}}}}
		_, err := cl.CoreV1().Pods("default").Create(context.TODO(), p, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	c.Engine.RunFor(10 * time.Second)
	l, err := cl.CoreV1().Pods("default").List(context.TODO(), metav1.ListOptions{})
	require.NoError(t, err)
	nodes := map[string]bool{}
	pending := 0
	for _, p := range l.Items {
		if p.Spec.NodeName != "" {
			nodes[p.Spec.NodeName] = true
			assert.Equal(t, v1.PodRunning, p.Status.Phase)
			continue
		}
		pending++
		var cond *v1.PodCondition
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == v1.PodScheduled {
				cond = &p.Status.Conditions[i]
			}
		}
		require.NotNil(t, cond)
		assert.Equal(t, "Unschedulable", cond.Reason)
		assert.Equal(t, "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.", cond.Message)
	}
	assert.Equal(t, 1, pending)
	assert.Len(t, nodes, 2, "one pod per node")
	require.NoError(t, c.Informers.CheckMutations())
	att, ok := c.Scheduler.Explain("default", l.Items[0].Name)
	require.True(t, ok)
	assert.NotEmpty(t, att.String())
}
