package plugins

import (
	v1 "k8s.io/api/core/v1"
	v1helper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// Filter reasons, word for word as upstream prints them.
const (
	// ErrReasonUnschedulable is NodeUnschedulable's reason.
	ErrReasonUnschedulable = "node(s) were unschedulable"
	// ErrReasonNodeName is NodeName's reason.
	ErrReasonNodeName = "node(s) didn't match the requested node name"
	// ErrReasonNodeAffinity is NodeAffinity's reason.
	ErrReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector"
	// ErrReasonNodeAffinityConflict is NodeAffinity's PreFilter reason when
	// the metadata.name terms cannot be satisfied together.
	ErrReasonNodeAffinityConflict = "pod affinity terms conflict"
	// ErrReasonNodePorts is NodePorts' reason.
	ErrReasonNodePorts = "node(s) didn't have free ports for the requested pod ports"
)

var (
	statusUnschedulable = fw.NewStatus(fw.UnschedulableAndUnresolvable, NodeUnschedulable.String(), ErrReasonUnschedulable)
	statusNodeName      = fw.NewStatus(fw.UnschedulableAndUnresolvable, NodeName.String(), ErrReasonNodeName)
	statusNodeAffinity  = fw.NewStatus(fw.UnschedulableAndUnresolvable, NodeAffinity.String(), ErrReasonNodeAffinity)
	statusNodePorts     = fw.NewStatus(fw.Unschedulable, NodePorts.String(), ErrReasonNodePorts)
	statusSkip          = fw.NewStatus(fw.Skip, "")
)

// ---- NodeUnschedulable (plugins/nodeunschedulable) ----

type nodeUnschedulable struct{}

var unschedulableTaint = v1.Taint{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule}

func (nodeUnschedulable) ID() ID { return NodeUnschedulable }

func (nodeUnschedulable) PreFilter(*CycleState, *fw.PodInfo) (map[string]struct{}, *fw.Status) {
	return nil, nil
}

func (nodeUnschedulable) Filter(_ *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	if !n.Unschedulable {
		return nil
	}
	if v1helper.TolerationsTolerateTaint(discard, pod.Pod.Spec.Tolerations, &unschedulableTaint, false) {
		return nil
	}
	return statusUnschedulable
}

// Hint is upstream's isSchedulableAfterNodeChange and
// isSchedulableAfterPodTolerationChange.
func (nodeUnschedulable) Hint(pod *fw.PodInfo, ev *fw.ClusterEvent) bool {
	switch ev.Kind {
	case fw.NodeAdd:
		return !ev.NewNode.Spec.Unschedulable
	case fw.NodeUpdate:
		return ev.NodeChange&fw.NodeTaintsChanged != 0 && ev.OldNode.Spec.Unschedulable && !ev.NewNode.Spec.Unschedulable
	case fw.PodSelfUpdate:
		return ev.PodChange&fw.PodTolerationsChanged != 0 &&
			v1helper.TolerationsTolerateTaint(discard, pod.Pod.Spec.Tolerations, &unschedulableTaint, false)
	}
	return false
}

// ---- NodeName (plugins/nodename) ----

type nodeName struct{}

func (nodeName) ID() ID { return NodeName }

func (nodeName) PreFilter(_ *CycleState, pod *fw.PodInfo) (map[string]struct{}, *fw.Status) {
	if pod.Pod.Spec.NodeName == "" {
		return nil, statusSkip
	}
	return nil, nil
}

func (nodeName) Filter(_ *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	if pod.Pod.Spec.NodeName != "" && pod.Pod.Spec.NodeName != n.Name {
		return statusNodeName
	}
	return nil
}

func (nodeName) Hint(pod *fw.PodInfo, ev *fw.ClusterEvent) bool {
	if ev.Kind == fw.NodeAdd || ev.Kind == fw.NodeUpdate {
		return pod.Pod.Spec.NodeName == "" || pod.Pod.Spec.NodeName == ev.NewNode.Name
	}
	return false
}

// ---- TaintToleration (plugins/tainttoleration) ----

type taintToleration struct {
	// statuses caches one status per (key, value) so failing nodes allocate nothing.
	statuses map[v1.Taint]*fw.Status
}

func (*taintToleration) ID() ID { return TaintToleration }

func (*taintToleration) PreFilter(*CycleState, *fw.PodInfo) (map[string]struct{}, *fw.Status) {
	return nil, nil
}

func doNotScheduleTaint(t *v1.Taint) bool {
	return t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute
}

// untoleratedTaint returns the first NoSchedule/NoExecute taint of node the
// tolerations do not tolerate.
func untoleratedTaint(taints []v1.Taint, tolerations []v1.Toleration) (v1.Taint, bool) {
	for i := range taints {
		t := &taints[i]
		if doNotScheduleTaint(t) && !v1helper.TolerationsTolerateTaint(discard, tolerations, t, false) {
			return *t, true
		}
	}
	return v1.Taint{}, false
}

// TaintReason is TaintToleration's filter reason for an untolerated taint.
func TaintReason(t v1.Taint) string {
	return "node(s) had untolerated taint {" + t.Key + ": " + t.Value + "}"
}

func (p *taintToleration) Filter(_ *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	if !n.HasNoScheduleTaints {
		return nil
	}
	t, bad := untoleratedTaint(n.Node.Spec.Taints, pod.Pod.Spec.Tolerations)
	if !bad {
		return nil
	}
	key := v1.Taint{Key: t.Key, Value: t.Value}
	st := p.statuses[key]
	if st == nil {
		if p.statuses == nil {
			p.statuses = map[v1.Taint]*fw.Status{}
		}
		st = fw.NewStatus(fw.UnschedulableAndUnresolvable, TaintToleration.String(), TaintReason(t))
		p.statuses[key] = st
	}
	return st
}

func (*taintToleration) Hint(pod *fw.PodInfo, ev *fw.ClusterEvent) bool {
	tol := pod.Pod.Spec.Tolerations
	switch ev.Kind {
	case fw.NodeAdd:
		_, bad := untoleratedTaint(ev.NewNode.Spec.Taints, tol)
		return !bad
	case fw.NodeUpdate:
		if ev.NodeChange&fw.NodeTaintsChanged == 0 {
			return false
		}
		_, badNew := untoleratedTaint(ev.NewNode.Spec.Taints, tol)
		_, badOld := untoleratedTaint(ev.OldNode.Spec.Taints, tol)
		return !badNew && badOld
	case fw.PodSelfUpdate:
		// isSchedulableAfterPodTolerationChange: any new toleration.
		return ev.PodChange&fw.PodTolerationsChanged != 0
	}
	return false
}

func (*taintToleration) PreScore(cs *CycleState, pod *fw.PodInfo, nodes []*fw.NodeInfo) *fw.Status {
	for _, t := range pod.Pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == v1.TaintEffectPreferNoSchedule {
			cs.preferNoScheduleTolerations = append(cs.preferNoScheduleTolerations, t)
		}
	}
	cs.anyPreferNoScheduleTaint = false
	for _, n := range nodes {
		if n.HasPreferNoScheduleTaints {
			cs.anyPreferNoScheduleTaint = true
			break
		}
	}
	return nil
}

