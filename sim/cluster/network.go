package cluster

// This file is owned by the service-networking work: the ClusterIP/NodePort
// allocator, the EndpointSlice controller, DNS, kube-proxies, traffic and
// the Prometheus-style metrics registry.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	esctl "github.com/kubesim/kubesim/controllers/endpointslice"
	"github.com/kubesim/kubesim/netsim/alloc"
	"github.com/kubesim/kubesim/netsim/dns"
	"github.com/kubesim/kubesim/netsim/proxy"
	"github.com/kubesim/kubesim/netsim/traffic"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/metrics"
	"github.com/kubesim/kubesim/sim/promstats"
)

// NetworkConfig configures the network model. Zero fields take upstream's
// defaults (kubesim's own for the traffic model); see each field.
type NetworkConfig struct {
	// ServiceCIDR is kube-apiserver's --service-cluster-ip-range
	// (default 10.96.0.0/12, kubeadm's). The default/kubernetes Service
	// gets its first address.
	ServiceCIDR string
	// NodePortRange is --service-node-port-range (default 30000-32767).
	NodePortRange string
	// ClusterDomain is the kubelet's --cluster-domain (default
	// cluster.local).
	ClusterDomain string
	// MaxEndpointsPerSlice is --max-endpoints-per-slice (1-1000, default
	// 100).
	MaxEndpointsPerSlice int
	// EndpointUpdatesBatchPeriod is --endpointslice-updates-batch-period
	// (default 0).
	EndpointUpdatesBatchPeriod time.Duration
	// ProxyMode is kube-proxy's load balancing: proxy.ModeRoundRobin
	// ("roundRobin", IPVS rr, the default) or proxy.ModeRandom ("random",
	// iptables' probability chain).
	ProxyMode proxy.Mode
	// PropagationDelay is how long after a Service or EndpointSlice change
	// every running kube-proxy applies it (default 1 s, kube-proxy's
	// minSyncPeriod); it cannot be zero.
	PropagationDelay time.Duration
	// Traffic tunes the request model: per-request tracing threshold,
	// accounting period, client IPs per node (session affinity), network
	// hops and the per-pod service time (traffic.DefaultConfig).
	Traffic traffic.Config
}

// withDefaults fills the zero fields.
func (n NetworkConfig) withDefaults() NetworkConfig {
	if n.ServiceCIDR == "" {
		n.ServiceCIDR = alloc.DefaultServiceCIDR
	}
	if n.NodePortRange == "" {
		n.NodePortRange = alloc.DefaultNodePortRange
	}
	if n.ClusterDomain == "" {
		n.ClusterDomain = dns.DefaultClusterDomain
	}
	if n.MaxEndpointsPerSlice == 0 {
		n.MaxEndpointsPerSlice = 100
	}
	if n.ProxyMode == "" {
		n.ProxyMode = proxy.ModeRoundRobin
	}
	if n.PropagationDelay == 0 {
		n.PropagationDelay = proxy.DefaultPropagationDelay
	}
	return n
}

