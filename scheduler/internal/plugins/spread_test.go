package plugins

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// podsOn makes n pods labelled foo="" on node (prefix names them).
func podsOn(node string, n int, labels ...string) []*v1.Pod {
	var out []*v1.Pod
	for i := 0; i < n; i++ {
		b := mkPod(fmt.Sprintf("p-%s%d", node, i)).node(node)
		if len(labels) == 0 {
			labels = []string{"foo"}
		}
		for _, l := range labels {
			b.label(l, "")
		}
		out = append(out, b.obj())
	}
	return out
}

func concat(ps ...[]*v1.Pod) []*v1.Pod {
	var out []*v1.Pod
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

// Cases from upstream podtopologyspread/scoring_test.go, TestPodTopologySpreadScore.
func TestPodTopologySpreadScoreUpstreamCases(t *testing.T) {
	host := func(name string) *v1.Node { return mkNode(name).label(v1.LabelHostname, name).obj() }
	zoned := func(name, zone string) *v1.Node {
		return mkNode(name).label("zone", zone).label(v1.LabelHostname, name).obj()
	}
	soft := func(maxSkew int32, key string, sel *metav1.LabelSelector) *v1.Pod {
		return mkPod("p").label("foo", "").spread(maxSkew, key, v1.ScheduleAnyway, sel).obj()
	}
	tests := []struct {
		name     string
		pod      *v1.Pod
		nodes    []*v1.Node
		existing []*v1.Pod
		feasible []string
		services []*v1.Service
		want     map[string]int64
	}{
		{
			name: "one constraint on node, all 4 nodes are candidates", // matching pods spread as 2/1/0/3
			pod:  soft(1, v1.LabelHostname, exists("foo")), nodes: []*v1.Node{host("node-a"), host("node-b"), host("node-c"), host("node-d")},
			existing: concat(podsOn("node-a", 2), podsOn("node-b", 1), podsOn("node-d", 3)),
			feasible: []string{"node-a", "node-b", "node-c", "node-d"},
			want:     map[string]int64{"node-a": 20, "node-b": 60, "node-c": 100, "node-d": 0},
		},
		{
			name: "one constraint on node, all 4 nodes are candidates, maxSkew=2",
			pod:  soft(2, v1.LabelHostname, exists("foo")), nodes: []*v1.Node{host("node-a"), host("node-b"), host("node-c"), host("node-d")},
			existing: concat(podsOn("node-a", 2), podsOn("node-b", 1), podsOn("node-d", 3)),
			feasible: []string{"node-a", "node-b", "node-c", "node-d"},
			want:     map[string]int64{"node-a": 33, "node-b": 66, "node-c": 100, "node-d": 16},
		},
		{
			name: "one constraint on node, all 4 nodes are candidates, maxSkew=3", // 4/3/2/1
			pod:  soft(3, v1.LabelHostname, exists("foo")), nodes: []*v1.Node{host("node-a"), host("node-b"), host("node-c"), host("node-d")},
			existing: concat(podsOn("node-a", 4), podsOn("node-b", 3), podsOn("node-c", 2), podsOn("node-d", 1)),
			feasible: []string{"node-a", "node-b", "node-c", "node-d"},
			want:     map[string]int64{"node-a": 44, "node-b": 66, "node-c": 77, "node-d": 100},
		},
		{
			name: "system defaulting, nodes don't have zone, pods match service",
			pod:  mkPod("p").label("foo", "").obj(), nodes: []*v1.Node{host("node-a"), host("node-b"), host("node-c"), host("node-d")},
			existing: concat(podsOn("node-a", 4), podsOn("node-b", 3), podsOn("node-c", 2), podsOn("node-d", 1)),
			feasible: []string{"node-a", "node-b", "node-c", "node-d"},
			services: []*v1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "s"}, Spec: v1.ServiceSpec{Selector: map[string]string{"foo": ""}}}},
			want:     map[string]int64{"node-a": 44, "node-b": 66, "node-c": 77, "node-d": 100},
		},
		{
			name: "one constraint on node, 3 out of 4 nodes are candidates", // 4/2/1/~3~
			pod:  soft(1, v1.LabelHostname, exists("foo")), nodes: []*v1.Node{host("node-a"), host("node-b"), host("node-x"), host("node-y")},
			existing: concat(podsOn("node-a", 4), podsOn("node-b", 2), podsOn("node-x", 1), podsOn("node-y", 3)),
			feasible: []string{"node-a", "node-b", "node-x"},
			want:     map[string]int64{"node-a": 33, "node-b": 83, "node-x": 100},
		},
		{
			name:     "one constraint on node, 3 out of 4 nodes are candidates, one node doesn't match topology key",
			pod:      soft(1, v1.LabelHostname, exists("foo")),
			nodes:    []*v1.Node{host("node-a"), mkNode("node-b").label("n", "node-b").obj(), host("node-x"), host("node-y")},
			existing: concat(podsOn("node-a", 4), podsOn("node-b", 2), podsOn("node-x", 1), podsOn("node-y", 3)),
			feasible: []string{"node-a", "node-b", "node-x"},
			want:     map[string]int64{"node-a": 16, "node-b": 0, "node-x": 100},
		},
		{
			name:     "one constraint on zone, 3 out of 4 nodes are candidates",
			pod:      soft(1, "zone", exists("foo")),
			nodes:    []*v1.Node{zoned("node-a", "zone1"), zoned("node-b", "zone1"), zoned("node-x", "zone2"), zoned("node-y", "zone2")},
			existing: concat(podsOn("node-a", 4), podsOn("node-b", 2), podsOn("node-x", 1), podsOn("node-y", 3)),
			feasible: []string{"node-a", "node-b", "node-x"},
			want:     map[string]int64{"node-a": 75, "node-b": 75, "node-x": 100},
		},
		{
			name: "two Constraints on zone and node, with different labelSelectors",
			pod: mkPod("p").label("foo", "").label("bar", "").spread(1, "zone", v1.ScheduleAnyway, exists("foo")).
				spread(1, v1.LabelHostname, v1.ScheduleAnyway, exists("bar")).obj(),
			nodes: []*v1.Node{zoned("node-a", "zone1"), zoned("node-b", "zone1"), zoned("node-x", "zone2"), zoned("node-y", "zone2")},
			existing: concat(podsOn("node-a", 1, "foo"), podsOn("node-b", 1, "foo", "bar"),
				[]*v1.Pod{mkPod("p-y1").node("node-y").label("foo", "").obj(), mkPod("p-y2").node("node-y").label("bar", "").obj()}),
			feasible: []string{"node-a", "node-b", "node-x", "node-y"},
			want:     map[string]int64{"node-a": 60, "node-b": 20, "node-x": 100, "node-y": 60},
		},
		{
			// countPodsMatchSelector: an empty selector counts nothing.
			name:     "one constraint on node with an empty labelSelector",
			pod:      soft(1, v1.LabelHostname, &metav1.LabelSelector{}),
			nodes:    []*v1.Node{host("node-a"), host("node-b"), host("node-c")},
			existing: concat(podsOn("node-a", 2), podsOn("node-b", 1)),
			feasible: []string{"node-a", "node-b", "node-c"},
			want:     map[string]int64{"node-a": 100, "node-b": 100, "node-c": 100},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSnap(tc.nodes, tc.existing)
			s.services = tc.services
			assert.Equal(t, tc.want, scores(t, s, PodTopologySpread, tc.pod, tc.feasible...))
		})
	}
}

