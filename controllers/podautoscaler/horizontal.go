package podautoscaler

import (
	"fmt"
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

const (
	// scaleUpLimitFactor and scaleUpLimitMinimum give the legacy
	// (behavior-less) limit max(2 × current, 4).
	scaleUpLimitFactor  = 2.0
	scaleUpLimitMinimum = 4.0
)

type timestampedRecommendation struct {
	recommendation int32
	timestamp      time.Time
}

type timestampedScaleEvent struct {
	replicaChange int32 // positive for both scale-up and scale-down events
	timestamp     time.Time
	outdated      bool
}

// Autoscaler holds the HPA controller's memory across syncs — the
// timestamped recommendations and scale events per HPA key — and runs the
// reconcile. It is a state machine: all time comes in as a parameter.
type Autoscaler struct {
	// Calc computes per-metric proposals.
	Calc *ReplicaCalculator
	// DownscaleStabilisationWindow is the behavior-less window (5 min) and
	// the default of behavior.scaleDown.stabilizationWindowSeconds.
	DownscaleStabilisationWindow time.Duration

	recommendations map[string][]timestampedRecommendation
	scaleUpEvents   map[string][]timestampedScaleEvent
	scaleDownEvents map[string][]timestampedScaleEvent
}

// NewAutoscaler returns an Autoscaler with upstream's defaults.
func NewAutoscaler() *Autoscaler {
	return &Autoscaler{
		Calc:                         NewReplicaCalculator(),
		DownscaleStabilisationWindow: DefaultDownscaleStabilisationWindow,
		recommendations:              map[string][]timestampedRecommendation{},
		scaleUpEvents:                map[string][]timestampedScaleEvent{},
		scaleDownEvents:              map[string][]timestampedScaleEvent{},
	}
}

// Forget drops the history of a deleted HPA.
func (a *Autoscaler) Forget(key string) {
	delete(a.recommendations, key)
	delete(a.scaleUpEvents, key)
	delete(a.scaleDownEvents, key)
}

// ScaleTarget is what the HPA reads from the target's /scale subresource.
type ScaleTarget struct {
	// SpecReplicas is scale.spec.replicas (the current replica count).
	SpecReplicas int32
	// StatusReplicas is scale.status.replicas.
	StatusReplicas int32
	// Selector is scale.status.selector, parsed.
	Selector labels.Selector
	// SelectorError, if set, says why the selector cannot be used (missing,
	// unparsable, or shared with another HPA); the metrics are then not
	// computed, as upstream's validateAndParseSelector.
	SelectorError *SelectorError
}

// SelectorError is a failed selector check: the event reason, the
// ScalingActive=False condition reason and message, and the error.
type SelectorError struct {
	// EventReason is the reason of the Warning event (SelectorRequired,
	// InvalidSelector, AmbiguousSelector).
	EventReason string
	// ConditionReason and ConditionMessage go into ScalingActive=False.
	ConditionReason, ConditionMessage string
	// Err is the error the metric computation fails with.
	Err error
}

// Event is a Kubernetes event the reconcile wants recorded.
type Event struct {
	Type, Reason, Message string
}

// Result is the outcome of one reconcile.
type Result struct {
	// HPA is a copy of the input with the new status (conditions,
	// currentReplicas, desiredReplicas, currentMetrics, lastScaleTime).
	HPA *autoscalingv2.HorizontalPodAutoscaler
	// DesiredReplicas is what the target was (or would have been) scaled to.
	DesiredReplicas int32
	// Rescaled reports whether the /scale write was made and succeeded.
	Rescaled bool
	// Events lists the events to record, in order.
	Events []Event
}

// Reconcile is upstream's reconcileAutoscaler after the reads: hpa (from
// the cache; copied, not mutated), its target's scale, a metrics client and
// the pods matching the selector. If the desired count differs from the
// current one, updateScale is called to write /scale. The returned error
// means "requeue with rate limit"; the Result is valid even then.
func (a *Autoscaler) Reconcile(key string, hpa *autoscalingv2.HorizontalPodAutoscaler, scale ScaleTarget, metrics MetricsClient, pods []*v1.Pod, updateScale func(replicas int32) error, now time.Time) (Result, error) {
	hpa = hpa.DeepCopy()
	res := Result{HPA: hpa}
	reference := fmt.Sprintf("%s/%s/%s", hpa.Spec.ScaleTargetRef.Kind, hpa.Namespace, hpa.Spec.ScaleTargetRef.Name)
	setCondition(hpa, autoscalingv2.AbleToScale, v1.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale", now)

	currentReplicas := scale.SpecReplicas
	a.recordInitialRecommendation(currentReplicas, key, now)
	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}

	var (
		metricStatuses  []autoscalingv2.MetricStatus
		desiredReplicas int32
		rescaleReason   string
		retErr          error
	)
	rescale := true
	switch {
	case currentReplicas == 0 && minReplicas != 0:
		desiredReplicas = 0
		rescale = false
		setCondition(hpa, autoscalingv2.ScalingActive, v1.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero", now)
	case currentReplicas > hpa.Spec.MaxReplicas:
		rescaleReason = "Current number of replicas above Spec.MaxReplicas"
		desiredReplicas = hpa.Spec.MaxReplicas
	case currentReplicas < minReplicas:
		rescaleReason = "Current number of replicas below Spec.MinReplicas"
		desiredReplicas = minReplicas
	default:
		metricDesiredReplicas, metricName, statuses, err := a.computeReplicasForMetrics(hpa, scale, metrics, pods, now, &res)
		metricStatuses = statuses
		if err != nil && metricDesiredReplicas == -1 {
			setStatus(hpa, currentReplicas, hpa.Status.DesiredReplicas, metricStatuses, false, now)
			res.Events = append(res.Events, Event{v1.EventTypeWarning, "FailedComputeMetricsReplicas", err.Error()})
			return res, fmt.Errorf("failed to compute desired number of replicas based on listed metrics for %s: %v", reference, err)
		}
		if err != nil {
			// Some metrics failed: scale on the others, report the error.
			retErr = err
		}
		rescaleMetric := ""
		if metricDesiredReplicas > desiredReplicas {
			desiredReplicas = metricDesiredReplicas
			rescaleMetric = metricName
		}
		if desiredReplicas > currentReplicas {
			rescaleReason = fmt.Sprintf("%s above target", rescaleMetric)
		}
		if desiredReplicas < currentReplicas {
			rescaleReason = "All metrics below target"
		}
		if hpa.Spec.Behavior == nil {
			desiredReplicas = a.normalizeDesiredReplicas(hpa, key, currentReplicas, desiredReplicas, minReplicas, now)
		} else {
			desiredReplicas = a.normalizeDesiredReplicasWithBehaviors(hpa, key, currentReplicas, desiredReplicas, minReplicas, now)
		}
		rescale = desiredReplicas != currentReplicas
	}

	if rescale {
		if err := updateScale(desiredReplicas); err != nil {
			res.Events = append(res.Events, Event{v1.EventTypeWarning, "FailedRescale", fmt.Sprintf("New size: %d; reason: %s; error: %v", desiredReplicas, rescaleReason, err)})
			setCondition(hpa, autoscalingv2.AbleToScale, v1.ConditionFalse, "FailedUpdateScale", fmt.Sprintf("the HPA controller was unable to update the target scale: %v", err), now)
			setStatus(hpa, currentReplicas, hpa.Status.DesiredReplicas, metricStatuses, false, now)
			res.DesiredReplicas = desiredReplicas
			return res, fmt.Errorf("failed to rescale %s: %v", reference, err)
		}
		setCondition(hpa, autoscalingv2.AbleToScale, v1.ConditionTrue, "SucceededRescale", fmt.Sprintf("the HPA controller was able to update the target scale to %d", desiredReplicas), now)
		res.Events = append(res.Events, Event{v1.EventTypeNormal, "SuccessfulRescale", fmt.Sprintf("New size: %d; reason: %s", desiredReplicas, rescaleReason)})
		a.storeScaleEvent(hpa.Spec.Behavior, key, currentReplicas, desiredReplicas, now)
		res.Rescaled = true
	} else {
		desiredReplicas = currentReplicas
	}
	res.DesiredReplicas = desiredReplicas
	setStatus(hpa, currentReplicas, desiredReplicas, metricStatuses, rescale, now)
	return res, retErr
}

// ComputesMetrics reports whether a reconcile of hpa with the target at
// currentReplicas reads the metrics (and so the target's selector): not
// when autoscaling is disabled (the target at 0 with minReplicas above 0)
// or the count is outside [minReplicas, maxReplicas], which Reconcile
// only clamps.
func ComputesMetrics(hpa *autoscalingv2.HorizontalPodAutoscaler, currentReplicas int32) bool {
	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	return !(currentReplicas == 0 && minReplicas != 0) && currentReplicas <= hpa.Spec.MaxReplicas && currentReplicas >= minReplicas
}

// setStatus rebuilds the status from the counts, the metrics, the
// conditions and lastScaleTime, which moves on a rescale (upstream never
// sets observedGeneration).
func setStatus(hpa *autoscalingv2.HorizontalPodAutoscaler, currentReplicas, desiredReplicas int32, metricStatuses []autoscalingv2.MetricStatus, rescale bool, now time.Time) {
	hpa.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: currentReplicas,
		DesiredReplicas: desiredReplicas,
		LastScaleTime:   hpa.Status.LastScaleTime,
		CurrentMetrics:  metricStatuses,
		Conditions:      hpa.Status.Conditions,
	}
	if rescale {
		t := metav1.NewTime(now)
		hpa.Status.LastScaleTime = &t
	}
}

// computeReplicasForMetrics takes the maximum proposal over the metrics. If
// every metric failed, or some failed and the rest would scale down, it
// returns -1 and the first error (the HPA only scales up on partial data).
func (a *Autoscaler) computeReplicasForMetrics(hpa *autoscalingv2.HorizontalPodAutoscaler, scale ScaleTarget, metrics MetricsClient, pods []*v1.Pod, now time.Time, res *Result) (replicas int32, metric string, statuses []autoscalingv2.MetricStatus, err error) {
	if se := scale.SelectorError; se != nil {
		res.Events = append(res.Events, Event{v1.EventTypeWarning, se.EventReason, se.Err.Error()})
		setCondition(hpa, autoscalingv2.ScalingActive, v1.ConditionFalse, se.ConditionReason, se.ConditionMessage, now)
		return -1, "", nil, se.Err
	}
	specReplicas := scale.SpecReplicas
	statuses = make([]autoscalingv2.MetricStatus, len(hpa.Spec.Metrics))

	invalidMetricsCount := 0
	var invalidMetricError error
	var invalidMetricCondition autoscalingv2.HorizontalPodAutoscalerCondition

	for i, metricSpec := range hpa.Spec.Metrics {
		proposal, name, reason, err := a.computeReplicasForMetric(hpa, metricSpec, specReplicas, scale.Selector, metrics, pods, now, &statuses[i])
		if err != nil {
			if invalidMetricsCount <= 0 {
				invalidMetricCondition = autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingActive, Status: v1.ConditionFalse, Reason: reason, Message: fmt.Sprintf("the HPA was unable to compute the replica count: %v", err)}
				invalidMetricError = wrapMetricError(metricSpec, err)
			}
			res.Events = append(res.Events, Event{v1.EventTypeWarning, reason, err.Error()})
			invalidMetricsCount++
			continue
		}
		if replicas == 0 || proposal > replicas {
			replicas = proposal
			metric = name
		}
	}
	if invalidMetricError != nil {
		invalidMetricError = fmt.Errorf("invalid metrics (%v invalid out of %v), first error is: %v", invalidMetricsCount, len(hpa.Spec.Metrics), invalidMetricError)
	}
	if invalidMetricsCount >= len(hpa.Spec.Metrics) || (invalidMetricsCount > 0 && replicas < specReplicas) {
		setCondition(hpa, invalidMetricCondition.Type, invalidMetricCondition.Status, invalidMetricCondition.Reason, invalidMetricCondition.Message, now)
		return -1, "", statuses, invalidMetricError
	}
	setCondition(hpa, autoscalingv2.ScalingActive, v1.ConditionTrue, "ValidMetricFound", fmt.Sprintf("the HPA was able to successfully calculate a replica count from %s", metric), now)
	return replicas, metric, statuses, invalidMetricError
}

