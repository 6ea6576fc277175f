package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/sim/cluster"
)

// A preemption victim carries DisruptionTarget=True with reason
// PreemptionByScheduler, upstream's message, the time of the preemption as
// lastTransitionTime (upstream's PreemptPod adds it with
// apipod.UpdatePodCondition, which stamps the transition) and the victim's
// generation as observedGeneration (CalculatePodConditionObservedGeneration,
// KEP-5067). The preemptor's PodScheduled=False carries its own.
func TestE2EPreemptionVictimCondition(t *testing.T) {
	e := newE2E(t, 1, cluster.Config{Kubelet: exact})
	e.addNodes("n1")
	cpuPod := func(name, class string) *v1.Pod {
		return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PodSpec{PriorityClassName: class,
			Containers: []v1.Container{{Name: "c", Image: "app:1",
				Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4")}}}}}}
	}
	_, err := e.cl.CoreV1().Pods("default").Create(bg, cpuPod("low", ""), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.cl.SchedulingV1().PriorityClasses().Create(bg, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000}, metav1.CreateOptions{})
	require.NoError(t, err)
	e.at(30 * time.Second)
	require.Equal(t, v1.PodRunning, e.pod("low").Status.Phase)

	// The victim may be gone at once (its container exits on the stop
	// signal), so its condition is read from the informer's updates.
	var cond, vipUnschedulable *v1.PodCondition
	e.c.Informers.Pods().AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: func(_, obj any) {
		if p := obj.(*v1.Pod); p.Name == "low" && cond == nil {
			if _, c := podutil.GetPodCondition(&p.Status, v1.DisruptionTarget); c != nil {
				cond = c.DeepCopy()
			}
		}
		if p := obj.(*v1.Pod); p.Name == "vip" && vipUnschedulable == nil {
			if _, c := podutil.GetPodCondition(&p.Status, v1.PodScheduled); c != nil && c.Status == v1.ConditionFalse {
				vipUnschedulable = c.DeepCopy()
			}
		}
	}})
	_, err = e.cl.CoreV1().Pods("default").Create(bg, cpuPod("vip", "high"), metav1.CreateOptions{})
	require.NoError(t, err)
	e.at(40 * time.Second)
	require.NotNil(t, cond)
	assert.Equal(t, v1.ConditionTrue, cond.Status)
	assert.Equal(t, v1.PodReasonPreemptionByScheduler, cond.Reason)
	assert.Equal(t, "default-scheduler: preempting to accommodate a higher priority pod", cond.Message)
	assert.Equal(t, metav1.NewTime(at0(30*time.Second)), cond.LastTransitionTime)
	assert.Equal(t, int64(1), cond.ObservedGeneration)
	assert.Equal(t, int64(1), vipUnschedulable.ObservedGeneration)
	assert.Equal(t, v1.PodReasonUnschedulable, vipUnschedulable.Reason)
	assert.Equal(t, "n1", e.pod("vip").Spec.NodeName, "the preemptor runs where it was nominated")
}
