package plugins

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

type rl = map[v1.ResourceName]string

// Cases from upstream noderesources/least_allocated_test.go,
// TestLeastAllocatedScoringStrategy (default resources cpu+memory, weight 1).
func TestLeastAllocatedUpstreamCases(t *testing.T) {
	small := rl{"cpu": "4000", "memory": "10000"}
	tests := []struct {
		name     string
		pod      *v1.Pod
		nodes    []*v1.Node
		existing []*v1.Pod
		want     map[string]int64
	}{
		{
			name:  "nothing scheduled, nothing requested",
			pod:   mkPod("p").obj(),
			nodes: []*v1.Node{mkNode("node1").capacity(small).obj(), mkNode("node2").capacity(small).obj()},
			want:  map[string]int64{"node1": 100, "node2": 100},
		},
		{
			// CPU ((4000-3000)*100)/4000 = 25, memory ((10000-5000)*100)/10000 = 50 → 37; node2 50/50 → 50.
			name:  "nothing scheduled, resources requested, differently sized nodes",
			pod:   mkPod("p").req(rl{"cpu": "1000", "memory": "2000"}).req(rl{"cpu": "2000", "memory": "3000"}).obj(),
			nodes: []*v1.Node{mkNode("node1").capacity(small).obj(), mkNode("node2").capacity(rl{"cpu": "6000", "memory": "10000"}).obj()},
			want:  map[string]int64{"node1": 37, "node2": 50},
		},
		{
			name:  "no resources requested, pods scheduled",
			pod:   mkPod("p").obj(),
			nodes: []*v1.Node{mkNode("node1").capacity(small).obj(), mkNode("node2").capacity(small).obj()},
			existing: []*v1.Pod{
				mkPod("e1").node("node1").obj(), mkPod("e2").node("node1").obj(),
				mkPod("e3").node("node2").obj(), mkPod("e4").node("node2").obj(),
			},
			want: map[string]int64{"node1": 100, "node2": 100},
		},
		{
			// node1: cpu 40, memory 100 → 70; node2: cpu 40, memory 75 → 57.
			name: "no resources requested, pods scheduled with resources",
			pod:  mkPod("p").obj(),
			nodes: []*v1.Node{
				mkNode("node1").capacity(rl{"cpu": "10000", "memory": "20000"}).obj(),
				mkNode("node2").capacity(rl{"cpu": "10000", "memory": "20000"}).obj(),
			},
			existing: []*v1.Pod{
				mkPod("e1").node("node1").req(rl{"cpu": "3000", "memory": "0"}).obj(),
				mkPod("e2").node("node1").req(rl{"cpu": "3000", "memory": "0"}).obj(),
				mkPod("e3").node("node2").req(rl{"cpu": "3000", "memory": "0"}).obj(),
				mkPod("e4").node("node2").req(rl{"cpu": "3000", "memory": "5000"}).obj(),
			},
			want: map[string]int64{"node1": 70, "node2": 57},
		},
		{
			name: "resources requested, pods scheduled with resources",
			pod:  mkPod("p").req(rl{"cpu": "1000", "memory": "2000"}).req(rl{"cpu": "2000", "memory": "3000"}).obj(),
			nodes: []*v1.Node{
				mkNode("node1").capacity(rl{"cpu": "10000", "memory": "20000"}).obj(),
				mkNode("node2").capacity(rl{"cpu": "10000", "memory": "20000"}).obj(),
			},
			existing: []*v1.Pod{
				mkPod("e1").node("node1").req(rl{"cpu": "3000", "memory": "0"}).obj(),
				mkPod("e2").node("node2").req(rl{"cpu": "3000", "memory": "5000"}).obj(),
			},
			want: map[string]int64{"node1": 57, "node2": 45},
		},
		{
			name: "resources requested, pods scheduled with resources, differently sized nodes",
			pod:  mkPod("p").req(rl{"cpu": "1000", "memory": "2000"}).req(rl{"cpu": "2000", "memory": "3000"}).obj(),
			nodes: []*v1.Node{
				mkNode("node1").capacity(rl{"cpu": "10000", "memory": "20000"}).obj(),
				mkNode("node2").capacity(rl{"cpu": "10000", "memory": "50000"}).obj(),
			},
			existing: []*v1.Pod{
				mkPod("e1").node("node1").req(rl{"cpu": "3000", "memory": "0"}).obj(),
				mkPod("e2").node("node2").req(rl{"cpu": "3000", "memory": "5000"}).obj(),
			},
			want: map[string]int64{"node1": 57, "node2": 60},
		},
		{
			name:  "requested resources exceed node capacity",
			pod:   mkPod("p").req(rl{"cpu": "3000", "memory": "0"}).obj(),
			nodes: []*v1.Node{mkNode("node1").capacity(small).obj(), mkNode("node2").capacity(small).obj()},
			existing: []*v1.Pod{
				mkPod("e1").node("node1").req(rl{"cpu": "3000", "memory": "0"}).obj(),
				mkPod("e2").node("node2").req(rl{"cpu": "3000", "memory": "5000"}).obj(),
			},
			want: map[string]int64{"node1": 50, "node2": 25},
		},
		{
			name:  "zero node resources, pods scheduled with resources",
			pod:   mkPod("p").obj(),
			nodes: []*v1.Node{mkNode("node1").obj(), mkNode("node2").obj()},
			existing: []*v1.Pod{
				mkPod("e1").node("node1").req(rl{"cpu": "3000", "memory": "0"}).obj(),
				mkPod("e2").node("node2").req(rl{"cpu": "3000", "memory": "5000"}).obj(),
			},
			want: map[string]int64{"node1": 0, "node2": 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSnap(tc.nodes, tc.existing)
			assert.Equal(t, tc.want, scores(t, s, NodeResourcesFit, tc.pod, "node1", "node2"))
		})
	}
}

