package apiserver

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// strategy is the per-resource behaviour of the generic registry, as
// upstream's RESTCreateStrategy / RESTUpdateStrategy / RESTDeleteStrategy.
// Every function may be nil.
type strategy struct {
	// defaults fills defaulted fields (pkg/apis/*/v1/defaults.go), on create
	// and on update of the main resource.
	defaults func(obj runtime.Object)
	// prepareForCreate resets what clients may not set on create (status).
	prepareForCreate func(obj runtime.Object)
	// prepareForUpdate adjusts a main-resource update given the stored object.
	prepareForUpdate func(obj, old runtime.Object)
	validate         func(obj runtime.Object) field.ErrorList
	validateUpdate   func(obj, old runtime.Object) field.ErrorList
	validateStatus   func(obj, old runtime.Object) field.ErrorList
	// specEqual reports whether two objects have equal specs; resources with
	// it have a metadata.generation that bumps on every spec change.
	specEqual func(a, b runtime.Object) bool
	// gracePeriod returns the grace period of a delete and whether the
	// resource deletes gracefully at all (pods).
	gracePeriod func(obj runtime.Object, opts metav1.DeleteOptions) (int64, bool)
	// extraFields are the resource's selectable fields beyond metadata.name
	// and metadata.namespace (upstream's ToSelectableFields), with their
	// values.
	extraFields func(obj runtime.Object) fields.Set
	// fieldValue, when set, reads one of fieldNames without building the
	// whole set (the hot path of watch dispatch); extraFields is then
	// derived from it.
	fieldValue func(obj runtime.Object, field string) string
	fieldNames []string
	// fieldLabel converts a field selector's label as the kind's field
	// label conversion function does upstream (AddFieldLabelConversionFunc),
	// rejecting the labels it does not know; nil is
	// runtime.DefaultMetaV1FieldSelectorConversion (metadata.name and
	// metadata.namespace). It decides which labels a selector may use: a
	// selectable field it rejects (replicasets' status.replicas) is never
	// read, and a label it accepts that is no selectable field (pods'
	// status.podIPs) reads as "".
	fieldLabel func(label string) (string, error)
	// describe summarises an object for the trace.
	describe func(obj runtime.Object) string
	// noGarbageCollection: the resource's DefaultGarbageCollectionPolicy is
	// Unsupported (events): deletes never leave the orphan or
	// foregroundDeletion finalizer on its objects.
	noGarbageCollection bool
	// noUnconditionalUpdate: the strategy's AllowUnconditionalUpdate is
	// false (poddisruptionbudgets, leases): an update or patch result
	// without a resourceVersion is refused.
	noUnconditionalUpdate bool
}

// convertFieldLabel converts a field selector's label for r, as the
// handler's FieldSelector.Transform with the scheme's ConvertFieldLabel.
func (r *Resource) convertFieldLabel(label string) (string, error) {
	if r.fieldLabel == nil {
		l, _, err := runtime.DefaultMetaV1FieldSelectorConversion(label, "")
		return l, err
	}
	return r.fieldLabel(label)
}

// fieldLabels is a field label conversion accepting exactly labels, with
// upstream's "field label not supported" for any other.
func fieldLabels(labels ...string) func(string) (string, error) {
	return func(label string) (string, error) {
		for _, l := range labels {
			if l == label {
				return label, nil
			}
		}
		return "", fmt.Errorf("field label not supported: %s", label)
	}
}

// supportsField reports whether f is one of r's selectable fields.
func (r *Resource) supportsField(f string) bool {
	if f == "metadata.name" || f == "metadata.namespace" && r.Namespaced {
		return true
	}
	for _, n := range r.fieldNames {
		if n == f {
			return true
		}
	}
	return false
}

// fieldSet returns the selectable fields of obj.
func (r *Resource) fieldSet(obj runtime.Object) fields.Set {
	m := obj.(metav1.Object)
	var set fields.Set
	switch {
	case r.fieldValue != nil:
		set = make(fields.Set, len(r.fieldNames)+2)
		for _, f := range r.fieldNames {
			set[f] = r.fieldValue(obj, f)
		}
	case r.extraFields != nil:
		set = r.extraFields(obj)
	default:
		set = make(fields.Set, 2)
	}
	set["metadata.name"] = m.GetName()
	if r.Namespaced {
		set["metadata.namespace"] = m.GetNamespace()
	}
	return set
}

