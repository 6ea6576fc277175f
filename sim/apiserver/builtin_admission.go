package apiserver

import (
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// builtinAdmission runs the admission plugins kube-apiserver enables by
// default that matter to kubesim, in upstream's order:
// NamespaceLifecycle, DefaultTolerationSeconds, Priority.
func (s *Server) builtinAdmission(a *Attributes) error {
	if err := s.namespaceLifecycle(a); err != nil {
		return err
	}
	if a.Resource.Name == "pods" && a.Subresource == "" {
		pod := a.Object.(*v1.Pod)
		switch a.Operation {
		case OpCreate:
			s.defaultTolerationSeconds(pod)
			if err := s.admitPriority(pod, a.requestName()); err != nil {
				return err
			}
		case OpUpdate:
			// DefaultTolerationSeconds admits updates too: a full update
			// without them (kubectl replace) gets them back.
			s.defaultTolerationSeconds(pod)
			// Priority keeps what it set at creation when an update
			// omits it (admitPod); validation refuses other changes.
			old := a.OldObject.(*v1.Pod)
			if pod.Spec.Priority == nil {
				pod.Spec.Priority = old.Spec.Priority
			}
			if pod.Spec.PreemptionPolicy == nil {
				pod.Spec.PreemptionPolicy = old.Spec.PreemptionPolicy
			}
		}
	}
	return nil
}

// builtinValidation runs the validating half of the built-in admission
// plugins, after the object passed validation (as kube-apiserver's
// validating admission runs after the strategy's): Priority's check that
// only one PriorityClass is the global default.
func (s *Server) builtinValidation(a *Attributes) error {
	if a.Resource.Name != "priorityclasses" || a.Subresource != "" || (a.Operation != OpCreate && a.Operation != OpUpdate) {
		return nil
	}
	pc := a.Object.(*schedulingv1.PriorityClass)
	if !pc.GlobalDefault {
		return nil
	}
	dpc, err := s.defaultPriorityClass(a.Resource)
	if err != nil {
		return err
	}
	if dpc != nil && (a.Operation == OpCreate || dpc.Name != pc.Name) {
		// By now a generateName has become the name, which upstream's
		// validating admission reports.
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
			fmt.Errorf("PriorityClass %v is already marked as default. Only one default can exist", dpc.Name))
	}
	return nil
}

// namespaceLifecycle rejects objects in namespaces that do not exist or are
// being deleted (plugin/pkg/admission/namespace/lifecycle).
func (s *Server) namespaceLifecycle(a *Attributes) error {
	if !a.Resource.Namespaced || a.Operation != OpCreate {
		return nil
	}
	// The server's memo holds the namespace as the server last wrote it
	// (every write goes through the server): no store read needed.
	nsRes := s.mustResource("namespaces")
	var obj runtime.Object
	var err error
	if e, ok := s.memo[nsRes.key("", a.Namespace)]; ok {
		obj = e.obj
	} else {
		obj, err = s.Get(nsRes, "", a.Namespace)
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			return apierrors.NewNotFound(nsRes.GroupResource(), a.Namespace)
		}
		return err
	}
	ns := obj.(*v1.Namespace)
	if ns.Status.Phase == v1.NamespaceTerminating {
		err := apierrors.NewForbidden(a.Resource.GroupResource(), a.requestName(),
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", a.Namespace))
		// Upstream's NamespaceLifecycle adds this cause; controllers test
		// for it to skip their failure events and conditions.
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    v1.NamespaceTerminatingCause,
			Message: fmt.Sprintf("namespace %s is being terminated", a.Namespace),
			Field:   "metadata.namespace",
		})
		return err
	}
	return nil
}

// immortalNamespaces may not be deleted (NamespaceLifecycle's
// immortalNamespaces).
var immortalNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic}

// namespaceDeletable refuses the deletion of an immortal namespace, as
// NamespaceLifecycle does.
func namespaceDeletable(res *Resource, name string) error {
	if res.Name == "namespaces" && slices.Contains(immortalNamespaces, name) {
		return apierrors.NewForbidden(res.GroupResource(), name, fmt.Errorf("this namespace may not be deleted"))
	}
	return nil
}

