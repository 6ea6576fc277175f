package deployment

import (
	"fmt"
	"time"

	apps "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// controllerKind is the GroupVersionKind of a Deployment.
var controllerKind = apps.SchemeGroupVersion.WithKind("Deployment")

// Client is the set of API writes (and the one cache read) a sync performs.
type Client interface {
	// CreateReplicaSet creates rs (POST); it returns the stored object.
	CreateReplicaSet(rs *apps.ReplicaSet) (*apps.ReplicaSet, error)
	// UpdateReplicaSet replaces rs (PUT, conditional on its resourceVersion).
	UpdateReplicaSet(rs *apps.ReplicaSet) (*apps.ReplicaSet, error)
	// DeleteReplicaSet deletes the named ReplicaSet.
	DeleteReplicaSet(namespace, name string) error
	// UpdateDeploymentStatus writes d through the status subresource
	// (conditional on d's resourceVersion; status and annotations are taken,
	// spec and labels are not).
	UpdateDeploymentStatus(d *apps.Deployment) (*apps.Deployment, error)
	// GetReplicaSet reads a ReplicaSet from the informer cache (used after a
	// create answered AlreadyExists).
	GetReplicaSet(namespace, name string) (*apps.ReplicaSet, error)
}

// EventRecorder records Kubernetes events (Normal/Warning, reason, message).
type EventRecorder interface {
	Eventf(object runtime.Object, eventtype, reason, messageFmt string, args ...any)
}

// Syncer runs one pass of the Deployment controller's sync. Fill Client,
// Now (and optionally Recorder) and call SyncDeployment once; then read
// RequeueAfter. A Syncer is not reused across syncs.
type Syncer struct {
	// Client performs the writes.
	Client Client
	// Recorder receives events; nil drops them.
	Recorder EventRecorder
	// Now is the instant of this sync (the engine's clock).
	Now time.Time

	// RequeueAfter is set by the sync when the Deployment must be looked at
	// again for a progress-deadline check: > 0 ⇒ AddAfter(RequeueAfter);
	// RequeueRateLimited ⇒ AddRateLimited now; 0 ⇒ nothing.
	RequeueAfter time.Duration
}

// RequeueRateLimited is the RequeueAfter value meaning "requeue now,
// rate-limited" (upstream enqueueRateLimited when the deadline is < 1 s away).
const RequeueRateLimited = time.Duration(-1)

func (s *Syncer) eventf(obj runtime.Object, eventtype, reason, messageFmt string, args ...any) {
	if s.Recorder != nil {
		s.Recorder.Eventf(obj, eventtype, reason, messageFmt, args...)
	}
}

// Key is the work-queue key of a Deployment.
func Key(d *apps.Deployment) string { return fmt.Sprintf("%s/%s", d.Namespace, d.Name) }
