package replicaset_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/controllers/replicaset"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/simtest"
)

const ns = "default"

var web = map[string]string{"app": "web"}

type env struct {
	t       *testing.T
	c       *cluster.Cluster
	cl      client.Interface
	kubelet *simtest.FakeKubelet
	trace   *simtest.Trace
}

// newEnv builds a cluster with the scheduler (unless noScheduler), two
// nodes and the fake kubelet (pods run 2 s after binding, vanish 5 s after
// their deletion starts).
func newEnv(t *testing.T, noScheduler bool) *env {
	c := cluster.New(cluster.Config{Seed: 7, DetectCacheMutations: true, NoScheduler: noScheduler})
	nodes := []*v1.Node{simtest.Node("n1", "8", "16Gi", nil), simtest.Node("n2", "8", "16Gi", nil), simtest.Node("n3", "8", "16Gi", nil)}
	require.NoError(t, simtest.AddNodes(c, nodes...))
	k := simtest.StartFakeKubelet(c, 2*time.Second, 5*time.Second)
	e := &env{t: t, c: c, cl: c.Client("test"), kubelet: k, trace: simtest.RecordTrace(c)}
	c.Start()
	t.Cleanup(func() { require.NoError(t, c.Informers.CheckMutations()) })
	return e
}

func (e *env) createRS(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	out, err := e.cl.AppsV1().ReplicaSets(ns).Create(context.TODO(), rs, metav1.CreateOptions{})
	require.NoError(e.t, err)
	return out
}

func (e *env) rs(name string) *appsv1.ReplicaSet {
	rs, err := e.cl.AppsV1().ReplicaSets(ns).Get(context.TODO(), name, metav1.GetOptions{})
	require.NoError(e.t, err)
	return rs
}

// pods returns the pods matching web, by name order.
func (e *env) pods() []v1.Pod {
	l, err := e.cl.CoreV1().Pods(ns).List(context.TODO(), metav1.ListOptions{LabelSelector: labels.FormatLabels(web)})
	require.NoError(e.t, err)
	return l.Items
}

func active(pods []v1.Pod) (n int) {
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase != v1.PodFailed && p.Status.Phase != v1.PodSucceeded {
			n++
		}
	}
	return n
}

func (e *env) scale(name string, replicas int32) {
	s, err := e.cl.AppsV1().ReplicaSets(ns).GetScale(context.TODO(), name, metav1.GetOptions{})
	require.NoError(e.t, err)
	s.Spec.Replicas = replicas
	_, err = e.cl.AppsV1().ReplicaSets(ns).UpdateScale(context.TODO(), name, s, metav1.UpdateOptions{})
	require.NoError(e.t, err)
}

func (e *env) runUntil(limit time.Duration, what string, cond func() bool) {
	e.t.Helper()
	require.True(e.t, simtest.RunUntil(e.c, limit, cond), "by %v: %s (now %v)", limit, what, e.c.Engine.Elapsed())
}

func (e *env) now() time.Duration { return e.c.Engine.Elapsed() }

