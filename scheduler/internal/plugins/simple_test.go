package plugins

import (
	"testing"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// Cases from upstream tainttoleration/taint_toleration_test.go, TestTaintTolerationScore.
func TestTaintTolerationScoreUpstreamCases(t *testing.T) {
	pref := v1.TaintEffectPreferNoSchedule
	tests := []struct {
		name  string
		pod   *v1.Pod
		nodes []*v1.Node
		want  map[string]int64
	}{
		{
			name: "node with taints tolerated by the pod, gets a higher score than those node with intolerable taints",
			pod:  mkPod("p").toleration("foo", "Equal", "bar", pref).obj(),
			nodes: []*v1.Node{
				mkNode("nodeA").taint("foo", "bar", pref).obj(),
				mkNode("nodeB").taint("foo", "blah", pref).obj(),
				mkNode("nodeC").obj(),
			},
			want: map[string]int64{"nodeA": 100, "nodeB": 0, "nodeC": 100},
		},
		{
			name: "the nodes that all of their taints are tolerated by the pod, get the same score, no matter how many tolerable taints a node has",
			pod: mkPod("p").toleration("cpu-type", "Equal", "arm64", pref).
				toleration("disk-type", "Equal", "ssd", pref).obj(),
			nodes: []*v1.Node{
				mkNode("nodeA").obj(),
				mkNode("nodeB").taint("cpu-type", "arm64", pref).obj(),
				mkNode("nodeC").taint("cpu-type", "arm64", pref).taint("disk-type", "ssd", pref).obj(),
			},
			want: map[string]int64{"nodeA": 100, "nodeB": 100, "nodeC": 100},
		},
		{
			name: "the more intolerable taints a node has, the lower score it gets.",
			pod:  mkPod("p").toleration("foo", "Equal", "bar", pref).obj(),
			nodes: []*v1.Node{
				mkNode("nodeA").obj(),
				mkNode("nodeB").taint("cpu-type", "arm64", pref).obj(),
				mkNode("nodeC").taint("cpu-type", "arm64", pref).taint("disk-type", "ssd", pref).obj(),
			},
			want: map[string]int64{"nodeA": 100, "nodeB": 50, "nodeC": 0},
		},
		{
			name: "only taints and tolerations that have effect PreferNoSchedule are checked by prioritizer function",
			pod: mkPod("p").toleration("cpu-type", "Equal", "arm64", v1.TaintEffectNoSchedule).
				toleration("disk-type", "Equal", "ssd", v1.TaintEffectNoSchedule).obj(),
			nodes: []*v1.Node{
				mkNode("nodeA").obj(),
				mkNode("nodeB").taint("cpu-type", "arm64", v1.TaintEffectNoSchedule).obj(),
				mkNode("nodeC").taint("cpu-type", "arm64", pref).taint("disk-type", "ssd", pref).obj(),
			},
			want: map[string]int64{"nodeA": 100, "nodeB": 100, "nodeC": 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSnap(tc.nodes, nil)
			assert.Equal(t, tc.want, scores(t, s, TaintToleration, tc.pod, "nodeA", "nodeB", "nodeC"))
		})
	}
}

// Cases modelled on upstream TestTaintTolerationFilter.
func TestTaintTolerationFilter(t *testing.T) {
	ns := v1.TaintEffectNoSchedule
	tests := []struct {
		name string
		pod  *v1.Pod
		node *v1.Node
		code fw.Code
		msg  string
	}{
		{"A pod having no tolerations can't be scheduled onto a node with nonempty taints",
			mkPod("p").obj(), mkNode("n").taint("dedicated", "user1", ns).obj(),
			fw.UnschedulableAndUnresolvable, "node(s) had untolerated taint {dedicated: user1}"},
		{"A pod which can be scheduled on a dedicated node assigned to user1 with effect NoSchedule",
			mkPod("p").toleration("dedicated", "Equal", "user1", ns).obj(), mkNode("n").taint("dedicated", "user1", ns).obj(), fw.Success, ""},
		{"A pod which can't be scheduled on a dedicated node assigned to user2 with effect NoSchedule",
			mkPod("p").toleration("dedicated", "Equal", "user2", ns).obj(), mkNode("n").taint("dedicated", "user1", ns).obj(),
			fw.UnschedulableAndUnresolvable, "node(s) had untolerated taint {dedicated: user1}"},
		{"A pod can be scheduled onto the node, with a toleration uses operator Exists that tolerates the taints on the node",
			mkPod("p").toleration("foo", "Exists", "", ns).obj(), mkNode("n").taint("foo", "bar", ns).obj(), fw.Success, ""},
		{"A pod has a toleration that keys and values match the taint on the node, but (non-empty) effect doesn't match, can't be scheduled onto the node",
			mkPod("p").toleration("foo", "Equal", "bar", v1.TaintEffectPreferNoSchedule).obj(), mkNode("n").taint("foo", "bar", ns).obj(),
			fw.UnschedulableAndUnresolvable, "node(s) had untolerated taint {foo: bar}"},
		{"The pod has a toleration that keys and values match the taint on the node, the effect of toleration is empty, and the effect of taint is NoSchedule. Pod can be scheduled onto the node",
			mkPod("p").toleration("foo", "Equal", "bar", "").obj(), mkNode("n").taint("foo", "bar", ns).obj(), fw.Success, ""},
		{"The pod has a toleration that key and value don't match the taint on the node, but the effect of taint on node is PreferNoSchedule. Pod can be scheduled onto the node",
			mkPod("p").toleration("dedicated", "Equal", "user2", ns).obj(), mkNode("n").taint("dedicated", "user1", v1.TaintEffectPreferNoSchedule).obj(), fw.Success, ""},
		{"unreachable taint without value",
			mkPod("p").obj(), mkNode("n").taint(v1.TaintNodeUnreachable, "", v1.TaintEffectNoExecute).obj(),
			fw.UnschedulableAndUnresolvable, "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := filter(t, newSnap([]*v1.Node{tc.node}, nil), TaintToleration, tc.pod)["n"]
			assert.Equal(t, tc.code, st.Code())
			assert.Equal(t, tc.msg, st.Message())
		})
	}
}

