package mvcc

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/kubesim/kubesim/sim"
)

// Config configures a Store.
type Config struct {
	// WatchDelay is the default delay between a change and its delivery to
	// watchers (0 = delivered in a later engine event at the same instant).
	// It must not be negative.
	WatchDelay time.Duration
}

// Store is an in-memory key-value store with etcd v3's MVCC semantics. It is
// driven by one engine and, like everything in the simulation core, is not
// safe for concurrent use; watch callbacks run inside engine events and may
// call back into the store.
//
// Values are shared, not copied: Put takes ownership of the value slice it
// is given (the caller must not modify it afterwards), and every KeyValue,
// Event and slice of them the store hands out (Range results, txn responses,
// watch responses) shares memory with the store and with other callers, so
// callers must treat them as read-only. (A superseded version may be kept
// as a reverse delta; reading it returns a fresh rebuilt slice.)
type Store struct {
	eng *sim.Engine
	cfg Config

	rev        int64 // current revision; 1 in a new store, +1 per write that changes something
	compactRev int64 // 0 if never compacted; reads below it fail

	// leases holds the lease of every version put with one (entry.leased),
	// by revision, until compaction drops the version.
	leases map[revision]int64
	// keys holds a keyIndex for every key the store still has a version
	// of, including deleted keys whose tombstone is not compacted yet: in
	// key order, for ranges, and by hash, for point lookups.
	keys keyOrder
	// last caches the latest point lookup (key → keyIndex, nil when the key
	// is not indexed): a txn's compare and put look the same key up.
	lastKey string
	lastKI  *keyIndex
	// history holds the keys changed by every write with main revision >=
	// compactRev (every write, if never compacted), by main revision. Watch
	// replay reads it; compaction trims it.
	history history
	// compactEvents are the changes of the write at compactRev, as they
	// were: compaction drops some of them from the key index (a tombstone,
	// a key changed twice in the txn), and a watch may start at compactRev.
	compactEvents []Event

	liveKeys   int // keys that exist at rev
	versions   int // entries (puts and tombstones) held in keys
	histEvents int // events held in history

	// The write in progress: wkeys[i] is the key of its change with
	// sub-revision i (none while it has changed nothing yet), wprevs[i] the
	// version that change replaced (ok false if the key did not exist).
	wkeys  []*keyIndex
	wprevs []prevKV

	delKeys []*keyIndex

	// slab is where new keyIndexes come from, keyIndexSlab at a time.
	slab []keyIndex

	watchers watcherSet
}

// keyIndexSlab is how many keyIndexes the store allocates at once, as
// many as fill 8 KiB (a size class: a slab wastes at most one keyIndex's
// bytes): a new key costs no allocation of its own (a big cluster's Events
// are hundreds of thousands of keys, each written once). A slab's memory
// goes when all its keys have left the index and every reference to them
// (history, watches) has gone; keys leave mostly in the order they came
// (Events expire, compaction drops the oldest versions first).
const keyIndexSlab = 8192 / int(unsafe.Sizeof(keyIndex{}))

// newKeyIndex returns an empty keyIndex for key from the slab.
func (s *Store) newKeyIndex(key string) *keyIndex {
	if len(s.slab) == cap(s.slab) {
		s.slab = make([]keyIndex, 0, keyIndexSlab)
	}
	s.slab = s.slab[:len(s.slab)+1]
	ki := &s.slab[len(s.slab)-1]
	ki.init(key)
	return ki
}

// New returns an empty store at revision 1 that delivers watch events through
// eng.
func New(eng *sim.Engine, cfg Config) *Store {
	if eng == nil {
		panic("mvcc: New needs an engine")
	}
	if cfg.WatchDelay < 0 {
		panic(fmt.Sprintf("mvcc: negative WatchDelay %v", cfg.WatchDelay))
	}
	s := &Store{
		eng: eng,
		cfg: cfg,
		rev: 1,
	}
	s.keys.init()
	s.watchers.init()
	return s
}

// Rev is the current revision. A new store is at revision 1; its first write
// gets revision 2.
func (s *Store) Rev() int64 { return s.rev }

// CompactRev is the revision of the last compaction, 0 if there was none.
func (s *Store) CompactRev() int64 { return s.compactRev }

// Len is the number of keys that exist at the current revision.
func (s *Store) Len() int { return s.liveKeys }

