package controllerutil

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/sets"
)

// ExpectationsTimeout is how long a controller waits for the watch events it
// expects before it syncs anyway (upstream: 5 minutes).
const ExpectationsTimeout = 5 * time.Minute

// ControlleeExpectations tracks the creations and deletions one controller
// still expects to observe. Invariant: once set, the counts only go down
// (until the next SetExpectations); a count ≤ 0 means "nothing pending".
type ControlleeExpectations struct {
	add       int64
	del       int64
	key       string
	timestamp time.Time // when the expectations were last set
}

// Add adds add and del to the pending counts (negative values lower them).
func (e *ControlleeExpectations) Add(add, del int64) {
	e.add += add
	e.del += del
}

// Fulfilled reports whether no creation and no deletion is pending.
func (e *ControlleeExpectations) Fulfilled() bool {
	return e.add <= 0 && e.del <= 0
}

// GetExpectations returns the pending (add, del) counts.
func (e *ControlleeExpectations) GetExpectations() (int64, int64) {
	return e.add, e.del
}

// Timestamp is when these expectations were set.
func (e *ControlleeExpectations) Timestamp() time.Time { return e.timestamp }

// String renders the expectations for traces and error messages.
func (e *ControlleeExpectations) String() string {
	return fmt.Sprintf("%s: add=%d del=%d set=%s", e.key, e.add, e.del, e.timestamp.Format(time.RFC3339))
}

// ControllerExpectations maps controller keys ("namespace/name") to what each
// expects to see before it manages its pods again. It replaces upstream's
// TTL store with a plain map (only looked up by key, never iterated) and an
// injected clock, so expiry follows the engine's virtual time.
type ControllerExpectations struct {
	store map[string]*ControlleeExpectations
	now   func() time.Time
}

// NewControllerExpectations returns an empty expectations cache reading time
// from now (the engine's clock).
func NewControllerExpectations(now func() time.Time) *ControllerExpectations {
	if now == nil {
		panic("controllerutil: NewControllerExpectations needs a clock")
	}
	return &ControllerExpectations{store: map[string]*ControlleeExpectations{}, now: now}
}

// GetExpectations returns the expectations of controllerKey, if any.
func (r *ControllerExpectations) GetExpectations(controllerKey string) (*ControlleeExpectations, bool) {
	exp, ok := r.store[controllerKey]
	return exp, ok
}

// DeleteExpectations forgets the expectations of controllerKey (called when
// the controller object is deleted, so a re-created one starts clean).
func (r *ControllerExpectations) DeleteExpectations(controllerKey string) {
	delete(r.store, controllerKey)
}

// SatisfiedExpectations reports whether the controller may manage its pods:
// true when it has no expectations, when they are fulfilled, or when they
// were set more than ExpectationsTimeout ago.
func (r *ControllerExpectations) SatisfiedExpectations(controllerKey string) bool {
	exp, ok := r.store[controllerKey]
	if !ok {
		// Never set (a new controller) or forgotten: sync.
		return true
	}
	if exp.Fulfilled() {
		return true
	}
	return r.isExpired(exp)
}

// isExpired reports whether exp was set more than ExpectationsTimeout ago.
func (r *ControllerExpectations) isExpired(exp *ControlleeExpectations) bool {
	return r.now().Sub(exp.timestamp) > ExpectationsTimeout
}

// SetExpectations replaces the expectations of controllerKey.
func (r *ControllerExpectations) SetExpectations(controllerKey string, add, del int) {
	r.store[controllerKey] = &ControlleeExpectations{add: int64(add), del: int64(del), key: controllerKey, timestamp: r.now()}
}

// ExpectCreations records that adds creations are about to be issued.
func (r *ControllerExpectations) ExpectCreations(controllerKey string, adds int) {
	r.SetExpectations(controllerKey, adds, 0)
}

// ExpectDeletions records that dels deletions are about to be issued.
func (r *ControllerExpectations) ExpectDeletions(controllerKey string, dels int) {
	r.SetExpectations(controllerKey, 0, dels)
}

// LowerExpectations decrements the pending counts, if expectations exist.
func (r *ControllerExpectations) LowerExpectations(controllerKey string, add, del int) {
	if exp, ok := r.store[controllerKey]; ok {
		exp.Add(int64(-add), int64(-del))
	}
}

// RaiseExpectations increments the pending counts, if expectations exist.
func (r *ControllerExpectations) RaiseExpectations(controllerKey string, add, del int) {
	if exp, ok := r.store[controllerKey]; ok {
		exp.Add(int64(add), int64(del))
	}
}

// CreationObserved lowers the pending creations by one.
func (r *ControllerExpectations) CreationObserved(controllerKey string) {
	r.LowerExpectations(controllerKey, 1, 0)
}

// DeletionObserved lowers the pending deletions by one.
func (r *ControllerExpectations) DeletionObserved(controllerKey string) {
	r.LowerExpectations(controllerKey, 0, 1)
}

// UIDTrackingControllerExpectations additionally remembers which pod keys a
// controller is deleting, so that a pod seen first with a deletionTimestamp
// and later removed is counted once (graceful deletion).
type UIDTrackingControllerExpectations struct {
	*ControllerExpectations
	uids map[string]sets.Set[string]
}

// NewUIDTrackingControllerExpectations wraps ce with deletion-key tracking.
func NewUIDTrackingControllerExpectations(ce *ControllerExpectations) *UIDTrackingControllerExpectations {
	return &UIDTrackingControllerExpectations{ControllerExpectations: ce, uids: map[string]sets.Set[string]{}}
}

// GetUIDs returns the pod keys controllerKey still expects to see deleted.
func (u *UIDTrackingControllerExpectations) GetUIDs(controllerKey string) sets.Set[string] {
	return u.uids[controllerKey]
}

// ExpectDeletions records deletions of the given pod keys ("ns/name").
// Like upstream it silently replaces ("clobbers") an older pending set.
func (u *UIDTrackingControllerExpectations) ExpectDeletions(controllerKey string, deletedKeys []string) {
	expected := sets.New[string](deletedKeys...)
	u.uids[controllerKey] = expected
	u.ControllerExpectations.ExpectDeletions(controllerKey, expected.Len())
}

// DeletionObserved records that deleteKey was deleted (or got a
// deletionTimestamp); it counts only if the key was expected and not yet seen.
func (u *UIDTrackingControllerExpectations) DeletionObserved(controllerKey, deleteKey string) {
	uids := u.uids[controllerKey]
	if uids != nil && uids.Has(deleteKey) {
		u.ControllerExpectations.DeletionObserved(controllerKey)
		uids.Delete(deleteKey)
	}
}

// DeleteExpectations forgets both the counts and the pending keys.
func (u *UIDTrackingControllerExpectations) DeleteExpectations(controllerKey string) {
	u.ControllerExpectations.DeleteExpectations(controllerKey)
	delete(u.uids, controllerKey)
}
