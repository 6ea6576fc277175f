package apiserver

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/mvcc"
)

// Config holds the API server's knobs. The zero value is not useful; start
// from DefaultConfig.
type Config struct {
	// CompactionInterval is how often the server compacts the store to the
	// revision it recorded one interval earlier (kube-apiserver
	// --etcd-compaction-interval, 5 min). Zero or negative disables it.
	CompactionInterval time.Duration
	// WatchDelay is the delay between a write and its delivery to watchers.
	WatchDelay time.Duration
	// WatchCacheWindow is how much history each resource's watch cache keeps
	// for resuming watches (upstream aims at 75 s), bounded by
	// WatchCacheMinEvents and WatchCacheMaxEvents events.
	WatchCacheWindow    time.Duration
	WatchCacheMinEvents int
	WatchCacheMaxEvents int
	// DefaultNotReadyTolerationSeconds and DefaultUnreachableTolerationSeconds
	// are what the DefaultTolerationSeconds admission plugin adds (300 s).
	DefaultNotReadyTolerationSeconds    int64
	DefaultUnreachableTolerationSeconds int64
}

// DefaultConfig returns upstream's defaults.
func DefaultConfig() Config {
	return Config{
		CompactionInterval:                  5 * time.Minute,
		WatchDelay:                          0,
		WatchCacheWindow:                    75 * time.Second,
		WatchCacheMinEvents:                 100,
		WatchCacheMaxEvents:                 102400,
		DefaultNotReadyTolerationSeconds:    300,
		DefaultUnreachableTolerationSeconds: 300,
	}
}

// Server is kubesim's API server: typed Kubernetes objects stored in the MVCC
// store at /registry/<resource>/<namespace>/<name>, with upstream's create /
// update / delete semantics, defaulting, admission, validation, subresources
// and list+watch. It is called synchronously by clients (see package client)
// inside engine events; watch deliveries go through the engine.
//
// Objects returned by Get, List and watches are shared with every other
// reader and must not be modified; the typed client hands its callers copies.
// Stored objects may also share identical parts with each other (pods from
// one template share their containers, tolerations, labels...; see
// interner), which is one more reason never to modify them.
type Server struct {
	eng   *sim.Engine
	store *mvcc.Store
	cfg   Config
	reg   *registry
	rand  *rand.Rand

	// memo maps a storage key to the decoded object at its current mod
	// revision, so reads need not decode what the server itself wrote.
	memo map[string]memoEntry
	// cachers are the per-resource watch caches, in registry order.
	cachers map[*Resource]*cacher

	admission []AdmissionPlugin
	// intern shares identical parts of the pods the server stores.
	intern *interner

	// lastCompactRev is the revision recorded at the previous compaction tick.
	lastCompactRev int64
	// terminating namespaces awaiting the namespace cleanup loop.
	nsCleanup map[string]bool
	nsTicker  *sim.Ticker

	// defaultPC is the global default PriorityClass (nil: none) as of
	// defaultPCAt, one more than the priorityclasses' write count then (0:
	// not looked up yet); every pod created without a class asks for it.
	defaultPC   *schedulingv1.PriorityClass
	defaultPCAt uint64
	// defaultTolerations are the tolerations DefaultTolerationSeconds gives
	// a pod that has none, shared by those pods (read-only).
	defaultTolerations []v1.Toleration
	// attrsFree are Attributes of finished writes, for the next ones.
	attrsFree []*Attributes
	// keyBuf is where storedKey builds keys.
	keyBuf []byte

	stats Stats
}

type memoEntry struct {
	rev int64
	obj runtime.Object
}

// Stats counts the server's work, for benchmarks and the UI.
type Stats struct {
	Creates, Updates, Deletes, NoopWrites, Conflicts int64
}

// New returns an API server on store, with the default namespaces
// (default, kube-system, kube-public, kube-node-lease) and the system
// priority classes created at the current time.
func New(eng *sim.Engine, store *mvcc.Store, cfg Config) *Server {
	s := &Server{
		eng:       eng,
		store:     store,
		cfg:       cfg,
		reg:       newRegistry(),
		rand:      eng.Rand("apiserver"),
		memo:      map[string]memoEntry{},
		cachers:   map[*Resource]*cacher{},
		nsCleanup: map[string]bool{},
		intern:    newInterner(),
	}
	for _, r := range s.reg.list {
		s.cachers[r] = newCacher(s, r)
	}
	if cfg.CompactionInterval > 0 {
		s.lastCompactRev = store.Rev()
		eng.Every(cfg.CompactionInterval, "apiserver compaction", s.compactTick)
	}
	s.bootstrap()
	return s
}

