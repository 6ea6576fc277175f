package cluster_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubesim/kubesim/netsim/traffic"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/kubelet"
	"github.com/kubesim/kubesim/sim/simtest"
)

// webService creates Service default/web (app=web, port http 80 → 8080).
func (e *e2e) webService() {
	e.t.Helper()
	_, err := e.cl.CoreV1().Services("default").Create(bg, serviceFor("web"), metav1.CreateOptions{})
	require.NoError(e.t, err)
}

func (e *e2e) metric(selector string) float64 {
	e.t.Helper()
	v, err := e.c.Metrics().Sum(selector)
	require.NoError(e.t, err)
	return v
}

// TestE2ERoundRobinExact: 3 Deployment replicas run by the real kubelets
// behind a Service, 300 requests through one kube-proxy (IPVS rr, the
// default) ⇒ exactly 100 each, per request and in aggregate.
func TestE2ERoundRobinExact(t *testing.T) {
	for _, mode := range []traffic.TraceMode{traffic.TraceAlways, traffic.TraceNever} {
		t.Run(fmt.Sprint("trace", mode), func(t *testing.T) {
			e := newE2E(t, 5, cluster.Config{Kubelet: exact})
			e.addNodes("n1", "n2", "n3")
			e.webService()
			e.createDeployment(webDeployment(3, "web:1"))
			e.at(10 * time.Second)
			require.Equal(t, 3.0, e.metric(`kubesim_endpoints{service="web",ready="true"}`))
			var order []string
			e.c.Traffic().OnRequest(func(r traffic.Request) { order = append(order, r.Pod) })
			require.NoError(t, e.c.SetLoad(traffic.Load{Namespace: "default", Service: "web", RPS: 100, From: "n1", Trace: mode}))
			e.c.Engine.RunFor(3 * time.Second)
			pods := e.pods("app=web")
			require.Len(t, pods, 3)
			for _, p := range pods {
				assert.Equal(t, 100.0, e.metric(fmt.Sprintf(`kubesim_requests_total{service="web",pod=%q,outcome="served"}`, p.Name)), p.Name)
			}
			assert.Equal(t, 0.0, e.metric(`kubesim_requests_total{outcome="failed"}`))
			if mode == traffic.TraceAlways {
				require.Len(t, order, 300)
				for i := 3; i < 300; i++ {
					require.Equal(t, order[i-3], order[i], "request %d: round robin", i+1)
				}
				assert.ElementsMatch(t, names(pods), order[:3])
			} else {
				assert.Empty(t, order, "aggregate accounting")
			}
		})
	}
}

