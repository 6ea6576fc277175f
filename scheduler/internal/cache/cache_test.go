package cache

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

func node(name string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.NodeStatus{
		Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourcePods: resource.MustParse("10")},
		Images:      []v1.ContainerImage{{Names: []string{"nginx:1"}, SizeBytes: 100}},
	}}
}

func pod(name, nodeName string, cpuMilli int64) *fw.PodInfo {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(name)},
		Spec: v1.PodSpec{NodeName: nodeName, Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: *resource.NewMilliQuantity(cpuMilli, resource.DecimalSI)}}}}}}
	return fw.NewPodInfo(p, 0)
}

func TestAssumeConfirmForget(t *testing.T) {
	c := New(0)
	c.AddNode(node("b"))
	c.AddNode(node("a"))
	assert.Equal(t, "b", c.Nodes()[0].Name, "nodes in the order added")
	assert.Equal(t, 2, c.ImageNumNodes("nginx:1"))

	c.AssumePod(pod("p", "", 500), "a")
	assert.True(t, c.IsAssumed("p"))
	assert.Equal(t, int64(500), c.Get("a").Requested.MilliCPU)
	assert.Panics(t, func() { c.AssumePod(pod("p", "", 500), "b") }, "assuming twice is a bug")

	// The informer reports it on another node: the cache follows.
	c.AddPod(pod("p", "b", 500))
	assert.False(t, c.IsAssumed("p"))
	assert.Zero(t, c.Get("a").Requested.MilliCPU)
	assert.Equal(t, int64(500), c.Get("b").Requested.MilliCPU)
	assert.Panics(t, func() { c.ForgetPod("p") }, "only assumed pods can be forgotten")

	c.AssumePod(pod("q", "", 100), "a")
	c.ForgetPod("q")
	assert.Zero(t, c.Get("a").Requested.MilliCPU)
	assert.Equal(t, 1, c.NumPods())
}

func TestExpiryOnlyAfterFinishBinding(t *testing.T) {
	c := New(30 * time.Second)
	c.AddNode(node("a"))
	c.AssumePod(pod("p", "", 100), "a")
	assert.Empty(t, c.Cleanup(time.Hour), "binding not finished: never expires")
	c.FinishBinding("p", 10*time.Second)
	assert.Empty(t, c.Cleanup(39*time.Second))
	got := c.Cleanup(40 * time.Second)
	require.Len(t, got, 1)
	assert.Equal(t, types.UID("p"), got[0].UID)
	assert.Zero(t, c.NumPods())
}

func TestGhostNode(t *testing.T) {
	c := New(0)
	c.AddPod(pod("early", "x", 100)) // pod seen before its node
	assert.Nil(t, c.Get("x"))
	c.AddNode(node("x"))
	assert.Equal(t, int64(100), c.Get("x").Requested.MilliCPU)
	c.RemoveNode("x")
	assert.Nil(t, c.Get("x"))
	assert.Empty(t, c.Nodes())
	_, _, ok := c.RemovePod("early")
	assert.True(t, ok)
	assert.Zero(t, c.ImageNumNodes("nginx:1"))
}
