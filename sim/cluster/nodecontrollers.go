package cluster

// This file is owned by the node-lifecycle work: node lifecycle controller,
// taint eviction, pod GC and the disruption (PDB status) controller.

// NodeControllersConfig configures the node controllers.
type NodeControllersConfig struct{}

type nodeControllersState struct{}

// installNodeControllers creates the node controllers.
func (c *Cluster) installNodeControllers() {}
