package kubelet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
)

// State is the state of a node's machine and kubelet.
type State string

// Node states.
const (
	// StateNew: created, not started.
	StateNew State = "New"
	// StateRunning: machine up, kubelet reachable from the control plane.
	StateRunning State = "Running"
	// StatePartitioned: machine up and containers running, but the control
	// plane cannot reach the node (no heartbeats, no status writes, no watch).
	StatePartitioned State = "Partitioned"
	// StateCrashed: machine down: no kubelet, no containers, no heartbeats.
	StateCrashed State = "Crashed"
	// StateStopped: the node was removed for good.
	StateStopped State = "Stopped"
)

// Kubelet is one node's agent: it registers the Node and keeps its status
// and Lease fresh, and runs the pods bound to the node through a simulated
// container runtime whose timing and container behaviour come from Config
// and pod annotations. It is a state machine stepped by engine events; see
// the package documentation.
type Kubelet struct {
	// bools and hostIPsCache are the parts of the statuses the kubelet
	// writes that are the same for all its pods; the objects the API server
	// stores are read-only, so they share them.
	bools        [2]*bool
	hostIPsCache []v1.HostIP
	// lastConds is the last conditions slice the kubelet wrote (see
	// conditions); condScratch is where the next one is merged.
	lastConds, condScratch []v1.PodCondition

	eng       *sim.Engine
	cfg       Config
	spec      NodeSpec
	name      string
	component string // "kubelet/<node>"
	c         client.Interface
	rec       record.EventRecorder
	informer  informer.PodInformer
	rnd       *rand.Rand

	// Engine event labels, built once.
	lblSync, lblPull, lblStart, lblExit, lblProbe, lblFlush, lblHeartbeat, lblLease, lblStop, lblBackoff, lblServe string

	state State
	// node identity; bootID changes at every boot.
	machineID, systemUUID, bootID string
	// bootedAt is when the machine last booted (the kubelet started);
	// readyAt is when the node starts reporting Ready (NodeReadyDelay after boot).
	bootedAt    time.Duration
	readyAt     time.Duration
	readyTimer  sim.Timer
	statusTimer sim.Timer
	leaseTimer  sim.Timer
	lease       *coordinationv1.Lease
	// lastReport is when the node status was last written.
	lastReport time.Duration
	// lastUnschedulable is the spec.unschedulable the kubelet process last
	// saw (false when it starts), for its NodeSchedulable events.
	lastUnschedulable bool

	allocatable v1.ResourceList
	capacity    v1.ResourceList
	alloc       resourceSum // allocatable, as numbers
	used        resourceSum // requests of the admitted, active pods
	hostPorts   map[hostPort]types.UID

	workers map[types.UID]*podWorker
	byKey   map[string]*podWorker // namespace/name → worker of the pod's current UID
	images  *imageStore
	ipam    *ipam

	observers []func(namespace, name string, serving bool)
	handlerOK bool
	podsRes   *apiserver.Resource
	nodesRes  *apiserver.Resource
}

type hostPort struct {
	ip       string
	port     int32
	protocol v1.Protocol
}

// resourceSum is a pod's or a node's resources in the units the fit check
// uses (milli-CPU, bytes, pod count, scalar units).
type resourceSum struct {
	milliCPU, memory, ephemeral int64
	pods                        int64
	scalar                      map[v1.ResourceName]int64
}

// fieldPath is the event field path of the regular container name,
// "spec.containers{<name>}" (the same string for every pod of a
// template).
func fieldPath(name string) string { return fieldPaths.get(name) }

// fieldPaths is fieldPath's memo.
var fieldPaths = newSharedMemo(func(name string) string { return "spec.containers{" + name + "}" })

// New creates the kubelet of the node described by spec. c must act as
// "kubelet/<node>", rec record events with source component "kubelet" and
// host <node>, and pods be a pod informer narrowed to the node
// (WithFieldSelector("spec.nodeName=<node>")). Start registers the node.
func New(eng *sim.Engine, c client.Interface, rec record.EventRecorder, pods informer.PodInformer, spec NodeSpec, cfg Config) (*Kubelet, error) {
	if spec.Name == "" {
		return nil, fmt.Errorf("kubelet: node spec has no name")
	}
	cfg = cfg.withDefaults()
	k := &Kubelet{eng: eng, cfg: cfg, spec: spec, name: spec.Name, component: "kubelet/" + spec.Name, c: c, rec: rec,
		informer: pods, rnd: eng.Rand("kubelet/" + spec.Name), state: StateNew,
		workers: map[types.UID]*podWorker{}, byKey: map[string]*podWorker{}, hostPorts: map[hostPort]types.UID{}}
	for _, l := range []struct {
		p *string
		s string
	}{{&k.lblSync, "sync"}, {&k.lblPull, "imagePull"}, {&k.lblStart, "containerStart"}, {&k.lblExit, "containerExit"},
		{&k.lblProbe, "probe"}, {&k.lblFlush, "statusUpdate"}, {&k.lblHeartbeat, "nodeStatus"}, {&k.lblLease, "leaseRenew"},
		{&k.lblStop, "containerStop"}, {&k.lblBackoff, "backOff"}, {&k.lblServe, "appStarted"}} {
		*l.p = k.component + " " + l.s
	}
	var err error
	if k.capacity, k.allocatable, err = nodeResources(spec); err != nil {
		return nil, err
	}
	k.alloc = sumOf(k.allocatable)
	if spec.PodCIDR != "" {
		if k.ipam, err = newIPAM(spec.PodCIDR); err != nil {
			return nil, fmt.Errorf("kubelet %s: %w", spec.Name, err)
		}
	}
	k.images = newImageStore(k)
	res, ok := c.Server().Resource("pods")
	if !ok {
		return nil, fmt.Errorf("kubelet: the API server has no pods resource")
	}
	k.podsRes = res
	if k.nodesRes, ok = c.Server().Resource("nodes"); !ok {
		return nil, fmt.Errorf("kubelet: the API server has no nodes resource")
	}
	k.machineID = k.hex(32)
	k.systemUUID = k.uuid()
	return k, nil
}

