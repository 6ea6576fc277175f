package plugins

import (
	"testing"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

func inTerm(key, value, topology string) v1.PodAffinityTerm {
	return v1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: key, Operator: metav1.LabelSelectorOpIn, Values: []string{value}}}},
		TopologyKey: topology,
	}
}

func requiredAffinity(ts ...v1.PodAffinityTerm) *v1.Affinity {
	return &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: ts}}
}

func requiredAnti(ts ...v1.PodAffinityTerm) *v1.Affinity {
	return &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: ts}}
}

// Cases modelled on upstream interpodaffinity/filtering_test.go
// (TestRequiredAffinitySingleNode, TestRequiredAffinityMultipleNodes).
func TestInterPodAffinityFilter(t *testing.T) {
	host := v1.LabelHostname
	nodes := func() []*v1.Node {
		return []*v1.Node{
			mkNode("node-a").label(host, "node-a").label("zone", "z1").obj(),
			mkNode("node-b").label(host, "node-b").label("zone", "z1").obj(),
			mkNode("node-c").label(host, "node-c").label("zone", "z2").obj(),
		}
	}
	s1 := func(name, node string) *v1.Pod { return mkPod(name).node(node).label("security", "S1").obj() }
	tests := []struct {
		name     string
		pod      *v1.Pod
		existing []*v1.Pod
		ns       map[string]labels.Set
		want     map[string]*fw.Status
	}{
		{
			name:     "satisfies required pod affinity on the node holding a matching pod",
			pod:      mkPod("p").affinity(requiredAffinity(inTerm("security", "S1", host))).obj(),
			existing: []*v1.Pod{s1("e", "node-a")},
			want:     map[string]*fw.Status{"node-a": nil, "node-b": statusAffinity, "node-c": statusAffinity},
		},
		{
			name:     "affinity in a zone: every node of the zone qualifies",
			pod:      mkPod("p").affinity(requiredAffinity(inTerm("security", "S1", "zone"))).obj(),
			existing: []*v1.Pod{s1("e", "node-a")},
			want:     map[string]*fw.Status{"node-a": nil, "node-b": nil, "node-c": statusAffinity},
		},
		{
			name: "the first pod of a self-affine group may go anywhere",
			pod:  mkPod("p").label("security", "S1").affinity(requiredAffinity(inTerm("security", "S1", host))).obj(),
			want: map[string]*fw.Status{"node-a": nil, "node-b": nil, "node-c": nil},
		},
		{
			name: "a pod that is not self-affine finds no node without a matching pod",
			pod:  mkPod("p").affinity(requiredAffinity(inTerm("security", "S1", host))).obj(),
			want: map[string]*fw.Status{"node-a": statusAffinity, "node-b": statusAffinity, "node-c": statusAffinity},
		},
		{
			name:     "required anti-affinity of the incoming pod",
			pod:      mkPod("p").affinity(requiredAnti(inTerm("security", "S1", "zone"))).obj(),
			existing: []*v1.Pod{s1("e", "node-a")},
			want:     map[string]*fw.Status{"node-a": statusAntiAffinity, "node-b": statusAntiAffinity, "node-c": nil},
		},
		{
			name:     "required anti-affinity of an existing pod",
			pod:      mkPod("p").label("security", "S1").obj(),
			existing: []*v1.Pod{mkPod("e").node("node-c").affinity(requiredAnti(inTerm("security", "S1", host))).obj()},
			want:     map[string]*fw.Status{"node-a": nil, "node-b": nil, "node-c": statusExistingAntiAffinity},
		},
		{
			name: "terms only see pods in the listed namespaces",
			pod: func() *v1.Pod {
				term := inTerm("security", "S1", host)
				term.Namespaces = []string{"other"}
				return mkPod("p").affinity(requiredAffinity(term)).obj()
			}(),
			existing: []*v1.Pod{s1("e", "node-a"), mkPod("o").ns("other").node("node-b").label("security", "S1").obj()},
			want:     map[string]*fw.Status{"node-a": statusAffinity, "node-b": nil, "node-c": statusAffinity},
		},
		{
			name: "namespaceSelector selects namespaces by label",
			pod: func() *v1.Pod {
				term := inTerm("security", "S1", host)
				term.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
				return mkPod("p").affinity(requiredAffinity(term)).obj()
			}(),
			existing: []*v1.Pod{s1("e", "node-a"), mkPod("o").ns("team-a").node("node-c").label("security", "S1").obj()},
			ns:       map[string]labels.Set{"team-a": {"team": "a"}, "default": {}},
			want:     map[string]*fw.Status{"node-a": statusAffinity, "node-b": statusAffinity, "node-c": nil},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSnap(nodes(), tc.existing)
			if tc.ns != nil {
				s.ns = tc.ns
			}
			got := filter(t, s, InterPodAffinity, tc.pod)
			for n, want := range tc.want {
				assert.Equal(t, want.Code(), got[n].Code(), n)
				assert.Equal(t, want.Message(), got[n].Message(), n)
			}
		})
	}
}

