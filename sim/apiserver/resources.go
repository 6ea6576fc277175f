package apiserver

import (
	"sort"
	"strings"
	"unsafe"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resource describes one kind of object the API server serves: its names,
// scope, storage prefix and the strategy (defaulting, validation, field
// selectors) that applies to it.
type Resource struct {
	// GroupVersion of the served version ("v1", "apps/v1", ...).
	GroupVersion schema.GroupVersion
	// Name is the lower-case plural ("pods"); Kind the CamelCase kind ("Pod").
	Name string
	Kind string
	// Singular and ShortNames are the extra names kubectl accepts.
	Singular   string
	ShortNames []string
	// Namespaced is false for cluster-scoped resources (nodes, namespaces, priorityclasses).
	Namespaced bool
	// HasStatus reports a /status subresource: the main resource ignores
	// status changes and /status ignores everything else.
	HasStatus bool
	// HasScale reports a /scale subresource.
	HasScale bool
	// NoWatchCache: the server keeps no decoded copy and no event history
	// of the resource (kube-apiserver's DefaultWatchCacheSizes disables the
	// watch cache of events). Reads decode from the store; each watch is
	// served by a store watch of its own, as kube-apiserver serves it from
	// etcd, so it can start from any revision since the compaction.
	NoWatchCache bool

	// codec is the storage transform of the resource's values (see
	// valueCodec); its dictionaries are the server's own.
	codec valueCodec
	// scratch is where a value is marshalled before its transform (a
	// server, and its registry, is used by one engine at a time).
	scratch []byte
	// writes counts the server's committed writes of the resource
	// (creates, updates, deletes): what admission derives from all of a
	// resource's objects is cached against it.
	writes uint64

	newObj  func() runtime.Object
	newList func() runtime.Object
	// items/setItems read and write the Items of a list object.
	setItems func(list runtime.Object, objs []runtime.Object)
	strategy
}

// GroupResource is the resource's group and plural name ("deployments.apps").
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.GroupVersion.Group, Resource: r.Name}
}

// GroupKind is the resource's group and kind.
func (r *Resource) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: r.GroupVersion.Group, Kind: r.Kind}
}

// GVK is the served group, version and kind.
func (r *Resource) GVK() schema.GroupVersionKind { return r.GroupVersion.WithKind(r.Kind) }

// GVR is the served group, version and resource.
func (r *Resource) GVR() schema.GroupVersionResource { return r.GroupVersion.WithResource(r.Name) }

// Writes counts the server's committed writes of the resource's objects
// (creates, updates, deletes) so far: while it stays the same, so does
// every list of them.
func (r *Resource) Writes() uint64 { return r.writes }

// New returns an empty object of the resource's type.
func (r *Resource) New() runtime.Object { return r.newObj() }

// NewList returns an empty list of the resource's type.
func (r *Resource) NewList() runtime.Object { return r.newList() }

// prefix is the storage prefix "/registry/<resource>/".
func (r *Resource) prefix() string { return "/registry/" + r.Name + "/" }

// key is the storage key of an object: /registry/<resource>/<namespace>/<name>
// for namespaced resources and /registry/<resource>/<name> otherwise.
func (r *Resource) key(namespace, name string) string {
	if r.Namespaced {
		return "/registry/" + r.Name + "/" + namespace + "/" + name
	}
	return "/registry/" + r.Name + "/" + name
}

// appendKey appends the storage key of namespace/name to b.
func (r *Resource) appendKey(b []byte, namespace, name string) []byte {
	b = append(append(append(b, "/registry/"...), r.Name...), '/')
	if r.Namespaced {
		b = append(append(b, namespace...), '/')
	}
	return append(b, name...)
}

// keyWithValue returns the storage key of namespace/name and a copy of
// value, both in one new allocation (the value's bytes, then the key's):
// a key written once (an Event) costs the store one object for the two
// rather than two. Neither is ever modified — stored values and keys are
// read-only — so the key may be a string view of its bytes. The value
// keeps its own capacity, so no append reaches the key.
func (r *Resource) keyWithValue(namespace, name string, value []byte) (string, []byte) {
	n := len("/registry/") + len(r.Name) + 1 + len(name)
	if r.Namespaced {
		n += len(namespace) + 1
	}
	b := r.appendKey(append(make([]byte, 0, len(value)+n), value...), namespace, name)
	return unsafe.String(&b[len(value)], n), b[:len(value):len(value)]
}

// rangeFor is the key range holding every object of the resource in
// namespace ("" = all namespaces).
func (r *Resource) rangeFor(namespace string) (string, string) {
	p := r.prefix()
	if r.Namespaced && namespace != "" {
		p += namespace + "/"
	}
	return p, prefixEnd(p)
}

func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\x00"
}

// fieldsFn returns the selectable fields of an object. Every resource
// supports metadata.name and metadata.namespace; some add more, as upstream.
type fieldsFn func(obj runtime.Object) fields.Set

