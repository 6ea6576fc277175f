package garbagecollector

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kubesim/kubesim/controllers/controllerutil"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
)

// ComponentName is the collector's name in traces and API writes
// (upstream's user agent).
const ComponentName = "generic-garbage-collector"

// EventSource is the source component of the collector's Events
// (upstream's graph builder records as "garbage-collector-controller").
const EventSource = "garbage-collector-controller"

// IgnoredResources are not watched (upstream ignores events too).
var IgnoredResources = []string{"events"}

// removeFinalizerRetries bounds the conflict retries of a finalizer removal
// (client-go's retry.DefaultBackoff has 4 steps).
const removeFinalizerRetries = 4

var (
	// errEnqueuedVirtualDelete: a live read found the object gone; the
	// graph learns it through a virtual delete event, no requeue.
	errEnqueuedVirtualDelete = errors.New("enqueued virtual delete event")
	// errNotObserved: the object exists but no informer event for it has
	// been processed yet; requeue with back-off.
	errNotObserved = errors.New("item not observed through an informer yet")
)

// unresolvableError is an ownerReference that retrying cannot fix (a kind
// kubesim does not serve, or a namespaced owner of a cluster-scoped object).
type unresolvableError struct{ msg string }

func (e *unresolvableError) Error() string { return e.msg }

// GarbageCollector is upstream's garbage collector: an ownership graph
// built from informers on every served resource (but events), kept up to
// date by a graphChanges queue, and two work queues — attemptToDelete
// (delete objects whose owners are all gone, drive foreground deletions)
// and attemptToOrphan (strip ownerReferences for the orphan policy). All
// three queues are engine-stepped work queues; all reads of owners are live
// reads, all writes go through the API server as ComponentName.
type GarbageCollector struct {
	eng    *sim.Engine
	server *apiserver.Server
	user   string
	// recorder records the OwnerRefInvalidNamespace Events.
	recorder record.EventRecorder

	// uidToNode is the graph (only ever looked up by UID; iteration goes
	// through sorted dependents).
	uidToNode map[types.UID]*node

	graphChanges    *informer.Queue[*event]
	attemptToDelete *informer.Queue[types.UID]
	attemptToOrphan *informer.Queue[types.UID]
}

// New creates the garbage collector and registers its handlers on an
// informer for every resource the API server serves except
// IgnoredResources (call before the factory starts). cl's component name
// is used for the writes; recorder (source EventSource) records Events.
func New(eng *sim.Engine, f *informer.Factory, cl client.Interface, recorder record.EventRecorder) *GarbageCollector {
	gc := &GarbageCollector{eng: eng, server: cl.Server(), user: cl.User(), recorder: recorder, uidToNode: map[types.UID]*node{}}
	gc.graphChanges = informer.NewQueue[*event](eng, "garbage_collector_graph_changes", informer.DefaultControllerRateLimiter[*event](eng), gc.processGraphChange)
	gc.attemptToDelete = informer.NewQueue[types.UID](eng, "garbage_collector_attempt_to_delete", informer.DefaultControllerRateLimiter[types.UID](eng), gc.processAttemptToDelete)
	gc.attemptToOrphan = informer.NewQueue[types.UID](eng, "garbage_collector_attempt_to_orphan", informer.DefaultControllerRateLimiter[types.UID](eng), gc.processAttemptToOrphan)
	for _, res := range gc.server.Resources() {
		if ignored(res.Name) {
			continue
		}
		res := res
		f.ForResource(res.Name).AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				gc.graphChanges.Add(&event{eventType: addEvent, obj: obj.(metav1.Object), res: res})
			},
			UpdateFunc: func(oldObj, newObj any) {
				o, n := oldObj.(metav1.Object), newObj.(metav1.Object)
				if o.GetUID() != n.GetUID() {
					// Deleted and re-created between two observations.
					gc.graphChanges.Add(&event{eventType: deleteEvent, obj: o, res: res})
					gc.graphChanges.Add(&event{eventType: addEvent, obj: n, res: res})
					return
				}
				if !graphRelevantChange(o, n) {
					return
				}
				gc.graphChanges.Add(&event{eventType: updateEvent, obj: n, oldObj: o, res: res})
			},
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				if m, ok := obj.(metav1.Object); ok {
					gc.graphChanges.Add(&event{eventType: deleteEvent, obj: m, res: res})
				}
			},
		})
	}
	return gc
}

