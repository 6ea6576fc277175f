package scheduler

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
)

// zonedNodes adds perZone nodes to each zone, named zone-000, zone-001, …,
// in name order (the order the node informer's initial list delivers them)
// and returns upstream's nodeTree order for them: the first node of each
// zone, then the second, and so on.
func zonedNodes(e *env, perZone int, zones ...string) []string {
	var order []string
	for _, z := range zones {
		for i := 0; i < perZone; i++ {
			e.addNodes(node(fmt.Sprintf("%s-%03d", z, i), "4", "8Gi", withLabels(v1.LabelTopologyZone, z)))
		}
	}
	for i := 0; i < perZone; i++ {
		for _, z := range zones {
			order = append(order, fmt.Sprintf("%s-%03d", z, i))
		}
	}
	return order
}

// A cycle examines nodes in upstream's nodeTree order (round robin over
// zones), from nextStartNodeIndex: at 300 nodes in three zones the 144 nodes
// one cycle examines come from every zone, 48 each (in name order they would
// be a-000…b-043, no node of zone c), and the next cycle starts where it
// stopped, in the same interleaved order.
func TestCycleExaminesNodesInNodeTreeOrder(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	order := zonedNodes(e, 100, "a", "b", "c")
	e.addPods(pod("p", "100m", ""))
	e.settle()

	a, ok := e.s.Explain("default", "p")
	require.True(t, ok)
	require.Equal(t, 300, a.NumNodes)
	require.Equal(t, 144, a.NumToFind, "max(50 - 300/125, 5)% of 300")
	assert.Equal(t, 0, a.StartIndex)
	assert.Equal(t, 144, a.Examined)
	require.Len(t, a.Scores, 144, "every node fits: the examined nodes are the scored ones")
	perZone := map[string]int{}
	scored := map[string]bool{}
	for _, s := range a.Scores {
		perZone[s.Node[:1]]++
		scored[s.Node] = true
	}
	assert.Equal(t, map[string]int{"a": 48, "b": 48, "c": 48}, perZone)
	for _, name := range order[:144] {
		assert.True(t, scored[name], "%s is among the first 144 in nodeTree order", name)
	}

	// A pod that fits nowhere: every node is examined, from index 144, and
	// the explain record lists the rejections in examination order.
	e.addPods(pod("big", "8", ""))
	e.settle()
	b, ok := e.s.Explain("default", "big")
	require.True(t, ok)
	assert.Equal(t, 144, b.StartIndex)
	assert.Equal(t, 300, b.Examined)
	require.Len(t, b.Filtered, 300)
	got := make([]string, len(b.Filtered))
	for i, f := range b.Filtered {
		got[i] = f.Node
	}
	assert.Equal(t, []string{"a-048", "b-048", "c-048", "a-049", "b-049", "c-049"}, got[:6])
	assert.Equal(t, append(append([]string{}, order[144:]...), order[:144]...), got, "wrapping round")
}

// Nodes added later go to the end of their zone; a new zone is appended to
// the zone list; the list seen by the next cycle follows.
func TestCycleNodeOrderAfterAddAndRemove(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	zonedNodes(e, 2, "b", "a") // b first: zones in the order first seen, not sorted
	e.addNodes(node("a-zzz", "4", "8Gi", withLabels(v1.LabelTopologyZone, "a")),
		node("c-000", "4", "8Gi", withLabels(v1.LabelTopologyZone, "c")),
		node("plain", "4", "8Gi"))
	e.s.OnNodeDelete(node("b-000", "4", "8Gi", withLabels(v1.LabelTopologyZone, "b")))
	e.addPods(pod("big", "8", ""))
	e.settle()
	b, ok := e.s.Explain("default", "big")
	require.True(t, ok)
	var got []string
	for _, f := range b.Filtered {
		got = append(got, f.Node)
	}
	assert.Equal(t, []string{"b-001", "a-000", "c-000", "plain", "a-001", "a-zzz"}, got)
}

// Preemption dry-runs the potential nodes in the same nodeTree order as the
// cycle (upstream's DryRunPreemption walks the snapshot's NodeInfo list),
// from the seeded offset.
func TestPreemptionWalksNodeTreeOrder(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	order := zonedNodes(e, 2, "a", "b", "c")
	for _, n := range order {
		e.addPods(pod("low-"+n, "4", "", priority(1), onNode(n)))
	}
	e.addPods(pod("vip", "4", "", priority(10)))
	e.eng.RunFor(0)
	a, ok := e.s.Explain("default", "vip")
	require.True(t, ok)
	require.NotNil(t, a.Preemption)
	p := a.Preemption
	require.Equal(t, 6, p.PotentialNodes)
	require.Equal(t, 6, p.DryRunNodes, "fewer than 100 potential nodes: all are dry-run")
	var got []string
	for _, c := range p.Candidates {
		got = append(got, c.Node)
	}
	want := append(append([]string{}, order[p.Offset:]...), order[:p.Offset]...)
	assert.Equal(t, want, got, "candidates in nodeTree order from offset %d", p.Offset)
	assert.Equal(t, want[0], p.Node, "equal candidates: the first in that order wins")
	assert.True(t, strings.HasPrefix(p.Victims[0], "default/low-"))
}