// registry is the table of served resources, in a fixed order.
type registry struct {
	list   []*Resource
	byName map[string]*Resource // plural, singular, short names, kind (lower case)
	byKind map[schema.GroupKind]*Resource
}

func (g *registry) add(r *Resource) {
	g.list = append(g.list, r)
	if g.byName == nil {
		g.byName = map[string]*Resource{}
		g.byKind = map[schema.GroupKind]*Resource{}
	}
	names := append([]string{r.Name, r.Singular, strings.ToLower(r.Kind)}, r.ShortNames...)
	for _, n := range names {
		g.byName[n] = r
		if r.GroupVersion.Group != "" {
			g.byName[n+"."+r.GroupVersion.Group] = r
		}
	}
	g.byKind[r.GroupKind()] = r
}

// Resources lists the served resources in a fixed order.
func (s *Server) Resources() []*Resource { return s.reg.list }

// Resource finds a resource by any name kubectl accepts: plural, singular,
// short name or kind, optionally qualified by group ("deployments.apps").
func (s *Server) Resource(name string) (*Resource, bool) {
	r, ok := s.reg.byName[strings.ToLower(name)]
	return r, ok
}

// ResourceFor finds the resource serving an object's kind.
func (s *Server) ResourceFor(gk schema.GroupKind) (*Resource, bool) {
	r, ok := s.reg.byKind[gk]
	return r, ok
}

// resourceOf finds the resource of a typed object by its Go type.
func (s *Server) resourceOf(obj runtime.Object) (*Resource, bool) {
	gk, ok := kindOf(obj)
	if !ok {
		return nil, false
	}
	return s.ResourceFor(gk)
}

func kindOf(obj runtime.Object) (schema.GroupKind, bool) {
	switch obj.(type) {
	case *v1.Pod:
		return schema.GroupKind{Kind: "Pod"}, true
	case *v1.Node:
		return schema.GroupKind{Kind: "Node"}, true
	case *v1.Namespace:
		return schema.GroupKind{Kind: "Namespace"}, true
	case *v1.Service:
		return schema.GroupKind{Kind: "Service"}, true
	case *v1.Event:
		return schema.GroupKind{Kind: "Event"}, true
	case *v1.ConfigMap:
		return schema.GroupKind{Kind: "ConfigMap"}, true
	case *appsv1.Deployment:
		return schema.GroupKind{Group: "apps", Kind: "Deployment"}, true
	case *appsv1.ReplicaSet:
		return schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, true
	case *discoveryv1.EndpointSlice:
		return schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}, true
	case *autoscalingv2.HorizontalPodAutoscaler:
		return schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}, true
	case *coordinationv1.Lease:
		return schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, true
	case *policyv1.PodDisruptionBudget:
		return schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}, true
	case *schedulingv1.PriorityClass:
		return schema.GroupKind{Group: "scheduling.k8s.io", Kind: "PriorityClass"}, true
	}
	return schema.GroupKind{}, false
}

