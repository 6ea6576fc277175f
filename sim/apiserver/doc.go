// Package apiserver is kubesim's kube-apiserver: typed k8s.io/api objects
// stored protobuf-encoded in the MVCC store at
// /registry/<resource>/<namespace>/<name>, with resourceVersion = the
// store's mod revision. It owns what the real API server does between a
// client and etcd: defaulting, admission (NamespaceLifecycle,
// DefaultTolerationSeconds, Priority, plus plugins a cluster adds),
// validation with upstream's field paths and messages, optimistic
// concurrency, generation, graceful deletion and finalizers, the status,
// scale, binding and eviction subresources, list and watch with label and
// field selectors, a watch cache per resource (none for events: their
// watches are served by the store, as upstream's by etcd), and compaction
// every five minutes of simulated time. Values pass through a storage
// transform on their way to the store: deltas against dictionaries of
// their kind (compress.go). Clients call it synchronously inside an engine event (see
// sim/client for the typed clientset).
package apiserver