// Cases from upstream interpodaffinity/scoring_test.go, TestPreferredAffinity
// and TestPreferredAffinityWithHardPodAffinitySymmetricWeight.
func TestInterPodAffinityScore(t *testing.T) {
	stayWithS1InRegion := &v1.Affinity{PodAffinity: &v1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{
		{Weight: 5, PodAffinityTerm: inTerm("security", "S1", "region")}}}}
	awayFromS1InAz := &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{
		{Weight: 5, PodAffinityTerm: inTerm("security", "S1", "az")}}}}
	t.Run("Affinity: pod that matches topology key & pods in nodes will get high score comparing to others which doesn't match either pods in nodes or in topology key", func(t *testing.T) {
		s := newSnap([]*v1.Node{
			mkNode("node1").label("region", "China").obj(), mkNode("node2").label("region", "India").obj(), mkNode("node3").label("az", "az1").obj(),
		}, []*v1.Pod{
			mkPod("e1").node("node1").label("security", "S1").obj(),
			mkPod("e2").node("node2").label("security", "S2").obj(),
			mkPod("e3").node("node3").label("security", "S1").obj(),
		})
		pod := mkPod("p").label("security", "S1").affinity(stayWithS1InRegion).obj()
		assert.Equal(t, map[string]int64{"node1": 100, "node2": 0, "node3": 0}, scores(t, s, InterPodAffinity, pod, "node1", "node2", "node3"))
	})
	t.Run("Anti Affinity: pod that does not match existing pods in node will get high score", func(t *testing.T) {
		s := newSnap([]*v1.Node{
			mkNode("node1").label("az", "az1").obj(), mkNode("node2").label("region", "China").obj(),
		}, []*v1.Pod{
			mkPod("e1").node("node1").label("security", "S1").obj(),
			mkPod("e2").node("node2").label("security", "S1").obj(),
		})
		pod := mkPod("p").label("security", "S1").affinity(awayFromS1InAz).obj()
		assert.Equal(t, map[string]int64{"node1": 0, "node2": 100}, scores(t, s, InterPodAffinity, pod, "node1", "node2"))
	})
	t.Run("Hard Affinity symmetry: existing pods' required affinity counts with hardPodAffinityWeight", func(t *testing.T) {
		s := newSnap([]*v1.Node{
			mkNode("node1").label("region", "China").obj(), mkNode("node2").label("region", "India").obj(), mkNode("node3").label("region", "China").obj(),
		}, []*v1.Pod{
			mkPod("e1").node("node1").affinity(requiredAffinity(inTerm("security", "S1", "region"))).obj(),
		})
		pod := mkPod("p").label("security", "S1").obj()
		assert.Equal(t, map[string]int64{"node1": 100, "node2": 0, "node3": 100}, scores(t, s, InterPodAffinity, pod, "node1", "node2", "node3"))
	})
	t.Run("all nodes are same priority as Affinity is nil: PreScore skips", func(t *testing.T) {
		s := newSnap([]*v1.Node{mkNode("node1").label("region", "China").obj()}, nil)
		p := &interPodAffinity{snap: s, hardWeight: 1}
		assert.True(t, p.PreScore(NewCycleState(), fw.NewPodInfo(mkPod("p").obj(), 0), s.Nodes()).IsSkip())
	})
}

