package traffic

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/kubesim/kubesim/netsim/proxy"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/promstats"
)

// World is what the traffic model asks the rest of the simulation. Answers
// are read when routing is (re)planned (see WorldChanged) and held until
// the next replan, so a change reported after it happened is still
// accounted with the old answers up to that moment.
type World interface {
	// Nodes lists the cluster's nodes (any order).
	Nodes() []string
	// NodeUp reports whether a node is running and reachable on the
	// cluster network: false when it crashed or is partitioned away.
	NodeUp(node string) bool
	// PodServing reports whether a pod exists, runs and accepts
	// connections (its containers are up; readiness does not matter here:
	// an endpoint that is routed to but not ready still answers).
	PodServing(namespace, name string) bool
}

// ServiceTimes is an optional World extension: a pod's mean service time
// per request and how many requests it works on at once (e.g. from
// kubesim.dev/ annotations). ok=false means the defaults of Config.
type ServiceTimes interface {
	PodServiceTime(namespace, name string) (mean time.Duration, workers int, ok bool)
}

// From values besides a node name.
const (
	// FromCluster spreads requests evenly over the nodes that are up, as
	// clients inside the cluster would send them (the default).
	FromCluster = ""
	// FromExternal enters through the service's NodePort on every node
	// that is up (for a LoadBalancer service with externalTrafficPolicy
	// Local: every node whose health check passes), as an external load
	// balancer would.
	FromExternal = "external"
)

// Trace modes of a load.
type TraceMode int

const (
	// TraceAuto traces loads at or below Config.TraceBelowRPS request by
	// request and accounts faster ones in aggregate.
	TraceAuto TraceMode = iota
	// TraceAlways makes every request its own engine event.
	TraceAlways
	// TraceNever always accounts in aggregate.
	TraceNever
)

// Outcomes, the values of the outcome label.
const (
	Served = "served"
	Failed = "failed"
)

// Failure reasons besides the proxy's route errors (proxy.Err*).
const (
	ReasonPodNotServing = "pod not serving"
	ReasonNodeDown      = "endpoint node down or unreachable"
	ReasonEntryDown     = "entry node down"
	ReasonNoEntry       = "no node to enter through"
	ReasonNoProxy       = "node has no kube-proxy"
)

// Config tunes the traffic model. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// TraceBelowRPS: loads at or below this rate are traced request by
	// request (TraceAuto). Default 20.
	TraceBelowRPS float64
	// AccountingPeriod is the fixed accounting tick of aggregate loads and
	// the longest time an unreported World change goes unnoticed.
	// Default 1 s.
	AccountingPeriod time.Duration
	// ClientsPerNode is the number of distinct client IPs behind each
	// entry node, for session affinity. Default 16.
	ClientsPerNode int
	// SameNodeHop, CrossNodeHop: network latency from the entry node to an
	// endpoint on the same / another node. Defaults 0.1 ms and 0.5 ms.
	SameNodeHop, CrossNodeHop time.Duration
	// ExternalHop is added for requests from outside (the load balancer
	// hop). Default 1 ms.
	ExternalHop time.Duration
	// ServiceTime is a pod's mean time to serve one request when idle, and
	// Workers how many it serves at once. Defaults 5 ms and 8 (so 1600
	// requests/s saturate a pod).
	ServiceTime time.Duration
	Workers     int
	// MaxUtilization caps the utilisation used in the latency formula.
	// Default 0.95 (latency at most 20 × ServiceTime plus the hop).
	MaxUtilization float64
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		TraceBelowRPS:    20,
		AccountingPeriod: time.Second,
		ClientsPerNode:   16,
		SameNodeHop:      100 * time.Microsecond,
		CrossNodeHop:     500 * time.Microsecond,
		ExternalHop:      time.Millisecond,
		ServiceTime:      5 * time.Millisecond,
		Workers:          8,
		MaxUtilization:   0.95,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.TraceBelowRPS == 0 {
		c.TraceBelowRPS = d.TraceBelowRPS
	}
	if c.AccountingPeriod <= 0 {
		c.AccountingPeriod = d.AccountingPeriod
	}
	if c.ClientsPerNode <= 0 {
		c.ClientsPerNode = d.ClientsPerNode
	}
	if c.SameNodeHop == 0 {
		c.SameNodeHop = d.SameNodeHop
	}
	if c.CrossNodeHop == 0 {
		c.CrossNodeHop = d.CrossNodeHop
	}
	if c.ExternalHop == 0 {
		c.ExternalHop = d.ExternalHop
	}
	if c.ServiceTime <= 0 {
		c.ServiceTime = d.ServiceTime
	}
	if c.Workers <= 0 {
		c.Workers = d.Workers
	}
	if c.MaxUtilization <= 0 || c.MaxUtilization >= 1 {
		c.MaxUtilization = d.MaxUtilization
	}
	return c
}

// Load is a steady request rate to one service port.
type Load struct {
	Namespace, Service string
	// Port names the service port; "" means the first one.
	Port string
	// RPS is requests per second (resolution 0.001); 0 removes the load.
	RPS float64
	// From is FromCluster (""), FromExternal ("external") or a node name.
	From  string
	Trace TraceMode
}

