package informer

import (
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/google/btree"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// Indexer is a cache.Indexer whose List, ListKeys and ByIndex return items
// in key order, so nothing that reads an informer cache can observe Go map
// iteration order. It is single-threaded, like everything in the core.
type Indexer struct {
	keyFunc  cache.KeyFunc
	items    map[string]any
	order    *btree.BTreeG[string]
	indexers cache.Indexers
	// indices: index name → indexed value → keys (ordered)
	indices map[string]map[string]*btree.BTreeG[string]
	// names are the index names, sorted.
	names []string
	// nsIndex marks the indexes whose function is client-go's namespace
	// index (one value: the object's namespace), which an update of the
	// same namespaced key never changes.
	nsIndex map[string]bool
	// single holds the functions of the indexes added by AddValueIndex
	// (one value per object, compared on an update without allocating).
	single map[string]func(obj any) string
	// stdKey: keyFunc is client-go's MetaNamespaceKeyFunc.
	stdKey bool
	// lastObj and lastKey cache the key of the last object keyed (an
	// informer event looks its object's key up more than once).
	lastObj any
	lastKey string
	// shared is the same cache for every indexer of a factory: a change
	// reaches its informers one after another with the same object, which
	// so gets one key string rather than one per informer.
	shared *keyMemo
	rv     string
	// writes counts the calls that may have changed the items (puts,
	// removes, replaces): while it stays the same, so do the items.
	writes uint64
	// nsValue holds the namespace index's value while it is used.
	nsValue [1]string
}

// keyMemo remembers the namespace/name key of one object.
type keyMemo struct {
	obj any
	key string
}

// sameFunc reports whether two functions are the same top-level function.
func sameFunc(a, b any) bool { return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer() }

var _ cache.Indexer = (*Indexer)(nil)

func newKeySet() *btree.BTreeG[string] { return btree.NewOrderedG[string](16) }

// NewIndexer returns an empty indexer.
func NewIndexer(keyFunc cache.KeyFunc, indexers cache.Indexers) *Indexer {
	ix := &Indexer{keyFunc: keyFunc, items: map[string]any{}, order: newKeySet(),
		indexers: cache.Indexers{}, indices: map[string]map[string]*btree.BTreeG[string]{}, nsIndex: map[string]bool{},
		stdKey: sameFunc(keyFunc, cache.KeyFunc(cache.MetaNamespaceKeyFunc))}
	if err := ix.AddIndexers(indexers); err != nil {
		panic(err)
	}
	return ix
}

func (ix *Indexer) key(obj any) string {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Key
	}
	if obj == ix.lastObj && ix.lastObj != nil {
		return ix.lastKey
	}
	_, cacheable := obj.(metav1.Object) // immutable cached objects only
	if cacheable && ix.stdKey && ix.shared != nil && ix.shared.obj == obj {
		ix.lastObj, ix.lastKey = obj, ix.shared.key
		return ix.shared.key
	}
	k, err := ix.keyFunc(obj)
	if err != nil {
		panic(fmt.Sprintf("informer: cannot compute key of %T: %v", obj, err))
	}
	if cacheable {
		ix.lastObj, ix.lastKey = obj, k
		if ix.stdKey && ix.shared != nil {
			ix.shared.obj, ix.shared.key = obj, k
		}
	}
	return k
}

// Add inserts or replaces obj.
func (ix *Indexer) Add(obj any) error { ix.put(ix.key(obj), obj); return nil }

// Update inserts or replaces obj.
func (ix *Indexer) Update(obj any) error { ix.put(ix.key(obj), obj); return nil }

// Delete removes obj (by key).
func (ix *Indexer) Delete(obj any) error { ix.remove(ix.key(obj)); return nil }

func (ix *Indexer) put(key string, obj any) {
	if old, ok := ix.items[key]; ok {
		ix.replace(key, old, obj)
		return
	}
	ix.insert(key, obj)
}

// replace sets key, which holds old, to obj.
func (ix *Indexer) replace(key string, old, obj any) {
	ix.writes++
	ix.items[key] = obj
	ix.reindex(key, old, obj)
}

// insert adds key, which is not held, with obj.
func (ix *Indexer) insert(key string, obj any) {
	ix.writes++
	ix.order.ReplaceOrInsert(key)
	ix.items[key] = obj
	ix.index(key, obj)
}

