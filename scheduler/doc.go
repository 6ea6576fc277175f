// Package scheduler is kubesim's kube-scheduler: upstream's default profile
// (PrioritySort, the default filter and score plugins with their weights,
// DefaultPreemption, DefaultBinder) as a deterministic state machine.
//
// It owns the scheduling queue (activeQ, backoffQ, unschedulable pool),
// the scheduler cache (NodeInfos with assumed pods), the scheduling cycle,
// preemption, and the explain records of every attempt. It does not own the
// API server or informers: the wiring feeds it informer events through the
// On* methods and implements API with the typed client.
//
// Usage loop:
//
//	s := scheduler.New(eng, api, scheduler.DefaultConfig())
//	// informer handlers:
//	//   nodes:  s.OnNodeAdd / OnNodeUpdate / OnNodeDelete
//	//   pods:   s.OnPodAdd / OnPodUpdate / OnPodDelete   (all pods, assigned or not)
//	//   others: s.OnService*, s.OnReplicaSet*, s.OnPDB*, s.OnPriorityClass*, s.OnNamespace*
//	eng.RunFor(time.Minute) // cycles, binds and backoffs run as engine events
//	a, _ := s.Explain("default", "web-0") // why did web-0 land where it did?
//
// Each pod that enters activeQ makes sure a "scheduler/cycle" engine event
// is pending; each such event pops one pod and runs one scheduling cycle
// synchronously (PreFilter, Filter from the rotating nextStartNodeIndex
// until percentageOfNodesToScore feasible nodes are found, Score,
// selectHost with the engine's "scheduler" random stream, assume). Binding
// is asynchronous as upstream: the cycle assumes the pod in the cache (so
// the next cycle sees its resources) and schedules a "scheduler/bind" event
// BindDelay later, which calls API.Bind and then forgets the pod (bind
// error) or finishes the binding. The scheduler never reads the wall clock,
// never starts goroutines, and never lets map order reach a decision.
//
// Node order: the cycle walks (and preemption dry-runs) the nodes in
// upstream's nodeTree order (pkg/scheduler/backend/cache/node_tree.go):
// nodes grouped by zone (region and zone labels, failure-domain.beta ones
// first), each zone's nodes in the order the node informer added them (its
// initial list in name order, then events), zones in the order first seen,
// listed round robin — the first node of every zone, then the second, … —
// so the nodes one cycle examines come from every zone. A node whose zone
// changes moves to the end of its new zone; as upstream's UpdateSnapshot
// the list itself is rebuilt only when a node is added or removed.
//
// Explain: every attempt is recorded (Explain / History): the examined nodes
// with the plugin and reasons of every rejection, every scored node's raw,
// normalised and weighted score per plugin, the chosen node or the FitError
// text, preemption candidates and victims, and where the pod was requeued.
// Memory is bounded: ExplainAttemptsPerPod attempts per pod (5), per-node
// details only for the ExplainDetailedAttempts most recent attempts
// cluster-wide (256; older ones keep their top 3 nodes), and a deleted pod's
// records are dropped ExplainRetainDeleted (5 min) after its deletion.
//
// Simplifications against upstream (v1.33–v1.35 semantics):
//   - One profile, the default one; no plugin configuration beyond Config,
//     no extenders, no volume plugins, no DynamicResources, no
//     SchedulingGates-style PreEnqueue plugins other than the gates themselves.
//   - Filtering is sequential, so exactly numFeasibleNodesToFind feasible
//     nodes are collected (upstream's 16 workers may examine a few more).
//     When a PreFilter narrows the nodes, the remaining ones keep the node
//     order above (upstream builds that subset in map order).
//   - Backoff expiry is exactly last-failure + backoff, with an engine timer
//     at that instant (upstream flushes backoffQ every second and aligns to a
//     1 s window); pods are never popped from backoffQ early (the v1.33
//     SchedulerPopFromBackoffQ behaviour is off).
//   - selectHost draws one number from the seeded "scheduler" stream to pick
//     uniformly among the best-scored nodes (upstream: reservoir sampling
//     with the global math/rand).
//   - Preemption dry-runs candidates in the node order above from an offset
//     drawn from the seeded "scheduler/preemption" stream, sequentially,
//     stopping as soon as upstream's condition holds; ties after all
//     criteria go to the first candidate in that order (upstream: map
//     order). Victims without status.startTime count as starting now
//     (engine clock).
//   - Preemption's API calls (DisruptionTarget, delete, Preempted event,
//     clearing lower-priority nominations) run synchronously in the cycle,
//     as upstream with SchedulerAsyncPreemption off; upstream's default
//     since v1.33 runs them in a goroutine and holds the preemptor at
//     PreEnqueue meanwhile, clears the nominations before deleting, and,
//     when every victim is already terminating, returns without clearing
//     them.
//   - Queueing hints are per-plugin approximations of upstream's (node
//     add/update with allocatable, label or taint changes, assigned pod
//     add/update/delete, and the pod's own label, toleration and scale-down
//     updates). Default spread selectors come from Services and the
//     controlling ReplicaSet only (not ReplicationControllers or StatefulSets).
//   - The TaintToleration reason keeps the "{key: value}" form
//     ("node(s) had untolerated taint {k: v}"); the newest upstream releases
//     print "node(s) had untolerated taint(s)".
package scheduler