func newRegistry() *registry {
	g := &registry{}
	core := schema.GroupVersion{Version: "v1"}
	g.add(&Resource{GroupVersion: core, Name: "namespaces", Singular: "namespace", Kind: "Namespace", ShortNames: []string{"ns"}, HasStatus: true,
		newObj: func() runtime.Object { return &v1.Namespace{} }, newList: func() runtime.Object { return &v1.NamespaceList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) { l.(*v1.NamespaceList).Items = items[v1.Namespace](objs) },
		strategy: namespaceStrategy()})
	g.add(&Resource{GroupVersion: core, Name: "nodes", Singular: "node", Kind: "Node", ShortNames: []string{"no"}, HasStatus: true,
		newObj: func() runtime.Object { return &v1.Node{} }, newList: func() runtime.Object { return &v1.NodeList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) { l.(*v1.NodeList).Items = items[v1.Node](objs) },
		strategy: nodeStrategy()})
	g.add(&Resource{GroupVersion: core, Name: "pods", Singular: "pod", Kind: "Pod", ShortNames: []string{"po"}, Namespaced: true, HasStatus: true,
		newObj: func() runtime.Object { return &v1.Pod{} }, newList: func() runtime.Object { return &v1.PodList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) { l.(*v1.PodList).Items = items[v1.Pod](objs) },
		strategy: podStrategy()})
	g.add(&Resource{GroupVersion: core, Name: "services", Singular: "service", Kind: "Service", ShortNames: []string{"svc"}, Namespaced: true, HasStatus: true,
		newObj: func() runtime.Object { return &v1.Service{} }, newList: func() runtime.Object { return &v1.ServiceList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) { l.(*v1.ServiceList).Items = items[v1.Service](objs) },
		strategy: serviceStrategy()})
	g.add(&Resource{GroupVersion: core, Name: "events", Singular: "event", Kind: "Event", ShortNames: []string{"ev"}, Namespaced: true, NoWatchCache: true, codec: newFixedCodec(eventDict()),
		newObj: func() runtime.Object { return &v1.Event{} }, newList: func() runtime.Object { return &v1.EventList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) { l.(*v1.EventList).Items = items[v1.Event](objs) },
		strategy: eventStrategy()})
	g.add(&Resource{GroupVersion: core, Name: "configmaps", Singular: "configmap", Kind: "ConfigMap", ShortNames: []string{"cm"}, Namespaced: true,
		newObj: func() runtime.Object { return &v1.ConfigMap{} }, newList: func() runtime.Object { return &v1.ConfigMapList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) { l.(*v1.ConfigMapList).Items = items[v1.ConfigMap](objs) },
		strategy: configMapStrategy()})
	apps := appsv1.SchemeGroupVersion
	g.add(&Resource{GroupVersion: apps, Name: "deployments", Singular: "deployment", Kind: "Deployment", ShortNames: []string{"deploy"}, Namespaced: true, HasStatus: true, HasScale: true,
		newObj: func() runtime.Object { return &appsv1.Deployment{} }, newList: func() runtime.Object { return &appsv1.DeploymentList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) {
			l.(*appsv1.DeploymentList).Items = items[appsv1.Deployment](objs)
		},
		strategy: deploymentStrategy()})
	g.add(&Resource{GroupVersion: apps, Name: "replicasets", Singular: "replicaset", Kind: "ReplicaSet", ShortNames: []string{"rs"}, Namespaced: true, HasStatus: true, HasScale: true,
		newObj: func() runtime.Object { return &appsv1.ReplicaSet{} }, newList: func() runtime.Object { return &appsv1.ReplicaSetList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) {
			l.(*appsv1.ReplicaSetList).Items = items[appsv1.ReplicaSet](objs)
		},
		strategy: replicaSetStrategy()})
	g.add(&Resource{GroupVersion: discoveryv1.SchemeGroupVersion, Name: "endpointslices", Singular: "endpointslice", Kind: "EndpointSlice", Namespaced: true,
		newObj: func() runtime.Object { return &discoveryv1.EndpointSlice{} }, newList: func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) {
			l.(*discoveryv1.EndpointSliceList).Items = items[discoveryv1.EndpointSlice](objs)
		},
		strategy: endpointSliceStrategy()})
	g.add(&Resource{GroupVersion: autoscalingv2.SchemeGroupVersion, Name: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler", Kind: "HorizontalPodAutoscaler", ShortNames: []string{"hpa"}, Namespaced: true, HasStatus: true,
		newObj:  func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} },
		newList: func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) {
			l.(*autoscalingv2.HorizontalPodAutoscalerList).Items = items[autoscalingv2.HorizontalPodAutoscaler](objs)
		},
		strategy: hpaStrategy()})
	g.add(&Resource{GroupVersion: coordinationv1.SchemeGroupVersion, Name: "leases", Singular: "lease", Kind: "Lease", Namespaced: true,
		newObj: func() runtime.Object { return &coordinationv1.Lease{} }, newList: func() runtime.Object { return &coordinationv1.LeaseList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) {
			l.(*coordinationv1.LeaseList).Items = items[coordinationv1.Lease](objs)
		},
		strategy: leaseStrategy()})
	g.add(&Resource{GroupVersion: policyv1.SchemeGroupVersion, Name: "poddisruptionbudgets", Singular: "poddisruptionbudget", Kind: "PodDisruptionBudget", ShortNames: []string{"pdb"}, Namespaced: true, HasStatus: true,
		newObj:  func() runtime.Object { return &policyv1.PodDisruptionBudget{} },
		newList: func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) {
			l.(*policyv1.PodDisruptionBudgetList).Items = items[policyv1.PodDisruptionBudget](objs)
		},
		strategy: pdbStrategy()})
	g.add(&Resource{GroupVersion: schedulingv1.SchemeGroupVersion, Name: "priorityclasses", Singular: "priorityclass", Kind: "PriorityClass", ShortNames: []string{"pc"},
		newObj:  func() runtime.Object { return &schedulingv1.PriorityClass{} },
		newList: func() runtime.Object { return &schedulingv1.PriorityClassList{} },
		setItems: func(l runtime.Object, objs []runtime.Object) {
			l.(*schedulingv1.PriorityClassList).Items = items[schedulingv1.PriorityClass](objs)
		},
		strategy: priorityClassStrategy()})
	return g
}

// items copies typed pointers into a list's value slice.
func items[T any](objs []runtime.Object) []T {
	out := make([]T, len(objs))
	for i, o := range objs {
		out[i] = *any(o).(*T)
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// GVKFor returns the served group, version and kind of a typed object.
func (s *Server) GVKFor(obj runtime.Object) (schema.GroupVersionKind, bool) {
	r, ok := s.resourceOf(obj)
	if !ok {
		return schema.GroupVersionKind{}, false
	}
	return r.GVK(), true
}
