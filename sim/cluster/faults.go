package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/kubelet"
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

// The node operations below act at the current simulated time; Inject
// schedules them. Each emits a trace record with component "fault".

// AddNode registers a node and starts its kubelet. The node gets the next
// free pod CIDR block and InternalIP.
func (c *Cluster) AddNode(spec NodeSpec) error {
	k, err := c.startKubelet(spec)
	if err != nil {
		return err
	}
	ks := k.Spec()
	c.traceFault(string(FaultAddNode), "Node", "", spec.Name, fmt.Sprintf("podCIDR %s, InternalIP %s", ks.PodCIDR, ks.InternalIP))
	c.emitRuntime(RuntimeEvent{Node: spec.Name})
	return nil
}

// runningKubelet returns the kubelet of a node that has not been deleted.
func (c *Cluster) runningKubelet(name string) (*kubelet.Kubelet, error) {
	k := c.kubelets[name]
	if k == nil || k.State() == kubelet.StateStopped {
		return nil, fmt.Errorf("node %s does not exist", name)
	}
	return k, nil
}

// DeleteNode removes a node: its machine stops (containers, kubelet) and
// the Node object is deleted. Its pods stay in the API until the pod
// garbage collector removes them; its Lease until the garbage collector
// removes it (it is owned by the Node).
func (c *Cluster) DeleteNode(name string) error {
	k, err := c.runningKubelet(name)
	if err != nil {
		return err
	}
	c.stopDrain(name)
	k.Stop()
	c.releaseSlot(name)
	if err := c.Client("fault").CoreV1().Nodes().Delete(context.TODO(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	c.traceFault(string(FaultDeleteNode), "Node", "", name, "machine stopped, Node deleted")
	c.emitRuntime(RuntimeEvent{Node: name})
	return nil
}

// CrashNode crashes a node: kubelet, containers and heartbeats stop; the
// pods bound to it stay in the API as they were.
func (c *Cluster) CrashNode(name string) error {
	k, err := c.runningKubelet(name)
	if err != nil {
		return err
	}
	if err := k.Crash(); err != nil {
		return err
	}
	c.traceFault(string(FaultCrashNode), "Node", "", name, "kubelet, containers and heartbeats stopped")
	c.emitRuntime(RuntimeEvent{Node: name})
	return nil
}

// PartitionNode cuts a node off from the control plane: no heartbeats,
// status writes or watch; its containers keep running and serving clients
// that can reach the node.
func (c *Cluster) PartitionNode(name string) error {
	k, err := c.runningKubelet(name)
	if err != nil {
		return err
	}
	if err := k.Partition(); err != nil {
		return err
	}
	c.traceFault(string(FaultPartitionNode), "Node", "", name, "control plane cannot reach the node")
	c.emitRuntime(RuntimeEvent{Node: name})
	return nil
}

// RecoverNode recovers a crashed node (it boots again and restarts its
// pods' containers from scratch) or a partitioned one (it catches up).
func (c *Cluster) RecoverNode(name string) error {
	k, err := c.runningKubelet(name)
	if err != nil {
		return err
	}
	was := k.State()
	if err := k.Recover(); err != nil {
		return err
	}
	c.traceFault(string(FaultRecoverNode), "Node", "", name, fmt.Sprintf("recovered (was %s)", was))
	c.emitRuntime(RuntimeEvent{Node: name})
	return nil
}

// updateNode applies mutate to the latest Node and updates it, retrying on
// conflicts.
func (c *Cluster) updateNode(name string, mutate func(n *v1.Node)) error {
	if _, err := c.runningKubelet(name); err != nil {
		return err
	}
	nodes := c.Client("kubectl").CoreV1().Nodes()
	var err error
	for try := 0; try < 5; try++ {
		var n *v1.Node
		n, err = nodes.Get(context.TODO(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(n)
		if _, err = nodes.Update(context.TODO(), n, metav1.UpdateOptions{}); err == nil || !apierrors.IsConflict(err) {
			return err
		}
	}
	return err
}

// Cordon marks a node unschedulable (kubectl cordon).
func (c *Cluster) Cordon(name string) error {
	if err := c.updateNode(name, func(n *v1.Node) { n.Spec.Unschedulable = true }); err != nil {
		return err
	}
	c.traceFault(string(FaultCordon), "Node", "", name, "spec.unschedulable=true")
	return nil
}

// Uncordon marks a node schedulable again (kubectl uncordon); it also ends
// a drain of the node that is still retrying evictions.
func (c *Cluster) Uncordon(name string) error {
	if err := c.updateNode(name, func(n *v1.Node) { n.Spec.Unschedulable = false }); err != nil {
		return err
	}
	c.stopDrain(name)
	c.traceFault(string(FaultUncordon), "Node", "", name, "spec.unschedulable=false")
	return nil
}

// drainRetryInterval is how long kubectl drain waits before retrying an
// eviction the API refused (429: a PodDisruptionBudget forbids it).
const drainRetryInterval = 5 * time.Second

// drain is a `kubectl drain --ignore-daemonsets --delete-emptydir-data
// --force` in progress: evictions refused by a PodDisruptionBudget are
// retried every 5 s until they succeed, the pod goes away, or the node is
// uncordoned or deleted.
type drain struct {
	node    string
	retries map[string]sim.Timer // pod key → retry timer
}

func (c *Cluster) stopDrain(name string) {
	d := c.drains[name]
	if d == nil {
		return
	}
	keys := make([]string, 0, len(d.retries))
	for k := range d.retries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.retries[k].Stop()
	}
	delete(c.drains, name)
}

// Drain cordons a node and evicts every pod on it through the eviction API
// except DaemonSet and mirror pods, honouring PodDisruptionBudgets: a
// refused eviction is retried every 5 s, as kubectl drain does (in a
// namespace being deleted, until the pod is being deleted). (The PDB's
// status comes from the disruption controller; while a PDB's status has not
// been computed, evictions of the pods it covers are refused.)
func (c *Cluster) Drain(name string) error {
	if err := c.Cordon(name); err != nil {
		return err
	}
	list, err := c.Client("kubectl").CoreV1().Pods("").List(context.TODO(), metav1.ListOptions{FieldSelector: "spec.nodeName=" + name})
	if err != nil {
		return err
	}
	c.stopDrain(name)
	d := &drain{node: name, retries: map[string]sim.Timer{}}
	c.drains[name] = d
	var evict []*v1.Pod
	ignored := 0
	for i := range list.Items {
		p := &list.Items[i]
		if isDaemonSetPod(p) || p.Annotations[v1.MirrorPodAnnotationKey] != "" {
			ignored++
			continue
		}
		evict = append(evict, p)
	}
	c.traceFault(string(FaultDrain), "Node", "", name, fmt.Sprintf("evicting %d pods (%d DaemonSet/mirror pods ignored)", len(evict), ignored))
	for _, p := range evict {
		c.evict(d, p.Namespace, p.Name, p.UID)
	}
	c.finishDrain(d)
	return nil
}

func isDaemonSetPod(p *v1.Pod) bool {
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller && o.Kind == "DaemonSet" {
			return true
		}
	}
	return false
}

// evict tries one eviction of a drain, scheduling a retry if it is refused.
func (c *Cluster) evict(d *drain, ns, name string, uid types.UID) {
	key := ns + "/" + name
	delete(d.retries, key)
	if c.drains[d.node] != d {
		return // the drain was stopped
	}
	pods := c.Client("kubectl").CoreV1().Pods(ns)
	err := pods.EvictV1(context.TODO(), &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}})
	// In a namespace being deleted every eviction is refused (403).
	nsTerminating := apierrors.IsForbidden(err) && apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause)
	switch {
	case err == nil:
		c.traceFault("evicted", "Pod", ns, name, "evicted by drain of "+d.node)
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		// Gone (or replaced by a pod of the same name): nothing to evict.
	case nsTerminating && c.podTerminating(ns, name):
		// kubectl drain: the eviction will never succeed, but the pod is
		// on its way out.
		c.traceFault("evicted", "Pod", ns, name, "being deleted with its namespace (drain of "+d.node+")")
	case apierrors.IsTooManyRequests(err), nsTerminating:
		msg := err.Error()
		if st, ok := err.(apierrors.APIStatus); ok && !nsTerminating && st.Status().Details != nil && len(st.Status().Details.Causes) > 0 {
			msg += " " + st.Status().Details.Causes[0].Message
		}
		c.traceFault("evictionRefused", "Pod", ns, name, msg+"; retrying in 5s")
		d.retries[key] = c.Engine.Background(drainRetryInterval, "fault drain "+d.node, func() {
			c.evict(d, ns, name, uid)
			c.finishDrain(d)
		})
	default:
		c.faultErrors = append(c.faultErrors, fmt.Errorf("drain %s: evict %s: %w", d.node, key, err))
		c.traceFault("error", "Pod", ns, name, "drain: "+err.Error())
	}
}

