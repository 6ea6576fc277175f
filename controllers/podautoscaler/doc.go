// Package podautoscaler is the decision logic of upstream's
// HorizontalPodAutoscaler controller (pkg/controller/podautoscaler:
// replica_calculator.go, horizontal.go, metrics/utilization.go) for
// autoscaling/v2 resource metrics (cpu and memory, Utilization and
// AverageValue targets).
//
// A ReplicaCalculator turns pod metrics into a replica proposal (pod
// grouping with the CPU initialization period and initial readiness delay,
// integer-percent utilization, missing/unready pod rebalancing, tolerance).
// An Autoscaler keeps the per-HPA recommendation and scale-event history and
// runs one reconcile: proposals over all metrics (max; scale-up only on
// partial failure), normalization with or without spec.behavior
// (stabilization windows, Pods/Percent policies, selectPolicy, the legacy
// max(2×, 4) limit), min/max clamping, the AbleToScale / ScalingActive /
// ScalingLimited conditions, the /scale write through a callback, and the
// new status. Time is always a parameter; the controller runs Reconcile for
// each HPA every 15 s (DefaultSyncPeriod).
//
// Usage in the phase-2 controller, per sync of key:
//
//	res, err := as.Reconcile(key, hpa, deployScale, metricsClient, pods, updateScale, eng.Now())
//	// write res.HPA.Status if it differs from hpa.Status; emit res.Events
package podautoscaler
