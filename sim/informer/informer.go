package informer

import (
	"fmt"
	"sort"
	"strings"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
)

// Informer is a list+watch cache of one resource (optionally narrowed by
// namespace and selectors), like client-go's SharedIndexInformer: it lists,
// then watches from the list's resourceVersion, keeps an indexed local copy,
// and calls its event handlers for every change, inside the engine event
// that delivered it. If its watch cannot resume (410 Gone) it lists again
// and reconciles the cache, reporting deletions it missed as
// cache.DeletedFinalStateUnknown.
//
// Cached objects are shared with the API server and every other informer:
// handlers and listers must never modify them (copy first). Factory option
// DetectMutations turns on a checker that panics when one is modified.
type Informer struct {
	f    *Factory
	res  *apiserver.Resource
	ns   string
	opts metav1.ListOptions

	indexer  *Indexer
	handlers []cache.ResourceEventHandler
	watcher  *apiserver.Watcher
	started  bool
	synced   bool
	lastRV   string
	relists  int
}

// Resource is the resource the informer caches.
func (i *Informer) Resource() *apiserver.Resource { return i.res }

// GetIndexer returns the informer's cache.
func (i *Informer) GetIndexer() cache.Indexer { return i.indexer }

// KeyOf is the key the cache files obj under ("namespace/name", as
// cache.MetaNamespaceKeyFunc). For the object of the event being handled
// it is the string the cache already made, so a handler queueing the key
// allocates nothing.
func (i *Informer) KeyOf(obj any) string { return i.indexer.key(obj) }

// GetStore returns the informer's cache.
func (i *Informer) GetStore() cache.Store { return i.indexer }

// HasSynced reports whether the initial list has been processed.
func (i *Informer) HasSynced() bool { return i.synced }

// LastSyncResourceVersion is the resourceVersion of the last event seen.
func (i *Informer) LastSyncResourceVersion() string { return i.lastRV }

// Relists counts the lists after the first (watch expired).
func (i *Informer) Relists() int { return i.relists }

// AddIndexers adds indexes to the cache.
func (i *Informer) AddIndexers(ix cache.Indexers) error { return i.indexer.AddIndexers(ix) }

// AddValueIndex adds an index with one value per object (Indexer.AddValueIndex).
func (i *Informer) AddValueIndex(name string, fn func(obj any) string) error {
	return i.indexer.AddValueIndex(name, fn)
}

// AddEventHandler registers a handler. A handler added after the informer
// has synced first receives an OnAdd for every cached object, in key order.
func (i *Informer) AddEventHandler(h cache.ResourceEventHandler) {
	i.handlers = append(i.handlers, h)
	if i.synced {
		for _, o := range i.indexer.List() {
			h.OnAdd(o, true)
		}
	}
}

// start lists and begins watching. Called by Factory.Start.
func (i *Informer) start() {
	if i.started {
		return
	}
	i.started = true
	i.list()
}

func (i *Informer) list() {
	objs, rev, err := i.f.server.List(i.res, i.ns, i.opts)
	if err != nil {
		panic(fmt.Sprintf("informer %s: list failed: %v", i.describe(), err))
	}
	rv := fmt.Sprint(rev)
	initial := !i.synced
	if initial {
		for _, o := range objs {
			i.store(o)
			for _, h := range i.handlers {
				h.OnAdd(o, true)
			}
		}
	} else {
		i.reconcile(objs)
	}
	i.indexer.Bookmark(rv)
	i.lastRV = rv
	i.synced = true
	i.watch(rv)
}

// reconcile brings the cache in line with a fresh list after a watch
// expired, as a reflector's Replace followed by the informer's deltas.
func (i *Informer) reconcile(objs []runtime.Object) {
	seen := make(map[string]bool, len(objs))
	for _, o := range objs {
		key := i.indexer.key(o)
		seen[key] = true
		if old, ok := i.indexer.items[key]; ok {
			if old.(metav1.Object).GetResourceVersion() == o.(metav1.Object).GetResourceVersion() {
				continue
			}
			i.store(o)
			for _, h := range i.handlers {
				h.OnUpdate(old, o)
			}
		} else {
			i.store(o)
			for _, h := range i.handlers {
				h.OnAdd(o, false)
			}
		}
	}
	for _, key := range i.indexer.ListKeys() {
		if seen[key] {
			continue
		}
		old := i.indexer.items[key]
		i.forget(key)
		for _, h := range i.handlers {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: key, Obj: old})
		}
	}
}

func (i *Informer) watch(rv string) {
	opts := i.opts
	opts.ResourceVersion = rv
	w, err := i.f.server.WatchKeyed(i.res, i.ns, opts, i.onEvent)
	if err != nil {
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			i.relists++
			i.list()
			return
		}
		panic(fmt.Sprintf("informer %s: watch failed: %v", i.describe(), err))
	}
	i.watcher = w
}

