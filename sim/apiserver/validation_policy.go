package apiserver

import (
	"slices"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// policyPDBSpec is pkg/apis/policy.PodDisruptionBudgetSpec: upstream
// reports both bounds set with the internal type, which has no json tags.
type policyPDBSpec struct {
	MinAvailable               *intstr.IntOrString
	Selector                   *metav1.LabelSelector
	MaxUnavailable             *intstr.IntOrString
	UnhealthyPodEvictionPolicy *policyv1.UnhealthyPodEvictionPolicyType
}

var supportedEvictionPolicies = []string{string(policyv1.AlwaysAllow), string(policyv1.IfHealthyBudget)}

// validatePDB is ValidatePodDisruptionBudgetSpec.
func validatePDB(p *policyv1.PodDisruptionBudget) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if p.Spec.MinAvailable != nil && p.Spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(spec, policyPDBSpec{p.Spec.MinAvailable, p.Spec.Selector, p.Spec.MaxUnavailable, p.Spec.UnhealthyPodEvictionPolicy},
			"minAvailable and maxUnavailable cannot be both set"))
	}
	for _, v := range []struct {
		name string
		val  *intstr.IntOrString
	}{{"minAvailable", p.Spec.MinAvailable}, {"maxUnavailable", p.Spec.MaxUnavailable}} {
		if v.val != nil {
			errs = append(errs, validatePositiveIntOrPercent(*v.val, spec.Child(v.name))...)
			errs = append(errs, notMoreThan100Percent(*v.val, spec.Child(v.name))...)
		}
	}
	errs = append(errs, validateLabelSelector(p.Spec.Selector, spec.Child("selector"))...)
	if e := p.Spec.UnhealthyPodEvictionPolicy; e != nil && !slices.Contains(supportedEvictionPolicies, string(*e)) {
		errs = append(errs, field.NotSupported(spec.Child("unhealthyPodEvictionPolicy"), *e, supportedEvictionPolicies))
	}
	return errs
}

// validatePDBStatus is upstream's ValidatePodDisruptionBudgetStatusUpdate
// for policy/v1.
func validatePDBStatus(st *policyv1.PodDisruptionBudgetStatus) field.ErrorList {
	path := field.NewPath("status")
	errs := metav1validation.ValidateConditions(st.Conditions, path.Child("conditions"))
	errs = append(errs, nonNegative(path.Child("disruptionsAllowed"), int64(st.DisruptionsAllowed))...)
	errs = append(errs, nonNegative(path.Child("currentHealthy"), int64(st.CurrentHealthy))...)
	errs = append(errs, nonNegative(path.Child("desiredHealthy"), int64(st.DesiredHealthy))...)
	return append(errs, nonNegative(path.Child("expectedPods"), int64(st.ExpectedPods))...)
}
