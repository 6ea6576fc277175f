package plugins

import (
	"math"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// InterPodAffinity (plugins/interpodaffinity filtering.go and scoring.go).

const (
	// ErrReasonAffinity is the reason when required pod affinity fails.
	ErrReasonAffinity = "node(s) didn't match pod affinity rules"
	// ErrReasonAntiAffinity is the reason when the pod's required anti-affinity fails.
	ErrReasonAntiAffinity = "node(s) didn't match pod anti-affinity rules"
	// ErrReasonExistingAntiAffinity is the reason when an existing pod's
	// required anti-affinity rejects the pod.
	ErrReasonExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules"
)

var (
	statusAffinity             = fw.NewStatus(fw.UnschedulableAndUnresolvable, InterPodAffinity.String(), ErrReasonAffinity)
	statusAntiAffinity         = fw.NewStatus(fw.Unschedulable, InterPodAffinity.String(), ErrReasonAntiAffinity)
	statusExistingAntiAffinity = fw.NewStatus(fw.Unschedulable, InterPodAffinity.String(), ErrReasonExistingAntiAffinity)
)

type topologyPair struct{ key, value string }

type topologyCounts map[topologyPair]int64

func (m topologyCounts) update(node *v1.Node, key string, delta int64) {
	if v, ok := node.Labels[key]; ok {
		p := topologyPair{key, v}
		m[p] += delta
		if m[p] == 0 {
			delete(m, p)
		}
	}
}

func (m topologyCounts) clone() topologyCounts {
	c := make(topologyCounts, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

type ipaFilterState struct {
	existingAntiAffinityCounts topologyCounts
	affinityCounts             topologyCounts
	antiAffinityCounts         topologyCounts
	// affinity and antiAffinity are the incoming pod's required terms with
	// their namespaceSelector merged into the namespace set.
	affinity, antiAffinity []fw.AffinityTerm
	namespaceLabels        labels.Set
}

func (s *ipaFilterState) clone() *ipaFilterState {
	if s == nil {
		return nil
	}
	c := *s
	c.existingAntiAffinityCounts = s.existingAntiAffinityCounts.clone()
	c.affinityCounts = s.affinityCounts.clone()
	c.antiAffinityCounts = s.antiAffinityCounts.clone()
	return &c
}

type interPodAffinity struct {
	snap       Snapshot
	hardWeight int32
}

func (*interPodAffinity) ID() ID { return InterPodAffinity }

// mergeNamespaces resolves a non-empty namespaceSelector of an incoming
// pod's term into its namespace set (upstream mergeAffinityTermNamespacesIfNotEmpty).
func (p *interPodAffinity) mergeNamespaces(t fw.AffinityTerm) fw.AffinityTerm {
	if t.NamespaceSelector.Empty() {
		return t
	}
	ns := make(map[string]struct{}, len(t.Namespaces))
	for n := range t.Namespaces {
		ns[n] = struct{}{}
	}
	for _, n := range p.snap.NamespacesMatching(t.NamespaceSelector) {
		ns[n] = struct{}{}
	}
	t.Namespaces = ns
	t.NamespaceSelector = labels.Nothing()
	return t
}

func (p *interPodAffinity) mergeAll(ts []fw.AffinityTerm) []fw.AffinityTerm {
	if len(ts) == 0 {
		return nil
	}
	out := make([]fw.AffinityTerm, len(ts))
	for i := range ts {
		out[i] = p.mergeNamespaces(ts[i])
	}
	return out
}

// podMatchesAllTerms reports whether pod matches every term (false for none).
func podMatchesAllTerms(terms []fw.AffinityTerm, pod *v1.Pod) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].Matches(pod, nil) {
			return false
		}
	}
	return true
}

func (p *interPodAffinity) PreFilter(cs *CycleState, pod *fw.PodInfo) (map[string]struct{}, *fw.Status) {
	if pod.ParseError != nil {
		return nil, fw.NewStatus(fw.UnschedulableAndUnresolvable, InterPodAffinity.String(), "parsing pod: "+pod.ParseError.Error())
	}
	hasOwn := len(pod.RequiredAffinityTerms) > 0 || len(pod.RequiredAntiAffinityTerms) > 0
	if !hasOwn && !p.snap.HaveRequiredAntiAffinityPods() {
		return nil, statusSkip
	}
	s := &ipaFilterState{
		existingAntiAffinityCounts: topologyCounts{},
		affinityCounts:             topologyCounts{},
		antiAffinityCounts:         topologyCounts{},
		affinity:                   p.mergeAll(pod.RequiredAffinityTerms),
		antiAffinity:               p.mergeAll(pod.RequiredAntiAffinityTerms),
		namespaceLabels:            p.snap.NamespaceLabels(pod.Namespace),
	}
	for _, n := range p.snap.Nodes() {
		if len(n.PodsWithRequiredAntiAffinity) > 0 {
			for _, ex := range n.PodsWithRequiredAntiAffinity {
				for i := range ex.RequiredAntiAffinityTerms {
					t := &ex.RequiredAntiAffinityTerms[i]
					if t.Matches(pod.Pod, s.namespaceLabels) {
						s.existingAntiAffinityCounts.update(n.Node, t.TopologyKey, 1)
					}
				}
			}
		}
		if !hasOwn {
			continue
		}
		for _, ex := range n.Pods {
			if podMatchesAllTerms(s.affinity, ex.Pod) {
				for i := range s.affinity {
					s.affinityCounts.update(n.Node, s.affinity[i].TopologyKey, 1)
				}
			}
			for i := range s.antiAffinity {
				if s.antiAffinity[i].Matches(ex.Pod, nil) {
					s.antiAffinityCounts.update(n.Node, s.antiAffinity[i].TopologyKey, 1)
				}
			}
		}
	}
	if len(s.existingAntiAffinityCounts) == 0 && !hasOwn {
		return nil, statusSkip
	}
	cs.ipa = s
	return nil, nil
}

