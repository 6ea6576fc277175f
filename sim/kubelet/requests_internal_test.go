package kubelet

import (
	"testing"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// podRequests is what admission charges a pod on its node: upstream's
// noderesources.Fits computes it with resource.PodRequests (PodLevelResources
// on), which serves as the oracle here for pods combining init containers,
// sidecars, overhead, pod-level resources and missing requests.
func TestPodRequestsMatchComponentHelpers(t *testing.T) {
	always := v1.ContainerRestartPolicyAlways
	rl := func(kv ...string) v1.ResourceList {
		out := v1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			out[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return out
	}
	c := func(name string, req v1.ResourceList) v1.Container {
		return v1.Container{Name: name, Resources: v1.ResourceRequirements{Requests: req}}
	}
	side := func(name string, req v1.ResourceList) v1.Container {
		s := c(name, req)
		s.RestartPolicy = &always
		return s
	}
	pods := map[string]v1.PodSpec{
		"best effort":       {Containers: []v1.Container{c("a", nil), c("b", nil)}},
		"sum of containers": {Containers: []v1.Container{c("a", rl("cpu", "250m", "memory", "64Mi", "example.com/gpu", "1")), c("b", rl("cpu", "1", "ephemeral-storage", "1Gi"))}},
		"init larger":       {InitContainers: []v1.Container{c("i", rl("cpu", "3", "hugepages-2Mi", "4Mi"))}, Containers: []v1.Container{c("a", rl("cpu", "1"))}},
		"sidecars": {InitContainers: []v1.Container{c("i1", rl("cpu", "1")), side("s1", rl("cpu", "500m", "memory", "100Mi")), c("i2", rl("cpu", "800m"))},
			Containers: []v1.Container{c("a", rl("cpu", "200m"))}},
		"overhead":  {Overhead: rl("cpu", "250m", "memory", "120Mi"), Containers: []v1.Container{c("a", nil)}},
		"pod-level": {Resources: &v1.ResourceRequirements{Requests: rl("cpu", "2")}, Containers: []v1.Container{c("a", rl("cpu", "100m", "memory", "1Gi")), c("b", nil)}},
	}
	for name, spec := range pods {
		pod := &v1.Pod{Spec: spec}
		want := sumOf(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
		want.pods = 1
		assert.Equal(t, want, podRequests(pod), name)
	}
}
