package traffic

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/netsim/proxy"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/promstats"
)

type world struct {
	nodes map[string]bool
	pods  map[string]bool
}

func (w *world) Nodes() []string {
	var out []string
	for n := range w.nodes {
		out = append(out, n)
	}
	return out
}
func (w *world) NodeUp(n string) bool            { return w.nodes[n] }
func (w *world) PodServing(ns, name string) bool { return w.pods[ns+"/"+name] }

type ep struct {
	ip, pod, node               string
	ready, serving, terminating bool
}

func ready(ip, pod, node string) ep { return ep{ip, pod, node, true, true, false} }

var (
	epA = ready("10.244.1.2", "a", "node-1")
	epB = ready("10.244.2.2", "b", "node-2")
	epC = ready("10.244.3.2", "c", "node-3")
	epD = ready("10.244.1.5", "d", "node-1")
)

func slice(eps ...ep) *discovery.EndpointSlice {
	s := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "web-abcde", Labels: map[string]string{discovery.LabelServiceName: "web"}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(v1.ProtocolTCP)}},
	}
	for _, e := range eps {
		s.Endpoints = append(s.Endpoints, discovery.Endpoint{
			Addresses:  []string{e.ip},
			Conditions: discovery.EndpointConditions{Ready: ptr.To(e.ready), Serving: ptr.To(e.serving), Terminating: ptr.To(e.terminating)},
			NodeName:   ptr.To(e.node),
			TargetRef:  &v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: e.pod},
		})
	}
	return s
}

func webService() *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: v1.ServiceSpec{
			Type:      v1.ServiceTypeNodePort,
			ClusterIP: "10.96.10.10",
			Ports:     []v1.ServicePort{{Name: "http", Port: 80, NodePort: 30080, Protocol: v1.ProtocolTCP}},
		},
	}
}

type env struct {
	eng *sim.Engine
	pc  *proxy.Cluster
	w   *world
	tr  *Traffic
	reg *promstats.Registry
}

func newEnv(mode proxy.Mode, cfg Config) *env {
	eng := sim.New(11)
	reg := promstats.NewRegistry()
	pc := proxy.NewCluster(eng, proxy.Config{Mode: mode, PropagationDelay: time.Second}, reg)
	w := &world{nodes: map[string]bool{}, pods: map[string]bool{"default/a": true, "default/b": true, "default/c": true, "default/d": true}}
	for _, n := range []string{"node-1", "node-2", "node-3"} {
		pc.AddNode(n)
		w.nodes[n] = true
	}
	pc.OnServiceUpdate(webService())
	pc.OnEndpointSliceUpdate(slice(epA, epB, epC))
	tr := New(eng, pc, w, reg, cfg)
	eng.RunFor(time.Second)
	return &env{eng, pc, w, tr, reg}
}

func (e *env) sum(t *testing.T, sel string) float64 {
	t.Helper()
	e.tr.Flush()
	v, err := e.reg.Sum(sel)
	require.NoError(t, err)
	return v
}

func TestRoundRobinPerRequestTrace(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	var reqs []Request
	e.tr.OnRequest(func(r Request) { reqs = append(reqs, r) })
	var trace []sim.Record
	e.eng.AddTraceSink(func(r sim.Record) {
		if r.Component == "traffic" {
			trace = append(trace, r)
		}
	})
	require.NoError(t, e.tr.SetLoad("web", "default", 10, "node-1"))
	before := e.eng.Steps()
	e.eng.RunFor(30 * time.Second)

	require.Len(t, reqs, 300)
	var first []string
	for _, r := range reqs[:4] {
		first = append(first, r.Pod)
	}
	assert.Equal(t, []string{"a", "b", "c", "a"}, first)
	assert.Equal(t, uint64(1), reqs[0].N)
	assert.Equal(t, 1100*time.Millisecond, reqs[0].At, "first arrival one period after the load starts at 1s")
	assert.Equal(t, map[string]uint64{"a": 100, "b": 100, "c": 100}, e.tr.Stats("default", "web").ServedByPod)
	assert.GreaterOrEqual(t, e.eng.Steps()-before, uint64(300), "each request is an engine event")
	require.Len(t, trace, 300)
	assert.Equal(t, "#2 from node-1 via node-1 -> pod b (10.244.2.2:8080) on node-2: served in 5.51ms", trace[1].Msg)
	assert.Equal(t, 300.0, e.sum(t, `kubesim_requests_total{outcome="served"}`))
}

func TestRoundRobin300Aggregate(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	require.NoError(t, e.tr.Set(Load{Namespace: "default", Service: "web", RPS: 1000, From: "node-1", Trace: TraceNever}))
	e.eng.RunFor(300 * time.Millisecond)
	e.tr.Flush()
	st := e.tr.Stats("default", "web")
	assert.Equal(t, uint64(300), st.Served)
	assert.Equal(t, map[string]uint64{"a": 100, "b": 100, "c": 100}, st.ServedByPod)
	for _, pod := range []string{"a", "b", "c"} {
		assert.Equal(t, 100.0, e.sum(t, `kubesim_requests_total{pod="`+pod+`",outcome="served"}`))
	}
}