func nodeResources(spec NodeSpec) (capacity, allocatable v1.ResourceList, err error) {
	capacity = spec.Capacity.DeepCopy()
	if capacity == nil {
		capacity = v1.ResourceList{}
	}
	for _, r := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
		if _, ok := capacity[r]; !ok {
			return nil, nil, fmt.Errorf("kubelet %s: capacity must include %s", spec.Name, r)
		}
	}
	if _, ok := capacity[v1.ResourcePods]; !ok {
		capacity[v1.ResourcePods] = *resource.NewQuantity(110, resource.DecimalSI)
	}
	allocatable = capacity.DeepCopy()
	for name, q := range spec.Allocatable {
		if c, ok := capacity[name]; ok && q.Cmp(c) > 0 {
			return nil, nil, fmt.Errorf("kubelet %s: allocatable %s %s exceeds capacity %s", spec.Name, name, q.String(), c.String())
		}
		allocatable[name] = q.DeepCopy()
	}
	return capacity, allocatable, nil
}

func sumOf(rl v1.ResourceList) resourceSum {
	var s resourceSum
	for name, q := range rl {
		switch name {
		case v1.ResourceCPU:
			s.milliCPU = q.MilliValue()
		case v1.ResourceMemory:
			s.memory = q.Value()
		case v1.ResourceEphemeralStorage:
			s.ephemeral = q.Value()
		case v1.ResourcePods:
			s.pods = q.Value()
		default:
			if s.scalar == nil {
				s.scalar = map[v1.ResourceName]int64{}
			}
			s.scalar[name] = q.Value()
		}
	}
	return s
}

func (k *Kubelet) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[k.rnd.IntN(16)]
	}
	return string(b)
}

func (k *Kubelet) uuid() string {
	h := k.hex(32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Name is the node's name.
func (k *Kubelet) Name() string { return k.name }

// State is the node's state.
func (k *Kubelet) State() State { return k.state }

// Config is the kubelet's configuration (defaults filled in).
func (k *Kubelet) Config() Config { return k.cfg }

// Spec is the node spec the kubelet registered.
func (k *Kubelet) Spec() NodeSpec { return k.spec }

// reachable reports whether the kubelet can talk to the API server.
func (k *Kubelet) reachable() bool { return k.state == StateRunning }

// alive reports whether the machine runs (containers, probes, timers).
func (k *Kubelet) alive() bool { return k.state == StateRunning || k.state == StatePartitioned }

// OnServingChange registers fn to be called whenever one of the node's pods
// starts or stops serving (see PodServing), inside the engine event of the
// change. Node-wide changes (crash, recovery) call it for every pod whose
// answer changed.
func (k *Kubelet) OnServingChange(fn func(namespace, name string, serving bool)) {
	k.observers = append(k.observers, fn)
}

func (k *Kubelet) trace(verb, kind, ns, name, msg string) {
	if !k.eng.Tracing() {
		return
	}
	k.eng.Trace(sim.Record{Component: k.component, Verb: verb, Kind: kind, Namespace: ns, Name: name, Msg: msg})
}

// refRecorder is an event recorder that takes the object reference by
// value (kubesim's record.Recorder): a kubelet records a few Events about
// every container it starts.
type refRecorder interface {
	EventFor(ref v1.ObjectReference, eventtype, reason, message string)
}

// event records an event if the node can reach the API server (events of
// a partitioned kubelet are lost, as its event broadcaster gives up).
func (k *Kubelet) event(obj v1.ObjectReference, eventType, reason, msg string) {
	if !k.reachable() || k.rec == nil {
		return
	}
	if r, ok := k.rec.(refRecorder); ok {
		r.EventFor(obj, eventType, reason, msg) // the reference stays a value
		return
	}
	// A copy of its own for another recorder: &obj would put obj on the
	// heap for the common case above too.
	ref := obj
	k.rec.Event(&ref, eventType, reason, msg)
}

func (k *Kubelet) nodeRef() v1.ObjectReference {
	// Upstream's kubelet refers to its node with UID = node name.
	return v1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: k.name, UID: types.UID(k.name)}
}

// jitter draws d uniformly from [d×(1−f), d×(1+f)] with the node's stream.
func (k *Kubelet) jitter(d time.Duration) time.Duration {
	f := k.cfg.DurationJitter
	if f == 0 || d == 0 {
		return d
	}
	return time.Duration(float64(d) * (1 - f + 2*f*k.rnd.Float64()))
}

// heartbeatPeriod is period extended by up to HeartbeatJitter (wait.Jitter).
func (k *Kubelet) heartbeatPeriod(period time.Duration) time.Duration {
	if k.cfg.HeartbeatJitter == 0 {
		return period
	}
	return period + time.Duration(k.cfg.HeartbeatJitter*k.rnd.Float64()*float64(period))
}

// ---- lifecycle of the node ----

// Start boots the node: it registers the Node (or reconciles an existing
// one), creates its Lease, starts the status and lease loops and starts
// watching the pods bound to it.
func (k *Kubelet) Start() error {
	if k.state != StateNew {
		return fmt.Errorf("kubelet %s: already started", k.name)
	}
	k.state = StateRunning
	k.boot()
	if err := k.startProcess(); err != nil {
		k.state = StateStopped
		return err
	}
	k.renewLease()
	k.scheduleHeartbeats()
	if !k.handlerOK {
		k.handlerOK = true
		k.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { k.onPod(obj) },
			UpdateFunc: func(_, obj any) { k.onPod(obj) },
			DeleteFunc: k.onPodDelete,
		})
	}
	k.informer.Resume()
	return nil
}