func ignored(resource string) bool {
	for _, r := range IgnoredResources {
		if r == resource {
			return true
		}
	}
	return false
}

// graphRelevantChange reports whether an update touches what the graph
// keeps: ownerReferences, finalizers or the deletionTimestamp. (Upstream
// queues every update, with a TODO to skip the others; the result is the
// same since such updates change nothing in the graph.)
func graphRelevantChange(o, n metav1.Object) bool {
	return !reflect.DeepEqual(o.GetOwnerReferences(), n.GetOwnerReferences()) ||
		!reflect.DeepEqual(o.GetFinalizers(), n.GetFinalizers()) ||
		(o.GetDeletionTimestamp() == nil) != (n.GetDeletionTimestamp() == nil)
}

// GraphSize is the number of nodes in the graph (virtual ones included).
func (gc *GarbageCollector) GraphSize() int { return len(gc.uidToNode) }

// Dependents returns "Kind namespace/name" of the dependents the graph
// knows for uid, sorted (for tests and the UI).
func (gc *GarbageCollector) Dependents(uid types.UID) []string {
	n, ok := gc.uidToNode[uid]
	if !ok {
		return nil
	}
	var out []string
	for _, d := range n.sortedDependents() {
		out = append(out, d.identity.describe())
	}
	return out
}

// ---- attemptToDelete ----

// processAttemptToDelete is upstream's processAttemptToDeleteWorker for
// the node with uid (the current graph node: a virtual node replaced by an
// observed one is processed as the observed one).
func (gc *GarbageCollector) processAttemptToDelete(uid types.UID) error {
	n, ok := gc.uidToNode[uid]
	if !ok {
		return nil
	}
	err := gc.attemptToDeleteItem(n)
	var unresolvable *unresolvableError
	switch {
	case errors.Is(err, errEnqueuedVirtualDelete):
		return nil
	case errors.As(err, &unresolvable):
		gc.trace("unresolvable", n.identity, unresolvable.msg)
		return nil
	case err != nil:
		return err
	}
	if cur, ok := gc.uidToNode[uid]; ok && cur.virtual {
		// Exists but not observed yet: look again after a back-off.
		return errNotObserved
	}
	return nil
}