// Engine is the engine the server runs on.
func (s *Server) Engine() *sim.Engine { return s.eng }

// Store is the MVCC store under the server.
func (s *Server) Store() *mvcc.Store { return s.store }

// Stats returns the server's counters.
func (s *Server) Stats() Stats { return s.stats }

// AddAdmission appends an admission plugin; plugins run in the order added,
// after the built-in ones.
func (s *Server) AddAdmission(p AdmissionPlugin) { s.admission = append(s.admission, p) }

func (s *Server) bootstrap() {
	const user = "apiserver"
	for _, ns := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, v1.NamespaceNodeLease} {
		if _, err := s.Create(user, s.mustResource("namespaces"), "", &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			panic(fmt.Sprintf("apiserver: bootstrap namespace %s: %v", ns, err))
		}
	}
	for _, pc := range []struct {
		name  string
		value int32
	}{{"system-cluster-critical", 2000000000}, {"system-node-critical", 2000001000}} {
		obj := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: pc.name}, Value: pc.value,
			Description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."}
		if pc.name == "system-node-critical" {
			obj.Description = "Used for system critical pods that must not be moved from their current node."
		}
		if _, err := s.Create(user, s.mustResource("priorityclasses"), "", obj, metav1.CreateOptions{}); err != nil {
			panic(fmt.Sprintf("apiserver: bootstrap priority class %s: %v", pc.name, err))
		}
	}
}

func (s *Server) mustResource(name string) *Resource {
	r, ok := s.Resource(name)
	if !ok {
		panic("apiserver: unknown resource " + name)
	}
	return r
}

// compactTick compacts the store to the revision recorded one interval ago
// and records the current one, as kube-apiserver's compactor does; etcd so
// keeps between one and two intervals of history.
func (s *Server) compactTick() {
	if s.lastCompactRev > s.store.CompactRev() {
		for _, r := range s.reg.list {
			s.cachers[r].keepBytes(s.lastCompactRev)
		}
		if err := s.store.Compact(s.lastCompactRev); err == nil {
			s.eng.Trace(sim.Record{Component: "apiserver", Verb: "compact", RV: s.lastCompactRev, Msg: "compacted etcd history"})
		}
	}
	s.lastCompactRev = s.store.Rev()
}

// storedAt returns the bytes of key's version with mod revision rev. The
// watch caches call it for the versions their windows name, which the
// store still holds (see histEvent): one older than the compaction is its
// key's newest at or below it, so it is read at the compaction revision
// (reads below it are refused).
func (s *Server) storedAt(key string, rev int64) []byte {
	r, err := s.store.Range(key, "", mvcc.RangeOptions{Rev: max(rev, s.store.CompactRev())})
	if err != nil || len(r.KVs) == 0 || r.KVs[0].ModRevision != rev {
		got := "nothing"
		if err == nil && len(r.KVs) > 0 {
			got = fmt.Sprintf("mod %d", r.KVs[0].ModRevision)
		}
		panic(fmt.Sprintf("apiserver: the store lost %s at revision %d (compacted at %d, current %d, read %s, err %v)", key, rev, s.store.CompactRev(), s.store.Rev(), got, err))
	}
	return r.KVs[0].Value
}

// newUID returns a random (seeded) RFC 4122 version 4 UUID.
func (s *Server) newUID() types.UID {
	var b [16]byte
	hi, lo := s.rand.Uint64(), s.rand.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[c>>4], hexd[c&0xf])
	}
	return types.UID(out)
}

// generateNameSuffix returns 5 random characters from the alphabet upstream
// uses for generateName (k8s.io/apimachinery/pkg/util/rand, no vowels).
func (s *Server) generateNameSuffix() string {
	const alphanums = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphanums[s.rand.IntN(len(alphanums))]
	}
	return string(b)
}

func formatRV(rev int64) string { return strconv.FormatInt(rev, 10) }

// ParseResourceVersion parses a resourceVersion string; "" is 0.
func ParseResourceVersion(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid resource version %q", rv)
	}
	return n, nil
}
