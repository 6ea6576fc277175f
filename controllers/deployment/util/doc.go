// Package util mirrors upstream's pkg/controller/deployment/util: the
// arithmetic and bookkeeping of Deployments that the controller's sync and
// the rollout planner build on — maxSurge/maxUnavailable resolution
// (ResolveFenceposts), new-ReplicaSet sizing (NewRSNewReplicas), saturation,
// finding the new and old ReplicaSets (EqualIgnoreHash), revisions and the
// annotations the controller keeps on ReplicaSets, proportional-scaling
// fractions (GetProportion), the Deployment conditions and the
// complete/progressing/timed-out predicates.
//
// Every function that upstream writes with metav1.Now() or time.Now() takes
// now as a parameter here (the engine's clock).
package util