// FieldSet returns the fields of obj that field selectors can use.
func (r *Resource) FieldSet(obj runtime.Object) fields.Set { return r.fieldSet(obj) }

// objectFields is fields.Fields over one object: a selector reads the few
// fields it needs instead of a map of them all.
type objectFields struct {
	r   *Resource
	obj runtime.Object
}

func (o *objectFields) Has(f string) bool {
	_, ok := o.r.field(o.obj, f)
	return ok
}

func (o *objectFields) Get(f string) string {
	v, _ := o.r.field(o.obj, f)
	return v
}

// field returns one selectable field of obj.
func (r *Resource) field(obj runtime.Object, f string) (string, bool) {
	switch {
	case f == "metadata.name":
		return obj.(metav1.Object).GetName(), true
	case f == "metadata.namespace" && r.Namespaced:
		return obj.(metav1.Object).GetNamespace(), true
	case r.fieldValue != nil:
		if !r.supportsField(f) {
			return "", false
		}
		return r.fieldValue(obj, f), true
	case r.extraFields != nil:
		v, ok := r.extraFields(obj)[f]
		return v, ok
	}
	return "", false
}

// protoEqual compares two messages by their deterministic encoding, which
// also treats quantities semantically (they encode canonically).
func protoEqual(a, b protoMarshaler) bool {
	da, err1 := a.Marshal()
	db, err2 := b.Marshal()
	return err1 == nil && err2 == nil && bytes.Equal(da, db)
}

func podStrategy() strategy {
	return strategy{
		defaults: func(obj runtime.Object) { defaultPod(obj.(*v1.Pod)) },
		prepareForCreate: func(obj runtime.Object) {
			p := obj.(*v1.Pod)
			p.Status = v1.PodStatus{Phase: v1.PodPending, QOSClass: podQOSClass(p)}
			if len(p.Spec.SchedulingGates) > 0 {
				// upstream's applySchedulingGatedCondition; the transition
				// is the pod's creation.
				p.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse,
					Reason: v1.PodReasonSchedulingGated, Message: "Scheduling is blocked due to non-empty scheduling gates",
					LastTransitionTime: p.CreationTimestamp}}
			}
		},
		validate:       func(obj runtime.Object) field.ErrorList { return validatePod(obj.(*v1.Pod)) },
		validateUpdate: func(obj, old runtime.Object) field.ErrorList { return validatePodUpdate(obj.(*v1.Pod), old.(*v1.Pod)) },
		validateStatus: func(obj, old runtime.Object) field.ErrorList {
			return validatePodStatusUpdate(obj.(*v1.Pod), old.(*v1.Pod))
		},
		specEqual: func(a, b runtime.Object) bool { return protoEqual(&a.(*v1.Pod).Spec, &b.(*v1.Pod).Spec) },
		gracePeriod: func(obj runtime.Object, opts metav1.DeleteOptions) (int64, bool) {
			// podStrategy.CheckGracefulDelete.
			p := obj.(*v1.Pod)
			period := int64(0)
			if opts.GracePeriodSeconds != nil {
				period = *opts.GracePeriodSeconds
			} else if p.Spec.TerminationGracePeriodSeconds != nil {
				period = *p.Spec.TerminationGracePeriodSeconds
			}
			if p.Spec.NodeName == "" || p.Status.Phase == v1.PodFailed || p.Status.Phase == v1.PodSucceeded {
				period = 0
			}
			if period < 0 {
				period = 1 // a negative period is treated as 1
			}
			return period, true
		},
		fieldNames: []string{"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
			"spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
		fieldLabel: func(label string) (string, error) {
			if label == "spec.host" {
				return "spec.nodeName", nil // for old v1 clients, as upstream
			}
			return podFieldLabels(label)
		},
		fieldValue: func(obj runtime.Object, f string) string {
			p := obj.(*v1.Pod)
			switch f {
			case "spec.nodeName":
				return p.Spec.NodeName
			case "spec.restartPolicy":
				return string(p.Spec.RestartPolicy)
			case "spec.schedulerName":
				return p.Spec.SchedulerName
			case "spec.serviceAccountName":
				return p.Spec.ServiceAccountName
			case "spec.hostNetwork":
				return strconv.FormatBool(p.Spec.HostNetwork)
			case "status.phase":
				return string(p.Status.Phase)
			case "status.podIP":
				return p.Status.PodIP
			case "status.nominatedNodeName":
				return p.Status.NominatedNodeName
			}
			panic("apiserver: pod field " + f + " listed in fieldNames but not read by fieldValue")
		},
		describe: func(obj runtime.Object) string {
			p := obj.(*v1.Pod)
			s := "phase=" + string(p.Status.Phase)
			if p.Spec.NodeName != "" {
				s += " node=" + p.Spec.NodeName
			}
			if isPodReady(p) {
				s += " ready"
			}
			if p.DeletionTimestamp != nil {
				s += " terminating"
			}
			return s
		},
	}
}

