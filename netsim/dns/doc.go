// Package dns owns kubesim's cluster DNS: the records CoreDNS's kubernetes
// plugin serves for Services, and the search-path resolution a pod's
// resolv.conf gives (search <ns>.svc.<domain> svc.<domain> <domain>,
// options ndots:5).
//
// Records (the Kubernetes DNS specification, as CoreDNS's kubernetes
// plugin with kubeadm's "pods insecure" serves it):
//   - <svc>.<ns>.svc.<domain>: the ClusterIP for a normal Service; the ready
//     endpoint addresses (sorted) for a headless one, NXDOMAIN when it has
//     none; a CNAME to spec.externalName for an ExternalName Service (an
//     IP address there is no host name: NXDOMAIN), followed when the target
//     is inside the cluster domain (the CNAME and the target's addresses,
//     or no data when the target has none).
//   - <hostname>.<svc>.<ns>.svc.<domain>: a ready endpoint of any Service
//     but an ExternalName one; <hostname> is the endpoint's hostname (its
//     pod sets spec.hostname and spec.subdomain=<svc>), else its dashed IP
//     (10-244-1-2), as CoreDNS names it.
//   - _<port>._<proto>.<svc>.<ns>.svc.<domain>: as <svc>, when the Service
//     (for a headless one, the endpoint's slice) has that port name and
//     protocol. Only the A answer: SRV records are not modelled.
//   - <a-b-c-d>.<ns>.pod.<domain>: a.b.c.d, when the namespace exists.
//   - the apex, svc.<domain>, pod.<domain>, <ns>.svc.<domain> and
//     <ns>.pod.<domain> of an existing namespace: no data (NOERROR, no
//     records).
//   - anything else: NXDOMAIN.
//
// Resolve searches as glibc does: NXDOMAIN and no data both go on to the
// next candidate; a search without records ends with no data if any
// candidate had none, else NXDOMAIN.
//
// The wiring feeds it Namespaces, Services and EndpointSlices from informers:
//
//	r := dns.New("")
//	r.OnNamespaceUpdate(ns); r.OnNamespaceDelete(ns)
//	r.OnServiceUpdate(svc); r.OnServiceDelete(ns, name)
//	r.OnEndpointSliceUpdate(slice); r.OnEndpointSliceDelete(ns, name)
//	ans := r.Resolve("default", "web")        // from a pod in "default"
//	ans := r.Resolve("default", "db.shop")    // another namespace
//
// Simplifications: A records only (no AAAA, SRV or PTR answers); records
// change as soon as the wiring reports the change (no CoreDNS watch delay,
// no TTL caching in clients); names outside the cluster domain are not
// forwarded anywhere (NXDOMAIN; an ExternalName CNAME to such a name is
// returned unresolved); every pod resolves as a dnsPolicy ClusterFirst pod
// with the default resolv.conf (no dnsConfig, no node search domains); a
// Service's name answers without checking that its namespace still exists.
package dns