func (p *interPodAffinity) update(cs *CycleState, pod, other *fw.PodInfo, n *fw.NodeInfo, delta int64) {
	s := cs.ipa
	if s == nil || n.Node == nil {
		return
	}
	for i := range other.RequiredAntiAffinityTerms {
		t := &other.RequiredAntiAffinityTerms[i]
		if t.Matches(pod.Pod, s.namespaceLabels) {
			s.existingAntiAffinityCounts.update(n.Node, t.TopologyKey, delta)
		}
	}
	if podMatchesAllTerms(s.affinity, other.Pod) {
		for i := range s.affinity {
			s.affinityCounts.update(n.Node, s.affinity[i].TopologyKey, delta)
		}
	}
	for i := range s.antiAffinity {
		if s.antiAffinity[i].Matches(other.Pod, nil) {
			s.antiAffinityCounts.update(n.Node, s.antiAffinity[i].TopologyKey, delta)
		}
	}
}

// AddPod is the PreFilter extension for a pod added to n.
func (p *interPodAffinity) AddPod(cs *CycleState, pod, added *fw.PodInfo, n *fw.NodeInfo) {
	p.update(cs, pod, added, n, 1)
}

// RemovePod is the PreFilter extension for a pod removed from n.
func (p *interPodAffinity) RemovePod(cs *CycleState, pod, removed *fw.PodInfo, n *fw.NodeInfo) {
	p.update(cs, pod, removed, n, -1)
}

func (p *interPodAffinity) Filter(cs *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	s := cs.ipa
	nodeLabels := n.Node.Labels
	// Required affinity: every term's domain on this node must hold a
	// matching pod, unless this is the first pod of a self-affine group.
	podsExist := true
	for i := range s.affinity {
		v, ok := nodeLabels[s.affinity[i].TopologyKey]
		if !ok {
			return statusAffinity
		}
		if s.affinityCounts[topologyPair{s.affinity[i].TopologyKey, v}] <= 0 {
			podsExist = false
		}
	}
	if !podsExist && !(len(s.affinityCounts) == 0 && podMatchesAllTerms(s.affinity, pod.Pod)) {
		return statusAffinity
	}
	if len(s.antiAffinityCounts) > 0 {
		for i := range s.antiAffinity {
			if v, ok := nodeLabels[s.antiAffinity[i].TopologyKey]; ok && s.antiAffinityCounts[topologyPair{s.antiAffinity[i].TopologyKey, v}] > 0 {
				return statusAntiAffinity
			}
		}
	}
	if len(s.existingAntiAffinityCounts) > 0 {
		for k, v := range nodeLabels {
			if s.existingAntiAffinityCounts[topologyPair{k, v}] > 0 {
				return statusExistingAntiAffinity
			}
		}
	}
	return nil
}

func (p *interPodAffinity) Hint(pod *fw.PodInfo, ev *fw.ClusterEvent) bool {
	// allTermsMatch is upstream's podMatchesAllAffinityTerms: an existing
	// pod counts for the terms only when it matches every one of them (and
	// there is at least one).
	allTermsMatch := func(terms []fw.AffinityTerm, other *fw.PodInfo) bool {
		if len(terms) == 0 {
			return false
		}
		for i := range terms {
			t := p.mergeNamespaces(terms[i])
			if !t.Matches(other.Pod, nil) {
				return false
			}
		}
		return true
	}
	aff, anti := pod.RequiredAffinityTerms, pod.RequiredAntiAffinityTerms
	switch ev.Kind {
	case fw.AssignedPodAdd:
		return allTermsMatch(aff, ev.NewPod)
	case fw.AssignedPodUpdate:
		// Relabelled to match the affinity, or away from the anti-affinity.
		return (!allTermsMatch(aff, ev.OldPod) && allTermsMatch(aff, ev.NewPod)) ||
			(allTermsMatch(anti, ev.OldPod) && !allTermsMatch(anti, ev.NewPod))
	case fw.AssignedPodDelete:
		if ev.Nominated {
			return false // an unscheduled pod: it never counted
		}
		if allTermsMatch(anti, ev.OldPod) {
			return true
		}
		// The deleted pod's own anti-affinity kept the pod away (upstream
		// kubernetes#135325).
		nsLabels := p.snap.NamespaceLabels(pod.Namespace)
		for i := range ev.OldPod.RequiredAntiAffinityTerms {
			if ev.OldPod.RequiredAntiAffinityTerms[i].Matches(pod.Pod, nsLabels) {
				return true
			}
		}
	case fw.NodeAdd:
		return true
	case fw.NodeUpdate:
		return ev.NodeChange&fw.NodeLabelsChanged != 0
	}
	return false
}

