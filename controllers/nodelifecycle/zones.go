package nodelifecycle

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubesim/kubesim/controllers/nodeutil"
)

// ComputeZoneState returns the number of not-ready nodes among the Ready
// conditions of a zone's nodes (nil = never reported) and the zone's state:
// FullDisruption with no ready node and at least one not ready,
// PartialDisruption with more than 2 not ready making at least
// UnhealthyZoneThreshold of the zone, Normal otherwise.
func (nc *Controller) ComputeZoneState(nodeReadyConditions []*v1.NodeCondition) (int, ZoneState) {
	return ComputeZoneState(nodeReadyConditions, nc.cfg.UnhealthyZoneThreshold)
}

// ComputeZoneState is the zone-state rule with an explicit threshold.
func ComputeZoneState(nodeReadyConditions []*v1.NodeCondition, unhealthyZoneThreshold float64) (int, ZoneState) {
	ready, notReady := 0, 0
	for _, c := range nodeReadyConditions {
		if c != nil && c.Status == v1.ConditionTrue {
			ready++
		} else {
			notReady++
		}
	}
	switch {
	case ready == 0 && notReady > 0:
		return notReady, StateFullDisruption
	case notReady > 2 && float64(notReady)/float64(notReady+ready) >= unhealthyZoneThreshold:
		return notReady, StatePartialDisruption
	default:
		return notReady, StateNormal
	}
}

// HealthyQPSFunc is the tainting rate of a healthy (or fully disrupted)
// zone: EvictionRate.
func (nc *Controller) HealthyQPSFunc(zoneSize int) float64 { return nc.cfg.EvictionRate }

// ReducedQPSFunc is the tainting rate of a partially disrupted zone:
// SecondaryEvictionRate above LargeClusterSizeThreshold nodes, else 0.
func (nc *Controller) ReducedQPSFunc(zoneSize int) float64 {
	if int32(zoneSize) > nc.cfg.LargeClusterSizeThreshold {
		return nc.cfg.SecondaryEvictionRate
	}
	return 0
}

// addPodEvictorForNewZone creates the state and tainting queue of a zone
// seen for the first time.
func (nc *Controller) addPodEvictorForNewZone(node *v1.Node) {
	zone := nodeutil.ZoneKey(node)
	if _, found := nc.zoneStates[zone]; !found {
		nc.zoneStates[zone] = StateInitial
		nc.zoneNoExecuteTainter[zone] = NewRateLimitedTimedQueue(
			NewTokenBucket(nc.cfg.EvictionRate, EvictionRateLimiterBurst, nc.eng.Elapsed()))
	}
}

// processTaintBaseEviction queues a not-ready or unreachable node for its
// NoExecute taint (swapping the two at once when the node already has the
// other one), or clears them from a Ready node. observed is the Ready
// condition as the pass read it, before any change the pass made.
func (nc *Controller) processTaintBaseEviction(node *v1.Node, observed *v1.NodeCondition) {
	switch observed.Status {
	case v1.ConditionFalse:
		if nodeutil.TaintExists(node.Spec.Taints, UnreachableTaintTemplate) {
			if err := nc.swapTaints(node, []*v1.Taint{NotReadyTaintTemplate}, []*v1.Taint{UnreachableTaintTemplate}, "Ready=False"); err != nil {
				nc.trace("error", "Node", "", node.Name, err.Error())
			}
		} else {
			nc.markNodeForTainting(node, v1.ConditionFalse)
		}
	case v1.ConditionUnknown:
		if nodeutil.TaintExists(node.Spec.Taints, NotReadyTaintTemplate) {
			if err := nc.swapTaints(node, []*v1.Taint{UnreachableTaintTemplate}, []*v1.Taint{NotReadyTaintTemplate}, "Ready=Unknown"); err != nil {
				nc.trace("error", "Node", "", node.Name, err.Error())
			}
		} else {
			nc.markNodeForTainting(node, v1.ConditionUnknown)
		}
	case v1.ConditionTrue:
		if _, err := nc.markNodeAsReachable(node); err != nil {
			nc.trace("error", "Node", "", node.Name, err.Error())
		}
	}
}

