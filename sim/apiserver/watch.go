package apiserver

import (
	"fmt"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubesim/kubesim/internal/fifo"
	"github.com/kubesim/kubesim/sim/mvcc"
)

// A cacher is one resource's watch cache, as kube-apiserver's Cacher: it
// watches the resource's key prefix in the store, turns each change into a
// typed object once, keeps a window of recent events so watches can resume
// from a resourceVersion, and fans every event out to the API watchers whose
// namespace, label and field selectors match, answering ADDED / MODIFIED /
// DELETED as the object enters, changes within or leaves their selection.
//
// Watchers with an exact spec.nodeName or metadata.name field selector (every
// kubelet's pod watch, node and lease watches) are indexed by that value, so
// a pod change reaches its own node's kubelet without visiting the others.
type cacher struct {
	s   *Server
	res *Resource
	// prefix is the resource's storage key prefix: a key past it is the
	// object's cache key (see WatchKeyed).
	prefix string
	// fields reads an object's selectable fields for the watches' field
	// selectors (one for all deliveries).
	fields objectFields

	// rev is the revision of the last store event processed.
	rev int64
	// objs is the resource's state as of rev: each object (shared) with
	// its stored bytes (shared with the store).
	objs map[string]cachedObj

	// pending holds the objects the server wrote, in revision order, until
	// the store's watch event for them arrives; it spares decoding.
	pending fifo.Ring[pendingWrite]

	// history is the event window for resuming watches; resumeRev is the
	// oldest resourceVersion a watch can start from (every event after it
	// is still in history). It names each event's versions, not decoded
	// objects: a replay reads them from the store and decodes them (see
	// histEvent).
	history   eventRing
	resumeRev int64

	nextID    int64
	unindexed []*Watcher
	indexed   map[indexKey][]*Watcher
}

type pendingWrite struct {
	key string
	rev int64
	obj runtime.Object
}

// cachedObj is a current object of the watch cache.
type cachedObj struct {
	obj  runtime.Object
	data []byte // its stored bytes, shared with the store
	rev  int64  // its resourceVersion
}

// cacheEvent is one change being dispatched to watchers.
type cacheEvent struct {
	rev    int64
	key    string
	obj    runtime.Object // nil for a deletion
	prev   runtime.Object // nil for a creation
	fields indexValues
	// left is prev at the change's resourceVersion, made for the first
	// watcher the object leaves (see leftObject).
	left runtime.Object
}

// histEvent is one change in the watch cache's window. Upstream's watch
// cache keeps decoded objects there; kubesim keeps neither objects nor
// bytes, only which versions changed: a replay (rare) reads them from the
// store and decodes them, so the window costs no copies of superseded
// versions. The store has every version a replay needs while they are
// above its compaction, and a version at or below it is its key's newest
// (which compaction keeps) unless a change in the window superseded it;
// before each compaction the window copies the bytes of the versions its
// changes name below the new compaction revision (keepBytes), which in a
// busy cluster is none (the window spans 75 s, compaction lags 5 minutes).
// A replayed event equals the live one: the bytes are what the server
// stored, and the current version of an object is the shared cached
// object.
type histEvent struct {
	rev     int64
	at      time.Duration
	key     string
	prevRev int64 // the previous version's resourceVersion; 0 for a creation
	deleted bool  // a deletion: no new version
	// kept holds the versions' bytes once a compaction may drop them.
	kept *keptVersions
}

// keptVersions are the bytes of a change's versions (nil: the store has
// them, or there is no such version).
type keptVersions struct {
	data, prev []byte
}

// indexValues are the indexed field values of an event's new and old object.
type indexValues struct {
	newName, oldName, newNode, oldNode string
}

type indexKey struct {
	field string // "spec.nodeName" or "metadata.name"
	value string
}

