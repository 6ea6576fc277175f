package scenarios

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// selectableFields lists the field labels the API server accepts in a field
// selector for r: metadata.name, metadata.namespace for namespaced kinds, and
// the kind's own (Resource.Fields).
func selectableFields(r Resource) []string {
	out := []string{"metadata.name"}
	if r.Namespaced {
		out = append(out, "metadata.namespace")
	}
	return append(out, r.Fields...)
}

// parseFieldSelector parses a kubectl field selector and rejects fields the
// API server does not support for the kind, with its message.
func parseFieldSelector(s string, r Resource) (fields.Selector, error) {
	sel, err := fields.ParseSelector(s)
	if err != nil {
		return nil, err
	}
	allowed := selectableFields(r)
	for _, req := range sel.Requirements() {
		if !slices.Contains(allowed, req.Field) {
			return nil, fmt.Errorf("field label not supported: %s%s (%s supports %s)", req.Field, suggest(req.Field, allowed),
				r.Plural, strings.Join(allowed, ", "))
		}
	}
	return sel, nil
}

// fieldSet computes the selectable fields of obj, as the API server's
// GetAttrs functions do for each kind: from the typed object, or from its
// unstructured form for other representations.
func fieldSet(obj runtime.Object, r Resource) (fields.Set, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	set := fields.Set{"metadata.name": acc.GetName()}
	if r.Namespaced {
		set["metadata.namespace"] = acc.GetNamespace()
	}
	if len(r.Fields) == 0 {
		return set, nil
	}
	if typedFieldSet(obj, set) {
		return set, nil
	}
	m, err := toMap(obj, r)
	if err != nil {
		return nil, err
	}
	str := func(path ...string) string {
		v, _, _ := unstructured.NestedFieldNoCopy(m, path...)
		switch x := v.(type) {
		case string:
			return x
		case bool:
			if x {
				return "true"
			}
		}
		return ""
	}
	boolean := func(path ...string) string {
		v, _, _ := unstructured.NestedFieldNoCopy(m, path...)
		if b, ok := v.(bool); ok && b {
			return "true"
		}
		return "false"
	}
	switch r.Kind {
	case "Pod":
		podIP := ""
		if ips, ok, _ := unstructured.NestedSlice(m, "status", "podIPs"); ok && len(ips) > 0 {
			if first, ok := ips[0].(map[string]any); ok {
				podIP, _ = first["ip"].(string)
			}
		}
		set["spec.nodeName"] = str("spec", "nodeName")
		set["spec.restartPolicy"] = str("spec", "restartPolicy")
		set["spec.schedulerName"] = str("spec", "schedulerName")
		set["spec.serviceAccountName"] = str("spec", "serviceAccountName")
		set["spec.hostNetwork"] = boolean("spec", "hostNetwork")
		set["status.phase"] = str("status", "phase")
		set["status.podIP"] = podIP
		set["status.nominatedNodeName"] = str("status", "nominatedNodeName")
	case "Node":
		set["spec.unschedulable"] = boolean("spec", "unschedulable")
	case "Namespace":
		set["status.phase"] = str("status", "phase")
	case "Service":
		set["spec.clusterIP"] = str("spec", "clusterIP")
		set["spec.type"] = str("spec", "type")
	case "Event":
		source := str("source", "component")
		if source == "" {
			source = str("reportingComponent")
		}
		for _, f := range []string{"kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"} {
			set["involvedObject."+f] = str("involvedObject", f)
		}
		set["reason"] = str("reason")
		set["reportingComponent"] = str("reportingComponent")
		set["source"] = source
		set["type"] = str("type")
	default:
		panic(fmt.Sprintf("scenarios: kind %s lists selectable fields but fieldSet does not compute them", r.Kind))
	}
	return set, nil
}

// toMap converts an object to the unstructured form kubectl works on: the
// object's JSON decoded with integers kept as int64, apiVersion and kind set.
func toMap(obj runtime.Object, r Resource) (map[string]any, error) {
	if u, ok := obj.(runtime.Unstructured); ok {
		return u.UnstructuredContent(), nil
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := utiljson.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if _, ok := m["apiVersion"]; !ok || m["apiVersion"] == "" {
		m["apiVersion"] = r.APIVersion()
	}
	if _, ok := m["kind"]; !ok || m["kind"] == "" {
		m["kind"] = r.Kind
	}
	return m, nil
}

// typedFieldSet fills the kind's fields straight from a typed object (the
// common, fast path); false when obj is not one of the typed kinds.
func typedFieldSet(obj runtime.Object, set fields.Set) bool {
	switch o := obj.(type) {
	case *v1.Pod:
		podIP := ""
		if len(o.Status.PodIPs) > 0 {
			podIP = o.Status.PodIPs[0].IP
		}
		set["spec.nodeName"] = o.Spec.NodeName
		set["spec.restartPolicy"] = string(o.Spec.RestartPolicy)
		set["spec.schedulerName"] = o.Spec.SchedulerName
		set["spec.serviceAccountName"] = o.Spec.ServiceAccountName
		set["spec.hostNetwork"] = strconv.FormatBool(o.Spec.HostNetwork)
		set["status.phase"] = string(o.Status.Phase)
		set["status.podIP"] = podIP
		set["status.nominatedNodeName"] = o.Status.NominatedNodeName
	case *v1.Node:
		set["spec.unschedulable"] = strconv.FormatBool(o.Spec.Unschedulable)
	case *v1.Namespace:
		set["status.phase"] = string(o.Status.Phase)
	case *v1.Service:
		set["spec.clusterIP"] = o.Spec.ClusterIP
		set["spec.type"] = string(o.Spec.Type)
	case *v1.Event:
		source := o.Source.Component
		if source == "" {
			source = o.ReportingController
		}
		set["involvedObject.kind"] = o.InvolvedObject.Kind
		set["involvedObject.namespace"] = o.InvolvedObject.Namespace
		set["involvedObject.name"] = o.InvolvedObject.Name
		set["involvedObject.uid"] = string(o.InvolvedObject.UID)
		set["involvedObject.apiVersion"] = o.InvolvedObject.APIVersion
		set["involvedObject.resourceVersion"] = o.InvolvedObject.ResourceVersion
		set["involvedObject.fieldPath"] = o.InvolvedObject.FieldPath
		set["reason"] = o.Reason
		set["reportingComponent"] = o.ReportingController
		set["source"] = source
		set["type"] = o.Type
	default:
		return false
	}
	return true
}
