package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The apiVersion and kind of a scenario document.
const (
	APIVersion = "kubesim.dev/v1alpha1"
	Kind       = "Scenario"
)

// Defaults applied by the loader.
const (
	DefaultSeed      = 1
	DefaultNamespace = "default"
	DefaultMaxPods   = 110 // kubelet's default maxPods, used when capacity has no pods
	// ZoneLabel is the well-known label the zone shortcut of a node group sets.
	ZoneLabel = "topology.kubernetes.io/zone"
	// MaxNodes bounds the nodes a scenario may ever create (groups and
	// addNode): 5,000, Kubernetes' supported cluster size.
	MaxNodes = 5000
)

// Scenario is a loaded, statically checked scenario: everything a runner
// needs, with defaults applied. Its shape follows the YAML field by field.
type Scenario struct {
	APIVersion string // always APIVersion
	Kind       string // always Kind
	Metadata   Metadata
	Spec       Spec
	Source     Source // the scenario file, line 1
}

// Metadata names and describes a scenario.
type Metadata struct {
	Name        string // defaults to the file name without extension
	Description string
}

// Spec is the body of a scenario.
type Spec struct {
	Seed      uint64        // DefaultSeed when absent
	Duration  time.Duration // simulated time to run; > 0
	Cluster   ClusterSpec
	ProxyMode ProxyMode // ProxyRoundRobin when absent
	// Objects are the inline manifests, created at t=0 in this order.
	Objects []Manifest
	// Files are the manifest files as written, relative to the scenario file.
	Files []string
	// FileObjects are the manifests of Files, in file then document order;
	// they are created at t=0 after Objects.
	FileObjects []Manifest
	// Events is the timeline in file order; Timeline sorts it by time.
	Events []Event
	Expect []Expectation
}

// ClusterSpec is the cluster at t=0.
type ClusterSpec struct {
	Nodes []NodeGroup
}

// ProxyMode is kube-proxy's load-balancing mode.
type ProxyMode string

// Proxy modes.
const (
	ProxyRoundRobin ProxyMode = "roundRobin" // IPVS rr; the default
	ProxyRandom     ProxyMode = "random"     // iptables' probability chain
)

// NodeGroup is a set of identical nodes.
type NodeGroup struct {
	Name  string // count 1: the node's name; count N>1: nodes Name-1 … Name-N
	Count int    // >= 1; default 1
	// Capacity always has cpu and memory and, defaulted to 110, pods.
	Capacity v1.ResourceList
	// Allocatable defaults to Capacity; each entry <= its capacity.
	Allocatable v1.ResourceList
	// Labels include ZoneLabel when Zone is set.
	Labels map[string]string
	Taints []v1.Taint
	Zone   string // shortcut for Labels[ZoneLabel]; "" when not set either way
	Source Source
}

// NodeNames lists the nodes the group creates, in order.
func (g NodeGroup) NodeNames() []string {
	if g.Count == 1 {
		return []string{g.Name}
	}
	names := make([]string, g.Count)
	for i := range names {
		names[i] = g.Name + "-" + strconv.Itoa(i+1)
	}
	return names
}

// Manifest is one Kubernetes object of a scenario, decoded strictly into
// its typed k8s.io/api struct.
type Manifest struct {
	// Object is the typed object (e.g. *appsv1.Deployment) with apiVersion
	// and kind set, and metadata.namespace set to Namespace (cleared for
	// cluster-scoped kinds), as the API server would. Never nil in a
	// scenario returned by the loader.
	Object runtime.Object
	// JSON is the manifest exactly as written, converted to JSON: no
	// defaults, no namespace filled in. It is what kubectl apply sends and
	// records in the last-applied-configuration annotation.
	JSON      []byte
	Resource  Resource
	Namespace string // "" for cluster-scoped kinds
	Name      string
	Source    Source // first line of the manifest

	path string // field path of the manifest in its file ("" for a document of spec.files)
	// Where the name and the namespace are written, for errors about them
	// (0: not written). The namespace of an apply event may be the event's
	// namespace field (nsPath tells which).
	nameLine, nsLine int
	nsPath           string
}

// Ref is the manifest's kind/name.
func (m Manifest) Ref() Ref { return Ref{Resource: m.Resource, Name: m.Name} }

// Source is a place in a scenario's files.
type Source struct {
	File string
	Line int
}

// String prints FILE:LINE.
func (s Source) String() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// Action is what an event does.
type Action string

