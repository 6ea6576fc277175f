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

// history holds, for every write the store keeps for watch replay, the
// keys it changed in sub-revision order. Every write that changes
// something takes the next revision, and compaction drops writes from the
// oldest end, so the writes held always cover a contiguous run of
// revisions: a ring indexed by revision, O(1) to append, find and trim.
// The usual write changes one key and takes one slot; the keys of a txn
// that changed several are kept aside in multi.
type history struct {
	buf   []*keyIndex // nil: see multi
	multi map[int64][]*keyIndex
	head  int   // index in buf of the oldest write
	n     int   // writes held
	first int64 // main revision of the oldest write (when n > 0)
	one   [1]*keyIndex
}

// Len is the number of writes held.
func (h *history) Len() int { return h.n }

func (h *history) slot(i int) **keyIndex { return &h.buf[(h.head+i)%len(h.buf)] }

// push appends the write at main revision main, which must follow the
// newest held, that changed keys (in sub-revision order).
func (h *history) push(main int64, keys []*keyIndex) {
	if h.n == 0 {
		h.first = main
	} else if want := h.first + int64(h.n); main != want {
		panic(fmt.Sprintf("mvcc: history write at revision %d, want %d", main, want))
	}
	if h.n == len(h.buf) {
		grown := make([]*keyIndex, max(64, 2*len(h.buf)))
		for i := 0; i < h.n; i++ {
			grown[i] = *h.slot(i)
		}
		h.buf, h.head = grown, 0
	}
	if len(keys) == 1 {
		*h.slot(h.n) = keys[0]
	} else {
		if h.multi == nil {
			h.multi = map[int64][]*keyIndex{}
		}
		h.multi[main] = append([]*keyIndex(nil), keys...)
		*h.slot(h.n) = nil
	}
	h.n++
}

// keys returns the keys the write at main changed, in sub-revision order
// (one, or many), if the write is held.
func (h *history) keys(main int64) (one *keyIndex, many []*keyIndex, ok bool) {
	if h.n == 0 || main < h.first || main >= h.first+int64(h.n) {
		return nil, nil, false
	}
	if ki := *h.slot(int(main - h.first)); ki != nil {
		return ki, nil, true
	}
	return nil, h.multi[main], true
}

// ascend calls fn for each write held with main revision in [from, to),
// oldest first, with the keys it changed in sub-revision order, until fn
// returns false. keys is valid only during the call; fn must not push.
func (h *history) ascend(from, to int64, fn func(main int64, keys []*keyIndex) bool) {
	if h.n == 0 {
		return
	}
	from = max(from, h.first)
	to = min(to, h.first+int64(h.n))
	for m := from; m < to; m++ {
		keys := h.multi[m]
		if ki := *h.slot(int(m - h.first)); ki != nil {
			h.one[0] = ki
			keys = h.one[:]
		}
		ok := fn(m, keys)
		h.one[0] = nil
		if !ok {
			return
		}
	}
}

// changes is the number of changes of the write at slot i.
func (h *history) changes(i int) int {
	if *h.slot(i) != nil {
		return 1
	}
	return len(h.multi[h.first+int64(i)])
}

// trimBelow drops the writes with main revision below rev and returns how
// many changes they held.
func (h *history) trimBelow(rev int64) (changes int) {
	for h.n > 0 && h.first < rev {
		changes += h.changes(0)
		s := h.slot(0)
		if *s == nil {
			delete(h.multi, h.first)
		}
		*s = nil
		h.head = (h.head + 1) % len(h.buf)
		h.n--
		h.first++
	}
	if h.n == 0 {
		h.head = 0
	}
	return changes
}
