package nodelifecycle

import (
	"context"
	"fmt"
	"sort"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kubesim/kubesim/controllers/nodeutil"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
)

// Component is the name the controller traces under.
const Component = "node-lifecycle-controller"

// EventSource is the source component of the controller's events, as
// upstream ("node-controller").
const EventSource = "node-controller"

var (
	// UnreachableTaintTemplate is the NoExecute taint of a node whose Ready
	// condition is Unknown.
	UnreachableTaintTemplate = &v1.Taint{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute}
	// NotReadyTaintTemplate is the NoExecute taint of a node whose Ready
	// condition is False.
	NotReadyTaintTemplate = &v1.Taint{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoExecute}

	// nodeConditionToTaintKeyStatusMap says which NoSchedule taint a node
	// condition in a given status calls for (upstream's map of the same name).
	nodeConditionToTaintKeyStatusMap = map[v1.NodeConditionType]map[v1.ConditionStatus]string{
		v1.NodeReady: {
			v1.ConditionFalse:   v1.TaintNodeNotReady,
			v1.ConditionUnknown: v1.TaintNodeUnreachable,
		},
		v1.NodeMemoryPressure:     {v1.ConditionTrue: v1.TaintNodeMemoryPressure},
		v1.NodeDiskPressure:       {v1.ConditionTrue: v1.TaintNodeDiskPressure},
		v1.NodeNetworkUnavailable: {v1.ConditionTrue: v1.TaintNodeNetworkUnavailable},
		v1.NodePIDPressure:        {v1.ConditionTrue: v1.TaintNodePIDPressure},
	}

	// taintKeyToNodeConditionMap lists the condition-driven taint keys this
	// controller owns.
	taintKeyToNodeConditionMap = map[string]v1.NodeConditionType{
		v1.TaintNodeNotReady:           v1.NodeReady,
		v1.TaintNodeUnreachable:        v1.NodeReady,
		v1.TaintNodeNetworkUnavailable: v1.NodeNetworkUnavailable,
		v1.TaintNodeMemoryPressure:     v1.NodeMemoryPressure,
		v1.TaintNodeDiskPressure:       v1.NodeDiskPressure,
		v1.TaintNodePIDPressure:        v1.NodePIDPressure,
	}
)

// ZoneState is the health of a zone, which sets its NoExecute tainting rate.
type ZoneState string

// Zone states (upstream's stateInitial, stateNormal, ...).
const (
	StateInitial           ZoneState = "Initial"
	StateNormal            ZoneState = "Normal"
	StateFullDisruption    ZoneState = "FullDisruption"
	StatePartialDisruption ZoneState = "PartialDisruption"
)

const (
	// nodeHealthUpdateRetry bounds the attempts to write a node's health
	// (upstream NodeHealthUpdateRetry).
	nodeHealthUpdateRetry = 5
	// noExecuteRetryWait is how long a node without a Ready condition waits
	// in the tainting queue before it is looked at again (upstream 50 ms).
	noExecuteRetryWait = 50 * time.Millisecond
	// labelNodeDisruptionExclusion excludes a node from the zone health
	// computation.
	labelNodeDisruptionExclusion = "node.kubernetes.io/exclude-disruption"
)

// labelReconcileInfo lists the beta labels kept equal to their GA labels
// (upstream reconcileNodeLabels).
var labelReconcileInfo = []struct{ primaryKey, secondaryKey string }{
	{v1.LabelOSStable, "beta.kubernetes.io/os"},
	{v1.LabelArchStable, "beta.kubernetes.io/arch"},
}

// nodeHealthData is what the controller last observed of a node, with its
// own clock's times (never the node's timestamps: upstream avoids clock
// skew that way).
type nodeHealthData struct {
	probeTimestamp           metav1.Time
	readyTransitionTimestamp metav1.Time
	status                   *v1.NodeStatus // a cached node's status or a private copy: never modified
	lease                    *coordv1.Lease // shared cache object, never modified
}