// Queueing hints modelled on upstream interpodaffinity/plugin.go
// (isSchedulableAfterPodChange): an assigned pod added or relabelled to
// match the pod's affinity, relabelled or deleted so it no longer matches
// its anti-affinity, may make the pod schedulable.
func TestInterPodAffinityHint(t *testing.T) {
	host := v1.LabelHostname
	aff := fw.NewPodInfo(mkPod("p").affinity(requiredAffinity(inTerm("security", "S1", host))).obj(), 0)
	anti := fw.NewPodInfo(mkPod("p").affinity(requiredAnti(inTerm("security", "S1", host))).obj(), 0)
	assigned := func(sec string) *fw.PodInfo {
		return fw.NewPodInfo(mkPod("e").node("node-a").label("security", sec).obj(), 0)
	}
	// Two terms: an existing pod counts only when it matches both
	// (upstream podMatchesAllAffinityTerms).
	aff2 := fw.NewPodInfo(mkPod("p").affinity(requiredAffinity(inTerm("security", "S1", host), inTerm("tier", "web", host))).obj(), 0)
	anti2 := fw.NewPodInfo(mkPod("p").affinity(requiredAnti(inTerm("security", "S1", host), inTerm("tier", "web", host))).obj(), 0)
	assigned2 := func(sec, tier string) *fw.PodInfo {
		return fw.NewPodInfo(mkPod("e").node("node-a").label("security", sec).label("tier", tier).obj(), 0)
	}
	tests := []struct {
		name string
		pod  *fw.PodInfo
		ev   *fw.ClusterEvent
		want bool
	}{
		{"added pod matches one of two affinity terms", aff2, &fw.ClusterEvent{Kind: fw.AssignedPodAdd, NewPod: assigned2("S1", "db")}, false},
		{"added pod matches both affinity terms", aff2, &fw.ClusterEvent{Kind: fw.AssignedPodAdd, NewPod: assigned2("S1", "web")}, true},
		{"pod relabelled, matched affinity before and after", aff, &fw.ClusterEvent{Kind: fw.AssignedPodUpdate, OldPod: assigned("S1"), NewPod: assigned("S1")}, false},
		{"pod relabelled, still matches anti-affinity", anti, &fw.ClusterEvent{Kind: fw.AssignedPodUpdate, OldPod: assigned("S1"), NewPod: assigned("S1")}, false},
		{"deleted pod matched one of two anti-affinity terms", anti2, &fw.ClusterEvent{Kind: fw.AssignedPodDelete, OldPod: assigned2("S1", "db")}, false},
		{"deleted pod matched both anti-affinity terms", anti2, &fw.ClusterEvent{Kind: fw.AssignedPodDelete, OldPod: assigned2("S1", "web")}, true},
		{"added pod matches affinity", aff, &fw.ClusterEvent{Kind: fw.AssignedPodAdd, NewPod: assigned("S1")}, true},
		{"added pod does not match affinity", aff, &fw.ClusterEvent{Kind: fw.AssignedPodAdd, NewPod: assigned("S2")}, false},
		{"pod relabelled to match affinity", aff, &fw.ClusterEvent{Kind: fw.AssignedPodUpdate, OldPod: assigned("S2"), NewPod: assigned("S1")}, true},
		{"pod relabelled away from anti-affinity", anti, &fw.ClusterEvent{Kind: fw.AssignedPodUpdate, OldPod: assigned("S1"), NewPod: assigned("S2")}, true},
		{"pod relabelled, anti-affinity never matched", anti, &fw.ClusterEvent{Kind: fw.AssignedPodUpdate, OldPod: assigned("S2"), NewPod: assigned("S3")}, false},
		{"deleted pod matched anti-affinity", anti, &fw.ClusterEvent{Kind: fw.AssignedPodDelete, OldPod: assigned("S1")}, true},
		{"deleted nominated pod matched anti-affinity (never counted)", anti, &fw.ClusterEvent{Kind: fw.AssignedPodDelete, OldPod: assigned("S1"), Nominated: true}, false},
		{"deleted pod did not match anti-affinity", anti, &fw.ClusterEvent{Kind: fw.AssignedPodDelete, OldPod: assigned("S2")}, false},
	}
	p := &interPodAffinity{snap: newSnap(nil, nil)}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, p.Hint(tc.pod, tc.ev))
		})
	}
}
