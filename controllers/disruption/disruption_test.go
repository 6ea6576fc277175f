package disruption

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	policy "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubesim/kubesim/controllers/internal/ctltest"
	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/sim/record"
)

// The tests below port representative cases of upstream's
// pkg/controller/disruption/disruption_test.go (named after them), driving
// the controller through the API server instead of fake stores.

type fixture struct {
	t   *testing.T
	env *ctltest.Env
	dc  *Controller
	n   int
}

func newFixture(t *testing.T) *fixture {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	c := env.Client(Component)
	dc := New(env.Eng, env.Factory, c, record.New(c, env.Eng, EventSource, ""))
	env.Start()
	return &fixture{t: t, env: env, dc: dc}
}

var fooBar = map[string]string{"foo": "bar"}

// settle runs every event due now (not the future ones, such as rechecks).
func (f *fixture) settle() { f.env.Eng.RunUntil(f.env.Eng.Elapsed()) }

// resync syncs the budget as upstream's tests call dc.sync (nothing in the
// controller watches ReplicaSet or Deployment scale changes).
func (f *fixture) resync() {
	f.dc.queue.Add("default/foobar")
	f.settle()
}

func (f *fixture) pdb(minAvailable, maxUnavailable *intstr.IntOrString) {
	pdb := &policy.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "foobar"},
		Spec: policy.PodDisruptionBudgetSpec{MinAvailable: minAvailable, MaxUnavailable: maxUnavailable,
			Selector: &metav1.LabelSelector{MatchLabels: fooBar}}}
	_, err := f.env.Admin.PolicyV1().PodDisruptionBudgets("default").Create(context.TODO(), pdb, metav1.CreateOptions{})
	require.NoError(f.t, err)
	f.settle()
}

func (f *fixture) getPDB() *policy.PodDisruptionBudget {
	p, err := f.env.Admin.PolicyV1().PodDisruptionBudgets("default").Get(context.TODO(), "foobar", metav1.GetOptions{})
	require.NoError(f.t, err)
	return p
}

// verify is upstream's VerifyPdbStatus.
func (f *fixture) verify(allowed, currentHealthy, desiredHealthy, expected int32, disrupted map[string]metav1.Time) {
	f.t.Helper()
	p := f.getPDB()
	got := fmt.Sprintf("allowed=%d current=%d desired=%d expected=%d disrupted=%v", p.Status.DisruptionsAllowed,
		p.Status.CurrentHealthy, p.Status.DesiredHealthy, p.Status.ExpectedPods, len(p.Status.DisruptedPods))
	want := fmt.Sprintf("allowed=%d current=%d desired=%d expected=%d disrupted=%v", allowed, currentHealthy, desiredHealthy, expected, len(disrupted))
	assert.Equal(f.t, want, got)
	for k, v := range disrupted {
		assert.True(f.t, v.Equal(ptr.To(p.Status.DisruptedPods[k])), "disruptedPods[%s]", k)
	}
	assert.Equal(f.t, p.Generation, p.Status.ObservedGeneration)
	cond := apimeta.FindStatusCondition(p.Status.Conditions, policy.DisruptionAllowedCondition)
	require.NotNil(f.t, cond)
	if allowed > 0 {
		assert.Equal(f.t, metav1.ConditionTrue, cond.Status)
		assert.Equal(f.t, policy.SufficientPodsReason, cond.Reason)
	} else {
		assert.Equal(f.t, metav1.ConditionFalse, cond.Status)
		assert.Equal(f.t, policy.InsufficientPodsReason, cond.Reason)
	}
}

func (f *fixture) verifyAllowed(allowed int32) {
	f.t.Helper()
	assert.Equal(f.t, allowed, f.getPDB().Status.DisruptionsAllowed)
}

// pod creates a Ready pod labelled labels, controlled by owner (nil: none).
func (f *fixture) pod(name string, labels map[string]string, owner metav1.Object, ownerKind string, ready bool) *v1.Pod {
	p := ctltest.Pod("default", name, "n1", 0)
	p.Labels = labels
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: ownerKind, Name: owner.GetName(),
			UID: owner.GetUID(), Controller: ptr.To(true)}}
	}
	if !ready {
		p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionFalse}}
	}
	out := f.env.CreatePod(p)
	f.settle()
	return out
}

