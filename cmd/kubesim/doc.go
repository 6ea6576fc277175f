// Command kubesim runs simulated Kubernetes clusters: deterministic,
// event-driven, an hour of cluster time in well under a second.
//
// Exit codes: 0 success (every expectation passed), 1 a run that failed
// (an expectation failed, an action errored), 2 bad input or usage (the
// scenario is not run at all), 3 an internal error (a panic: a bug in
// kubesim); explain exits 1 when the pod never existed.
package main
