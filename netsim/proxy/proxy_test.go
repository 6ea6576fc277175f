package proxy

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/promstats"
)

func service(name string) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: v1.ServiceSpec{
			ClusterIP: "10.96.10.10",
			Ports:     []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP, NodePort: 30080}},
			Type:      v1.ServiceTypeNodePort,
		},
	}
}

type epSpec struct {
	ip, pod, node               string
	ready, serving, terminating bool
}

func readyEP(ip, pod, node string) epSpec { return epSpec{ip, pod, node, true, true, false} }

func slice(svc, name string, eps ...epSpec) *discovery.EndpointSlice {
	s := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{discovery.LabelServiceName: svc}},
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

var abc = []epSpec{readyEP("10.244.1.2", "a", "node-1"), readyEP("10.244.2.2", "b", "node-2"), readyEP("10.244.3.2", "c", "node-3")}

// setup builds a synced 3-node cluster serving svc "web" with abc.
func setup(_ any, cfg Config) (*sim.Engine, *Cluster) {
	eng := sim.New(42)
	c := NewCluster(eng, cfg, nil)
	for _, n := range []string{"node-1", "node-2", "node-3"} {
		c.AddNode(n)
	}
	c.OnServiceUpdate(service("web"))
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc...))
	eng.RunFor(cfg.PropagationDelay)
	return eng, c
}

func pods(r *Route, counts []uint64) map[string]uint64 {
	out := map[string]uint64{}
	for i, n := range counts {
		out[r.Endpoints[i].Pod] += n
	}
	return out
}

func TestRoundRobinExact(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	p := c.Proxy("node-1")
	r := p.Route("default", "web", "http", false)
	require.Empty(t, r.Err)
	require.Len(t, r.Endpoints, 3)

	var seq []string
	got := map[string]int{}
	for range 300 {
		i := p.Pick(r, "client", eng.Elapsed())
		got[r.Endpoints[i].Pod]++
		if len(seq) < 4 {
			seq = append(seq, r.Endpoints[i].Pod)
		}
	}
	assert.Equal(t, []string{"a", "b", "c", "a"}, seq)
	assert.Equal(t, map[string]int{"a": 100, "b": 100, "c": 100}, got)

	q := c.Proxy("node-2")
	rq := q.Route("default", "web", "http", false)
	assert.Equal(t, map[string]uint64{"a": 100, "b": 100, "c": 100}, pods(rq, q.Distribute(rq, 300)))
	// The position carries over: 300 picks ended on c, so the next five go
	// a, b, c, a, b.
	assert.Equal(t, map[string]uint64{"a": 2, "b": 2, "c": 1}, pods(rq, q.Distribute(rq, 5)))
	assert.Equal(t, []uint64{0, 0, 1}, q.Distribute(rq, 1), "5 picks ended on b, so c is next")
}

// TestRoundRobinSplitInvariant: any split of n connections into batches
// gives the same per-endpoint counts and the same next pick as one at a
// time.
func TestRoundRobinSplitInvariant(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		eng, c := setup(t, DefaultConfig())
		_ = eng
		one, batch := c.Proxy("node-1"), c.Proxy("node-2")
		r1 := one.Route("default", "web", "http", false)
		r2 := batch.Route("default", "web", "http", false)
		want := make([]uint64, 3)
		got := make([]uint64, 3)
		for range rapid.IntRange(1, 20).Draw(t, "batches") {
			n := rapid.Uint64Range(0, 50).Draw(t, "n")
			for range n {
				want[one.Pick(r1, "x", 0)]++
			}
			for i, k := range batch.Distribute(r2, n) {
				got[i] += k
			}
		}
		require.Equal(t, want, got)
		require.Equal(t, one.Pick(r1, "x", 0), batch.Pick(r2, "x", 0))
	})
}

func TestRoundRobinContinuesAfterEndpointChange(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	p := c.Proxy("node-1")
	r := p.Route("default", "web", "http", false)
	assert.Equal(t, "a", r.Endpoints[p.Pick(r, "", 0)].Pod)
	assert.Equal(t, "b", r.Endpoints[p.Pick(r, "", 0)].Pod)
	// b removed: the next endpoint after b in order is c.
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc[0], abc[2]))
	eng.RunFor(time.Second)
	r = p.Route("default", "web", "http", false)
	require.Len(t, r.Endpoints, 2)
	assert.Equal(t, "c", r.Endpoints[p.Pick(r, "", 0)].Pod)
	assert.Equal(t, "a", r.Endpoints[p.Pick(r, "", 0)].Pod)
}