// scriptedRun drives the same sequence of changes with a load traced
// request by request or accounted in aggregate.
func scriptedRun(mode TraceMode, affinity bool) (Stats, []promstats.Sample) {
	e := newEnv(proxy.ModeRoundRobin, Config{ClientsPerNode: 3})
	if affinity {
		svc := webService()
		svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		e.pc.OnServiceUpdate(svc)
	}
	_ = e.tr.Set(Load{Namespace: "default", Service: "web", RPS: 17, Trace: mode})
	_ = e.tr.Set(Load{Namespace: "default", Service: "web", RPS: 7, From: "node-2", Trace: mode})
	at := func(d time.Duration, fn func()) { e.eng.At(d, "script", fn) }
	at(7*time.Second+300*time.Millisecond, func() { e.pc.OnEndpointSliceUpdate(slice(epA, epC)) })
	at(9*time.Second, func() { e.w.pods["default/c"] = false; e.tr.WorldChanged() })
	at(13*time.Second+5*time.Millisecond, func() {
		e.w.nodes["node-3"] = false
		e.pc.Stop("node-3")
		e.tr.WorldChanged()
	})
	at(20*time.Second, func() { e.pc.OnEndpointSliceUpdate(slice(epA, epC, epD)) })
	at(24*time.Second+1, func() { _ = e.tr.Set(Load{Namespace: "default", Service: "web", RPS: 11, Trace: mode}) })
	at(26*time.Second, func() {
		e.w.nodes["node-3"] = true
		e.pc.Start("node-3")
		e.tr.WorldChanged()
	})
	e.eng.RunUntil(40 * time.Second)
	e.tr.Flush()
	return e.tr.Stats("default", "web"), e.reg.Select(promstats.Selector{Name: "kubesim_requests_total"})
}

// TestRegimesAgreeExactly: per-request and aggregate accounting of the same
// loads and the same sequence of changes give identical counts.
func TestRegimesAgreeExactly(t *testing.T) {
	for _, affinity := range []bool{false, true} {
		traced, tracedSamples := scriptedRun(TraceAlways, affinity)
		agg, aggSamples := scriptedRun(TraceNever, affinity)
		assert.Equal(t, traced, agg, "affinity=%v", affinity)
		assert.Equal(t, tracedSamples, aggSamples, "affinity=%v", affinity)
		assert.NotZero(t, traced.Failed, "the script does fail some requests")
		// 17 rps for 23 s + 1 ns, then 11 rps for 16 s − 1 ns with the
		// 1 ns of progress toward the next request carried over (as 1 ns
		// at 11 rps: 176 in all); 7 rps for 39 s.
		assert.Equal(t, uint64(391+176+273), traced.Served+traced.Failed, "every request accounted")
	}
}

func TestRandomModeWithinBinomialBounds(t *testing.T) {
	e := newEnv(proxy.ModeRandom, Config{})
	require.NoError(t, e.tr.SetLoad("web", "default", 3000, "node-1"))
	e.eng.RunFor(10 * time.Second)
	e.tr.Flush()
	st := e.tr.Stats("default", "web")
	const n = 30000
	require.Equal(t, uint64(n), st.Served)
	bound := 4.5 * math.Sqrt(n*(1.0/3)*(2.0/3)) // ≈ 367
	for _, pod := range []string{"a", "b", "c"} {
		assert.InDelta(t, n/3.0, float64(st.ServedByPod[pod]), bound, pod)
	}
	assert.NotEqual(t, map[string]uint64{"a": 10000, "b": 10000, "c": 10000}, st.ServedByPod)
}

func TestSessionAffinityPinsClients(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{ClientsPerNode: 2})
	svc := webService()
	svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	svc.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](30)}}
	e.pc.OnServiceUpdate(svc)
	e.eng.RunFor(time.Second)
	var pods []string
	e.tr.OnRequest(func(r Request) { pods = append(pods, r.Pod) })
	require.NoError(t, e.tr.SetLoad("web", "default", 2, "node-1"))
	e.eng.RunFor(10 * time.Second)
	require.Len(t, pods, 20)
	for i, p := range pods {
		assert.Equal(t, []string{"a", "b"}[i%2], p, "request %d: client %d stays pinned", i+1, i%2)
	}
	assert.Equal(t, 1.0, e.tr.RPS("default", "a"))
	assert.Equal(t, 0.0, e.tr.RPS("default", "c"))
	// No client is pinned to c: its pod stopping fails no request.
	e.w.pods["default/c"] = false
	e.tr.WorldChanged()
	assert.False(t, e.tr.Failing("default", "web"))
	e.w.pods["default/b"] = false
	e.tr.WorldChanged()
	assert.True(t, e.tr.Failing("default", "web"), "client 1 is pinned to b")
	e.w.pods["default/b"], e.w.pods["default/c"] = true, true
	e.tr.WorldChanged()

	// Silence for longer than the timeout: pins expire, the next picks
	// continue the round robin (c, then a).
	require.NoError(t, e.tr.SetLoad("web", "default", 0, "node-1"))
	e.eng.RunFor(31 * time.Second)
	pods = nil
	require.NoError(t, e.tr.SetLoad("web", "default", 2, "node-1"))
	e.eng.RunFor(2 * time.Second)
	assert.Equal(t, []string{"c", "a", "c", "a"}, pods)
}