// TestSelfHealingAfterPodDeletion: a deleted pod is replaced the instant
// its deletion starts (terminating pods do not count), not when it is gone.
func TestSelfHealingAfterPodDeletion(t *testing.T) {
	e := newEnv(t, false)
	e.createRS(simtest.ReplicaSet(ns, "web", 3, web, "nginx:1"))
	e.runUntil(time.Minute, "3 ready", func() bool { return e.rs("web").Status.ReadyReplicas == 3 })
	assert.Equal(t, 2*time.Second, e.now(), "created at 0, running and ready 2 s later")
	st := e.rs("web").Status
	assert.Equal(t, appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3, ObservedGeneration: 1}, st)
	assert.Len(t, simtest.Events(e.c, ns, "web", "SuccessfulCreate"), 3)

	e.c.Engine.RunUntil(10 * time.Second)
	victim := e.pods()[0].Name
	require.NoError(t, e.cl.CoreV1().Pods(ns).Delete(context.TODO(), victim, metav1.DeleteOptions{}))
	e.runUntil(11*time.Second, "replacement created", func() bool { return len(e.pods()) == 4 })
	assert.Equal(t, 10*time.Second, e.now(), "replacement created in the same instant")
	assert.Equal(t, 3, active(e.pods()))
	e.runUntil(time.Minute, "victim gone", func() bool { return len(e.pods()) == 3 })
	assert.Equal(t, 15*time.Second, e.now(), "the fake kubelet removes it 5 s after the deletion started")
	e.runUntil(time.Minute, "3 ready again", func() bool { return e.rs("web").Status.ReadyReplicas == 3 })
	assert.Equal(t, 15*time.Second, e.now(), "the replacement was ready at 12 s, before the victim was gone")
	for _, p := range e.pods() {
		assert.NotEqual(t, victim, p.Name)
	}
	assert.Len(t, simtest.Events(e.c, ns, "web", "SuccessfulCreate"), 4)
	assert.Empty(t, simtest.Events(e.c, ns, "web", "SuccessfulDelete"), "the user deleted the pod, not the controller")
	ups := e.trace.Find(replicaset.ComponentName, "scaledUp")
	require.Len(t, ups, 2)
	assert.Contains(t, ups[1].Msg, "created 1 pods (2 active, want 3)")
}

// TestCrashAndFailure: a crashed container is restarted in place by the
// kubelet (no new pod; readyReplicas dips for the 10 s back-off); a pod
// that fails for good is replaced at once.
//
// Container restarts are the kubelet's: this test drives them through the
// fake kubelet's CrashContainer/FailPod, which do what the real kubelet
// model does for restartPolicy Always (restart after CrashLoopBackOff's
// first 10 s back-off) and for a pod it gives up on (phase Failed).
func TestCrashAndFailure(t *testing.T) {
	e := newEnv(t, false)
	e.createRS(simtest.ReplicaSet(ns, "web", 3, web, "nginx:1"))
	e.runUntil(time.Minute, "3 ready", func() bool { return e.rs("web").Status.ReadyReplicas == 3 })
	e.c.Engine.RunUntil(20 * time.Second)
	crashed := e.pods()[1].Name
	require.NoError(t, e.kubelet.CrashContainer(ns, crashed))
	e.runUntil(21*time.Second, "ready drops", func() bool { return e.rs("web").Status.ReadyReplicas == 2 })
	assert.Equal(t, 20*time.Second, e.now())
	assert.Equal(t, int32(3), e.rs("web").Status.Replicas, "a crashed container does not make the pod inactive")
	e.runUntil(time.Minute, "ready again", func() bool { return e.rs("web").Status.ReadyReplicas == 3 })
	assert.Equal(t, 30*time.Second, e.now(), "restarted after the 10 s back-off")
	assert.Len(t, e.pods(), 3, "no replacement pod")
	p, err := e.cl.CoreV1().Pods(ns).Get(context.TODO(), crashed, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), p.Status.ContainerStatuses[0].RestartCount)

	failed := e.pods()[2].Name
	require.NoError(t, e.kubelet.FailPod(ns, failed, "Evicted"))
	e.runUntil(31*time.Second, "replacement for the failed pod", func() bool { return len(e.pods()) == 4 })
	assert.Equal(t, 30*time.Second, e.now())
	e.runUntil(time.Minute, "3 ready", func() bool { return e.rs("web").Status.ReadyReplicas == 3 })
	assert.Equal(t, 32*time.Second, e.now())
	assert.Equal(t, int32(3), e.rs("web").Status.Replicas, "the Failed pod stays (pod GC's job) but is not counted")
}

