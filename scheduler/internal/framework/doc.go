// Package framework holds the data model shared by kubesim's scheduler
// internals: parsed pods (PodInfo), per-node aggregates (NodeInfo), resource
// vectors, filter/score statuses and the cluster events that move pods
// between the scheduling queues.
//
// It mirrors the types of upstream kube-scheduler's
// pkg/scheduler/framework (types.go, interface.go, events.go) closely enough
// that the plugins in ../plugins can follow upstream code line by line, but
// it is single-threaded: nothing here is safe for concurrent use, and the
// scheduler never needs it to be.
package framework
