package client

import (
	"context"
	"fmt"

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

// New returns a clientset for server acting as user (a component name such
// as "scheduler" or "kubelet/node-1").
func New(server *apiserver.Server, user string) Interface {
	return &clientset{s: server, user: user}
}

type clientset struct {
	s    *apiserver.Server
	user string
}

func (c *clientset) Server() *apiserver.Server               { return c.s }
func (c *clientset) User() string                            { return c.user }
func (c *clientset) CoreV1() CoreV1Interface                 { return coreV1{c} }
func (c *clientset) AppsV1() AppsV1Interface                 { return appsV1{c} }
func (c *clientset) AutoscalingV2() AutoscalingV2Interface   { return autoscalingV2{c} }
func (c *clientset) DiscoveryV1() DiscoveryV1Interface       { return discoveryV1{c} }
func (c *clientset) CoordinationV1() CoordinationV1Interface { return coordinationV1{c} }
func (c *clientset) PolicyV1() PolicyV1Interface             { return policyV1{c} }
func (c *clientset) SchedulingV1() SchedulingV1Interface     { return schedulingV1{c} }
func (c *clientset) res(name string) *apiserver.Resource {
	r, ok := c.s.Resource(name)
	if !ok {
		panic("client: unknown resource " + name)
	}
	return r
}

// typed is the generic implementation of one resource's client.
type typed[T runtime.Object, L runtime.Object] struct {
	c   *clientset
	res *apiserver.Resource
	ns  string
}

func newTyped[T runtime.Object, L runtime.Object](c *clientset, resource, ns string) typed[T, L] {
	return typed[T, L]{c: c, res: c.res(resource), ns: ns}
}

func (t typed[T, L]) Create(_ context.Context, obj T, opts metav1.CreateOptions) (T, error) {
	out, err := t.c.s.Create(t.c.user, t.res, t.ns, obj, opts)
	return copyOut[T](out, err)
}

func (t typed[T, L]) Update(_ context.Context, obj T, opts metav1.UpdateOptions) (T, error) {
	out, err := t.c.s.Update(t.c.user, t.res, t.ns, obj, "", opts)
	return copyOut[T](out, err)
}

func (t typed[T, L]) UpdateStatus(_ context.Context, obj T, opts metav1.UpdateOptions) (T, error) {
	out, err := t.c.s.Update(t.c.user, t.res, t.ns, obj, "status", opts)
	return copyOut[T](out, err)
}

func (t typed[T, L]) Delete(_ context.Context, name string, opts metav1.DeleteOptions) error {
	_, _, err := t.c.s.Delete(t.c.user, t.res, t.ns, name, opts)
	return err
}

// Get reads the latest object, or with ResourceVersion "0" the API
// server's cached version (served from its watch cache, as upstream).
func (t typed[T, L]) Get(_ context.Context, name string, opts metav1.GetOptions) (T, error) {
	if opts.ResourceVersion == "0" {
		out, err := t.c.s.GetCached(t.res, t.ns, name)
		return copyOut[T](out, err)
	}
	out, err := t.c.s.Get(t.res, t.ns, name)
	return copyOut[T](out, err)
}

func (t typed[T, L]) List(_ context.Context, opts metav1.ListOptions) (L, error) {
	out, err := t.c.s.ListObject(t.res, t.ns, opts)
	if err != nil {
		var zero L
		return zero, err
	}
	return out.(L), nil
}

func (t typed[T, L]) Patch(_ context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error) {
	if err := apiserver.ValidatePatchRequest(pt, opts); err != nil {
		var zero T
		return zero, err
	}
	sub := ""
	if len(subresources) > 1 {
		var zero T
		return zero, fmt.Errorf("client: at most one subresource, got %v", subresources)
	}
	if len(subresources) == 1 {
		sub = subresources[0]
	}
	out, err := t.c.s.Patch(t.c.user, t.res, t.ns, name, pt, data, sub)
	return copyOut[T](out, err)
}

func (t typed[T, L]) GetScale(_ context.Context, name string, _ metav1.GetOptions) (*autoscalingv1.Scale, error) {
	return t.c.s.GetScale(t.res, t.ns, name)
}

func (t typed[T, L]) UpdateScale(_ context.Context, name string, scale *autoscalingv1.Scale, opts metav1.UpdateOptions) (*autoscalingv1.Scale, error) {
	if err := apiserver.NoDryRun(opts.DryRun); err != nil {
		return nil, err
	}
	sc := scale.DeepCopy()
	sc.Name = name
	return t.c.s.UpdateScale(t.c.user, t.res, t.ns, sc)
}

// copyOut hands the caller its own copy of a shared server object.
func copyOut[T runtime.Object](obj runtime.Object, err error) (T, error) {
	var zero T
	if err != nil || obj == nil {
		return zero, err
	}
	return obj.DeepCopyObject().(T), nil
}

type podClient struct{ typed[*v1.Pod, *v1.PodList] }

func (p podClient) Bind(_ context.Context, b *v1.Binding, opts metav1.CreateOptions) error {
	if err := apiserver.NoDryRun(opts.DryRun); err != nil {
		return err
	}
	ns := p.ns
	if ns == "" {
		ns = b.Namespace
	}
	return p.c.s.Bind(p.c.user, ns, b)
}

func (p podClient) EvictV1(_ context.Context, ev *policyv1.Eviction) error {
	ns := p.ns
	if ns == "" {
		ns = ev.Namespace
	}
	return p.c.s.Evict(p.c.user, ns, ev)
}

type coreV1 struct{ c *clientset }

func (g coreV1) Pods(ns string) PodInterface {
	return podClient{newTyped[*v1.Pod, *v1.PodList](g.c, "pods", ns)}
}
func (g coreV1) Nodes() NodeInterface { return newTyped[*v1.Node, *v1.NodeList](g.c, "nodes", "") }
func (g coreV1) Namespaces() NamespaceInterface {
	return newTyped[*v1.Namespace, *v1.NamespaceList](g.c, "namespaces", "")
}
func (g coreV1) Services(ns string) ServiceInterface {
	return newTyped[*v1.Service, *v1.ServiceList](g.c, "services", ns)
}
func (g coreV1) Events(ns string) EventInterface {
	return newTyped[*v1.Event, *v1.EventList](g.c, "events", ns)
}
func (g coreV1) ConfigMaps(ns string) ConfigMapInterface {
	return newTyped[*v1.ConfigMap, *v1.ConfigMapList](g.c, "configmaps", ns)
}

type appsV1 struct{ c *clientset }

func (g appsV1) Deployments(ns string) DeploymentInterface {
	return newTyped[*appsv1.Deployment, *appsv1.DeploymentList](g.c, "deployments", ns)
}
func (g appsV1) ReplicaSets(ns string) ReplicaSetInterface {
	return newTyped[*appsv1.ReplicaSet, *appsv1.ReplicaSetList](g.c, "replicasets", ns)
}

type autoscalingV2 struct{ c *clientset }

func (g autoscalingV2) HorizontalPodAutoscalers(ns string) HorizontalPodAutoscalerInterface {
	return newTyped[*autoscalingv2.HorizontalPodAutoscaler, *autoscalingv2.HorizontalPodAutoscalerList](g.c, "horizontalpodautoscalers", ns)
}

type discoveryV1 struct{ c *clientset }

func (g discoveryV1) EndpointSlices(ns string) EndpointSliceInterface {
	return newTyped[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList](g.c, "endpointslices", ns)
}

type coordinationV1 struct{ c *clientset }

func (g coordinationV1) Leases(ns string) LeaseInterface {
	return newTyped[*coordinationv1.Lease, *coordinationv1.LeaseList](g.c, "leases", ns)
}

type policyV1 struct{ c *clientset }

func (g policyV1) PodDisruptionBudgets(ns string) PodDisruptionBudgetInterface {
	return newTyped[*policyv1.PodDisruptionBudget, *policyv1.PodDisruptionBudgetList](g.c, "poddisruptionbudgets", ns)
}

type schedulingV1 struct{ c *clientset }

func (g schedulingV1) PriorityClasses() PriorityClassInterface {
	return newTyped[*schedulingv1.PriorityClass, *schedulingv1.PriorityClassList](g.c, "priorityclasses", "")
}
