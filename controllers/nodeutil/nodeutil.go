package nodeutil

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-helpers/node/topology"

	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
)

// PodNodeNameIndex is the name of the pod informer index by spec.nodeName
// (upstream controller.PodNodeNameKeyIndex).
const PodNodeNameIndex = "spec.nodeName"

// UpdateTaintRetries bounds the read-modify-write attempts of a taint or
// label change that keeps hitting conflicts (upstream UpdateTaintBackoff has
// 5 steps).
const UpdateTaintRetries = 5

// AddPodNodeNameIndexer adds the spec.nodeName index to a pod informer unless
// it is there already (upstream controller.AddPodNodeNameIndexer).
func AddPodNodeNameIndexer(pods *informer.Informer) error {
	if _, ok := pods.GetIndexer().GetIndexers()[PodNodeNameIndex]; ok {
		return nil
	}
	// The index values of a node, one read-only slice per node name seen: the
	// indexer calls this on both versions of every pod update.
	vals := map[string][]string{}
	return pods.AddIndexers(cache.Indexers{PodNodeNameIndex: func(obj any) ([]string, error) {
		pod, ok := obj.(*v1.Pod)
		if !ok || pod.Spec.NodeName == "" {
			return nil, nil
		}
		v, ok := vals[pod.Spec.NodeName]
		if !ok {
			v = []string{pod.Spec.NodeName}
			vals[pod.Spec.NodeName] = v
		}
		return v, nil
	}})
}

