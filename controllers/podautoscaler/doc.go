// Package podautoscaler is the decision logic of upstream's
// HorizontalPodAutoscaler controller (pkg/controller/podautoscaler:
// replica_calculator.go, horizontal.go, metrics/utilization.go) for
// autoscaling/v2 resource metrics (cpu and memory, Utilization and
// AverageValue targets).
//
// A ReplicaCalculator turns pod metrics into a replica proposal (pod
// grouping with the CPU initialization period and initial readiness delay,
// integer-percent utilization, missing/unready pod rebalancing, the
// tolerance band: the cluster-wide 0.1, or per direction
// behavior.scaleUp/scaleDown.tolerance as with upstream's
// HPAConfigurableTolerance, on by default since v1.35).
// An Autoscaler keeps the per-HPA recommendation and scale-event history and
// runs one reconcile: proposals over all metrics (max; scale-up only on
// partial failure), normalization with or without spec.behavior
// (stabilization windows, Pods/Percent policies, selectPolicy, the legacy
// max(2×, 4) limit), min/max clamping, the AbleToScale / ScalingActive /
// ScalingLimited conditions, the /scale write through a callback, and the
// new status. Time is always a parameter; the controller runs Reconcile for
// each HPA every 15 s (DefaultSyncPeriod).
//
// Controller is the running HPA controller (upstream's HorizontalController)
// around an Autoscaler: every HPA key goes through a queue whose rate
// limiter always waits the sync period, so each HPA is reconciled SyncPeriod
// after it is created and every SyncPeriod after that (status writes do not
// move that grid: an earlier pending request wins). A sync reads the
// target's /scale (apps/v1 Deployments and ReplicaSets), checks the
// selector (SelectorRequired, InvalidSelector, AmbiguousSelector), lists
// the pods from the informer, reads metrics through a MetricsClient, runs
// Reconcile, writes /scale and, when it changed, the status; events are
// upstream's (SuccessfulRescale "New size: 4; reason: cpu resource
// utilization (percentage of request) above target", FailedGetScale,
// FailedGetResourceMetric, FailedGetContainerResourceMetric,
// FailedComputeMetricsReplicas, FailedRescale).
// Trace records (component "horizontal-pod-autoscaler"): scaled and
// reconcileFailed on the HPA.
//
//	hc := podautoscaler.NewController(eng, factory, c.Client(podautoscaler.ComponentName),
//		c.Recorder(podautoscaler.ComponentName, ""), metricsClient, podautoscaler.DefaultConfig())
//
// An HPA keeps the engine busy: its next reconcile is always scheduled.
package podautoscaler
