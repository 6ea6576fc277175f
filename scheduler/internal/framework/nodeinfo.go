package framework

import (
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// NodeInfo aggregates one node and the pods the scheduler believes run on it
// (bound and assumed). It is owned by the cache; plugins only read it, and
// preemption works on clones.
type NodeInfo struct {
	// The fields every filter and score of a cycle reads come first, so a
	// node costs a cycle few cache lines (a cycle visits hundreds of
	// nodes).

	// Name is the node name (kept even when Node is nil).
	Name string
	// Pods are the pods on the node, in the order they were added.
	Pods []*PodInfo
	// HasNoScheduleTaints is true when the node has a NoSchedule or NoExecute
	// taint (TaintToleration's filter has nothing to do otherwise).
	HasNoScheduleTaints bool
	// HasPreferNoScheduleTaints is true when the node has a PreferNoSchedule taint.
	HasPreferNoScheduleTaints bool
	// Unschedulable mirrors node.spec.unschedulable (kept here so the hot
	// filter loop does not touch the large Node object).
	Unschedulable bool
	// Allocatable is node.status.allocatable (pods included).
	Allocatable Resource
	// Requested is the sum of the pods' Requests.
	Requested Resource
	// NonZeroRequested sums the pods' non-zero CPU and memory requests
	// (PodInfo.NodeNonZero).
	NonZeroRequested Resource

	// Node is the node object; nil for a "ghost" entry that still holds pods
	// of a node that was deleted (or not yet seen).
	Node *v1.Node
	// PodsWithAffinity are the pods with any pod (anti-)affinity term.
	PodsWithAffinity []*PodInfo
	// PodsWithRequiredAntiAffinity are the pods with required anti-affinity.
	PodsWithRequiredAntiAffinity []*PodInfo
	// UsedPorts counts the host ports in use, by host IP.
	UsedPorts map[string]map[ProtocolPort]int
	// Images maps normalised image names present on the node to their size.
	Images map[string]int64
	// Generation increases on every change.
	Generation int64
}

// ProtocolPort is a (protocol, port) pair of a used host port.
type ProtocolPort struct {
	Protocol v1.Protocol
	Port     int32
}

// NewNodeInfo returns an empty NodeInfo for the named node.
func NewNodeInfo(name string) *NodeInfo {
	return &NodeInfo{Name: name}
}

// SetNode installs node (a new version of the same node).
func (n *NodeInfo) SetNode(node *v1.Node) {
	n.Node = node
	n.Name = node.Name
	n.Allocatable = NewResource(node.Status.Allocatable)
	n.Unschedulable = node.Spec.Unschedulable
	n.HasNoScheduleTaints, n.HasPreferNoScheduleTaints = false, false
	for i := range node.Spec.Taints {
		switch node.Spec.Taints[i].Effect {
		case v1.TaintEffectNoSchedule, v1.TaintEffectNoExecute:
			n.HasNoScheduleTaints = true
		case v1.TaintEffectPreferNoSchedule:
			n.HasPreferNoScheduleTaints = true
		}
	}
	n.Images = nil
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			if n.Images == nil {
				n.Images = make(map[string]int64, len(node.Status.Images))
			}
			n.Images[NormalizedImageName(name)] = img.SizeBytes
		}
	}
	n.Generation++
}

// Labels returns the node's labels (nil for a ghost node).
func (n *NodeInfo) Labels() map[string]string {
	if n.Node == nil {
		return nil
	}
	return n.Node.Labels
}

// AddPod accounts pi on the node.
func (n *NodeInfo) AddPod(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if pi.HasAffinity() {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
	}
	if pi.HasRequiredAntiAffinity() {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
	}
	n.Requested.AddResource(&pi.Requests)
	cpu, mem := pi.NodeNonZero()
	n.NonZeroRequested.MilliCPU += cpu
	n.NonZeroRequested.Memory += mem
	for _, p := range pi.HostPorts {
		if n.UsedPorts == nil {
			n.UsedPorts = map[string]map[ProtocolPort]int{}
		}
		m := n.UsedPorts[p.IP]
		if m == nil {
			m = map[ProtocolPort]int{}
			n.UsedPorts[p.IP] = m
		}
		m[ProtocolPort{p.Protocol, p.Port}]++
	}
	n.Generation++
}

