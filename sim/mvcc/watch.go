package mvcc

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/kubesim/kubesim/sim"
)

// watchLabel labels the engine events that deliver watch responses.
const watchLabel = "mvcc watch"

// Watcher is an open watch. Its callback runs inside engine events, never
// inside the store call that made the change.
type Watcher struct {
	s      *Store
	id     int64
	key    string
	end    string // "" for a single key; "\x00" for every key >= key
	prevKV bool
	// transient: the callback keeps no response's Events (WatchOptions).
	transient bool
	delay     time.Duration // always >= 0
	fn        func(WatchResponse)

	// nextRev is the first revision that live deliveries bring this
	// watcher: its start revision, or, when it started in the past, the
	// revision after the last one its replay covered.
	nextRev int64
	// replay is the pending engine event carrying the replay (or the
	// compacted response), if any.
	replay sim.Timer
	// registered: in the store's watcher index. canceled: no delivery may
	// reach fn any more.
	registered, canceled bool
}

// ID is the watcher's id, unique within its store; ids start at 1 and
// increase in the order watches were opened.
func (w *Watcher) ID() int64 { return w.id }

// Cancel closes the watch. No response reaches the callback after Cancel
// returns, not even one already scheduled. Cancelling twice is harmless.
func (w *Watcher) Cancel() {
	if w.canceled {
		return
	}
	w.canceled = true
	ws := &w.s.watchers
	if w.replay.Stop() {
		ws.pending--
	}
	if w.registered {
		ws.remove(w)
	}
}

func (w *Watcher) isRange() bool { return w.end != "" }

// contains reports whether key is in what the watcher watches.
func (w *Watcher) contains(key string) bool {
	if w.end == "" {
		return key == w.key
	}
	return key >= w.key && (w.end == "\x00" || key < w.end)
}

// watcherSet is the store's index of open watchers. Exact-key watchers are
// found by key; range watchers, expected to be few, are scanned. Both kinds
// are kept in ascending id order, and their slices are replaced, never
// changed in place, when a watcher leaves, so a delivery can walk a slice
// while its callbacks open and cancel watches.
type watcherSet struct {
	nextID int64
	exact  map[string][]*Watcher
	ranges []*Watcher
	delays []delayCount // the distinct delays of open watchers, with counts
	open   int          // open watchers: registered and not cancelled
	// keeping counts the open watchers that are not transient (they may
	// keep the events they are handed).
	keeping int

	pending int         // delivery events scheduled and not yet run
	free    []*delivery // recycled deliveries
	// freeEvs are one-event slices that only transient watchers saw.
	freeEvs [][]Event
	scratch []time.Duration
}

type delayCount struct {
	delay time.Duration
	n     int
}

func (ws *watcherSet) init() { ws.exact = make(map[string][]*Watcher) }

func (ws *watcherSet) add(w *Watcher) {
	if w.isRange() {
		ws.ranges = append(ws.ranges, w)
	} else {
		ws.exact[w.key] = append(ws.exact[w.key], w)
	}
	i := slices.IndexFunc(ws.delays, func(d delayCount) bool { return d.delay == w.delay })
	if i < 0 {
		ws.delays = append(ws.delays, delayCount{delay: w.delay})
		i = len(ws.delays) - 1
	}
	ws.delays[i].n++
	ws.open++
	if !w.transient {
		ws.keeping++
	}
	w.registered = true
}

// without returns a new slice: list less w.
func without(list []*Watcher, w *Watcher) []*Watcher {
	i, ok := slices.BinarySearchFunc(list, w.id, func(x *Watcher, id int64) int { return cmp.Compare(x.id, id) })
	if !ok {
		panic(fmt.Sprintf("mvcc: watcher %d is not in the index", w.id))
	}
	out := make([]*Watcher, 0, len(list)-1)
	out = append(out, list[:i]...)
	return append(out, list[i+1:]...)
}