// podFieldLabels are the pod field labels upstream's conversion accepts;
// status.podIPs is no selectable field (it reads as "").
var podFieldLabels = fieldLabels("metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
	"spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs",
	"status.nominatedNodeName")

func isPodReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func nodeStrategy() strategy {
	return strategy{
		defaults: func(obj runtime.Object) { defaultNode(obj.(*v1.Node)) },
		validate: func(obj runtime.Object) field.ErrorList { return validateNode(obj.(*v1.Node)) },
		validateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validateNodeUpdate(obj.(*v1.Node), old.(*v1.Node))
		},
		// No specEqual: nodes have no metadata.generation upstream.
		fieldNames: []string{"spec.unschedulable"},
		fieldLabel: fieldLabels("metadata.name", "spec.unschedulable"),
		extraFields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.unschedulable": strconv.FormatBool(obj.(*v1.Node).Spec.Unschedulable)}
		},
		describe: func(obj runtime.Object) string {
			n := obj.(*v1.Node)
			s := "ready=unknown"
			for _, c := range n.Status.Conditions {
				if c.Type == v1.NodeReady {
					s = "ready=" + string(c.Status)
				}
			}
			if n.Spec.Unschedulable {
				s += " unschedulable"
			}
			if len(n.Spec.Taints) > 0 {
				s += fmt.Sprintf(" taints=%d", len(n.Spec.Taints))
			}
			return s
		},
	}
}

func namespaceStrategy() strategy {
	return strategy{
		defaults: func(obj runtime.Object) {
			ns := obj.(*v1.Namespace)
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			ns.Labels["kubernetes.io/metadata.name"] = ns.Name
		},
		prepareForCreate: func(obj runtime.Object) {
			ns := obj.(*v1.Namespace)
			ns.Status = v1.NamespaceStatus{Phase: v1.NamespaceActive}
			ns.Spec.Finalizers = []v1.FinalizerName{v1.FinalizerKubernetes}
		},
		prepareForUpdate: func(obj, old runtime.Object) {
			// spec.finalizers only change through /finalize.
			obj.(*v1.Namespace).Spec.Finalizers = old.(*v1.Namespace).Spec.Finalizers
		},
		validate:   func(obj runtime.Object) field.ErrorList { return validateNamespace(obj.(*v1.Namespace)) },
		fieldNames: []string{"status.phase"},
		fieldLabel: fieldLabels("status.phase", "metadata.name"),
		extraFields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.phase": string(obj.(*v1.Namespace).Status.Phase)}
		},
	}
}

