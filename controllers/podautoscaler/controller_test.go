package podautoscaler_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kubesim/kubesim/controllers/podautoscaler"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/metrics"
	"github.com/kubesim/kubesim/sim/simtest"
)

const ns = "default"

var web = map[string]string{"app": "web"}

type env struct {
	t       *testing.T
	c       *cluster.Cluster
	cl      client.Interface
	kubelet *simtest.FakeKubelet
	trace   *simtest.Trace
}

// newEnv: three nodes, the fake kubelet (pods Running and Ready 2 s after
// binding, gone 5 s after deletion starts), and a Deployment "web" of
// replicas pods requesting 200m CPU each and using 10m per request/s.
func newEnv(t *testing.T, replicas int32) *env {
	c := cluster.New(cluster.Config{Seed: 11, DetectCacheMutations: true})
	require.NoError(t, simtest.AddNodes(c, simtest.Node("n1", "16", "64Gi", nil), simtest.Node("n2", "16", "64Gi", nil), simtest.Node("n3", "16", "64Gi", nil)))
	k := simtest.StartFakeKubelet(c, 2*time.Second, 5*time.Second)
	e := &env{t: t, c: c, cl: c.Client("test"), kubelet: k, trace: simtest.RecordTrace(c)}
	c.Start()
	d := simtest.Deployment(ns, "web", replicas, web, "php-apache")
	d.Spec.Template.Annotations = map[string]string{metrics.CPUPerRequestAnnotation: "10m"}
	d.Spec.Template.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("200m")}
	_, err := e.cl.AppsV1().Deployments(ns).Create(context.TODO(), d, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Informers.CheckMutations()) })
	return e
}

// cpuHPA targets the Deployment at utilization% of the CPU request.
func cpuHPA(utilization int32, minReplicas, maxReplicas int32) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To(minReplicas),
			MaxReplicas:    maxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: v1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(utilization)}}}},
		},
	}
}

func (e *env) createHPA(h *autoscalingv2.HorizontalPodAutoscaler) {
	_, err := e.cl.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(context.TODO(), h, metav1.CreateOptions{})
	require.NoError(e.t, err)
}

func (e *env) hpa() *autoscalingv2.HorizontalPodAutoscaler {
	h, err := e.cl.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.TODO(), "web", metav1.GetOptions{})
	require.NoError(e.t, err)
	return h
}

func (e *env) replicas() int32 {
	d, err := e.cl.AppsV1().Deployments(ns).Get(context.TODO(), "web", metav1.GetOptions{})
	require.NoError(e.t, err)
	return *d.Spec.Replicas
}

// load sets the requests/s every web pod serves (10m CPU each).
func (e *env) load(rps float64) { require.NoError(e.t, e.c.SetDeploymentLoad(ns, "web", rps)) }

// expectSyncs runs to each sync time and checks the Deployment's replicas
// just after it.
func (e *env) expectSyncs(want []sync) {
	e.t.Helper()
	for _, w := range want {
		e.c.Engine.RunUntil(w.at)
		assert.Equal(e.t, w.replicas, e.replicas(), "replicas after the sync at %v", w.at)
	}
}

type sync struct {
	at       time.Duration
	replicas int32
}

func every(from, to time.Duration, replicas int32) []sync {
	var out []sync
	for at := from; at <= to; at += 15 * time.Second {
		out = append(out, sync{at, replicas})
	}
	return out
}

func seconds(s int) time.Duration { return time.Duration(s) * time.Second }

func (e *env) condition(t autoscalingv2.HorizontalPodAutoscalerConditionType) string {
	c := podautoscaler.GetCondition(e.hpa().Status, t)
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%s/%s", c.Status, c.Reason)
}

