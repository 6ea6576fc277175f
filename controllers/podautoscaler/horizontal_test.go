package podautoscaler

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

// fakeMetrics serves every pod at the same per-pod usage (millicores).
type fakeMetrics struct {
	perPod map[v1.ResourceName]int64
	err    map[v1.ResourceName]error
	pods   *[]*v1.Pod
	at     *time.Time
}

func (f fakeMetrics) GetResourceMetric(res v1.ResourceName, ns string, sel labels.Selector, container string) (PodMetricsInfo, time.Time, error) {
	if err := f.err[res]; err != nil {
		return nil, time.Time{}, err
	}
	m := PodMetricsInfo{}
	for _, p := range *f.pods {
		m[p.Name] = PodMetric{Timestamp: *f.at, Window: 15 * time.Second, Value: f.perPod[res]}
	}
	return m, *f.at, nil
}

func cpuHPA(target int32, minR, maxR int32) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			MinReplicas: ptr.To(minR), MaxReplicas: maxR,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: v1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(target)},
			}}},
		},
	}
}

// hpaSim drives an Autoscaler against a target whose replicas follow the
// HPA's writes at once (pods ready, 1000m request each) and a per-pod usage
// in millicores, syncing every 15 s.
type hpaSim struct {
	t        *testing.T
	as       *Autoscaler
	hpa      *autoscalingv2.HorizontalPodAutoscaler
	replicas int32
	usage    int64
	now      time.Time
	pods     []*v1.Pod
	podOpts  []podOpt // applied to every pod
	last     Result
}

func newHPASim(t *testing.T, hpa *autoscalingv2.HorizontalPodAutoscaler, replicas int32) *hpaSim {
	return &hpaSim{t: t, as: NewAutoscaler(), hpa: hpa, replicas: replicas, now: now}
}

func (s *hpaSim) sync() int32 {
	opts := map[int][]podOpt{}
	for i := 0; i < int(s.replicas); i++ {
		opts[i] = s.podOpts
	}
	s.pods = pods("1000m", int(s.replicas), opts)
	m := fakeMetrics{perPod: map[v1.ResourceName]int64{v1.ResourceCPU: s.usage}, pods: &s.pods, at: &s.now}
	res, err := s.as.Reconcile("ns/web", s.hpa, ScaleTarget{SpecReplicas: s.replicas, StatusReplicas: s.replicas, Selector: labels.Everything()}, m, s.pods,
		func(r int32) error { s.replicas = r; return nil }, s.now)
	require.NoError(s.t, err)
	s.hpa = res.HPA
	s.last = res
	s.now = s.now.Add(DefaultSyncPeriod)
	return s.replicas
}

func (s *hpaSim) cond(c autoscalingv2.HorizontalPodAutoscalerConditionType) string {
	cond := GetCondition(s.hpa.Status, c)
	if cond == nil {
		return ""
	}
	return string(cond.Status) + "/" + cond.Reason
}

// TestHPAScaleUpWorkedExample: k8s-semantics §11 — 4 pods at 90% of a 50%
// target ⇒ 8 (limit max(2×4, 4) = 8); next sync 8 × 1.8 = 15 (limit 16),
// capped by maxReplicas 10.
func TestHPAScaleUpWorkedExample(t *testing.T) {
	s := newHPASim(t, cpuHPA(50, 1, 10), 4)
	s.usage = 900
	assert.Equal(t, int32(8), s.sync())
	assert.Equal(t, "False/DesiredWithinRange", s.cond(autoscalingv2.ScalingLimited))
	assert.Equal(t, "True/SucceededRescale", s.cond(autoscalingv2.AbleToScale))
	assert.Equal(t, "True/ValidMetricFound", s.cond(autoscalingv2.ScalingActive))
	assert.Equal(t, int32(90), *s.hpa.Status.CurrentMetrics[0].Resource.Current.AverageUtilization)
	assert.Equal(t, "New size: 8; reason: cpu resource utilization (percentage of request) above target", s.last.Events[0].Message)
	assert.Equal(t, int32(10), s.sync(), "ceil(1.8×8) = 15 ≤ 16, then maxReplicas 10")
	assert.Equal(t, "True/TooManyReplicas", s.cond(autoscalingv2.ScalingLimited))
	require.NotNil(t, s.hpa.Status.LastScaleTime)

	// Without a max: 15 (the legacy limit 16 is not hit).
	s = newHPASim(t, cpuHPA(50, 1, 100), 8)
	s.usage = 900
	assert.Equal(t, int32(15), s.sync())
	// Scale-up limit: 2 pods at 500% of 50% ⇒ 20 wanted, limit max(4, 4) = 4.
	s = newHPASim(t, cpuHPA(50, 1, 100), 2)
	s.usage = 5000
	assert.Equal(t, int32(4), s.sync())
	assert.Equal(t, "True/ScaleUpLimit", s.cond(autoscalingv2.ScalingLimited))
}

