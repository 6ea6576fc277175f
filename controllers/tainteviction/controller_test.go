package tainteviction

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubesim/kubesim/controllers/internal/ctltest"
	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/sim/record"
)

const s = time.Second

func newController(env *ctltest.Env) *Controller {
	c := env.Client(Component)
	return New(env.Eng, env.Factory, c, record.New(c, env.Eng, Component, ""))
}

var (
	unreachable = v1.Taint{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute}
	notReady    = v1.Taint{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoExecute}
	maintenance = v1.Taint{Key: "example.com/maintenance", Effect: v1.TaintEffectNoExecute}
)

// setTaints replaces node's taints at engine time at.
func setTaints(env *ctltest.Env, at time.Duration, node string, taints ...v1.Taint) {
	env.Eng.At(at, "set taints", func() {
		n := env.GetNode(node)
		n.Spec.Taints = taints
		_, err := env.Admin.CoreV1().Nodes().Update(context.TODO(), n, metav1.UpdateOptions{})
		require.NoError(env.T, err)
	})
}

// deletedAt returns the time the pod was deleted (its deletionTimestamp less
// its grace period), or -1 if it is not being deleted.
func deletedAt(t *testing.T, env *ctltest.Env, name string) time.Duration {
	p := env.GetPod("default", name)
	require.NotNil(t, p, name)
	if p.DeletionTimestamp == nil {
		return -1
	}
	return p.DeletionTimestamp.Sub(ctltest.At(0).Time) - time.Duration(*p.DeletionGracePeriodSeconds)*time.Second
}

func TestEvictionTimesFollowTolerations(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	env.CreatePod(ctltest.Pod("default", "default-tol", "n1", 0)) // admission adds 300 s
	env.CreatePod(ctltest.Pod("default", "short-tol", "n1", 0,
		v1.Toleration{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](60)}))
	env.CreatePod(ctltest.Pod("default", "forever", "n1", 0,
		v1.Toleration{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}))
	tc := newController(env)
	env.Start()
	setTaints(env, 10*s, "n1", unreachable)

	env.Eng.RunUntil(10 * s)
	assert.Equal(t, map[string]time.Duration{"default/default-tol": 310 * s, "default/short-tol": 70 * s}, tc.Scheduled())

	env.Eng.RunUntil(70*s - 1)
	assert.Equal(t, time.Duration(-1), deletedAt(t, env, "short-tol"))
	env.Eng.RunUntil(70 * s)
	assert.Equal(t, 70*s, deletedAt(t, env, "short-tol"))

	env.Eng.RunUntil(1000 * s)
	assert.Equal(t, 310*s, deletedAt(t, env, "default-tol"))
	assert.Equal(t, time.Duration(-1), deletedAt(t, env, "forever"), "no tolerationSeconds: tolerated for ever")

	p := env.GetPod("default", "default-tol")
	_, cond := podutil.GetPodCondition(&p.Status, v1.DisruptionTarget)
	require.NotNil(t, cond)
	assert.Equal(t, v1.ConditionTrue, cond.Status)
	assert.Equal(t, "DeletionByTaintManager", cond.Reason)
	assert.Equal(t, "Taint manager: deleting due to NoExecute taint", cond.Message)
	assert.Equal(t, int64(1), cond.ObservedGeneration, "the generation read before the delete")
	assert.Equal(t, int64(2), p.Generation, "the graceful delete bumps it")
	assert.Equal(t, int64(30), *p.DeletionGracePeriodSeconds, "a normal graceful delete")
	assert.Equal(t, v1.PodRunning, p.Status.Phase, "without a kubelet to confirm, the pod stays Terminating")

	assert.Equal(t, []string{"Pod/short-tol: Marking for deletion Pod default/short-tol", "Pod/default-tol: Marking for deletion Pod default/default-tol"},
		env.EventMessages("TaintManagerEviction"))
	assert.Equal(t, []time.Duration{310 * s}, env.TracedAt(Component, "evicted", "default-tol"))
	assert.Empty(t, tc.Scheduled())
	env.CheckMutations()
}