// markNodeForTainting (re)queues a node in its zone's tainting queue; a
// node whose matching taint is not there yet is taken out first, so it is
// queued afresh.
func (nc *Controller) markNodeForTainting(node *v1.Node, status v1.ConditionStatus) bool {
	zone := nodeutil.ZoneKey(node)
	q := nc.zoneNoExecuteTainter[zone]
	wasQueued := q.Has(node.Name)
	if status == v1.ConditionFalse && !nodeutil.TaintExists(node.Spec.Taints, NotReadyTaintTemplate) {
		q.Remove(node.Name)
	}
	if status == v1.ConditionUnknown && !nodeutil.TaintExists(node.Spec.Taints, UnreachableTaintTemplate) {
		q.Remove(node.Name)
	}
	added := q.Add(node.Name, string(node.UID), nc.eng.Elapsed())
	if added && !wasQueued && nc.eng.Tracing() {
		nc.trace("taintQueued", "Node", "", node.Name, fmt.Sprintf("Ready=%s: waiting for a NoExecute token in zone %s (%s, %g nodes/s)",
			status, nodeutil.ZoneName(zone), nc.zoneStates[zone], q.QPS()))
	}
	return added
}

// markNodeAsReachable removes the not-ready and unreachable NoExecute taints
// and takes the node out of its zone's tainting queue.
func (nc *Controller) markNodeAsReachable(node *v1.Node) (bool, error) {
	removed, err := nodeutil.RemoveTaintOffNode(context.TODO(), nc.client, node.Name, node, UnreachableTaintTemplate, NotReadyTaintTemplate)
	if err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("failed to remove NoExecute taints from node %s: %w", node.Name, err)
	}
	nc.traceTaints(node.Name, nil, removed, "node reachable")
	q := nc.zoneNoExecuteTainter[nodeutil.ZoneKey(node)]
	if q == nil {
		return false, nil
	}
	return q.Remove(node.Name), nil
}

// handleDisruption recomputes the zone states and sets each zone's tainting
// rate (upstream handleDisruption). When every zone is fully disrupted the
// controller assumes the control plane, not the nodes, is cut off: it stops
// all tainting and removes the NoExecute taints it placed.
func (nc *Controller) handleDisruption(zoneToNodeConditions map[string][]*v1.NodeCondition, nodes []*v1.Node) {
	now := nc.eng.Elapsed()
	newZoneStates := map[string]ZoneState{}
	unhealthyIn := map[string]int{}
	allAreFullyDisrupted := true
	for _, k := range sortedKeys(zoneToNodeConditions) {
		unhealthy, newState := nc.ComputeZoneState(zoneToNodeConditions[k])
		unhealthyIn[k] = unhealthy
		if newState != StateFullDisruption {
			allAreFullyDisrupted = false
		}
		newZoneStates[k] = newState
		if _, had := nc.zoneStates[k]; !had {
			nc.zoneStates[k] = StateInitial
			if nc.zoneNoExecuteTainter[k] == nil {
				nc.zoneNoExecuteTainter[k] = NewRateLimitedTimedQueue(NewTokenBucket(nc.cfg.EvictionRate, EvictionRateLimiterBurst, now))
			}
		}
	}
	allWasFullyDisrupted := true
	for _, k := range sortedKeys(nc.zoneStates) {
		if _, have := zoneToNodeConditions[k]; !have {
			delete(nc.zoneStates, k)
			continue
		}
		if nc.zoneStates[k] != StateFullDisruption {
			allWasFullyDisrupted = false
			break
		}
	}
	if allAreFullyDisrupted && allWasFullyDisrupted {
		return
	}
	switch {
	case allAreFullyDisrupted:
		// Entering "master disruption mode".
		for _, n := range nodes {
			if _, err := nc.markNodeAsReachable(n); err != nil {
				nc.trace("error", "Node", "", n.Name, err.Error())
			}
		}
		for _, k := range sortedKeys(nc.zoneStates) {
			before := nc.zoneNoExecuteTainter[k].QPS()
			nc.zoneNoExecuteTainter[k].SwapLimiter(0, now)
			nc.setZoneState(k, StateFullDisruption, unhealthyIn[k], len(zoneToNodeConditions[k]), before,
				"every zone is fully disrupted: NoExecute tainting stopped, NoExecute taints removed")
		}
	case allWasFullyDisrupted:
		// Leaving it: every node gets a fresh grace period.
		nowT := nc.now()
		for _, n := range nodes {
			if h := nc.nodeHealth[n.Name]; h != nil {
				h.probeTimestamp = nowT
				h.readyTransitionTimestamp = nowT
			}
		}
		for _, k := range sortedKeys(nc.zoneStates) {
			before := nc.zoneNoExecuteTainter[k].QPS()
			nc.setLimiterInZone(k, len(zoneToNodeConditions[k]), newZoneStates[k])
			nc.setZoneState(k, newZoneStates[k], unhealthyIn[k], len(zoneToNodeConditions[k]), before, "leaving full disruption of every zone")
		}
	default:
		for _, k := range sortedKeys(nc.zoneStates) {
			if nc.zoneStates[k] == newZoneStates[k] {
				continue
			}
			before := nc.zoneNoExecuteTainter[k].QPS()
			nc.setLimiterInZone(k, len(zoneToNodeConditions[k]), newZoneStates[k])
			nc.setZoneState(k, newZoneStates[k], unhealthyIn[k], len(zoneToNodeConditions[k]), before, "")
		}
	}
}

