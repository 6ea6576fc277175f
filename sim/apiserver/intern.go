package apiserver

import (
	"encoding/binary"
	"maps"
	"reflect"
	"slices"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/internal/alias"
)

// interner lets the pods the server stores share their identical read-only
// parts: pods stamped from one template (a ReplicaSet's, a benchmark's)
// carry equal containers, tolerations, labels, owner references and
// defaulted pointers, pods started in the same second equal conditions,
// and every stored object is immutable and shared
// anyway (clients get copies; informers and the server must not modify
// what they are handed). Sharing those parts keeps a big cluster's pods
// from holding thousands of copies of the same maps and slices.
//
// A part is shared only with an earlier part whose protobuf encoding is
// the same and which is identical in memory too (reflect.DeepEqual: same
// nil-ness, same quantity representations), so no reader can tell.
// Interning runs on an object the server owns, after admission and
// validation, just before it is stored. Each table is bounded: a full one
// is emptied and refills with the parts in use.
type interner struct {
	containers  map[string][]v1.Container
	resources   map[string]v1.ResourceList
	tolerations map[string][]v1.Toleration
	labels      map[string]map[string]string
	owners      map[string][]metav1.OwnerReference
	conditions  map[string][]v1.PodCondition
	int64s      map[int64]*int64
	int32s      map[int32]*int32
	bools       [2]*bool
	preemption  map[v1.PreemptionPolicy]*v1.PreemptionPolicy
	emptyPodSC  *v1.PodSecurityContext
	buf         []byte
	// lastTolerations is the tolerations slice interned last.
	lastTolerations []v1.Toleration
}

// internLimit bounds each table.
const internLimit = 4096

func newInterner() *interner {
	return &interner{
		containers: map[string][]v1.Container{}, resources: map[string]v1.ResourceList{}, tolerations: map[string][]v1.Toleration{},
		labels: map[string]map[string]string{}, owners: map[string][]metav1.OwnerReference{}, conditions: map[string][]v1.PodCondition{},
		int64s: map[int64]*int64{}, int32s: map[int32]*int32{}, preemption: map[v1.PreemptionPolicy]*v1.PreemptionPolicy{},
		emptyPodSC: &v1.PodSecurityContext{},
	}
}

type sizedMarshaler interface {
	Size() int
	MarshalToSizedBuffer([]byte) (int, error)
}

// appendProto appends m's length-prefixed protobuf encoding to b.
func appendProto(b []byte, m sizedMarshaler) []byte {
	n := m.Size()
	b = binary.AppendUvarint(b, uint64(n))
	start := len(b)
	b = slices.Grow(b, n)[:start+n]
	if _, err := m.MarshalToSizedBuffer(b[start:]); err != nil {
		panic("apiserver: intern: " + err.Error())
	}
	return b
}

// share returns the table's part equal to v (adding v when there is
// none), keyed by key; same tells whether two parts are identical in
// memory.
func share[T any](table map[string]T, key []byte, v T, same func(a, b T) bool) T {
	if old, ok := table[string(key)]; ok {
		if same(old, v) {
			return old
		}
		return v
	}
	if len(table) >= internLimit {
		clear(table)
	}
	table[string(key)] = v
	return v
}

// shareSlice is share for a slice of protobuf messages, keyed by their
// encodings.
func shareSlice[E any, P interface {
	*E
	sizedMarshaler
}](in *interner, table map[string][]E, s []E, same func(a, b []E) bool) []E {
	if len(s) == 0 {
		return s
	}
	b := in.buf[:0]
	for i := range s {
		b = appendProto(b, P(&s[i]))
	}
	in.buf = b
	return share(table, b, s, same)
}

func deepEqual[T any](a, b T) bool { return reflect.DeepEqual(a, b) }

func (in *interner) containerSlice(cs []v1.Container) []v1.Container {
	return shareSlice(in, in.containers, cs, deepEqual)
}

func (in *interner) tolerationSlice(ts []v1.Toleration) []v1.Toleration {
	return shareSlice(in, in.tolerations, ts, deepEqual)
}

func (in *interner) labelMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := in.buf[:0]
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(m[k])))
		b = append(b, m[k]...)
	}
	in.buf = b
	return share(in.labels, b, m, deepEqual)
}

func (in *interner) ownerSlice(rs []metav1.OwnerReference) []metav1.OwnerReference {
	return shareSlice(in, in.owners, rs, deepEqual)
}

