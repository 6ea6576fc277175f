package garbagecollector

import (
	"fmt"
	"reflect"
	"slices"
	"sort"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/sim/apiserver"
)

// objectReference identifies a node: the object's group and kind,
// namespace ("" if cluster-scoped), name and UID. APIVersion is kept for
// messages only; two references to the same group/kind in different
// versions are the same identity (kubesim serves one version per kind).
type objectReference struct {
	APIVersion string
	Group      string
	Kind       string
	Namespace  string
	Name       string
	UID        types.UID
}

// sameAs reports whether r and o name the same object.
func (r objectReference) sameAs(o objectReference) bool {
	return r.Group == o.Group && r.Kind == o.Kind && r.Namespace == o.Namespace && r.Name == o.Name && r.UID == o.UID
}

// String renders the reference as upstream does in its logs.
func (r objectReference) String() string {
	return fmt.Sprintf("[%s/%s, namespace: %s, name: %s, uid: %s]", r.APIVersion, r.Kind, r.Namespace, r.Name, r.UID)
}

// describe is the short "Kind namespace/name" form for traces.
func (r objectReference) describe() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// node is a vertex of the ownership graph. Invariants: a node is in
// uidToNode under its identity's UID; n is in o.dependents iff one of n's
// owners has o's UID (for nodes in the graph).
type node struct {
	identity objectReference
	// dependents are the nodes that list this one among their owners.
	dependents map[types.UID]*node
	// owners are the object's ownerReferences as last observed.
	owners []metav1.OwnerReference
	// beingDeleted: the object has a deletionTimestamp.
	beingDeleted bool
	// deletingDependents: being deleted with the foregroundDeletion finalizer.
	deletingDependents bool
	// virtual: known only from a dependent's ownerReference, not yet
	// observed through an informer.
	virtual bool
}

// sortedDependents returns the dependents ordered by namespace, name, UID
// (never by map order).
func (n *node) sortedDependents() []*node {
	out := make([]*node, 0, len(n.dependents))
	for _, d := range n.dependents {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].identity, out[j].identity
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.UID < b.UID
	})
	return out
}

// blockingDependents are the dependents whose reference to n has
// blockOwnerDeletion=true: n's foreground deletion waits for them.
func (n *node) blockingDependents() []*node {
	var out []*node
	for _, dep := range n.sortedDependents() {
		for _, ref := range dep.owners {
			if ref.UID == n.identity.UID && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				out = append(out, dep)
				break
			}
		}
	}
	return out
}

// refTo returns n's ownerReference with the given UID.
func (n *node) refTo(uid types.UID) (metav1.OwnerReference, bool) {
	for _, ref := range n.owners {
		if ref.UID == uid {
			return ref, true
		}
	}
	return metav1.OwnerReference{}, false
}

type eventType int

const (
	addEvent eventType = iota
	updateEvent
	deleteEvent
)

// event is one change of the graph: an informer notification, or a
// "virtual" delete produced when a live read shows an object is gone.
type event struct {
	eventType eventType
	// virtual events carry only identity; informer events carry the
	// (shared, read-only) objects and their resource.
	virtual  bool
	identity objectReference
	obj      metav1.Object
	oldObj   metav1.Object
	res      *apiserver.Resource
}

func identityOf(res *apiserver.Resource, obj metav1.Object) objectReference {
	return objectReference{APIVersion: res.GroupVersion.String(), Group: res.GroupVersion.Group, Kind: res.Kind,
		Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: obj.GetUID()}
}

// refIdentity is the identity an ownerReference of a dependent in
// namespace designates: the owner lives in the dependent's namespace unless
// its kind is cluster-scoped.
func (gc *GarbageCollector) refIdentity(ref metav1.OwnerReference, namespace string) objectReference {
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	if res, ok := gc.server.ResourceFor(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}); ok && !res.Namespaced {
		namespace = ""
	}
	return objectReference{APIVersion: ref.APIVersion, Group: gv.Group, Kind: ref.Kind, Namespace: namespace, Name: ref.Name, UID: ref.UID}
}

func beingDeleted(obj metav1.Object) bool { return obj.GetDeletionTimestamp() != nil }

func hasFinalizer(obj metav1.Object, f string) bool { return slices.Contains(obj.GetFinalizers(), f) }

// deletionStartsWithFinalizer reports whether obj has just entered deletion
// with finalizer f (it was not being deleted with f before).
func deletionStartsWithFinalizer(oldObj, obj metav1.Object, f string) bool {
	if !beingDeleted(obj) || !hasFinalizer(obj, f) {
		return false
	}
	return oldObj == nil || !beingDeleted(oldObj) || !hasFinalizer(oldObj, f)
}

