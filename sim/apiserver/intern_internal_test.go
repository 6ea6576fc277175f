package apiserver

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubesim/kubesim/internal/alias"
)

// Pods stamped from one template share their containers' requests, which
// also lets their containers be shared without reflection walking the
// maps; different or differently represented quantities are not shared.
func TestInternResourceLists(t *testing.T) {
	in := newInterner()
	mk := func(cpu string) *v1.Pod {
		return &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "nginx",
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
				v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse("128Mi")}}}}}}
	}
	a, b, c := mk("100m"), mk("100m"), mk("200m")
	in.pod(a)
	in.pod(b)
	in.pod(c)
	assert.True(t, sameMap(a.Spec.Containers[0].Resources.Requests, b.Spec.Containers[0].Resources.Requests))
	assert.True(t, alias.Same(a.Spec.Containers, b.Spec.Containers), "equal containers shared")
	assert.False(t, sameMap(a.Spec.Containers[0].Resources.Requests, c.Spec.Containers[0].Resources.Requests))
	want := resource.MustParse("200m")
	got := c.Spec.Containers[0].Resources.Requests[v1.ResourceCPU]
	assert.Equal(t, 0, got.Cmp(want))

	// 0.1 and 100m print alike once canonical but are held differently
	// in memory (1×10⁻¹ against 100×10⁻³): not taken for one another.
	d := mk("0.1")
	in.pod(d)
	q := d.Spec.Containers[0].Resources.Requests[v1.ResourceCPU]
	assert.Equal(t, "100m", q.String())
	assert.False(t, sameMap(a.Spec.Containers[0].Resources.Requests, d.Spec.Containers[0].Resources.Requests))
	assert.Equal(t, v1.ResourceList(nil), in.resourceList(nil))

	// The lists themselves, before any container is compared.
	list := func(cpu string) v1.ResourceList {
		rl := v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}
		cacheQuantityStrings(rl)
		return rl
	}
	first := in.resourceList(list("300m"))
	assert.True(t, sameMap(first, in.resourceList(list("300m"))), "an equal list is the first one")
	assert.False(t, sameMap(first, in.resourceList(list("0.3"))), "the same value held differently is not")
	assert.False(t, sameMap(first, in.resourceList(list("400m"))))
}

// sameMap reports whether a and b are one map.
func sameMap(a, b v1.ResourceList) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