func newCacher(s *Server, res *Resource) *cacher {
	c := &cacher{s: s, res: res, prefix: res.prefix(), objs: map[string]cachedObj{}, indexed: map[indexKey][]*Watcher{}}
	c.rev = s.store.Rev()
	c.resumeRev = c.rev
	if !res.NoWatchCache {
		start, end := res.rangeFor("")
		// Transient: process copies what it keeps out of each event.
		s.store.Watch(start, mvcc.WatchOptions{End: end, StartRev: c.rev + 1, Delay: s.cfg.WatchDelay, Transient: true}, c.onStoreEvents)
	}
	return c
}

// watchStore serves w, a watch of a resource without a watch cache, as
// kube-apiserver serves one from etcd: with a store watch of its own, from
// the revision after w.lastRev, that carries the previous versions. So
// events (the bulk of all writes) cost no delivery while nobody watches
// them.
func (c *cacher) watchStore(w *Watcher) {
	s := c.s
	start, end := c.res.rangeFor(w.ns)
	w.storeWatch = s.store.Watch(start, mvcc.WatchOptions{End: end, StartRev: w.lastRev + 1, Delay: s.cfg.WatchDelay, PrevKV: true},
		func(resp mvcc.WatchResponse) {
			if resp.Err != nil {
				panic(fmt.Sprintf("apiserver: a watch of %s lost its store watch: %v", c.res.Name, resp.Err))
			}
			for _, ev := range resp.Events {
				if !w.live || w.stopped {
					return
				}
				ce := c.passThrough(ev)
				c.deliver(w, &ce)
			}
		})
}

// written records an object the server just stored (nil-free; deletions
// carry the last object with the deletion revision).
func (c *cacher) written(key string, rev int64, obj runtime.Object) {
	c.pending.Push(pendingWrite{key: key, rev: rev, obj: obj})
}

// takePending returns the object the server wrote at key and rev if it is
// the oldest pending write (nil otherwise), and forgets it.
func (c *cacher) takePending(key string, rev int64) runtime.Object {
	if c.pending.Len() == 0 || c.pending.At(0).rev != rev || c.pending.At(0).key != key {
		return nil
	}
	return c.pending.Pop().obj
}

func (c *cacher) onStoreEvents(resp mvcc.WatchResponse) {
	if resp.Err != nil {
		panic(fmt.Sprintf("apiserver: watch cache for %s lost its store watch: %v", c.res.Name, resp.Err))
	}
	for _, ev := range resp.Events {
		c.process(ev)
	}
}

func (c *cacher) process(ev mvcc.Event) {
	rev := ev.Kv.ModRevision
	key := ev.Kv.Key
	obj := c.takePending(key, rev)
	if obj == nil && ev.Type == mvcc.EventPut {
		// Written behind the server's back (tests poking the store).
		obj = decode(c.res, ev.Kv.Value)
		obj.(metav1.Object).SetResourceVersion(formatRV(rev))
	}
	cur, existed := c.objs[key]
	prev := cur.obj
	ce := cacheEvent{rev: rev, key: key, prev: prev}
	he := histEvent{rev: rev, at: c.s.eng.Elapsed(), key: key, deleted: ev.Type != mvcc.EventPut}
	if existed {
		he.prevRev = cur.rev
	}
	if compacted := c.s.store.CompactRev(); rev < compacted || he.prevRev < compacted && existed {
		// The store compacted past this change before it got here.
		he.kept = &keptVersions{prev: cur.data}
		if ev.Type == mvcc.EventPut {
			he.kept.data = ev.Kv.Value
		}
	}
	if ev.Type == mvcc.EventPut {
		ce.obj = obj
		c.objs[key] = cachedObj{obj: obj, data: ev.Kv.Value, rev: rev}
	} else {
		if obj == nil && prev != nil {
			obj = prev.DeepCopyObject()
			obj.(metav1.Object).SetResourceVersion(formatRV(rev))
		}
		delete(c.objs, key)
		ce.prev = obj // the DELETED event's object: last state, deletion RV
	}
	ce.fields = c.indexValues(ce.obj, prevOf(ce, prev))
	c.rev = rev
	c.appendHistory(he)
	c.dispatch(&ce)
}

