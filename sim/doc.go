// Package sim is kubesim's discrete-event engine: the virtual clock, the
// queue of pending events, the run's seeded random streams and the structured
// trace. Everything else in kubesim (the MVCC store, the API server, the
// scheduler, kubelets, controllers, kube-proxy and traffic) is a state machine
// that the engine steps by running event callbacks.
//
// The engine is single-threaded and never reads the wall clock. Events run in
// (time, insertion sequence) order, so the same scenario and seed always
// produce the same history. The usage loop of a runner or UI is:
//
//	eng := sim.New(seed)
//	eng.AddTraceSink(func(r sim.Record) { /* write r.AppendJSON(nil) */ })
//	// build components on eng; they schedule events with After/At/Every
//	for eng.Elapsed() < duration {
//		if _, ok := eng.Step(); !ok { break } // or RunUntil / RunFor / RunUntilIdle
//	}
//
// Subpackages: mvcc (etcd v3 semantics), apiserver (typed Kubernetes objects on
// the store), client (a typed clientset), informer (list+watch caches and an
// engine-driven work queue), cluster (wiring and fault injection).
package sim