func serviceStrategy() strategy {
	return strategy{
		defaults: func(obj runtime.Object) { defaultService(obj.(*v1.Service)) },
		// The storage's beginCreate/beginUpdate steps before allocation
		// (normalizeClusterIPs, patchAllocatedValues) and the strategy's
		// PrepareForCreate/Update; the allocator (netsim/alloc) runs after
		// them, as admission.
		prepareForCreate: func(obj runtime.Object) {
			svc := obj.(*v1.Service)
			svc.Status = v1.ServiceStatus{}
			NormalizeServiceClusterIPs(svc, nil)
		},
		prepareForUpdate: func(obj, old runtime.Object) {
			svc, prev := obj.(*v1.Service), old.(*v1.Service)
			PatchServiceAllocatedValues(svc, prev)
			NormalizeServiceClusterIPs(svc, prev)
			DropServiceTypeDependentFields(svc, prev)
		},
		validate: func(obj runtime.Object) field.ErrorList { return validateService(obj.(*v1.Service)) },
		validateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validateServiceUpdate(obj.(*v1.Service), old.(*v1.Service))
		},
		describe: func(obj runtime.Object) string {
			svc := obj.(*v1.Service)
			return fmt.Sprintf("type=%s clusterIP=%s", svc.Spec.Type, svc.Spec.ClusterIP)
		},
		// Selectable since v1.31 (kubernetes#122541, #123905).
		fieldNames: []string{"spec.clusterIP", "spec.type"},
		fieldLabel: fieldLabels("metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type"),
		extraFields: func(obj runtime.Object) fields.Set {
			svc := obj.(*v1.Service)
			return fields.Set{"spec.clusterIP": svc.Spec.ClusterIP, "spec.type": string(svc.Spec.Type)}
		},
	}
}

// NormalizeServiceClusterIPs keeps clusterIPs in step with clusterIP, as
// upstream's normalizeClusterIPs (pkg/registry/core/service/storage): on
// a create (old nil) a clusterIP alone (an old client) becomes clusterIPs;
// on an update clusterIPs an old client left out follow an unchanged
// clusterIP, are cleared with it, or follow a changed one.
func NormalizeServiceClusterIPs(s, old *v1.Service) {
	if old == nil {
		if s.Spec.ClusterIP != "" && len(s.Spec.ClusterIPs) == 0 {
			s.Spec.ClusterIPs = []string{s.Spec.ClusterIP}
		}
		return
	}
	if len(old.Spec.ClusterIPs) > 0 && len(s.Spec.ClusterIPs) == 0 && old.Spec.ClusterIP == s.Spec.ClusterIP {
		s.Spec.ClusterIPs = slices.Clone(old.Spec.ClusterIPs)
	}
	if old.Spec.ClusterIP == s.Spec.ClusterIP || !slices.Equal(old.Spec.ClusterIPs, s.Spec.ClusterIPs) {
		return
	}
	if old.Spec.ClusterIP != "" && s.Spec.ClusterIP == "" {
		s.Spec.ClusterIPs = nil // cleared: clear on the user's behalf
		return
	}
	s.Spec.ClusterIPs = []string{s.Spec.ClusterIP}
}

// PatchServiceAllocatedValues keeps, on an update, the allocated values
// the new object leaves empty (a kubectl apply of a manifest without
// them), as upstream's patchAllocatedValues: the cluster IPs, each node
// port by the name of its port (unless another port of the new object
// already uses it) and the health-check node port.
func PatchServiceAllocatedValues(s, old *v1.Service) {
	if needsClusterIP(old) && needsClusterIP(s) {
		if s.Spec.ClusterIP == "" {
			s.Spec.ClusterIP = old.Spec.ClusterIP
		}
		if len(s.Spec.ClusterIPs) == 0 && len(old.Spec.ClusterIPs) > 0 {
			s.Spec.ClusterIPs = slices.Clone(old.Spec.ClusterIPs)
		}
	}
	if needsNodePort(old) && needsNodePort(s) {
		byName := map[string]int32{}
		for _, p := range old.Spec.Ports {
			byName[p.Name] = p.NodePort
		}
		// Ports old and new both use cannot be patched in.
		inBoth := func(np int32) bool {
			return slices.ContainsFunc(old.Spec.Ports, func(p v1.ServicePort) bool { return p.NodePort == np }) &&
				slices.ContainsFunc(s.Spec.Ports, func(p v1.ServicePort) bool { return p.NodePort == np })
		}
		for i := range s.Spec.Ports {
			if p := &s.Spec.Ports[i]; p.NodePort == 0 && !inBoth(byName[p.Name]) {
				p.NodePort = byName[p.Name]
			}
		}
	}
	if ServiceNeedsHealthCheck(old) && ServiceNeedsHealthCheck(s) && s.Spec.HealthCheckNodePort == 0 {
		s.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
	}
}

