package apiserver

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateSelectorAndTemplate is the selector and template part of
// ValidateDeploymentSpec and ValidateReplicaSetSpec: the selector, then
// (when it parses) the template against it, ValidatePodTemplateSpec, and
// what a ReplicaSet's pods may not have.
func validateSelectorAndTemplate(sel *metav1.LabelSelector, tmpl *v1.PodTemplateSpec) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if sel == nil {
		errs = append(errs, field.Required(spec.Child("selector"), ""))
	} else {
		errs = append(errs, validateLabelSelector(sel, spec.Child("selector"))...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(spec.Child("selector"), sel, "empty selector is invalid for deployment"))
		}
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return append(errs, field.Invalid(spec.Child("selector"), sel, "invalid label selector"))
	}
	tp := spec.Child("template")
	// A nil selector selects nothing (labels.Nothing is not Empty), so
	// upstream reports the template as not matching it too.
	if !s.Empty() && !s.Matches(labels.Set(tmpl.Labels)) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), tmpl.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, validatePodTemplateSpec(tmpl, tp)...)
	if tmpl.Spec.RestartPolicy != v1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), tmpl.Spec.RestartPolicy, []string{string(v1.RestartPolicyAlways)}))
	}
	if tmpl.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
	}
	return errs
}

// validatePodTemplateSpec is ValidatePodTemplateSpec: note the template's
// labels and annotations are reported under template.labels and
// template.annotations, without "metadata", as upstream does.
func validatePodTemplateSpec(tmpl *v1.PodTemplateSpec, tp *field.Path) field.ErrorList {
	errs := validateLabels(tmpl.Labels, tp.Child("labels"))
	errs = append(errs, validateAnnotations(tmpl.Annotations, tp.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&tmpl.Spec, func() *field.Path { return tp.Child("spec") }, false)...)
	if len(tmpl.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(tp.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

func nonNegative(path *field.Path, v int64) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(path, v, "must be greater than or equal to 0")}
	}
	return nil
}

func validateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	errs = append(errs, nonNegative(spec.Child("replicas"), int64(derefInt32(rs.Spec.Replicas, 1)))...)
	errs = append(errs, nonNegative(spec.Child("minReadySeconds"), int64(rs.Spec.MinReadySeconds))...)
	errs = append(errs, validateSelectorAndTemplate(rs.Spec.Selector, &rs.Spec.Template)...)
	return errs
}

func validateReplicaSetUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	errs := validateReplicaSet(rs)
	if !apiequality.Semantic.DeepEqual(rs.Spec.Selector, old.Spec.Selector) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), rs.Spec.Selector, "field is immutable"))
	}
	return errs
}

func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	errs = append(errs, nonNegative(spec.Child("replicas"), int64(derefInt32(d.Spec.Replicas, 1)))...)
	errs = append(errs, validateSelectorAndTemplate(d.Spec.Selector, &d.Spec.Template)...)
	errs = append(errs, validateDeploymentStrategy(&d.Spec.Strategy, spec.Child("strategy"))...)
	errs = append(errs, nonNegative(spec.Child("minReadySeconds"), int64(d.Spec.MinReadySeconds))...)
	if d.Spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(spec.Child("revisionHistoryLimit"), int64(*d.Spec.RevisionHistoryLimit))...)
	}
	if p := d.Spec.ProgressDeadlineSeconds; p != nil {
		errs = append(errs, nonNegative(spec.Child("progressDeadlineSeconds"), int64(*p))...)
		if *p <= d.Spec.MinReadySeconds {
			errs = append(errs, field.Invalid(spec.Child("progressDeadlineSeconds"), *p, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// validateDeploymentUpdate is ValidateDeploymentUpdate plus the
// deployment strategy's ValidateUpdate: the selector is immutable in apps/v1.
func validateDeploymentUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := validateDeployment(d)
	if !apiequality.Semantic.DeepEqual(d.Spec.Selector, old.Spec.Selector) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), d.Spec.Selector, "field is immutable"))
	}
	return errs
}

// appsDeploymentStrategy is pkg/apis/apps.DeploymentStrategy: upstream
// reports an unsupported strategy with the internal type, which has no
// json tags (and values where v1 has pointers).
type appsDeploymentStrategy struct {
	Type          appsv1.DeploymentStrategyType
	RollingUpdate *appsRollingUpdateDeployment
}

type appsRollingUpdateDeployment struct {
	MaxUnavailable intstr.IntOrString
	MaxSurge       intstr.IntOrString
}

// ValidateDeploymentStrategy.
func validateDeploymentStrategy(st *appsv1.DeploymentStrategy, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch st.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if st.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(path.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if st.RollingUpdate == nil {
			errs = append(errs, field.Required(path.Child("rollingUpdate"), "this should be defaulted and never be nil"))
			break
		}
		p := path.Child("rollingUpdate")
		mu, ms := derefIntOrString(st.RollingUpdate.MaxUnavailable), derefIntOrString(st.RollingUpdate.MaxSurge)
		errs = append(errs, validatePositiveIntOrPercent(mu, p.Child("maxUnavailable"))...)
		errs = append(errs, validatePositiveIntOrPercent(ms, p.Child("maxSurge"))...)
		if intOrPercentValue(mu) == 0 && intOrPercentValue(ms) == 0 {
			errs = append(errs, field.Invalid(p.Child("maxUnavailable"), mu, "may not be 0 when `maxSurge` is 0"))
		}
		errs = append(errs, notMoreThan100Percent(mu, p.Child("maxUnavailable"))...)
	default:
		internal := appsDeploymentStrategy{Type: st.Type}
		if ru := st.RollingUpdate; ru != nil {
			internal.RollingUpdate = &appsRollingUpdateDeployment{MaxUnavailable: derefIntOrString(ru.MaxUnavailable), MaxSurge: derefIntOrString(ru.MaxSurge)}
		}
		errs = append(errs, field.NotSupported(path, &internal, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)}))
	}
	return errs
}

// derefIntOrString is the v1-to-internal conversion of an optional
// IntOrString: nil is the zero value (the integer 0).
func derefIntOrString(v *intstr.IntOrString) intstr.IntOrString {
	if v == nil {
		return intstr.IntOrString{}
	}
	return *v
}

// percentValue is upstream's getPercentValue.
func percentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

// intOrPercentValue is upstream's getIntOrPercentValue: a string that is
// not a percentage counts as the integer it spells, or 0.
func intOrPercentValue(v intstr.IntOrString) int {
	if n, ok := percentValue(v); ok {
		return n
	}
	return v.IntValue()
}

// notMoreThan100Percent is IsNotMoreThan100Percent.
func notMoreThan100Percent(v intstr.IntOrString, path *field.Path) field.ErrorList {
	if n, ok := percentValue(v); ok && n > 100 {
		return field.ErrorList{field.Invalid(path, v, "must not be greater than 100%")}
	}
	return nil
}

// validatePositiveIntOrPercent is ValidatePositiveIntOrPercent.
func validatePositiveIntOrPercent(v intstr.IntOrString, path *field.Path) field.ErrorList {
	if v.Type == intstr.String {
		var errs field.ErrorList
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(path, v, msg))
		}
		return errs
	}
	return nonNegative(path, int64(v.IntValue()))
}