func (f *fixture) setReady(name string, ready bool) {
	p := f.env.GetPod("default", name)
	st := v1.ConditionFalse
	if ready {
		st = v1.ConditionTrue
	}
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == v1.PodReady {
			p.Status.Conditions[i].Status = st
		}
	}
	_, err := f.env.Admin.CoreV1().Pods("default").UpdateStatus(context.TODO(), p, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	f.settle()
}

func template(labels map[string]string) v1.PodTemplateSpec {
	return v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "img"}}}}
}

func (f *fixture) replicaSet(name string, size int32, labels map[string]string, owner *apps.Deployment) *apps.ReplicaSet {
	rs := &apps.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels},
		Spec: apps.ReplicaSetSpec{Replicas: ptr.To(size), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template(labels)}}
	if owner != nil {
		rs.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: owner.Name, UID: owner.UID, Controller: ptr.To(true)}}
	}
	out, err := f.env.Admin.AppsV1().ReplicaSets("default").Create(context.TODO(), rs, metav1.CreateOptions{})
	require.NoError(f.t, err)
	f.settle()
	return out
}

func (f *fixture) deployment(name string, size int32, labels map[string]string) *apps.Deployment {
	d := &apps.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: apps.DeploymentSpec{Replicas: ptr.To(size), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template(labels)}}
	out, err := f.env.Admin.AppsV1().Deployments("default").Create(context.TODO(), d, metav1.CreateOptions{})
	require.NoError(f.t, err)
	f.settle()
	return out
}

func (f *fixture) scaleRS(name string, replicas int32) {
	rss := f.env.Admin.AppsV1().ReplicaSets("default")
	sc, err := rss.GetScale(context.TODO(), name, metav1.GetOptions{})
	require.NoError(f.t, err)
	sc.Spec.Replicas = replicas
	_, err = rss.UpdateScale(context.TODO(), name, sc, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	f.resync()
}

func intOrStr(v intstr.IntOrString) *intstr.IntOrString { return &v }

// TestNoSelector: an empty selector matches every pod of the namespace.
func TestNoSelector(t *testing.T) {
	f := newFixture(t)
	pdb := &policy.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "foobar"},
		Spec: policy.PodDisruptionBudgetSpec{MinAvailable: intOrStr(intstr.FromInt32(3)), Selector: &metav1.LabelSelector{}}}
	_, err := f.env.Admin.PolicyV1().PodDisruptionBudgets("default").Create(context.TODO(), pdb, metav1.CreateOptions{})
	require.NoError(t, err)
	f.settle()
	f.verify(0, 0, 3, 0, nil)
	assert.Equal(t, []string{"PodDisruptionBudget/foobar: No matching pods found"}, f.env.EventMessages("NoPods"))
	f.pod("yo-yo-yo", map[string]string{"other": "label"}, nil, "", true)
	f.verify(0, 1, 3, 1, nil)
}

// TestUnavailable: counts go up as pods are added, and down when one turns
// unready.
func TestUnavailable(t *testing.T) {
	f := newFixture(t)
	f.pdb(intOrStr(intstr.FromInt32(3)), nil)
	for i := int32(0); i < 4; i++ {
		f.verify(0, i, 3, i, nil)
		f.pod(fmt.Sprintf("yo-yo-yo-%d", i), fooBar, nil, "", true)
	}
	f.verify(1, 4, 3, 4, nil)
	f.setReady("yo-yo-yo-0", false)
	f.verify(0, 3, 3, 4, nil)
	f.env.CheckMutations()
}

// TestIntegerMaxUnavailable: no disruption for pods without a controller.
func TestIntegerMaxUnavailable(t *testing.T) {
	f := newFixture(t)
	f.pdb(nil, intOrStr(intstr.FromInt32(1)))
	f.verifyAllowed(0)
	f.pod("naked", fooBar, nil, "", true)
	f.verifyAllowed(0)
	f.verify(0, 1, 0, 0, nil)
}