// Cases from upstream nodeaffinity/node_affinity_test.go, TestNodeAffinityPriority.
func TestNodeAffinityScoreUpstreamCases(t *testing.T) {
	term := func(w int32, kv ...string) v1.PreferredSchedulingTerm {
		var reqs []v1.NodeSelectorRequirement
		for i := 0; i < len(kv); i += 2 {
			reqs = append(reqs, v1.NodeSelectorRequirement{Key: kv[i], Operator: v1.NodeSelectorOpIn, Values: []string{kv[i+1]}})
		}
		return v1.PreferredSchedulingTerm{Weight: w, Preference: v1.NodeSelectorTerm{MatchExpressions: reqs}}
	}
	affinity1 := &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{term(2, "foo", "bar")}}}
	affinity2 := &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{
		term(2, "foo", "bar"), term(4, "key", "value"), term(5, "foo", "bar", "key", "value", "az", "az1"),
	}}}
	n1 := func() *v1.Node { return mkNode("node1").label("foo", "bar").obj() }
	n2 := func() *v1.Node { return mkNode("node2").label("key", "value").obj() }
	n3 := func() *v1.Node { return mkNode("node3").label("az", "az1").obj() }
	n5 := func() *v1.Node {
		return mkNode("node5").label("foo", "bar").label("key", "value").label("az", "az1").obj()
	}
	tests := []struct {
		name  string
		pod   *v1.Pod
		nodes []*v1.Node
		names []string
		want  map[string]int64
		skip  bool
	}{
		{name: "all nodes are same priority as NodeAffinity is nil", pod: mkPod("p").obj(),
			nodes: []*v1.Node{n1(), n2(), n3()}, names: []string{"node1", "node2", "node3"},
			want: map[string]int64{"node1": 0, "node2": 0, "node3": 0}, skip: true},
		{name: "only node1 matches the preferred scheduling requirements of pod", pod: mkPod("p").affinity(affinity1).obj(),
			nodes: []*v1.Node{n1(), n2(), n3()}, names: []string{"node1", "node2", "node3"},
			want: map[string]int64{"node1": 100, "node2": 0, "node3": 0}},
		{name: "all nodes matches the preferred scheduling requirements of pod but with different priorities", pod: mkPod("p").affinity(affinity2).obj(),
			nodes: []*v1.Node{n1(), n5(), n2()}, names: []string{"node1", "node5", "node2"},
			want: map[string]int64{"node1": 18, "node5": 100, "node2": 36}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSnap(tc.nodes, nil)
			assert.Equal(t, tc.want, scores(t, s, NodeAffinity, tc.pod, tc.names...))
			st := (&nodeAffinity{}).PreScore(NewCycleState(), fw.NewPodInfo(tc.pod, 0), nil)
			assert.Equal(t, tc.skip, st.IsSkip())
		})
	}
}

