// Package controllerutil is kubesim's counterpart of upstream's
// pkg/controller/controller_utils.go and controller_ref_manager.go: the
// helpers the ReplicaSet, Deployment and HPA controllers share.
//
// It owns:
//   - expectations (ControllerExpectations, UIDTrackingControllerExpectations)
//     with the 5-minute ExpectationsTimeout measured on an injected clock;
//   - the victim ranking used on scale-down (ActivePodsWithRanks), with
//     pod-deletion-cost and LogarithmicScaleDown as enabled by default
//     upstream, and the active-pod filters;
//   - SlowStartBatch, the 1, 2, 4, 8… batching of pod creations;
//   - GetPodFromTemplate, owner references and the claim (adopt / release)
//     decision of the controller ref manager;
//   - ComputeHash, the pod-template-hash, bit-for-bit as upstream;
//   - ReplicaSet orderings (by creation time, by size).
//
// Everything is a pure function or a small state machine; time comes from
// the caller (the engine's clock), never from the wall clock, and nothing
// here starts goroutines. Names follow upstream so the two can be read side
// by side.
package controllerutil
