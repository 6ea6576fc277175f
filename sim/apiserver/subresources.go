package apiserver

import (
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Bind assigns a pod to a node, as POST pods/binding does (the scheduler's
// DefaultBinder): it sets spec.nodeName and the PodScheduled=True condition.
func (s *Server) Bind(user, namespace string, b *v1.Binding) error {
	res := s.mustResource("pods")
	key := s.storedKey(res, namespace, b.Name)
	cur, curRev, curData, err := s.current(res, key, b.Name)
	if err != nil {
		return err
	}
	pod := cur.(*v1.Pod)
	if b.UID != "" && b.UID != pod.UID {
		return apierrors.NewConflict(res.GroupResource(), b.Name,
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		return apierrors.NewInvalid(bindingKind, b.Name, field.ErrorList{field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"})})
	}
	if b.Target.Name == "" {
		return apierrors.NewInvalid(bindingKind, b.Name, field.ErrorList{field.Required(field.NewPath("target", "name"), "")})
	}
	if pod.DeletionTimestamp != nil {
		return apierrors.NewConflict(res.GroupResource(), b.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", b.Name))
	}
	if pod.Spec.NodeName != "" {
		return apierrors.NewConflict(res.GroupResource(), b.Name, fmt.Errorf("pod %v is already assigned to node %q", b.Name, pod.Spec.NodeName))
	}
	// Binding changes spec.nodeName only: the rest of the spec is shared
	// with the stored version (never modified).
	next := &v1.Pod{Spec: pod.Spec}
	pod.ObjectMeta.DeepCopyInto(&next.ObjectMeta)
	pod.Status.DeepCopyInto(&next.Status)
	next.Spec.NodeName = b.Target.Name
	for k, v := range b.Annotations {
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		next.Annotations[k] = v
	}
	setPodCondition(&next.Status, v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionTrue,
		LastTransitionTime: metav1.NewTime(s.eng.Now())})
	_, err = s.update(user, res, key, cur, curRev, curData, next, "binding")
	return err
}

var bindingKind = schemaGroupKind{Kind: "Binding"}

type schemaGroupKind = k8sschema.GroupKind

func labelsOf(pod *v1.Pod) labels.Set { return labels.Set(pod.Labels) }

// setPodCondition sets or replaces a condition, keeping its transition time
// when the status does not change (podutil.UpdatePodCondition).
func setPodCondition(st *v1.PodStatus, c v1.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status == c.Status {
				c.LastTransitionTime = st.Conditions[i].LastTransitionTime
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

// GetScale reads the /scale subresource of a deployment or replicaset.
func (s *Server) GetScale(res *Resource, namespace, name string) (*autoscalingv1.Scale, error) {
	if !res.HasScale {
		return nil, apierrors.NewNotFound(res.GroupResource(), name+"/scale")
	}
	obj, err := s.Get(res, namespace, name)
	if err != nil {
		return nil, err
	}
	return scaleOf(obj)
}

func scaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	m := obj.(metav1.Object)
	sc := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
		ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp()}}
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		sc.Spec.Replicas = derefInt32(o.Spec.Replicas, 1)
		sc.Status.Replicas = o.Status.Replicas
		sel = o.Spec.Selector
	case *appsv1.ReplicaSet:
		sc.Spec.Replicas = derefInt32(o.Spec.Replicas, 1)
		sc.Status.Replicas = o.Status.Replicas
		sel = o.Spec.Selector
	default:
		return nil, fmt.Errorf("no scale subresource for %T", obj)
	}
	if sel != nil {
		ls, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		sc.Status.Selector = ls.String()
	}
	return sc, nil
}

// UpdateScale writes spec.replicas through /scale, which bumps the
// generation like any spec change. A resourceVersion in the Scale is a
// precondition on the parent object.
func (s *Server) UpdateScale(user string, res *Resource, namespace string, sc *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	if !res.HasScale {
		return nil, apierrors.NewNotFound(res.GroupResource(), sc.Name+"/scale")
	}
	if sc.Spec.Replicas < 0 {
		return nil, apierrors.NewInvalid(schemaGroupKind{Group: "autoscaling", Kind: "Scale"}, sc.Name, field.ErrorList{
			field.Invalid(field.NewPath("spec", "replicas"), sc.Spec.Replicas, "must be greater than or equal to 0")})
	}
	key := s.storedKey(res, namespace, sc.Name)
	cur, curRev, curData, err := s.current(res, key, sc.Name)
	if err != nil {
		return nil, err
	}
	if err := s.checkResourceVersion(res, sc.Name, sc.ResourceVersion, curRev); err != nil {
		return nil, err
	}
	next := cur.DeepCopyObject()
	switch o := next.(type) {
	case *appsv1.Deployment:
		o.Spec.Replicas = &sc.Spec.Replicas
	case *appsv1.ReplicaSet:
		o.Spec.Replicas = &sc.Spec.Replicas
	}
	out, err := s.update(user, res, key, cur, curRev, curData, next, "")
	if err != nil {
		return nil, err
	}
	return scaleOf(out)
}

// maxDisruptedPodSize is the most disruptedPods entries a budget may hold
// for the eviction subresource to spend it (upstream MaxDisruptedPodSize).
const maxDisruptedPodSize = 2000

// Evict evicts a pod through the policy/v1 Eviction subresource, as
// upstream's EvictionREST.Create after admission: a Pending, terminal or terminating pod is
// marked and deleted without looking at budgets; a pod selected by two
// budgets is refused (500); an unready pod is deleted without spending its
// budget when the policy is AlwaysAllow or the budget is healthy; otherwise
// the budget must allow a disruption (429 otherwise), is decremented and
// records the pod in disruptedPods, and the pod is marked DisruptionTarget
// and deleted. Server-side retries on conflicts are not needed: nothing
// writes between the reads and the writes of one eviction.
func (s *Server) Evict(user, namespace string, ev *policyv1.Eviction) error {
	podRes := s.mustResource("pods")
	// An eviction is a create of pods/eviction: NamespaceLifecycle admits
	// it first (refused while the namespace is being deleted).
	if err := s.namespaceLifecycle(&Attributes{Operation: OpCreate, Resource: podRes, Subresource: "eviction",
		Namespace: namespace, Name: ev.Name, Object: ev, User: user}); err != nil {
		return err
	}
	obj, err := s.Get(podRes, namespace, ev.Name)
	if err != nil {
		return err
	}
	pod := obj.(*v1.Pod)
	opts := &metav1.DeleteOptions{}
	if ev.DeleteOptions != nil {
		opts = ev.DeleteOptions
	}
	if err := NoDryRun(opts.DryRun); err != nil {
		return err
	}
	// Pending, terminal or already terminating pods are evicted without
	// looking at budgets (upstream canIgnorePDB).
	if pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed || pod.Status.Phase == v1.PodPending || pod.DeletionTimestamp != nil {
		return s.markDisruptionTargetAndDelete(user, pod, opts)
	}
	pdbRes := s.mustResource("poddisruptionbudgets")
	pdbs, _, err := s.ListSelected(pdbRes, namespace, Selector{})
	if err != nil {
		return err
	}
	var matching []*policyv1.PodDisruptionBudget
	for _, o := range pdbs {
		pdb := o.(*policyv1.PodDisruptionBudget)
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		// An empty selector selects every pod (policy/v1); a nil one none.
		if err != nil || !sel.Matches(labelsOf(pod)) {
			continue
		}
		matching = append(matching, pdb)
	}
	if len(matching) > 1 {
		// Upstream returns this Failure Status as the result, which the
		// handler turns into the error as is: no reason, no prefix.
		return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
			Message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."}}
	}
	if len(matching) == 1 {
		pdb := matching[0]
		unhealthyBypass := false
		if !isPodReady(pod) {
			p := pdb.Spec.UnhealthyPodEvictionPolicy
			unhealthyBypass = (p != nil && *p == policyv1.AlwaysAllow) ||
				(pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0)
		}
		if unhealthyBypass {
			// The pod is deleted only as it was read (upstream
			// updateDeletionOptions: the caller's resourceVersion
			// precondition gives way to the one read).
			opts = opts.DeepCopy()
			if opts.Preconditions == nil {
				opts.Preconditions = &metav1.Preconditions{}
			}
			rv := pod.ResourceVersion
			opts.Preconditions.ResourceVersion = &rv
		} else if err := s.checkAndDecrement(user, pdb, pod.Name); err != nil {
			return err
		}
	}
	return s.markDisruptionTargetAndDelete(user, pod, opts)
}

// checkAndDecrement spends one disruption of the budget on the pod
// (upstream checkAndDecrement).
func (s *Server) checkAndDecrement(user string, pdb *policyv1.PodDisruptionBudget, podName string) error {
	const refused = "Cannot evict pod as it would violate the pod's disruption budget."
	pdbGR := k8sschema.GroupResource{Group: policyv1.GroupName, Resource: "poddisruptionbudget"}
	switch {
	case pdb.Status.ObservedGeneration < pdb.Generation:
		return tooManyRequests(refused, 10, fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdb.Name))
	case pdb.Status.DisruptionsAllowed < 0:
		return apierrors.NewForbidden(pdbGR, pdb.Name, fmt.Errorf("pdb disruptions allowed is negative"))
	case len(pdb.Status.DisruptedPods) > maxDisruptedPodSize:
		return apierrors.NewForbidden(pdbGR, pdb.Name, fmt.Errorf("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
	case pdb.Status.DisruptionsAllowed == 0:
		return tooManyRequests(refused, 0, fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently",
			pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy))
	}
	next := pdb.DeepCopy()
	next.Status.DisruptionsAllowed--
	if next.Status.DisruptionsAllowed == 0 {
		// pdbhelper.UpdateDisruptionAllowedCondition.
		apimeta.SetStatusCondition(&next.Status.Conditions, metav1.Condition{Type: policyv1.DisruptionAllowedCondition,
			Status: metav1.ConditionFalse, Reason: policyv1.InsufficientPodsReason,
			ObservedGeneration: next.Status.ObservedGeneration, LastTransitionTime: metav1.NewTime(s.eng.Now())})
	}
	if next.Status.DisruptedPods == nil {
		next.Status.DisruptedPods = map[string]metav1.Time{}
	}
	next.Status.DisruptedPods[podName] = metav1.NewTime(s.eng.Now())
	_, err := s.Update(user, s.mustResource("poddisruptionbudgets"), pdb.Namespace, next, "status", metav1.UpdateOptions{})
	return err
}

// markDisruptionTargetAndDelete marks an evicted pod as a disruption target,
// then deletes it (upstream addConditionAndDeletePod): the delete
// preconditions must hold for the pod as read before anything is written,
// and a resourceVersion precondition then applies to the marked version.
func (s *Server) markDisruptionTargetAndDelete(user string, pod *v1.Pod, opts *metav1.DeleteOptions) error {
	if p := opts.Preconditions; p != nil {
		podGR := k8sschema.GroupResource{Resource: "Pod"}
		if p.UID != nil && len(*p.UID) > 0 && *p.UID != pod.UID {
			return apierrors.NewConflict(podGR, pod.Name, fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). "+
				"The object might have been deleted and then recreated", *p.UID, pod.UID))
		}
		if p.ResourceVersion != nil && len(*p.ResourceVersion) > 0 && *p.ResourceVersion != pod.ResourceVersion {
			return apierrors.NewConflict(podGR, pod.Name, fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). "+
				"The object might have been modified", *p.ResourceVersion, pod.ResourceVersion))
		}
	}
	podRes := s.mustResource("pods")
	next := pod.DeepCopy()
	setPodCondition(&next.Status, v1.PodCondition{Type: v1.DisruptionTarget, Status: v1.ConditionTrue,
		Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting", LastTransitionTime: metav1.NewTime(s.eng.Now())})
	marked, err := s.Update(user, podRes, pod.Namespace, next, "status", metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	if p := opts.Preconditions; p != nil && p.ResourceVersion != nil {
		opts = opts.DeepCopy()
		rv := marked.(metav1.Object).GetResourceVersion()
		opts.Preconditions.ResourceVersion = &rv
	}
	_, _, err = s.Delete(user, podRes, pod.Namespace, pod.Name, *opts)
	return err
}

// tooManyRequests is a 429 with a DisruptionBudget cause.
func tooManyRequests(msg string, retryAfterSeconds int, cause string) error {
	err := apierrors.NewTooManyRequests(msg, retryAfterSeconds)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: cause})
	return err
}

var _ = intstr.FromInt32
