package runner

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim/cluster"
)

// Summary is the state of the cluster at the end of a run, read from the
// API server as kubectl get would show it. Every list is sorted by
// namespace and name.
type Summary struct {
	Nodes       []NodeSummary       `json:"nodes"`
	Deployments []DeploymentSummary `json:"deployments"`
	HPAs        []HPASummary        `json:"horizontalPodAutoscalers"`
	Pods        PodSummary          `json:"pods"`
	Services    []ServiceSummary    `json:"services"`
}

// NodeSummary is one node.
type NodeSummary struct {
	Name string `json:"name"`
	Zone string `json:"zone,omitempty"`
	// Status is kubectl get nodes' STATUS: Ready, NotReady (the Ready
	// condition False or Unknown) or Unknown (no Ready condition), then
	// ",SchedulingDisabled" when the node is cordoned.
	Status string `json:"status"`
	// Ready is the Ready condition's status (True, False, Unknown), or
	// "" when the node has not reported one.
	Ready         string   `json:"ready"`
	Unschedulable bool     `json:"unschedulable,omitempty"`
	Taints        []string `json:"taints,omitempty"`
	// Pods counts the non-terminal pods bound to the node.
	Pods int `json:"pods"`
	// CPU and Memory are "requested/allocatable" of those pods.
	CPU    string `json:"cpu"`
	Memory string `json:"memory"`
	// DrainWaiting lists the pods (namespace/name) whose eviction a drain
	// of the node still retries: the API refused it (a PodDisruptionBudget)
	// and kubectl drain would still be waiting.
	DrainWaiting []string `json:"drainWaiting,omitempty"`
}

// DeploymentSummary is one deployment's status.
type DeploymentSummary struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Replicas  int32  `json:"replicas"`
	Updated   int32  `json:"updated"`
	Ready     int32  `json:"ready"`
	Available int32  `json:"available"`
	// Revision is the deployment.kubernetes.io/revision annotation.
	Revision string `json:"revision,omitempty"`
}

// HPASummary is one HorizontalPodAutoscaler's status.
type HPASummary struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Target is kubectl get hpa's REFERENCE: the scale target's Kind/Name
	// ("Deployment/web").
	Target string `json:"target"`
	// Targets is kubectl get hpa's TARGETS column: each metric's current
	// value over its target ("cpu: 49%/50%").
	Targets string `json:"targets"`
	Min     int32  `json:"minReplicas"`
	Max     int32  `json:"maxReplicas"`
	Current int32  `json:"currentReplicas"`
	Desired int32  `json:"desiredReplicas"`
}