// TestHPAScaleDownStabilization: 10 pods at 20% of 50% ⇒ 4, but replicas
// stay at 10 until every recommendation of the last 5 min is ≤ 4.
func TestHPAScaleDownStabilization(t *testing.T) {
	s := newHPASim(t, cpuHPA(50, 1, 20), 10)
	s.usage = 500 // at target: recommendation 10
	start := s.now
	assert.Equal(t, int32(10), s.sync())
	s.usage = 200
	for s.now.Sub(start) <= 5*time.Minute {
		at := s.now.Sub(start)
		require.Equal(t, int32(10), s.sync(), "at %v the 10-recommendation of t=0 is still in the window", at)
		assert.Equal(t, "True/ScaleDownStabilized", s.cond(autoscalingv2.AbleToScale))
	}
	assert.Equal(t, 315*time.Second, s.now.Sub(start))
	assert.Equal(t, int32(4), s.sync(), "at 315 s the t=0 recommendation is older than 5 min")
	assert.Equal(t, "New size: 4; reason: All metrics below target", s.last.Events[0].Message)
}

// TestHPATolerance: 54% of a 50% target (ratio 1.08) changes nothing.
func TestHPATolerance(t *testing.T) {
	s := newHPASim(t, cpuHPA(50, 1, 20), 6)
	s.usage = 540
	assert.Equal(t, int32(6), s.sync())
	assert.False(t, s.last.Rescaled)
	assert.Empty(t, s.last.Events)
	s.usage = 560 // 1.12 ⇒ ceil(6.72) = 7
	assert.Equal(t, int32(7), s.sync())
}

// TestHPAConfigurableTolerance: behavior.scaleUp/scaleDown.tolerance
// replace the cluster-wide 0.1 per direction (upstream horizontal.go
// tolerancesForHpa, feature HPAConfigurableTolerance, beta and on by
// default since v1.35); an unset direction keeps 0.1.
func TestHPAConfigurableTolerance(t *testing.T) {
	withTolerances := func(up, down string) *autoscalingv2.HorizontalPodAutoscaler {
		hpa := cpuHPA(50, 1, 20)
		hpa.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp:   &autoscalingv2.HPAScalingRules{},
			ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0)},
		}
		if up != "" {
			hpa.Spec.Behavior.ScaleUp.Tolerance = ptr.To(resource.MustParse(up))
		}
		if down != "" {
			hpa.Spec.Behavior.ScaleDown.Tolerance = ptr.To(resource.MustParse(down))
		}
		SetDefaultsHorizontalPodAutoscaler(hpa)
		return hpa
	}
	// 54% of 50% (ratio 1.08): within the default 10%, outside a 5% scale-up tolerance.
	s := newHPASim(t, withTolerances("0.05", ""), 6)
	s.usage = 540
	assert.Equal(t, int32(7), s.sync(), "ceil(1.08 × 6) = 7")
	s = newHPASim(t, withTolerances("", "0.05"), 6)
	s.usage = 540
	assert.Equal(t, int32(6), s.sync(), "a scale-down tolerance does not narrow the scale-up side")

	// 40% of 50% (ratio 0.8): outside the default, inside a 25% scale-down tolerance.
	s = newHPASim(t, withTolerances("", "250m"), 6)
	s.usage = 400
	assert.Equal(t, int32(6), s.sync())
	s = newHPASim(t, withTolerances("250m", ""), 6)
	s.usage = 400
	assert.Equal(t, int32(5), s.sync(), "ceil(0.8 × 6) = 5")

	// AverageValue targets use the same tolerances: 1080m of 1000m.
	hpa := withTolerances("0.05", "")
	hpa.Spec.Metrics[0].Resource.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(1, resource.DecimalSI)}
	s = newHPASim(t, hpa, 6)
	s.usage = 1080
	assert.Equal(t, int32(7), s.sync())
}

