package metrics

import (
	"fmt"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/sim"
)

// Resolution is the scrape period and averaging window (15 s).
const Resolution = 15 * time.Second

// The load-model annotations, read from each pod (set them on the pod template).
const (
	// CPUPerRequestAnnotation is the CPU used per 1 request/s (e.g. "10m").
	CPUPerRequestAnnotation = "kubesim.dev/cpu-per-request"
	// IdleCPUAnnotation is the CPU used with no load (default 0).
	IdleCPUAnnotation = "kubesim.dev/idle-cpu"
	// MemoryPerRequestAnnotation is the memory used per 1 request/s (e.g. "1Mi").
	MemoryPerRequestAnnotation = "kubesim.dev/memory-per-request"
	// IdleMemoryAnnotation is the memory used with no load (default 0).
	IdleMemoryAnnotation = "kubesim.dev/idle-memory"
)

// LoadSource gives the requests per second a pod serves right now.
type LoadSource interface {
	RPS(pod *v1.Pod) float64
}

// ContainerMetric is one container's usage in a sample.
type ContainerMetric struct {
	Name string
	// CPUMilli is the average CPU in millicores over the window.
	CPUMilli int64
	// MemoryBytes is the average memory in bytes over the window.
	MemoryBytes int64
}

// PodMetric is one pod's sample, like a metrics.k8s.io PodMetrics item.
type PodMetric struct {
	// Timestamp is the scrape time (the end of the window).
	Timestamp time.Time
	// Window is the averaging interval (Resolution).
	Window time.Duration
	// Containers holds the per-container usage, in spec order.
	Containers []ContainerMetric
}

// CPUMilli is the pod's total CPU in millicores.
func (p PodMetric) CPUMilli() int64 {
	var s int64
	for _, c := range p.Containers {
		s += c.CPUMilli
	}
	return s
}

// MemoryBytes is the pod's total memory in bytes.
func (p PodMetric) MemoryBytes() int64 {
	var s int64
	for _, c := range p.Containers {
		s += c.MemoryBytes
	}
	return s
}

// loadRule is a SetPodLoad setting: pods in namespace matching selector serve rps each.
type loadRule struct {
	namespace string
	selector  labels.Selector
	key       string
	rps       float64
}

// podAcc integrates one pod's rate since the start of the current window.
type podAcc struct {
	start      time.Time // when integration began (first seen Running, or window start)
	last       time.Time // end of the last integrated segment
	rpsSeconds float64   // ∫ rps dt since start
	seen       uint64    // the last advance that found the pod running
}

// Server is the metrics-server model. Create it with New.
type Server struct {
	eng    *sim.Engine
	pods   func() []*v1.Pod
	source LoadSource
	rules  []loadRule // in SetPodLoad order; the last matching rule wins
	acc    map[types.UID]*podAcc
	passes uint64 // advances so far
	// samples holds the latest scrape, by "namespace/name".
	samples map[string]PodMetric
	// errs records each bad annotation once, in the order found.
	errs     []error
	reported map[string]bool
	ticker   *sim.Ticker
}

// New starts a metrics server on eng. pods lists the cluster's pods (the
// informer cache or the store); source may be nil (only SetPodLoad then).
func New(eng *sim.Engine, pods func() []*v1.Pod, source LoadSource) *Server {
	s := &Server{eng: eng, pods: pods, source: source, acc: map[types.UID]*podAcc{}, samples: map[string]PodMetric{}, reported: map[string]bool{}}
	s.ticker = eng.Every(Resolution, "metrics-server scrape", s.scrape)
	return s
}

// Stop stops scraping.
func (s *Server) Stop() { s.ticker.Stop() }

// SetLoadSource replaces the load source (nil: only SetPodLoad rules),
// closing the current integration segment first so the old source's rates
// count up to now.
func (s *Server) SetLoadSource(src LoadSource) {
	s.LoadChanged()
	s.source = src
}

// SetPodLoad makes every pod in namespace matching selector serve rpsPerPod
// requests per second from now on (replacing an earlier setting with the
// same namespace and selector). It wins over the LoadSource.
func (s *Server) SetPodLoad(namespace string, selector labels.Selector, rpsPerPod float64) {
	s.LoadChanged()
	key := namespace + "/" + selector.String()
	for i := range s.rules {
		if s.rules[i].key == key {
			s.rules[i].rps = rpsPerPod
			return
		}
	}
	s.rules = append(s.rules, loadRule{namespace: namespace, selector: selector, key: key, rps: rpsPerPod})
}

// LoadChanged closes the current integration segment at now; the traffic
// model calls it just before the rates it reports change.
func (s *Server) LoadChanged() { s.advance(s.eng.Now()) }

// Errors returns the annotation errors found so far (each reported once).
func (s *Server) Errors() []error { return append([]error(nil), s.errs...) }

// rps is the load of pod at this instant.
func (s *Server) rps(pod *v1.Pod) float64 {
	for i := len(s.rules) - 1; i >= 0; i-- {
		r := s.rules[i]
		if r.namespace == pod.Namespace && r.selector.Matches(labels.Set(pod.Labels)) {
			return r.rps
		}
	}
	if s.source != nil {
		return s.source.RPS(pod)
	}
	return 0
}

