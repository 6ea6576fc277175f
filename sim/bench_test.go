package sim

import (
	"container/heap"
	"fmt"
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

// BenchmarkEngineVsBareLoop measures both loops in the same run and reports
// their event rates and the engine's rate as a fraction of the bare loop's
// (the target is at least 0.5).
func BenchmarkEngineVsBareLoop(b *testing.B) {
	if b.N > 1 {
		b.Skip("measures itself once; run with -benchtime=1x or via make bench")
	}
	bare := testing.Benchmark(benchBare)
	eng := testing.Benchmark(benchEngine)
	bareRate := 1e9 / float64(bare.NsPerOp())
	engRate := 1e9 / float64(eng.NsPerOp())
	b.ReportMetric(bareRate, "bare-events/s")
	b.ReportMetric(engRate, "engine-events/s")
	b.ReportMetric(engRate/bareRate, "engine/bare")
	fmt.Printf("engine %.0f events/s, bare container/heap loop %.0f events/s, ratio %.2f\n", engRate, bareRate, engRate/bareRate)
}
