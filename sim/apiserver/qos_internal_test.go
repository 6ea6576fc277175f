package apiserver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The QoS classes of upstream's qos.GetPodQOS: the cases of its
// documentation (Configure Quality of Service for Pods), and init
// containers, which count like the others.
func TestPodQOSClass(t *testing.T) {
	rl := func(cpu, mem string) v1.ResourceList {
		out := v1.ResourceList{}
		if cpu != "" {
			out[v1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			out[v1.ResourceMemory] = resource.MustParse(mem)
		}
		return out
	}
	ctr := func(req, lim v1.ResourceList) v1.Container {
		return v1.Container{Name: "c", Resources: v1.ResourceRequirements{Requests: req, Limits: lim}}
	}
	pod := func(init []v1.Container, cs ...v1.Container) *v1.Pod {
		return &v1.Pod{Spec: v1.PodSpec{InitContainers: init, Containers: cs}}
	}
	for _, tc := range []struct {
		name string
		pod  *v1.Pod
		want v1.PodQOSClass
	}{
		{"no requests or limits", pod(nil, ctr(nil, nil)), v1.PodQOSBestEffort},
		{"only other resources", pod(nil, ctr(v1.ResourceList{v1.ResourceEphemeralStorage: resource.MustParse("1Gi")}, nil)), v1.PodQOSBestEffort},
		{"zero requests", pod(nil, ctr(rl("0", "0"), nil)), v1.PodQOSBestEffort},
		{"limits equal requests", pod(nil, ctr(rl("500m", "128Mi"), rl("500m", "128Mi"))), v1.PodQOSGuaranteed},
		{"requests below limits", pod(nil, ctr(rl("250m", "128Mi"), rl("500m", "128Mi"))), v1.PodQOSBurstable},
		{"memory limit only", pod(nil, ctr(nil, rl("", "128Mi"))), v1.PodQOSBurstable},
		{"requests only", pod(nil, ctr(rl("100m", ""), nil)), v1.PodQOSBurstable},
		{"one of two containers guaranteed", pod(nil, ctr(rl("1", "1Gi"), rl("1", "1Gi")), ctr(nil, nil)), v1.PodQOSBurstable},
		{"an init container without limits", pod([]v1.Container{ctr(rl("1", ""), nil)}, ctr(rl("1", "1Gi"), rl("1", "1Gi"))), v1.PodQOSBurstable},
		{"init and regular containers guaranteed", pod([]v1.Container{ctr(rl("2", "1Gi"), rl("2", "1Gi"))}, ctr(rl("1", "1Gi"), rl("1", "1Gi"))), v1.PodQOSGuaranteed},
		{"a requests-only init container", pod([]v1.Container{ctr(rl("1", "1Gi"), nil)}, ctr(nil, nil)), v1.PodQOSBurstable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, podQOSClass(tc.pod))
		})
	}
}