// attemptToDeleteItem is upstream's attemptToDeleteItem: delete item if all
// its owners are gone (dangling) or waiting for it (foreground), strip the
// references to gone owners if some owner is still solid, or finish the
// item's own foreground deletion.
func (gc *GarbageCollector) attemptToDeleteItem(item *node) error {
	if item.beingDeleted && !item.deletingDependents {
		// On its way out; its dependents are handled when it is gone.
		return nil
	}
	res, err := gc.resourceFor(item.identity.Group, item.identity.Kind)
	if err != nil {
		return err
	}
	latestObj, err := gc.server.Get(res, item.identity.Namespace, item.identity.Name)
	switch {
	case apierrors.IsNotFound(err):
		gc.enqueueVirtualDelete(item.identity)
		return errEnqueuedVirtualDelete
	case err != nil:
		return err
	}
	latest := latestObj.(metav1.Object)
	if latest.GetUID() != item.identity.UID {
		gc.enqueueVirtualDelete(item.identity)
		return errEnqueuedVirtualDelete
	}
	if item.deletingDependents {
		return gc.processDeletingDependentsItem(item)
	}
	ownerReferences := latest.GetOwnerReferences()
	if len(ownerReferences) == 0 {
		return nil
	}
	solid, dangling, waiting, err := gc.classifyReferences(item, ownerReferences)
	if err != nil {
		return err
	}
	switch {
	case len(solid) != 0:
		if len(dangling) == 0 && len(waiting) == 0 {
			return nil
		}
		// Some owner remains: only drop the references to the others.
		uids := append(refUIDs(dangling), refUIDs(waiting)...)
		patch, err := controllerutil.GenerateDeleteOwnerRefStrategicMergeBytes(item.identity.UID, uids)
		if err != nil {
			return err
		}
		if err := gc.patch(res, item.identity, types.StrategicMergePatchType, patch); err != nil {
			return err
		}
		gc.trace("ownerRefsRemoved", item.identity, fmt.Sprintf("removed ownerReferences to %s (gone or deleting in foreground); still owned by %s", describeRefs(append(dangling, waiting...)), describeRefs(solid)))
		return nil
	case len(waiting) != 0 && len(item.dependents) != 0:
		for _, dep := range item.sortedDependents() {
			if dep.deletingDependents {
				// A cycle of foreground deletions: stop blocking our owners.
				patch, err := unblockOwnerReferencesPatch(item)
				if err != nil {
					return err
				}
				if err := gc.patch(res, item.identity, types.StrategicMergePatchType, patch); err != nil {
					return err
				}
				break
			}
		}
		policy := metav1.DeletePropagationForeground
		return gc.deleteObject(res, item, latest, ownerReferences, policy, fmt.Sprintf("owner %s is being deleted in the foreground; deleting its dependents first", describeRefs(waiting)))
	default:
		var policy metav1.DeletionPropagation
		switch {
		case hasFinalizer(latest, metav1.FinalizerOrphanDependents):
			policy = metav1.DeletePropagationOrphan
		case hasFinalizer(latest, metav1.FinalizerDeleteDependents):
			policy = metav1.DeletePropagationForeground
		default:
			policy = metav1.DeletePropagationBackground
		}
		why := fmt.Sprintf("owner %s is gone", describeRefs(dangling))
		if len(waiting) != 0 {
			why = fmt.Sprintf("owner %s is being deleted in the foreground", describeRefs(append(dangling, waiting...)))
		}
		return gc.deleteObject(res, item, latest, ownerReferences, policy, why)
	}
}

// classifyReferences sorts references into solid (owner exists and is not
// waiting for its dependents), dangling (owner absent, or the name now has
// another UID) and waitingForDependentsDeletion (owner in foreground
// deletion).
func (gc *GarbageCollector) classifyReferences(item *node, refs []metav1.OwnerReference) (solid, dangling, waiting []metav1.OwnerReference, err error) {
	for _, ref := range refs {
		isDangling, owner, err := gc.isDangling(ref, item)
		if err != nil {
			return nil, nil, nil, err
		}
		if isDangling {
			dangling = append(dangling, ref)
			continue
		}
		if beingDeleted(owner) && hasFinalizer(owner, metav1.FinalizerDeleteDependents) {
			waiting = append(waiting, ref)
		} else {
			solid = append(solid, ref)
		}
	}
	return solid, dangling, waiting, nil
}

// isDangling reads the owner live: absent or with another UID ⇒ dangling.
func (gc *GarbageCollector) isDangling(ref metav1.OwnerReference, item *node) (bool, metav1.Object, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false, nil, &unresolvableError{fmt.Sprintf("ownerReference %s %s has an invalid apiVersion: %v", ref.Kind, ref.Name, err)}
	}
	res, err := gc.resourceFor(gv.Group, ref.Kind)
	if err != nil {
		return false, nil, err
	}
	namespace := item.identity.Namespace
	if res.Namespaced && namespace == "" {
		return false, nil, &unresolvableError{fmt.Sprintf("cluster-scoped object cannot have a namespaced owner %s %s", ref.Kind, ref.Name)}
	}
	if !res.Namespaced {
		namespace = ""
	}
	owner, err := gc.server.Get(res, namespace, ref.Name)
	switch {
	case apierrors.IsNotFound(err):
		return true, nil, nil
	case err != nil:
		return false, nil, err
	}
	m := owner.(metav1.Object)
	if m.GetUID() != ref.UID {
		return true, nil, nil
	}
	return false, m, nil
}

