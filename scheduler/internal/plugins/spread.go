package plugins

import (
	"math"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// PodTopologySpread (plugins/podtopologyspread), with the v1.33+ defaults:
// minDomains, nodeAffinityPolicy (Honor) / nodeTaintsPolicy (Ignore) and
// matchLabelKeys all enabled, and the system default constraints
// (hostname maxSkew 3, zone maxSkew 5, ScheduleAnyway).

const (
	// ErrReasonSpread is PodTopologySpread's reason when the skew is too large.
	ErrReasonSpread = "node(s) didn't match pod topology spread constraints"
	// ErrReasonSpreadLabel is the reason when a node lacks a topology key.
	ErrReasonSpreadLabel = ErrReasonSpread + " (missing required label)"
)

var (
	statusSpread      = fw.NewStatus(fw.Unschedulable, PodTopologySpread.String(), ErrReasonSpread)
	statusSpreadLabel = fw.NewStatus(fw.UnschedulableAndUnresolvable, PodTopologySpread.String(), ErrReasonSpreadLabel)
)

// systemDefaultConstraints are upstream's defaults for pods without constraints.
var systemDefaultConstraints = []v1.TopologySpreadConstraint{
	{MaxSkew: 3, TopologyKey: v1.LabelHostname, WhenUnsatisfiable: v1.ScheduleAnyway},
	{MaxSkew: 5, TopologyKey: v1.LabelTopologyZone, WhenUnsatisfiable: v1.ScheduleAnyway},
}

type spreadConstraint struct {
	MaxSkew            int32
	TopologyKey        string
	Selector           labels.Selector
	MinDomains         int32
	NodeAffinityPolicy v1.NodeInclusionPolicy
	NodeTaintsPolicy   v1.NodeInclusionPolicy
}

func (c *spreadConstraint) matchNodeInclusionPolicies(pod *v1.Pod, node *v1.Node, req nodeaffinity.RequiredNodeAffinity) bool {
	if c.NodeAffinityPolicy == v1.NodeInclusionPolicyHonor {
		if ok, _ := req.Match(node); !ok {
			return false
		}
	}
	if c.NodeTaintsPolicy == v1.NodeInclusionPolicyHonor {
		if _, bad := untoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations); bad {
			return false
		}
	}
	return true
}

type podTopologySpread struct{ snap Snapshot }

func (*podTopologySpread) ID() ID { return PodTopologySpread }

// filterConstraints converts the constraints with the given action.
func filterConstraints(cs []v1.TopologySpreadConstraint, podLabels map[string]string, action v1.UnsatisfiableConstraintAction) ([]spreadConstraint, error) {
	var out []spreadConstraint
	for i := range cs {
		c := &cs[i]
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return nil, err
		}
		if len(c.MatchLabelKeys) > 0 {
			ml := labels.Set{}
			for _, k := range c.MatchLabelKeys {
				if v, ok := podLabels[k]; ok {
					ml[k] = v
				}
			}
			if len(ml) > 0 {
				merged := labels.SelectorFromSet(ml)
				if reqs, ok := sel.Requirements(); ok {
					merged = merged.Add(reqs...)
				}
				sel = merged
			}
		}
		sc := spreadConstraint{
			MaxSkew: c.MaxSkew, TopologyKey: c.TopologyKey, Selector: sel, MinDomains: 1,
			NodeAffinityPolicy: v1.NodeInclusionPolicyHonor, NodeTaintsPolicy: v1.NodeInclusionPolicyIgnore,
		}
		if c.MinDomains != nil {
			sc.MinDomains = *c.MinDomains
		}
		if c.NodeAffinityPolicy != nil {
			sc.NodeAffinityPolicy = *c.NodeAffinityPolicy
		}
		if c.NodeTaintsPolicy != nil {
			sc.NodeTaintsPolicy = *c.NodeTaintsPolicy
		}
		out = append(out, sc)
	}
	return out, nil
}

// constraints returns the pod's constraints with the given action, or the
// system defaults (selector from Services / owner) when it has none.
func (p *podTopologySpread) constraints(pod *v1.Pod, action v1.UnsatisfiableConstraintAction) ([]spreadConstraint, error) {
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		return filterConstraints(pod.Spec.TopologySpreadConstraints, pod.Labels, action)
	}
	if action != v1.ScheduleAnyway {
		return nil, nil // the system defaults are all ScheduleAnyway
	}
	sel := p.snap.DefaultSpreadSelector(pod)
	if sel == nil || sel.Empty() {
		return nil, nil
	}
	cs, err := filterConstraints(systemDefaultConstraints, pod.Labels, action)
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	for i := range cs {
		cs[i].Selector = sel
	}
	return cs, nil
}