// TestE2ENodeCrashFailureWindow is issue 5's node crash with the real
// kubelet, node lifecycle controller, EndpointSlice controller and
// kube-proxies: 3 replicas (one per node) behind a Service, 200 requests/s
// from the cluster's clients, n2 crashed at 2m3.25s. Requests routed to
// n2's pod fail from the crash (the kubelet model tells the traffic model
// at that instant) until the pod is marked Ready=False (2m55s, the first
// monitor tick strictly after the last heartbeat 2m0s + 50 s), the
// EndpointSlice controller drops it (same instant) and every running
// kube-proxy applied the change one propagation delay (1 s) later, at
// 2m56s. The window is detection time (51.75 s) + propagation (1 s) =
// 52.75 s: 200/s over the 2 remaining entry nodes, a third to n2's pod ⇒
// 3517 failed requests, from 2m3.255s to 2m55.995s. None after — also not
// when taint eviction replaces the pod at 8m0s.
func TestE2ENodeCrashFailureWindow(t *testing.T) {
	e := newE2E(t, 6, cluster.Config{Kubelet: exact})
	e.addNodes("n1", "n2", "n3")
	e.webService()
	e.createDeployment(webDeployment(3, "web:1"))
	e.at(time.Minute)
	pods := e.pods("app=web")
	require.Equal(t, "n1=1 n2=1 n3=1", perNode(pods))
	var victim string
	for _, p := range pods {
		if p.Spec.NodeName == "n2" {
			victim = p.Name
		}
	}
	type failure struct {
		at        time.Duration
		pod, node string
		reason    string
	}
	var failures []failure
	e.c.Traffic().OnRequest(func(r traffic.Request) {
		if r.Outcome == traffic.Failed {
			failures = append(failures, failure{r.At, r.Pod, r.Node, r.Reason})
		}
	})
	require.NoError(t, e.c.SetLoad(traffic.Load{Namespace: "default", Service: "web", RPS: 200, Trace: traffic.TraceAlways}))
	// Not on a whole second: the traffic model's 1 s accounting tick must
	// not be what notices the crash.
	const crash = 2*time.Minute + 3250*time.Millisecond
	e.c.Inject(cluster.Fault{At: crash, Action: cluster.FaultCrashNode, Node: "n2"})
	e.at(10 * time.Minute)

	propagation := e.c.Proxies().Config().PropagationDelay
	require.Equal(t, time.Second, propagation)
	detected := firstTickAfter(e.lastLeaseRenewal("n2", crash)+50*time.Second, 5*time.Second)
	require.Equal(t, 2*time.Minute+55*time.Second, detected)
	assert.Equal(t, []time.Duration{detected}, e.times("node-lifecycle-controller", "podNotReady", victim))
	var slices []string
	for _, r := range e.records("endpointslice-controller", "endpointsUpdated") {
		if r.Time >= crash && r.Time <= detected+propagation {
			slices = append(slices, fmt.Sprintf("%v %s", r.Time, r.Msg[:len("2 ready, 1 not ready")]))
		}
	}
	assert.Equal(t, []string{"2m55s 2 ready, 1 not ready"}, slices, "the EndpointSlice controller drops the pod at detection")
	for _, n := range []string{"n1", "n3"} {
		var syncs []time.Duration
		for _, at := range e.times("kube-proxy/"+n, "sync") {
			if at >= crash && at < 8*time.Minute {
				syncs = append(syncs, at)
			}
		}
		assert.Equal(t, []time.Duration{detected + propagation}, syncs, "kube-proxy on %s applies it one propagation delay later", n)
	}

	require.NotEmpty(t, failures)
	for _, f := range failures {
		require.Equal(t, failure{f.at, victim, "n2", traffic.ReasonNodeDown}, f, "only requests routed to the crashed node's pod fail")
	}
	first, last := failures[0].at, failures[len(failures)-1].at
	end := detected + propagation
	window := end - crash
	assert.Equal(t, (detected-crash)+propagation, window)
	assert.Equal(t, 52*time.Second+750*time.Millisecond, window)
	const gap = 15 * time.Millisecond // every third request of 200/s goes to n2's pod
	assert.Equal(t, crash+5*time.Millisecond, first, "the first request to n2's pod after the crash")
	assert.Less(t, first-crash, gap)
	assert.Equal(t, end-5*time.Millisecond, last, "the last one before the kube-proxies sync; none after")
	assert.Less(t, end-last, gap)
	assert.Len(t, failures, 3517, "200/s × 52.75 s × 1/3")
	assert.InDelta(t, 200*window.Seconds()/3, float64(len(failures)), 1)
	assert.Equal(t, 3517.0, e.metric(`kubesim_requests_total{service="web",outcome="failed"}`))

	assert.False(t, e.c.Proxies().Proxy("n2").Running(), "the crashed node's kube-proxy stays stopped")
	for _, n := range []string{"n1", "n3"} {
		r := e.c.Proxies().Proxy(n).Route("default", "web", "", false)
		assert.Len(t, r.Endpoints, 3, "kube-proxy on %s: n1's and n3's pods and the replacement", n)
		for _, ep := range r.Endpoints {
			assert.NotEqual(t, victim, ep.Pod)
		}
	}
	assert.Equal(t, 3.0, e.metric(`kubesim_endpoints{service="web",ready="true"}`), "the replacement (8m0s) is ready")
	assert.Equal(t, 1.0, e.metric(`kubesim_endpoints{service="web",ready="false"}`), "the Terminating pod on n2")
	st := e.c.Traffic().Stats("default", "web")
	assert.Equal(t, uint64(200*9*60), st.Served+st.Failed, "every request of 9 minutes accounted")
}

