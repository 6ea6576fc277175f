package sim

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestEventsRunInTimeThenInsertionOrder(t *testing.T) {
	e := New(1)
	var got []string
	rec := func(s string) func() { return func() { got = append(got, s) } }
	e.After(2*time.Second, "c", rec("c"))
	e.After(time.Second, "a", rec("a"))
	e.After(time.Second, "b", rec("b"))
	e.After(0, "now", rec("now"))
	e.RunUntil(10 * time.Second)
	assert.Equal(t, []string{"now", "a", "b", "c"}, got)
	assert.Equal(t, 10*time.Second, e.Elapsed())
	assert.Equal(t, Epoch.Add(10*time.Second), e.Now())
}

func TestRunUntilIncludesBoundaryAndStopsAfter(t *testing.T) {
	e := New(1)
	var ran []time.Duration
	for _, d := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		e.After(d, "x", func() { ran = append(ran, e.Elapsed()) })
	}
	e.RunUntil(2 * time.Second)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, ran)
	next, ok := e.NextAt()
	require.True(t, ok)
	assert.Equal(t, 3*time.Second, next)
	e.RunFor(time.Second)
	assert.Len(t, ran, 3)
	_, ok = e.NextAt()
	assert.False(t, ok)
}

func TestTimerStop(t *testing.T) {
	e := New(1)
	fired := false
	tm := e.After(time.Second, "x", func() { fired = true })
	assert.True(t, tm.Pending())
	when, ok := tm.When()
	assert.True(t, ok)
	assert.Equal(t, time.Second, when)
	assert.True(t, tm.Stop())
	assert.False(t, tm.Stop(), "second stop is a no-op")
	e.RunUntil(time.Minute)
	assert.False(t, fired)

	// A stale handle must not cancel the recycled event now reusing its slot.
	fired2 := false
	e.After(time.Second, "y", func() { fired2 = true })
	assert.False(t, tm.Stop())
	e.RunFor(time.Minute)
	assert.True(t, fired2)

	var zero Timer
	assert.False(t, zero.Stop())
	assert.False(t, zero.Pending())
}

func TestTickerAndIdle(t *testing.T) {
	e := New(1)
	var ticks []time.Duration
	tk := e.Every(10*time.Second, "tick", func() { ticks = append(ticks, e.Elapsed()) })
	assert.True(t, e.Idle(), "tickers are background work")
	e.After(25*time.Second, "work", func() {})
	assert.False(t, e.Idle())
	assert.True(t, e.RunUntilIdle(100))
	assert.Equal(t, 25*time.Second, e.Elapsed())
	assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second}, ticks)
	e.RunUntil(45 * time.Second)
	assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second, 40 * time.Second}, ticks)
	tk.Stop()
	e.RunUntil(time.Hour)
	assert.Len(t, ticks, 4)

	// A ticker can stop itself from inside its callback.
	n := 0
	var self *Ticker
	self = e.Every(time.Second, "self", func() {
		n++
		if n == 3 {
			self.Stop()
		}
	})
	e.RunFor(time.Minute)
	assert.Equal(t, 3, n)
}

func TestRunUntilIdleBounded(t *testing.T) {
	e := New(1)
	var loop func()
	loop = func() { e.After(time.Second, "loop", loop) }
	loop()
	assert.False(t, e.RunUntilIdle(50))
	assert.Equal(t, uint64(50), e.Steps())
}

func TestSchedulingInThePastPanics(t *testing.T) {
	e := New(1)
	e.RunUntil(time.Minute)
	assert.Panics(t, func() { e.At(time.Second, "late", func() {}) })
	assert.Panics(t, func() { e.After(-time.Second, "neg", func() {}) })
	assert.Panics(t, func() { e.Every(0, "zero", func() {}) })
}

func TestRandStreamsIndependentOfCreationOrder(t *testing.T) {
	draw := func(e *Engine, name string) []uint64 {
		r := e.Rand(name)
		out := make([]uint64, 5)
		for i := range out {
			out[i] = r.Uint64()
		}
		return out
	}
	a := New(7)
	schedA := draw(a, "scheduler")
	b := New(7)
	_ = draw(b, "kubelet/node-1") // a component added before the scheduler
	schedB := draw(b, "scheduler")
	assert.Equal(t, schedA, schedB)
	assert.NotEqual(t, schedA, draw(New(7), "kubelet/node-1"))
	assert.NotEqual(t, schedA, draw(New(8), "scheduler"), "the seed matters")
}

