package scheduler

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
	"github.com/kubesim/kubesim/scheduler/internal/plugins"
)

// DefaultPreemption (plugins/defaultpreemption and framework/preemption).

const (
	reasonNoVictims      = "No preemption victims found for incoming pod"
	reasonNotHelpful     = "Preemption is not helpful for scheduling"
	reasonPolicyNever    = "not eligible due to preemptionPolicy=Never."
	reasonTerminatingPod = "not eligible due to a terminating pod on the nominated node."
	preemptionPlugin     = "DefaultPreemption"
)

var (
	statusNoVictims  = fw.NewStatus(fw.UnschedulableAndUnresolvable, preemptionPlugin, reasonNoVictims)
	statusNotHelpful = fw.NewStatus(fw.UnschedulableAndUnresolvable, preemptionPlugin, reasonNotHelpful)
)

// Preemption is the explain record of one PostFilter run.
type Preemption struct {
	// Eligible is false when the pod may not preempt (Reason says why).
	Eligible bool
	// Reason is the ineligibility reason or the error that stopped preemption.
	Reason string
	// PotentialNodes is the number of nodes whose rejection preemption might
	// resolve; DryRunNodes how many of them were simulated (from Offset).
	PotentialNodes int
	DryRunNodes    int
	Offset         int
	// Candidates are the nodes where evicting Victims makes the pod fit.
	Candidates []PreemptionCandidate
	// Node is the chosen candidate, nominated for the pod; empty if none.
	Node string
	// Victims are the pods evicted on Node ("namespace/name").
	Victims []string
	// Message is the PostFilter message appended to the FitError.
	Message string
}

// PreemptionCandidate is one node where preemption would work.
type PreemptionCandidate struct {
	Node          string
	Victims       []string
	PDBViolations int
}

type candidate struct {
	node          *fw.NodeInfo
	victims       []*fw.PodInfo // most important first
	pdbViolations int
}

// postFilter runs preemption for a pod that fits nowhere. It returns the
// nomination to apply (nil leaves status.nominatedNodeName unchanged), the
// PostFilter message (also on success) and the explain record.
func (s *Scheduler) postFilter(pi *fw.PodInfo, d *diagnosis, rec *attemptRecord) (*string, string, *Preemption) {
	out := &Preemption{}
	if pi.Pod.Spec.NodeName != "" {
		return nil, "", nil
	}
	if ok, reason := s.eligibleToPreempt(pi, d); !ok {
		out.Reason = reason
		out.Message = "preemption: " + reason
		return nil, out.Message, out
	}
	out.Eligible = true
	all := s.cache.Nodes()
	potential := s.potentialNodes(all, d)
	out.PotentialNodes = len(potential)
	notHelpful := func(statuses []nodeStatus) (*string, string, *Preemption) {
		fe := fitError{numAllNodes: len(all), failed: statuses, absent: statusNotHelpful, absentCount: len(all) - len(statuses)}
		out.Message = "preemption: " + fe.Error()
		return clearNomination, out.Message, out
	}
	if len(potential) == 0 {
		return notHelpful(nil)
	}

	pdbs := s.sortedPDBs()
	offset := int(s.prng.Int32N(int32(len(potential))))
	numCandidates := s.numCandidates(len(potential))
	out.Offset = offset
	var nonViolating, violating []candidate
	var statuses []nodeStatus
	for i := 0; i < len(potential); i++ {
		n := potential[(offset+i)%len(potential)]
		out.DryRunNodes++
		victims, pdbViolations, st := s.selectVictimsOnNode(s.cs.Clone(), pi, n.Clone(), pdbs)
		if st == nil && len(victims) == 0 {
			st = fw.NewStatus(fw.Error, preemptionPlugin, fmt.Sprintf("expected at least one victim pod on node %q", n.Name))
		}
		if st != nil {
			statuses = append(statuses, nodeStatus{n, st})
			continue
		}
		// Each kind keeps at most numCandidates (upstream's candidateList
		// drops the adds beyond its size).
		c := candidate{node: n, victims: victims, pdbViolations: pdbViolations}
		if pdbViolations == 0 {
			nonViolating = append(nonViolating, c)
		} else if len(violating) < numCandidates {
			violating = append(violating, c)
		}
		if len(nonViolating) > 0 && len(nonViolating)+len(violating) >= numCandidates {
			break
		}
	}
	candidates := append(nonViolating, violating...)
	for _, c := range candidates {
		out.Candidates = append(out.Candidates, PreemptionCandidate{Node: c.node.Name, Victims: podKeys(c.victims), PDBViolations: c.pdbViolations})
	}
	if len(candidates) == 0 {
		sort.SliceStable(statuses, func(i, j int) bool { return statuses[i].node.Name < statuses[j].node.Name })
		return notHelpful(statuses)
	}
	best := s.pickOneNodeForPreemption(candidates)
	out.Node = best.node.Name
	out.Victims = podKeys(best.victims)
	if err := s.prepareCandidate(best, pi); err != nil {
		out.Reason = err.Error()
		out.Message = "preemption: " + err.Error()
		return nil, out.Message, out
	}
	node := best.node.Name
	// Upstream v1.37 (Evaluator.Preempt, kubernetes#140180) says so in the
	// PostFilter message: the FitError then ends with it.
	out.Message = "preemption: found a potential placement for pod on node " + node +
		", preempting " + strconv.Itoa(len(best.victims)) + " victims"
	return &node, out.Message, out
}

