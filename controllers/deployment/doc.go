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
// Controller is the running Deployment controller built on the Syncer:
// handlers on the shared Deployment, ReplicaSet and pod informers that only
// enqueue Deployment keys (upstream's addDeployment … deletePod; pod
// deletions matter only for Recreate), and a work-queue sync that claims
// the Deployment's ReplicaSets (adopting matching orphans, releasing those
// that no longer match), groups their pods, runs one Syncer pass whose
// Client writes through the API, and requeues itself for the
// progress-deadline check (AddAfter) or rate-limited on error (dropped
// after MaxRetries = 15 failures until the next change).
//
//	dc := deployment.NewController(eng, factory, c.Client(deployment.ComponentName),
//		c.Recorder(deployment.ComponentName, ""))
//
// Events are upstream's (ScalingReplicaSet "Scaled up replica set
// web-7d4f8 from 0 to 3", SelectingAll, FailedCreate …). Trace records
// (component "deployment-controller"): newReplicaSet / scaled /
// historyTrimmed on a ReplicaSet; progressing, rolloutComplete, progressDeadlineExceeded,
// paused, resumed, available, unavailable, adopted, released, dropped on a
// Deployment.
//
// Decisions follow upstream exactly: rolling update (reconcileNewReplicaSet,
// reconcileOldReplicaSets with cleanupUnhealthyReplicas and
// scaleDownOldReplicaSetsForRollingUpdate), Recreate, proportional scaling
// (scale), history cleanup, status and the Progressing/Available conditions
// with ProgressDeadlineExceeded. Not modelled: the deprecated rollback
// annotation (kubectl rollout undo is client-side, see util.Rollback) and
// status.terminatingReplicas (feature gate
// DeploymentReplicaSetTerminatingReplicas: absent in v1.32, alpha and off in
// v1.33–v1.34, beta and on from v1.35).
package deployment
