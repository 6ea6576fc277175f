package proxy

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"

	"github.com/kubesim/kubesim/sim"
)

// LabelServiceProxyName marks a Service (and its EndpointSlices, which copy
// the Service's labels) as implemented by another service proxy:
// kube-proxy ignores it (pkg/proxy/apis.LabelServiceProxyName).
const LabelServiceProxyName = "service.kubernetes.io/service-proxy-name"

// otherProxy reports whether an object's labels hand it to another service
// proxy; kube-proxy's informers select only objects without that label.
func otherProxy(labels map[string]string) bool {
	_, ok := labels[LabelServiceProxyName]
	return ok
}

// Reasons a Route has no usable endpoint, and so a connection fails.
const (
	ErrNoService        = "no such service"
	ErrExternalName     = "ExternalName service has no endpoints in the cluster"
	ErrNoPort           = "no such service port"
	ErrNoNodePort       = "service has no node port"
	ErrNoEndpoints      = "no endpoints (rejected)"
	ErrNoLocalEndpoints = "no local endpoints (dropped)"
)

// Proxy is one node's kube-proxy: its own copy of Services and
// EndpointSlices (see Cluster for how it is kept in sync) and its
// load-balancing state (round-robin positions, session affinity, random
// stream "kube-proxy/<node>").
type Proxy struct {
	c          *Cluster
	node       string
	view       *view
	running    bool
	programmed bool      // set by the first full resync and kept: it has rules to route with
	resync     sim.Timer // pending full resync after Start
	snapshotID uint64    // last change id the pending resync includes
	deferred   []change  // changes due while waiting for the resync
	rngName    string
	rng        *rand.Rand
	routes     map[routeKey]*Route       // cache, dropped per service on change
	healthy    map[nsName]bool           // HealthCheck cache, dropped per service on change
	rr         map[routeKey]string       // key of the endpoint used last
	affinity   map[affinityKey]*affinity // client pins
	version    uint64                    // count of applied changes
}

type routeKey struct {
	ns, svc, port string
	external      bool
}

type affinityKey struct{ ns, svc, port, client string }

type affinity struct {
	endpoint string        // Endpoint.Key
	lastUsed time.Duration // engine time of the client's last connection
}

// Node is the proxy's node name.
func (p *Proxy) Node() string { return p.node }

// Running reports whether the proxy is running (applying changes).
func (p *Proxy) Running() bool { return p.running }

// Synced reports whether the proxy is running and not waiting for its
// startup resync.
func (p *Proxy) Synced() bool { return p.running && !p.resync.Pending() }

// HasSynced reports whether the proxy has completed its first sync since
// it was added, so that it has rules to route with (stale ones while it is
// stopped or waiting for a resync after a restart).
func (p *Proxy) HasSynced() bool { return p.programmed }

// Version counts the changes the proxy has applied (resyncs included); it
// tells observers that the view moved.
func (p *Proxy) Version() uint64 { return p.version }

func (p *Proxy) resetBalancing() {
	if p.rng == nil {
		p.rng = p.c.eng.Rand(p.rngName)
	}
	p.rr = map[routeKey]string{}
	p.affinity = map[affinityKey]*affinity{}
	p.routes = map[routeKey]*Route{}
	p.healthy = map[nsName]bool{}
	p.version++
}

func (p *Proxy) applyChange(ch change) {
	touched := p.view.apply(ch)
	for k := range p.routes {
		if slices.Contains(touched, nsName{k.ns, k.svc}) {
			delete(p.routes, k)
		}
	}
	for _, svc := range touched {
		delete(p.healthy, svc)
	}
	p.version++
}

func (p *Proxy) trace(verb, msg string) {
	p.c.eng.Trace(sim.Record{Component: "kube-proxy/" + p.node, Verb: verb, Kind: "Node", Name: p.node, Msg: msg})
}

// Endpoint is one backend of a service port as kube-proxy sees it.
type Endpoint struct {
	// Key is "ip:port", kube-proxy's endpoint string; endpoints are ordered
	// by it.
	Key  string
	IP   string
	Port int32
	// Namespace and Pod name the target pod ("" when the endpoint has no
	// Pod targetRef).
	Namespace, Pod string
	// Node is the endpoint's nodeName ("" when unset).
	Node                        string
	Ready, Serving, Terminating bool
}

// Route is what a kube-proxy does with new connections to one service port,
// entering either through the ClusterIP (internal) or a NodePort (external).
type Route struct {
	Namespace, Service string
	// Port is the service port's name ("" for an unnamed single port).
	Port     string
	External bool
	// Endpoints are the usable endpoints (§7.2), in kube-proxy's order.
	Endpoints []Endpoint
	// Err says why Endpoints is empty; connections fail with it.
	Err string
	// AffinityTimeout is the ClientIP session affinity timeout; 0 without
	// affinity.
	AffinityTimeout time.Duration
	// Headless marks a headless service: clients connect to the ready pod
	// IPs DNS returns, without kube-proxy; kubesim spreads them over
	// Endpoints like round-robin.
	Headless bool
	// Local marks traffic policy Local (internalTrafficPolicy for internal
	// routes, externalTrafficPolicy for external ones).
	Local bool
}

