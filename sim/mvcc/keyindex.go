package mvcc

import (
	"fmt"
	"slices"

	"github.com/kubesim/kubesim/internal/bytedelta"
)

// revision identifies one change: main is the store revision of the write
// (one Put, Delete or Txn), sub the position of the change inside it. The
// public revision is main; sub orders the changes of one txn.
type revision struct {
	main int64
	sub  int64
}

func (a revision) less(b revision) bool {
	if a.main != b.main {
		return a.main < b.main
	}
	return a.sub < b.sub
}

func (a revision) String() string { return fmt.Sprintf("%d.%d", a.main, a.sub) }

// entry is one version of a key: a put, or the tombstone that ends a
// generation of the key. It holds everything a KeyValue needs but the key.
//
// A superseded version's value may be kept as a reverse delta against the
// next version of the key (see keyIndex.put and internal/bytedelta): value
// then holds the delta, and full the length of the value it rebuilds.
//
// An entry is 56 bytes (a store holds one per version, hundreds of
// thousands in a big cluster): the version is an int32 (a key would need
// 2^31 writes to overflow it), and a lease, which the API server never
// attaches, is kept by the store beside the entries (Store.leases).
type entry struct {
	main    int64
	create  int64 // create revision of the entry's generation (0 for a tombstone)
	value   []byte
	version int32 // 1 on creation, +1 per put; 0 for a tombstone
	sub     int32
	full    uint32 // delta: the length of the value it rebuilds
	tomb    bool
	delta   bool // value is a reverse delta against the next entry's value
	leased  bool // put with a lease: Store.leases holds it
}

func (e *entry) rev() revision { return revision{e.main, int64(e.sub)} }

// keyIndex holds every version of one key that the store still keeps, in
// revision order: puts, and tombstones that end the key's generations (a
// generation is one life of the key, from the put that created it to the
// tombstone that ended it), as etcd's key_index.go holds them.
//
// For example, on key "foo": put at 2, put at 3, delete at 4, put at 5, put
// at 6, delete at 7, put at 8 (each write a separate revision, sub 0) gives
//
//	key:      "foo"
//	entries:  2.0 3.0 4.0(t) 5.0 6.0 7.0(t) 8.0
//	generations (newest first, as String draws them):
//	    {8.0}                  the live generation: version 1, created at 8
//	    {5.0, 6.0, 7.0(t)}     versions 1, 2; created at 5; deleted at 7
//	    {2.0, 3.0, 4.0(t)}     versions 1, 2; created at 2; deleted at 4
//
// Compact(c) keeps, in each key, the newest version at or below c and every
// version above it. If that newest version is a tombstone it goes too; a
// key left with nothing leaves the index. On the example:
//
//	compact(3): {2.0, 3.0, 4.0(t)}  → {3.0, 4.0(t)}         2.0 was superseded by 3.0
//	compact(4): {3.0, 4.0(t)}       → dropped               the newest at or below 4 is a tombstone
//	compact(6): {5.0, 6.0, 7.0(t)}  → {6.0, 7.0(t)}
//	compact(8): {6.0, 7.0(t)}       → dropped; {8.0} stays  8.0 is the newest at or below 8
//
// and after "foo" is deleted at 9, compact(9) leaves nothing, so the key is
// removed. A read at revision r finds the newest entry at or below r; a
// tombstone there (or no such entry) means the key did not exist at r.
// Within one main revision (a txn changing the key several times) the
// highest sub-revision wins, so a txn reading its own writes sees the last.
type keyIndex struct {
	key     string
	entries []entry // ascending by revision; the last is the latest change
	// compacted is the revision of the last compaction that visited this
	// key, so one compaction visits it once.
	compacted int64
	// removed: the key left the store's index (see keyOrder).
	removed bool
	// one backs entries while the key has a single version, so a key
	// written once costs one allocation.
	one [1]entry
}

func newKeyIndex(key string) *keyIndex {
	ki := &keyIndex{}
	ki.init(key)
	return ki
}

// init makes ki, a zero keyIndex, the empty index of key (its entries in
// one while there is a single version).
func (ki *keyIndex) init(key string) {
	ki.key = key
	ki.entries = ki.one[:0]
}

// live is the key's current version, if it exists now.
func (ki *keyIndex) live() (*entry, bool) {
	if n := len(ki.entries); n > 0 && !ki.entries[n-1].tomb {
		return &ki.entries[n-1], true
	}
	return nil, false
}

// isEmpty reports whether the index holds no version, so the key can leave
// the store's index.
func (ki *keyIndex) isEmpty() bool { return len(ki.entries) == 0 }

// minDelta is the smallest saving for which a superseded value is kept as a
// reverse delta rather than whole.
const minDelta = 64

// maxDeltaRun bounds a run of consecutive deltas: every so many versions
// one is kept whole, so reading any version rebuilds at most maxDeltaRun
// values and a replay of v versions costs O(v).
const maxDeltaRun = 8

// put appends a change (a put, or with e.tomb a tombstone; the key must
// exist for a tombstone). When a put supersedes a put, the superseded
// value is kept as a reverse delta against the new one if that saves at
// least minDelta bytes: versions of one object differ in a few fields, and
// old versions are rarely read.
func (ki *keyIndex) put(e entry) {
	n := len(ki.entries)
	if n > 0 {
		if last := &ki.entries[n-1]; !last.rev().less(e.rev()) {
			panic(fmt.Sprintf("mvcc: change of %q at revision %v, not after its last change %v", ki.key, e.rev(), last.rev()))
		}
	}
	if e.tomb {
		if _, ok := ki.live(); !ok {
			panic(fmt.Sprintf("mvcc: tombstone of %q at revision %v, but it does not exist", ki.key, e.rev()))
		}
	} else if prev, ok := ki.live(); ok {
		if ki.deltaRun() < maxDeltaRun {
			prev.deltaAgainst(e.value)
		}
	}
	ki.entries = append(ki.entries, e)
}

