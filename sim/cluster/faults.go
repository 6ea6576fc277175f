package cluster

import (
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/kubesim/kubesim/sim"
)

// NodeSpec describes a node to add to the cluster.
type NodeSpec struct {
	Name string
	// Capacity must hold cpu and memory; pods defaults to 110.
	Capacity v1.ResourceList
	// Allocatable defaults to Capacity (entries not given default to capacity).
	Allocatable v1.ResourceList
	Labels      map[string]string
	Taints      []v1.Taint
}

// FaultAction names a fault or operator action on nodes and pods.
type FaultAction string

// Fault actions. Their effects follow a real cluster's:
const (
	// FaultAddNode registers a node (NodeSpec) whose kubelet starts at once.
	FaultAddNode FaultAction = "addNode"
	// FaultDeleteNode deletes the Node object (its kubelet stops).
	FaultDeleteNode FaultAction = "deleteNode"
	// FaultCrashNode stops the node's kubelet, containers and heartbeats.
	FaultCrashNode FaultAction = "crashNode"
	// FaultPartitionNode cuts the node off from the control plane; its
	// containers keep running.
	FaultPartitionNode FaultAction = "partitionNode"
	// FaultRecoverNode undoes a crash or a partition.
	FaultRecoverNode FaultAction = "recoverNode"
	// FaultCordon and FaultUncordon set and clear spec.unschedulable.
	FaultCordon   FaultAction = "cordon"
	FaultUncordon FaultAction = "uncordon"
	// FaultDrain cordons the node and evicts its pods through the eviction
	// API, honouring PodDisruptionBudgets (retrying refused evictions).
	FaultDrain FaultAction = "drain"
	// FaultFailZone crashes every node of a zone; FaultRecoverZone recovers them.
	FaultFailZone    FaultAction = "failZone"
	FaultRecoverZone FaultAction = "recoverZone"
	// FaultKillContainer kills one container of a pod; the kubelet restarts
	// it per restartPolicy.
	FaultKillContainer FaultAction = "killContainer"
	// FaultLabelNode, FaultTaintNode and FaultUntaintNode change node labels
	// and taints.
	FaultLabelNode   FaultAction = "labelNode"
	FaultTaintNode   FaultAction = "taintNode"
	FaultUntaintNode FaultAction = "untaintNode"
)

// Fault is one fault or node operation: a plain value with a time, applied
// through the engine so that a run is a replayable log.
type Fault struct {
	// At is the simulated time at which the fault applies.
	At     time.Duration
	Action FaultAction
	// Node names the node of node actions.
	Node string
	// Zone is the topology.kubernetes.io/zone of failZone / recoverZone.
	Zone string
	// Spec describes the node of addNode.
	Spec *NodeSpec
	// Namespace, Pod and Container identify the container of killContainer
	// (Container "" = the first container).
	Namespace, Pod, Container string
	// Labels and RemoveLabels change node labels (labelNode).
	Labels       map[string]string
	RemoveLabels []string
	// Taints are added by taintNode (replacing any with the same key and
	// effect) and removed by untaintNode (an empty effect matches all).
	Taints []v1.Taint
}

func (f Fault) String() string {
	switch {
	case f.Node != "":
		return fmt.Sprintf("%s %s", f.Action, f.Node)
	case f.Zone != "":
		return fmt.Sprintf("%s %s", f.Action, f.Zone)
	case f.Spec != nil:
		return fmt.Sprintf("%s %s", f.Action, f.Spec.Name)
	case f.Pod != "":
		return fmt.Sprintf("%s %s/%s", f.Action, f.Namespace, f.Pod)
	}
	return string(f.Action)
}

// Inject schedules f to apply at f.At through the engine. Errors at apply
// time (a node that does not exist by then, ...) are traced and returned by
// FaultErrors.
func (c *Cluster) Inject(f Fault) {
	at := f.At
	if at < c.Engine.Elapsed() {
		at = c.Engine.Elapsed()
	}
	c.Engine.At(at, "fault "+f.String(), func() {
		if err := c.Apply(f); err != nil {
			c.faultErrors = append(c.faultErrors, fmt.Errorf("%s at %v: %w", f, at, err))
			c.Engine.Trace(sim.Record{Component: "fault", Verb: "error", Msg: err.Error()})
		}
	})
}