// DropServiceTypeDependentFields clears, when an update changes a
// Service's type, the fields the new type does not use that still hold
// the old values (so the user did not ask for them), as upstream's
// svcStrategy.PrepareForUpdate (pkg/registry/core/service/strategy.go,
// dropTypeDependentFields): a patch that changes only the type of a
// NodePort Service to ClusterIP is valid. The allocator releases what was
// allocated (netsim/alloc).
func DropServiceTypeDependentFields(s, old *v1.Service) {
	if needsClusterIP(old) && !needsClusterIP(s) {
		if old.Spec.ClusterIP == s.Spec.ClusterIP && slices.Equal(old.Spec.ClusterIPs, s.Spec.ClusterIPs) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
		}
		if slices.Equal(old.Spec.IPFamilies, s.Spec.IPFamilies) && (old.Spec.IPFamilies == nil) == (s.Spec.IPFamilies == nil) {
			s.Spec.IPFamilies = nil
		}
		if ptrValue(old.Spec.IPFamilyPolicy) == ptrValue(s.Spec.IPFamilyPolicy) {
			s.Spec.IPFamilyPolicy = nil
		}
	}
	// Node ports: only when the update adds none of its own.
	if needsNodePort(old) && !needsNodePort(s) && !slices.ContainsFunc(s.Spec.Ports, func(p v1.ServicePort) bool {
		return p.NodePort != 0 && !slices.ContainsFunc(old.Spec.Ports, func(o v1.ServicePort) bool { return o.NodePort == p.NodePort })
	}) {
		for i := range s.Spec.Ports {
			s.Spec.Ports[i].NodePort = 0
		}
	}
	if ServiceNeedsHealthCheck(old) && !ServiceNeedsHealthCheck(s) && s.Spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort {
		s.Spec.HealthCheckNodePort = 0
	}
	if old.Spec.Type == v1.ServiceTypeLoadBalancer && s.Spec.Type != v1.ServiceTypeLoadBalancer {
		if a, b := s.Spec.AllocateLoadBalancerNodePorts, old.Spec.AllocateLoadBalancerNodePorts; a != nil && b != nil && *a == *b {
			s.Spec.AllocateLoadBalancerNodePorts = nil
		}
		if a, b := s.Spec.LoadBalancerClass, old.Spec.LoadBalancerClass; (a == nil) == (b == nil) && (a == nil || *a == *b) {
			s.Spec.LoadBalancerClass = nil
		}
	}
	if externallyAccessible(old) && !externallyAccessible(s) && s.Spec.ExternalTrafficPolicy == old.Spec.ExternalTrafficPolicy {
		s.Spec.ExternalTrafficPolicy = ""
	}
	if s.Spec.Type != v1.ServiceTypeLoadBalancer {
		s.Status.LoadBalancer = v1.LoadBalancerStatus{}
	}
}

// needsClusterIP: every type but ExternalName has cluster IPs.
func needsClusterIP(s *v1.Service) bool { return s.Spec.Type != v1.ServiceTypeExternalName }

// needsNodePort: NodePort and LoadBalancer Services have node ports.
func needsNodePort(s *v1.Service) bool {
	return s.Spec.Type == v1.ServiceTypeNodePort || s.Spec.Type == v1.ServiceTypeLoadBalancer
}

// externallyAccessible: NodePort and LoadBalancer Services, and ClusterIP
// Services with external IPs, have an externalTrafficPolicy (upstream's
// pkg/api/v1/service ExternallyAccessible).
func externallyAccessible(s *v1.Service) bool {
	return needsNodePort(s) || s.Spec.Type == v1.ServiceTypeClusterIP && len(s.Spec.ExternalIPs) > 0
}

func ptrValue[T any](p *T) (v T) {
	if p != nil {
		v = *p
	}
	return v
}

