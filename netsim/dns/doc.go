// Package dns owns kubesim's cluster DNS: the records CoreDNS's kubernetes
// plugin serves for Services, and the search-path resolution a pod's
// resolv.conf gives (search <ns>.svc.<domain> svc.<domain> <domain>,
// options ndots:5).
//
// Records (the Kubernetes DNS specification):
//   - <svc>.<ns>.svc.<domain>: the ClusterIP for a normal Service; the ready
//     endpoint addresses (sorted) for a headless one, NXDOMAIN when it has
//     none; a CNAME to spec.externalName for an ExternalName Service.
//   - <hostname>.<svc>.<ns>.svc.<domain>: a ready endpoint of a headless
//     Service; <hostname> is the endpoint's hostname (its pod sets
//     spec.hostname and spec.subdomain=<svc>), else its dashed IP
//     (10-244-1-2), as CoreDNS names it.
//   - anything else: NXDOMAIN.
//
// The wiring feeds it Services and EndpointSlices from informers:
//
//	r := dns.New("")
//	r.OnServiceUpdate(svc); r.OnServiceDelete(ns, name)
//	r.OnEndpointSliceUpdate(slice); r.OnEndpointSliceDelete(ns, name)
//	ans := r.Resolve("default", "web")        // from a pod in "default"
//	ans := r.Resolve("default", "db.shop")    // another namespace
//
// Simplifications: records change as soon as the wiring reports the change
// (no CoreDNS watch delay, no TTL caching in clients); names outside the
// cluster domain are not forwarded anywhere (NXDOMAIN); pod A records
// (a-b-c-d.<ns>.pod) and SRV records are not served.
package dns