func nodeHasAllKeys(nodeLabels map[string]string, cs []spreadConstraint) bool {
	for i := range cs {
		if _, ok := nodeLabels[cs[i].TopologyKey]; !ok {
			return false
		}
	}
	return true
}

// countPodsMatchSelector counts the live pods of namespace ns that sel
// selects; an empty selector (labelSelector: {}) counts nothing, as
// upstream's countPodsMatchSelector.
func countPodsMatchSelector(pods []*fw.PodInfo, sel labels.Selector, ns string) int {
	if sel.Empty() {
		return 0
	}
	n := 0
	for _, p := range pods {
		if p.Pod.DeletionTimestamp != nil || p.Namespace != ns {
			continue
		}
		if sel.Matches(labels.Set(p.Pod.Labels)) {
			n++
		}
	}
	return n
}

type spreadFilterState struct {
	constraints       []spreadConstraint
	tpValueToMatchNum []map[string]int
	minMatchNum       []int
	requiredAffinity  nodeaffinity.RequiredNodeAffinity
}

func (s *spreadFilterState) clone() *spreadFilterState {
	if s == nil {
		return nil
	}
	c := &spreadFilterState{constraints: s.constraints, requiredAffinity: s.requiredAffinity}
	c.minMatchNum = append([]int(nil), s.minMatchNum...)
	c.tpValueToMatchNum = make([]map[string]int, len(s.tpValueToMatchNum))
	for i, m := range s.tpValueToMatchNum {
		cm := make(map[string]int, len(m))
		for k, v := range m {
			cm[k] = v
		}
		c.tpValueToMatchNum[i] = cm
	}
	return c
}

func (s *spreadFilterState) recomputeMin(i int) {
	m := math.MaxInt32
	for _, v := range s.tpValueToMatchNum[i] {
		m = min(m, v)
	}
	s.minMatchNum[i] = m
}

// minMatch is the global minimum used in the skew, 0 when fewer domains than
// minDomains are eligible.
func (s *spreadFilterState) minMatch(i int) int {
	if len(s.tpValueToMatchNum[i]) < int(s.constraints[i].MinDomains) {
		return 0
	}
	return s.minMatchNum[i]
}

func (p *podTopologySpread) PreFilter(cs *CycleState, pod *fw.PodInfo) (map[string]struct{}, *fw.Status) {
	constraints, err := p.constraints(pod.Pod, v1.DoNotSchedule)
	if err != nil {
		return nil, fw.NewStatus(fw.Error, PodTopologySpread.String(), "get constraints from pod: "+err.Error())
	}
	if len(constraints) == 0 {
		return nil, statusSkip
	}
	s := &spreadFilterState{
		constraints:       constraints,
		tpValueToMatchNum: make([]map[string]int, len(constraints)),
		minMatchNum:       make([]int, len(constraints)),
		requiredAffinity:  nodeaffinity.GetRequiredNodeAffinity(pod.Pod),
	}
	for i := range constraints {
		s.tpValueToMatchNum[i] = map[string]int{}
	}
	for _, n := range p.snap.Nodes() {
		node := n.Node
		if !nodeHasAllKeys(node.Labels, constraints) {
			continue
		}
		for i := range constraints {
			c := &constraints[i]
			if !c.matchNodeInclusionPolicies(pod.Pod, node, s.requiredAffinity) {
				continue
			}
			s.tpValueToMatchNum[i][node.Labels[c.TopologyKey]] += countPodsMatchSelector(n.Pods, c.Selector, pod.Namespace)
		}
	}
	for i := range constraints {
		s.recomputeMin(i)
	}
	cs.spread = s
	return nil, nil
}

func (p *podTopologySpread) Filter(cs *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	s := cs.spread
	podLabels := labels.Set(pod.Pod.Labels)
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := n.Node.Labels[c.TopologyKey]
		if !ok {
			return statusSpreadLabel
		}
		self := 0
		if c.Selector.Matches(podLabels) {
			self = 1
		}
		if s.tpValueToMatchNum[i][v]+self-s.minMatch(i) > int(c.MaxSkew) {
			return statusSpread
		}
	}
	return nil
}