// computeReplicasForMetric handles Resource and ContainerResource metrics;
// other metric types are reported as unsupported errors. On failure it
// returns the reason of the event and ScalingActive condition
// (FailedGetResourceMetric or FailedGetContainerResourceMetric) and the
// error they carry (upstream computeStatusForResourceMetricGeneric).
func (a *Autoscaler) computeReplicasForMetric(hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, specReplicas int32, selector labels.Selector, metrics MetricsClient, pods []*v1.Pod, now time.Time, status *autoscalingv2.MetricStatus) (int32, string, string, error) {
	var resourceName v1.ResourceName
	var target autoscalingv2.MetricTarget
	container := ""
	reason := "FailedGetResourceMetric"
	switch spec.Type {
	case autoscalingv2.ResourceMetricSourceType:
		if spec.Resource == nil {
			return 0, "", reason, fmt.Errorf("invalid resource metric: resource is nil")
		}
		resourceName, target = spec.Resource.Name, spec.Resource.Target
	case autoscalingv2.ContainerResourceMetricSourceType:
		reason = "FailedGetContainerResourceMetric"
		if spec.ContainerResource == nil {
			return 0, "", reason, fmt.Errorf("invalid container resource metric: containerResource is nil")
		}
		resourceName, target, container = spec.ContainerResource.Name, spec.ContainerResource.Target, spec.ContainerResource.Container
	default:
		return 0, "", reason, fmt.Errorf("unknown metric source type %q (kubesim supports Resource and ContainerResource metrics only)", spec.Type)
	}

	getMetrics := func() (PodMetricsInfo, error) {
		podMetrics, _, err := metrics.GetResourceMetric(resourceName, hpa.Namespace, selector, container)
		if err != nil {
			return nil, fmt.Errorf("unable to get metrics for resource %s: %v", resourceName, err)
		}
		return podMetrics, nil
	}
	var value autoscalingv2.MetricValueStatus
	var proposal int32
	var name string
	if target.AverageValue != nil {
		podMetrics, err := getMetrics()
		var p int32
		var raw int64
		if err == nil {
			p, raw, err = a.Calc.GetRawResourceReplicas(specReplicas, target.AverageValue.MilliValue(), resourceName, a.tolerancesForHPA(hpa), podMetrics, pods, now)
		}
		if err != nil {
			return 0, "", reason, fmt.Errorf("failed to get %s usage: %v", resourceName, err)
		}
		proposal, name = p, fmt.Sprintf("%s resource", resourceName)
		value = autoscalingv2.MetricValueStatus{AverageValue: resource.NewMilliQuantity(raw, resource.DecimalSI)}
	} else {
		if target.AverageUtilization == nil {
			return 0, "", reason, fmt.Errorf("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set")
		}
		podMetrics, err := getMetrics()
		var p, pct int32
		var raw int64
		if err == nil {
			p, pct, raw, err = a.Calc.GetResourceReplicas(specReplicas, *target.AverageUtilization, resourceName, a.tolerancesForHPA(hpa), podMetrics, pods, container, now)
		}
		if err != nil {
			return 0, "", reason, fmt.Errorf("failed to get %s utilization: %v", resourceName, err)
		}
		proposal, name = p, fmt.Sprintf("%s resource utilization (percentage of request)", resourceName)
		if spec.Type == autoscalingv2.ContainerResourceMetricSourceType {
			name = fmt.Sprintf("%s container resource utilization (percentage of request)", resourceName)
		}
		value = autoscalingv2.MetricValueStatus{AverageUtilization: &pct, AverageValue: resource.NewMilliQuantity(raw, resource.DecimalSI)}
	}
	if spec.Type == autoscalingv2.ContainerResourceMetricSourceType {
		*status = autoscalingv2.MetricStatus{Type: spec.Type, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{Name: resourceName, Container: container, Current: value}}
	} else {
		*status = autoscalingv2.MetricStatus{Type: spec.Type, Resource: &autoscalingv2.ResourceMetricStatus{Name: resourceName, Current: value}}
	}
	return proposal, name, "", nil
}