// PodsAssignedToNode returns the cached pods bound to nodeName, in key
// order. The pods are shared cache objects: never modify them.
func PodsAssignedToNode(pods cache.Indexer, nodeName string) ([]*v1.Pod, error) {
	objs, err := pods.ByIndex(PodNodeNameIndex, nodeName)
	if err != nil {
		return nil, err
	}
	out := make([]*v1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*v1.Pod); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// GetNodeCondition returns the index and a pointer to the condition of type
// t in status, or (-1, nil).
func GetNodeCondition(status *v1.NodeStatus, t v1.NodeConditionType) (int, *v1.NodeCondition) {
	if status == nil {
		return -1, nil
	}
	for i := range status.Conditions {
		if status.Conditions[i].Type == t {
			return i, &status.Conditions[i]
		}
	}
	return -1, nil
}

// IsNodeReady reports whether the node's Ready condition is True.
func IsNodeReady(node *v1.Node) bool {
	_, c := GetNodeCondition(&node.Status, v1.NodeReady)
	return c != nil && c.Status == v1.ConditionTrue
}

// ZoneKey is the zone a node belongs to for the node lifecycle controller:
// upstream's topology.GetZoneKey (region and zone labels joined; "" for a
// node with neither).
func ZoneKey(node *v1.Node) string { return topology.GetZoneKey(node) }

// ZoneName renders a ZoneKey for people: "region/zone", "zone" when there is
// no region, `""` for the zone of unlabelled nodes.
func ZoneName(key string) string {
	if key == "" {
		return `""`
	}
	region, zone, _ := strings.Cut(key, ":\x00:")
	if region == "" {
		return zone
	}
	return region + "/" + zone
}

// TaintExists reports whether taints holds a taint with t's key and effect.
func TaintExists(taints []v1.Taint, t *v1.Taint) bool {
	for i := range taints {
		if taints[i].MatchTaint(t) {
			return true
		}
	}
	return false
}

// TaintKeyExists reports whether taints holds a taint with key.
func TaintKeyExists(taints []v1.Taint, key string) bool {
	for i := range taints {
		if taints[i].Key == key {
			return true
		}
	}
	return false
}

// TaintSetDiff returns the taints of want missing from have and the taints
// of have missing from want, comparing key and effect (upstream
// taints.TaintSetDiff).
func TaintSetDiff(want, have []v1.Taint) (toAdd, toRemove []*v1.Taint) {
	for i := range want {
		if !TaintExists(have, &want[i]) {
			toAdd = append(toAdd, &want[i])
		}
	}
	for i := range have {
		if !TaintExists(want, &have[i]) {
			toRemove = append(toRemove, &have[i])
		}
	}
	return toAdd, toRemove
}

// applyTaints returns node's taints with add applied (a taint with the same
// key and effect is replaced unless semantically equal, as
// taints.AddOrUpdateTaint) and remove taken out (by key and effect), and the
// taints that actually changed.
func applyTaints(cur []v1.Taint, add, remove []*v1.Taint) (next []v1.Taint, added, removed []v1.Taint) {
	next = append([]v1.Taint(nil), cur...)
	for _, t := range add {
		found := false
		for i := range next {
			if next[i].MatchTaint(t) {
				found = true
				if !apiequality.Semantic.DeepEqual(*t, next[i]) {
					next[i] = *t
					added = append(added, *t)
				}
				break
			}
		}
		if !found {
			next = append(next, *t)
			added = append(added, *t)
		}
	}
	for _, t := range remove {
		for i := range next {
			if next[i].MatchTaint(t) {
				removed = append(removed, next[i])
				next = append(next[:i], next[i+1:]...)
				break
			}
		}
	}
	return next, added, removed
}

// SwapNodeControllerTaint adds taintsToAdd (stamped with timeAdded) and
// removes taintsToRemove in one write, re-reading the node and retrying on
// conflicts. It returns the taints that were actually added and removed.
//
// Upstream's SwapNodeControllerTaint issues two writes (add, then remove);
// kubesim makes the swap one atomic update, so the node is never seen with
// both or neither of the not-ready / unreachable taints.
func SwapNodeControllerTaint(ctx context.Context, c client.Interface, taintsToAdd, taintsToRemove []*v1.Taint, nodeName string, timeAdded metav1.Time) (added, removed []v1.Taint, err error) {
	add := make([]*v1.Taint, 0, len(taintsToAdd))
	for _, t := range taintsToAdd {
		cp := *t
		ta := timeAdded
		cp.TimeAdded = &ta
		add = append(add, &cp)
	}
	return updateNodeTaints(ctx, c, nodeName, add, taintsToRemove)
}

// RemoveTaintOffNode removes taints (matched by key and effect) from the
// node. When node (a cached copy) is given and carries none of them, it does
// nothing, as upstream's controller.RemoveTaintOffNode.
func RemoveTaintOffNode(ctx context.Context, c client.Interface, nodeName string, node *v1.Node, taints ...*v1.Taint) ([]v1.Taint, error) {
	if len(taints) == 0 {
		return nil, nil
	}
	if node != nil {
		any := false
		for _, t := range taints {
			if TaintExists(node.Spec.Taints, t) {
				any = true
				break
			}
		}
		if !any {
			return nil, nil
		}
	}
	_, removed, err := updateNodeTaints(ctx, c, nodeName, nil, taints)
	return removed, err
}

func updateNodeTaints(ctx context.Context, c client.Interface, nodeName string, add, remove []*v1.Taint) (added, removed []v1.Taint, err error) {
	nodes := c.CoreV1().Nodes()
	for attempt := 0; attempt < UpdateTaintRetries; attempt++ {
		node, err := nodes.Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return nil, nil, err
		}
		next, a, r := applyTaints(node.Spec.Taints, add, remove)
		if len(a) == 0 && len(r) == 0 {
			return nil, nil, nil
		}
		node.Spec.Taints = next
		if _, err = nodes.Update(ctx, node, metav1.UpdateOptions{}); err == nil {
			return a, r, nil
		}
		if !apierrors.IsConflict(err) {
			return nil, nil, err
		}
	}
	return nil, nil, fmt.Errorf("updating taints of node %s: %d conflicts in a row", nodeName, UpdateTaintRetries)
}

