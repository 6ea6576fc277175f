package mvcc

import (
	"bytes"
	"cmp"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/sim"
)

// The model is the oracle: a full snapshot of the key space per revision
// and the list of changes each revision made. It knows nothing of
// generations, indexes or compaction internals.
type model struct {
	snaps   []map[string]KeyValue // snaps[r]: every key at revision r (r >= 1)
	events  [][]Event             // events[r]: the changes of revision r, each with PrevKV set when the key existed
	times   []time.Duration       // times[r]: engine time of the write that made revision r
	compact int64
}

func newModel() *model {
	return &model{
		snaps:  []map[string]KeyValue{nil, {}},
		events: [][]Event{nil, nil},
		times:  []time.Duration{0, 0},
	}
}

func (m *model) rev() int64               { return int64(len(m.snaps) - 1) }
func (m *model) cur() map[string]KeyValue { return m.snaps[m.rev()] }

// inRange follows the store's range conventions.
func inRange(k, key, end string) bool {
	switch end {
	case "":
		return k == key
	case "\x00":
		return k >= key
	}
	return k >= key && k < end
}

// rangeOf is what Range must return when reading snap.
func rangeOf(snap map[string]KeyValue, key, end string, opts RangeOptions, header int64) *RangeResult {
	res := &RangeResult{Rev: header}
	for _, k := range slices.Sorted(maps.Keys(snap)) {
		if !inRange(k, key, end) {
			continue
		}
		res.Count++
		if !opts.CountOnly && (opts.Limit <= 0 || int64(len(res.KVs)) < opts.Limit) {
			res.KVs = append(res.KVs, snap[k])
		}
	}
	res.More = !opts.CountOnly && opts.Limit > 0 && res.Count > opts.Limit
	return res
}

// mwrite is one write being applied to the model.
type mwrite struct {
	m    *model
	work map[string]KeyValue
	evs  []Event
}

func (m *model) begin() *mwrite { return &mwrite{m: m, work: maps.Clone(m.cur())} }

func (w *mwrite) main() int64 { return w.m.rev() + 1 }

func (w *mwrite) put(key string, value []byte, lease int64) (KeyValue, bool) {
	prev, had := w.work[key]
	kv := KeyValue{Key: key, Value: value, CreateRevision: w.main(), ModRevision: w.main(), Version: 1, Lease: lease}
	ev := Event{Type: EventPut, Kv: kv}
	if had {
		kv.CreateRevision, kv.Version = prev.CreateRevision, prev.Version+1
		ev.Kv = kv
		p := prev
		ev.PrevKV = &p
	}
	w.work[key] = kv
	w.evs = append(w.evs, ev)
	return prev, had
}

func (w *mwrite) del(key, end string) []KeyValue {
	var prevs []KeyValue
	for _, k := range slices.Sorted(maps.Keys(w.work)) {
		if !inRange(k, key, end) {
			continue
		}
		p := w.work[k]
		prevs = append(prevs, p)
		delete(w.work, k)
		w.evs = append(w.evs, Event{Type: EventDelete, Kv: KeyValue{Key: k, ModRevision: w.main()}, PrevKV: &p})
	}
	return prevs
}

func (w *mwrite) commit(now time.Duration) {
	if len(w.evs) == 0 {
		return
	}
	w.m.snaps = append(w.m.snaps, w.work)
	w.m.events = append(w.m.events, w.evs)
	w.m.times = append(w.m.times, now)
}

func (w *mwrite) compare(c Compare) bool {
	kv, ok := w.work[c.Key]
	if !ok && c.Target == CompareValue {
		return false
	}
	var r int
	switch c.Target {
	case CompareVersion:
		r = cmp.Compare(kv.Version, c.Int)
	case CompareCreate:
		r = cmp.Compare(kv.CreateRevision, c.Int)
	case CompareMod:
		r = cmp.Compare(kv.ModRevision, c.Int)
	case CompareLease:
		r = cmp.Compare(kv.Lease, c.Int)
	case CompareValue:
		r = bytes.Compare(kv.Value, c.Value)
	}
	switch c.Result {
	case CompareEqual:
		return r == 0
	case CompareNotEqual:
		return r != 0
	case CompareGreater:
		return r > 0
	default:
		return r < 0
	}
}

