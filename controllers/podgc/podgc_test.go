package podgc

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/controllers/internal/ctltest"
	"github.com/kubesim/kubesim/controllers/podutil"
)

const s = time.Second

const holdFinalizer = "example.com/hold"

func deleteNode(env *ctltest.Env, at time.Duration, name string) {
	env.Eng.At(at, "delete node", func() {
		require.NoError(env.T, env.Admin.CoreV1().Nodes().Delete(context.TODO(), name, metav1.DeleteOptions{}))
	})
}

// TestOrphanQuarantine: a pod bound to a node that was deleted at 25 s is
// first noticed by the pass at 40 s, checked again after the 40 s
// quarantine (pass at 80 s), marked Failed with DisruptionTarget and force
// deleted. A node that comes back within the quarantine saves its pods.
func TestOrphanQuarantine(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("gone", nil, 0))
	env.CreateNode(ctltest.Node("back", nil, 0))
	held := ctltest.Pod("default", "web-held", "gone", 0)
	held.Finalizers = []string{holdFinalizer} // keeps the object to inspect after the delete
	env.CreatePod(held)
	env.CreatePod(ctltest.Pod("default", "web-plain", "gone", 0))
	env.CreatePod(ctltest.Pod("default", "web-saved", "back", 0))
	gc := New(env.Eng, env.Factory, env.Client(Component), Config{})
	env.Start()
	deleteNode(env, 25*s, "gone")
	deleteNode(env, 25*s, "back")
	env.Eng.At(50*s, "node back", func() { env.CreateNode(ctltest.Node("back", nil, 50*s)) })

	env.Eng.RunUntil(40 * s)
	assert.Equal(t, map[string]time.Duration{"gone": 80 * s, "back": 80 * s}, gc.Quarantined())
	env.Eng.RunUntil(80*s - 1)
	require.NotNil(t, env.GetPod("default", "web-plain"))
	assert.Equal(t, v1.PodRunning, env.GetPod("default", "web-held").Status.Phase)

	env.Eng.RunUntil(80 * s)
	assert.Nil(t, env.GetPod("default", "web-plain"), "force deleted")
	p := env.GetPod("default", "web-held")
	require.NotNil(t, p)
	assert.NotNil(t, p.DeletionTimestamp)
	assert.Equal(t, int64(0), *p.DeletionGracePeriodSeconds)
	assert.Equal(t, v1.PodFailed, p.Status.Phase)
	_, cond := podutil.GetPodCondition(&p.Status, v1.DisruptionTarget)
	require.NotNil(t, cond)
	assert.Equal(t, "DeletionByPodGC", cond.Reason)
	assert.Equal(t, "PodGC: node no longer exists", cond.Message)
	assert.Equal(t, int64(1), cond.ObservedGeneration, "the generation of the pod PodGC saw")
	assert.Equal(t, int64(1), p.Status.ObservedGeneration, "marking it Failed is a status update of that generation")
	assert.Equal(t, int64(2), p.Generation, "the delete bumps it")
	assert.Equal(t, []time.Duration{80 * s}, env.TracedAt(Component, "forceDeleted", "web-plain"))

	env.Eng.RunUntil(300 * s)
	saved := env.GetPod("default", "web-saved")
	require.NotNil(t, saved, "its node came back within the quarantine")
	assert.Nil(t, saved.DeletionTimestamp)
	assert.NotContains(t, gc.Quarantined(), "back")
	assert.Contains(t, gc.Quarantined(), "gone", "the finalizer-held pod keeps its missing node under watch")
	env.CheckMutations()
}

