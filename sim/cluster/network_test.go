package cluster_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/netsim/dns"
	"github.com/kubesim/kubesim/netsim/proxy"
	"github.com/kubesim/kubesim/netsim/traffic"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/informer"
	"github.com/kubesim/kubesim/sim/metrics"
	"github.com/kubesim/kubesim/sim/simtest"
)

// netEnv is a cluster with the real API server, scheduler, EndpointSlice
// controller, DNS and kube-proxies, and simtest.FakeRuntime standing in for
// the kubelets (and, when asked, the node lifecycle controller).
type netEnv struct {
	c     *cluster.Cluster
	rt    *simtest.FakeRuntime
	cl    client.Interface
	trace *bytes.Buffer
}

func newNetEnv(t *testing.T, seed uint64, net cluster.NetworkConfig, rtc simtest.FakeRuntimeConfig, nodes ...string) *netEnv {
	t.Helper()
	c := cluster.New(cluster.Config{Seed: seed, DetectCacheMutations: true, Network: net})
	var trace bytes.Buffer
	c.Engine.AddTraceSink(func(r sim.Record) { trace.Write(r.AppendJSON(nil)); trace.WriteByte('\n') })
	for _, n := range nodes {
		require.NoError(t, simtest.AddNodes(c, simtest.Node(n, "8", "16Gi", nil)))
	}
	rt := simtest.StartFakeRuntime(c, rtc)
	c.Start()
	t.Cleanup(func() { require.NoError(t, c.Informers.CheckMutations(), "seed %d", seed) })
	return &netEnv{c: c, rt: rt, cl: c.Client("test"), trace: &trace}
}

var createOpts = metav1.CreateOptions{}

// serviceFor is Service <app> selecting app=<app>, port http 80 -> 8080.
func serviceFor(app string) *v1.Service {
	return &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: app},
		Spec: v1.ServiceSpec{Selector: map[string]string{"app": app},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
}

func (e *netEnv) service(t *testing.T, ns, name string, mutate ...func(*v1.Service)) *v1.Service {
	t.Helper()
	s := serviceFor(name)
	s.Namespace = ns
	for _, m := range mutate {
		m(s)
	}
	got, err := e.cl.CoreV1().Services(ns).Create(bg, s, createOpts)
	require.NoError(t, err)
	return got
}

func podSpec(app string, mutate ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "app", Image: app + ":1",
			Ports:     []v1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}}}}}}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func onNode(node string) func(*v1.Pod) {
	return func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{v1.LabelHostname: node} }
}

func (e *netEnv) pod(t *testing.T, ns, name string, p *v1.Pod) {
	t.Helper()
	p.Name, p.Namespace = name, ns
	_, err := e.cl.CoreV1().Pods(ns).Create(bg, p, metav1.CreateOptions{})
	require.NoError(t, err)
}

func (e *netEnv) sum(t *testing.T, sel string) float64 {
	t.Helper()
	v, err := e.c.Metrics().Sum(sel)
	require.NoError(t, err)
	return v
}

func (e *netEnv) served(t *testing.T, svc, pod string) float64 {
	return e.sum(t, fmt.Sprintf(`kubesim_requests_total{service=%q,pod=%q,outcome="served"}`, svc, pod))
}

func (e *netEnv) podIP(t *testing.T, ns, name string) string {
	p, err := e.cl.CoreV1().Pods(ns).Get(bg, name, metav1.GetOptions{})
	require.NoError(t, err)
	return p.Status.PodIP
}

func (e *netEnv) setPodReady(t *testing.T, ns, name string, ready bool) {
	t.Helper()
	p, err := e.cl.CoreV1().Pods(ns).Get(bg, name, metav1.GetOptions{})
	require.NoError(t, err)
	st := v1.ConditionFalse
	if ready {
		st = v1.ConditionTrue
	}
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == v1.PodReady {
			p.Status.Conditions[i].Status = st
		}
	}
	_, err = e.cl.CoreV1().Pods(ns).UpdateStatus(bg, p, metav1.UpdateOptions{})
	require.NoError(t, err)
}