// Route returns the proxy's current route for a service port. port names
// the service port; "" means the service's first port. The result is
// shared and must not be modified; it stays valid until the proxy's view
// changes (see Version).
func (p *Proxy) Route(namespace, service, port string, external bool) *Route {
	k := routeKey{namespace, service, port, external}
	if r, ok := p.routes[k]; ok {
		return r
	}
	r := p.computeRoute(k)
	p.routes[k] = r
	return r
}

func (p *Proxy) computeRoute(k routeKey) *Route {
	r := &Route{Namespace: k.ns, Service: k.svc, Port: k.port, External: k.external}
	svc := p.view.services[nsName{k.ns, k.svc}]
	if svc == nil || otherProxy(svc.Labels) {
		r.Err = ErrNoService
		return r
	}
	if svc.Spec.Type == v1.ServiceTypeExternalName {
		r.Err = ErrExternalName
		return r
	}
	var sp *v1.ServicePort
	for i := range svc.Spec.Ports {
		if k.port == "" && i == 0 || svc.Spec.Ports[i].Name == k.port {
			sp = &svc.Spec.Ports[i]
			break
		}
	}
	if sp == nil {
		r.Err = ErrNoPort
		return r
	}
	r.Port = sp.Name
	r.Headless = svc.Spec.ClusterIP == v1.ClusterIPNone
	if k.external && (r.Headless || sp.NodePort == 0) {
		r.Err = ErrNoNodePort
		return r
	}
	if svc.Spec.SessionAffinity == v1.ServiceAffinityClientIP && !r.Headless {
		secs := int32(v1.DefaultClientIPServiceAffinitySeconds)
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			secs = *c.ClientIP.TimeoutSeconds
		}
		r.AffinityTimeout = time.Duration(secs) * time.Second
	}
	eps := p.c.endpointList(p.view, nsName{k.ns, k.svc}, sp.Name, sp.Protocol)
	all := eps.all
	if r.Headless {
		r.Endpoints = eps.readyOnly()
		if len(r.Endpoints) == 0 {
			r.Err = ErrNoEndpoints
		}
		return r
	}
	if k.external {
		r.Local = svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal
	} else {
		r.Local = svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == v1.ServiceInternalTrafficPolicyLocal
	}
	if r.Local {
		r.Endpoints = usable(filter(all, func(e Endpoint) bool { return e.Node == p.node }))
	} else {
		r.Endpoints = eps.usable()
	}
	if len(r.Endpoints) == 0 {
		r.Err = ErrNoEndpoints
		if r.Local && len(eps.usable()) > 0 {
			r.Err = ErrNoLocalEndpoints
		}
	}
	return r
}

// endpointList is what endpointsFor lists for a service port from a
// view's slices, with its usable and ready endpoints, all computed once
// and shared by every kube-proxy whose view holds the same slice objects
// (slices are immutable: a change brings a new object): the proxies of a
// cluster mostly see the same slices, and a big Service's list is costly.
type endpointList struct {
	slices     []*discovery.EndpointSlice // the view's slices of the service, in name order
	all        []Endpoint
	usableEPs  []Endpoint
	readyEPs   []Endpoint
	usableDone bool
	readyDone  bool
}

func (l *endpointList) usable() []Endpoint {
	if !l.usableDone {
		l.usableEPs, l.usableDone = usable(l.all), true
	}
	return l.usableEPs
}

func (l *endpointList) readyOnly() []Endpoint {
	if !l.readyDone {
		l.readyEPs, l.readyDone = filter(l.all, func(e Endpoint) bool { return e.Ready }), true
	}
	return l.readyEPs
}

type endpointListKey struct {
	ns, svc, port string
	protocol      v1.Protocol
}

// endpointListVersions is how many lists of one service port the cluster
// keeps (the proxies' views differ while some of them lag).
const endpointListVersions = 4

// endpointList returns the endpoint list of a service port in view v,
// from the cache when v holds the same slices as a cached list.
func (c *Cluster) endpointList(v *view, svc nsName, portName string, protocol v1.Protocol) *endpointList {
	names := v.bySvc[svc]
	cur := make([]*discovery.EndpointSlice, len(names))
	for i, name := range names {
		cur[i] = v.slices[nsName{svc.ns, name}]
	}
	k := endpointListKey{svc.ns, svc.name, portName, protocolOrTCP(protocol)}
	lists := c.epLists[k]
	for _, l := range lists {
		if slices.Equal(l.slices, cur) {
			return l
		}
	}
	l := &endpointList{slices: cur, all: endpointsFor(v, svc, portName, k.protocol)}
	if len(lists) == endpointListVersions {
		lists = slices.Delete(lists, 0, 1) // the oldest
	}
	c.epLists[k] = append(lists, l)
	return l
}

