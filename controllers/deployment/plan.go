package deployment

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Verb names a write in a plan.
type Verb string

// The writes a sync can perform.
const (
	VerbCreateReplicaSet       Verb = "create replicaset"
	VerbUpdateReplicaSet       Verb = "update replicaset"
	VerbDeleteReplicaSet       Verb = "delete replicaset"
	VerbUpdateDeploymentStatus Verb = "update deployment status"
)

// Action is one write of a sync, with the object as it was sent.
type Action struct {
	// Verb is the kind of write.
	Verb Verb
	// Name is the object's name.
	Name string
	// ReplicaSet is the ReplicaSet sent (create/update); nil otherwise.
	ReplicaSet *apps.ReplicaSet
	// Deployment is the Deployment sent (status update); nil otherwise.
	Deployment *apps.Deployment
	// OldReplicas is the ReplicaSet's spec.replicas before an update.
	OldReplicas int32
	// Err is the error the write returned (a conflict, for example).
	Err error
}

// String renders an action for logs and test failures.
func (a Action) String() string {
	switch a.Verb {
	case VerbCreateReplicaSet:
		return fmt.Sprintf("create rs %s replicas=%d", a.Name, *a.ReplicaSet.Spec.Replicas)
	case VerbUpdateReplicaSet:
		return fmt.Sprintf("update rs %s replicas %d->%d", a.Name, a.OldReplicas, *a.ReplicaSet.Spec.Replicas)
	case VerbDeleteReplicaSet:
		return fmt.Sprintf("delete rs %s", a.Name)
	default:
		return fmt.Sprintf("%s %s", a.Verb, a.Name)
	}
}

// Recorder is an in-memory Client: it keeps the ReplicaSets and the
// Deployment it was given, applies every write to them, and records it.
// With StrictResourceVersion set, an update whose resourceVersion is not the
// stored one fails with a 409 Conflict, as the API server would; otherwise
// every write succeeds. Resource versions are a counter; UIDs are
// "uid-<name>"; creationTimestamp is Now.
type Recorder struct {
	// Now stamps created objects.
	Now time.Time
	// StrictResourceVersion enables optimistic-concurrency conflicts.
	StrictResourceVersion bool
	// Actions lists the writes in order.
	Actions []Action

	deployment  *apps.Deployment
	replicaSets map[string]*apps.ReplicaSet
	rv          int64
}

// NewRecorder returns a Recorder holding copies of d and rsList.
func NewRecorder(d *apps.Deployment, rsList []*apps.ReplicaSet, now time.Time) *Recorder {
	r := &Recorder{Now: now, deployment: d.DeepCopy(), replicaSets: map[string]*apps.ReplicaSet{}}
	r.rv = parseRV(d.ResourceVersion)
	for _, rs := range rsList {
		r.replicaSets[rs.Name] = rs.DeepCopy()
		r.rv = max(r.rv, parseRV(rs.ResourceVersion))
	}
	return r
}

func parseRV(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}

func (r *Recorder) nextRV() string {
	r.rv++
	return strconv.FormatInt(r.rv, 10)
}

var (
	rsResource = schema.GroupResource{Group: "apps", Resource: "replicasets"}
	dResource  = schema.GroupResource{Group: "apps", Resource: "deployments"}
)

