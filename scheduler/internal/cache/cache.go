package cache

import (
	"fmt"
	"slices"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// Cache holds the NodeInfos and the state of every pod the scheduler knows
// on a node. Illegal transitions (assuming a pod twice, forgetting a pod that
// is not assumed) panic: they are scheduler bugs, not user input.
type Cache struct {
	nodes map[string]*fw.NodeInfo
	// tree orders the real nodes (Node != nil) as upstream's nodeTree.
	tree *nodeTree
	// list is the real nodes in tree order as of the last node add or
	// remove (listStale: not rebuilt yet); see Nodes.
	list      []*fw.NodeInfo
	listStale bool
	pods      map[types.UID]*podState
	// imageNodes counts, per normalised image name, the nodes that have it.
	imageNodes map[string]int
	// affinityPods / antiAffinityPods count pods with (required anti-)affinity
	// on real nodes, so plugins can skip whole-cluster scans when zero.
	affinityPods, antiAffinityPods int
	ttl                            time.Duration
	generation                     int64
}

type podState struct {
	pi              *fw.PodInfo
	node            string
	assumed         bool
	bindingFinished bool
	deadline        time.Duration
}

// New returns an empty cache. ttl is how long an assumed pod whose binding
// finished may wait for the informer to confirm it before it is expired;
// 0 means never (upstream's default since v1.29).
func New(ttl time.Duration) *Cache {
	return &Cache{
		nodes:      map[string]*fw.NodeInfo{},
		tree:       newNodeTree(),
		pods:       map[types.UID]*podState{},
		imageNodes: map[string]int{},
		ttl:        ttl,
	}
}

// Generation increases on every change of nodes or pods.
func (c *Cache) Generation() int64 { return c.generation }

// Nodes returns the real nodes in upstream's snapshot order: the node
// tree's round robin over zones (nodeTree). As upstream's UpdateSnapshot,
// the list is rebuilt only after a node was added or removed — at the first
// call after the change, O(nodes) — so a node that changed zone keeps its
// place until the next add or remove. The slice is owned by the cache and
// valid until the next node add or remove (a rebuild reuses its array).
func (c *Cache) Nodes() []*fw.NodeInfo {
	if c.listStale {
		c.rebuildList()
	}
	return c.list
}

// rebuildList is upstream's updateNodeInfoSnapshotList(updateAll=true).
func (c *Cache) rebuildList() {
	list := slices.Grow(c.list[:0], c.tree.numNodes)
	c.tree.each(func(name string) {
		n := c.nodes[name]
		if n == nil || n.Node == nil {
			panic(fmt.Sprintf("scheduler cache: node %s is in the node tree but not in the cache", name))
		}
		list = append(list, n)
	})
	if len(c.list) > len(list) {
		clear(c.list[len(list):]) // drop removed nodes (same array or the old one)
	}
	c.list, c.listStale = list, false
}

// Get returns the NodeInfo of a real node, or nil.
func (c *Cache) Get(name string) *fw.NodeInfo {
	n := c.nodes[name]
	if n == nil || n.Node == nil {
		return nil
	}
	return n
}

// ImageNumNodes is the number of nodes that have the (normalised) image.
func (c *Cache) ImageNumNodes(image string) int { return c.imageNodes[image] }

// HaveAffinityPods reports whether any pod on a node has pod (anti-)affinity.
func (c *Cache) HaveAffinityPods() bool { return c.affinityPods > 0 }

// HaveRequiredAntiAffinityPods reports whether any pod on a node has
// required anti-affinity.
func (c *Cache) HaveRequiredAntiAffinityPods() bool { return c.antiAffinityPods > 0 }

// AddNode adds a node (or fills in a ghost entry that already holds pods).
func (c *Cache) AddNode(node *v1.Node) {
	n, ok := c.nodes[node.Name]
	if ok && n.Node != nil {
		c.UpdateNode(node)
		return
	}
	if !ok {
		n = fw.NewNodeInfo(node.Name)
		c.nodes[node.Name] = n
	}
	n.SetNode(node)
	c.addImages(n)
	c.tree.addNode(node)
	c.listStale = true
	c.countPods(n, 1)
	c.generation++
}

// UpdateNode installs a new version of a known node. A changed zone moves
// the node in the node tree (upstream nodeTree.updateNode) without marking
// the node list for a rebuild, as upstream's UpdateSnapshot.
func (c *Cache) UpdateNode(node *v1.Node) {
	n, ok := c.nodes[node.Name]
	if !ok || n.Node == nil {
		c.AddNode(node)
		return
	}
	c.tree.updateNode(n.Node, node)
	c.removeImages(n)
	n.SetNode(node)
	c.addImages(n)
	c.generation++
}

// RemoveNode removes a node. Pods still accounted on it stay in a ghost
// entry until their own delete events arrive, as upstream does.
func (c *Cache) RemoveNode(name string) {
	n, ok := c.nodes[name]
	if !ok || n.Node == nil {
		return
	}
	c.removeImages(n)
	if err := c.tree.removeNode(n.Node); err != nil {
		panic("scheduler cache: " + err.Error())
	}
	c.listStale = true
	c.countPods(n, -1)
	n.Node = nil
	n.Images = nil
	if len(n.Pods) == 0 {
		delete(c.nodes, name)
	}
	c.generation++
}

func (c *Cache) countPods(n *fw.NodeInfo, sign int) {
	c.affinityPods += sign * len(n.PodsWithAffinity)
	c.antiAffinityPods += sign * len(n.PodsWithRequiredAntiAffinity)
}

func (c *Cache) addImages(n *fw.NodeInfo) {
	for name := range n.Images {
		c.imageNodes[name]++
	}
}

func (c *Cache) removeImages(n *fw.NodeInfo) {
	for name := range n.Images {
		if c.imageNodes[name]--; c.imageNodes[name] <= 0 {
			delete(c.imageNodes, name)
		}
	}
}

func (c *Cache) nodeFor(name string) *fw.NodeInfo {
	n, ok := c.nodes[name]
	if !ok {
		n = fw.NewNodeInfo(name)
		c.nodes[name] = n
	}
	return n
}

func (c *Cache) addToNode(pi *fw.PodInfo, node string) {
	n := c.nodeFor(node)
	n.AddPod(pi)
	if n.Node != nil {
		if pi.HasAffinity() {
			c.affinityPods++
		}
		if pi.HasRequiredAntiAffinity() {
			c.antiAffinityPods++
		}
	}
	c.generation++
}

func (c *Cache) removeFromNode(pi *fw.PodInfo, node string) {
	n := c.nodes[node]
	if n == nil {
		panic(fmt.Sprintf("scheduler cache: pod %s accounted on unknown node %s", pi.Key, node))
	}
	n.RemovePod(pi)
	if n.Node != nil {
		if pi.HasAffinity() {
			c.affinityPods--
		}
		if pi.HasRequiredAntiAffinity() {
			c.antiAffinityPods--
		}
	} else if len(n.Pods) == 0 {
		delete(c.nodes, node)
	}
	c.generation++
}

// AssumePod accounts pi on node before the binding is confirmed.
func (c *Cache) AssumePod(pi *fw.PodInfo, node string) {
	if ps, ok := c.pods[pi.UID]; ok {
		panic(fmt.Sprintf("scheduler cache: assuming pod %s that is already in the cache (node %s, assumed %v)", pi.Key, ps.node, ps.assumed))
	}
	c.addToNode(pi, node)
	c.pods[pi.UID] = &podState{pi: pi, node: node, assumed: true}
}

// FinishBinding starts the expiry clock of an assumed pod (only relevant
// when the cache was created with a TTL).
func (c *Cache) FinishBinding(uid types.UID, now time.Duration) {
	ps, ok := c.pods[uid]
	if !ok || !ps.assumed {
		return
	}
	ps.bindingFinished = true
	ps.deadline = now + c.ttl
}

// ForgetPod removes an assumed pod whose binding failed and returns its info.
func (c *Cache) ForgetPod(uid types.UID) *fw.PodInfo {
	ps, ok := c.pods[uid]
	if !ok || !ps.assumed {
		panic(fmt.Sprintf("scheduler cache: forgetting pod %s that is not assumed", uid))
	}
	c.removeFromNode(ps.pi, ps.node)
	delete(c.pods, uid)
	return ps.pi
}

// AddPod records a pod the informer reports on a node. An assumed pod is
// confirmed (and moved if it landed elsewhere); a known pod is updated.
func (c *Cache) AddPod(pi *fw.PodInfo) {
	node := pi.Pod.Spec.NodeName
	if ps, ok := c.pods[pi.UID]; ok {
		c.removeFromNode(ps.pi, ps.node)
		c.addToNode(pi, node)
		ps.pi, ps.node, ps.assumed, ps.bindingFinished = pi, node, false, false
		return
	}
	c.addToNode(pi, node)
	c.pods[pi.UID] = &podState{pi: pi, node: node}
}

// RemovePod removes a pod from wherever it is accounted and returns its last
// info and node; ok is false when the cache did not have it.
func (c *Cache) RemovePod(uid types.UID) (pi *fw.PodInfo, node string, ok bool) {
	ps, ok := c.pods[uid]
	if !ok {
		return nil, "", false
	}
	c.removeFromNode(ps.pi, ps.node)
	delete(c.pods, uid)
	return ps.pi, ps.node, true
}

// IsAssumed reports whether the pod is assumed and not yet confirmed.
func (c *Cache) IsAssumed(uid types.UID) bool {
	ps, ok := c.pods[uid]
	return ok && ps.assumed
}

// PodNode returns the node a pod is accounted on.
func (c *Cache) PodNode(uid types.UID) (string, bool) {
	ps, ok := c.pods[uid]
	if !ok {
		return "", false
	}
	return ps.node, true
}

// PodInfo returns the cached info of a pod on a node, or nil.
func (c *Cache) PodInfo(uid types.UID) *fw.PodInfo {
	if ps, ok := c.pods[uid]; ok {
		return ps.pi
	}
	return nil
}

// NumPods is the number of pods accounted on nodes (assumed included).
func (c *Cache) NumPods() int { return len(c.pods) }

// Cleanup expires assumed pods whose binding finished more than the TTL ago
// and returns them, sorted by UID for determinism.
func (c *Cache) Cleanup(now time.Duration) []*fw.PodInfo {
	if c.ttl <= 0 {
		return nil
	}
	var expired []*fw.PodInfo
	for uid, ps := range c.pods {
		if ps.assumed && ps.bindingFinished && now >= ps.deadline {
			expired = append(expired, ps.pi)
			_ = uid
		}
	}
	sort.Slice(expired, func(i, j int) bool { return expired[i].UID < expired[j].UID })
	for _, pi := range expired {
		c.RemovePod(pi.UID)
	}
	return expired
}
