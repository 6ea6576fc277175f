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

// kubeletConditionGenerations returns the observedGeneration of each
// condition the kubelet owns, by type.
func kubeletConditionGenerations(p *v1.Pod) map[v1.PodConditionType]int64 {
	out := map[v1.PodConditionType]int64{}
	for _, c := range p.Status.Conditions {
		switch c.Type {
		case v1.PodReadyToStartContainers, v1.PodInitialized, v1.PodReady, v1.ContainersReady, v1.PodScheduled:
			out[c.Type] = c.ObservedGeneration
		}
	}
	return out
}

func allGenerations(g int64) map[v1.PodConditionType]int64 {
	return map[v1.PodConditionType]int64{v1.PodReadyToStartContainers: g, v1.PodInitialized: g, v1.PodReady: g,
		v1.ContainersReady: g, v1.PodScheduled: g}
}

// The kubelet reports the metadata.generation of the pod it synced as
// status.observedGeneration (the status manager's SetPodStatus,
// podutil.CalculatePodStatusObservedGeneration) and on each condition it
// owns (pkg/kubelet/status/generate.go, generateAPIPodStatus for
// PodScheduled; KEP-5067, GA in v1.35). A spec change bumps the generation
// and the kubelet writes its status again with the new one; a metadata
// change bumps nothing and writes nothing; the graceful deletion's bump is
// reported too, up to the final status.
func TestStatusReportsObservedGeneration(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.create(pod("web", ctr("app", "nginx:1.27")), "n1")
	e.at(sec(10))
	got := e.get("web")
	require.Equal(t, int64(1), got.Generation)
	require.Equal(t, v1.ConditionTrue, cond(got, v1.PodReady).Status)
	assert.Equal(t, int64(1), got.Status.ObservedGeneration)
	assert.Equal(t, allGenerations(1), kubeletConditionGenerations(got))
	readySince := cond(got, v1.PodReady).LastTransitionTime

	writes := func() int {
		n := 0
		for _, r := range e.traces("update/status") {
			if r.Name == "web" {
				n++
			}
		}
		return n
	}
	before := writes()
	got.Labels = map[string]string{"tier": "front"}
	_, err := e.cl.CoreV1().Pods("default").Update(ctx, got, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.at(sec(20))
	got = e.get("web")
	assert.Equal(t, int64(1), got.Generation, "metadata is not spec")
	assert.Equal(t, before, writes(), "nothing new to report")

	got.Spec.Tolerations = append(got.Spec.Tolerations, v1.Toleration{Key: "example.com/maintenance", Operator: v1.TolerationOpExists})
	_, err = e.cl.CoreV1().Pods("default").Update(ctx, got, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.at(sec(30))
	got = e.get("web")
	require.Equal(t, int64(2), got.Generation)
	assert.Equal(t, int64(2), got.Status.ObservedGeneration)
	assert.Equal(t, allGenerations(2), kubeletConditionGenerations(got))
	assert.Equal(t, readySince, cond(got, v1.PodReady).LastTransitionTime, "still Ready since then")
	assert.Equal(t, []time.Duration{sec(20)}, e.times("update/status", "web")[before:], "one write, at the update")

	require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}))
	e.at(sec(60))
	require.True(t, e.gone("web"))
	final := e.deleted["web"]
	require.NotNil(t, final)
	assert.Equal(t, int64(3), final.Generation, "the graceful deletion bumps it")
	assert.Equal(t, int64(3), final.Status.ObservedGeneration)
	assert.Equal(t, allGenerations(3), kubeletConditionGenerations(final))
}

// A pod the kubelet rejects at admission reports the generation it
// rejected (KEP-5067: the rejection sets status.observedGeneration too).
func TestRejectedPodReportsObservedGeneration(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "1", "2Gi")
	e.create(pod("big", withRequests(ctr("c", "img:1"), "2", "")), "n1")
	e.at(sec(5))
	got := e.get("big")
	require.Equal(t, "OutOfcpu", got.Status.Reason)
	assert.Equal(t, int64(1), got.Status.ObservedGeneration)
}