// startProcess is what a starting kubelet process does before its loops
// run: its Starting event (BirthCry), the initial Node (whose pressure
// condition setters record their events), the container manager's
// NodeAllocatableEnforced, and registration.
func (k *Kubelet) startProcess() error {
	k.event(k.nodeRef(), v1.EventTypeNormal, "Starting", "Starting kubelet.")
	n := k.initialNode()
	k.recordConditionEvents(nil, n.Status.Conditions)
	k.lastUnschedulable = false
	k.recordSchedulable(n)
	k.event(k.nodeRef(), v1.EventTypeNormal, "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods")
	return k.register(n)
}

// boot starts a new boot of the machine.
func (k *Kubelet) boot() {
	k.bootID = k.uuid()
	k.bootedAt = k.eng.Elapsed()
	k.readyAt = k.bootedAt + k.cfg.NodeReadyDelay
	if k.cfg.NodeReadyDelay > 0 {
		k.readyTimer = k.eng.After(k.cfg.NodeReadyDelay, k.lblHeartbeat, k.syncNodeStatus)
	}
}

// Crash stops the machine: containers, probes, image pulls, heartbeats and
// the pod watch stop; the Node, its Lease and the pods stay in the API as
// they were. Recover boots it again.
func (k *Kubelet) Crash() error {
	if !k.alive() {
		return fmt.Errorf("node %s is not running (state %s)", k.name, k.state)
	}
	k.halt()
	k.state = StateCrashed
	k.trace("nodeCrashed", "Node", "", k.name, "kubelet, containers and heartbeats stopped")
	return nil
}

// halt stops everything that runs on the machine.
func (k *Kubelet) halt() {
	k.informer.Stop()
	k.readyTimer.Stop()
	k.statusTimer.Stop()
	k.leaseTimer.Stop()
	k.images.cancel()
	for _, w := range k.sortedWorkers() {
		w.lose()
	}
}

// Partition cuts the node off from the control plane: its watch stops, its
// heartbeats, status writes and events no longer reach the API server;
// containers keep running (and restarting) and keep serving clients that
// can reach the node.
func (k *Kubelet) Partition() error {
	if k.state != StateRunning {
		return fmt.Errorf("node %s is not running (state %s)", k.name, k.state)
	}
	k.informer.Stop()
	k.state = StatePartitioned
	k.trace("nodePartitioned", "Node", "", k.name, "control plane cannot reach the node")
	return nil
}

// Recover undoes a crash (the machine boots again and a new kubelet process
// starts: it registers again, reconciling the Node; its first status update
// records Rebooted; it catches up with the API server, finishes deleting
// pods deleted meanwhile and starts the other pods' containers from
// scratch, counting a restart for every container that had run) or a
// partition (the kubelet catches up, reports what happened meanwhile and
// handles deletions it missed).
func (k *Kubelet) Recover() error {
	var err error
	switch k.state {
	case StateCrashed:
		k.state = StateRunning
		k.boot()
		k.trace("nodeRecovered", "Node", "", k.name, "machine booted again")
		err = k.startProcess() // reported once the rest is done: the kubelet runs on
	case StatePartitioned:
		k.state = StateRunning
		k.trace("nodeRecovered", "Node", "", k.name, "control plane can reach the node again")
	default:
		return fmt.Errorf("node %s is neither crashed nor partitioned (state %s)", k.name, k.state)
	}
	k.informer.Resume()
	k.catchUp()
	k.syncNodeStatus()
	k.renewLease()
	k.scheduleHeartbeats()
	return err
}

// catchUp lists the node's pods (as a restarting kubelet does), and
// reconciles every known pod with its current version.
func (k *Kubelet) catchUp() {
	list, err := k.c.CoreV1().Pods("").List(context.TODO(), metav1.ListOptions{FieldSelector: "spec.nodeName=" + k.name})
	if err != nil {
		panic(fmt.Sprintf("kubelet %s: list pods on recovery: %v", k.name, err))
	}
	current := make(map[types.UID]*v1.Pod, len(list.Items))
	for i := range list.Items {
		current[list.Items[i].UID] = &list.Items[i]
	}
	for _, w := range k.sortedWorkers() {
		if p, ok := current[w.uid]; ok {
			w.recover(p)
		} else {
			w.removed()
		}
	}
	for i := range list.Items {
		p := &list.Items[i]
		if _, ok := k.workers[p.UID]; !ok {
			k.onPod(p)
		}
	}
}

