package record

import (
	"context"
	"fmt"
	"maps"
	"math/bits"
	"strconv"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
)

// Recorder writes Events for one component. Identical events (same object,
// type, reason and message) are folded into one Event whose count and
// lastTimestamp are updated, as client-go's event correlator does; like
// upstream's, the correlator remembers the last maxSeen (4096) distinct
// events only. The similar-event aggregation and spam filter of upstream
// are not modelled.
type Recorder struct {
	c      client.Interface
	eng    *sim.Engine
	source v1.EventSource
	// seen maps an event to the suffix of its Event's name (the name is
	// "<object>.<hex suffix>"; the object is part of the key); at most
	// maxSeen entries.
	seen  map[eventKey]int64
	order []eventKey // ring of the keys in seen, oldest at next
	next  int
	// few and used hold, per object named in the current instant (by a 64-bit
	// hash of its name, see name), the suffix its next Event name takes:
	// the names this recorder gave an object in one instant are
	// consecutive from the instant's first suffix.
	few    [smallUsed]usedCount // the instant's first objects
	nFew   int
	used   map[uint64]int64 // the others, in a burst (nil otherwise)
	usedAt int64
	// eventsRes is the API server's events resource.
	eventsRes *apiserver.Resource
	// scratch is the Event every create is built in.
	scratch *v1.Event
	// instance is the events' reportingInstance: the source's host (the
	// node of a node agent, empty for a controller), as upstream's
	// generateEvent (client-go tools/record/event.go) sets it.
	instance string
	// offset (under 1 µs) shifts this recorder's event names so that two
	// components naming events of one object in one instant rarely collide.
	offset int64
}

// smallUsed is the most objects named in one instant a recorder counts
// without a map (a node agent names a few at a time, the scheduler
// thousands in a burst).
const smallUsed = 8

// usedCount is the suffix the next Event name of an object (by the hash of
// its name) takes in the current instant.
type usedCount struct {
	h    uint64
	next int64
}

// maxSeen is the size of the correlator's cache (client-go's
// maxLruCacheEntries).
const maxSeen = 4096

// eventKey identifies an event for folding: a 128-bit hash of its
// namespace, involved object (kind, name, fieldPath, UID, apiVersion), type,
// reason and message
// (see correlationKey; the cache holds thousands of them, a collision is
// astronomically rare).
type eventKey [2]uint64

// keyOf is the FNV-1a 128-bit hash of the parts, each followed by a 0 byte;
// a recorder's event-name offset derives from it.
func keyOf(parts ...string) eventKey {
	// FNV-1a, 128 bits, as hash/fnv's New128a, over each part followed by
	// a 0 byte; written out so that hashing allocates nothing.
	h := eventKey{fnvOffset128High, fnvOffset128Low}
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h = fnv128aByte(h, p[i])
		}
		h = fnv128aByte(h, 0)
	}
	return h
}

// correlationKey identifies an event for folding: two independent 64-bit
// hashes (wyhash's mixing, fixed seeds, so runs are reproducible) of the
// parts, each part followed by its length. Eight bytes at a time: the
// recorder hashes every event it emits.
func correlationKey(parts ...string) eventKey {
	h := eventKey{0x243f6a8885a308d3, 0x13198a2e03707344}
	for _, p := range parts {
		for len(p) >= 8 {
			w := uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
				uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
			h = eventKey{wymix(h[0]^w, wyP0), wymix(h[1]^w, wyP1)}
			p = p[8:]
		}
		var w uint64
		for i := 0; i < len(p); i++ {
			w |= uint64(p[i]) << (8 * i)
		}
		w ^= uint64(len(p)+1) << 56 // the tail's length ends the part
		h = eventKey{wymix(h[0]^w, wyP2), wymix(h[1]^w, wyP3)}
	}
	return eventKey{wymix(h[0], wyP1^h[1]), wymix(h[1], wyP0^h[0])}
}