func TestChainProbabilities(t *testing.T) {
	assert.Equal(t, []string{"0.3333333333", "0.5000000000"}, ChainProbabilities(3))
	assert.Equal(t, []string{"0.2500000000", "0.3333333333", "0.5000000000"}, ChainProbabilities(4))
	assert.Empty(t, ChainProbabilities(1))
}

// binomialBound is 4.5 standard deviations of Binomial(n, p).
func binomialBound(n uint64, p float64) float64 { return 4.5 * math.Sqrt(float64(n)*p*(1-p)) }

func TestRandomModeWithinBinomialBounds(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode = ModeRandom
	eng, c := setup(t, cfg)
	const n = 30000
	bound := binomialBound(n, 1.0/3) // ≈ 365
	// per connection (the chain evaluated n times)
	p := c.Proxy("node-1")
	r := p.Route("default", "web", "http", false)
	per := map[string]float64{}
	for range n {
		per[r.Endpoints[p.Pick(r, "c", eng.Elapsed())].Pod]++
	}
	// aggregated (one multinomial draw)
	q := c.Proxy("node-2")
	rq := q.Route("default", "web", "http", false)
	agg := pods(rq, q.Distribute(rq, n))
	for _, pod := range []string{"a", "b", "c"} {
		assert.InDelta(t, n/3.0, per[pod], bound, "per-request %s", pod)
		assert.InDelta(t, n/3.0, float64(agg[pod]), bound, "aggregate %s", pod)
	}
	assert.Equal(t, uint64(n), agg["a"]+agg["b"]+agg["c"])
	assert.NotEqual(t, map[string]uint64{"a": 10000, "b": 10000, "c": 10000}, agg, "random, not round-robin")

	// Same seed, same draws.
	_, c2 := setup(t, cfg)
	q2 := c2.Proxy("node-2")
	rq2 := q2.Route("default", "web", "http", false)
	assert.Equal(t, agg, pods(rq2, q2.Distribute(rq2, n)))
}

func TestBinomialSampler(t *testing.T) {
	rng := sim.New(1).Rand("test")
	for _, tc := range []struct {
		n uint64
		p float64
	}{{10, 0.5}, {1000, 0.25}, {1_000_000, 1.0 / 3}, {5000, 0.001}, {5000, 0.999}} {
		const draws = 400
		sum, sumSq := 0.0, 0.0
		for range draws {
			k := float64(binomial(rng, tc.n, tc.p))
			require.LessOrEqual(t, k, float64(tc.n))
			sum += k
			sumSq += k * k
		}
		mean := sum / draws
		variance := sumSq/draws - mean*mean
		wantMean := float64(tc.n) * tc.p
		wantVar := wantMean * (1 - tc.p)
		assert.InDelta(t, wantMean, mean, 4.5*math.Sqrt(wantVar/draws)+1e-9, "mean n=%d p=%v", tc.n, tc.p)
		assert.InDelta(t, wantVar, variance, 0.35*wantVar+0.5, "variance n=%d p=%v", tc.n, tc.p)
	}
	assert.Equal(t, uint64(0), binomial(rng, 100, 0))
	assert.Equal(t, uint64(100), binomial(rng, 100, 1))
}

func TestSessionAffinityPinsAndExpires(t *testing.T) {
	eng := sim.New(3)
	c := NewCluster(eng, DefaultConfig(), nil)
	c.AddNode("node-1")
	svc := service("web")
	svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	svc.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](60)}}
	c.OnServiceUpdate(svc)
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc...))
	eng.RunFor(time.Second)
	p := c.Proxy("node-1")
	r := p.Route("default", "web", "http", false)
	require.Equal(t, time.Minute, r.AffinityTimeout)

	first := p.Pick(r, "198.51.100.7", 0)
	for i := range 50 {
		// a request every 50 s keeps refreshing the 60 s timer
		assert.Equal(t, first, p.Pick(r, "198.51.100.7", time.Duration(i)*50*time.Second), "request %d", i)
	}
	other := p.Pick(r, "198.51.100.8", 0)
	assert.NotEqual(t, first, other, "a second client takes the next round-robin endpoint")

	last := 49 * 50 * time.Second
	pin, valid := p.Pinned(r, "198.51.100.7", last+60*time.Second)
	assert.True(t, valid)
	assert.Equal(t, r.Endpoints[first].Key, pin)
	_, valid = p.Pinned(r, "198.51.100.7", last+61*time.Second)
	assert.False(t, valid, "expired after the timeout")

	// After expiry the next pick goes through round robin again: third
	// endpoint in order (a and b were used by the two first picks).
	assert.Equal(t, 2, p.Pick(r, "198.51.100.7", last+61*time.Second))

	// Default timeout is 10800 s.
	svc2 := svc.DeepCopy()
	svc2.Spec.SessionAffinityConfig = nil
	c.OnServiceUpdate(svc2)
	eng.RunFor(time.Second)
	assert.Equal(t, 10800*time.Second, p.Route("default", "web", "http", false).AffinityTimeout)
}

