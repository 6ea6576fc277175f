package apiserver

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks obj as a create request would be checked: on a copy, the
// resource's defaulting and create preparation run, then the same
// validation Create runs. Nothing is admitted or stored, so checks that
// depend on cluster state (the namespace exists, the priority class
// exists) are not made. Paths are relative to the object
// (spec.replicas). A type the server does not serve is an error at the
// root. The scenario loader uses it to reject bad manifests before a run.
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
	return s.validateCreate(res, cp)
}
