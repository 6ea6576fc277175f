package runner

import (
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
)

// maxPodEnds bounds the deleted pods a run remembers for explain: the
// oldest record goes first.
const maxPodEnds = 4096

// podEnd is what explain knows of how a pod ended: its deletion as the API
// server's trace records tell it, and the pod as each delete left it. The
// pod is read from the server's memo of its last write (a map lookup,
// nothing decoded) at the trace record of each delete, so only deletions
// cost anything, and only in runs of the runner.
type podEnd struct {
	uid types.UID
	// by is the component that asked for the deletion first (the user of
	// the first delete request: "kubectl", "taint-eviction-controller",
	// ...), requested when, grace its grace period (-1 unknown).
	by        string
	requested time.Duration
	grace     int64
	// removed is when the pod object was removed; gone says it was.
	removed time.Duration
	gone    bool
	// phase and node as the last delete left them ("" unknown).
	phase v1.PodPhase
	node  string
	// disruption is the pod's DisruptionTarget condition; Type "" when it
	// had none.
	disruption v1.PodCondition
	// seq orders the records for forgetting the oldest.
	seq uint64
}

// podEnds collects the podEnd of every pod deleted in a run, by namespace
// and name (the latest pod of that name).
type podEnds struct {
	api    *apiserver.Server
	podRes *apiserver.Resource
	byName map[types.NamespacedName]*podEnd
	// order lists the records by age, with their seq: a name recorded
	// again leaves a stale entry, skipped when its turn comes.
	order []podEndRef
	seq   uint64
}

type podEndRef struct {
	key types.NamespacedName
	seq uint64
}

func newPodEnds(api *apiserver.Server) *podEnds {
	res, _ := api.Resource("pods")
	return &podEnds{api: api, podRes: res, byName: map[types.NamespacedName]*podEnd{}}
}

// record receives every trace record; it reads the API server's "delete"
// (a deletion requested, or its grace period shortened: the pod stays,
// with a deletionTimestamp) and "deleted" (the object removed) records of
// pods.
func (e *podEnds) record(r sim.Record) {
	if r.Kind != "Pod" || r.RV == 0 || (r.Verb != "delete" && r.Verb != "deleted") {
		return
	}
	key := types.NamespacedName{Namespace: r.Namespace, Name: r.Name}
	end := e.byName[key]
	var pod *v1.Pod
	if r.Verb == "delete" {
		if obj, ok := e.api.GetLatest(e.podRes, r.Namespace, r.Name); ok {
			pod = obj.(*v1.Pod)
		}
	}
	if end == nil || end.gone || (pod != nil && pod.UID != end.uid) {
		end = e.add(key, r)
	}
	if pod != nil {
		end.uid, end.phase, end.node = pod.UID, pod.Status.Phase, pod.Spec.NodeName
		if end.grace < 0 && pod.DeletionGracePeriodSeconds != nil {
			end.grace = *pod.DeletionGracePeriodSeconds
		}
		end.disruption = v1.PodCondition{}
		for _, c := range pod.Status.Conditions {
			if c.Type == v1.DisruptionTarget {
				end.disruption = c
			}
		}
	}
	if r.Verb == "deleted" {
		end.gone, end.removed = true, r.Time
	}
}

// add starts the record of a deletion, forgetting the oldest one when
// there are too many.
func (e *podEnds) add(key types.NamespacedName, r sim.Record) *podEnd {
	e.seq++
	end := &podEnd{by: r.Component, requested: r.Time, grace: -1, seq: e.seq}
	e.byName[key] = end
	e.order = append(e.order, podEndRef{key, e.seq})
	for len(e.byName) > maxPodEnds {
		old := e.order[0]
		e.order = e.order[1:]
		if cur := e.byName[old.key]; cur != nil && cur.seq == old.seq {
			delete(e.byName, old.key)
		}
	}
	if len(e.order) > 2*maxPodEnds {
		// Names deleted again and again leave stale entries: drop them
		// (and the forgotten prefix's memory).
		live := make([]podEndRef, 0, len(e.byName))
		for _, ref := range e.order {
			if cur := e.byName[ref.key]; cur != nil && cur.seq == ref.seq {
				live = append(live, ref)
			}
		}
		e.order = live
	}
	return end
}

// ended returns how the pod namespace/name last ended, if it was removed.
func (e *podEnds) ended(namespace, name string) (*podEnd, bool) {
	end := e.byName[types.NamespacedName{Namespace: namespace, Name: name}]
	return end, end != nil && end.gone
}
