package simtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/simtest"
)

// TestFakeRuntimeTimeline checks the timeline FakeRuntime gives one pod:
// start, warm-up, the first successful readiness probe, preStop, stop and
// removal.
func TestFakeRuntimeTimeline(t *testing.T) {
	c := cluster.New(cluster.Config{Seed: 1, DetectCacheMutations: true})
	require.NoError(t, simtest.AddNodes(c, simtest.Node("n1", "1", "1Gi", nil)))
	rt := simtest.StartFakeRuntime(c, simtest.FakeRuntimeConfig{StartDelay: 2 * time.Second, WarmUp: 2500 * time.Millisecond, StopDelay: time.Second})
	events := map[string]time.Duration{}
	c.Engine.AddTraceSink(func(r sim.Record) {
		if r.Component == "fake-runtime" && r.Name == "p" {
			if _, seen := events[r.Verb]; !seen {
				events[r.Verb] = r.Time
			}
		}
	})
	c.Start()
	cl := c.Client("test")
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "img",
		ReadinessProbe: &v1.Probe{InitialDelaySeconds: 1, PeriodSeconds: 1, ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(80)}}},
		Lifecycle:      &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 5}}}}}}}
	_, err := cl.CoreV1().Pods("default").Create(context.TODO(), p, metav1.CreateOptions{})
	require.NoError(t, err)
	c.Engine.RunFor(10 * time.Second)
	assert.Equal(t, 2*time.Second, events["started"])
	assert.Equal(t, 4500*time.Millisecond, events["serving"])
	assert.Equal(t, 5*time.Second, events["ready"], "probes at 3 s, 4 s, 5 s: the first after the warm-up succeeds")
	assert.True(t, rt.PodServing("default", "p"))

	require.NoError(t, cl.CoreV1().Pods("default").Delete(context.TODO(), "p", metav1.DeleteOptions{}))
	c.Engine.RunFor(4 * time.Second)
	assert.True(t, rt.PodServing("default", "p"), "serving during the preStop sleep")
	c.Engine.RunFor(time.Second)
	assert.Equal(t, 15*time.Second, events["stopped"])
	assert.False(t, rt.PodServing("default", "p"))
	c.Engine.RunFor(time.Second)
	_, err = cl.CoreV1().Pods("default").Get(context.TODO(), "p", metav1.GetOptions{})
	assert.True(t, err != nil, "removed StopDelay after the containers stopped")

	rt.Crash("n1")
	assert.False(t, rt.NodeUp("n1"))
	assert.Equal(t, []string{"n1"}, rt.Nodes())
	require.NoError(t, c.Informers.CheckMutations())
}