// TestStaleProxyFailsUntilPropagation: b stops serving and is removed from
// the EndpointSlice at t=10 s; node-1's proxy still routes a third of its
// requests there until its view catches up at 11 s; node-2's proxy was
// stopped at 9 s and keeps failing.
func TestStaleProxyFailsUntilPropagation(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	// Both loads start at 1 s; request k of a load arrives at 1 s + k/rps and
	// a proxy's k-th request goes to a, b, c for k ≡ 1, 2, 0 (mod 3).
	require.NoError(t, e.tr.Set(Load{Namespace: "default", Service: "web", RPS: 300, From: "node-1"}))
	require.NoError(t, e.tr.Set(Load{Namespace: "default", Service: "web", RPS: 30, From: "node-2"}))
	e.eng.RunUntil(9 * time.Second)
	e.pc.Stop("node-2")
	e.eng.RunUntil(10 * time.Second)
	e.w.pods["default/b"] = false
	e.tr.WorldChanged()
	e.pc.OnEndpointSliceUpdate(slice(epA, epC))
	failed := func() uint64 {
		e.tr.Flush()
		st := e.tr.Stats("default", "web")
		assert.Equal(t, st.Failed, st.FailedByReason[ReasonPodNotServing])
		return st.Failed
	}
	assert.Zero(t, failed())

	e.eng.RunUntil(10*time.Second + 999*time.Millisecond)
	// node-1: requests 2701..2999, 100 of them to b; node-2: 271..299, 10 to b.
	assert.Equal(t, uint64(110), failed())
	e.eng.RunUntil(11 * time.Second)
	assert.Equal(t, uint64(110), failed(), "request 3000 (at 11 s) goes to c; node-1 is synced from now on")
	e.eng.RunUntil(20 * time.Second)
	// Only node-2's stopped, stale proxy still sends to b: requests 301..570.
	assert.Equal(t, uint64(200), failed())
	assert.Equal(t, 200.0, e.sum(t, `kubesim_requests_total{outcome="failed",pod="b"}`))
	assert.Equal(t, 0.0, e.tr.RPS("default", "b"))
}

// TestNodeCrashWindow: node-2 dies at 10 s; requests routed to its pod fail
// until the endpoint is marked not ready (here at 50 s, as the node
// lifecycle controller would) and each kube-proxy has synced (51 s).
func TestNodeCrashWindow(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	require.NoError(t, e.tr.SetLoad("web", "default", 300, ""))
	e.eng.RunUntil(10 * time.Second)
	e.w.nodes["node-2"] = false
	e.pc.Stop("node-2")
	e.tr.WorldChanged()
	e.eng.RunUntil(50 * time.Second)
	notReady := epB
	notReady.ready, notReady.serving = false, false
	e.pc.OnEndpointSliceUpdate(slice(epA, notReady, epC))
	e.eng.RunUntil(2 * time.Minute)
	e.tr.Flush()
	st := e.tr.Stats("default", "web")
	// 41 s × 300 rps entering node-1 and node-3 (150 each), a third to b.
	assert.Equal(t, uint64(41*300/3), st.FailedByReason[ReasonNodeDown])
	assert.Equal(t, st.FailedByReason[ReasonNodeDown], st.Failed)
	assert.Equal(t, 41.0*100, e.sum(t, `kubesim_requests_total{outcome="failed",pod="b",node="node-2"}`))
	assert.Equal(t, uint64(119*300), st.Served+st.Failed)
}

func TestFallbackAndRejection(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	term := epA
	term.ready, term.terminating = false, true
	e.pc.OnEndpointSliceUpdate(slice(term))
	e.eng.RunFor(time.Second)
	require.NoError(t, e.tr.SetLoad("web", "default", 100, "node-2"))
	e.eng.RunFor(10 * time.Second)
	e.tr.Flush()
	assert.Equal(t, map[string]uint64{"a": 1000}, e.tr.Stats("default", "web").ServedByPod, "serving-terminating endpoint still gets traffic")

	e.pc.OnEndpointSliceUpdate(slice())
	e.eng.RunFor(time.Second)
	e.tr.Flush()
	before := e.tr.Stats("default", "web").Failed
	e.eng.RunFor(10 * time.Second)
	e.tr.Flush()
	st := e.tr.Stats("default", "web")
	assert.Equal(t, before+1000, st.Failed)
	assert.Equal(t, st.Failed, st.FailedByReason[proxy.ErrNoEndpoints])
	assert.Equal(t, float64(st.Failed), e.sum(t, `kubesim_requests_total{outcome="failed",pod="",node="node-2"}`), "no pod: pod=\"\" and node=entry node")
}

func TestInternalTrafficPolicyLocal(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	svc := webService()
	svc.Spec.InternalTrafficPolicy = ptr.To(v1.ServiceInternalTrafficPolicyLocal)
	e.pc.OnServiceUpdate(svc)
	e.pc.OnEndpointSliceUpdate(slice(epA, epB, epD))
	e.eng.RunFor(time.Second)
	require.NoError(t, e.tr.SetLoad("web", "default", 300, ""))
	e.eng.RunFor(10 * time.Second)
	e.tr.Flush()
	st := e.tr.Stats("default", "web")
	assert.Equal(t, map[string]uint64{"a": 500, "d": 500, "b": 1000}, st.ServedByPod, "each node keeps its own pods")
	assert.Equal(t, uint64(1000), st.FailedByReason[proxy.ErrNoLocalEndpoints], "node-3 has none: dropped")
}