// Stats describes what the store holds. Every field is kept up to date as
// the store changes, so Stats is cheap.
type Stats struct {
	Rev        int64 // current revision
	CompactRev int64 // last compaction, 0 if none
	// LiveKeys is the number of keys that exist now (Len).
	LiveKeys int
	// IndexedKeys counts the keys the index holds, deleted keys whose
	// tombstone has not been compacted included.
	IndexedKeys int
	// Versions counts the versions the index holds: puts and tombstones.
	Versions int
	// HistoryRevisions and HistoryEvents count the writes and the changes
	// kept for watch replay (those at or above CompactRev).
	HistoryRevisions int
	HistoryEvents    int
	// Watchers counts open watchers, RangeWatchers those of them that watch
	// a range rather than one key.
	Watchers      int
	RangeWatchers int
	// PendingDeliveries counts watch deliveries scheduled on the engine that
	// have not run yet.
	PendingDeliveries int
}

// Stats reports what the store holds.
func (s *Store) Stats() Stats {
	return Stats{
		Rev:               s.rev,
		CompactRev:        s.compactRev,
		LiveKeys:          s.liveKeys,
		IndexedKeys:       s.keys.Len(),
		Versions:          s.versions,
		HistoryRevisions:  s.history.Len(),
		HistoryEvents:     s.histEvents,
		Watchers:          s.watchers.open,
		RangeWatchers:     len(s.watchers.ranges),
		PendingDeliveries: s.watchers.pending,
	}
}

// PrefixEnd returns the range end that, with prefix as the start, covers
// every key with that prefix, like etcd's GetPrefixRangeEnd: the prefix with
// its last byte below 0xff incremented and the rest cut off. A prefix of
// only 0xff bytes (or the empty prefix) has no such end; PrefixEnd then
// returns "\x00", which as a range end means "every key >= start".
func PrefixEnd(prefix string) string {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] < 0xff {
			b := []byte(prefix[:i+1])
			b[i]++
			return string(b)
		}
	}
	return "\x00"
}

// lookup returns key's index, or nil.
func (s *Store) lookup(key string) *keyIndex {
	if key == s.lastKey && s.lastKey != "" {
		return s.lastKI
	}
	ki := s.keys.get(key)
	s.lastKey, s.lastKI = key, ki
	return ki
}

// ascend calls fn for each indexed key in [key, end) in key order, until fn
// returns false; end follows Range's conventions ("\x00": no upper bound).
// end must not be "". fn must not add or remove keys.
func (s *Store) ascend(key, end string, fn func(*keyIndex) bool) {
	if end == "\x00" {
		s.keys.ascend(key, "", fn)
	} else if key < end {
		s.keys.ascend(key, end, fn)
	}
}

// Range reads the keys in [key, end) as they were at revision opts.Rev
// (<= 0: now), in key order. end "" reads the single key; end "\x00" reads
// every key >= key. It fails with ErrFutureRev when opts.Rev is above the
// current revision and with ErrCompacted when it is below the compact
// revision; reading exactly at the compact revision is allowed. A range at a
// past revision returns exactly what it returned when that revision was
// current. The result's Rev is the current revision, whatever was asked.
func (s *Store) Range(key, end string, opts RangeOptions) (*RangeResult, error) {
	at, err := s.checkRev(opts.Rev, s.rev)
	if err != nil {
		return nil, err
	}
	return s.rangeAt(key, end, at, opts, s.rev), nil
}

// checkRev validates a requested read revision against the current one
// (cur) and resolves "now".
func (s *Store) checkRev(rev, cur int64) (int64, error) {
	if rev > cur {
		return 0, ErrFutureRev
	}
	if rev <= 0 {
		return cur, nil
	}
	if rev < s.compactRev {
		return 0, ErrCompacted
	}
	return rev, nil
}

// prevKV is the version a change replaced, if there was one.
type prevKV struct {
	kv KeyValue
	ok bool
}

// rangeResultOne lets a single-key Range allocate its result and its one
// KeyValue together.
type rangeResultOne struct {
	res RangeResult
	kv  [1]KeyValue
}

// rangeAt reads at revision at, which the caller has validated, and reports
// header as the result's Rev.
func (s *Store) rangeAt(key, end string, at int64, opts RangeOptions, header int64) *RangeResult {
	if end == "" {
		ki := s.lookup(key)
		if ki == nil {
			return &RangeResult{Rev: header}
		}
		i, ok := ki.get(at)
		if !ok {
			return &RangeResult{Rev: header}
		}
		if opts.CountOnly {
			return &RangeResult{Count: 1, Rev: header}
		}
		r := &rangeResultOne{kv: [1]KeyValue{s.kv(ki, i)}}
		r.res = RangeResult{KVs: r.kv[:], Count: 1, Rev: header}
		return &r.res
	}
	res := &RangeResult{Rev: header}
	limit := opts.Limit
	s.ascend(key, end, func(ki *keyIndex) bool {
		i, ok := ki.get(at)
		if !ok {
			return true
		}
		res.Count++
		if !opts.CountOnly && (limit <= 0 || int64(len(res.KVs)) < limit) {
			res.KVs = append(res.KVs, s.kv(ki, i))
		}
		return true
	})
	res.More = !opts.CountOnly && limit > 0 && res.Count > limit
	return res
}