// threeWebPods starts pods web-a, web-b, web-c, one per node, behind
// Service default/web, and waits until every kube-proxy routes to them.
func (e *netEnv) threeWebPods(t *testing.T, mutate ...func(*v1.Service)) {
	t.Helper()
	e.service(t, "default", "web", mutate...)
	for i, n := range []string{"node-1", "node-2", "node-3"} {
		e.pod(t, "default", "web-"+string(rune('a'+i)), podSpec("web", onNode(n)))
	}
	e.c.Engine.RunFor(10 * time.Second)
	require.Equal(t, 3.0, e.sum(t, `kubesim_endpoints{service="web",ready="true"}`), "three ready endpoints")
	for _, n := range []string{"node-1", "node-2", "node-3"} {
		require.Len(t, e.c.Proxies().Proxy(n).Route("default", "web", "", false).Endpoints, 3, "kube-proxy on %s synced", n)
	}
}

var threeNodes = []string{"node-1", "node-2", "node-3"}

func TestKubernetesServiceAtStart(t *testing.T) {
	e := newNetEnv(t, 1, cluster.NetworkConfig{}, simtest.FakeRuntimeConfig{})
	s, err := e.cl.CoreV1().Services("default").Get(bg, "kubernetes", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "10.96.0.1", s.Spec.ClusterIP)
	assert.Equal(t, []string{"10.96.0.1"}, s.Spec.ClusterIPs)
	assert.Equal(t, []v1.IPFamily{v1.IPv4Protocol}, s.Spec.IPFamilies)
	assert.Equal(t, v1.IPFamilyPolicySingleStack, *s.Spec.IPFamilyPolicy)
	require.Len(t, s.Spec.Ports, 1)
	assert.Equal(t, v1.ServicePort{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(6443)}, s.Spec.Ports[0])
	assert.Equal(t, map[string]string{"component": "apiserver", "provider": "kubernetes"}, s.Labels)
	assert.True(t, e.c.ServiceAllocator().HasIP("10.96.0.1"))

	// A manifest asking for the same IP clashes, as in a real cluster.
	_, err = e.cl.CoreV1().Services("default").Create(bg, &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec: v1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []v1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err))
	assert.Contains(t, err.Error(), "failed to allocate IP 10.96.0.1: provided IP is already allocated")
	assert.Equal(t, "10.96.0.1", e.c.Resolve("default", "kubernetes").Addresses[0])
}

// TestRoundRobinExact: 3 ready endpoints and 300 requests through one
// kube-proxy give exactly 100 each, in aggregate and request by request.
func TestRoundRobinExact(t *testing.T) {
	for _, mode := range []traffic.TraceMode{traffic.TraceNever, traffic.TraceAlways} {
		t.Run(fmt.Sprint("trace", mode), func(t *testing.T) {
			e := newNetEnv(t, 7, cluster.NetworkConfig{}, simtest.FakeRuntimeConfig{StartDelay: time.Second}, threeNodes...)
			e.threeWebPods(t)
			var first []string
			e.c.Traffic().OnRequest(func(r traffic.Request) {
				if len(first) < 4 {
					first = append(first, r.Pod)
				}
			})
			require.NoError(t, e.c.SetLoad(traffic.Load{Namespace: "default", Service: "web", RPS: 100, From: "node-1", Trace: mode}))
			e.c.Engine.RunFor(3 * time.Second)
			for _, p := range []string{"web-a", "web-b", "web-c"} {
				assert.Equal(t, 100.0, e.served(t, "web", p), p)
			}
			assert.Equal(t, 0.0, e.sum(t, `kubesim_requests_total{outcome="failed"}`))
			if mode == traffic.TraceAlways {
				// endpoints in kube-proxy's order (ip:port); the pods got IPs in creation order
				assert.Equal(t, []string{"web-a", "web-b", "web-c", "web-a"}, first)
			} else {
				assert.Empty(t, first, "aggregate accounting traces no request")
			}
		})
	}
}