// TestIntegerMaxUnavailableWithScaling: expectedPods follows the
// ReplicaSet's scale.
func TestIntegerMaxUnavailableWithScaling(t *testing.T) {
	f := newFixture(t)
	f.pdb(nil, intOrStr(intstr.FromInt32(2)))
	rs := f.replicaSet("foobar", 7, fooBar, nil)
	f.pod("pod", fooBar, rs, "ReplicaSet", true)
	f.verify(0, 1, 5, 7, nil)
	f.scaleRS("foobar", 5)
	f.verify(0, 1, 3, 5, nil)
}

// TestPercentageMaxUnavailableWithScaling: 30% of 7 rounds up to 3, of 3 to 1.
func TestPercentageMaxUnavailableWithScaling(t *testing.T) {
	f := newFixture(t)
	f.pdb(nil, intOrStr(intstr.FromString("30%")))
	rs := f.replicaSet("foobar", 7, fooBar, nil)
	f.pod("pod", fooBar, rs, "ReplicaSet", true)
	f.verify(0, 1, 4, 7, nil)
	f.scaleRS("foobar", 3)
	f.verify(0, 1, 2, 3, nil)
}

// TestNakedPod / TestStatusForUnmanagedPod: a percentage with an unmanaged
// pod allows nothing, and is not a sync failure.
func TestNakedPod(t *testing.T) {
	f := newFixture(t)
	f.pdb(intOrStr(intstr.FromString("28%")), nil)
	f.verifyAllowed(0)
	f.pod("naked", fooBar, nil, "", true)
	f.verifyAllowed(0)
	cond := apimeta.FindStatusCondition(f.getPDB().Status.Conditions, policy.DisruptionAllowedCondition)
	require.NotNil(t, cond)
	assert.NotEqual(t, policy.SyncFailedReason, cond.Reason)
	assert.Len(t, f.env.Events("UnmanagedPods"), 1)
}

// TestReplicaSet: the scale of a ReplicaSet without a Deployment counts.
func TestReplicaSet(t *testing.T) {
	f := newFixture(t)
	f.pdb(intOrStr(intstr.FromString("20%")), nil)
	rs := f.replicaSet("foobar", 10, fooBar, nil)
	f.pod("pod", fooBar, rs, "ReplicaSet", true)
	f.verify(0, 1, 2, 10, nil)
}

// TestReplicationController, with a lone ReplicaSet standing in for the
// ReplicationController kubesim does not serve: 34% of 3 rounds up to 2; a
// rogue ready pod without a controller then adds to currentHealthy.
func TestReplicationController(t *testing.T) {
	labels := map[string]string{"foo": "bar", "baz": "quux"}
	f := newFixture(t)
	f.pdb(intOrStr(intstr.FromString("34%")), nil)
	rs := f.replicaSet("rs", 3, labels, nil)
	f.verify(0, 0, 0, 0, nil)
	for i := int32(0); i < 3; i++ {
		f.pod(fmt.Sprintf("foobar-%d", i), labels, rs, "ReplicaSet", true)
		if i < 2 {
			f.verify(0, i+1, 2, 3, nil)
		} else {
			f.verify(1, 3, 2, 3, nil)
		}
	}
	f.pod("rogue", fooBar, nil, "", true)
	f.verifyAllowed(2)
}

