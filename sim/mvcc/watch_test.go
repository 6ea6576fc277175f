package mvcc

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/sim"
)

// recorder collects a watcher's responses with their delivery times.
type recorder struct {
	eng   *sim.Engine
	resps []WatchResponse
	times []time.Duration
}

func (r *recorder) fn(resp WatchResponse) {
	r.resps = append(r.resps, resp)
	r.times = append(r.times, r.eng.Elapsed())
}

// events flattens the received events as "PUT k@rev" / "DELETE k@rev",
// with "(prev v@rev)" when a previous version is attached.
func (r *recorder) events() []string {
	var out []string
	for _, resp := range r.resps {
		for _, ev := range resp.Events {
			s := fmt.Sprintf("%v %s@%d", ev.Type, ev.Kv.Key, ev.Kv.ModRevision)
			if ev.Type == EventPut {
				s += "=" + string(ev.Kv.Value)
			}
			if ev.PrevKV != nil {
				s += fmt.Sprintf(" (prev %s@%d)", ev.PrevKV.Value, ev.PrevKV.ModRevision)
			}
			out = append(out, s)
		}
	}
	return out
}

func watch(s *Store, eng *sim.Engine, key string, opts WatchOptions) (*Watcher, *recorder) {
	r := &recorder{eng: eng}
	return s.Watch(key, opts, r.fn), r
}

func TestWatchDeliversThroughTheEngineAfterTheDelay(t *testing.T) {
	s, eng := newTestStore(Config{WatchDelay: 5 * time.Millisecond})
	eng.RunFor(time.Second)
	w, r := watch(s, eng, "k", WatchOptions{Delay: DefaultDelay})
	_, r0 := watch(s, eng, "k", WatchOptions{}) // Delay 0: same instant, later event
	s.Put("k", []byte("v"), 0)
	assert.Empty(t, r.resps, "never inside Put")
	assert.Empty(t, r0.resps, "never inside Put")
	eng.RunFor(0)
	assert.Len(t, r0.resps, 1)
	assert.Equal(t, []time.Duration{time.Second}, r0.times)
	assert.Empty(t, r.resps)
	eng.RunFor(5 * time.Millisecond)
	require.Len(t, r.resps, 1)
	assert.Equal(t, []time.Duration{time.Second + 5*time.Millisecond}, r.times)
	assert.Equal(t, WatchResponse{WatchID: w.ID(), Rev: 2, Events: []Event{{Type: EventPut, Kv: KeyValue{
		Key: "k", Value: []byte("v"), CreateRevision: 2, ModRevision: 2, Version: 1,
	}}}}, r.resps[0])
}

func TestWatchIDsIncrease(t *testing.T) {
	s, _ := newTestStore(Config{})
	a := s.Watch("a", WatchOptions{}, func(WatchResponse) {})
	b := s.Watch("b", WatchOptions{End: "c"}, func(WatchResponse) {})
	c := s.Watch("c", WatchOptions{StartRev: 7}, func(WatchResponse) {})
	assert.Equal(t, []int64{1, 2, 3}, []int64{a.ID(), b.ID(), c.ID()})
}

// TestTxnEventsArriveTogetherInSubRevisionOrder: the changes of one txn
// arrive in one response, in the order the txn made them, all at its
// revision; a watcher of part of the range gets its part.
func TestTxnEventsArriveTogetherInSubRevisionOrder(t *testing.T) {
	s, eng := newTestStore(Config{})
	s.Put("p/c", []byte("0"), 0) // 2
	_, all := watch(s, eng, "p/", WatchOptions{End: PrefixEnd("p/"), PrevKV: true})
	_, one := watch(s, eng, "p/a", WatchOptions{})
	_, err := s.Txn(TxnRequest{Success: []Op{
		OpPutKV("p/b", []byte("1")),
		OpPutKV("p/a", []byte("1")),
		OpDel("p/c", ""),
		OpPutKV("q", []byte("1")),
		OpPutKV("p/a", []byte("2")),
	}})
	require.NoError(t, err)
	n, _ := s.DeleteRange("p/", PrefixEnd("p/")) // 4: in key order
	assert.Equal(t, int64(2), n)
	eng.RunFor(0)
	require.Len(t, all.resps, 2)
	assert.Equal(t, []string{
		"PUT p/b@3=1", "PUT p/a@3=1", "DELETE p/c@3 (prev 0@2)", "PUT p/a@3=2 (prev 1@3)",
		"DELETE p/a@4 (prev 2@3)", "DELETE p/b@4 (prev 1@3)",
	}, all.events())
	assert.Equal(t, []string{"PUT p/a@3=1", "PUT p/a@3=2", "DELETE p/a@4"}, one.events())
	assert.Len(t, one.resps, 2)
}