// txn applies req to the model and returns the expected response or error.
func (m *model) txn(req TxnRequest, now time.Duration) (*TxnResponse, error) {
	w := m.begin()
	ok := true
	for _, c := range req.Compare {
		if !w.compare(c) {
			ok = false
			break
		}
	}
	ops := req.Success
	if !ok {
		ops = req.Failure
	}
	for _, op := range ops {
		if op.Type != OpRange {
			continue
		}
		if op.Range.Rev > m.rev() {
			return nil, ErrFutureRev
		}
		if op.Range.Rev > 0 && op.Range.Rev < m.compact {
			return nil, ErrCompacted
		}
	}
	resp := &TxnResponse{Succeeded: ok}
	if len(ops) > 0 {
		resp.Responses = make([]OpResponse, len(ops))
	}
	for i, op := range ops {
		r := &resp.Responses[i]
		switch op.Type {
		case OpRange:
			header := m.rev()
			if len(w.evs) > 0 {
				header++
			}
			snap := w.work
			if op.Range.Rev > 0 {
				snap = m.snaps[op.Range.Rev]
			}
			r.Range = rangeOf(snap, op.Key, op.End, op.Range, header)
		case OpPut:
			prev, had := w.put(op.Key, op.Value, op.Lease)
			if op.PrevKV && had {
				r.PrevKVs = []KeyValue{prev}
			}
		case OpDelete:
			prevs := w.del(op.Key, op.End)
			r.Deleted = int64(len(prevs))
			if op.PrevKV {
				r.PrevKVs = prevs
			}
		}
	}
	w.commit(now)
	resp.Rev = m.rev()
	return resp, nil
}

// testWatcher is a watch opened by the state machine, with what the model
// knew when it was opened and everything it received.
type testWatcher struct {
	w           *Watcher
	key, end    string
	startRev    int64 // as asked
	prevKV      bool
	delay       time.Duration // effective
	openRev     int64         // revision when opened
	openTime    time.Duration
	openCompact int64 // compact revision when opened
	compacted   int64 // the compact revision at open if the watch must be refused, else 0

	canceled    bool
	cancelTime  time.Duration
	gotAtCancel int

	got []delivered
}

type delivered struct {
	resp     WatchResponse
	at       time.Duration
	modelRev int64
}

func (tw *testWatcher) name() string {
	return fmt.Sprintf("watch %d on [%q,%q) from %d (opened at rev %d, t=%v, delay %v, prevKV %v, compacted %d, canceled %v@%v)",
		tw.w.ID(), tw.key, tw.end, tw.startRev, tw.openRev, tw.openTime, tw.delay, tw.prevKV, tw.compacted, tw.canceled, tw.cancelTime)
}

// firstRev is the first revision the watch reports.
func (tw *testWatcher) firstRev() int64 {
	if tw.startRev <= 0 {
		return tw.openRev + 1
	}
	return tw.startRev
}

// due is when the change at revision r reaches the watcher.
func (tw *testWatcher) due(m *model, r int64) time.Duration {
	if r <= tw.openRev {
		return tw.openTime + tw.delay // replay
	}
	return m.times[r] + tw.delay
}

// expected lists the events the watcher must receive up to the model's
// current revision, each with the revision it belongs to.
func (tw *testWatcher) expected(m *model) (evs []Event, revs []int64) {
	for r := tw.firstRev(); r <= m.rev(); r++ {
		for _, ev := range m.events[r] {
			if !inRange(ev.Kv.Key, tw.key, tw.end) {
				continue
			}
			// A replayed change at the compact revision has lost its
			// previous version; everything else keeps it.
			if !tw.prevKV || (r <= tw.openRev && r <= tw.openCompact) {
				ev.PrevKV = nil
			}
			evs = append(evs, ev)
			revs = append(revs, r)
		}
	}
	return evs, revs
}

type storeMachine struct {
	eng      *sim.Engine
	s        *Store
	m        *model
	watchers []*testWatcher
}

var (
	modelKeys = []string{"a", "a/1", "a/2", "b", "b/1", "c"}
	// Short values, and long ones sharing prefixes and suffixes, which the
	// store keeps as reverse deltas once superseded.
	modelValues = [][]byte{[]byte("x"), []byte("y"), []byte("zz"),
		longValue("", "1", ""), longValue("", "2", ""), longValue("", "22", "tail"), longValue("head", "1", "")}
	modelDelays = []time.Duration{DefaultDelay, 0, time.Millisecond, 3 * time.Millisecond}
)

