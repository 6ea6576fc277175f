package cache

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The cases below are upstream's pkg/scheduler/internal/cache/node_tree_test.go
// (now pkg/scheduler/backend/cache), on the same eleven nodes.

func zoned(name string, kv ...string) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if len(kv) > 0 {
		n.Labels = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
	return n
}

var allNodes = []*v1.Node{
	zoned("node-0"), // no region or zone label
	zoned("node-1", v1.LabelTopologyRegion, "region-1"),
	zoned("node-2", v1.LabelTopologyZone, "zone-2"),
	zoned("node-3", v1.LabelTopologyRegion, "region-1", v1.LabelTopologyZone, "zone-2"),
	zoned("node-4", v1.LabelTopologyRegion, "region-1", v1.LabelTopologyZone, "zone-2"),
	zoned("node-5", v1.LabelTopologyRegion, "region-1", v1.LabelTopologyZone, "zone-3"),
	zoned("node-6", v1.LabelTopologyRegion, "region-2", v1.LabelTopologyZone, "zone-2"),
	zoned("node-7", v1.LabelTopologyRegion, "region-2", v1.LabelTopologyZone, "zone-2"),
	zoned("node-8", v1.LabelTopologyRegion, "region-2", v1.LabelTopologyZone, "zone-2"),
	zoned("node-9", v1.LabelTopologyRegion, "region-2", v1.LabelTopologyZone, "zone-2",
		v1.LabelFailureDomainBetaRegion, "region-2", v1.LabelFailureDomainBetaZone, "zone-2"),
	zoned("node-10", v1.LabelFailureDomainBetaRegion, "region-2", v1.LabelFailureDomainBetaZone, "zone-3"),
}

func treeOf(nodes ...*v1.Node) *nodeTree {
	nt := newNodeTree()
	for _, n := range nodes {
		nt.addNode(n)
	}
	return nt
}

// verifyNodeTree checks the tree, its zone list (in order) and the count.
func verifyNodeTree(t *testing.T, nt *nodeTree, wantZones []string, want map[string][]string) {
	t.Helper()
	num := 0
	for _, na := range want {
		num += len(na)
	}
	assert.Equal(t, num, nt.numNodes, "numNodes")
	assert.Equal(t, want, nt.tree)
	assert.Equal(t, wantZones, nt.zones, "zones in the order first seen")
}

