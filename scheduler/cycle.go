package scheduler

import (
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
	"github.com/kubesim/kubesim/scheduler/internal/plugins"
	"github.com/kubesim/kubesim/scheduler/internal/queue"
)

// Upstream constants of schedule_one.go.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
	// noteLengthLimit is the event message limit (truncateMessage).
	noteLengthLimit = 1024
)

// ErrNoNodesAvailable is the message of an attempt made with no nodes.
const ErrNoNodesAvailable = "no nodes available to schedule pods"

func (s *Scheduler) hint(q *queue.QueuedPodInfo, ev *fw.ClusterEvent) bool {
	return s.fwk.Hint(plugins.Set(q.Rejectors), q.PodInfo, ev)
}

// moveAll hands a cluster event to the queue, which requeues the pods whose
// rejecting plugins' hints say the event may help.
func (s *Scheduler) moveAll(ev *fw.ClusterEvent) {
	s.queue.MoveAllToActiveOrBackoffQueue(ev, s.now(), s.hint)
	s.ensureCycle()
	s.ensureBackoffTimer()
}

// ensureCycle schedules the next scheduling cycle when activeQ is not empty
// and none is pending. Cycles never run synchronously from a handler.
func (s *Scheduler) ensureCycle() {
	if s.queue.ActiveLen() > 0 && !s.cycleTimer.Pending() {
		s.cycleTimer = s.eng.After(0, "scheduler/cycle", s.cycleFn)
	}
}

// ensureBackoffTimer keeps one engine timer at the earliest backoff expiry.
func (s *Scheduler) ensureBackoffTimer() {
	at, ok := s.queue.NextBackoffExpiry()
	if !ok {
		s.backoffTimer.Stop()
		return
	}
	if when, pending := s.backoffTimer.When(); pending && when == at {
		return
	}
	s.backoffTimer.Stop()
	at = max(at, s.now())
	s.backoffTimer = s.eng.At(at, "scheduler/backoff-expired", func() {
		s.queue.FlushBackoffCompleted(s.now())
		s.ensureCycle()
		s.ensureBackoffTimer()
	})
}

// periodic is the 30 s housekeeping: the leftover flush of the
// unschedulable pool, expiry of assumed pods, explain garbage collection.
func (s *Scheduler) periodic() {
	now := s.now()
	s.queue.FlushUnschedulableLeftover(now)
	for _, pi := range s.cache.Cleanup(now) {
		s.trace("assumeExpired", pi.Pod, "")
		s.queue.MoveAllToActiveOrBackoffQueue(&fw.ClusterEvent{Kind: fw.AssignedPodDelete, OldPod: pi}, now, s.hint)
	}
	s.explain.gc(now)
	s.ensureCycle()
	s.ensureBackoffTimer()
}

// numFeasibleNodesToFind is upstream's: all nodes below 100, else the
// configured (or adaptive max(50 − n/125, 5)) percentage, at least 100.
func numFeasibleNodesToFind(percentage int32, numAllNodes int32) int32 {
	if numAllNodes < minFeasibleNodesToFind {
		return numAllNodes
	}
	if percentage == 0 {
		percentage = int32(50) - numAllNodes/125
		if percentage < minFeasibleNodesPercentageToFind {
			percentage = minFeasibleNodesPercentageToFind
		}
	}
	n := numAllNodes * percentage / 100
	if n < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return n
}

// diagnosis collects why a pod fits nowhere (upstream framework.Diagnosis).
type diagnosis struct {
	failed      []nodeStatus
	absent      *fw.Status
	absentCount int
	preFilter   *fw.Status
	rejectors   plugins.Set
}

// failure is the outcome of a failed attempt handed to handleFailure.
type failure struct {
	errored   bool
	message   string
	rejectors plugins.Set
	// nominate is the nominatedNodeName to set; nil leaves it unchanged.
	nominate *string
}

var clearNomination = new(string)