func (ws *watcherSet) remove(w *Watcher) {
	if w.isRange() {
		ws.ranges = without(ws.ranges, w)
	} else if l := without(ws.exact[w.key], w); len(l) > 0 {
		ws.exact[w.key] = l
	} else {
		delete(ws.exact, w.key)
	}
	i := slices.IndexFunc(ws.delays, func(d delayCount) bool { return d.delay == w.delay })
	if ws.delays[i].n--; ws.delays[i].n == 0 {
		ws.delays = slices.Delete(ws.delays, i, i+1)
	}
	ws.open--
	if !w.transient {
		ws.keeping--
	}
	w.registered = false
}

// Watch opens a watch on key, or on the range [key, opts.End), and returns
// it. fn receives, through engine events opts.Delay (or the store's
// WatchDelay) after each change, every change with mod revision >=
// opts.StartRev, in revision order: the changes of one write arrive together
// in one response, in sub-revision order, with no gaps and no duplicates.
//
//   - StartRev 0 (or negative) watches the changes after the current
//     revision.
//   - StartRev at or below the current revision first replays the history
//     from StartRev up to the current revision, taken now, in one response
//     delivered after the delay and before any later change. Replay costs
//     O(changes replayed · log n) for a single key; a range scans the
//     history's changes from StartRev.
//   - StartRev above the current revision is allowed, as in etcd: the watch
//     simply waits for that revision.
//   - StartRev below the compact revision yields exactly one response, after
//     the delay: Canceled, CompactRevision = the compact revision, Err =
//     ErrCompacted. Starting exactly at the compact revision is allowed.
//
// With opts.PrevKV each event carries the version it replaced, when the key
// existed before the change: always for live changes (taken when the change
// was made); for replayed ones when the store still holds that version,
// which it does except for changes at the compact revision itself (etcd
// reads the previous version at ModRevision-1, which is then compacted).
// When one txn changes a key twice, the second change's previous version is
// the first.
//
// Responses and their event slices may be shared between watchers and with
// the store: fn must not modify them.
func (s *Store) Watch(key string, opts WatchOptions, fn func(WatchResponse)) *Watcher {
	if fn == nil {
		panic(fmt.Sprintf("mvcc: watch on %q with a nil callback", key))
	}
	ws := &s.watchers
	ws.nextID++
	w := &Watcher{s: s, id: ws.nextID, key: key, end: opts.End, prevKV: opts.PrevKV, transient: opts.Transient, delay: opts.Delay, fn: fn}
	if w.delay < 0 {
		w.delay = s.cfg.WatchDelay
	}
	start := opts.StartRev
	if start > 0 && start < s.compactRev {
		compact := s.compactRev
		ws.pending++
		w.replay = s.eng.After(w.delay, watchLabel, func() {
			ws.pending--
			w.canceled = true
			w.fn(WatchResponse{WatchID: w.id, CompactRevision: compact, Canceled: true, Err: ErrCompacted, Rev: s.rev})
		})
		return w
	}
	if start <= 0 {
		start = s.rev + 1
	}
	w.nextRev = start
	if start <= s.rev {
		evs := s.replayEvents(w, start)
		w.nextRev = s.rev + 1
		if len(evs) > 0 {
			ws.pending++
			w.replay = s.eng.After(w.delay, watchLabel, func() {
				ws.pending--
				w.fn(WatchResponse{WatchID: w.id, Events: evs, Rev: s.rev})
			})
		}
	}
	ws.add(w)
	return w
}

// replayEvents collects the changes w sees from revision start (>=
// compactRev) to the current revision.
func (s *Store) replayEvents(w *Watcher, start int64) []Event {
	var evs []Event
	c := s.compactRev
	from := start
	if start <= c {
		// The key index holds every change above c. Changes at c itself
		// may be gone from it (a tombstone at c, a key changed twice in
		// the txn at c): those were kept aside when compacting.
		for _, ev := range s.compactEvents {
			if w.contains(ev.Kv.Key) {
				evs = append(evs, ev)
			}
		}
		from = c + 1
	}
	if !w.isRange() {
		ki := s.lookup(w.key)
		if ki == nil {
			return evs
		}
		for i := ki.firstFrom(from); i < len(ki.entries); i++ {
			evs = append(evs, s.replayed(w, ki, i))
		}
		return evs
	}
	s.history.ascend(from, s.rev+1, func(main int64, keys []*keyIndex) bool {
		for sub, ki := range keys {
			if !w.contains(ki.key) {
				continue
			}
			i, ok := ki.find(revision{main, int64(sub)})
			if !ok {
				panic(fmt.Sprintf("mvcc: change %d.%d of %q is not indexed", main, sub, ki.key))
			}
			evs = append(evs, s.replayed(w, ki, i))
		}
		return true
	})
	return evs
}

