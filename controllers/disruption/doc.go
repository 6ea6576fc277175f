// Package disruption is kube-controller-manager's disruption controller
// (upstream pkg/controller/disruption) on kubesim's engine: it keeps every
// PodDisruptionBudget's status current so the API server's eviction
// subresource (sim/apiserver Server.Evict) can honour it.
//
// For a budget it computes, from the pods its selector picks in its
// namespace:
//   - expectedPods: with an integer minAvailable, the number of selected
//     pods; otherwise the sum of the scales of the pods' controllers (a
//     Deployment's spec.replicas for pods of its ReplicaSets, a lone
//     ReplicaSet's own, else the controller's scale subresource); a pod
//     without a controller makes the percentage unusable (UnmanagedPods);
//   - desiredHealthy: minAvailable (percentages of expectedPods rounded up),
//     or expectedPods − maxUnavailable (rounded up), at least 0;
//   - currentHealthy: selected pods that are Ready, not being deleted and not
//     listed in disruptedPods within DeletionTimeout (2 min);
//   - disruptionsAllowed = currentHealthy − desiredHealthy, 0 when negative
//     or when expectedPods is 0;
//   - disruptedPods: the API server's eviction bookkeeping, pruned of pods
//     deleted, gone, or not deleted within DeletionTimeout (a recheck is
//     scheduled for the earliest expiry);
//   - observedGeneration and the DisruptionAllowed condition
//     (SufficientPods / InsufficientPods, SyncFailed when the sync fails).
//
// It also resets stale DisruptionTarget pod conditions (a pod marked but not
// deleted within 2 minutes) to False, as upstream.
//
// Usage (sim/cluster does this):
//
//	dc := disruption.New(eng, factory, client, recorder)
//	factory.Start()
package disruption