// tolerancesForHPA is upstream's tolerancesForHpa with the
// HPAConfigurableTolerance feature on (beta, on by default since v1.35):
// behavior.scaleUp/scaleDown.tolerance, where set, replace the cluster-wide
// tolerance for that direction.
func (a *Autoscaler) tolerancesForHPA(hpa *autoscalingv2.HorizontalPodAutoscaler) Tolerances {
	t := a.Calc.Tolerances()
	b := hpa.Spec.Behavior
	if b == nil {
		return t
	}
	if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
		t.ScaleDown = b.ScaleDown.Tolerance.AsApproximateFloat64()
	}
	if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
		t.ScaleUp = b.ScaleUp.Tolerance.AsApproximateFloat64()
	}
	return t
}

// wrapMetricError is upstream's computeReplicasForMetric wrapping of a
// metric's error, as FailedComputeMetricsReplicas reports it.
func wrapMetricError(spec autoscalingv2.MetricSpec, err error) error {
	switch {
	case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
		return fmt.Errorf("failed to get %s resource metric value: %v", spec.Resource.Name, err)
	case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
		return fmt.Errorf("failed to get %s container metric value: %v", spec.ContainerResource.Container, err)
	}
	return err
}

// recordInitialRecommendation seeds the recommendation history of a new
// HPA with the current replica count, so that for the first stabilization
// window the HPA does not scale below where it started (upstream does the
// same on its first reconcile).
func (a *Autoscaler) recordInitialRecommendation(currentReplicas int32, key string, now time.Time) {
	if a.recommendations[key] == nil {
		a.recommendations[key] = []timestampedRecommendation{{currentReplicas, now}}
	}
}