// Controller is kube-controller-manager's node lifecycle controller
// (pkg/controller/nodelifecycle): it watches node heartbeats (Ready condition
// and node Lease), marks silent nodes Unknown, marks their pods not ready,
// keeps the condition-driven NoSchedule taints in line with node conditions,
// and applies the not-ready / unreachable NoExecute taints through a
// per-zone rate-limited queue whose rate follows the zone's health.
//
// It runs inside the engine: a ticker every MonitorPeriod (first tick at
// engine time 0, skipped until the informers have synced), two work queues
// for node and pod changes, and a timer that wakes the NoExecute tainting
// pass when a zone's limiter next has a token.
type Controller struct {
	eng      *sim.Engine
	cfg      Config
	client   client.Interface
	recorder record.EventRecorder

	nodeInformer  informer.NodeInformer
	podInformer   informer.PodInformer
	leaseInformer informer.LeaseInformer
	nodeLister    corelisters.NodeLister
	leaseLister   coordlisters.LeaseLister

	// knownNodeSet holds the nodes seen by the last monitor pass.
	knownNodeSet map[string]*v1.Node
	// nodeHealth holds the last observed health of each known node.
	nodeHealth map[string]*nodeHealthData
	// zoneNoExecuteTainter holds one tainting queue per zone key.
	zoneNoExecuteTainter map[string]*RateLimitedTimedQueue
	// zoneStates holds each zone's state as of the last pass.
	zoneStates map[string]ZoneState
	// nodesToRetry holds nodes whose pods could not all be marked not ready.
	nodesToRetry map[string]bool

	nodeUpdateQueue *informer.Queue[string]
	podUpdateQueue  *informer.Queue[string]
	monitor         *sim.Ticker
	taintWake       sim.Timer
	passes          uint64
	// gridOrigin is the engine time of the first monitor tick; ticks fall
	// on gridOrigin + k·MonitorPeriod.
	gridOrigin time.Duration
}

// New creates the controller, registers its handlers on the factory's
// shared node, pod and (kube-node-lease) Lease informers and starts its
// monitor ticker.
func New(eng *sim.Engine, f *informer.Factory, c client.Interface, recorder record.EventRecorder, cfg Config) *Controller {
	cfg = cfg.WithDefaults()
	nc := &Controller{
		eng: eng, cfg: cfg, client: c, recorder: recorder,
		nodeInformer:         f.Nodes(),
		podInformer:          f.Pods(),
		leaseInformer:        f.Leases(informer.InNamespace(v1.NamespaceNodeLease)),
		knownNodeSet:         map[string]*v1.Node{},
		nodeHealth:           map[string]*nodeHealthData{},
		zoneNoExecuteTainter: map[string]*RateLimitedTimedQueue{},
		zoneStates:           map[string]ZoneState{},
		nodesToRetry:         map[string]bool{},
	}
	nc.nodeLister = nc.nodeInformer.Lister()
	nc.leaseLister = nc.leaseInformer.Lister()
	if err := nodeutil.AddPodNodeNameIndexer(nc.podInformer.Informer); err != nil {
		panic(fmt.Sprintf("%s: %v", Component, err))
	}
	nc.nodeUpdateQueue = informer.NewQueue[string](eng, Component+" node", informer.DefaultControllerRateLimiter[string](eng), nc.doNodeProcessingPass)
	nc.podUpdateQueue = informer.NewQueue[string](eng, Component+" pod", informer.DefaultControllerRateLimiter[string](eng), nc.processPod)

	nc.podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { nc.podUpdated(nil, obj.(*v1.Pod)) },
		UpdateFunc: func(old, cur any) { nc.podUpdated(old.(*v1.Pod), cur.(*v1.Pod)) },
	})
	nc.nodeInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { nc.nodeUpdateQueue.Add(obj.(*v1.Node).Name) },
		UpdateFunc: func(_, cur any) { nc.nodeUpdateQueue.Add(cur.(*v1.Node).Name) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*v1.Node); ok {
				delete(nc.nodesToRetry, n.Name)
			}
		},
	})
	nc.gridOrigin = eng.Elapsed()
	nc.monitor = eng.EveryFrom(0, cfg.MonitorPeriod, Component+" monitorNodeHealth", nc.monitorNodeHealth)
	return nc
}

// Config returns the controller's configuration (defaults filled in).
func (nc *Controller) Config() Config { return nc.cfg }

// Passes is the number of monitor passes run so far.
func (nc *Controller) Passes() uint64 { return nc.passes }