func TestWatchReplaysHistoryBeforeLaterChanges(t *testing.T) {
	s, eng := newTestStore(Config{WatchDelay: time.Millisecond})
	s.Put("k", []byte("1"), 0) // 2
	s.Put("j", []byte("1"), 0) // 3
	s.Put("k", []byte("2"), 0) // 4
	s.Delete("k")              // 5
	s.Put("k", []byte("3"), 0) // 6
	_, exact := watch(s, eng, "k", WatchOptions{StartRev: 3, PrevKV: true, Delay: DefaultDelay})
	_, rng := watch(s, eng, "a", WatchOptions{End: "z", StartRev: 3, PrevKV: true, Delay: DefaultDelay})
	s.Put("k", []byte("4"), 0) // 7, written in the same instant as the watches opened
	eng.RunFor(time.Millisecond)
	for r, replayed := range map[*recorder]int{exact: 3, rng: 4} {
		require.Len(t, r.resps, 2, "the replay, then the live change")
		assert.Len(t, r.resps[0].Events, replayed, "the replay comes in one response")
		assert.Equal(t, int64(7), r.resps[0].Rev)
		assert.Equal(t, []time.Duration{time.Millisecond, time.Millisecond}, r.times)
	}
	assert.Equal(t, []string{"PUT k@4=2 (prev 1@2)", "DELETE k@5 (prev 2@4)", "PUT k@6=3", "PUT k@7=4 (prev 3@6)"}, exact.events())
	assert.Equal(t, []string{"PUT j@3=1", "PUT k@4=2 (prev 1@2)", "DELETE k@5 (prev 2@4)", "PUT k@6=3", "PUT k@7=4 (prev 3@6)"}, rng.events())
}

func TestWatchFromTheFutureWaits(t *testing.T) {
	s, eng := newTestStore(Config{})
	_, r := watch(s, eng, "k", WatchOptions{StartRev: 4})
	s.Put("k", []byte("a"), 0) // 2
	s.Put("k", []byte("b"), 0) // 3
	eng.RunFor(0)
	assert.Empty(t, r.resps)
	s.Put("k", []byte("c"), 0) // 4
	s.Put("k", []byte("d"), 0) // 5
	eng.RunFor(0)
	assert.Equal(t, []string{"PUT k@4=c", "PUT k@5=d"}, r.events())
}

func TestWatchBelowCompactRevisionIsRefused(t *testing.T) {
	s, eng := newTestStore(Config{WatchDelay: time.Millisecond})
	for range 5 {
		s.Put("k", nil, 0)
	} // 6
	require.NoError(t, s.Compact(5))
	w, r := watch(s, eng, "k", WatchOptions{StartRev: 4, Delay: DefaultDelay})
	assert.Equal(t, 0, s.Stats().Watchers, "a refused watch is not open")
	s.Put("k", nil, 0)
	eng.RunFor(time.Hour)
	require.Len(t, r.resps, 1)
	assert.Equal(t, WatchResponse{WatchID: w.ID(), CompactRevision: 5, Canceled: true, Err: ErrCompacted, Rev: 7}, r.resps[0])
	assert.Equal(t, []time.Duration{time.Millisecond}, r.times)
	w.Cancel() // harmless

	// Exactly at the compact revision is allowed.
	_, ok := watch(s, eng, "k", WatchOptions{StartRev: 5})
	eng.RunFor(0)
	assert.Equal(t, []string{"PUT k@5=", "PUT k@6=", "PUT k@7="}, ok.events())
}

