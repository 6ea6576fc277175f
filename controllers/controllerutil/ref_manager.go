package controllerutil

import (
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/utils/ptr"
)

// ClaimAction is what the controller ref manager decides for one object.
type ClaimAction int

const (
	// ClaimIgnore: owned by another controller, not matching, being deleted,
	// or in another namespace; leave it alone.
	ClaimIgnore ClaimAction = iota
	// ClaimOwned: already ours and matching; claimed without any write.
	ClaimOwned
	// ClaimAdopt: an orphan that matches; patch our controller ref in.
	ClaimAdopt
	// ClaimRelease: ours but no longer matching; patch our ref out.
	ClaimRelease
)

// String names the action for traces.
func (a ClaimAction) String() string {
	switch a {
	case ClaimIgnore:
		return "ignore"
	case ClaimOwned:
		return "owned"
	case ClaimAdopt:
		return "adopt"
	case ClaimRelease:
		return "release"
	}
	return fmt.Sprintf("ClaimAction(%d)", int(a))
}

// DecideClaim is the decision table of upstream's
// BaseControllerRefManager.ClaimObject, without the writes: given the
// controller, a candidate object and whether it matches the controller's
// selector (and filters), it says whether to keep, adopt, release or ignore it.
func DecideClaim(controller, obj metav1.Object, match bool) ClaimAction {
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		if ref.UID != controller.GetUID() {
			return ClaimIgnore // owned by someone else
		}
		if match {
			// Ours and matching: claimed even while we are being deleted,
			// since that takes no action.
			return ClaimOwned
		}
		if controller.GetDeletionTimestamp() != nil {
			return ClaimIgnore // don't release while being deleted
		}
		return ClaimRelease
	}
	// An orphan.
	if controller.GetDeletionTimestamp() != nil || !match {
		return ClaimIgnore
	}
	if obj.GetDeletionTimestamp() != nil {
		return ClaimIgnore
	}
	if len(controller.GetNamespace()) > 0 && controller.GetNamespace() != obj.GetNamespace() {
		return ClaimIgnore
	}
	return ClaimAdopt
}

// ControllerRefManager claims objects of type T (pods for a ReplicaSet,
// ReplicaSets for a Deployment) for Controller, as upstream's
// PodControllerRefManager / ReplicaSetControllerRefManager: keep what it owns
// and still selects, adopt matching orphans, release what no longer matches.
// Adopt and Release perform the writes (a PATCH in the real controller).
type ControllerRefManager[T metav1.Object] struct {
	// Controller is the owning object (a ReplicaSet or a Deployment).
	Controller metav1.Object
	// Selector is the controller's label selector.
	Selector labels.Selector
	// CanAdopt is called once, before the first adoption, to re-check with a
	// live read that the controller still exists and is not being deleted
	// (see RecheckDeletionTimestamp). Nil means adoption is always allowed.
	CanAdopt func() error
	// Adopt writes the controller reference into obj.
	Adopt func(obj T) error
	// Release removes the controller reference from obj.
	Release func(obj T) error

	canAdoptChecked bool
	canAdoptErr     error
}

// Claim runs the claim over objs and returns the claimed ones (owned or
// freshly adopted), in input order, plus an aggregate of the write errors. A
// NotFound error from Adopt or Release is ignored, as upstream.
func (m *ControllerRefManager[T]) Claim(objs []T, filters ...func(T) bool) ([]T, error) {
	var claimed []T
	var errlist []error
	for _, obj := range objs {
		match := m.Selector.Matches(labels.Set(obj.GetLabels()))
		for _, f := range filters {
			if !match {
				break
			}
			match = f(obj)
		}
		switch DecideClaim(m.Controller, obj, match) {
		case ClaimOwned:
			claimed = append(claimed, obj)
		case ClaimRelease:
			if err := m.Release(obj); err != nil && !apierrors.IsNotFound(err) {
				errlist = append(errlist, err)
			}
		case ClaimAdopt:
			if err := m.canAdopt(); err != nil {
				errlist = append(errlist, fmt.Errorf("can't adopt %s/%s (%v): %v", obj.GetNamespace(), obj.GetName(), obj.GetUID(), err))
				continue
			}
			if err := m.Adopt(obj); err != nil {
				if !apierrors.IsNotFound(err) {
					errlist = append(errlist, err)
				}
				continue
			}
			claimed = append(claimed, obj)
		case ClaimIgnore:
		}
	}
	return claimed, utilerrors.NewAggregate(errlist)
}