func TestExternalTrafficPolicyLocal(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	svc := webService()
	svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	e.pc.OnServiceUpdate(svc)
	e.pc.OnEndpointSliceUpdate(slice(epA, epB))
	e.eng.RunFor(time.Second)
	require.NoError(t, e.tr.SetLoad("web", "default", 300, FromExternal))
	e.eng.RunFor(10 * time.Second)
	e.tr.Flush()
	st := e.tr.Stats("default", "web")
	assert.Equal(t, map[string]uint64{"a": 1000, "b": 1000}, st.ServedByPod, "NodePort traffic stays on the entry node")
	assert.Equal(t, uint64(1000), st.FailedByReason[proxy.ErrNoLocalEndpoints], "node-3 (NodePort, no LB health check) drops")

	lb := svc.DeepCopy()
	lb.Spec.Type = v1.ServiceTypeLoadBalancer
	e.pc.OnServiceUpdate(lb)
	e.eng.RunFor(time.Second)
	e.tr.Flush()
	before := e.tr.Stats("default", "web")
	e.eng.RunFor(10 * time.Second)
	e.tr.Flush()
	after := e.tr.Stats("default", "web")
	assert.Equal(t, before.Failed, after.Failed, "a load balancer skips nodes failing the health check")
	assert.Equal(t, before.ServedByPod["a"]+1500, after.ServedByPod["a"])
}

func TestRPSFeedsLoadModel(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	require.NoError(t, e.tr.SetLoad("web", "default", 300, ""))
	for _, p := range []string{"a", "b", "c"} {
		assert.InDelta(t, 100.0, e.tr.RPS("default", p), 1e-9, p)
	}
	assert.InDelta(t, 100.0, KeyedLoad{e.tr}.RPS("default/a"), 1e-9)
	assert.Equal(t, 0.0, KeyedLoad{e.tr}.RPS("nonsense"))
	e.w.pods["default/c"] = false
	e.tr.WorldChanged()
	assert.Equal(t, 0.0, e.tr.RPS("default", "c"), "a pod that does not serve has no served load")
	assert.InDelta(t, 100.0, e.tr.RPS("default", "a"), 1e-9)
}

func TestLatencyModel(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	e.pc.OnEndpointSliceUpdate(slice(epA))
	e.eng.RunFor(time.Second)
	require.NoError(t, e.tr.SetLoad("web", "default", 800, "node-1"))
	e.eng.RunFor(10 * time.Second)
	// ρ = 800 × 5 ms / 8 = 0.5 ⇒ sojourn 10 ms; same-node hop 0.1 ms.
	count := e.sum(t, `kubesim_request_duration_seconds_count`)
	sum := e.sum(t, `kubesim_request_duration_seconds_sum`)
	require.Equal(t, 8000.0, count)
	assert.InDelta(t, 0.0101, sum/count, 1e-9)
	// P(latency ≤ 10 ms) = 1 − exp(−(0.01 − 0.0001)/0.01) = 0.6284.
	le10 := e.sum(t, `kubesim_request_duration_seconds_bucket{le="0.01"}`)
	assert.Equal(t, math.Floor(8000*(1-math.Exp(-0.99))+1e-6), le10)

	// Overload is capped at MaxUtilization 0.95: 20 × 5 ms.
	require.NoError(t, e.tr.SetLoad("web", "default", 5000, "node-1"))
	var got time.Duration
	e.tr.OnRequest(func(r Request) { got = r.Latency })
	require.NoError(t, e.tr.Set(Load{Namespace: "default", Service: "web", RPS: 1, From: "node-2", Trace: TraceAlways}))
	e.eng.RunFor(1500 * time.Millisecond)
	assert.Equal(t, 100*time.Millisecond+500*time.Microsecond, got)
}

type timedWorld struct{ *world }

func (timedWorld) PodServiceTime(ns, name string) (time.Duration, int, bool) {
	return 20 * time.Millisecond, 1, name == "a"
}

func TestPodServiceTimeOverride(t *testing.T) {
	eng := sim.New(1)
	reg := promstats.NewRegistry()
	pc := proxy.NewCluster(eng, proxy.DefaultConfig(), reg)
	pc.AddNode("node-1")
	w := &world{nodes: map[string]bool{"node-1": true}, pods: map[string]bool{"default/a": true}}
	pc.OnServiceUpdate(webService())
	pc.OnEndpointSliceUpdate(slice(epA))
	tr := New(eng, pc, timedWorld{w}, reg, Config{})
	eng.RunFor(time.Second)
	var got time.Duration
	tr.OnRequest(func(r Request) { got = r.Latency })
	require.NoError(t, tr.SetLoad("web", "default", 10, "node-1"))
	eng.RunFor(time.Second)
	// ρ = 10 × 20 ms / 1 = 0.2 ⇒ 25 ms, plus 0.1 ms hop.
	assert.Equal(t, 25100*time.Microsecond, got)
}

// TestHourAt10kRPSIsCheap: 10,000 requests/s for one simulated hour are
// accounted exactly (36,000,000) in a bounded number of engine events.
func TestHourAt10kRPSIsCheap(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	require.NoError(t, e.tr.SetLoad("web", "default", 10000, ""))
	start := e.eng.Steps()
	e.eng.RunFor(time.Hour)
	steps := e.eng.Steps() - start
	assert.Less(t, steps, uint64(10000))
	e.tr.Flush()
	st := e.tr.Stats("default", "web")
	assert.Equal(t, uint64(36_000_000), st.Served)
	assert.Equal(t, 36e6, e.sum(t, `kubesim_requests_total`))
	assert.Equal(t, 36e6, e.sum(t, `kubesim_request_duration_seconds_count`))
	// three nodes × three endpoints, round robin per node: exact thirds
	assert.Equal(t, map[string]uint64{"a": 12_000_000, "b": 12_000_000, "c": 12_000_000}, st.ServedByPod)
}

