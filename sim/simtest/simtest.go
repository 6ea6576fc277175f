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

	"github.com/kubesim/kubesim/sim"
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
// bound it becomes Running and Ready with an IP (startTime and the
// conditions' lastTransitionTime set to that instant); a pod being deleted
// is removed StopDelay after its deletionTimestamp was set; every node's
// Lease is renewed every 10 s, so the node lifecycle controller sees healthy
// nodes. It has no probes or images; restarts and failures happen only when
// a test asks for them (CrashContainer, FailPod).
type FakeKubelet struct {
	c          client.Interface
	eng        *sim.Engine
	StartDelay time.Duration
	StopDelay  time.Duration
	// Unready, if set, is asked when a pod starts: a pod for which it
	// returns true runs but never becomes Ready (like a readiness probe that
	// never succeeds, e.g. a broken image).
	Unready func(pod *v1.Pod) bool
	// ExtraStartDelay, if set, adds a per-pod delay to StartDelay (asked
	// once per start attempt), to stagger pod start-up in property tests.
	ExtraStartDelay func(pod *v1.Pod) time.Duration
	// CrashRestartDelay is how long a crashed container stays down before
	// it is restarted (CrashLoopBackOff's first back-off, 10 s, if zero).
	CrashRestartDelay time.Duration
	nextIP            int
}

// StartFakeKubelet attaches a fake kubelet to the cluster's pod informer.
func StartFakeKubelet(c *cluster.Cluster, startDelay, stopDelay time.Duration) *FakeKubelet {
	k := &FakeKubelet{c: c.Client("fake-kubelet"), eng: c.Engine, StartDelay: startDelay, StopDelay: stopDelay}
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
			delay := k.StartDelay
			if k.ExtraStartDelay != nil {
				delay += k.ExtraStartDelay(p)
			}
			eng.After(delay, "fake-kubelet start", func() { k.start(ns, name, uid) })
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
	now := metav1.NewTime(k.eng.Now())
	ready := k.Unready == nil || !k.Unready(p)
	readyStatus := v1.ConditionTrue
	if !ready {
		readyStatus = v1.ConditionFalse
	}
	p.Status.Phase = v1.PodRunning
	p.Status.StartTime = &now
	p.Status.PodIP = fmt.Sprintf("10.244.%d.%d", k.nextIP/250, k.nextIP%250+1)
	p.Status.PodIPs = []v1.PodIP{{IP: p.Status.PodIP}}
	p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{Type: v1.PodInitialized, Status: v1.ConditionTrue, LastTransitionTime: now})
	for _, t := range []v1.PodConditionType{v1.ContainersReady, v1.PodReady} {
		p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{Type: t, Status: readyStatus, LastTransitionTime: now})
	}
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, v1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: ready,
			Started: ptr(true), State: v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: now}}})
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
