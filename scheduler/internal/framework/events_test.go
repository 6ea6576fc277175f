package framework

import (
	"testing"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Upstream NodeSchedulingPropertiesChange (framework/events.go): a change of
// spec.unschedulable is an UpdateNodeTaint event only when the node becomes
// schedulable (extractNodeSpecUnschedulableChange); a cordon is none.
func TestDiffNodesUnschedulable(t *testing.T) {
	schedulable, cordoned := &v1.Node{}, &v1.Node{Spec: v1.NodeSpec{Unschedulable: true}}
	assert.Zero(t, DiffNodes(schedulable, cordoned), "cordon")
	assert.Equal(t, NodeTaintsChanged, DiffNodes(cordoned, schedulable), "uncordon")
	tainted := &v1.Node{Spec: v1.NodeSpec{Unschedulable: true, Taints: []v1.Taint{{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule}}}}
	assert.Equal(t, NodeTaintsChanged, DiffNodes(schedulable, tainted), "a taint changed as well")
}

func TestDiffPods(t *testing.T) {
	mk := func(labels map[string]string, cpu string, tolerations int) *PodInfo {
		p := &v1.Pod{}
		p.Labels = labels
		p.Spec.Containers = []v1.Container{{Name: "c"}}
		if cpu != "" {
			p.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}
		}
		for range tolerations {
			p.Spec.Tolerations = append(p.Spec.Tolerations, v1.Toleration{Operator: v1.TolerationOpExists})
		}
		return NewPodInfo(p, 0)
	}
	base := mk(map[string]string{"a": "1"}, "500m", 0)
	assert.Zero(t, DiffPods(base, mk(map[string]string{"a": "1"}, "500m", 0)))
	assert.Equal(t, PodLabelsChanged, DiffPods(base, mk(map[string]string{"a": "2"}, "500m", 0)))
	assert.Equal(t, PodScaledDown, DiffPods(base, mk(map[string]string{"a": "1"}, "250m", 0)))
	assert.Equal(t, PodScaledDown, DiffPods(base, mk(map[string]string{"a": "1"}, "", 0)), "a request removed")
	assert.Zero(t, DiffPods(base, mk(map[string]string{"a": "1"}, "1", 0)), "a scale-up is no event")
	assert.Equal(t, PodTolerationsChanged, DiffPods(base, mk(map[string]string{"a": "1"}, "500m", 1)))
}
