package endpointslice

import (
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// deletionExpected marks a slice the controller deleted and expects to see
// disappear.
const deletionExpected = -1

// sliceTracker is upstream's EndpointSliceTracker
// (staging/src/k8s.io/endpointslice/util/endpointslice_tracker.go): the
// generation of every slice the controller wrote, per Service, so that a
// sync can tell that the informer cache has not caught up with the
// controller's own writes yet (and must not act on it), and so that the
// controller's own writes do not trigger another sync.
type sliceTracker struct {
	// generations maps a Service to its slices' expected generations, by
	// slice UID (deletionExpected for a slice the controller deleted).
	generations map[types.NamespacedName]map[types.UID]int64
	// serviceUIDs is the UID of the Service each entry was tracked for; a
	// recreated Service starts afresh.
	serviceUIDs map[types.NamespacedName]types.UID
}

func newSliceTracker() *sliceTracker {
	return &sliceTracker{generations: map[types.NamespacedName]map[types.UID]int64{}, serviceUIDs: map[types.NamespacedName]types.UID{}}
}

func sliceService(s *discovery.EndpointSlice) types.NamespacedName {
	return types.NamespacedName{Namespace: s.Namespace, Name: s.Labels[discovery.LabelServiceName]}
}

// has reports whether the slice is tracked.
func (t *sliceTracker) has(s *discovery.EndpointSlice) bool {
	_, ok := t.generations[sliceService(s)][s.UID]
	return ok
}

// shouldSync reports whether a slice event is news to the controller: the
// slice is untracked or newer than what the controller wrote.
func (t *sliceTracker) shouldSync(s *discovery.EndpointSlice) bool {
	g, ok := t.generations[sliceService(s)][s.UID]
	return !ok || s.Generation > g
}

// staleSlices reports whether the cached slices of svc lag behind the
// controller's writes: a slice older than written, one expected to be gone,
// or a written one missing.
func (t *sliceTracker) staleSlices(svc *v1.Service, cached []*discovery.EndpointSlice) bool {
	nn := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	if uid, ok := t.serviceUIDs[nn]; ok && uid != "" && svc.UID != "" && uid != svc.UID {
		delete(t.generations, nn)
	}
	t.serviceUIDs[nn] = svc.UID
	gens, ok := t.generations[nn]
	if !ok {
		return false
	}
	provided := make(map[types.UID]bool, len(cached))
	for _, s := range cached {
		provided[s.UID] = true
		if g, ok := gens[s.UID]; ok && (g == deletionExpected || g > s.Generation) {
			return true
		}
	}
	for uid, g := range gens {
		if g != deletionExpected && !provided[uid] {
			return true
		}
	}
	return false
}

// update records the generation of a slice the controller wrote.
func (t *sliceTracker) update(s *discovery.EndpointSlice) { t.set(s, s.Generation) }

// expectDeletion records that the controller deleted a slice.
func (t *sliceTracker) expectDeletion(s *discovery.EndpointSlice) { t.set(s, deletionExpected) }

func (t *sliceTracker) set(s *discovery.EndpointSlice, g int64) {
	nn := sliceService(s)
	gens, ok := t.generations[nn]
	if !ok {
		gens = map[types.UID]int64{}
		t.generations[nn] = gens
	}
	gens[s.UID] = g
}

// handleDeletion forgets a deleted slice and reports whether the controller
// expected the deletion (false: someone else deleted it).
func (t *sliceTracker) handleDeletion(s *discovery.EndpointSlice) bool {
	gens, ok := t.generations[sliceService(s)]
	if !ok {
		return true
	}
	g, ok := gens[s.UID]
	delete(gens, s.UID)
	return !ok || g == deletionExpected
}

// deleteService forgets a Service.
func (t *sliceTracker) deleteService(namespace, name string) {
	nn := types.NamespacedName{Namespace: namespace, Name: name}
	delete(t.generations, nn)
	delete(t.serviceUIDs, nn)
}

// triggerTimes is upstream's TriggerTimeTracker
// (staging/src/k8s.io/endpointslice/util/trigger_time_tracker.go): the
// value of the endpoints.kubernetes.io/last-change-trigger-time annotation,
// the earliest change (a pod's Ready transition, the Service's creation)
// not yet reflected in the slices. Like upstream it can be wrong when one
// object changes several times between two syncs.
type triggerTimes struct {
	states map[types.NamespacedName]triggerState
}

type triggerState struct {
	service time.Time
	pods    map[string]time.Time
}

func newTriggerTimes() *triggerTimes {
	return &triggerTimes{states: map[types.NamespacedName]triggerState{}}
}

// compute records the trigger times of svc and its pods and returns the
// annotation value (zero: no annotation).
func (t *triggerTimes) compute(svc *v1.Service, pods []*v1.Pod) time.Time {
	nn := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	state, known := t.states[nn]
	var earliest time.Time
	earlier := func(x time.Time) {
		if earliest.IsZero() || x.Before(earliest) {
			earliest = x
		}
	}
	podTimes := make(map[string]time.Time, len(pods))
	for _, p := range pods {
		var pt time.Time
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodReady {
				pt = c.LastTransitionTime.Time
			}
		}
		if pt.IsZero() {
			continue
		}
		podTimes[p.Name] = pt
		if pt.After(state.pods[p.Name]) {
			earlier(pt)
		}
	}
	st := svc.CreationTimestamp.Time
	if st.After(state.service) {
		earlier(st)
	}
	t.states[nn] = triggerState{service: st, pods: podTimes}
	if !known {
		return svc.CreationTimestamp.Time
	}
	return earliest
}

func (t *triggerTimes) deleteService(namespace, name string) {
	delete(t.states, types.NamespacedName{Namespace: namespace, Name: name})
}