// TestRandomModeBinomial: iptables-style random balancing over 3 endpoints
// for 3000 requests stays within 4 standard deviations of 1000 each, and
// is reproducible from the seed.
func TestRandomModeBinomial(t *testing.T) {
	run := func(seed uint64) []float64 {
		e := newNetEnv(t, seed, cluster.NetworkConfig{ProxyMode: proxy.ModeRandom}, simtest.FakeRuntimeConfig{StartDelay: time.Second}, threeNodes...)
		e.threeWebPods(t)
		require.NoError(t, e.c.SetServiceLoad("default", "web", 1000, "node-1"))
		e.c.Engine.RunFor(3 * time.Second)
		var out []float64
		for _, p := range []string{"web-a", "web-b", "web-c"} {
			out = append(out, e.served(t, "web", p))
		}
		return out
	}
	counts := run(11)
	sd := math.Sqrt(3000 * (1.0 / 3) * (2.0 / 3))
	total := 0.0
	for i, n := range counts {
		assert.InDelta(t, 1000, n, 4*sd, "endpoint %d: %v", i, counts)
		total += n
	}
	assert.Equal(t, 3000.0, total)
	assert.Equal(t, counts, run(11), "same seed, same draws")
}

// TestSessionAffinityPinsClient: with ClientIP affinity one client keeps
// its endpoint; when that endpoint stops being ready the client is pinned
// to another one and stays there.
func TestSessionAffinityPinsClient(t *testing.T) {
	net := cluster.NetworkConfig{Traffic: traffic.Config{ClientsPerNode: 1}}
	e := newNetEnv(t, 3, net, simtest.FakeRuntimeConfig{StartDelay: time.Second}, threeNodes...)
	e.threeWebPods(t, func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP })
	var pods []string
	e.c.Traffic().OnRequest(func(r traffic.Request) { pods = append(pods, r.Pod) })
	require.NoError(t, e.c.SetServiceLoad("default", "web", 10, "node-1"))
	e.c.Engine.RunFor(30 * time.Second)
	require.Len(t, pods, 300)
	pinned := pods[0]
	assert.Equal(t, 300, count(pods, pinned), "one client, one endpoint: %v", pods[:10])

	pods = nil
	e.setPodReady(t, "default", pinned, false)
	e.c.Engine.RunFor(30 * time.Second)
	require.Len(t, pods, 300)
	moved := pods[len(pods)-1]
	assert.NotEqual(t, pinned, moved)
	// until the kube-proxy syncs (1 s = 10 requests) the old pin holds
	assert.Equal(t, 10, count(pods, pinned))
	assert.Equal(t, 290, count(pods, moved), "re-pinned once, then kept")
}