// Stop removes the node for good (its Node object is being deleted): every
// container stops at once and nothing more is written.
func (k *Kubelet) Stop() {
	if k.state == StateStopped {
		return
	}
	if k.alive() {
		k.halt()
	}
	k.state = StateStopped
	for _, w := range k.sortedWorkers() {
		w.release()
		delete(k.workers, w.uid)
		delete(k.byKey, w.key)
	}
	k.trace("nodeStopped", "Node", "", k.name, "node removed")
}

func (k *Kubelet) sortedWorkers() []*podWorker {
	out := make([]*podWorker, 0, len(k.workers))
	for _, w := range k.workers {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].key != out[j].key {
			return out[i].key < out[j].key
		}
		return out[i].uid < out[j].uid
	})
	return out
}

// ---- node registration, status and lease ----

func (k *Kubelet) nodeLabels() map[string]string {
	l := map[string]string{
		v1.LabelHostname:          k.name,
		v1.LabelOSStable:          "linux",
		v1.LabelArchStable:        "amd64",
		"beta.kubernetes.io/os":   "linux",
		"beta.kubernetes.io/arch": "amd64",
	}
	for key, v := range k.spec.Labels {
		l[key] = v
	}
	return l
}

// initialNode is the Node the kubelet registers.
func (k *Kubelet) initialNode() *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.name, Labels: k.nodeLabels(),
		Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0", annotationControllerManagedAttach: "true"}},
		Spec: v1.NodeSpec{PodCIDR: k.spec.PodCIDR, Unschedulable: k.spec.Unschedulable}}
	if k.spec.PodCIDR != "" {
		n.Spec.PodCIDRs = []string{k.spec.PodCIDR}
	}
	n.Spec.Taints = append(n.Spec.Taints, k.spec.Taints...)
	if k.spec.Unschedulable && !hasTaint(n.Spec.Taints, v1.TaintNodeUnschedulable, v1.TaintEffectNoSchedule) {
		n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule})
	}
	k.setNodeStatus(n)
	return n
}

func hasTaint(ts []v1.Taint, key string, effect v1.TaintEffect) bool {
	for _, t := range ts {
		if t.Key == key && t.Effect == effect {
			return true
		}
	}
	return false
}

// defaultLabels are the labels a kubelet reconciles on a Node that exists
// when it registers, when its initial Node has them (updateDefaultLabels);
// other labels, those of --node-labels included, are left as they are.
var defaultLabels = []string{v1.LabelHostname, v1.LabelTopologyZone, v1.LabelTopologyRegion,
	v1.LabelFailureDomainBetaZone, v1.LabelFailureDomainBetaRegion, v1.LabelInstanceTypeStable, v1.LabelInstanceType,
	v1.LabelOSStable, v1.LabelArchStable, v1.LabelWindowsBuild, "beta.kubernetes.io/os", "beta.kubernetes.io/arch"}

// annotationControllerManagedAttach is the attach-detach annotation the
// kubelet registers with and reconciles (volutil.ControllerManagedAttachAnnotation).
const annotationControllerManagedAttach = "volumes.kubernetes.io/controller-managed-attach-detach"

// register creates the Node initial, or, if one with the name exists,
// reconciles its default labels and its attach-detach annotation and
// updates its status (tryRegisterWithAPIServer, then the status update
// that follows).
func (k *Kubelet) register(initial *v1.Node) error {
	nodes := k.c.CoreV1().Nodes()
	n, err := nodes.Create(context.TODO(), initial, metav1.CreateOptions{})
	if err == nil {
		k.lastReport = k.eng.Elapsed()
		k.trace("registered", "Node", "", k.name, "node registered")
		k.traceReady(nil, n.Status.Conditions)
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", k.name, err)
	}
	existing, err := nodes.Get(context.TODO(), k.name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("register node %s: %w", k.name, err)
	}
	changed := false
	if existing.Labels == nil {
		existing.Labels = map[string]string{}
	}
	for _, key := range defaultLabels {
		v, ok := initial.Labels[key]
		if !ok {
			continue
		}
		if existing.Labels[key] != v {
			existing.Labels[key] = v
			changed = true
		}
		if existing.Labels[key] == "" {
			delete(existing.Labels, key)
		}
	}
	if want := initial.Annotations[annotationControllerManagedAttach]; existing.Annotations[annotationControllerManagedAttach] != want {
		if existing.Annotations == nil {
			existing.Annotations = map[string]string{}
		}
		existing.Annotations[annotationControllerManagedAttach] = want
		changed = true
	}
	if changed {
		if _, err := nodes.Update(context.TODO(), existing, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("register node %s: %w", k.name, err)
		}
	}
	k.trace("registered", "Node", "", k.name, "node was registered before")
	k.syncNodeStatus()
	return nil
}

func (k *Kubelet) ready() bool { return k.eng.Elapsed() >= k.readyAt }