// TestScaleDownVictimOrder: scale-down picks, one at a time, the
// unscheduled pod, then the pending one, the not-ready one, the one with
// the lowest pod-deletion-cost, the pair on n1 (more recently ready), and
// keeps the oldest-ready pod. (This ReplicaSet has no controller, so no pod
// has a colocation rank: TestStandaloneReplicaSetHasNoColocationRank.)
func TestScaleDownVictimOrder(t *testing.T) {
	e := newEnv(t, true) // no scheduler: the test binds pods itself
	unready := map[types.UID]bool{}
	e.kubelet.Unready = func(p *v1.Pod) bool { return unready[p.UID] }
	e.createRS(simtest.ReplicaSet(ns, "web", 7, web, "nginx:1"))
	e.runUntil(time.Second, "7 pods", func() bool { return len(e.pods()) == 7 })
	pods := e.pods()
	name := func(i int) string { return pods[i].Name }
	bind := func(i int, node string) {
		require.NoError(t, e.cl.CoreV1().Pods(ns).Bind(context.TODO(), &v1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: name(i), UID: pods[i].UID}, Target: v1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{}))
	}
	// lone: ready at t=2 s on n2. doubled-up pair on n1, ready at t=32 s.
	// cheap: deletion cost -5 on n3. notReady on n3. pending: bound last.
	// unscheduled: never bound.
	lone, d1, d2, cheap, notReady, pending, unscheduled := 0, 1, 2, 3, 4, 5, 6
	bind(lone, "n2")
	unready[pods[notReady].UID] = true
	e.c.Engine.RunUntil(30 * time.Second)
	bind(d1, "n1")
	bind(d2, "n1")
	bind(cheap, "n3")
	bind(notReady, "n3")
	_, err := e.cl.CoreV1().Pods(ns).Patch(context.TODO(), name(cheap), types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"controller.kubernetes.io/pod-deletion-cost":"-5"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	e.c.Engine.RunUntil(60 * time.Second)
	bind(pending, "n2")

	// Expected victims, one per scale step. The pair on n1 goes before the
	// lone pod: it has been ready for less time (another log2 bucket); the
	// pair itself is a tie on every rule (same node, ready and created in
	// the same second), so either may go first.
	want := []int{unscheduled, pending, notReady, cheap, d1, d2}
	for step, victim := range want {
		e.scale("web", int32(6-step))
		e.runUntil(e.now()+time.Second, "a pod deleted", func() bool {
			return len(e.trace.Find(replicaset.ComponentName, "scaledDown")) == step+1
		})
		got := e.trace.Find(replicaset.ComponentName, "scaledDown")[step].Msg
		if victim == d1 || victim == d2 {
			assert.Regexp(t, "in victim order: ("+name(d1)+"|"+name(d2)+")$", got, "step %d", step)
			continue
		}
		assert.Contains(t, got, "in victim order: "+name(victim), "step %d", step)
	}
	e.runUntil(2*time.Minute, "one pod left", func() bool { return len(e.pods()) == 1 })
	assert.Equal(t, name(lone), e.pods()[0].Name)
	assert.Len(t, simtest.Events(e.c, ns, "web", "SuccessfulDelete"), 6)
}

