package apiserver_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// runningPod creates a bound, Running pod labelled app=web, Ready or not.
func (e *env) runningPod(t *testing.T, name string, ready bool) *v1.Pod {
	t.Helper()
	pods := e.c.CoreV1().Pods("default")
	_, err := pods.Create(ctx, pod(name), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: v1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	p, err := pods.Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	p.Status.Phase = v1.PodRunning
	st := v1.ConditionFalse
	if ready {
		st = v1.ConditionTrue
	}
	p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{Type: v1.PodReady, Status: st})
	p, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	return p
}

// budget creates a PodDisruptionBudget selecting app=web with the status
// the disruption controller would have written.
func (e *env) budget(t *testing.T, name string, st policyv1.PodDisruptionBudgetStatus) *policyv1.PodDisruptionBudget {
	t.Helper()
	pdbs := e.c.PolicyV1().PodDisruptionBudgets("default")
	pdb, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromInt32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	pdb.Status = st
	pdb, err = pdbs.UpdateStatus(ctx, pdb, metav1.UpdateOptions{})
	require.NoError(t, err)
	return pdb
}

func hasDisruptionTarget(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.DisruptionTarget {
			return true
		}
	}
	return false
}

// A pod selected by two budgets is not evicted: upstream's EvictionREST
// returns a Failure Status with code 500 and no reason, which the client
// receives as an error carrying exactly that message (no InternalError
// reason, no "Internal error occurred" prefix; eviction.go Create).
func TestEvictionWithTwoBudgetsAnswers500(t *testing.T) {
	e := newEnv(t)
	e.runningPod(t, "a", true)
	st := policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, DisruptionsAllowed: 1, CurrentHealthy: 1, DesiredHealthy: 0, ExpectedPods: 1}
	e.budget(t, "one", st)
	e.budget(t, "two", st)

	err := e.c.CoreV1().Pods("default").EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
	require.Error(t, err)
	var se apierrors.APIStatus
	require.ErrorAs(t, err, &se)
	assert.Equal(t, metav1.Status{Status: metav1.StatusFailure, Code: 500,
		Message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."}, se.Status())
	assert.Equal(t, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.", err.Error())
	p, err := e.c.CoreV1().Pods("default").Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Nil(t, p.DeletionTimestamp)
	assert.False(t, hasDisruptionTarget(p))
}

// A budget whose status lags its spec refuses with a suggested retry of
// 10 s; a spent budget suggests none (eviction.go createTooManyRequestsError
// and checkAndDecrement).
func TestEvictionRefusalRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.runningPod(t, "a", true)
	pdb := e.budget(t, "web", policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1})
	evict := func() error {
		return e.c.CoreV1().Pods("default").EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
	}

	err := evict()
	require.True(t, apierrors.IsTooManyRequests(err), "%v", err)
	_, suggested := apierrors.SuggestsClientDelay(err)
	assert.False(t, suggested, "a spent budget suggests no delay")
	assert.Equal(t, []metav1.StatusCause{{Type: policyv1.DisruptionBudgetCause, Message: "The disruption budget web needs 1 healthy pods and has 1 currently"}},
		err.(apierrors.APIStatus).Status().Details.Causes)

	pdb.Spec.MinAvailable = ptr(intstr.FromInt32(0))
	_, err = e.c.PolicyV1().PodDisruptionBudgets("default").Update(ctx, pdb, metav1.UpdateOptions{})
	require.NoError(t, err)
	err = evict()
	require.True(t, apierrors.IsTooManyRequests(err), "%v", err)
	assert.Equal(t, "Cannot evict pod as it would violate the pod's disruption budget.", err.Error())
	delay, suggested := apierrors.SuggestsClientDelay(err)
	assert.True(t, suggested)
	assert.Equal(t, 10, delay)
	assert.Equal(t, []metav1.StatusCause{{Type: policyv1.DisruptionBudgetCause, Message: "The disruption budget web is still being processed by the server."}},
		err.(apierrors.APIStatus).Status().Details.Causes)
}