// replayed is the change entries[i] of ki as a replay delivers it to w.
func (s *Store) replayed(w *Watcher, ki *keyIndex, i int) Event {
	ev := s.event(ki, i)
	if w.prevKV {
		if p, ok := ki.prevOf(i); ok {
			kv := s.kv(ki, p)
			ev.PrevKV = &kv
		}
	}
	return ev
}

// delivery is one engine event bringing one write's changes to the
// watchers with one delay. Which watchers get them is decided when it runs:
// those still open, with that delay, watching a changed key, whose live
// deliveries had begun by the write (nextRev <= the write's revision).
// Watchers opened after the write are thus left out; their replay covered
// it, or they start later.
type delivery struct {
	s     *Store
	main  int64
	evs   []Event  // the write's changes (shared with every watcher)
	prevs []prevKV // prevs[i]: the version evs[i] replaced
	delay time.Duration
	run   func() // d.deliver, bound once
	// reuse: evs is this delivery's alone (a one-change write with one
	// delay) and every watcher it may reach is transient, so it goes back
	// to freeEvs after the delivery.
	reuse bool
}

// notify schedules the deliveries of the write at main that changed keys
// (with the versions they replaced): one engine event per distinct delay
// among the watchers that want it.
func (s *Store) notify(main int64, keys []*keyIndex, prevs []prevKV) {
	ws := &s.watchers
	if ws.open == 0 {
		return
	}
	delays := ws.scratch[:0]
	want := len(ws.delays) // once every delay in use is found, stop looking
	found := func(w *Watcher) bool {
		if w.nextRev <= main && !slices.Contains(delays, w.delay) {
			delays = append(delays, w.delay)
		}
		return len(delays) == want
	}
scan:
	for _, ki := range keys {
		for _, w := range ws.exact[ki.key] {
			if found(w) {
				break scan
			}
		}
	}
	if len(delays) < want {
		for _, w := range ws.ranges {
			if w.watchesAnyKey(keys) && found(w) {
				break
			}
		}
	}
	if len(delays) > 0 {
		// The changes as events, once for every delivery: each change is
		// its key's latest entry, or the one before it when the txn
		// changed the key again.
		var evs []Event
		// The slice goes back to freeEvs after its delivery if only
		// transient watchers are open: a watcher opened later does not
		// get this write.
		reuse := len(keys) == 1 && len(delays) == 1 && ws.keeping == 0
		if n := len(ws.freeEvs); reuse && n > 0 {
			evs, ws.freeEvs = ws.freeEvs[n-1], ws.freeEvs[:n-1]
		} else {
			evs = make([]Event, len(keys))
		}
		for sub, ki := range keys {
			i := len(ki.entries) - 1
			for ki.entries[i].sub != int32(sub) || ki.entries[i].main != main {
				i--
			}
			evs[sub] = s.event(ki, i)
		}
		for _, delay := range delays {
			var d *delivery
			if n := len(ws.free); n > 0 {
				d = ws.free[n-1]
				ws.free = ws.free[:n-1]
			} else {
				d = &delivery{s: s}
				d.run = d.deliver
			}
			d.main, d.evs, d.delay, d.reuse = main, evs, delay, reuse
			d.prevs = append(d.prevs[:0], prevs...)
			ws.pending++
			s.eng.After(delay, watchLabel, d.run)
		}
	}
	ws.scratch = delays[:0]
}

func (w *Watcher) watchesAnyKey(keys []*keyIndex) bool {
	for _, ki := range keys {
		if w.contains(ki.key) {
			return true
		}
	}
	return false
}