func TestHPAMinMaxAndDisabled(t *testing.T) {
	s := newHPASim(t, cpuHPA(50, 3, 20), 5)
	s.usage = 10 // 1% ⇒ 1, but min 3 once the initial recommendation (5) has left the window
	start := s.now
	assert.Equal(t, int32(5), s.sync(), "the first reconcile records 5 as the initial recommendation")
	assert.Equal(t, "True/ScaleDownStabilized", s.cond(autoscalingv2.AbleToScale))
	for s.now.Sub(start) <= 5*time.Minute {
		require.Equal(t, int32(5), s.sync())
	}
	assert.Equal(t, int32(3), s.sync())
	assert.Equal(t, "True/TooFewReplicas", s.cond(autoscalingv2.ScalingLimited))

	s = newHPASim(t, cpuHPA(50, 1, 4), 7)
	assert.Equal(t, int32(4), s.sync(), "current above max ⇒ max, without looking at metrics")
	assert.Equal(t, "New size: 4; reason: Current number of replicas above Spec.MaxReplicas", s.last.Events[0].Message)
	s = newHPASim(t, cpuHPA(50, 2, 4), 1)
	assert.Equal(t, int32(2), s.sync(), "below min ⇒ min")

	s = newHPASim(t, cpuHPA(50, 1, 4), 0)
	s.usage = 5000
	assert.Equal(t, int32(0), s.sync(), "target scaled to 0 ⇒ autoscaling disabled")
	assert.Equal(t, "False/ScalingDisabled", s.cond(autoscalingv2.ScalingActive))
}

// TestHPAPartialMetricsFailure: with one metric failing, the HPA scales up
// on the others but never down.
func TestHPAPartialMetricsFailure(t *testing.T) {
	hpa := cpuHPA(50, 1, 20)
	hpa.Spec.Metrics = append(hpa.Spec.Metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: v1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](60)},
	}})
	as := NewAutoscaler()
	replicas := int32(4)
	run := func(cpu int64) (Result, error) {
		ps := pods("1000m", int(replicas), nil)
		m := fakeMetrics{perPod: map[v1.ResourceName]int64{v1.ResourceCPU: cpu}, err: map[v1.ResourceName]error{v1.ResourceMemory: errors.New("metrics-server down")}, pods: &ps, at: &now}
		return as.Reconcile("ns/web", hpa, ScaleTarget{SpecReplicas: replicas, Selector: labels.Everything()}, m, ps, func(r int32) error { replicas = r; return nil }, now)
	}
	res, err := run(100) // CPU alone would scale down to 1
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid metrics (1 invalid out of 2)")
	assert.Equal(t, int32(4), replicas)
	c := GetCondition(res.HPA.Status, autoscalingv2.ScalingActive)
	assert.Equal(t, "FailedGetResourceMetric", c.Reason)

	res, err = run(1000) // CPU wants 8
	require.Error(t, err, "the error is still reported")
	assert.Equal(t, int32(8), replicas, "scale-up proceeds on partial data")
	assert.True(t, res.Rescaled)
}

// TestHPAMaxOverMetrics: the largest proposal wins.
func TestHPAMaxOverMetrics(t *testing.T) {
	hpa := cpuHPA(50, 1, 20)
	hpa.Spec.Metrics = append(hpa.Spec.Metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: v1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewMilliQuantity(200, resource.DecimalSI)},
	}})
	s := newHPASim(t, hpa, 2)
	s.usage = 600 // utilization 60% of 50 ⇒ ceil(2.4) = 3; average 600m of 200m ⇒ 6 ⇒ capped by max(2×2, 4) = 4
	assert.Equal(t, int32(4), s.sync())
	assert.Len(t, s.hpa.Status.CurrentMetrics, 2)
}

