package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubesim/kubesim/controllers/nodelifecycle"
	"github.com/kubesim/kubesim/controllers/podgc"
	"github.com/kubesim/kubesim/controllers/tainteviction"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/simtest"
)

const sec = time.Second

// renewLeases renews node's Lease every 10 s from first to last, standing in
// for the kubelet's lease controller.
func renewLeases(t *testing.T, c *cluster.Cluster, node string, first, last time.Duration) {
	leases := c.Client("kubelet/" + node).CoordinationV1().Leases(v1.NamespaceNodeLease)
	for at := first; at <= last; at += 10 * sec {
		c.Engine.At(at, "heartbeat "+node, func() {
			now := metav1.NewMicroTime(c.Engine.Now())
			l, err := leases.Get(context.TODO(), node, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				_, err = leases.Create(context.TODO(), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: node},
					Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(node), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now}},
					metav1.CreateOptions{})
				require.NoError(t, err)
				return
			}
			require.NoError(t, err)
			l.Spec.RenewTime = &now
			_, err = leases.Update(context.TODO(), l, metav1.UpdateOptions{})
			require.NoError(t, err)
		})
	}
}

// runningPod creates a pod bound to node and marks it Running and Ready.
func runningPod(t *testing.T, c *cluster.Cluster, name, node string) {
	pods := c.Client("kubelet/" + node).CoreV1().Pods("default")
	p, err := pods.Create(context.TODO(), &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "web", Image: "nginx"}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	now := metav1.NewTime(c.Engine.Now())
	p.Status.Phase = v1.PodRunning
	p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: now}}
	_, err = pods.UpdateStatus(context.TODO(), p, metav1.UpdateOptions{})
	require.NoError(t, err)
}

// apiVerbs are the verbs the API server traces for a component's writes.
var apiVerbs = map[string]bool{"create": true, "update": true, "update/status": true, "delete": true, "deleted": true, "patch": true}

// traceLines returns a component's decisions (not its API writes) as
// "<seconds>s <verb> <name>".
func traceLines(recs []sim.Record, component string) []string {
	var out []string
	for _, r := range recs {
		if r.Component == component && !apiVerbs[r.Verb] && !strings.HasPrefix(r.Verb, "update/") {
			out = append(out, fmt.Sprintf("%gs %s %s", r.Time.Seconds(), r.Verb, r.Name))
		}
	}
	return out
}