// longValue is 100 bytes of one pattern, then mid, then 100 more, with a
// prefix and a suffix.
func longValue(prefix, mid, suffix string) []byte {
	pattern := strings.Repeat("0123456789", 10)
	return []byte(prefix + pattern + mid + pattern + suffix)
}

const modelStoreDelay = 2 * time.Millisecond

func drawKey(t *rapid.T, label string) string { return rapid.SampledFrom(modelKeys).Draw(t, label) }

// drawRange draws a key and a range end: a single key, a prefix, "every key
// from", an arbitrary end (possibly before the key: an empty range).
func drawRange(t *rapid.T) (string, string) {
	key := rapid.SampledFrom(append([]string{""}, modelKeys...)).Draw(t, "key")
	switch rapid.IntRange(0, 3).Draw(t, "endKind") {
	case 0:
		return key, ""
	case 1:
		return key, PrefixEnd(key)
	case 2:
		return key, "\x00"
	}
	return key, rapid.SampledFrom(modelKeys).Draw(t, "end")
}

func (sm *storeMachine) drawOp(t *rapid.T) Op {
	switch rapid.IntRange(0, 2).Draw(t, "opType") {
	case 0:
		key, end := drawRange(t)
		return OpGet(key, end, RangeOptions{
			Rev:       rapid.Int64Range(-1, sm.m.rev()+1).Draw(t, "rev"),
			Limit:     rapid.Int64Range(0, 3).Draw(t, "limit"),
			CountOnly: rapid.Bool().Draw(t, "countOnly"),
		})
	case 1:
		op := OpPutKV(drawKey(t, "key"), rapid.SampledFrom(modelValues).Draw(t, "value"))
		op.Lease = rapid.Int64Range(0, 2).Draw(t, "lease")
		op.PrevKV = rapid.Bool().Draw(t, "prevKV")
		return op
	}
	key, end := drawRange(t)
	op := OpDel(key, end)
	op.PrevKV = rapid.Bool().Draw(t, "prevKV")
	return op
}

func (sm *storeMachine) now() time.Duration { return sm.eng.Elapsed() }

func (sm *storeMachine) Put(t *rapid.T) {
	key := drawKey(t, "key")
	value := rapid.SampledFrom(modelValues).Draw(t, "value")
	lease := rapid.Int64Range(0, 2).Draw(t, "lease")
	w := sm.m.begin()
	w.put(key, value, lease)
	w.commit(sm.now())
	require.Equal(t, sm.m.rev(), sm.s.Put(key, value, lease), "Put returns the new revision")
}

func (sm *storeMachine) DeleteRange(t *rapid.T) {
	key, end := drawRange(t)
	w := sm.m.begin()
	n := int64(len(w.del(key, end)))
	w.commit(sm.now())
	var got, rev int64
	if end == "" && rapid.Bool().Draw(t, "useDelete") {
		got, rev = sm.s.Delete(key)
	} else {
		got, rev = sm.s.DeleteRange(key, end)
	}
	require.Equal(t, n, got, "deleted")
	require.Equal(t, sm.m.rev(), rev, "revision after delete")
}