// Cases from upstream podtopologyspread/filtering_test.go, TestSingleConstraint,
// plus minDomains and the missing-label reason.
func TestPodTopologySpreadFilter(t *testing.T) {
	zoned := func(name, zone string) *v1.Node {
		return mkNode(name).label("zone", zone).label("node", name).obj()
	}
	nodes := func() []*v1.Node {
		return []*v1.Node{zoned("node-a", "zone1"), zoned("node-b", "zone1"), zoned("node-x", "zone2"), zoned("node-y", "zone2")}
	}
	hard := func() *podB { return mkPod("p").label("foo", "").spread(1, "zone", v1.DoNotSchedule, exists("foo")) }
	tests := []struct {
		name     string
		pod      *v1.Pod
		nodes    []*v1.Node
		existing []*v1.Pod
		want     map[string]fw.Code
	}{
		{
			name: "existing pods in a different namespace do not count",
			pod:  hard().obj(), nodes: nodes(),
			existing: []*v1.Pod{
				mkPod("p-a1").ns("ns1").node("node-a").label("foo", "").obj(), mkPod("p-b1").ns("ns2").node("node-a").label("foo", "").obj(),
				mkPod("p-x1").node("node-x").label("foo", "").obj(), mkPod("p-y1").node("node-y").label("foo", "").obj(),
			},
			want: map[string]fw.Code{"node-a": fw.Success, "node-b": fw.Success, "node-x": fw.Unschedulable, "node-y": fw.Unschedulable},
		},
		{
			name: "pods spread across zones as 3/3, all nodes fit",
			pod:  hard().obj(), nodes: nodes(),
			existing: concat(podsOn("node-a", 2), podsOn("node-b", 1), podsOn("node-y", 3)),
			want:     map[string]fw.Code{"node-a": fw.Success, "node-b": fw.Success, "node-x": fw.Success, "node-y": fw.Success},
		},
		{
			name: "pods spread across zones as 1/2 due to absence of label 'zone' on node-b",
			pod:  hard().obj(),
			nodes: []*v1.Node{zoned("node-a", "zone1"), mkNode("node-b").label("zon", "zone1").label("node", "node-b").obj(),
				zoned("node-x", "zone2"), zoned("node-y", "zone2")},
			existing: concat(podsOn("node-a", 1), podsOn("node-b", 1), podsOn("node-x", 2)),
			want: map[string]fw.Code{"node-a": fw.Success, "node-b": fw.UnschedulableAndUnresolvable,
				"node-x": fw.Unschedulable, "node-y": fw.Unschedulable},
		},
		{
			// 2 domains but minDomains 3: the global minimum is taken as 0, so a
			// domain may hold at most maxSkew matching pods including the new one.
			name: "minDomains above the number of domains",
			pod: func() *v1.Pod {
				p := hard().obj()
				three := int32(3)
				p.Spec.TopologySpreadConstraints[0].MinDomains = &three
				return p
			}(),
			nodes:    nodes(),
			existing: concat(podsOn("node-a", 1), podsOn("node-x", 1)),
			want:     map[string]fw.Code{"node-a": fw.Unschedulable, "node-b": fw.Unschedulable, "node-x": fw.Unschedulable, "node-y": fw.Unschedulable},
		},
		{
			// nodeAffinityPolicy Honor (the default): node-x/y are excluded by the
			// pod's nodeSelector, so zone2 is not a domain and zone1 (1 pod) is
			// compared with itself.
			name: "nodes excluded by node affinity do not count as domains",
			pod: func() *v1.Pod {
				p := hard().obj()
				p.Spec.NodeSelector = map[string]string{"zone": "zone1"}
				return p
			}(),
			nodes:    nodes(),
			existing: concat(podsOn("node-a", 1)),
			want:     map[string]fw.Code{"node-a": fw.Success, "node-b": fw.Success, "node-x": fw.Success, "node-y": fw.Success},
		},
		{
			// Upstream countPodsMatchSelector counts nothing for an empty
			// selector (labelSelector: {}), although the pod matches it itself.
			name:     "an empty labelSelector counts no existing pods",
			pod:      mkPod("p").label("foo", "").spread(1, "zone", v1.DoNotSchedule, &metav1.LabelSelector{}).obj(),
			nodes:    nodes(),
			existing: concat(podsOn("node-a", 3)),
			want:     map[string]fw.Code{"node-a": fw.Success, "node-b": fw.Success, "node-x": fw.Success, "node-y": fw.Success},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := filter(t, newSnap(tc.nodes, tc.existing), PodTopologySpread, tc.pod)
			assert.Equal(t, tc.want, codes(got))
			for n, st := range got {
				switch st.Code() {
				case fw.Unschedulable:
					assert.Equal(t, ErrReasonSpread, st.Message(), n)
				case fw.UnschedulableAndUnresolvable:
					assert.Equal(t, ErrReasonSpreadLabel, st.Message(), n)
				}
			}
		})
	}
}