// Request describes one traced request.
type Request struct {
	// N numbers the load's requests from 1.
	N                  uint64
	At                 time.Duration
	Namespace, Service string
	From               string
	// Entry is the node whose kube-proxy routed the request ("" if none).
	Entry string
	// Endpoint is the chosen "ip:port", Pod and Node its target ("" when
	// the request failed before choosing one).
	Endpoint, Pod, Node string
	Outcome             string
	Reason              string        // why it failed ("" when served)
	Latency             time.Duration // mean latency of a served request
}

// Stats are exact request totals of one service.
type Stats struct {
	Served, Failed uint64
	// ServedByPod counts served requests per pod name.
	ServedByPod map[string]uint64
	// FailedByReason counts failed requests per reason.
	FailedByReason map[string]uint64
}

type flowKey struct{ ns, svc, port, from string }

// flow is one Load. Arrivals are deterministic: the k-th request since
// start arrives at start + ceil(k·10¹²/milliRPS) ns, so the number by time
// t is floor((t−start)·milliRPS/10¹²), the same in both regimes.
type flow struct {
	key      flowKey
	milliRPS uint64
	start    time.Duration
	done     uint64 // requests accounted since start
	number   uint64 // requests accounted over the flow's life (N of the last one)
	traced   bool
	timer    sim.Timer
	lastNode string         // entry node used last (even spreading)
	clients  map[string]int // next client index per entry node
	entries  []string       // eligible entry nodes, as planned
	// stats and duration are the service's Stats and latency histogram
	// series, looked up on first use (neither is ever removed).
	stats    *Stats
	duration *promstats.Histogram
}

type podKey struct{ ns, name string }

type svcKey struct{ ns, name string }

// Traffic generates and accounts service requests. It is driven by the
// engine and by the notifications of the wiring; see the package
// documentation.
type Traffic struct {
	eng     *sim.Engine
	cfg     Config
	proxies *proxy.Cluster
	world   World
	times   ServiceTimes // may be nil

	flows  map[flowKey]*flow
	order  []flowKey // sorted
	ticker *sim.Ticker

	// plan, rebuilt by replan
	podUp   map[podKey]bool
	nodeUp  map[string]bool
	podRPS  map[podKey]float64
	podLoad map[podKey]float64 // offered rate (served or not) for latency
	// replan's scratch: each endpoint pod's index into the dense sums,
	// and what it worked out once per distinct endpoint list.
	planIdx   map[podKey]int
	planPods  []podKey
	planLoad  []float64
	planRPS   []float64
	planLists map[*proxy.Endpoint]*plannedList
	// planFailing holds the services some of whose requests fail under
	// the plan (Failing).
	planFailing map[svcKey]bool
	// uniformShares is shares' last uniform answer (read-only).
	uniformShares []float64

	// batching: route is adding up the requests of an untraced flow per
	// endpoint, outcome and hop (batch, in first-seen order; batchIdx
	// indexes it) rather than accounting them per entry node; see route.
	batching bool
	batch    []batched
	batchIdx map[batchKey]int
	// counts is routeAt's scratch for the requests per endpoint.
	counts []uint64
	// routed counts the requests routed so far (saturating): while it is
	// at most 2⁵³ every counter of kubesim_requests_total is an integer a
	// float64 holds exactly, whatever the batches that added up to it.
	routed uint64

	requests *promstats.CounterVec
	duration *promstats.HistogramVec
	stats    map[svcKey]*Stats
	onReq    []func(Request)
	// beforeReplan hooks run just before the per-pod rates may change.
	beforeReplan []func()
}

// New builds the traffic model. reg receives kubesim_requests_total and
// kubesim_request_duration_seconds (it must not be nil). Traffic registers
// itself as a listener of proxies.
func New(eng *sim.Engine, proxies *proxy.Cluster, world World, reg *promstats.Registry, cfg Config) *Traffic {
	t := &Traffic{
		eng: eng, cfg: cfg.withDefaults(), proxies: proxies, world: world,
		flows:  map[flowKey]*flow{},
		podUp:  map[podKey]bool{},
		nodeUp: map[string]bool{},
		podRPS: map[podKey]float64{}, podLoad: map[podKey]float64{},
		planIdx: map[podKey]int{}, batchIdx: map[batchKey]int{}, planLists: map[*proxy.Endpoint]*plannedList{}, planFailing: map[svcKey]bool{},
		stats: map[svcKey]*Stats{},
		requests: reg.Counter("kubesim_requests_total",
			"Requests sent to Services, by target pod, node and outcome (pod=\"\" and node=<entry node> for requests that failed before reaching a pod).",
			"namespace", "service", "pod", "node", "outcome"),
		duration: reg.Histogram("kubesim_request_duration_seconds",
			"Latency of served requests: network hop plus the pod's load-dependent service time.", nil, "namespace", "service"),
	}
	if st, ok := world.(ServiceTimes); ok {
		t.times = st
	}
	proxies.AddListener(t)
	return t
}

// OnRequest registers fn to be called for every traced request.
func (t *Traffic) OnRequest(fn func(Request)) { t.onReq = append(t.onReq, fn) }

// BeforeRatesChange registers fn to run just before the per-pod rates RPS
// reports may change (every replan), while RPS still answers with the old
// rates: a consumer that integrates RPS over time (the metrics-server load
// model's LoadChanged) closes its segment there. fn must not call back
// into Traffic except through RPS.
func (t *Traffic) BeforeRatesChange(fn func()) { t.beforeReplan = append(t.beforeReplan, fn) }