// Validate checks the configuration; errors name the field under path
// "network". cluster.New panics on an invalid network configuration, so
// callers taking it from users validate first.
func (n NetworkConfig) Validate() error {
	n = n.withDefaults()
	p := field.NewPath("network")
	var errs field.ErrorList
	if _, err := alloc.New(sim.New(0), alloc.Config{ServiceCIDR: n.ServiceCIDR}); err != nil {
		errs = append(errs, field.Invalid(p.Child("serviceCIDR"), n.ServiceCIDR, err.Error()))
	}
	if _, err := alloc.New(sim.New(0), alloc.Config{NodePortRange: n.NodePortRange}); err != nil {
		errs = append(errs, field.Invalid(p.Child("nodePortRange"), n.NodePortRange, err.Error()))
	}
	if n.MaxEndpointsPerSlice < 1 || n.MaxEndpointsPerSlice > 1000 {
		errs = append(errs, field.Invalid(p.Child("maxEndpointsPerSlice"), n.MaxEndpointsPerSlice, "must be between 1 and 1000"))
	}
	if n.EndpointUpdatesBatchPeriod < 0 {
		errs = append(errs, field.Invalid(p.Child("endpointUpdatesBatchPeriod"), n.EndpointUpdatesBatchPeriod.String(), "must not be negative"))
	}
	if n.ProxyMode != proxy.ModeRoundRobin && n.ProxyMode != proxy.ModeRandom {
		errs = append(errs, field.NotSupported(p.Child("proxyMode"), n.ProxyMode, []proxy.Mode{proxy.ModeRoundRobin, proxy.ModeRandom}))
	}
	if n.PropagationDelay < 0 {
		errs = append(errs, field.Invalid(p.Child("propagationDelay"), n.PropagationDelay.String(), "must not be negative"))
	}
	t := p.Child("traffic")
	if n.Traffic.TraceBelowRPS < 0 {
		errs = append(errs, field.Invalid(t.Child("traceBelowRPS"), n.Traffic.TraceBelowRPS, "must not be negative"))
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{{"accountingPeriod", n.Traffic.AccountingPeriod}, {"sameNodeHop", n.Traffic.SameNodeHop},
		{"crossNodeHop", n.Traffic.CrossNodeHop}, {"externalHop", n.Traffic.ExternalHop}, {"serviceTime", n.Traffic.ServiceTime}} {
		if d.value < 0 {
			errs = append(errs, field.Invalid(t.Child(d.name), d.value.String(), "must not be negative"))
		}
	}
	if n.Traffic.ClientsPerNode < 0 {
		errs = append(errs, field.Invalid(t.Child("clientsPerNode"), n.Traffic.ClientsPerNode, "must not be negative"))
	}
	if n.Traffic.Workers < 0 {
		errs = append(errs, field.Invalid(t.Child("workers"), n.Traffic.Workers, "must not be negative"))
	}
	if u := n.Traffic.MaxUtilization; u < 0 || u >= 1 {
		errs = append(errs, field.Invalid(t.Child("maxUtilization"), u, "must be at least 0 and below 1"))
	}
	return errs.ToAggregate()
}

// Pod annotations of the traffic model's per-pod service time.
const (
	// ServiceTimeAnnotation is a pod's mean time to serve one request when
	// idle, as a Go duration ("20ms"); default NetworkConfig.Traffic's.
	ServiceTimeAnnotation = "kubesim.dev/service-time"
	// WorkersAnnotation is how many requests a pod serves at once (a
	// positive integer); default NetworkConfig.Traffic's.
	WorkersAnnotation = "kubesim.dev/workers"
)

// networkState is the Cluster's network model.
type networkState struct {
	netCfg      NetworkConfig // with defaults
	netRegistry *promstats.Registry
	netAlloc    *alloc.Allocator
	netSlices   *esctl.Controller
	netDNS      *dns.Resolver
	netProxies  *proxy.Cluster
	netTraffic  *traffic.Traffic
	// netWorldOverride replaces the kubelet model's answers (tests).
	netWorldOverride traffic.World
	// netWorldPending: a WorldChanged is scheduled for this instant.
	netWorldPending bool
}

// installNetwork creates the network model: the allocator in the API
// server, the default/kubernetes Service, the EndpointSlice controller,
// cluster DNS, one kube-proxy per node, traffic and the metrics registry.
func (c *Cluster) installNetwork() {
	cfg := c.cfg.Network.withDefaults()
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("cluster: invalid network configuration: %v", err))
	}
	c.netCfg = cfg
	c.netRegistry = promstats.NewRegistry()
	alc, err := alloc.New(c.Engine, alloc.Config{ServiceCIDR: cfg.ServiceCIDR, NodePortRange: cfg.NodePortRange})
	if err != nil {
		panic(fmt.Sprintf("cluster: %v", err))
	}
	c.netAlloc = alc
	c.API.AddAdmission(alloc.NewAdmission(alc))
	c.createKubernetesService()

	ctl, err := esctl.New(c.Engine, c.Client(esctl.Name), c.Recorder(esctl.EventSource, ""), c.Informers,
		esctl.Config{MaxEndpointsPerSlice: cfg.MaxEndpointsPerSlice, UpdatesBatchPeriod: cfg.EndpointUpdatesBatchPeriod})
	if err != nil {
		panic(fmt.Sprintf("cluster: %v", err))
	}
	c.netSlices = ctl
	c.netDNS = dns.New(cfg.ClusterDomain)
	c.netProxies = proxy.NewCluster(c.Engine, proxy.Config{Mode: cfg.ProxyMode, PropagationDelay: cfg.PropagationDelay}, c.netRegistry)
	c.netTraffic = traffic.New(c.Engine, c.netProxies, networkWorld{c}, c.netRegistry, cfg.Traffic)

	// The kubelet model reports node crashes, partitions and recoveries
	// and pods that start or stop serving (see faults.go).
	c.OnRuntimeChange(func(ev RuntimeEvent) {
		if ev.Pod == "" {
			c.NetworkNodeChanged(ev.Node)
		} else {
			c.NetworkPodChanged(ev.Namespace, ev.Pod)
		}
	})

	f := c.Informers
	f.Services().AddEventHandler(handlers(
		func(s *v1.Service) { c.netProxies.OnServiceUpdate(s); c.netDNS.OnServiceUpdate(s) },
		func(_, s *v1.Service) { c.netProxies.OnServiceUpdate(s); c.netDNS.OnServiceUpdate(s) },
		func(s *v1.Service) {
			c.netProxies.OnServiceDelete(s.Namespace, s.Name)
			c.netDNS.OnServiceDelete(s.Namespace, s.Name)
		}))
	f.EndpointSlices().AddEventHandler(handlers(
		func(s *discovery.EndpointSlice) {
			c.netProxies.OnEndpointSliceUpdate(s)
			c.netDNS.OnEndpointSliceUpdate(s)
		},
		func(_, s *discovery.EndpointSlice) {
			c.netProxies.OnEndpointSliceUpdate(s)
			c.netDNS.OnEndpointSliceUpdate(s)
		},
		func(s *discovery.EndpointSlice) {
			c.netProxies.OnEndpointSliceDelete(s.Namespace, s.Name)
			c.netDNS.OnEndpointSliceDelete(s.Namespace, s.Name)
		}))
	f.Namespaces().AddEventHandler(handlers(
		func(ns *v1.Namespace) { c.netDNS.OnNamespaceUpdate(ns.Name) },
		func(_, ns *v1.Namespace) {},
		func(ns *v1.Namespace) { c.netDNS.OnNamespaceDelete(ns.Name) }))
	f.Nodes().AddEventHandler(handlers(
		func(n *v1.Node) { c.addNodeProxy(n.Name) },
		func(_, n *v1.Node) { c.syncNodeProxy(n.Name) },
		func(n *v1.Node) { c.removeNodeProxy(n.Name) }))
	f.Pods().AddEventHandler(handlers(
		func(*v1.Pod) {},
		func(old, cur *v1.Pod) {
			if podRunStateChanged(old, cur) {
				c.worldChangedSoon()
			}
		},
		func(*v1.Pod) { c.worldChangedSoon() }))
}