// kv is entries[i] of ki as a KeyValue (see keyIndex.kv), with its lease.
func (s *Store) kv(ki *keyIndex, i int) KeyValue {
	kv := ki.kv(i)
	kv.Lease = s.leaseOf(&ki.entries[i])
	return kv
}

// event is entries[i] of ki as a watch event (see keyIndex.event), with
// its lease.
func (s *Store) event(ki *keyIndex, i int) Event {
	ev := ki.event(i)
	ev.Kv.Lease = s.leaseOf(&ki.entries[i])
	return ev
}

// leaseOf is the lease e was put with (0: none).
func (s *Store) leaseOf(e *entry) int64 {
	if !e.leased {
		return 0
	}
	return s.leases[e.rev()]
}

// wmain is the revision of the write in progress.
func (s *Store) wmain() int64 { return s.rev + 1 }

// put writes key at the revision of the write in progress and returns the
// version it replaced, if the key existed.
func (s *Store) put(key string, value []byte, lease int64) prevKV {
	main := s.wmain()
	ki := s.lookup(key)
	if ki == nil {
		ki = s.newKeyIndex(key)
		s.keys.add(ki)
		s.lastKey, s.lastKI = key, ki
	}
	e := entry{main: main, sub: int32(len(s.wkeys)), value: value, create: main, version: 1}
	if lease != 0 {
		if s.leases == nil {
			s.leases = map[revision]int64{}
		}
		e.leased = true
		s.leases[e.rev()] = lease
	}
	var prev prevKV
	if p, ok := ki.live(); ok {
		if p.version == math.MaxInt32 {
			panic(fmt.Sprintf("mvcc: key %q written 2^31 times", key))
		}
		prev = prevKV{s.kv(ki, len(ki.entries)-1), true}
		e.create, e.version = p.create, p.version+1
	} else {
		s.liveKeys++
	}
	ki.put(e)
	s.versions++
	s.wkeys = append(s.wkeys, ki)
	s.wprevs = append(s.wprevs, prev)
	return prev
}

// tombstone deletes ki, which must exist, at the revision of the write in
// progress and returns the version it ended.
func (s *Store) tombstone(ki *keyIndex) KeyValue {
	prev := s.kv(ki, len(ki.entries)-1)
	ki.put(entry{main: s.wmain(), sub: int32(len(s.wkeys)), tomb: true})
	s.versions++
	s.liveKeys--
	s.wkeys = append(s.wkeys, ki)
	s.wprevs = append(s.wprevs, prevKV{prev, true})
	return prev
}

// deleteRange deletes the keys in [key, end) that exist now, in key order,
// and returns how many it deleted, appending their last versions to prevKVs
// if prevKVs is not nil.
func (s *Store) deleteRange(key, end string, prevKVs *[]KeyValue) int64 {
	if end == "" {
		ki := s.lookup(key)
		if ki == nil {
			return 0
		}
		if _, ok := ki.live(); !ok {
			return 0
		}
		prev := s.tombstone(ki)
		if prevKVs != nil {
			*prevKVs = append(*prevKVs, prev)
		}
		return 1
	}
	del := s.delKeys[:0]
	s.ascend(key, end, func(ki *keyIndex) bool {
		if _, ok := ki.live(); ok {
			del = append(del, ki)
		}
		return true
	})
	for _, ki := range del {
		prev := s.tombstone(ki)
		if prevKVs != nil {
			*prevKVs = append(*prevKVs, prev)
		}
	}
	clear(del)
	s.delKeys = del[:0]
	return int64(len(del))
}

// endWrite finishes the write in progress: if it changed anything, the
// revision advances, the write joins the history and watchers are told.
func (s *Store) endWrite() {
	if len(s.wkeys) == 0 {
		return
	}
	s.rev = s.wmain()
	s.history.push(s.rev, s.wkeys)
	s.histEvents += len(s.wkeys)
	s.notify(s.rev, s.wkeys, s.wprevs)
	clear(s.wkeys)
	s.wkeys = s.wkeys[:0]
	clear(s.wprevs)
	s.wprevs = s.wprevs[:0]
}

