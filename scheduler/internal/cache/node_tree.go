package cache

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/node/topology"
)

// nodeTree holds the names of the real nodes grouped by zone, in the order
// upstream's pkg/scheduler/backend/cache/node_tree.go keeps them:
//
//	zones:  [z1,        z2,        z3]        zone keys, in the order first seen
//	tree:    z1 → [a, d]  z2 → [b, e, f]  z3 → [c]   names, in the order added
//	list(): a b c d e f                       round robin: the first node of
//	                                          every zone, then the second, …
//
// A zone key is topology.GetZoneKey's region + ":\x00:" + zone (from the
// topology.kubernetes.io labels, the failure-domain.beta ones taking
// precedence), "" for a node with neither. A node whose zone key changes
// moves: it leaves its old zone (the others keep their order) and is
// appended to the new one; a zone left empty is dropped from zones. The
// tree only records membership and order; the cache decides when its node
// list is rebuilt from list().
type nodeTree struct {
	tree     map[string][]string // zone key → node names, in the order added
	zones    []string            // the keys of tree, in the order first seen
	numNodes int                 // the number of names in tree
}

func newNodeTree() *nodeTree {
	return &nodeTree{tree: map[string][]string{}}
}

// addNode appends n to its zone (creating the zone at the end of zones).
// A node already in that zone is left where it is.
func (nt *nodeTree) addNode(n *v1.Node) {
	zone := topology.GetZoneKey(n)
	na, ok := nt.tree[zone]
	if ok {
		for _, name := range na {
			if name == n.Name {
				return
			}
		}
	} else {
		nt.zones = append(nt.zones, zone)
	}
	nt.tree[zone] = append(na, n.Name)
	nt.numNodes++
}

// removeNode removes n from the zone of n's labels, keeping the order of
// the others; an error says n was not there.
func (nt *nodeTree) removeNode(n *v1.Node) error {
	zone := topology.GetZoneKey(n)
	na := nt.tree[zone]
	for i, name := range na {
		if name != n.Name {
			continue
		}
		if len(na) == 1 {
			nt.removeZone(zone)
		} else {
			nt.tree[zone] = append(na[:i], na[i+1:]...)
		}
		nt.numNodes--
		return nil
	}
	return fmt.Errorf("node %q in zone %q was not found", n.Name, zone)
}

func (nt *nodeTree) removeZone(zone string) {
	delete(nt.tree, zone)
	for i, z := range nt.zones {
		if z == zone {
			nt.zones = append(nt.zones[:i], nt.zones[i+1:]...)
			return
		}
	}
}

// updateNode moves a node whose zone key changed from old to cur to the end
// of its new zone; it reports whether it did. As upstream, a missing old
// entry is ignored.
func (nt *nodeTree) updateNode(old, cur *v1.Node) bool {
	if sameZoneLabels(old, cur) {
		return false // the common case (status updates), without allocating
	}
	if topology.GetZoneKey(old) == topology.GetZoneKey(cur) {
		return false
	}
	_ = nt.removeNode(old)
	nt.addNode(cur)
	return true
}

// zoneLabels are the labels topology.GetZoneKey reads.
var zoneLabels = [...]string{
	v1.LabelFailureDomainBetaZone, v1.LabelTopologyZone,
	v1.LabelFailureDomainBetaRegion, v1.LabelTopologyRegion,
}

// sameZoneLabels reports whether a and b carry the same zone and region
// labels (so certainly the same zone key).
func sameZoneLabels(a, b *v1.Node) bool {
	for _, k := range zoneLabels {
		va, oka := a.Labels[k]
		vb, okb := b.Labels[k]
		if oka != okb || va != vb {
			return false
		}
	}
	return true
}

// each calls fn for every node name in list order: the first node of every
// zone (zones in the order first seen), then the second of every zone that
// has one, and so on.
func (nt *nodeTree) each(fn func(name string)) {
	for i, left := 0, nt.numNodes; left > 0; i++ {
		found := false
		for _, z := range nt.zones {
			if na := nt.tree[z]; i < len(na) {
				fn(na[i])
				left--
				found = true
			}
		}
		if !found {
			panic(fmt.Sprintf("scheduler cache: node tree exhausted with %d of %d nodes listed", nt.numNodes-left, nt.numNodes))
		}
	}
}

// list returns the node names in list order (see each).
func (nt *nodeTree) list() []string {
	var out []string
	nt.each(func(name string) { out = append(out, name) })
	return out
}