// processGraphChange is upstream's processGraphChanges for one event.
func (gc *GarbageCollector) processGraphChange(ev *event) error {
	identity := ev.identity
	if !ev.virtual {
		identity = identityOf(ev.res, ev.obj)
	}
	existing, found := gc.uidToNode[identity.UID]
	if found && !ev.virtual && existing.virtual {
		// First observation of a node known only from references: the
		// dependents that named it with other coordinates may be wrong,
		// and those of another namespace are (a namespaced owner).
		if !existing.identity.sameAs(identity) {
			for _, dep := range existing.sortedDependents() {
				if ref, ok := dep.refTo(identity.UID); ok && !gc.refIdentity(ref, dep.identity.Namespace).sameAs(identity) {
					if identity.Namespace != "" && dep.identity.Namespace != identity.Namespace {
						gc.reportInvalidNamespaceOwnerRef(dep, identity.UID)
					}
					gc.attemptToDelete.Add(dep.identity.UID)
				}
			}
			existing.identity = identity
		}
		existing.virtual = false
	}

	switch {
	case (ev.eventType == addEvent || ev.eventType == updateEvent) && !found:
		n := &node{
			identity:           identity,
			dependents:         map[types.UID]*node{},
			owners:             ev.obj.GetOwnerReferences(),
			beingDeleted:       beingDeleted(ev.obj),
			deletingDependents: beingDeleted(ev.obj) && hasFinalizer(ev.obj, metav1.FinalizerDeleteDependents),
		}
		gc.insertNode(n)
		gc.processTransitions(ev.oldObj, ev.obj, n)

	case ev.eventType == addEvent || ev.eventType == updateEvent:
		added, removed, changed := referencesDiffs(existing.owners, ev.obj.GetOwnerReferences())
		if len(added) != 0 || len(removed) != 0 || len(changed) != 0 {
			gc.addUnblockedOwnersToDeleteQueue(removed, changed)
			existing.owners = ev.obj.GetOwnerReferences()
			gc.addDependentToOwners(existing, added)
			gc.removeDependentFromOwners(existing, removed)
		}
		if beingDeleted(ev.obj) {
			existing.beingDeleted = true
		}
		gc.processTransitions(ev.oldObj, ev.obj, existing)

	case ev.eventType == deleteEvent:
		if !found {
			return nil
		}
		removeExisting := true
		if ev.virtual {
			matching, nonMatching := gc.partitionDependents(existing, identity)
			switch {
			case existing.virtual && len(nonMatching) > 0:
				// Some dependents name this UID with other coordinates:
				// keep the node under one of those and verify it again.
				removeExisting = false
				for _, dep := range matching {
					gc.attemptToDelete.Add(dep.identity.UID)
				}
				if existing.identity.sameAs(identity) {
					ref, _ := nonMatching[0].refTo(identity.UID)
					existing.identity = gc.refIdentity(ref, nonMatching[0].identity.Namespace)
					gc.attemptToDelete.AddRateLimited(identity.UID)
				}
			case !existing.virtual && !existing.identity.sameAs(identity):
				// The observed object disagrees with the coordinates found
				// absent: only the dependents using those are dangling.
				removeExisting = false
				for _, dep := range matching {
					gc.attemptToDelete.Add(dep.identity.UID)
				}
			}
		}
		if removeExisting {
			gc.removeNode(existing)
			for _, dep := range existing.sortedDependents() {
				gc.attemptToDelete.Add(dep.identity.UID)
			}
			for _, ref := range existing.owners {
				if owner, ok := gc.uidToNode[ref.UID]; ok && owner.deletingDependents {
					// Its foreground deletion may now be unblocked.
					gc.attemptToDelete.Add(ref.UID)
				}
			}
		}
	}
	return nil
}

// partitionDependents splits n's dependents by whether their reference to
// n's UID designates identity.
func (gc *GarbageCollector) partitionDependents(n *node, identity objectReference) (matching, nonMatching []*node) {
	for _, dep := range n.sortedDependents() {
		ref, ok := dep.refTo(identity.UID)
		if !ok {
			continue
		}
		if gc.refIdentity(ref, dep.identity.Namespace).sameAs(identity) {
			matching = append(matching, dep)
		} else {
			nonMatching = append(nonMatching, dep)
		}
	}
	return matching, nonMatching
}

// processTransitions queues the work an object's entry into deletion with
// the orphan or foregroundDeletion finalizer calls for.
func (gc *GarbageCollector) processTransitions(oldObj, obj metav1.Object, n *node) {
	if deletionStartsWithFinalizer(oldObj, obj, metav1.FinalizerOrphanDependents) {
		gc.attemptToOrphan.Add(n.identity.UID)
		return
	}
	if deletionStartsWithFinalizer(oldObj, obj, metav1.FinalizerDeleteDependents) {
		n.deletingDependents = true
		for _, dep := range n.sortedDependents() {
			gc.attemptToDelete.Add(dep.identity.UID)
		}
		gc.attemptToDelete.Add(n.identity.UID)
	}
}