func (nc *Controller) synced() bool {
	return nc.nodeInformer.HasSynced() && nc.podInformer.HasSynced() && nc.leaseInformer.HasSynced()
}

func (nc *Controller) now() metav1.Time { return metav1.NewTime(nc.eng.Now()) }

func (nc *Controller) trace(verb, kind, ns, name, msg string) {
	nc.eng.Trace(sim.Record{Component: Component, Verb: verb, Kind: kind, Namespace: ns, Name: name, Msg: msg})
}

// podUpdated queues a pod when it gets bound to a node.
func (nc *Controller) podUpdated(oldPod, newPod *v1.Pod) {
	if newPod.Spec.NodeName != "" && (oldPod == nil || newPod.Spec.NodeName != oldPod.Spec.NodeName) {
		nc.podUpdateQueue.Add(nc.podInformer.KeyOf(newPod))
	}
}

// processPod marks a pod just bound to a node that is not Ready as not ready
// itself (upstream processPod).
func (nc *Controller) processPod(key string) error {
	pod, ok := nc.podInformer.ByKey(key)
	if !ok {
		return nil
	}
	health := nc.nodeHealth[pod.Spec.NodeName]
	if health == nil {
		return nil // node not observed yet, or deleted
	}
	if _, err := nc.nodeLister.Get(pod.Spec.NodeName); err != nil {
		if apierrors.IsNotFound(err) {
			// Upstream retries forever; the pod is an orphan for PodGC.
			return nil
		}
		return err
	}
	_, cond := nodeutil.GetNodeCondition(health.status, v1.NodeReady)
	if cond == nil || cond.Status == v1.ConditionTrue {
		return nil
	}
	return nc.markPodsNotReady([]*v1.Pod{pod}, pod.Spec.NodeName)
}

func (nc *Controller) markPodsNotReady(pods []*v1.Pod, nodeName string) error {
	return nodeutil.MarkPodsNotReady(context.TODO(), nc.client, nc.recorder, pods, nodeName, nc.now(), func(p *v1.Pod) {
		if nc.eng.Tracing() {
			nc.trace("podNotReady", "Pod", p.Namespace, p.Name, fmt.Sprintf("Ready=False: node %s is not ready (phase stays %s)", nodeName, p.Status.Phase))
		}
	})
}

// doNodeProcessingPass is the node work queue's sync: the NoSchedule taints
// and the label reconciliation of one node.
func (nc *Controller) doNodeProcessingPass(nodeName string) error {
	if err := nc.doNoScheduleTaintingPass(nodeName); err != nil {
		return err
	}
	return nc.reconcileNodeLabels(nodeName)
}

// doNoScheduleTaintingPass makes the node's condition-driven NoSchedule
// taints (not-ready, unreachable, memory/disk/pid-pressure,
// network-unavailable, and unschedulable for spec.unschedulable) match its
// current conditions.
func (nc *Controller) doNoScheduleTaintingPass(nodeName string) error {
	node, err := nc.nodeLister.Get(nodeName)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	var taints []v1.Taint
	for _, cond := range node.Status.Conditions {
		if m, ok := nodeConditionToTaintKeyStatusMap[cond.Type]; ok {
			if key, ok := m[cond.Status]; ok {
				taints = append(taints, v1.Taint{Key: key, Effect: v1.TaintEffectNoSchedule})
			}
		}
	}
	if node.Spec.Unschedulable {
		taints = append(taints, v1.Taint{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule})
	}
	var nodeTaints []v1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect != v1.TaintEffectNoSchedule {
			continue
		}
		if _, ok := taintKeyToNodeConditionMap[t.Key]; ok || t.Key == v1.TaintNodeUnschedulable {
			nodeTaints = append(nodeTaints, t)
		}
	}
	toAdd, toDel := nodeutil.TaintSetDiff(taints, nodeTaints)
	if len(toAdd) == 0 && len(toDel) == 0 {
		return nil
	}
	return nc.swapTaints(node, toAdd, toDel, "node conditions")
}