// Actions. The fields each takes are listed in actionFields.
const (
	ActionCrashNode      Action = "crashNode"      // node: its kubelet, containers and heartbeats stop
	ActionPartitionNode  Action = "partitionNode"  // node: the control plane cannot reach it; its containers keep running
	ActionRecoverNode    Action = "recoverNode"    // node: undoes crashNode or partitionNode
	ActionAddNode        Action = "addNode"        // group: adds the group's nodes
	ActionDeleteNode     Action = "deleteNode"     // node: deletes the Node object (its pods are garbage-collected)
	ActionCordon         Action = "cordon"         // node: marks it unschedulable
	ActionUncordon       Action = "uncordon"       // node: marks it schedulable
	ActionDrain          Action = "drain"          // node: cordons it and evicts its pods, honouring PodDisruptionBudgets
	ActionFailZone       Action = "failZone"       // zone: crashes every node of the zone
	ActionRecoverZone    Action = "recoverZone"    // zone: recovers every node of the zone
	ActionApply          Action = "apply"          // object: creates it, or updates it as kubectl apply would
	ActionDelete         Action = "delete"         // target: deletes the object (background cascading)
	ActionScale          Action = "scale"          // target, replicas: sets spec.replicas of a deployment or replicaset
	ActionSetLoad        Action = "setLoad"        // service, rps[, rampTo, rampDuration, from]: the service's request rate
	ActionSetPodLoad     Action = "setPodLoad"     // target, rps[, rampTo, rampDuration]: requests/s each pod of a workload serves
	ActionKillPod        Action = "killPod"        // target[, container]: kills a container of a pod
	ActionRolloutUndo    Action = "rolloutUndo"    // target[, toRevision]: kubectl rollout undo
	ActionRolloutRestart Action = "rolloutRestart" // target: kubectl rollout restart
	ActionLabelNode      Action = "labelNode"      // node, labels and/or removeLabels
	ActionTaintNode      Action = "taintNode"      // node, taints: adds or replaces (by key and effect) taints
	ActionUntaintNode    Action = "untaintNode"    // node, taints: removes taints by key (and effect, when given)
)

// Actions lists every action in documentation order.
var Actions = []Action{
	ActionCrashNode, ActionPartitionNode, ActionRecoverNode, ActionAddNode, ActionDeleteNode,
	ActionCordon, ActionUncordon, ActionDrain, ActionFailZone, ActionRecoverZone,
	ActionApply, ActionDelete, ActionScale, ActionSetLoad, ActionSetPodLoad, ActionKillPod,
	ActionRolloutUndo, ActionRolloutRestart, ActionLabelNode, ActionTaintNode, ActionUntaintNode,
}

// Event is one entry of the timeline: an action at a time. Only the fields
// the action takes are set; the loader rejects the others.
type Event struct {
	At        time.Duration
	Action    Action
	Namespace string // DefaultNamespace when absent; for apply, the object's namespace

	Node         string            // node actions
	Group        *NodeGroup        // addNode
	Zone         string            // failZone, recoverZone
	Object       *Manifest         // apply
	Target       Ref               // delete, scale, setPodLoad, killPod, rolloutUndo, rolloutRestart
	Container    string            // killPod; "" means the pod's first container
	Replicas     int32             // scale
	Service      string            // setLoad
	RPS          float64           // setLoad (total), setPodLoad (per pod); requests per second at At
	RampTo       *float64          // setLoad, setPodLoad: rate reached linearly at At+RampDuration
	RampDuration time.Duration     // > 0 exactly when RampTo is set
	From         string            // setLoad: "" (in-cluster clients on every up node), a node name, or "external"
	ToRevision   int64             // rolloutUndo: 0 means the previous revision
	Labels       map[string]string // labelNode: labels to set
	RemoveLabels []string          // labelNode: label keys to remove
	Taints       []v1.Taint        // taintNode (key, effect, optional value); untaintNode (key, optional effect)

	Index  int    // position in spec.events
	Source Source // the entry's first line

	lines map[string]int // line of each field's value, for the timeline checks
}

// fieldLine is the line of field k of an event or expectation entry, or the
// entry's first line.
func fieldLine(lines map[string]int, k string, entry Source) int {
	if l, ok := lines[k]; ok {
		return l
	}
	return entry.Line
}

// FromExternal is the setLoad origin for traffic entering through NodePorts.
const FromExternal = "external"

// Timeline returns the events ordered by time; events at the same time keep
// their file order. Objects and files are created before any event, events
// at 0s included.
func (s *Scenario) Timeline() []Event {
	out := slices.Clone(s.Spec.Events)
	slices.SortStableFunc(out, func(a, b Event) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	return out
}

// InitialObjects are the manifests created at t=0: Objects then FileObjects.
func (s *Scenario) InitialObjects() []Manifest {
	return slices.Concat(s.Spec.Objects, s.Spec.FileObjects)
}

// NodesCreated is the number of nodes the scenario creates over its run:
// its node groups and every addNode (a bound on the nodes up at once).
func (s *Scenario) NodesCreated() int {
	n := 0
	for _, g := range s.Spec.Cluster.Nodes {
		n += g.Count
	}
	for _, e := range s.Spec.Events {
		if e.Action == ActionAddNode && e.Group != nil {
			n += e.Group.Count
		}
	}
	return n
}

// NodeNames lists the nodes at t=0, group by group.
func (s *Scenario) NodeNames() []string {
	var out []string
	for _, g := range s.Spec.Cluster.Nodes {
		out = append(out, g.NodeNames()...)
	}
	return out
}