func TestAffinityDroppedWhenEndpointGoes(t *testing.T) {
	eng := sim.New(3)
	c := NewCluster(eng, DefaultConfig(), nil)
	c.AddNode("node-1")
	svc := service("web")
	svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	c.OnServiceUpdate(svc)
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc...))
	eng.RunFor(time.Second)
	p := c.Proxy("node-1")
	r := p.Route("default", "web", "http", false)
	i := p.Pick(r, "client", eng.Elapsed())
	pod := r.Endpoints[i].Pod
	var rest []epSpec
	for _, e := range abc {
		if e.pod != pod {
			rest = append(rest, e)
		}
	}
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", rest...))
	eng.RunFor(time.Second)
	r = p.Route("default", "web", "http", false)
	j := p.Pick(r, "client", eng.Elapsed())
	assert.NotEqual(t, pod, r.Endpoints[j].Pod)
	assert.Equal(t, j, p.Pick(r, "client", eng.Elapsed()), "pinned to the new endpoint")
}

func TestStalenessAndStoppedProxy(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	count := func(node string) int {
		return len(c.Proxy(node).Route("default", "web", "http", false).Endpoints)
	}
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc[0], abc[1]))
	t0 := eng.Elapsed()
	c.Stop("node-3")
	eng.RunUntil(t0 + 999*time.Millisecond)
	assert.Equal(t, 3, count("node-1"), "stale until the propagation delay has passed")
	eng.RunUntil(t0 + time.Second)
	assert.Equal(t, 2, count("node-1"))
	assert.Equal(t, 2, count("node-2"))
	assert.Equal(t, 3, count("node-3"), "a stopped proxy stays stale")
	eng.RunFor(time.Hour)
	assert.Equal(t, 3, count("node-3"))

	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc[0]))
	eng.RunFor(500 * time.Millisecond)
	c.Start("node-3")
	assert.True(t, c.Proxy("node-3").Running())
	assert.False(t, c.Proxy("node-3").Synced())
	eng.RunFor(500 * time.Millisecond)
	assert.Equal(t, 1, count("node-1"))
	assert.Equal(t, 3, count("node-3"), "restarted proxy waits for its resync")
	eng.RunFor(500 * time.Millisecond)
	assert.Equal(t, 1, count("node-3"), "resynced to the API state as of Start")
	assert.True(t, c.Proxy("node-3").Synced())
}

func TestChangeReportedRightAfterStartIsNotLost(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	c.Stop("node-3")
	eng.RunFor(time.Second)
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc[0], abc[1])) // before Start: in the snapshot
	c.Start("node-3")
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc[0])) // same instant, after Start
	eng.RunFor(time.Second)
	assert.Len(t, c.Proxy("node-3").Route("default", "web", "http", false).Endpoints, 1)
	assert.Len(t, c.Proxy("node-1").Route("default", "web", "http", false).Endpoints, 1)
}

func TestFallbackToServingTerminating(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	term := func(e epSpec, serving bool) epSpec {
		e.ready, e.serving, e.terminating = false, serving, true
		return e
	}
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", term(abc[0], true), term(abc[1], false), abc[2]))
	eng.RunFor(time.Second)
	r := c.Proxy("node-1").Route("default", "web", "http", false)
	require.Len(t, r.Endpoints, 1)
	assert.Equal(t, "c", r.Endpoints[0].Pod, "ready endpoints first")

	c.OnEndpointSliceUpdate(slice("web", "web-abcde", term(abc[0], true), term(abc[1], false)))
	eng.RunFor(time.Second)
	r = c.Proxy("node-1").Route("default", "web", "http", false)
	require.Len(t, r.Endpoints, 1)
	assert.Equal(t, "a", r.Endpoints[0].Pod, "no ready endpoint: serving+terminating ones")

	c.OnEndpointSliceUpdate(slice("web", "web-abcde", term(abc[1], false)))
	eng.RunFor(time.Second)
	r = c.Proxy("node-1").Route("default", "web", "http", false)
	assert.Empty(t, r.Endpoints)
	assert.Equal(t, ErrNoEndpoints, r.Err)
}

