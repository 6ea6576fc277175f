// Package deployment is the sync of upstream's Deployment controller
// (pkg/controller/deployment: sync.go, rolling.go, recreate.go, progress.go)
// as a state machine with its writes behind a narrow Client interface.
//
// A Syncer runs one syncDeployment pass for one Deployment at one instant:
//
//	s := &deployment.Syncer{Client: c, Lister: l, Recorder: r, Now: eng.Now()}
//	err := s.SyncDeployment(d, ownedReplicaSets, podsByReplicaSet)
//	if s.RequeueAfter > 0 { queue.AddAfter(key, s.RequeueAfter) }
//
// The phase-2 controller reads d, its ReplicaSets (already claimed with
// controllerutil.ControllerRefManager) and their pods from the informer
// cache and implements Client over the typed client, so every write happens
// in upstream's order with upstream's stale copies — including the 409
// Conflict that upstream gets when it writes the Deployment status twice in
// one sync. The same code runs against a Recorder, which accepts every write
// and lists it: Plan returns "what this sync would do" (used by tests, and
// usable by a UI).
//
// Decisions follow upstream exactly: rolling update (reconcileNewReplicaSet,
// reconcileOldReplicaSets with cleanupUnhealthyReplicas and
// scaleDownOldReplicaSetsForRollingUpdate), Recreate, proportional scaling
// (scale), history cleanup, status and the Progressing/Available conditions
// with ProgressDeadlineExceeded. Not modelled: the deprecated rollback
// annotation (kubectl rollout undo is client-side, see util.Rollback) and
// the alpha terminatingReplicas status field.
package deployment