// TestTerminatedThresholdOrder: with a threshold of 1, five of six
// terminated pods go, evicted first, then oldest first, name breaking ties.
func TestTerminatedThresholdOrder(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	terminated := func(name string, at time.Duration, phase v1.PodPhase, reason string) {
		env.Eng.At(at, "create "+name, func() {
			p := ctltest.Pod("default", name, "n1", at)
			p.Status.Phase, p.Status.Reason = phase, reason
			env.CreatePod(p)
		})
	}
	terminated("a", 1*s, v1.PodSucceeded, "")
	terminated("b", 2*s, v1.PodFailed, "")
	terminated("d", 3*s, v1.PodSucceeded, "")
	terminated("g", 4*s, v1.PodSucceeded, "")
	terminated("f", 4*s, v1.PodFailed, "")
	terminated("c", 5*s, v1.PodFailed, "Evicted")
	env.Eng.At(1*s, "running", func() { env.CreatePod(ctltest.Pod("default", "running", "n1", 1*s)) })
	New(env.Eng, env.Factory, env.Client(Component), Config{TerminatedPodThreshold: 1})
	env.Start()
	env.Eng.RunUntil(20 * s)
	var order []string
	for _, r := range env.Traced(Component, "forceDeleted") {
		order = append(order, r.Name)
		assert.Equal(t, 20*s, r.Time)
	}
	assert.Equal(t, []string{"c", "a", "b", "d", "f"}, order)
	assert.NotNil(t, env.GetPod("default", "g"))
	assert.NotNil(t, env.GetPod("default", "running"), "running pods do not count")
}

func TestTerminatedBelowThresholdKept(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	for _, n := range []string{"a", "b"} {
		p := ctltest.Pod("default", n, "n1", 0)
		p.Status.Phase = v1.PodSucceeded
		env.CreatePod(p)
	}
	New(env.Eng, env.Factory, env.Client(Component), Config{TerminatedPodThreshold: 2})
	env.Start()
	env.Eng.RunUntil(100 * s)
	assert.Empty(t, env.Traced(Component, "forceDeleted"))
}

// TestOutOfServiceAndUnscheduledTerminating covers the two terminating-pod
// collections.
func TestOutOfServiceAndUnscheduledTerminating(t *testing.T) {
	env := ctltest.New(t, 1)
	dead := ctltest.Node("dead", nil, 0)
	dead.Status.Conditions[3].Status = v1.ConditionUnknown
	dead.Spec.Taints = []v1.Taint{{Key: v1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: v1.TaintEffectNoExecute}}
	env.CreateNode(dead)
	silent := ctltest.Node("silent", nil, 0)
	silent.Status.Conditions[3].Status = v1.ConditionUnknown
	env.CreateNode(silent)
	env.CreatePod(ctltest.Pod("default", "on-dead", "dead", 0))
	env.CreatePod(ctltest.Pod("default", "on-silent", "silent", 0))
	unscheduled := ctltest.Pod("default", "unscheduled", "", 0)
	unscheduled.Status = v1.PodStatus{Phase: v1.PodPending}
	unscheduled.Finalizers = []string{holdFinalizer}
	env.CreatePod(unscheduled)
	New(env.Eng, env.Factory, env.Client(Component), Config{})
	env.Start()
	env.Eng.At(5*s, "delete pods", func() {
		for _, n := range []string{"on-dead", "on-silent", "unscheduled"} {
			require.NoError(t, env.Admin.CoreV1().Pods("default").Delete(context.TODO(), n, metav1.DeleteOptions{}))
		}
	})
	env.Eng.RunUntil(19 * s)
	require.NotNil(t, env.GetPod("default", "on-dead"), "terminating, waiting for a kubelet")
	env.Eng.RunUntil(20 * s)
	assert.Nil(t, env.GetPod("default", "on-dead"), "out-of-service node: force deleted")
	p := env.GetPod("default", "on-silent")
	require.NotNil(t, p, "no out-of-service taint: stays Terminating")
	assert.NotNil(t, p.DeletionTimestamp)
	u := env.GetPod("default", "unscheduled")
	require.NotNil(t, u, "held by its finalizer")
	assert.Equal(t, v1.PodFailed, u.Status.Phase)
	assert.Equal(t, []time.Duration{20 * s}, env.TracedAt(Component, "forceDeleted", "unscheduled"))
	assert.Equal(t, []time.Duration{20 * s}, env.TracedAt(Component, "forceDeleted", "on-dead"))
}
