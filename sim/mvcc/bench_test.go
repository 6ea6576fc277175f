package mvcc

import (
	"strconv"
	"testing"
	"time"

	"github.com/kubesim/kubesim/sim"
)

// benchKeys returns n distinct keys shaped like the API server's.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "/registry/pods/default/pod-" + strconv.Itoa(i)
	}
	return keys
}

func reportRate(b *testing.B, n int, unit string) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(n)/s, unit)
	}
}

func BenchmarkPut(b *testing.B) {
	value := make([]byte, 512)
	b.Run("single-key", func(b *testing.B) {
		s := New(sim.New(1), Config{})
		b.ReportAllocs()
		for b.Loop() {
			s.Put("/registry/pods/default/pod-0", value, 0)
		}
		reportRate(b, b.N, "writes/s")
	})
	// Steady state: compacting every 1000 writes, so memory stays bounded
	// and the cost of compaction is in the figure.
	b.Run("single-key-compacting", func(b *testing.B) {
		s := New(sim.New(1), Config{})
		b.ReportAllocs()
		for b.Loop() {
			if rev := s.Put("/registry/pods/default/pod-0", value, 0); rev%1000 == 0 {
				if err := s.Compact(rev - 500); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportRate(b, b.N, "writes/s")
	})
	b.Run("distinct-keys", func(b *testing.B) {
		keys := benchKeys(b.N) // b.N is known up front in this loop style
		s := New(sim.New(1), Config{})
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.Put(keys[i], value, 0)
		}
		reportRate(b, b.N, "writes/s")
	})
	// Updates spread over 10,000 existing keys.
	b.Run("10k-keys-updates", func(b *testing.B) {
		keys := benchKeys(10_000)
		s := New(sim.New(1), Config{})
		for _, k := range keys {
			s.Put(k, value, 0)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s.Put(keys[i%len(keys)], value, 0)
			i++
		}
		reportRate(b, b.N, "writes/s")
	})
}

func BenchmarkRangeOne(b *testing.B) {
	keys := benchKeys(10_000)
	s := New(sim.New(1), Config{})
	value := make([]byte, 512)
	for round := range 5 {
		for _, k := range keys {
			s.Put(k, value, int64(round))
		}
	}
	for _, c := range []struct {
		name string
		rev  int64
	}{{"current", 0}, {"past", 3 * 10_000}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r, err := s.Range(keys[i%len(keys)], "", RangeOptions{Rev: c.rev})
				if err != nil || len(r.KVs) != 1 {
					b.Fatal(err, r)
				}
				i++
			}
			reportRate(b, b.N, "reads/s")
		})
	}
}

// BenchmarkRangePrefix lists 100 of 10,000 keys, as a namespaced LIST does.
func BenchmarkRangePrefix(b *testing.B) {
	s := New(sim.New(1), Config{})
	for ns := range 100 {
		for i := range 100 {
			s.Put("/registry/pods/ns-"+strconv.Itoa(ns)+"/pod-"+strconv.Itoa(i), nil, 0)
		}
	}
	prefix := "/registry/pods/ns-42/"
	end := PrefixEnd(prefix)
	b.ReportAllocs()
	for b.Loop() {
		r, err := s.Range(prefix, end, RangeOptions{})
		if err != nil || len(r.KVs) != 100 {
			b.Fatal(err, r)
		}
	}
}

// BenchmarkTxnCAS is the API server's update: If(mod == seen) Then(Put).
func BenchmarkTxnCAS(b *testing.B) {
	keys := benchKeys(1000)
	s := New(sim.New(1), Config{})
	mods := make([]int64, len(keys))
	for i, k := range keys {
		mods[i] = s.Put(k, nil, 0)
	}
	value := make([]byte, 512)
	req := TxnRequest{Compare: make([]Compare, 1), Success: make([]Op, 1)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(keys)
		req.Compare[0] = Compare{Key: keys[k], Target: CompareMod, Result: CompareEqual, Int: mods[k]}
		req.Success[0] = OpPutKV(keys[k], value)
		resp, err := s.Txn(req)
		if err != nil || !resp.Succeeded {
			b.Fatal("CAS failed", err)
		}
		mods[k] = resp.Rev
		i++
	}
	reportRate(b, b.N, "txns/s")
}

// BenchmarkWatchFanout1000: 1,000 watchers on one prefix; each iteration
// writes a key under it and runs the engine until every watcher has it.
func BenchmarkWatchFanout1000(b *testing.B) {
	for _, prevKV := range []bool{false, true} {
		name := "plain"
		if prevKV {
			name = "prevKV"
		}
		b.Run(name, func(b *testing.B) {
			eng := sim.New(1)
			s := New(eng, Config{WatchDelay: time.Millisecond})
			keys := benchKeys(100)
			prefix := "/registry/pods/"
			deliveries := 0
			fn := func(r WatchResponse) { deliveries += len(r.Events) }
			for range 1000 {
				s.Watch(prefix, WatchOptions{End: PrefixEnd(prefix), PrevKV: prevKV, Delay: DefaultDelay}, fn)
			}
			value := make([]byte, 512)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.Put(keys[i%len(keys)], value, 0)
				eng.RunFor(time.Millisecond)
				i++
				if i%10_000 == 0 {
					if err := s.Compact(s.Rev() - 100); err != nil {
						b.Fatal(err)
					}
				}
			}
			if deliveries != 1000*b.N {
				b.Fatalf("%d deliveries for %d writes", deliveries, b.N)
			}
			reportRate(b, b.N, "writes/s")
			reportRate(b, deliveries, "deliveries/s")
		})
	}
}

// BenchmarkWatchReplay opens a watch on one key 10,000 revisions back,
// among writes to 1,000 keys: the replay reads 10 changes through the key
// index, not 10,000 through the history.
func BenchmarkWatchReplay(b *testing.B) {
	eng := sim.New(1)
	s := New(eng, Config{})
	keys := benchKeys(1000)
	for round := range 10 {
		for _, k := range keys {
			s.Put(k, nil, int64(round))
		}
	}
	start := s.Rev() - 10_000 + 1
	n := 0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w := s.Watch(keys[i%len(keys)], WatchOptions{StartRev: start}, func(r WatchResponse) { n += len(r.Events) })
		eng.RunFor(0)
		w.Cancel()
		i++
	}
	if n != 10*b.N {
		b.Fatalf("replayed %d events for %d watches", n, b.N)
	}
}