// TestAdoptionAndRelease: a matching orphan pod is adopted (counted, its
// ownerReference patched in) instead of creating a new pod; a pod relabelled
// out of the selector is released and replaced.
func TestAdoptionAndRelease(t *testing.T) {
	e := newEnv(t, false)
	orphan := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "handmade", Labels: map[string]string{"app": "web"}},
		Spec: simtest.PodTemplate(nil, "nginx:1", "").Spec}
	_, err := e.cl.CoreV1().Pods(ns).Create(context.TODO(), orphan, metav1.CreateOptions{})
	require.NoError(t, err)
	e.c.Engine.RunUntil(5 * time.Second)
	rs := e.createRS(simtest.ReplicaSet(ns, "web", 3, web, "nginx:1"))
	e.runUntil(time.Minute, "3 ready", func() bool { return e.rs("web").Status.ReadyReplicas == 3 })
	assert.Len(t, e.pods(), 3)
	assert.Len(t, simtest.Events(e.c, ns, "web", "SuccessfulCreate"), 2, "only two pods created")
	p, err := e.cl.CoreV1().Pods(ns).Get(context.TODO(), "handmade", metav1.GetOptions{})
	require.NoError(t, err)
	ref := metav1.GetControllerOf(p)
	require.NotNil(t, ref, "adopted")
	assert.Equal(t, rs.UID, ref.UID)
	assert.Equal(t, "ReplicaSet", ref.Kind)
	assert.True(t, *ref.BlockOwnerDeletion)
	adopted := e.trace.Find(replicaset.ComponentName, "adopted")
	require.Len(t, adopted, 1)
	assert.Equal(t, "handmade", adopted[0].Name)

	// Relabel it out of the selector: released and replaced.
	_, err = e.cl.CoreV1().Pods(ns).Patch(context.TODO(), "handmade", types.MergePatchType, []byte(`{"metadata":{"labels":{"app":"debug"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	at := e.now()
	e.runUntil(time.Minute, "replacement", func() bool { return len(e.pods()) == 3 && e.rs("web").Status.ReadyReplicas == 3 })
	assert.Equal(t, at+2*time.Second, e.now())
	p, err = e.cl.CoreV1().Pods(ns).Get(context.TODO(), "handmade", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Nil(t, metav1.GetControllerOf(p), "released")
	assert.True(t, podutil.IsPodReady(p), "released, not deleted")
	require.Len(t, e.trace.Find(replicaset.ComponentName, "released"), 1)
}

// TestMinReadySeconds: pods Ready at 2 s count as available once they have
// been Ready for more than minReadySeconds. As upstream's syncReplicaSet, the
// sync that writes readyReplicas = replicas requeues itself minReadySeconds
// later (+ 1 ms: upstream's sync runs a moment after the Ready write it
// reads), which comes before the pod-turned-Ready requeue (minReadySeconds +
// 1 s): available at 12.001 s, not 13 s.
func TestMinReadySeconds(t *testing.T) {
	e := newEnv(t, false)
	rs := simtest.ReplicaSet(ns, "web", 3, web, "nginx:1")
	rs.Spec.MinReadySeconds = 10
	e.createRS(rs)
	e.runUntil(time.Minute, "ready", func() bool { return e.rs("web").Status.ReadyReplicas == 3 })
	assert.Equal(t, 2*time.Second, e.now())
	assert.Equal(t, int32(0), e.rs("web").Status.AvailableReplicas)
	e.runUntil(time.Minute, "available", func() bool { return e.rs("web").Status.AvailableReplicas == 3 })
	assert.Equal(t, 12*time.Second+time.Millisecond, e.now())
}

// TestStandaloneReplicaSetHasNoColocationRank: a ReplicaSet without a
// controller has no related pods (upstream getReplicaSetsWithSameController
// returns none), so every pod ranks 0 and "doubled-up" nodes do not lose
// pods first: the pod Ready most recently goes, even alone on its node.
func TestStandaloneReplicaSetHasNoColocationRank(t *testing.T) {
	e := newEnv(t, true) // no scheduler: the test binds pods itself
	e.createRS(simtest.ReplicaSet(ns, "web", 3, web, "nginx:1"))
	e.runUntil(time.Second, "3 pods", func() bool { return len(e.pods()) == 3 })
	pods := e.pods()
	bind := func(i int, node string) {
		require.NoError(t, e.cl.CoreV1().Pods(ns).Bind(context.TODO(), &v1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pods[i].Name, UID: pods[i].UID}, Target: v1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{}))
	}
	// Two pods share n1 (Ready at 2 s); the third is alone on n2, Ready at
	// 62 s. At 70 s they are 68 s and 8 s Ready: different log2 buckets.
	bind(0, "n1")
	bind(1, "n1")
	e.c.Engine.RunUntil(60 * time.Second)
	bind(2, "n2")
	e.c.Engine.RunUntil(70 * time.Second)
	require.Equal(t, int32(3), e.rs("web").Status.ReadyReplicas)

	e.scale("web", 2)
	e.runUntil(71*time.Second, "a pod deleted", func() bool {
		return len(e.trace.Find(replicaset.ComponentName, "scaledDown")) == 1
	})
	assert.Contains(t, e.trace.Find(replicaset.ComponentName, "scaledDown")[0].Msg, "in victim order: "+pods[2].Name)
}
