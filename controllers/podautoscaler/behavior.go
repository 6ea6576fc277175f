package podautoscaler

import (
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// normalizationArg gathers the inputs of the behavior normalization.
type normalizationArg struct {
	Key               string
	ScaleUpBehavior   *autoscalingv2.HPAScalingRules
	ScaleDownBehavior *autoscalingv2.HPAScalingRules
	MinReplicas       int32
	MaxReplicas       int32
	CurrentReplicas   int32
	DesiredReplicas   int32
}

// SetDefaultsHorizontalPodAutoscaler applies the API server's defaults for
// autoscaling/v2: minReplicas 1, a CPU 80% Utilization metric when none is
// given, and the behavior defaults (SetDefaultsHorizontalPodAutoscalerBehavior).
func SetDefaultsHorizontalPodAutoscaler(obj *autoscalingv2.HorizontalPodAutoscaler) {
	if obj.Spec.MinReplicas == nil {
		obj.Spec.MinReplicas = ptr.To[int32](1)
	}
	if len(obj.Spec.Metrics) == 0 {
		obj.Spec.Metrics = []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name:   v1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)},
			},
		}}
	}
	SetDefaultsHorizontalPodAutoscalerBehavior(obj)
}

// SetDefaultsHorizontalPodAutoscalerBehavior fills a set behavior's missing
// fields: scaleUp stabilization 0 s, policies Pods 4/15 s and Percent
// 100/15 s, selectPolicy Max; scaleDown policy Percent 100/15 s,
// selectPolicy Max, and stabilization left nil (the controller then uses
// its --horizontal-pod-autoscaler-downscale-stabilization, 300 s). A nil
// behavior stays nil.
func SetDefaultsHorizontalPodAutoscalerBehavior(obj *autoscalingv2.HorizontalPodAutoscaler) {
	if obj.Spec.Behavior != nil {
		obj.Spec.Behavior.ScaleUp = GenerateHPAScaleUpRules(obj.Spec.Behavior.ScaleUp)
		obj.Spec.Behavior.ScaleDown = GenerateHPAScaleDownRules(obj.Spec.Behavior.ScaleDown)
	}
}

// GenerateHPAScaleUpRules returns rules with the scale-up defaults under the set fields.
func GenerateHPAScaleUpRules(scalingRules *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	defaults := &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptr.To[int32](0),
		SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	}
	return copyHPAScalingRules(scalingRules, defaults)
}

// GenerateHPAScaleDownRules returns rules with the scale-down defaults under the set fields.
func GenerateHPAScaleDownRules(scalingRules *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	defaults := &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: nil,
		SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	}
	return copyHPAScalingRules(scalingRules, defaults)
}

func copyHPAScalingRules(from, to *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if from == nil {
		return to
	}
	if from.SelectPolicy != nil {
		to.SelectPolicy = from.SelectPolicy
	}
	if from.StabilizationWindowSeconds != nil {
		to.StabilizationWindowSeconds = from.StabilizationWindowSeconds
	}
	if from.Policies != nil {
		to.Policies = from.Policies
	}
	if from.Tolerance != nil {
		to.Tolerance = from.Tolerance
	}
	return to
}

// maybeInitScaleDownStabilizationWindow fills a nil scaleDown window with
// the controller's default.
func (a *Autoscaler) maybeInitScaleDownStabilizationWindow(hpa *autoscalingv2.HorizontalPodAutoscaler) {
	behavior := hpa.Spec.Behavior
	if behavior != nil && behavior.ScaleDown != nil && behavior.ScaleDown.StabilizationWindowSeconds == nil {
		w := int32(a.DownscaleStabilisationWindow.Seconds())
		hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds = &w
	}
}