// defaultTolerationSeconds adds the not-ready and unreachable NoExecute
// tolerations (300 s) to pods that lack them
// (plugin/pkg/admission/defaulttolerationseconds).
func (s *Server) defaultTolerationSeconds(pod *v1.Pod) {
	if len(pod.Spec.Tolerations) == 0 {
		// Most pods: both tolerations, one read-only slice for all (its
		// capacity is its length, so an append copies it).
		if s.defaultTolerations == nil {
			notReady, unreachable := s.cfg.DefaultNotReadyTolerationSeconds, s.cfg.DefaultUnreachableTolerationSeconds
			s.defaultTolerations = slices.Clip([]v1.Toleration{
				{Key: v1.TaintNodeNotReady, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: &notReady},
				{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: &unreachable}})
		}
		pod.Spec.Tolerations = s.defaultTolerations
		return
	}
	notReady, unreachable := false, false
	for _, t := range pod.Spec.Tolerations {
		if (t.Key == v1.TaintNodeNotReady || t.Key == "") && (t.Effect == v1.TaintEffectNoExecute || t.Effect == "") {
			notReady = true
		}
		if (t.Key == v1.TaintNodeUnreachable || t.Key == "") && (t.Effect == v1.TaintEffectNoExecute || t.Effect == "") {
			unreachable = true
		}
	}
	if !notReady {
		secs := s.cfg.DefaultNotReadyTolerationSeconds
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, v1.Toleration{Key: v1.TaintNodeNotReady,
			Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: &secs})
	}
	if !unreachable {
		secs := s.cfg.DefaultUnreachableTolerationSeconds
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, v1.Toleration{Key: v1.TaintNodeUnreachable,
			Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: &secs})
	}
}

// admitPriority resolves spec.priorityClassName into spec.priority and
// spec.preemptionPolicy, using the global default class when none is named
// (plugin/pkg/admission/priority); podName is the pod's name in its errors.
func (s *Server) admitPriority(pod *v1.Pod, podName string) error {
	pcRes := s.mustResource("priorityclasses")
	var pc *schedulingv1.PriorityClass
	if name := pod.Spec.PriorityClassName; name != "" {
		obj, err := s.Get(pcRes, "", name)
		if err != nil {
			if apierrors.IsNotFound(err) {
				return apierrors.NewForbidden(s.mustResource("pods").GroupResource(), podName,
					fmt.Errorf("no PriorityClass with name %v was found", name))
			}
			return err
		}
		pc = obj.(*schedulingv1.PriorityClass)
	} else {
		var err error
		if pc, err = s.defaultPriorityClass(pcRes); err != nil {
			return err
		}
	}
	// Without a class: priority 0 and PreemptLowerPriority
	// (getDefaultPriority); a class without a policy (not stored: the
	// strategy defaults it) leaves the pod's as it is.
	var priority int32
	policy := &preemptLowerPriority
	if pc != nil {
		priority = pc.Value
		policy = pc.PreemptionPolicy
		pod.Spec.PriorityClassName = pc.Name
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != priority {
		return apierrors.NewForbidden(s.mustResource("pods").GroupResource(), podName,
			fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, priority))
	}
	// Shared pointers (the interner's): pods of one class carry equal
	// ones, and a stored pod's are read-only.
	pod.Spec.Priority = internValue(s.intern.int32s, priority)
	if policy != nil {
		if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy != *policy {
			return apierrors.NewForbidden(s.mustResource("pods").GroupResource(), podName,
				fmt.Errorf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *pod.Spec.PreemptionPolicy, *policy))
		}
		pod.Spec.PreemptionPolicy = internValue(s.intern.preemption, *policy)
	}
	return nil
}

var preemptLowerPriority = v1.PreemptLowerPriority

// defaultPriorityClass is the global default PriorityClass (nil if there
// is none). Admission lets only one class be the default; were there more,
// it would be the one with the lowest value, the first by name of equals
// (upstream's getDefaultPriorityClass, in its lister's order). It is looked
// up again only after a PriorityClass was written.
func (s *Server) defaultPriorityClass(pcRes *Resource) (*schedulingv1.PriorityClass, error) {
	if s.defaultPCAt == pcRes.writes+1 {
		return s.defaultPC, nil
	}
	objs, _, err := s.ListSelected(pcRes, "", Selector{})
	if err != nil {
		return nil, err
	}
	var pc *schedulingv1.PriorityClass
	for _, o := range objs {
		if c := o.(*schedulingv1.PriorityClass); c.GlobalDefault && (pc == nil || c.Value < pc.Value) {
			pc = c
		}
	}
	s.defaultPC, s.defaultPCAt = pc, pcRes.writes+1
	return pc, nil
}

var _ runtime.Object = &v1.Pod{}
