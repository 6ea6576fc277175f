// Package podgc is kube-controller-manager's pod garbage collector
// (upstream pkg/controller/podgc) on kubesim's engine.
//
// Every CheckPeriod (20 s; first pass at engine time 0, skipped until the
// informers have synced) it force-deletes, in this order:
//   - terminating pods on a node that is not Ready and carries the
//     node.kubernetes.io/out-of-service taint (marked Failed first);
//   - terminated pods (Succeeded or Failed) beyond TerminatedPodThreshold
//     (12500): evicted ones first, then the oldest by creationTimestamp, name
//     breaking ties;
//   - orphaned pods, bound to a node that does not exist: a missing node is
//     quarantined for Quarantine (40 s) and checked with a GET before its
//     pods are marked Failed with DisruptionTarget (reason DeletionByPodGC)
//     and deleted;
//   - unscheduled pods that are terminating.
//
// Force deletion is a DELETE with grace period 0, preceded by a status write
// to phase Failed for pods that are not terminal yet.
//
// Usage (sim/cluster does this):
//
//	gc := podgc.New(eng, factory, client, podgc.Config{})
//	factory.Start()
package podgc
