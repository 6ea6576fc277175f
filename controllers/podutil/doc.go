// Package podutil holds the small pod-status predicates every controller
// shares, mirroring upstream's pkg/api/v1/pod/util.go: whether a pod is Ready,
// whether it has been Ready long enough to count as available, and condition
// lookup. Time is always a parameter (the engine's clock); nothing here reads
// the wall clock.
package podutil
