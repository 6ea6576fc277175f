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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