func count(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// TestNodeCrashFailureWindow: requests to a crashed node's pod fail from
// the crash until the node lifecycle controller marks its pods not ready,
// the EndpointSlice controller drops them and every running kube-proxy has
// synced; none fail after. The window is the node-failure detection time
// plus the propagation delay.
//
// The kubelet and node lifecycle controller are simtest.FakeRuntime's
// stand-ins (heartbeats every 10 s, monitor every 5 s, grace 50 s);
// TestE2ENodeCrashFailureWindow runs the same scenario with the real ones.
func TestNodeCrashFailureWindow(t *testing.T) {
	const propagation = 2 * time.Second
	e := newNetEnv(t, 5, cluster.NetworkConfig{PropagationDelay: propagation},
		simtest.FakeRuntimeConfig{StartDelay: time.Second, NodeLifecycle: true}, threeNodes...)
	e.threeWebPods(t)
	type failure struct {
		at   time.Duration
		pod  string
		node string
	}
	var failures []failure
	e.c.Traffic().OnRequest(func(r traffic.Request) {
		if r.Outcome == traffic.Failed {
			failures = append(failures, failure{r.At, r.Pod, r.Node})
		}
	})
	require.NoError(t, e.c.SetLoad(traffic.Load{Namespace: "default", Service: "web", RPS: 200, Trace: traffic.TraceAlways}))
	e.c.Engine.RunFor(53*time.Second + 300*time.Millisecond)
	crash := e.c.Engine.Elapsed()
	lastBeat := e.rt.LastHeartbeat("node-2")
	e.rt.Crash("node-2")
	e.c.Engine.RunFor(2 * time.Minute)

	detected, ok := e.rt.DetectedAt("node-2")
	require.True(t, ok, "the node was detected as not ready")
	// first monitor tick (every 5 s from the start) more than 50 s after
	// the last heartbeat: between 40 s and 55 s after the crash
	wantDetected := (lastBeat+50*time.Second)/(5*time.Second)*(5*time.Second) + 5*time.Second
	assert.Equal(t, wantDetected, detected)
	assert.GreaterOrEqual(t, detected-crash, 40*time.Second)
	assert.LessOrEqual(t, detected-crash, 55*time.Second)

	require.NotEmpty(t, failures)
	for _, f := range failures {
		require.Equal(t, "web-b", f.pod, "only requests routed to the crashed node's pod fail")
		require.Equal(t, "node-2", f.node)
	}
	first, last := failures[0].at, failures[len(failures)-1].at
	const gap = 20 * time.Millisecond // a few inter-arrival times at 200 rps over 3 endpoints
	assert.GreaterOrEqual(t, first, crash)
	assert.Less(t, first, crash+gap, "failures start at the crash")
	end := detected + propagation
	assert.LessOrEqual(t, last, end, "no failure after every running kube-proxy has synced")
	assert.GreaterOrEqual(t, last, end-gap, "failures last until the kube-proxies sync")
	window := end - crash
	assert.Equal(t, (detected-crash)+propagation, window)
	assert.InDelta(t, float64(window), float64(last-first), float64(2*gap), "measured window %v vs detection %v + propagation %v", last-first, detected-crash, propagation)

	for _, n := range []string{"node-1", "node-3"} {
		r := e.c.Proxies().Proxy(n).Route("default", "web", "", false)
		assert.Len(t, r.Endpoints, 2, "kube-proxy on %s dropped the crashed node's endpoint", n)
	}
	assert.False(t, e.c.Proxies().Proxy("node-2").Running(), "the crashed node's kube-proxy stopped")
	assert.Equal(t, 2.0, e.sum(t, `kubesim_endpoints{service="web",ready="true"}`))
	assert.Equal(t, 1.0, e.sum(t, `kubesim_endpoints{service="web",ready="false"}`))
	assert.Equal(t, float64(len(failures)), e.sum(t, `kubesim_requests_total{service="web",outcome="failed"}`))
}

// rollout is a stand-in for the Deployment + ReplicaSet controllers'
// rolling update of pods app=web from version v1 to v2 (maxSurge,
// maxUnavailable as absolute numbers): it scales the new version up while
// the total stays within replicas+maxSurge and scales the old one down
// while the ready pods stay at least replicas-maxUnavailable.
type rollout struct {
	cl                    client.Interface
	pods                  informer.PodInformer
	replicas, surge, unav int
	newPod                func() *v1.Pod
	created               int
}

func (r *rollout) sync(string) error {
	all, _ := r.pods.Lister().Pods("default").List(labels.SelectorFromSet(labels.Set{"app": "web"}))
	var old, cur []*v1.Pod
	ready := 0
	for _, p := range all {
		if p.DeletionTimestamp != nil {
			continue
		}
		if p.Labels["version"] == "v2" {
			cur = append(cur, p)
		} else {
			old = append(old, p)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodReady && c.Status == v1.ConditionTrue {
				ready++
			}
		}
	}
	for len(cur) < r.replicas && len(old)+len(cur) < r.replicas+r.surge {
		r.created++
		p := r.newPod()
		p.Name = fmt.Sprintf("web-v2-%d", r.created)
		if _, err := r.cl.CoreV1().Pods("default").Create(bg, p, metav1.CreateOptions{}); err != nil {
			return err
		}
		cur = append(cur, p)
	}
	for len(old) > 0 && ready-1 >= r.replicas-r.unav {
		if err := r.cl.CoreV1().Pods("default").Delete(bg, old[0].Name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		old = old[1:]
		ready-- // an old pod counts as ready until it goes; be conservative
	}
	return nil
}

// runRollout rolls 4 replicas from v1 to v2 under a steady load and
// returns the service's request stats after the rollout settled.
func runRollout(t *testing.T, safe bool) traffic.Stats {
	e := newNetEnv(t, 9, cluster.NetworkConfig{}, simtest.FakeRuntimeConfig{StartDelay: 2 * time.Second, WarmUp: 3 * time.Second, StopDelay: time.Second}, threeNodes...)
	e.service(t, "default", "web")
	version := func(v string) *v1.Pod {
		p := podSpec("web")
		p.Labels["version"] = v
		if safe {
			p.Spec.Containers[0].ReadinessProbe = &v1.Probe{PeriodSeconds: 1,
				ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}}
			p.Spec.Containers[0].Lifecycle = &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 5}}}
		}
		return p
	}
	for i := range 4 {
		e.pod(t, "default", fmt.Sprintf("web-v1-%d", i), version("v1"))
	}
	e.c.Engine.RunFor(20 * time.Second)
	require.Equal(t, 4.0, e.sum(t, `kubesim_endpoints{service="web",ready="true"}`))
	require.NoError(t, e.c.SetServiceLoad("default", "web", 400, ""))
	e.c.Engine.RunFor(10 * time.Second)
	require.Equal(t, 0.0, e.sum(t, `kubesim_requests_total{outcome="failed"}`), "steady state serves everything")

	r := &rollout{cl: e.cl, pods: e.c.Informers.Pods(), replicas: 4, surge: 1, unav: 0, newPod: func() *v1.Pod { return version("v2") }}
	if !safe {
		r.unav = 1 // the defaults for 4 replicas: 25 % surge (1), 25 % unavailable (1)
	}
	q := informer.NewQueue[string](e.c.Engine, "rollout", informer.DefaultControllerRateLimiter[string](e.c.Engine), r.sync)
	enqueue := func(any) { q.Add("web") }
	e.c.Informers.Pods().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue})
	e.c.Engine.RunFor(2 * time.Minute)

	pods, err := e.cl.CoreV1().Pods("default").List(bg, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, pods.Items, 4, "the rollout finished")
	for _, p := range pods.Items {
		require.Equal(t, "v2", p.Labels["version"])
	}
	assert.Equal(t, 4.0, e.sum(t, `kubesim_endpoints{service="web",ready="true"}`))
	assert.Equal(t, 0.0, e.sum(t, `kubesim_endpoints{service="web",ready="false"}`))
	st := e.c.Traffic().Stats("default", "web")
	assert.Equal(t, float64(st.Failed), e.sum(t, `kubesim_requests_total{service="web",outcome="failed"}`))
	assert.Equal(t, float64(st.Served), e.sum(t, `kubesim_requests_total{service="web",outcome="served"}`))
	assert.Equal(t, uint64(400*(10+120)), st.Served+st.Failed, "every request accounted")
	return st
}

