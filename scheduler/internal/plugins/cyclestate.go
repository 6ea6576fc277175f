package plugins

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// CycleState is the per-cycle state of all plugins (upstream's CycleState,
// with one typed field per plugin instead of a string-keyed map). A
// scheduler reuses one CycleState for every cycle; preemption works on
// clones.
type CycleState struct {
	pod        *fw.PodInfo
	totalNodes int
	skipFilter Set
	// active are the filter plugins to run this cycle (not skipped), in order.
	active []FilterPlugin

	// NodeAffinity.
	requiredNodeAffinity  nodeaffinity.RequiredNodeAffinity
	preferredNodeAffinity *nodeaffinity.PreferredSchedulingTerms

	// TaintToleration scoring.
	preferNoScheduleTolerations []v1.Toleration
	anyPreferNoScheduleTaint    bool

	// PodTopologySpread.
	spread      *spreadFilterState
	spreadScore *spreadScoreState

	// InterPodAffinity.
	ipa      *ipaFilterState
	ipaScore *ipaScoreState
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState { return &CycleState{} }

func (cs *CycleState) reset(pod *fw.PodInfo, totalNodes int) {
	*cs = CycleState{pod: pod, totalNodes: totalNodes, preferNoScheduleTolerations: cs.preferNoScheduleTolerations[:0], active: cs.active[:0]}
}

// SkippedFilters returns the filter plugins whose PreFilter returned Skip.
func (cs *CycleState) SkippedFilters() Set { return cs.skipFilter }

// Clone returns a copy whose PreFilter state can be changed by AddPod and
// RemovePod without affecting cs.
func (cs *CycleState) Clone() *CycleState {
	c := *cs
	c.active = append([]FilterPlugin(nil), cs.active...)
	c.spread = cs.spread.clone()
	c.ipa = cs.ipa.clone()
	return &c
}