// wyhash's primes and mixing step.
const (
	wyP0 = 0xa0761d6478bd642f
	wyP1 = 0xe7037ed1a0b428db
	wyP2 = 0x8ebc6af09c88c6e3
	wyP3 = 0x589965cc75374cc3
)

func wymix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// The FNV-1a 128-bit offset basis and prime (2^88 + 2^8 + 0x3b).
const (
	fnvOffset128High = 0x6c62272e07bb0142
	fnvOffset128Low  = 0x62b821756295c58d
	fnvPrime128Low   = 0x13b
	fnvPrime128Shift = 24
)

// fnv128aByte folds one byte into h ({high, low} words).
func fnv128aByte(h eventKey, c byte) eventKey {
	h[1] ^= uint64(c)
	hi, lo := bits.Mul64(fnvPrime128Low, h[1])
	hi += h[1]<<fnvPrime128Shift + fnvPrime128Low*h[0]
	return eventKey{hi, lo}
}

var _ record.EventRecorder = (*Recorder)(nil)

// New returns a recorder for component (and, for node agents, host).
func New(c client.Interface, eng *sim.Engine, component, host string) *Recorder {
	res, ok := c.Server().Resource("events")
	if !ok {
		panic("record: the API server has no events resource")
	}
	k := keyOf(component, host)
	return &Recorder{c: c, eng: eng, source: v1.EventSource{Component: component, Host: host}, instance: host,
		seen: map[eventKey]int64{}, eventsRes: res, offset: int64(k[0] % 997)}
}

// Event records an event about object.
func (r *Recorder) Event(object runtime.Object, eventtype, reason, message string) {
	if ref, ok := r.ref(object); ok {
		r.emit(ref, nil, eventtype, reason, message)
	}
}

// Eventf records an event with a formatted message.
func (r *Recorder) Eventf(object runtime.Object, eventtype, reason, messageFmt string, args ...interface{}) {
	if ref, ok := r.ref(object); ok {
		r.emit(ref, nil, eventtype, reason, fmt.Sprintf(messageFmt, args...))
	}
}

// AnnotatedEventf records an event with annotations.
func (r *Recorder) AnnotatedEventf(object runtime.Object, annotations map[string]string, eventtype, reason, messageFmt string, args ...interface{}) {
	if ref, ok := r.ref(object); ok {
		r.emit(ref, annotations, eventtype, reason, fmt.Sprintf(messageFmt, args...))
	}
}

// EventFor is Event about the object ref refers to, handed over by value:
// a component recording Events about many objects (a kubelet, about each
// container it starts) builds no reference object for each.
func (r *Recorder) EventFor(ref v1.ObjectReference, eventtype, reason, message string) {
	r.emit(ref, nil, eventtype, reason, message)
}

func (r *Recorder) ref(object runtime.Object) (v1.ObjectReference, bool) {
	if ref, ok := object.(*v1.ObjectReference); ok {
		return *ref, true
	}
	m, ok := object.(metav1.Object)
	if !ok {
		return v1.ObjectReference{}, false
	}
	gvk, ok := r.c.Server().GVKFor(object)
	if !ok {
		return v1.ObjectReference{}, false
	}
	return v1.ObjectReference{Kind: gvk.Kind, APIVersion: gvk.GroupVersion().String(), Namespace: m.GetNamespace(),
		Name: m.GetName(), UID: m.GetUID(), ResourceVersion: m.GetResourceVersion()}, true
}

