package cluster

// This file is owned by the workload-controllers work: ReplicaSet,
// Deployment, HorizontalPodAutoscaler, garbage collector and the metrics
// pipeline.

// WorkloadsConfig configures the workload controllers.
type WorkloadsConfig struct{}

type workloadsState struct{}

// installWorkloads creates the workload controllers.
func (c *Cluster) installWorkloads() {}
