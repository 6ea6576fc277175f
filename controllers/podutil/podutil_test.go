package podutil

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func readyPod(status v1.ConditionStatus, since time.Time) *v1.Pod {
	return &v1.Pod{Status: v1.PodStatus{Conditions: []v1.PodCondition{
		{Type: v1.PodScheduled, Status: v1.ConditionTrue},
		{Type: v1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(since)},
	}}}
}

func TestIsPodReady(t *testing.T) {
	assert.True(t, IsPodReady(readyPod(v1.ConditionTrue, t0)))
	assert.False(t, IsPodReady(readyPod(v1.ConditionFalse, t0)))
	assert.False(t, IsPodReady(readyPod(v1.ConditionUnknown, t0)))
	assert.False(t, IsPodReady(&v1.Pod{}))
}

func TestIsPodAvailable(t *testing.T) {
	p := readyPod(v1.ConditionTrue, t0)
	assert.True(t, IsPodAvailable(p, 0, t0), "minReadySeconds 0: available as soon as ready")
	assert.False(t, IsPodAvailable(p, 10, t0.Add(10*time.Second)), "exactly minReadySeconds is not enough (strict Before)")
	assert.True(t, IsPodAvailable(p, 10, t0.Add(10*time.Second+time.Nanosecond)))
	assert.False(t, IsPodAvailable(readyPod(v1.ConditionFalse, t0), 0, t0.Add(time.Hour)))
}

func TestGetPodCondition(t *testing.T) {
	p := readyPod(v1.ConditionTrue, t0)
	i, c := GetPodCondition(&p.Status, v1.PodReady)
	assert.Equal(t, 1, i)
	assert.Equal(t, v1.ConditionTrue, c.Status)
	i, c = GetPodCondition(&p.Status, v1.ContainersReady)
	assert.Equal(t, -1, i)
	assert.Nil(t, c)
	i, c = GetPodCondition(nil, v1.PodReady)
	assert.Equal(t, -1, i)
	assert.Nil(t, c)
}