// setNodeStatus fills n's status as the kubelet's status setters do: the
// conditions keep their transition time while unchanged; heartbeats are now.
func (k *Kubelet) setNodeStatus(n *v1.Node) {
	now := metav1.NewTime(k.eng.Now())
	st := &n.Status
	st.Capacity = k.capacity.DeepCopy()
	st.Allocatable = k.allocatable.DeepCopy()
	if k.spec.InternalIP != "" {
		st.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: k.spec.InternalIP}, {Type: v1.NodeHostName, Address: k.name}}
	} else {
		st.Addresses = []v1.NodeAddress{{Type: v1.NodeHostName, Address: k.name}}
	}
	st.DaemonEndpoints = v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: 10250}}
	st.NodeInfo = v1.NodeSystemInfo{MachineID: k.machineID, SystemUUID: k.systemUUID, BootID: k.bootID,
		KernelVersion: k.cfg.KernelVersion, OSImage: k.cfg.OSImage, ContainerRuntimeVersion: k.cfg.ContainerRuntimeVersion,
		KubeletVersion: k.cfg.KubeletVersion, OperatingSystem: "linux", Architecture: "amd64"}
	st.Images = k.images.statusImages(k.cfg.NodeStatusMaxImages)
	ready := v1.NodeCondition{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"}
	if !k.ready() {
		ready = v1.NodeCondition{Type: v1.NodeReady, Status: v1.ConditionFalse, Reason: "KubeletNotReady",
			Message: "container runtime status check may not have completed yet"}
	}
	want := []v1.NodeCondition{
		{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: v1.NodeDiskPressure, Status: v1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: v1.NodePIDPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		ready,
	}
	// The setters update their condition where it is and append it when
	// it is missing (pressure conditions, then Ready), so conditions other
	// components added keep their place.
	out := make([]v1.NodeCondition, len(st.Conditions), len(st.Conditions)+len(want))
	copy(out, st.Conditions)
	for _, c := range want {
		c.LastHeartbeatTime = now
		c.LastTransitionTime = now
		i := conditionIndex(out, c.Type)
		if i < 0 {
			out = append(out, c)
			continue
		}
		if out[i].Status == c.Status && !out[i].LastTransitionTime.IsZero() {
			c.LastTransitionTime = out[i].LastTransitionTime
		}
		out[i] = c
	}
	st.Conditions = out
}

func conditionIndex(list []v1.NodeCondition, t v1.NodeConditionType) int {
	for i := range list {
		if list[i].Type == t {
			return i
		}
	}
	return -1
}

// setRequiredLabels puts back kubernetes.io/os and kubernetes.io/arch on
// n when they are missing or wrong, reporting whether it did: the status
// update writes them too (Kubelet.updateNode, since v1.23).
func setRequiredLabels(n *v1.Node) bool {
	fixed := false
	for _, l := range [...]struct{ key, value string }{{v1.LabelOSStable, "linux"}, {v1.LabelArchStable, "amd64"}} {
		if v, ok := n.Labels[l.key]; ok && v == l.value {
			continue
		}
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[l.key] = l.value
		fixed = true
	}
	return fixed
}

// recordSchedulable records NodeNotSchedulable or NodeSchedulable when n's
// spec.unschedulable is not the one the kubelet last saw, as the last of
// its status setters does (recordNodeSchedulableEvent), whether or not the
// status is written.
func (k *Kubelet) recordSchedulable(n *v1.Node) {
	if n.Spec.Unschedulable == k.lastUnschedulable {
		return
	}
	k.lastUnschedulable = n.Spec.Unschedulable
	reason := "NodeSchedulable"
	if n.Spec.Unschedulable {
		reason = "NodeNotSchedulable"
	}
	k.event(k.nodeRef(), v1.EventTypeNormal, reason, fmt.Sprintf("Node %s status is now: %s", k.name, reason))
}

// traceReady traces the node's turn to Ready in a status it wrote
// (registration included).
func (k *Kubelet) traceReady(old, cur []v1.NodeCondition) {
	i, j := conditionIndex(cur, v1.NodeReady), conditionIndex(old, v1.NodeReady)
	if i >= 0 && cur[i].Status == v1.ConditionTrue && (j < 0 || old[j].Status != v1.ConditionTrue) {
		k.trace("nodeReady", "Node", "", k.name, "kubelet is posting ready status")
	}
}

// recordConditionEvents emits the kubelet's node events for the condition
// transitions from old to cur, as the status setters do
// (nodestatus.MemoryPressureCondition and friends, ReadyCondition): a
// pressure condition records its event when it is created too (its status
// starts Unknown), Ready only when an existing Ready condition changes.
func (k *Kubelet) recordConditionEvents(old, cur []v1.NodeCondition) {
	for _, c := range cur {
		was := v1.ConditionUnknown
		i := conditionIndex(old, c.Type)
		if i >= 0 {
			was = old[i].Status
		}
		if was == c.Status {
			continue
		}
		var reason string
		switch {
		case c.Type == v1.NodeMemoryPressure && c.Status == v1.ConditionFalse:
			reason = "NodeHasSufficientMemory"
		case c.Type == v1.NodeDiskPressure && c.Status == v1.ConditionFalse:
			reason = "NodeHasNoDiskPressure"
		case c.Type == v1.NodePIDPressure && c.Status == v1.ConditionFalse:
			reason = "NodeHasSufficientPID"
		case c.Type == v1.NodeReady && c.Status == v1.ConditionTrue:
			reason = "NodeReady"
		case c.Type == v1.NodeReady:
			reason = "NodeNotReady"
		default:
			continue
		}
		if c.Type == v1.NodeReady && i < 0 {
			continue // a new Ready condition records no event
		}
		k.event(k.nodeRef(), v1.EventTypeNormal, reason, fmt.Sprintf("Node %s status is now: %s", k.name, reason))
	}
}

// nodeStatusChanged is upstream's nodeStatusHasChanged: conditions compared
// without their heartbeat and transition times, everything else as is.
func nodeStatusChanged(old, cur *v1.NodeStatus) bool {
	if len(old.Conditions) != len(cur.Conditions) {
		return true
	}
	for i := range old.Conditions {
		a, b := old.Conditions[i], cur.Conditions[i]
		if a.Type != b.Type || a.Status != b.Status || a.Reason != b.Reason || a.Message != b.Message {
			return true
		}
	}
	o, c := *old, *cur
	o.Conditions, c.Conditions = nil, nil
	return !statusEqual(&o, &c)
}

func statusEqual(a, b *v1.NodeStatus) bool {
	da, err1 := a.Marshal()
	db, err2 := b.Marshal()
	return err1 == nil && err2 == nil && string(da) == string(db)
}

func (k *Kubelet) scheduleHeartbeats() {
	k.statusTimer.Stop()
	k.leaseTimer.Stop()
	k.statusTimer = k.eng.Background(k.heartbeatPeriod(k.cfg.NodeStatusUpdateFrequency), k.lblHeartbeat, k.statusTick)
	renew := time.Duration(k.cfg.NodeLeaseDurationSeconds) * time.Second / 4
	k.leaseTimer = k.eng.Background(k.heartbeatPeriod(renew), k.lblLease, k.leaseTick)
}

func (k *Kubelet) statusTick() {
	k.statusTimer = k.eng.Background(k.heartbeatPeriod(k.cfg.NodeStatusUpdateFrequency), k.lblHeartbeat, k.statusTick)
	k.syncNodeStatus()
}

func (k *Kubelet) leaseTick() {
	renew := time.Duration(k.cfg.NodeLeaseDurationSeconds) * time.Second / 4
	k.leaseTimer = k.eng.Background(k.heartbeatPeriod(renew), k.lblLease, k.leaseTick)
	k.renewLease()
}

// syncNodeStatus recomputes the node status and writes it when it changed
// or NodeStatusReportFrequency passed since the last write (tryUpdateNodeStatus).
func (k *Kubelet) syncNodeStatus() {
	if !k.reachable() {
		return
	}
	nodes := k.c.CoreV1().Nodes()
	for try := 0; try < 5; try++ {
		// The first try reads the API server's cache (resourceVersion 0),
		// the retries after a conflict the latest version, as upstream.
		opts := metav1.GetOptions{}
		if try == 0 {
			opts.ResourceVersion = "0"
		}
		n, err := nodes.Get(context.TODO(), k.name, opts)
		if err != nil {
			if try == 0 {
				continue // not in the cache yet: read the store
			}
			return // deleted behind the kubelet's back; nothing to report to
		}
		orig := n.Status.DeepCopy()
		labelsFixed := setRequiredLabels(n)
		k.setNodeStatus(n)
		// nodestatus.MachineInfo: another boot ID than the Node's means
		// the machine rebooted since the status was last written.
		rebooted := orig.NodeInfo.BootID != "" && orig.NodeInfo.BootID != k.bootID
		now := k.eng.Elapsed()
		if now < k.lastReport+k.cfg.NodeStatusReportFrequency && !labelsFixed && !nodeStatusChanged(orig, &n.Status) {
			k.recordSchedulable(n)
			return
		}
		if _, err := nodes.UpdateStatus(context.TODO(), n, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsConflict(err) {
				continue
			}
			return
		}
		k.lastReport = now
		if rebooted {
			k.event(k.nodeRef(), v1.EventTypeWarning, "Rebooted", fmt.Sprintf("Node %s has been rebooted, boot id: %s", k.name, k.bootID))
		}
		k.recordConditionEvents(orig.Conditions, n.Status.Conditions)
		k.recordSchedulable(n)
		k.traceReady(orig.Conditions, n.Status.Conditions)
		return
	}
}

// renewLease creates or renews the node's Lease in kube-node-lease, as
// upstream's lease controller: a renewal updates the Lease it last wrote
// with a new renewTime, reading it again after a conflict; a Lease that is
// missing is created, owned by the Node, whose UID is read afresh
// (SetNodeOwnerFunc): without the Node there is no Lease; a Lease without
// an owner gets one at a renewal when the Node is there.
func (k *Kubelet) renewLease() {
	if !k.reachable() {
		return
	}
	leases := k.c.CoordinationV1().Leases(v1.NamespaceNodeLease)
	now := metav1.NewMicroTime(k.eng.Now())
	for try := 0; try < 5; try++ {
		if k.lease == nil {
			cur, err := leases.Get(context.TODO(), k.name, metav1.GetOptions{})
			if err == nil {
				k.lease = cur
			} else if apierrors.IsNotFound(err) {
				dur := k.cfg.NodeLeaseDurationSeconds
				l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: k.name, Namespace: v1.NamespaceNodeLease},
					Spec: coordinationv1.LeaseSpec{HolderIdentity: &k.name, LeaseDurationSeconds: &dur, RenewTime: &now}}
				if !k.setLeaseOwner(l) {
					return // the lease controller skips the create until the next renewal
				}
				created, err := leases.Create(context.TODO(), l, metav1.CreateOptions{})
				if err == nil {
					k.lease = created
					return
				}
				if !apierrors.IsAlreadyExists(err) {
					return
				}
				continue
			} else {
				return
			}
		}
		l := k.lease.DeepCopy()
		l.Spec.RenewTime = &now
		k.setLeaseOwner(l) // an update goes on without
		updated, err := leases.Update(context.TODO(), l, metav1.UpdateOptions{})
		if err == nil {
			k.lease = updated
			return
		}
		k.lease = nil // conflict or gone: read again
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return
		}
	}
}