func TestTrafficPolicyLocal(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	svc := service("web")
	svc.Spec.InternalTrafficPolicy = ptr.To(v1.ServiceInternalTrafficPolicyLocal)
	c.OnServiceUpdate(svc)
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc[0], readyEP("10.244.1.3", "a2", "node-1"), abc[1]))
	eng.RunFor(time.Second)

	r1 := c.Proxy("node-1").Route("default", "web", "http", false)
	assert.Equal(t, []string{"a", "a2"}, []string{r1.Endpoints[0].Pod, r1.Endpoints[1].Pod})
	assert.True(t, r1.Local)
	r3 := c.Proxy("node-3").Route("default", "web", "http", false)
	assert.Empty(t, r3.Endpoints)
	assert.Equal(t, ErrNoLocalEndpoints, r3.Err)
	ext := c.Proxy("node-3").Route("default", "web", "http", true)
	assert.Len(t, ext.Endpoints, 3, "internalTrafficPolicy does not apply to NodePort traffic")

	svc2 := service("web")
	svc2.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	c.OnServiceUpdate(svc2)
	eng.RunFor(time.Second)
	assert.Len(t, c.Proxy("node-3").Route("default", "web", "http", false).Endpoints, 3, "ClusterIP traffic uses all endpoints again")
	e2 := c.Proxy("node-2").Route("default", "web", "http", true)
	require.Len(t, e2.Endpoints, 1)
	assert.Equal(t, "b", e2.Endpoints[0].Pod)
	assert.Equal(t, ErrNoLocalEndpoints, c.Proxy("node-3").Route("default", "web", "http", true).Err)
	assert.True(t, c.Proxy("node-2").HealthCheck("default", "web"))
	assert.False(t, c.Proxy("node-3").HealthCheck("default", "web"))
}

func TestRouteErrors(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	p := c.Proxy("node-1")
	assert.Equal(t, ErrNoService, p.Route("default", "nope", "", false).Err)
	assert.Equal(t, ErrNoPort, p.Route("default", "web", "grpc", false).Err)
	assert.Empty(t, p.Route("default", "web", "", false).Err, "\"\" is the first port")
	cip := service("web")
	cip.Spec.Type = v1.ServiceTypeClusterIP
	cip.Spec.Ports[0].NodePort = 0
	c.OnServiceUpdate(cip)
	ext := service("ext")
	ext.Spec.Type = v1.ServiceTypeExternalName
	c.OnServiceUpdate(ext)
	eng.RunFor(time.Second)
	assert.Equal(t, ErrNoNodePort, p.Route("default", "web", "", true).Err)
	assert.Equal(t, ErrExternalName, p.Route("default", "ext", "", false).Err)
}

func TestHeadlessUsesReadyEndpoints(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	h := service("web")
	h.Spec.ClusterIP = v1.ClusterIPNone
	h.Spec.Type = v1.ServiceTypeClusterIP
	h.Spec.Ports[0].NodePort = 0
	c.OnServiceUpdate(h)
	nr := abc[2]
	nr.ready = false
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc[0], abc[1], nr))
	eng.RunFor(time.Second)
	r := c.Proxy("node-1").Route("default", "web", "http", false)
	assert.True(t, r.Headless)
	assert.Len(t, r.Endpoints, 2)
}

