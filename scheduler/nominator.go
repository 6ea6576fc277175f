package scheduler

import (
	"sort"

	"k8s.io/apimachinery/pkg/types"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// nominator remembers which unscheduled pods are nominated to which node
// (status.nominatedNodeName, set after a successful preemption), so that
// filtering for other pods of lower or equal priority accounts for them.
type nominator struct {
	byPod  map[types.UID]string
	byNode map[string][]*fw.PodInfo
}

func (n *nominator) init() {
	n.byPod = map[types.UID]string{}
	n.byNode = map[string][]*fw.PodInfo{}
}

// fromStatus records the nomination carried by the pod's status.
func (n *nominator) fromStatus(pi *fw.PodInfo) {
	n.set(pi, pi.Pod.Status.NominatedNodeName)
}

// set nominates pi to node ("" clears the nomination).
func (n *nominator) set(pi *fw.PodInfo, node string) {
	n.remove(pi.UID)
	if node == "" {
		return
	}
	n.byPod[pi.UID] = node
	list := append(n.byNode[node], pi)
	sort.SliceStable(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	n.byNode[node] = list
}

func (n *nominator) remove(uid types.UID) {
	node, ok := n.byPod[uid]
	if !ok {
		return
	}
	delete(n.byPod, uid)
	list := n.byNode[node]
	for i, p := range list {
		if p.UID == uid {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(n.byNode, node)
	} else {
		n.byNode[node] = list
	}
}

// node returns the node pod uid is nominated to.
func (n *nominator) node(uid types.UID) string { return n.byPod[uid] }

// podsFor lists the pods nominated to node, ordered by key.
func (n *nominator) podsFor(node string) []*fw.PodInfo {
	if len(n.byNode) == 0 {
		return nil // the common case, checked before the name is hashed
	}
	return n.byNode[node]
}