// normalizeDesiredReplicasWithBehaviors: stabilize within both windows,
// then apply the rate policies and min/max. The behavior must have been
// defaulted (SetDefaultsHorizontalPodAutoscalerBehavior), as the API server does.
func (a *Autoscaler) normalizeDesiredReplicasWithBehaviors(hpa *autoscalingv2.HorizontalPodAutoscaler, key string, currentReplicas, prenormalizedDesiredReplicas, minReplicas int32, now time.Time) int32 {
	SetDefaultsHorizontalPodAutoscalerBehavior(hpa)
	a.maybeInitScaleDownStabilizationWindow(hpa)
	arg := normalizationArg{
		Key:               key,
		ScaleUpBehavior:   hpa.Spec.Behavior.ScaleUp,
		ScaleDownBehavior: hpa.Spec.Behavior.ScaleDown,
		MinReplicas:       minReplicas,
		MaxReplicas:       hpa.Spec.MaxReplicas,
		CurrentReplicas:   currentReplicas,
		DesiredReplicas:   prenormalizedDesiredReplicas,
	}
	stabilizedRecommendation, reason, message := a.stabilizeRecommendationWithBehaviors(arg, now)
	arg.DesiredReplicas = stabilizedRecommendation
	if stabilizedRecommendation != prenormalizedDesiredReplicas {
		setCondition(hpa, autoscalingv2.AbleToScale, v1.ConditionTrue, reason, message, now)
	} else {
		setCondition(hpa, autoscalingv2.AbleToScale, v1.ConditionTrue, "ReadyForNewScale", "recommended size matches current size", now)
	}
	desiredReplicas, reason, message := a.convertDesiredReplicasWithBehaviorRate(arg, now)
	if desiredReplicas == stabilizedRecommendation {
		setCondition(hpa, autoscalingv2.ScalingLimited, v1.ConditionFalse, reason, message, now)
	} else {
		setCondition(hpa, autoscalingv2.ScalingLimited, v1.ConditionTrue, reason, message, now)
	}
	return desiredReplicas
}

// stabilizeRecommendationWithBehaviors: up = min(desired, recs newer than
// the scale-up window), down = max(desired, recs newer than the scale-down
// window); result = current clamped into [up, down]. Records desired.
func (a *Autoscaler) stabilizeRecommendationWithBehaviors(args normalizationArg, now time.Time) (int32, string, string) {
	foundOldSample := false
	oldSampleIndex := 0

	upRecommendation := args.DesiredReplicas
	upCutoff := now.Add(-time.Second * time.Duration(*args.ScaleUpBehavior.StabilizationWindowSeconds))
	downRecommendation := args.DesiredReplicas
	downCutoff := now.Add(-time.Second * time.Duration(*args.ScaleDownBehavior.StabilizationWindowSeconds))

	for i, rec := range a.recommendations[args.Key] {
		if rec.timestamp.After(upCutoff) {
			upRecommendation = min(rec.recommendation, upRecommendation)
		}
		if rec.timestamp.After(downCutoff) {
			downRecommendation = max(rec.recommendation, downRecommendation)
		}
		if rec.timestamp.Before(upCutoff) && rec.timestamp.Before(downCutoff) {
			foundOldSample = true
			oldSampleIndex = i
		}
	}

	recommendation := args.CurrentReplicas
	if recommendation < upRecommendation {
		recommendation = upRecommendation
	}
	if recommendation > downRecommendation {
		recommendation = downRecommendation
	}

	if foundOldSample {
		a.recommendations[args.Key][oldSampleIndex] = timestampedRecommendation{args.DesiredReplicas, now}
	} else {
		a.recommendations[args.Key] = append(a.recommendations[args.Key], timestampedRecommendation{args.DesiredReplicas, now})
	}

	if args.DesiredReplicas >= args.CurrentReplicas {
		return recommendation, "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"
	}
	return recommendation, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"
}

