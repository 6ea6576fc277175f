package cluster

// This file is owned by the cluster-runtime work (kubelets, node
// registration, fault injection): see faults.go for the API it implements.

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/informer"
	"github.com/kubesim/kubesim/sim/kubelet"
	"github.com/kubesim/kubesim/sim/record"
)

// KubeletConfig configures the kubelet model and node addressing. Zero
// values mean the defaults.
type KubeletConfig struct {
	// Config holds every kubelet's knobs (kubelet.DefaultConfig).
	kubelet.Config
	// ClusterCIDR is the range node pod CIDRs are cut from, in blocks of
	// /NodeCIDRMaskSize: 10.244.0.0/16 and 24 (256 nodes of 254 pod IPs),
	// as kubeadm with flannel. Larger clusters need a larger range.
	ClusterCIDR      string
	NodeCIDRMaskSize int
	// NodeIPRange is the range node InternalIPs come from (192.168.0.0/16).
	NodeIPRange string
	// DisableNodeTaintAdmission turns off the NodeTaint admission plugin
	// (kubelet-registered nodes then start without the not-ready taint).
	DisableNodeTaintAdmission bool
}

// runtimeState is the Cluster's kubelet and fault bookkeeping.
type runtimeState struct {
	faultErrors []error
	kubelets    map[string]*kubelet.Kubelet
	// slots: node → index of its pod CIDR block and InternalIP; freed when
	// the node is deleted, reused lowest first.
	slots     map[string]int
	slotUsed  []bool
	podCIDR   netip.Prefix
	cidrBits  int
	nodeIPs   netip.Prefix
	drains    map[string]*drain
	observers []func(RuntimeEvent)
}

// RuntimeEvent reports a change in what NodeUp, NodeRunning or PodServing
// answer: a node added, deleted, crashed, partitioned or recovered (Pod
// empty), or a pod that started or stopped serving.
type RuntimeEvent struct {
	Node string
	// Namespace and Pod name the pod of a serving change; Serving is its
	// new answer.
	Namespace, Pod string
	Serving        bool
}

// OnRuntimeChange registers fn to be called, inside the engine event of
// the change, for every RuntimeEvent.
func (c *Cluster) OnRuntimeChange(fn func(RuntimeEvent)) { c.observers = append(c.observers, fn) }

func (c *Cluster) emitRuntime(ev RuntimeEvent) {
	for _, fn := range c.observers {
		fn(ev)
	}
}

// installRuntime creates the kubelet machinery: node addressing and the
// admission plugins kubelet-registered nodes and annotated pods need.
func (c *Cluster) installRuntime() {
	cfg := c.cfg.Kubelet
	if cfg.ClusterCIDR == "" {
		cfg.ClusterCIDR = "10.244.0.0/16"
	}
	if cfg.NodeCIDRMaskSize == 0 {
		cfg.NodeCIDRMaskSize = 24
	}
	if cfg.NodeIPRange == "" {
		cfg.NodeIPRange = "192.168.0.0/16"
	}
	p, err := netip.ParsePrefix(cfg.ClusterCIDR)
	if err != nil || !p.Addr().Is4() || cfg.NodeCIDRMaskSize <= p.Bits() || cfg.NodeCIDRMaskSize > 30 {
		panic(fmt.Sprintf("cluster: ClusterCIDR %q with node mask /%d is not a valid IPv4 split", cfg.ClusterCIDR, cfg.NodeCIDRMaskSize))
	}
	n, err := netip.ParsePrefix(cfg.NodeIPRange)
	if err != nil || !n.Addr().Is4() || n.Bits() > 30 {
		panic(fmt.Sprintf("cluster: NodeIPRange %q is not an IPv4 range", cfg.NodeIPRange))
	}
	c.cfg.Kubelet = cfg
	c.kubelets = map[string]*kubelet.Kubelet{}
	c.slots = map[string]int{}
	c.podCIDR, c.cidrBits, c.nodeIPs = p.Masked(), cfg.NodeCIDRMaskSize, n.Masked()
	c.drains = map[string]*drain{}
	if !cfg.DisableNodeTaintAdmission {
		c.API.AddAdmission(nodeTaintAdmission{})
	}
	c.API.AddAdmission(behaviourAdmission{})
}

// nodeTaintAdmission is upstream's NodeTaint admission plugin
// (plugin/pkg/admission/nodetaint): a node registered by a kubelet gets the
// node.kubernetes.io/not-ready:NoSchedule taint, which the node lifecycle
// controller removes once the node is Ready. Nodes created directly through
// the API by tests (simtest) are left alone.
type nodeTaintAdmission struct{}

func (nodeTaintAdmission) Admit(a *apiserver.Attributes) error {
	if a.Operation != apiserver.OpCreate || a.Resource.Name != "nodes" || !strings.HasPrefix(a.User, "kubelet/") {
		return nil
	}
	n := a.Object.(*v1.Node)
	for _, t := range n.Spec.Taints {
		if t.Key == v1.TaintNodeNotReady && t.Effect == v1.TaintEffectNoSchedule {
			return nil
		}
	}
	n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoSchedule})
	return nil
}

