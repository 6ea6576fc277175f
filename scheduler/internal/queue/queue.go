package queue

import (
	"fmt"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/types"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// Location says where a queued pod is.
type Location uint8

const (
	// Active is activeQ.
	Active Location = iota + 1
	// Backoff is backoffQ.
	Backoff
	// Unschedulable is the unschedulable pool (gated pods included).
	Unschedulable
	// InFlight is popped and being scheduled or bound.
	InFlight
)

// String names the location.
func (l Location) String() string {
	switch l {
	case Active:
		return "activeQ"
	case Backoff:
		return "backoffQ"
	case Unschedulable:
		return "unschedulable"
	case InFlight:
		return "inFlight"
	}
	return "none"
}

// QueuedPodInfo is a pod in the queue with its scheduling history.
type QueuedPodInfo struct {
	// PodInfo is the latest parsed version of the pod.
	PodInfo *fw.PodInfo
	// Timestamp is when the pod was last added to a queue (creation, or its
	// last failed attempt); activeQ orders equal priorities by it and the
	// backoff expiry counts from it.
	Timestamp time.Duration
	// InitialAttemptTimestamp is when the pod was first popped.
	InitialAttemptTimestamp time.Duration
	// Attempts counts pops.
	Attempts int
	// UnschedulableCount counts attempts that plugins rejected.
	UnschedulableCount int
	// ConsecutiveErrorsCount counts consecutive attempts that ended in an
	// error or that no plugin rejected (no nodes at all).
	ConsecutiveErrorsCount int
	// Rejectors are the plugins that rejected the pod in its last attempt
	// (upstream UnschedulablePlugins), as an opaque bit set.
	Rejectors uint16
	// Gated is true while the pod has scheduling gates.
	Gated bool
	// Location is where the pod is now.
	Location Location
	// MovedBy names the event that last moved the pod out of the
	// unschedulable pool (for explain output).
	MovedBy string

	seq       uint64
	heapIndex int
	// inflightFrom is the index in the in-flight event log at pop time.
	inflightFrom int
	deleted      bool
}

// Key is the pod's namespace/name.
func (q *QueuedPodInfo) Key() string { return q.PodInfo.Key }

// Config holds the queue's durations.
type Config struct {
	InitialBackoff, MaxBackoff time.Duration
	// MaxInUnschedulable is how long a pod may wait in the unschedulable pool
	// before the leftover flush moves it anyway.
	MaxInUnschedulable time.Duration
}

// HintFunc decides whether an event may make a queued pod schedulable.
type HintFunc func(q *QueuedPodInfo, ev *fw.ClusterEvent) bool

// Queue is the scheduling queue.
type Queue struct {
	cfg           Config
	active        heap
	backoff       heap
	unschedulable map[types.UID]*QueuedPodInfo
	all           map[types.UID]*QueuedPodInfo
	inflight      map[types.UID]*QueuedPodInfo
	// events is the log of cluster events received while any pod was in
	// flight; a pod that fails checks the events since its pop.
	events    []*fw.ClusterEvent
	eventBase int // events[0] has absolute index eventBase
	seq       uint64
}

// New returns an empty queue.
func New(cfg Config) *Queue {
	q := &Queue{
		cfg:           cfg,
		unschedulable: map[types.UID]*QueuedPodInfo{},
		all:           map[types.UID]*QueuedPodInfo{},
		inflight:      map[types.UID]*QueuedPodInfo{},
	}
	q.active.less = activeLess
	q.backoff.less = q.backoffLess
	return q
}

// activeLess is PrioritySort: higher priority first, then earlier
// timestamp, then earlier insertion (total order, so the pop order never
// depends on how the heap was built).
func activeLess(a, b *QueuedPodInfo) bool {
	if a.PodInfo.Priority != b.PodInfo.Priority {
		return a.PodInfo.Priority > b.PodInfo.Priority
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp < b.Timestamp
	}
	return a.seq < b.seq
}

func (q *Queue) backoffLess(a, b *QueuedPodInfo) bool {
	ea, eb := q.BackoffExpiry(a), q.BackoffExpiry(b)
	if ea != eb {
		return ea < eb
	}
	return activeLess(a, b)
}

// BackoffDuration is initial × 2^(count−1) capped at max, where count is the
// consecutive error count after an error and the unschedulable count
// otherwise; 0 for a pod that never failed.
func (q *Queue) BackoffDuration(p *QueuedPodInfo) time.Duration {
	count := p.UnschedulableCount
	if p.ConsecutiveErrorsCount > 0 {
		count = p.ConsecutiveErrorsCount
	}
	if count == 0 || q.cfg.MaxBackoff == 0 {
		return 0
	}
	d := q.cfg.InitialBackoff
	for i := 1; i < count; i++ {
		if d > q.cfg.MaxBackoff-d {
			return q.cfg.MaxBackoff
		}
		d += d
	}
	return min(d, q.cfg.MaxBackoff)
}

// BackoffExpiry is Timestamp + BackoffDuration.
func (q *Queue) BackoffExpiry(p *QueuedPodInfo) time.Duration {
	return p.Timestamp + q.BackoffDuration(p)
}

func (q *Queue) backingOff(p *QueuedPodInfo, now time.Duration) bool {
	return q.BackoffExpiry(p) > now
}

// Get returns the queued pod with uid, wherever it is.
func (q *Queue) Get(uid types.UID) *QueuedPodInfo { return q.all[uid] }

// Len is the number of pods in the queue (in flight included).
func (q *Queue) Len() int { return len(q.all) }

// ActiveLen is the number of pods in activeQ.
func (q *Queue) ActiveLen() int { return len(q.active.items) }

// Add adds a new pod. Gated pods wait in the unschedulable pool. It reports
// whether activeQ received the pod.
func (q *Queue) Add(pi *fw.PodInfo, gated bool, now time.Duration) bool {
	if old, ok := q.all[pi.UID]; ok {
		panic(fmt.Sprintf("scheduling queue: pod %s added twice (it is in %s)", pi.Key, old.Location))
	}
	q.seq++
	p := &QueuedPodInfo{PodInfo: pi, Timestamp: now, seq: q.seq, Gated: gated, heapIndex: -1}
	q.all[pi.UID] = p
	if gated {
		q.toUnschedulable(p)
		return false
	}
	q.toActive(p)
	return true
}

func (q *Queue) toActive(p *QueuedPodInfo) {
	p.Location = Active
	q.active.push(p)
}

func (q *Queue) toBackoff(p *QueuedPodInfo) {
	p.Location = Backoff
	q.backoff.push(p)
}

func (q *Queue) toUnschedulable(p *QueuedPodInfo) {
	p.Location = Unschedulable
	q.unschedulable[p.PodInfo.UID] = p
}

func (q *Queue) detach(p *QueuedPodInfo) {
	switch p.Location {
	case Active:
		q.active.remove(p)
	case Backoff:
		q.backoff.remove(p)
	case Unschedulable:
		delete(q.unschedulable, p.PodInfo.UID)
	}
	p.Location = 0
}

// requeue moves p to backoffQ while it is backing off, else to activeQ. It
// reports whether activeQ received the pod.
func (q *Queue) requeue(p *QueuedPodInfo, now time.Duration, by string) bool {
	q.detach(p)
	p.MovedBy = by
	if q.backingOff(p, now) {
		q.toBackoff(p)
		return false
	}
	q.toActive(p)
	return true
}

// Update installs a new version of a queued pod. A gated pod whose gates are
// gone moves to activeQ; a pod in the unschedulable pool is requeued when
// hint says the update (change, upstream's UpdatePodXYZ events) may help
// it; a pod in flight records the update as an event for when it comes
// back (upstream PriorityQueue.Update with queueing hints). It reports
// whether activeQ received the pod.
func (q *Queue) Update(pi *fw.PodInfo, gated bool, change fw.PodChange, now time.Duration, hint HintFunc) bool {
	p, ok := q.all[pi.UID]
	if !ok {
		return q.Add(pi, gated, now)
	}
	old := p.PodInfo
	p.PodInfo = pi
	switch p.Location {
	case Active:
		q.active.fix(p)
	case Backoff:
		q.backoff.fix(p)
	case InFlight:
		if change != 0 {
			q.RecordEvent(&fw.ClusterEvent{Kind: fw.PodSelfUpdate, OldPod: old, NewPod: pi, PodChange: change})
		}
	case Unschedulable:
		if p.Gated {
			p.Gated = gated
			if !gated {
				q.detach(p)
				p.MovedBy = "SchedulingGatesRemoved"
				q.toActive(p)
				return true
			}
			return false
		}
		if change != 0 && hint(p, &fw.ClusterEvent{Kind: fw.PodSelfUpdate, OldPod: old, NewPod: pi, PodChange: change}) {
			return q.requeue(p, now, fw.PodSelfUpdate.String())
		}
	}
	return false
}

// Delete removes a pod. A pod in flight is only marked; Done forgets it.
func (q *Queue) Delete(uid types.UID) {
	p, ok := q.all[uid]
	if !ok {
		return
	}
	if p.Location == InFlight {
		p.deleted = true
		return
	}
	q.detach(p)
	delete(q.all, uid)
}

// Pop removes the best pod from activeQ and marks it in flight.
func (q *Queue) Pop(now time.Duration) *QueuedPodInfo {
	p := q.active.pop()
	if p == nil {
		return nil
	}
	p.Location = InFlight
	p.Attempts++
	if p.Attempts == 1 {
		p.InitialAttemptTimestamp = now
	}
	p.inflightFrom = q.eventBase + len(q.events)
	q.inflight[p.PodInfo.UID] = p
	return p
}

// RecordEvent logs a cluster event for the pods in flight.
func (q *Queue) RecordEvent(ev *fw.ClusterEvent) {
	if len(q.inflight) > 0 {
		q.events = append(q.events, ev)
	}
}

// Done ends the in-flight period of a pod (after binding, or when it is
// re-queued) and forgets it if it was bound or deleted meanwhile.
func (q *Queue) Done(uid types.UID, forget bool) {
	p, ok := q.inflight[uid]
	if !ok {
		return
	}
	delete(q.inflight, uid)
	if forget || p.deleted {
		delete(q.all, uid)
	}
	q.trimEvents()
}

func (q *Queue) trimEvents() {
	if len(q.inflight) == 0 {
		q.events = q.events[:0]
		q.eventBase = 0
		return
	}
	oldest := q.eventBase + len(q.events)
	for _, p := range q.inflight {
		oldest = min(oldest, p.inflightFrom)
	}
	if drop := oldest - q.eventBase; drop > 64 && drop > len(q.events)/2 {
		n := copy(q.events, q.events[drop:])
		clear(q.events[n:])
		q.events = q.events[:n]
		q.eventBase = oldest
	}
}

// AddUnschedulableIfNotPresent re-queues a pod whose attempt failed. errored
// marks an internal error (or a bind failure). Pods with no rejecting plugin
// or with a relevant event while they were in flight go to backoffQ (they
// are still backing off, having just failed); the others to the
// unschedulable pool. It reports where the pod went; the pod is no longer
// in flight afterwards. A pod deleted while in flight is dropped.
func (q *Queue) AddUnschedulableIfNotPresent(p *QueuedPodInfo, rejectors uint16, errored bool, now time.Duration, hint HintFunc) Location {
	if p.Location != InFlight {
		panic(fmt.Sprintf("scheduling queue: pod %s re-queued from %s, not in flight", p.Key(), p.Location))
	}
	if p.deleted {
		q.Done(p.PodInfo.UID, true)
		return 0
	}
	p.Timestamp = now
	p.Rejectors = rejectors
	// As upstream, a failure no plugin rejected (an error, or "no nodes
	// available") counts as an error, whatever its status code.
	if errored || rejectors == 0 {
		p.ConsecutiveErrorsCount++
	} else {
		p.UnschedulableCount++
		p.ConsecutiveErrorsCount = 0
	}
	from := p.inflightFrom - q.eventBase
	delete(q.inflight, p.PodInfo.UID)
	p.Location = 0
	loc := Unschedulable
	if errored || rejectors == 0 {
		loc = Backoff
	} else {
		for _, ev := range q.events[from:] {
			if ev.Kind == fw.PodSelfUpdate && ev.NewPod.UID != p.PodInfo.UID {
				continue
			}
			if hint(p, ev) {
				loc = Backoff
				p.MovedBy = ev.Kind.String() + " (while in flight)"
				break
			}
		}
	}
	if loc == Backoff {
		if q.backingOff(p, now) {
			q.toBackoff(p)
		} else {
			q.toActive(p)
			loc = Active
		}
	} else {
		q.toUnschedulable(p)
	}
	q.trimEvents()
	return loc
}

// sortedUnschedulable lists the unschedulable pool in insertion order.
func (q *Queue) sortedUnschedulable() []*QueuedPodInfo {
	out := make([]*QueuedPodInfo, 0, len(q.unschedulable))
	for _, p := range q.unschedulable {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// MoveAllToActiveOrBackoffQueue requeues the pods in the unschedulable pool
// for which hint says ev may help (gated pods stay), and logs ev for the
// pods in flight. It returns the number of pods that reached activeQ.
func (q *Queue) MoveAllToActiveOrBackoffQueue(ev *fw.ClusterEvent, now time.Duration, hint HintFunc) int {
	q.RecordEvent(ev)
	if len(q.unschedulable) == 0 {
		return 0
	}
	// Decide first (hints only read), then move the chosen pods in insertion
	// order; the pool itself is never iterated in an order that matters.
	var move []*QueuedPodInfo
	for _, p := range q.unschedulable {
		if !p.Gated && hint(p, ev) {
			move = append(move, p)
		}
	}
	sort.Slice(move, func(i, j int) bool { return move[i].seq < move[j].seq })
	moved := 0
	for _, p := range move {
		if q.requeue(p, now, ev.Kind.String()) {
			moved++
		}
	}
	return moved
}

// FlushBackoffCompleted moves pods whose backoff expired to activeQ and
// returns how many moved.
func (q *Queue) FlushBackoffCompleted(now time.Duration) int {
	moved := 0
	for {
		p := q.backoff.peek()
		if p == nil || q.backingOff(p, now) {
			return moved
		}
		q.backoff.pop()
		q.toActive(p)
		moved++
	}
}

// NextBackoffExpiry is the earliest backoff expiry in backoffQ.
func (q *Queue) NextBackoffExpiry() (time.Duration, bool) {
	p := q.backoff.peek()
	if p == nil {
		return 0, false
	}
	return q.BackoffExpiry(p), true
}

// FlushUnschedulableLeftover requeues pods that waited in the unschedulable
// pool longer than MaxInUnschedulable (UnschedulableTimeout event).
func (q *Queue) FlushUnschedulableLeftover(now time.Duration) int {
	moved := 0
	for _, p := range q.sortedUnschedulable() {
		if p.Gated || now-p.Timestamp <= q.cfg.MaxInUnschedulable {
			continue
		}
		if q.requeue(p, now, fw.UnschedulableTimeout.String()) {
			moved++
		}
	}
	return moved
}

// Pending lists every queued pod (in flight included) ordered by key, for
// inspection and tests.
func (q *Queue) Pending() []*QueuedPodInfo {
	out := make([]*QueuedPodInfo, 0, len(q.all))
	for _, p := range q.all {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// heap is a binary heap of queued pods with index tracking.
type heap struct {
	items []*QueuedPodInfo
	less  func(a, b *QueuedPodInfo) bool
}

func (h *heap) push(p *QueuedPodInfo) {
	p.heapIndex = len(h.items)
	h.items = append(h.items, p)
	h.up(p.heapIndex)
}

func (h *heap) peek() *QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

func (h *heap) pop() *QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	p := h.items[0]
	h.remove(p)
	return p
}

func (h *heap) remove(p *QueuedPodInfo) {
	i := p.heapIndex
	last := len(h.items) - 1
	if i < 0 || i > last || h.items[i] != p {
		panic(fmt.Sprintf("scheduling queue: pod %s is not in the heap", p.Key()))
	}
	if i != last {
		h.items[i] = h.items[last]
		h.items[i].heapIndex = i
	}
	h.items[last] = nil
	h.items = h.items[:last]
	if i != last {
		h.fix(h.items[i])
	}
	p.heapIndex = -1
}

func (h *heap) fix(p *QueuedPodInfo) {
	if !h.down(p.heapIndex) {
		h.up(p.heapIndex)
	}
}

func (h *heap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(h.items[i], h.items[parent]) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *heap) down(i0 int) bool {
	i, n := i0, len(h.items)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h.less(h.items[r], h.items[c]) {
			c = r
		}
		if !h.less(h.items[c], h.items[i]) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > i0
}

func (h *heap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].heapIndex = i
	h.items[j].heapIndex = j
}
