package mvcc

import (
	"fmt"
	"slices"
	"strings"
)

// keyOrder keeps the store's keyIndexes in key order, for ranges, without
// making each new key pay for an ordered insert into one big tree (which,
// with hundreds of thousands of keys, costs a cache miss per comparison).
//
// Keys are grouped by directory: the key up to and including its last '/'
// ("/registry/pods/default/" for "/registry/pods/default/web"; "" for a key
// without '/'). Each directory keeps its keys sorted, plus an unsorted tail
// of the keys added since it was last read in order: adding a key is an
// append, and a range sorts and merges the tails of the directories it
// reads (O(tail log tail + directory size), no more than listing the
// directory costs). A range reads every directory whose keys may fall in
// it — those named inside the range and those that are prefixes of its
// start — and merges them in key order.
//
// Removing a key marks its keyIndex (removed); reads skip marked entries
// and the next merge drops them. A key re-created after removal gets a new
// keyIndex, so the two never clash.
//
// Each directory also finds its live keys by hash (get, getBytes; see
// keyHashes): the point lookups of the keys read and written all the time
// (pods) search their own directory's map, not one among the hundreds of
// thousands of Events written once and never read.
type keyOrder struct {
	dirs  map[string]*keyDir
	names []string // directory names, sorted
	n     int      // keys held (not removed)
	// recent holds the directories looked up last, the latest first: new
	// keys mostly come in runs of one directory (a burst of Events), and
	// the API server goes back and forth between a few (a pod, its Events).
	recent [4]*keyDir
	// points finds a key's keyIndex (see keymap.go).
	points keyHashes
	// scratch for ascend
	cands []*keyDir
	pos   []int
}

// keyDir is one directory of keyOrder.
type keyDir struct {
	name    string
	sorted  []*keyIndex // by key; may hold removed entries
	tail    []*keyIndex // added since the last settle, in arrival order
	live    int         // entries not removed
	removed int         // removed entries still in sorted or tail
	// byHash and collided find the directory's live keys (see keymap.go).
	byHash   map[uint64]*keyIndex
	collided map[string]*keyIndex
}

func (o *keyOrder) init() {
	o.dirs = map[string]*keyDir{}
	o.points.init()
}

func dirOf(key string) string { return key[:strings.LastIndexByte(key, '/')+1] }

// dirFor returns directory dir (given as a string, or as bytes looked up
// without making a string of them), nil if it holds no key.
func dirFor[D string | []byte](o *keyOrder, dir D) *keyDir {
	for i, d := range o.recent {
		if d != nil && d.name == string(dir) {
			o.promote(i, d)
			return d
		}
	}
	d := o.dirs[string(dir)]
	if d != nil {
		o.promote(len(o.recent)-1, d)
	}
	return d
}

// promote makes d, at recent[i] or to replace it, the latest directory.
func (o *keyOrder) promote(i int, d *keyDir) {
	copy(o.recent[1:i+1], o.recent[:i])
	o.recent[0] = d
}

// add inserts a new key.
func (o *keyOrder) add(ki *keyIndex) {
	d := o.points.dirOfLast(ki.key)
	if d == nil {
		d = dirFor(o, dirOf(ki.key))
	}
	if d == nil {
		name := dirOf(ki.key)
		d = &keyDir{name: name, byHash: map[uint64]*keyIndex{}}
		o.dirs[name] = d
		i, _ := slices.BinarySearch(o.names, name)
		o.names = slices.Insert(o.names, i, name)
		o.promote(len(o.recent)-1, d)
	}
	d.tail = append(d.tail, ki)
	d.live++
	o.n++
	o.points.index(d, ki)
}

// remove deletes ki's key.
func (o *keyOrder) remove(ki *keyIndex) {
	if ki.removed {
		panic(fmt.Sprintf("mvcc: key %q removed from the index twice", ki.key))
	}
	d := dirFor(o, dirOf(ki.key))
	if d == nil {
		panic(fmt.Sprintf("mvcc: key %q removed from the index but not in it", ki.key))
	}
	o.points.unindex(d, ki)
	ki.removed = true
	d.live--
	d.removed++
	o.n--
	if d.live == 0 {
		// An empty directory goes (a namespace deleted, a kind no longer
		// used), and with it what it held.
		delete(o.dirs, d.name)
		i, _ := slices.BinarySearch(o.names, d.name)
		o.names = slices.Delete(o.names, i, i+1)
		for i, r := range o.recent {
			if r == d {
				copy(o.recent[i:], o.recent[i+1:])
				o.recent[len(o.recent)-1] = nil
			}
		}
	}
}

// Len is the number of keys held.
func (o *keyOrder) Len() int { return o.n }

func compareKI(a, b *keyIndex) int { return strings.Compare(a.key, b.key) }

// settle sorts d's tail into its sorted keys, dropping removed ones.
func (d *keyDir) settle() {
	if len(d.tail) == 0 && (d.removed == 0 || d.removed < len(d.sorted)/4) {
		return
	}
	slices.SortFunc(d.tail, compareKI)
	merged := make([]*keyIndex, 0, d.live)
	a, b := d.sorted, d.tail
	for len(a) > 0 || len(b) > 0 {
		var ki *keyIndex
		if len(b) == 0 || len(a) > 0 && a[0].key < b[0].key {
			ki, a = a[0], a[1:]
		} else {
			ki, b = b[0], b[1:]
		}
		if !ki.removed {
			merged = append(merged, ki)
		}
	}
	clear(d.tail)
	d.sorted, d.tail, d.removed = merged, d.tail[:0], 0
}

// ascend calls fn for each key in [lo, hi) in key order (hi == "" means no
// upper bound) until fn returns false. fn must not add or remove keys.
func (o *keyOrder) ascend(lo, hi string, fn func(*keyIndex) bool) {
	cands := o.cands[:0]
	// Directories that are prefixes of lo ("" and each "…/" of lo)...
	for i := -1; i < len(lo); i++ {
		if i >= 0 && lo[i] != '/' {
			continue
		}
		if d := o.dirs[lo[:i+1]]; d != nil && d.name < lo {
			cands = append(cands, d)
		}
	}
	// ...and those named inside the range.
	for i, _ := slices.BinarySearch(o.names, lo); i < len(o.names) && (hi == "" || o.names[i] < hi); i++ {
		cands = append(cands, o.dirs[o.names[i]])
	}
	pos := o.pos[:0]
	for _, d := range cands {
		d.settle()
		i, _ := slices.BinarySearchFunc(d.sorted, lo, func(ki *keyIndex, k string) int { return strings.Compare(ki.key, k) })
		pos = append(pos, i)
	}
	o.cands, o.pos = nil, nil // fn may range again (it must not modify)
	for {
		best := -1
		for c, d := range cands {
			for pos[c] < len(d.sorted) && d.sorted[pos[c]].removed {
				pos[c]++
			}
			if pos[c] < len(d.sorted) && (best < 0 || d.sorted[pos[c]].key < cands[best].sorted[pos[best]].key) {
				best = c
			}
		}
		if best < 0 {
			break
		}
		ki := cands[best].sorted[pos[best]]
		pos[best]++
		if hi != "" && ki.key >= hi {
			break
		}
		if !fn(ki) {
			break
		}
	}
	clear(cands)
	o.cands, o.pos = cands[:0], pos[:0]
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