// advance integrates every running pod's rate up to t and starts tracking
// newly running pods; pods no longer running are forgotten.
func (s *Server) advance(t time.Time) {
	s.passes++
	for _, pod := range s.pods() {
		if !isRunning(pod) {
			continue
		}
		a, ok := s.acc[pod.UID]
		if !ok {
			s.acc[pod.UID] = &podAcc{start: t, last: t, seen: s.passes}
			continue
		}
		a.seen = s.passes
		a.rpsSeconds += s.rps(pod) * t.Sub(a.last).Seconds()
		a.last = t
	}
	for uid, a := range s.acc {
		if a.seen != s.passes {
			delete(s.acc, uid)
		}
	}
}

func isRunning(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodRunning && pod.DeletionTimestamp == nil && pod.Spec.NodeName != ""
}

// scrape publishes a sample for every pod running for the whole window and
// starts the next window.
func (s *Server) scrape() {
	now := s.eng.Now()
	s.advance(now)
	windowStart := now.Add(-Resolution)
	samples := map[string]PodMetric{}
	for _, pod := range s.pods() {
		a, ok := s.acc[pod.UID]
		if !ok {
			continue
		}
		if !a.start.After(windowStart) {
			avgRPS := a.rpsSeconds / Resolution.Seconds()
			samples[pod.Namespace+"/"+pod.Name] = PodMetric{Timestamp: now, Window: Resolution, Containers: s.usage(pod, avgRPS)}
		}
		a.start, a.last, a.rpsSeconds = now, now, 0
	}
	s.samples = samples
}

// usage computes the per-container usage of pod at avgRPS.
func (s *Server) usage(pod *v1.Pod, avgRPS float64) []ContainerMetric {
	idleCPU := s.quantity(pod, IdleCPUAnnotation)
	cpuPer := s.quantity(pod, CPUPerRequestAnnotation)
	idleMem := s.quantity(pod, IdleMemoryAnnotation)
	memPer := s.quantity(pod, MemoryPerRequestAnnotation)
	cpuMilli := float64(idleCPU.MilliValue()) + avgRPS*float64(cpuPer.MilliValue())
	memBytes := float64(idleMem.Value()) + avgRPS*float64(memPer.Value())
	cpuShares := split(pod, v1.ResourceCPU, cpuMilli)
	memShares := split(pod, v1.ResourceMemory, memBytes)
	out := make([]ContainerMetric, len(pod.Spec.Containers))
	for i, c := range pod.Spec.Containers {
		out[i] = ContainerMetric{Name: c.Name, CPUMilli: cpuShares[i], MemoryBytes: memShares[i]}
	}
	return out
}

// split divides total across the containers in proportion to their
// requests of res (evenly if none has one), rounding down and giving the
// remainder to the first containers so the parts sum to round-down(total).
func split(pod *v1.Pod, res v1.ResourceName, total float64) []int64 {
	n := len(pod.Spec.Containers)
	out := make([]int64, n)
	if n == 0 {
		return out
	}
	weights := make([]int64, n)
	var sum int64
	for i, c := range pod.Spec.Containers {
		if q, ok := c.Resources.Requests[res]; ok {
			weights[i] = q.MilliValue()
			sum += weights[i]
		}
	}
	if sum == 0 {
		for i := range weights {
			weights[i] = 1
		}
		sum = int64(n)
	}
	whole := int64(total)
	var given int64
	for i := range out {
		out[i] = int64(float64(whole) * float64(weights[i]) / float64(sum))
		given += out[i]
	}
	for i := 0; given < whole; i = (i + 1) % n {
		out[i]++
		given++
	}
	return out
}

// quantity parses an annotation; a bad value counts as 0 and is recorded once.
func (s *Server) quantity(pod *v1.Pod, key string) resource.Quantity {
	v, ok := pod.Annotations[key]
	if !ok {
		return resource.Quantity{}
	}
	q, err := resource.ParseQuantity(v)
	if err == nil && q.Sign() < 0 {
		err = fmt.Errorf("must not be negative")
	}
	if err != nil {
		id := string(pod.UID) + "/" + key
		if !s.reported[id] {
			s.reported[id] = true
			s.errs = append(s.errs, fmt.Errorf("pod %s/%s: metadata.annotations[%s]: invalid quantity %q: %v", pod.Namespace, pod.Name, key, v, err))
		}
		return resource.Quantity{}
	}
	return q
}

// PodMetrics returns the latest samples of the pods in namespace matching
// selector, by pod name. Pods without a sample (not running for a full
// window yet) are absent.
func (s *Server) PodMetrics(namespace string, selector labels.Selector) map[string]PodMetric {
	out := map[string]PodMetric{}
	for _, pod := range s.pods() {
		if pod.Namespace != namespace || !selector.Matches(labels.Set(pod.Labels)) {
			continue
		}
		if m, ok := s.samples[namespace+"/"+pod.Name]; ok {
			out[pod.Name] = m
		}
	}
	return out
}

// SortedNames returns the keys of a PodMetrics result in order, for
// deterministic iteration.
func SortedNames(m map[string]PodMetric) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
