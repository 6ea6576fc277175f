// Package garbagecollector is upstream's garbage collector
// (pkg/controller/garbagecollector): cascading deletion through
// ownerReferences.
//
// It owns the ownership graph — one node per object of every resource the
// API server serves (events excepted), linked owner → dependents, plus
// "virtual" nodes for owners known only from a dependent's reference until
// an informer shows them or a live read proves them absent — and three
// engine-stepped work queues:
//
//   - graphChanges: informer notifications (and virtual deletes) update the
//     graph; an object gone from the graph sends its dependents to
//     attemptToDelete; an object entering deletion with the orphan finalizer
//     goes to attemptToOrphan, with the foregroundDeletion finalizer it and
//     its dependents go to attemptToDelete.
//   - attemptToDelete: reads the object and its owners live. Owners absent,
//     or present under the same name with another UID ("dangling"), or in
//     foreground deletion do not hold the object: if no owner is left it is
//     deleted (propagation Background, or Foreground if it has dependents
//     and an owner waits for it, or as its own finalizers say); if some
//     owner is still solid only the other references are removed. An owner
//     in foreground deletion loses its foregroundDeletion finalizer once no
//     dependent with blockOwnerDeletion=true remains.
//   - attemptToOrphan: strips the owner's reference from every dependent,
//     then removes the orphan finalizer.
//
// The API server adds the finalizers for DeleteOptions.propagationPolicy
// (Orphan ⇒ "orphan", Foreground ⇒ "foregroundDeletion"; Background, the
// default, adds none).
//
//	gc := garbagecollector.New(eng, factory, c.Client(garbagecollector.ComponentName),
//		c.Recorder(garbagecollector.EventSource, ""))
//
// Trace records (component "generic-garbage-collector"): collected (a
// delete the collector issued),
// orphaned, ownerRefsRemoved, finalized, unresolvable. Events (source
// "garbage-collector-controller"): Warning OwnerRefInvalidNamespace on a
// dependent whose ownerReference names an observed namespaced owner of
// another namespace ('ownerRef [v1/ConfigMap, namespace: b, name: x, uid:
// …] does not exist in namespace "b"'); such a reference is looked up in
// the dependent's namespace, so it does not hold the dependent.
//
// Simplifications: no absent-owner cache (owner reads are free here); an
// ownerReference's apiVersion is matched by group and kind only (kubesim
// serves one version per kind); a reference to a kind kubesim does not
// serve (or with an unparsable apiVersion) is reported once (trace
// "unresolvable") and left alone instead of being retried with back-off
// forever (a namespaced owner of a cluster-scoped object is reported the
// same way and, as upstream, not retried); updates that change none of
// ownerReferences, finalizers or deletionTimestamp are not queued (they
// change nothing in the graph).
package garbagecollector
