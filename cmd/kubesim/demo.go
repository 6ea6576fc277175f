package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/informer"
)

func newDemoCmd() *cobra.Command {
	var seed uint64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a small built-in demo of the core and print its timeline",
		Long: `demo drives the deterministic core directly: a client creates nodes, a deployment
and pods through the API server, a toy controller watches pods through an informer
and a work queue and labels them, a node is cordoned, a pod deleted, and every state
change is printed as a timeline. It shows how a change flows from a client through
the API server and the MVCC store to a watch and a controller.`,
		Example: "  kubesim demo\n  kubesim demo --seed 7",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.OutOrStdout(), seed)
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed of the run")
	return cmd
}

// formatRecord renders one trace record as a timeline line.
func formatRecord(r sim.Record) string {
	obj := r.Kind
	if r.Name != "" {
		if r.Namespace != "" {
			obj += " " + r.Namespace + "/" + r.Name
		} else {
			obj += " " + r.Name
		}
	}
	line := fmt.Sprintf("%s  %-22s %-14s %-34s", clock(r.Time), r.Component, r.Verb, obj)
	if r.RV != 0 {
		line += fmt.Sprintf(" rv=%-4d", r.RV)
	}
	if r.Msg != "" {
		line += " " + r.Msg
	}
	return line
}

func clock(d time.Duration) string {
	h := d / time.Hour
	m := (d % time.Hour) / time.Minute
	s := (d % time.Minute) / time.Second
	ms := (d % time.Second) / time.Millisecond
	return fmt.Sprintf("%d:%02d:%02d.%03d", h, m, s, ms)
}

func runDemo(out io.Writer, seed uint64) error {
	w := bufio.NewWriter(out)
	defer w.Flush()
	c := cluster.New(cluster.Config{Seed: seed, NoScheduler: true, NodeControllers: cluster.NodeControllersConfig{Disabled: true}})
	fmt.Fprintf(w, "kubesim demo (seed %d): the core without a scheduler or kubelets (API server, store, informers, the Deployment and ReplicaSet controllers, a toy controller that labels pods); kubesim run runs the whole cluster.\n\n", seed)
	c.Engine.AddTraceSink(func(r sim.Record) { fmt.Fprintln(w, formatRecord(r)) })
	ctx := context.TODO()
	admin := c.Client("kubectl")
	labeler := c.Client("labeler")

	pods := c.Informers.Pods()
	q := informer.NewQueue[string](c.Engine, "labeler", informer.DefaultControllerRateLimiter[string](c.Engine), func(key string) error {
		ns, name, _ := cache.SplitMetaNamespaceKey(key)
		p, err := pods.Lister().Pods(ns).Get(name)
		if err != nil || p.Labels["observed-by"] == "labeler" {
			return nil
		}
		cp := p.DeepCopy()
		if cp.Labels == nil {
			cp.Labels = map[string]string{}
		}
		cp.Labels["observed-by"] = "labeler"
		_, err = labeler.CoreV1().Pods(ns).Update(ctx, cp, metav1.UpdateOptions{})
		return err
	})
	pods.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		k, _ := cache.MetaNamespaceKeyFunc(obj)
		q.Add(k)
	}})
	c.Start()

	steps := []struct {
		at time.Duration
		do func() error
	}{
		{0, func() error {
			for _, n := range []string{"node-1", "node-2"} {
				node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}, Status: v1.NodeStatus{Capacity: v1.ResourceList{
					v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")}}}
				if _, err := admin.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
					return err
				}
			}
			return nil
		}},
		{5 * time.Second, func() error {
			replicas := int32(2)
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
				Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Template: v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
					Spec: v1.PodSpec{Containers: []v1.Container{{Name: "web", Image: "nginx:1.27"}}}}}}
			_, err := admin.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
			return err
		}},
		{10 * time.Second, func() error {
			for _, n := range []string{"web-a", "web-b"} {
				p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"app": "web"}},
					Spec: v1.PodSpec{Containers: []v1.Container{{Name: "web", Image: "nginx:1.27"}}}}
				if _, err := admin.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
					return err
				}
			}
			return nil
		}},
		{20 * time.Second, func() error {
			return admin.CoreV1().Pods("default").Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web-a", Namespace: "default"},
				Target: v1.ObjectReference{Kind: "Node", Name: "node-1"}}, metav1.CreateOptions{})
		}},
		{30 * time.Second, func() error {
			n, err := admin.CoreV1().Nodes().Get(ctx, "node-2", metav1.GetOptions{})
			if err != nil {
				return err
			}
			n.Spec.Unschedulable = true
			_, err = admin.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			return err
		}},
		{40 * time.Second, func() error {
			return admin.CoreV1().Pods("default").Delete(ctx, "web-a", metav1.DeleteOptions{})
		}},
		{70 * time.Second, func() error {
			zero := int64(0)
			return admin.CoreV1().Pods("default").Delete(ctx, "web-a", metav1.DeleteOptions{GracePeriodSeconds: &zero})
		}},
	}
	var runErr error
	for _, s := range steps {
		s := s
		c.Engine.At(s.at, "demo", func() {
			if err := s.do(); err != nil && runErr == nil {
				runErr = err
			}
		})
	}
	c.Engine.RunUntil(90 * time.Second)
	if runErr != nil {
		return runErr
	}
	st := c.API.Stats()
	fmt.Fprintf(w, "\n%d engine events, store revision %d, %d creates, %d updates, %d deletes, %d no-op writes skipped.\n",
		c.Engine.Steps(), c.Store.Rev(), st.Creates, st.Updates, st.Deletes, st.NoopWrites)
	return nil
}

var _ = os.Stdout