// passThrough turns a store event of a resource without watch cache into
// the change a watch delivers, decoded for it (nothing is kept).
func (c *cacher) passThrough(ev mvcc.Event) cacheEvent {
	rev := ev.Kv.ModRevision
	var prev runtime.Object
	if ev.PrevKV != nil {
		prev = decode(c.res, ev.PrevKV.Value)
		prev.(metav1.Object).SetResourceVersion(formatRV(ev.PrevKV.ModRevision))
	}
	ce := cacheEvent{rev: rev, key: ev.Kv.Key, prev: prev}
	if ev.Type == mvcc.EventPut {
		obj := decode(c.res, ev.Kv.Value)
		obj.(metav1.Object).SetResourceVersion(formatRV(rev))
		ce.obj = obj
	} else if prev != nil {
		obj := prev.DeepCopyObject()
		obj.(metav1.Object).SetResourceVersion(formatRV(rev))
		ce.prev = obj
	}
	return ce
}

func prevOf(ce cacheEvent, prev runtime.Object) runtime.Object {
	if ce.obj == nil {
		return ce.prev
	}
	return prev
}

func (c *cacher) indexValues(obj, prev runtime.Object) indexValues {
	var v indexValues
	if obj != nil {
		v.newName = obj.(metav1.Object).GetName()
		v.newNode = nodeNameOf(obj)
	}
	if prev != nil {
		v.oldName = prev.(metav1.Object).GetName()
		v.oldNode = nodeNameOf(prev)
	}
	return v
}

func (c *cacher) appendHistory(he histEvent) {
	h := &c.history
	h.Push(he)
	cfg := c.s.cfg
	for h.Len() > 0 {
		old := h.At(0)
		if h.Len() > cfg.WatchCacheMaxEvents || (h.Len() > cfg.WatchCacheMinEvents && he.at-old.at > cfg.WatchCacheWindow) {
			c.resumeRev = old.rev
			h.Pop()
			continue
		}
		break
	}
}

// eventRing is the window of history events, oldest first: it slides
// without moving the events it keeps.
type eventRing struct{ fifo.Ring[histEvent] }

// search returns the index of the first event with revision >= rev.
func (r *eventRing) search(rev int64) int {
	return sort.Search(r.Len(), func(i int) bool { return r.At(i).rev >= rev })
}

// Watcher is one API watch. Its handler runs inside engine events.
type Watcher struct {
	c       *cacher
	id      int64
	ns      string
	sel     Selector
	index   *indexKey
	fn      func(ev watch.Event, key string)
	lastRev int64 // events at or below lastRev are not delivered
	// endBookmark: the initial events end with a BOOKMARK.
	endBookmark bool
	live        bool
	stopped     bool
	// storeWatch serves a watch of a resource without watch cache.
	storeWatch *mvcc.Watcher
}

// Stop ends the watch: no events are delivered after Stop returns.
func (w *Watcher) Stop() {
	if w.stopped {
		return
	}
	w.stopped = true
	if w.storeWatch != nil {
		w.storeWatch.Cancel() // served by the store, not by the cache's fan-out
		return
	}
	c := w.c
	// Build new slices: a dispatch in progress may be iterating the old ones.
	if w.index != nil {
		l := without(c.indexed[*w.index], w)
		if len(l) == 0 {
			delete(c.indexed, *w.index)
		} else {
			c.indexed[*w.index] = l
		}
	} else {
		c.unindexed = without(c.unindexed, w)
	}
}

func without(ws []*Watcher, w *Watcher) []*Watcher {
	out := make([]*Watcher, 0, len(ws))
	for _, x := range ws {
		if x != w {
			out = append(out, x)
		}
	}
	return out
}