// scheduleOne runs one scheduling cycle for the best pod in activeQ.
func (s *Scheduler) scheduleOne() {
	defer func() {
		s.ensureCycle()
		s.ensureBackoffTimer()
	}()
	now := s.now()
	qpi := s.queue.Pop(now)
	if qpi == nil {
		return
	}
	pi := qpi.PodInfo
	// Upstream skipPodSchedule: a pod being deleted (it says so in an
	// event) or already assumed is dropped from the queue.
	if pi.Pod.DeletionTimestamp != nil {
		s.api.Event(pi.Pod, v1.EventTypeWarning, "FailedScheduling", "skip schedule deleting pod: "+pi.Key)
		s.queue.Done(pi.UID, true)
		return
	}
	if s.cache.IsAssumed(pi.UID) {
		s.queue.Done(pi.UID, true)
		return
	}
	s.cycle++
	rec := s.explain.begin(qpi, s.cycle, now)
	nodes := s.cache.Nodes()
	rec.numNodes = int32(len(nodes))
	if len(nodes) == 0 {
		rec.outcome = OutcomeUnschedulable
		rec.message = ErrNoNodesAvailable
		s.handleFailure(qpi, rec, failure{message: ErrNoNodesAvailable, nominate: clearNomination})
		return
	}

	var d diagnosis
	d.failed = s.failed[:0]
	host, via, err := s.schedulePod(pi, nodes, &d, rec)
	s.failed = d.failed[:0]
	if err != nil {
		rec.outcome = OutcomeError
		rec.message = err.Error()
		s.handleFailure(qpi, rec, failure{errored: true, message: err.Error(), nominate: clearNomination})
		return
	}
	if host == nil {
		nominate, post, pre := s.postFilter(pi, &d, rec)
		rec.preemption = pre
		fe := fitError{numAllNodes: len(nodes), failed: d.failed, absent: d.absent, absentCount: d.absentCount, postFilterMsg: post}
		if d.preFilter != nil {
			fe.preFilterMsg = d.preFilter.Message()
		}
		msg := fe.Error()
		rec.outcome = OutcomeUnschedulable
		rec.message = msg
		s.handleFailure(qpi, rec, failure{message: msg, rejectors: d.rejectors, nominate: nominate})
		return
	}

	// Assume: account the pod on the node now, bind asynchronously.
	s.cache.AssumePod(pi, host.Name)
	s.nominator.remove(pi.UID)
	rec.outcome = OutcomeAssumed
	rec.node = host.Name
	rec.viaNominated = via
	s.trace("assume", pi.Pod, host.Name)
	node := host.Name
	s.eng.After(s.cfg.BindDelay, "scheduler/bind "+pi.Key, func() { s.bind(qpi, node, rec) })
}

// schedulePod finds the node for pi, or returns nil with d filled.
func (s *Scheduler) schedulePod(pi *fw.PodInfo, nodes []*fw.NodeInfo, d *diagnosis, rec *attemptRecord) (*fw.NodeInfo, bool, error) {
	pre := s.fwk.RunPreFilter(s.cs, pi)
	d.rejectors = pre.Rejectors
	rec.skippedFilters = s.cs.SkippedFilters()
	if pre.Status != nil {
		if !pre.Status.IsRejected() {
			return nil, false, fmt.Errorf("running PreFilter plugin %q: %s", pre.Status.Plugin(), pre.Status.Message())
		}
		d.preFilter = pre.Status
		d.absent, d.absentCount = pre.Status, len(nodes)
		rec.preFilter = pre.Status
		return nil, false, nil
	}

	// A node nominated by an earlier preemption is tried first, alone. Its
	// rejection stays in the diagnosis (upstream evaluateNominatedNode
	// writes into the shared NodeToStatus) unless the search below
	// examines the node again.
	var nominated nodeStatus
	if nnn := s.nominator.node(pi.UID); nnn != "" {
		if n := s.cache.Get(nnn); n != nil {
			st := s.fwk.RunFilterWithNominated(s.cs, pi, n, s.nominator.podsFor(nnn))
			if st == nil {
				rec.examined, rec.feasible = 1, 1
				return n, true, nil
			}
			if st.IsRejected() {
				nominated = nodeStatus{n, st}
			}
		}
	}

	candidates := nodes
	if pre.NodeNames != nil {
		candidates = make([]*fw.NodeInfo, 0, len(pre.NodeNames))
		for _, n := range nodes {
			if _, ok := pre.NodeNames[n.Name]; ok {
				candidates = append(candidates, n)
			}
		}
		d.absent = fw.NewStatus(fw.UnschedulableAndUnresolvable, "", fmt.Sprintf("node(s) didn't satisfy plugin(s) %v", pre.Plugins))
		d.absentCount = len(nodes) - len(candidates)
	}
	feasible := s.feasible[:0]
	if len(candidates) > 0 {
		numToFind := int(numFeasibleNodesToFind(s.cfg.PercentageOfNodesToScore, int32(len(candidates))))
		start := s.nextStartNodeIndex % len(candidates)
		rec.numToFind, rec.startIndex = int32(numToFind), int32(start)
		for i, j := 0, start; i < len(candidates); i, j = i+1, j+1 {
			if j == len(candidates) {
				j = 0 // wrap around: (start+i) mod len
			}
			n := candidates[j]
			st := s.fwk.RunFilterWithNominated(s.cs, pi, n, s.nominator.podsFor(n.Name))
			if st == nil {
				feasible = append(feasible, n)
				if len(feasible) >= numToFind {
					break
				}
				continue
			}
			if st.Code() == fw.Error {
				s.feasible = feasible[:0]
				return nil, false, fmt.Errorf("running %q filter plugin: %s", st.Plugin(), st.Message())
			}
			d.failed = append(d.failed, nodeStatus{n, st})
			if id, ok := plugins.ByName(st.Plugin()); ok && st.IsRejected() {
				d.rejectors = d.rejectors.Add(id)
			}
		}
	}
	if nominated.node != nil {
		s.keepNominatedStatus(nominated, candidates, len(feasible)+len(d.failed), d)
	}
	processed := len(feasible) + len(d.failed)
	s.nextStartNodeIndex = (s.nextStartNodeIndex + processed) % len(nodes)
	rec.examined, rec.feasible = int32(processed), int32(len(feasible))
	s.explain.recordFiltered(rec, d.failed)
	s.feasible = feasible[:0]

	switch len(feasible) {
	case 0:
		return nil, false, nil
	case 1:
		return feasible[0], false, nil
	}
	if st := s.fwk.RunScore(s.cs, pi, feasible, &s.sc); st != nil {
		return nil, false, fmt.Errorf("running %q score plugin: %s", st.Plugin(), st.Message())
	}
	var top topNodes
	best := s.selectHost(s.sc.Total, &top)
	// The explain record takes feasible over; the scheduler's next cycle
	// fills the buffer it gets back.
	s.feasible = s.explain.recordScores(rec, feasible, &s.sc, &top)
	return feasible[best], false, nil
}

