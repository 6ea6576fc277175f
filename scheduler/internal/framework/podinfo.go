package framework

import (
	"errors"
	"net"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/kubesim/kubesim/internal/alias"
)

// PodInfo is a pod parsed once for the scheduler: its requests, host ports,
// affinity terms and images. The wrapped Pod is shared with the informer
// cache and is never modified.
type PodInfo struct {
	// Pod is the API object this info was built from.
	Pod *v1.Pod
	// UID, Namespace and Name identify the pod; Key is "namespace/name".
	UID       types.UID
	Namespace string
	Name      string
	Key       string
	// Priority is the pod's effective priority (spec.priority, or the
	// scheduler's PriorityClass fallback when admission did not set it).
	Priority int32
	// Requests is what NodeResourcesFit checks: max(sum of app containers and
	// restartable init containers, each init container) plus overhead.
	Requests Resource
	// NonZeroMilliCPU and NonZeroMemory are the requests LeastAllocated
	// scores the pod with when it is being scheduled, with 100m / 200MiB
	// assumed for containers that request nothing (what it adds to a node
	// can differ: NodeNonZero).
	NonZeroMilliCPU int64
	NonZeroMemory   int64
	// HostPorts are the container ports with a hostPort, sanitised (empty IP
	// means 0.0.0.0, empty protocol means TCP).
	HostPorts []HostPort
	// Images are the normalised image names of all init and app containers.
	Images []string
	// *PodAffinity holds the pod's affinity terms, parsed; its fields read
	// as the PodInfo's own. Never nil: a pod without pod (anti-)affinity
	// shares noPodAffinity (most pods, so they do not each carry five
	// empty fields).
	*PodAffinity
}

// PodAffinity is a pod's pod affinity and anti-affinity terms, parsed.
// ParseError is set when a selector failed to parse; such a pod is
// rejected by InterPodAffinity's PreFilter. Read-only once built.
type PodAffinity struct {
	RequiredAffinityTerms      []AffinityTerm
	RequiredAntiAffinityTerms  []AffinityTerm
	PreferredAffinityTerms     []WeightedAffinityTerm
	PreferredAntiAffinityTerms []WeightedAffinityTerm
	ParseError                 error
}

// noPodAffinity is the PodAffinity of every pod without pod affinity or
// anti-affinity.
var noPodAffinity = &PodAffinity{}

// HostPort is one requested host port.
type HostPort struct {
	IP       string
	Protocol v1.Protocol
	Port     int32
}

// AffinityTerm is a parsed v1.PodAffinityTerm.
type AffinityTerm struct {
	// Namespaces is the set of namespaces the term selects by name.
	Namespaces map[string]struct{}
	// Selector selects pods by label; labels.Nothing() for a nil selector.
	Selector labels.Selector
	// TopologyKey is the node label that defines the topology domain.
	TopologyKey string
	// NamespaceSelector selects namespaces by label; labels.Nothing() when nil.
	NamespaceSelector labels.Selector
}

// Matches reports whether pod (living in a namespace with labels nsLabels)
// is selected by the term.
func (at *AffinityTerm) Matches(pod *v1.Pod, nsLabels labels.Set) bool {
	if _, ok := at.Namespaces[pod.Namespace]; ok || at.NamespaceSelector.Matches(nsLabels) {
		return at.Selector.Matches(labels.Set(pod.Labels))
	}
	return false
}

// WeightedAffinityTerm is a parsed v1.WeightedPodAffinityTerm.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// HasAffinity reports whether the pod has any pod affinity or anti-affinity
// term, required or preferred (upstream's PodsWithAffinity membership).
func (pi *PodInfo) HasAffinity() bool {
	a := pi.Pod.Spec.Affinity
	return a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil)
}

// HasRequiredAntiAffinity reports whether the pod has required anti-affinity.
func (pi *PodInfo) HasRequiredAntiAffinity() bool {
	return len(pi.RequiredAntiAffinityTerms) > 0
}

// Terminating reports whether the pod has a deletion timestamp.
func (pi *PodInfo) Terminating() bool { return pi.Pod.DeletionTimestamp != nil }

var nonMissingRequests = v1.ResourceList{
	v1.ResourceCPU:    *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI),
	v1.ResourceMemory: *resource.NewQuantity(DefaultMemoryRequest, resource.DecimalSI),
}

