// Package nodeutil holds what kubesim's node controllers (node lifecycle,
// taint eviction, pod GC) share, mirroring upstream's
// pkg/controller/util/node and the taint helpers of pkg/controller and
// pkg/util/taints: the pods-by-node index on the pod informer, taint set
// arithmetic, the node-controller taint swap written through the API server,
// MarkPodsNotReady, the node events and the zone key.
//
// Everything takes the current time as a parameter (the engine's clock) and
// writes through a client.Interface; nothing reads the wall clock.
package nodeutil