func (p *podTopologySpread) update(cs *CycleState, pod, other *fw.PodInfo, n *fw.NodeInfo, delta int) {
	s := cs.spread
	if s == nil || other.Namespace != pod.Namespace || n.Node == nil || !nodeHasAllKeys(n.Node.Labels, s.constraints) {
		return
	}
	ls := labels.Set(other.Pod.Labels)
	for i := range s.constraints {
		c := &s.constraints[i]
		if !c.Selector.Matches(ls) || !c.matchNodeInclusionPolicies(pod.Pod, n.Node, s.requiredAffinity) {
			continue
		}
		s.tpValueToMatchNum[i][n.Node.Labels[c.TopologyKey]] += delta
		s.recomputeMin(i)
	}
}

// AddPod is the PreFilter extension for a pod added to n.
func (p *podTopologySpread) AddPod(cs *CycleState, pod, added *fw.PodInfo, n *fw.NodeInfo) {
	p.update(cs, pod, added, n, 1)
}

// RemovePod is the PreFilter extension for a pod removed from n.
func (p *podTopologySpread) RemovePod(cs *CycleState, pod, removed *fw.PodInfo, n *fw.NodeInfo) {
	p.update(cs, pod, removed, n, -1)
}

// matchFlips reports whether a relabel from old to cur changes whether some
// constraint's selector matches the pod.
func matchFlips(cons []spreadConstraint, old, cur *fw.PodInfo) bool {
	for i := range cons {
		if cons[i].Selector.Matches(labels.Set(old.Pod.Labels)) != cons[i].Selector.Matches(labels.Set(cur.Pod.Labels)) {
			return true
		}
	}
	return false
}

// Hint is upstream's isSchedulableAfterPodChange and
// isSchedulableAfterNodeChange.
func (p *podTopologySpread) Hint(pod *fw.PodInfo, ev *fw.ClusterEvent) bool {
	cons, err := p.constraints(pod.Pod, v1.DoNotSchedule)
	if err != nil {
		return true
	}
	if len(cons) == 0 {
		return false
	}
	// Another pod counts when it is in the pod's namespace; it counts for
	// the pod when any constraint's selector matches it.
	matches := func(pi *fw.PodInfo) bool {
		if pi.Namespace != pod.Namespace {
			return false
		}
		for i := range cons {
			if cons[i].Selector.Matches(labels.Set(pi.Pod.Labels)) {
				return true
			}
		}
		return false
	}
	switch ev.Kind {
	case fw.PodSelfUpdate:
		if ev.PodChange&fw.PodTolerationsChanged != 0 {
			for i := range cons {
				if cons[i].NodeTaintsPolicy == v1.NodeInclusionPolicyHonor {
					return true
				}
			}
		}
		return ev.PodChange&fw.PodLabelsChanged != 0 && matchFlips(cons, ev.OldPod, ev.NewPod)
	case fw.AssignedPodAdd:
		return matches(ev.NewPod)
	case fw.AssignedPodDelete:
		// A nominated pod that never ran was never counted.
		return !ev.Nominated && matches(ev.OldPod)
	case fw.AssignedPodUpdate:
		return ev.NewPod.Namespace == pod.Namespace && matchFlips(cons, ev.OldPod, ev.NewPod)
	case fw.NodeAdd:
		return nodeHasAllKeys(ev.NewNode.Labels, cons)
	case fw.NodeDelete:
		return nodeHasAllKeys(ev.OldNode.Labels, cons)
	case fw.NodeUpdate:
		if ev.NodeChange&(fw.NodeLabelsChanged|fw.NodeTaintsChanged) == 0 {
			return false
		}
		was, is := nodeHasAllKeys(ev.OldNode.Labels, cons), nodeHasAllKeys(ev.NewNode.Labels, cons)
		if was != is {
			return true
		}
		return is && (topologyValuesChanged(ev.OldNode.Labels, ev.NewNode.Labels, cons) ||
			!equality.Semantic.DeepEqual(ev.OldNode.Spec.Taints, ev.NewNode.Spec.Taints))
	}
	return false
}

// topologyValuesChanged is upstream's checkTopologyKeyLabelsChanged.
func topologyValuesChanged(old, cur map[string]string, cons []spreadConstraint) bool {
	for i := range cons {
		if old[cons[i].TopologyKey] != cur[cons[i].TopologyKey] {
			return true
		}
	}
	return false
}

// ---- scoring (podtopologyspread/scoring.go) ----

type spreadScoreState struct {
	constraints   []spreadConstraint
	ignored       map[string]struct{}
	tpValueCounts []map[string]int64
	tpWeight      []float64
}