// Put sets key to value with the given lease (0: none) and returns the new
// revision. It always writes, and so bumps the revision, even when value is
// what the key already holds: skipping no-op writes is the API server's job,
// as with etcd.
//
// The store keeps value as it is: the caller gives up ownership of the
// slice and must not modify it afterwards.
func (s *Store) Put(key string, value []byte, lease int64) int64 {
	s.put(key, value, lease)
	s.endWrite()
	return s.rev
}

// Key returns the store's own copy of key, if the store holds the key
// (live or not): a caller keeping the key in a long-lived map can keep the
// store's string instead of another copy of it.
func (s *Store) Key(key string) (string, bool) {
	if ki := s.lookup(key); ki != nil {
		return ki.key, true
	}
	return "", false
}

// KeyBytes is Key for a key given as bytes: the store's string of it, so
// a caller that builds keys in a buffer makes no string of its own for a
// key the store holds.
func (s *Store) KeyBytes(key []byte) (string, bool) {
	if ki := s.keys.getBytes(key); ki != nil {
		// The read or write of the key that follows finds it at once.
		s.lastKey, s.lastKI = ki.key, ki
		return ki.key, true
	}
	return "", false
}

// Get reads key at the current revision, as Range(key, "", RangeOptions{})
// does, without allocating: the API server's point read.
func (s *Store) Get(key string) (KeyValue, bool) {
	ki := s.lookup(key)
	if ki == nil {
		return KeyValue{}, false
	}
	if _, ok := ki.live(); !ok {
		return KeyValue{}, false
	}
	return s.kv(ki, len(ki.entries)-1), true
}

// PutIfMod is Txn(If(mod_revision(key) == mod) Then(Put(key, value))), the
// API server's compare-and-swap (mod 0: create only if absent), without
// the allocations of a general txn. It returns the revision after the
// call and whether the put happened.
func (s *Store) PutIfMod(key string, mod int64, value []byte) (rev int64, ok bool) {
	cur := int64(0)
	if ki := s.lookup(key); ki != nil {
		if e, live := ki.live(); live {
			cur = e.main
		}
	}
	if cur != mod {
		return s.rev, false
	}
	s.put(key, value, 0)
	s.endWrite()
	return s.rev, true
}

// Delete deletes key. It returns the number of keys deleted (0 or 1) and the
// revision after the call; deleting a key that does not exist changes
// nothing and does not bump the revision.
func (s *Store) Delete(key string) (deleted int64, rev int64) {
	return s.DeleteRange(key, "")
}

// DeleteRange deletes the keys in [key, end) (end as in Range) in one write,
// in key order with sub-revisions 0, 1, 2…. It returns the number deleted
// and the revision after the call, which is unchanged if nothing existed.
func (s *Store) DeleteRange(key, end string) (deleted int64, rev int64) {
	n := s.deleteRange(key, end, nil)
	s.endWrite()
	return n, s.rev
}

// Txn runs If(req.Compare...) Then(req.Success...) Else(req.Failure...)
// atomically. Compares look at the current revision; a missing key has
// version, create and mod revision and lease 0, and a value compare against
// it is false whatever the operator. The ops of the chosen branch run in
// order, each seeing the ones before it; all their writes share one new
// revision with sub-revisions 0, 1, 2…, and a txn that writes nothing leaves
// the revision alone. A range op with Rev <= 0 reads the txn's own writes so
// far, and its result's Rev is the revision the txn is building (current+1)
// once the txn has written something, as in etcd.
//
// Txn fails only when a range op of the chosen branch asks for a future or
// compacted revision (ErrFutureRev, ErrCompacted); then nothing is applied.
// An op of unknown type is a bug in the caller and panics. Unlike etcd's
// API, a txn may change one key several times; each change sees the ones
// before it.
func (s *Store) Txn(req TxnRequest) (*TxnResponse, error) {
	ok := true
	for i := range req.Compare {
		if !s.compare(&req.Compare[i]) {
			ok = false
			break
		}
	}
	ops := req.Success
	if !ok {
		ops = req.Failure
	}
	for i := range ops {
		switch ops[i].Type {
		case OpRange:
			if _, err := s.checkRev(ops[i].Range.Rev, s.rev); err != nil {
				return nil, err
			}
		case OpPut, OpDelete:
		default:
			panic(fmt.Sprintf("mvcc: txn op %d has unknown type %d", i, ops[i].Type))
		}
	}
	var resp *TxnResponse
	switch len(ops) {
	case 0:
		resp = &TxnResponse{Succeeded: ok}
	case 1: // the API server's CAS: one allocation for the response and its op
		r := &txnResponseOne{}
		r.resp = TxnResponse{Succeeded: ok, Responses: r.op[:]}
		resp = &r.resp
	default:
		resp = &TxnResponse{Succeeded: ok, Responses: make([]OpResponse, len(ops))}
	}
	for i := range ops {
		op := &ops[i]
		r := &resp.Responses[i]
		switch op.Type {
		case OpRange:
			cur := s.rev
			if len(s.wkeys) > 0 {
				cur++
			}
			at, _ := s.checkRev(op.Range.Rev, cur)
			r.Range = s.rangeAt(op.Key, op.End, at, op.Range, cur)
		case OpPut:
			prev := s.put(op.Key, op.Value, op.Lease)
			if op.PrevKV && prev.ok {
				r.PrevKVs = []KeyValue{prev.kv}
			}
		case OpDelete:
			var prevs *[]KeyValue
			if op.PrevKV {
				prevs = &r.PrevKVs
			}
			r.Deleted = s.deleteRange(op.Key, op.End, prevs)
		}
	}
	s.endWrite()
	resp.Rev = s.rev
	return resp, nil
}

