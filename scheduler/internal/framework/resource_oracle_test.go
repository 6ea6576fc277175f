package framework

import (
	"testing"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// resourceOraclePods are pods combining init containers, sidecars
// (restartable init containers), overhead, pod-level resources, extended
// resources, hugepages, ephemeral-storage and missing requests.
func resourceOraclePods() map[string]*v1.Pod {
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
	sidecar := func(name string, req v1.ResourceList) v1.Container {
		s := c(name, req)
		s.RestartPolicy = &always
		return s
	}
	pod := func(init []v1.Container, ctrs ...v1.Container) *v1.Pod {
		p := &v1.Pod{}
		p.Name, p.Namespace, p.UID = "p", "default", "uid-p"
		p.Spec.InitContainers, p.Spec.Containers = init, ctrs
		return p
	}
	withOverhead := func(p *v1.Pod, o v1.ResourceList) *v1.Pod { p.Spec.Overhead = o; return p }
	withPodLevel := func(p *v1.Pod, req, lim v1.ResourceList) *v1.Pod {
		p.Spec.Resources = &v1.ResourceRequirements{Requests: req, Limits: lim}
		return p
	}
	return map[string]*v1.Pod{
		"best effort":           pod(nil, c("a", nil), c("b", nil)),
		"sum of containers":     pod(nil, c("a", rl("cpu", "250m", "memory", "64Mi")), c("b", rl("cpu", "1"))),
		"explicit zero request": pod(nil, c("a", rl("cpu", "0", "memory", "0")), c("b", nil)),
		"init larger than sum": pod([]v1.Container{c("i1", rl("cpu", "2", "memory", "1G")), c("i2", rl("cpu", "2", "memory", "3G"))},
			c("a", rl("cpu", "2", "memory", "1G")), c("b", rl("cpu", "1", "memory", "1G"))),
		"init without requests": pod([]v1.Container{c("i", nil)}, c("a", rl("cpu", "50m"))),
		"sidecar counts for later init and regular phase": pod([]v1.Container{
			c("i1", rl("cpu", "1")), sidecar("s1", rl("cpu", "500m", "memory", "100Mi")),
			c("i2", rl("cpu", "800m", "memory", "50Mi")), sidecar("s2", nil)},
			c("a", rl("cpu", "200m"))),
		"sidecar only": pod([]v1.Container{sidecar("s", nil)}, c("a", nil)),
		"overhead": withOverhead(pod([]v1.Container{c("i", rl("cpu", "3"))}, c("a", rl("cpu", "1"))),
			rl("cpu", "250m", "memory", "120Mi")),
		"overhead best effort": withOverhead(pod(nil, c("a", nil)), rl("cpu", "100m")),
		"extended hugepages ephemeral": pod([]v1.Container{c("i", rl("example.com/gpu", "2", "hugepages-2Mi", "4Mi"))},
			c("a", rl("cpu", "1", "example.com/gpu", "1", "hugepages-2Mi", "2Mi", "ephemeral-storage", "1Gi")),
			c("b", rl("example.com/gpu", "0"))),
		"pod-level cpu and memory": withPodLevel(pod([]v1.Container{sidecar("s", rl("cpu", "100m"))},
			c("a", rl("cpu", "200m")), c("b", nil)),
			rl("cpu", "2", "memory", "1Gi"), nil),
		"pod-level cpu only, a container requests memory": withPodLevel(pod(nil,
			c("a", rl("memory", "100Mi")), c("b", nil)), rl("cpu", "1"), nil),
		"pod-level cpu only, no memory anywhere": withPodLevel(pod(nil, c("a", nil), c("b", nil)), rl("cpu", "1"), nil),
		"pod-level memory only, a container requests cpu": withPodLevel(pod([]v1.Container{c("i", nil)},
			c("a", rl("cpu", "300m")), c("b", nil)), rl("memory", "1Gi"), nil),
		"pod-level hugepages, containers without": withPodLevel(pod(nil, c("a", rl("cpu", "100m")), c("b", nil)),
			rl("hugepages-2Mi", "8Mi"), nil),
		"pod-level limits only": withPodLevel(pod(nil, c("a", nil)), nil, rl("cpu", "1")),
		"pod-level with overhead": withOverhead(withPodLevel(pod(nil, c("a", rl("memory", "10Mi")), c("b", nil)),
			rl("cpu", "1"), nil), rl("cpu", "100m", "memory", "20Mi")),
	}
}

// upstreamNonMissing is upstream getNonMissingContainerRequests
// (pkg/scheduler/framework/types.go): with pod-level requests set, the
// defaults fill only a resource the pod's requests lack altogether.
func upstreamNonMissing(requests v1.ResourceList, podLevelResourcesSet bool) v1.ResourceList {
	cpu := *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI)
	mem := *resource.NewQuantity(DefaultMemoryRequest, resource.DecimalSI)
	if !podLevelResourcesSet {
		return v1.ResourceList{v1.ResourceCPU: cpu, v1.ResourceMemory: mem}
	}
	out := v1.ResourceList{}
	if _, ok := requests[v1.ResourceCPU]; !ok {
		out[v1.ResourceCPU] = cpu
	}
	if _, ok := requests[v1.ResourceMemory]; !ok {
		out[v1.ResourceMemory] = mem
	}
	return out
}

