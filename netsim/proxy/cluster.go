package proxy

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/promstats"
)

// Mode is kube-proxy's load-balancing mode.
type Mode string

// Modes.
const (
	// ModeRoundRobin is IPVS with the rr scheduler: each service port's
	// new connections cycle through its usable endpoints in order.
	ModeRoundRobin Mode = "roundRobin"
	// ModeRandom is iptables' probability chain: endpoint i of n is chosen
	// with probability 1/(n-i) if the rules before it did not match.
	ModeRandom Mode = "random"
)

// DefaultPropagationDelay is how long after a Service or EndpointSlice
// change every kube-proxy applies it: kube-proxy's minSyncPeriod (1 s),
// standing for watch latency plus the rate-limited rule sync.
const DefaultPropagationDelay = time.Second

// Config configures every kube-proxy of the cluster.
type Config struct {
	// Mode is the load-balancing mode; "" means ModeRoundRobin.
	Mode Mode
	// PropagationDelay is the time from a change reported to the Cluster to
	// its application by each running kube-proxy; it must not be negative.
	PropagationDelay time.Duration
}

// DefaultConfig is round-robin with a 1 s propagation delay.
func DefaultConfig() Config {
	return Config{Mode: ModeRoundRobin, PropagationDelay: DefaultPropagationDelay}
}

// Listener is told around every change of any kube-proxy's view, so that
// traffic accounted up to now uses the old view and later traffic the new
// one.
type Listener interface {
	// BeforeProxySync runs just before one or more views change.
	BeforeProxySync()
	// AfterProxySync runs just after.
	AfterProxySync()
}

type nsName struct{ ns, name string }

// view is a set of Services and EndpointSlices: the API's, or one
// kube-proxy's copy. Objects are shared and never modified.
type view struct {
	services map[nsName]*v1.Service
	slices   map[nsName]*discovery.EndpointSlice
	bySvc    map[nsName][]string // slice names per service, sorted
}

func newView() *view {
	return &view{services: map[nsName]*v1.Service{}, slices: map[nsName]*discovery.EndpointSlice{}, bySvc: map[nsName][]string{}}
}

func (v *view) clone() *view {
	c := newView()
	for k, s := range v.services {
		c.services[k] = s
	}
	for k, s := range v.slices {
		c.slices[k] = s
	}
	for k, names := range v.bySvc {
		c.bySvc[k] = slices.Clone(names)
	}
	return c
}

// apply records ch and returns the services it concerns (a slice whose
// service label changed concerns two).
func (v *view) apply(ch change) []nsName {
	switch ch.kind {
	case kindService:
		if ch.svc == nil {
			delete(v.services, ch.key)
		} else {
			v.services[ch.key] = ch.svc
		}
		return []nsName{ch.key}
	case kindSlice:
		var touched []nsName
		if old, ok := v.slices[ch.key]; ok && ch.slice != nil && sliceService(old) == sliceService(ch.slice) {
			v.slices[ch.key] = ch.slice // same service: bySvc is unchanged
			return []nsName{sliceService(ch.slice)}
		} else if ok {
			svc := sliceService(old)
			touched = append(touched, svc)
			delete(v.slices, ch.key)
			v.bySvc[svc] = slices.DeleteFunc(v.bySvc[svc], func(n string) bool { return n == ch.key.name })
			if len(v.bySvc[svc]) == 0 {
				delete(v.bySvc, svc)
			}
		}
		if ch.slice != nil {
			svc := sliceService(ch.slice)
			if !slices.Contains(touched, svc) {
				touched = append(touched, svc)
			}
			v.slices[ch.key] = ch.slice
			names := v.bySvc[svc]
			i, _ := slices.BinarySearch(names, ch.key.name) // not there: removed above
			v.bySvc[svc] = slices.Insert(names, i, ch.key.name)
		}
		return touched
	}
	panic(fmt.Sprintf("proxy: change of unknown kind %d", ch.kind))
}

func sliceService(s *discovery.EndpointSlice) nsName {
	return nsName{s.Namespace, s.Labels[discovery.LabelServiceName]}
}

type changeKind int

const (
	kindService changeKind = iota
	kindSlice
)

// change is one reported API change, due at at+delay on every running
// kube-proxy.
type change struct {
	id    uint64 // increasing in report order
	at    time.Duration
	kind  changeKind
	key   nsName
	svc   *v1.Service              // nil: deleted
	slice *discovery.EndpointSlice // nil: deleted
}

// Cluster is the set of kube-proxies, one per node, and the API view they
// sync from. The wiring reports Service and EndpointSlice changes (from
// informer handlers) and node lifecycle; each running kube-proxy applies a
// change exactly PropagationDelay after it was reported, so a node's view
// can be stale; a stopped kube-proxy applies nothing and resyncs fully
// PropagationDelay after it is started again.
type Cluster struct {
	eng       *sim.Engine
	cfg       Config
	api       *view
	pending   []change // FIFO of reported changes not yet due
	lastID    uint64   // id of the last reported change
	timer     sim.Timer
	proxies   map[string]*Proxy
	nodes     []string // sorted
	listeners []Listener
	endpoints *promstats.GaugeVec // kubesim_endpoints, may be nil
	// stale lists the services whose kubesim_endpoints series are out of
	// date: counting a Service's endpoints reads all its slices, so it is
	// done when the registry is read, not on every slice change.
	stale map[nsName]bool
	// epLists are the endpoint lists the proxies' routes share.
	epLists map[endpointListKey][]*endpointList
}

