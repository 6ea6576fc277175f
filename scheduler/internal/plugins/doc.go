// Package plugins implements the default kube-scheduler profile's filter and
// score plugins (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity,
// NodePorts, NodeResourcesFit, PodTopologySpread, InterPodAffinity,
// NodeResourcesBalancedAllocation, ImageLocality) and the Framework that
// runs them for one scheduling cycle, following upstream
// pkg/scheduler/framework/plugins/* and framework/runtime/framework.go.
//
// The plugin set is fixed (kubesim has exactly one profile, the default
// one); per-cycle plugin state lives in typed fields of CycleState instead of
// upstream's string-keyed map, which keeps the per-node hot path free of
// allocations and interface conversions. Volume plugins, DynamicResources and
// scheduler extenders are not modelled.
//
// Each plugin also provides a queueing hint (Hint): given a cluster event, may
// it make a pod that this plugin rejected schedulable? The scheduling queue
// uses the hints of the plugins that rejected a pod to decide which events
// requeue it (upstream "QueueingHints").
package plugins