// onEvent applies a watch event; key is the object's namespace/name key
// when the server has it at hand (see apiserver.Server.WatchKeyed).
func (i *Informer) onEvent(ev watch.Event, key string) {
	obj := ev.Object
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	i.lastRV = m.GetResourceVersion()
	if key != "" && i.indexer.stdKey {
		i.indexer.lastObj, i.indexer.lastKey = obj, key
	} else {
		key = i.indexer.key(obj)
	}
	switch ev.Type {
	case watch.Added, watch.Modified:
		// One lookup of the key, not one more to store: the cache holds
		// as many keys as the cluster has objects of the kind.
		if old, exists := i.indexer.items[key]; exists {
			i.f.checkMutation(i, key)
			i.indexer.replace(key, old, obj)
			i.keepCopy(key, obj)
			for _, h := range i.handlers {
				h.OnUpdate(old, obj)
			}
		} else {
			i.indexer.insert(key, obj)
			i.keepCopy(key, obj)
			for _, h := range i.handlers {
				h.OnAdd(obj, false)
			}
		}
	case watch.Deleted:
		if _, exists := i.indexer.items[key]; exists {
			i.f.checkMutation(i, key)
		}
		i.forget(key)
		for _, h := range i.handlers {
			h.OnDelete(obj)
		}
	}
}

func (i *Informer) store(obj runtime.Object) {
	key := i.indexer.key(obj)
	i.indexer.put(key, obj)
	i.keepCopy(key, obj)
}

// keepCopy keeps a copy of the object cached under key for the mutation
// detector, when it is on.
func (i *Informer) keepCopy(key string, obj runtime.Object) {
	if i.f.detect {
		i.f.copies[copyKey{i, key}] = obj.DeepCopyObject()
	}
}

func (i *Informer) forget(key string) {
	i.indexer.remove(key)
	if i.f.detect {
		delete(i.f.copies, copyKey{i, key})
	}
}

// Stop ends the informer's watch, as when its component loses the API
// server (a crashed or partitioned node). The cache keeps its content, now
// possibly stale.
func (i *Informer) Stop() {
	if i.watcher != nil {
		i.watcher.Stop()
		i.watcher = nil
	}
}

// Stopped reports whether the informer's watch is stopped.
func (i *Informer) Stopped() bool { return i.started && i.watcher == nil }

// Resume restarts a stopped informer's watch from the last resourceVersion it
// saw, as a reflector does after a broken connection. If that version is no
// longer available (410 Gone) it lists again and reconciles its cache,
// reporting what changed meanwhile to its handlers.
func (i *Informer) Resume() {
	if !i.started || i.watcher != nil {
		return
	}
	i.watch(i.lastRV)
}

func (i *Informer) describe() string {
	var parts []string
	parts = append(parts, i.res.Name)
	if i.ns != "" {
		parts = append(parts, "ns="+i.ns)
	}
	if i.opts.LabelSelector != "" {
		parts = append(parts, "labels="+i.opts.LabelSelector)
	}
	if i.opts.FieldSelector != "" {
		parts = append(parts, "fields="+i.opts.FieldSelector)
	}
	return strings.Join(parts, " ")
}

// Factory creates and shares informers, like client-go's
// SharedInformerFactory: asking twice for the same resource and options
// returns the same informer.
type Factory struct {
	server *apiserver.Server
	eng    *sim.Engine
	list   []*Informer
	byKey  map[string]*Informer
	// plain holds, per resource, the informer byKey holds for it without
	// options: ForResource's fast path for callers that ask on every use.
	plain   map[*apiserver.Resource]*Informer
	detect  bool
	copies  map[copyKey]runtime.Object
	started bool
	// keys is the key cache the factory's indexers share.
	keys keyMemo
}

type copyKey struct {
	i   *Informer
	key string
}

// Option configures a Factory.
type Option func(*Factory)

// DetectMutations makes the factory keep a private copy of every cached
// object and panic, naming the object, if a cached object is found modified
// (checked whenever the object is replaced or deleted, and by
// CheckMutations). It is client-go's cache mutation detector, for tests.
func DetectMutations() Option {
	return func(f *Factory) { f.detect = true; f.copies = map[copyKey]runtime.Object{} }
}