func TestUntoleratedTaintDeletesAtOnce(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	env.CreatePod(ctltest.Pod("default", "plain", "n1", 0))
	env.CreatePod(ctltest.Pod("default", "tolerates", "n1", 0,
		v1.Toleration{Key: maintenance.Key, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](120)}))
	newController(env)
	env.Start()
	setTaints(env, 25*s, "n1", maintenance)
	env.Eng.RunUntil(500 * s)
	assert.Equal(t, 25*s, deletedAt(t, env, "plain"))
	assert.Equal(t, 145*s, deletedAt(t, env, "tolerates"))
	assert.Empty(t, env.TracedAt(Component, "evictionScheduled", "plain"))
}

func TestTaintRemovedCancelsEviction(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	env.CreatePod(ctltest.Pod("default", "web", "n1", 0))
	tc := newController(env)
	env.Start()
	setTaints(env, 10*s, "n1", unreachable)
	setTaints(env, 100*s, "n1")
	env.Eng.RunUntil(99 * s)
	require.Equal(t, map[string]time.Duration{"default/web": 310 * s}, tc.Scheduled())
	env.Eng.RunUntil(1000 * s)
	assert.Equal(t, time.Duration(-1), deletedAt(t, env, "web"))
	assert.Empty(t, tc.Scheduled())
	assert.Equal(t, []string{"Pod/web: Cancelling deletion of Pod default/web"}, env.EventMessages("TaintManagerEviction"))
	assert.Equal(t, []time.Duration{100 * s}, env.TracedAt(Component, "evictionCancelled", "web"))
	env.CheckMutations()
}

// TestTaintSwapKeepsCountdown: unreachable → not-ready (both tolerated for
// 300 s) does not restart the countdown.
func TestTaintSwapKeepsCountdown(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	env.CreatePod(ctltest.Pod("default", "web", "n1", 0))
	newController(env)
	env.Start()
	setTaints(env, 10*s, "n1", unreachable)
	setTaints(env, 50*s, "n1", notReady)
	env.Eng.RunUntil(1000 * s)
	assert.Equal(t, 310*s, deletedAt(t, env, "web"))
	assert.Equal(t, []string{"Pod/web: Marking for deletion Pod default/web"}, env.EventMessages("TaintManagerEviction"))
}

// TestPodArrivingOnTaintedNode: the countdown of a pod bound to an already
// tainted node starts when the controller sees the pod; the smallest
// tolerationSeconds among the taints' tolerations wins.
func TestPodArrivingOnTaintedNode(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	newController(env)
	env.Start()
	setTaints(env, 10*s, "n1", unreachable, maintenance)
	env.Eng.At(100*s, "bind", func() {
		env.CreatePod(ctltest.Pod("default", "late", "n1", 100*s,
			v1.Toleration{Key: maintenance.Key, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](200)},
			v1.Toleration{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](150)}))
	})
	env.Eng.RunUntil(1000 * s)
	assert.Equal(t, 250*s, deletedAt(t, env, "late"))
}

func TestGetMinTolerationTime(t *testing.T) {
	secs := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		name string
		tols []v1.Toleration
		want time.Duration
	}{
		{"none used", nil, 0},
		{"no seconds: forever", []v1.Toleration{{}}, -1},
		{"smallest wins", []v1.Toleration{{TolerationSeconds: secs(300)}, {TolerationSeconds: secs(60)}, {}}, 60 * s},
		{"zero means now", []v1.Toleration{{TolerationSeconds: secs(300)}, {TolerationSeconds: secs(0)}}, 0},
		{"negative means now", []v1.Toleration{{TolerationSeconds: secs(-5)}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, GetMinTolerationTime(tc.tols)) })
	}
	ok, used := GetMatchingTolerations([]v1.Taint{unreachable, maintenance}, []v1.Toleration{
		{Operator: v1.TolerationOpExists, TolerationSeconds: secs(10)},
		{Key: maintenance.Key, Operator: v1.TolerationOpExists, TolerationSeconds: secs(5)},
	})
	assert.True(t, ok)
	assert.Len(t, used, 2)
	assert.Equal(t, int64(10), *used[1].TolerationSeconds, "the first matching toleration of each taint is the one used")
	ok, _ = GetMatchingTolerations([]v1.Taint{unreachable, maintenance}, []v1.Toleration{{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists}})
	assert.False(t, ok)
}