// setLeaseOwner makes the Node the owner of l if l has no owner yet,
// reporting whether l has one.
func (k *Kubelet) setLeaseOwner(l *coordinationv1.Lease) bool {
	if len(l.OwnerReferences) > 0 {
		return true
	}
	n, err := k.c.CoreV1().Nodes().Get(context.TODO(), k.name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: k.name, UID: n.UID}}
	return true
}

// ---- pods: informer handlers ----

func (k *Kubelet) onPod(obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok || !k.alive() || pod.Spec.NodeName != k.name {
		return
	}
	if w := k.workers[pod.UID]; w != nil {
		w.update(pod)
		return
	}
	if !k.reachable() {
		return // a partitioned kubelet does not see new pods
	}
	k.addPod(pod)
}

func (k *Kubelet) onPodDelete(obj any) {
	if !k.alive() {
		return
	}
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	if w := k.workers[pod.UID]; w != nil {
		w.removed()
	}
}

// addPod takes a newly seen pod: a terminal pod is left alone (deleted if
// it is being deleted), anything else is admitted or rejected.
func (k *Kubelet) addPod(pod *v1.Pod) {
	if pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
		if pod.DeletionTimestamp != nil {
			k.deletePod(pod.Namespace, pod.Name, pod.UID)
		}
		return
	}
	w := newPodWorker(k, pod)
	k.workers[pod.UID] = w
	// An older pod of the same name may still be terminating here; queries
	// by name answer for the newer one.
	k.byKey[w.key] = w
	if reason, msg := k.admit(pod, w.req); reason != "" {
		w.reject(reason, msg)
		return
	}
	w.admitted()
}

