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
// Simplifications against upstream are listed in the README material of the
// task report and at the types they affect.
package scheduler