func eventStrategy() strategy {
	return strategy{
		noGarbageCollection: true,
		validate:            func(obj runtime.Object) field.ErrorList { return validateEvent(obj.(*v1.Event)) },
		fieldNames: []string{"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
			"involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
			"reportingComponent", "source", "type"},
		fieldLabel: fieldLabels("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
			"involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
			"reportingComponent", "source", "type", "metadata.namespace", "metadata.name"),
		extraFields: func(obj runtime.Object) fields.Set {
			e := obj.(*v1.Event)
			source := e.Source.Component
			if source == "" {
				source = e.ReportingController
			}
			return fields.Set{
				"involvedObject.kind":            e.InvolvedObject.Kind,
				"involvedObject.namespace":       e.InvolvedObject.Namespace,
				"involvedObject.name":            e.InvolvedObject.Name,
				"involvedObject.uid":             string(e.InvolvedObject.UID),
				"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
				"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
				"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
				"reason":                         e.Reason,
				"reportingComponent":             e.ReportingController,
				"source":                         source,
				"type":                           e.Type,
			}
		},
		describe: func(obj runtime.Object) string {
			e := obj.(*v1.Event)
			return fmt.Sprintf("%s %s %s/%s: %s", e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
		},
	}
}

func configMapStrategy() strategy { return strategy{} }

func deploymentStrategy() strategy {
	return strategy{
		defaults:         func(obj runtime.Object) { defaultDeployment(obj.(*appsv1.Deployment)) },
		prepareForCreate: func(obj runtime.Object) { obj.(*appsv1.Deployment).Status = appsv1.DeploymentStatus{} },
		validate:         func(obj runtime.Object) field.ErrorList { return validateDeployment(obj.(*appsv1.Deployment)) },
		validateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validateDeploymentUpdate(obj.(*appsv1.Deployment), old.(*appsv1.Deployment))
		},
		specEqual: func(a, b runtime.Object) bool {
			return protoEqual(&a.(*appsv1.Deployment).Spec, &b.(*appsv1.Deployment).Spec)
		},
		describe: func(obj runtime.Object) string {
			d := obj.(*appsv1.Deployment)
			return fmt.Sprintf("replicas=%d updated=%d ready=%d available=%d", derefInt32(d.Spec.Replicas, 1),
				d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas)
		},
	}
}

func replicaSetStrategy() strategy {
	return strategy{
		defaults:         func(obj runtime.Object) { defaultReplicaSet(obj.(*appsv1.ReplicaSet)) },
		prepareForCreate: func(obj runtime.Object) { obj.(*appsv1.ReplicaSet).Status = appsv1.ReplicaSetStatus{} },
		validate:         func(obj runtime.Object) field.ErrorList { return validateReplicaSet(obj.(*appsv1.ReplicaSet)) },
		validateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validateReplicaSetUpdate(obj.(*appsv1.ReplicaSet), old.(*appsv1.ReplicaSet))
		},
		specEqual: func(a, b runtime.Object) bool {
			return protoEqual(&a.(*appsv1.ReplicaSet).Spec, &b.(*appsv1.ReplicaSet).Spec)
		},
		// Selectable (ReplicaSetToSelectableFields), but apps/v1 registers
		// no field label conversion: a selector may not use it.
		fieldNames: []string{"status.replicas"},
		extraFields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*appsv1.ReplicaSet).Status.Replicas))}
		},
		describe: func(obj runtime.Object) string {
			rs := obj.(*appsv1.ReplicaSet)
			return fmt.Sprintf("replicas=%d ready=%d available=%d", derefInt32(rs.Spec.Replicas, 1),
				rs.Status.ReadyReplicas, rs.Status.AvailableReplicas)
		},
	}
}