func (r *Recorder) emit(ref v1.ObjectReference, annotations map[string]string, eventtype, reason, message string) {
	ns := ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	now := metav1.NewTime(r.eng.Now())
	// Upstream's getEventKey (client-go tools/record/events_cache.go); the
	// source is the recorder's own.
	key := correlationKey(ns, ref.Kind, ref.Name, ref.FieldPath, string(ref.UID), ref.APIVersion, eventtype, reason, message)
	if suffix, ok := r.seen[key]; ok {
		events := r.c.CoreV1().Events(ns)
		name := eventName(nil, ref.Name, suffix)
		if ev, err := events.Get(context.TODO(), name, metav1.GetOptions{}); err == nil {
			ev.Count++
			ev.LastTimestamp = now
			if _, err := events.Update(context.TODO(), ev, metav1.UpdateOptions{}); err == nil {
				return
			}
		}
		delete(r.seen, key)
	}
	name, suffix := r.name(ref.Name, now)
	// The API server keeps nothing of an event it was handed (events have
	// no watch cache; see apiserver.Server.CreateOwned), so one Event
	// serves every create.
	if r.scratch == nil || !r.eventsRes.NoWatchCache {
		r.scratch = &v1.Event{}
	}
	ev := r.scratch
	*ev = v1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: maps.Clone(annotations)},
		InvolvedObject:      ref,
		Reason:              reason,
		Message:             message,
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		Type:                eventtype,
		Source:              r.source,
		ReportingController: r.source.Component,
		ReportingInstance:   r.instance,
	}
	// Another recorder may have used the name in this instant (events of
	// one object from two components): take the next one. Each recorder
	// starts its names at its own offset, so this is rare.
	for try := 0; try < 1024; try++ {
		// Straight to the API server as the client's user, handing the
		// event over (the server keeps nothing of it) and discarding the
		// response.
		_, err := r.c.Server().CreateOwned(r.c.User(), r.eventsRes, ns, ev, metav1.CreateOptions{})
		if err == nil {
			r.remember(key, suffix)
			return
		}
		if !apierrors.IsAlreadyExists(err) {
			return
		}
		name, suffix = r.name(ref.Name, now)
		ev.Name = name
	}
}

// remember records the Event name suffix of key, which the cache does not
// hold (emit looked it up, and dropped it if it was stale), forgetting the
// oldest key when the cache is full.
func (r *Recorder) remember(key eventKey, suffix int64) {
	if len(r.order) < maxSeen {
		r.order = append(r.order, key)
	} else {
		delete(r.seen, r.order[r.next])
		r.order[r.next] = key
		r.next = (r.next + 1) % maxSeen
	}
	r.seen[key] = suffix
}

// name is upstream's "<object>.<hex unix nanos>", nudged forward when two
// events of one object fall in the same instant; suffix is the number
// after the dot.
func (r *Recorder) name(object string, now metav1.Time) (name string, suffix int64) {
	n := now.UnixNano()
	if n != r.usedAt {
		// A burst's map goes with its instant (clear would keep its
		// memory in every recorder that ever had one).
		r.nFew, r.used, r.usedAt = 0, nil, n
	}
	// The suffix is hex digits after the last dot, so two names are equal
	// only for the same object and suffix: counting per object is enough.
	// Objects are told apart by a fixed-seed hash of their names (no key
	// strings to keep or rehash as the map of a busy instant grows: the
	// scheduler names an Event for every pod it binds). Two objects whose
	// hashes collide share one count: each still gets distinct names, and
	// the same ones in every run.
	suffix = r.take(correlationKey(object)[0])
	var buf [128]byte
	return eventName(buf[:0], object, suffix), suffix
}

// take returns the suffix of the next Event name of the object whose name
// hashes to h in the current instant, and counts it: consecutive from the
// instant's first suffix (its time plus the recorder's offset).
func (r *Recorder) take(h uint64) int64 {
	for i := range r.few[:r.nFew] {
		if c := &r.few[i]; c.h == h {
			c.next++
			return c.next - 1
		}
	}
	if n, ok := r.used[h]; ok {
		r.used[h] = n + 1
		return n
	}
	n := r.usedAt + r.offset
	if r.nFew < len(r.few) {
		r.few[r.nFew] = usedCount{h, n + 1}
		r.nFew++
		return n
	}
	if r.used == nil {
		r.used = map[uint64]int64{}
	}
	r.used[h] = n + 1
	return n
}

// eventName is "<object>.<hex suffix>", built in buf.
func eventName(buf []byte, object string, suffix int64) string {
	b := append(append(buf, object...), '.')
	return string(strconv.AppendInt(b, suffix, 16))
}
