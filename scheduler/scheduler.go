package scheduler

import (
	"math/rand/v2"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/scheduler/internal/cache"
	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
	"github.com/kubesim/kubesim/scheduler/internal/plugins"
	"github.com/kubesim/kubesim/scheduler/internal/queue"
	"github.com/kubesim/kubesim/sim"
)

// Scheduler is kubesim's kube-scheduler: a state machine fed by informer
// events (the On* methods), stepped by engine events (one scheduling cycle
// per event), acting on the cluster through an API.
type Scheduler struct {
	eng *sim.Engine
	api API
	cfg Config

	cache *cache.Cache
	queue *queue.Queue
	fwk   *plugins.Framework
	cs    *plugins.CycleState
	sc    plugins.Scores
	rng   *rand.Rand // selectHost ties
	prng  *rand.Rand // preemption dry-run offsets

	nextStartNodeIndex int
	cycle              int64

	// pods is the latest version of every pod the scheduler was told about.
	pods map[types.UID]*v1.Pod
	// nominator tracks the pods nominated to nodes by preemption.
	nominator nominator

	services        map[string]map[string]*v1.Service // namespace → name → service
	replicaSets     map[string]*appsv1.ReplicaSet     // namespace/name
	pdbs            map[string]*policyv1.PodDisruptionBudget
	priorityClasses map[string]*schedulingv1.PriorityClass
	defaultClass    *schedulingv1.PriorityClass
	namespaces      map[string]labels.Set // explicit namespace labels
	seenNamespaces  map[string]struct{}

	cycleTimer   sim.Timer
	cycleFn      func() // s.scheduleOne, made once (a method value allocates)
	backoffTimer sim.Timer
	flushTicker  *sim.Ticker

	explain *explainStore

	// Scratch buffers reused by every cycle.
	feasible []*fw.NodeInfo
	failed   []nodeStatus
}

// nodeStatus is one node's filter rejection in a cycle.
type nodeStatus struct {
	node   *fw.NodeInfo
	status *fw.Status
}

// New builds a scheduler on eng acting through api. It starts the periodic
// leftover flush of the unschedulable pool (a background ticker).
func New(eng *sim.Engine, api API, cfg Config) *Scheduler {
	cfg = cfg.withDefaults()
	s := &Scheduler{
		eng:             eng,
		api:             api,
		cfg:             cfg,
		cache:           cache.New(cfg.AssumedPodTTL),
		cs:              plugins.NewCycleState(),
		rng:             eng.Rand("scheduler"),
		prng:            eng.Rand("scheduler/preemption"),
		pods:            map[types.UID]*v1.Pod{},
		services:        map[string]map[string]*v1.Service{},
		replicaSets:     map[string]*appsv1.ReplicaSet{},
		pdbs:            map[string]*policyv1.PodDisruptionBudget{},
		priorityClasses: map[string]*schedulingv1.PriorityClass{},
		namespaces:      map[string]labels.Set{},
		seenNamespaces:  map[string]struct{}{},
	}
	s.cycleFn = s.scheduleOne
	s.nominator.init()
	s.queue = queue.New(queue.Config{
		InitialBackoff:     cfg.PodInitialBackoff,
		MaxBackoff:         cfg.PodMaxBackoff,
		MaxInUnschedulable: cfg.PodMaxInUnschedulablePods,
	})
	s.fwk = plugins.New(snapshot{s}, plugins.Options{HardPodAffinityWeight: cfg.HardPodAffinityWeight})
	s.explain = newExplainStore(cfg, s.fwk)
	s.flushTicker = eng.Every(cfg.UnschedulableFlushPeriod, "scheduler/flush-unschedulable", s.periodic)
	return s
}

// Stop stops the scheduler's timers; queued work is abandoned.
func (s *Scheduler) Stop() {
	s.flushTicker.Stop()
	s.cycleTimer.Stop()
	s.backoffTimer.Stop()
}

func (s *Scheduler) now() time.Duration { return s.eng.Elapsed() }

func (s *Scheduler) trace(verb string, pod *v1.Pod, msg string) {
	if !s.eng.Tracing() {
		return
	}
	r := sim.Record{Component: "scheduler", Verb: verb, Msg: msg}
	if pod != nil {
		r.Kind, r.Namespace, r.Name = "Pod", pod.Namespace, pod.Name
	}
	s.eng.Trace(r)
}

// ---- nodes ----

// OnNodeAdd must be called for every node the informer adds.
func (s *Scheduler) OnNodeAdd(node *v1.Node) {
	s.cache.AddNode(node)
	s.moveAll(&fw.ClusterEvent{Kind: fw.NodeAdd, NewNode: node})
}