func TestEndpointsGaugeAndMultipleSlices(t *testing.T) {
	eng := sim.New(1)
	reg := promstats.NewRegistry()
	c := NewCluster(eng, DefaultConfig(), reg)
	c.AddNode("node-1")
	c.OnServiceUpdate(service("web"))
	nr := readyEP("10.244.9.9", "z", "node-1")
	nr.ready = false
	c.OnEndpointSliceUpdate(slice("web", "web-1", abc[0], abc[1]))
	c.OnEndpointSliceUpdate(slice("web", "web-2", abc[2], abc[0], nr))
	v, err := reg.Sum(`kubesim_endpoints{service="web",ready="true"}`)
	require.NoError(t, err)
	assert.Equal(t, 3.0, v, "immediately from the API view, deduplicated")
	v, _ = reg.Sum(`kubesim_endpoints{service="web",ready="false"}`)
	assert.Equal(t, 1.0, v)
	eng.RunFor(time.Second)
	r := c.Proxy("node-1").Route("default", "web", "http", false)
	assert.Equal(t, []string{"10.244.1.2:8080", "10.244.2.2:8080", "10.244.3.2:8080"},
		[]string{r.Endpoints[0].Key, r.Endpoints[1].Key, r.Endpoints[2].Key})

	// Changed in place, then moved to another Service: both counted anew.
	cNotReady := abc[2]
	cNotReady.ready = false
	c.OnEndpointSliceUpdate(slice("web", "web-2", cNotReady, abc[0], nr))
	sum := func(sel string) float64 {
		v, err := reg.Sum(sel)
		require.NoError(t, err)
		return v
	}
	assert.Equal(t, []float64{2, 2}, []float64{sum(`kubesim_endpoints{service="web",ready="true"}`), sum(`kubesim_endpoints{service="web",ready="false"}`)})
	c.OnEndpointSliceUpdate(slice("api", "web-2", cNotReady, abc[0], nr))
	assert.Equal(t, []float64{2, 0}, []float64{sum(`kubesim_endpoints{service="web",ready="true"}`), sum(`kubesim_endpoints{service="web",ready="false"}`)})
	assert.Equal(t, []float64{1, 2}, []float64{sum(`kubesim_endpoints{service="api",ready="true"}`), sum(`kubesim_endpoints{service="api",ready="false"}`)})

	c.OnEndpointSliceDelete("default", "web-1")
	c.OnEndpointSliceDelete("default", "web-2")
	assert.Empty(t, reg.Select(promstats.Selector{Name: "kubesim_endpoints"}))
}

func TestListenerBracketsEveryChange(t *testing.T) {
	eng := sim.New(1)
	c := NewCluster(eng, DefaultConfig(), nil)
	var log []string
	c.AddListener(listenerFunc{
		before: func() { log = append(log, fmt.Sprintf("before@%v", eng.Elapsed())) },
		after:  func() { log = append(log, fmt.Sprintf("after@%v", eng.Elapsed())) },
	})
	c.AddNode("node-1")
	c.OnServiceUpdate(service("web"))
	eng.RunFor(3 * time.Second)
	assert.Equal(t, []string{"before@1s", "after@1s", "before@1s", "after@1s"}, log, "resync of the new node, then the change")
}

type listenerFunc struct{ before, after func() }

func (l listenerFunc) BeforeProxySync() { l.before() }
func (l listenerFunc) AfterProxySync()  { l.after() }

func TestSliceMovingToAnotherServiceInvalidatesBoth(t *testing.T) {
	eng, c := setup(nil, DefaultConfig())
	other := service("api")
	c.OnServiceUpdate(other)
	eng.RunFor(time.Second)
	p := c.Proxy("node-1")
	require.Len(t, p.Route("default", "web", "http", false).Endpoints, 3)
	require.Empty(t, p.Route("default", "api", "http", false).Endpoints)
	moved := slice("api", "web-abcde", abc...)
	c.OnEndpointSliceUpdate(moved)
	eng.RunFor(time.Second)
	assert.Empty(t, p.Route("default", "web", "http", false).Endpoints)
	assert.Len(t, p.Route("default", "api", "http", false).Endpoints, 3)
}

