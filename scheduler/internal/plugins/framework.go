package plugins

import (
	"strings"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// ID identifies one plugin of the default profile.
type ID uint8

// Plugin IDs, in upstream's default profile order.
const (
	NodeUnschedulable ID = iota
	NodeName
	TaintToleration
	NodeAffinity
	NodePorts
	NodeResourcesFit
	PodTopologySpread
	InterPodAffinity
	NodeResourcesBalancedAllocation
	ImageLocality
	// NumPlugins is the number of plugins.
	NumPlugins
)

var pluginNames = [NumPlugins]string{
	"NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts",
	"NodeResourcesFit", "PodTopologySpread", "InterPodAffinity",
	"NodeResourcesBalancedAllocation", "ImageLocality",
}

// String is the upstream plugin name.
func (id ID) String() string { return pluginNames[id] }

// ByName returns the ID of a plugin name.
func ByName(name string) (ID, bool) {
	for i, n := range pluginNames {
		if n == name {
			return ID(i), true
		}
	}
	return 0, false
}

// Set is a set of plugin IDs.
type Set uint16

// Add returns s with id added.
func (s Set) Add(id ID) Set { return s | 1<<id }

// Has reports whether id is in s.
func (s Set) Has(id ID) bool { return s&(1<<id) != 0 }

// Names lists the plugin names in s in ID order.
func (s Set) Names() []string {
	var out []string
	for id := ID(0); id < NumPlugins; id++ {
		if s.Has(id) {
			out = append(out, pluginNames[id])
		}
	}
	return out
}

// Snapshot is the cluster state plugins read besides the node they filter
// or score. The scheduler implements it on top of its cache and listers.
type Snapshot interface {
	// Nodes are all nodes in the scheduler's node order (upstream's
	// nodeTree order: round robin over zones); plugins only aggregate over
	// them, so nothing they compute depends on that order.
	Nodes() []*fw.NodeInfo
	// Get returns a node by name, or nil.
	Get(name string) *fw.NodeInfo
	// ImageNumNodes is the number of nodes that have the image.
	ImageNumNodes(image string) int
	// HaveAffinityPods reports whether any pod on a node has pod (anti-)affinity.
	HaveAffinityPods() bool
	// HaveRequiredAntiAffinityPods reports whether any pod on a node has
	// required anti-affinity.
	HaveRequiredAntiAffinityPods() bool
	// NamespaceLabels returns the labels of a namespace.
	NamespaceLabels(ns string) labels.Set
	// NamespacesMatching lists the known namespaces whose labels match sel.
	NamespacesMatching(sel labels.Selector) []string
	// DefaultSpreadSelector is the selector built from the Services and the
	// controller owner (ReplicaSet) of pod, used by the default topology
	// spread constraints; labels.Nothing() or an empty selector when none.
	DefaultSpreadSelector(pod *v1.Pod) labels.Selector
}

// discard is the logger handed to component-helpers; comparison operators on
// tolerations are disabled (feature gate off by default), so it never logs.
var discard = logr.Discard()

// FilterPlugin is a plugin with PreFilter and Filter extension points.
type FilterPlugin interface {
	ID() ID
	// PreFilter prepares per-cycle state. It may narrow the candidate nodes
	// (non-nil names), reject the pod (a rejecting status), or return Skip,
	// in which case Filter is not called this cycle.
	PreFilter(cs *CycleState, pod *fw.PodInfo) (names map[string]struct{}, st *fw.Status)
	// Filter checks one node; nil means the node passes.
	Filter(cs *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status
	// Hint reports whether ev may make the pod, rejected by this plugin,
	// schedulable (QueueingHint "Queue").
	Hint(pod *fw.PodInfo, ev *fw.ClusterEvent) bool
}

// prefilterExtensions is implemented by filter plugins whose PreFilter state
// depends on the pods on nodes (used by preemption and nominated pods).
type prefilterExtensions interface {
	AddPod(cs *CycleState, pod, added *fw.PodInfo, n *fw.NodeInfo)
	RemovePod(cs *CycleState, pod, removed *fw.PodInfo, n *fw.NodeInfo)
}

// ScorePlugin is a plugin with PreScore and Score, and NormalizeScore when
// it has ScoreExtensions (scoreExtensions).
type ScorePlugin interface {
	ID() ID
	// PreScore prepares per-cycle state for the feasible nodes; Skip means
	// the plugin contributes 0 to every node this cycle.
	PreScore(cs *CycleState, pod *fw.PodInfo, nodes []*fw.NodeInfo) *fw.Status
	// Score returns the raw score of one node.
	Score(cs *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) int64
}

// scoreExtensions is upstream's ScoreExtensions: a score plugin whose raw
// scores need normalising. The others (NodeResourcesFit,
// NodeResourcesBalancedAllocation, ImageLocality) score 0..100 already, and
// their raw score is their normalised one.
type scoreExtensions interface {
	// Normalize rewrites the raw scores of nodes in place to 0..100.
	Normalize(cs *CycleState, pod *fw.PodInfo, nodes []*fw.NodeInfo, scores []int64)
}

// uniformScorer is implemented by score plugins that can tell, after
// PreScore, that every node gets the same raw score.
type uniformScorer interface {
	Uniform(cs *CycleState, pod *fw.PodInfo) (int64, bool)
}

// Options configures the plugins (the few plugin args kubesim supports).
type Options struct {
	// HardPodAffinityWeight is InterPodAffinity's weight for existing pods'
	// required affinity terms when scoring (default 1).
	HardPodAffinityWeight int32
}

// Framework runs the default profile for one pod at a time.
type Framework struct {
	snap    Snapshot
	filters []FilterPlugin
	scores  []ScorePlugin
	weights []int64
	all     [NumPlugins]any
}

// New builds the default profile on snap.
func New(snap Snapshot, opts Options) *Framework {
	if opts.HardPodAffinityWeight == 0 {
		opts.HardPodAffinityWeight = 1
	}
	tt := &taintToleration{}
	na := &nodeAffinity{}
	fit := &nodeResourcesFit{}
	pts := &podTopologySpread{snap: snap}
	ipa := &interPodAffinity{snap: snap, hardWeight: opts.HardPodAffinityWeight}
	f := &Framework{
		snap: snap,
		filters: []FilterPlugin{
			nodeUnschedulable{}, nodeName{}, tt, na, nodePorts{}, fit, pts, ipa,
		},
		// Score plugins with the default weights (apis/config/v1/default_plugins.go).
		scores:  []ScorePlugin{tt, na, fit, pts, ipa, balancedAllocation{}, &imageLocality{snap: snap}},
		weights: []int64{3, 2, 1, 2, 2, 1, 1},
	}
	for _, p := range f.filters {
		f.all[p.ID()] = p
	}
	for _, p := range f.scores {
		f.all[p.ID()] = p
	}
	return f
}

// ScorePlugins lists the score plugins in scoring order with their weights.
func (f *Framework) ScorePlugins() (ids []ID, weights []int64) {
	for _, p := range f.scores {
		ids = append(ids, p.ID())
	}
	return ids, f.weights
}

// PreFilterResult is the outcome of RunPreFilter.
type PreFilterResult struct {
	// NodeNames restricts the candidates; nil means all nodes.
	NodeNames map[string]struct{}
	// Plugins lists the plugins that restricted NodeNames.
	Plugins []string
	// Status is non-nil when a plugin rejected the pod (or errored).
	Status *fw.Status
	// Rejectors are the plugins that rejected the pod.
	Rejectors Set
}

// RunPreFilter resets cs for pod and runs every PreFilter.
func (f *Framework) RunPreFilter(cs *CycleState, pod *fw.PodInfo) PreFilterResult {
	cs.reset(pod, len(f.snap.Nodes()))
	var res PreFilterResult
	for _, p := range f.filters {
		names, st := p.PreFilter(cs, pod)
		switch {
		case st.IsSkip():
			cs.skipFilter = cs.skipFilter.Add(p.ID())
			continue
		case st.Code() == fw.Unschedulable:
			// Preemption may still run, so the remaining PreFilters run too
			// (kubernetes#119770); the first such status is reported.
			res.Rejectors = res.Rejectors.Add(p.ID())
			if res.Status == nil {
				res.Status = st
			}
			continue
		case !st.IsSuccess():
			res.Status = st
			if st.IsRejected() {
				res.Rejectors = res.Rejectors.Add(p.ID())
			}
			return res
		}
		if names != nil {
			res.Plugins = append(res.Plugins, p.ID().String())
			if res.NodeNames == nil {
				res.NodeNames = names
			} else {
				inter := map[string]struct{}{}
				for n := range names {
					if _, ok := res.NodeNames[n]; ok {
						inter[n] = struct{}{}
					}
				}
				res.NodeNames = inter
			}
		}
	}
	for _, p := range f.filters {
		if !cs.skipFilter.Has(p.ID()) {
			cs.active = append(cs.active, p)
		}
	}
	if res.Status == nil && res.NodeNames != nil && len(res.NodeNames) == 0 {
		msg := "node(s) didn't satisfy plugin " + res.Plugins[0]
		if len(res.Plugins) > 1 {
			msg = "node(s) didn't satisfy plugin(s) [" + strings.Join(res.Plugins, " ") + "] simultaneously"
		}
		res.Status = fw.NewStatus(fw.UnschedulableAndUnresolvable, "", msg)
		for _, name := range res.Plugins {
			id, _ := ByName(name)
			res.Rejectors = res.Rejectors.Add(id)
		}
	}
	return res
}

// RunFilter runs the filters on one node and returns the first rejection.
func (f *Framework) RunFilter(cs *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	for _, p := range cs.active {
		if st := p.Filter(cs, pod, n); st != nil && st.Code() != fw.Success {
			return st
		}
	}
	return nil
}

// RunFilterWithNominated runs the filters on n as upstream's
// RunFilterPluginsWithNominatedPods: when pods of equal or higher priority
// are nominated to n, the node must fit pod both with them added and
// without them.
func (f *Framework) RunFilterWithNominated(cs *CycleState, pod *fw.PodInfo, n *fw.NodeInfo, nominated []*fw.PodInfo) *fw.Status {
	var added []*fw.PodInfo
	for _, np := range nominated {
		if np.UID != pod.UID && np.Priority >= pod.Priority {
			added = append(added, np)
		}
	}
	if len(added) == 0 {
		return f.RunFilter(cs, pod, n)
	}
	csWith := cs.Clone()
	nWith := n.Clone()
	for _, np := range added {
		nWith.AddPod(np)
		f.AddPod(csWith, pod, np, nWith)
	}
	if st := f.RunFilter(csWith, pod, nWith); st != nil {
		return st
	}
	return f.RunFilter(cs, pod, n)
}

// AddPod updates the PreFilter state of cs as if added ran on n.
func (f *Framework) AddPod(cs *CycleState, pod, added *fw.PodInfo, n *fw.NodeInfo) {
	for _, p := range f.filters {
		if cs.skipFilter.Has(p.ID()) {
			continue
		}
		if e, ok := p.(prefilterExtensions); ok {
			e.AddPod(cs, pod, added, n)
		}
	}
}

// RemovePod updates the PreFilter state of cs as if removed left n.
func (f *Framework) RemovePod(cs *CycleState, pod, removed *fw.PodInfo, n *fw.NodeInfo) {
	for _, p := range f.filters {
		if cs.skipFilter.Has(p.ID()) {
			continue
		}
		if e, ok := p.(prefilterExtensions); ok {
			e.RemovePod(cs, pod, removed, n)
		}
	}
}

// Scores holds the scores of one cycle: per score plugin (in ScorePlugins
// order) the raw and normalised score of every node, and the weighted total.
// A plugin whose PreScore skipped the pod contributes 0 and its two rows
// are empty. Its slices are reused between cycles.
type Scores struct {
	Raw     [][]int64
	Norm    [][]int64
	Skipped []bool
	Total   []int64
}

// RunScore runs PreScore, Score and Normalize for nodes and fills out.
func (f *Framework) RunScore(cs *CycleState, pod *fw.PodInfo, nodes []*fw.NodeInfo, out *Scores) *fw.Status {
	np := len(f.scores)
	if len(out.Raw) != np {
		out.Raw, out.Norm, out.Skipped = make([][]int64, np), make([][]int64, np), make([]bool, np)
	}
	out.Total = resize(out.Total, len(nodes))
	for i := range out.Total {
		out.Total[i] = 0
	}
	for i, p := range f.scores {
		st := p.PreScore(cs, pod, nodes)
		if st.IsSkip() {
			// Empty rows, not zeroed ones: the buffers are often cold (see
			// the scheduler's explain records), and nothing reads them.
			out.Skipped[i] = true
			out.Raw[i], out.Norm[i] = out.Raw[i][:0], out.Norm[i][:0]
			continue
		}
		if !st.IsSuccess() {
			return st
		}
		out.Skipped[i] = false
		out.Raw[i] = resize(out.Raw[i], len(nodes))
		ext, normalizes := p.(scoreExtensions)
		if normalizes {
			out.Norm[i] = resize(out.Norm[i], len(nodes))
		} else {
			// Without ScoreExtensions the normalised row is the raw one:
			// one buffer for both (a plugin normalises always or never,
			// so the row's buffers are never both shared and written
			// apart; the explain records take them over as they are).
			out.Norm[i] = out.Raw[i]
		}
		raw, norm, total, w := out.Raw[i], out.Norm[i], out.Total, f.weights[i]
		if u, ok := p.(uniformScorer); ok {
			if v, all := u.Uniform(cs, pod); all {
				for j := range raw {
					raw[j] = v
				}
				if !normalizes {
					for j := range total {
						total[j] += v * w
					}
					continue
				}
				goto normalize
			}
		}
		if !normalizes {
			// One pass: score, row and weighted total together.
			for j, n := range nodes {
				v := p.Score(cs, pod, n)
				raw[j] = v
				total[j] += v * w
			}
			continue
		}
		for j, n := range nodes {
			raw[j] = p.Score(cs, pod, n)
		}
	normalize:
		copy(norm, raw)
		ext.Normalize(cs, pod, nodes, norm)
		for j, v := range norm {
			total[j] += v * w
		}
	}
	return nil
}

func resize(s []int64, n int) []int64 {
	if cap(s) < n {
		return make([]int64, n, n+n/4)
	}
	return s[:n]
}

// Hint reports whether ev may make pod schedulable given the plugins that
// rejected it. A pod with no recorded rejector (an error, or "no nodes
// available") is always requeued, as upstream does; otherwise only the
// rejecting plugins' hints count, an update of the pod itself included
// (upstream isPodWorthRequeuing).
func (f *Framework) Hint(rejectors Set, pod *fw.PodInfo, ev *fw.ClusterEvent) bool {
	if rejectors == 0 || ev.Kind == fw.UnschedulableTimeout {
		return true
	}
	for id := ID(0); id < NumPlugins; id++ {
		if !rejectors.Has(id) {
			continue
		}
		if p, ok := f.all[id].(FilterPlugin); ok && p.Hint(pod, ev) {
			return true
		}
	}
	return false
}