// usable is pkg/proxy/topology.go's rule (without topology hints): the
// ready endpoints; if none, the serving and terminating ones.
func usable(eps []Endpoint) []Endpoint {
	if ready := filter(eps, func(e Endpoint) bool { return e.Ready }); len(ready) > 0 {
		return ready
	}
	return filter(eps, func(e Endpoint) bool { return e.Serving && e.Terminating })
}

func filter(eps []Endpoint, keep func(Endpoint) bool) []Endpoint {
	var out []Endpoint
	for _, e := range eps {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// endpointsFor lists the endpoints of a service port from the view's
// slices: the slice port of that name and protocol gives the port number
// (a port numbered 0 gives none: kube-proxy's endpointInfoByServicePort
// skips it); endpoints are
// deduplicated by ip:port (first slice by name wins) and sorted by it, as
// kube-proxy's endpoint cache does; slices labelled LabelServiceProxyName
// are not kube-proxy's. Missing conditions default as in
// kube-proxy's newEndpointSliceInfo: ready true, serving true, terminating
// false.
func endpointsFor(v *view, svc nsName, portName string, protocol v1.Protocol) []Endpoint {
	var out []Endpoint
	seen := map[string]bool{}
	for _, name := range v.bySvc[svc] {
		s := v.slices[nsName{svc.ns, name}]
		if otherProxy(s.Labels) || s.AddressType != discovery.AddressTypeIPv4 {
			continue
		}
		var port int32
		found := false
		for _, sp := range s.Ports {
			n := ""
			if sp.Name != nil {
				n = *sp.Name
			}
			if n == portName && validPort(sp) && protocolOrTCP(ptr.Deref(sp.Protocol, "")) == protocol {
				port, found = *sp.Port, true
				break
			}
		}
		if !found {
			continue
		}
		for _, ep := range s.Endpoints {
			if len(ep.Addresses) == 0 {
				continue
			}
			e := Endpoint{IP: ep.Addresses[0], Port: port}
			e.Key = e.IP + ":" + strconv.Itoa(int(port))
			if seen[e.Key] {
				continue
			}
			seen[e.Key] = true
			e.Ready = ep.Conditions.Ready == nil || *ep.Conditions.Ready
			e.Serving = ep.Conditions.Serving == nil || *ep.Conditions.Serving
			e.Terminating = ep.Conditions.Terminating != nil && *ep.Conditions.Terminating
			if ep.NodeName != nil {
				e.Node = *ep.NodeName
			}
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
				e.Namespace, e.Pod = ep.TargetRef.Namespace, ep.TargetRef.Name
			}
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// HealthCheck is the answer of the node's health-check node port for a
// Service with externalTrafficPolicy Local (pkg/proxy/healthcheck's
// service health server, fed EndpointsMap.LocalReadyEndpoints): true when
// the proxy is running, sees the Service with externalTrafficPolicy Local
// and has a ready endpoint of it on this node, on any of its ports.
// Serving-terminating endpoints do not count: a node whose local endpoints
// are all draining still routes its NodePort traffic to them but fails the
// check. A load balancer sends traffic only to nodes that pass. A
// (re)started proxy fails it until its first sync: upstream's proxier opens
// the health-check node ports in that sync (ServiceHealthServer.SyncServices),
// so the rules left from before a crash answer no probe.
func (p *Proxy) HealthCheck(namespace, service string) bool {
	if !p.Synced() {
		return false
	}
	key := nsName{namespace, service}
	h, ok := p.healthy[key]
	if !ok {
		h = p.localReady(key)
		p.healthy[key] = h
	}
	return h
}

// localReady reports whether the view has a ready endpoint of an
// externalTrafficPolicy Local Service on the proxy's node.
func (p *Proxy) localReady(key nsName) bool {
	svc := p.view.services[key]
	if svc == nil || otherProxy(svc.Labels) || svc.Spec.ExternalTrafficPolicy != v1.ServiceExternalTrafficPolicyLocal {
		return false
	}
	for _, name := range p.view.bySvc[key] {
		s := p.view.slices[nsName{key.ns, name}]
		if otherProxy(s.Labels) || s.AddressType != discovery.AddressTypeIPv4 || !slices.ContainsFunc(s.Ports, validPort) {
			continue
		}
		for _, ep := range s.Endpoints {
			if len(ep.Addresses) > 0 && ep.NodeName != nil && *ep.NodeName == p.node &&
				(ep.Conditions.Ready == nil || *ep.Conditions.Ready) {
				return true
			}
		}
	}
	return false
}

// validPort reports whether a slice port gives its endpoints a port
// number, as endpointsFor reads it: kube-proxy ignores a nil or 0 port.
func validPort(sp discovery.EndpointPort) bool { return sp.Port != nil && *sp.Port != 0 }

// protocolOrTCP is a port's protocol with the API server's default: kubesim
// does not default hand-made objects, kube-proxy reads them as defaulted.
func protocolOrTCP(p v1.Protocol) v1.Protocol {
	if p == "" {
		return v1.ProtocolTCP
	}
	return p
}

// Distribute chooses endpoints for n new connections without session
// affinity and returns how many go to each of r.Endpoints. In round-robin
// mode the counts are exactly those n one-at-a-time picks would give, and
// the position carries over to the next call; in random mode they are a
// draw from the multinomial the iptables chain induces. r must come from
// this proxy's Route and have endpoints.
func (p *Proxy) Distribute(r *Route, n uint64) []uint64 { return p.DistributeInto(r, n, nil) }

// DistributeInto is Distribute writing the counts into buf when it has
// room for them (its contents are overwritten), for callers that route
// often.
func (p *Proxy) DistributeInto(r *Route, n uint64, buf []uint64) []uint64 {
	k := len(r.Endpoints)
	if k == 0 {
		panic(fmt.Sprintf("proxy: Distribute over %s/%s without endpoints", r.Namespace, r.Service))
	}
	if p.c.cfg.Mode == ModeRandom && !r.Headless {
		if n == 1 {
			out := zeroed(buf, k)
			out[p.chain(k)] = 1
			return out
		}
		return multinomialEven(p.rng, n, k)
	}
	rk := routeKey{r.Namespace, r.Service, r.Port, r.External}
	start := p.nextIndex(r, p.rr[rk])
	out := zeroed(buf, k)
	q, rem := n/uint64(k), n%uint64(k)
	for i := range k {
		out[(start+i)%k] = q
		if uint64(i) < rem {
			out[(start+i)%k]++
		}
	}
	if n > 0 {
		p.rr[rk] = r.Endpoints[(start+int((n-1)%uint64(k)))%k].Key
	}
	return out
}

// zeroed is buf[:k] cleared, or a new slice when buf is too short.
func zeroed(buf []uint64, k int) []uint64 {
	if cap(buf) < k {
		return make([]uint64, k)
	}
	buf = buf[:k]
	clear(buf)
	return buf
}

// nextIndex is the index of the first endpoint after last in key order,
// wrapping around: IPVS rr continues from the server it used last.
func (p *Proxy) nextIndex(r *Route, last string) int {
	if last == "" {
		return 0
	}
	i, found := slices.BinarySearchFunc(r.Endpoints, last, func(e Endpoint, key string) int { return cmp.Compare(e.Key, key) })
	if found {
		i++
	}
	return i % len(r.Endpoints)
}

// chain evaluates the iptables probability chain once: rule i matches with
// probability 1/(k-i), the last rule always.
func (p *Proxy) chain(k int) int {
	for i := 0; i < k-1; i++ {
		if p.rng.Float64() < 1/float64(k-i) {
			return i
		}
	}
	return k - 1
}

// Pick chooses the endpoint index for one new connection, honouring
// ClientIP session affinity when the route has it: a client whose pinned
// endpoint is still usable and was used within the timeout keeps it (and
// refreshes the timer); otherwise the mode's rule picks and the client is
// pinned. now is the engine time of the connection.
func (p *Proxy) Pick(r *Route, client string, now time.Duration) int {
	if r.AffinityTimeout <= 0 {
		counts := p.Distribute(r, 1)
		return slices.Index(counts, 1)
	}
	ak := affinityKey{r.Namespace, r.Service, r.Port, client}
	if a, ok := p.affinity[ak]; ok && now-a.lastUsed <= r.AffinityTimeout {
		if i := slices.IndexFunc(r.Endpoints, func(e Endpoint) bool { return e.Key == a.endpoint }); i >= 0 {
			a.lastUsed = now
			return i
		}
	}
	counts := p.Distribute(r, 1)
	i := slices.Index(counts, 1)
	p.affinity[ak] = &affinity{endpoint: r.Endpoints[i].Key, lastUsed: now}
	return i
}

// Pinned returns the endpoint key a client is pinned to for a route's
// service port and whether the pin is still valid at now.
func (p *Proxy) Pinned(r *Route, client string, now time.Duration) (string, bool) {
	a, ok := p.affinity[affinityKey{r.Namespace, r.Service, r.Port, client}]
	if !ok {
		return "", false
	}
	return a.endpoint, now-a.lastUsed <= r.AffinityTimeout
}