// behaviourAdmission rejects pods, and workloads whose pod template, carry
// unknown or malformed kubesim.dev/ annotations (ValidateAnnotations),
// naming the annotation.
type behaviourAdmission struct{}

func (behaviourAdmission) Admit(a *apiserver.Attributes) error {
	if a.Subresource != "" || (a.Operation != apiserver.OpCreate && a.Operation != apiserver.OpUpdate) {
		return nil
	}
	if errs := ValidateAnnotations(a.Object); len(errs) > 0 {
		m := a.Object.(metav1.Object)
		return apierrors.NewInvalid(a.Resource.GroupKind(), m.GetName(), errs)
	}
	return nil
}

// allocateSlot returns the lowest free node slot.
func (c *Cluster) allocateSlot(name string) (int, error) {
	maxSlots := 1 << (c.cidrBits - c.podCIDR.Bits())
	for i := 0; i < maxSlots; i++ {
		if i >= len(c.slotUsed) {
			c.slotUsed = append(c.slotUsed, false)
		}
		if !c.slotUsed[i] {
			c.slotUsed[i] = true
			c.slots[name] = i
			return i, nil
		}
	}
	return 0, fmt.Errorf("cluster CIDR %s has no free /%d block left for node %s (%d in use); set KubeletConfig.ClusterCIDR to a larger range",
		c.podCIDR, c.cidrBits, name, maxSlots)
}

func (c *Cluster) releaseSlot(name string) {
	if i, ok := c.slots[name]; ok {
		c.slotUsed[i] = false
		delete(c.slots, name)
	}
}

// slotAddresses returns the pod CIDR and InternalIP of a slot.
func (c *Cluster) slotAddresses(slot int) (string, string, error) {
	base := addrU32(c.podCIDR.Addr()) + uint32(slot)<<(32-c.cidrBits)
	cidr := netip.PrefixFrom(u32Addr(base), c.cidrBits).String()
	hosts := uint32(1)<<(32-c.nodeIPs.Bits()) - 2
	if uint32(slot)+1 > hosts {
		return "", "", fmt.Errorf("node IP range %s is full", c.nodeIPs)
	}
	ip := u32Addr(addrU32(c.nodeIPs.Addr()) + uint32(slot) + 1).String()
	return cidr, ip, nil
}

func addrU32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func u32Addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// startKubelet creates and starts the kubelet of a new node.
func (c *Cluster) startKubelet(spec NodeSpec) (*kubelet.Kubelet, error) {
	if spec.Name == "" {
		return nil, fmt.Errorf("addNode: the node spec has no name")
	}
	if k := c.kubelets[spec.Name]; k != nil && k.State() != kubelet.StateStopped {
		return nil, fmt.Errorf("node %s already exists", spec.Name)
	}
	slot, err := c.allocateSlot(spec.Name)
	if err != nil {
		return nil, err
	}
	cidr, ip, err := c.slotAddresses(slot)
	if err != nil {
		c.releaseSlot(spec.Name)
		return nil, err
	}
	kspec := kubelet.NodeSpec{Name: spec.Name, Capacity: spec.Capacity, Allocatable: spec.Allocatable, Labels: spec.Labels,
		Taints: spec.Taints, PodCIDR: cidr, InternalIP: ip}
	user := "kubelet/" + spec.Name
	cl := c.Client(user)
	pods := c.Informers.Pods(informer.WithFieldSelector("spec.nodeName=" + spec.Name))
	k, err := kubelet.New(c.Engine, cl, record.New(cl, c.Engine, "kubelet", spec.Name), pods, kspec, c.cfg.Kubelet.Config)
	if err != nil {
		c.releaseSlot(spec.Name)
		return nil, err
	}
	node := spec.Name
	k.OnServingChange(func(ns, name string, serving bool) {
		c.emitRuntime(RuntimeEvent{Node: node, Namespace: ns, Pod: name, Serving: serving})
	})
	if err := k.Start(); err != nil {
		c.releaseSlot(spec.Name)
		return nil, err
	}
	c.kubelets[spec.Name] = k
	return k, nil
}

// Kubelet returns the kubelet of a node (nil if the node has none).
func (c *Cluster) Kubelet(node string) *kubelet.Kubelet { return c.kubelets[node] }

// KubeletNodes lists the nodes that have a kubelet (not deleted), sorted.
func (c *Cluster) KubeletNodes() []string {
	out := make([]string, 0, len(c.kubelets))
	for n, k := range c.kubelets {
		if k.State() != kubelet.StateStopped {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func (c *Cluster) traceFault(verb, kind, ns, name, msg string) {
	c.Engine.Trace(sim.Record{Component: "fault", Verb: verb, Kind: kind, Namespace: ns, Name: name, Msg: msg})
}