// NewPodInfo parses pod. priority is the pod's effective priority.
func NewPodInfo(pod *v1.Pod, priority int32) *PodInfo {
	pi := &PodInfo{
		Pod:       pod,
		UID:       pod.UID,
		Namespace: pod.Namespace,
		Name:      pod.Name,
		Key:       pod.Namespace + "/" + pod.Name,
		Priority:  priority,
	}
	pi.computeRequests()
	pi.HostPorts = hostPorts(pod)
	pi.Images = podImages(pod)
	pi.parseAffinity()
	return pi
}

// WithPod returns a PodInfo for a newer version of the same pod, reusing the
// parsed parts when the spec fields they come from are unchanged (the common
// case when a pod is bound or its status changes).
func (pi *PodInfo) WithPod(pod *v1.Pod, priority int32) *PodInfo {
	if pi == nil || pi.UID != pod.UID || !sameSpecParts(pi.Pod, pod) || pi.Priority != priority {
		return NewPodInfo(pod, priority)
	}
	c := *pi
	c.Pod = pod
	return &c
}

// sameSpecParts reports whether the parts of the spec a PodInfo is derived
// from are identical (shared backing arrays and pointers), labels included.
func sameSpecParts(a, b *v1.Pod) bool {
	sa, sb := &a.Spec, &b.Spec
	return alias.Same(sa.Containers, sb.Containers) && alias.Same(sa.InitContainers, sb.InitContainers) &&
		sa.Affinity == sb.Affinity && sa.Overhead == nil && sb.Overhead == nil && sa.Resources == sb.Resources &&
		a.Namespace == b.Namespace
}

func (pi *PodInfo) computeRequests() {
	pod := pi.Pod
	if len(pod.Spec.InitContainers) == 0 && pod.Spec.Overhead == nil && pod.Spec.Resources == nil {
		// Fast path (no init containers, overhead or pod-level resources):
		// the sum over containers, as resource.PodRequests computes it.
		pi.Requests = Resource{}
		pi.NonZeroMilliCPU, pi.NonZeroMemory = 0, 0
		for i := range pod.Spec.Containers {
			req := pod.Spec.Containers[i].Resources.Requests
			if len(req) > 0 {
				pi.Requests.Add(req)
			}
			if q, ok := req[v1.ResourceCPU]; ok {
				pi.NonZeroMilliCPU += q.MilliValue()
			} else {
				pi.NonZeroMilliCPU += DefaultMilliCPURequest
			}
			if q, ok := req[v1.ResourceMemory]; ok {
				pi.NonZeroMemory += q.Value()
			} else {
				pi.NonZeroMemory += DefaultMemoryRequest
			}
		}
		pi.Requests.AllowedPodNumber = 0
		return
	}
	reqs := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	pi.Requests = Resource{}
	pi.Requests.SetMax(reqs)
	nz := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{NonMissingContainerRequests: nonMissingRequests})
	if q, ok := nz[v1.ResourceCPU]; ok {
		pi.NonZeroMilliCPU = q.MilliValue()
	}
	if q, ok := nz[v1.ResourceMemory]; ok {
		pi.NonZeroMemory = q.Value()
	}
}

// NodeNonZero returns the non-zero CPU and memory requests the pod adds to
// its node's NonZeroRequested (upstream PodInfo.CalculateResource). They
// are NonZeroMilliCPU and NonZeroMemory, except for a pod with pod-level
// requests: there the 100m / 200MiB defaults fill in only a resource that
// neither the pod nor any container requests (getNonMissingContainerRequests),
// where the incoming pod's score request defaults every container without
// one. Pods with pod-level requests are rare, so this is recomputed on
// demand rather than carried by every PodInfo.
func (pi *PodInfo) NodeNonZero() (milliCPU, memory int64) {
	pod := pi.Pod
	if pod.Spec.Resources == nil || !resourcehelper.IsPodLevelRequestsSet(pod) {
		return pi.NonZeroMilliCPU, pi.NonZeroMemory
	}
	reqs := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	var nonMissing v1.ResourceList
	for _, name := range [2]v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
		if _, ok := reqs[name]; !ok {
			if nonMissing == nil {
				nonMissing = v1.ResourceList{}
			}
			nonMissing[name] = nonMissingRequests[name]
		}
	}
	if nonMissing != nil {
		reqs = resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{NonMissingContainerRequests: nonMissing})
	}
	return reqs.Cpu().MilliValue(), reqs.Memory().Value()
}