// TestDeadNodeTimelineInCluster runs the four node controllers as wired in
// the cluster (with the real scheduler) through a node that stops
// heartbeating, is tainted, loses its pods to taint eviction, keeps them
// Terminating, and is finally deleted so PodGC removes them.
func TestDeadNodeTimelineInCluster(t *testing.T) {
	c := cluster.New(cluster.Config{Seed: 7, DetectCacheMutations: true})
	var recs []sim.Record
	c.Engine.AddTraceSink(func(r sim.Record) { recs = append(recs, r) })
	require.NoError(t, simtest.AddNodes(c, simtest.Node("n1", "4", "8Gi", nil), simtest.Node("n2", "4", "8Gi", nil), simtest.Node("n3", "4", "8Gi", nil)))
	c.Start()
	for i, n := range []string{"n1", "n2", "n3"} {
		runningPod(t, c, fmt.Sprintf("web-%d", 2*i+1), n)
		runningPod(t, c, fmt.Sprintf("web-%d", 2*i+2), n)
	}
	renewLeases(t, c, "n1", 1*sec, 101*sec) // the kubelet dies after its 101 s renewal
	renewLeases(t, c, "n2", 1*sec, 2000*sec)
	renewLeases(t, c, "n3", 1*sec, 2000*sec)
	pods := c.Client("test").CoreV1().Pods("default")
	c.Engine.At(200*sec, "late pod", func() {
		_, err := pods.Create(context.TODO(), &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "late"},
			Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "img"}}}}, metav1.CreateOptions{})
		require.NoError(t, err)
	})
	c.Engine.At(600*sec, "delete node", func() {
		require.NoError(t, c.Client("kubectl").CoreV1().Nodes().Delete(context.TODO(), "n1", metav1.DeleteOptions{}))
	})

	c.Engine.RunUntil(500 * sec)
	nl := traceLines(recs, nodelifecycle.Component)
	assert.Equal(t, []string{
		"0s zoneStateChanged \"\"",
		"155s statusUnknown n1",
		"155s nodeNotReady n1",
		"155s podNotReady web-1",
		"155s podNotReady web-2",
		"155s tainted n1",     // unreachable:NoSchedule
		"160s taintQueued n1", // next pass reads Ready=Unknown
		"160s tainted n1",     // unreachable:NoExecute
	}, nl)
	te := traceLines(recs, tainteviction.Component)
	assert.Equal(t, []string{"160s evictionScheduled web-1", "160s evictionScheduled web-2", "460s evicted web-1", "460s evicted web-2"}, te)

	late, err := pods.Get(context.TODO(), "late", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, "n1", late.Spec.NodeName, "the unreachable:NoSchedule taint keeps new pods off n1")
	assert.NotEmpty(t, late.Spec.NodeName)

	for _, name := range []string{"web-1", "web-2"} {
		p, err := pods.Get(context.TODO(), name, metav1.GetOptions{})
		require.NoError(t, err)
		require.NotNil(t, p.DeletionTimestamp, name)
		assert.Equal(t, sim.Epoch.Add(490*sec), p.DeletionTimestamp.Time.UTC(), "deleted at 460 s with the 30 s grace period")
		assert.Equal(t, v1.PodRunning, p.Status.Phase, "Terminating: no kubelet confirms")
	}
	for _, name := range []string{"web-3", "web-4", "web-5", "web-6"} {
		p, err := pods.Get(context.TODO(), name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Nil(t, p.DeletionTimestamp, name)
	}

	// Node deleted at 600 s: PodGC's pass at 620 s finds the orphans,
	// quarantines n1 for 40 s and force-deletes them at 660 s.
	c.Engine.RunUntil(700 * sec)
	gc := traceLines(recs, podgc.Component)
	assert.Equal(t, []string{"620s quarantine n1", "660s forceDeleted web-1", "660s forceDeleted web-2"}, gc)
	for _, name := range []string{"web-1", "web-2"} {
		_, err := pods.Get(context.TODO(), name, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), name)
	}
	evs, err := c.Client("test").CoreV1().Events("default").List(context.TODO(), metav1.ListOptions{})
	require.NoError(t, err)
	var removing []string
	for _, e := range evs.Items {
		if e.Reason == "RemovingNode" {
			removing = append(removing, fmt.Sprintf("%s %gs", e.Message, e.FirstTimestamp.Sub(sim.Epoch).Seconds()))
		}
	}
	assert.Equal(t, []string{"Node n1 event: Removing Node n1 from Controller 605s"}, removing)
	require.NoError(t, c.Informers.CheckMutations())
}

// TestNodeControllersDeterministic: two runs of a cluster with failing nodes
// produce byte-identical traces.
func TestNodeControllersDeterministic(t *testing.T) {
	run := func() []byte {
		c := cluster.New(cluster.Config{Seed: 3})
		var b bytes.Buffer
		c.Engine.AddTraceSink(func(r sim.Record) { b.Write(r.AppendJSON(nil)); b.WriteByte('\n') })
		var nodes []*v1.Node
		for i := 0; i < 6; i++ {
			nodes = append(nodes, simtest.Node(fmt.Sprintf("n%d", i), "4", "8Gi", map[string]string{v1.LabelTopologyZone: fmt.Sprintf("z%d", i%2)}))
		}
		require.NoError(t, simtest.AddNodes(c, nodes...))
		c.Start()
		for i := 0; i < 6; i++ {
			runningPod(t, c, fmt.Sprintf("p%d", i), fmt.Sprintf("n%d", i))
			last := 3000 * sec
			if i < 3 {
				last = time.Duration(20+7*i) * sec
			}
			renewLeases(t, c, fmt.Sprintf("n%d", i), time.Duration(i)*sec, last)
		}
		c.Engine.RunUntil(1200 * sec)
		return b.Bytes()
	}
	a, b := run(), run()
	require.Greater(t, len(a), 1000)
	assert.Equal(t, string(a), string(b))
	assert.Contains(t, string(a), `"verb":"evicted"`)
}