func BenchmarkHourAt10kRPS(b *testing.B) {
	for b.Loop() {
		e := newEnv(proxy.ModeRoundRobin, Config{})
		_ = e.tr.SetLoad("web", "default", 10000, "")
		e.eng.RunFor(time.Hour)
		e.tr.Flush()
	}
}

func TestArrivalArithmetic(t *testing.T) {
	assert.Equal(t, uint64(0), arrivals(0, 1000))
	assert.Equal(t, uint64(1), arrivals(time.Second, 1000))
	assert.Equal(t, uint64(36_000_000), arrivals(time.Hour, 10_000_000))
	assert.Equal(t, uint64(3), arrivals(time.Second, 3333), "3.333 rps")
	assert.Equal(t, 300030004*time.Nanosecond, arrivalOffset(1, 3333), "ceil(1e12/3333)")
	for k := uint64(1); k < 50; k++ {
		off := arrivalOffset(k, 3333)
		assert.Equal(t, k, arrivals(off, 3333))
		assert.Equal(t, k-1, arrivals(off-1, 3333))
	}
	// a year at 1e9 rps does not overflow
	assert.Equal(t, uint64(365*24*3600)*1e9, arrivals(365*24*time.Hour, 1e12))
}

func TestSetLoadValidation(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	assert.Error(t, e.tr.SetLoad("web", "default", -1, ""))
	assert.Error(t, e.tr.SetLoad("web", "default", math.NaN(), ""))
	assert.Error(t, e.tr.SetLoad("web", "default", 0.0001, ""))
	assert.Error(t, e.tr.SetLoad("", "default", 1, ""))
	require.NoError(t, e.tr.SetLoad("web", "default", 2.5, "external"))
	assert.Equal(t, []Load{{Namespace: "default", Service: "web", RPS: 2.5, From: "external", Trace: TraceAlways}}, e.tr.Loads())
	require.NoError(t, e.tr.SetLoad("web", "default", 0, "external"))
	assert.Empty(t, e.tr.Loads())
}

func TestUnknownServiceAndDownEntry(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	require.NoError(t, e.tr.SetLoad("nope", "default", 100, "node-1"))
	e.w.nodes["node-3"] = false
	require.NoError(t, e.tr.SetLoad("web", "default", 100, "node-3"))
	e.eng.RunFor(time.Second)
	e.tr.Flush()
	assert.Equal(t, uint64(100), e.tr.Stats("default", "nope").FailedByReason[proxy.ErrNoService])
	assert.Equal(t, uint64(100), e.tr.Stats("default", "web").FailedByReason[ReasonEntryDown])
	assert.Equal(t, 100.0, e.sum(t, `kubesim_requests_total{service="web",node="node-3",pod="",outcome="failed"}`))
	names := slices.Sorted(func(yield func(string) bool) {
		for _, s := range e.reg.Select(promstats.Selector{Name: "kubesim_requests_total"}) {
			if !yield(s.Labels[1].Value) {
				return
			}
		}
	})
	assert.Equal(t, []string{"node-1", "node-3"}, names)
}

// TestRandomRunIsReproducible: the same seed and script give byte-identical
// metrics, in random mode too.
func TestRandomRunIsReproducible(t *testing.T) {
	run := func() string {
		e := newEnv(proxy.ModeRandom, Config{})
		_ = e.tr.SetLoad("web", "default", 500, "")
		_ = e.tr.SetLoad("web", "default", 5, "node-3")
		e.eng.At(3*time.Second, "script", func() { e.pc.OnEndpointSliceUpdate(slice(epA, epC, epD)) })
		e.eng.RunUntil(10 * time.Second)
		e.tr.Flush()
		return e.reg.Text()
	}
	first := run()
	assert.Equal(t, first, run())
	assert.Contains(t, first, `kubesim_requests_total{namespace="default",node="node-1",outcome="served",pod="d",service="web"}`)
}

