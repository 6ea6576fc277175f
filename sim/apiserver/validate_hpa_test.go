package apiserver_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validHPA() *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    10,
		},
	}
}

// TestValidateHPABehaviorAndTargets: upstream's
// pkg/apis/autoscaling/validation (validateScalingRules,
// validateScalingPolicy, validateMetricTarget, validateResourceSource,
// validateContainerResourceSource): field paths and messages.
func TestValidateHPABehaviorAndTargets(t *testing.T) {
	e := newEnv(t)
	pol := func(typ autoscalingv2.HPAScalingPolicyType, v, period int32) autoscalingv2.HPAScalingPolicy {
		return autoscalingv2.HPAScalingPolicy{Type: typ, Value: v, PeriodSeconds: period}
	}
	sel := func(s string) *autoscalingv2.ScalingPolicySelect {
		p := autoscalingv2.ScalingPolicySelect(s)
		return &p
	}
	window := func(w int32) *int32 { return &w }
	target := func(typ autoscalingv2.MetricTargetType, util *int32, avg *resource.Quantity) autoscalingv2.MetricTarget {
		return autoscalingv2.MetricTarget{Type: typ, AverageUtilization: util, AverageValue: avg}
	}
	fifty := int32(50)
	q := resource.MustParse("100m")
	tests := []struct {
		name   string
		mutate func(h *autoscalingv2.HorizontalPodAutoscaler)
		want   []string
	}{
		{"negative window", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: window(-1)}}
		}, []string{"spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: -1: must be greater than or equal to zero"}},
		{"window above an hour", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: window(3601)}}
		}, []string{"spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600"}},
		{"unknown selectPolicy", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: sel("Fastest")}}
		}, []string{`spec.behavior.scaleUp.selectPolicy: Unsupported value: "Fastest": supported values: "Disabled", "Max", "Min"`}},
		{"empty policies", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}}}
		}, []string{"spec.behavior.scaleDown.policies: Required value: must specify at least one Policy"}},
		{"policy period and value", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{
				pol(autoscalingv2.PodsScalingPolicy, 0, 0), pol(autoscalingv2.PercentScalingPolicy, 10, 1801)}}}
		}, []string{
			"spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero",
			"spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 0: must be greater than zero",
			"spec.behavior.scaleUp.policies[1].periodSeconds: Invalid value: 1801: must be less than or equal to 1800",
		}},
		{"Utilization type with an averageValue is accepted (the value is used)", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: v1.ResourceCPU, Target: target(autoscalingv2.UtilizationMetricType, nil, &q)}}}
		}, nil},
		{"resource target without utilization or value", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			v := resource.MustParse("1")
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: v1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: &v}}}}
		}, []string{"spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or a target utilization"}},
		{"resource target with both", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: v1.ResourceCPU, Target: target(autoscalingv2.UtilizationMetricType, &fifty, &q)}}}
		}, []string{"spec.metrics[0].resource.target.averageValue: Forbidden: may not set both a target raw value and a target utilization"}},
		{"unknown target type", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: v1.ResourceCPU, Target: target("Percent", &fifty, nil)}}}
		}, []string{`spec.metrics[0].resource.target.type: Invalid value: "Percent": must be either Utilization, Value, or AverageValue`}},
		{"containerResource without a source", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType}}
		}, []string{"spec.metrics[0].containerResource: Required value: must populate information for the given metric source"}},
		{"containerResource without a container", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
				Name: v1.ResourceCPU, Target: target(autoscalingv2.UtilizationMetricType, &fifty, nil)}}}
		}, []string{"spec.metrics[0].containerResource.container: Required value: must specify a container"}},
		{"containerResource of a resource containers do not request", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			src := func(name v1.ResourceName) autoscalingv2.MetricSpec {
				return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
					Name: name, Container: "app", Target: target(autoscalingv2.UtilizationMetricType, &fifty, nil)}}
			}
			h.Spec.Metrics = []autoscalingv2.MetricSpec{src("gpu"), src("pods"), src("example.com/foo"), src("kubernetes.io/foo"), src("hugepages-2Mi"), src("memory"), src("bad name")}
		}, []string{
			`spec.metrics[0].containerResource.name: Invalid value: "gpu": must be a standard resource type or fully qualified`,
			`spec.metrics[0].containerResource.name: Invalid value: "gpu": must be a standard resource for containers`,
			`spec.metrics[1].containerResource.name: Invalid value: "pods": must be a standard resource for containers`,
			`spec.metrics[6].containerResource.name: Invalid value: "bad name": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			`spec.metrics[6].containerResource.name: Invalid value: "bad name": must be a standard resource for containers`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := validHPA()
			tc.mutate(h)
			var got []string
			for _, fe := range e.s.Validate(h) {
				got = append(got, fe.Error())
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
