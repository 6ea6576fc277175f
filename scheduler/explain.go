package scheduler

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
	"github.com/kubesim/kubesim/scheduler/internal/plugins"
	"github.com/kubesim/kubesim/scheduler/internal/queue"
	"github.com/kubesim/kubesim/sim"
)

// Outcome is how a scheduling attempt ended.
type Outcome string

const (
	// OutcomeAssumed means a node was chosen and the bind is pending.
	OutcomeAssumed Outcome = "Assumed"
	// OutcomeBound means the bind succeeded.
	OutcomeBound Outcome = "Bound"
	// OutcomeBindFailed means the Bind call failed; the pod was requeued.
	OutcomeBindFailed Outcome = "BindFailed"
	// OutcomeUnschedulable means no node fits (PodScheduled=False, Unschedulable).
	OutcomeUnschedulable Outcome = "Unschedulable"
	// OutcomeError means an internal error (PodScheduled=False, SchedulerError).
	OutcomeError Outcome = "Error"
)

// Attempt is the explain record of one scheduling attempt of a pod.
type Attempt struct {
	// Time is the simulated time of the cycle (since sim.Epoch).
	Time time.Duration
	// Cycle is the scheduler's cycle number; AttemptNumber counts this pod's attempts.
	Cycle         int64
	AttemptNumber int
	Namespace     string
	Name          string
	UID           types.UID
	Priority      int32
	// MovedBy is the event that last moved the pod back to activeQ from the
	// unschedulable pool or backoffQ ("" on the first attempt).
	MovedBy string
	Outcome Outcome
	// Node is the chosen node (Assumed, Bound, BindFailed).
	Node string
	// ViaNominatedNode is true when the node nominated by an earlier
	// preemption passed the filters and was taken without scoring.
	ViaNominatedNode bool
	// Message is the FitError text (or error) for failed attempts.
	Message string
	// NumNodes is the cluster size; NumToFind the feasible nodes sought
	// (percentageOfNodesToScore); StartIndex where filtering started
	// (nextStartNodeIndex); Examined and Feasible what filtering did.
	NumNodes, NumToFind, StartIndex, Examined, Feasible int
	// SkippedFilters are the filter plugins whose PreFilter said Skip.
	SkippedFilters []string
	// PreFilterRejection is the PreFilter rejection, when there was one.
	PreFilterRejection string
	// Rejectors are the plugins that rejected the pod (they decide which
	// cluster events requeue it); RequeuedTo is where the pod went.
	Rejectors  []string
	RequeuedTo string
	// Detailed is false when the per-node details were dropped to bound
	// memory (only the most recent ExplainDetailedAttempts keep them). An
	// attempt that took the nominated node has none to drop: it is always
	// Detailed.
	Detailed bool
	// Filtered lists every examined node a filter rejected, in examination order.
	Filtered []NodeVerdict
	// Scores lists every scored node by decreasing total (the chosen node
	// first among equals, then examination order); empty
	// when fewer than two nodes were feasible. Top keeps the first three
	// even after the details are dropped.
	Scores []NodeScore
	Top    []NodeScore
	// Preemption is the PostFilter record of a failed attempt.
	Preemption *Preemption
}

// NodeVerdict is one node's filter rejection.
type NodeVerdict struct {
	Node    string
	Plugin  string
	Code    string
	Reasons []string
}

// NodeScore is one node's scores.
type NodeScore struct {
	Node    string
	Total   int64
	Chosen  bool
	Plugins []PluginScore
}

// PluginScore is one score plugin's contribution to a node.
type PluginScore struct {
	Plugin     string
	Weight     int64
	Raw        int64
	Normalized int64
	Weighted   int64
	// Skipped means the plugin's PreScore returned Skip (it contributes 0).
	Skipped bool
}

// attemptRecord is the compact internal form of an Attempt: a scheduler
// keeps one for every attempt of every pod (up to ExplainAttemptsPerPod
// each), so it holds small numbers and shared strings only. The pod's
// namespace, name and UID are its podHistory's.
type attemptRecord struct {
	time       time.Duration
	cycle      int64
	preFilter  *fw.Status
	preemption *Preemption
	// detail holds the per-node details while the record holds a slot of
	// the detail ring; top the best scored nodes afterwards.
	detail     *recDetail
	top        *recTop
	movedBy    string
	outcome    Outcome
	node       string
	message    string
	requeuedTo string

	attempt, priority                                   int32
	numNodes, numToFind, startIndex, examined, feasible int32
	chosen                                              int32 // among the scored nodes; -1: none
	skippedFilters, rejectors                           plugins.Set
	skippedScores                                       uint32 // bit p: score plugin p skipped (contributes 0)
	viaNominated                                        bool
}

