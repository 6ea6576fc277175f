// Package mvcc is an in-memory key-value store with etcd v3's semantics:
// a global revision, per-key create/mod revisions and versions, generations
// and tombstones, ranges at past revisions, transactions, watches delivered
// through the simulation engine, and compaction.
//
// It owns the data of a simulated etcd and nothing else: no leases (a
// KeyValue's lease is just a number), no auth, no cluster. The API server is
// its one client.
//
// A store starts at revision 1; every write that changes something (a Put, a
// Delete or DeleteRange that deletes something, a Txn whose branch writes)
// takes the next revision, and the changes of one Txn share it with
// sub-revisions 0, 1, 2…. Reads at any revision from the compact revision up
// return exactly what they returned when that revision was current.
//
// Watch callbacks never run inside the call that made the change: each
// write schedules one engine event per distinct watcher delay, and the
// engine delivers. The usage loop:
//
//	eng := sim.New(seed)
//	st := mvcc.New(eng, mvcc.Config{WatchDelay: time.Millisecond})
//	w := st.Watch("/registry/pods/", mvcc.WatchOptions{
//		End:      mvcc.PrefixEnd("/registry/pods/"),
//		StartRev: listRev + 1, // resume after a list
//		Delay:    mvcc.DefaultDelay,
//	}, func(r mvcc.WatchResponse) {
//		if r.Canceled { /* compacted: list again, then watch again */ }
//		for _, ev := range r.Events { /* ev.Type, ev.Kv, ev.PrevKV */ }
//	})
//	resp, _ := st.Txn(mvcc.TxnRequest{ // compare-and-swap on mod revision
//		Compare: []mvcc.Compare{{Key: k, Target: mvcc.CompareMod, Result: mvcc.CompareEqual, Int: seenRev}},
//		Success: []mvcc.Op{mvcc.OpPutKV(k, data)},
//	})
//	eng.RunFor(time.Second) // the watcher's callback runs here
//	w.Cancel()
//
// Costs, with n keys: a single-key Range, Get, Put or PutIfMod is a hash
// lookup plus O(log v) in the key's v versions; a new key is appended to its
// directory (the key up to its last '/'), which a range sorts lazily, so a
// range costs O(log n + keys in the directories it reads); a watch replay
// of one key is O(changes replayed); Compact is O(changes discarded). The
// history of writes is a ring indexed by revision.
//
// Memory: a key written once is one allocation (its index with its one
// version) plus its key and value. Values are shared between the writer,
// the store and every reader (see Store), except that a superseded version
// is kept as a reverse delta against the next one when that is smaller
// (versions of one object differ in a few fields: the delta copies the runs
// they share and keeps the rest; see internal/bytedelta); reading such a version
// rebuilds it. No reader can tell: every read returns the bytes that were
// written.
package mvcc