// e2eRollout runs issue 5's rolling update: Deployment web (4 replicas, an
// application that takes 3 s to accept connections after its container
// starts) behind Service web under 400 requests/s from the cluster,
// updated from web:1 to web:2 at 1m30s. safe adds a readiness probe
// (every 1 s), maxUnavailable 0 (maxSurge 1) and a 5 s preStop sleep;
// otherwise the strategy is the default (25 %/25 %: surge 1, unavailable 1)
// with neither probe nor hook. It returns the request stats at 4m and the
// failed requests to old (web:1) and new (web:2) pods.
func e2eRollout(t *testing.T, safe bool) (st traffic.Stats, failedOld, failedNew float64) {
	e := newE2E(t, 7, cluster.Config{Kubelet: exact})
	e.addNodes("n1", "n2", "n3")
	e.webService()
	d := webDeployment(4, "web:1")
	d.Spec.Template.Annotations = map[string]string{kubelet.AnnotationStartupDuration: "3s"}
	if safe {
		surge, unav := intstr.FromInt32(1), intstr.FromInt32(0)
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unav}}
		c := &d.Spec.Template.Spec.Containers[0]
		c.ReadinessProbe = &v1.Probe{PeriodSeconds: 1,
			ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}}}
		c.Lifecycle = &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 5}}}
	}
	e.createDeployment(d)
	e.runUntil(time.Minute, "first rollout", func() bool { return e.rolledOut("web") })
	e.at(time.Minute)
	require.Equal(t, 4.0, e.metric(`kubesim_endpoints{service="web",ready="true"}`))
	require.NoError(t, e.c.SetServiceLoad("default", "web", 400, ""))
	e.at(90 * time.Second)
	require.Zero(t, e.metric(`kubesim_requests_total{outcome="failed"}`), "steady state serves everything")
	old := e.pods("app=web")

	e.updateDeployment("web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "web:2" })
	e.runUntil(4*time.Minute, "rollout to web:2", func() bool { return e.rolledOut("web") && len(e.pods("app=web")) == 4 })
	t.Logf("safe=%v: rolled out in %v", safe, e.now()-90*time.Second)
	e.at(4 * time.Minute)
	for _, p := range e.pods("app=web") {
		require.Equal(t, "web:2", p.Spec.Containers[0].Image)
	}
	assert.Equal(t, 4.0, e.metric(`kubesim_endpoints{service="web",ready="true"}`))
	assert.Zero(t, e.metric(`kubesim_endpoints{service="web",ready="false"}`))
	st = e.c.Traffic().Stats("default", "web")
	assert.Equal(t, uint64(400*3*60), st.Served+st.Failed, "every request of 3 minutes accounted")
	assert.Equal(t, float64(st.Failed), e.metric(`kubesim_requests_total{service="web",outcome="failed"}`))
	total := e.metric(`kubesim_requests_total{service="web",outcome="failed"}`)
	for _, p := range old {
		failedOld += e.metric(fmt.Sprintf(`kubesim_requests_total{service="web",pod=%q,outcome="failed"}`, p.Name))
	}
	return st, failedOld, total - failedOld
}

// TestE2ERollingUpdateWithProbesAndPreStopFailsNothing: with readiness
// probes, maxUnavailable 0 and a preStop delay longer than the
// propagation delay no request fails: a new pod gets traffic only once
// its application answers, an old one keeps serving until every
// kube-proxy stopped routing to it. Without them the same rollout fails
// 1501 of 72000 requests, all "pod not serving": 499 to the 4 old pods
// (stopped at once on deletion, routed to for the 1 s propagation delay)
// and 1002 to the 4 new ones (Ready as soon as their container runs,
// routed to from 1 s later, accepting connections only 3 s after the
// start: 2 s each), at a quarter to a third of 400/s per pod.
func TestE2ERollingUpdateWithProbesAndPreStopFailsNothing(t *testing.T) {
	safe, oldF, newF := e2eRollout(t, true)
	assert.Zero(t, safe.Failed, "failures: %v", safe.FailedByReason)
	assert.Equal(t, uint64(72000), safe.Served)
	assert.Zero(t, oldF+newF)

	unsafe, oldF, newF := e2eRollout(t, false)
	assert.Positive(t, unsafe.Failed)
	assert.Equal(t, uint64(1501), unsafe.Failed)
	assert.Equal(t, map[string]uint64{traffic.ReasonPodNotServing: 1501}, unsafe.FailedByReason)
	assert.Equal(t, 499.0, oldF, "old pods: 1 s of routing each after they stopped")
	assert.Equal(t, 1002.0, newF, "new pods: 2 s of routing each before the application started")
	t.Logf("rollout without readiness probes, preStop and maxUnavailable 0: %d of %d requests failed (%v old pods, %v new pods)",
		unsafe.Failed, unsafe.Failed+unsafe.Served, oldF, newF)
}