func podKeys(ps []*fw.PodInfo) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Key
	}
	return out
}

// eligibleToPreempt is PodEligibleToPreemptOthers.
func (s *Scheduler) eligibleToPreempt(pi *fw.PodInfo, d *diagnosis) (bool, string) {
	if s.preemptionPolicyOf(pi.Pod) == v1.PreemptNever {
		return false, reasonPolicyNever
	}
	nnn := s.nominator.node(pi.UID)
	if nnn == "" {
		return true, ""
	}
	for _, ns := range d.failed {
		if ns.node.Name == nnn && ns.status.Code() == fw.UnschedulableAndUnresolvable {
			return true, ""
		}
	}
	if n := s.cache.Get(nnn); n != nil {
		for _, p := range n.Pods {
			if p.Priority < pi.Priority && terminatingByPreemption(p.Pod) {
				return false, reasonTerminatingPod
			}
		}
	}
	return true, ""
}

func terminatingByPreemption(p *v1.Pod) bool {
	if p.DeletionTimestamp == nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == v1.DisruptionTarget {
			return c.Status == v1.ConditionTrue && c.Reason == v1.PodReasonPreemptionByScheduler
		}
	}
	return false
}

// potentialNodes are the nodes rejected with a resolvable (Unschedulable)
// status, in the order of all (the cache's nodeTree order, as upstream's
// nodesWherePreemptionMightHelp over the snapshot's NodeInfo list).
func (s *Scheduler) potentialNodes(all []*fw.NodeInfo, d *diagnosis) []*fw.NodeInfo {
	if d.preFilter != nil {
		if d.preFilter.Code() == fw.Unschedulable {
			return all
		}
		return nil
	}
	byName := make(map[string]*fw.Status, len(d.failed))
	for _, ns := range d.failed {
		byName[ns.node.Name] = ns.status
	}
	var out []*fw.NodeInfo
	for _, n := range all {
		st, ok := byName[n.Name]
		if !ok && d.absent != nil {
			st = d.absent
		}
		if st.Code() == fw.Unschedulable {
			out = append(out, n)
		}
	}
	return out
}

// numCandidates is calculateNumCandidates: max(n × pct / 100, abs), at most n.
func (s *Scheduler) numCandidates(n int) int {
	c := n * int(s.cfg.MinCandidateNodesPercentage) / 100
	c = max(c, int(s.cfg.MinCandidateNodesAbsolute))
	return min(c, n)
}

func (s *Scheduler) sortedPDBs() []*policyv1.PodDisruptionBudget {
	out := make([]*policyv1.PodDisruptionBudget, 0, len(s.pdbs))
	for _, p := range s.pdbs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// startTime is the pod's start time, or now for pods that have not started
// (upstream util.GetPodStartTime, with the engine clock).
func (s *Scheduler) startTime(p *v1.Pod) time.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime.Time
	}
	return s.eng.Now()
}

// moreImportant orders victims: higher priority first, then the one that
// started earlier.
func (s *Scheduler) moreImportant(a, b *fw.PodInfo) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	return s.startTime(a.Pod).Before(s.startTime(b.Pod))
}

// selectVictimsOnNode finds the minimal set of lower-priority pods to evict
// from n (a clone) so that pi fits: remove them all, check the pod fits,
// then add back the most important ones first, PDB-violating ones before
// the others, keeping each that still lets the pod fit.
func (s *Scheduler) selectVictimsOnNode(cs *plugins.CycleState, pi *fw.PodInfo, n *fw.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) ([]*fw.PodInfo, int, *fw.Status) {
	var potential []*fw.PodInfo
	for _, p := range n.Pods {
		if p.Priority < pi.Priority {
			potential = append(potential, p)
		}
	}
	if len(potential) == 0 {
		return nil, 0, statusNoVictims
	}
	for _, p := range potential {
		n.RemovePod(p)
		s.fwk.RemovePod(cs, pi, p, n)
	}
	nominated := s.nominator.podsFor(n.Name)
	if st := s.fwk.RunFilterWithNominated(cs, pi, n, nominated); st != nil {
		return nil, 0, st
	}
	sort.SliceStable(potential, func(i, j int) bool { return s.moreImportant(potential[i], potential[j]) })
	violatingPods, nonViolatingPods := filterPodsWithPDBViolation(potential, pdbs)
	var victims []*fw.PodInfo
	reprieve := func(p *fw.PodInfo) bool {
		n.AddPod(p)
		s.fwk.AddPod(cs, pi, p, n)
		if s.fwk.RunFilterWithNominated(cs, pi, n, nominated) == nil {
			return true
		}
		n.RemovePod(p)
		s.fwk.RemovePod(cs, pi, p, n)
		victims = append(victims, p)
		return false
	}
	numViolating := 0
	for _, p := range violatingPods {
		if !reprieve(p) {
			numViolating++
		}
	}
	for _, p := range nonViolatingPods {
		reprieve(p)
	}
	if len(violatingPods) > 0 && len(nonViolatingPods) > 0 {
		sort.SliceStable(victims, func(i, j int) bool { return s.moreImportant(victims[i], victims[j]) })
	}
	return victims, numViolating, nil
}

