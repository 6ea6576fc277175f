package apiserver

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks obj as a create request would be checked: on a copy, the
// resource's defaulting and create preparation run, then the registered
// admission plugins that can check a create on their own
// (CreateValidator: the Service allocator), then the same validation
// Create runs. Nothing is admitted or stored, so checks that depend on
// cluster state (the namespace exists, the priority class exists, an IP
// is free) are not made. Paths are relative to the object
// (spec.replicas). A type the server does not serve is an error at the
// root. The errors are those Create's apierrors.NewInvalid message lists,
// in its order, each once. The scenario loader uses it to reject bad
// manifests before a run.
func (s *Server) Validate(obj runtime.Object) field.ErrorList {
	res, ok := s.resourceOf(obj)
	if !ok {
		return field.ErrorList{field.InternalError(nil, fmt.Errorf("kubesim does not serve objects of type %T", obj))}
	}
	cp := obj.DeepCopyObject()
	m := cp.(metav1.Object)
	if res.Namespaced && m.GetNamespace() == "" {
		m.SetNamespace(metav1.NamespaceDefault)
	}
	if !res.Namespaced {
		m.SetNamespace("")
	}
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(m.GetGenerateName() + "xxxxx")
	}
	if res.defaults != nil {
		res.defaults(cp)
	}
	if res.prepareForCreate != nil {
		res.prepareForCreate(cp)
	}
	attrs := &Attributes{Operation: OpCreate, Resource: res, Namespace: m.GetNamespace(), Name: m.GetName(), Object: cp}
	for _, p := range s.admission {
		if v, ok := p.(CreateValidator); ok {
			if errs := v.ValidateCreate(attrs); len(errs) > 0 {
				return dedupe(errs)
			}
		}
	}
	return dedupe(s.validateCreate(res, cp))
}

// dedupe drops an error that repeats an earlier one word for word, as
// apierrors.NewInvalid's message does (field.ErrorList.ToAggregate):
// upstream reports some errors twice (an HPA metric's unsupported type).
func dedupe(errs field.ErrorList) field.ErrorList {
	var out field.ErrorList
	for _, e := range errs {
		if !slices.ContainsFunc(out, func(prev *field.Error) bool { return prev.Error() == e.Error() }) {
			out = append(out, e)
		}
	}
	return out
}
