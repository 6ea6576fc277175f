package controllerutil

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/kubesim/kubesim/sim/informer"
)

type indexerInformer struct{ *informer.Indexer }

func (i indexerInformer) GetIndexer() cache.Indexer { return i.Indexer }

func podKeys(pods []*v1.Pod) []string {
	out := []string{}
	for _, p := range pods {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}

// FilterPodsByOwner reads the owner's pods and its namespace's orphans
// through the controller-UID index, in name order, and nothing else: not
// pods of another controller, not orphans or namesakes elsewhere.
func TestFilterPodsByOwner(t *testing.T) {
	ix := informer.NewIndexer(cache.MetaNamespaceKeyFunc, nil)
	require.NoError(t, AddPodControllerUIDIndexer(indexerInformer{ix}))
	require.NoError(t, AddPodControllerUIDIndexer(indexerInformer{ix}), "already there: nothing to do")
	owner := metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "rs-1"}
	mk := func(ns, name string, controller types.UID) *v1.Pod {
		p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if controller != "" {
			p.OwnerReferences = []metav1.OwnerReference{
				{Kind: "ConfigMap", Name: "not-a-controller", UID: "cm"},
				{Kind: "ReplicaSet", Name: "x", UID: controller, Controller: ptr.To(true)},
			}
		}
		return p
	}
	for _, p := range []*v1.Pod{
		mk("ns", "d-owned", "rs-1"), mk("ns", "a-owned", "rs-1"), mk("ns", "c-orphan", ""),
		mk("ns", "b-other", "rs-2"), mk("other", "a-orphan", ""), mk("ns", "e-orphan", ""),
	} {
		require.NoError(t, ix.Add(p))
	}
	got, err := FilterPodsByOwner(ix, &owner, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"ns/a-owned", "ns/c-orphan", "ns/d-owned", "ns/e-orphan"}, podKeys(got))
	got, err = FilterPodsByOwner(ix, &owner, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"ns/a-owned", "ns/d-owned"}, podKeys(got))

	// Adopted by rs-2, released by rs-1: the index follows.
	require.NoError(t, ix.Update(mk("ns", "c-orphan", "rs-2")))
	require.NoError(t, ix.Update(mk("ns", "a-owned", "")))
	got, err = FilterPodsByOwner(ix, &owner, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"ns/a-owned", "ns/d-owned", "ns/e-orphan"}, podKeys(got))

	_, err = FilterPodsByOwner(ix, &metav1.ObjectMeta{Name: "web", UID: "rs-1"}, true)
	assert.ErrorContains(t, err, "namespace")
	_, err = FilterPodsByOwner(ix, &metav1.ObjectMeta{Namespace: "ns", Name: "web"}, true)
	assert.ErrorContains(t, err, "uid")
}