// Proxies whose views hold the same slices share one endpoint list (a big
// Service's is computed once, not once per node); a proxy that lags keeps
// the list of its own view.
func TestRoutesShareEndpointListsOfTheSameSlices(t *testing.T) {
	eng, c := setup(nil, DefaultConfig())
	p1, p3 := c.Proxy("node-1"), c.Proxy("node-3")
	r1 := p1.Route("default", "web", "http", false)
	r3 := p3.Route("default", "web", "http", false)
	require.Len(t, r1.Endpoints, 3)
	assert.Same(t, &r1.Endpoints[0], &r3.Endpoints[0], "one list for both")

	c.Stop("node-3")
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc[0], abc[1]))
	eng.RunFor(time.Second)
	r1 = p1.Route("default", "web", "http", false)
	r3 = p3.Route("default", "web", "http", false)
	assert.Len(t, r1.Endpoints, 2, "the synced proxy sees the change")
	assert.Len(t, r3.Endpoints, 3, "the stopped one keeps its view")
	r2 := c.Proxy("node-2").Route("default", "web", "http", false)
	assert.Same(t, &r1.Endpoints[0], &r2.Endpoints[0])

	local := service("web")
	local.Spec.InternalTrafficPolicy = ptr.To(v1.ServiceInternalTrafficPolicyLocal)
	c.OnServiceUpdate(local)
	eng.RunFor(time.Second)
	r1 = p1.Route("default", "web", "http", false)
	r2 = c.Proxy("node-2").Route("default", "web", "http", false)
	require.Len(t, r1.Endpoints, 1)
	require.Len(t, r2.Endpoints, 1)
	assert.Equal(t, "a", r1.Endpoints[0].Pod, "traffic policy Local: the node's own endpoints")
	assert.Equal(t, "b", r2.Endpoints[0].Pod)
}

// TestMissingServingConditionMeansServing: kube-proxy reads an unset
// serving condition as true (pkg/proxy/endpointslicecache.go
// newEndpointSliceInfo: Serving == nil || *Serving), not as a copy of
// ready, so a terminating endpoint without it (a hand-written slice) is a
// serving-terminating fallback.
func TestMissingServingConditionMeansServing(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	s := slice("web", "web-abcde", abc[0])
	s.Endpoints[0].Conditions = discovery.EndpointConditions{Ready: ptr.To(false), Terminating: ptr.To(true)}
	c.OnEndpointSliceUpdate(s)
	eng.RunFor(time.Second)
	r := c.Proxy("node-1").Route("default", "web", "http", false)
	require.Empty(t, r.Err)
	require.Len(t, r.Endpoints, 1)
	assert.True(t, r.Endpoints[0].Serving)
	assert.Equal(t, "a", r.Endpoints[0].Pod)
}

// TestServiceProxyNameLabelIsIgnored: kube-proxy's informers select
// Services and EndpointSlices without the label
// service.kubernetes.io/service-proxy-name (cmd/kube-proxy/app/server.go:
// "filter out objects that want a non-default service proxy"), so it has
// no rules for such a Service, nor for such slices.
func TestServiceProxyNameLabelIsIgnored(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	alt := service("web")
	alt.Labels = map[string]string{LabelServiceProxyName: "other-proxy"}
	c.OnServiceUpdate(alt)
	eng.RunFor(time.Second)
	assert.Equal(t, ErrNoService, c.Proxy("node-1").Route("default", "web", "http", false).Err)
	assert.Equal(t, ErrNoService, c.Proxy("node-1").Route("default", "web", "http", true).Err)

	c.OnServiceUpdate(service("web"))
	other := slice("web", "web-other", readyEP("10.244.9.9", "z", "node-1"))
	other.Labels[LabelServiceProxyName] = "other-proxy"
	c.OnEndpointSliceUpdate(other)
	eng.RunFor(time.Second)
	r := c.Proxy("node-1").Route("default", "web", "http", false)
	require.Empty(t, r.Err)
	assert.Len(t, r.Endpoints, 3, "the labelled slice is not kube-proxy's")
}

// TestHealthCheckCountsLocalReadyEndpointsOnly follows pkg/proxy's
// EndpointsMap.LocalReadyEndpoints, which the proxiers hand to the health
// check server: a node whose only local endpoints are serving and
// terminating still routes its NodePort traffic to them (the Local
// fallback of CategorizeEndpoints) but fails the health check, so that a
// load balancer stops sending it new traffic while they drain.
func TestHealthCheckCountsLocalReadyEndpointsOnly(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	svc := service("web")
	svc.Spec.Type = v1.ServiceTypeLoadBalancer
	svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	c.OnServiceUpdate(svc)
	draining := abc[0]
	draining.ready, draining.terminating = false, true
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", draining, abc[1]))
	eng.RunFor(time.Second)

	r1 := c.Proxy("node-1").Route("default", "web", "http", true)
	require.Len(t, r1.Endpoints, 1, "the local serving-terminating endpoint still takes the node's traffic")
	assert.Equal(t, "a", r1.Endpoints[0].Pod)
	assert.False(t, c.Proxy("node-1").HealthCheck("default", "web"), "no local ready endpoint")
	assert.True(t, c.Proxy("node-2").HealthCheck("default", "web"))
	assert.False(t, c.Proxy("node-3").HealthCheck("default", "web"))

	c.OnEndpointSliceUpdate(slice("web", "web-abcde", draining, readyEP("10.244.1.3", "a2", "node-1"), abc[1]))
	eng.RunFor(time.Second)
	assert.True(t, c.Proxy("node-1").HealthCheck("default", "web"), "a ready replacement on node-1")
}