func TestTraceJSON(t *testing.T) {
	e := New(1)
	var lines [][]byte
	e.AddTraceSink(func(r Record) { lines = append(lines, r.AppendJSON(nil)) })
	e.RunUntil(1500 * time.Millisecond)
	e.Trace(Record{Component: "apiserver", Verb: "create", Kind: "Pod", Namespace: "default", Name: "web-1", RV: 42, Msg: "quote \" back\\slash \n ctl\x01 bad\xff é"})
	e.Trace(Record{Component: "engine", Verb: "tick"})
	require.Len(t, lines, 2)
	assert.Equal(t, `{"t":1.5,"component":"apiserver","verb":"create","kind":"Pod","namespace":"default","name":"web-1","rv":42,"msg":"quote \" back\\slash \n ctl\u0001 bad\ufffd é"}`, string(lines[0]))
	assert.Equal(t, `{"t":1.5,"component":"engine","verb":"tick"}`, string(lines[1]))
	for _, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal(l, &m), string(l))
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal(lines[0], &m))
	assert.Equal(t, "quote \" back\\slash \n ctl\x01 bad\ufffd é", m["msg"])
}

func TestAppendSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", 90 * time.Second: "90", 1500 * time.Millisecond: "1.5", time.Millisecond: "0.001",
		time.Nanosecond: "0.000000001", -2 * time.Second: "-2", time.Hour + 250*time.Millisecond: "3600.25",
	} {
		assert.Equal(t, want, string(AppendSeconds(nil, d)), d.String())
	}
}

// TestEngineOrderProperty checks the engine against a model: events scheduled
// at random times and randomly cancelled run exactly in (time, sequence)
// order, each surviving event once, the cancelled ones never.
func TestEngineOrderProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := New(1)
		type item struct {
			at  time.Duration
			seq int
		}
		var want []item
		var got []int
		var timers []Timer
		var ids []int
		n := rapid.IntRange(0, 200).Draw(t, "n")
		for i := 0; i < n; i++ {
			at := time.Duration(rapid.IntRange(0, 20).Draw(t, "at")) * time.Second
			id := i
			timers = append(timers, e.At(at, "x", func() { got = append(got, id) }))
			ids = append(ids, id)
			want = append(want, item{at, id})
		}
		cancelled := map[int]bool{}
		for _, i := range rapid.SliceOfDistinct(rapid.IntRange(0, max(n-1, 0)), rapid.ID[int]).Draw(t, "cancel") {
			if i < n && timers[i].Stop() {
				cancelled[i] = true
			}
		}
		e.RunUntil(time.Minute)
		var expect []int
		slices.SortStableFunc(want, func(a, b item) int { return int(a.at - b.at) })
		for _, w := range want {
			if !cancelled[w.seq] {
				expect = append(expect, w.seq)
			}
		}
		if !slices.Equal(expect, got) {
			t.Fatalf("order: want %v got %v", expect, got)
		}
		if e.Pending() != 0 || !e.Idle() {
			t.Fatalf("engine not drained: %d pending", e.Pending())
		}
	})
}

// TestEngineHeapModel interleaves scheduling, cancelling and stepping at
// random and checks every step against a model (a plain list of pending
// events, the least (time, sequence) first): the heap's sifting and its
// removal from the middle keep that order at every size.
func TestEngineHeapModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := New(1)
		type pending struct {
			at    time.Duration
			seq   int
			timer Timer
		}
		var model []pending
		seq, ran := 0, -1
		for range rapid.IntRange(0, 400).Draw(t, "ops") {
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 5: // schedule, at now or later
				at := e.Elapsed() + time.Duration(rapid.IntRange(0, 30).Draw(t, "after"))*time.Second
				id := seq
				seq++
				model = append(model, pending{at, id, e.At(at, "x", func() { ran = id })})
			case op < 7 && len(model) > 0: // cancel one
				i := rapid.IntRange(0, len(model)-1).Draw(t, "cancel")
				if !model[i].timer.Stop() {
					t.Fatalf("event %d was pending but Stop says no", model[i].seq)
				}
				model = slices.Delete(model, i, i+1)
			default: // step
				_, ok := e.Step()
				if ok != (len(model) > 0) {
					t.Fatalf("step ran an event: %v, model has %d pending", ok, len(model))
				}
				if !ok {
					continue
				}
				least := 0
				for i, p := range model {
					if p.at < model[least].at || (p.at == model[least].at && p.seq < model[least].seq) {
						least = i
					}
				}
				if ran != model[least].seq || e.Elapsed() != model[least].at {
					t.Fatalf("ran event %d at %v, want %d at %v", ran, e.Elapsed(), model[least].seq, model[least].at)
				}
				model = slices.Delete(model, least, least+1)
			}
			if e.Pending() != len(model) {
				t.Fatalf("%d pending, model has %d", e.Pending(), len(model))
			}
		}
	})
}