// TestE2EWiring checks the hookups between the areas with the real
// components: the NodeTaint admission plugin's not-ready:NoSchedule taint
// is removed by the node lifecycle controller once the node is Ready; the
// kubelet model's node changes stop and start the node's kube-proxy and
// reach the traffic model at once (World is the kubelet model's NodeUp /
// PodServing); metrics-server's load source is the traffic model.
func TestE2EWiring(t *testing.T) {
	e := newE2E(t, 8, cluster.Config{Kubelet: exact})
	e.addNodes("n1", "n2")
	e.at(0)
	var tainted []string
	for _, r := range e.recs {
		if r.Kind == "Node" && r.Name == "n1" && (r.Verb == "create" || r.Verb == "untainted") {
			tainted = append(tainted, fmt.Sprintf("%v %s %s %s", r.Time, r.Component, r.Verb, r.Msg))
		}
	}
	assert.Equal(t, []string{
		"0s kubelet/n1 create ready=True taints=1",
		"0s node-lifecycle-controller untainted node.kubernetes.io/not-ready:NoSchedule (node conditions)",
	}, tainted, "registered with the NodeTaint plugin's taint, removed once Ready")
	n, err := e.cl.CoreV1().Nodes().Get(bg, "n1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, n.Spec.Taints)

	e.webService()
	d := webDeployment(2, "php-apache:1")
	d.Spec.Template.Annotations = map[string]string{"kubesim.dev/cpu-per-request": "10m"}
	e.createDeployment(d)
	require.NoError(t, e.c.SetServiceLoad("default", "web", 100, ""))
	e.at(time.Minute)
	pods := e.pods("app=web")
	require.Equal(t, "n1=1 n2=1", perNode(pods))
	m, err := e.c.PodMetrics("default", webSelector)
	require.NoError(t, err)
	for _, p := range pods {
		assert.Equal(t, int64(500), m[p.Name].CPUMilli(), "%s: 50 req/s × 10m, from the traffic model", p.Name)
	}

	var n2pod string
	for _, p := range pods {
		if p.Spec.NodeName == "n2" {
			n2pod = p.Name
		}
	}
	failedN2 := func() float64 { return e.metric(fmt.Sprintf(`kubesim_requests_total{pod=%q,outcome="failed"}`, n2pod)) }
	// While n2 is partitioned or crashed its pod is unreachable: 100/s
	// enter through n1 alone and half go to n2's pod. Recovered from the
	// crash, its container restarts (0.5 s).
	for _, step := range []struct {
		at      time.Duration
		fault   cluster.FaultAction
		up      bool
		running bool
		failed  float64 // requests to n2's pod failed so far
	}{
		{70 * time.Second, cluster.FaultPartitionNode, false, false, 0},
		{80 * time.Second, cluster.FaultRecoverNode, true, true, 500},                      // 10 s × 50/s
		{90*time.Second + 500*time.Millisecond, cluster.FaultCrashNode, false, false, 500}, // nothing failed while it was up
		{100 * time.Second, cluster.FaultRecoverNode, true, true, 975},                     // + 9.5 s × 50/s
	} {
		e.c.Inject(cluster.Fault{At: step.at, Action: step.fault, Node: "n2"})
		e.at(step.at)
		assert.Equal(t, step.up, e.c.NodeUp("n2"), "%v %s", step.at, step.fault)
		assert.Equal(t, step.running, e.c.Proxies().Proxy("n2").Running(), "%v %s: kube-proxy follows its node", step.at, step.fault)
		assert.Equal(t, step.failed, failedN2(), "%v %s", step.at, step.fault)
	}
	e.at(2 * time.Minute)
	assert.Equal(t, 1000.0, failedN2(), "+ 0.5 s × 50/s while the container restarted")
	for _, p := range pods {
		if p.Name != n2pod {
			assert.Zero(t, e.metric(fmt.Sprintf(`kubesim_requests_total{pod=%q,outcome="failed"}`, p.Name)), "n1's pod never failed")
		}
	}
	var proxy []string
	for _, r := range e.recs {
		if r.Component == "kube-proxy/n2" && r.Time > time.Minute && r.Verb != "sync" {
			proxy = append(proxy, fmt.Sprintf("%v %s", r.Time, r.Verb))
		}
	}
	assert.Equal(t, []string{"1m10s stop", "1m20s start", "1m21s resync", "1m30.5s stop", "1m40s start", "1m41s resync"}, proxy)
}

// A Node object with no machine behind it (created through the API, no
// kubelet) has no kube-proxy running: its proxy is not started and then
// stopped in the same instant, which read in `kubesim demo` like a crash.
func TestNodeObjectWithoutKubeletStartsNoKubeProxy(t *testing.T) {
	c := cluster.New(cluster.Config{Seed: 1})
	var proxyRecs []string
	c.Engine.AddTraceSink(func(r sim.Record) {
		if strings.HasPrefix(r.Component, "kube-proxy/") {
			proxyRecs = append(proxyRecs, r.Component+" "+r.Verb)
		}
	})
	c.Start()
	require.NoError(t, simtest.AddNodes(c, simtest.Node("bare", "4", "8Gi", nil)))
	c.Engine.RunFor(5 * time.Second)
	require.NotNil(t, c.Proxies().Proxy("bare"), "every Node has its kube-proxy")
	assert.False(t, c.Proxies().Proxy("bare").Running())
	assert.Empty(t, proxyRecs)
}