// keepNominatedStatus adds the nominated node's rejection to the diagnosis
// when the search did not examine that node again: scanned nodes of
// candidates were examined from nextStartNodeIndex on.
func (s *Scheduler) keepNominatedStatus(ns nodeStatus, candidates []*fw.NodeInfo, scanned int, d *diagnosis) {
	if j := slices.Index(candidates, ns.node); j < 0 {
		d.absentCount-- // no longer counted with the PreFilter-excluded nodes
	} else if (j-s.nextStartNodeIndex%len(candidates)+len(candidates))%len(candidates) < scanned {
		return // examined again: its status is in d.failed already
	}
	d.failed = append(d.failed, ns)
	if id, ok := plugins.ByName(ns.status.Plugin()); ok {
		d.rejectors = d.rejectors.Add(id)
	}
}

// selectHost picks uniformly at random among the nodes with the highest
// total score, drawing from the scheduler's seeded stream (one draw per
// tie). In the same pass it finds the attempt's best nodes for its explain
// record (top): the chosen one first, then the others by total and, among
// equal totals, examination order — explainStore.order's first maxTop.
func (s *Scheduler) selectHost(total []int64, top *topNodes) int {
	// first holds the first maxTop nodes by total, then examination order.
	var first [maxTop]int
	n := 0
	best, ties := 0, 0
	for i, t := range total {
		switch {
		case i == 0 || t > total[best]:
			best, ties = i, 1
		case t == total[best]:
			ties++
		}
		if n == maxTop && t <= total[first[n-1]] {
			continue // the common case: not among the best few
		}
		k := min(n, maxTop-1)
		for k > 0 && t > total[first[k-1]] {
			first[k] = first[k-1]
			k--
		}
		first[k] = i
		n = min(n+1, maxTop)
	}
	chosen := best
	if ties > 1 {
		// The k-th of the tied nodes in examination order: the tied nodes
		// lead first, in that order.
		k := s.rng.IntN(ties)
		if k < n {
			chosen = first[k]
		} else {
			for i := best; ; i++ {
				if total[i] == total[best] {
					if k == 0 {
						chosen = i
						break
					}
					k--
				}
			}
		}
	}
	top.order[0], top.n = chosen, 1
	for _, i := range first[:n] {
		if i != chosen && top.n < maxTop {
			top.order[top.n] = i
			top.n++
		}
	}
	return chosen
}