// KubernetesService is the default/kubernetes Service kube-apiserver
// keeps, with cluster IP ip (the service range's first address).
func KubernetesService(ip string) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: v1.ServiceSpec{
			Type:            v1.ServiceTypeClusterIP,
			ClusterIP:       ip,
			SessionAffinity: v1.ServiceAffinityNone,
			Ports:           []v1.ServicePort{{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(6443)}},
		},
	}
}

// createKubernetesService creates default/kubernetes as kube-apiserver's
// kubernetes-service controller does: ClusterIP = the first address of the
// service range, port https 443 -> 6443.
func (c *Cluster) createKubernetesService() {
	svc := KubernetesService(c.netAlloc.KubernetesServiceIP())
	if _, err := c.Client("apiserver").CoreV1().Services(metav1.NamespaceDefault).Create(context.TODO(), svc, metav1.CreateOptions{}); err != nil {
		panic(fmt.Sprintf("cluster: creating the default/kubernetes Service: %v", err))
	}
}

// ---- kube-proxy lifecycle ----

func (c *Cluster) addNodeProxy(name string) {
	if c.netProxies.Proxy(name) == nil {
		// Stopped until the node is up (syncNodeProxy): a Node object
		// with no machine behind it runs no kube-proxy.
		c.netProxies.AddStoppedNode(name)
	}
	c.syncNodeProxy(name)
}

func (c *Cluster) removeNodeProxy(name string) {
	if c.netProxies.Proxy(name) != nil {
		c.netProxies.RemoveNode(name)
	}
	c.netTraffic.WorldChanged()
}

// syncNodeProxy runs a node's kube-proxy while the node is up and stops it
// otherwise. A partitioned node's kube-proxy cannot watch the API server,
// so it is stopped too: its rules stay and it resyncs fully when the node
// comes back.
func (c *Cluster) syncNodeProxy(name string) {
	if c.netProxies.Proxy(name) == nil {
		return
	}
	if c.trafficWorld().NodeUp(name) {
		c.netProxies.Start(name)
	} else {
		c.netProxies.Stop(name)
	}
}