// recDetail is the per-node detail of an attempt: every filter rejection,
// and every scored node with its scores.
type recDetail struct {
	failed  []recFailed
	scoreNI []*fw.NodeInfo // the scored nodes (their names are read on export)
	// raw and norm are by score plugin, then by scored node (a skipped
	// plugin's row is not the attempt's: skippedScores says which); total
	// by scored node. They are the framework's score buffers of the
	// attempt, taken over rather than copied (the framework gets the
	// buffers of the detail recycled); a plugin without ScoreExtensions
	// has one buffer for both its rows.
	raw, norm [][]int64
	total     []int64
}

// recTop is the best (at most maxTop) scored nodes of an attempt once its
// details are dropped, best first. Their plugin scores are int32 (raw
// scores beyond its range, which no default plugin gives, saturate).
type recTop struct {
	nodes  [maxTop]string
	total  [maxTop]int64
	n      int
	chosen int32   // index of the chosen node in nodes; -1: not among them
	scores []int32 // raw then normalized, each plugin-major over non-skipped plugins: [row*n + node]
}

// maxTop is how many scored nodes an attempt keeps after its details go.
const maxTop = 3

type recFailed struct {
	node string
	st   *fw.Status
}

type podHistory struct {
	ns, name string
	uid      types.UID
	recs     []*attemptRecord // oldest first
}

type deletion struct {
	key string
	uid types.UID
	at  time.Duration
}

// explainStore keeps the last N attempts per pod and the full details of
// the last D attempts cluster-wide; histories of deleted pods are dropped
// after ExplainRetainDeleted.
type explainStore struct {
	cfg       Config
	ids       []plugins.ID
	weights   []int64
	pods      map[string]*podHistory
	ring      []*attemptRecord
	ringNext  int
	deletions []deletion
}

func newExplainStore(cfg Config, f *plugins.Framework) *explainStore {
	ids, w := f.ScorePlugins()
	if len(ids) > 32 {
		panic("scheduler: explain records hold at most 32 score plugins")
	}
	return &explainStore{cfg: cfg, ids: ids, weights: w, pods: map[string]*podHistory{},
		ring: make([]*attemptRecord, 0, cfg.ExplainDetailedAttempts)}
}

func (e *explainStore) begin(q *queue.QueuedPodInfo, cycle int64, now time.Duration) *attemptRecord {
	pi := q.PodInfo
	r := &attemptRecord{time: now, cycle: cycle, attempt: int32(q.Attempts), priority: pi.Priority, movedBy: q.MovedBy, chosen: -1}
	h := e.pods[pi.Key]
	if h == nil || h.uid != pi.UID {
		h = &podHistory{ns: pi.Namespace, name: pi.Name, uid: pi.UID}
		e.pods[pi.Key] = h
	}
	if len(h.recs) >= e.cfg.ExplainAttemptsPerPod {
		copy(h.recs, h.recs[1:])
		h.recs = h.recs[:len(h.recs)-1]
	}
	h.recs = append(h.recs, r)
	return r
}

// takeDetail gives r a slot in the detail ring, recycling the detail
// buffers of the record it evicts (which keeps its top scores).
func (e *explainStore) takeDetail(r *attemptRecord) {
	if r.detail != nil {
		return
	}
	if len(e.ring) < cap(e.ring) {
		e.ring = append(e.ring, r)
		r.detail = &recDetail{}
		return
	}
	old := e.ring[e.ringNext]
	e.ring[e.ringNext] = r
	e.ringNext = (e.ringNext + 1) % len(e.ring)
	d := old.detail
	old.dropDetail()
	// Not cleared: the stale entries beyond the lengths are overwritten by
	// later attempts, and what they keep alive (nodes, statuses) is
	// bounded by the ring. raw, norm and total are read only up to the
	// number of scored nodes, 0 until recordScores.
	d.failed, d.scoreNI = d.failed[:0], d.scoreNI[:0]
	r.detail = d
}

