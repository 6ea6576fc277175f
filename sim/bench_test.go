package sim

import (
	"container/heap"
	"testing"
	"time"
)

// The engine benchmark measures the cost of one event — pop the earliest,
// advance the clock, run the callback, which schedules the next event at a
// pseudo-random later time — with 1,024 events pending. The bare loop does
// the same work on container/heap with no labels, timers, recycling or
// cancellation; the ratio of the two is the figure the README quotes.

const pendingEvents = 1024

// lcg is a tiny deterministic generator so both loops do identical work.
type lcg uint64

func (l *lcg) next() time.Duration {
	*l = *l*6364136223846793005 + 1442695040888963407
	return time.Duration(uint64(*l)>>40) % time.Second
}

type bareEvent struct {
	at  time.Duration
	seq uint64
	fn  func()
}

type bareHeap []*bareEvent

func (h bareHeap) Len() int { return len(h) }
func (h bareHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h bareHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *bareHeap) Push(x any)   { *h = append(*h, x.(*bareEvent)) }
func (h *bareHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	*h = old[:n-1]
	return e
}

func benchBare(b *testing.B) {
	var h bareHeap
	var now time.Duration
	var seq uint64
	r := lcg(1)
	var fn func()
	fn = func() {
		seq++
		heap.Push(&h, &bareEvent{at: now + r.next(), seq: seq, fn: fn})
	}
	for i := 0; i < pendingEvents; i++ {
		fn()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := heap.Pop(&h).(*bareEvent)
		now = ev.at
		ev.fn()
	}
}

func benchEngine(b *testing.B) {
	e := New(1)
	r := lcg(1)
	var fn func()
	fn = func() { e.After(r.next(), "bench", fn) }
	for i := 0; i < pendingEvents; i++ {
		fn()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Step()
	}
}

// BenchmarkBareHeapLoop is the baseline: container/heap events.
func BenchmarkBareHeapLoop(b *testing.B) { b.ReportAllocs(); benchBare(b) }

// BenchmarkEngine is the engine on the same workload.
func BenchmarkEngine(b *testing.B) { b.ReportAllocs(); benchEngine(b) }

// BenchmarkEngineVsBareLoop runs both loops for the same number of events
// in the same process, interleaved three times (best of three each, to damp
// noise on a shared machine), and reports their rates and the engine's rate
// as a fraction of the bare loop's — the figure the README quotes (target ≥ 0.5).
func BenchmarkEngineVsBareLoop(b *testing.B) {
	const events = 3_000_000
	best := func(cur, d time.Duration) time.Duration {
		if cur == 0 || d < cur {
			return d
		}
		return cur
	}
	var bareBest, engBest time.Duration
	for i := 0; i < b.N; i++ {
		for round := 0; round < 3; round++ {
			start := time.Now()
			benchBare(&testing.B{N: events})
			bareBest = best(bareBest, time.Since(start))
			start = time.Now()
			benchEngine(&testing.B{N: events})
			engBest = best(engBest, time.Since(start))
		}
	}
	bareRate := events / bareBest.Seconds()
	engRate := events / engBest.Seconds()
	b.ReportMetric(bareRate, "bare-events/s")
	b.ReportMetric(engRate, "engine-events/s")
	b.ReportMetric(engRate/bareRate, "engine/bare")
}