// TestPodRequestsMatchUpstream compares the scheduler's request math with
// upstream's, computed here with component-helpers as the oracle:
//   - PodInfo.Requests: computePodResourceRequest (noderesources/fit.go),
//     SetMaxResource(PodRequests(pod, {})) with PodLevelResources on;
//   - PodInfo.NonZero*: the incoming pod's LeastAllocated request
//     (resource_allocation.go calculatePodResourceRequest, the 100m/200MiB
//     defaults for every container without a request);
//   - NodeInfo.Requested / NonZeroRequested after AddPod: PodInfo
//     CalculateResource (framework/types.go), whose defaults with pod-level
//     requests follow getNonMissingContainerRequests.
func TestPodRequestsMatchUpstream(t *testing.T) {
	for name, pod := range resourceOraclePods() {
		t.Run(name, func(t *testing.T) {
			var want Resource
			want.SetMax(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
			incoming := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{NonMissingContainerRequests: v1.ResourceList{
				v1.ResourceCPU:    *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI),
				v1.ResourceMemory: *resource.NewQuantity(DefaultMemoryRequest, resource.DecimalSI),
			}})
			reqs := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
			nonMissing := upstreamNonMissing(reqs, resourcehelper.IsPodLevelRequestsSet(pod))
			assigned := reqs
			if len(nonMissing) > 0 {
				assigned = resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{NonMissingContainerRequests: nonMissing})
			}
			var wantNode Resource
			wantNode.Add(reqs)

			pi := NewPodInfo(pod, 0)
			assert.Equal(t, want, pi.Requests, "computePodResourceRequest")
			assert.Equal(t, incoming.Cpu().MilliValue(), pi.NonZeroMilliCPU, "incoming pod's non-zero cpu")
			assert.Equal(t, incoming.Memory().Value(), pi.NonZeroMemory, "incoming pod's non-zero memory")

			n := NewNodeInfo("n")
			n.AddPod(pi)
			assert.Equal(t, wantNode, n.Requested, "NodeInfo.Requested")
			assert.Equal(t, assigned.Cpu().MilliValue(), n.NonZeroRequested.MilliCPU, "NodeInfo non-zero cpu")
			assert.Equal(t, assigned.Memory().Value(), n.NonZeroRequested.Memory, "NodeInfo non-zero memory")
			n.RemovePod(pi)
			assert.Zero(t, n.NonZeroRequested.MilliCPU, "removed")
			assert.Zero(t, n.NonZeroRequested.Memory, "removed")
		})
	}
}