// TestWatchAtCompactRevisionSeesChangesGoneFromTheIndex: compaction at c
// drops a tombstone at c and a version superseded within the txn at c from
// the key index, but a watch from c must still replay them. Their previous
// versions are gone (as in etcd), so they carry none.
func TestWatchAtCompactRevisionSeesChangesGoneFromTheIndex(t *testing.T) {
	s, eng := newTestStore(Config{})
	s.Put("k", []byte("1"), 0)                                                                                       // 2
	s.Put("j", []byte("1"), 0)                                                                                       // 3
	_, err := s.Txn(TxnRequest{Success: []Op{OpDel("k", ""), OpPutKV("j", []byte("2")), OpPutKV("j", []byte("3"))}}) // 4
	require.NoError(t, err)
	s.Put("j", []byte("4"), 0) // 5
	require.NoError(t, s.Compact(4))
	assert.Nil(t, s.lookup("k"), "the tombstone at the compact revision left the index")
	assert.Equal(t, "{4.2 5.0}", s.lookup("j").String())

	_, k := watch(s, eng, "k", WatchOptions{StartRev: 4, PrevKV: true})
	_, j := watch(s, eng, "j", WatchOptions{StartRev: 4, PrevKV: true})
	_, all := watch(s, eng, "", WatchOptions{End: "\x00", StartRev: 4, PrevKV: true})
	eng.RunFor(0)
	assert.Equal(t, []string{"DELETE k@4"}, k.events())
	assert.Equal(t, []string{"PUT j@4=2", "PUT j@4=3", "PUT j@5=4 (prev 3@4)"}, j.events())
	assert.Equal(t, []string{"DELETE k@4", "PUT j@4=2", "PUT j@4=3", "PUT j@5=4 (prev 3@4)"}, all.events())
}

func TestLivePrevKVSurvivesCompactionBeforeDelivery(t *testing.T) {
	s, eng := newTestStore(Config{WatchDelay: time.Second})
	s.Put("k", []byte("1"), 0) // 2
	_, r := watch(s, eng, "k", WatchOptions{PrevKV: true, Delay: DefaultDelay})
	s.Delete("k") // 3
	require.NoError(t, s.Compact(3))
	eng.RunFor(time.Second)
	assert.Equal(t, []string{"DELETE k@3 (prev 1@2)"}, r.events(), "the previous version is taken when the change is made")
}

func TestCancelStopsScheduledDeliveries(t *testing.T) {
	s, eng := newTestStore(Config{WatchDelay: time.Millisecond})
	s.Put("k", nil, 0)
	live, r1 := watch(s, eng, "k", WatchOptions{Delay: DefaultDelay})
	replay, r2 := watch(s, eng, "k", WatchOptions{StartRev: 1, Delay: DefaultDelay})
	refused, r3 := watch(s, eng, "k", WatchOptions{StartRev: 1, Delay: DefaultDelay})
	require.NoError(t, s.Compact(2))
	refused2, r4 := watch(s, eng, "k", WatchOptions{StartRev: 1, Delay: DefaultDelay})
	s.Put("k", nil, 0)
	for _, w := range []*Watcher{live, replay, refused, refused2} {
		w.Cancel()
	}
	assert.Equal(t, 0, s.Stats().Watchers)
	eng.RunFor(time.Hour)
	for _, r := range []*recorder{r1, r2, r3, r4} {
		assert.Empty(t, r.resps)
	}
	assert.Equal(t, 0, s.Stats().PendingDeliveries)
	assert.Equal(t, 0, eng.Pending())
}

// TestCallbacksMayReenterTheStore: a callback that cancels a watcher later
// in the same delivery stops it at once; one that opens a watch does not
// give it the change being delivered; one that writes sees its change
// delivered in a later event, in revision order.
func TestCallbacksMayReenterTheStore(t *testing.T) {
	s, eng := newTestStore(Config{})
	var order []string
	var victim, late *Watcher
	var lateEvents []string
	first := s.Watch("k", WatchOptions{}, func(r WatchResponse) {
		order = append(order, fmt.Sprintf("first@%d", r.Events[0].Kv.ModRevision))
		if r.Events[0].Kv.ModRevision == 2 {
			victim.Cancel()
			late = s.Watch("k", WatchOptions{}, func(r WatchResponse) {
				for _, ev := range r.Events {
					lateEvents = append(lateEvents, fmt.Sprintf("%s@%d", ev.Kv.Key, ev.Kv.ModRevision))
				}
			})
			s.Put("k", []byte("from callback"), 0) // 3
		}
	})
	victim = s.Watch("k", WatchOptions{}, func(r WatchResponse) {
		order = append(order, fmt.Sprintf("victim@%d", r.Events[0].Kv.ModRevision))
	})
	rng := s.Watch("a", WatchOptions{End: "z"}, func(r WatchResponse) {
		order = append(order, fmt.Sprintf("range@%d", r.Events[0].Kv.ModRevision))
	})
	s.Put("k", []byte("v"), 0) // 2
	eng.RunFor(0)
	assert.Equal(t, []string{"first@2", "range@2", "first@3", "range@3"}, order)
	assert.Equal(t, []string{"k@3"}, lateEvents)
	assert.Equal(t, []int64{1, 3, 4}, []int64{first.ID(), rng.ID(), late.ID()})
}