// TestDoubleThenCapped reproduces the documentation's rule "200m used of a
// 100m target ⇒ double" through the whole loop: 2 pods serving 20 req/s
// (200m of a 200m request = 100% against a 50% target) are doubled at the
// first sync. New pods have no metrics for two scrapes (missing pods count
// as 0% on scale-up, which keeps the count), then the load per pod still
// doubles the count each time: 4, 8, and 16 is clamped to maxReplicas 10.
func TestDoubleThenCapped(t *testing.T) {
	e := newEnv(t, 2)
	e.load(20)
	e.c.Engine.RunUntil(seconds(60))
	e.createHPA(cpuHPA(50, 1, 10)) // reconciled at 75 s, 90 s, …
	e.expectSyncs([]sync{{seconds(74), 2}, {seconds(75), 4}, {seconds(90), 4}, {seconds(105), 8}, {seconds(120), 8}, {seconds(135), 10}, {seconds(150), 10}})

	h := e.hpa()
	assert.Equal(t, int32(10), h.Status.CurrentReplicas)
	require.Len(t, h.Status.CurrentMetrics, 1)
	assert.Equal(t, int32(100), *h.Status.CurrentMetrics[0].Resource.Current.AverageUtilization)
	assert.Equal(t, "200m", h.Status.CurrentMetrics[0].Resource.Current.AverageValue.String())
	assert.Equal(t, "True/TooManyReplicas", e.condition(autoscalingv2.ScalingLimited))
	assert.Equal(t, metav1.NewTime(e.c.Engine.Now().Add(-15*time.Second)).Unix(), h.Status.LastScaleTime.Unix(), "last rescale at 135 s")
	assert.Equal(t, []string{
		"SuccessfulRescale: New size: 4; reason: cpu resource utilization (percentage of request) above target",
		"SuccessfulRescale: New size: 8; reason: cpu resource utilization (percentage of request) above target",
		"SuccessfulRescale: New size: 10; reason: cpu resource utilization (percentage of request) above target",
	}, simtest.Events(e.c, ns, "web", "SuccessfulRescale"))
	assert.Len(t, e.trace.Find(podautoscaler.ComponentName, "scaled"), 3)
}

// TestScaleUpLimitAndDownscaleStabilization: without behavior, one sync
// can at most double (or reach 4). Every pod serves 40 req/s = 400m = 4×
// the 50% target:
//
//	 75 s  1 pod at 4× ⇒ 4 wanted, limit max(2×1, 4) = 4 ⇒ 4
//	 90 s  3 new pods without metrics count 0% ⇒ (400)/(4×200) = 50% ⇒ keep
//	105 s  4 pods at 4× ⇒ 16 wanted, limit 8 ⇒ 8
//	120 s  4 missing ⇒ (4×400)/(8×200) = 100% ⇒ 2× ⇒ 16, limit 16 ⇒ 16
//	135 s  8 missing ⇒ 2× ⇒ 32, limit 32, maxReplicas 20 ⇒ 20
//
// When the load drops, the count stays until every recommendation of the
// last 5 minutes is lower.
func TestScaleUpLimitAndDownscaleStabilization(t *testing.T) {
	e := newEnv(t, 1)
	e.load(40)
	e.c.Engine.RunUntil(seconds(60))
	e.createHPA(cpuHPA(50, 1, 20))
	e.expectSyncs([]sync{{seconds(75), 4}, {seconds(90), 4}, {seconds(105), 8}, {seconds(120), 16}, {seconds(135), 20}})
	assert.Equal(t, []string{"New size: 4", "New size: 8", "New size: 16", "New size: 20"}, sizes(e))

	// 150 s: 16 pods at 4×, 4 missing ⇒ 160% ⇒ 64 recommended, 20 kept.
	// Then the load falls to 5 req/s (25% ⇒ ratio 0.5 ⇒ 10 wanted).
	e.expectSyncs([]sync{{seconds(150), 20}})
	e.load(5)
	// The 64 recommended at 150 s stays in the 5-minute window through the
	// sync at 450 s.
	e.expectSyncs(every(seconds(165), seconds(450), 20))
	assert.Equal(t, "True/ScaleDownStabilized", e.condition(autoscalingv2.AbleToScale))
	e.expectSyncs([]sync{{seconds(465), 10}})
	assert.Equal(t, "SuccessfulRescale: New size: 10; reason: All metrics below target", lastEvent(e))
}