// Queueing hints modelled on upstream podtopologyspread/plugin.go
// (isSchedulableAfterPodChange, isSchedulableAfterNodeChange).
func TestPodTopologySpreadHint(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	target := func(labels ...string) *podB {
		b := mkPod("p").spread(1, "zone", v1.DoNotSchedule, sel)
		for i := 0; i < len(labels); i += 2 {
			b.label(labels[i], labels[i+1])
		}
		return b
	}
	pi := func(b *podB) *fw.PodInfo { return fw.NewPodInfo(b.obj(), 0) }
	honor := func(b *podB) *podB {
		h := v1.NodeInclusionPolicyHonor
		b.p.Spec.TopologySpreadConstraints[0].NodeTaintsPolicy = &h
		return b
	}
	two := func() *podB { return target().spread(1, "rack", v1.DoNotSchedule, sel) }
	assigned := func(ns string, labels ...string) *fw.PodInfo {
		b := mkPod("e").ns(ns).node("n")
		for i := 0; i < len(labels); i += 2 {
			b.label(labels[i], labels[i+1])
		}
		return fw.NewPodInfo(b.obj(), 0)
	}
	zoned := func(labels ...string) *v1.Node {
		b := mkNode("n")
		for i := 0; i < len(labels); i += 2 {
			b.label(labels[i], labels[i+1])
		}
		return b.obj()
	}
	taintedZoned := func(labels ...string) *v1.Node {
		n := zoned(labels...)
		n.Spec.Taints = []v1.Taint{{Key: "k", Effect: v1.TaintEffectNoSchedule}}
		return n
	}
	nodeUpdate := func(old, cur *v1.Node, change fw.NodeChange) *fw.ClusterEvent {
		return &fw.ClusterEvent{Kind: fw.NodeUpdate, OldNode: old, NewNode: cur, NodeChange: change}
	}
	self := func(change fw.PodChange) *fw.ClusterEvent {
		return &fw.ClusterEvent{Kind: fw.PodSelfUpdate, PodChange: change}
	}
	tests := []struct {
		name string
		pod  *fw.PodInfo
		old  *fw.PodInfo // the pod before a PodSelfUpdate
		ev   *fw.ClusterEvent
		want bool
	}{
		{"own relabel into the selector", pi(target("app", "web")), pi(target()), self(fw.PodLabelsChanged), true},
		{"own relabel that keeps the selector's verdict", pi(target("app", "web", "v", "2")), pi(target("app", "web")), self(fw.PodLabelsChanged), false},
		{"own new toleration, taints policy Ignore", pi(target()), pi(target()), self(fw.PodTolerationsChanged), false},
		{"own new toleration, taints policy Honor", pi(honor(target())), pi(honor(target())), self(fw.PodTolerationsChanged), true},
		{"own scale-down", pi(target()), pi(target()), self(fw.PodScaledDown), false},

		{"matching pod added", pi(target()), nil, &fw.ClusterEvent{Kind: fw.AssignedPodAdd, NewPod: assigned("default", "app", "web")}, true},
		{"matching pod added in another namespace", pi(target()), nil, &fw.ClusterEvent{Kind: fw.AssignedPodAdd, NewPod: assigned("other", "app", "web")}, false},
		{"other pod added", pi(target()), nil, &fw.ClusterEvent{Kind: fw.AssignedPodAdd, NewPod: assigned("default", "app", "db")}, false},
		{"matching pod deleted", pi(target()), nil, &fw.ClusterEvent{Kind: fw.AssignedPodDelete, OldPod: assigned("default", "app", "web")}, true},
		{"matching nominated pod deleted (never counted)", pi(target()), nil,
			&fw.ClusterEvent{Kind: fw.AssignedPodDelete, OldPod: assigned("default", "app", "web"), Nominated: true}, false},
		{"pod relabelled into the selector", pi(target()), nil,
			&fw.ClusterEvent{Kind: fw.AssignedPodUpdate, OldPod: assigned("default", "app", "db"), NewPod: assigned("default", "app", "web")}, true},
		{"matching pod relabelled, still matching", pi(target()), nil,
			&fw.ClusterEvent{Kind: fw.AssignedPodUpdate, OldPod: assigned("default", "app", "web"), NewPod: assigned("default", "app", "web", "v", "2")}, false},

		{"node added with every topology key", pi(two()), nil, &fw.ClusterEvent{Kind: fw.NodeAdd, NewNode: zoned("zone", "z1", "rack", "r1")}, true},
		{"node added with one of two topology keys", pi(two()), nil, &fw.ClusterEvent{Kind: fw.NodeAdd, NewNode: zoned("zone", "z1")}, false},
		{"node deleted with one of two topology keys", pi(two()), nil, &fw.ClusterEvent{Kind: fw.NodeDelete, OldNode: zoned("zone", "z1")}, false},
		{"node gains the topology key", pi(target()), nil, nodeUpdate(zoned(), zoned("zone", "z1"), fw.NodeLabelsChanged), true},
		{"node moves to another zone", pi(target()), nil, nodeUpdate(zoned("zone", "z1"), zoned("zone", "z2"), fw.NodeLabelsChanged), true},
		{"node gets an unrelated label", pi(target()), nil, nodeUpdate(zoned("zone", "z1"), zoned("zone", "z1", "disk", "ssd"), fw.NodeLabelsChanged), false},
		{"matching node's taints change", pi(target()), nil,
			nodeUpdate(zoned("zone", "z1"), taintedZoned("zone", "z1"), fw.NodeTaintsChanged), true},
		{"non-matching node's taints change", pi(target()), nil,
			nodeUpdate(zoned(), taintedZoned(), fw.NodeTaintsChanged), false},
	}
	p := &podTopologySpread{snap: newSnap(nil, nil)}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := *tc.ev
			if ev.Kind == fw.PodSelfUpdate {
				ev.OldPod, ev.NewPod = tc.old, tc.pod
			}
			assert.Equal(t, tc.want, p.Hint(tc.pod, &ev))
		})
	}
}