func (w *Watcher) watchesAny(evs []Event) bool {
	for i := range evs {
		if w.contains(evs[i].Kv.Key) {
			return true
		}
	}
	return false
}

// wants reports whether w takes this delivery (given that it watches one of
// its keys).
func (d *delivery) wants(w *Watcher) bool {
	return !w.canceled && w.delay == d.delay && w.nextRev <= d.main
}

// withPrev returns the write's events with their previous versions attached.
func (d *delivery) withPrev() []Event {
	if !slices.ContainsFunc(d.prevs, func(p prevKV) bool { return p.ok }) {
		return d.evs // nothing replaced: the same events
	}
	evs := slices.Clone(d.evs)
	kvs := make([]KeyValue, len(d.prevs))
	for i, p := range d.prevs {
		if p.ok {
			kvs[i] = p.kv
			evs[i].PrevKV = &kvs[i]
		}
	}
	return evs
}

// deliver runs in the engine: it hands the write's changes to each watcher
// that wants them, in watcher-id order.
func (d *delivery) deliver() {
	s := d.s
	ws := &s.watchers
	ws.pending--
	var evsPrev []Event // built on first need, shared by PrevKV watchers
	if len(d.evs) == 1 {
		// Merge the key's watchers with the range watchers, by id.
		key := d.evs[0].Kv.Key
		ex, rg := ws.exact[key], ws.ranges
		for i, j := 0, 0; i < len(ex) || j < len(rg); {
			var w *Watcher
			if j == len(rg) || (i < len(ex) && ex[i].id < rg[j].id) {
				w = ex[i]
				i++
			} else {
				w = rg[j]
				j++
				if !w.contains(key) {
					continue
				}
			}
			if !d.wants(w) {
				continue
			}
			evs := d.evs
			if w.prevKV {
				if evsPrev == nil {
					evsPrev = d.withPrev()
				}
				evs = evsPrev
			}
			w.fn(WatchResponse{WatchID: w.id, Events: evs, Rev: s.rev})
		}
	} else {
		for _, w := range d.candidates() {
			if !d.wants(w) {
				continue
			}
			all := d.evs
			if w.prevKV {
				if evsPrev == nil {
					evsPrev = d.withPrev()
				}
				all = evsPrev
			}
			if evs := w.filter(all); len(evs) > 0 {
				w.fn(WatchResponse{WatchID: w.id, Events: evs, Rev: s.rev})
			}
		}
	}
	if d.reuse && len(ws.freeEvs) < maxFreeDeliveries {
		clear(d.evs)
		ws.freeEvs = append(ws.freeEvs, d.evs)
	}
	d.evs, d.reuse = nil, false
	clear(d.prevs)
	d.prevs = d.prevs[:0]
	if len(ws.free) < maxFreeDeliveries {
		ws.free = append(ws.free, d)
	}
}

// maxFreeDeliveries bounds the recycled deliveries: a burst of writes (a
// benchmark creating 150,000 pods in one instant) has as many pending at
// once, and keeping them all afterwards would hold their memory for good.
const maxFreeDeliveries = 1024

// candidates lists, by id, the open watchers that watch a key of a
// multi-change write.
func (d *delivery) candidates() []*Watcher {
	ws := &d.s.watchers
	var out []*Watcher
	for i := range d.evs {
		out = append(out, ws.exact[d.evs[i].Kv.Key]...)
	}
	for _, w := range ws.ranges {
		if w.watchesAny(d.evs) {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b *Watcher) int { return cmp.Compare(a.id, b.id) })
	return slices.Compact(out)
}

// filter returns the events of evs that w watches: evs itself when it
// watches them all.
func (w *Watcher) filter(evs []Event) []Event {
	n := 0
	for i := range evs {
		if w.contains(evs[i].Kv.Key) {
			n++
		}
	}
	if n == len(evs) {
		return evs
	}
	out := make([]Event, 0, n)
	for i := range evs {
		if w.contains(evs[i].Kv.Key) {
			out = append(out, evs[i])
		}
	}
	return out
}