// topOf is the compact form of r's score detail (Attempt.Top): its best
// maxTop nodes, best first, as order gives them (order's first maxTop,
// which selectHost finds while it picks the node). It is made while the
// attempt's scores are fresh in the cache, and takes over when the detail
// leaves the ring.
func (e *explainStore) topOf(r *attemptRecord, order []int) *recTop {
	d := r.detail
	rows := 0 // the non-skipped plugins
	for p := range d.raw {
		if r.skippedScores&(1<<p) == 0 {
			rows++
		}
	}
	k := len(order)
	t := &recTop{n: k, chosen: -1, scores: make([]int32, 2*rows*k)}
	for j, i := range order {
		t.nodes[j], t.total[j] = d.scoreNI[i].Name, d.total[i]
		if int32(i) == r.chosen {
			t.chosen = int32(j)
		}
		row := 0
		for p := range d.raw {
			if r.skippedScores&(1<<p) != 0 {
				continue
			}
			t.scores[row*k+j] = saturate32(d.raw[p][i])
			t.scores[(rows+row)*k+j] = saturate32(d.norm[p][i])
			row++
		}
	}
	return t
}

// dropDetail cuts r down to its top scored nodes (none if it scored none):
// r.chosen becomes the chosen node's index among them.
func (r *attemptRecord) dropDetail() {
	r.detail = nil
	r.chosen = -1
	if r.top != nil {
		r.chosen = r.top.chosen
	}
}

func saturate32(v int64) int32 {
	return int32(max(math.MinInt32, min(math.MaxInt32, v)))
}

// numScored is the number of scored nodes the record holds (all of them
// while detailed, the best few after dropDetail).
func (r *attemptRecord) numScored() int {
	if r.detail != nil {
		return len(r.detail.scoreNI)
	}
	if r.top != nil {
		return r.top.n
	}
	return 0
}

// scoredName is the name of the i-th scored node of the record.
func (r *attemptRecord) scoredName(i int) string {
	if r.detail != nil {
		return r.detail.scoreNI[i].Name
	}
	return r.top.nodes[i]
}

// scoredTotal is the total score of the i-th scored node of the record.
func (r *attemptRecord) scoredTotal(i int) int64 {
	if r.detail != nil {
		return r.detail.total[i]
	}
	return r.top.total[i]
}

// pluginScores are the raw and normalized scores of plugin p, the row-th
// non-skipped plugin, on the i-th scored node.
func (r *attemptRecord) pluginScores(p, row, i int) (raw, norm int64) {
	if d := r.detail; d != nil {
		return d.raw[p][i], d.norm[p][i]
	}
	t := r.top
	rows := len(t.scores) / (2 * t.n)
	return int64(t.scores[row*t.n+i]), int64(t.scores[(rows+row)*t.n+i])
}

func (e *explainStore) recordFiltered(r *attemptRecord, failed []nodeStatus) {
	e.takeDetail(r)
	for _, f := range failed {
		r.detail.failed = append(r.detail.failed, recFailed{f.node.Name, f.status})
	}
}

// recordScores records the scores of an attempt, taking over nodes (the
// scored nodes) and the framework's score buffers, and returns a buffer
// for the caller's next nodes (recycled from an older attempt; empty).
// top is the attempt's best nodes as selectHost found them, the chosen
// one first.
func (e *explainStore) recordScores(r *attemptRecord, nodes []*fw.NodeInfo, sc *plugins.Scores, top *topNodes) []*fw.NodeInfo {
	e.takeDetail(r)
	d := r.detail
	r.skippedScores = 0
	for p, skipped := range sc.Skipped {
		if skipped {
			r.skippedScores |= 1 << p
		}
	}
	r.chosen = int32(top.order[0])
	spare := d.scoreNI[:0]
	d.scoreNI = nodes
	// Take the framework's buffers of the plugins that scored and give it
	// the detail's (recycled from an older attempt; nil in a new detail)
	// for its next cycle. A skipped plugin's row stays the framework's:
	// the detail does not read it.
	if len(d.raw) != len(sc.Raw) {
		d.raw, d.norm = make([][]int64, len(sc.Raw)), make([][]int64, len(sc.Raw))
	}
	for p := range sc.Raw {
		if !sc.Skipped[p] {
			d.raw[p], sc.Raw[p] = sc.Raw[p], d.raw[p]
			d.norm[p], sc.Norm[p] = sc.Norm[p], d.norm[p]
		}
	}
	d.total, sc.Total = sc.Total, d.total
	r.top = e.topOf(r, top.order[:top.n])
	return spare
}

// better orders scored nodes: higher total, then the chosen node, then
// examination order.
func (r *attemptRecord) better(a, b int) bool {
	if ta, tb := r.scoredTotal(a), r.scoredTotal(b); ta != tb {
		return ta > tb
	}
	if (a == int(r.chosen)) != (b == int(r.chosen)) {
		return a == int(r.chosen)
	}
	return a < b
}

