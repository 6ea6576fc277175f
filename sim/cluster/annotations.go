package cluster

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubesim/kubesim/internal/suggest"
	"github.com/kubesim/kubesim/sim/kubelet"
	"github.com/kubesim/kubesim/sim/metrics"
)

// AnnotationPrefix starts every simulator-only annotation.
const AnnotationPrefix = "kubesim.dev/"

// podLoadAnnotations are the per-pod quantities of the load model.
var podLoadAnnotations = []string{
	metrics.CPUPerRequestAnnotation, metrics.IdleCPUAnnotation,
	metrics.MemoryPerRequestAnnotation, metrics.IdleMemoryAnnotation,
}

// PodAnnotations lists every kubesim.dev/ annotation a pod may carry: the
// kubelet's behaviour model (each also with a ".<container>" suffix), the
// load model and the service-time model.
func PodAnnotations() []string {
	return slices.Concat(kubelet.BehaviourAnnotations(), podLoadAnnotations,
		[]string{ServiceTimeAnnotation, WorkersAnnotation})
}

// ValidateAnnotations checks the kubesim.dev/ annotations of a pod, or of
// the pod template of a Deployment or ReplicaSet, with field paths from the
// object's root: an unknown name (a typo would otherwise do nothing) and a
// malformed value are errors. The cluster's admission runs it on every
// write; the scenario loader runs it too, so a bad annotation is a
// FILE:LINE error before a run. Other objects are not checked.
func ValidateAnnotations(obj runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *v1.Pod:
		if !hasPrefixed(o.Annotations) {
			return nil // the common case: nothing to check
		}
		return validatePodAnnotations(o, field.NewPath("metadata", "annotations"))
	case *appsv1.Deployment:
		return validateTemplateAnnotations(&o.Spec.Template)
	case *appsv1.ReplicaSet:
		return validateTemplateAnnotations(&o.Spec.Template)
	}
	return nil
}

// hasPrefixed reports whether any annotation is a kubesim.dev/ one.
func hasPrefixed(annotations map[string]string) bool {
	for k := range annotations {
		if strings.HasPrefix(k, AnnotationPrefix) {
			return true
		}
	}
	return false
}

func validateTemplateAnnotations(t *v1.PodTemplateSpec) field.ErrorList {
	if !hasPrefixed(t.Annotations) {
		return nil
	}
	pod := &v1.Pod{ObjectMeta: t.ObjectMeta, Spec: t.Spec}
	return validatePodAnnotations(pod, field.NewPath("spec", "template", "metadata", "annotations"))
}

func validatePodAnnotations(pod *v1.Pod, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	// The behaviour model's own check, its paths rebased under path.
	for _, e := range kubelet.ValidateAnnotations(pod) {
		e.Field = path.String() + strings.TrimPrefix(e.Field, "metadata.annotations")
		errs = append(errs, e)
	}
	keys := make([]string, 0, len(pod.Annotations))
	for k := range pod.Annotations {
		if strings.HasPrefix(k, AnnotationPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := pod.Annotations[k]
		switch {
		case kubelet.IsBehaviourAnnotation(k):
			// Checked above.
		case slices.Contains(podLoadAnnotations, k):
			q, err := resource.ParseQuantity(v)
			if err == nil && q.Sign() < 0 {
				err = fmt.Errorf("must not be negative")
			}
			if err != nil {
				errs = append(errs, field.Invalid(path.Key(k), v, "must be a non-negative quantity such as 10m (CPU) or 1Mi (memory)"))
			}
		case k == ServiceTimeAnnotation:
			if d, err := time.ParseDuration(v); err != nil || d <= 0 {
				errs = append(errs, field.Invalid(path.Key(k), v, "must be a positive duration such as 20ms"))
			}
		case k == WorkersAnnotation:
			if n, err := strconv.Atoi(v); err != nil || n <= 0 {
				errs = append(errs, field.Invalid(path.Key(k), v, "must be a positive integer"))
			}
		default:
			base, _, suffixed := strings.Cut(strings.TrimPrefix(k, AnnotationPrefix), ".")
			msg := "unknown kubesim.dev/ annotation" + suggest.Hint(k, PodAnnotations())
			if suffixed && slices.Contains(PodAnnotations(), AnnotationPrefix+base) {
				msg = fmt.Sprintf("%s%s is per pod: it takes no container suffix", AnnotationPrefix, base)
			}
			errs = append(errs, field.Invalid(path.Key(k), v, msg))
		}
	}
	return errs
}
