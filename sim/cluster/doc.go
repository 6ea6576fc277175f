// Package cluster assembles a simulated cluster: the engine, the MVCC store,
// the API server, the shared informer factory, the
// scheduler, kubelets, controllers and network model. It is the one place
// that knows how the components are wired; runners, tests and the UI build a
// Cluster and drive its engine.
package cluster