// filterPodsWithPDBViolation splits pods (keeping their order) into those
// whose eviction would exceed a matching PDB's disruptionsAllowed and the rest.
func filterPodsWithPDBViolation(pods []*fw.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, nonViolating []*fw.PodInfo) {
	allowed := make([]int32, len(pdbs))
	for i, p := range pdbs {
		allowed[i] = p.Status.DisruptionsAllowed
	}
	for _, pi := range pods {
		violated := false
		if len(pi.Pod.Labels) != 0 {
			for i, pdb := range pdbs {
				if pdb.Namespace != pi.Namespace {
					continue
				}
				sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
				if err != nil || sel.Empty() || !sel.Matches(labels.Set(pi.Pod.Labels)) {
					continue
				}
				if _, ok := pdb.Status.DisruptedPods[pi.Name]; ok {
					continue
				}
				allowed[i]--
				if allowed[i] < 0 {
					violated = true
				}
			}
		}
		if violated {
			violating = append(violating, pi)
		} else {
			nonViolating = append(nonViolating, pi)
		}
	}
	return violating, nonViolating
}

// pickOneNodeForPreemption applies upstream's criteria in order: fewest PDB
// violations, lowest highest-victim priority, smallest priority sum, fewest
// victims, latest start among the highest-priority victims; then the first
// candidate (in dry-run order).
func (s *Scheduler) pickOneNodeForPreemption(cands []candidate) candidate {
	if len(cands) == 1 {
		return cands[0]
	}
	funcs := []func(c *candidate) int64{
		func(c *candidate) int64 { return -int64(c.pdbViolations) },
		func(c *candidate) int64 { return -int64(c.victims[0].Priority) },
		func(c *candidate) int64 {
			var sum int64
			for _, v := range c.victims {
				sum += int64(v.Priority) + int64(math.MaxInt32+1)
			}
			return -sum
		},
		func(c *candidate) int64 { return -int64(len(c.victims)) },
		func(c *candidate) int64 {
			highest := c.victims[0].Priority
			earliest := s.startTime(c.victims[0].Pod)
			for _, v := range c.victims[1:] {
				if v.Priority == highest && s.startTime(v.Pod).Before(earliest) {
					earliest = s.startTime(v.Pod)
				}
			}
			return earliest.UnixNano()
		},
	}
	idx := make([]int, len(cands))
	for i := range idx {
		idx[i] = i
	}
	for _, f := range funcs {
		best := int64(math.MinInt64)
		var sel []int
		for _, i := range idx {
			v := f(&cands[i])
			if v > best {
				best, sel = v, sel[:0]
			}
			if v == best {
				sel = append(sel, i)
			}
		}
		if len(sel) == 1 {
			return cands[sel[0]]
		}
		idx = sel
	}
	return cands[idx[0]]
}

// prepareCandidate evicts the victims that are not already terminating and
// clears the nominations of lower-priority pods nominated to the node
// (upstream's Executor.prepareCandidate).
func (s *Scheduler) prepareCandidate(c candidate, pi *fw.PodInfo) error {
	for _, v := range c.victims {
		victim := s.pods[v.UID]
		if victim == nil {
			victim = v.Pod
		}
		if victim.DeletionTimestamp != nil {
			// Graceful deletion has already started: upstream's executor
			// (v1.35+) sends no API call for it — no DisruptionTarget
			// condition, no delete, no Preempted event.
			continue
		}
		s.trace("preempt", victim, "by "+pi.Key+" on "+c.node.Name)
		if err := s.api.Preempt(victim, pi.Pod); err != nil {
			if apierrors.IsNotFound(err) {
				continue // already gone: preempted, without an event (upstream's PreemptPod)
			}
			return err
		}
		s.api.Event(victim, v1.EventTypeNormal, "Preempted", fmt.Sprintf("Preempted by pod %v on node %v", pi.UID, c.node.Name))
	}
	for _, np := range append([]*fw.PodInfo(nil), s.nominator.podsFor(c.node.Name)...) {
		if np.Priority >= pi.Priority {
			continue
		}
		s.nominator.remove(np.UID)
		if p := s.pods[np.UID]; p != nil && p.Status.NominatedNodeName != "" {
			if err := s.api.SetNominatedNode(p, ""); err != nil {
				s.trace("clearNominationFailed", p, err.Error())
			}
		}
	}
	return nil
}