// resourceList shares a container's requests or limits with an earlier
// container's equal ones (the same names, each quantity the same value in
// memory, its canonical string cached). Sharing the maps also spares the
// comparison of the containers: reflection stops at two maps that are one.
func (in *interner) resourceList(rl v1.ResourceList) v1.ResourceList {
	if len(rl) == 0 {
		return rl
	}
	var buf [8]v1.ResourceName
	b := in.buf[:0]
	for _, name := range sortedResourceNames(rl, buf[:0]) {
		q := rl[name]
		b = append(append(b, name...), 0)
		b = append(append(b, q.String()...), 0)
	}
	in.buf = b
	// maps.Equal compares the quantities as values: each identical in
	// memory.
	return share(in.resources, b, rl, maps.Equal[v1.ResourceList])
}

// conditionSlice shares pod conditions: pods that went through the same
// transitions in the same second (a burst of starts) carry equal ones. The
// conditions are compared as values (same times, same location pointers),
// cheaper than reflection and just as exact.
func (in *interner) conditionSlice(cs []v1.PodCondition) []v1.PodCondition {
	return shareSlice(in, in.conditions, cs, slices.Equal)
}

func internPtr[K comparable](table map[K]*K, p *K) *K {
	if p == nil {
		return nil
	}
	if old, ok := table[*p]; ok {
		return old
	}
	if len(table) >= internLimit {
		clear(table)
	}
	table[*p] = p
	return p
}

// internValue is internPtr for a value: the table's pointer to v, a new
// one only when the table has none.
func internValue[K comparable](table map[K]*K, v K) *K {
	if old, ok := table[v]; ok {
		return old
	}
	return internPtr(table, &v)
}

func (in *interner) boolPtr(p *bool) *bool {
	if p == nil {
		return nil
	}
	i := 0
	if *p {
		i = 1
	}
	if in.bools[i] == nil {
		in.bools[i] = p
	}
	return in.bools[i]
}

// podStatus shares the parts of a pod's status that many pods have equal;
// st is the server's, about to be stored.
func (in *interner) podStatus(st *v1.PodStatus) {
	st.Conditions = in.conditionSlice(st.Conditions)
}

// pod shares p's template-like parts; p is the server's, about to be
// stored.
func (in *interner) pod(p *v1.Pod) {
	p.Labels = in.labelMap(p.Labels)
	p.OwnerReferences = in.ownerSlice(p.OwnerReferences)
	s := &p.Spec
	for _, cs := range [2][]v1.Container{s.InitContainers, s.Containers} {
		for i := range cs {
			r := &cs[i].Resources
			cacheQuantityStrings(r.Requests)
			cacheQuantityStrings(r.Limits)
			r.Requests, r.Limits = in.resourceList(r.Requests), in.resourceList(r.Limits)
		}
	}
	cacheQuantityStrings(s.Overhead)
	s.InitContainers = in.containerSlice(s.InitContainers)
	s.Containers = in.containerSlice(s.Containers)
	// Pods given the server's default tolerations carry the slice interned
	// last: nothing to compare.
	if !alias.Same(s.Tolerations, in.lastTolerations) {
		s.Tolerations = in.tolerationSlice(s.Tolerations)
		in.lastTolerations = s.Tolerations
	}
	s.TerminationGracePeriodSeconds = internPtr(in.int64s, s.TerminationGracePeriodSeconds)
	s.ActiveDeadlineSeconds = internPtr(in.int64s, s.ActiveDeadlineSeconds)
	s.Priority = internPtr(in.int32s, s.Priority)
	s.PreemptionPolicy = internPtr(in.preemption, s.PreemptionPolicy)
	s.EnableServiceLinks = in.boolPtr(s.EnableServiceLinks)
	if s.SecurityContext != nil && reflect.DeepEqual(*s.SecurityContext, v1.PodSecurityContext{}) {
		s.SecurityContext = in.emptyPodSC
	}
	in.podStatus(&p.Status)
}

// cacheQuantityStrings makes each quantity in rl (a map the server owns)
// carry its canonical string, which a Quantity computes and caches on
// first use. Its protobuf encoding asks for that string twice (size, then
// bytes), and a quantity read out of a map is a copy that caches nothing:
// without this every encoding of the pod (create, bind, each status
// write) would format every quantity again. The value is unchanged — the
// cache is what any quantity holds once printed, the encoding and
// Quantity.Cmp are the same — and the pods that share the containers
// (interning compares them as they are in memory) all carry it.
func cacheQuantityStrings(rl v1.ResourceList) {
	for name, q := range rl {
		_ = q.String()
		rl[name] = q
	}
}