// deletePod deletes a pod with grace 0 once the kubelet is done with it.
func (k *Kubelet) deletePod(ns, name string, uid types.UID) {
	if !k.reachable() {
		return
	}
	zero := int64(0)
	err := k.c.CoreV1().Pods(ns).Delete(context.TODO(), name, metav1.DeleteOptions{GracePeriodSeconds: &zero,
		Preconditions: &metav1.Preconditions{UID: &uid}})
	if err == nil {
		k.trace("podDeleted", "Pod", ns, name, "containers stopped; pod object removed")
	}
}

// ---- queries ----

// PodServing reports whether the pod's regular containers all run on this
// node with their applications started (see AnnotationStartupDuration), so
// they accept connections (a partitioned node's containers count: they
// still serve clients that can reach them).
func (k *Kubelet) PodServing(namespace, name string) bool {
	w := k.byKey[namespace+"/"+name]
	return w != nil && k.alive() && w.isServing()
}

// PodIP returns the IP of the pod's sandbox, if it has one.
func (k *Kubelet) PodIP(namespace, name string) (string, bool) {
	w := k.byKey[namespace+"/"+name]
	if w == nil || w.ip == "" {
		return "", false
	}
	return w.ip, true
}

// Images lists the images on the node, sorted.
func (k *Kubelet) Images() []string {
	out := make([]string, 0, len(k.images.present))
	for n := range k.images.present {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// PodCount is the number of pods the kubelet is running or still
// terminating (the admitted, active pods).
func (k *Kubelet) PodCount() int { return int(k.used.pods) }

// ContainerInfo describes one container as the kubelet's runtime sees it.
type ContainerInfo struct {
	Name         string
	Running      bool
	Ready        bool
	RestartCount int32
}

// Containers describes the containers of a pod on this node (init
// containers first), or nil if the pod is unknown.
func (k *Kubelet) Containers(namespace, name string) []ContainerInfo {
	w := k.byKey[namespace+"/"+name]
	if w == nil {
		return nil
	}
	out := make([]ContainerInfo, 0, len(w.all))
	for _, c := range w.all {
		out = append(out, ContainerInfo{Name: c.name, Running: c.state == cRunning, Ready: c.ready, RestartCount: c.restartCount})
	}
	return out
}

// KillContainer kills a running container of a pod from outside the kubelet
// (as the kernel's OOM killer or `kill -9` would): it exits with code 137
// and is restarted per the pod's restartPolicy. container "" means the
// first regular container.
func (k *Kubelet) KillContainer(namespace, name, containerName string) error {
	if !k.alive() {
		return fmt.Errorf("node %s is not running (state %s)", k.name, k.state)
	}
	w := k.byKey[namespace+"/"+name]
	if w == nil {
		return fmt.Errorf("pod %s/%s is not on node %s", namespace, name, k.name)
	}
	var c *container
	if containerName == "" {
		if len(w.regular()) > 0 {
			c = w.regular()[0]
		}
	} else {
		for _, x := range w.all {
			if x.name == containerName {
				c = x
			}
		}
	}
	if c == nil {
		return fmt.Errorf("pod %s/%s has no container %q", namespace, name, containerName)
	}
	if c.state != cRunning {
		return fmt.Errorf("container %s of pod %s/%s is not running", c.name, namespace, name)
	}
	k.trace("containerKilled", "Pod", namespace, name, "container "+c.name+" killed (exit code 137)")
	w.exited(c, 137, reasonError, false)
	return nil
}

// ---- admission ----

// admit runs the kubelet's admission checks (upstream's predicate admit
// handler): resources first (pods, cpu, memory, ephemeral-storage, extended
// resources, leaving out the extended resources the node does not have),
// then the OS label, node affinity, host ports and untolerated
// NoExecute taints. It returns a reason and message for a rejection.
func (k *Kubelet) admit(pod *v1.Pod, req resourceSum) (string, string) {
	if os, ok := pod.Labels[v1.LabelOSStable]; ok && os != "linux" {
		return "PodOSSelectorNodeLabelDoesNotMatch", "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"
	}
	if pod.Spec.OS != nil && pod.Spec.OS.Name != v1.Linux {
		return "PodOSNotSupported", "Failed to admit pod as the OS field doesn't match node OS"
	}
	insufficient := func(name string, requested, used, capacity int64) (string, string) {
		reason := "OutOf" + name
		return reason, fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", name, requested, used, capacity)
	}
	if k.used.pods+1 > k.alloc.pods {
		return insufficient("pods", 1, k.used.pods, k.alloc.pods)
	}
	if req.milliCPU > 0 && req.milliCPU > k.alloc.milliCPU-k.used.milliCPU {
		return insufficient("cpu", req.milliCPU, k.used.milliCPU, k.alloc.milliCPU)
	}
	if req.memory > 0 && req.memory > k.alloc.memory-k.used.memory {
		return insufficient("memory", req.memory, k.used.memory, k.alloc.memory)
	}
	if req.ephemeral > 0 && req.ephemeral > k.alloc.ephemeral-k.used.ephemeral {
		return insufficient("ephemeral-storage", req.ephemeral, k.used.ephemeral, k.alloc.ephemeral)
	}
	names := make([]string, 0, len(req.scalar))
	for n := range req.scalar {
		names = append(names, string(n))
	}
	sort.Strings(names)
	for _, n := range names {
		rn := v1.ResourceName(n)
		if _, known := k.alloc.scalar[rn]; !known && isExtendedResource(rn) {
			// removeMissingExtendedResources: a cluster-level resource
			// the node does not know is not the kubelet's to check.
			continue
		}
		if v := req.scalar[rn]; v > 0 && v > k.alloc.scalar[rn]-k.used.scalar[rn] {
			return insufficient(n, v, k.used.scalar[rn], k.alloc.scalar[rn])
		}
	}
	node := k.currentNode()
	if node != nil && !nodeAffinityMatches(pod, node) {
		return "NodeAffinity", "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
	}
	for _, p := range podHostPorts(pod) {
		if _, taken := k.hostPorts[p]; taken {
			return "NodePorts", "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"
		}
	}
	if node != nil && untoleratedNoExecute(pod, node) {
		return "TaintToleration", "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate"
	}
	return "", ""
}

// currentNode reads the node as the API server's cache has it (upstream
// reads a node informer), shared and read-only: admission only looks at
// labels and taints.
func (k *Kubelet) currentNode() *v1.Node {
	obj, err := k.c.Server().GetCached(k.nodesRes, "", k.name)
	if err != nil {
		return nil
	}
	return obj.(*v1.Node)
}

// isExtendedResource is upstream's helper.IsExtendedResourceName: a
// domain-qualified name outside kubernetes.io (example.com/gpu).
func isExtendedResource(name v1.ResourceName) bool {
	s := string(name)
	if !strings.Contains(s, "/") || strings.Contains(s, v1.ResourceDefaultNamespacePrefix) || strings.HasPrefix(s, v1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(v1.DefaultResourceRequestsPrefix+s)) == 0
}

func (s *resourceSum) add(o resourceSum, sign int64) {
	s.milliCPU += sign * o.milliCPU
	s.memory += sign * o.memory
	s.ephemeral += sign * o.ephemeral
	s.pods += sign * o.pods
	for n, v := range o.scalar {
		if s.scalar == nil {
			s.scalar = map[v1.ResourceName]int64{}
		}
		s.scalar[n] += sign * v
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// boolPtr returns the kubelet's shared pointer to b, for the statuses it
// writes (stored objects are read-only).
func (k *Kubelet) boolPtr(b bool) *bool {
	i := 0
	if b {
		i = 1
	}
	if k.bools[i] == nil {
		k.bools[i] = &b
	}
	return k.bools[i]
}

// hostIPs returns the status.hostIPs of the kubelet's pods, shared.
func (k *Kubelet) hostIPs(ip string) []v1.HostIP {
	if len(k.hostIPsCache) != 1 || k.hostIPsCache[0].IP != ip {
		k.hostIPsCache = []v1.HostIP{{IP: ip}}
	}
	return k.hostIPsCache
}
