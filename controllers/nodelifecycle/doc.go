// Package nodelifecycle is kube-controller-manager's node lifecycle
// controller (upstream pkg/controller/nodelifecycle) on kubesim's engine.
//
// What it owns:
//   - node health: every MonitorPeriod (5 s) it compares each node's last
//     observed heartbeat — the Ready condition's lastHeartbeatTime or the
//     kube-node-lease Lease's renewTime advancing, timed on the controller's
//     own clock — with MonitorGracePeriod (50 s; StartupGracePeriod 60 s for a
//     node that never posted Ready). Past it, Ready, MemoryPressure,
//     DiskPressure and PIDPressure become Unknown ("NodeStatusUnknown",
//     "Kubelet stopped posting node status."), a NodeNotReady event is
//     recorded and the node's pods get Ready=False (phase unchanged);
//   - the condition-driven NoSchedule taints (not-ready, unreachable,
//     memory-, disk-, pid-pressure, network-unavailable, unschedulable), kept
//     equal to the node's conditions on every node change, so a new node's
//     not-ready:NoSchedule taint goes when it turns Ready;
//   - the not-ready / unreachable NoExecute taints, applied through one
//     RateLimitedTimedQueue per zone (topology.kubernetes.io/zone, nodes
//     without it forming the "" zone) whose token bucket runs at
//     EvictionRate (0.1/s) in a Normal or FullDisruption zone, at
//     SecondaryEvictionRate (0.01/s) in a PartialDisruption zone of more than
//     LargeClusterSizeThreshold (50) nodes and not at all in a smaller one;
//     when every zone is fully disrupted all tainting stops and the NoExecute
//     taints are removed. The two taints are swapped in one write when Ready
//     moves between False and Unknown, and removed when it is True again.
//
// Timing in kubesim (zero-time passes on a fixed MonitorPeriod grid from
// engine time 0; watch delay 0):
//   - a heartbeat (Lease renewal or Ready heartbeat) delivered at time L is
//     first seen by the pass at the first grid point strictly after L (a
//     pass at the very instant of the renewal runs before the watch event
//     reaches the cache); call it P;
//   - Ready becomes Unknown at the pass at P + MonitorGracePeriod, i.e. at
//     the first 5 s tick strictly after L + 50 s (upstream compares with
//     "after", but its passes run late by their own duration, so the pass
//     that lands on the deadline always fires; kubesim's take no time and
//     use "at or after");
//   - in that same instant: the node's pods get Ready=False, the NodeNotReady
//     events are recorded, and the unreachable:NoSchedule taint is added;
//   - the node is queued for its NoExecute taint by the next pass, 5 s later
//     (upstream decides on the Ready condition as read at the start of a
//     pass, which was still True), and tainted in that instant when its
//     zone's bucket has a token; a node that never posted Ready is queued by
//     the pass that marks it Unknown;
//   - queued nodes are tainted exactly when the bucket next has a token
//     (upstream polls every 100 ms, so up to 100 ms later).
//
// Usage (sim/cluster does this):
//
//	nc := nodelifecycle.New(eng, factory, client, recorder, nodelifecycle.Config{})
//	factory.Start() // the monitor skips ticks until the informers have synced
package nodelifecycle