// TestRollingUpdateWithProbesAndPreStopFailsNothing: readiness probes,
// maxUnavailable 0 and a preStop delay longer than the propagation delay:
// no request fails. Without them the same rollout fails requests: new pods
// get traffic before their application accepts connections, old pods stop
// before the kube-proxies stop routing to them.
//
// The Deployment controller and the kubelet's probes and preStop hooks are
// stand-ins here (rollout above, simtest.FakeRuntime);
// TestE2ERollingUpdateWithProbesAndPreStopFailsNothing uses the real ones.
func TestRollingUpdateWithProbesAndPreStopFailsNothing(t *testing.T) {
	safe := runRollout(t, true)
	assert.Zero(t, safe.Failed, "failures: %v", safe.FailedByReason)
	assert.Positive(t, safe.Served)

	unsafe := runRollout(t, false)
	assert.Positive(t, unsafe.Failed)
	assert.Equal(t, []string{traffic.ReasonPodNotServing}, sortedKeys(unsafe.FailedByReason))
	// 4 new pods each routed to for WarmUp − propagation = 2 s and 4 old
	// pods each for the 1 s propagation delay while not serving, at about
	// a quarter to a fifth of 400 rps each: roughly 900–1500 requests.
	assert.Greater(t, unsafe.Failed, uint64(500))
	assert.Less(t, unsafe.Failed, uint64(2500))
	t.Logf("rollout without probes/preStop/maxUnavailable 0: %d of %d requests failed", unsafe.Failed, unsafe.Failed+unsafe.Served)
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestDNSThroughFacade(t *testing.T) {
	e := newNetEnv(t, 2, cluster.NetworkConfig{}, simtest.FakeRuntimeConfig{StartDelay: time.Second}, threeNodes...)
	_, err := e.cl.CoreV1().Namespaces().Create(bg, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	web := e.service(t, "default", "web")
	e.service(t, "default", "db", func(s *v1.Service) { s.Spec.ClusterIP = v1.ClusterIPNone })
	api := e.service(t, "shop", "api")
	for i, n := range threeNodes {
		e.pod(t, "default", fmt.Sprint("db-", i), podSpec("db", onNode(n)))
	}
	e.c.Engine.RunFor(10 * time.Second)
	e.setPodReady(t, "default", "db-2", false)
	e.c.Engine.RunFor(time.Second)

	a := e.c.Resolve("default", "web")
	assert.Equal(t, dns.Answer{Name: "web.default.svc.cluster.local", Rcode: dns.NoError, Addresses: []string{web.Spec.ClusterIP}}, a)
	ips := []string{e.podIP(t, "default", "db-0"), e.podIP(t, "default", "db-1")}
	slices.Sort(ips)
	assert.Equal(t, dns.Answer{Name: "db.default.svc.cluster.local", Rcode: dns.NoError, Addresses: ips}, e.c.Resolve("default", "db"),
		"headless: the ready pod IPs")
	assert.Equal(t, []string{api.Spec.ClusterIP}, e.c.Resolve("default", "api.shop").Addresses, "another namespace")
	assert.Equal(t, []string{api.Spec.ClusterIP}, e.c.Resolve("default", "api.shop.svc.cluster.local.").Addresses)
	assert.Equal(t, []string{api.Spec.ClusterIP}, e.c.Resolve("shop", "api").Addresses)
	assert.Equal(t, dns.NXDomain, e.c.Resolve("default", "api").Rcode, "not in the pod's namespace")
	assert.Equal(t, dns.Answer{Name: "shop.svc.cluster.local", Rcode: dns.NoError}, e.c.Resolve("default", "shop"),
		"a namespace's name has no data (the resolver follows namespaces)")
	assert.Equal(t, []string{"10.244.9.9"}, e.c.Resolve("shop", "10-244-9-9.shop.pod").Addresses, "pods insecure")
}

func TestNodeProxiesFollowNodes(t *testing.T) {
	e := newNetEnv(t, 4, cluster.NetworkConfig{}, simtest.FakeRuntimeConfig{StartDelay: time.Second}, "node-1", "node-2")
	e.c.Engine.RunFor(2 * time.Second)
	assert.Equal(t, []string{"node-1", "node-2"}, e.c.Proxies().Nodes())
	require.NoError(t, simtest.AddNodes(e.c, simtest.Node("node-3", "8", "16Gi", nil)))
	e.c.Engine.RunFor(2 * time.Second)
	assert.Equal(t, []string{"node-1", "node-2", "node-3"}, e.c.Proxies().Nodes())
	assert.True(t, e.c.Proxies().Proxy("node-3").Synced())
	require.NoError(t, e.cl.CoreV1().Nodes().Delete(bg, "node-1", metav1.DeleteOptions{}))
	e.c.Engine.RunFor(time.Second)
	assert.Equal(t, []string{"node-2", "node-3"}, e.c.Proxies().Nodes())
	e.rt.Crash("node-2")
	assert.False(t, e.c.Proxies().Proxy("node-2").Running())
}

func TestSetLoadValidatesFrom(t *testing.T) {
	e := newNetEnv(t, 1, cluster.NetworkConfig{}, simtest.FakeRuntimeConfig{}, "node-1")
	err := e.c.SetServiceLoad("default", "web", 10, "node-9")
	assert.EqualError(t, err, `setLoad default/web: from: no node named "node-9" (want a node, "" for clients in the cluster or "external")`)
	assert.NoError(t, e.c.SetServiceLoad("default", "web", 10, "external"))
	assert.NoError(t, e.c.SetServiceLoad("default", "web", 10, "node-1"))
}

func TestExternalTrafficThroughNodePort(t *testing.T) {
	e := newNetEnv(t, 6, cluster.NetworkConfig{}, simtest.FakeRuntimeConfig{StartDelay: time.Second}, threeNodes...)
	e.threeWebPods(t, func(s *v1.Service) { s.Spec.Type = v1.ServiceTypeNodePort })
	require.NoError(t, e.c.SetServiceLoad("default", "web", 900, traffic.FromExternal))
	e.c.Engine.RunFor(10 * time.Second)
	assert.Equal(t, 9000.0, e.sum(t, `kubesim_requests_total{service="web",outcome="served"}`))
	// every entry node round-robins its third: exactly 1000 per entry node per pod
	for _, p := range []string{"web-a", "web-b", "web-c"} {
		assert.Equal(t, 3000.0, e.served(t, "web", p))
	}
}

// TestTrafficFeedsLoadModel: the traffic model is the metrics-server load
// model's source: served requests per second per pod times
// kubesim.dev/cpu-per-request.
func TestTrafficFeedsLoadModel(t *testing.T) {
	e := newNetEnv(t, 8, cluster.NetworkConfig{}, simtest.FakeRuntimeConfig{StartDelay: time.Second}, threeNodes...)
	e.service(t, "default", "web")
	for i, n := range threeNodes {
		e.pod(t, "default", fmt.Sprint("web-", i), podSpec("web", onNode(n), func(p *v1.Pod) {
			p.Annotations = map[string]string{metrics.CPUPerRequestAnnotation: "2m"}
		}))
	}
	ms := metrics.New(e.c.Engine, func() []*v1.Pod {
		pods, _ := e.c.Informers.Pods().Lister().List(labels.Everything())
		return pods
	}, e.c.TrafficLoadSource())
	e.c.OnTrafficLoadChanging(ms.LoadChanged)
	e.c.Engine.RunFor(10 * time.Second)
	require.NoError(t, e.c.SetServiceLoad("default", "web", 300, ""))
	e.c.Engine.RunFor(time.Minute)
	pod, err := e.cl.CoreV1().Pods("default").Get(bg, "web-0", metav1.GetOptions{})
	require.NoError(t, err)
	assert.InDelta(t, 100.0, e.c.TrafficLoadSource().RPS(pod), 1e-9)
	m := ms.PodMetrics("default", labels.SelectorFromSet(labels.Set{"app": "web"}))
	require.Len(t, m, 3)
	for name, pm := range m {
		// 100 rps × 2m; the metrics model rounds the float average down,
		// and 3 × 100/3 rps is 99.999… in floating point
		assert.InDelta(t, 200, pm.CPUMilli(), 1, "%s: 100 rps × 2m", name)
	}
}

func TestServiceTimeAnnotations(t *testing.T) {
	e := newNetEnv(t, 8, cluster.NetworkConfig{}, simtest.FakeRuntimeConfig{StartDelay: time.Second}, "node-1")
	e.service(t, "default", "slow")
	e.pod(t, "default", "slow-0", podSpec("slow", func(p *v1.Pod) {
		p.Annotations = map[string]string{cluster.ServiceTimeAnnotation: "100ms", cluster.WorkersAnnotation: "10"}
	}))
	e.c.Engine.RunFor(5 * time.Second)
	require.NoError(t, e.c.SetServiceLoad("default", "slow", 50, "node-1"))
	e.c.Engine.RunFor(10 * time.Second)
	reg := e.c.Metrics()
	slow, err := reg.Sum(`kubesim_request_duration_seconds_sum{service="slow"}`)
	require.NoError(t, err)
	n, err := reg.Sum(`kubesim_request_duration_seconds_count{service="slow"}`)
	require.NoError(t, err)
	// ρ = 50 rps × 0.1 s / 10 workers = 0.5 ⇒ sojourn 0.2 s, plus the 0.1 ms local hop
	assert.InDelta(t, 0.2001, slow/n, 1e-6)
}

func TestNetworkConfigValidate(t *testing.T) {
	assert.NoError(t, cluster.NetworkConfig{}.Validate())
	err := cluster.NetworkConfig{ServiceCIDR: "10.96.0.0/33", ProxyMode: "ipvs-lc", MaxEndpointsPerSlice: 2000,
		Traffic: traffic.Config{MaxUtilization: 1.5}}.Validate()
	require.Error(t, err)
	for _, want := range []string{`network.serviceCIDR: Invalid value: "10.96.0.0/33"`, `network.proxyMode: Unsupported value: "ipvs-lc": supported values: "roundRobin", "random"`,
		`network.maxEndpointsPerSlice: Invalid value: 2000: must be between 1 and 1000`, `network.traffic.maxUtilization: Invalid value: 1.5`} {
		assert.Contains(t, err.Error(), want)
	}
	assert.PanicsWithValue(t, "cluster: invalid network configuration: network.proxyMode: Unsupported value: \"x\": supported values: \"roundRobin\", \"random\"",
		func() { cluster.New(cluster.Config{Network: cluster.NetworkConfig{ProxyMode: "x"}}) })
}

// networkRun is a small run with everything that draws random numbers or
// orders events: random balancing, a crash, pods coming and going.
func networkRun(t *testing.T, seed uint64) (string, string) {
	e := newNetEnv(t, seed, cluster.NetworkConfig{ProxyMode: proxy.ModeRandom},
		simtest.FakeRuntimeConfig{StartDelay: time.Second, WarmUp: time.Second, NodeLifecycle: true}, threeNodes...)
	e.threeWebPods(t, func(s *v1.Service) { s.Spec.Type = v1.ServiceTypeNodePort })
	require.NoError(t, e.c.SetServiceLoad("default", "web", 15, ""))
	require.NoError(t, e.c.SetServiceLoad("default", "web", 700, traffic.FromExternal))
	e.c.Engine.RunFor(20 * time.Second)
	e.rt.Crash("node-3")
	e.pod(t, "default", "web-d", podSpec("web"))
	e.c.Engine.RunFor(90 * time.Second)
	return e.c.Metrics().Text(), e.trace.String()
}

func TestNetworkDeterminism(t *testing.T) {
	m1, t1 := networkRun(t, 21)
	m2, t2 := networkRun(t, 21)
	require.Contains(t, m1, "kubesim_requests_total")
	require.Contains(t, t1, `"component":"traffic","verb":"request"`)
	assert.Equal(t, m1, m2, "same seed, same metrics text")
	assert.Equal(t, t1, t2, "same seed, same trace")
	m3, _ := networkRun(t, 22)
	assert.NotEqual(t, m1, m3, "another seed draws other random routes")
}