// TestSlicePortsKubeProxyIgnores: kube-proxy keys endpoints by service
// port name and protocol and skips a slice port whose number is 0
// (pkg/proxy/endpointslicecache.go endpointInfoByServicePort): a
// hand-made slice whose only port is UDP, or port 0, gives a TCP service
// port no endpoints. The health check counts the local ready endpoints of
// every port in the slices (EndpointsMap.LocalReadyEndpoints), so the UDP
// one still passes it, the port-0 one does not.
func TestSlicePortsKubeProxyIgnores(t *testing.T) {
	for _, tc := range []struct {
		name    string
		port    discovery.EndpointPort
		healthy bool
	}{
		{"udp", discovery.EndpointPort{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(v1.ProtocolUDP)}, true},
		{"port 0", discovery.EndpointPort{Name: ptr.To("http"), Port: ptr.To[int32](0), Protocol: ptr.To(v1.ProtocolTCP)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := sim.New(42)
			c := NewCluster(eng, DefaultConfig(), nil)
			c.AddNode("node-1")
			svc := service("web")
			svc.Spec.Type = v1.ServiceTypeLoadBalancer
			svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
			c.OnServiceUpdate(svc)
			s := slice("web", "web-abcde", readyEP("10.244.1.2", "a", "node-1"))
			s.Ports = []discovery.EndpointPort{tc.port}
			c.OnEndpointSliceUpdate(s)
			eng.RunFor(time.Second)
			p := c.Proxy("node-1")
			r := p.Route("default", "web", "http", false)
			assert.Empty(t, r.Endpoints)
			assert.Equal(t, ErrNoEndpoints, r.Err)
			assert.Equal(t, tc.healthy, p.HealthCheck("default", "web"))
		})
	}
}

// TestSliceWithoutProtocolIsTCP: kubesim does not default hand-made
// slices; kube-proxy reads a port without protocol as the API server's
// default, TCP.
func TestSliceWithoutProtocolIsTCP(t *testing.T) {
	eng := sim.New(42)
	c := NewCluster(eng, DefaultConfig(), nil)
	c.AddNode("node-1")
	c.OnServiceUpdate(service("web"))
	s := slice("web", "web-abcde", readyEP("10.244.1.2", "a", "node-1"))
	s.Ports[0].Protocol = nil
	c.OnEndpointSliceUpdate(s)
	eng.RunFor(time.Second)
	r := c.Proxy("node-1").Route("default", "web", "http", false)
	require.Len(t, r.Endpoints, 1)
	assert.Equal(t, "10.244.1.2:8080", r.Endpoints[0].Key)
}

// TestHealthCheckFailsUntilRestartedProxySyncs follows pkg/proxy/healthcheck:
// a (re)started kube-proxy opens a Service's health-check node port only
// in its first sync (SyncServices from syncProxyRules), so until then a
// load balancer's probe fails, whatever the rules left from before the
// restart say. Before the fix the frozen pre-crash view still answered
// "healthy" during the resync delay, and the load balancer sent requests
// to a rebooted node whose pod had not started yet.
func TestHealthCheckFailsUntilRestartedProxySyncs(t *testing.T) {
	eng, c := setup(t, DefaultConfig())
	svc := service("web")
	svc.Spec.Type = v1.ServiceTypeLoadBalancer
	svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	c.OnServiceUpdate(svc)
	c.OnEndpointSliceUpdate(slice("web", "web-abcde", abc...))
	eng.RunFor(time.Second)
	require.True(t, c.Proxy("node-2").HealthCheck("default", "web"))

	c.Stop("node-2")
	assert.False(t, c.Proxy("node-2").HealthCheck("default", "web"), "a stopped kube-proxy answers no probe")
	c.Start("node-2")
	assert.False(t, c.Proxy("node-2").HealthCheck("default", "web"), "no health-check port before the first sync")
	eng.RunFor(time.Second)
	assert.True(t, c.Proxy("node-2").HealthCheck("default", "web"), "open and passing after the resync")
}
