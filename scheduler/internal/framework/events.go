package framework

import (
	"k8s.io/apimachinery/pkg/api/equality"

	v1 "k8s.io/api/core/v1"
)

// EventKind classifies a cluster change that may make an unschedulable pod
// schedulable (upstream framework.ClusterEvent resource + action type).
type EventKind uint8

const (
	// NodeAdd is a new node.
	NodeAdd EventKind = iota + 1
	// NodeUpdate is a changed node; ClusterEvent.NodeChange says what changed.
	NodeUpdate
	// NodeDelete is a removed node.
	NodeDelete
	// AssignedPodAdd is a pod that appeared on a node (bound or created bound).
	AssignedPodAdd
	// AssignedPodUpdate is a changed pod on a node (labels, for instance).
	AssignedPodUpdate
	// AssignedPodDelete is a pod that left a node (deleted, terminated, or an
	// assumed pod forgotten after a failed bind).
	AssignedPodDelete
	// PodSelfUpdate is an update of the unscheduled pod itself;
	// ClusterEvent.PodChange says what changed.
	PodSelfUpdate
	// UnschedulableTimeout is the periodic flush of pods that waited too long.
	UnschedulableTimeout
)

// String is a short name for explain output and traces.
func (k EventKind) String() string {
	switch k {
	case NodeAdd:
		return "NodeAdd"
	case NodeUpdate:
		return "NodeUpdate"
	case NodeDelete:
		return "NodeDelete"
	case AssignedPodAdd:
		return "AssignedPodAdd"
	case AssignedPodUpdate:
		return "AssignedPodUpdate"
	case AssignedPodDelete:
		return "AssignedPodDelete"
	case PodSelfUpdate:
		return "PodSelfUpdate"
	case UnschedulableTimeout:
		return "UnschedulableTimeout"
	}
	return "Unknown"
}

// NodeChange is a bit set of what a node update changed.
type NodeChange uint8

const (
	// NodeAllocatableChanged means status.allocatable changed.
	NodeAllocatableChanged NodeChange = 1 << iota
	// NodeLabelsChanged means metadata.labels changed.
	NodeLabelsChanged
	// NodeTaintsChanged means spec.taints changed or spec.unschedulable
	// became false (upstream's UpdateNodeTaint).
	NodeTaintsChanged
	// NodeImagesChanged means status.images changed.
	NodeImagesChanged
)

// PodChange is a bit set of what an update of an unscheduled pod changed,
// as upstream's framework.PodSchedulingPropertiesChange classifies it
// (UpdatePodLabel, UpdatePodScaleDown, UpdatePodToleration); 0 is its
// general Update, for which no plugin of the default profile registers.
// Removed scheduling gates are handled by the queue itself.
type PodChange uint8

const (
	// PodLabelsChanged means metadata.labels changed.
	PodLabelsChanged PodChange = 1 << iota
	// PodScaledDown means a resource request decreased.
	PodScaledDown
	// PodTolerationsChanged means the number of tolerations changed (the
	// API only lets tolerations be added).
	PodTolerationsChanged
)

// ClusterEvent is one cluster change, with the objects involved.
type ClusterEvent struct {
	Kind EventKind
	// OldNode/NewNode are set for node events (OldNode nil on add, NewNode nil on delete).
	OldNode, NewNode *v1.Node
	// NodeChange says what a NodeUpdate changed.
	NodeChange NodeChange
	// OldPod/NewPod are set for pod events.
	OldPod, NewPod *PodInfo
	// PodChange says what a PodSelfUpdate changed.
	PodChange PodChange
	// Nominated marks an AssignedPodDelete whose OldPod is an unscheduled
	// pod that was nominated to a node and was deleted or lost that
	// nomination: it freed the room it held there, though it never ran.
	Nominated bool
}

// DiffPods computes what an update of an unscheduled pod changed, as
// upstream's extractPodLabelsChange, extractPodScaleDown and
// extractPodTolerationChange do.
func DiffPods(old, cur *PodInfo) PodChange {
	var c PodChange
	if !equality.Semantic.DeepEqual(old.Pod.Labels, cur.Pod.Labels) {
		c |= PodLabelsChanged
	}
	if cur.Requests.scaledDownFrom(&old.Requests) {
		c |= PodScaledDown
	}
	if len(old.Pod.Spec.Tolerations) != len(cur.Pod.Spec.Tolerations) {
		c |= PodTolerationsChanged
	}
	return c
}

// DiffNodes computes what changed between two versions of a node. A change
// that matters to none of the scheduler's plugins (heartbeat conditions,
// annotations) yields 0.
func DiffNodes(old, cur *v1.Node) NodeChange {
	var c NodeChange
	if !equality.Semantic.DeepEqual(old.Status.Allocatable, cur.Status.Allocatable) {
		c |= NodeAllocatableChanged
	}
	if !equality.Semantic.DeepEqual(old.Labels, cur.Labels) {
		c |= NodeLabelsChanged
	}
	// As upstream's extractNodeSpecUnschedulableChange, spec.unschedulable
	// counts as a taint change only when the node becomes schedulable.
	if (old.Spec.Unschedulable && !cur.Spec.Unschedulable) || !equality.Semantic.DeepEqual(old.Spec.Taints, cur.Spec.Taints) {
		c |= NodeTaintsChanged
	}
	if !equality.Semantic.DeepEqual(old.Status.Images, cur.Status.Images) {
		c |= NodeImagesChanged
	}
	return c
}