// More than 2000 evictions not yet confirmed by the disruption controller
// make the budget refuse with 403 (eviction.go MaxDisruptedPodSize).
func TestEvictionRefusedWhenDisruptedPodsTooMany(t *testing.T) {
	e := newEnv(t)
	e.runningPod(t, "a", true)
	st := policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, DisruptionsAllowed: 5, CurrentHealthy: 5, DesiredHealthy: 0, ExpectedPods: 5,
		DisruptedPods: map[string]metav1.Time{}}
	for i := 0; i < 2000; i++ {
		st.DisruptedPods[fmt.Sprintf("gone-%d", i)] = metav1.NewTime(e.eng.Now())
	}
	pdb := e.budget(t, "web", st)
	evict := func() error {
		return e.c.CoreV1().Pods("default").EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
	}
	// 2000 entries are still allowed; the eviction adds a 2001st.
	require.NoError(t, evict())
	pdb, err := e.c.PolicyV1().PodDisruptionBudgets("default").Get(ctx, pdb.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Len(t, pdb.Status.DisruptedPods, 2001)

	e.runningPod(t, "b", true)
	err = e.c.CoreV1().Pods("default").EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "b"}})
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Equal(t, `poddisruptionbudget.policy "web" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`, err.Error())
	p, err := e.c.CoreV1().Pods("default").Get(ctx, "b", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Nil(t, p.DeletionTimestamp)
}

// The eviction's delete preconditions are checked against the pod before
// the DisruptionTarget condition is written, and a resourceVersion
// precondition is then carried over to the version that write produced
// (eviction.go addConditionAndDeletePod): a matching precondition evicts,
// a stale one or another UID changes nothing.
func TestEvictionPreconditions(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	a := e.runningPod(t, "a", true)
	evict := func(name string, pre *metav1.Preconditions) error {
		return pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name},
			DeleteOptions: &metav1.DeleteOptions{Preconditions: pre}})
	}
	unchanged := func(name string) {
		t.Helper()
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Nil(t, p.DeletionTimestamp, name)
		assert.False(t, hasDisruptionTarget(p), "%s: no DisruptionTarget", name)
	}

	err := evict("a", &metav1.Preconditions{UID: ptr(a.UID + "x")})
	require.True(t, apierrors.IsConflict(err), "%v", err)
	assert.Equal(t, fmt.Sprintf(`Operation cannot be fulfilled on Pod "a": the UID in the precondition (%sx) does not match the UID in record (%s). The object might have been deleted and then recreated`, a.UID, a.UID), err.Error())
	unchanged("a")

	stale := "1"
	err = evict("a", &metav1.Preconditions{ResourceVersion: &stale})
	require.True(t, apierrors.IsConflict(err), "%v", err)
	assert.Equal(t, fmt.Sprintf(`Operation cannot be fulfilled on Pod "a": the ResourceVersion in the precondition (1) does not match the ResourceVersion in record (%s). The object might have been modified`, a.ResourceVersion), err.Error())
	unchanged("a")

	require.NoError(t, evict("a", &metav1.Preconditions{UID: &a.UID, ResourceVersion: &a.ResourceVersion}))
	p, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotNil(t, p.DeletionTimestamp)
	assert.True(t, hasDisruptionTarget(p))

	// A Pending pod (evicted without looking at budgets) honours them too.
	_, err = pods.Create(ctx, pod("pending"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "pending"}, Target: v1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	err = evict("pending", &metav1.Preconditions{ResourceVersion: &stale})
	require.True(t, apierrors.IsConflict(err), "%v", err)
	unchanged("pending")
}