// NetworkNodeChanged tells the network model that a node's state changed
// (crashed, recovered, partitioned, healed). The kubelet and fault code
// calls it right after the change, once NodeUp / NodeRunning answer the new
// way: the node's kube-proxy stops (its view freezes) or starts (and
// resyncs after the propagation delay), and traffic accounts the requests
// up to now with the old answers and later ones with the new.
func (c *Cluster) NetworkNodeChanged(name string) {
	c.syncNodeProxy(name)
	c.trafficWorldChanged()
}

// NetworkPodChanged tells the network model that a pod's containers
// started or stopped accepting connections (PodServing changed). The
// kubelet calls it right after the change, so requests are accounted as
// served or failed from that instant. (Pod object changes seen by the
// informer are picked up anyway, as is everything at the next 1 s
// accounting tick; the call makes it exact.)
func (c *Cluster) NetworkPodChanged(namespace, name string) { c.trafficWorldChanged() }

// trafficWorldChanged tells traffic that World's answers changed, unless
// no load is set: then there is nothing to account or re-plan (SetLoad
// plans afresh), and large runs without traffic do not pay for a re-plan,
// which reads every node, at every pod start. The requests up to now are
// accounted at once, with the old answers; the re-plan runs once at the
// end of the instant however many changes it brings (worldChangedSoon): a
// rollout starts and stops thousands of containers, and the plan of a big
// Service costs its endpoints times its entry nodes. Nothing uses the plan
// within the instant: the next requests come after it.
func (c *Cluster) trafficWorldChanged() {
	if len(c.netTraffic.Loads()) > 0 {
		c.netTraffic.Flush()
		c.worldChangedSoon()
	}
}

// SetTrafficWorld replaces the answers of the kubelet model (NodeUp,
// PodServing and the node list) that the traffic model and the kube-proxy
// lifecycle read; nil restores the cluster's own. Tests use it before the
// kubelet model exists (see simtest.FakeRuntime).
func (c *Cluster) SetTrafficWorld(w traffic.World) {
	c.netWorldOverride = w
	for _, n := range c.netProxies.Nodes() {
		c.syncNodeProxy(n)
	}
	c.netTraffic.WorldChanged()
}

func (c *Cluster) trafficWorld() traffic.World {
	if c.netWorldOverride != nil {
		return c.netWorldOverride
	}
	return networkWorld{c}
}

// worldChangedSoon schedules one WorldChanged for this instant (pod events
// come in bursts), when there is traffic to account.
func (c *Cluster) worldChangedSoon() {
	if c.netWorldPending || len(c.netTraffic.Loads()) == 0 {
		return
	}
	c.netWorldPending = true
	c.Engine.After(0, "traffic world changed", func() {
		c.netWorldPending = false
		c.netTraffic.WorldChanged()
	})
}

// podRunStateChanged reports a pod change that may change whether it
// serves: phase, deletion, IP, or a container starting or stopping.
func podRunStateChanged(old, cur *v1.Pod) bool {
	if old.Status.Phase != cur.Status.Phase || (old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil) ||
		old.Status.PodIP != cur.Status.PodIP || len(old.Status.ContainerStatuses) != len(cur.Status.ContainerStatuses) {
		return true
	}
	for i := range old.Status.ContainerStatuses {
		if (old.Status.ContainerStatuses[i].State.Running == nil) != (cur.Status.ContainerStatuses[i].State.Running == nil) {
			return true
		}
	}
	return false
}

// networkWorld answers traffic.World from the cluster: its nodes, the
// kubelet model's NodeUp (a crashed or partitioned node is unreachable) and
// PodServing, or the override of SetTrafficWorld. It also gives per-pod
// service times from annotations.
type networkWorld struct{ c *Cluster }

func (w networkWorld) Nodes() []string {
	if o := w.c.netWorldOverride; o != nil {
		return o.Nodes()
	}
	nodes, _ := w.c.Informers.Nodes().Lister().List(labels.Everything())
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	slices.Sort(out)
	return out
}

func (w networkWorld) NodeUp(node string) bool {
	if o := w.c.netWorldOverride; o != nil {
		return o.NodeUp(node)
	}
	return w.c.NodeUp(node)
}

func (w networkWorld) PodServing(namespace, name string) bool {
	if o := w.c.netWorldOverride; o != nil {
		return o.PodServing(namespace, name)
	}
	return w.c.PodServing(namespace, name)
}

