package apiserver_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A /status write that leaves status.observedGeneration or a condition's
// observedGeneration at 0 keeps the stored value (upstream's
// podStatusStrategy.PrepareForUpdate, preserveOldObservedGeneration): a
// condition takes the value of the stored condition of its type, the n-th
// of a type the n-th one's. Any other value is taken as written, lower ones
// included.
func TestPodStatusUpdateKeepsObservedGeneration(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	p, err := pods.Create(ctx, pod("web"), metav1.CreateOptions{})
	require.NoError(t, err)
	now := metav1.NewTime(e.eng.Now())
	p.Status.ObservedGeneration = 3
	p.Status.Conditions = []v1.PodCondition{
		{Type: v1.PodReady, Status: v1.ConditionFalse, ObservedGeneration: 3, LastTransitionTime: now},
		{Type: "example.com/gate", Status: v1.ConditionTrue, ObservedGeneration: 2, LastTransitionTime: now},
		{Type: "example.com/gate", Status: v1.ConditionTrue, ObservedGeneration: 4, LastTransitionTime: now},
	}
	p, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)

	p.Status.ObservedGeneration = 0
	for i := range p.Status.Conditions {
		p.Status.Conditions[i].ObservedGeneration = 0
	}
	p.Status.Conditions = append(p.Status.Conditions,
		v1.PodCondition{Type: v1.DisruptionTarget, Status: v1.ConditionTrue, LastTransitionTime: now})
	p, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(3), p.Status.ObservedGeneration)
	gens := func(p *v1.Pod) []int64 {
		var out []int64
		for _, c := range p.Status.Conditions {
			out = append(out, c.ObservedGeneration)
		}
		return out
	}
	assert.Equal(t, []int64{3, 2, 4, 0}, gens(p), "a new condition type has nothing to keep")

	p.Status.ObservedGeneration = 1
	p.Status.Conditions[0].ObservedGeneration = 1
	p, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.Status.ObservedGeneration, "a lower value is not kept back")
	assert.Equal(t, []int64{1, 2, 4, 0}, gens(p))
	assert.Equal(t, int64(1), p.Generation, "status writes never bump the generation")
}