// DefaultBindAllHostIP is the wildcard host IP a hostPort binds when no IP is given.
const DefaultBindAllHostIP = "0.0.0.0"

func hostPorts(pod *v1.Pod) []HostPort {
	var out []HostPort
	add := func(cs []v1.Container, sidecarsOnly bool) {
		for i := range cs {
			c := &cs[i]
			if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != v1.ContainerRestartPolicyAlways) {
				continue
			}
			for _, p := range c.Ports {
				if p.HostPort <= 0 {
					continue
				}
				out = append(out, SanitizeHostPort(p.HostIP, p.Protocol, p.HostPort))
			}
		}
	}
	add(pod.Spec.InitContainers, true)
	add(pod.Spec.Containers, false)
	return out
}

// SanitizeHostPort applies upstream's defaults: an unparsable or empty IP is
// 0.0.0.0 and an empty protocol is TCP.
func SanitizeHostPort(ip string, proto v1.Protocol, port int32) HostPort {
	if net.ParseIP(ip) == nil {
		ip = DefaultBindAllHostIP
	}
	if proto == "" {
		proto = v1.ProtocolTCP
	}
	return HostPort{IP: ip, Protocol: proto, Port: port}
}

// NormalizedImageName appends ":latest" to an image name without a tag, as
// upstream ImageLocality does.
func NormalizedImageName(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") {
		name = name + ":latest"
	}
	return name
}

func podImages(pod *v1.Pod) []string {
	n := len(pod.Spec.InitContainers) + len(pod.Spec.Containers)
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := range pod.Spec.InitContainers {
		out = append(out, NormalizedImageName(pod.Spec.InitContainers[i].Image))
	}
	for i := range pod.Spec.Containers {
		out = append(out, NormalizedImageName(pod.Spec.Containers[i].Image))
	}
	return out
}

func (pi *PodInfo) parseAffinity() {
	pi.PodAffinity = noPodAffinity
	a := pi.Pod.Spec.Affinity
	if a == nil || (a.PodAffinity == nil && a.PodAntiAffinity == nil) {
		return
	}
	p := &PodAffinity{}
	var errs []error
	if a.PodAffinity != nil {
		var err error
		p.RequiredAffinityTerms, err = affinityTerms(pi.Pod, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		errs = append(errs, err)
		p.PreferredAffinityTerms, err = weightedTerms(pi.Pod, a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
		errs = append(errs, err)
	}
	if a.PodAntiAffinity != nil {
		var err error
		p.RequiredAntiAffinityTerms, err = affinityTerms(pi.Pod, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		errs = append(errs, err)
		p.PreferredAntiAffinityTerms, err = weightedTerms(pi.Pod, a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
		errs = append(errs, err)
	}
	p.ParseError = errors.Join(errs...)
	pi.PodAffinity = p
}

// NewAffinityTerm parses one pod affinity term of pod.
func NewAffinityTerm(pod *v1.Pod, t *v1.PodAffinityTerm) (AffinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
	if err != nil {
		return AffinityTerm{}, err
	}
	nsSel, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
	if err != nil {
		return AffinityTerm{}, err
	}
	ns := map[string]struct{}{}
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		ns[pod.Namespace] = struct{}{}
	} else {
		for _, n := range t.Namespaces {
			ns[n] = struct{}{}
		}
	}
	return AffinityTerm{Namespaces: ns, Selector: sel, TopologyKey: t.TopologyKey, NamespaceSelector: nsSel}, nil
}

func affinityTerms(pod *v1.Pod, ts []v1.PodAffinityTerm) ([]AffinityTerm, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	out := make([]AffinityTerm, 0, len(ts))
	for i := range ts {
		t, err := NewAffinityTerm(pod, &ts[i])
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func weightedTerms(pod *v1.Pod, ts []v1.WeightedPodAffinityTerm) ([]WeightedAffinityTerm, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	out := make([]WeightedAffinityTerm, 0, len(ts))
	for i := range ts {
		t, err := NewAffinityTerm(pod, &ts[i].PodAffinityTerm)
		if err != nil {
			return nil, err
		}
		out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: ts[i].Weight})
	}
	return out, nil
}