func TestNodeTreeAddNode(t *testing.T) {
	tests := []struct {
		name      string
		add       []*v1.Node
		wantZones []string
		want      map[string][]string
	}{
		{"single node no labels", allNodes[:1], []string{""}, map[string][]string{"": {"node-0"}}},
		{"same node specified twice", []*v1.Node{allNodes[0], allNodes[0]}, []string{""}, map[string][]string{"": {"node-0"}}},
		{
			"mix of nodes with and without proper labels", allNodes[:4],
			[]string{"", "region-1:\x00:", ":\x00:zone-2", "region-1:\x00:zone-2"},
			map[string][]string{
				"": {"node-0"}, "region-1:\x00:": {"node-1"}, ":\x00:zone-2": {"node-2"}, "region-1:\x00:zone-2": {"node-3"},
			},
		},
		{
			"some zones with multiple nodes", allNodes[:7],
			[]string{"", "region-1:\x00:", ":\x00:zone-2", "region-1:\x00:zone-2", "region-1:\x00:zone-3", "region-2:\x00:zone-2"},
			map[string][]string{
				"": {"node-0"}, "region-1:\x00:": {"node-1"}, ":\x00:zone-2": {"node-2"},
				"region-1:\x00:zone-2": {"node-3", "node-4"}, "region-1:\x00:zone-3": {"node-5"}, "region-2:\x00:zone-2": {"node-6"},
			},
		},
		{
			"nodes also using the deprecated zone/region labels", allNodes[9:],
			[]string{"region-2:\x00:zone-2", "region-2:\x00:zone-3"},
			map[string][]string{"region-2:\x00:zone-2": {"node-9"}, "region-2:\x00:zone-3": {"node-10"}},
		},
		{
			// GetZoneKey reads the beta labels first.
			"beta labels take precedence",
			[]*v1.Node{zoned("x", v1.LabelTopologyZone, "ga", v1.LabelFailureDomainBetaZone, "beta")},
			[]string{":\x00:beta"}, map[string][]string{":\x00:beta": {"x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verifyNodeTree(t, treeOf(tt.add...), tt.wantZones, tt.want)
		})
	}
}

func TestNodeTreeRemoveNode(t *testing.T) {
	tests := []struct {
		name      string
		existing  []*v1.Node
		remove    []*v1.Node
		wantZones []string
		want      map[string][]string
		wantErr   bool
	}{
		{
			"remove a single node with no labels", allNodes[:7], allNodes[:1],
			[]string{"region-1:\x00:", ":\x00:zone-2", "region-1:\x00:zone-2", "region-1:\x00:zone-3", "region-2:\x00:zone-2"},
			map[string][]string{
				"region-1:\x00:": {"node-1"}, ":\x00:zone-2": {"node-2"}, "region-1:\x00:zone-2": {"node-3", "node-4"},
				"region-1:\x00:zone-3": {"node-5"}, "region-2:\x00:zone-2": {"node-6"},
			},
			false,
		},
		{
			"remove a few nodes including one from a zone with multiple nodes", allNodes[:7], allNodes[1:4],
			[]string{"", "region-1:\x00:zone-2", "region-1:\x00:zone-3", "region-2:\x00:zone-2"},
			map[string][]string{
				"": {"node-0"}, "region-1:\x00:zone-2": {"node-4"}, "region-1:\x00:zone-3": {"node-5"}, "region-2:\x00:zone-2": {"node-6"},
			},
			false,
		},
		{"remove all nodes", allNodes[:7], allNodes[:7], []string{}, map[string][]string{}, false},
		{"remove non-existing node", nil, allNodes[:5], nil, map[string][]string{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nt := treeOf(tt.existing...)
			for _, n := range tt.remove {
				err := nt.removeNode(n)
				if tt.wantErr {
					assert.Error(t, err, n.Name)
				} else {
					assert.NoError(t, err, n.Name)
				}
			}
			verifyNodeTree(t, nt, tt.wantZones, tt.want)
		})
	}
}

func TestNodeTreeUpdateNode(t *testing.T) {
	moved := zoned("node-0", v1.LabelTopologyRegion, "region-1", v1.LabelTopologyZone, "zone-2")
	tests := []struct {
		name      string
		existing  []*v1.Node
		old, cur  *v1.Node
		wantMoved bool
		wantZones []string
		want      map[string][]string
	}{
		{
			"update a node without label", allNodes[:7], allNodes[0], moved, true,
			// node-0's zone "" is emptied and dropped; node-0 goes last in its new zone.
			[]string{"region-1:\x00:", ":\x00:zone-2", "region-1:\x00:zone-2", "region-1:\x00:zone-3", "region-2:\x00:zone-2"},
			map[string][]string{
				"region-1:\x00:": {"node-1"}, ":\x00:zone-2": {"node-2"}, "region-1:\x00:zone-2": {"node-3", "node-4", "node-0"},
				"region-1:\x00:zone-3": {"node-5"}, "region-2:\x00:zone-2": {"node-6"},
			},
		},
		{
			"update the only existing node", allNodes[:1], allNodes[0], moved, true,
			[]string{"region-1:\x00:zone-2"}, map[string][]string{"region-1:\x00:zone-2": {"node-0"}},
		},
		{
			"update non-existing node", allNodes[:1], zoned("nonexisting-node"),
			zoned("node-new", v1.LabelTopologyRegion, "region-1", v1.LabelTopologyZone, "zone-2"), true,
			[]string{"", "region-1:\x00:zone-2"},
			map[string][]string{"": {"node-0"}, "region-1:\x00:zone-2": {"node-new"}},
		},
		{
			"same zone key: nothing moves", allNodes[3:5], allNodes[3],
			zoned("node-3", v1.LabelTopologyRegion, "region-1", v1.LabelTopologyZone, "zone-2", "other", "label"), false,
			[]string{"region-1:\x00:zone-2"}, map[string][]string{"region-1:\x00:zone-2": {"node-3", "node-4"}},
		},
		{
			"other labels, same zone key: nothing moves", allNodes[9:10], allNodes[9],
			zoned("node-9", v1.LabelTopologyRegion, "region-2", v1.LabelTopologyZone, "zone-2"), false,
			[]string{"region-2:\x00:zone-2"}, map[string][]string{"region-2:\x00:zone-2": {"node-9"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nt := treeOf(tt.existing...)
			assert.Equal(t, tt.wantMoved, nt.updateNode(tt.old, tt.cur))
			verifyNodeTree(t, nt, tt.wantZones, tt.want)
		})
	}
}

func TestNodeTreeList(t *testing.T) {
	tests := []struct {
		name string
		add  []*v1.Node
		want []string
	}{
		{"empty tree", nil, nil},
		{"one node", allNodes[:1], []string{"node-0"}},
		{"four nodes", allNodes[:4], []string{"node-0", "node-1", "node-2", "node-3"}},
		{"all nodes", allNodes[:9], []string{"node-0", "node-1", "node-2", "node-3", "node-5", "node-6", "node-4", "node-7", "node-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, treeOf(tt.add...).list())
		})
	}
}

func TestNodeTreeListExhausted(t *testing.T) {
	nt := treeOf(allNodes[:9]...)
	nt.numNodes++
	assert.Panics(t, func() { nt.list() }, "a count the zones cannot fill is a bug")
}

func TestNodeTreeMultiOperations(t *testing.T) {
	tests := []struct {
		name   string
		add    []*v1.Node
		remove []*v1.Node
		ops    string // a: add the next of add, r: remove the next of remove
		want   []string
	}{
		{"add and remove all nodes", allNodes[2:9], allNodes[2:9], "aaarrr", nil},
		{"add and remove some nodes", allNodes[2:9], allNodes[2:9], "aaar", []string{"node-3", "node-4"}},
		{"remove three nodes", allNodes[2:9], allNodes[2:9], "aaarrra", []string{"node-5"}},
		{
			"add more nodes to an exhausted zone", append(allNodes[4:9:9], allNodes[3]), nil, "aaaaaa",
			[]string{"node-4", "node-5", "node-6", "node-3", "node-7", "node-8"},
		},
		{"remove zone and add new", append(allNodes[3:5:5], allNodes[6:8]...), allNodes[3:5], "aaraar", []string{"node-6", "node-7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nt := newNodeTree()
			add, remove := tt.add, tt.remove
			for _, op := range tt.ops {
				switch op {
				case 'a':
					require.NotEmpty(t, add, "more adds than nodes to add")
					nt.addNode(add[0])
					add = add[1:]
				case 'r':
					require.NotEmpty(t, remove, "more removes than nodes to remove")
					require.NoError(t, nt.removeNode(remove[0]))
					remove = remove[1:]
				}
			}
			assert.Equal(t, tt.want, nt.list())
		})
	}
}

// TestCacheNodesFollowTree checks the cache's node list: the tree's order,
// rebuilt after an add or remove but not after a zone change alone (as
// upstream's UpdateSnapshot), and never rebuilt while nothing changed.
func TestCacheNodesFollowTree(t *testing.T) {
	inZone := func(name, zone string) *v1.Node {
		n := node(name)
		n.Labels = map[string]string{v1.LabelTopologyZone: zone}
		return n
	}
	names := func(c *Cache) []string {
		var out []string
		for _, n := range c.Nodes() {
			out = append(out, n.Name)
		}
		return out
	}
	c := New(0)
	for _, n := range []*v1.Node{inZone("a1", "a"), inZone("a2", "a"), inZone("b1", "b"), inZone("c1", "c"), inZone("b2", "b")} {
		c.AddNode(n)
	}
	assert.Equal(t, []string{"a1", "b1", "c1", "a2", "b2"}, names(c))
	first := c.Nodes()
	assert.Same(t, &first[0], &c.Nodes()[0], "no rebuild without a change")

	// a1 moves to zone c: the tree changes at once, the list at the next add.
	c.UpdateNode(inZone("a1", "c"))
	assert.Equal(t, []string{"a2", "b1", "c1", "b2", "a1"}, c.tree.list())
	assert.Equal(t, []string{"a1", "b1", "c1", "a2", "b2"}, names(c), "a zone change alone keeps the list")
	c.AddNode(inZone("d1", "d"))
	assert.Equal(t, []string{"a2", "b1", "c1", "d1", "b2", "a1"}, names(c))

	// Removing keeps the others' order; an emptied zone goes.
	c.RemoveNode("b1")
	c.RemoveNode("d1")
	assert.Equal(t, []string{"a2", "b2", "c1", "a1"}, names(c))

	// A node removed and re-added goes to the end of its zone.
	c.RemoveNode("c1")
	c.AddNode(inZone("c1", "c"))
	assert.Equal(t, []string{"a2", "b2", "a1", "c1"}, names(c))
}

func TestSameZoneLabels(t *testing.T) {
	for i, a := range allNodes {
		for j, b := range allNodes {
			if sameZoneLabels(a, b) {
				assert.Equal(t, zoneKeyOf(a), zoneKeyOf(b), fmt.Sprintf("%d vs %d", i, j))
			}
		}
		assert.True(t, sameZoneLabels(a, a))
	}
	assert.False(t, sameZoneLabels(allNodes[3], allNodes[5]))
}

func zoneKeyOf(n *v1.Node) string { return treeOf(n).zones[0] }

// The per-cycle path allocates nothing: Nodes() without a node add or
// remove, and a node update that keeps the zone (a status heartbeat).
func TestNodesAndSameZoneUpdateDoNotAllocate(t *testing.T) {
	c := New(0)
	for i := 0; i < 300; i++ {
		n := node(fmt.Sprintf("n-%03d", i))
		n.Labels = map[string]string{v1.LabelTopologyZone: fmt.Sprintf("z%d", i%3)}
		c.AddNode(n)
	}
	require.Len(t, c.Nodes(), 300)
	hb := c.Get("n-007").Node.DeepCopy()
	hb.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = c.Nodes() }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { c.tree.updateNode(c.Get("n-007").Node, hb) }))
	c.UpdateNode(hb)
	assert.False(t, c.listStale, "a same-zone update does not mark the list for a rebuild")
}