// scores renders the score detail of r, best first, at most limit entries
// (0 = all).
func (e *explainStore) scores(r *attemptRecord, limit int) []NodeScore {
	np := len(e.ids)
	order := e.order(r, limit, nil)
	out := make([]NodeScore, len(order))
	for k, i := range order {
		ns := NodeScore{Node: r.scoredName(i), Total: r.scoredTotal(i), Chosen: i == int(r.chosen), Plugins: make([]PluginScore, np)}
		row := 0 // index among the non-skipped plugins
		for p := 0; p < np; p++ {
			ps := PluginScore{Plugin: e.ids[p].String(), Weight: e.weights[p], Skipped: r.skippedScores&(1<<p) != 0}
			if !ps.Skipped {
				ps.Raw, ps.Normalized = r.pluginScores(p, row, i)
				ps.Weighted = ps.Normalized * ps.Weight
				row++
			}
			ns.Plugins[p] = ps
		}
		out[k] = ns
	}
	return out
}

// order lists the indices of r's scored nodes, best first, at most limit
// (0 = all), in dst's memory when they fit.
func (e *explainStore) order(r *attemptRecord, limit int, dst []int) []int {
	nn := r.numScored()
	if limit > 0 && limit < nn {
		return bestOrder(r, limit, dst)
	}
	order := make([]int, nn)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return r.better(order[a], order[b]) })
	return order
}

// bestOrder is order for a limit under the number of scored nodes: one
// pass keeping the best few in order (insertion into a tiny list).
func bestOrder(r *attemptRecord, limit int, dst []int) []int {
	nn := r.numScored()
	order := slices.Grow(dst[:0], limit+1)
	for i := 0; i < nn; i++ {
		if len(order) == limit && !r.better(i, order[limit-1]) {
			continue
		}
		k := len(order)
		for k > 0 && r.better(i, order[k-1]) {
			k--
		}
		order = slices.Insert(order, k, i)
		if len(order) > limit {
			order = order[:limit]
		}
	}
	return order
}

func (e *explainStore) podDeleted(key string, now time.Duration) {
	if h := e.pods[key]; h != nil {
		e.deletions = append(e.deletions, deletion{key: key, uid: h.uid, at: now})
	}
}

func (e *explainStore) gc(now time.Duration) {
	i := 0
	for ; i < len(e.deletions) && now-e.deletions[i].at >= e.cfg.ExplainRetainDeleted; i++ {
		d := e.deletions[i]
		if h := e.pods[d.key]; h != nil && h.uid == d.uid {
			delete(e.pods, d.key)
		}
	}
	e.deletions = append(e.deletions[:0], e.deletions[i:]...)
}

func (e *explainStore) export(h *podHistory, r *attemptRecord) *Attempt {
	a := &Attempt{
		Time: r.time, Cycle: r.cycle, AttemptNumber: int(r.attempt), Namespace: h.ns, Name: h.name, UID: h.uid,
		Priority: r.priority, MovedBy: r.movedBy, Outcome: r.outcome, Node: r.node, ViaNominatedNode: r.viaNominated,
		Message: r.message, NumNodes: int(r.numNodes), NumToFind: int(r.numToFind), StartIndex: int(r.startIndex),
		Examined: int(r.examined), Feasible: int(r.feasible), SkippedFilters: r.skippedFilters.Names(),
		Rejectors: r.rejectors.Names(), RequeuedTo: r.requeuedTo, Detailed: r.detail != nil || r.viaNominated, Preemption: r.preemption,
	}
	if r.preFilter != nil {
		a.PreFilterRejection = r.preFilter.Plugin() + ": " + r.preFilter.Message()
	}
	if d := r.detail; d != nil {
		for _, f := range d.failed {
			a.Filtered = append(a.Filtered, NodeVerdict{Node: f.node, Plugin: f.st.Plugin(), Code: f.st.Code().String(),
				Reasons: append([]string(nil), f.st.Reasons()...)})
		}
		a.Scores = e.scores(r, 0)
		a.Top = a.Scores[:min(maxTop, len(a.Scores))]
	} else if r.numScored() > 0 {
		a.Top = e.scores(r, 0) // the compact top
	}
	return a
}

// Explain returns the latest scheduling attempt of a pod.
func (s *Scheduler) Explain(namespace, name string) (*Attempt, bool) {
	h := s.explain.pods[namespace+"/"+name]
	if h == nil || len(h.recs) == 0 {
		return nil, false
	}
	return s.explain.export(h, h.recs[len(h.recs)-1]), true
}