func sizes(e *env) []string {
	var out []string
	for _, ev := range simtest.Events(e.c, ns, "web", "SuccessfulRescale") {
		var n int
		_, _ = fmt.Sscanf(ev, "SuccessfulRescale: New size: %d;", &n)
		out = append(out, fmt.Sprintf("New size: %d", n))
	}
	return out
}

func lastEvent(e *env) string {
	evs := simtest.Events(e.c, ns, "web", "SuccessfulRescale")
	if len(evs) == 0 {
		return ""
	}
	return evs[len(evs)-1]
}

// TestBehaviorPolicies: scaleUp limited to 1 pod per 60 s; scaleDown by at
// most 50% per 60 s after a 30 s stabilization window.
func TestBehaviorPolicies(t *testing.T) {
	e := newEnv(t, 2)
	e.load(20) // 100% of request, twice the target
	e.c.Engine.RunUntil(seconds(60))
	h := cpuHPA(50, 1, 10)
	h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}},
		ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](30),
			Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60}}},
	}
	e.createHPA(h)
	// +1 at 75 s; the next +1 only once the 75 s event is a full period
	// old (strictly older than now − 60 s): at 135 s, then 195 s, 255 s.
	e.expectSyncs([]sync{{seconds(75), 3}, {seconds(90), 3}, {seconds(105), 3}, {seconds(120), 3}, {seconds(135), 4},
		{seconds(150), 4}, {seconds(180), 4}, {seconds(195), 5}, {seconds(240), 5}, {seconds(255), 6}})
	assert.Equal(t, "True/ScaleUpLimit", e.condition(autoscalingv2.ScalingLimited))

	// No load from 255 s. Scale-down periods count from the period's
	// start: periodStart = current − scaled up + scaled down within the
	// last 60 s; the limit is trunc(periodStart × 50%), never above current.
	//  270 s  the pod added at 255 s has no sample and counts at 100% on a
	//         scale-down: (5×0 + 200)/(6×200) ⇒ 2 wanted; the 30 s window
	//         still holds the 255 s recommendation (10) ⇒ stays 6.
	//  285 s  window (255, 285] holds 2 and 0 ⇒ 2; periodStart 6 − 1 = 5 ⇒
	//         limit 2 ⇒ 2.
	//  300 s  periodStart 2 − 1 + 4 = 5 ⇒ limit 2 ⇒ stays 2.
	//  315 s  the 255 s scale-up has left the period: 2 + 4 = 6 ⇒ 3, capped
	//         at current ⇒ stays 2 (also at 330 s).
	//  345 s  the 285 s scale-down is no longer after now − 60 s ⇒
	//         periodStart 2 ⇒ limit 1 ⇒ 1 (= minReplicas).
	e.load(0)
	e.expectSyncs([]sync{{seconds(270), 6}, {seconds(285), 2}, {seconds(300), 2}, {seconds(315), 2}, {seconds(330), 2}, {seconds(345), 1}})
	assert.Equal(t, []string{"New size: 3", "New size: 4", "New size: 5", "New size: 6", "New size: 2", "New size: 1"}, sizes(e))
	assert.Equal(t, "True/TooFewReplicas", e.condition(autoscalingv2.ScalingLimited))
}

