package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/informer"
)

// run drives a small randomized workload (creates, updates, deletes at
// random times, a controller reacting through an informer and a work queue)
// and returns the JSON-lines trace.
func run(t *testing.T, seed uint64) []byte {
	t.Helper()
	c := cluster.New(cluster.Config{Seed: seed, DetectCacheMutations: true})
	var trace bytes.Buffer
	c.Engine.AddTraceSink(func(r sim.Record) { trace.Write(r.AppendJSON(nil)); trace.WriteByte('\n') })
	user := c.Client("workload")
	ctrl := c.Client("labeler")
	rnd := c.Engine.Rand("workload")

	// A controller that labels every pod it sees, through a work queue.
	pods := c.Informers.Pods()
	q := informer.NewQueue[string](c.Engine, "labeler", informer.DefaultControllerRateLimiter[string](c.Engine), func(key string) error {
		ns, name, _ := cache.SplitMetaNamespaceKey(key)
		p, err := pods.Lister().Pods(ns).Get(name)
		if err != nil || p.Labels["seen"] == "yes" {
			return nil
		}
		cp := p.DeepCopy()
		cp.Labels["seen"] = "yes"
		_, err = ctrl.CoreV1().Pods(ns).Update(context.TODO(), cp, metav1.UpdateOptions{})
		return err
	})
	pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k, _ := cache.MetaNamespaceKeyFunc(obj); q.Add(k) },
		UpdateFunc: func(_, obj any) { k, _ := cache.MetaNamespaceKeyFunc(obj); q.Add(k) },
	})
	c.Start()

	for i := 0; i < 40; i++ {
		at := time.Duration(rnd.IntN(600)) * time.Second
		i := i
		c.Engine.At(at, "workload", func() {
			name := fmt.Sprintf("p%d", rnd.IntN(10))
			switch rnd.IntN(3) {
			case 0:
				p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-", Labels: map[string]string{"i": fmt.Sprint(i)}},
					Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "img"}}}}
				_, _ = user.CoreV1().Pods("default").Create(context.TODO(), p, metav1.CreateOptions{})
			case 1:
				l, _ := user.CoreV1().Pods("default").List(context.TODO(), metav1.ListOptions{})
				if len(l.Items) > 0 {
					p := l.Items[rnd.IntN(len(l.Items))]
					p.Labels["touched"] = fmt.Sprint(i)
					_, _ = user.CoreV1().Pods("default").Update(context.TODO(), &p, metav1.UpdateOptions{})
				}
			case 2:
				l, _ := user.CoreV1().Pods("default").List(context.TODO(), metav1.ListOptions{})
				if len(l.Items) > 0 {
					_ = user.CoreV1().Pods("default").Delete(context.TODO(), l.Items[rnd.IntN(len(l.Items))].Name, metav1.DeleteOptions{})
				}
			}
		})
	}
	c.Engine.RunUntil(20 * time.Minute)
	require.NoError(t, c.Informers.CheckMutations())
	return trace.Bytes()
}

func TestSameSeedSameTraceBytes(t *testing.T) {
	a, b := run(t, 42), run(t, 42)
	require.Greater(t, len(a), 1000, "the workload produced a trace")
	assert.Equal(t, string(a), string(b))
	assert.NotEqual(t, string(a), string(run(t, 43)), "a different seed gives a different history")
}

// runtimeRun runs a cluster with kubelets (default jitter), the scheduler,
// pods with probes and crashes, and faults, and returns its trace.
func runtimeRun(t *testing.T, seed uint64) []byte {
	t.Helper()
	c := cluster.New(cluster.Config{Seed: seed, DetectCacheMutations: true})
	var trace bytes.Buffer
	c.Engine.AddTraceSink(func(r sim.Record) { trace.Write(r.AppendJSON(nil)); trace.WriteByte('\n') })
	c.Start()
	for i := 0; i < 3; i++ {
		spec := cluster.NodeSpec{Name: fmt.Sprintf("n%d", i), Labels: map[string]string{v1.LabelTopologyZone: fmt.Sprintf("z%d", i%2)},
			Capacity: v1.ResourceList{v1.ResourceCPU: resource.MustParse("2"), v1.ResourceMemory: resource.MustParse("4Gi")}}
		c.Inject(cluster.Fault{At: time.Duration(i) * time.Second, Action: cluster.FaultAddNode, Spec: &spec})
	}
	cl := c.Client("workload")
	for i := 0; i < 12; i++ {
		p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "default",
			Annotations: map[string]string{"kubesim.dev/crash-after": fmt.Sprintf("%ds", 20+i*7), "kubesim.dev/not-ready-between": "30s-50s"}},
			Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: fmt.Sprintf("img:%d", i%3),
				ReadinessProbe: &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(80)}}, PeriodSeconds: 5},
				Resources:      v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("300m")}}}}}}
		c.Engine.At(time.Duration(5+i)*time.Second, "create", func() { _, _ = cl.CoreV1().Pods("default").Create(context.TODO(), p, metav1.CreateOptions{}) })
	}
	c.Inject(cluster.Fault{At: time.Minute, Action: cluster.FaultCrashNode, Node: "n1"})
	c.Inject(cluster.Fault{At: 90 * time.Second, Action: cluster.FaultPartitionNode, Node: "n2"})
	c.Inject(cluster.Fault{At: 3 * time.Minute, Action: cluster.FaultRecoverZone, Zone: "z1"})
	c.Inject(cluster.Fault{At: 4 * time.Minute, Action: cluster.FaultRecoverNode, Node: "n2"})
	c.Inject(cluster.Fault{At: 5 * time.Minute, Action: cluster.FaultDrain, Node: "n0"})
	c.Engine.RunUntil(10 * time.Minute)
	require.Empty(t, c.FaultErrors())
	require.NoError(t, c.Informers.CheckMutations())
	return trace.Bytes()
}

func TestRuntimeSameSeedSameTraceBytes(t *testing.T) {
	a, b := runtimeRun(t, 5), runtimeRun(t, 5)
	require.Greater(t, len(a), 10000)
	assert.Equal(t, string(a), string(b))
	assert.NotEqual(t, string(a), string(runtimeRun(t, 6)))
}
