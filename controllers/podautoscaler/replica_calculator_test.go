package podautoscaler

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var now = time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)

// coolStart: started long ago (past the CPU initialization period), Ready
// since start+1min. hotStart: started 1 min ago.
var (
	coolStart = now.Add(-10 * time.Minute)
	hotStart  = now.Add(-1 * time.Minute)
)

type podOpt func(*v1.Pod)

func testPod(name string, request string, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "web"}},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
			v1.ResourceCPU: resource.MustParse(request), v1.ResourceMemory: resource.MustParse("100Mi"),
		}}}}},
		Status: v1.PodStatus{
			Phase:      v1.PodRunning,
			StartTime:  &metav1.Time{Time: coolStart},
			Conditions: []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: metav1.NewTime(coolStart.Add(time.Minute))}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// neverReady: Ready=False since start (never became ready).
func neverReady(p *v1.Pod) {
	p.Status.Conditions[0].Status = v1.ConditionFalse
	p.Status.Conditions[0].LastTransitionTime = *p.Status.StartTime
}

// hot: started 1 min ago, Ready for 10 s (less than one metric window).
func hot(p *v1.Pod) {
	p.Status.StartTime = &metav1.Time{Time: hotStart}
	p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(now.Add(-10 * time.Second))
}

func pending(p *v1.Pod) { p.Status.Phase = v1.PodPending }

func pods(request string, n int, opts map[int][]podOpt) []*v1.Pod {
	var out []*v1.Pod
	for i := 0; i < n; i++ {
		out = append(out, testPod(fmt.Sprintf("p%d", i), request, opts[i]...))
	}
	return out
}

func levels(values ...int64) PodMetricsInfo {
	m := PodMetricsInfo{}
	for i, v := range values {
		if v >= 0 {
			m[fmt.Sprintf("p%d", i)] = PodMetric{Timestamp: now, Window: 15 * time.Second, Value: v}
		}
	}
	return m
}

type calcCase struct {
	name                string
	currentReplicas     int32
	pods                []*v1.Pod
	metrics             PodMetricsInfo
	targetUtilization   int32
	expectedReplicas    int32
	expectedUtilization int32
}