// NewFactory returns a factory for server's resources.
func NewFactory(server *apiserver.Server, opts ...Option) *Factory {
	f := &Factory{server: server, eng: server.Engine(), byKey: map[string]*Informer{}, plain: map[*apiserver.Resource]*Informer{}}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Server is the API server the factory's informers watch.
func (f *Factory) Server() *apiserver.Server { return f.server }

// ListOption narrows an informer.
type ListOption func(*Informer)

// InNamespace restricts an informer to one namespace.
func InNamespace(ns string) ListOption { return func(i *Informer) { i.ns = ns } }

// WithLabelSelector restricts an informer to objects matching a label selector.
func WithLabelSelector(sel string) ListOption {
	return func(i *Informer) { i.opts.LabelSelector = sel }
}

// WithFieldSelector restricts an informer to objects matching a field
// selector (e.g. "spec.nodeName=node-1", which the API server indexes).
func WithFieldSelector(sel string) ListOption {
	return func(i *Informer) { i.opts.FieldSelector = sel }
}

// ForResource returns the shared informer for resource (any name the API
// server knows) narrowed by opts, creating it on first use. Informers
// created after Start are started at once.
func (f *Factory) ForResource(resource string, opts ...ListOption) *Informer {
	res, ok := f.server.Resource(resource)
	if !ok {
		panic("informer: unknown resource " + resource)
	}
	if len(opts) == 0 {
		if i := f.plain[res]; i != nil {
			return i
		}
	}
	i := &Informer{f: f, res: res}
	for _, o := range opts {
		o(i)
	}
	k := res.Name + "|" + i.describe()
	if existing, ok := f.byKey[k]; ok {
		if len(opts) == 0 {
			f.plain[res] = existing
		}
		return existing
	}
	if len(opts) == 0 {
		f.plain[res] = i
	}
	i.indexer = NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	i.indexer.shared = &f.keys
	f.byKey[k] = i
	f.list = append(f.list, i)
	if f.started {
		i.start()
	}
	return i
}

// Start lists and starts watching with every informer created so far (and
// makes later ones start as they are created). The initial lists are read
// synchronously, so informers have synced when Start returns; their
// handlers have received OnAdd for every existing object.
func (f *Factory) Start() {
	f.started = true
	for _, i := range f.list {
		i.start()
	}
}

// Informers returns the factory's informers in creation order.
func (f *Factory) Informers() []*Informer { return f.list }

// CheckMutations compares every cached object with the copy kept when it
// was cached and returns an error naming the first one that was modified.
// It returns nil when the factory was not created with DetectMutations.
func (f *Factory) CheckMutations() error {
	if !f.detect {
		return nil
	}
	keys := make([]copyKey, 0, len(f.copies))
	for k := range f.copies {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].i != keys[b].i {
			return keys[a].i.describe() < keys[b].i.describe()
		}
		return keys[a].key < keys[b].key
	})
	for _, k := range keys {
		if err := f.compare(k.i, k.key); err != nil {
			return err
		}
	}
	return nil
}

// CheckCaches compares the cache of every informer that is watching (not
// stopped) with a fresh list from the API server under the same namespace
// and selectors, and returns an error naming the first difference: an
// object missing from the cache, one it still holds after its deletion, or
// one at another resourceVersion. Between events an informer that has
// received every watch event holds exactly what a list returns (a
// reflector's contract); tests check it once the cluster is quiet.
func (f *Factory) CheckCaches() error {
	for _, i := range f.list {
		if !i.started || i.watcher == nil {
			continue
		}
		objs, _, err := f.server.List(i.res, i.ns, i.opts)
		if err != nil {
			return fmt.Errorf("informer %s: list failed: %v", i.describe(), err)
		}
		listed := make(map[string]string, len(objs))
		for _, o := range objs {
			listed[i.indexer.key(o)] = o.(metav1.Object).GetResourceVersion()
		}
		for _, key := range i.indexer.ListKeys() {
			rv, ok := listed[key]
			cached := i.indexer.items[key].(metav1.Object).GetResourceVersion()
			switch {
			case !ok:
				return fmt.Errorf("informer %s: cache holds %s (resourceVersion %s), which a list does not return", i.describe(), key, cached)
			case rv != cached:
				return fmt.Errorf("informer %s: cache holds %s at resourceVersion %s, a list returns %s", i.describe(), key, cached, rv)
			}
			delete(listed, key)
		}
		if len(listed) > 0 {
			missing := make([]string, 0, len(listed))
			for k := range listed {
				missing = append(missing, k)
			}
			sort.Strings(missing)
			return fmt.Errorf("informer %s: cache lacks %s, which a list returns", i.describe(), strings.Join(missing, ", "))
		}
	}
	return nil
}

func (f *Factory) checkMutation(i *Informer, key string) {
	if !f.detect {
		return
	}
	if err := f.compare(i, key); err != nil {
		panic(err.Error())
	}
}

func (f *Factory) compare(i *Informer, key string) error {
	cached, ok := i.indexer.items[key]
	if !ok {
		return nil
	}
	orig := f.copies[copyKey{i, key}]
	if orig != nil && !apiequality.Semantic.DeepEqual(orig, cached) {
		return fmt.Errorf("informer %s: cached object %s was modified in place; cached objects are shared and must be copied (DeepCopy) before changing them", i.describe(), key)
	}
	return nil
}