// writeEvents returns the changes of the write at main (held in the
// history), in sub-revision order.
func (s *Store) writeEvents(main int64) []Event {
	var evs []Event
	s.history.ascend(main, main+1, func(main int64, keys []*keyIndex) bool {
		for sub, ki := range keys {
			i, ok := ki.find(revision{main, int64(sub)})
			if !ok {
				panic(fmt.Sprintf("mvcc: change %d.%d of %q is not indexed", main, sub, ki.key))
			}
			evs = append(evs, s.event(ki, i))
		}
		return true
	})
	return evs
}

// txnResponseOne lets a one-op Txn allocate its response and the op's
// together.
type txnResponseOne struct {
	resp TxnResponse
	op   [1]OpResponse
}

// compare evaluates c against the current revision.
func (s *Store) compare(c *Compare) bool {
	var e entry // a missing key compares as all zero
	ki := s.lookup(c.Key)
	live, ok := (*entry)(nil), false
	if ki != nil {
		live, ok = ki.live()
	}
	if ok {
		e = *live
	} else if c.Target == CompareValue {
		return false
	}
	var r int
	switch c.Target {
	case CompareVersion:
		r = cmp.Compare(int64(e.version), c.Int)
	case CompareCreate:
		r = cmp.Compare(e.create, c.Int)
	case CompareMod:
		r = cmp.Compare(e.main, c.Int)
	case CompareLease:
		r = cmp.Compare(s.leaseOf(&e), c.Int)
	case CompareValue:
		r = bytes.Compare(e.value, c.Value) // the live version's value is whole
	default:
		panic(fmt.Sprintf("mvcc: compare on %q has unknown target %d", c.Key, c.Target))
	}
	switch c.Result {
	case CompareEqual:
		return r == 0
	case CompareNotEqual:
		return r != 0
	case CompareGreater:
		return r > 0
	case CompareLess:
		return r < 0
	}
	panic(fmt.Sprintf("mvcc: compare on %q has unknown operator %d", c.Key, c.Result))
}

// Compact discards the history below rev, as etcd: each key keeps its newest
// version at or below rev and every newer one; if that newest version is a
// tombstone it goes too, and so does a key left with nothing. Reads at rev
// and above are unchanged; reads below it fail with ErrCompacted. Compact
// fails with ErrCompacted if rev <= CompactRev and with ErrFutureRev if
// rev > Rev.
//
// Open watchers are not affected: each has already taken what it replays.
// Compact costs O(changes discarded · log n): only keys changed since the
// previous compaction can hold versions to drop, and the history names them.
func (s *Store) Compact(rev int64) error {
	if rev <= s.compactRev {
		return ErrCompacted
	}
	if rev > s.rev {
		return ErrFutureRev
	}
	// The changes at rev as they are now, for watches that start at rev:
	// compaction may drop some of them from the key index.
	s.compactEvents = s.writeEvents(rev)
	var empty []*keyIndex
	// Changes at the previous compact revision were compacted by it already.
	s.history.ascend(s.compactRev+1, rev+1, func(main int64, keys []*keyIndex) bool {
		for _, ki := range keys {
			if ki.compacted == rev {
				continue
			}
			ki.compacted = rev
			dropped := ki.compact(rev)
			s.versions -= len(dropped)
			for i := range dropped {
				if dropped[i].leased {
					delete(s.leases, dropped[i].rev())
				}
			}
			if ki.isEmpty() {
				empty = append(empty, ki)
			}
		}
		return true
	})
	for _, ki := range empty {
		s.keys.remove(ki)
	}
	s.lastKey, s.lastKI = "", nil
	s.histEvents -= s.history.trimBelow(rev)
	s.compactRev = rev
	return nil
}