// PodServiceTime implements traffic.ServiceTimes from the pod annotations
// kubesim.dev/service-time and kubesim.dev/workers (admission has checked
// their values: see ValidateAnnotations).
func (w networkWorld) PodServiceTime(namespace, name string) (time.Duration, int, bool) {
	pod, err := w.c.Informers.Pods().Lister().Pods(namespace).Get(name)
	if err != nil {
		return 0, 0, false
	}
	st, hasST := pod.Annotations[ServiceTimeAnnotation]
	wk, hasWK := pod.Annotations[WorkersAnnotation]
	if !hasST && !hasWK {
		return 0, 0, false
	}
	mean, workers := w.c.netCfg.Traffic.ServiceTime, w.c.netCfg.Traffic.Workers
	if d := traffic.DefaultConfig(); mean <= 0 {
		mean = d.ServiceTime
	}
	if d := traffic.DefaultConfig(); workers <= 0 {
		workers = d.Workers
	}
	if d, err := time.ParseDuration(st); hasST && err == nil && d > 0 {
		mean = d
	}
	if n, err := strconv.Atoi(wk); hasWK && err == nil && n > 0 {
		workers = n
	}
	return mean, workers, true
}

// ---- facade ----

// SetLoad installs, changes or (RPS 0) removes a request load on a Service
// port (see traffic.Load). From is "" (clients on every node that is up),
// "external" (through the NodePort on every up node) or a node name, which
// must exist.
func (c *Cluster) SetLoad(l traffic.Load) error {
	if l.From != traffic.FromCluster && l.From != traffic.FromExternal {
		if _, err := c.Informers.Nodes().Lister().Get(l.From); err != nil {
			return fmt.Errorf("setLoad %s/%s: from: no node named %q (want a node, %q for clients in the cluster or %q)",
				l.Namespace, l.Service, l.From, traffic.FromCluster, traffic.FromExternal)
		}
	}
	return c.netTraffic.Set(l)
}

// SetServiceLoad gives a Service (its first port) a steady rate of rps
// requests per second from "" (the cluster), "external" or a node; rps 0
// removes the load.
func (c *Cluster) SetServiceLoad(namespace, service string, rps float64, from string) error {
	return c.SetLoad(traffic.Load{Namespace: namespace, Service: service, RPS: rps, From: from})
}

// Resolve resolves name as cluster DNS answers a pod in podNamespace
// ("web", "web.shop", "web.shop.svc.cluster.local.", ...).
func (c *Cluster) Resolve(podNamespace, name string) dns.Answer {
	return c.netDNS.Resolve(podNamespace, name)
}

// Metrics returns the run's metrics registry (kubesim_requests_total,
// kubesim_request_duration_seconds, kubesim_endpoints, and what other
// components register), with traffic accounted up to now.
func (c *Cluster) Metrics() *promstats.Registry {
	c.netTraffic.Flush()
	return c.netRegistry
}

// Traffic is the traffic model.
func (c *Cluster) Traffic() *traffic.Traffic { return c.netTraffic }

// Proxies is the set of kube-proxies.
func (c *Cluster) Proxies() *proxy.Cluster { return c.netProxies }

// DNS is the cluster DNS resolver.
func (c *Cluster) DNS() *dns.Resolver { return c.netDNS }

// ServiceAllocator is the API server's ClusterIP / NodePort allocator.
func (c *Cluster) ServiceAllocator() *alloc.Allocator { return c.netAlloc }

// EndpointSliceController is the EndpointSlice controller.
func (c *Cluster) EndpointSliceController() *esctl.Controller { return c.netSlices }

// TrafficLoadSource adapts the traffic model to the metrics-server load
// model: the requests per second a pod serves under the current routing.
// The workload wiring connects them (in installWorkloads, which runs after
// installNetwork):
//
//	ms := metrics.New(c.Engine, listPods, c.TrafficLoadSource())
//	c.OnTrafficLoadChanging(ms.LoadChanged)
func (c *Cluster) TrafficLoadSource() metrics.LoadSource { return trafficLoadSource{c.netTraffic} }

// OnTrafficLoadChanging registers fn to run just before the per-pod rates
// of TrafficLoadSource may change (while they still answer the old rates),
// so that a consumer integrating them over time closes its segment.
func (c *Cluster) OnTrafficLoadChanging(fn func()) { c.netTraffic.BeforeRatesChange(fn) }

type trafficLoadSource struct{ t *traffic.Traffic }

func (s trafficLoadSource) RPS(pod *v1.Pod) float64 { return s.t.RPS(pod.Namespace, pod.Name) }

var _ traffic.ServiceTimes = networkWorld{}