// History returns the retained attempts of a pod, oldest first.
func (s *Scheduler) History(namespace, name string) []*Attempt {
	h := s.explain.pods[namespace+"/"+name]
	if h == nil {
		return nil
	}
	out := make([]*Attempt, len(h.recs))
	for i, r := range h.recs {
		out[i] = s.explain.export(h, r)
	}
	return out
}

// String renders the attempt for humans (CLI, TUI, test failures).
func (a *Attempt) String() string {
	var b strings.Builder
	// The time as the timeline's clock, as kubesim explain prints the
	// earlier attempts and the time it explains at.
	fmt.Fprintf(&b, "pod %s/%s attempt %d at %s (cycle %d, priority %d): %s", a.Namespace, a.Name, a.AttemptNumber, sim.FormatClock(a.Time), a.Cycle, a.Priority, a.Outcome)
	if a.Node != "" {
		fmt.Fprintf(&b, " on %s", a.Node)
		if a.ViaNominatedNode {
			b.WriteString(" (nominated node)")
		}
	}
	b.WriteString("\n")
	if a.MovedBy != "" {
		fmt.Fprintf(&b, "  requeued by: %s\n", a.MovedBy)
	}
	if a.Message != "" {
		fmt.Fprintf(&b, "  message: %s\n", a.Message)
	}
	if a.ViaNominatedNode {
		// upstream's evaluateNominatedNode: the nominated node alone is
		// filtered; when it passes, no other node is looked at or scored.
		fmt.Fprintf(&b, "  nodes: %d; the nominated node %s passed every filter, so no other node was examined and none was scored\n",
			a.NumNodes, a.Node)
	} else {
		fmt.Fprintf(&b, "  nodes: %d, examined %d from index %d (looking for %d feasible), feasible %d\n",
			a.NumNodes, a.Examined, a.StartIndex, a.NumToFind, a.Feasible)
	}
	if len(a.SkippedFilters) > 0 {
		fmt.Fprintf(&b, "  filters skipped (nothing to check): %s\n", strings.Join(a.SkippedFilters, ", "))
	}
	if a.PreFilterRejection != "" {
		fmt.Fprintf(&b, "  prefilter rejected: %s\n", a.PreFilterRejection)
	}
	if !a.Detailed && (a.Examined > 0) {
		b.WriteString("  (per-node details dropped; only the most recent attempts keep them)\n")
	}
	if len(a.Filtered) > 0 {
		b.WriteString("  filtered out:\n")
		for _, v := range a.Filtered {
			fmt.Fprintf(&b, "    %-20s %-18s %s\n", v.Node, v.Plugin, strings.Join(v.Reasons, ", "))
		}
	}
	scores := a.Scores
	if len(scores) == 0 {
		scores = a.Top
	}
	if len(scores) > 0 {
		b.WriteString("  scores (raw→normalized ×weight):\n")
		for _, ns := range scores {
			mark := " "
			if ns.Chosen {
				mark = "*"
			}
			fmt.Fprintf(&b, "   %s%-20s total %4d:", mark, ns.Node, ns.Total)
			for _, p := range ns.Plugins {
				if p.Skipped {
					fmt.Fprintf(&b, " %s=skip", p.Plugin)
					continue
				}
				fmt.Fprintf(&b, " %s=%d→%d×%d", p.Plugin, p.Raw, p.Normalized, p.Weight)
			}
			b.WriteString("\n")
		}
	}
	if p := a.Preemption; p != nil {
		switch {
		case !p.Eligible:
			fmt.Fprintf(&b, "  preemption: %s\n", p.Reason)
		case p.Node != "":
			fmt.Fprintf(&b, "  preemption: nominated %s, evicting %s (%d candidate(s) of %d potential node(s))\n",
				p.Node, strings.Join(p.Victims, ", "), len(p.Candidates), p.PotentialNodes)
		default:
			fmt.Fprintf(&b, "  preemption: no candidate among %d potential node(s)\n", p.PotentialNodes)
		}
	}
	if a.RequeuedTo != "" {
		fmt.Fprintf(&b, "  requeued to %s", a.RequeuedTo)
		if len(a.Rejectors) > 0 {
			fmt.Fprintf(&b, " (waits for events relevant to %s)", strings.Join(a.Rejectors, ", "))
		}
		b.WriteString("\n")
	}
	return b.String()
}