// RemovePod removes the pod with pi's UID; it panics if the pod is not on the
// node, because the cache must never lose track of where a pod is.
func (n *NodeInfo) RemovePod(pi *PodInfo) {
	idx := slices.Index(n.Pods, pi) // the accounted info itself: no loads
	if idx < 0 {
		for i, p := range n.Pods {
			if p.UID == pi.UID {
				idx = i
				break
			}
		}
	}
	if idx < 0 {
		panic(fmt.Sprintf("scheduler: pod %s (%s) is not on node %s", pi.Key, pi.UID, n.Name))
	}
	old := n.Pods[idx]
	n.Pods = removeAt(n.Pods, idx)
	if len(n.PodsWithAffinity) > 0 {
		n.PodsWithAffinity = removeUID(n.PodsWithAffinity, old.UID)
	}
	if len(n.PodsWithRequiredAntiAffinity) > 0 {
		n.PodsWithRequiredAntiAffinity = removeUID(n.PodsWithRequiredAntiAffinity, old.UID)
	}
	n.Requested.SubResource(&old.Requests)
	cpu, mem := old.NodeNonZero()
	n.NonZeroRequested.MilliCPU -= cpu
	n.NonZeroRequested.Memory -= mem
	for _, p := range old.HostPorts {
		m := n.UsedPorts[p.IP]
		pp := ProtocolPort{p.Protocol, p.Port}
		m[pp]--
		if m[pp] <= 0 {
			delete(m, pp)
		}
		if len(m) == 0 {
			delete(n.UsedPorts, p.IP)
		}
	}
	n.Generation++
}

// removeAt removes element i keeping order (order matters for determinism of
// iteration in plugins and preemption).
func removeAt(s []*PodInfo, i int) []*PodInfo {
	copy(s[i:], s[i+1:])
	s[len(s)-1] = nil
	return s[:len(s)-1]
}

func removeUID(s []*PodInfo, uid types.UID) []*PodInfo {
	for i, p := range s {
		if p.UID == uid {
			return removeAt(s, i)
		}
	}
	return s
}

// PortConflict reports whether the host port p conflicts with a used port:
// 0.0.0.0 conflicts with every IP, any other IP with itself and 0.0.0.0
// (upstream HostPortInfo.CheckConflict).
func (n *NodeInfo) PortConflict(p HostPort) bool {
	if len(n.UsedPorts) == 0 || p.Port <= 0 {
		return false
	}
	pp := ProtocolPort{p.Protocol, p.Port}
	if p.IP == DefaultBindAllHostIP {
		for _, m := range n.UsedPorts {
			if m[pp] > 0 {
				return true
			}
		}
		return false
	}
	return n.UsedPorts[DefaultBindAllHostIP][pp] > 0 || n.UsedPorts[p.IP][pp] > 0
}

// Clone returns a copy that can be changed (AddPod/RemovePod) without
// affecting n. The node object, images and PodInfos are shared.
func (n *NodeInfo) Clone() *NodeInfo {
	c := *n
	c.Pods = append([]*PodInfo(nil), n.Pods...)
	c.PodsWithAffinity = append([]*PodInfo(nil), n.PodsWithAffinity...)
	c.PodsWithRequiredAntiAffinity = append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...)
	c.Requested = n.Requested.Clone()
	c.NonZeroRequested = n.NonZeroRequested.Clone()
	if n.UsedPorts != nil {
		c.UsedPorts = make(map[string]map[ProtocolPort]int, len(n.UsedPorts))
		for ip, m := range n.UsedPorts {
			cm := make(map[ProtocolPort]int, len(m))
			for k, v := range m {
				cm[k] = v
			}
			c.UsedPorts[ip] = cm
		}
	}
	return &c
}