func (m *ControllerRefManager[T]) canAdopt() error {
	if !m.canAdoptChecked {
		m.canAdoptChecked = true
		if m.CanAdopt != nil {
			m.canAdoptErr = m.CanAdopt()
		}
	}
	return m.canAdoptErr
}

// RecheckDeletionTimestamp returns a CanAdopt function that reads the
// controller afresh (getObject should bypass the informer cache and fail if
// the UID changed) and refuses adoption if it is being deleted.
func RecheckDeletionTimestamp(getObject func() (metav1.Object, error)) func() error {
	return func() error {
		obj, err := getObject()
		if err != nil {
			return fmt.Errorf("can't recheck DeletionTimestamp: %v", err)
		}
		if obj.GetDeletionTimestamp() != nil {
			return fmt.Errorf("%v/%v has just been deleted at %v", obj.GetNamespace(), obj.GetName(), obj.GetDeletionTimestamp())
		}
		return nil
	}
}

// NewControllerRef is the owner reference a controller puts on what it
// creates or adopts: apiVersion/kind of gvk, controller and
// blockOwnerDeletion true.
func NewControllerRef(owner metav1.Object, gvk schema.GroupVersionKind) *metav1.OwnerReference {
	return metav1.NewControllerRef(owner, gvk)
}

// AdoptOwnerReferences returns obj's owner references with owner's
// controller reference added (what the adoption patch produces).
func AdoptOwnerReferences(obj metav1.Object, owner metav1.Object, gvk schema.GroupVersionKind) []metav1.OwnerReference {
	refs := append([]metav1.OwnerReference(nil), obj.GetOwnerReferences()...)
	return append(refs, *NewControllerRef(owner, gvk))
}

// ReleaseOwnerReferences returns obj's owner references without the one
// pointing at ownerUID (what the release patch produces).
func ReleaseOwnerReferences(obj metav1.Object, ownerUID types.UID) []metav1.OwnerReference {
	var refs []metav1.OwnerReference
	for _, r := range obj.GetOwnerReferences() {
		if r.UID != ownerUID {
			refs = append(refs, r)
		}
	}
	return refs
}

type objectMetaForPatch struct {
	OwnerReferences []metav1.OwnerReference `json:"ownerReferences"`
	UID             types.UID               `json:"uid"`
	Finalizers      []string                `json:"finalizers,omitempty"`
}

type objectForAddOwnerRefPatch struct {
	Metadata objectMetaForPatch `json:"metadata"`
}

// OwnerRefControllerPatch is upstream's strategic-merge patch adding owner's
// controller reference to the object with uid (adoption).
func OwnerRefControllerPatch(owner metav1.Object, gvk schema.GroupVersionKind, uid types.UID, finalizers ...string) ([]byte, error) {
	patch := objectForAddOwnerRefPatch{Metadata: objectMetaForPatch{
		UID: uid,
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion:         gvk.GroupVersion().String(),
			Kind:               gvk.Kind,
			Name:               owner.GetName(),
			UID:                owner.GetUID(),
			Controller:         ptr.To(true),
			BlockOwnerDeletion: ptr.To(true),
		}},
		Finalizers: finalizers,
	}}
	return json.Marshal(&patch)
}

type objectForDeleteOwnerRefStrategicMergePatch struct {
	Metadata objectMetaForMergePatch `json:"metadata"`
}

type objectMetaForMergePatch struct {
	UID              types.UID           `json:"uid"`
	OwnerReferences  []map[string]string `json:"ownerReferences"`
	DeleteFinalizers []string            `json:"$deleteFromPrimitiveList/finalizers,omitempty"`
}

// GenerateDeleteOwnerRefStrategicMergeBytes is upstream's strategic-merge
// patch removing the owner references with ownerUIDs from the object with
// dependentUID (release).
func GenerateDeleteOwnerRefStrategicMergeBytes(dependentUID types.UID, ownerUIDs []types.UID, finalizers ...string) ([]byte, error) {
	var ownerReferences []map[string]string
	for _, ownerUID := range ownerUIDs {
		ownerReferences = append(ownerReferences, map[string]string{"$patch": "delete", "uid": string(ownerUID)})
	}
	patch := objectForDeleteOwnerRefStrategicMergePatch{Metadata: objectMetaForMergePatch{
		UID:              dependentUID,
		OwnerReferences:  ownerReferences,
		DeleteFinalizers: finalizers,
	}}
	return json.Marshal(&patch)
}