// setZoneState records a zone's new state and traces the change: of its
// state, or else of its tainting rate (from oldQPS), which entering or
// leaving the full disruption of every zone changes in zones whose own
// state stays (a zone still fully disrupted gets the normal rate back).
func (nc *Controller) setZoneState(zone string, state ZoneState, unhealthy, size int, oldQPS float64, why string) {
	old := nc.zoneStates[zone]
	nc.zoneStates[zone] = state
	qps := nc.zoneNoExecuteTainter[zone].QPS()
	if (old == state && oldQPS == qps) || !nc.eng.Tracing() {
		return
	}
	verb := "zoneStateChanged"
	msg := fmt.Sprintf("%s → %s: %d of %d node(s) not ready; NoExecute tainting at %g nodes/s", old, state, unhealthy, size, qps)
	if old == state {
		verb = "zoneRateChanged"
		msg = fmt.Sprintf("%s: %d of %d node(s) not ready; NoExecute tainting at %g → %g nodes/s", state, unhealthy, size, oldQPS, qps)
	}
	if why != "" {
		msg += " (" + why + ")"
	}
	nc.trace(verb, "", "", nodeutil.ZoneName(zone), msg)
}

// setLimiterInZone sets the zone's tainting rate for state.
func (nc *Controller) setLimiterInZone(zone string, zoneSize int, state ZoneState) {
	q := nc.zoneNoExecuteTainter[zone]
	now := nc.eng.Elapsed()
	switch state {
	case StateNormal:
		q.SwapLimiter(nc.cfg.EvictionRate, now)
	case StatePartialDisruption:
		q.SwapLimiter(nc.ReducedQPSFunc(zoneSize), now)
	case StateFullDisruption:
		q.SwapLimiter(nc.HealthyQPSFunc(zoneSize), now)
	}
}

// kickTaintingPass runs the tainting pass in a new event at the current
// instant, after the monitor pass's own writes have reached the informer
// caches (as upstream's 100 ms poll would find them).
func (nc *Controller) kickTaintingPass() {
	for _, q := range nc.zoneNoExecuteTainter {
		if q.Len() > 0 {
			nc.taintWake.Stop()
			nc.taintWake = nc.eng.After(0, Component+" doNoExecuteTaintingPass", nc.doNoExecuteTaintingPass)
			return
		}
	}
}

// doNoExecuteTaintingPass drains every zone's tainting queue as far as its
// limiter allows, then arranges to run again when a limiter next has a
// token. Upstream polls every 100 ms (NodeEvictionPeriod); kubesim runs the
// pass right after each monitor pass and exactly when a token or a retry is
// due.
func (nc *Controller) doNoExecuteTaintingPass() {
	now := nc.eng.Elapsed()
	for _, zone := range sortedKeys(nc.zoneNoExecuteTainter) {
		nc.zoneNoExecuteTainter[zone].Try(now, func(value TimedValue) (bool, time.Duration) {
			return nc.taintNoExecute(value.Value)
		})
	}
	nc.scheduleTaintingPass()
}

