// Package replicaset holds the pure algorithms of the ReplicaSet controller
// (upstream pkg/controller/replicaset): manageReplicas (create in slow-start
// batches up to BurstReplicas, or delete the best-ranked victims, with
// expectations), the victim choice (GetPodsToDelete) and calculateStatus.
//
// The controller that owns the informers, the work queue and the client is
// assembled on top of this package: its sync reads the ReplicaSet and the
// pods from the informer cache, claims pods (controllerutil.ControllerRefManager),
// and, when expectations are satisfied, calls ManageReplicas with a
// PodControl backed by the API client, then writes CalculateStatus's result.
package replicaset