// OnNodeUpdate must be called for every node update.
func (s *Scheduler) OnNodeUpdate(old, cur *v1.Node) {
	s.cache.UpdateNode(cur)
	if ch := fw.DiffNodes(old, cur); ch&(fw.NodeAllocatableChanged|fw.NodeLabelsChanged|fw.NodeTaintsChanged) != 0 {
		s.moveAll(&fw.ClusterEvent{Kind: fw.NodeUpdate, OldNode: old, NewNode: cur, NodeChange: ch})
	}
}

// OnNodeDelete must be called for every node deletion.
func (s *Scheduler) OnNodeDelete(node *v1.Node) {
	s.cache.RemoveNode(node.Name)
	s.moveAll(&fw.ClusterEvent{Kind: fw.NodeDelete, OldNode: node})
}

// ---- pods ----

func assigned(p *v1.Pod) bool { return p.Spec.NodeName != "" }

func terminal(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
}

func (s *Scheduler) responsibleFor(p *v1.Pod) bool {
	name := p.Spec.SchedulerName
	if name == "" {
		name = DefaultSchedulerName
	}
	return name == s.cfg.SchedulerName
}

func gated(p *v1.Pod) bool { return len(p.Spec.SchedulingGates) > 0 }

// OnPodAdd must be called for every pod the informer adds, assigned or not.
// Assigned pods (any scheduler) go to the cache; unassigned pods of this
// scheduler go to the scheduling queue; terminated pods are ignored.
func (s *Scheduler) OnPodAdd(pod *v1.Pod) {
	if old, ok := s.pods[pod.UID]; ok {
		s.OnPodUpdate(old, pod) // a relist may deliver a known pod again
		return
	}
	s.seenNamespaces[pod.Namespace] = struct{}{}
	s.pods[pod.UID] = pod
	if terminal(pod) {
		return
	}
	if assigned(pod) {
		s.addAssigned(pod)
		return
	}
	if !s.responsibleFor(pod) {
		return
	}
	pi := fw.NewPodInfo(pod, s.priorityOf(pod))
	s.nominator.fromStatus(pi)
	if s.queue.Add(pi, gated(pod), s.now()) {
		s.ensureCycle()
	}
}

func (s *Scheduler) addAssigned(pod *v1.Pod) {
	old := s.cache.PodInfo(pod.UID)
	wasAssumed := s.cache.IsAssumed(pod.UID)
	pi := old.WithPod(pod, s.priorityOf(pod))
	s.cache.AddPod(pi)
	s.queue.Delete(pod.UID)
	s.nominator.remove(pod.UID)
	if old == nil || wasAssumed {
		s.moveAll(&fw.ClusterEvent{Kind: fw.AssignedPodAdd, NewPod: pi})
	} else if !equality.Semantic.DeepEqual(old.Pod.Labels, pod.Labels) {
		s.moveAll(&fw.ClusterEvent{Kind: fw.AssignedPodUpdate, OldPod: old, NewPod: pi})
	}
}

// OnPodUpdate must be called for every pod update.
func (s *Scheduler) OnPodUpdate(old, cur *v1.Pod) {
	s.pods[cur.UID] = cur
	switch {
	case terminal(cur):
		// Upstream's informer filters terminated pods out: to the scheduler
		// they are deleted.
		s.forgetPod(cur)
	case assigned(cur):
		s.addAssigned(cur)
	case !s.responsibleFor(cur):
		return
	default:
		pi := fw.NewPodInfo(cur, s.priorityOf(cur))
		if cur.DeletionTimestamp == nil {
			s.nominator.fromStatus(pi)
		} else {
			s.nominator.remove(cur.UID)
		}
		var change fw.PodChange
		if q := s.queue.Get(cur.UID); q != nil {
			change = fw.DiffPods(q.PodInfo, pi)
		}
		if s.queue.Update(pi, gated(cur), change, s.now(), s.hint) {
			s.ensureCycle()
		}
		if old != nil && old.Status.NominatedNodeName != "" && old.Status.NominatedNodeName != cur.Status.NominatedNodeName {
			s.nominationReleased(old)
		}
	}
}

// nominationReleased requeues, as an assigned pod's deletion would, the
// pods of lower or equal priority that the nomination of pod (an
// unscheduled pod, now deleted or nominated elsewhere) may have kept off its
// node (upstream deletePodFromSchedulingQueue and updatePodInSchedulingQueue:
// EventAssignedPodDelete with getLEPriorityPreCheck).
func (s *Scheduler) nominationReleased(pod *v1.Pod) {
	prio := s.priorityOf(pod)
	ev := &fw.ClusterEvent{Kind: fw.AssignedPodDelete, OldPod: fw.NewPodInfo(pod, prio), Nominated: true}
	s.queue.MoveAllToActiveOrBackoffQueue(ev, s.now(), func(q *queue.QueuedPodInfo, ev *fw.ClusterEvent) bool {
		return q.PodInfo.Priority <= prio && s.hint(q, ev)
	})
	s.ensureCycle()
	s.ensureBackoffTimer()
}