// SetLoad sets the request rate of a service (its first port) from
// FromCluster, FromExternal or a node; rps 0 removes the load. It is
// Set(Load{...}) with TraceAuto.
func (t *Traffic) SetLoad(service, namespace string, rps float64, from string) error {
	return t.Set(Load{Namespace: namespace, Service: service, RPS: rps, From: from})
}

// Set installs, changes or (RPS 0) removes a load. Requests up to now are
// accounted at the old rate first; the new rate's arrivals count from now,
// with the progress toward the next request carried over (a request half
// due at 1 rps is half due at 4 rps).
func (t *Traffic) Set(l Load) error {
	if l.Namespace == "" || l.Service == "" {
		return fmt.Errorf("setLoad: namespace and service are required")
	}
	if math.IsNaN(l.RPS) || l.RPS < 0 || l.RPS > 1e9 {
		return fmt.Errorf("setLoad %s/%s: rps %v must be between 0 and 1e9", l.Namespace, l.Service, l.RPS)
	}
	milli := uint64(math.Round(l.RPS * 1000))
	if l.RPS > 0 && milli == 0 {
		return fmt.Errorf("setLoad %s/%s: rps %v is below the resolution of 0.001", l.Namespace, l.Service, l.RPS)
	}
	t.advance()
	k := flowKey{l.Namespace, l.Service, l.Port, l.From}
	f, ok := t.flows[k]
	if milli == 0 {
		if ok {
			f.timer.Stop()
			delete(t.flows, k)
			t.order = slices.DeleteFunc(t.order, func(x flowKey) bool { return x == k })
		}
		if len(t.flows) == 0 && t.ticker != nil {
			t.ticker.Stop()
			t.ticker = nil
		}
		t.replan()
		return nil
	}
	if !ok {
		f = &flow{key: k, clients: map[string]int{}}
		t.flows[k] = f
		t.order = append(t.order, k)
		slices.SortFunc(t.order, compareFlowKeys)
	}
	f.timer.Stop()
	now := t.eng.Elapsed()
	start := now
	if ok {
		// Carry the progress toward the next request over, at the new
		// rate: a ramp's steps do not each restart the wait.
		start -= time.Duration(arrivalRemainder(now-f.start, f.milliRPS) / milli)
	}
	f.milliRPS = milli
	f.start = start
	f.done = 0
	f.traced = l.Trace == TraceAlways || l.Trace == TraceAuto && l.RPS <= t.cfg.TraceBelowRPS
	if t.ticker == nil {
		t.ticker = t.eng.Every(t.cfg.AccountingPeriod, "traffic accounting", t.tick)
	}
	t.replan()
	if f.traced {
		t.scheduleNext(f)
	}
	return nil
}

func compareFlowKeys(a, b flowKey) int {
	return cmp.Or(cmp.Compare(a.ns, b.ns), cmp.Compare(a.svc, b.svc), cmp.Compare(a.port, b.port), cmp.Compare(a.from, b.from))
}

// Loads lists the current loads, sorted.
func (t *Traffic) Loads() []Load {
	var out []Load
	for _, k := range t.order {
		f := t.flows[k]
		tm := TraceNever
		if f.traced {
			tm = TraceAlways
		}
		out = append(out, Load{Namespace: k.ns, Service: k.svc, Port: k.port, From: k.from, RPS: float64(f.milliRPS) / 1000, Trace: tm})
	}
	return out
}

// HasLoad reports whether a load is set for the service (from any origin).
func (t *Traffic) HasLoad(namespace, service string) bool {
	for _, k := range t.order {
		if k.ns == namespace && k.svc == service {
			return true
		}
	}
	return false
}

// WorldChanged tells the model that an answer of World may have changed
// (a pod started or stopped serving, a node went down or came back). Call
// it right after the change: requests up to now are accounted with the
// answers read before, later ones with fresh answers. Changes not reported
// are picked up at the next accounting tick.
func (t *Traffic) WorldChanged() {
	t.advance()
	t.replan()
}

// BeforeProxySync implements proxy.Listener: account up to now with the
// old views.
func (t *Traffic) BeforeProxySync() { t.advance() }

// AfterProxySync implements proxy.Listener: re-plan with the new views.
func (t *Traffic) AfterProxySync() { t.replan() }

func (t *Traffic) tick() {
	t.advance()
	t.replan()
}

// arrivals is floor(elapsed·milli/10¹²), computed in 128 bits.
func arrivals(elapsed time.Duration, milli uint64) uint64 {
	if elapsed <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(elapsed), milli)
	q, _ := bits.Div64(hi, lo, 1e12)
	return q
}

// arrivalRemainder is (elapsed·milli) mod 10¹²: the progress toward the
// next arrival, in ns·milli-requests/s (the arrival is due when it
// reaches 10¹²).
func arrivalRemainder(elapsed time.Duration, milli uint64) uint64 {
	if elapsed <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(elapsed), milli)
	_, r := bits.Div64(hi%1e12, lo, 1e12)
	return r
}