// TestFanoutIsOneEngineEventPerWriteAndDelay: a thousand watchers of one
// prefix cost one engine event per write (per distinct delay), and are
// served in id order, interleaved with exact-key watchers.
func TestFanoutIsOneEngineEventPerWriteAndDelay(t *testing.T) {
	s, eng := newTestStore(Config{})
	var order []int64
	fn := func(r WatchResponse) { order = append(order, r.WatchID) }
	var want []int64
	for i := range 1000 {
		var w *Watcher
		if i%100 == 7 {
			w = s.Watch("p/x", WatchOptions{}, fn)
		} else {
			w = s.Watch("p/", WatchOptions{End: PrefixEnd("p/")}, fn)
		}
		want = append(want, w.ID())
	}
	s.Watch("p/x", WatchOptions{StartRev: 100}, fn) // waiting for revision 100: no delivery
	s.Watch("q", WatchOptions{}, fn)                // not matching
	s.Put("p/x", nil, 0)
	assert.Equal(t, 1, eng.Pending())
	eng.RunFor(0)
	assert.Equal(t, want, order)

	s.Watch("p/y", WatchOptions{Delay: time.Second}, fn)
	s.Watch("p/", WatchOptions{End: PrefixEnd("p/"), Delay: 2 * time.Second}, fn)
	s.Put("p/x", nil, 0)
	assert.Equal(t, 2, eng.Pending(), "one per distinct delay among the watchers that match")
	s.Put("p/y", nil, 0)
	assert.Equal(t, 5, eng.Pending())
	order = nil
	eng.RunFor(time.Hour)
	// Immediately: p/x to the 1000, p/y to the 990 range watchers; at 1s
	// p/y to its own watcher; at 2s both to the slow range watcher.
	require.Len(t, order, 1000+990+1+2)
	assert.Equal(t, want, order[:1000])
	assert.Equal(t, []int64{1003, 1004, 1004}, order[1990:])
}

func TestWatchRangeConventions(t *testing.T) {
	s, eng := newTestStore(Config{})
	_, from := watch(s, eng, "b", WatchOptions{End: "\x00"})
	_, prefix := watch(s, eng, "a", WatchOptions{End: PrefixEnd("a")})
	_, between := watch(s, eng, "a/1", WatchOptions{End: "b"})
	for _, k := range []string{"a", "a/1", "ab", "b", "b/1", "c"} {
		s.Put(k, nil, 0)
	}
	eng.RunFor(0)
	assert.Equal(t, []string{"PUT b@5=", "PUT b/1@6=", "PUT c@7="}, from.events())
	assert.Equal(t, []string{"PUT a@2=", "PUT a/1@3=", "PUT ab@4="}, prefix.events())
	assert.Equal(t, []string{"PUT a/1@3=", "PUT ab@4="}, between.events())
}

// A write's events slice goes back to the store only when every watcher
// that saw it promised not to keep it (Transient): a keeping watcher's
// responses stay intact however many writes follow.
func TestTransientWatchersLetTheStoreReuseEvents(t *testing.T) {
	s, eng := newTestStore(Config{})
	var firsts []*Event
	s.Watch("a", WatchOptions{End: "z", Transient: true}, func(resp WatchResponse) {
		firsts = append(firsts, &resp.Events[0])
	})
	for i := 0; i < 3; i++ {
		s.Put("k", []byte(fmt.Sprint(i)), 0)
		eng.RunFor(0)
	}
	require.Len(t, firsts, 3)
	assert.Same(t, firsts[1], firsts[2], "the slice of one write serves the next")

	_, kept := watch(s, eng, "k", WatchOptions{})
	for i := 3; i < 6; i++ {
		s.Put("k", []byte(fmt.Sprint(i)), 0)
		eng.RunFor(0)
	}
	assert.Equal(t, []string{"PUT k@5=3", "PUT k@6=4", "PUT k@7=5"}, kept.events(), "a keeping watcher's events are its own")
	require.Len(t, firsts, 6)
	assert.NotSame(t, firsts[3], firsts[4])
	assert.NotSame(t, firsts[4], firsts[5])
}