// taintNoExecute applies the NoExecute taint matching a queued node's Ready
// condition, removing the other one.
func (nc *Controller) taintNoExecute(nodeName string) (bool, time.Duration) {
	node, err := nc.nodeLister.Get(nodeName)
	if apierrors.IsNotFound(err) {
		return true, 0
	} else if err != nil {
		return false, noExecuteRetryWait
	}
	_, cond := nodeutil.GetNodeCondition(&node.Status, v1.NodeReady)
	if cond == nil {
		return false, noExecuteRetryWait
	}
	var add, opposite *v1.Taint
	switch cond.Status {
	case v1.ConditionFalse:
		add, opposite = NotReadyTaintTemplate, UnreachableTaintTemplate
	case v1.ConditionUnknown:
		add, opposite = UnreachableTaintTemplate, NotReadyTaintTemplate
	default:
		return true, 0 // Ready again: nothing to do
	}
	zone := nodeutil.ZoneKey(node)
	why := fmt.Sprintf("Ready=%s; zone %s %s", cond.Status, nodeutil.ZoneName(zone), nc.zoneStates[zone])
	if err := nc.swapTaints(node, []*v1.Taint{add}, []*v1.Taint{opposite}, why); err != nil {
		nc.trace("error", "Node", "", nodeName, err.Error())
		return false, 0
	}
	return true, 0
}

// scheduleTaintingPass sets the wake-up timer to the earliest time a zone's
// queue can make progress.
func (nc *Controller) scheduleTaintingPass() {
	now := nc.eng.Elapsed()
	next, ok := time.Duration(0), false
	for _, zone := range sortedKeys(nc.zoneNoExecuteTainter) {
		if t, has := nc.zoneNoExecuteTainter[zone].NextTry(now); has && (!ok || t < next) {
			next, ok = t, true
		}
	}
	if !ok {
		return
	}
	if next <= now {
		next = now + 1
	}
	if nc.onMonitorTick(next) {
		// The monitor pass at that instant runs the tainting pass itself,
		// after it has refreshed the queues.
		return
	}
	if when, pending := nc.taintWake.When(); pending {
		if when <= next {
			return
		}
		nc.taintWake.Stop()
	}
	nc.taintWake = nc.eng.At(next, Component+" doNoExecuteTaintingPass", nc.doNoExecuteTaintingPass)
}

// onMonitorTick reports whether a monitor pass falls at engine time t.
//
// A tainting pass must not run just before a monitor pass in the same
// instant (every monitor pass kicks its own tainting pass, which schedules
// the next wake-up after the next tick's event, so this is a guard): the monitor pass would read the node from a cache that does not
// have the new taint yet, queue the node again and re-taint it a token
// later. (Upstream has the same race, but its 100 ms poll and the passes'
// own duration make it rare.)
func (nc *Controller) onMonitorTick(t time.Duration) bool {
	return t >= nc.gridOrigin && (t-nc.gridOrigin)%nc.cfg.MonitorPeriod == 0
}

// ZoneStatus is one zone as the controller sees it.
type ZoneStatus struct {
	// Zone is the zone for people ("region/zone", or `""` for unlabelled
	// nodes); Key is the internal zone key.
	Zone, Key string
	State     ZoneState
	// TaintingQPS is the zone's current NoExecute tainting rate.
	TaintingQPS float64
	// Queued are the nodes waiting for their NoExecute taint, in order.
	Queued []string
}

// Zones returns every zone's state, ordered by key.
func (nc *Controller) Zones() []ZoneStatus {
	out := make([]ZoneStatus, 0, len(nc.zoneStates))
	for _, k := range sortedKeys(nc.zoneStates) {
		q := nc.zoneNoExecuteTainter[k]
		out = append(out, ZoneStatus{Zone: nodeutil.ZoneName(k), Key: k, State: nc.zoneStates[k], TaintingQPS: q.QPS(), Queued: q.Values()})
	}
	return out
}

// LastProbe returns when the controller last saw a heartbeat of the node
// (Ready condition or Lease), on its own clock.
func (nc *Controller) LastProbe(node string) (time.Time, bool) {
	h := nc.nodeHealth[node]
	if h == nil {
		return time.Time{}, false
	}
	return h.probeTimestamp.Time, true
}