// TestMinMaxClamping: a target below minReplicas or above maxReplicas is
// moved into range at the next sync without looking at metrics.
func TestMinMaxClamping(t *testing.T) {
	e := newEnv(t, 1)
	e.c.Engine.RunUntil(seconds(30))
	e.createHPA(cpuHPA(50, 3, 5))
	e.expectSyncs([]sync{{seconds(44), 1}, {seconds(45), 3}})
	assert.Equal(t, "SuccessfulRescale: New size: 3; reason: Current number of replicas below Spec.MinReplicas", lastEvent(e))

	s, err := e.cl.AppsV1().Deployments(ns).GetScale(context.TODO(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	s.Spec.Replicas = 8
	_, err = e.cl.AppsV1().Deployments(ns).UpdateScale(context.TODO(), "web", s, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.expectSyncs([]sync{{seconds(59), 8}, {seconds(60), 5}})
	assert.Equal(t, "SuccessfulRescale: New size: 5; reason: Current number of replicas above Spec.MaxReplicas", lastEvent(e))
}

// TestUnreadyAndMissingPods: pods not Ready are treated as §5.3 says. 4
// pods, 2 of which never become Ready. At 1.5× the target over the ready
// pods, a scale-up with unready pods counts them at 0%: 2 × 75% / 4 =
// 37.5% vs 50% — the direction flipped ⇒ no change. At 3× the target:
// 2 × 150% / 4 = 75% ⇒ ratio 1.5 ⇒ ceil(1.5 × 4) = 6. (Missing metrics are
// exercised by the new pods in TestDoubleThenCapped and
// TestScaleUpLimitAndDownscaleStabilization.)
func TestUnreadyAndMissingPods(t *testing.T) {
	e := newEnv(t, 4)
	unready := map[types.UID]bool{}
	e.kubelet.Unready = func(p *v1.Pod) bool {
		if len(unready) < 2 {
			unready[p.UID] = true
		}
		return unready[p.UID]
	}
	e.load(15) // 150m = 75% of request = 1.5× the 50% target
	e.c.Engine.RunUntil(seconds(60))
	e.createHPA(cpuHPA(50, 1, 10))
	e.expectSyncs([]sync{{seconds(75), 4}, {seconds(90), 4}})
	// Current utilization is over the ready pods only.
	assert.Equal(t, int32(75), *e.hpa().Status.CurrentMetrics[0].Resource.Current.AverageUtilization)

	e.load(30) // 300m = 150% ⇒ 3× target
	e.expectSyncs([]sync{{seconds(104), 4}, {seconds(105), 6}})
	assert.Equal(t, "SuccessfulRescale: New size: 6; reason: cpu resource utilization (percentage of request) above target", lastEvent(e))
}

// TestMissingMetrics: with no samples at all (pods younger than one
// metrics window) the HPA reports FailedGetResourceMetric and does not
// scale; once samples exist it works.
func TestMissingMetrics(t *testing.T) {
	e := newEnv(t, 2)
	e.load(20)
	e.createHPA(cpuHPA(50, 1, 10)) // created at 0 s with the Deployment
	e.expectSyncs([]sync{{seconds(15), 2}})
	assert.Equal(t, "False/FailedGetResourceMetric", e.condition(autoscalingv2.ScalingActive))
	evs := simtest.Events(e.c, ns, "web", "FailedGetResourceMetric")
	require.Len(t, evs, 1)
	assert.Equal(t, "FailedGetResourceMetric: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API", evs[0])
	assert.Len(t, simtest.Events(e.c, ns, "web", "FailedComputeMetricsReplicas"), 1)
	// Pods running since 2 s are first seen by the 15 s scrape and get
	// their first sample at 30 s.
	e.expectSyncs([]sync{{seconds(30), 4}})
	assert.Equal(t, "True/ValidMetricFound", e.condition(autoscalingv2.ScalingActive))
}

// TestFailedGetScale: a target that does not exist (or is not scalable)
// is reported, not scaled.
func TestFailedGetScale(t *testing.T) {
	e := newEnv(t, 1)
	h := cpuHPA(50, 1, 5)
	h.Spec.ScaleTargetRef.Name = "nope"
	e.createHPA(h)
	e.c.Engine.RunUntil(seconds(15))
	assert.Equal(t, "False/FailedGetScale", e.condition(autoscalingv2.AbleToScale))
	assert.Equal(t, []string{`FailedGetScale: deployments.apps "nope" not found`}, simtest.Events(e.c, ns, "web", "FailedGetScale"))
	require.Len(t, e.trace.Find(podautoscaler.ComponentName, "reconcileFailed"), 1)
}

// TestReplicaSetTarget: an HPA can scale a ReplicaSet through its /scale.
func TestReplicaSetTarget(t *testing.T) {
	e := newEnv(t, 1)
	rs := simtest.ReplicaSet(ns, "batch", 1, map[string]string{"app": "batch"}, "worker")
	rs.Spec.Template.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}
	_, err := e.cl.AppsV1().ReplicaSets(ns).Create(context.TODO(), rs, metav1.CreateOptions{})
	require.NoError(t, err)
	h := cpuHPA(50, 3, 6)
	h.Name = "batch"
	h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "batch"}
	e.createHPA(h)
	e.c.Engine.RunUntil(seconds(15))
	got, err := e.cl.AppsV1().ReplicaSets(ns).Get(context.TODO(), "batch", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), *got.Spec.Replicas)
	e.c.Engine.RunUntil(seconds(20))
	got, err = e.cl.AppsV1().ReplicaSets(ns).Get(context.TODO(), "batch", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), got.Status.ReadyReplicas)
}

