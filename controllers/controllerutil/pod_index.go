package controllerutil

import (
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// PodControllerUIDIndex is the name of the pod index upstream's
// controllers read their pods through (pkg/controller/controller_utils.go):
// a pod's value is its controller's UID, or OrphanPodIndexKeyForNamespace
// of its namespace when it has no controller.
const PodControllerUIDIndex = "podControllerUID"

// OrphanPodIndexKey prefixes the PodControllerUIDIndex value of pods
// without a controller.
const OrphanPodIndexKey = "_ORPHAN_POD"

// OrphanPodIndexKeyForNamespace is the PodControllerUIDIndex value of the
// pods of namespace that have no controller.
func OrphanPodIndexKeyForNamespace(namespace string) string {
	return OrphanPodIndexKey + "/" + namespace
}

// valueIndexer is an informer that can add a one-value index.
type valueIndexer interface {
	GetIndexer() cache.Indexer
	AddValueIndex(name string, fn func(obj any) string) error
}

// AddPodControllerUIDIndexer adds PodControllerUIDIndex to a pod informer
// unless it is there already (upstream's AddPodControllerUIDIndexer).
func AddPodControllerUIDIndexer(pods valueIndexer) error {
	if _, ok := pods.GetIndexer().GetIndexers()[PodControllerUIDIndex]; ok {
		return nil
	}
	var lastNS, lastKey string // the orphan key of the last namespace asked
	return pods.AddValueIndex(PodControllerUIDIndex, func(obj any) string {
		pod, ok := obj.(*v1.Pod)
		if !ok {
			return ""
		}
		if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
			return string(ref.UID)
		}
		if pod.Namespace != lastNS || lastKey == "" {
			lastNS, lastKey = pod.Namespace, OrphanPodIndexKeyForNamespace(pod.Namespace)
		}
		return lastKey
	})
}

// FilterPodsByOwner returns the pods owner controls and, with
// includeOrphans, the pods of its namespace that have no controller (those
// it may adopt), read through PodControllerUIDIndex as upstream's
// FilterPodsByOwner does — not every pod of the namespace. Unlike
// upstream's (index order), they come in key order, as a namespace's list
// would give them.
func FilterPodsByOwner(podIndexer cache.Indexer, owner *metav1.ObjectMeta, includeOrphans bool) ([]*v1.Pod, error) {
	if owner.Namespace == "" {
		return nil, fmt.Errorf("no owner namespace provided")
	}
	if owner.UID == "" {
		return nil, fmt.Errorf("no owner uid provided")
	}
	var out []*v1.Pod
	add := func(value string) error {
		objs, err := podIndexer.ByIndex(PodControllerUIDIndex, value)
		if err != nil {
			return err
		}
		for _, obj := range objs {
			if pod, ok := obj.(*v1.Pod); ok && pod.Namespace == owner.Namespace {
				out = append(out, pod)
			}
		}
		return nil
	}
	if err := add(string(owner.UID)); err != nil {
		return nil, err
	}
	owned := len(out)
	if includeOrphans {
		if err := add(OrphanPodIndexKeyForNamespace(owner.Namespace)); err != nil {
			return nil, err
		}
	}
	if owned > 0 && owned < len(out) {
		// Two runs in key order (one namespace: name order): merge them.
		slices.SortStableFunc(out, func(a, b *v1.Pod) int { return strings.Compare(a.Name, b.Name) })
	}
	return out, nil
}