// FaultErrors returns the errors of injected faults so far.
func (c *Cluster) FaultErrors() []error { return c.faultErrors }

// Apply applies f now.
func (c *Cluster) Apply(f Fault) error {
	switch f.Action {
	case FaultAddNode:
		if f.Spec == nil {
			return fmt.Errorf("addNode needs a node spec")
		}
		return c.AddNode(*f.Spec)
	case FaultDeleteNode:
		return c.DeleteNode(f.Node)
	case FaultCrashNode:
		return c.CrashNode(f.Node)
	case FaultPartitionNode:
		return c.PartitionNode(f.Node)
	case FaultRecoverNode:
		return c.RecoverNode(f.Node)
	case FaultCordon:
		return c.Cordon(f.Node)
	case FaultUncordon:
		return c.Uncordon(f.Node)
	case FaultDrain:
		return c.Drain(f.Node)
	case FaultFailZone:
		return c.FailZone(f.Zone)
	case FaultRecoverZone:
		return c.RecoverZone(f.Zone)
	case FaultKillContainer:
		return c.KillContainer(f.Namespace, f.Pod, f.Container)
	case FaultLabelNode:
		return c.LabelNode(f.Node, f.Labels, f.RemoveLabels)
	case FaultTaintNode:
		return c.TaintNode(f.Node, f.Taints)
	case FaultUntaintNode:
		return c.UntaintNode(f.Node, f.Taints)
	}
	return fmt.Errorf("unknown fault action %q", f.Action)
}

// errNotYet reports a part of the runtime that is not built yet.
func errNotYet(what string) error { return fmt.Errorf("%s: not implemented yet in kubesim", what) }

// The node operations below are implemented by the cluster-runtime work.

// AddNode registers a node and starts its kubelet.
func (c *Cluster) AddNode(spec NodeSpec) error { return errNotYet("addNode") }

// DeleteNode deletes a node.
func (c *Cluster) DeleteNode(name string) error { return errNotYet("deleteNode") }

// CrashNode crashes a node.
func (c *Cluster) CrashNode(name string) error { return errNotYet("crashNode") }

// PartitionNode partitions a node from the control plane.
func (c *Cluster) PartitionNode(name string) error { return errNotYet("partitionNode") }

// RecoverNode recovers a crashed or partitioned node.
func (c *Cluster) RecoverNode(name string) error { return errNotYet("recoverNode") }

// Cordon marks a node unschedulable.
func (c *Cluster) Cordon(name string) error { return errNotYet("cordon") }

// Uncordon marks a node schedulable.
func (c *Cluster) Uncordon(name string) error { return errNotYet("uncordon") }

// Drain cordons a node and evicts its pods.
func (c *Cluster) Drain(name string) error { return errNotYet("drain") }

// FailZone crashes every node in zone.
func (c *Cluster) FailZone(zone string) error { return errNotYet("failZone") }

// RecoverZone recovers every node in zone.
func (c *Cluster) RecoverZone(zone string) error { return errNotYet("recoverZone") }

// KillContainer kills a container of a pod.
func (c *Cluster) KillContainer(namespace, pod, container string) error {
	return errNotYet("killContainer")
}

// LabelNode sets and removes node labels.
func (c *Cluster) LabelNode(name string, set map[string]string, remove []string) error {
	return errNotYet("labelNode")
}

// TaintNode adds taints to a node.
func (c *Cluster) TaintNode(name string, taints []v1.Taint) error { return errNotYet("taintNode") }

// UntaintNode removes taints from a node.
func (c *Cluster) UntaintNode(name string, taints []v1.Taint) error {
	return errNotYet("untaintNode")
}

// NodeUp reports whether a node's kubelet is running and reachable from the
// control plane (not crashed, not partitioned, not deleted).
func (c *Cluster) NodeUp(name string) bool { return false }

// NodeRunning reports whether a node's machine is running (true for a
// partitioned node: its containers keep serving clients that can reach it).
func (c *Cluster) NodeRunning(name string) bool { return false }

// PodServing reports whether a pod's containers are running on a running
// node, so that a request routed to it would be served.
func (c *Cluster) PodServing(namespace, name string) bool { return false }