// Watch starts a watch on res in namespace ("" = all), as GET ?watch=1:
//   - with sendInitialEvents=true, which the WatchList defaults give a
//     watch from "" or "0" without resourceVersionMatch: first a synthetic
//     ADDED for every matching object of the latest state (from "0": of
//     the watch cache's), then, if the watch allows bookmarks, a BOOKMARK
//     of an empty object at that state's resourceVersion annotated
//     k8s.io/initial-events-end: "true", then every change. A "N" ahead
//     of the store fails 504 (Too large resource version).
//   - with sendInitialEvents=false: every change after revision N, after
//     the latest revision for "", after the watch cache's for "0".
//   - "N" (resourceVersionMatch unset): every change after revision N. If
//     N is older than the watch cache's window, Watch fails with 410 Gone
//     (reason Expired, "too old resource version: N (M)") and the client
//     must list again, as informers do; a resource without a watch cache
//     fails so ("The resourceVersion for the provided watch is too old.")
//     when the store compacted the changes after N.
//
// No other bookmarks are sent, and a watch never times out.
//
// Events are delivered through the engine, never inside the call.
func (s *Server) Watch(res *Resource, namespace string, opts metav1.ListOptions, fn func(watch.Event)) (*Watcher, error) {
	return s.WatchKeyed(res, namespace, opts, func(ev watch.Event, _ string) { fn(ev) })
}

// WatchKeyed is Watch whose events come with their object's cache key
// (client-go's MetaNamespaceKeyFunc: "<namespace>/<name>", or "<name>"),
// the tail of the object's storage key, so a client keeping a cache builds
// no key string of its own; "" when the server has none at hand (the
// initial ADDED events).
func (s *Server) WatchKeyed(res *Resource, namespace string, opts metav1.ListOptions, fn func(ev watch.Event, key string)) (*Watcher, error) {
	opts, sel, err := s.listOptions(res, opts, true)
	if err != nil {
		return nil, err
	}
	if !res.Namespaced {
		namespace = ""
	}
	c := s.cachers[res]
	c.nextID++
	w := &Watcher{c: c, id: c.nextID, ns: namespace, sel: sel, fn: fn}
	if ik, ok := indexFor(res, sel); ok {
		w.index = &ik
	}
	var initial []runtime.Object
	var rv int64
	if opts.ResourceVersion != "" {
		if rv, err = ParseResourceVersion(opts.ResourceVersion); err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	}
	switch {
	case opts.SendInitialEvents != nil && *opts.SendInitialEvents:
		// The state first: the latest, or from "0" the watch cache's.
		w.endBookmark = opts.AllowWatchBookmarks
		if opts.ResourceVersion == "0" && !res.NoWatchCache {
			initial, w.lastRev = c.list(namespace, sel)
			break
		}
		if rv > s.store.Rev() && !res.NoWatchCache {
			// The watch cache waits for N, then gives up.
			return nil, tooLargeResourceVersion(rv, s.store.Rev(), 1)
		}
		objs, rev, err := s.ListSelected(res, namespace, sel)
		if err != nil {
			return nil, err
		}
		initial, w.lastRev = objs, rev
	case opts.ResourceVersion == "":
		w.lastRev = s.store.Rev() // the most recent revision, etcd's
	case opts.ResourceVersion == "0":
		w.lastRev = c.rev // any: the watch cache's
		if res.NoWatchCache {
			w.lastRev = s.store.Rev()
		}
	case res.NoWatchCache:
		// The store replays its history from any revision since the
		// compaction (the etcd3 watcher's interpretWatchError below it).
		if rv+1 < s.store.CompactRev() {
			return nil, apierrors.NewResourceExpired("The resourceVersion for the provided watch is too old.")
		}
		w.lastRev = rv
	default:
		// The watch cache replays its window, whatever etcd compacted
		// (keepBytes kept what the window needs).
		if rv < c.resumeRev {
			return nil, apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", rv, c.resumeRev))
		}
		w.lastRev = rv
	}
	if res.NoWatchCache {
		s.eng.After(s.cfg.WatchDelay, "apiserver watch start "+res.Name, func() { c.start(w, initial) })
		// Opened after the start is scheduled: the changes the store
		// replays reach the watcher once it is live.
		c.watchStore(w)
		return w, nil
	}
	if w.index != nil {
		c.indexed[*w.index] = append(c.indexed[*w.index], w)
	} else {
		c.unindexed = append(c.unindexed, w)
	}
	s.eng.After(s.cfg.WatchDelay, "apiserver watch start "+res.Name, func() { c.start(w, initial) })
	return w, nil
}

