package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// hpaTargets is kubectl get hpa's TARGETS column (formatHPAMetrics in
// pkg/printers/internalversion/printers.go).
func TestHPATargetsAsKubectlPrintsThem(t *testing.T) {
	util := func(name v1.ResourceName, pct int32) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: name, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(pct)}}}
	}
	avg := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: v1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("200Mi"))}}}
	cont := autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: v1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(60))}}}
	cur := func(pct int32) autoscalingv2.MetricStatus {
		return autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: v1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To(pct)}}}
	}
	curAvg := autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
		Name: v1.ResourceMemory, Current: autoscalingv2.MetricValueStatus{AverageValue: ptr.To(resource.MustParse("150Mi"))}}}
	for _, c := range []struct {
		specs    []autoscalingv2.MetricSpec
		statuses []autoscalingv2.MetricStatus
		want     string
	}{
		{nil, nil, "<none>"},
		{[]autoscalingv2.MetricSpec{util(v1.ResourceCPU, 50)}, nil, "cpu: <unknown>/50%"},
		{[]autoscalingv2.MetricSpec{util(v1.ResourceCPU, 50)}, []autoscalingv2.MetricStatus{cur(49)}, "cpu: 49%/50%"},
		{[]autoscalingv2.MetricSpec{util(v1.ResourceCPU, 50), avg}, []autoscalingv2.MetricStatus{cur(70), curAvg}, "cpu: 70%/50%, memory: 150Mi/200Mi"},
		{[]autoscalingv2.MetricSpec{util(v1.ResourceCPU, 50), avg, cont}, nil, "cpu: <unknown>/50%, memory: <unknown>/200Mi + 1 more..."},
		{[]autoscalingv2.MetricSpec{cont}, nil, "cpu: <unknown>/60%"},
		{[]autoscalingv2.MetricSpec{
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("100"))}}},
			{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("30"))}}},
		}, nil, "<unknown>/100, <unknown>/30 (avg)"},
	} {
		assert.Equal(t, c.want, hpaTargets(c.specs, c.statuses))
	}
}