// TestGetResourceReplicas ports representative cases of upstream's
// replica_calculator_test.go (names and numbers), plus kubesim's own
// missing-metric cases.
func TestGetResourceReplicas(t *testing.T) {
	tests := []calcCase{
		// TestReplicaCalcScaleUp: 1500m used of 3000m ⇒ 50% vs 30% ⇒ ceil(1.67×3) = 5.
		{"TestReplicaCalcScaleUp", 3, pods("1.0", 3, nil), levels(300, 500, 700), 30, 5, 50},
		// TestReplicaCalcScaleUpUnreadyLessScale: the unready pod counts as 0 on scale-up.
		{"TestReplicaCalcScaleUpUnreadyLessScale", 3, pods("1.0", 3, map[int][]podOpt{0: {neverReady}}), levels(300, 500, 700), 30, 4, 60},
		// TestReplicaCalcScaleUpHotCpuLessScale: a pod inside the CPU initialization period whose sample predates a full window.
		{"TestReplicaCalcScaleUpHotCpuLessScale", 3, pods("1.0", 3, map[int][]podOpt{0: {hot}}), levels(300, 500, 700), 30, 4, 60},
		// TestReplicaCalcScaleUpUnreadyNoScale: with unready pods at 0 the ratio flips below 1 ⇒ keep 3.
		{"TestReplicaCalcScaleUpUnreadyNoScale", 3, pods("1.0", 3, map[int][]podOpt{1: {neverReady}, 2: {neverReady}}), levels(400, 500, 700), 30, 3, 40},
		// TestReplicaCalcScaleDown: 1400/5000 = 28% vs 50% ⇒ ceil(0.56×5) = 3.
		{"TestReplicaCalcScaleDown", 5, pods("1.0", 5, nil), levels(100, 300, 500, 250, 250), 50, 3, 28},
		// TestReplicaCalcScaleDownIgnoresUnreadyPods: unready pods ignored on scale-down.
		{"TestReplicaCalcScaleDownIgnoresUnreadyPods", 5, pods("1.0", 5, map[int][]podOpt{3: {neverReady}, 4: {neverReady}}), levels(100, 300, 500, 250, 250), 50, 2, 30},
		// TestReplicaCalcTolerance: 102% of a 100% target is within 10%.
		{"TestReplicaCalcTolerance", 3, []*v1.Pod{testPod("p0", "0.9"), testPod("p1", "1.0"), testPod("p2", "1.1")}, levels(1010, 1030, 1020), 100, 3, 102},
		// k8s-semantics §5.3 / HPA docs: 200m used of a 100m request at a 100% target ⇒ double.
		{"docs: 200m of 100m doubles", 2, pods("100m", 2, nil), levels(200, 200), 100, 4, 200},
		// kubesim: missing metric on scale-up counts 0%: 6000/4000 = 150% ⇒ ceil(1.5×4) = 6.
		{"missing metrics on scale-up", 4, pods("1.0", 4, nil), levels(2000, 2000, 2000, -1), 100, 6, 200},
		// kubesim: missing metric on scale-down counts 100%: (300+1000)/4000 = 32% vs 50% ⇒ ceil(0.64×4) = 3.
		{"missing metrics on scale-down", 4, pods("1.0", 4, nil), levels(100, 100, 100, -1), 50, 3, 10},
		// Upstream (kubernetes#112178, v1.26+): with a target above 100% a missing
		// pod counts as using the target on scale-down, not 100%: (4500+3000)/4000 = 187% vs 300% ⇒ ceil(0.623×4) = 3
		// (with 100% it would be (4500+1000)/4000 = 137% ⇒ 2).
		{"missing metrics on scale-down, target above 100%", 4, pods("1.0", 4, nil), levels(1500, 1500, 1500, -1), 300, 3, 150},
		// kubesim: a missing metric that flips the direction keeps the count.
		{"missing metrics flip ⇒ keep", 3, pods("1.0", 3, nil), levels(1500, 1500, -1), 110, 3, 150},
		// kubesim: pending pods are unready; deleted/failed pods are ignored.
		{"pending pod counts 0 on scale-up", 3, pods("1.0", 3, map[int][]podOpt{2: {pending}}), levels(900, 900, -1), 50, 4, 90},
	}
	calc := NewReplicaCalculator()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, util, _, err := calc.GetResourceReplicas(tc.currentReplicas, tc.targetUtilization, v1.ResourceCPU, calc.Tolerances(), tc.metrics, tc.pods, "", now)
			require.NoError(t, err)
			assert.Equal(t, tc.expectedReplicas, got, "replicas")
			assert.Equal(t, tc.expectedUtilization, util, "utilization")
		})
	}
}

func TestGetResourceReplicasErrors(t *testing.T) {
	calc := NewReplicaCalculator()
	_, _, _, err := calc.GetResourceReplicas(1, 50, v1.ResourceCPU, calc.Tolerances(), levels(100), nil, "", now)
	assert.EqualError(t, err, "no pods returned by selector while calculating replica count")
	_, _, _, err = calc.GetResourceReplicas(1, 50, v1.ResourceCPU, calc.Tolerances(), levels(100), pods("1.0", 1, map[int][]podOpt{0: {neverReady}}), "", now)
	assert.EqualError(t, err, "did not receive metrics for targeted pods (pods might be unready)")
	noReq := testPod("p0", "1.0")
	noReq.Spec.Containers = append(noReq.Spec.Containers, v1.Container{Name: "sidecar"})
	_, _, _, err = calc.GetResourceReplicas(1, 50, v1.ResourceCPU, calc.Tolerances(), levels(100), []*v1.Pod{noReq}, "", now)
	assert.EqualError(t, err, "missing request for cpu in container sidecar of Pod p0")
	// TestReplicaCalcDisjointResourcesMetrics: metrics for a pod that is not in the list.
	_, _, _, err = calc.GetResourceReplicas(1, 100, v1.ResourceCPU, calc.Tolerances(), PodMetricsInfo{"an-older-pod-name": {Timestamp: now, Window: 15 * time.Second, Value: 100}}, pods("1.0", 1, nil), "", now)
	assert.EqualError(t, err, "no metrics returned matched known pods")
}

