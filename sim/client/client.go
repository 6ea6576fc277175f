package client

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/sim/apiserver"
)

// Interface is the clientset.
type Interface interface {
	CoreV1() CoreV1Interface
	AppsV1() AppsV1Interface
	AutoscalingV2() AutoscalingV2Interface
	DiscoveryV1() DiscoveryV1Interface
	CoordinationV1() CoordinationV1Interface
	PolicyV1() PolicyV1Interface
	SchedulingV1() SchedulingV1Interface
	// Server is the API server the client talks to.
	Server() *apiserver.Server
	// User is the component name the client acts as.
	User() string
}

// ResourceInterface is the set of verbs every typed resource client has.
type ResourceInterface[T runtime.Object, L runtime.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
}

// StatusInterface adds the /status subresource.
type StatusInterface[T runtime.Object] interface {
	UpdateStatus(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// ScaleInterface adds the /scale subresource.
type ScaleInterface interface {
	GetScale(ctx context.Context, name string, opts metav1.GetOptions) (*autoscalingv1.Scale, error)
	UpdateScale(ctx context.Context, name string, scale *autoscalingv1.Scale, opts metav1.UpdateOptions) (*autoscalingv1.Scale, error)
}

// CoreV1Interface is the core/v1 group.
type CoreV1Interface interface {
	Pods(namespace string) PodInterface
	Nodes() NodeInterface
	Namespaces() NamespaceInterface
	Services(namespace string) ServiceInterface
	Events(namespace string) EventInterface
	ConfigMaps(namespace string) ConfigMapInterface
}

// PodInterface is the pods client.
type PodInterface interface {
	ResourceInterface[*v1.Pod, *v1.PodList]
	StatusInterface[*v1.Pod]
	Bind(ctx context.Context, binding *v1.Binding, opts metav1.CreateOptions) error
	EvictV1(ctx context.Context, eviction *policyv1.Eviction) error
}

// NodeInterface is the nodes client.
type NodeInterface interface {
	ResourceInterface[*v1.Node, *v1.NodeList]
	StatusInterface[*v1.Node]
}

// NamespaceInterface is the namespaces client.
type NamespaceInterface interface {
	ResourceInterface[*v1.Namespace, *v1.NamespaceList]
	StatusInterface[*v1.Namespace]
}

// ServiceInterface is the services client.
type ServiceInterface interface {
	ResourceInterface[*v1.Service, *v1.ServiceList]
	StatusInterface[*v1.Service]
}

// EventInterface is the events client.
type EventInterface interface {
	ResourceInterface[*v1.Event, *v1.EventList]
}

// ConfigMapInterface is the configmaps client.
type ConfigMapInterface interface {
	ResourceInterface[*v1.ConfigMap, *v1.ConfigMapList]
}

// AppsV1Interface is the apps/v1 group.
type AppsV1Interface interface {
	Deployments(namespace string) DeploymentInterface
	ReplicaSets(namespace string) ReplicaSetInterface
}

// DeploymentInterface is the deployments client.
type DeploymentInterface interface {
	ResourceInterface[*appsv1.Deployment, *appsv1.DeploymentList]
	StatusInterface[*appsv1.Deployment]
	ScaleInterface
}

// ReplicaSetInterface is the replicasets client.
type ReplicaSetInterface interface {
	ResourceInterface[*appsv1.ReplicaSet, *appsv1.ReplicaSetList]
	StatusInterface[*appsv1.ReplicaSet]
	ScaleInterface
}

// AutoscalingV2Interface is the autoscaling/v2 group.
type AutoscalingV2Interface interface {
	HorizontalPodAutoscalers(namespace string) HorizontalPodAutoscalerInterface
}

// HorizontalPodAutoscalerInterface is the HPA client.
type HorizontalPodAutoscalerInterface interface {
	ResourceInterface[*autoscalingv2.HorizontalPodAutoscaler, *autoscalingv2.HorizontalPodAutoscalerList]
	StatusInterface[*autoscalingv2.HorizontalPodAutoscaler]
}

// DiscoveryV1Interface is the discovery.k8s.io/v1 group.
type DiscoveryV1Interface interface {
	EndpointSlices(namespace string) EndpointSliceInterface
}

// EndpointSliceInterface is the endpointslices client.
type EndpointSliceInterface interface {
	ResourceInterface[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList]
}

// CoordinationV1Interface is the coordination.k8s.io/v1 group.
type CoordinationV1Interface interface {
	Leases(namespace string) LeaseInterface
}

// LeaseInterface is the leases client.
type LeaseInterface interface {
	ResourceInterface[*coordinationv1.Lease, *coordinationv1.LeaseList]
}

// PolicyV1Interface is the policy/v1 group.
type PolicyV1Interface interface {
	PodDisruptionBudgets(namespace string) PodDisruptionBudgetInterface
}

// PodDisruptionBudgetInterface is the PDB client.
type PodDisruptionBudgetInterface interface {
	ResourceInterface[*policyv1.PodDisruptionBudget, *policyv1.PodDisruptionBudgetList]
	StatusInterface[*policyv1.PodDisruptionBudget]
}

// SchedulingV1Interface is the scheduling.k8s.io/v1 group.
type SchedulingV1Interface interface {
	PriorityClasses() PriorityClassInterface
}

// PriorityClassInterface is the priorityclasses client.
type PriorityClassInterface interface {
	ResourceInterface[*schedulingv1.PriorityClass, *schedulingv1.PriorityClassList]
}
