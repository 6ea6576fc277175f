package deployment

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/ptr"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
	"github.com/kubesim/kubesim/sim/mvcc"
)

// upstreamPodMap is upstream's getPodMapForDeployment
// (pkg/controller/deployment/deployment_controller.go): list the
// namespace's pods by the Deployment's selector, group them by the UID of
// their controller when it is one of rsList's ReplicaSets.
func upstreamPodMap(t *rapid.T, dc *Controller, d *apps.Deployment, rsList []*apps.ReplicaSet) map[types.UID][]*v1.Pod {
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	require.NoError(t, err)
	pods, err := corelisters.NewPodLister(dc.podIndexer).Pods(d.Namespace).List(selector)
	require.NoError(t, err)
	podMap := make(map[types.UID][]*v1.Pod, len(rsList))
	for _, rs := range rsList {
		podMap[rs.UID] = []*v1.Pod{}
	}
	for _, pod := range pods {
		ref := metav1.GetControllerOf(pod)
		if ref == nil {
			continue
		}
		if _, ok := podMap[ref.UID]; ok {
			podMap[ref.UID] = append(podMap[ref.UID], pod)
		}
	}
	return podMap
}

// The pod map read through the controller-UID index is upstream's
// selector list grouped by controller, pod for pod and in the same order,
// whatever the pods' namespaces, labels and owners: pods of the
// ReplicaSets that no longer match the selector, pods of the same UID in
// another namespace, orphans, pods owned (not controlled) by a
// ReplicaSet, pods controlled by a ReplicaSet not in the list.
func TestPodMapIsUpstreamsSelectorList(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		eng := sim.New(1)
		api := apiserver.New(eng, mvcc.New(eng, mvcc.Config{}), apiserver.DefaultConfig())
		f := informer.NewFactory(api)
		dc := NewController(eng, f, client.New(api, "test"), nil)
		pods := f.Pods().GetIndexer()
		uids := []types.UID{"rs-a", "rs-b", "rs-c", "rs-d"}
		newPod := func(i int) *v1.Pod {
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{
				Namespace: rapid.SampledFrom([]string{"default", "other"}).Draw(t, "ns"),
				Name:      fmt.Sprintf("p-%02d", rapid.IntRange(0, 99).Draw(t, "name")),
				UID:       types.UID(fmt.Sprintf("pod-%d", i)),
				Labels:    map[string]string{"app": rapid.SampledFrom([]string{"web", "api"}).Draw(t, "app")},
			}}
			if rapid.Bool().Draw(t, "owned") {
				pod.OwnerReferences = append(pod.OwnerReferences, metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet",
					Name: "rs", UID: rapid.SampledFrom(uids).Draw(t, "owner"), Controller: ptr.To(rapid.Bool().Draw(t, "controller"))})
			}
			return pod
		}
		n := rapid.IntRange(0, 60).Draw(t, "pods")
		for i := range n {
			require.NoError(t, pods.Add(newPod(i)))
		}
		d := &apps.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "d"},
			Spec: apps.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
		var rsList []*apps.ReplicaSet
		pickReplicaSets := func() {
			rsList = nil
			for _, uid := range uids[:rapid.IntRange(0, 3).Draw(t, "replicasets")] {
				rsList = append(rsList, &apps.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: string(uid), UID: uid}})
			}
		}
		pickReplicaSets()
		// Later syncs: the map kept from the one before must be given
		// again only while it would be the same.
		for round := range rapid.IntRange(1, 8).Draw(t, "syncs") {
			switch rapid.IntRange(0, 5).Draw(t, "change") {
			case 0: // nothing changed
			case 1:
				require.NoError(t, pods.Add(newPod(n+round)))
			case 2:
				if keys := pods.ListKeys(); len(keys) > 0 {
					obj, _, _ := pods.GetByKey(rapid.SampledFrom(keys).Draw(t, "deleted"))
					require.NoError(t, pods.Delete(obj))
				}
			case 3:
				if keys := pods.ListKeys(); len(keys) > 0 {
					obj, _, _ := pods.GetByKey(rapid.SampledFrom(keys).Draw(t, "relabeled"))
					pod := obj.(*v1.Pod).DeepCopy()
					pod.Labels = map[string]string{"app": rapid.SampledFrom([]string{"web", "api"}).Draw(t, "app")}
					require.NoError(t, pods.Update(pod))
				}
			case 4:
				pickReplicaSets()
			case 5:
				d = d.DeepCopy()
				d.Spec.Selector.MatchLabels["app"] = rapid.SampledFrom([]string{"web", "api"}).Draw(t, "selected")
			}
			got, err := dc.getPodMapForDeployment(d, rsList)
			require.NoError(t, err)
			require.Equal(t, upstreamPodMap(t, dc, d, rsList), got, "sync %d", round)
		}
	})
}