// swapTaints writes a taint change and traces it.
func (nc *Controller) swapTaints(node *v1.Node, toAdd, toDel []*v1.Taint, why string) error {
	added, removed, err := nodeutil.SwapNodeControllerTaint(context.TODO(), nc.client, toAdd, toDel, node.Name, nc.now())
	if err != nil {
		return fmt.Errorf("failed to swap taints of node %s: %w", node.Name, err)
	}
	nc.traceTaints(node.Name, added, removed, why)
	return nil
}

func (nc *Controller) traceTaints(nodeName string, added, removed []v1.Taint, why string) {
	if !nc.eng.Tracing() {
		return
	}
	if len(added) > 0 {
		nc.trace("tainted", "Node", "", nodeName, nodeutil.TaintsString(added)+" ("+why+")")
	}
	if len(removed) > 0 {
		nc.trace("untainted", "Node", "", nodeName, nodeutil.TaintsString(removed)+" ("+why+")")
	}
}

// reconcileNodeLabels keeps the beta OS and arch labels equal to the GA ones.
func (nc *Controller) reconcileNodeLabels(nodeName string) error {
	node, err := nc.nodeLister.Get(nodeName)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if node.Labels == nil {
		return nil
	}
	toUpdate := map[string]string{}
	for _, r := range labelReconcileInfo {
		primary, ok := node.Labels[r.primaryKey]
		if !ok {
			continue
		}
		if secondary, ok := node.Labels[r.secondaryKey]; !ok || secondary != primary {
			toUpdate[r.secondaryKey] = primary
		}
	}
	if len(toUpdate) == 0 {
		return nil
	}
	return nodeutil.AddOrUpdateLabelsOnNode(context.TODO(), nc.client, nodeName, toUpdate)
}