// Cases modelled on upstream TestNodeAffinity (filter) and
// TestNodeAffinityPreFilter (metadata.name terms narrow the candidates).
func TestNodeAffinityFilter(t *testing.T) {
	nodes := []*v1.Node{mkNode("a").label("zone", "z1").obj(), mkNode("b").label("zone", "z2").obj(), mkNode("c").obj()}
	t.Run("nodeSelector", func(t *testing.T) {
		p := mkPod("p").obj()
		p.Spec.NodeSelector = map[string]string{"zone": "z1"}
		got := filter(t, newSnap(nodes, nil), NodeAffinity, p)
		assert.Nil(t, got["a"])
		assert.Equal(t, ErrReasonNodeAffinity, got["b"].Message())
		assert.Equal(t, fw.UnschedulableAndUnresolvable, got["c"].Code())
	})
	t.Run("required terms are ORed, expressions ANDed", func(t *testing.T) {
		p := mkPod("p").affinity(&v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
			NodeSelectorTerms: []v1.NodeSelectorTerm{
				{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{"z2"}}}},
				{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpDoesNotExist}}},
			}}}}).obj()
		got := codes(filter(t, newSnap(nodes, nil), NodeAffinity, p))
		assert.Equal(t, map[string]fw.Code{"a": fw.UnschedulableAndUnresolvable, "b": fw.Success, "c": fw.Success}, got)
	})
	t.Run("metadata.name terms", func(t *testing.T) {
		byName := func(names ...string) *v1.Affinity {
			return &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchFields: []v1.NodeSelectorRequirement{
					{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: names}}}}}}}
		}
		f := New(newSnap(nodes, nil), Options{})
		res := f.RunPreFilter(NewCycleState(), fw.NewPodInfo(mkPod("p").affinity(byName("b")).obj(), 0))
		assert.Nil(t, res.Status)
		assert.Equal(t, map[string]struct{}{"b": {}}, res.NodeNames)
		assert.Equal(t, []string{"NodeAffinity"}, res.Plugins)
	})
}

func TestNodeUnschedulableNodeNamePorts(t *testing.T) {
	nodes := []*v1.Node{mkNode("a").obj(), mkNode("b").obj()}
	nodes[0].Spec.Unschedulable = true
	t.Run("unschedulable", func(t *testing.T) {
		got := filter(t, newSnap(nodes, nil), NodeUnschedulable, mkPod("p").obj())
		assert.Equal(t, ErrReasonUnschedulable, got["a"].Message())
		assert.Nil(t, got["b"])
		tol := mkPod("p").toleration(v1.TaintNodeUnschedulable, "Exists", "", v1.TaintEffectNoSchedule).obj()
		assert.Nil(t, filter(t, newSnap(nodes, nil), NodeUnschedulable, tol)["a"])
	})
	t.Run("node name", func(t *testing.T) {
		p := mkPod("p").obj()
		p.Spec.NodeName = "b"
		got := filter(t, newSnap(nodes, nil), NodeName, p)
		assert.Equal(t, ErrReasonNodeName, got["a"].Message())
		assert.Nil(t, got["b"])
	})
	// Cases modelled on upstream nodeports/node_ports_test.go, TestNodePorts.
	t.Run("ports", func(t *testing.T) {
		existing := []*v1.Pod{mkPod("e").node("a").hostPort(8080, v1.ProtocolUDP, "127.0.0.1").obj()}
		cases := []struct {
			name string
			pod  *v1.Pod
			fits bool
		}{
			{"same udp port", mkPod("p").hostPort(8080, v1.ProtocolUDP, "127.0.0.1").obj(), false},
			{"same port, other protocol", mkPod("p").hostPort(8080, v1.ProtocolTCP, "127.0.0.1").obj(), true},
			{"same port, other ip", mkPod("p").hostPort(8080, v1.ProtocolUDP, "127.0.0.2").obj(), true},
			{"0.0.0.0 conflicts with a specific ip", mkPod("p").hostPort(8080, v1.ProtocolUDP, "").obj(), false},
			{"other port", mkPod("p").hostPort(9090, v1.ProtocolUDP, "127.0.0.1").obj(), true},
		}
		for _, c := range cases {
			st := filter(t, newSnap(nodes, existing), NodePorts, c.pod)["a"]
			assert.Equal(t, c.fits, st == nil, c.name)
			if st != nil {
				assert.Equal(t, ErrReasonNodePorts, st.Message())
			}
		}
	})
}