// TestTwoControllers, with a lone ReplicaSet for the ReplicationController
// and a Deployment owning a second ReplicaSet: 28% of 11 rounds up to 4, of
// 22 to 7.
func TestTwoControllers(t *testing.T) {
	rsLabels := map[string]string{"foo": "bar", "baz": "quux"}
	dLabels := map[string]string{"foo": "bar", "baz": "quuux"}
	const collectionSize, minimumOne, minimumTwo int32 = 11, 4, 7
	f := newFixture(t)
	f.pdb(intOrStr(intstr.FromString("28%")), nil)
	rs := f.replicaSet("rs", collectionSize, rsLabels, nil)
	f.verify(0, 0, 0, 0, nil)
	unavailable := collectionSize - minimumOne - 1
	for i := int32(1); i <= collectionSize; i++ {
		f.pod(fmt.Sprintf("quux-%d", i), rsLabels, rs, "ReplicaSet", i > unavailable)
		switch {
		case i <= unavailable:
			f.verify(0, 0, minimumOne, collectionSize, nil)
		case i-unavailable <= minimumOne:
			f.verify(0, i-unavailable, minimumOne, collectionSize, nil)
		default:
			f.verify(1, i-unavailable, minimumOne, collectionSize, nil)
		}
	}
	d := f.deployment("d", collectionSize, dLabels)
	drs := f.replicaSet("d-rs", collectionSize, dLabels, d)
	f.resync()
	f.verify(1, minimumOne+1, minimumOne, collectionSize, nil)
	unavailable = 2*collectionSize - (minimumTwo + 2) - unavailable
	for i := int32(1); i <= collectionSize; i++ {
		f.pod(fmt.Sprintf("quuux-%d", i), dLabels, drs, "ReplicaSet", i > unavailable)
		switch {
		case i <= unavailable:
			f.verify(0, minimumOne+1, minimumTwo, 2*collectionSize, nil)
		case i-unavailable <= minimumTwo-(minimumOne+1):
			f.verify(0, (minimumOne+1)+(i-unavailable), minimumTwo, 2*collectionSize, nil)
		default:
			f.verify(i-unavailable-(minimumTwo-(minimumOne+1)), (minimumOne+1)+(i-unavailable), minimumTwo, 2*collectionSize, nil)
		}
	}
	f.verify(2, 2+minimumTwo, minimumTwo, 2*collectionSize, nil)
	f.setReady(fmt.Sprintf("quuux-%d", collectionSize), false)
	f.verify(1, 1+minimumTwo, minimumTwo, 2*collectionSize, nil)
	f.setReady(fmt.Sprintf("quuux-%d", collectionSize-1), false)
	f.verify(0, minimumTwo, minimumTwo, 2*collectionSize, nil)
	f.setReady(fmt.Sprintf("quuux-%d", collectionSize), true)
	f.verify(1, 1+minimumTwo, minimumTwo, 2*collectionSize, nil)
}

