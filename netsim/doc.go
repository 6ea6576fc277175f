// Package netsim is the root of kubesim's data plane; the code lives in
// its subpackages, each an engine-driven state machine or pure function
// with explicit inputs:
//
//   - alloc: Service ClusterIP and NodePort allocation, called by the API
//     server inside Service writes (Admit / Begin).
//   - endpointslice: the EndpointSlice controller's reconcile logic (pure).
//   - dns: cluster DNS records and pod search-path resolution.
//   - proxy: one kube-proxy per node with its own, possibly stale, view of
//     Services and EndpointSlices; round-robin or random balancing,
//     session affinity, traffic policies.
//   - traffic: request loads routed through the kube-proxies, exact
//     per-request or aggregate accounting, latency, request metrics and the
//     per-pod request rates the HPA load model reads.
//
// Metrics go to a sim/promstats Registry. The wiring (sim/cluster's
// network.go, which also runs controllers/endpointslice around package
// endpointslice) connects informer event handlers to the inputs:
//
//	Namespace add/delete          -> dns.OnNamespaceUpdate/Delete
//	Service add/update/delete     -> proxies.OnServiceUpdate/Delete, dns.OnServiceUpdate/Delete
//	EndpointSlice add/update/del  -> proxies.OnEndpointSliceUpdate/Delete, dns.OnEndpointSliceUpdate/Delete
//	Node added/deleted            -> proxies.AddNode/RemoveNode
//	node crash/recovery           -> proxies.Stop/Start, then traffic.WorldChanged()
//	                                 (Cluster.NetworkNodeChanged, called by the kubelet model)
//	pod starts/stops serving      -> traffic.WorldChanged() (Cluster.NetworkPodChanged)
//	Service create/update/delete  -> alloc.Admit inside the API server
package netsim
