package mvcc

import (
	"fmt"
	"slices"
	"sort"
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

// record holds the changes one write made, in sub-revision order: events[i]
// happened at revision {main, i}. A record is immutable once its write has
// ended; the watch history, the key index and pending watch deliveries share
// it.
type record struct {
	main   int64
	events []Event
	one    [1]Event // backing array for the common single-change write
}

// newRecord returns an empty record for a write at main revision main.
func newRecord(main int64) *record {
	r := &record{main: main}
	r.events = r.one[:0]
	return r
}

// keyRev is one entry in a key's index: a put, or the tombstone ending a
// generation. The change itself is rec.events[i].
type keyRev struct {
	rev revision
	rec *record
	i   int32
}

func (k keyRev) event() *Event { return &k.rec.events[k.i] }

// kv is the version's key-value. For a tombstone it is the DELETE event's Kv.
func (k keyRev) kv() *KeyValue { return &k.rec.events[k.i].Kv }

func (k keyRev) tombstone() bool { return k.rec.events[k.i].Type == EventDelete }

// generation is one life of a key, from the put that created it to the
// tombstone that ended it.
type generation struct {
	// revs ascend. In every generation but the last, the last entry is the
	// tombstone and only that one; the last generation has no tombstone and
	// is empty while the key does not exist. After a compaction at c the
	// first entry of a generation may be the newest version at or below c
	// rather than the put that created the generation.
	revs []keyRev
}

// keyIndex holds every version of one key that the store still keeps,
// grouped into generations, as etcd's key_index.go does. A delete appends a
// tombstone to the live generation and opens a new, empty one.
//
// For example, on key "foo": put at 2, put at 3, delete at 4, put at 5, put
// at 6, delete at 7, put at 8 (each write a separate revision, sub 0) gives
//
//	key:      "foo"
//	modified: 8.0
//	generations:
//	    {8.0}                  the live generation: version 1, created at 8
//	    {5.0, 6.0, 7.0(t)}     versions 1, 2; created at 5; deleted at 7
//	    {2.0, 3.0, 4.0(t)}     versions 1, 2; created at 2; deleted at 4
//
// Compact(c) keeps, in each key, the newest version at or below c and every
// version above it. If that newest version is a tombstone it goes too, with
// its generation; a key left with only an empty live generation leaves the
// index. On the example:
//
//	compact(3): {2.0, 3.0, 4.0(t)}  → {3.0, 4.0(t)}         2.0 was superseded by 3.0
//	compact(4): {3.0, 4.0(t)}       → dropped               the newest at or below 4 is a tombstone
//	compact(6): {5.0, 6.0, 7.0(t)}  → {6.0, 7.0(t)}
//	compact(8): {6.0, 7.0(t)}       → dropped; {8.0} stays  8.0 is the newest at or below 8
//
// and after "foo" is deleted at 9, compact(9) leaves only {empty}, so the key
// is removed. A read at revision r finds the generation whose revisions
// bracket r and, in it, the newest version at or below r; a tombstone there
// (or no such generation) means the key did not exist at r.
type keyIndex struct {
	key      string
	modified revision     // the newest revision in gens; revisions only grow
	gens     []generation // oldest first; never empty; the last is the live one
	// compacted is the revision of the last compaction that visited this
	// key, so one compaction visits it once.
	compacted int64
	// gen0 and rev0 back the first generation and its first entry, so a
	// key written once costs one allocation.
	gen0 [1]generation
	rev0 [1]keyRev
}

func newKeyIndex(key string) *keyIndex {
	ki := &keyIndex{key: key}
	ki.gens = ki.gen0[:]
	ki.gens[0].revs = ki.rev0[:0]
	return ki
}

// live is the key's current version, if it exists now.
func (ki *keyIndex) live() (keyRev, bool) {
	g := ki.gens[len(ki.gens)-1].revs
	if len(g) == 0 {
		return keyRev{}, false
	}
	return g[len(g)-1], true
}

// isEmpty reports whether the index holds nothing but an empty live
// generation, so the key can leave the store's index.
func (ki *keyIndex) isEmpty() bool { return len(ki.gens) == 1 && len(ki.gens[0].revs) == 0 }

// put appends a put to the live generation, opening it if it is empty.
func (ki *keyIndex) put(kr keyRev) {
	if !ki.modified.less(kr.rev) {
		panic(fmt.Sprintf("mvcc: put of %q at revision %v, not after its last change %v", ki.key, kr.rev, ki.modified))
	}
	g := &ki.gens[len(ki.gens)-1]
	g.revs = append(g.revs, kr)
	ki.modified = kr.rev
}

// tombstone ends the live generation with kr, a delete, and opens a new
// empty one. The key must exist.
func (ki *keyIndex) tombstone(kr keyRev) {
	if _, ok := ki.live(); !ok {
		panic(fmt.Sprintf("mvcc: tombstone of %q at revision %v, but it does not exist", ki.key, kr.rev))
	}
	ki.put(kr)
	ki.gens = append(ki.gens, generation{})
}

// lastAtOrBelow is the index of the newest entry of revs with main revision
// at most at, or -1.
func lastAtOrBelow(revs []keyRev, at int64) int {
	lo, hi := 0, len(revs) // revs[:lo] are <= at, revs[hi:] are > at
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if revs[mid].rev.main <= at {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// get returns the version of the key visible at main revision at: the
// newest change at or below at, unless that is a tombstone. Within one main
// revision the highest sub-revision wins, so a txn reading its own writes
// sees the last of them.
func (ki *keyIndex) get(at int64) (keyRev, bool) {
	last := len(ki.gens) - 1
	for gi := last; gi >= 0; gi-- {
		revs := ki.gens[gi].revs
		n := len(revs)
		if n == 0 {
			continue // only the live generation can be empty
		}
		if gi != last && revs[n-1].rev.main <= at {
			return keyRev{}, false // deleted at or before at, not re-created by then
		}
		if revs[0].rev.main > at {
			continue // this generation began after at
		}
		if revs[n-1].rev.main <= at {
			return revs[n-1], true // the common read at the current revision
		}
		return revs[lastAtOrBelow(revs, at)], true
	}
	return keyRev{}, false
}

// find locates the entry at exactly rev: its generation and position.
func (ki *keyIndex) find(rev revision) (gi, j int, ok bool) {
	// The last generation whose first revision is <= rev is the only one
	// that can hold it.
	lo, hi := 0, len(ki.gens)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		g := ki.gens[mid].revs
		if len(g) > 0 && !rev.less(g[0].rev) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	gi = lo - 1
	if gi < 0 {
		return 0, 0, false
	}
	revs := ki.gens[gi].revs
	j, ok = slices.BinarySearchFunc(revs, rev, func(k keyRev, r revision) int {
		switch {
		case k.rev.less(r):
			return -1
		case r.less(k.rev):
			return 1
		}
		return 0
	})
	return gi, j, ok
}

// prevOf returns the version the change at rev replaced, if the key existed
// just before it and the index still holds that version.
func (ki *keyIndex) prevOf(rev revision) (keyRev, bool) {
	gi, j, ok := ki.find(rev)
	if !ok || j == 0 {
		return keyRev{}, false
	}
	return ki.gens[gi].revs[j-1], true
}

// firstFrom returns the position of the first entry with main revision >=
// from: generation gi, index j. gi == len(gens) when there is none.
func (ki *keyIndex) firstFrom(from int64) (gi, j int) {
	// Generations whose last entry is below from hold nothing of interest.
	gi, _ = slices.BinarySearchFunc(ki.gens, from, func(g generation, from int64) int {
		if len(g.revs) == 0 || g.revs[len(g.revs)-1].rev.main >= from {
			return 1
		}
		return -1
	})
	if gi == len(ki.gens) {
		return gi, 0
	}
	revs := ki.gens[gi].revs
	return gi, lastAtOrBelow(revs, from-1) + 1
}

// compact drops the versions that a compaction at c discards (see the
// keyIndex comment) and returns how many it dropped. The version kept at or
// below c is moved out of a multi-change record, so the record's memory can
// go once the history lets it go.
func (ki *keyIndex) compact(c int64) (dropped int) {
	// gi is the last generation that began at or below c: it holds the
	// key's newest version at or below c. (Several generations can begin
	// in one main revision when a txn deletes and re-creates a key, so
	// etcd's "first generation whose tombstone is >= c" is not enough.)
	gi := sort.Search(len(ki.gens), func(i int) bool {
		revs := ki.gens[i].revs
		return len(revs) == 0 || revs[0].rev.main > c
	}) - 1
	if gi < 0 {
		return 0 // every version is newer than c
	}
	for _, g := range ki.gens[:gi] {
		dropped += len(g.revs)
	}
	revs := ki.gens[gi].revs
	if j := lastAtOrBelow(revs, c); j == len(revs)-1 && gi != len(ki.gens)-1 {
		// The newest version at or below c is this generation's tombstone:
		// the whole generation goes.
		dropped += len(revs)
		gi++
	} else {
		dropped += j
		if j > 0 {
			revs = slices.Clone(revs[j:])
			ki.gens[gi].revs = revs
		}
		if kr := &revs[0]; len(kr.rec.events) > 1 {
			kr.rec = &record{main: kr.rev.main, one: [1]Event{*kr.event()}}
			kr.rec.events = kr.rec.one[:]
			kr.i = 0
		}
	}
	if gi > 0 {
		ki.gens = slices.Clone(ki.gens[gi:])
	}
	return dropped
}

// String draws the generations newest first, as in the keyIndex comment,
// e.g. "{8.0} {5.0 6.0 7.0(t)}".
func (ki *keyIndex) String() string {
	var b []byte
	for gi := len(ki.gens) - 1; gi >= 0; gi-- {
		if gi != len(ki.gens)-1 {
			b = append(b, ' ')
		}
		b = append(b, '{')
		if len(ki.gens[gi].revs) == 0 {
			b = append(b, "empty"...)
		}
		for j, kr := range ki.gens[gi].revs {
			if j > 0 {
				b = append(b, ' ')
			}
			b = fmt.Appendf(b, "%v", kr.rev)
			if kr.tombstone() {
				b = append(b, "(t)"...)
			}
		}
		b = append(b, '}')
	}
	return string(b)
}