// start delivers the initial ADDED events and the history the watcher
// missed, then lets live events through.
func (c *cacher) start(w *Watcher, initial []runtime.Object) {
	if w.stopped {
		return
	}
	for _, obj := range initial {
		if w.stopped {
			return
		}
		w.fn(watch.Event{Type: watch.Added, Object: obj}, "")
	}
	if w.endBookmark && !w.stopped {
		// cacheWatcher.convertToWatchEvent's bookmark after the initial
		// events: an empty object at their resourceVersion.
		b := c.res.New()
		m := b.(metav1.Object)
		m.SetResourceVersion(formatRV(w.lastRev))
		m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
		w.fn(watch.Event{Type: watch.Bookmark, Object: b}, "")
	}
	for i := c.history.search(w.lastRev + 1); i < c.history.Len() && !w.stopped; i++ {
		ce := c.replayed(c.history.At(i))
		c.deliver(w, &ce)
	}
	w.live = true
}

// replayed rebuilds the change he for a replay: the current version of an
// object is the shared cached one; older versions are decoded from their
// stored bytes (the store's, or those the window kept), with their
// resourceVersion (a deleted object's is the deletion revision).
func (c *cacher) replayed(he *histEvent) cacheEvent {
	ce := cacheEvent{rev: he.rev, key: he.key}
	var data, prev []byte
	if he.kept != nil {
		data, prev = he.kept.data, he.kept.prev
	}
	if !he.deleted {
		ce.obj = c.version(he.key, he.rev, he.rev, data)
	}
	if he.prevRev != 0 {
		rv := he.prevRev
		if he.deleted {
			rv = he.rev
		}
		ce.prev = c.version(he.key, he.prevRev, rv, prev)
	}
	return ce
}

// version returns the object key held at store revision at, with
// resourceVersion rv: the cached object if that is the current version,
// else decoded from data, or from the store's bytes when data is nil.
func (c *cacher) version(key string, at, rv int64, data []byte) runtime.Object {
	if cur, ok := c.objs[key]; ok && cur.rev == rv {
		return cur.obj
	}
	if data == nil {
		data = c.s.storedAt(key, at)
	}
	obj := decode(c.res, data)
	obj.(metav1.Object).SetResourceVersion(formatRV(rv))
	return obj
}

// keepBytes copies into the window the bytes of every version its changes
// name below rev, before the store is compacted to rev and may drop them.
func (c *cacher) keepBytes(rev int64) {
	for i := 0; i < c.history.Len(); i++ {
		he := c.history.At(i)
		needData := !he.deleted && he.rev < rev
		needPrev := he.prevRev != 0 && he.prevRev < rev
		if !needData && !needPrev {
			continue
		}
		if he.kept == nil {
			he.kept = &keptVersions{}
		}
		if needData && he.kept.data == nil {
			he.kept.data = c.s.storedAt(he.key, he.rev)
		}
		if needPrev && he.kept.prev == nil {
			he.kept.prev = c.s.storedAt(he.key, he.prevRev)
		}
	}
}