// topNodes is an attempt's best scored nodes, best first (see selectHost).
type topNodes struct {
	order [maxTop]int
	n     int
}

// bind runs the binding cycle of an assumed pod.
func (s *Scheduler) bind(qpi *queue.QueuedPodInfo, node string, rec *attemptRecord) {
	uid := qpi.PodInfo.UID
	pod := s.pods[uid]
	if !s.cache.IsAssumed(uid) || pod == nil {
		// Deleted (or bound by someone else) while waiting for the bind.
		s.queue.Done(uid, true)
		return
	}
	if err := s.api.Bind(pod, node); err != nil {
		if s.cache.IsAssumed(uid) {
			pi := s.cache.ForgetPod(uid)
			s.queue.MoveAllToActiveOrBackoffQueue(&fw.ClusterEvent{Kind: fw.AssignedPodDelete, OldPod: pi}, s.now(), s.hint)
		}
		msg := fmt.Sprintf("running Bind plugin %q: %v", "DefaultBinder", err)
		rec.outcome = OutcomeBindFailed
		rec.message = msg
		s.trace("bindFailed", pod, msg)
		s.handleFailure(qpi, rec, failure{errored: true, message: msg, nominate: clearNomination})
		s.ensureCycle()
		s.ensureBackoffTimer()
		return
	}
	s.cache.FinishBinding(uid, s.now())
	s.queue.Done(uid, true)
	rec.outcome = OutcomeBound
	s.trace("bind", pod, node)
	s.api.Event(pod, v1.EventTypeNormal, "Scheduled", "Successfully assigned "+pod.Namespace+"/"+pod.Name+" to "+node)
}

// handleFailure re-queues a pod after a failed attempt, records the
// FailedScheduling event and updates PodScheduled and nominatedNodeName
// (upstream handleSchedulingFailure).
func (s *Scheduler) handleFailure(qpi *queue.QueuedPodInfo, rec *attemptRecord, f failure) {
	uid := qpi.PodInfo.UID
	reason := v1.PodReasonUnschedulable
	if f.errored {
		reason = v1.PodReasonSchedulerError
	}
	latest := s.pods[uid]
	if latest == nil || assigned(latest) || terminal(latest) {
		s.queue.Done(uid, true)
		return
	}
	if latest != qpi.PodInfo.Pod {
		qpi.PodInfo = fw.NewPodInfo(latest, s.priorityOf(latest))
	}
	loc := s.queue.AddUnschedulableIfNotPresent(qpi, uint16(f.rejectors), f.errored, s.now(), s.hint)
	rec.requeuedTo = loc.String()
	rec.rejectors = f.rejectors
	nominated := s.nominator.node(uid)
	if f.nominate != nil {
		nominated = *f.nominate
		s.nominator.set(qpi.PodInfo, nominated)
	}
	s.trace("failedScheduling", latest, f.message)
	s.api.Event(latest, v1.EventTypeWarning, "FailedScheduling", truncateMessage(f.message))
	cond, changed := s.scheduledCondition(latest, reason, f.message)
	if changed || latest.Status.NominatedNodeName != nominated {
		if err := s.api.SetUnschedulable(latest, cond, nominated); err != nil {
			s.trace("statusUpdateFailed", latest, err.Error())
		}
	}
}

// scheduledCondition builds PodScheduled=False, observed at the pod's
// generation, and reports whether it differs from the pod's current
// condition (status, reason or message: as upstream's
// podutil.UpdatePodCondition, a new observedGeneration alone is no change).
func (s *Scheduler) scheduledCondition(pod *v1.Pod, reason, msg string) (v1.PodCondition, bool) {
	cond := v1.PodCondition{
		Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: reason, Message: msg,
		ObservedGeneration: pod.Generation, LastTransitionTime: metav1.NewTime(s.eng.Now()),
	}
	for _, c := range pod.Status.Conditions {
		if c.Type != v1.PodScheduled {
			continue
		}
		if c.Status == cond.Status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
		return cond, c.Status != cond.Status || c.Reason != cond.Reason || c.Message != cond.Message
	}
	return cond, true
}

func truncateMessage(msg string) string {
	if len(msg) <= noteLengthLimit {
		return msg
	}
	const suffix = " ..."
	return msg[:noteLengthLimit-len(suffix)] + suffix
}