func conflict(gr schema.GroupResource, name string) error {
	return apierrors.NewConflict(gr, name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
}

// CreateReplicaSet implements Client.
func (r *Recorder) CreateReplicaSet(rs *apps.ReplicaSet) (*apps.ReplicaSet, error) {
	sent := rs.DeepCopy()
	a := Action{Verb: VerbCreateReplicaSet, Name: rs.Name, ReplicaSet: sent}
	if _, ok := r.replicaSets[rs.Name]; ok {
		a.Err = apierrors.NewAlreadyExists(rsResource, rs.Name)
		r.Actions = append(r.Actions, a)
		return nil, a.Err
	}
	stored := rs.DeepCopy()
	stored.UID = types.UID("uid-" + rs.Name)
	stored.ResourceVersion = r.nextRV()
	stored.Generation = 1
	stored.CreationTimestamp = metav1.NewTime(r.Now)
	r.replicaSets[rs.Name] = stored
	r.Actions = append(r.Actions, a)
	return stored.DeepCopy(), nil
}

// UpdateReplicaSet implements Client.
func (r *Recorder) UpdateReplicaSet(rs *apps.ReplicaSet) (*apps.ReplicaSet, error) {
	cur, ok := r.replicaSets[rs.Name]
	a := Action{Verb: VerbUpdateReplicaSet, Name: rs.Name, ReplicaSet: rs.DeepCopy()}
	if !ok {
		a.Err = apierrors.NewNotFound(rsResource, rs.Name)
		r.Actions = append(r.Actions, a)
		return nil, a.Err
	}
	a.OldReplicas = *cur.Spec.Replicas
	if r.StrictResourceVersion && rs.ResourceVersion != "" && rs.ResourceVersion != cur.ResourceVersion {
		a.Err = conflict(rsResource, rs.Name)
		r.Actions = append(r.Actions, a)
		return nil, a.Err
	}
	stored := rs.DeepCopy()
	stored.Status = cur.Status // a PUT of the main resource does not change status
	stored.ResourceVersion = r.nextRV()
	if *cur.Spec.Replicas != *stored.Spec.Replicas || cur.Spec.MinReadySeconds != stored.Spec.MinReadySeconds {
		stored.Generation = cur.Generation + 1
	}
	r.replicaSets[rs.Name] = stored
	r.Actions = append(r.Actions, a)
	return stored.DeepCopy(), nil
}

// DeleteReplicaSet implements Client.
func (r *Recorder) DeleteReplicaSet(namespace, name string) error {
	a := Action{Verb: VerbDeleteReplicaSet, Name: name}
	if _, ok := r.replicaSets[name]; !ok {
		a.Err = apierrors.NewNotFound(rsResource, name)
	} else {
		delete(r.replicaSets, name)
	}
	r.Actions = append(r.Actions, a)
	return a.Err
}

// UpdateDeploymentStatus implements Client: status and annotations are
// taken, spec and labels kept (the Deployment status strategy).
func (r *Recorder) UpdateDeploymentStatus(d *apps.Deployment) (*apps.Deployment, error) {
	a := Action{Verb: VerbUpdateDeploymentStatus, Name: d.Name, Deployment: d.DeepCopy()}
	if r.StrictResourceVersion && d.ResourceVersion != "" && d.ResourceVersion != r.deployment.ResourceVersion {
		a.Err = conflict(dResource, d.Name)
		r.Actions = append(r.Actions, a)
		return nil, a.Err
	}
	stored := r.deployment.DeepCopy()
	stored.Status = *d.Status.DeepCopy()
	stored.Annotations = copyMap(d.Annotations)
	stored.ResourceVersion = r.nextRV()
	r.deployment = stored
	r.Actions = append(r.Actions, a)
	return stored.DeepCopy(), nil
}

// GetReplicaSet implements Client.
func (r *Recorder) GetReplicaSet(namespace, name string) (*apps.ReplicaSet, error) {
	rs, ok := r.replicaSets[name]
	if !ok {
		return nil, apierrors.NewNotFound(rsResource, name)
	}
	return rs.DeepCopy(), nil
}

// Deployment returns the stored Deployment.
func (r *Recorder) Deployment() *apps.Deployment { return r.deployment.DeepCopy() }

// SetDeployment replaces the stored Deployment (a user edit), bumping its
// resourceVersion and, if the spec changed, its generation.
func (r *Recorder) SetDeployment(d *apps.Deployment) {
	n := d.DeepCopy()
	n.ResourceVersion = r.nextRV()
	r.deployment = n
}

// ReplicaSets returns the stored ReplicaSets sorted by name.
func (r *Recorder) ReplicaSets() []*apps.ReplicaSet {
	names := make([]string, 0, len(r.replicaSets))
	for n := range r.replicaSets {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*apps.ReplicaSet, 0, len(names))
	for _, n := range names {
		out = append(out, r.replicaSets[n].DeepCopy())
	}
	return out
}

// SetReplicaSetStatus replaces a stored ReplicaSet's status (what the
// ReplicaSet controller writes), bumping its resourceVersion.
func (r *Recorder) SetReplicaSetStatus(name string, status apps.ReplicaSetStatus) {
	rs, ok := r.replicaSets[name]
	if !ok {
		panic(fmt.Sprintf("deployment.Recorder: no replicaset %q", name))
	}
	rs.Status = status
	rs.ResourceVersion = r.nextRV()
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// PlanResult is what one sync would do if every write succeeded.
type PlanResult struct {
	// Actions are the writes in order.
	Actions []Action
	// RequeueAfter is the Syncer's requeue request.
	RequeueAfter time.Duration
	// Err is the sync's error (the sync would be retried with rate limit).
	Err error
}

// Plan runs one sync of d against a Recorder that accepts every write and
// returns the writes: the "what happens next" of a Deployment.
func Plan(d *apps.Deployment, rsList []*apps.ReplicaSet, podMap map[types.UID][]*v1.Pod, now time.Time) PlanResult {
	rec := NewRecorder(d, rsList, now)
	s := &Syncer{Client: rec, Now: now}
	err := s.SyncDeployment(d, rsList, podMap)
	return PlanResult{Actions: rec.Actions, RequeueAfter: s.RequeueAfter, Err: err}
}
