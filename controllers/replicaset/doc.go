// Package replicaset is upstream's ReplicaSet controller
// (pkg/controller/replicaset).
//
// It owns the pure algorithms — manageReplicas (create in slow-start
// batches up to BurstReplicas, or delete the best-ranked victims, with
// expectations), the victim choice (GetPodsToDelete) and calculateStatus —
// and the running Controller built on them: handlers on the shared
// ReplicaSet and pod informers that only enqueue ReplicaSet keys (and
// observe expectations, as upstream's addPod/updatePod/deletePod), and a
// work-queue sync (syncReplicaSet) that reads the cache, claims pods
// (adopting matching orphans, releasing pods that no longer match), creates
// or deletes pods through the API when expectations are satisfied, and
// writes the status when it changed.
//
// Usage (sim/cluster does this in installWorkloads):
//
//	rsc := replicaset.NewController(eng, factory, c.Client(replicaset.ComponentName),
//		c.Recorder(replicaset.ComponentName, ""), 0)
//	factory.Start()
//	eng.RunFor(time.Minute) // each queue item is one engine event
//
// Events are upstream's: SuccessfulCreate "Created pod: web-7d4f8-x2k9q",
// SuccessfulDelete "Deleted pod: …", FailedCreate "Error creating: …",
// FailedDelete. Trace records (component "replicaset-controller"):
// scaledUp / scaledDown on a ReplicaSet (the pods created, or deleted in
// victim order), adopted / released on a pod.
//
// Simplifications: one worker (upstream 5; each sync is atomic here);
// creations of a slow-start batch are issued one after another instead of
// in parallel, with the same stop-after-a-failed-batch rule. Not modelled:
// status.terminatingReplicas (feature gate
// DeploymentReplicaSetTerminatingReplicas, off by default before v1.35).
package replicaset