// arrivalOffset is the time after the flow's start at which request k
// (from 1) arrives: ceil(k·10¹²/milli) ns.
func arrivalOffset(k, milli uint64) time.Duration {
	hi, lo := bits.Mul64(k, 1e12)
	if hi >= milli {
		return sim.Forever
	}
	q, r := bits.Div64(hi, lo, milli)
	if r != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return sim.Forever
	}
	return time.Duration(q)
}

func (t *Traffic) scheduleNext(f *flow) {
	at := arrivalOffset(f.done+1, f.milliRPS)
	if at == sim.Forever || f.start > sim.Forever-at {
		return
	}
	due := f.start + at
	delay := max(due-t.eng.Elapsed(), 0)
	f.timer = t.eng.Background(delay, "request "+f.key.ns+"/"+f.key.svc, func() {
		t.advanceFlow(f, t.eng.Elapsed())
		t.scheduleNext(f)
	})
}

// advance accounts every flow's requests up to now.
func (t *Traffic) advance() {
	now := t.eng.Elapsed()
	for _, k := range t.order {
		t.advanceFlow(t.flows[k], now)
	}
}

// advanceFlow accounts the flow's requests that arrived by to: one at a
// time (at their arrival times) for traced flows, as one batch otherwise.
func (t *Traffic) advanceFlow(f *flow, to time.Duration) {
	n := arrivals(to-f.start, f.milliRPS)
	if n <= f.done {
		return
	}
	if f.traced {
		for f.done < n {
			f.done++
			f.number++
			t.route(f, 1, f.start+arrivalOffset(f.done, f.milliRPS))
		}
		return
	}
	c := n - f.done
	f.done = n
	f.number += c
	t.route(f, c, to)
}

// entryNodes lists the nodes a flow's requests enter through, as planned.
func (t *Traffic) entryNodes(f *flow) ([]string, string) {
	switch f.key.from {
	case FromCluster, FromExternal:
		if len(f.entries) == 0 {
			return nil, ReasonNoEntry
		}
		return f.entries, ""
	default:
		if !t.nodeIsUp(f.key.from) {
			return nil, ReasonEntryDown
		}
		return []string{f.key.from}, ""
	}
}

// route sends c requests of flow f, arriving at at, through the entry
// nodes and their kube-proxies, and accounts them.
//
// The requests of an untraced flow that reach an endpoint are accounted
// once per endpoint, outcome and hop after every entry node has routed
// its share, rather than once per entry node and endpoint: the counters
// and stats are integer sums (exact in a float64 up to 2⁵³ requests in
// all, see routed) and the latency histogram's totals do not depend on
// how its observations are batched (Histogram.ObserveShiftedExp), so the
// metrics are the same bit for bit, for a cost per endpoint rather than
// per endpoint and entry node.
func (t *Traffic) route(f *flow, c uint64, at time.Duration) {
	batch := !f.traced && c <= 1<<53 && t.routed <= 1<<53-c
	if t.routed > math.MaxUint64-c {
		t.routed = math.MaxUint64
	} else {
		t.routed += c
	}
	if batch {
		t.batching = true
		defer t.flushBatch(f, at)
	}
	t.routeEntries(f, c, at)
}

// batchKey identifies the requests route adds up: one endpoint (of one
// kube-proxy's list), the outcome and the network hop. (Plain memory, so
// the map hashes it without reading strings.)
type batchKey struct {
	ep      *proxy.Endpoint
	hop     time.Duration
	outcome endpointOutcome
}

// endpointOutcome is what happened to requests that reached an endpoint.
type endpointOutcome uint8

const (
	epServed endpointOutcome = iota
	epNodeDown
	epPodNotServing
)

// outcomeReason is the outcome label and failure reason of each
// endpointOutcome.
var outcomeReason = [...][2]string{epServed: {Served, ""}, epNodeDown: {Failed, ReasonNodeDown}, epPodNotServing: {Failed, ReasonPodNotServing}}

// batched is the requests of one batchKey. pl and slot locate its index
// in pl.slots when it was found there (pl nil: in batchIdx).
type batched struct {
	key  batchKey
	n    uint64
	pl   *plannedList
	slot int
}

// accountEndpoint accounts n requests of f that reached ep, the i-th
// endpoint of its list (planned as pl, or nil), or adds them to the batch
// while route is batching.
//
// A batch key of a planned list's endpoint is indexed in pl.slots rather
// than batchIdx: its outcome is the list's, and within one route (one
// flow) its hop is one of two, the same-node one or the other, so the
// endpoint and whether its node is the entry node identify the key. (A
// list is planned or not for the whole route, and the lists of a route
// do not share endpoints, so each key is found in one place.)
func (t *Traffic) accountEndpoint(f *flow, n uint64, at time.Duration, entry string, pl *plannedList, i int, ep *proxy.Endpoint, o endpointOutcome, hop time.Duration) {
	if !t.batching {
		t.account(f, n, at, entry, ep, outcomeReason[o][0], outcomeReason[o][1], hop)
		return
	}
	k := batchKey{ep: ep, hop: hop, outcome: o}
	if pl != nil {
		s := 2 * i
		if o == epServed && ep.Node == entry && t.cfg.SameNodeHop != t.cfg.CrossNodeHop {
			s++
		}
		if pl.slots == nil {
			pl.slots = make([]int32, 2*len(pl.outcome))
		}
		if j := pl.slots[s]; j > 0 {
			t.batch[j-1].n += n
			return
		}
		t.batch = append(t.batch, batched{key: k, n: n, pl: pl, slot: s})
		pl.slots[s] = int32(len(t.batch))
		return
	}
	if j, ok := t.batchIdx[k]; ok {
		t.batch[j].n += n
		return
	}
	t.batchIdx[k] = len(t.batch)
	t.batch = append(t.batch, batched{key: k, n: n})
}

