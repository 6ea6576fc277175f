package informer

import (
	v1 "k8s.io/api/core/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	schedulinglisters "k8s.io/client-go/listers/scheduling/v1"
	"k8s.io/client-go/tools/cache"
)

// Typed informers pair a shared Informer with client-go's generated lister
// for its type, so controller code reads as upstream's:
//
//	pods, err := c.podLister.Pods(ns).List(selector)

// PodInformer is a pods informer.
type PodInformer struct{ *Informer }

// Lister returns a client-go PodLister over the cache.
func (i PodInformer) Lister() corelisters.PodLister { return corelisters.NewPodLister(i.indexer) }

// ByKey returns the cached pod of a work-queue key ("namespace/name"):
// what Lister().Pods(namespace).Get(name) returns, without splitting the
// key and joining it again (a controller does this for every pod update).
func (i PodInformer) ByKey(key string) (*v1.Pod, bool) {
	obj, ok, _ := i.indexer.GetByKey(key)
	if !ok {
		return nil, false
	}
	return obj.(*v1.Pod), true
}

// Pods returns the shared pods informer narrowed by opts.
func (f *Factory) Pods(opts ...ListOption) PodInformer {
	return PodInformer{f.ForResource("pods", opts...)}
}

// NodeInformer is a nodes informer.
type NodeInformer struct{ *Informer }

// Lister returns a client-go NodeLister over the cache.
func (i NodeInformer) Lister() corelisters.NodeLister { return corelisters.NewNodeLister(i.indexer) }

// Nodes returns the shared nodes informer narrowed by opts.
func (f *Factory) Nodes(opts ...ListOption) NodeInformer {
	return NodeInformer{f.ForResource("nodes", opts...)}
}

// NamespaceInformer is a namespaces informer.
type NamespaceInformer struct{ *Informer }

// Lister returns a client-go NamespaceLister over the cache.
func (i NamespaceInformer) Lister() corelisters.NamespaceLister {
	return corelisters.NewNamespaceLister(i.indexer)
}

// Namespaces returns the shared namespaces informer.
func (f *Factory) Namespaces(opts ...ListOption) NamespaceInformer {
	return NamespaceInformer{f.ForResource("namespaces", opts...)}
}

// ServiceInformer is a services informer.
type ServiceInformer struct{ *Informer }

// Lister returns a client-go ServiceLister over the cache.
func (i ServiceInformer) Lister() corelisters.ServiceLister {
	return corelisters.NewServiceLister(i.indexer)
}

// InNamespace calls fn with each cached service of namespace, in name
// order: the lister's List without its slice (a controller matching every
// pod change against the services of its namespace allocates nothing).
func (i ServiceInformer) InNamespace(namespace string, fn func(*v1.Service)) {
	i.indexer.visitIndex(cache.NamespaceIndex, namespace, func(obj any) { fn(obj.(*v1.Service)) })
}

// Services returns the shared services informer narrowed by opts.
func (f *Factory) Services(opts ...ListOption) ServiceInformer {
	return ServiceInformer{f.ForResource("services", opts...)}
}

// EventInformer is an events informer.
type EventInformer struct{ *Informer }

// Lister returns a client-go EventLister over the cache.
func (i EventInformer) Lister() corelisters.EventLister { return corelisters.NewEventLister(i.indexer) }

// Events returns the shared events informer narrowed by opts.
func (f *Factory) Events(opts ...ListOption) EventInformer {
	return EventInformer{f.ForResource("events", opts...)}
}

// DeploymentInformer is a deployments informer.
type DeploymentInformer struct{ *Informer }

// Lister returns a client-go DeploymentLister over the cache.
func (i DeploymentInformer) Lister() appslisters.DeploymentLister {
	return appslisters.NewDeploymentLister(i.indexer)
}

// Deployments returns the shared deployments informer narrowed by opts.
func (f *Factory) Deployments(opts ...ListOption) DeploymentInformer {
	return DeploymentInformer{f.ForResource("deployments", opts...)}
}

// ReplicaSetInformer is a replicasets informer.
type ReplicaSetInformer struct{ *Informer }

// Lister returns a client-go ReplicaSetLister over the cache.
func (i ReplicaSetInformer) Lister() appslisters.ReplicaSetLister {
	return appslisters.NewReplicaSetLister(i.indexer)
}

// ReplicaSets returns the shared replicasets informer narrowed by opts.
func (f *Factory) ReplicaSets(opts ...ListOption) ReplicaSetInformer {
	return ReplicaSetInformer{f.ForResource("replicasets", opts...)}
}

// HPAInformer is a horizontalpodautoscalers informer.
type HPAInformer struct{ *Informer }

// Lister returns a client-go HorizontalPodAutoscalerLister over the cache.
func (i HPAInformer) Lister() autoscalinglisters.HorizontalPodAutoscalerLister {
	return autoscalinglisters.NewHorizontalPodAutoscalerLister(i.indexer)
}

// HorizontalPodAutoscalers returns the shared HPA informer narrowed by opts.
func (f *Factory) HorizontalPodAutoscalers(opts ...ListOption) HPAInformer {
	return HPAInformer{f.ForResource("horizontalpodautoscalers", opts...)}
}

// EndpointSliceInformer is an endpointslices informer.
type EndpointSliceInformer struct{ *Informer }

// Lister returns a client-go EndpointSliceLister over the cache.
func (i EndpointSliceInformer) Lister() discoverylisters.EndpointSliceLister {
	return discoverylisters.NewEndpointSliceLister(i.indexer)
}

// EndpointSlices returns the shared endpointslices informer narrowed by opts.
func (f *Factory) EndpointSlices(opts ...ListOption) EndpointSliceInformer {
	return EndpointSliceInformer{f.ForResource("endpointslices", opts...)}
}

// LeaseInformer is a leases informer.
type LeaseInformer struct{ *Informer }

// Lister returns a client-go LeaseLister over the cache.
func (i LeaseInformer) Lister() coordinationlisters.LeaseLister {
	return coordinationlisters.NewLeaseLister(i.indexer)
}

// Leases returns the shared leases informer narrowed by opts.
func (f *Factory) Leases(opts ...ListOption) LeaseInformer {
	return LeaseInformer{f.ForResource("leases", opts...)}
}

// PDBInformer is a poddisruptionbudgets informer.
type PDBInformer struct{ *Informer }

// Lister returns a client-go PodDisruptionBudgetLister over the cache.
func (i PDBInformer) Lister() policylisters.PodDisruptionBudgetLister {
	return policylisters.NewPodDisruptionBudgetLister(i.indexer)
}

// PodDisruptionBudgets returns the shared PDB informer narrowed by opts.
func (f *Factory) PodDisruptionBudgets(opts ...ListOption) PDBInformer {
	return PDBInformer{f.ForResource("poddisruptionbudgets", opts...)}
}

// PriorityClassInformer is a priorityclasses informer.
type PriorityClassInformer struct{ *Informer }

// Lister returns a client-go PriorityClassLister over the cache.
func (i PriorityClassInformer) Lister() schedulinglisters.PriorityClassLister {
	return schedulinglisters.NewPriorityClassLister(i.indexer)
}

// PriorityClasses returns the shared priorityclasses informer.
func (f *Factory) PriorityClasses(opts ...ListOption) PriorityClassInformer {
	return PriorityClassInformer{f.ForResource("priorityclasses", opts...)}
}