// Cases from upstream noderesources/balanced_allocation_test.go,
// TestNodeResourcesBalancedAllocation (cpu+memory; makeNode takes millicores).
func TestBalancedAllocationUpstreamCases(t *testing.T) {
	cpuAndMemory := func(name, node string) *v1.Pod {
		return mkPod(name).node(node).milli(1000, 2000).milli(2000, 3000).obj()
	}
	cpuOnly := func(name, node string) *v1.Pod {
		return mkPod(name).node(node).milli(1000, 0).milli(2000, 0).obj()
	}
	tests := []struct {
		name     string
		pod      *v1.Pod
		nodes    []*v1.Node
		existing []*v1.Pod
		want     map[string]int64
	}{
		{
			// node1: cpu 3000/4000, memory 5000/10000 → std 0.125 → 87; node2: 0.5/0.5 → 100.
			name:  "nothing scheduled, resources requested, differently sized nodes",
			pod:   cpuAndMemory("p", ""),
			nodes: []*v1.Node{mkNode("node1").milli(4000, 10000).obj(), mkNode("node2").milli(6000, 10000).obj()},
			want:  map[string]int64{"node1": 87, "node2": 100},
		},
		{
			name:     "resources requested, pods scheduled with resources",
			pod:      cpuAndMemory("p", ""),
			nodes:    []*v1.Node{mkNode("node1").milli(10000, 20000).obj(), mkNode("node2").milli(10000, 20000).obj()},
			existing: []*v1.Pod{cpuOnly("e1", "node1"), cpuAndMemory("e2", "node2")},
			want:     map[string]int64{"node1": 82, "node2": 95},
		},
		{
			name:     "resources requested, pods scheduled with resources, differently sized nodes",
			pod:      cpuAndMemory("p", ""),
			nodes:    []*v1.Node{mkNode("node1").milli(10000, 20000).obj(), mkNode("node2").milli(10000, 50000).obj()},
			existing: []*v1.Pod{cpuOnly("e1", "node1"), cpuAndMemory("e2", "node2")},
			want:     map[string]int64{"node1": 82, "node2": 80},
		},
		{
			name:     "requested resources at node capacity",
			pod:      cpuOnly("p", ""),
			nodes:    []*v1.Node{mkNode("node1").milli(6000, 10000).obj(), mkNode("node2").milli(6000, 10000).obj()},
			existing: []*v1.Pod{cpuOnly("e1", "node1"), cpuAndMemory("e2", "node2")},
			want:     map[string]int64{"node1": 50, "node2": 75},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSnap(tc.nodes, tc.existing)
			assert.Equal(t, tc.want, scores(t, s, NodeResourcesBalancedAllocation, tc.pod, "node1", "node2"))
		})
	}
}

// Upstream's "nothing scheduled, nothing requested, skip in PreScore": a
// best-effort pod is not scored by BalancedAllocation at all.
func TestBalancedAllocationSkipsBestEffort(t *testing.T) {
	s := newSnap([]*v1.Node{mkNode("node1").milli(4000, 10000).obj()}, nil)
	st := balancedAllocation{}.PreScore(NewCycleState(), fw.NewPodInfo(mkPod("p").obj(), 0), s.Nodes())
	assert.True(t, st.IsSkip())
}