// processDeletingDependentsItem finishes a foreground deletion when no
// dependent blocks it any more, or pushes the blocking dependents along.
func (gc *GarbageCollector) processDeletingDependentsItem(item *node) error {
	blocking := item.blockingDependents()
	if len(blocking) == 0 {
		return gc.removeFinalizer(item, metav1.FinalizerDeleteDependents, "no dependent with blockOwnerDeletion is left")
	}
	for _, dep := range blocking {
		if !dep.deletingDependents {
			gc.attemptToDelete.Add(dep.identity.UID)
		}
	}
	return nil
}

// ---- attemptToOrphan ----

// processAttemptToOrphan strips the owner's references from all its
// dependents, then removes the orphan finalizer.
func (gc *GarbageCollector) processAttemptToOrphan(uid types.UID) error {
	owner, ok := gc.uidToNode[uid]
	if !ok {
		return nil
	}
	if err := gc.orphanDependents(owner); err != nil {
		return err
	}
	return gc.removeFinalizer(owner, metav1.FinalizerOrphanDependents, "dependents orphaned")
}

func (gc *GarbageCollector) orphanDependents(owner *node) error {
	var errs []error
	for _, dep := range owner.sortedDependents() {
		res, err := gc.resourceFor(dep.identity.Group, dep.identity.Kind)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		patch, err := controllerutil.GenerateDeleteOwnerRefStrategicMergeBytes(dep.identity.UID, []types.UID{owner.identity.UID})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := gc.patch(res, dep.identity, types.StrategicMergePatchType, patch); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("orphaning %s failed, %v", dep.identity, err))
			}
			continue
		}
		gc.trace("orphaned", dep.identity, fmt.Sprintf("ownerReference to %s removed (orphan propagation)", owner.identity.describe()))
	}
	if len(errs) != 0 {
		return fmt.Errorf("failed to orphan dependents of owner %s, got errors: %v", owner.identity, utilerrors.NewAggregate(errs))
	}
	return nil
}

// ---- API operations (the dynamic/metadata client of upstream) ----

func (gc *GarbageCollector) resourceFor(group, kind string) (*apiserver.Resource, error) {
	res, ok := gc.server.ResourceFor(schema.GroupKind{Group: group, Kind: kind})
	if !ok {
		return nil, &unresolvableError{fmt.Sprintf("no resource serves kind %q in group %q", kind, group)}
	}
	return res, nil
}

func (gc *GarbageCollector) enqueueVirtualDelete(identity objectReference) {
	gc.graphChanges.Add(&event{eventType: deleteEvent, virtual: true, identity: identity})
}

func (gc *GarbageCollector) patch(res *apiserver.Resource, identity objectReference, pt types.PatchType, data []byte) error {
	_, err := gc.server.Patch(gc.user, res, identity.Namespace, identity.Name, pt, data, "")
	return err
}

// deleteObject deletes item with UID and resourceVersion preconditions; on
// a conflict it retries with the UID alone if the ownerReferences did not
// change meanwhile (upstream deleteObject).
func (gc *GarbageCollector) deleteObject(res *apiserver.Resource, item *node, latest metav1.Object, owners []metav1.OwnerReference, policy metav1.DeletionPropagation, why string) error {
	uid := item.identity.UID
	rv := latest.GetResourceVersion()
	pre := metav1.Preconditions{UID: &uid, ResourceVersion: &rv}
	opts := metav1.DeleteOptions{Preconditions: &pre, PropagationPolicy: &policy}
	_, _, err := gc.server.Delete(gc.user, res, item.identity.Namespace, item.identity.Name, opts)
	if apierrors.IsConflict(err) {
		live, liveErr := gc.server.Get(res, item.identity.Namespace, item.identity.Name)
		if apierrors.IsNotFound(liveErr) {
			return nil
		}
		if liveErr == nil {
			m := live.(metav1.Object)
			if m.GetUID() == uid && m.GetResourceVersion() != rv && reflect.DeepEqual(m.GetOwnerReferences(), owners) {
				pre.ResourceVersion = nil
				_, _, err = gc.server.Delete(gc.user, res, item.identity.Namespace, item.identity.Name, opts)
			}
		}
	}
	if err == nil {
		gc.trace("collected", item.identity, fmt.Sprintf("%s (propagationPolicy %s)", why, policy))
	}
	return err
}