// NewCluster returns a Cluster with no nodes. reg, if not nil, receives the
// kubesim_endpoints{namespace,service,ready} gauge (endpoints in the API's
// EndpointSlices of each Service, by ready condition).
func NewCluster(eng *sim.Engine, cfg Config, reg *promstats.Registry) *Cluster {
	if cfg.Mode == "" {
		cfg.Mode = ModeRoundRobin
	}
	if cfg.Mode != ModeRoundRobin && cfg.Mode != ModeRandom {
		panic(fmt.Sprintf("proxy: unknown mode %q (want %q or %q)", cfg.Mode, ModeRoundRobin, ModeRandom))
	}
	if cfg.PropagationDelay < 0 {
		panic(fmt.Sprintf("proxy: negative propagation delay %v", cfg.PropagationDelay))
	}
	c := &Cluster{eng: eng, cfg: cfg, api: newView(), proxies: map[string]*Proxy{}, epLists: map[endpointListKey][]*endpointList{}}
	if reg != nil {
		c.endpoints = reg.Gauge("kubesim_endpoints", "Endpoints listed in the EndpointSlices of a Service, by ready condition.", "namespace", "service", "ready")
		c.stale = map[nsName]bool{}
		reg.OnCollect(c.updateEndpointsGauges)
	}
	return c
}

// Config is the cluster's configuration.
func (c *Cluster) Config() Config { return c.cfg }

// AddListener registers l for all later view changes.
func (c *Cluster) AddListener(l Listener) { c.listeners = append(c.listeners, l) }

// OnServiceUpdate reports an added or changed Service (informer add/update).
func (c *Cluster) OnServiceUpdate(svc *v1.Service) {
	c.report(change{kind: kindService, key: nsName{svc.Namespace, svc.Name}, svc: svc})
}

// OnServiceDelete reports a deleted Service.
func (c *Cluster) OnServiceDelete(namespace, name string) {
	c.report(change{kind: kindService, key: nsName{namespace, name}})
}

// OnEndpointSliceUpdate reports an added or changed EndpointSlice. Slices
// are attributed to the Service named by their kubernetes.io/service-name
// label.
func (c *Cluster) OnEndpointSliceUpdate(s *discovery.EndpointSlice) {
	c.report(change{kind: kindSlice, key: nsName{s.Namespace, s.Name}, slice: s})
}

// OnEndpointSliceDelete reports a deleted EndpointSlice.
func (c *Cluster) OnEndpointSliceDelete(namespace, name string) {
	c.report(change{kind: kindSlice, key: nsName{namespace, name}})
}

func (c *Cluster) report(ch change) {
	c.lastID++
	ch.id = c.lastID
	ch.at = c.eng.Elapsed()
	touched := c.api.apply(ch)
	if ch.kind == kindSlice && c.endpoints != nil {
		for _, svc := range touched {
			c.stale[svc] = true
		}
	}
	c.pending = append(c.pending, ch)
	if !c.timer.Pending() {
		c.timer = c.eng.At(ch.at+c.cfg.PropagationDelay, "kube-proxy sync", c.sync)
	}
}

// sync applies every change now due to every running, synced kube-proxy.
func (c *Cluster) sync() {
	now := c.eng.Elapsed()
	n := 0
	for n < len(c.pending) && c.pending[n].at+c.cfg.PropagationDelay <= now {
		n++
	}
	due := c.pending[:n]
	c.pending = slices.Clone(c.pending[n:])
	c.before()
	for _, node := range c.nodes {
		p := c.proxies[node]
		if !p.running {
			continue
		}
		if p.resync.Pending() {
			// changes the resync snapshot lacks wait for it
			for _, ch := range due {
				if ch.id > p.snapshotID {
					p.deferred = append(p.deferred, ch)
				}
			}
			continue
		}
		for _, ch := range due {
			p.applyChange(ch)
		}
		p.trace("sync", fmt.Sprintf("applied %d change(s)", len(due)))
	}
	c.after()
	if len(c.pending) > 0 {
		c.timer = c.eng.At(c.pending[0].at+c.cfg.PropagationDelay, "kube-proxy sync", c.sync)
	}
}

func (c *Cluster) before() {
	for _, l := range c.listeners {
		l.BeforeProxySync()
	}
}

func (c *Cluster) after() {
	for _, l := range c.listeners {
		l.AfterProxySync()
	}
}

// AddNode creates the kube-proxy of a new node. It starts like a restarted
// one: empty view until its first full sync PropagationDelay from now.
// Adding an existing node panics.
func (c *Cluster) AddNode(node string) *Proxy {
	p := c.AddStoppedNode(node)
	c.Start(node)
	return p
}

