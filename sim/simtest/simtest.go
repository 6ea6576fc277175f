// Package simtest has helpers for tests of components that need a running
// cluster before the real kubelet model is involved: ready nodes and a fake
// kubelet that runs every bound pod at once. Production code never uses it.
package simtest

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/cluster"
)

// Node returns a Ready node with the given capacity.
func Node(name, cpu, memory string, labels map[string]string) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: merge(map[string]string{v1.LabelHostname: name}, labels)},
		Status: v1.NodeStatus{
			Capacity: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse(memory),
				v1.ResourcePods: resource.MustParse("110")},
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady"}},
		},
	}
}

func merge(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// AddNodes creates nodes through the API.
func AddNodes(c *cluster.Cluster, nodes ...*v1.Node) error {
	cl := c.Client("simtest")
	for _, n := range nodes {
		if _, err := cl.CoreV1().Nodes().Create(context.TODO(), n, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// FakeKubelet stands in for every node's kubelet: StartDelay after a pod is
// bound it becomes Running and Ready with an IP; a pod being deleted is
// removed StopDelay after its deletionTimestamp was set; every node's Lease
// is renewed every 10 s, so the node lifecycle controller sees healthy
// nodes. It has no probes, restarts or images.
type FakeKubelet struct {
	c          client.Interface
	StartDelay time.Duration
	StopDelay  time.Duration
	nextIP     int
}

// StartFakeKubelet attaches a fake kubelet to the cluster's pod informer.
func StartFakeKubelet(c *cluster.Cluster, startDelay, stopDelay time.Duration) *FakeKubelet {
	k := &FakeKubelet{c: c.Client("fake-kubelet"), StartDelay: startDelay, StopDelay: stopDelay}
	eng := c.Engine
	handle := func(obj any) {
		p, ok := obj.(*v1.Pod)
		if !ok || p.Spec.NodeName == "" {
			return
		}
		ns, name, uid := p.Namespace, p.Name, p.UID
		switch {
		case p.DeletionTimestamp != nil:
			eng.After(k.StopDelay, "fake-kubelet stop", func() { k.remove(ns, name, uid) })
		case p.Status.Phase == v1.PodPending:
			eng.After(k.StartDelay, "fake-kubelet start", func() { k.start(ns, name, uid) })
		}
	}
	c.Informers.Pods().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    handle,
		UpdateFunc: func(_, obj any) { handle(obj) },
	})
	nodes := c.Informers.Nodes()
	beat := func() {
		list, _ := nodes.Lister().List(labels.Everything())
		for _, n := range list {
			RenewLease(k.c, eng, n.Name)
		}
	}
	eng.After(0, "fake-kubelet heartbeats", beat)
	eng.Every(10*time.Second, "fake-kubelet heartbeats", beat)
	return k
}

func (k *FakeKubelet) start(ns, name string, uid types.UID) {
	pods := k.c.CoreV1().Pods(ns)
	p, err := pods.Get(context.TODO(), name, metav1.GetOptions{})
	if err != nil || p.UID != uid || p.Status.Phase != v1.PodPending || p.DeletionTimestamp != nil {
		return
	}
	k.nextIP++
	p.Status.Phase = v1.PodRunning
	p.Status.PodIP = fmt.Sprintf("10.244.%d.%d", k.nextIP/250, k.nextIP%250+1)
	p.Status.PodIPs = []v1.PodIP{{IP: p.Status.PodIP}}
	for _, t := range []v1.PodConditionType{v1.PodInitialized, v1.ContainersReady, v1.PodReady} {
		p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{Type: t, Status: v1.ConditionTrue})
	}
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, v1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true,
			Started: ptr(true), State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}})
	}
	_, _ = pods.UpdateStatus(context.TODO(), p, metav1.UpdateOptions{})
}

func (k *FakeKubelet) remove(ns, name string, uid types.UID) {
	zero := int64(0)
	pods := k.c.CoreV1().Pods(ns)
	p, err := pods.Get(context.TODO(), name, metav1.GetOptions{})
	if err != nil || p.UID != uid {
		return
	}
	_ = pods.Delete(context.TODO(), name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
}

func ptr[T any](v T) *T { return &v }
