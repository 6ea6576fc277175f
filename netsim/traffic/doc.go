// Package traffic owns kubesim's service traffic: steady request loads sent
// to Services, routed by the entry node's kube-proxy (package proxy) to an
// endpoint, and accounted as served or failed, with a latency model and
// Prometheus metrics.
//
// # Usage
//
//	tr := traffic.New(eng, proxies, world, reg, traffic.Config{})
//	tr.SetLoad("web", "default", 200, "")        // 200 rps from clients in the cluster
//	tr.SetLoad("web", "default", 50, "node-2")   // from one node
//	tr.SetLoad("web", "default", 1000, "external") // through the NodePort, as a load balancer
//	// whenever a World answer may have changed (pod started/stopped serving,
//	// node down/up/partitioned), right after the change:
//	tr.WorldChanged()
//	rps := tr.RPS("default", "web-7d4b9-abcde")  // load model input (HPA CPU)
//	tr.Flush(); reg.Sum(`kubesim_requests_total{service="web",outcome="failed"}`)
//
// Traffic registers itself as a proxy.Listener, so kube-proxy view changes
// need no call from the wiring.
//
// # Traffic model
//
// A load is a constant rate to one service port. Arrivals are
// deterministic: the k-th request after SetLoad arrives at
// ceil(k·10¹²/milliRPS) ns (rates have a resolution of 0.001 rps), so the
// number of requests by any instant is an exact integer. A new rate for a
// load keeps the progress toward its next request, so a ramp's 1 s steps
// do not each restart the wait (at 0.5 rps, a step every second would
// otherwise send nothing). Entry nodes: with from="" requests are spread
// evenly (round-robin, carried across intervals) over the nodes World
// reports up whose kube-proxy has synced once (a node that has just
// joined runs no clients yet); with a node name
// they all enter there (and fail with "entry node down" when it is not
// up); with "external" they enter through the service's NodePort on every
// such node —
// for a LoadBalancer service with externalTrafficPolicy Local only on nodes
// whose kube-proxy health check passes (it has a local ready endpoint;
// draining, serving-terminating ones do not count), as a
// cloud load balancer does. The entry node's kube-proxy picks the endpoint
// (round-robin or random; session affinity with a fixed population of
// Config.ClientsPerNode client IPs per entry node taking turns, shared by
// the loads from inside the cluster; external clients are separate). A request
// fails when the route has no endpoint (pod="" and node=<entry node> in
// the metrics), when the endpoint's node is not up, or when its pod is not
// serving; otherwise it is served.
//
// Two regimes give the same results. Loads at or below
// Config.TraceBelowRPS (20) are traced: each request is its own engine
// event, a trace record ("#4 from node-1 via node-1 -> pod web-a
// (10.244.1.2:8080) on node-1: served in 5.6ms") and an OnRequest callback.
// Faster loads are accounted in aggregate: at every kube-proxy change,
// every WorldChanged call, every SetLoad and every accounting tick
// (Config.AccountingPeriod, 1 s) the requests since the last accounting
// point are routed as one batch — round-robin counts are exactly those
// one-by-one routing gives (positions carried across batches), random mode
// draws the multinomial of the iptables chain, affine clients are pinned in
// the order of their first request. An hour at 10,000 rps is 3,600 engine
// events and exactly 36,000,000 requests. Both regimes share one code path
// (a traced request is a batch of one), so for the same sequence of
// changes round-robin results are identical, with one exception: with
// session affinity, when several loads of one Service enter through the
// same node and several clients need new pins in one accounting interval
// (their endpoint went away), the traced regime pins them in arrival
// order, the aggregate regime load by load, so the round-robin turns can
// fall to different clients and per-pod counts (and failures, if those
// pods fail later) can differ slightly; the number of requests always
// agrees.
//
// World answers are read at each replan (the accounting points above) and
// held until the next one, so a change the wiring reports right after it
// happened is accounted with the old answers up to that instant; an
// unreported change is noticed at the next tick.
//
// # Latency model
//
// latency = hop + sojourn. hop is 0.1 ms when the endpoint is on the entry
// node, 0.5 ms otherwise, plus 1 ms for external requests. sojourn is
// M/M/1-like: ServiceTime / (1 − ρ) with ρ = λ·ServiceTime/Workers, λ the
// rate offered to the pod under the current routing, ρ capped at 0.95
// (defaults: ServiceTime 5 ms, Workers 8, so a pod saturates at 1,600 rps
// and latency is at most 100 ms + hop). A World that implements
// ServiceTimes overrides ServiceTime and Workers per pod. The histogram
// kubesim_request_duration_seconds{namespace,service} receives served
// requests distributed as hop + Exp(sojourn) in expectation (exact counts,
// fractional bucket shares carried over); a traced request reports the
// mean latency.
//
// # Metrics
//
//   - kubesim_requests_total{namespace,service,pod,node,outcome}: outcome
//     "served" or "failed"; pod and node name the endpoint the request was
//     routed to; for failures before an endpoint was chosen pod="" and
//     node is the entry node ("" when there was none).
//   - kubesim_request_duration_seconds{namespace,service}: histogram of
//     served requests, Prometheus default buckets.
//   - kubesim_endpoints{namespace,service,ready}: registered by package
//     proxy.
//
// RPS(namespace, pod) is the rate the pod currently serves under the
// planned routing (expected value: uniform over the usable endpoints, or by
// the clients' pins with session affinity); KeyedLoad adapts it to
// RPS("namespace/name").
//
// Simplifications: arrivals are evenly spaced (no Poisson noise); every
// request is a new connection; overload raises latency but never fails a
// request (no timeouts or queue limits); in the aggregate regime session
// affinity expiry is resolved at accounting points; all traffic events are
// engine background events (a steady load does not keep RunUntilIdle
// busy).
package traffic