// PodSummary counts pods by phase.
type PodSummary struct {
	Total     int `json:"total"`
	Pending   int `json:"pending"`
	Running   int `json:"running"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Unknown   int `json:"unknown"`
	// Terminating counts pods with a deletionTimestamp (also counted in
	// their phase); Unschedulable the Pending pods the scheduler could not
	// place (PodScheduled=False, reason Unschedulable); Ready the pods
	// with Ready=True.
	Terminating   int `json:"terminating"`
	Unschedulable int `json:"unschedulable"`
	Ready         int `json:"ready"`
}

// ServiceSummary is one Service and its endpoints (from its
// EndpointSlices). The default/kubernetes Service is left out.
type ServiceSummary struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	ClusterIP string `json:"clusterIP,omitempty"`
	// Ready, NotReady and Terminating count endpoints by condition.
	Ready       int `json:"readyEndpoints"`
	NotReady    int `json:"notReadyEndpoints"`
	Terminating int `json:"terminatingEndpoints"`
	// Served and Failed count the requests sent to the Service by the
	// scenario's loads.
	Served uint64 `json:"requestsServed"`
	Failed uint64 `json:"requestsFailed"`
}

// list reads every object of a resource from the API server (shared
// objects: read only).
func list[T runtime.Object](c *cluster.Cluster, resource string) []T {
	res, ok := c.API.Resource(resource)
	if !ok {
		return nil
	}
	objs, _, err := c.API.List(res, "", metav1.ListOptions{})
	if err != nil {
		return nil
	}
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(T))
	}
	return out
}

func byNamespaceName(a, b metav1.Object) int {
	return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
}

// summarize reads the cluster's state.
func summarize(c *cluster.Cluster) Summary {
	s := Summary{Nodes: []NodeSummary{}, Deployments: []DeploymentSummary{}, HPAs: []HPASummary{}, Services: []ServiceSummary{}}
	pods := list[*v1.Pod](c, "pods")
	type usage struct {
		pods     int
		cpu, mem resource.Quantity
	}
	used := map[string]*usage{}
	for _, p := range pods {
		s.Pods.Total++
		switch p.Status.Phase {
		case v1.PodPending, "":
			s.Pods.Pending++
		case v1.PodRunning:
			s.Pods.Running++
		case v1.PodSucceeded:
			s.Pods.Succeeded++
		case v1.PodFailed:
			s.Pods.Failed++
		default:
			s.Pods.Unknown++
		}
		if p.DeletionTimestamp != nil {
			s.Pods.Terminating++
		}
		if cond := podCondition(p, v1.PodScheduled); cond != nil && cond.Status == v1.ConditionFalse && cond.Reason == v1.PodReasonUnschedulable {
			s.Pods.Unschedulable++
		}
		if cond := podCondition(p, v1.PodReady); cond != nil && cond.Status == v1.ConditionTrue {
			s.Pods.Ready++
		}
		if p.Spec.NodeName == "" || p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed {
			continue
		}
		u := used[p.Spec.NodeName]
		if u == nil {
			u = &usage{}
			used[p.Spec.NodeName] = u
		}
		u.pods++
		req := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
		u.cpu.Add(req[v1.ResourceCPU])
		u.mem.Add(req[v1.ResourceMemory])
	}
	for _, n := range list[*v1.Node](c, "nodes") {
		ns := NodeSummary{Name: n.Name, Zone: n.Labels[scenarios.ZoneLabel], Unschedulable: n.Spec.Unschedulable}
		for _, cond := range n.Status.Conditions {
			if cond.Type == v1.NodeReady {
				ns.Ready = string(cond.Status)
			}
		}
		ns.Status = nodeStatus(n)
		for _, t := range n.Spec.Taints {
			ns.Taints = append(ns.Taints, taintString(t))
		}
		u := used[n.Name]
		if u == nil {
			u = &usage{}
		}
		ns.Pods = u.pods
		alloc := n.Status.Allocatable
		if len(alloc) == 0 {
			alloc = n.Status.Capacity
		}
		ns.CPU = u.cpu.String() + "/" + quantity(alloc, v1.ResourceCPU)
		ns.Memory = u.mem.String() + "/" + quantity(alloc, v1.ResourceMemory)
		ns.DrainWaiting = c.DrainWaiting(n.Name)
		s.Nodes = append(s.Nodes, ns)
	}
	slices.SortFunc(s.Nodes, func(a, b NodeSummary) int { return cmp.Compare(a.Name, b.Name) })

	deps := list[*appsv1.Deployment](c, "deployments")
	slices.SortFunc(deps, func(a, b *appsv1.Deployment) int { return byNamespaceName(a, b) })
	for _, d := range deps {
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		s.Deployments = append(s.Deployments, DeploymentSummary{Namespace: d.Namespace, Name: d.Name, Replicas: replicas,
			Updated: d.Status.UpdatedReplicas, Ready: d.Status.ReadyReplicas, Available: d.Status.AvailableReplicas,
			Revision: d.Annotations["deployment.kubernetes.io/revision"]})
	}
	hpas := list[*autoscalingv2.HorizontalPodAutoscaler](c, "horizontalpodautoscalers")
	slices.SortFunc(hpas, func(a, b *autoscalingv2.HorizontalPodAutoscaler) int { return byNamespaceName(a, b) })
	for _, h := range hpas {
		minR := int32(1)
		if h.Spec.MinReplicas != nil {
			minR = *h.Spec.MinReplicas
		}
		s.HPAs = append(s.HPAs, HPASummary{Namespace: h.Namespace, Name: h.Name,
			Target:  h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
			Targets: hpaTargets(h.Spec.Metrics, h.Status.CurrentMetrics),
			Min:     minR, Max: h.Spec.MaxReplicas, Current: h.Status.CurrentReplicas, Desired: h.Status.DesiredReplicas})
	}
	c.Traffic().Flush() // request totals up to the end
	endpointSlices := list[*discoveryv1.EndpointSlice](c, "endpointslices")
	svcs := list[*v1.Service](c, "services")
	slices.SortFunc(svcs, func(a, b *v1.Service) int { return byNamespaceName(a, b) })
	for _, svc := range svcs {
		if svc.Namespace == v1.NamespaceDefault && svc.Name == "kubernetes" && len(svc.Spec.Selector) == 0 {
			continue // the API server's own Service: kubesim's API server has no network endpoint
		}
		ss := ServiceSummary{Namespace: svc.Namespace, Name: svc.Name, Type: string(svc.Spec.Type), ClusterIP: svc.Spec.ClusterIP}
		st := c.Traffic().Stats(svc.Namespace, svc.Name)
		ss.Served, ss.Failed = st.Served, st.Failed
		if ss.Type == "" {
			ss.Type = string(v1.ServiceTypeClusterIP)
		}
		for _, es := range endpointSlices {
			if es.Namespace != svc.Namespace || es.Labels[discoveryv1.LabelServiceName] != svc.Name {
				continue
			}
			for _, ep := range es.Endpoints {
				switch {
				case ep.Conditions.Terminating != nil && *ep.Conditions.Terminating:
					ss.Terminating++
				case ep.Conditions.Ready == nil || *ep.Conditions.Ready:
					ss.Ready++
				default:
					ss.NotReady++
				}
			}
		}
		s.Services = append(s.Services, ss)
	}
	return s
}

// nodeStatus is kubectl get nodes' STATUS column (printNode in
// pkg/printers/internalversion/printers.go): the Ready condition as Ready or
// NotReady (False and Unknown alike; the last Ready condition counts),
// Unknown without one, then SchedulingDisabled when spec.unschedulable.
func nodeStatus(n *v1.Node) string {
	status := "Unknown"
	for _, cond := range n.Status.Conditions {
		if cond.Type != v1.NodeReady {
			continue
		}
		if cond.Status == v1.ConditionTrue {
			status = string(v1.NodeReady)
		} else {
			status = "Not" + string(v1.NodeReady)
		}
	}
	if n.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

func quantity(rl v1.ResourceList, name v1.ResourceName) string {
	q, ok := rl[name]
	if !ok {
		return "?"
	}
	return q.String()
}

func podCondition(p *v1.Pod, t v1.PodConditionType) *v1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// hpaTargets is kubectl get hpa's TARGETS column (formatHPAMetrics in
// pkg/printers/internalversion/printers.go): each metric's current value
// over its target, the first two of them.
func hpaTargets(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	const maximum = 2
	var list []string
	pair := func(current *resource.Quantity) string {
		if current == nil {
			return "<unknown>"
		}
		return current.String()
	}
	pct := func(current *int32) string {
		if current == nil {
			return "<unknown>"
		}
		return fmt.Sprintf("%d%%", *current)
	}
	resourceTarget := func(name v1.ResourceName, t autoscalingv2.MetricTarget, cur *autoscalingv2.MetricValueStatus) string {
		if t.AverageValue != nil {
			var v *resource.Quantity
			if cur != nil {
				v = cur.AverageValue
			}
			return fmt.Sprintf("%s: %s/%s", name, pair(v), t.AverageValue.String())
		}
		var p *int32
		if cur != nil {
			p = cur.AverageUtilization
		}
		target := "<auto>"
		if t.AverageUtilization != nil {
			target = fmt.Sprintf("%d%%", *t.AverageUtilization)
		}
		return fmt.Sprintf("%s: %s/%s", name, pct(p), target)
	}
	// valueTarget is a metric without a current value: kubectl's
	// "<unknown>/target", "(avg)" marking an average for Object and
	// External metrics.
	valueTarget := func(t autoscalingv2.MetricTarget, markAvg bool) string {
		if t.AverageValue != nil {
			if markAvg {
				return "<unknown>/" + t.AverageValue.String() + " (avg)"
			}
			return "<unknown>/" + t.AverageValue.String()
		}
		if t.Value != nil {
			return "<unknown>/" + t.Value.String()
		}
		return "<unknown>/<unknown>"
	}
	for i, spec := range specs {
		var st *autoscalingv2.MetricStatus
		if i < len(statuses) {
			st = &statuses[i]
		}
		switch {
		case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
			var cur *autoscalingv2.MetricValueStatus
			if st != nil && st.Resource != nil {
				cur = &st.Resource.Current
			}
			list = append(list, resourceTarget(spec.Resource.Name, spec.Resource.Target, cur))
		case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
			var cur *autoscalingv2.MetricValueStatus
			if st != nil && st.ContainerResource != nil {
				cur = &st.ContainerResource.Current
			}
			list = append(list, resourceTarget(spec.ContainerResource.Name, spec.ContainerResource.Target, cur))
		case spec.Type == autoscalingv2.PodsMetricSourceType && spec.Pods != nil:
			// Pods, Object and External metrics: kubesim has no metrics API
			// for them (see the README), so their current value is unknown.
			list = append(list, valueTarget(spec.Pods.Target, false))
		case spec.Type == autoscalingv2.ObjectMetricSourceType && spec.Object != nil:
			list = append(list, valueTarget(spec.Object.Target, true))
		case spec.Type == autoscalingv2.ExternalMetricSourceType && spec.External != nil:
			list = append(list, valueTarget(spec.External.Target, true))
		default:
			list = append(list, "<unknown type>")
		}
	}
	if len(list) > maximum {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:maximum], ", "), len(list)-maximum)
	}
	return strings.Join(list, ", ")
}