// Uniform reports that every node scores 0 when no feasible node has a
// PreferNoSchedule taint (the per-node loop is skipped).
func (*taintToleration) Uniform(cs *CycleState, _ *fw.PodInfo) (int64, bool) {
	return 0, !cs.anyPreferNoScheduleTaint
}

// Score counts the PreferNoSchedule taints the pod does not tolerate.
func (*taintToleration) Score(cs *CycleState, _ *fw.PodInfo, n *fw.NodeInfo) int64 {
	if !n.HasPreferNoScheduleTaints {
		return 0
	}
	var c int64
	for i := range n.Node.Spec.Taints {
		t := &n.Node.Spec.Taints[i]
		if t.Effect == v1.TaintEffectPreferNoSchedule && !v1helper.TolerationsTolerateTaint(discard, cs.preferNoScheduleTolerations, t, false) {
			c++
		}
	}
	return c
}

func (*taintToleration) Normalize(_ *CycleState, _ *fw.PodInfo, _ []*fw.NodeInfo, scores []int64) {
	DefaultNormalizeScore(fw.MaxNodeScore, true, scores)
}

// DefaultNormalizeScore scales scores from [0, max] to [0, maxPriority],
// reversed when reverse is set (plugins/helper/normalize_score.go).
func DefaultNormalizeScore(maxPriority int64, reverse bool, scores []int64) {
	var maxCount int64
	for _, s := range scores {
		maxCount = max(maxCount, s)
	}
	if maxCount == 0 {
		if reverse {
			for i := range scores {
				scores[i] = maxPriority
			}
		}
		return
	}
	for i, s := range scores {
		s = maxPriority * s / maxCount
		if reverse {
			s = maxPriority - s
		}
		scores[i] = s
	}
}

// ---- NodeAffinity (plugins/nodeaffinity) ----

type nodeAffinity struct{}