// convertDesiredReplicasWithBehaviorRate applies the scale-up or
// scale-down rate limit (never past current in the wrong direction) and
// min/max.
func (a *Autoscaler) convertDesiredReplicasWithBehaviorRate(args normalizationArg, now time.Time) (int32, string, string) {
	var possibleLimitingReason, possibleLimitingMessage string
	if args.DesiredReplicas > args.CurrentReplicas {
		scaleUpLimit := calculateScaleUpLimitWithScalingRules(args.CurrentReplicas, a.scaleUpEvents[args.Key], a.scaleDownEvents[args.Key], args.ScaleUpBehavior, now)
		if scaleUpLimit < args.CurrentReplicas {
			// No further scale-up until old events age out.
			scaleUpLimit = args.CurrentReplicas
		}
		maximumAllowedReplicas := args.MaxReplicas
		if maximumAllowedReplicas > scaleUpLimit {
			maximumAllowedReplicas = scaleUpLimit
			possibleLimitingReason = "ScaleUpLimit"
			possibleLimitingMessage = "the desired replica count is increasing faster than the maximum scale rate"
		} else {
			possibleLimitingReason = "TooManyReplicas"
			possibleLimitingMessage = "the desired replica count is more than the maximum replica count"
		}
		if args.DesiredReplicas > maximumAllowedReplicas {
			return maximumAllowedReplicas, possibleLimitingReason, possibleLimitingMessage
		}
	} else if args.DesiredReplicas < args.CurrentReplicas {
		scaleDownLimit := calculateScaleDownLimitWithBehaviors(args.CurrentReplicas, a.scaleUpEvents[args.Key], a.scaleDownEvents[args.Key], args.ScaleDownBehavior, now)
		if scaleDownLimit > args.CurrentReplicas {
			// No further scale-down until old events age out.
			scaleDownLimit = args.CurrentReplicas
		}
		minimumAllowedReplicas := args.MinReplicas
		if minimumAllowedReplicas < scaleDownLimit {
			minimumAllowedReplicas = scaleDownLimit
			possibleLimitingReason = "ScaleDownLimit"
			possibleLimitingMessage = "the desired replica count is decreasing faster than the maximum scale rate"
		} else {
			possibleLimitingMessage = "the desired replica count is less than the minimum replica count"
			possibleLimitingReason = "TooFewReplicas"
		}
		if args.DesiredReplicas < minimumAllowedReplicas {
			return minimumAllowedReplicas, possibleLimitingReason, possibleLimitingMessage
		}
	}
	return args.DesiredReplicas, "DesiredWithinRange", "the desired count is within the acceptable range"
}

// getReplicasChangePerPeriod sums the changes of events newer than the period.
func getReplicasChangePerPeriod(periodSeconds int32, scaleEvents []timestampedScaleEvent, now time.Time) int32 {
	cutoff := now.Add(-time.Second * time.Duration(periodSeconds))
	var replicas int32
	for _, rec := range scaleEvents {
		if rec.timestamp.After(cutoff) {
			replicas += rec.replicaChange
		}
	}
	return replicas
}

// calculateScaleUpLimitWithScalingRules: per policy, periodStart = current −
// added + removed within its period; Pods ⇒ periodStart + value, Percent ⇒
// ceil(periodStart × (1 + value/100)); Max ⇒ the largest, Min ⇒ the
// smallest, Disabled ⇒ current.
func calculateScaleUpLimitWithScalingRules(currentReplicas int32, scaleUpEvents, scaleDownEvents []timestampedScaleEvent, scalingRules *autoscalingv2.HPAScalingRules, now time.Time) int32 {
	var result int32
	var proposed int32
	var selectPolicyFn func(int32, int32) int32
	switch *scalingRules.SelectPolicy {
	case autoscalingv2.DisabledPolicySelect:
		return currentReplicas
	case autoscalingv2.MinChangePolicySelect:
		result = math.MaxInt32
		selectPolicyFn = func(a, b int32) int32 { return min(a, b) }
	default:
		result = math.MinInt32
		selectPolicyFn = func(a, b int32) int32 { return max(a, b) }
	}
	for _, policy := range scalingRules.Policies {
		replicasAddedInCurrentPeriod := getReplicasChangePerPeriod(policy.PeriodSeconds, scaleUpEvents, now)
		replicasDeletedInCurrentPeriod := getReplicasChangePerPeriod(policy.PeriodSeconds, scaleDownEvents, now)
		periodStartReplicas := currentReplicas - replicasAddedInCurrentPeriod + replicasDeletedInCurrentPeriod
		if policy.Type == autoscalingv2.PodsScalingPolicy {
			proposed = periodStartReplicas + policy.Value
		} else if policy.Type == autoscalingv2.PercentScalingPolicy {
			// Rounded up so a small percentage still allows one more pod.
			proposed = int32(math.Ceil(float64(periodStartReplicas) * (1 + float64(policy.Value)/100)))
		}
		result = selectPolicyFn(result, proposed)
	}
	return result
}