// TestNormalizeDesiredReplicasWithBehavior exercises the behavior path
// (policies, selectPolicy, stabilization windows, period accounting) in
// the manner of upstream's horizontal_test.go
// TestNormalizeDesiredReplicasWithBehavior / TestScalingWithRules, with
// kubesim's own numbers.
func TestNormalizeDesiredReplicasWithBehavior(t *testing.T) {
	type step struct {
		usage      int64 // per pod, of a 1000m request, 50% target
		wantReplic int32
		wantLimit  string
	}
	pct := func(v, period int32) autoscalingv2.HPAScalingPolicy {
		return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: v, PeriodSeconds: period}
	}
	podsPol := func(v, period int32) autoscalingv2.HPAScalingPolicy {
		return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: v, PeriodSeconds: period}
	}
	sel := func(p autoscalingv2.ScalingPolicySelect) *autoscalingv2.ScalingPolicySelect { return &p }
	tests := []struct {
		name     string
		behavior *autoscalingv2.HorizontalPodAutoscalerBehavior
		start    int32
		steps    []step
	}{
		{
			name:     "defaults (empty behavior): up max(+4 pods, +100%) per 15 s",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{},
			start:    2,
			steps:    []step{{5000, 6, "True/ScaleUpLimit"}, {5000, 12, "True/ScaleUpLimit"}, {5000, 24, "True/ScaleUpLimit"}, {5000, 48, "True/ScaleUpLimit"}, {5000, 50, "True/TooManyReplicas"}},
		},
		{
			name:     "selectPolicy Min: the smaller of +4 pods and +100%",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: sel(autoscalingv2.MinChangePolicySelect)}},
			start:    2,
			steps:    []step{{5000, 4, "True/ScaleUpLimit"}, {5000, 8, "True/ScaleUpLimit"}, {5000, 12, "True/ScaleUpLimit"}},
		},
		{
			name:     "scale-up Disabled",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: sel(autoscalingv2.DisabledPolicySelect)}},
			start:    3,
			steps:    []step{{5000, 3, "True/ScaleUpLimit"}, {5000, 3, "True/ScaleUpLimit"}},
		},
		{
			name: "scale-down 50% per 60 s counts the period's removals",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptr.To[int32](0), Policies: []autoscalingv2.HPAScalingPolicy{pct(50, 60)}}},
			start: 10,
			// 10 ⇒ floor(10×0.5) = 5; then periodStart 5+5 = 10 ⇒ limit 5 ⇒ stay until t=60 s; then 5 ⇒ 2.
			steps: []step{{10, 5, "True/ScaleDownLimit"}, {10, 5, "True/ScaleDownLimit"}, {10, 5, "True/ScaleDownLimit"}, {10, 5, "True/ScaleDownLimit"}, {10, 2, "True/ScaleDownLimit"}, {10, 2, "True/ScaleDownLimit"}},
		},
		{
			name: "scale-down Pods 1 per 15 s, selectPolicy Min against 100%",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptr.To[int32](0), SelectPolicy: sel(autoscalingv2.MinChangePolicySelect), Policies: []autoscalingv2.HPAScalingPolicy{podsPol(1, 15), pct(100, 15)}}},
			start: 5,
			steps: []step{{10, 4, "True/ScaleDownLimit"}, {10, 3, "True/ScaleDownLimit"}, {10, 2, "True/ScaleDownLimit"}, {10, 1, "False/DesiredWithinRange"}},
		},
		{
			name:     "scale-down Disabled",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{SelectPolicy: sel(autoscalingv2.DisabledPolicySelect), StabilizationWindowSeconds: ptr.To[int32](0)}},
			start:    6,
			steps:    []step{{10, 6, "True/ScaleDownLimit"}},
		},
		{
			name: "scale-up stabilization 30 s: go only to the lowest recent recommendation",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptr.To[int32](30), Policies: []autoscalingv2.HPAScalingPolicy{pct(1000, 15)}}},
			start: 2,
			// recs: t0 2 (at target), t15 10, t30 10, t45 10: min over (now−30 s, now] — the t0 rec is excluded from t30+ (After is strict).
			steps: []step{{500, 2, "False/DesiredWithinRange"}, {2500, 2, "False/DesiredWithinRange"}, {2500, 10, "False/DesiredWithinRange"}},
		},
		{
			name:     "behavior without scaleDown window uses the controller's 300 s",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{pct(100, 15)}}},
			start:    4,
			steps:    []step{{500, 4, "False/DesiredWithinRange"}, {100, 4, "False/DesiredWithinRange"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hpa := cpuHPA(50, 1, 50)
			hpa.Spec.Behavior = tc.behavior
			SetDefaultsHorizontalPodAutoscaler(hpa)
			s := newHPASim(t, hpa, tc.start)
			for i, st := range tc.steps {
				s.usage = st.usage
				got := s.sync()
				assert.Equal(t, st.wantReplic, got, "step %d (t=%ds)", i, i*15)
				assert.Equal(t, st.wantLimit, s.cond(autoscalingv2.ScalingLimited), "step %d", i)
			}
		})
	}
}