// removeFinalizer removes finalizer from the owner with a merge patch
// conditional on its resourceVersion, retrying on conflicts.
func (gc *GarbageCollector) removeFinalizer(owner *node, finalizer, why string) error {
	res, err := gc.resourceFor(owner.identity.Group, owner.identity.Kind)
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		obj, err := gc.server.Get(res, owner.identity.Namespace, owner.identity.Name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot finalize owner %s, because cannot get it: %v. The garbage collector will retry later", owner.identity, err)
		}
		m := obj.(metav1.Object)
		if m.GetUID() != owner.identity.UID {
			return nil
		}
		var newFinalizers []string
		found := false
		for _, f := range m.GetFinalizers() {
			if f == finalizer {
				found = true
				continue
			}
			newFinalizers = append(newFinalizers, f)
		}
		if !found {
			return nil
		}
		patch, err := json.Marshal(finalizersPatch{Metadata: finalizersPatchMeta{ResourceVersion: m.GetResourceVersion(), Finalizers: newFinalizers}})
		if err != nil {
			return err
		}
		err = gc.patch(res, owner.identity, types.MergePatchType, patch)
		if err == nil {
			gc.trace("finalized", owner.identity, fmt.Sprintf("removed finalizer %s: %s", finalizer, why))
			return nil
		}
		if !apierrors.IsConflict(err) {
			return err
		}
		if i+1 >= removeFinalizerRetries {
			return fmt.Errorf("updateMaxRetries(%d) has reached. The garbage collector will retry later for owner %v", removeFinalizerRetries, owner.identity)
		}
	}
}

type finalizersPatch struct {
	Metadata finalizersPatchMeta `json:"metadata"`
}

type finalizersPatchMeta struct {
	ResourceVersion string   `json:"resourceVersion"`
	Finalizers      []string `json:"finalizers"`
}

type unblockPatch struct {
	Metadata unblockPatchMeta `json:"metadata"`
}

type unblockPatchMeta struct {
	UID             types.UID               `json:"uid"`
	OwnerReferences []metav1.OwnerReference `json:"ownerReferences"`
}

// unblockOwnerReferencesPatch sets blockOwnerDeletion=false on item's
// blocking references (breaks foreground-deletion cycles).
func unblockOwnerReferencesPatch(item *node) ([]byte, error) {
	f := false
	var refs []metav1.OwnerReference
	for _, ref := range item.owners {
		if ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
			r := ref
			r.BlockOwnerDeletion = &f
			refs = append(refs, r)
		}
	}
	return json.Marshal(unblockPatch{Metadata: unblockPatchMeta{UID: item.identity.UID, OwnerReferences: refs}})
}

func refUIDs(refs []metav1.OwnerReference) []types.UID {
	out := make([]types.UID, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.UID)
	}
	return out
}

func describeRefs(refs []metav1.OwnerReference) string {
	parts := make([]string, 0, len(refs))
	for _, r := range refs {
		parts = append(parts, r.Kind+" "+r.Name)
	}
	return strings.Join(parts, ", ")
}

func (gc *GarbageCollector) trace(verb string, id objectReference, msg string) {
	if !gc.eng.Tracing() {
		return
	}
	gc.eng.Trace(sim.Record{Component: ComponentName, Verb: verb, Kind: id.Kind, Namespace: id.Namespace, Name: id.Name, Msg: msg})
}