func endpointSliceStrategy() strategy {
	return strategy{
		defaults: func(obj runtime.Object) { defaultEndpointSlice(obj.(*discoveryv1.EndpointSlice)) },
		validate: func(obj runtime.Object) field.ErrorList {
			return validateEndpointSlice(obj.(*discoveryv1.EndpointSlice))
		},
		validateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validateEndpointSliceUpdate(obj.(*discoveryv1.EndpointSlice), old.(*discoveryv1.EndpointSlice))
		},
		specEqual: func(a, b runtime.Object) bool {
			// EndpointSlices have no spec; upstream bumps generation on any
			// change to endpoints, ports or address type, and to labels.
			x, y := a.(*discoveryv1.EndpointSlice), b.(*discoveryv1.EndpointSlice)
			cx := discoveryv1.EndpointSlice{AddressType: x.AddressType, Endpoints: x.Endpoints, Ports: x.Ports}
			cy := discoveryv1.EndpointSlice{AddressType: y.AddressType, Endpoints: y.Endpoints, Ports: y.Ports}
			return maps.Equal(x.Labels, y.Labels) && protoEqual(&cx, &cy)
		},
		describe: func(obj runtime.Object) string {
			es := obj.(*discoveryv1.EndpointSlice)
			ready := 0
			for _, e := range es.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready++
				}
			}
			return fmt.Sprintf("endpoints=%d ready=%d", len(es.Endpoints), ready)
		},
	}
}

func hpaStrategy() strategy {
	return strategy{
		defaults: func(obj runtime.Object) { defaultHPA(obj.(*autoscalingv2.HorizontalPodAutoscaler)) },
		prepareForCreate: func(obj runtime.Object) {
			obj.(*autoscalingv2.HorizontalPodAutoscaler).Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
		},
		validate: func(obj runtime.Object) field.ErrorList {
			return validateHPA(obj.(*autoscalingv2.HorizontalPodAutoscaler))
		},
		validateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validateHPA(obj.(*autoscalingv2.HorizontalPodAutoscaler))
		},
		specEqual: func(a, b runtime.Object) bool {
			return protoEqual(&a.(*autoscalingv2.HorizontalPodAutoscaler).Spec, &b.(*autoscalingv2.HorizontalPodAutoscaler).Spec)
		},
		describe: func(obj runtime.Object) string {
			h := obj.(*autoscalingv2.HorizontalPodAutoscaler)
			return fmt.Sprintf("current=%d desired=%d", h.Status.CurrentReplicas, h.Status.DesiredReplicas)
		},
	}
}

func leaseStrategy() strategy {
	return strategy{
		validate: func(obj runtime.Object) field.ErrorList { return validateLease(obj.(*coordinationv1.Lease)) },
		// pkg/registry/coordination/lease/strategy.go
		noUnconditionalUpdate: true,
	}
}

func pdbStrategy() strategy {
	return strategy{
		// pkg/registry/policy/poddisruptionbudget/strategy.go (the status
		// strategy embeds it)
		noUnconditionalUpdate: true,
		prepareForCreate: func(obj runtime.Object) {
			obj.(*policyv1.PodDisruptionBudget).Status = policyv1.PodDisruptionBudgetStatus{}
		},
		defaults: func(obj runtime.Object) { defaultPDB(obj.(*policyv1.PodDisruptionBudget)) },
		validate: func(obj runtime.Object) field.ErrorList { return validatePDB(obj.(*policyv1.PodDisruptionBudget)) },
		validateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validatePDB(obj.(*policyv1.PodDisruptionBudget))
		},
		validateStatus: func(obj, old runtime.Object) field.ErrorList {
			return validatePDBStatus(&obj.(*policyv1.PodDisruptionBudget).Status)
		},
		specEqual: func(a, b runtime.Object) bool {
			return protoEqual(&a.(*policyv1.PodDisruptionBudget).Spec, &b.(*policyv1.PodDisruptionBudget).Spec)
		},
	}
}

func priorityClassStrategy() strategy {
	return strategy{
		defaults: func(obj runtime.Object) {
			pc := obj.(*schedulingv1.PriorityClass)
			if pc.PreemptionPolicy == nil {
				p := v1.PreemptLowerPriority
				pc.PreemptionPolicy = &p
			}
		},
		validate: func(obj runtime.Object) field.ErrorList {
			return validatePriorityClass(obj.(*schedulingv1.PriorityClass))
		},
		validateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validatePriorityClassUpdate(obj.(*schedulingv1.PriorityClass), old.(*schedulingv1.PriorityClass))
		},
	}
}

func derefInt32(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}