// flushBatch accounts the batch (requests of untraced flows carry no entry
// node past the metrics, which name the endpoint's node) and ends it.
func (t *Traffic) flushBatch(f *flow, at time.Duration) {
	t.batching = false
	for _, b := range t.batch {
		o := outcomeReason[b.key.outcome]
		t.account(f, b.n, at, "", b.key.ep, o[0], o[1], b.key.hop)
		if b.pl != nil {
			b.pl.slots[b.slot] = 0
		}
	}
	clear(t.batch)
	t.batch = t.batch[:0]
	clear(t.batchIdx)
}

// routeEntries is route's work: spread c requests over the entry nodes.
func (t *Traffic) routeEntries(f *flow, c uint64, at time.Duration) {
	entries, reason := t.entryNodes(f)
	if reason != "" {
		node := ""
		if f.key.from != FromCluster && f.key.from != FromExternal {
			node = f.key.from
		}
		t.account(f, c, at, node, nil, Failed, reason, 0)
		return
	}
	// Spread evenly, continuing after the node used last.
	start := 0
	if f.lastNode != "" {
		i, found := slices.BinarySearch(entries, f.lastNode)
		if found {
			i++
		}
		start = i % len(entries)
	}
	k := uint64(len(entries))
	q, rem := c/k, c%k
	f.lastNode = entries[(start+int((c-1)%k))%len(entries)]
	for i := range entries {
		node := entries[(start+i)%len(entries)]
		n := q
		if uint64(i) < rem {
			n++
		}
		if n > 0 {
			t.routeAt(f, node, n, at)
		}
	}
}

func (t *Traffic) routeAt(f *flow, node string, n uint64, at time.Duration) {
	p := t.proxies.Proxy(node)
	if p == nil {
		t.account(f, n, at, node, nil, Failed, ReasonNoProxy, 0)
		return
	}
	r := p.Route(f.key.ns, f.key.svc, f.key.port, f.key.from == FromExternal)
	if r.Err != "" {
		t.account(f, n, at, node, nil, Failed, r.Err, 0)
		return
	}
	// The outcome of each endpoint is its planned list's when the list was
	// planned (the answers of World it was worked out from are cached
	// until the next replan, so they are the same).
	pl := t.planned(r.Endpoints)
	// counts is t.counts, taken while in use (an OnRequest callback may
	// route again).
	counts := t.counts
	t.counts = nil
	if r.AffinityTimeout > 0 {
		counts = zeroCounts(counts, len(r.Endpoints))
		// A fixed population of clients behind each entry node takes turns.
		P := uint64(t.cfg.ClientsPerNode)
		s := uint64(f.clients[node])
		q, rem := n/P, n%P
		for j := uint64(0); j < min(n, P); j++ {
			cnt := q
			if j < rem {
				cnt++
			}
			client := clientName(f.key.from, node, int((s+j)%P))
			counts[p.Pick(r, client, at)] += cnt
		}
		f.clients[node] = int((s + n) % P)
	} else {
		counts = p.DistributeInto(r, n, counts)
	}
	for i, cnt := range counts {
		if cnt == 0 {
			continue
		}
		ep := &r.Endpoints[i]
		var o endpointOutcome
		if pl != nil {
			o = pl.outcome[i]
		} else {
			o = t.outcomeOf(ep)
		}
		var hop time.Duration
		if o == epServed {
			hop = t.hop(f, node, ep)
		}
		t.accountEndpoint(f, cnt, at, node, pl, i, ep, o, hop)
	}
	t.counts = counts
}

// zeroCounts is buf[:k] cleared (a new slice when buf is too short).
func zeroCounts(buf []uint64, k int) []uint64 {
	if cap(buf) < k {
		return make([]uint64, k)
	}
	buf = buf[:k]
	clear(buf)
	return buf
}

// clientName names client i behind an entry node: loads from inside the
// cluster share the node's client population (they are the node's pods);
// external clients are separate.
func clientName(from, node string, i int) string {
	if from == FromExternal {
		return "external/" + node + "/client-" + strconv.Itoa(i)
	}
	return node + "/client-" + strconv.Itoa(i)
}

func (t *Traffic) hop(f *flow, entry string, ep *proxy.Endpoint) time.Duration {
	h := t.cfg.CrossNodeHop
	if ep.Node == entry {
		h = t.cfg.SameNodeHop
	}
	if f.key.from == FromExternal {
		h += t.cfg.ExternalHop
	}
	return h
}

// sojourn is the mean time a request spends in a pod: ServiceTime /
// (1 − ρ), ρ = offered rate × ServiceTime / Workers, capped at
// MaxUtilization (an M/M/1-style approximation).
func (t *Traffic) sojourn(pk podKey) time.Duration {
	mean, workers := t.cfg.ServiceTime, t.cfg.Workers
	if t.times != nil {
		if m, w, ok := t.times.PodServiceTime(pk.ns, pk.name); ok && m > 0 && w > 0 {
			mean, workers = m, w
		}
	}
	rho := t.podLoad[pk] * mean.Seconds() / float64(workers)
	rho = min(rho, t.cfg.MaxUtilization)
	return time.Duration(math.Round(float64(mean) / (1 - rho)))
}

