package sim

import (
	"fmt"
	"math"
	"time"
)

// Epoch is the wall-clock instant that simulated time zero stands for. Every
// timestamp kubesim writes into an object (creationTimestamp, condition
// transition times, lease renewals) is Epoch plus the engine's elapsed time,
// so two runs of one scenario print identical timestamps.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Forever is a time later than any event a run can schedule.
const Forever = time.Duration(math.MaxInt64)

// Engine is the discrete-event loop at the heart of kubesim. It owns the
// virtual clock, the queue of pending events, the run's random seed and the
// trace. It is single-threaded: every component runs inside an event callback,
// and nothing advances the clock but the engine itself.
//
// Events are ordered by (time, insertion sequence): two events scheduled for
// the same instant run in the order they were scheduled. That total order is
// what makes a run reproducible.
type Engine struct {
	now  time.Duration // elapsed simulated time; never decreases
	seq  uint64        // insertion sequence of the last scheduled event
	heap eventHeap     // pending events
	free []*event      // recycled events, to keep allocation off the hot path

	// foreground counts queued events that are not marked background; the
	// engine is idle when it reaches zero.
	foreground int

	seed  uint64
	steps uint64

	tracer tracer
}

// Option configures an Engine.
type Option func(*Engine)

// New returns an engine at time zero whose random streams derive from seed.
func New(seed uint64, opts ...Option) *Engine {
	e := &Engine{seed: seed}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Seed is the seed the engine was created with.
func (e *Engine) Seed() uint64 { return e.seed }

// Elapsed is the simulated time since Epoch.
func (e *Engine) Elapsed() time.Duration { return e.now }

// Now is the simulated wall-clock time: Epoch plus Elapsed.
func (e *Engine) Now() time.Time { return Epoch.Add(e.now) }

// Since is the simulated time elapsed since t.
func (e *Engine) Since(t time.Time) time.Duration { return e.Now().Sub(t) }

// Steps is the number of events run so far.
func (e *Engine) Steps() uint64 { return e.steps }

// Pending is the number of queued events, background ones included.
func (e *Engine) Pending() int { return len(e.heap) }

// event is one scheduled callback. Events are recycled; gen tells a Timer
// whether the event it points at is still the one it scheduled.
type event struct {
	at         time.Duration
	seq        uint64
	fn         func()
	label      string
	index      int // position in the heap; -1 when not queued
	gen        uint32
	background bool
}

// Timer is a handle on a scheduled one-shot event. The zero Timer is valid
// and refers to nothing.
type Timer struct {
	e   *Engine
	ev  *event
	gen uint32
}

// Pending reports whether the timer's event is still queued.
func (t Timer) Pending() bool {
	return t.ev != nil && t.ev.gen == t.gen && t.ev.index >= 0
}

// When is the time the timer fires, if it is pending.
func (t Timer) When() (time.Duration, bool) {
	if !t.Pending() {
		return 0, false
	}
	return t.ev.at, true
}

// Stop cancels the timer. It reports whether the timer was pending, that is
// whether this call prevented the callback from running.
func (t Timer) Stop() bool {
	if !t.Pending() {
		return false
	}
	t.e.remove(t.ev)
	return true
}

// After schedules fn to run d from now. label names the event for traces and
// for a UI stepping the engine one event at a time ("kubelet/node-1 heartbeat").
func (e *Engine) After(d time.Duration, label string, fn func()) Timer {
	if d < 0 {
		panic(fmt.Sprintf("sim: negative delay %v for event %q", d, label))
	}
	return e.schedule(e.now+d, label, fn, false)
}

// At schedules fn to run at elapsed time t, which must not be in the past.
func (e *Engine) At(t time.Duration, label string, fn func()) Timer {
	if t < e.now {
		panic(fmt.Sprintf("sim: event %q scheduled at %v, before now (%v)", label, t, e.now))
	}
	return e.schedule(t, label, fn, false)
}

// Background schedules fn like After but marks it as housekeeping: a pending
// background event does not keep the engine from being idle (RunUntilIdle).
func (e *Engine) Background(d time.Duration, label string, fn func()) Timer {
	if d < 0 {
		panic(fmt.Sprintf("sim: negative delay %v for event %q", d, label))
	}
	return e.schedule(e.now+d, label, fn, true)
}

func (e *Engine) schedule(at time.Duration, label string, fn func(), background bool) Timer {
	var ev *event
	if n := len(e.free); n > 0 {
		ev = e.free[n-1]
		e.free = e.free[:n-1]
	} else {
		ev = &event{}
	}
	e.seq++
	ev.at, ev.seq, ev.fn, ev.label, ev.background = at, e.seq, fn, label, background
	if !background {
		e.foreground++
	}
	e.heap.push(ev)
	return Timer{e: e, ev: ev, gen: ev.gen}
}

func (e *Engine) remove(ev *event) {
	e.heap.remove(ev.index)
	e.release(ev)
}

// release recycles an event that has left the heap.
func (e *Engine) release(ev *event) {
	if !ev.background {
		e.foreground--
	}
	ev.fn = nil
	ev.label = ""
	ev.gen++
	if len(e.free) < maxFreeEvents {
		e.free = append(e.free, ev)
	}
}

// maxFreeEvents bounds the recycled events: after a burst (150,000 watch
// deliveries pending at once) the rest go to the collector rather than
// staying allocated for good. A Timer still pointing at a dropped event
// keeps it alive, and its generation tells the Timer it has run.
const maxFreeEvents = 4096

// Ticker runs a callback periodically. Its events are background events.
type Ticker struct {
	e      *Engine
	period time.Duration
	label  string
	fn     func()
	timer  Timer
	tick   func()
}

// Every runs fn every period, first at now+period. Ticker events are
// background events: a cluster whose only pending work is heartbeats is idle.
func (e *Engine) Every(period time.Duration, label string, fn func()) *Ticker {
	return e.EveryFrom(period, period, label, fn)
}

// EveryFrom runs fn at now+first and then every period.
func (e *Engine) EveryFrom(first, period time.Duration, label string, fn func()) *Ticker {
	if period <= 0 {
		panic(fmt.Sprintf("sim: ticker %q with non-positive period %v", label, period))
	}
	t := &Ticker{e: e, period: period, label: label, fn: fn}
	t.tick = func() {
		t.timer = e.Background(t.period, t.label, t.tick)
		t.fn()
	}
	t.timer = e.Background(first, label, t.tick)
	return t
}

// Stop stops the ticker; no further ticks run.
func (t *Ticker) Stop() { t.timer.Stop() }

// Reset stops the ticker and restarts it with a new period, first tick one
// period from now.
func (t *Ticker) Reset(period time.Duration) {
	if period <= 0 {
		panic(fmt.Sprintf("sim: ticker %q reset to non-positive period %v", t.label, period))
	}
	t.timer.Stop()
	t.period = period
	t.timer = t.e.Background(period, t.label, t.tick)
}

// NextAt is the time of the next pending event, if any.
func (e *Engine) NextAt() (time.Duration, bool) {
	if len(e.heap) == 0 {
		return 0, false
	}
	return e.heap[0].at, true
}

// NextLabel is the label of the next pending event, if any.
func (e *Engine) NextLabel() (string, bool) {
	if len(e.heap) == 0 {
		return "", false
	}
	return e.heap[0].ev.label, true
}

// Idle reports whether only background events (or none) are pending.
func (e *Engine) Idle() bool { return e.foreground == 0 }

// Step runs the next event, advancing the clock to its time. It returns the
// event's label and false when no event is pending.
func (e *Engine) Step() (string, bool) {
	if len(e.heap) == 0 {
		return "", false
	}
	ev := e.heap.pop()
	e.now = ev.at
	fn, label := ev.fn, ev.label
	e.release(ev)
	e.steps++
	fn()
	return label, true
}

// RunUntil runs every event due at or before elapsed time t, then leaves the
// clock at t. Events at exactly t run.
func (e *Engine) RunUntil(t time.Duration) {
	for len(e.heap) > 0 && e.heap[0].at <= t {
		e.Step()
	}
	if t > e.now {
		e.now = t
	}
}

// RunFor runs for d of simulated time (RunUntil(now+d)).
func (e *Engine) RunFor(d time.Duration) { e.RunUntil(e.now + d) }

// RunUntilIdle runs events until only background events remain, none at all,
// or maxSteps events have run. It reports whether the engine became idle.
func (e *Engine) RunUntilIdle(maxSteps uint64) bool {
	for i := uint64(0); i < maxSteps; i++ {
		if e.foreground == 0 {
			return true
		}
		e.Step()
	}
	return e.foreground == 0
}

// eventHeap is a 4-ary min-heap of events by (at, seq), each entry holding
// its event's keys beside the pointer: sifting compares entries that sit
// side by side in one array instead of loading every event it passes (a
// large heap's events are scattered over memory), and a 4-ary heap is half
// as deep as a binary one. It is written out rather than built on
// container/heap so the hot path makes no interface calls.
type eventHeap []heapEntry

type heapEntry struct {
	at  time.Duration
	seq uint64
	ev  *event
}

// heapArity is the number of children of a node of the heap.
const heapArity = 4

func less(a, b *heapEntry) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (h *eventHeap) push(ev *event) {
	*h = append(*h, heapEntry{at: ev.at, seq: ev.seq, ev: ev})
	h.up(len(*h) - 1)
}

func (h *eventHeap) pop() *event {
	old := *h
	n := len(old) - 1
	top := old[0].ev
	old[0] = old[n]
	old[n] = heapEntry{}
	*h = old[:n]
	if n > 0 {
		h.down(0)
	}
	top.index = -1
	return top
}

func (h *eventHeap) remove(i int) {
	old := *h
	n := len(old) - 1
	ev := old[i].ev
	if i != n {
		old[i] = old[n]
	}
	old[n] = heapEntry{}
	*h = old[:n]
	if i != n && !h.down(i) {
		h.up(i)
	}
	ev.index = -1
}

func (h eventHeap) up(i int) {
	x := h[i]
	for i > 0 {
		p := (i - 1) / heapArity
		if !less(&x, &h[p]) {
			break
		}
		h[i] = h[p]
		h[i].ev.index = i
		i = p
	}
	h[i] = x
	x.ev.index = i
}

// down sifts h[i] towards the leaves, setting the index of every event it
// moves (h[i]'s too, moved or not), and reports whether it moved.
func (h eventHeap) down(i0 int) bool {
	i := i0
	n := len(h)
	x := h[i]
	for {
		c := heapArity*i + 1
		if c >= n {
			break
		}
		// The least of up to heapArity children.
		for k, end := c+1, min(c+heapArity, n); k < end; k++ {
			if less(&h[k], &h[c]) {
				c = k
			}
		}
		if !less(&h[c], &x) {
			break
		}
		h[i] = h[c]
		h[i].ev.index = i
		i = c
	}
	h[i] = x
	x.ev.index = i
	return i > i0
}