func (p *podTopologySpread) PreScore(cs *CycleState, pod *fw.PodInfo, filtered []*fw.NodeInfo) *fw.Status {
	all := p.snap.Nodes()
	if len(all) == 0 {
		return statusSkip
	}
	var constraints []spreadConstraint
	var err error
	if len(pod.Pod.Spec.TopologySpreadConstraints) > 0 {
		constraints, err = filterConstraints(pod.Pod.Spec.TopologySpreadConstraints, pod.Pod.Labels, v1.ScheduleAnyway)
	} else {
		constraints, err = p.constraints(pod.Pod, v1.ScheduleAnyway)
	}
	if err != nil {
		return fw.NewStatus(fw.Error, PodTopologySpread.String(), "calculating preScoreState: "+err.Error())
	}
	if len(constraints) == 0 {
		return statusSkip
	}
	// ignored is made when a node is ignored (reading a nil map is fine).
	s := &spreadScoreState{constraints: constraints}
	// Only non-default constraints require every topology label, so nodes
	// without a zone label still get hostname spreading by default.
	requireAll := len(pod.Pod.Spec.TopologySpreadConstraints) > 0
	s.tpValueCounts = make([]map[string]int64, len(s.constraints))
	topoSize := make([]int, len(s.constraints))
	for i := range s.constraints {
		s.tpValueCounts[i] = map[string]int64{}
	}
	for _, n := range filtered {
		if requireAll && !nodeHasAllKeys(n.Node.Labels, s.constraints) {
			if s.ignored == nil {
				s.ignored = map[string]struct{}{}
			}
			s.ignored[n.Name] = struct{}{}
			continue
		}
		for i := range s.constraints {
			c := &s.constraints[i]
			if c.TopologyKey == v1.LabelHostname {
				continue
			}
			v := n.Node.Labels[c.TopologyKey]
			if _, ok := s.tpValueCounts[i][v]; !ok {
				s.tpValueCounts[i][v] = 0
				topoSize[i]++
			}
		}
	}
	s.tpWeight = make([]float64, len(s.constraints))
	for i := range s.constraints {
		sz := topoSize[i]
		if s.constraints[i].TopologyKey == v1.LabelHostname {
			sz = len(filtered) - len(s.ignored)
		}
		s.tpWeight[i] = math.Log(float64(sz + 2))
	}
	req := nodeaffinity.GetRequiredNodeAffinity(pod.Pod)
	for _, n := range all {
		node := n.Node
		if requireAll && !nodeHasAllKeys(node.Labels, s.constraints) {
			continue
		}
		for i := range s.constraints {
			c := &s.constraints[i]
			if !c.matchNodeInclusionPolicies(pod.Pod, node, req) {
				continue
			}
			v := node.Labels[c.TopologyKey]
			cur, ok := s.tpValueCounts[i][v]
			if !ok {
				continue // hostname counts are done in Score; domains without candidates are skipped
			}
			s.tpValueCounts[i][v] = cur + int64(countPodsMatchSelector(n.Pods, c.Selector, pod.Namespace))
		}
	}
	cs.spreadScore = s
	return nil
}

// Score is Σ over constraints of matching pods in the node's domain ×
// ln(domains + 2) + (maxSkew − 1), rounded.
func (p *podTopologySpread) Score(cs *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) int64 {
	s := cs.spreadScore
	if _, ok := s.ignored[n.Name]; ok {
		return 0
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := n.Node.Labels[c.TopologyKey]
		if !ok {
			continue
		}
		var cnt int64
		if c.TopologyKey == v1.LabelHostname {
			cnt = int64(countPodsMatchSelector(n.Pods, c.Selector, pod.Namespace))
		} else {
			cnt = s.tpValueCounts[i][v]
		}
		score += float64(cnt)*s.tpWeight[i] + float64(c.MaxSkew-1)
	}
	return int64(math.Round(score))
}

// Normalize maps raw scores to 100 × (max + min − raw) / max; ignored nodes get 0.
func (p *podTopologySpread) Normalize(cs *CycleState, _ *fw.PodInfo, nodes []*fw.NodeInfo, scores []int64) {
	s := cs.spreadScore
	var minScore int64 = math.MaxInt64
	var maxScore int64
	for i, n := range nodes {
		if _, ok := s.ignored[n.Name]; ok {
			scores[i] = -1
			continue
		}
		minScore = min(minScore, scores[i])
		maxScore = max(maxScore, scores[i])
	}
	for i := range scores {
		if scores[i] == -1 {
			scores[i] = 0
			continue
		}
		if maxScore == 0 {
			scores[i] = fw.MaxNodeScore
			continue
		}
		scores[i] = fw.MaxNodeScore * (maxScore + minScore - scores[i]) / maxScore
	}
}