// deltaRun is the number of consecutive deltas just before the last entry.
func (ki *keyIndex) deltaRun() int {
	n := 0
	for i := len(ki.entries) - 2; i >= 0 && ki.entries[i].delta; i-- {
		n++
	}
	return n
}

// deltaAgainst turns e's value (whole) into a reverse delta against next,
// the value of the key's next version, when that saves enough.
func (e *entry) deltaAgainst(next []byte) {
	v := e.value
	if len(v) < minDelta || len(v) > maxDeltaValue {
		return
	}
	var buf [1024]byte
	d := bytedelta.Encode(buf[:0], v, next)
	if len(v)-len(d) < minDelta {
		return
	}
	e.value = append(make([]byte, 0, len(d)), d...)
	e.delta, e.full = true, uint32(len(v))
}

// maxDeltaValue bounds the values kept as deltas (the length fits the
// entry's uint32 with room to spare).
const maxDeltaValue = 1 << 30

// value returns the full value of entries[i], rebuilding it from the next
// versions when it is kept as a delta (a fresh slice then).
func (ki *keyIndex) value(i int) []byte {
	e := &ki.entries[i]
	if !e.delta {
		return e.value
	}
	return bytedelta.Apply(make([]byte, 0, e.full), e.value, ki.value(i+1))
}

// kv returns the KeyValue of entries[i] without its lease (Store.kv adds
// it); a tombstone's is the DELETE event's (key and mod revision only).
func (ki *keyIndex) kv(i int) KeyValue {
	e := &ki.entries[i]
	if e.tomb {
		return KeyValue{Key: ki.key, ModRevision: e.main}
	}
	return KeyValue{Key: ki.key, Value: ki.value(i), CreateRevision: e.create, ModRevision: e.main, Version: int64(e.version)}
}

// event returns the change entries[i] as a watch event, without PrevKV
// and without the lease (Store.event adds it).
func (ki *keyIndex) event(i int) Event {
	t := EventPut
	if ki.entries[i].tomb {
		t = EventDelete
	}
	return Event{Type: t, Kv: ki.kv(i)}
}

// lastAtOrBelow is the index of the newest entry with main revision at most
// at, or -1.
func (ki *keyIndex) lastAtOrBelow(at int64) int {
	es := ki.entries
	if n := len(es); n > 0 && es[n-1].main <= at {
		return n - 1 // the common read at the current revision
	}
	lo, hi := 0, len(es) // es[:lo] are <= at, es[hi:] are > at
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if es[mid].main <= at {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// get returns the index of the version of the key visible at main revision
// at: the newest change at or below at, unless that is a tombstone.
func (ki *keyIndex) get(at int64) (int, bool) {
	i := ki.lastAtOrBelow(at)
	if i < 0 || ki.entries[i].tomb {
		return 0, false
	}
	return i, true
}

// find locates the entry at exactly rev.
func (ki *keyIndex) find(rev revision) (int, bool) {
	return slices.BinarySearchFunc(ki.entries, rev, func(e entry, r revision) int {
		switch er := e.rev(); {
		case er.less(r):
			return -1
		case r.less(er):
			return 1
		}
		return 0
	})
}

// prevOf returns the index of the version the change at entries[i]
// replaced, if the key existed just before it and the index still holds
// that version.
func (ki *keyIndex) prevOf(i int) (int, bool) {
	if i == 0 || ki.entries[i-1].tomb {
		return 0, false
	}
	return i - 1, true
}

// firstFrom returns the index of the first entry with main revision >=
// from (len(entries) when there is none).
func (ki *keyIndex) firstFrom(from int64) int { return ki.lastAtOrBelow(from-1) + 1 }

// compact drops the versions that a compaction at c discards (see the
// keyIndex comment) and returns them.
func (ki *keyIndex) compact(c int64) (dropped []entry) {
	j := ki.lastAtOrBelow(c)
	if j < 0 {
		return nil // every version is newer than c
	}
	if !ki.entries[j].tomb {
		j-- // the newest version at or below c stays
	}
	dropped = ki.entries[:j+1]
	if len(dropped) > 0 {
		// A fresh array, so the dropped versions' memory can go.
		ki.entries = slices.Clone(ki.entries[len(dropped):])
	}
	return dropped
}

// String draws the generations newest first, as in the keyIndex comment,
// e.g. "{8.0} {5.0 6.0 7.0(t)}"; a key whose last change is a tombstone
// starts with its empty live generation, "{empty}".
func (ki *keyIndex) String() string {
	var gens [][]string
	cur := []string{}
	for i := range ki.entries {
		e := &ki.entries[i]
		s := e.rev().String()
		if e.tomb {
			s += "(t)"
		}
		cur = append(cur, s)
		if e.tomb {
			gens = append(gens, cur)
			cur = []string{}
		}
	}
	gens = append(gens, cur)
	var b []byte
	for gi := len(gens) - 1; gi >= 0; gi-- {
		if gi != len(gens)-1 {
			b = append(b, ' ')
		}
		b = append(b, '{')
		if len(gens[gi]) == 0 {
			b = append(b, "empty"...)
		}
		for j, s := range gens[gi] {
			if j > 0 {
				b = append(b, ' ')
			}
			b = append(b, s...)
		}
		b = append(b, '}')
	}
	return string(b)
}