// ---- scoring ----

type ipaScoreState struct {
	topologyScore map[string]map[string]int64
}

func (m *ipaScoreState) add(t *fw.AffinityTerm, weight int64, pod *v1.Pod, nsLabels labels.Set, node *v1.Node) {
	if !t.Matches(pod, nsLabels) {
		return
	}
	v, ok := node.Labels[t.TopologyKey]
	if !ok {
		return
	}
	if m.topologyScore[t.TopologyKey] == nil {
		m.topologyScore[t.TopologyKey] = map[string]int64{}
	}
	m.topologyScore[t.TopologyKey][v] += weight
}

func (p *interPodAffinity) PreScore(cs *CycleState, pod *fw.PodInfo, _ []*fw.NodeInfo) *fw.Status {
	a := pod.Pod.Spec.Affinity
	hasConstraints := a != nil && ((a.PodAffinity != nil && len(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0) ||
		(a.PodAntiAffinity != nil && len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0))
	if !hasConstraints && !p.snap.HaveAffinityPods() {
		return statusSkip
	}
	if pod.ParseError != nil {
		return fw.NewStatus(fw.Error, InterPodAffinity.String(), "failed to parse pod: "+pod.ParseError.Error())
	}
	prefAff := make([]fw.WeightedAffinityTerm, len(pod.PreferredAffinityTerms))
	for i, t := range pod.PreferredAffinityTerms {
		prefAff[i] = fw.WeightedAffinityTerm{AffinityTerm: p.mergeNamespaces(t.AffinityTerm), Weight: t.Weight}
	}
	prefAnti := make([]fw.WeightedAffinityTerm, len(pod.PreferredAntiAffinityTerms))
	for i, t := range pod.PreferredAntiAffinityTerms {
		prefAnti[i] = fw.WeightedAffinityTerm{AffinityTerm: p.mergeNamespaces(t.AffinityTerm), Weight: t.Weight}
	}
	nsLabels := p.snap.NamespaceLabels(pod.Namespace)
	s := &ipaScoreState{topologyScore: map[string]map[string]int64{}}
	for _, n := range p.snap.Nodes() {
		node := n.Node
		if len(node.Labels) == 0 {
			continue
		}
		pods := n.PodsWithAffinity
		if hasConstraints {
			pods = n.Pods
		}
		for _, ex := range pods {
			for i := range prefAff {
				s.add(&prefAff[i].AffinityTerm, int64(prefAff[i].Weight), ex.Pod, nil, node)
			}
			for i := range prefAnti {
				s.add(&prefAnti[i].AffinityTerm, -int64(prefAnti[i].Weight), ex.Pod, nil, node)
			}
			if p.hardWeight > 0 {
				for i := range ex.RequiredAffinityTerms {
					s.add(&ex.RequiredAffinityTerms[i], int64(p.hardWeight), pod.Pod, nsLabels, node)
				}
			}
			for i := range ex.PreferredAffinityTerms {
				t := &ex.PreferredAffinityTerms[i]
				s.add(&t.AffinityTerm, int64(t.Weight), pod.Pod, nsLabels, node)
			}
			for i := range ex.PreferredAntiAffinityTerms {
				t := &ex.PreferredAntiAffinityTerms[i]
				s.add(&t.AffinityTerm, -int64(t.Weight), pod.Pod, nsLabels, node)
			}
		}
	}
	if len(s.topologyScore) == 0 {
		return statusSkip
	}
	cs.ipaScore = s
	return nil
}

// Score sums the topology scores of the node's domains.
func (p *interPodAffinity) Score(cs *CycleState, _ *fw.PodInfo, n *fw.NodeInfo) int64 {
	var score int64
	for key, vals := range cs.ipaScore.topologyScore {
		if v, ok := n.Node.Labels[key]; ok {
			score += vals[v]
		}
	}
	return score
}

// Normalize maps scores to 100 × (raw − min) / (max − min), 0 when all equal.
func (p *interPodAffinity) Normalize(_ *CycleState, _ *fw.PodInfo, _ []*fw.NodeInfo, scores []int64) {
	var minC int64 = math.MaxInt64
	var maxC int64 = math.MinInt64
	for _, s := range scores {
		maxC = max(maxC, s)
		minC = min(minC, s)
	}
	diff := maxC - minC
	for i := range scores {
		f := float64(0)
		if diff > 0 {
			f = float64(fw.MaxNodeScore) * (float64(scores[i]-minC) / float64(diff))
		}
		scores[i] = int64(f)
	}
}