func TestGetRawResourceReplicas(t *testing.T) {
	calc := NewReplicaCalculator()
	// 200m average of a 100m AverageValue target ⇒ double.
	got, usage, err := calc.GetRawResourceReplicas(2, 100, v1.ResourceCPU, calc.Tolerances(), levels(200, 200), pods("100m", 2, nil), now)
	require.NoError(t, err)
	assert.Equal(t, int32(4), got)
	assert.Equal(t, int64(200), usage)
	// Memory AverageValue (milli-bytes): 3 pods at 150Mi vs 100Mi target ⇒ ceil(1.5×3) = 5; readiness is not looked at for memory.
	mi := int64(1024 * 1024 * 1000)
	got, _, err = calc.GetRawResourceReplicas(3, 100*mi, v1.ResourceMemory, calc.Tolerances(), levels(150*mi, 150*mi, 150*mi), pods("1", 3, map[int][]podOpt{0: {neverReady}}), now)
	require.NoError(t, err)
	assert.Equal(t, int32(5), got)
	// Scale-down with a missing pod: it counts as using exactly the target: (10+10+100)/3 = 40 ⇒ ceil(0.4×3) = 2.
	got, _, err = calc.GetRawResourceReplicas(3, 100, v1.ResourceCPU, calc.Tolerances(), levels(10, 10, -1), pods("1", 3, nil), now)
	require.NoError(t, err)
	assert.Equal(t, int32(2), got)
	// Exactly at target with missing pods: upstream calcPlainMetricReplicas
	// fills missing pods only when the ratio is below or above 1, so the
	// ratio stays 1 and nothing changes (filling them with 0 would scale 5 → 2).
	got, _, err = calc.GetRawResourceReplicas(5, 100, v1.ResourceCPU, calc.Tolerances(), levels(100, 100, -1, -1, -1), pods("1", 5, nil), now)
	require.NoError(t, err)
	assert.Equal(t, int32(5), got)
	// Within tolerance.
	got, _, err = calc.GetRawResourceReplicas(3, 100, v1.ResourceCPU, calc.Tolerances(), levels(105, 108, 107), pods("1", 3, nil), now)
	require.NoError(t, err)
	assert.Equal(t, int32(3), got)
}

func TestGroupPods(t *testing.T) {
	deleted := testPod("del", "1")
	deleted.DeletionTimestamp = &metav1.Time{Time: now}
	failed := testPod("failed", "1")
	failed.Status.Phase = v1.PodFailed
	noReady := testPod("noready", "1")
	noReady.Status.Conditions = nil
	becameUnready := testPod("flapped", "1") // was ready, now not, past init period: counted
	becameUnready.Status.Conditions[0].Status = v1.ConditionFalse
	hotReady := testPod("hotready", "1", func(p *v1.Pod) {
		p.Status.StartTime = &metav1.Time{Time: hotStart}
		p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(now.Add(-20 * time.Second))
	})
	hotNotReady := testPod("hotnotready", "1", func(p *v1.Pod) {
		p.Status.StartTime = &metav1.Time{Time: hotStart}
		p.Status.Conditions[0].Status = v1.ConditionFalse
	})
	list := []*v1.Pod{deleted, failed, testPod("pend", "1", pending), testPod("nometric", "1"), noReady, becameUnready, hotReady, hotNotReady, testPod("ok", "1")}
	m := PodMetricsInfo{}
	for _, p := range list {
		if p.Name != "nometric" {
			m[p.Name] = PodMetric{Timestamp: now, Window: 15 * time.Second, Value: 1}
		}
	}
	ready, unready, missing, ignored := groupPods(list, m, v1.ResourceCPU, DefaultCPUInitializationPeriod, DefaultDelayOfInitialReadinessStatus, now)
	assert.Equal(t, 3, ready, "flapped, hotready (ready for more than a window), ok")
	assert.ElementsMatch(t, []string{"pend", "noready", "hotnotready"}, unready.UnsortedList())
	assert.ElementsMatch(t, []string{"nometric"}, missing.UnsortedList())
	assert.ElementsMatch(t, []string{"del", "failed"}, ignored.UnsortedList())
	// For memory only pending pods are unready.
	ready, unready, _, _ = groupPods(list, m, v1.ResourceMemory, DefaultCPUInitializationPeriod, DefaultDelayOfInitialReadinessStatus, now)
	assert.Equal(t, 5, ready)
	assert.ElementsMatch(t, []string{"pend"}, unready.UnsortedList())
}

func TestGetResourceUtilizationRatio(t *testing.T) {
	ratio, util, raw, err := GetResourceUtilizationRatio(PodMetricsInfo{"a": {Value: 333}, "b": {Value: 333}, "extra": {Value: 5000}}, map[string]int64{"a": 1000, "b": 1000}, 50)
	require.NoError(t, err)
	assert.Equal(t, int32(33), util, "integer percent: floor(666×100/2000)")
	assert.InDelta(t, 0.66, ratio, 1e-9)
	assert.Equal(t, int64(333), raw)
}

