package mvcc

import (
	"fmt"

	"github.com/google/btree"
)

// keyOrder keeps the store's keyIndexes in key order, for ranges: a B-tree
// (degree 32, as etcd's tree index) whose items carry the key inline, so a
// comparison reads the key's bytes without first loading its keyIndex.
type keyOrder struct {
	t *btree.BTreeG[orderItem]
}

type orderItem struct {
	key string
	ki  *keyIndex
}

// btreeDegree is the branching factor of the key order, as in etcd's tree
// index.
const btreeDegree = 32

func (o *keyOrder) init() {
	o.t = btree.NewG(btreeDegree, func(a, b orderItem) bool { return a.key < b.key })
}

// add inserts a new key.
func (o *keyOrder) add(ki *keyIndex) {
	if _, dup := o.t.ReplaceOrInsert(orderItem{ki.key, ki}); dup {
		panic(fmt.Sprintf("mvcc: key %q added to the index twice", ki.key))
	}
}

// remove deletes ki's key.
func (o *keyOrder) remove(ki *keyIndex) {
	if _, ok := o.t.Delete(orderItem{key: ki.key}); !ok {
		panic(fmt.Sprintf("mvcc: key %q removed from the index but not in it", ki.key))
	}
}

// Len is the number of keys held.
func (o *keyOrder) Len() int { return o.t.Len() }

// ascend calls fn for each key in [lo, hi) in key order (hi == "" means no
// upper bound) until fn returns false. fn must not add or remove keys.
func (o *keyOrder) ascend(lo, hi string, fn func(*keyIndex) bool) {
	visit := func(it orderItem) bool { return fn(it.ki) }
	if hi == "" {
		o.t.AscendGreaterOrEqual(orderItem{key: lo}, visit)
		return
	}
	o.t.AscendRange(orderItem{key: lo}, orderItem{key: hi}, visit)
}

// history holds the store's write records by main revision. Every write
// that changes something takes the next revision, and compaction drops
// records from the oldest end, so the records held always cover a
// contiguous run of revisions: a ring indexed by revision, O(1) to append,
// find and trim.
type history struct {
	buf   []*record
	head  int   // index in buf of the oldest record
	n     int   // records held
	first int64 // main revision of the oldest record (when n > 0)
}

// Len is the number of records held.
func (h *history) Len() int { return h.n }

func (h *history) slot(i int) *(*record) { return &h.buf[(h.head+i)%len(h.buf)] }

// push appends rec, whose revision must follow the newest held.
func (h *history) push(rec *record) {
	if h.n == 0 {
		h.first = rec.main
	} else if want := h.first + int64(h.n); rec.main != want {
		panic(fmt.Sprintf("mvcc: history record at revision %d, want %d", rec.main, want))
	}
	if h.n == len(h.buf) {
		grown := make([]*record, max(64, 2*len(h.buf)))
		for i := 0; i < h.n; i++ {
			grown[i] = *h.slot(i)
		}
		h.buf, h.head = grown, 0
	}
	*h.slot(h.n) = rec
	h.n++
}

// get returns the record at main revision main, if held.
func (h *history) get(main int64) (*record, bool) {
	if h.n == 0 || main < h.first || main >= h.first+int64(h.n) {
		return nil, false
	}
	return *h.slot(int(main - h.first)), true
}

// ascend calls fn for each record with main revision in [from, to), oldest
// first, until fn returns false.
func (h *history) ascend(from, to int64, fn func(*record) bool) {
	if h.n == 0 {
		return
	}
	from = max(from, h.first)
	to = min(to, h.first+int64(h.n))
	for m := from; m < to; m++ {
		if !fn(*h.slot(int(m - h.first))) {
			return
		}
	}
}

// trimBelow drops the records with main revision below rev and returns
// how many events they held.
func (h *history) trimBelow(rev int64) (events int) {
	for h.n > 0 && h.first < rev {
		s := h.slot(0)
		events += len((*s).events)
		*s = nil
		h.head = (h.head + 1) % len(h.buf)
		h.n--
		h.first++
	}
	if h.n == 0 {
		h.head = 0
	}
	return events
}