func TestSetDefaultsBehavior(t *testing.T) {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3}}
	SetDefaultsHorizontalPodAutoscaler(hpa)
	assert.Equal(t, int32(1), *hpa.Spec.MinReplicas)
	assert.Equal(t, int32(80), *hpa.Spec.Metrics[0].Resource.Target.AverageUtilization)
	assert.Nil(t, hpa.Spec.Behavior, "no behavior stays no behavior")

	hpa.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.MinChangePolicySelect)}}
	SetDefaultsHorizontalPodAutoscalerBehavior(hpa)
	up, down := hpa.Spec.Behavior.ScaleUp, hpa.Spec.Behavior.ScaleDown
	assert.Equal(t, int32(0), *up.StabilizationWindowSeconds)
	assert.Equal(t, autoscalingv2.MaxChangePolicySelect, *up.SelectPolicy)
	assert.Equal(t, []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}, {Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}, up.Policies)
	assert.Nil(t, down.StabilizationWindowSeconds)
	assert.Equal(t, autoscalingv2.MinChangePolicySelect, *down.SelectPolicy, "set fields kept")
	assert.Equal(t, []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}, down.Policies)
}

func TestScaleLimitFunctions(t *testing.T) {
	rules := &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect), Policies: []autoscalingv2.HPAScalingPolicy{
		{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 60}, {Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 15},
	}}
	ups := []timestampedScaleEvent{{replicaChange: 3, timestamp: now.Add(-30 * time.Second)}}
	// Pods: periodStart 10−3 = 7 ⇒ 11; Percent (15 s, event too old): ceil(10×1.5) = 15 ⇒ Max 15.
	assert.Equal(t, int32(15), calculateScaleUpLimitWithScalingRules(10, ups, nil, rules, now))
	rules.SelectPolicy = ptr.To(autoscalingv2.MinChangePolicySelect)
	assert.Equal(t, int32(11), calculateScaleUpLimitWithScalingRules(10, ups, nil, rules, now))
	down := &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect), Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 30, PeriodSeconds: 15}}}
	assert.Equal(t, int32(6), calculateScaleDownLimitWithBehaviors(9, nil, nil, down, now), "trunc(9×0.7) = 6")
	assert.Equal(t, int32(4), calculateScaleUpLimit(1))
	assert.Equal(t, int32(10), calculateScaleUpLimit(5))
}

func TestReconcileFailedRescale(t *testing.T) {
	as := NewAutoscaler()
	ps := pods("1000m", 2, nil)
	m := fakeMetrics{perPod: map[v1.ResourceName]int64{v1.ResourceCPU: 2000}, pods: &ps, at: &now}
	hpa := cpuHPA(50, 1, 10)
	hpa.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}
	res, err := as.Reconcile("ns/web", hpa, ScaleTarget{SpecReplicas: 2, Selector: labels.Everything()}, m, ps, func(int32) error { return fmt.Errorf("conflict") }, now)
	assert.EqualError(t, err, "failed to rescale Deployment/ns/web: conflict")
	assert.False(t, res.Rescaled)
	assert.Equal(t, "False", string(GetCondition(res.HPA.Status, autoscalingv2.AbleToScale).Status))
	assert.Equal(t, "FailedUpdateScale", GetCondition(res.HPA.Status, autoscalingv2.AbleToScale).Reason)
	assert.Equal(t, "FailedRescale", res.Events[len(res.Events)-1].Reason)
	assert.Nil(t, res.HPA.Status.LastScaleTime)
}