// TestUpdateDisruptedPods: entries of pods being deleted, expired or gone
// are dropped; the rest stay until DeletionTimeout, when a recheck counts
// the pod as healthy again.
func TestUpdateDisruptedPods(t *testing.T) {
	f := newFixture(t)
	f.env.Eng.RunUntil(10 * time.Minute)
	now := metav1.NewTime(f.env.Eng.Now())
	f.pod("p1", fooBar, nil, "", true)
	f.pod("p2", fooBar, nil, "", true)
	f.pod("p3", fooBar, nil, "", true)
	require.NoError(t, f.env.Admin.CoreV1().Pods("default").Delete(context.TODO(), "p1", metav1.DeleteOptions{}))
	f.pdb(intOrStr(intstr.FromInt32(1)), nil)
	pdb := f.getPDB()
	pdb.Status.DisruptedPods = map[string]metav1.Time{
		"p1":       now,                                       // pod deletion started: dropped
		"p2":       metav1.NewTime(now.Add(-5 * time.Minute)), // expired: dropped
		"p3":       now,                                       // untouched: kept
		"notthere": now,                                       // pod gone: dropped
	}
	_, err := f.env.Admin.PolicyV1().PodDisruptionBudgets("default").UpdateStatus(context.TODO(), pdb, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.settle()
	f.verify(0, 1, 1, 3, map[string]metav1.Time{"p3": now})
	assert.Equal(t, []string{"Pod/p2: Pod was expected by PDB default/foobar to be deleted but it wasn't"}, f.env.EventMessages("NotDeleted"))

	// p3's entry expires at now+2m; the recheck (rate-limited by 5 ms) then
	// counts it healthy.
	f.env.Eng.RunUntil(12*time.Minute + 5*time.Millisecond - 1)
	f.verify(0, 1, 1, 3, map[string]metav1.Time{"p3": now})
	f.env.Eng.RunUntil(12*time.Minute + 5*time.Millisecond)
	f.settle()
	f.verify(1, 2, 1, 3, nil)
}

// TestDeploymentMaxUnavailablePercent: pods of a Deployment's ReplicaSet use
// the Deployment's replicas (25% of 4 ⇒ 1 unavailable allowed).
func TestDeploymentMaxUnavailablePercent(t *testing.T) {
	f := newFixture(t)
	d := f.deployment("web", 4, fooBar)
	rs := f.replicaSet("web-abc", 2, fooBar, d) // a rollout midway: the RS's own size does not count
	f.pdb(nil, intOrStr(intstr.FromString("25%")))
	for i := 0; i < 4; i++ {
		f.pod(fmt.Sprintf("web-abc-%d", i), fooBar, rs, "ReplicaSet", true)
	}
	f.verify(1, 4, 3, 4, nil)
}

// TestUnknownControllerKindFailsSafe: a controller kind without a scale
// subresource in kubesim makes the sync fail; the fail-safe writes
// disruptionsAllowed 0 with a SyncFailed condition.
func TestUnknownControllerKindFailsSafe(t *testing.T) {
	f := newFixture(t)
	f.pdb(intOrStr(intstr.FromString("50%")), nil)
	f.pod("ss-0", fooBar, &metav1.ObjectMeta{Name: "ss", UID: "ss-uid"}, "StatefulSet", true)
	f.pod("ss-1", fooBar, &metav1.ObjectMeta{Name: "ss", UID: "ss-uid"}, "StatefulSet", true)
	p := f.getPDB()
	assert.Equal(t, int32(0), p.Status.DisruptionsAllowed)
	cond := apimeta.FindStatusCondition(p.Status.Conditions, policy.DisruptionAllowedCondition)
	require.NotNil(t, cond)
	assert.Equal(t, policy.SyncFailedReason, cond.Reason)
	assert.Equal(t, `no matches for kind "StatefulSet" in version "apps/v1"`, cond.Message)
}

// TestMissingControllerFailsSafe: a pod whose controller (a ReplicaSet
// that does not exist, or exists with another UID) cannot be found makes
// getExpectedScale fail with "found no controllers for pod"; the sync
// records CalculateExpectedPodCountFailed and the fail-safe writes
// disruptionsAllowed 0 with SyncFailed, observed at the old generation. An
// integer minAvailable needs no controllers.
func TestMissingControllerFailsSafe(t *testing.T) {
	f := newFixture(t)
	f.replicaSet("rs", 3, fooBar, nil)
	f.pdb(nil, intOrStr(intstr.FromInt32(1)))
	f.pod("web-1", fooBar, &metav1.ObjectMeta{Name: "rs", UID: "another-uid"}, "ReplicaSet", true)
	p := f.getPDB()
	assert.Equal(t, int32(0), p.Status.DisruptionsAllowed)
	cond := apimeta.FindStatusCondition(p.Status.Conditions, policy.DisruptionAllowedCondition)
	require.NotNil(t, cond)
	assert.Equal(t, metav1.ConditionFalse, cond.Status)
	assert.Equal(t, policy.SyncFailedReason, cond.Reason)
	assert.Equal(t, `found no controllers for pod "web-1"`, cond.Message)
	assert.Equal(t, p.Status.ObservedGeneration, cond.ObservedGeneration)
	assert.Contains(t, f.env.EventMessages("CalculateExpectedPodCountFailed"),
		`PodDisruptionBudget/foobar: Failed to calculate the number of expected pods: found no controllers for pod "web-1"`)

	pdb := f.getPDB()
	pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable = nil, intOrStr(intstr.FromInt32(0))
	_, err := f.env.Admin.PolicyV1().PodDisruptionBudgets("default").Update(context.TODO(), pdb, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.settle()
	f.verify(1, 1, 0, 1, nil)
	assert.Empty(t, apimeta.FindStatusCondition(f.getPDB().Status.Conditions, policy.DisruptionAllowedCondition).Message)
}

// TestStaleDisruptionTargetCleared: a DisruptionTarget condition on a pod
// that was not deleted goes back to False after 2 minutes, observed at the
// pod's generation (syncStalePodDisruption; KEP-5067).
func TestStaleDisruptionTargetCleared(t *testing.T) {
	f := newFixture(t)
	p := ctltest.Pod("default", "marked", "n1", 0)
	p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{Type: v1.DisruptionTarget, Status: v1.ConditionTrue,
		Reason: "EvictionByEvictionAPI", LastTransitionTime: ctltest.At(30 * time.Second)})
	f.env.Eng.RunUntil(30 * time.Second)
	f.env.CreatePod(p)
	f.env.Eng.RunUntil(150*time.Second - 1)
	_, cond := podutil.GetPodCondition(&f.env.GetPod("default", "marked").Status, v1.DisruptionTarget)
	require.Equal(t, v1.ConditionTrue, cond.Status)
	f.env.Eng.RunUntil(150 * time.Second)
	_, cond = podutil.GetPodCondition(&f.env.GetPod("default", "marked").Status, v1.DisruptionTarget)
	assert.Equal(t, v1.ConditionFalse, cond.Status)
	assert.Equal(t, int64(1), cond.ObservedGeneration)
	assert.Equal(t, []time.Duration{150 * time.Second}, f.env.TracedAt(Component, "staleDisruptionCleared", "marked"))
}

// TestDrainHonoursBudget: the API server's eviction subresource against the
// status this controller keeps — a drain of three pods under minAvailable 2
// gets one eviction through, is refused while the evicted pod's replacement
// is not ready, and proceeds once it is; a budget whose spec changed refuses
// until the controller has observed the new generation.
func TestDrainHonoursBudget(t *testing.T) {
	f := newFixture(t)
	d := f.deployment("web", 3, fooBar)
	rs := f.replicaSet("web-abc", 3, fooBar, d)
	for _, n := range []string{"web-1", "web-2", "web-3"} {
		f.pod(n, fooBar, rs, "ReplicaSet", true)
	}
	f.pdb(intOrStr(intstr.FromInt32(2)), nil)
	f.verify(1, 3, 2, 3, nil)
	pods := f.env.Admin.CoreV1().Pods("default")
	evict := func(name string) error {
		return pods.EvictV1(context.TODO(), &policy.Eviction{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}})
	}

	require.NoError(t, evict("web-1"))
	require.NotNil(t, f.env.GetPod("default", "web-1").DeletionTimestamp, "evicted: Terminating")
	err := evict("web-2")
	require.True(t, apierrors.IsTooManyRequests(err), "same instant: the budget is spent: %v", err)
	f.settle()
	// The controller drops web-1 from disruptedPods (it is being deleted).
	f.verify(0, 2, 2, 3, nil)
	err = evict("web-2")
	require.True(t, apierrors.IsTooManyRequests(err), "%v", err)
	assert.Contains(t, err.Error(), "Cannot evict pod as it would violate the pod's disruption budget.")

	// The kubelet finishes web-1; the ReplicaSet's replacement starts unready.
	require.NoError(t, pods.Delete(context.TODO(), "web-1", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}))
	f.pod("web-4", fooBar, rs, "ReplicaSet", false)
	f.verify(0, 2, 2, 3, nil)
	require.True(t, apierrors.IsTooManyRequests(evict("web-2")))
	f.setReady("web-4", true)
	f.verify(1, 3, 2, 3, nil)
	require.NoError(t, evict("web-2"))
	f.settle()
	f.verify(0, 2, 2, 3, nil)

	// A spec change is not honoured until observed.
	pdb := f.getPDB()
	pdb.Spec.MinAvailable = intOrStr(intstr.FromInt32(1))
	_, err = f.env.Admin.PolicyV1().PodDisruptionBudgets("default").Update(context.TODO(), pdb, metav1.UpdateOptions{})
	require.NoError(t, err)
	err = evict("web-3")
	require.True(t, apierrors.IsTooManyRequests(err))
	assert.Contains(t, err.Error(), "Cannot evict pod")
	f.settle()
	f.verify(1, 2, 1, 3, nil)
	require.NoError(t, evict("web-3"))
	f.env.CheckMutations()
}