// OnPodDelete must be called for every pod deletion.
func (s *Scheduler) OnPodDelete(pod *v1.Pod) {
	s.forgetPod(pod)
	delete(s.pods, pod.UID)
	s.explain.podDeleted(pod.Namespace+"/"+pod.Name, s.now())
}

func (s *Scheduler) forgetPod(pod *v1.Pod) {
	s.queue.Delete(pod.UID)
	s.nominator.remove(pod.UID)
	if pi, _, ok := s.cache.RemovePod(pod.UID); ok {
		s.moveAll(&fw.ClusterEvent{Kind: fw.AssignedPodDelete, OldPod: pi})
	} else if !assigned(pod) && pod.Status.NominatedNodeName != "" && s.responsibleFor(pod) {
		s.nominationReleased(pod)
	}
}

// ---- objects consulted by plugins and preemption ----

// OnServiceAdd must be called for every Service added (default spreading).
func (s *Scheduler) OnServiceAdd(svc *v1.Service) {
	m := s.services[svc.Namespace]
	if m == nil {
		m = map[string]*v1.Service{}
		s.services[svc.Namespace] = m
	}
	m[svc.Name] = svc
}

// OnServiceUpdate must be called for every Service update.
func (s *Scheduler) OnServiceUpdate(_, cur *v1.Service) { s.OnServiceAdd(cur) }

// OnServiceDelete must be called for every Service deletion.
func (s *Scheduler) OnServiceDelete(svc *v1.Service) { delete(s.services[svc.Namespace], svc.Name) }

// OnReplicaSetAdd must be called for every ReplicaSet added (default spreading).
func (s *Scheduler) OnReplicaSetAdd(rs *appsv1.ReplicaSet) {
	s.replicaSets[rs.Namespace+"/"+rs.Name] = rs
}

// OnReplicaSetUpdate must be called for every ReplicaSet update.
func (s *Scheduler) OnReplicaSetUpdate(_, cur *appsv1.ReplicaSet) { s.OnReplicaSetAdd(cur) }

// OnReplicaSetDelete must be called for every ReplicaSet deletion.
func (s *Scheduler) OnReplicaSetDelete(rs *appsv1.ReplicaSet) {
	delete(s.replicaSets, rs.Namespace+"/"+rs.Name)
}

// OnPDBAdd must be called for every PodDisruptionBudget added (preemption).
func (s *Scheduler) OnPDBAdd(pdb *policyv1.PodDisruptionBudget) {
	s.pdbs[pdb.Namespace+"/"+pdb.Name] = pdb
}

// OnPDBUpdate must be called for every PodDisruptionBudget update.
func (s *Scheduler) OnPDBUpdate(_, cur *policyv1.PodDisruptionBudget) { s.OnPDBAdd(cur) }

// OnPDBDelete must be called for every PodDisruptionBudget deletion.
func (s *Scheduler) OnPDBDelete(pdb *policyv1.PodDisruptionBudget) {
	delete(s.pdbs, pdb.Namespace+"/"+pdb.Name)
}

// OnPriorityClassAdd must be called for every PriorityClass added. The
// scheduler uses classes only as a fallback for pods whose spec.priority was
// not resolved by admission.
func (s *Scheduler) OnPriorityClassAdd(pc *schedulingv1.PriorityClass) {
	s.priorityClasses[pc.Name] = pc
	s.refreshDefaultClass()
}

// OnPriorityClassUpdate must be called for every PriorityClass update.
func (s *Scheduler) OnPriorityClassUpdate(_, cur *schedulingv1.PriorityClass) {
	s.OnPriorityClassAdd(cur)
}

// OnPriorityClassDelete must be called for every PriorityClass deletion.
func (s *Scheduler) OnPriorityClassDelete(pc *schedulingv1.PriorityClass) {
	delete(s.priorityClasses, pc.Name)
	s.refreshDefaultClass()
}

// OnNamespaceAdd may be called for namespaces (namespaceSelector in pod
// affinity); without it a namespace only has its kubernetes.io/metadata.name label.
func (s *Scheduler) OnNamespaceAdd(ns *v1.Namespace) {
	s.namespaces[ns.Name] = labels.Set(ns.Labels)
	s.seenNamespaces[ns.Name] = struct{}{}
}

