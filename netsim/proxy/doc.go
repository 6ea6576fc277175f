// Package proxy owns kubesim's kube-proxies: one per node, each with its own
// copy of Services and EndpointSlices, and the load-balancing rules of §7.2
// and §7.3.
//
// The wiring reports what the API server's informers see, and node
// lifecycle:
//
//	pc := proxy.NewCluster(eng, proxy.DefaultConfig(), reg)
//	pc.AddNode("node-1")                    // Node created
//	pc.OnServiceUpdate(svc)                 // Service add/update event
//	pc.OnServiceDelete(ns, name)
//	pc.OnEndpointSliceUpdate(slice)         // EndpointSlice add/update event
//	pc.OnEndpointSliceDelete(ns, name)
//	pc.Stop("node-1"); pc.Start("node-1")   // node (or kube-proxy) crash and recovery
//	pc.RemoveNode("node-1")                 // Node deleted
//
// Staleness model: every change reported at time t is applied by every
// running, synced kube-proxy at exactly t + PropagationDelay (default 1 s,
// kube-proxy's minSyncPeriod, standing for watch latency plus the
// rate-limited rule sync), in report order, in one engine event for all
// nodes. A stopped kube-proxy applies nothing; its rules stay and keep
// routing with the old view. Start (and AddNode) schedules a full resync at
// now + PropagationDelay that installs the API state as of the Start call;
// changes reported after it follow with their own delay. A Listener is told
// before and after every view change, so the traffic model can account
// requests up to that instant with the old view.
//
// Endpoint selection (pkg/proxy/topology.go without topology hints): the
// ready endpoints; if there are none, the serving-and-terminating ones; if
// still none, the route fails (REJECT: "no endpoints"). With
// internalTrafficPolicy Local (ClusterIP traffic) or externalTrafficPolicy
// Local (NodePort traffic) only endpoints on the proxy's node count, with
// the same fallback; when other nodes have endpoints the traffic is dropped
// ("no local endpoints"). HealthCheck answers a load balancer's probe of
// a Service with externalTrafficPolicy Local: pass when the node has a
// local ready endpoint (serving-terminating ones do not count, so a node
// whose endpoints drain is taken out of the load balancer while it still
// routes what reaches it). A service port takes its endpoints from the
// slice ports of the same name and protocol (a slice port without protocol
// is TCP, the API default; one numbered 0 is skipped, as kube-proxy's
// endpointInfoByServicePort does). Endpoints are ordered by "ip:port" as
// kube-proxy's endpoint cache orders them. A Service or EndpointSlice labelled
// service.kubernetes.io/service-proxy-name belongs to another proxy and is
// ignored ("no such service").
//
// Modes: roundRobin (IPVS rr, kubesim's default): per service port and
// entry (ClusterIP or NodePort), new connections take the next endpoint
// after the one used last, in order; Distribute(n) gives exactly the counts
// n single picks would. random (iptables): rule i of n matches with
// probability 1/(n−i), drawn from the engine stream "kube-proxy/<node>";
// Distribute(n) draws the matching multinomial as a chain of binomials.
// sessionAffinity ClientIP pins a client IP to its endpoint for
// timeoutSeconds (default 10800) since its last connection, refreshed on
// every connection; a pin to an endpoint that is no longer usable is
// dropped.
//
// Simplifications: IPv4 only; no topology hints or trafficDistribution; no
// conntrack (every request is a new connection); headless services are
// modelled as clients spreading requests round-robin over the ready pod
// IPs DNS returns; a restarted kube-proxy starts with fresh round-robin and
// affinity state; one propagation delay for every node.
package proxy
