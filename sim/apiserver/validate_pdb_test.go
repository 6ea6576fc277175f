package apiserver_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func webBudget(spec policyv1.PodDisruptionBudgetSpec) *policyv1.PodDisruptionBudget {
	spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: spec}
}

// ValidatePodDisruptionBudgetSpec (pkg/apis/policy/validation): only the
// two known unhealthyPodEvictionPolicy values, and the spec named in the
// message of a budget with both minAvailable and maxUnavailable is the
// internal type's, printed with its Go field names.
func TestPDBSpecValidation(t *testing.T) {
	e := newEnv(t)
	pdbs := e.c.PolicyV1().PodDisruptionBudgets("default")
	policy := policyv1.UnhealthyPodEvictionPolicyType("Sometimes")
	_, err := pdbs.Create(ctx, webBudget(policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromInt32(1)), UnhealthyPodEvictionPolicy: &policy}), metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	assert.Equal(t, `PodDisruptionBudget.policy "web" is invalid: spec.unhealthyPodEvictionPolicy: Unsupported value: "Sometimes": supported values: "AlwaysAllow", "IfHealthyBudget"`, err.Error())

	for _, p := range []policyv1.UnhealthyPodEvictionPolicyType{policyv1.IfHealthyBudget, policyv1.AlwaysAllow} {
		b := webBudget(policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromInt32(1)), UnhealthyPodEvictionPolicy: &p})
		b.Name = strings.ToLower("web-" + string(p))
		_, err := pdbs.Create(ctx, b, metav1.CreateOptions{})
		require.NoError(t, err, p)
	}

	_, err = pdbs.Create(ctx, webBudget(policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromInt32(2)), MaxUnavailable: ptr(intstr.FromString("10%"))}), metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	assert.Equal(t, `PodDisruptionBudget.policy "web" is invalid: spec: Invalid value: {"MinAvailable":2,"Selector":{"matchLabels":{"app":"web"}},"MaxUnavailable":"10%","UnhealthyPodEvictionPolicy":null}: minAvailable and maxUnavailable cannot be both set`, err.Error())
}

// The status subresource validates the status (policy/v1
// ValidatePodDisruptionBudgetStatusUpdate): its conditions, and counts that
// are not negative.
func TestPDBStatusValidation(t *testing.T) {
	e := newEnv(t)
	pdbs := e.c.PolicyV1().PodDisruptionBudgets("default")
	pdb, err := pdbs.Create(ctx, webBudget(policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromInt32(1))}), metav1.CreateOptions{})
	require.NoError(t, err)

	bad := pdb.DeepCopy()
	bad.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, DisruptionsAllowed: -1, CurrentHealthy: -2, DesiredHealthy: -3, ExpectedPods: -4,
		Conditions: []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, LastTransitionTime: metav1.NewTime(e.eng.Now())}}}
	_, err = pdbs.UpdateStatus(ctx, bad, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	assert.Equal(t, `PodDisruptionBudget.policy "web" is invalid: [status.conditions[0].reason: Required value, `+
		`status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0, `+
		`status.currentHealthy: Invalid value: -2: must be greater than or equal to 0, `+
		`status.desiredHealthy: Invalid value: -3: must be greater than or equal to 0, `+
		`status.expectedPods: Invalid value: -4: must be greater than or equal to 0]`, err.Error())

	good := pdb.DeepCopy()
	good.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, DisruptionsAllowed: 0, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1,
		Conditions: []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, Reason: policyv1.InsufficientPodsReason,
			LastTransitionTime: metav1.NewTime(e.eng.Now())}}}
	_, err = pdbs.UpdateStatus(ctx, good, metav1.UpdateOptions{})
	require.NoError(t, err)
}