// TestMetricErrorTexts: upstream's texts when a resource metric cannot be
// computed (horizontal.go computeReplicasForMetric and
// computeStatusFor{,Container}ResourceMetric): the per-metric event and the
// ScalingActive condition carry the inner error, FailedComputeMetricsReplicas
// wraps it in "failed to get cpu resource metric value: …" (Resource) or
// "failed to get app container metric value: …" (ContainerResource, named
// by the container); ContainerResource failures have the reason
// FailedGetContainerResourceMetric; AverageValue targets say "usage".
func TestMetricErrorTexts(t *testing.T) {
	down := errors.New("no metrics returned from resource metrics API")
	run := func(hpa *autoscalingv2.HorizontalPodAutoscaler) Result {
		ps := pods("1000m", 2, nil)
		m := fakeMetrics{err: map[v1.ResourceName]error{v1.ResourceCPU: down}, pods: &ps, at: &now}
		res, err := NewAutoscaler().Reconcile("ns/web", hpa, ScaleTarget{SpecReplicas: 2, Selector: labels.Everything()}, m, ps, func(int32) error { return nil }, now)
		require.Error(t, err)
		return res
	}
	hpa := cpuHPA(50, 1, 10)
	hpa.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}
	ps := pods("1000m", 2, nil)
	_, err := NewAutoscaler().Reconcile("ns/web", hpa, ScaleTarget{SpecReplicas: 2, Selector: labels.Everything()}, fakeMetrics{err: map[v1.ResourceName]error{v1.ResourceCPU: down}, pods: &ps, at: &now}, ps, func(int32) error { return nil }, now)
	assert.EqualError(t, err, "failed to compute desired number of replicas based on listed metrics for Deployment/ns/web: invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API",
		"the error names the target as Kind/namespace/name (upstream's reference)")
	res := run(cpuHPA(50, 1, 10))
	require.Len(t, res.Events, 2)
	assert.Equal(t, Event{v1.EventTypeWarning, "FailedGetResourceMetric", "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"}, res.Events[0])
	assert.Equal(t, Event{v1.EventTypeWarning, "FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"}, res.Events[1])
	c := GetCondition(res.HPA.Status, autoscalingv2.ScalingActive)
	assert.Equal(t, "FailedGetResourceMetric", c.Reason)
	assert.Equal(t, "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API", c.Message)

	avg := cpuHPA(50, 1, 10)
	avg.Spec.Metrics[0].Resource.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewMilliQuantity(200, resource.DecimalSI)}
	res = run(avg)
	assert.Equal(t, "failed to get cpu usage: unable to get metrics for resource cpu: no metrics returned from resource metrics API", res.Events[0].Message)

	res = run(containerHPA())
	require.Len(t, res.Events, 2)
	assert.Equal(t, Event{v1.EventTypeWarning, "FailedGetContainerResourceMetric", "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"}, res.Events[0])
	assert.Equal(t, "invalid metrics (1 invalid out of 1), first error is: failed to get app container metric value: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API", res.Events[1].Message)
	assert.Equal(t, "FailedGetContainerResourceMetric", GetCondition(res.HPA.Status, autoscalingv2.ScalingActive).Reason)
}

// containerHPA: a ContainerResource cpu metric on container "app" at 50%.
func containerHPA() *autoscalingv2.HorizontalPodAutoscaler {
	hpa := cpuHPA(50, 1, 10)
	hpa.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: v1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)},
	}}}
	return hpa
}

// TestContainerResourceMetricName: a ContainerResource Utilization metric is
// named "cpu container resource utilization (percentage of request)" in the
// SuccessfulRescale event and the ValidMetricFound condition (upstream
// computeStatusForResourceMetricGeneric).
func TestContainerResourceMetricName(t *testing.T) {
	s := newHPASim(t, containerHPA(), 2)
	s.podOpts = []podOpt{func(p *v1.Pod) { p.Spec.Containers[0].Name = "app" }}
	s.usage = 1000 // 100% of a 50% target
	assert.Equal(t, int32(4), s.sync())
	assert.Equal(t, "New size: 4; reason: cpu container resource utilization (percentage of request) above target", s.last.Events[0].Message)
	c := GetCondition(s.hpa.Status, autoscalingv2.ScalingActive)
	assert.Equal(t, "the HPA was able to successfully calculate a replica count from cpu container resource utilization (percentage of request)", c.Message)
	require.NotNil(t, s.hpa.Status.CurrentMetrics[0].ContainerResource)
	assert.Equal(t, int32(100), *s.hpa.Status.CurrentMetrics[0].ContainerResource.Current.AverageUtilization)
}

// TestStatusHasNoObservedGeneration: upstream's setStatus rebuilds the
// status from currentReplicas, desiredReplicas, lastScaleTime,
// currentMetrics and conditions only; the v1.32 controller never sets
// status.observedGeneration.
func TestStatusHasNoObservedGeneration(t *testing.T) {
	hpa := cpuHPA(50, 1, 10)
	hpa.Generation = 3
	s := newHPASim(t, hpa, 2)
	s.usage = 1000
	assert.Equal(t, int32(4), s.sync())
	assert.Nil(t, s.hpa.Status.ObservedGeneration)
	s.usage = 500
	assert.Equal(t, int32(4), s.sync())
	assert.Nil(t, s.hpa.Status.ObservedGeneration)
}