// reindex moves key from old's index values to obj's, leaving the indexes
// whose values did not change alone (the common case of an update).
func (ix *Indexer) reindex(key string, old, obj any) {
	for _, name := range ix.names {
		if ix.nsIndex[name] && ix.stdKey {
			continue // same namespace/name key: same namespace
		}
		if f := ix.single[name]; f != nil {
			if o, n := f(old), f(obj); o != n {
				ix.moveKey(name, key, o, n)
			}
			continue
		}
		fn := ix.indexers[name]
		newVals, err := fn(obj)
		if err != nil {
			panic(fmt.Sprintf("informer: index %s on %s: %v", name, key, err))
		}
		oldVals, err := fn(old)
		if err == nil && slices.Equal(oldVals, newVals) {
			continue
		}
		idx := ix.indices[name]
		if err == nil {
			for _, v := range oldVals {
				if set := idx[v]; set != nil {
					set.Delete(key)
					if set.Len() == 0 {
						delete(idx, v)
					}
				}
			}
		}
		for _, v := range newVals {
			set := idx[v]
			if set == nil {
				set = newKeySet()
				idx[v] = set
			}
			set.ReplaceOrInsert(key)
		}
	}
}

// moveKey moves key from value from to value to of index name.
func (ix *Indexer) moveKey(name, key, from, to string) {
	idx := ix.indices[name]
	if set := idx[from]; set != nil {
		set.Delete(key)
		if set.Len() == 0 {
			delete(idx, from)
		}
	}
	set := idx[to]
	if set == nil {
		set = newKeySet()
		idx[to] = set
	}
	set.ReplaceOrInsert(key)
}

func (ix *Indexer) remove(key string) {
	ix.writes++
	old, ok := ix.items[key]
	if !ok {
		return
	}
	ix.unindex(key, old)
	delete(ix.items, key)
	ix.order.Delete(key)
}

func (ix *Indexer) index(key string, obj any) {
	for _, name := range ix.names {
		vals, err := ix.values(name, obj)
		if err != nil {
			panic(fmt.Sprintf("informer: index %s on %s: %v", name, key, err))
		}
		idx := ix.indices[name]
		for _, v := range vals {
			set := idx[v]
			if set == nil {
				set = newKeySet()
				idx[v] = set
			}
			set.ReplaceOrInsert(key)
		}
	}
}

// values is the index function name's values for obj. The namespace
// index's one value is read without the function's slice.
func (ix *Indexer) values(name string, obj any) ([]string, error) {
	if f := ix.single[name]; f != nil {
		ix.nsValue[0] = f(obj)
		return ix.nsValue[:], nil
	}
	if ix.nsIndex[name] {
		if m, ok := obj.(metav1.Object); ok {
			ix.nsValue[0] = m.GetNamespace()
			return ix.nsValue[:], nil
		}
	}
	return ix.indexers[name](obj)
}

func (ix *Indexer) unindex(key string, obj any) {
	for name := range ix.indexers {
		vals, err := ix.values(name, obj)
		if err != nil {
			continue
		}
		idx := ix.indices[name]
		for _, v := range vals {
			if set := idx[v]; set != nil {
				set.Delete(key)
				if set.Len() == 0 {
					delete(idx, v)
				}
			}
		}
	}
}

// List returns every object in key order.
func (ix *Indexer) List() []any {
	out := make([]any, 0, len(ix.items))
	ix.order.Ascend(func(k string) bool { out = append(out, ix.items[k]); return true })
	return out
}

// ListKeys returns every key in order.
func (ix *Indexer) ListKeys() []string {
	out := make([]string, 0, len(ix.items))
	ix.order.Ascend(func(k string) bool { out = append(out, k); return true })
	return out
}

// Len is the number of objects.
func (ix *Indexer) Len() int { return len(ix.items) }

// Get returns the object with obj's key.
func (ix *Indexer) Get(obj any) (any, bool, error) { return ix.GetByKey(ix.key(obj)) }

// GetByKey returns the object with key.
func (ix *Indexer) GetByKey(key string) (any, bool, error) {
	o, ok := ix.items[key]
	return o, ok, nil
}

// Replace swaps the whole content for list.
func (ix *Indexer) Replace(list []any, rv string) error {
	ix.writes++
	ix.items = map[string]any{}
	ix.order = newKeySet()
	for name := range ix.indices {
		ix.indices[name] = map[string]*btree.BTreeG[string]{}
	}
	for _, o := range list {
		ix.put(ix.key(o), o)
	}
	ix.rv = rv
	return nil
}

// Resync is a no-op.
func (ix *Indexer) Resync() error { return nil }

// LastStoreSyncResourceVersion returns the resourceVersion of the last Replace or Bookmark.
func (ix *Indexer) LastStoreSyncResourceVersion() string { return ix.rv }

// Writes counts the writes to the indexer so far: while it stays the
// same, every list, get and index read returns the same objects.
func (ix *Indexer) Writes() uint64 { return ix.writes }

// Bookmark records a resourceVersion.
func (ix *Indexer) Bookmark(rv string) { ix.rv = rv }