// monitorNodeHealth is one monitor pass (upstream monitorNodeHealth): it
// registers new nodes and zones, updates every node's health, marks pods of
// nodes that stopped being Ready, queues nodes for NoExecute tainting,
// recomputes zone states and runs the tainting pass.
func (nc *Controller) monitorNodeHealth() {
	if !nc.synced() {
		return
	}
	nc.passes++
	nodes, err := nc.nodeLister.List(labels.Everything())
	if err != nil {
		panic(fmt.Sprintf("%s: listing cached nodes: %v", Component, err))
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	added, deleted, newZoneRepresentatives := nc.classifyNodes(nodes)
	for _, n := range newZoneRepresentatives {
		nc.addPodEvictorForNewZone(n)
	}
	for _, n := range added {
		nodeutil.RecordNodeEvent(nc.recorder, n.Name, n.UID, v1.EventTypeNormal, "RegisteredNode", fmt.Sprintf("Registered Node %v in Controller", n.Name))
		nc.knownNodeSet[n.Name] = n
		nc.addPodEvictorForNewZone(n)
		if _, err := nc.markNodeAsReachable(n); err != nil {
			nc.trace("error", "Node", "", n.Name, err.Error())
		}
	}
	for _, n := range deleted {
		nodeutil.RecordNodeEvent(nc.recorder, n.Name, n.UID, v1.EventTypeNormal, "RemovingNode", fmt.Sprintf("Removing Node %v from Controller", n.Name))
		delete(nc.knownNodeSet, n.Name)
		delete(nc.nodeHealth, n.Name)
	}

	zoneToNodeConditions := map[string][]*v1.NodeCondition{}
	for _, n := range nodes {
		nc.updateNode(n, zoneToNodeConditions)
	}
	nc.handleDisruption(zoneToNodeConditions, nodes)
	nc.kickTaintingPass()
}

// updateNode is one node's part of a monitor pass.
func (nc *Controller) updateNode(cached *v1.Node, zoneToNodeConditions map[string][]*v1.NodeCondition) {
	node := cached // read only; a write works on a copy
	var observed v1.NodeCondition
	var current *v1.NodeCondition
	var err error
	for attempt := 0; attempt < nodeHealthUpdateRetry; attempt++ {
		if _, observed, current, err = nc.tryUpdateNodeHealth(node); err == nil {
			break
		}
		fresh, getErr := nc.client.CoreV1().Nodes().Get(context.TODO(), cached.Name, metav1.GetOptions{})
		if getErr != nil {
			err = getErr
			break
		}
		node = fresh
	}
	if err != nil {
		nc.trace("error", "Node", "", cached.Name, "updating node health failed, no pods will be evicted: "+err.Error())
		return
	}
	if _, excluded := node.Labels[labelNodeDisruptionExclusion]; !excluded {
		zone := nodeutil.ZoneKey(node)
		zoneToNodeConditions[zone] = append(zoneToNodeConditions[zone], current)
	}
	if current != nil {
		nc.processTaintBaseEviction(node, &observed)
		needsRetry := nc.nodesToRetry[node.Name]
		notReadyNow := current.Status != v1.ConditionTrue && observed.Status == v1.ConditionTrue
		if notReadyNow || (needsRetry && observed.Status != v1.ConditionTrue) {
			pods, err := nodeutil.PodsAssignedToNode(nc.podInformer.GetIndexer(), node.Name)
			if err != nil {
				nc.nodesToRetry[node.Name] = true
				return
			}
			if notReadyNow {
				nodeutil.RecordNodeStatusChange(nc.recorder, node, "NodeNotReady")
				nc.trace("nodeNotReady", "Node", "", node.Name, fmt.Sprintf("Ready %s → %s: marking its %d pod(s) not ready", observed.Status, current.Status, len(pods)))
			}
			if err := nc.markPodsNotReady(pods, node.Name); err != nil {
				nc.trace("error", "Node", "", node.Name, "marking pods not ready: "+err.Error())
				nc.nodesToRetry[node.Name] = true
				return
			}
		}
	}
	delete(nc.nodesToRetry, node.Name)
}

// tryUpdateNodeHealth is upstream's tryUpdateNodeHealth: it refreshes the
// probe time when the Ready heartbeat or the Lease renewal advanced, and once
// now is past probe + grace it sets Ready, MemoryPressure, DiskPressure and
// PIDPressure to Unknown and writes the node status. It returns the grace
// period, the Ready condition as observed before and the one after.
//
// The deadline check is now >= probe + grace where upstream has now > probe +
// grace: upstream's passes run on a sliding period and take time, so the
// pass that lands on probe + grace always runs a little after it; kubesim's
// passes take no time and would otherwise wait one extra period.
func (nc *Controller) tryUpdateNodeHealth(node *v1.Node) (time.Duration, v1.NodeCondition, *v1.NodeCondition, error) {
	now := nc.now()
	health := nc.nodeHealth[node.Name]
	defer func() { nc.nodeHealth[node.Name] = health }()

	var gracePeriod time.Duration
	var observed v1.NodeCondition
	_, current := nodeutil.GetNodeCondition(&node.Status, v1.NodeReady)
	neverPosted := current == nil
	if neverPosted {
		// Never posted: a fake Unknown condition dated at creation.
		observed = v1.NodeCondition{Type: v1.NodeReady, Status: v1.ConditionUnknown,
			LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: node.CreationTimestamp}
		gracePeriod = nc.cfg.StartupGracePeriod
		if health != nil {
			health.status = &node.Status
		} else {
			health = &nodeHealthData{status: &node.Status, probeTimestamp: node.CreationTimestamp,
				readyTransitionTimestamp: node.CreationTimestamp}
		}
	} else {
		observed = *current
		gracePeriod = nc.cfg.MonitorGracePeriod
	}

	var savedCondition *v1.NodeCondition
	var savedLease *coordv1.Lease
	if health != nil {
		_, savedCondition = nodeutil.GetNodeCondition(health.status, v1.NodeReady)
		savedLease = health.lease
	}
	switch {
	case health == nil:
		health = &nodeHealthData{status: &node.Status, probeTimestamp: now, readyTransitionTimestamp: now}
	case savedCondition == nil && current != nil:
		health = &nodeHealthData{status: &node.Status, probeTimestamp: now, readyTransitionTimestamp: now}
	case savedCondition != nil && current == nil:
		health = &nodeHealthData{status: &node.Status, probeTimestamp: now, readyTransitionTimestamp: now}
	case savedCondition != nil && current != nil && !savedCondition.LastHeartbeatTime.Equal(&current.LastHeartbeatTime):
		transition := health.readyTransitionTimestamp
		if !savedCondition.LastTransitionTime.Equal(&current.LastTransitionTime) {
			transition = now
		}
		health = &nodeHealthData{status: &node.Status, probeTimestamp: now, readyTransitionTimestamp: transition}
	}
	// A renewed Lease always counts as a heartbeat; so does a Lease seen
	// for the first time, even without renewTime. As upstream,
	// MicroTime.Before is false when either renewTime is nil.
	observedLease, _ := nc.leaseLister.Leases(v1.NamespaceNodeLease).Get(node.Name)
	if observedLease != nil && (savedLease == nil || savedLease.Spec.RenewTime.Before(observedLease.Spec.RenewTime)) {
		health.lease = observedLease
		health.probeTimestamp = now
	}

	// Once Ready is Unknown nothing more is written (upstream writes only
	// when the Ready condition changes), so the copy is only made before.
	if !now.Before(ptrTime(health.probeTimestamp.Add(gracePeriod))) && (current == nil || current.Status != v1.ConditionUnknown) {
		w := node.DeepCopy()
		for _, t := range []v1.NodeConditionType{v1.NodeReady, v1.NodeMemoryPressure, v1.NodeDiskPressure, v1.NodePIDPressure} {
			_, c := nodeutil.GetNodeCondition(&w.Status, t)
			if c == nil {
				w.Status.Conditions = append(w.Status.Conditions, v1.NodeCondition{Type: t, Status: v1.ConditionUnknown,
					Reason: "NodeStatusNeverUpdated", Message: "Kubelet never posted node status.",
					LastHeartbeatTime: w.CreationTimestamp, LastTransitionTime: now})
			} else if c.Status != v1.ConditionUnknown {
				c.Status = v1.ConditionUnknown
				c.Reason = "NodeStatusUnknown"
				c.Message = "Kubelet stopped posting node status."
				c.LastTransitionTime = now
			}
		}
		_, current = nodeutil.GetNodeCondition(&w.Status, v1.NodeReady)
		if !conditionEqual(current, &observed) {
			if _, err := nc.client.CoreV1().Nodes().UpdateStatus(context.TODO(), w, metav1.UpdateOptions{}); err != nil {
				return gracePeriod, observed, current, err
			}
			if nc.eng.Tracing() {
				from := "Ready " + string(observed.Status)
				if neverPosted {
					from = "no Ready condition"
				}
				nc.trace("statusUnknown", "Node", "", node.Name, fmt.Sprintf("%s → Ready Unknown (%s): no heartbeat observed since %s (%s ago), grace %s",
					from, current.Reason, sinceEpoch(health.probeTimestamp), now.Sub(health.probeTimestamp.Time), gracePeriod))
			}
			health = &nodeHealthData{status: &w.Status, probeTimestamp: health.probeTimestamp,
				readyTransitionTimestamp: now, lease: observedLease}
		}
	}
	return gracePeriod, observed, current, nil
}

func ptrTime(t time.Time) *metav1.Time { mt := metav1.NewTime(t); return &mt }

// sinceEpoch renders a timestamp as the simulated time it stands for.
func sinceEpoch(t metav1.Time) string { return t.Sub(sim.Epoch).String() }

func conditionEqual(a, b *v1.NodeCondition) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Type == b.Type && a.Status == b.Status && a.Reason == b.Reason && a.Message == b.Message &&
		a.LastHeartbeatTime.Equal(&b.LastHeartbeatTime) && a.LastTransitionTime.Equal(&b.LastTransitionTime)
}

// classifyNodes splits the listed nodes into added (unknown so far), deleted
// (known but gone, in name order) and new zone representatives (known nodes
// whose zone has no state).
func (nc *Controller) classifyNodes(all []*v1.Node) (added, deleted, newZoneRepresentatives []*v1.Node) {
	present := make(map[string]bool, len(all))
	for _, n := range all {
		present[n.Name] = true
		if _, has := nc.knownNodeSet[n.Name]; !has {
			added = append(added, n)
		} else if _, found := nc.zoneStates[nodeutil.ZoneKey(n)]; !found {
			newZoneRepresentatives = append(newZoneRepresentatives, n)
		}
	}
	if len(nc.knownNodeSet)+len(added) != len(all) {
		for _, name := range sortedKeys(nc.knownNodeSet) {
			if !present[name] {
				deleted = append(deleted, nc.knownNodeSet[name])
			}
		}
	}
	return added, deleted, newZoneRepresentatives
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
