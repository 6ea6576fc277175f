package kubelet

import "sync"

// sharedMemo remembers a pure function of a string for every kubelet of
// the process: the strings a kubelet derives from an image or a container
// name depend on nothing else, so sharing them changes no result, and the
// few names a cluster uses stay in the CPU's caches instead of in one
// table per node (at 5,000 nodes, each node's table was a cache miss per
// pod). The table is bounded: a full one is emptied and refills with the
// names in use. The lock is for tests that run clusters in parallel; a
// simulation runs in one goroutine.
type sharedMemo[V any] struct {
	mu sync.Mutex
	m  map[string]V
	fn func(string) V
}

// sharedMemoLimit bounds each sharedMemo.
const sharedMemoLimit = 1024

func newSharedMemo[V any](fn func(string) V) *sharedMemo[V] {
	return &sharedMemo[V]{fn: fn}
}

// get returns fn(key), computed once while the table holds it.
func (s *sharedMemo[V]) get(key string) V {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		if s.m == nil || len(s.m) >= sharedMemoLimit {
			s.m = map[string]V{}
		}
		v = s.fn(key)
		s.m[key] = v
	}
	return v
}

// len is the number of keys the table holds.
func (s *sharedMemo[V]) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