// TestRegimesAgreeProperty: for random scripts of endpoint, world and load
// changes, round-robin routing traced request by request and accounted in
// aggregate give identical totals and metrics.
func TestRegimesAgreeProperty(t *testing.T) {
	type step struct {
		at   time.Duration
		kind int
		arg  int
	}
	rapid.Check(t, func(rt *rapid.T) {
		var script []step
		for range rapid.IntRange(0, 12).Draw(rt, "steps") {
			script = append(script, step{
				at:   time.Duration(rapid.Int64Range(1_000_000_000, 30_000_000_000).Draw(rt, "at")),
				kind: rapid.IntRange(0, 4).Draw(rt, "kind"),
				arg:  rapid.IntRange(0, 7).Draw(rt, "arg"),
			})
		}
		affinity := rapid.Bool().Draw(rt, "affinity")
		rps := float64(rapid.IntRange(1, 40).Draw(rt, "rps"))
		run := func(mode TraceMode) (Stats, string) {
			e := newEnv(proxy.ModeRoundRobin, Config{ClientsPerNode: 3})
			if affinity {
				svc := webService()
				svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
				e.pc.OnServiceUpdate(svc)
			}
			_ = e.tr.Set(Load{Namespace: "default", Service: "web", RPS: rps, Trace: mode})
			all := []ep{epA, epB, epC, epD}
			nodes := []string{"node-1", "node-2", "node-3"}
			for _, s := range script {
				e.eng.At(s.at, "script", func() {
					switch s.kind {
					case 0: // endpoint subset
						var eps []ep
						for i, x := range all {
							if s.arg&(1<<i) != 0 || i == 3 && s.arg == 0 {
								eps = append(eps, x)
							}
						}
						e.pc.OnEndpointSliceUpdate(slice(eps...))
					case 1: // pod toggles serving
						k := "default/" + all[s.arg%4].pod
						e.w.pods[k] = !e.w.pods[k]
						e.tr.WorldChanged()
					case 2: // node toggles
						n := nodes[s.arg%3]
						e.w.nodes[n] = !e.w.nodes[n]
						if e.w.nodes[n] {
							e.pc.Start(n)
						} else {
							e.pc.Stop(n)
						}
						e.tr.WorldChanged()
					case 3: // rate change
						_ = e.tr.Set(Load{Namespace: "default", Service: "web", RPS: float64(1 + s.arg*3), Trace: mode})
					case 4: // load from one node
						_ = e.tr.Set(Load{Namespace: "default", Service: "web", RPS: float64(s.arg), From: nodes[s.arg%3], Trace: mode})
					}
				})
			}
			e.eng.RunUntil(32 * time.Second)
			e.tr.Flush()
			return e.tr.Stats("default", "web"), e.reg.Text()
		}
		s1, text1 := run(TraceAlways)
		s2, text2 := run(TraceNever)
		if affinity && slices.ContainsFunc(script, func(s step) bool { return s.kind == 4 }) {
			// Two loads through one node re-pin clients in a different
			// order in the two regimes (see the package documentation).
			require.Equal(rt, s1.Served+s1.Failed, s2.Served+s2.Failed)
			return
		}
		require.Equal(rt, s1, s2)
		require.Equal(rt, requestLines(text1), requestLines(text2))
	})
}

// TestRegimesAffinityTwoLoadsRegression is the case the property above
// found: with session affinity, a load from the cluster and a load from
// node-3 both enter through node-3; when their pinned endpoint goes away
// the clients are re-pinned in arrival order (traced) or load by load
// (aggregate), so the per-pod split may differ by at most the clients
// re-pinned at once, while the totals agree.
func TestRegimesAffinityTwoLoadsRegression(t *testing.T) {
	run := func(mode TraceMode) Stats {
		e := newEnv(proxy.ModeRoundRobin, Config{ClientsPerNode: 3})
		svc := webService()
		svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		e.pc.OnServiceUpdate(svc)
		require.NoError(t, e.tr.Set(Load{Namespace: "default", Service: "web", RPS: 3, Trace: mode}))
		e.eng.At(time.Second, "script", func() {
			require.NoError(t, e.tr.Set(Load{Namespace: "default", Service: "web", RPS: 2, From: "node-3", Trace: mode}))
			e.pc.OnEndpointSliceUpdate(slice(epD))
		})
		e.eng.At(30*time.Second, "script", func() { e.pc.OnEndpointSliceUpdate(slice(epA, epB)) })
		e.eng.RunUntil(32 * time.Second)
		e.tr.Flush()
		return e.tr.Stats("default", "web")
	}
	traced, aggregate := run(TraceAlways), run(TraceNever)
	assert.Equal(t, traced.Served+traced.Failed, aggregate.Served+aggregate.Failed)
	assert.Equal(t, traced.ServedByPod["d"], aggregate.ServedByPod["d"], "before the change both regimes agree")
	assert.Equal(t, traced.ServedByPod["a"]+traced.ServedByPod["b"], aggregate.ServedByPod["a"]+aggregate.ServedByPod["b"])
	diff := int(traced.ServedByPod["a"]) - int(aggregate.ServedByPod["a"])
	assert.LessOrEqual(t, diff*diff, 9, "at most the 3 clients of one entry node move")
}

// requestLines keeps the kubesim_requests_total lines of an exposition.
func requestLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "kubesim_requests_total{") {
			out = append(out, l)
		}
	}
	return out
}

// TestBeforeRatesChangeSeesOldRates checks the hook a time-integrating
// consumer (the metrics-server load model) uses: it runs before every
// replan, while RPS still reports the rates in force until now.
func TestBeforeRatesChangeSeesOldRates(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	var seen []float64
	e.tr.BeforeRatesChange(func() { seen = append(seen, e.tr.RPS("default", "a")) })
	require.NoError(t, e.tr.SetLoad("web", "default", 300, "node-1"))
	require.NotEmpty(t, seen)
	assert.Equal(t, 0.0, seen[len(seen)-1], "the hook ran before the new load's rates were planned")
	assert.InDelta(t, 100.0, e.tr.RPS("default", "a"), 1e-9)

	seen = nil
	e.w.pods["default/a"] = false
	e.tr.WorldChanged()
	require.Len(t, seen, 1)
	assert.InDelta(t, 100.0, seen[0], 1e-9, "the hook saw the rate in force up to the change")
	assert.Equal(t, 0.0, e.tr.RPS("default", "a"), "a pod that stopped serving serves nothing")
}