// AddOrUpdateLabelsOnNode sets labels on the node, re-reading it and
// retrying on conflicts.
func AddOrUpdateLabelsOnNode(ctx context.Context, c client.Interface, nodeName string, labels map[string]string) error {
	nodes := c.CoreV1().Nodes()
	for attempt := 0; attempt < UpdateTaintRetries; attempt++ {
		node, err := nodes.Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		for k, v := range labels {
			node.Labels[k] = v
		}
		if _, err = nodes.Update(ctx, node, metav1.UpdateOptions{}); err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return err
		}
	}
	return fmt.Errorf("updating labels of node %s: %d conflicts in a row", nodeName, UpdateTaintRetries)
}

// UpdatePodCondition sets condition in status (upstream
// pkg/api/v1/pod.UpdatePodCondition): the transition time is now unless the
// status is unchanged, and it reports whether anything changed.
func UpdatePodCondition(status *v1.PodStatus, condition *v1.PodCondition, now metav1.Time) bool {
	condition.LastTransitionTime = now
	idx := -1
	for i := range status.Conditions {
		if status.Conditions[i].Type == condition.Type {
			idx = i
			break
		}
	}
	if idx < 0 {
		status.Conditions = append(status.Conditions, *condition)
		return true
	}
	old := status.Conditions[idx]
	if condition.Status == old.Status {
		condition.LastTransitionTime = old.LastTransitionTime
	}
	equal := condition.Status == old.Status && condition.Reason == old.Reason && condition.Message == old.Message &&
		condition.LastProbeTime.Equal(&old.LastProbeTime) && condition.LastTransitionTime.Equal(&old.LastTransitionTime)
	status.Conditions[idx] = *condition
	return !equal
}

// MarkPodsNotReady sets Ready=False on every pod of pods bound to nodeName
// whose Ready condition is not False already, and records a NodeNotReady
// warning on each (upstream controller/util/node.MarkPodsNotReady). The pod
// phase is not touched. It calls marked for each pod it updated.
func MarkPodsNotReady(ctx context.Context, c client.Interface, rec record.EventRecorder, pods []*v1.Pod, nodeName string, now metav1.Time, marked func(*v1.Pod)) error {
	var errs []error
	for _, p := range pods {
		if p.Spec.NodeName != nodeName {
			continue
		}
		pod := p.DeepCopy()
		for _, cond := range pod.Status.Conditions {
			if cond.Type != v1.PodReady {
				continue
			}
			cond.Status = v1.ConditionFalse
			if !UpdatePodCondition(&pod.Status, &cond, now) {
				break
			}
			if _, err := c.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
				if apierrors.IsNotFound(err) {
					break
				}
				errs = append(errs, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err))
			} else if marked != nil {
				marked(pod)
			}
			rec.Event(pod, v1.EventTypeWarning, "NodeNotReady", "Node is not ready")
			break
		}
	}
	return errors.Join(errs...)
}

// NodeRef is the object reference events about a node carry.
func NodeRef(name string, uid types.UID) *v1.ObjectReference {
	return &v1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: name, UID: uid}
}

// RecordNodeEvent records an event about a node with upstream's message
// shape "Node <name> event: <event>".
func RecordNodeEvent(rec record.EventRecorder, nodeName string, nodeUID types.UID, eventtype, reason, event string) {
	rec.Eventf(NodeRef(nodeName, nodeUID), eventtype, reason, "Node %s event: %s", nodeName, event)
}

// RecordNodeStatusChange records "Node <name> status is now: <status>".
func RecordNodeStatusChange(rec record.EventRecorder, node *v1.Node, newStatus string) {
	rec.Eventf(NodeRef(node.Name, node.UID), v1.EventTypeNormal, newStatus, "Node %s status is now: %s", node.Name, newStatus)
}

// TaintString renders a taint as key[=value]:Effect.
func TaintString(t v1.Taint) string { return t.ToString() }

// TaintsString renders taints separated by commas.
func TaintsString(ts []v1.Taint) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.ToString()
	}
	return strings.Join(parts, ", ")
}