// dispatch sends one event to every live watcher it may concern, in
// watcher-ID order: the unindexed watchers and those indexed by the
// event's object name or node, merged without allocating.
func (c *cacher) dispatch(ce *cacheEvent) {
	var lists [5][]*Watcher
	n := c.candidates(ce, &lists)
	var pos [5]int
	lastID := int64(-1)
	for {
		best := -1
		for i := 0; i < n; i++ {
			if pos[i] < len(lists[i]) && (best < 0 || lists[i][pos[i]].id < lists[best][pos[best]].id) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		w := lists[best][pos[best]]
		pos[best]++
		if w.id == lastID {
			continue // in two lists (its index key is both old and new)
		}
		lastID = w.id
		if w.live && !w.stopped {
			c.deliver(w, ce)
		}
	}
}

// candidates fills lists with the watcher lists (each in ID order) that
// may concern ce and returns how many there are.
func (c *cacher) candidates(ce *cacheEvent, lists *[5][]*Watcher) int {
	n := 0
	lists[n] = c.unindexed
	n++
	if len(c.indexed) == 0 {
		return n
	}
	add := func(field, value string) {
		if value == "" {
			return
		}
		if l := c.indexed[indexKey{field, value}]; len(l) > 0 {
			lists[n] = l
			n++
		}
	}
	add("metadata.name", ce.fields.newName)
	if ce.fields.oldName != ce.fields.newName {
		add("metadata.name", ce.fields.oldName)
	}
	add("spec.nodeName", ce.fields.newNode)
	if ce.fields.oldNode != ce.fields.newNode {
		add("spec.nodeName", ce.fields.oldNode)
	}
	return n
}

// deliver sends ce to w if it concerns w's selection.
func (c *cacher) deliver(w *Watcher, ce *cacheEvent) {
	if ce.rev <= w.lastRev {
		return
	}
	w.lastRev = ce.rev
	in := func(obj runtime.Object) bool {
		if obj == nil {
			return false
		}
		if w.ns != "" && obj.(metav1.Object).GetNamespace() != w.ns {
			return false
		}
		return w.sel.matches(c.res, obj, &c.fields)
	}
	// The storage key past the resource's prefix: namespace/name.
	key := ce.key[len(c.prefix):]
	if ce.obj == nil { // deletion; ce.prev is the final object
		if in(ce.prev) {
			w.fn(watch.Event{Type: watch.Deleted, Object: ce.prev}, key)
		}
		return
	}
	newIn, oldIn := in(ce.obj), in(ce.prev)
	switch {
	case newIn && oldIn:
		w.fn(watch.Event{Type: watch.Modified, Object: ce.obj}, key)
	case newIn:
		w.fn(watch.Event{Type: watch.Added, Object: ce.obj}, key)
	case oldIn:
		// Left the selection: DELETED with the version that matched, at
		// the change's resourceVersion (upstream's cacheWatcher
		// convertToWatchEvent; the etcd3 watcher's transform alike).
		w.fn(watch.Event{Type: watch.Deleted, Object: ce.leftObject()}, key)
	}
}

// leftObject is the object of the DELETED event a watcher gets when ce's
// object leaves its selection: the previous version with ce's
// resourceVersion, one copy for all such watchers.
func (ce *cacheEvent) leftObject() runtime.Object {
	if ce.left == nil {
		ce.left = ce.prev.DeepCopyObject()
		ce.left.(metav1.Object).SetResourceVersion(formatRV(ce.rev))
	}
	return ce.left
}

// indexFor reports the index a selector can use: an exact match on
// spec.nodeName (pods) or metadata.name.
func indexFor(res *Resource, sel Selector) (indexKey, bool) {
	if sel.Field == nil {
		return indexKey{}, false
	}
	if res.Name == "pods" {
		if v, ok := sel.Field.RequiresExactMatch("spec.nodeName"); ok {
			return indexKey{"spec.nodeName", v}, true
		}
	}
	if v, ok := sel.Field.RequiresExactMatch("metadata.name"); ok {
		return indexKey{"metadata.name", v}, true
	}
	return indexKey{}, false
}