// insertNode adds n to the graph and to its owners' dependents.
func (gc *GarbageCollector) insertNode(n *node) {
	gc.uidToNode[n.identity.UID] = n
	gc.addDependentToOwners(n, n.owners)
}

// addDependentToOwners links n under each owner, creating a virtual node
// (verified by attemptToDelete) for an owner not seen yet. If an owner's
// identity disagrees with n's reference, n is checked too; an observed
// namespaced owner in another namespace than n's is also reported (only
// the first disagreeing owner is examined, as upstream).
func (gc *GarbageCollector) addDependentToOwners(n *node, owners []metav1.OwnerReference) {
	suspicious := false
	for _, ref := range owners {
		want := gc.refIdentity(ref, n.identity.Namespace)
		owner, ok := gc.uidToNode[ref.UID]
		if !ok {
			owner = &node{identity: want, dependents: map[types.UID]*node{}, virtual: true}
			gc.uidToNode[ref.UID] = owner
		}
		owner.dependents[n.identity.UID] = n
		switch {
		case !ok:
			gc.attemptToDelete.Add(ref.UID)
		case suspicious:
		case owner.identity.Namespace != "" && owner.identity.Namespace != n.identity.Namespace:
			if !owner.virtual {
				gc.reportInvalidNamespaceOwnerRef(n, ref.UID)
			}
			suspicious = true
		case !owner.identity.sameAs(want):
			suspicious = true
		}
	}
	if suspicious {
		gc.attemptToDelete.Add(n.identity.UID)
	}
}

// reportInvalidNamespaceOwnerRef records upstream's Warning
// OwnerRefInvalidNamespace Event on n for its reference to ownerUID, whose
// owner is namespaced and not in n's namespace: the reference designates
// an owner of that name in n's namespace, which does not exist.
func (gc *GarbageCollector) reportInvalidNamespaceOwnerRef(n *node, ownerUID types.UID) {
	ref, ok := n.refTo(ownerUID)
	if !ok {
		return
	}
	invalid := objectReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: n.identity.Namespace, Name: ref.Name, UID: ref.UID}
	involved := &v1.ObjectReference{Kind: n.identity.Kind, APIVersion: n.identity.APIVersion, Namespace: n.identity.Namespace,
		Name: n.identity.Name, UID: n.identity.UID}
	gc.recorder.Eventf(involved, v1.EventTypeWarning, "OwnerRefInvalidNamespace", "ownerRef %s does not exist in namespace %q", invalid, n.identity.Namespace)
}

// removeDependentFromOwners unlinks n from the given owners.
func (gc *GarbageCollector) removeDependentFromOwners(n *node, owners []metav1.OwnerReference) {
	for _, ref := range owners {
		if owner, ok := gc.uidToNode[ref.UID]; ok {
			delete(owner.dependents, n.identity.UID)
		}
	}
}

// removeNode drops n from the graph and from its owners' dependents.
func (gc *GarbageCollector) removeNode(n *node) {
	delete(gc.uidToNode, n.identity.UID)
	gc.removeDependentFromOwners(n, n.owners)
}

// addUnblockedOwnersToDeleteQueue wakes owners waiting in foreground
// deletion when a blocking reference to them was removed or unblocked.
func (gc *GarbageCollector) addUnblockedOwnersToDeleteQueue(removed []metav1.OwnerReference, changed []ownerRefPair) {
	wake := func(uid types.UID) {
		if owner, ok := gc.uidToNode[uid]; ok && owner.deletingDependents {
			gc.attemptToDelete.Add(uid)
		}
	}
	for _, ref := range removed {
		if ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
			wake(ref.UID)
		}
	}
	for _, c := range changed {
		wasBlocked := c.oldRef.BlockOwnerDeletion != nil && *c.oldRef.BlockOwnerDeletion
		isUnblocked := c.newRef.BlockOwnerDeletion == nil || !*c.newRef.BlockOwnerDeletion
		if wasBlocked && isUnblocked {
			wake(c.newRef.UID)
		}
	}
}

type ownerRefPair struct{ oldRef, newRef metav1.OwnerReference }

// referencesDiffs compares two ownerReference lists by UID.
func referencesDiffs(old, cur []metav1.OwnerReference) (added, removed []metav1.OwnerReference, changed []ownerRefPair) {
	oldByUID := map[types.UID]metav1.OwnerReference{}
	for _, r := range old {
		oldByUID[r.UID] = r
	}
	curUIDs := map[types.UID]bool{}
	for _, r := range cur {
		curUIDs[r.UID] = true
		if o, ok := oldByUID[r.UID]; !ok {
			added = append(added, r)
		} else if !reflect.DeepEqual(o, r) {
			changed = append(changed, ownerRefPair{o, r})
		}
	}
	for _, r := range old {
		if !curUIDs[r.UID] {
			removed = append(removed, r)
		}
	}
	return added, removed, changed
}