// podTerminating reports whether the pod is being deleted, as kubectl drain
// reads it before an eviction.
func (c *Cluster) podTerminating(ns, name string) bool {
	p, err := c.Client("kubectl").CoreV1().Pods(ns).Get(context.TODO(), name, metav1.GetOptions{})
	return err == nil && p.DeletionTimestamp != nil
}

func (c *Cluster) finishDrain(d *drain) {
	if c.drains[d.node] == d && len(d.retries) == 0 {
		delete(c.drains, d.node)
		c.traceFault("drained", "Node", "", d.node, "every pod evicted")
	}
}

// Draining reports whether a drain of the node is still retrying evictions.
func (c *Cluster) Draining(name string) bool { return c.drains[name] != nil }

// DrainWaiting lists the pods (namespace/name, sorted) whose eviction a
// drain of the node is still retrying; nil when no drain is in progress.
func (c *Cluster) DrainWaiting(name string) []string {
	d := c.drains[name]
	if d == nil {
		return nil
	}
	keys := make([]string, 0, len(d.retries))
	for k := range d.retries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// zoneNodes lists the nodes of a zone (topology.kubernetes.io/zone on the
// Node objects), sorted.
func (c *Cluster) zoneNodes(zone string) ([]string, error) {
	if zone == "" {
		return nil, fmt.Errorf("no zone given")
	}
	list, err := c.Client("fault").CoreV1().Nodes().List(context.TODO(), metav1.ListOptions{LabelSelector: v1.LabelTopologyZone + "=" + zone})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range list.Items {
		if k := c.kubelets[n.Name]; k != nil && k.State() != kubelet.StateStopped {
			out = append(out, n.Name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("zone %s has no nodes", zone)
	}
	sort.Strings(out)
	return out, nil
}

// FailZone crashes every running or partitioned node of a zone.
func (c *Cluster) FailZone(zone string) error {
	nodes, err := c.zoneNodes(zone)
	if err != nil {
		return err
	}
	var crash []string
	for _, n := range nodes {
		if st := c.kubelets[n].State(); st == kubelet.StateRunning || st == kubelet.StatePartitioned {
			crash = append(crash, n)
		}
	}
	c.traceFault(string(FaultFailZone), "", "", zone, zoneFaultMsg("crashing", crash, len(nodes), "every node is already crashed"))
	for _, n := range crash {
		if err := c.CrashNode(n); err != nil {
			return err
		}
	}
	return nil
}

// RecoverZone recovers every crashed or partitioned node of a zone.
func (c *Cluster) RecoverZone(zone string) error {
	nodes, err := c.zoneNodes(zone)
	if err != nil {
		return err
	}
	var down []string
	for _, n := range nodes {
		if st := c.kubelets[n].State(); st == kubelet.StateCrashed || st == kubelet.StatePartitioned {
			down = append(down, n)
		}
	}
	c.traceFault(string(FaultRecoverZone), "", "", zone, zoneFaultMsg("recovering", down, len(nodes), "none is crashed or partitioned"))
	for _, n := range down {
		if err := c.RecoverNode(n); err != nil {
			return err
		}
	}
	return nil
}

// zoneFaultMsg is "crashing 2 of 3 node(s): a2, a3".
func zoneFaultMsg(doing string, acted []string, of int, none string) string {
	list := none
	if len(acted) > 0 {
		list = strings.Join(acted, ", ")
	}
	return fmt.Sprintf("%s %d of %d node(s): %s", doing, len(acted), of, list)
}

// KillContainer kills a container of a pod (exit code 137, as the OOM
// killer would); the kubelet restarts it per the pod's restartPolicy.
// container "" means the pod's first container.
func (c *Cluster) KillContainer(namespace, pod, container string) error {
	node, err := c.podNode(namespace, pod)
	if err != nil {
		return err
	}
	k, err := c.runningKubelet(node)
	if err != nil {
		return err
	}
	if err := k.KillContainer(namespace, pod, container); err != nil {
		return err
	}
	if container == "" {
		// the kubelet killed the first regular container: name it
		res, _ := c.API.Resource("pods")
		if obj, err := c.API.Get(res, namespace, pod); err == nil && len(obj.(*v1.Pod).Spec.Containers) > 0 {
			container = obj.(*v1.Pod).Spec.Containers[0].Name
		}
	}
	c.traceFault(string(FaultKillContainer), "Pod", namespace, pod, fmt.Sprintf("container %q on %s killed", container, node))
	return nil
}

// podNode returns the node a pod is bound to.
func (c *Cluster) podNode(namespace, name string) (string, error) {
	res, _ := c.API.Resource("pods")
	obj, err := c.API.Get(res, namespace, name)
	if err != nil {
		return "", err
	}
	node := obj.(*v1.Pod).Spec.NodeName
	if node == "" {
		return "", fmt.Errorf("pod %s/%s is not bound to a node", namespace, name)
	}
	return node, nil
}

// boundNode returns the node a pod is bound to, false if the pod does not
// exist or is not bound: podNode without the error, answered from the
// server's memo (Server.GetLatest), as the traffic model asks it of every
// endpoint at each re-plan.
func (c *Cluster) boundNode(namespace, name string) (string, bool) {
	res, _ := c.API.Resource("pods")
	obj, ok := c.API.GetLatest(res, namespace, name)
	if !ok {
		return "", false
	}
	node := obj.(*v1.Pod).Spec.NodeName
	return node, node != ""
}

// LabelNode sets and removes node labels.
func (c *Cluster) LabelNode(name string, set map[string]string, remove []string) error {
	err := c.updateNode(name, func(n *v1.Node) {
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		for k, v := range set {
			n.Labels[k] = v
		}
		for _, k := range remove {
			delete(n.Labels, k)
		}
	})
	if err != nil {
		return err
	}
	c.traceFault(string(FaultLabelNode), "Node", "", name, fmt.Sprintf("set %d, removed %d labels", len(set), len(remove)))
	return nil
}

// TaintNode adds taints to a node, replacing any with the same key and
// effect (kubectl taint --overwrite).
func (c *Cluster) TaintNode(name string, taints []v1.Taint) error {
	for i, t := range taints {
		if t.Key == "" || t.Effect == "" {
			return fmt.Errorf("taintNode: taints[%d] needs a key and an effect", i)
		}
	}
	err := c.updateNode(name, func(n *v1.Node) {
		for _, t := range taints {
			kept := n.Spec.Taints[:0:0]
			for _, o := range n.Spec.Taints {
				if o.Key != t.Key || o.Effect != t.Effect {
					kept = append(kept, o)
				}
			}
			n.Spec.Taints = append(kept, t)
		}
	})
	if err != nil {
		return err
	}
	c.traceFault(string(FaultTaintNode), "Node", "", name, taintList(taints))
	return nil
}

// UntaintNode removes taints from a node: those with the given key and
// effect (an empty effect matches every effect of the key).
func (c *Cluster) UntaintNode(name string, taints []v1.Taint) error {
	err := c.updateNode(name, func(n *v1.Node) {
		kept := n.Spec.Taints[:0:0]
		for _, o := range n.Spec.Taints {
			drop := false
			for _, t := range taints {
				if o.Key == t.Key && (t.Effect == "" || o.Effect == t.Effect) {
					drop = true
				}
			}
			if !drop {
				kept = append(kept, o)
			}
		}
		n.Spec.Taints = kept
	})
	if err != nil {
		return err
	}
	c.traceFault(string(FaultUntaintNode), "Node", "", name, taintList(taints))
	return nil
}

func taintList(ts []v1.Taint) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.ToString()
	}
	return strings.Join(parts, ",")
}

// NodeUp reports whether a node's kubelet is running and reachable from the
// control plane (not crashed, not partitioned, not deleted).
func (c *Cluster) NodeUp(name string) bool {
	k := c.kubelets[name]
	return k != nil && k.State() == kubelet.StateRunning
}

// NodeRunning reports whether a node's machine is running (true for a
// partitioned node: its containers keep serving clients that can reach it).
func (c *Cluster) NodeRunning(name string) bool {
	k := c.kubelets[name]
	return k != nil && (k.State() == kubelet.StateRunning || k.State() == kubelet.StatePartitioned)
}

// PodServing reports whether a pod's containers are running on a running
// node, so that a request routed to it would be served.
func (c *Cluster) PodServing(namespace, name string) bool {
	node, ok := c.boundNode(namespace, name)
	if !ok {
		return false
	}
	k := c.kubelets[node]
	return k != nil && k.PodServing(namespace, name)
}

// PodIP returns the IP of a pod's sandbox as its kubelet knows it (before
// the status reporting it reaches the API).
func (c *Cluster) PodIP(namespace, name string) (string, bool) {
	node, ok := c.boundNode(namespace, name)
	if !ok {
		return "", false
	}
	k := c.kubelets[node]
	if k == nil {
		return "", false
	}
	return k.PodIP(namespace, name)
}
