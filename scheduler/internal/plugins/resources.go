package plugins

import (
	"math"

	v1 "k8s.io/api/core/v1"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// ---- NodeResourcesFit (plugins/noderesources/fit.go, least_allocated.go) ----

// ErrReasonTooManyPods is NodeResourcesFit's reason when the pods count is exhausted.
const ErrReasonTooManyPods = "Too many pods"

type nodeResourcesFit struct {
	// statuses caches the statuses of the fixed reason combinations
	// (pods, cpu, memory, ephemeral-storage × resolvable or not).
	statuses [32]*fw.Status
}

func (*nodeResourcesFit) ID() ID { return NodeResourcesFit }

func (*nodeResourcesFit) PreFilter(*CycleState, *fw.PodInfo) (map[string]struct{}, *fw.Status) {
	return nil, nil
}

// InsufficientResource describes one resource that does not fit.
type InsufficientResource struct {
	Name         v1.ResourceName
	Reason       string
	Requested    int64
	Used         int64
	Capacity     int64
	Unresolvable bool
}

const (
	fitPods = 1 << iota
	fitCPU
	fitMemory
	fitEphemeral
	fitUnresolvable
)

// Fits lists the resources of req that do not fit on n, in upstream's order
// (pods, cpu, memory, ephemeral-storage, then scalar resources by name).
func Fits(req *fw.Resource, n *fw.NodeInfo) []InsufficientResource {
	mask, scalars := fitMask(req, n)
	if mask == 0 && len(scalars) == 0 {
		return nil
	}
	var out []InsufficientResource
	a, r := &n.Allocatable, &n.Requested
	if mask&fitPods != 0 {
		out = append(out, InsufficientResource{v1.ResourcePods, ErrReasonTooManyPods, 1, int64(len(n.Pods)), int64(a.AllowedPodNumber), false})
	}
	if mask&fitCPU != 0 {
		out = append(out, InsufficientResource{v1.ResourceCPU, "Insufficient cpu", req.MilliCPU, r.MilliCPU, a.MilliCPU, req.MilliCPU > a.MilliCPU})
	}
	if mask&fitMemory != 0 {
		out = append(out, InsufficientResource{v1.ResourceMemory, "Insufficient memory", req.Memory, r.Memory, a.Memory, req.Memory > a.Memory})
	}
	if mask&fitEphemeral != 0 {
		out = append(out, InsufficientResource{v1.ResourceEphemeralStorage, "Insufficient ephemeral-storage", req.EphemeralStorage, r.EphemeralStorage, a.EphemeralStorage, req.EphemeralStorage > a.EphemeralStorage})
	}
	return append(out, scalars...)
}

// fitMask is the allocation-free core of Fits: a bit per failing fixed
// resource, plus the failing scalar resources (rare) spelled out.
func fitMask(req *fw.Resource, n *fw.NodeInfo) (mask int, scalars []InsufficientResource) {
	a, r := &n.Allocatable, &n.Requested
	if len(n.Pods)+1 > a.AllowedPodNumber {
		mask |= fitPods
	}
	if req.MilliCPU == 0 && req.Memory == 0 && req.EphemeralStorage == 0 && len(req.Scalar) == 0 {
		return mask, nil
	}
	if req.MilliCPU > 0 && req.MilliCPU > a.MilliCPU-r.MilliCPU {
		mask |= fitCPU
		if req.MilliCPU > a.MilliCPU {
			mask |= fitUnresolvable
		}
	}
	if req.Memory > 0 && req.Memory > a.Memory-r.Memory {
		mask |= fitMemory
		if req.Memory > a.Memory {
			mask |= fitUnresolvable
		}
	}
	if req.EphemeralStorage > 0 && req.EphemeralStorage > a.EphemeralStorage-r.EphemeralStorage {
		mask |= fitEphemeral
		if req.EphemeralStorage > a.EphemeralStorage {
			mask |= fitUnresolvable
		}
	}
	if len(req.Scalar) > 0 {
		for _, name := range req.ScalarNames() {
			q := req.Scalar[name]
			if q == 0 {
				continue
			}
			alloc := a.Scalar[name]
			if q > alloc-r.Scalar[name] {
				scalars = append(scalars, InsufficientResource{name, "Insufficient " + string(name), q, r.Scalar[name], alloc, q > alloc})
			}
		}
	}
	return mask, scalars
}

func (p *nodeResourcesFit) Filter(_ *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	mask, scalars := fitMask(&pod.Requests, n)
	if mask == 0 && len(scalars) == 0 {
		return nil
	}
	if len(scalars) == 0 {
		if st := p.statuses[mask]; st != nil {
			return st
		}
	}
	ins := Fits(&pod.Requests, n)
	reasons := make([]string, len(ins))
	code := fw.Unschedulable
	for i, r := range ins {
		reasons[i] = r.Reason
		if r.Unresolvable {
			code = fw.UnschedulableAndUnresolvable
		}
	}
	st := fw.NewStatus(code, NodeResourcesFit.String(), reasons...)
	if len(scalars) == 0 {
		p.statuses[mask] = st
	}
	return st
}

// FitsEmptyNode reports whether pod fits node with nothing else on it.
func FitsEmptyNode(pod *fw.PodInfo, node *v1.Node) bool {
	n := fw.NewNodeInfo(node.Name)
	n.SetNode(node)
	m, s := fitMask(&pod.Requests, n)
	return m == 0 && len(s) == 0
}

func (*nodeResourcesFit) Hint(pod *fw.PodInfo, ev *fw.ClusterEvent) bool {
	switch ev.Kind {
	case fw.AssignedPodDelete:
		return true
	case fw.PodSelfUpdate:
		// isSchedulableAfterPodEvent: the pod itself scaled down.
		return ev.PodChange&fw.PodScaledDown != 0
	case fw.NodeAdd:
		return FitsEmptyNode(pod, ev.NewNode)
	case fw.NodeUpdate:
		if ev.NodeChange&fw.NodeAllocatableChanged == 0 || !FitsEmptyNode(pod, ev.NewNode) {
			return false
		}
		o, c := fw.NewResource(ev.OldNode.Status.Allocatable), fw.NewResource(ev.NewNode.Status.Allocatable)
		req := &pod.Requests
		if c.AllowedPodNumber > o.AllowedPodNumber {
			return true
		}
		if (req.MilliCPU > 0 && c.MilliCPU > o.MilliCPU) || (req.Memory > 0 && c.Memory > o.Memory) ||
			(req.EphemeralStorage > 0 && c.EphemeralStorage > o.EphemeralStorage) {
			return true
		}
		for name, q := range req.Scalar {
			if q > 0 && c.Scalar[name] > o.Scalar[name] {
				return true
			}
		}
	}
	return false
}

func (*nodeResourcesFit) PreScore(*CycleState, *fw.PodInfo, []*fw.NodeInfo) *fw.Status { return nil }

// Score is LeastAllocated over cpu and memory, weight 1 each, on the
// non-zero requests (100m / 200MiB for containers without requests).
func (*nodeResourcesFit) Score(_ *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) int64 {
	return LeastAllocatedScore(
		[2]int64{n.NonZeroRequested.MilliCPU + pod.NonZeroMilliCPU, n.NonZeroRequested.Memory + pod.NonZeroMemory},
		[2]int64{n.Allocatable.MilliCPU, n.Allocatable.Memory})
}

// LeastAllocatedScore is leastResourceScorer for cpu and memory with weight 1:
// the integer average of ((allocatable-requested)*100)/allocatable, skipping
// resources the node does not have.
func LeastAllocatedScore(requested, allocatable [2]int64) int64 {
	var score, weights int64
	for i := range requested {
		if allocatable[i] == 0 {
			continue
		}
		score += leastRequestedScore(requested[i], allocatable[i])
		weights++
	}
	if weights == 0 {
		return 0
	}
	return score / weights
}

func leastRequestedScore(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return ((capacity - requested) * fw.MaxNodeScore) / capacity
}

// ---- NodeResourcesBalancedAllocation (noderesources/balanced_allocation.go) ----

type balancedAllocation struct{}

func (balancedAllocation) ID() ID { return NodeResourcesBalancedAllocation }

// PreScore skips best-effort pods (no cpu or memory request at all), so they
// do not all pile onto the most balanced node (kubernetes#129138).
func (balancedAllocation) PreScore(_ *CycleState, pod *fw.PodInfo, _ []*fw.NodeInfo) *fw.Status {
	if pod.Requests.MilliCPU == 0 && pod.Requests.Memory == 0 {
		return statusSkip
	}
	return nil
}

// Score is (1 - std(fractions)) * 100 over cpu and memory, with the
// fractions (requested incl. the pod / allocatable) capped at 1.
func (balancedAllocation) Score(_ *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) int64 {
	return BalancedAllocationScore(
		[2]int64{n.Requested.MilliCPU + pod.Requests.MilliCPU, n.Requested.Memory + pod.Requests.Memory},
		[2]int64{n.Allocatable.MilliCPU, n.Allocatable.Memory})
}

// BalancedAllocationScore is balancedResourceScorer for cpu and memory.
func BalancedAllocationScore(requested, allocatable [2]int64) int64 {
	var fractions [2]float64
	k := 0
	for i := range requested {
		if allocatable[i] == 0 {
			continue
		}
		f := float64(requested[i]) / float64(allocatable[i])
		if f > 1 {
			f = 1
		}
		fractions[k] = f
		k++
	}
	std := 0.0
	if k == 2 {
		std = math.Abs((fractions[0] - fractions[1]) / 2)
	}
	return int64((1 - std) * float64(fw.MaxNodeScore))
}

// ---- ImageLocality (plugins/imagelocality) ----

const (
	mb                    int64 = 1024 * 1024
	imageMinThreshold     int64 = 23 * mb
	imageMaxContainerSize int64 = 1000 * mb
)

type imageLocality struct{ snap Snapshot }

func (*imageLocality) ID() ID { return ImageLocality }

func (*imageLocality) PreScore(*CycleState, *fw.PodInfo, []*fw.NodeInfo) *fw.Status { return nil }

// Uniform reports the common case where no node has any of the pod's
// images: every node gets the score of an empty sum.
func (p *imageLocality) Uniform(_ *CycleState, pod *fw.PodInfo) (int64, bool) {
	for _, img := range pod.Images {
		if p.snap.ImageNumNodes(img) > 0 {
			return 0, false
		}
	}
	return ImageLocalityPriority(0, len(pod.Images)), true
}

// Score sums, over the pod's images present on the node, the image size
// scaled by the fraction of nodes that have it, and maps the sum from
// [23MiB, 1000MiB × containers] onto [0, 100].
func (p *imageLocality) Score(cs *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) int64 {
	var sum int64
	if len(n.Images) > 0 {
		for _, img := range pod.Images {
			if size, ok := n.Images[img]; ok {
				spread := float64(p.snap.ImageNumNodes(img)) / float64(cs.totalNodes)
				sum += int64(float64(size) * spread)
			}
		}
	}
	return ImageLocalityPriority(sum, len(pod.Images))
}

// ImageLocalityPriority is upstream's calculatePriority.
func ImageLocalityPriority(sum int64, numContainers int) int64 {
	maxThreshold := imageMaxContainerSize * int64(numContainers)
	if sum < imageMinThreshold {
		sum = imageMinThreshold
	} else if sum > maxThreshold {
		sum = maxThreshold
	}
	return fw.MaxNodeScore * (sum - imageMinThreshold) / (maxThreshold - imageMinThreshold)
}