// Cases from upstream imagelocality/image_locality_test.go,
// TestImageLocalityPriority (the v1.28+ version: the max threshold scales
// with the number of containers).
func TestImageLocalityUpstreamCases(t *testing.T) {
	const mb = 1024 * 1024
	node1 := func() *nodeB {
		return mkNode("node1").images([]string{"gcr.io/40:latest", "gcr.io/40:v1", "gcr.io/40:v1"}, 40*mb).
			images([]string{"gcr.io/300:latest", "gcr.io/300:v1"}, 300*mb).
			images([]string{"gcr.io/2000:latest"}, 2000*mb)
	}
	node2 := func() *nodeB {
		return mkNode("node2").images([]string{"gcr.io/250:latest"}, 250*mb).images([]string{"gcr.io/10:latest", "gcr.io/10:v1"}, 10*mb)
	}
	tests := []struct {
		name string
		pod  *v1.Pod
		want map[string]int64
	}{
		// node2: 100 * (250M/2 - 23M)/(1000M*2 - 23M) = 5
		{"two images spread on two nodes, prefer the larger image one",
			mkPod("p").containerImage("gcr.io/40").containerImage("gcr.io/250").obj(), map[string]int64{"node1": 0, "node2": 5}},
		// node1: 100 * ((40M + 300M)/2 - 23M)/(1000M*2 - 23M) = 7
		{"two images on one node, prefer this node",
			mkPod("p").containerImage("gcr.io/40").containerImage("gcr.io/300").obj(), map[string]int64{"node1": 7, "node2": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSnap([]*v1.Node{node1().obj(), node2().obj()}, nil)
			assert.Equal(t, tc.want, scores(t, s, ImageLocality, tc.pod, "node1", "node2"))
		})
	}
}

// Cases modelled on upstream noderesources/fit_test.go, TestEnoughRequests
// (node allocatable 10m cpu, 20 bytes memory, 32 pods).
func TestFitFilter(t *testing.T) {
	node := func() *v1.Node {
		n := mkNode("n").milli(10, 20).obj()
		n.Status.Allocatable[v1.ResourcePods] = *n.Status.Allocatable.Pods()
		return n
	}
	tests := []struct {
		name     string
		pod      *v1.Pod
		existing []*v1.Pod
		code     fw.Code
		reasons  []string
	}{
		{"no resources requested always fits", mkPod("p").obj(), []*v1.Pod{mkPod("e").node("n").milli(10, 20).obj()}, fw.Success, nil},
		{"too many resources fails", mkPod("p").milli(1, 1).obj(), []*v1.Pod{mkPod("e").node("n").milli(10, 20).obj()},
			fw.Unschedulable, []string{"Insufficient cpu", "Insufficient memory"}},
		{"only memory short", mkPod("p").milli(1, 1).obj(), []*v1.Pod{mkPod("e").node("n").milli(9, 20).obj()},
			fw.Unschedulable, []string{"Insufficient memory"}},
		{"equal edge case", mkPod("p").milli(5, 19).obj(), []*v1.Pod{mkPod("e").node("n").milli(5, 1).obj()}, fw.Success, nil},
		{"request exceeding the node's capacity is unresolvable", mkPod("p").milli(11, 1).obj(), nil,
			fw.UnschedulableAndUnresolvable, []string{"Insufficient cpu"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSnap([]*v1.Node{node()}, tc.existing)
			st := filter(t, s, NodeResourcesFit, tc.pod)["n"]
			assert.Equal(t, tc.code, st.Code())
			assert.Equal(t, tc.reasons, st.Reasons())
		})
	}

	t.Run("too many pods", func(t *testing.T) {
		n := mkNode("n").milli(1000, 1000).obj()
		n.Status.Allocatable[v1.ResourcePods] = *n.Status.Allocatable.Pods()
		n.Status.Allocatable[v1.ResourcePods] = resourceQ("1")
		s := newSnap([]*v1.Node{n}, []*v1.Pod{mkPod("e").node("n").obj()})
		st := filter(t, s, NodeResourcesFit, mkPod("p").milli(1, 1).obj())["n"]
		require.Equal(t, fw.Unschedulable, st.Code())
		assert.Equal(t, []string{ErrReasonTooManyPods}, st.Reasons())
	})

	t.Run("extended resource", func(t *testing.T) {
		n := mkNode("n").milli(1000, 1000).capacity(rl{"example.com/gpu": "2"}).obj()
		s := newSnap([]*v1.Node{n}, []*v1.Pod{mkPod("e").node("n").req(rl{"example.com/gpu": "1"}).obj()})
		st := filter(t, s, NodeResourcesFit, mkPod("p").req(rl{"example.com/gpu": "2"}).obj())["n"]
		assert.Equal(t, fw.Unschedulable, st.Code())
		assert.Equal(t, []string{"Insufficient example.com/gpu"}, st.Reasons())
	})

	t.Run("init containers and sidecars", func(t *testing.T) {
		// request = max(sum(app) + sidecar, max(init)) : app 2 + sidecar 1 = 3 vs init 5 → 5.
		p := mkPod("p").milli(2, 0).obj()
		always := v1.ContainerRestartPolicyAlways
		p.Spec.InitContainers = []v1.Container{
			{Name: "init", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: *milliQ(5)}}},
			{Name: "sidecar", RestartPolicy: &always, Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: *milliQ(1)}}},
		}
		pi := fw.NewPodInfo(p, 0)
		assert.Equal(t, int64(5), pi.Requests.MilliCPU)
		s := newSnap([]*v1.Node{mkNode("n").milli(4, 100).obj()}, nil)
		assert.Equal(t, []string{"Insufficient cpu"}, filter(t, s, NodeResourcesFit, p)["n"].Reasons())
	})
}