func (sm *storeMachine) Txn(t *rapid.T) {
	var req TxnRequest
	for range rapid.IntRange(0, 2).Draw(t, "compares") {
		req.Compare = append(req.Compare, Compare{
			Key:    drawKey(t, "cmpKey"),
			Target: CompareTarget(rapid.IntRange(0, 4).Draw(t, "target")),
			Result: CompareResult(rapid.IntRange(0, 3).Draw(t, "result")),
			Int:    rapid.Int64Range(0, sm.m.rev()+1).Draw(t, "int"),
			Value:  rapid.SampledFrom(modelValues).Draw(t, "cmpValue"),
		})
	}
	for range rapid.IntRange(0, 3).Draw(t, "success") {
		req.Success = append(req.Success, sm.drawOp(t))
	}
	for range rapid.IntRange(0, 3).Draw(t, "failure") {
		req.Failure = append(req.Failure, sm.drawOp(t))
	}
	want, wantErr := sm.m.txn(req, sm.now())
	got, err := sm.s.Txn(req)
	if wantErr != nil {
		require.ErrorIs(t, err, wantErr)
		require.Nil(t, got)
		return
	}
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// PutIfMod is the txn If(mod == m) Then(Put) through its shortcut: the
// model runs it as that txn.
func (sm *storeMachine) PutIfMod(t *rapid.T) {
	key := drawKey(t, "key")
	value := rapid.SampledFrom(modelValues).Draw(t, "value")
	mod := int64(0)
	if kv, ok := sm.m.cur()[key]; ok && rapid.Bool().Draw(t, "matching") {
		mod = kv.ModRevision
	} else {
		mod = rapid.Int64Range(0, sm.m.rev()).Draw(t, "mod")
	}
	want, err := sm.m.txn(TxnRequest{
		Compare: []Compare{{Key: key, Target: CompareMod, Result: CompareEqual, Int: mod}},
		Success: []Op{OpPutKV(key, value)},
	}, sm.now())
	require.NoError(t, err)
	rev, ok := sm.s.PutIfMod(key, mod, value)
	require.Equal(t, want.Succeeded, ok, "put happened")
	require.Equal(t, want.Rev, rev, "revision after")
}

// Get is the current-revision point read.
func (sm *storeMachine) Get(t *rapid.T) {
	key := drawKey(t, "key")
	want, wantOK := sm.m.cur()[key]
	got, ok := sm.s.Get(key)
	require.Equal(t, wantOK, ok)
	if ok {
		require.Equal(t, want, got)
	}
}

func (sm *storeMachine) Range(t *rapid.T) {
	key, end := drawRange(t)
	opts := RangeOptions{
		Rev:       rapid.Int64Range(-1, sm.m.rev()+2).Draw(t, "rev"),
		Limit:     rapid.Int64Range(-1, 3).Draw(t, "limit"),
		CountOnly: rapid.Bool().Draw(t, "countOnly"),
	}
	got, err := sm.s.Range(key, end, opts)
	switch {
	case opts.Rev > sm.m.rev():
		require.ErrorIs(t, err, ErrFutureRev)
		require.EqualError(t, err, "mvcc: required revision is a future revision")
	case opts.Rev > 0 && opts.Rev < sm.m.compact:
		require.ErrorIs(t, err, ErrCompacted)
		require.EqualError(t, err, "mvcc: required revision has been compacted")
	default:
		require.NoError(t, err)
		at := opts.Rev
		if at <= 0 {
			at = sm.m.rev()
		}
		require.Equal(t, rangeOf(sm.m.snaps[at], key, end, opts, sm.m.rev()), got)
	}
}

func (sm *storeMachine) Compact(t *rapid.T) {
	rev := rapid.OneOf(
		rapid.Int64Range(0, sm.m.rev()+1),
		rapid.Int64Range(max(0, sm.m.rev()-2), sm.m.rev()), // recent: often just after a delete
	).Draw(t, "rev")
	err := sm.s.Compact(rev)
	switch {
	case rev <= sm.m.compact:
		require.ErrorIs(t, err, ErrCompacted)
	case rev > sm.m.rev():
		require.ErrorIs(t, err, ErrFutureRev)
	default:
		require.NoError(t, err)
		sm.m.compact = rev
	}
}

func (sm *storeMachine) Watch(t *rapid.T) {
	key, end := drawRange(t)
	tw := &testWatcher{
		key: key,
		end: end,
		// Often exactly at the boundaries: the compact revision (allowed,
		// and its changes may be gone from the key index), just below it
		// (refused), the current revision and the next.
		startRev: rapid.OneOf(
			rapid.Int64Range(-1, sm.m.rev()+3),
			rapid.SampledFrom([]int64{sm.m.compact - 1, sm.m.compact, sm.m.rev(), sm.m.rev() + 1}),
		).Draw(t, "startRev"),
		prevKV:   rapid.Bool().Draw(t, "prevKV"),
		openRev:  sm.m.rev(),
		openTime: sm.now(),
	}
	delay := rapid.SampledFrom(modelDelays).Draw(t, "delay")
	tw.delay = delay
	if delay < 0 {
		tw.delay = modelStoreDelay
	}
	if tw.startRev > 0 && tw.startRev < sm.m.compact {
		tw.compacted = sm.m.compact
	}
	tw.openCompact = sm.m.compact
	tw.w = sm.s.Watch(key, WatchOptions{End: end, StartRev: tw.startRev, PrevKV: tw.prevKV, Delay: delay}, func(r WatchResponse) {
		tw.got = append(tw.got, delivered{resp: r, at: sm.now(), modelRev: sm.m.rev()})
	})
	sm.watchers = append(sm.watchers, tw)
}

func (sm *storeMachine) Cancel(t *rapid.T) {
	var open []*testWatcher
	for _, tw := range sm.watchers {
		if !tw.canceled {
			open = append(open, tw)
		}
	}
	if len(open) == 0 {
		t.Skip("no open watcher")
	}
	tw := rapid.SampledFrom(open).Draw(t, "watcher")
	tw.w.Cancel()
	tw.canceled, tw.cancelTime, tw.gotAtCancel = true, sm.now(), len(tw.got)
}

func (sm *storeMachine) RunFor(t *rapid.T) {
	sm.eng.RunFor(rapid.SampledFrom([]time.Duration{0, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond}).Draw(t, "d"))
}

func (sm *storeMachine) Step(t *rapid.T) { sm.eng.Step() }

// Check runs after every action.
func (sm *storeMachine) Check(t *rapid.T) {
	s, m := sm.s, sm.m
	require.Equal(t, m.rev(), s.Rev(), "revision")
	require.Equal(t, m.compact, s.CompactRev(), "compact revision")
	require.Equal(t, len(m.cur()), s.Len(), "live keys")

	// Every readable revision reads as it did when it was current.
	for r := max(m.compact, 1); r <= m.rev(); r++ {
		got, err := s.Range("", "\x00", RangeOptions{Rev: r})
		require.NoError(t, err)
		require.Equal(t, rangeOf(m.snaps[r], "", "\x00", RangeOptions{}, m.rev()), got, "range at %d", r)
	}

	// What the index and the history hold, as counted from the model: each
	// key keeps its version at the compact revision, if it existed then,
	// and every change after it; the history keeps every change at or
	// above the compact revision.
	st := s.Stats()
	keys, versions, hist := map[string]bool{}, 0, 0
	if m.compact > 0 {
		for k := range m.snaps[m.compact] {
			keys[k] = true
			versions++
		}
	}
	for r := int64(2); r <= m.rev(); r++ {
		if r >= m.compact {
			hist += len(m.events[r])
		}
		if r > m.compact {
			for _, ev := range m.events[r] {
				keys[ev.Kv.Key] = true
				versions++
			}
		}
	}
	require.Equal(t, len(keys), st.IndexedKeys, "indexed keys")
	// The point lookups find exactly the keys the ordered index holds, in
	// key order there.
	hashed := 0
	for _, d := range s.keys.dirs {
		hashed += d.hashed()
	}
	require.Equal(t, st.IndexedKeys, hashed, "keys found by hash")
	n, prev, leased := 0, "", 0
	s.keys.ascend("", "", func(ki *keyIndex) bool {
		require.True(t, n == 0 || prev < ki.key, "key order: %q after %q", ki.key, prev)
		n++
		prev = ki.key
		for _, e := range ki.entries {
			if e.leased {
				leased++
				require.Contains(t, s.leases, e.rev(), "lease of %q at %v", ki.key, e.rev())
			}
		}
		require.Same(t, ki, s.keys.get(ki.key), "hash index entry of %q", ki.key)
		return true
	})
	require.Equal(t, st.IndexedKeys, n, "ordered index size")
	require.Len(t, s.leases, leased, "leases held: those of the versions held")
	require.Equal(t, versions, st.Versions, "versions held")
	require.Equal(t, hist, st.HistoryEvents, "history events")
	require.Equal(t, int(max(0, m.rev()-max(m.compact, 2)+1)), st.HistoryRevisions, "history revisions")

	open := 0
	for _, tw := range sm.watchers {
		if !tw.canceled && tw.compacted == 0 {
			open++
		}
		sm.checkWatcher(t, tw, false)
	}
	require.Equal(t, open, st.Watchers, "open watchers")
}

// checkWatcher checks what tw received so far against the model. final:
// the engine has run every pending event, so nothing may be missing.
func (sm *storeMachine) checkWatcher(t *rapid.T, tw *testWatcher, final bool) {
	m, now := sm.m, sm.now()
	if tw.canceled {
		require.Len(t, tw.got, tw.gotAtCancel, "%s: delivery after Cancel", tw.name())
	}
	// A delivery due before now has run: the engine never leaves an event
	// behind its clock. With final, every delivery has run.
	isDue := func(due time.Duration) bool {
		if tw.canceled {
			return due < tw.cancelTime
		}
		return final || due < now
	}
	if tw.compacted > 0 {
		require.LessOrEqual(t, len(tw.got), 1, "%s: a refused watch gets one response", tw.name())
		due := tw.openTime + tw.delay
		if len(tw.got) == 1 {
			d := tw.got[0]
			require.Equal(t, WatchResponse{WatchID: tw.w.ID(), CompactRevision: tw.compacted, Canceled: true, Err: ErrCompacted, Rev: d.modelRev}, d.resp, tw.name())
			require.Equal(t, due, d.at, "%s: delivery time", tw.name())
		} else {
			require.False(t, isDue(due), "%s: compacted response due at %v missing at %v", tw.name(), due, now)
		}
		return
	}
	want, wantRevs := tw.expected(m)
	var got []Event
	for i, d := range tw.got {
		r := d.resp
		require.Equal(t, tw.w.ID(), r.WatchID, tw.name())
		require.False(t, r.Canceled, tw.name())
		require.NoError(t, r.Err, tw.name())
		require.Zero(t, r.CompactRevision, tw.name())
		require.Equal(t, d.modelRev, r.Rev, "%s: response revision is the store's at delivery", tw.name())
		require.NotEmpty(t, r.Events, "%s: empty response", tw.name())
		first := r.Events[0].Kv.ModRevision
		if first <= tw.openRev {
			require.Zero(t, i, "%s: replay comes first", tw.name())
			require.LessOrEqual(t, r.Events[len(r.Events)-1].Kv.ModRevision, tw.openRev, "%s: replay covers the history at open", tw.name())
		} else {
			for _, ev := range r.Events {
				require.Equal(t, first, ev.Kv.ModRevision, "%s: a live response carries one write", tw.name())
			}
		}
		require.Equal(t, tw.due(m, first), d.at, "%s: response %d delivered at the wrong time", tw.name(), i)
		got = append(got, r.Events...)
	}
	require.LessOrEqual(t, len(got), len(want), "%s: more events than changes", tw.name())
	if len(got) > 0 {
		require.Equal(t, want[:len(got)], got, "%s: events", tw.name())
	}
	for i := len(got); i < len(want); i++ {
		require.False(t, isDue(tw.due(m, wantRevs[i])), "%s: event %d (rev %d) due at %v missing at %v", tw.name(), i, wantRevs[i], tw.due(m, wantRevs[i]), now)
	}
}

// TestStoreAgainstModel drives the store and the model with the same random
// operations and checks, after each, every readable revision, the
// counters, and every watcher's deliveries; at the end the engine drains
// and every open watcher must have received exactly the model's history.
func TestStoreAgainstModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		eng := sim.New(1)
		sm := &storeMachine{eng: eng, s: New(eng, Config{WatchDelay: modelStoreDelay}), m: newModel()}
		if rapid.Bool().Draw(t, "colliding hash") {
			// Every key hashes to its length: the key map's collision
			// path carries most keys.
			sm.s.keys.points.hash = func(_ maphash.Seed, key string) uint64 { return uint64(len(key)) }
		}
		t.Repeat(map[string]func(*rapid.T){
			"put":         sm.Put,
			"deleteRange": sm.DeleteRange,
			"txn":         sm.Txn,
			"range":       sm.Range,
			"compact":     sm.Compact,
			"watch":       sm.Watch,
			"cancel":      sm.Cancel,
			"runFor":      sm.RunFor,
			"step":        sm.Step,
			"":            sm.Check,
		})
		require.True(t, eng.RunUntilIdle(1_000_000), "engine did not drain")
		require.Zero(t, sm.s.Stats().PendingDeliveries)
		for _, tw := range sm.watchers {
			sm.checkWatcher(t, tw, true)
		}
	})
}
