package cluster

import (
	"time"

	"github.com/kubesim/kubesim/controllers/disruption"
	"github.com/kubesim/kubesim/controllers/nodelifecycle"
	"github.com/kubesim/kubesim/controllers/podgc"
	"github.com/kubesim/kubesim/controllers/tainteviction"
)

// This file is owned by the node-lifecycle work: node lifecycle controller,
// taint eviction, pod GC and the disruption (PDB status) controller.

// NodeControllersConfig configures the node controllers with
// kube-controller-manager's flags. A zero field means the upstream default.
type NodeControllersConfig struct {
	// Disabled runs the cluster without these four controllers (for tests
	// of other components whose nodes have no heartbeats).
	Disabled bool

	// NodeMonitorPeriod is --node-monitor-period (5 s).
	NodeMonitorPeriod time.Duration
	// NodeMonitorGracePeriod is --node-monitor-grace-period (50 s).
	NodeMonitorGracePeriod time.Duration
	// NodeStartupGracePeriod is --node-startup-grace-period (60 s).
	NodeStartupGracePeriod time.Duration
	// NodeEvictionRate is --node-eviction-rate (0.1 nodes/s); negative
	// means 0.
	NodeEvictionRate float64
	// SecondaryNodeEvictionRate is --secondary-node-eviction-rate (0.01
	// nodes/s); negative means 0.
	SecondaryNodeEvictionRate float64
	// LargeClusterSizeThreshold is --large-cluster-size-threshold (50).
	LargeClusterSizeThreshold int32
	// UnhealthyZoneThreshold is --unhealthy-zone-threshold (0.55).
	UnhealthyZoneThreshold float64

	// TerminatedPodGCThreshold is --terminated-pod-gc-threshold (12500);
	// negative turns the terminated-pod collection off.
	TerminatedPodGCThreshold int
	// PodGCPeriod is the pod GC's period (20 s; an upstream constant, not a
	// flag).
	PodGCPeriod time.Duration
	// PodGCQuarantine is how long pod GC waits for a missing node (40 s; an
	// upstream constant, not a flag).
	PodGCQuarantine time.Duration
}

// nodeControllersState holds the node controllers (nil when disabled).
type nodeControllersState struct {
	// NodeLifecycle is the node lifecycle controller.
	NodeLifecycle *nodelifecycle.Controller
	// TaintEviction is the taint eviction controller.
	TaintEviction *tainteviction.Controller
	// PodGC is the pod garbage collector.
	PodGC *podgc.Controller
	// Disruption is the disruption (PodDisruptionBudget status) controller.
	Disruption *disruption.Controller
}

// installNodeControllers creates the node controllers on the shared
// informers; they start working once c.Start() has synced the informers.
func (c *Cluster) installNodeControllers() {
	cfg := c.cfg.NodeControllers
	if cfg.Disabled {
		return
	}
	c.NodeLifecycle = nodelifecycle.New(c.Engine, c.Informers, c.Client(nodelifecycle.EventSource),
		c.Recorder(nodelifecycle.EventSource, ""), nodelifecycle.Config{
			MonitorPeriod:             cfg.NodeMonitorPeriod,
			MonitorGracePeriod:        cfg.NodeMonitorGracePeriod,
			StartupGracePeriod:        cfg.NodeStartupGracePeriod,
			EvictionRate:              cfg.NodeEvictionRate,
			SecondaryEvictionRate:     cfg.SecondaryNodeEvictionRate,
			LargeClusterSizeThreshold: cfg.LargeClusterSizeThreshold,
			UnhealthyZoneThreshold:    cfg.UnhealthyZoneThreshold,
		})
	c.TaintEviction = tainteviction.New(c.Engine, c.Informers, c.Client(tainteviction.Component),
		c.Recorder(tainteviction.Component, ""))
	c.PodGC = podgc.New(c.Engine, c.Informers, c.Client(podgc.Component), podgc.Config{
		TerminatedPodThreshold: cfg.TerminatedPodGCThreshold,
		CheckPeriod:            cfg.PodGCPeriod,
		Quarantine:             cfg.PodGCQuarantine,
	})
	c.Disruption = disruption.New(c.Engine, c.Informers, c.Client(disruption.Component),
		c.Recorder(disruption.EventSource, ""))
}
