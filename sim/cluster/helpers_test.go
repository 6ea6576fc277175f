package cluster_test

import (
	"context"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/informer"
)

// startNotReadyUntainter stands in for the node lifecycle controller's
// NoSchedule tainting pass in clusters built without it: it removes
// node.kubernetes.io/not-ready:NoSchedule from nodes that report Ready=True
// (the taint the NodeTaint admission plugin puts on every node a kubelet
// registers). Call it before c.Start.
func startNotReadyUntainter(c *cluster.Cluster) {
	nodes := c.Informers.Nodes()
	cl := c.Client("node-controller")
	q := informer.NewQueue[string](c.Engine, "test-untainter", informer.DefaultControllerRateLimiter[string](c.Engine), func(name string) error {
		n, err := nodes.Lister().Get(name)
		if err != nil || !nodeReady(n) {
			return nil
		}
		var kept []v1.Taint
		for _, t := range n.Spec.Taints {
			if t.Key != v1.TaintNodeNotReady || t.Effect != v1.TaintEffectNoSchedule {
				kept = append(kept, t)
			}
		}
		if len(kept) == len(n.Spec.Taints) {
			return nil
		}
		cp := n.DeepCopy()
		cp.Spec.Taints = kept
		_, err = cl.CoreV1().Nodes().Update(context.TODO(), cp, metav1.UpdateOptions{})
		return err
	})
	enqueue := func(obj any) {
		if n, ok := obj.(*v1.Node); ok {
			q.Add(n.Name)
		}
	}
	nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }})
}

func nodeReady(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}