// TestImmediateDeletionIsNotCancelled: upstream starts the deletion of a pod
// that does not tolerate a NoExecute taint at once, without a timer
// (timed_workers.go createWorker returns a nil worker for a delay <= 0), so
// CancelWork finds nothing to stop: no "Cancelling deletion" event, and the
// deletion goes ahead. Here the pod is bound and the node tainted in the
// same instant, so both handlers decide on it before the deletion runs.
func TestImmediateDeletionIsNotCancelled(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	tc := newController(env)
	env.Start()
	env.Eng.At(25*s, "bind", func() { env.CreatePod(ctltest.Pod("default", "plain", "n1", 25*s)) })
	setTaints(env, 25*s, "n1", maintenance)
	env.Eng.RunUntil(100 * s)
	assert.Equal(t, 25*s, deletedAt(t, env, "plain"))
	evs := env.Events("TaintManagerEviction")
	require.Len(t, evs, 1, "no Cancelling event")
	assert.Equal(t, "Marking for deletion Pod default/plain", evs[0].Message)
	// The second decision found no worker to keep (upstream's is nil) and
	// started a second deletion, as upstream: the two events fold into one.
	assert.Equal(t, int32(2), evs[0].Count)
	assert.Empty(t, tc.Scheduled())
	env.CheckMutations()
}

// TestCancelledEvictionSaysWhy: the evictionCancelled trace record (what the
// timeline shows) names the cause that cancelled the countdown, not always
// the lost taints: a pod deleted meanwhile (e.g. force-deleted by PodGC once
// its node is gone), a new untolerated taint that moves the deletion to now,
// a toleration that lasts for ever. Upstream records the same "Cancelling
// deletion of Pod ns/name" Event in every case (cancelWorkWithEvent).
func TestCancelledEvictionSaysWhy(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	env.CreateNode(ctltest.Node("n2", nil, 0))
	env.CreatePod(ctltest.Pod("default", "gone", "n1", 0))
	env.CreatePod(ctltest.Pod("default", "moved", "n2", 0))
	env.CreatePod(ctltest.Pod("default", "lost", "n2", 0,
		v1.Toleration{Key: maintenance.Key, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](600)}))
	newController(env)
	env.Start()
	setTaints(env, 10*s, "n1", unreachable)
	setTaints(env, 10*s, "n2", unreachable)
	env.Eng.At(50*s, "force delete", func() {
		require.NoError(t, env.Admin.CoreV1().Pods("default").Delete(context.TODO(), "gone", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}))
	})
	setTaints(env, 60*s, "n2", unreachable, maintenance)
	env.Eng.RunUntil(100 * s)

	why := map[string]string{}
	for _, r := range env.Traced(Component, "evictionCancelled") {
		why[r.Name] = r.Msg
	}
	assert.Equal(t, map[string]string{
		"gone":  "the pod was deleted",
		"moved": "superseded: not all NoExecute taints are tolerated: node.kubernetes.io/unreachable:NoExecute, example.com/maintenance:NoExecute",
	}, why)
	assert.Equal(t, 60*s, deletedAt(t, env, "moved"))
	assert.Equal(t, time.Duration(-1), deletedAt(t, env, "lost"), "the 300 s of unreachable still run")
	assert.Len(t, env.EventMessages("TaintManagerEviction"), 3, "two cancellations and one deletion")
}