// An unready pod evicted without spending the budget (its application is
// healthy, or the policy is AlwaysAllow) is deleted on the condition that
// it has not changed since it was read: upstream sets the precondition to
// the resourceVersion it read, replacing the caller's.
func TestEvictionOfUnhealthyPodUsesItsOwnResourceVersion(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	e.runningPod(t, "ready", true)
	e.runningPod(t, "unready", false)
	e.budget(t, "web", policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 2})
	stale := "1"
	require.NoError(t, pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "unready"},
		DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &stale}}}))
	p, err := pods.Get(ctx, "unready", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotNil(t, p.DeletionTimestamp)
	assert.True(t, hasDisruptionTarget(p))
	pdb, err := e.c.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, pdb.Status.DisruptedPods, "no budget spent")
}

// An unready Running pod (eviction.go Create, KEP-3017): under
// IfHealthyBudget (or no policy) it is evicted without spending the budget
// only while the budget is healthy (currentHealthy >= desiredHealthy > 0),
// else the budget decides; under AlwaysAllow it is always evicted without
// spending the budget.
func TestEvictionOfUnhealthyPodByPolicy(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		policy                  *policyv1.UnhealthyPodEvictionPolicyType
		current, desired, allow int32
		evicted, spent          bool
	}{
		{"no policy, healthy budget", nil, 2, 2, 0, true, false},
		{"IfHealthyBudget, healthy budget", ptr(policyv1.IfHealthyBudget), 2, 2, 0, true, false},
		{"IfHealthyBudget, unhealthy budget", ptr(policyv1.IfHealthyBudget), 1, 2, 0, false, false},
		{"IfHealthyBudget, nothing desired, budget allows", ptr(policyv1.IfHealthyBudget), 1, 0, 1, true, true},
		{"IfHealthyBudget, nothing desired, budget spent", ptr(policyv1.IfHealthyBudget), 0, 0, 0, false, false},
		{"AlwaysAllow, unhealthy budget", ptr(policyv1.AlwaysAllow), 1, 2, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.runningPod(t, "unready", false)
			pdb := e.budget(t, "web", policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, CurrentHealthy: tc.current, DesiredHealthy: tc.desired,
				DisruptionsAllowed: tc.allow, ExpectedPods: 3})
			if tc.policy != nil {
				pdb.Spec.UnhealthyPodEvictionPolicy = tc.policy
				pdb, err := e.c.PolicyV1().PodDisruptionBudgets("default").Update(ctx, pdb, metav1.UpdateOptions{})
				require.NoError(t, err)
				pdb.Status.ObservedGeneration = pdb.Generation
				_, err = e.c.PolicyV1().PodDisruptionBudgets("default").UpdateStatus(ctx, pdb, metav1.UpdateOptions{})
				require.NoError(t, err)
			}
			err := e.c.CoreV1().Pods("default").EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "unready"}})
			if tc.evicted {
				require.NoError(t, err)
			} else {
				require.True(t, apierrors.IsTooManyRequests(err), "%v", err)
			}
			p, err := e.c.CoreV1().Pods("default").Get(ctx, "unready", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.evicted, p.DeletionTimestamp != nil)
			after, err := e.c.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.spent, len(after.Status.DisruptedPods) == 1)
		})
	}
}

// An eviction is a create (of pods/eviction): NamespaceLifecycle refuses it
// in a namespace being deleted, with the NamespaceTerminating cause kubectl
// drain looks for (plugin/pkg/admission/namespace/lifecycle Admit).
func TestEvictionInTerminatingNamespaceForbidden(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	pods := e.c.CoreV1().Pods("shop")
	_, err = pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, e.c.CoreV1().Namespaces().Delete(ctx, "shop", metav1.DeleteOptions{}))

	err = pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Equal(t, `pods "a" is forbidden: unable to create new content in namespace shop because it is being terminated`, err.Error())
	assert.True(t, apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause))
	p, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	assert.False(t, hasDisruptionTarget(p))

	err = e.c.CoreV1().Pods("nowhere").EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
	assert.Equal(t, `namespaces "nowhere" not found`, fmt.Sprint(err))
}
