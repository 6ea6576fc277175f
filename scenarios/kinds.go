package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// Resource describes one kind of object kubesim serves, with the names
// kubectl accepts for it.
type Resource struct {
	Group      string   // "" for the core group
	Version    string   // the one version kubesim serves
	Kind       string   // e.g. Deployment
	Plural     string   // e.g. deployments; kubectl's resource name
	ShortNames []string // e.g. deploy
	Namespaced bool
	// Manifest: users may create it in objects, files and apply events.
	Manifest bool
	// Generated: controllers or kubelets create objects of this kind, so a
	// reference to a name the scenario never creates is not an error.
	Generated bool
	// Fields are the field selector labels the API server supports for the
	// kind, besides metadata.name (and metadata.namespace when namespaced).
	Fields []string
}

// GVK is the resource's group, version and kind.
func (r Resource) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// GVR is the resource's group, version and plural resource name.
func (r Resource) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Plural}
}

// APIVersion is the manifest apiVersion: "v1" or "group/version".
func (r Resource) APIVersion() string { return r.GVK().GroupVersion().String() }

// Singular is kubectl's singular resource name, e.g. "deployment".
func (r Resource) Singular() string { return strings.ToLower(r.Kind) }

// New returns an empty typed object of the kind (e.g. *appsv1.Deployment)
// with apiVersion and kind set.
func (r Resource) New() runtime.Object {
	obj, err := scheme.Scheme.New(r.GVK())
	if err != nil {
		panic(fmt.Sprintf("scenarios: kind %s is in the table but not in client-go's scheme: %v", r.GVK(), err))
	}
	obj.GetObjectKind().SetGroupVersionKind(r.GVK())
	return obj
}

// Resources is every kind kubesim knows, in kubectl's alphabetical order of
// plural names. Node objects come from spec.cluster.nodes, never manifests.
var Resources = []Resource{
	{Version: "v1", Kind: "ConfigMap", Plural: "configmaps", ShortNames: []string{"cm"}, Namespaced: true, Manifest: true},
	{Group: "apps", Version: "v1", Kind: "Deployment", Plural: "deployments", ShortNames: []string{"deploy"}, Namespaced: true, Manifest: true},
	{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice", Plural: "endpointslices", Namespaced: true, Manifest: true, Generated: true},
	{Version: "v1", Kind: "Event", Plural: "events", ShortNames: []string{"ev"}, Namespaced: true, Generated: true,
		Fields: []string{"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
			"involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
			"reason", "reportingComponent", "source", "type"}},
	{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler", Plural: "horizontalpodautoscalers", ShortNames: []string{"hpa"}, Namespaced: true, Manifest: true},
	{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease", Plural: "leases", Namespaced: true, Generated: true},
	{Version: "v1", Kind: "Namespace", Plural: "namespaces", ShortNames: []string{"ns"}, Manifest: true, Fields: []string{"status.phase"}},
	{Version: "v1", Kind: "Node", Plural: "nodes", ShortNames: []string{"no"}, Fields: []string{"spec.unschedulable"}},
	{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget", Plural: "poddisruptionbudgets", ShortNames: []string{"pdb"}, Namespaced: true, Manifest: true},
	{Version: "v1", Kind: "Pod", Plural: "pods", ShortNames: []string{"po"}, Namespaced: true, Manifest: true, Generated: true,
		Fields: []string{"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
			"spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}},
	{Group: "scheduling.k8s.io", Version: "v1", Kind: "PriorityClass", Plural: "priorityclasses", ShortNames: []string{"pc"}, Manifest: true},
	{Group: "apps", Version: "v1", Kind: "ReplicaSet", Plural: "replicasets", ShortNames: []string{"rs"}, Namespaced: true, Manifest: true, Generated: true},
	{Version: "v1", Kind: "Service", Plural: "services", ShortNames: []string{"svc"}, Namespaced: true, Manifest: true, Fields: []string{"spec.clusterIP", "spec.type"}},
}

// LookupResource resolves a kubectl resource name: plural, singular, short
// name or kind (any case), optionally qualified by group as kubectl allows
// ("deployments.apps", "deployment.v1.apps").
func LookupResource(name string) (Resource, bool) {
	lower := strings.ToLower(name)
	base, group, qualified := strings.Cut(lower, ".")
	for _, r := range Resources {
		if qualified {
			g := strings.ToLower(r.Group)
			if group != g && group != strings.ToLower(r.Version)+"."+g {
				continue
			}
		}
		if base == r.Plural || base == r.Singular() || slices.Contains(r.ShortNames, base) {
			return r, true
		}
	}
	return Resource{}, false
}

// resourceForKind finds the table entry for a manifest's kind (exact case).
func resourceForKind(kind string) (Resource, bool) {
	for _, r := range Resources {
		if r.Kind == kind {
			return r, true
		}
	}
	return Resource{}, false
}

// resourceNames lists every accepted name, for suggestions.
func resourceNames() []string {
	var out []string
	for _, r := range Resources {
		out = append(out, r.Plural, r.Singular())
		out = append(out, r.ShortNames...)
	}
	return out
}

// manifestKinds lists the kinds accepted in manifests, for messages.
func manifestKinds() []string {
	var out []string
	for _, r := range Resources {
		if r.Manifest {
			out = append(out, r.Kind)
		}
	}
	return out
}

// builtinNamespaces exist in every cluster before the scenario starts.
var builtinNamespaces = []string{"default", "kube-node-lease", "kube-public", "kube-system"}

// Ref names one object as kubectl does: kind/name, e.g. deployment/web.
type Ref struct {
	Resource Resource
	Name     string
}

// String is the canonical kubectl form, e.g. "deployment/web".
func (r Ref) String() string { return r.Resource.Singular() + "/" + r.Name }

// ParseRef parses "kind/name" with any kubectl name for the kind.
func ParseRef(s string) (Ref, error) {
	kind, name, ok := strings.Cut(s, "/")
	if !ok || kind == "" || name == "" || strings.Contains(name, "/") {
		return Ref{}, fmt.Errorf("must be kind/name (e.g. deployment/web), not %q", s)
	}
	r, found := LookupResource(kind)
	if !found {
		return Ref{}, fmt.Errorf("unknown kind %q%s", kind, suggest(kind, resourceNames()))
	}
	return Ref{Resource: r, Name: name}, nil
}