func (t *Traffic) account(f *flow, n uint64, at time.Duration, entry string, ep *proxy.Endpoint, outcome, reason string, hop time.Duration) {
	pod, node, epKey := "", entry, ""
	if ep != nil {
		pod, node, epKey = ep.Pod, ep.Node, ep.Key
	}
	t.requests.With(f.key.ns, f.key.svc, pod, node, outcome).Add(float64(n))
	st := f.stats
	if st == nil {
		st = t.stats[svcKey{f.key.ns, f.key.svc}]
		if st == nil {
			st = &Stats{ServedByPod: map[string]uint64{}, FailedByReason: map[string]uint64{}}
			t.stats[svcKey{f.key.ns, f.key.svc}] = st
		}
		f.stats = st
	}
	var latency time.Duration
	if outcome == Served {
		st.Served += n
		st.ServedByPod[pod] += n
		s := t.sojourn(podKey{ep.Namespace, ep.Pod})
		latency = hop + s
		if f.duration == nil {
			f.duration = t.duration.With(f.key.ns, f.key.svc)
		}
		f.duration.ObserveShiftedExp(n, hop, s)
	} else {
		st.Failed += n
		st.FailedByReason[reason] += n
	}
	if !f.traced {
		return
	}
	req := Request{N: f.number, At: at, Namespace: f.key.ns, Service: f.key.svc, From: f.key.from,
		Entry: entry, Endpoint: epKey, Pod: pod, Node: node, Outcome: outcome, Reason: reason, Latency: latency}
	if ep == nil {
		req.Node = ""
	}
	if t.eng.Tracing() {
		t.eng.Trace(sim.Record{Component: "traffic", Verb: "request", Kind: "Service", Namespace: f.key.ns, Name: f.key.svc, Msg: req.String()})
	}
	for _, fn := range t.onReq {
		fn(req)
	}
}

// String renders a traced request for traces and logs:
// "#4 from node-1 via node-1 -> pod web-a (10.244.1.2:8080) on node-1: served in 5.6ms".
func (r Request) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d from %s", r.N, fromName(r.From))
	if r.Entry != "" {
		fmt.Fprintf(&b, " via %s", r.Entry)
	}
	if r.Endpoint != "" {
		fmt.Fprintf(&b, " -> pod %s (%s) on %s", r.Pod, r.Endpoint, r.Node)
	}
	if r.Outcome == Served {
		fmt.Fprintf(&b, ": served in %s", r.Latency.Round(time.Microsecond))
	} else {
		fmt.Fprintf(&b, ": failed: %s", r.Reason)
	}
	return b.String()
}

func fromName(from string) string {
	if from == FromCluster {
		return "cluster"
	}
	return from
}

func (t *Traffic) nodeIsUp(node string) bool {
	up, ok := t.nodeUp[node]
	if !ok {
		up = t.world.NodeUp(node)
		t.nodeUp[node] = up
	}
	return up
}

func (t *Traffic) podIsServing(ns, name string) bool {
	k := podKey{ns, name}
	up, ok := t.podUp[k]
	if !ok {
		up = t.world.PodServing(ns, name)
		t.podUp[k] = up
	}
	return up
}

// replan reads World afresh for everything the flows may touch (entry
// nodes, endpoint pods and nodes) and recomputes each pod's expected rate.
func (t *Traffic) replan() {
	for _, fn := range t.beforeReplan {
		fn()
	}
	clear(t.podUp)
	clear(t.nodeUp)
	clear(t.podRPS)
	clear(t.podLoad)
	var up []string
	if len(t.order) > 0 { // the up nodes are the flows' entry candidates
		nodes := slices.Clone(t.world.Nodes())
		slices.Sort(nodes)
		for _, n := range nodes {
			if t.nodeIsUp(n) && t.hasRules(n) {
				up = append(up, n)
			}
		}
	}
	now := t.eng.Elapsed()
	// The rates are summed per pod in dense slices, in the order the
	// flows, entry nodes and endpoints come (so each pod's sum is the same
	// sequence of float additions as into the maps), and what an endpoint
	// list gives (its pods' indexes, which endpoints serve) is worked out
	// once per list: the kube-proxies of a cluster mostly share their
	// lists, and a big Service's has thousands of endpoints for each of
	// hundreds of entry nodes.
	clear(t.planIdx)
	clear(t.planLists)
	clear(t.planFailing)
	t.planPods, t.planLoad, t.planRPS = t.planPods[:0], t.planLoad[:0], t.planRPS[:0]
	for _, k := range t.order {
		f := t.flows[k]
		f.entries = t.planEntries(f, up)
		entries, reason := t.entryNodes(f)
		if reason != "" {
			t.planFailing[svcKey{k.ns, k.svc}] = true
			continue
		}
		rate := float64(f.milliRPS) / 1000 / float64(len(entries))
		// Consecutive entry nodes that route by the same list with uniform
		// shares add the same amount to each of its pods: a run of them is
		// added at once (addRepeated), which is the same additions.
		var run *plannedList
		var runShares []float64
		runLen := 0
		failing := false
		for _, node := range entries {
			p := t.proxies.Proxy(node)
			if p == nil {
				failing = true
				continue
			}
			r := p.Route(k.ns, k.svc, k.port, k.from == FromExternal)
			if r.Err != "" {
				failing = true
				continue
			}
			shares := t.shares(f, p, r, node, now)
			pl := t.plannedList(r.Endpoints)
			// Uniform shares reach every endpoint; only pinned clients
			// (session affinity) may all miss the failing ones.
			if pl.failing && !failing && (isUniform(shares, t.uniformShares) || t.sendsToFailing(r.Endpoints, shares)) {
				failing = true
			}
			if runLen > 0 && pl == run && isUniform(shares, t.uniformShares) && isUniform(runShares, shares) {
				runLen++
				continue
			}
			t.addPlanned(run, runShares, rate, runLen)
			run, runShares, runLen = pl, shares, 1
		}
		t.addPlanned(run, runShares, rate, runLen)
		if failing {
			t.planFailing[svcKey{k.ns, k.svc}] = true
		}
	}
	for j, pk := range t.planPods {
		t.podLoad[pk] = t.planLoad[j]
		if t.planRPS[j] != 0 {
			t.podRPS[pk] = t.planRPS[j]
		}
	}
}