// TestReplanSumsAsNodeAfterNode: the planned rates are, bit for bit, the
// sums of each entry node's shares added one node after another, also when
// runs of nodes that share a list are added at once and a stale proxy's
// different list breaks a run.
func TestReplanSumsAsNodeAfterNode(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	nodes := []string{"node-1", "node-2", "node-3", "node-4", "node-5", "node-6", "node-7"}
	for _, n := range nodes[3:] {
		e.pc.AddNode(n)
		e.w.nodes[n] = true
	}
	e.eng.RunFor(2 * time.Second)
	e.pc.Stop("node-4") // keeps a, b, c
	e.pc.OnEndpointSliceUpdate(slice(epA, epB, epC, epD))
	e.eng.RunFor(2 * time.Second)
	require.NoError(t, e.tr.SetLoad("web", "default", 997, ""))

	want := map[string]float64{}
	rate := 997.0 / float64(len(nodes))
	for _, n := range nodes {
		r := e.pc.Proxy(n).Route("default", "web", "http", false)
		require.Empty(t, r.Err)
		for _, ep := range r.Endpoints {
			want[ep.Pod] += rate * (1 / float64(len(r.Endpoints)))
		}
	}
	require.Len(t, e.pc.Proxy("node-4").Route("default", "web", "http", false).Endpoints, 3, "node-4's list is stale")
	for pod, w := range want {
		assert.Equal(t, math.Float64bits(w), math.Float64bits(e.tr.RPS("default", pod)), "pod %s: want %v, got %v", pod, w, e.tr.RPS("default", pod))
	}
	assert.NotEqual(t, want["a"], want["d"], "d is missing from one node's list")
}

// repeatedSum.add is n additions of x in a row, bit for bit, whether its
// memo answers or not.
func TestRepeatedSumIsRepeatedAddition(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var memo repeatedSum
		for range rapid.IntRange(1, 5).Draw(rt, "calls") {
			from := rapid.SampledFrom([]float64{0, 0.1, 1.0 / 3, 12345.678}).Draw(rt, "from")
			x := rapid.SampledFrom([]float64{0.1, 1.0 / 7, 2.5e-3}).Draw(rt, "x")
			n := rapid.IntRange(1, 40).Draw(rt, "n")
			want := from
			for range n {
				want += x
			}
			if got := memo.add(from, x, n); math.Float64bits(got) != math.Float64bits(want) {
				rt.Fatalf("add(%v, %v, %d) = %v, want %v", from, x, n, got, want)
			}
		}
	})
}

// TestNewNodeEntersOnceItsProxySynced: a node that joins under load takes
// in-cluster and external requests only once its kube-proxy has synced for
// the first time (its rules exist); before, its clients' pods cannot run
// yet and a load balancer's health check of its kube-proxy fails.
func TestNewNodeEntersOnceItsProxySynced(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	require.NoError(t, e.tr.SetLoad("web", "default", 300, ""))
	require.NoError(t, e.tr.SetLoad("web", "default", 300, "external"))
	e.eng.RunUntil(10 * time.Second)
	e.pc.AddNode("node-4")
	e.w.nodes["node-4"] = true
	e.tr.WorldChanged()
	e.eng.RunUntil(20 * time.Second)
	e.tr.Flush()
	st := e.tr.Stats("default", "web")
	assert.Zero(t, st.Failed, "failed by reason: %v", st.FailedByReason)
	assert.Equal(t, uint64(19*600), st.Served)
	e.eng.RunUntil(21 * time.Second)
	assert.Len(t, e.tr.flows[flowKey{"default", "web", "", FromCluster}].entries, 4, "node-4 is an entry once synced")
}

// TestFailingFollowsThePlan: Failing says whether requests of a service
// fail under the current routing, whatever the last batch happened to hit:
// from the crash of an endpoint's node until every kube-proxy has dropped
// the endpoint, and while the service has no route.
func TestFailingFollowsThePlan(t *testing.T) {
	e := newEnv(proxy.ModeRoundRobin, Config{})
	assert.False(t, e.tr.Failing("default", "web"), "no load")
	assert.False(t, e.tr.HasLoad("default", "web"))
	require.NoError(t, e.tr.SetLoad("web", "default", 300, ""))
	assert.True(t, e.tr.HasLoad("default", "web"))
	require.NoError(t, e.tr.SetLoad("nope", "default", 1, "node-1"))
	e.eng.RunUntil(10 * time.Second)
	assert.False(t, e.tr.Failing("default", "web"))
	assert.True(t, e.tr.Failing("default", "nope"), "no such service")

	e.w.nodes["node-2"] = false
	e.pc.Stop("node-2")
	e.tr.WorldChanged()
	assert.True(t, e.tr.Failing("default", "web"), "b's node is down")
	notReady := epB
	notReady.ready, notReady.serving = false, false
	e.pc.OnEndpointSliceUpdate(slice(epA, notReady, epC))
	e.eng.RunUntil(10*time.Second + 999*time.Millisecond)
	assert.True(t, e.tr.Failing("default", "web"), "the proxies still route to b")
	e.eng.RunUntil(11 * time.Second)
	assert.False(t, e.tr.Failing("default", "web"))

	e.w.pods["default/c"] = false
	e.tr.WorldChanged()
	assert.True(t, e.tr.Failing("default", "web"), "c is not serving")
	require.NoError(t, e.tr.SetLoad("web", "default", 0, ""))
	assert.False(t, e.tr.Failing("default", "web"), "no load left")
	assert.False(t, e.tr.HasLoad("default", "web"))
}