func (*nodeAffinity) ID() ID { return NodeAffinity }

func requiredTerms(pod *v1.Pod) []v1.NodeSelectorTerm {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	return a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
}

func hasRequired(pod *v1.Pod) bool {
	a := pod.Spec.Affinity
	return a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil
}

func (*nodeAffinity) PreFilter(cs *CycleState, pod *fw.PodInfo) (map[string]struct{}, *fw.Status) {
	p := pod.Pod
	if len(p.Spec.NodeSelector) == 0 && !hasRequired(p) {
		return nil, statusSkip
	}
	cs.requiredNodeAffinity = nodeaffinity.GetRequiredNodeAffinity(p)
	if !hasRequired(p) {
		return nil, nil
	}
	// A term that names nodes by metadata.name narrows the candidates.
	var names map[string]struct{}
	for _, t := range requiredTerms(p) {
		var termNames map[string]struct{}
		for _, r := range t.MatchFields {
			if r.Key != "metadata.name" || r.Operator != v1.NodeSelectorOpIn {
				continue
			}
			s := map[string]struct{}{}
			for _, v := range r.Values {
				if termNames == nil {
					s[v] = struct{}{}
				} else if _, ok := termNames[v]; ok {
					s[v] = struct{}{}
				}
			}
			termNames = s
		}
		if termNames == nil {
			return nil, nil // this term admits any node; terms are ORed
		}
		if names == nil {
			names = map[string]struct{}{}
		}
		for n := range termNames {
			names[n] = struct{}{}
		}
	}
	if names != nil && len(names) == 0 {
		return nil, fw.NewStatus(fw.UnschedulableAndUnresolvable, NodeAffinity.String(), ErrReasonNodeAffinityConflict)
	}
	return names, nil
}

func (*nodeAffinity) Filter(cs *CycleState, _ *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	if ok, _ := cs.requiredNodeAffinity.Match(n.Node); !ok {
		return statusNodeAffinity
	}
	return nil
}

func (*nodeAffinity) Hint(pod *fw.PodInfo, ev *fw.ClusterEvent) bool {
	req := nodeaffinity.GetRequiredNodeAffinity(pod.Pod)
	switch ev.Kind {
	case fw.NodeAdd:
		ok, _ := req.Match(ev.NewNode)
		return ok
	case fw.NodeUpdate:
		if ev.NodeChange&fw.NodeLabelsChanged == 0 {
			return false
		}
		okNew, _ := req.Match(ev.NewNode)
		okOld, _ := req.Match(ev.OldNode)
		return okNew && !okOld
	}
	return false
}

func (*nodeAffinity) PreScore(cs *CycleState, pod *fw.PodInfo, _ []*fw.NodeInfo) *fw.Status {
	a := pod.Pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return statusSkip
	}
	terms, err := nodeaffinity.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	if err != nil {
		return fw.NewStatus(fw.Error, NodeAffinity.String(), err.Error())
	}
	cs.preferredNodeAffinity = terms
	return nil
}

// Score sums the weights of the preferred terms the node matches.
func (*nodeAffinity) Score(cs *CycleState, _ *fw.PodInfo, n *fw.NodeInfo) int64 {
	return cs.preferredNodeAffinity.Score(n.Node)
}

func (*nodeAffinity) Normalize(_ *CycleState, _ *fw.PodInfo, _ []*fw.NodeInfo, scores []int64) {
	DefaultNormalizeScore(fw.MaxNodeScore, false, scores)
}

// ---- NodePorts (plugins/nodeports) ----

type nodePorts struct{}

func (nodePorts) ID() ID { return NodePorts }

func (nodePorts) PreFilter(_ *CycleState, pod *fw.PodInfo) (map[string]struct{}, *fw.Status) {
	if len(pod.HostPorts) == 0 {
		return nil, statusSkip
	}
	return nil, nil
}

func (nodePorts) Filter(_ *CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	for _, p := range pod.HostPorts {
		if n.PortConflict(p) {
			return statusNodePorts
		}
	}
	return nil
}

func (nodePorts) Hint(pod *fw.PodInfo, ev *fw.ClusterEvent) bool {
	switch ev.Kind {
	case fw.NodeAdd:
		return true
	case fw.AssignedPodDelete:
		for _, a := range ev.OldPod.HostPorts {
			for _, b := range pod.HostPorts {
				if a.Port == b.Port && a.Protocol == b.Protocol &&
					(a.IP == b.IP || a.IP == fw.DefaultBindAllHostIP || b.IP == fw.DefaultBindAllHostIP) {
					return true
				}
			}
		}
	}
	return false
}
