package framework

import (
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Default requests the scorers assume for a container that requests nothing
// (upstream pkg/scheduler/util/pod_resources.go).
const (
	// DefaultMilliCPURequest is 100m CPU.
	DefaultMilliCPURequest int64 = 100
	// DefaultMemoryRequest is 200 MiB.
	DefaultMemoryRequest int64 = 200 * 1024 * 1024
)

// Resource is a resource vector in the scheduler's integer units: millicores
// for CPU, bytes for memory and ephemeral storage, plain counts for pods and
// scalar (extended, hugepages, attachable-volume) resources.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// AllowedPodNumber is only meaningful for allocatable vectors.
	AllowedPodNumber int
	// Scalar holds the scalar resources; nil when there are none.
	Scalar map[v1.ResourceName]int64
}

// NewResource converts a ResourceList with Add semantics.
func NewResource(rl v1.ResourceList) Resource {
	var r Resource
	r.Add(rl)
	return r
}

// Add adds every quantity of rl to r.
func (r *Resource) Add(rl v1.ResourceList) {
	for name, q := range rl {
		switch name {
		case v1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case v1.ResourceMemory:
			r.Memory += q.Value()
		case v1.ResourcePods:
			r.AllowedPodNumber += int(q.Value())
		case v1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		default:
			if IsScalarResourceName(name) {
				r.addScalar(name, q.Value())
			}
		}
	}
}

// SetMax raises each resource of r to the quantity in rl where rl is larger.
func (r *Resource) SetMax(rl v1.ResourceList) {
	for name, q := range rl {
		switch name {
		case v1.ResourceCPU:
			r.MilliCPU = max(r.MilliCPU, q.MilliValue())
		case v1.ResourceMemory:
			r.Memory = max(r.Memory, q.Value())
		case v1.ResourceEphemeralStorage:
			r.EphemeralStorage = max(r.EphemeralStorage, q.Value())
		default:
			if IsScalarResourceName(name) {
				if r.Scalar == nil {
					r.Scalar = map[v1.ResourceName]int64{}
				}
				r.Scalar[name] = max(r.Scalar[name], q.Value())
			}
		}
	}
}

func (r *Resource) addScalar(name v1.ResourceName, v int64) {
	if r.Scalar == nil {
		r.Scalar = map[v1.ResourceName]int64{}
	}
	r.Scalar[name] += v
}

// AddResource adds o to r (pods count included).
func (r *Resource) AddResource(o *Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for n, v := range o.Scalar {
		r.addScalar(n, v)
	}
}

// SubResource subtracts o from r (pods count included).
func (r *Resource) SubResource(o *Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for n, v := range o.Scalar {
		r.Scalar[n] -= v
		if r.Scalar[n] == 0 {
			delete(r.Scalar, n)
		}
	}
}

// Clone returns a deep copy.
func (r Resource) Clone() Resource {
	c := r
	if r.Scalar != nil {
		c.Scalar = make(map[v1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			c.Scalar[k] = v
		}
	}
	return c
}

// ScalarNames returns the scalar resource names in sorted order, so callers
// never let map order reach a result.
func (r *Resource) ScalarNames() []v1.ResourceName {
	if len(r.Scalar) == 0 {
		return nil
	}
	names := make([]v1.ResourceName, 0, len(r.Scalar))
	for n := range r.Scalar {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	return names
}

// ResourceList renders r back as a ResourceList (for messages and tests).
func (r *Resource) ResourceList() v1.ResourceList {
	rl := v1.ResourceList{
		v1.ResourceCPU:              *resource.NewMilliQuantity(r.MilliCPU, resource.DecimalSI),
		v1.ResourceMemory:           *resource.NewQuantity(r.Memory, resource.BinarySI),
		v1.ResourceEphemeralStorage: *resource.NewQuantity(r.EphemeralStorage, resource.BinarySI),
	}
	if r.AllowedPodNumber != 0 {
		rl[v1.ResourcePods] = *resource.NewQuantity(int64(r.AllowedPodNumber), resource.DecimalSI)
	}
	for n, v := range r.Scalar {
		rl[n] = *resource.NewQuantity(v, resource.DecimalSI)
	}
	return rl
}

// IsScalarResourceName reports whether name is an extended, hugepages,
// prefixed-native or attachable-volume resource (upstream
// pkg/scheduler/util.IsScalarResourceName).
func IsScalarResourceName(name v1.ResourceName) bool {
	return IsExtendedResourceName(name) || strings.HasPrefix(string(name), v1.ResourceHugePagesPrefix) ||
		isPrefixedNativeResource(name) || strings.HasPrefix(string(name), v1.ResourceAttachableVolumesPrefix)
}

// IsExtendedResourceName reports whether name is a fully-qualified resource
// name outside the kubernetes.io/ domain (upstream v1helper).
func IsExtendedResourceName(name v1.ResourceName) bool {
	if isNativeResource(name) || strings.HasPrefix(string(name), v1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(v1.DefaultResourceRequestsPrefix+string(name))) == 0
}

func isNativeResource(name v1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || isPrefixedNativeResource(name)
}

func isPrefixedNativeResource(name v1.ResourceName) bool {
	return strings.Contains(string(name), v1.ResourceDefaultNamespacePrefix)
}

// scaledDownFrom reports whether any request of old is larger in r (a
// request that disappeared counts as zero), as upstream's
// extractPodScaleDown compares the pod's requests before and after.
func (r *Resource) scaledDownFrom(old *Resource) bool {
	if old.MilliCPU > r.MilliCPU || old.Memory > r.Memory || old.EphemeralStorage > r.EphemeralStorage {
		return true
	}
	for name, q := range old.Scalar {
		if q > r.Scalar[name] {
			return true
		}
	}
	return false
}