// addPlanned adds the rates of times entry nodes that route by pl with
// the given shares to its pods' sums. Several times only with uniform
// shares: each of pl's pods then gets the same amount from every one of
// them, added times times in a row, as one node after the other would.
func (t *Traffic) addPlanned(pl *plannedList, shares []float64, rate float64, times int) {
	if times == 0 {
		return
	}
	var memo repeatedSum
	for i, j := range pl.idx {
		x := rate * shares[i]
		t.planLoad[j] = memo.add(t.planLoad[j], x, times)
		if pl.served[i] {
			t.planRPS[j] = memo.add(t.planRPS[j], x, times)
		}
	}
}

// isUniform reports whether shares is the uniform slice u (the same
// read-only slice, not merely equal values).
func isUniform(shares, u []float64) bool {
	return len(shares) > 0 && len(shares) == len(u) && &shares[0] == &u[0]
}

// repeatedSum adds x to a sum n times in a row, one float addition after
// the other (so the result is bit for bit what n separate additions give),
// and remembers its last answer: the pods of a big Service mostly start
// from the same sum and get the same amount.
type repeatedSum struct {
	from, x, sum float64
	n            int
}

func (r *repeatedSum) add(from, x float64, n int) float64 {
	if n == 1 {
		return from + x
	}
	if r.n == n && math.Float64bits(r.from) == math.Float64bits(from) && math.Float64bits(r.x) == math.Float64bits(x) {
		return r.sum
	}
	sum := from
	for range n {
		sum += x
	}
	*r = repeatedSum{from: from, x: x, sum: sum, n: n}
	return sum
}

// plannedList is what replan works out once for an endpoint list: each
// endpoint's pod index into its dense sums, and whether a request to it
// is served (its node up and its pod serving; one without a pod is never
// counted as served).
type plannedList struct {
	idx    []int
	served []bool
	// outcome is each endpoint's routeAt outcome under the plan.
	outcome []endpointOutcome
	// slots index route's batch by endpoint and hop (see accountEndpoint):
	// slots[2i] and slots[2i+1] are 1 + the batch index of endpoint i's
	// requests with the cross-node and same-node hop, 0 when none yet.
	// All zero outside route.
	slots []int32
	// failing: a request to one of the endpoints fails.
	failing bool
}

// plannedList returns eps' plannedList, computed on its first use in this
// replan (lists are shared and immutable, so the first element's address
// identifies one).
func (t *Traffic) plannedList(eps []proxy.Endpoint) *plannedList {
	if len(eps) == 0 {
		return &plannedList{}
	}
	if pl, ok := t.planLists[&eps[0]]; ok && len(pl.idx) == len(eps) {
		return pl
	}
	pl := &plannedList{idx: make([]int, len(eps)), served: make([]bool, len(eps)), outcome: make([]endpointOutcome, len(eps))}
	for i := range eps {
		ep := &eps[i]
		pk := podKey{ep.Namespace, ep.Pod}
		j, ok := t.planIdx[pk]
		if !ok {
			j = len(t.planPods)
			t.planIdx[pk] = j
			t.planPods = append(t.planPods, pk)
			t.planLoad = append(t.planLoad, 0)
			t.planRPS = append(t.planRPS, 0)
		}
		pl.idx[i] = j
		o := t.outcomeOf(ep)
		served := o == epServed
		pl.outcome[i] = o
		pl.served[i] = served && ep.Pod != ""
		pl.failing = pl.failing || !served
	}
	t.planLists[&eps[0]] = pl
	return pl
}

// planned returns eps' plannedList if this replan has worked it out, else
// nil.
func (t *Traffic) planned(eps []proxy.Endpoint) *plannedList {
	if len(eps) == 0 {
		return nil
	}
	if pl, ok := t.planLists[&eps[0]]; ok && len(pl.idx) == len(eps) {
		return pl
	}
	return nil
}