// OnNamespaceUpdate may be called for namespace updates.
func (s *Scheduler) OnNamespaceUpdate(_, cur *v1.Namespace) { s.OnNamespaceAdd(cur) }

// OnNamespaceDelete may be called for namespace deletions.
func (s *Scheduler) OnNamespaceDelete(ns *v1.Namespace) {
	delete(s.namespaces, ns.Name)
	delete(s.seenNamespaces, ns.Name)
}

// priorityOf is spec.priority, falling back to the PriorityClass (or the
// global default class) when admission left it unset.
func (s *Scheduler) priorityOf(p *v1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	if pc := s.priorityClassOf(p); pc != nil {
		return pc.Value
	}
	return 0
}

func (s *Scheduler) priorityClassOf(p *v1.Pod) *schedulingv1.PriorityClass {
	if p.Spec.PriorityClassName != "" {
		return s.priorityClasses[p.Spec.PriorityClassName]
	}
	return s.defaultClass
}

// refreshDefaultClass finds the globalDefault class (the highest value,
// then the first name, if several claim it).
func (s *Scheduler) refreshDefaultClass() {
	s.defaultClass = nil
	names := make([]string, 0, len(s.priorityClasses))
	for n := range s.priorityClasses {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		pc := s.priorityClasses[n]
		if pc.GlobalDefault && (s.defaultClass == nil || pc.Value > s.defaultClass.Value) {
			s.defaultClass = pc
		}
	}
}

// preemptionPolicyOf is spec.preemptionPolicy with the class fallback.
func (s *Scheduler) preemptionPolicyOf(p *v1.Pod) v1.PreemptionPolicy {
	if p.Spec.PreemptionPolicy != nil {
		return *p.Spec.PreemptionPolicy
	}
	if p.Spec.Priority == nil {
		if pc := s.priorityClassOf(p); pc != nil && pc.PreemptionPolicy != nil {
			return *pc.PreemptionPolicy
		}
	}
	return v1.PreemptLowerPriority
}

// snapshot adapts the scheduler to plugins.Snapshot.
type snapshot struct{ s *Scheduler }

func (n snapshot) Nodes() []*fw.NodeInfo          { return n.s.cache.Nodes() }
func (n snapshot) Get(name string) *fw.NodeInfo   { return n.s.cache.Get(name) }
func (n snapshot) ImageNumNodes(image string) int { return n.s.cache.ImageNumNodes(image) }
func (n snapshot) HaveAffinityPods() bool         { return n.s.cache.HaveAffinityPods() }
func (n snapshot) HaveRequiredAntiAffinityPods() bool {
	return n.s.cache.HaveRequiredAntiAffinityPods()
}

func (n snapshot) NamespaceLabels(ns string) labels.Set {
	if l, ok := n.s.namespaces[ns]; ok {
		return l
	}
	return labels.Set{v1.LabelMetadataName: ns}
}

func (n snapshot) NamespacesMatching(sel labels.Selector) []string {
	var out []string
	for ns := range n.s.seenNamespaces {
		if sel.Matches(n.NamespaceLabels(ns)) {
			out = append(out, ns)
		}
	}
	sort.Strings(out)
	return out
}

// emptySelector selects nothing (Empty); adding requirements to it makes a
// new selector.
var emptySelector = labels.NewSelector()

// DefaultSpreadSelector merges the selectors of the Services selecting pod
// and of its controlling ReplicaSet (upstream helper.DefaultSelector; owners
// of other kinds contribute nothing in kubesim).
func (n snapshot) DefaultSpreadSelector(pod *v1.Pod) labels.Selector {
	var set labels.Set
	for _, svc := range n.s.services[pod.Namespace] {
		if svc.Spec.Selector == nil {
			continue
		}
		if labels.Set(svc.Spec.Selector).AsSelectorPreValidated().Matches(labels.Set(pod.Labels)) {
			set = labels.Merge(set, svc.Spec.Selector)
		}
	}
	sel := emptySelector // no Service selects the pod: nothing to build
	if len(set) > 0 {
		sel = set.AsSelector()
	}
	owner := metav1.GetControllerOfNoCopy(pod)
	if owner == nil || owner.Kind != "ReplicaSet" || owner.APIVersion != "apps/v1" {
		return sel
	}
	rs := n.s.replicaSets[pod.Namespace+"/"+owner.Name]
	if rs == nil {
		return sel
	}
	if other, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector); err == nil {
		if reqs, ok := other.Requirements(); ok {
			sel = sel.Add(reqs...)
		}
	}
	return sel
}