// calculateScaleDownLimitWithBehaviors: Pods ⇒ periodStart − value,
// Percent ⇒ trunc(periodStart × (1 − value/100)); Max ⇒ the smallest
// (largest change), Min ⇒ the largest, Disabled ⇒ current.
func calculateScaleDownLimitWithBehaviors(currentReplicas int32, scaleUpEvents, scaleDownEvents []timestampedScaleEvent, scalingRules *autoscalingv2.HPAScalingRules, now time.Time) int32 {
	var result int32
	var proposed int32
	var selectPolicyFn func(int32, int32) int32
	switch *scalingRules.SelectPolicy {
	case autoscalingv2.DisabledPolicySelect:
		return currentReplicas
	case autoscalingv2.MinChangePolicySelect:
		result = math.MinInt32
		selectPolicyFn = func(a, b int32) int32 { return max(a, b) }
	default:
		result = math.MaxInt32
		selectPolicyFn = func(a, b int32) int32 { return min(a, b) }
	}
	for _, policy := range scalingRules.Policies {
		replicasAddedInCurrentPeriod := getReplicasChangePerPeriod(policy.PeriodSeconds, scaleUpEvents, now)
		replicasDeletedInCurrentPeriod := getReplicasChangePerPeriod(policy.PeriodSeconds, scaleDownEvents, now)
		periodStartReplicas := currentReplicas - replicasAddedInCurrentPeriod + replicasDeletedInCurrentPeriod
		if policy.Type == autoscalingv2.PodsScalingPolicy {
			proposed = periodStartReplicas - policy.Value
		} else if policy.Type == autoscalingv2.PercentScalingPolicy {
			proposed = int32(float64(periodStartReplicas) * (1 - float64(policy.Value)/100))
		}
		result = selectPolicyFn(result, proposed)
	}
	return result
}

// storeScaleEvent records a successful rescale for the rate policies
// (only when behavior is set), reusing the slot of an event older than the
// longest policy period.
func (a *Autoscaler) storeScaleEvent(behavior *autoscalingv2.HorizontalPodAutoscalerBehavior, key string, prevReplicas, newReplicas int32, now time.Time) {
	if behavior == nil {
		return
	}
	events := a.scaleDownEvents
	rules := behavior.ScaleDown
	replicaChange := prevReplicas - newReplicas
	if newReplicas > prevReplicas {
		events, rules, replicaChange = a.scaleUpEvents, behavior.ScaleUp, newReplicas-prevReplicas
	}
	markScaleEventsOutdated(events[key], getLongestPolicyPeriod(rules), now)
	foundOldSample := false
	oldSampleIndex := 0
	for i, event := range events[key] {
		if event.outdated {
			foundOldSample = true
			oldSampleIndex = i
		}
	}
	newEvent := timestampedScaleEvent{replicaChange, now, false}
	if foundOldSample {
		events[key][oldSampleIndex] = newEvent
	} else {
		events[key] = append(events[key], newEvent)
	}
}

func markScaleEventsOutdated(scaleEvents []timestampedScaleEvent, longestPolicyPeriod int32, now time.Time) {
	cutoff := now.Add(-time.Second * time.Duration(longestPolicyPeriod))
	for i, event := range scaleEvents {
		if event.timestamp.Before(cutoff) {
			scaleEvents[i].outdated = true
		}
	}
}

func getLongestPolicyPeriod(scalingRules *autoscalingv2.HPAScalingRules) int32 {
	var longest int32
	if scalingRules == nil {
		return 0
	}
	for _, policy := range scalingRules.Policies {
		longest = max(longest, policy.PeriodSeconds)
	}
	return longest
}