// AddStoppedNode adds a node's kube-proxy without starting it: a Node
// object whose machine is not up (no kubelet runs there yet) has no
// kube-proxy running either; Start starts it when the node comes up.
func (c *Cluster) AddStoppedNode(node string) *Proxy {
	if _, ok := c.proxies[node]; ok {
		panic(fmt.Sprintf("proxy: node %q added twice", node))
	}
	p := &Proxy{c: c, node: node, view: newView(), rngName: "kube-proxy/" + node}
	p.resetBalancing()
	c.proxies[node] = p
	c.nodes = append(c.nodes, node)
	slices.Sort(c.nodes)
	return p
}

// RemoveNode deletes a node's kube-proxy (the Node object is gone).
func (c *Cluster) RemoveNode(node string) {
	p := c.mustProxy(node)
	c.before()
	p.resync.Stop()
	p.running = false
	delete(c.proxies, node)
	c.nodes = slices.DeleteFunc(c.nodes, func(n string) bool { return n == node })
	c.after()
}

// Stop stops a node's kube-proxy (node crash, kube-proxy crash): its view
// and rules stay as they are and it applies no further change. Stopping a
// stopped proxy does nothing.
func (c *Cluster) Stop(node string) {
	p := c.mustProxy(node)
	if !p.running {
		return
	}
	p.running = false
	p.resync.Stop()
	p.trace("stop", "kube-proxy stopped; view frozen")
}

// Start (re)starts a node's kube-proxy: it keeps its old view until a full
// resync PropagationDelay from now installs the API state as of now (later
// changes then follow with their own delay). Balancing state (round-robin
// positions, session affinity) starts afresh. Starting a running proxy does
// nothing.
func (c *Cluster) Start(node string) {
	p := c.mustProxy(node)
	if p.running {
		return
	}
	p.running = true
	snapshot := c.api.clone()
	p.snapshotID = c.lastID
	p.deferred = nil
	p.resync = c.eng.After(c.cfg.PropagationDelay, "kube-proxy resync "+node, func() {
		c.before()
		p.view = snapshot
		p.programmed = true
		p.resetBalancing()
		p.routes = map[routeKey]*Route{}
		for _, ch := range p.deferred {
			p.applyChange(ch)
		}
		p.deferred = nil
		p.trace("resync", "full resync")
		c.after()
	})
	p.trace("start", "kube-proxy started; resync in "+c.cfg.PropagationDelay.String())
}

// Proxy returns a node's kube-proxy, or nil.
func (c *Cluster) Proxy(node string) *Proxy { return c.proxies[node] }

// Nodes lists the nodes that have a kube-proxy, sorted.
func (c *Cluster) Nodes() []string { return slices.Clone(c.nodes) }

func (c *Cluster) mustProxy(node string) *Proxy {
	p, ok := c.proxies[node]
	if !ok {
		panic(fmt.Sprintf("proxy: no kube-proxy for node %q", node))
	}
	return p
}

// APIService returns the Service as the API shows it now (not as any
// kube-proxy sees it), or nil.
func (c *Cluster) APIService(namespace, name string) *v1.Service {
	return c.api.services[nsName{namespace, name}]
}

// updateEndpointsGauges brings the kubesim_endpoints series of every stale
// Service up to date (the registry's collect hook).
func (c *Cluster) updateEndpointsGauges() {
	if len(c.stale) == 0 {
		return
	}
	svcs := make([]nsName, 0, len(c.stale))
	for svc := range c.stale {
		svcs = append(svcs, svc)
	}
	slices.SortFunc(svcs, func(a, b nsName) int { return cmp.Or(cmp.Compare(a.ns, b.ns), cmp.Compare(a.name, b.name)) })
	clear(c.stale)
	for _, svc := range svcs {
		c.updateEndpointsGauge(svc)
	}
}

func (c *Cluster) updateEndpointsGauge(svc nsName) {
	if svc.name == "" {
		return
	}
	ready, notReady := 0, 0
	seen := map[string]bool{}
	for _, name := range c.api.bySvc[svc] {
		s := c.api.slices[nsName{svc.ns, name}]
		for _, ep := range s.Endpoints {
			if len(ep.Addresses) == 0 || seen[ep.Addresses[0]] {
				continue
			}
			seen[ep.Addresses[0]] = true
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ready++
			} else {
				notReady++
			}
		}
	}
	if len(c.api.bySvc[svc]) == 0 {
		c.endpoints.Delete(svc.ns, svc.name, "true")
		c.endpoints.Delete(svc.ns, svc.name, "false")
		return
	}
	c.endpoints.With(svc.ns, svc.name, "true").Set(float64(ready))
	c.endpoints.With(svc.ns, svc.name, "false").Set(float64(notReady))
}

// ChainProbabilities returns the probabilities kube-proxy's iptables mode
// writes for a service with n endpoints: rule i (0-based, i < n-1) matches
// with probability 1/(n-i), printed with 10 decimals; the last rule is
// unconditional and has no entry.
func ChainProbabilities(n int) []string {
	var out []string
	for i := 0; i < n-1; i++ {
		out = append(out, strconv.FormatFloat(1/float64(n-i), 'f', 10, 64))
	}
	return out
}