// TestFailedGetScaleTexts: upstream reconcileAutoscaler's three failures
// before the scale is read: the event and the AbleToScale condition carry
// the bare error, the returned (logged) error says which step failed.
func TestFailedGetScaleTexts(t *testing.T) {
	e := newEnv(t, 1)
	h := cpuHPA(50, 1, 5)
	h.Spec.ScaleTargetRef.APIVersion = "apps/v1/beta"
	e.createHPA(h)
	e.c.Engine.RunUntil(seconds(15))
	assert.Equal(t, []string{`FailedGetScale: unexpected GroupVersion string: apps/v1/beta`}, simtest.Events(e.c, ns, "web", "FailedGetScale"))
	c := podautoscaler.GetCondition(e.hpa().Status, autoscalingv2.AbleToScale)
	require.NotNil(t, c)
	assert.Equal(t, "the HPA controller was unable to get the target's current scale: unexpected GroupVersion string: apps/v1/beta", c.Message)
	failed := e.trace.Find(podautoscaler.ComponentName, "reconcileFailed")
	require.Len(t, failed, 1)
	assert.Equal(t, "invalid API version in scale target reference: unexpected GroupVersion string: apps/v1/beta", failed[0].Msg)

	e = newEnv(t, 1)
	h = cpuHPA(50, 1, 5)
	h.Spec.ScaleTargetRef.Kind = "Widget"
	e.createHPA(h)
	e.c.Engine.RunUntil(seconds(15))
	failed = e.trace.Find(podautoscaler.ComponentName, "reconcileFailed")
	require.Len(t, failed, 1)
	assert.Regexp(t, `^unable to determine resource for scale target reference: no matches for kind "Widget" in group "apps"`, failed[0].Msg)

	e = newEnv(t, 1)
	h = cpuHPA(50, 1, 5)
	h.Spec.ScaleTargetRef.Name = "nope"
	e.createHPA(h)
	e.c.Engine.RunUntil(seconds(15))
	failed = e.trace.Find(podautoscaler.ComponentName, "reconcileFailed")
	require.Len(t, failed, 1)
	assert.Equal(t, `failed to query scale subresource for Deployment/default/nope: deployments.apps "nope" not found`, failed[0].Msg)
}

// TestSelectorRegisteredOnlyWhenComputingMetrics: upstream registers an
// HPA's selector for the AmbiguousSelector check in
// validateAndParseSelector, which only the metrics branch of
// reconcileAutoscaler reaches. An HPA that only clamps its target into
// [minReplicas, maxReplicas] (or whose target is at 0) keeps the empty
// selector and makes no other HPA's pods ambiguous.
func TestSelectorRegisteredOnlyWhenComputingMetrics(t *testing.T) {
	e := newEnv(t, 2)
	clamp := cpuHPA(50, 1, 1) // 2 replicas > max 1: scaled to 1 without metrics
	clamp.Name = "clamp"
	e.createHPA(clamp)
	e.createHPA(cpuHPA(50, 1, 5))
	e.c.Engine.RunUntil(seconds(15))
	assert.Equal(t, int32(1), e.replicas())
	assert.Empty(t, simtest.Events(e.c, ns, "web", "AmbiguousSelector"))
	assert.NotEqual(t, "False/AmbiguousSelector", e.condition(autoscalingv2.ScalingActive))

	// At the next sync "clamp" is within range, computes metrics and
	// registers its selector: now both are ambiguous.
	e.c.Engine.RunUntil(seconds(30))
	assert.Equal(t, "False/AmbiguousSelector", e.condition(autoscalingv2.ScalingActive))
}