// TestCalculatePodRequestsPodLevel: upstream calculateRequests (v1.34+,
// PodLevelResources beta and on by default, kubernetes#132430): for a
// Resource metric a pod with pod-level requests is measured against
// spec.resources (resource.PodRequests, pod overhead excluded,
// kubernetes#142154), containers without requests then being no error; a
// ContainerResource metric still uses its container, and a pod without
// that container is an error.
func TestCalculatePodRequestsPodLevel(t *testing.T) {
	podLevel := testPod("p0", "500m", func(p *v1.Pod) {
		p.Spec.Resources = &v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("2")}}
		p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: "sidecar"}) // no requests
		p.Spec.Overhead = v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m")}
	})
	reqs, err := calculatePodRequests([]*v1.Pod{podLevel}, "", v1.ResourceCPU)
	require.NoError(t, err)
	assert.Equal(t, int64(2000), reqs["p0"], "the pod-level request, without the overhead")

	reqs, err = calculatePodRequests([]*v1.Pod{podLevel}, "c", v1.ResourceCPU)
	require.NoError(t, err)
	assert.Equal(t, int64(500), reqs["p0"], "a named container wins over pod-level requests")

	// Pod-level requests for memory only: cpu comes from the containers.
	memOnly := testPod("p1", "300m", func(p *v1.Pod) {
		p.Spec.Resources = &v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceMemory: resource.MustParse("1Gi")}}
	})
	reqs, err = calculatePodRequests([]*v1.Pod{memOnly}, "", v1.ResourceCPU)
	require.NoError(t, err)
	assert.Equal(t, int64(300), reqs["p1"])
	noCPU := testPod("p2", "300m", func(p *v1.Pod) {
		p.Spec.Resources = &v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceMemory: resource.MustParse("1Gi")}}
		delete(p.Spec.Containers[0].Resources.Requests, v1.ResourceCPU)
	})
	_, err = calculatePodRequests([]*v1.Pod{noCPU}, "", v1.ResourceCPU)
	assert.EqualError(t, err, "missing pod-level request for cpu in Pod p2")

	_, err = calculatePodRequests([]*v1.Pod{testPod("p3", "1")}, "app", v1.ResourceCPU)
	assert.EqualError(t, err, "container app not found in Pod p3")

	// Utilization against the pod-level request: 1000m of 2000m = 50% vs 25% ⇒ 2.
	calc := NewReplicaCalculator()
	got, util, _, err := calc.GetResourceReplicas(1, 25, v1.ResourceCPU, calc.Tolerances(), levels(1000), []*v1.Pod{podLevel}, "", now)
	require.NoError(t, err)
	assert.Equal(t, int32(50), util)
	assert.Equal(t, int32(2), got)
}

// Upstream calculatePodRequestsFromContainers: the regular containers plus
// the restartable init containers (sidecars); a run-once init container
// counts for nothing, even when it requests more (unlike the scheduler's
// max over init containers), and a sidecar can be named by a
// ContainerResource metric.
func TestCalculatePodRequestsSidecars(t *testing.T) {
	always := v1.ContainerRestartPolicyAlways
	cpu := func(q string) v1.ResourceRequirements {
		return v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(q)}}
	}
	p := testPod("p0", "500m", func(p *v1.Pod) {
		p.Spec.InitContainers = []v1.Container{
			{Name: "once", Resources: cpu("4")},
			{Name: "proxy", RestartPolicy: &always, Resources: cpu("100m")},
		}
	})
	reqs, err := calculatePodRequests([]*v1.Pod{p}, "", v1.ResourceCPU)
	require.NoError(t, err)
	assert.Equal(t, int64(600), reqs["p0"], "c + proxy, not the run-once init container")
	reqs, err = calculatePodRequests([]*v1.Pod{p}, "proxy", v1.ResourceCPU)
	require.NoError(t, err)
	assert.Equal(t, int64(100), reqs["p0"])
	p.Spec.InitContainers[1].Resources = v1.ResourceRequirements{}
	_, err = calculatePodRequests([]*v1.Pod{p}, "", v1.ResourceCPU)
	assert.EqualError(t, err, "missing request for cpu in container proxy of Pod p0")
}