// Index returns the objects sharing an indexed value with obj.
func (ix *Indexer) Index(indexName string, obj any) ([]any, error) {
	fn, ok := ix.indexers[indexName]
	if !ok {
		return nil, fmt.Errorf("Index with name %s does not exist", indexName)
	}
	vals, err := fn(obj)
	if err != nil {
		return nil, err
	}
	if len(vals) == 1 {
		return ix.ByIndex(indexName, vals[0])
	}
	keys := newKeySet()
	for _, v := range vals {
		if set := ix.indices[indexName][v]; set != nil {
			set.Ascend(func(k string) bool { keys.ReplaceOrInsert(k); return true })
		}
	}
	out := make([]any, 0, keys.Len())
	keys.Ascend(func(k string) bool { out = append(out, ix.items[k]); return true })
	return out, nil
}

// IndexLen returns the number of objects with an indexed value (0 for an
// unknown index), without listing them.
func (ix *Indexer) IndexLen(indexName, value string) int {
	if set := ix.indices[indexName][value]; set != nil {
		return set.Len()
	}
	return 0
}

// IndexKeys returns the keys of the objects with an indexed value.
func (ix *Indexer) IndexKeys(indexName, value string) ([]string, error) {
	if _, ok := ix.indexers[indexName]; !ok {
		return nil, fmt.Errorf("Index with name %s does not exist", indexName)
	}
	set := ix.indices[indexName][value]
	if set == nil {
		return nil, nil
	}
	out := make([]string, 0, set.Len())
	set.Ascend(func(k string) bool { out = append(out, k); return true })
	return out, nil
}

// ListIndexFuncValues returns the indexed values of an index, sorted.
func (ix *Indexer) ListIndexFuncValues(indexName string) []string {
	idx := ix.indices[indexName]
	out := make([]string, 0, len(idx))
	for v := range idx {
		out = append(out, v)
	}
	sortStrings(out)
	return out
}

// ByIndex returns the objects with an indexed value, in key order.
func (ix *Indexer) ByIndex(indexName, value string) ([]any, error) {
	if _, ok := ix.indexers[indexName]; !ok {
		return nil, fmt.Errorf("Index with name %s does not exist", indexName)
	}
	set := ix.indices[indexName][value]
	if set == nil {
		return nil, nil
	}
	out := make([]any, 0, set.Len())
	set.Ascend(func(k string) bool { out = append(out, ix.items[k]); return true })
	return out, nil
}

// visitIndex calls fn with each object whose indexName value is value, in
// key order (ByIndex's objects, without the slice); nothing for an unknown
// index.
func (ix *Indexer) visitIndex(indexName, value string, fn func(obj any)) {
	if set := ix.indices[indexName][value]; set != nil {
		set.Ascend(func(k string) bool { fn(ix.items[k]); return true })
	}
}

// GetIndexers returns the index functions.
func (ix *Indexer) GetIndexers() cache.Indexers { return ix.indexers }

// AddIndexers adds index functions and indexes existing objects with them.
func (ix *Indexer) AddIndexers(newIndexers cache.Indexers) error {
	for name := range newIndexers {
		if _, ok := ix.indexers[name]; ok {
			return fmt.Errorf("indexer conflict: %v", name)
		}
	}
	for name, fn := range newIndexers {
		ix.indexers[name] = fn
		ix.indices[name] = map[string]*btree.BTreeG[string]{}
		ix.nsIndex[name] = sameFunc(fn, cache.IndexFunc(cache.MetaNamespaceIndexFunc))
	}
	ix.names = sortedIndexNames(ix.indexers)
	for k, o := range ix.items {
		for name, fn := range newIndexers {
			vals, err := fn(o)
			if err != nil {
				return err
			}
			for _, v := range vals {
				set := ix.indices[name][v]
				if set == nil {
					set = newKeySet()
					ix.indices[name][v] = set
				}
				set.ReplaceOrInsert(k)
			}
		}
	}
	return nil
}

// AddValueIndex adds an index that gives every object exactly one value,
// fn(obj): the index AddIndexers adds for a function returning
// []string{fn(obj)}, but an update compares the old and the new value
// without building their slices — for an index every update of a busy
// kind passes through (upstream's pod controller-UID index).
func (ix *Indexer) AddValueIndex(name string, fn func(obj any) string) error {
	if err := ix.AddIndexers(cache.Indexers{name: func(obj any) ([]string, error) { return []string{fn(obj)}, nil }}); err != nil {
		return err
	}
	if ix.single == nil {
		ix.single = map[string]func(obj any) string{}
	}
	ix.single[name] = fn
	return nil
}

func sortStrings(s []string) { sort.Strings(s) }

func sortedIndexNames(ix cache.Indexers) []string {
	names := make([]string, 0, len(ix))
	for n := range ix {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