// TestNewRateKeepsTheArrivalPhase: a rate change carries the progress
// toward the next request over, scaled to the new rate, so the steps of a
// slow ramp do not each restart the wait for a request (0.5 rps set again
// every 1.5 s sent nothing).
func TestNewRateKeepsTheArrivalPhase(t *testing.T) {
	for _, traced := range []TraceMode{TraceAlways, TraceNever} {
		e := newEnv(proxy.ModeRoundRobin, Config{})
		set := func(rps float64) {
			require.NoError(t, e.tr.Set(Load{Namespace: "default", Service: "web", RPS: rps, From: "node-1", Trace: traced}))
		}
		start := e.eng.Elapsed()
		for i := 0; i < 20; i++ {
			e.eng.RunUntil(start + time.Duration(i)*1500*time.Millisecond)
			set(0.5)
		}
		e.eng.RunUntil(start + 31*time.Second)
		e.tr.Flush()
		// arrivals every 2 s from the first set: 2 s, 4 s, …, 30 s
		assert.Equal(t, uint64(15), e.tr.Stats("default", "web").Served, "trace mode %v", traced)

		// Half-way to the next request at 1 rps, then 4 rps: it comes an
		// eighth of a second later.
		set(1)
		e.eng.RunUntil(start + 33*time.Second)
		e.tr.Flush()
		before := e.tr.Stats("default", "web").Served
		set(4)
		e.eng.RunUntil(start + 33*time.Second + 124*time.Millisecond)
		e.tr.Flush()
		assert.Equal(t, before, e.tr.Stats("default", "web").Served)
		e.eng.RunUntil(start + 33*time.Second + 125*time.Millisecond)
		e.tr.Flush()
		assert.Equal(t, before+1, e.tr.Stats("default", "web").Served)
	}
}

// The requests of an untraced load are accounted once per endpoint,
// outcome and hop after all entry nodes have routed (route's batch): the
// whole exposition — counters, the latency histogram's buckets, sums and
// counts — and the stats are bit for bit those of accounting each entry
// node's share of each endpoint on its own (what route does past 2⁵³
// requests routed, forced here), whatever the changes of endpoints, pods,
// nodes and rates, with and without session affinity, from the cluster,
// from outside and from one node.
func TestBatchedAccountingIsPerEntryAccounting(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		type step struct {
			at        time.Duration
			kind, arg int
		}
		var script []step
		for range rapid.IntRange(0, 12).Draw(rt, "steps") {
			script = append(script, step{
				at:   time.Duration(rapid.Int64Range(1_000_000_000, 30_000_000_000).Draw(rt, "at")),
				kind: rapid.IntRange(0, 3).Draw(rt, "kind"),
				arg:  rapid.IntRange(0, 15).Draw(rt, "arg"),
			})
		}
		affinity := rapid.Bool().Draw(rt, "affinity")
		rps := float64(rapid.IntRange(21, 5000).Draw(rt, "rps"))
		from := rapid.SampledFrom([]string{FromCluster, FromExternal, "node-2"}).Draw(rt, "from")
		// Equal hops make an endpoint's same-node and cross-node requests
		// one batch key.
		sameNodeHop := rapid.SampledFrom([]time.Duration{0, 500 * time.Microsecond}).Draw(rt, "sameNodeHop")
		run := func(perEntry bool) (Stats, string) {
			e := newEnv(proxy.ModeRoundRobin, Config{ClientsPerNode: 3, SameNodeHop: sameNodeHop})
			if perEntry {
				e.tr.routed = 1<<53 + 1
			}
			if affinity {
				svc := webService()
				svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
				e.pc.OnServiceUpdate(svc)
			}
			require.NoError(rt, e.tr.Set(Load{Namespace: "default", Service: "web", RPS: rps, From: from, Trace: TraceNever}))
			require.NoError(rt, e.tr.Set(Load{Namespace: "default", Service: "web", RPS: rps / 3, Trace: TraceAuto}))
			all := []ep{epA, epB, epC, epD}
			nodes := []string{"node-1", "node-2", "node-3"}
			for _, s := range script {
				e.eng.At(s.at, "script", func() {
					switch s.kind {
					case 0:
						var eps []ep
						for i, x := range all {
							if s.arg&(1<<i) != 0 {
								eps = append(eps, x)
							}
						}
						e.pc.OnEndpointSliceUpdate(slice(eps...))
					case 1:
						k := "default/" + all[s.arg%4].pod
						e.w.pods[k] = !e.w.pods[k]
						e.tr.WorldChanged()
					case 2:
						n := nodes[s.arg%3]
						e.w.nodes[n] = !e.w.nodes[n]
						if e.w.nodes[n] {
							e.pc.Start(n)
						} else {
							e.pc.Stop(n)
						}
						e.tr.WorldChanged()
					case 3:
						require.NoError(rt, e.tr.Set(Load{Namespace: "default", Service: "web", RPS: float64(21 + s.arg*97), From: from, Trace: TraceNever}))
					}
				})
			}
			e.eng.RunUntil(32 * time.Second)
			e.tr.Flush()
			return e.tr.Stats("default", "web"), e.reg.Text()
		}
		batched, batchedText := run(false)
		perEntry, perEntryText := run(true)
		require.Equal(rt, perEntry, batched)
		require.Equal(rt, perEntryText, batchedText)
		if batched.Served > 0 {
			require.Contains(rt, batchedText, "kubesim_request_duration_seconds_bucket")
		}
	})
}