// hasRules reports whether node's kube-proxy has synced once. A node that
// has just joined is no entry for in-cluster or external requests before:
// its clients' pods are not running yet (they need a schedule, a sandbox
// and a start, seconds after the node registers), and a cloud load
// balancer sends to a node only once the service controller has added it
// and the balancer's health checks pass.
func (t *Traffic) hasRules(node string) bool {
	p := t.proxies.Proxy(node)
	return p == nil || p.HasSynced()
}

// outcomeOf is what happens to a request routed to ep: it fails if its
// node is down, else if its pod is not serving.
func (t *Traffic) outcomeOf(ep *proxy.Endpoint) endpointOutcome {
	switch {
	case ep.Node != "" && !t.nodeIsUp(ep.Node):
		return epNodeDown
	case ep.Pod != "" && !t.podIsServing(ep.Namespace, ep.Pod):
		return epPodNotServing
	}
	return epServed
}

// endpointServes reports whether a request routed to ep is served: its
// node is up and its pod serving (routeAt's outcome).
func (t *Traffic) endpointServes(ep *proxy.Endpoint) bool {
	return t.outcomeOf(ep) == epServed
}

// sendsToFailing reports whether an endpoint whose requests fail has a
// share of the entry node's requests (with session affinity, clients may
// all be pinned elsewhere).
func (t *Traffic) sendsToFailing(eps []proxy.Endpoint, shares []float64) bool {
	for i := range eps {
		if shares[i] > 0 && !t.endpointServes(&eps[i]) {
			return true
		}
	}
	return false
}

// planEntries picks a flow's eligible entry nodes from the up nodes whose
// kube-proxy has synced once.
func (t *Traffic) planEntries(f *flow, up []string) []string {
	switch f.key.from {
	case FromCluster:
		return up
	case FromExternal:
		svc := t.proxies.APIService(f.key.ns, f.key.svc)
		if svc == nil || svc.Spec.Type != v1.ServiceTypeLoadBalancer || svc.Spec.ExternalTrafficPolicy != v1.ServiceExternalTrafficPolicyLocal {
			return up
		}
		var healthy []string
		for _, n := range up {
			if p := t.proxies.Proxy(n); p != nil && p.HealthCheck(f.key.ns, f.key.svc) {
				healthy = append(healthy, n)
			}
		}
		return healthy
	}
	return nil
}

// shares is the expected fraction of a node's requests each endpoint gets:
// uniform, or with session affinity by the clients' current pins (clients
// without a valid pin spread uniformly).
func (t *Traffic) shares(f *flow, p *proxy.Proxy, r *proxy.Route, node string, now time.Duration) []float64 {
	n := len(r.Endpoints)
	if r.AffinityTimeout <= 0 {
		// uniform: one read-only slice per endpoint count
		if u := t.uniformShares; len(u) == n {
			return u
		}
		u := make([]float64, n)
		for i := range u {
			u[i] = 1 / float64(n)
		}
		t.uniformShares = u
		return u
	}
	out := make([]float64, n)
	P := t.cfg.ClientsPerNode
	for j := range P {
		key, ok := p.Pinned(r, clientName(f.key.from, node, j), now)
		i := -1
		if ok {
			i = slices.IndexFunc(r.Endpoints, func(e proxy.Endpoint) bool { return e.Key == key })
		}
		if i < 0 {
			for x := range out {
				out[x] += 1 / float64(P) / float64(n)
			}
			continue
		}
		out[i] += 1 / float64(P)
	}
	return out
}

// Failing reports whether some requests of the service's loads fail under
// the current routing (planned at the last accounting point or change): a
// load without an entry node, an entry whose kube-proxy has no route, an
// endpoint whose node is down or whose pod is not serving. Unlike the
// totals of Stats, it does not depend on which endpoints the last batch of
// requests happened to reach.
func (t *Traffic) Failing(namespace, service string) bool {
	return t.planFailing[svcKey{namespace, service}]
}

// RPS is the rate (requests/s) a pod currently serves under the planned
// routing: the input of the HPA's CPU load model. It is 0 for pods that
// receive nothing or are not serving.
func (t *Traffic) RPS(namespace, pod string) float64 { return t.podRPS[podKey{namespace, pod}] }

// Stats returns exact request totals of a service (accounted up to the last
// accounting point; call Flush first for "up to now").
func (t *Traffic) Stats(namespace, service string) Stats {
	st := t.stats[svcKey{namespace, service}]
	if st == nil {
		return Stats{ServedByPod: map[string]uint64{}, FailedByReason: map[string]uint64{}}
	}
	c := Stats{Served: st.Served, Failed: st.Failed, ServedByPod: map[string]uint64{}, FailedByReason: map[string]uint64{}}
	for k, v := range st.ServedByPod {
		c.ServedByPod[k] = v
	}
	for k, v := range st.FailedByReason {
		c.FailedByReason[k] = v
	}
	return c
}

// Flush accounts every request up to now, so metrics and Stats are exact
// at this instant (e.g. before writing metrics or checking expectations).
func (t *Traffic) Flush() { t.advance() }

// KeyedLoad adapts Traffic to a load source keyed by "namespace/name":
// RPS("default/web-1") is Traffic.RPS("default", "web-1").
type KeyedLoad struct{ T *Traffic }

// RPS returns the served rate of the pod "namespace/name".
func (k KeyedLoad) RPS(pod string) float64 {
	ns, name, ok := strings.Cut(pod, "/")
	if !ok {
		return 0
	}
	return k.T.RPS(ns, name)
}