// stabilizeRecommendation returns the max of the new recommendation and
// those of the last DownscaleStabilisationWindow, and records the new one
// (reusing the slot of an expired one).
func (a *Autoscaler) stabilizeRecommendation(key string, prenormalizedDesiredReplicas int32, now time.Time) int32 {
	maxRecommendation := prenormalizedDesiredReplicas
	foundOldSample := false
	oldSampleIndex := 0
	cutoff := now.Add(-a.DownscaleStabilisationWindow)
	for i, rec := range a.recommendations[key] {
		if rec.timestamp.Before(cutoff) {
			foundOldSample = true
			oldSampleIndex = i
		} else if rec.recommendation > maxRecommendation {
			maxRecommendation = rec.recommendation
		}
	}
	if foundOldSample {
		a.recommendations[key][oldSampleIndex] = timestampedRecommendation{prenormalizedDesiredReplicas, now}
	} else {
		a.recommendations[key] = append(a.recommendations[key], timestampedRecommendation{prenormalizedDesiredReplicas, now})
	}
	return maxRecommendation
}

// normalizeDesiredReplicas is the behavior-less normalization: downscale
// stabilization, then [minReplicas, min(maxReplicas, max(2×current, 4))].
func (a *Autoscaler) normalizeDesiredReplicas(hpa *autoscalingv2.HorizontalPodAutoscaler, key string, currentReplicas, prenormalizedDesiredReplicas, minReplicas int32, now time.Time) int32 {
	stabilizedRecommendation := a.stabilizeRecommendation(key, prenormalizedDesiredReplicas, now)
	if stabilizedRecommendation != prenormalizedDesiredReplicas {
		setCondition(hpa, autoscalingv2.AbleToScale, v1.ConditionTrue, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation", now)
	} else {
		setCondition(hpa, autoscalingv2.AbleToScale, v1.ConditionTrue, "ReadyForNewScale", "recommended size matches current size", now)
	}
	desiredReplicas, reason, message := convertDesiredReplicasWithRules(currentReplicas, stabilizedRecommendation, minReplicas, hpa.Spec.MaxReplicas)
	if desiredReplicas == stabilizedRecommendation {
		setCondition(hpa, autoscalingv2.ScalingLimited, v1.ConditionFalse, reason, message, now)
	} else {
		setCondition(hpa, autoscalingv2.ScalingLimited, v1.ConditionTrue, reason, message, now)
	}
	return desiredReplicas
}

// convertDesiredReplicasWithRules clamps to [min, min(max, scaleUpLimit)]
// and names the limiting reason.
func convertDesiredReplicasWithRules(currentReplicas, desiredReplicas, hpaMinReplicas, hpaMaxReplicas int32) (int32, string, string) {
	var maximumAllowedReplicas int32
	var possibleLimitingCondition, possibleLimitingReason string
	minimumAllowedReplicas := hpaMinReplicas

	// Guard against a bogus usage spike scaling up too fast.
	scaleUpLimit := calculateScaleUpLimit(currentReplicas)
	if hpaMaxReplicas > scaleUpLimit {
		maximumAllowedReplicas = scaleUpLimit
		possibleLimitingCondition = "ScaleUpLimit"
		possibleLimitingReason = "the desired replica count is increasing faster than the maximum scale rate"
	} else {
		maximumAllowedReplicas = hpaMaxReplicas
		possibleLimitingCondition = "TooManyReplicas"
		possibleLimitingReason = "the desired replica count is more than the maximum replica count"
	}
	if desiredReplicas < minimumAllowedReplicas {
		return minimumAllowedReplicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
	} else if desiredReplicas > maximumAllowedReplicas {
		return maximumAllowedReplicas, possibleLimitingCondition, possibleLimitingReason
	}
	return desiredReplicas, "DesiredWithinRange", "the desired count is within the acceptable range"
}

func calculateScaleUpLimit(currentReplicas int32) int32 {
	return int32(math.Max(scaleUpLimitFactor*float64(currentReplicas), scaleUpLimitMinimum))
}
