package dns

import (
	"net/netip"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// DefaultClusterDomain is the kubelet's default --cluster-domain.
const DefaultClusterDomain = "cluster.local"

// Ndots is the ndots option of a ClusterFirst pod's resolv.conf.
const Ndots = 5

// Rcode is a DNS response code.
type Rcode string

// Response codes.
const (
	NoError  Rcode = "NOERROR"
	NXDomain Rcode = "NXDOMAIN"
)

// Answer is the result of a lookup. NOERROR without CNAME and addresses
// is a "no data" answer: the name exists but has no A record.
type Answer struct {
	// Name is the fully qualified name that answered (for no data, the
	// first name of the search that had no data; for NXDOMAIN, the last
	// one tried), without the trailing dot.
	Name  string
	Rcode Rcode
	// CNAME is set for an ExternalName Service: its externalName. A target
	// inside the cluster domain is followed (Addresses are the end of the
	// chain); one outside it is not resolved further.
	CNAME string
	// Addresses are the A records, sorted.
	Addresses []string
}

// hasData reports whether the answer holds records.
func (a Answer) hasData() bool { return a.CNAME != "" || len(a.Addresses) > 0 }

type nsName struct{ ns, name string }

// Resolver answers DNS queries from its copy of Services and EndpointSlices.
// It never modifies the objects it is given.
type Resolver struct {
	domain     string
	services   map[nsName]*v1.Service
	slices     map[nsName]*discovery.EndpointSlice
	bySvc      map[nsName][]string // slice names per service, sorted
	namespaces map[string]bool
}

// New returns a resolver for clusterDomain ("" means cluster.local).
func New(clusterDomain string) *Resolver {
	if clusterDomain == "" {
		clusterDomain = DefaultClusterDomain
	}
	return &Resolver{
		domain:     strings.ToLower(strings.TrimSuffix(clusterDomain, ".")),
		services:   map[nsName]*v1.Service{},
		slices:     map[nsName]*discovery.EndpointSlice{},
		bySvc:      map[nsName][]string{},
		namespaces: map[string]bool{},
	}
}

// OnNamespaceUpdate records an added namespace.
func (r *Resolver) OnNamespaceUpdate(name string) { r.namespaces[name] = true }

// OnNamespaceDelete forgets a namespace.
func (r *Resolver) OnNamespaceDelete(name string) { delete(r.namespaces, name) }

// OnServiceUpdate records an added or changed Service.
func (r *Resolver) OnServiceUpdate(svc *v1.Service) {
	r.services[nsName{svc.Namespace, svc.Name}] = svc
}

// OnServiceDelete forgets a Service.
func (r *Resolver) OnServiceDelete(namespace, name string) {
	delete(r.services, nsName{namespace, name})
}

// OnEndpointSliceUpdate records an added or changed EndpointSlice; it is
// attributed to the Service its kubernetes.io/service-name label names.
func (r *Resolver) OnEndpointSliceUpdate(s *discovery.EndpointSlice) {
	r.OnEndpointSliceDelete(s.Namespace, s.Name)
	k := nsName{s.Namespace, s.Name}
	r.slices[k] = s
	if svc := s.Labels[discovery.LabelServiceName]; svc != "" {
		sk := nsName{s.Namespace, svc}
		names := append(r.bySvc[sk], s.Name)
		slices.Sort(names)
		r.bySvc[sk] = names
	}
}

// OnEndpointSliceDelete forgets an EndpointSlice.
func (r *Resolver) OnEndpointSliceDelete(namespace, name string) {
	k := nsName{namespace, name}
	old, ok := r.slices[k]
	if !ok {
		return
	}
	delete(r.slices, k)
	if svc := old.Labels[discovery.LabelServiceName]; svc != "" {
		sk := nsName{namespace, svc}
		r.bySvc[sk] = slices.DeleteFunc(r.bySvc[sk], func(n string) bool { return n == name })
		if len(r.bySvc[sk]) == 0 {
			delete(r.bySvc, sk)
		}
	}
}

// SearchPath is the search list of a pod in namespace.
func (r *Resolver) SearchPath(namespace string) []string {
	return []string{namespace + ".svc." + r.domain, "svc." + r.domain, r.domain}
}

// Resolve resolves name as a pod in namespace would (glibc's res_search
// with the ClusterFirst resolv.conf): a name ending in "." is looked up as
// is; a name with fewer than ndots (5) dots is tried with each search
// domain first, then as is; otherwise as is first, then with the search
// domains. The first answer with records wins; NXDOMAIN and no data both
// go on to the next name, and a search that ends without records answers
// no data if some name had no data, else the last NXDOMAIN.
func (r *Resolver) Resolve(namespace, name string) Answer {
	name = strings.ToLower(name)
	var candidates []string
	if abs, ok := strings.CutSuffix(name, "."); ok {
		candidates = []string{abs}
	} else {
		var searched []string
		for _, d := range r.SearchPath(namespace) {
			searched = append(searched, name+"."+d)
		}
		if strings.Count(name, ".") >= Ndots {
			candidates = append([]string{name}, searched...)
		} else {
			candidates = append(searched, name)
		}
	}
	var last, noData Answer
	for _, c := range candidates {
		last = r.Lookup(c)
		if last.hasData() {
			return last
		}
		if last.Rcode == NoError && noData.Rcode == "" {
			noData = last
		}
	}
	if noData.Rcode != "" {
		return noData
	}
	return last
}

// maxCNAMEs is how many CNAMEs CoreDNS follows in one answer
// (plugin/backend_lookup.go: len(previousRecords) > 7).
const maxCNAMEs = 8

// Lookup answers one fully qualified name (trailing dot optional), without
// search domains, as CoreDNS's kubernetes plugin does (parseRequest,
// Records, findServices, findPods with "pods insecure"):
//   - the zone apex, svc.<domain>, pod.<domain> and <ns>.svc.<domain> or
//     <ns>.pod.<domain> of a known namespace: no data;
//   - <svc>.<ns>.svc: the ClusterIP; a headless Service's ready endpoint
//     addresses (NXDOMAIN without any); an ExternalName Service's CNAME;
//   - <endpoint>.<svc>.<ns>.svc: the ready endpoints of any Service but an
//     ExternalName one whose hostname (or dashed IP) is <endpoint>;
//   - _<port>._<proto>.<svc>.<ns>.svc: as <svc>.<ns>.svc, only when the
//     Service (a headless one: the endpoint's slice) has a port of that
//     name and protocol (case-insensitive, underscores optional);
//   - <a-b-c-d>.<ns>.pod: a.b.c.d when the namespace is known;
//   - anything else: NXDOMAIN.
func (r *Resolver) Lookup(fqdn string) Answer {
	return r.lookup(strings.ToLower(strings.TrimSuffix(fqdn, ".")), nil)
}

// query is a parsed name under the cluster domain (CoreDNS recordRequest).
type query struct {
	port, protocol, endpoint string
	svc                      nsName
}

// lookup answers fqdn (lower case, no trailing dot); chain holds the names
// of the CNAMEs followed to get here.
func (r *Resolver) lookup(fqdn string, chain []string) Answer {
	nx := Answer{Name: fqdn, Rcode: NXDomain}
	noData := Answer{Name: fqdn, Rcode: NoError}
	var base string
	if fqdn != r.domain {
		b, ok := strings.CutSuffix(fqdn, "."+r.domain)
		if !ok {
			return nx
		}
		base = b
	}
	if base == "" || base == "svc" || base == "pod" {
		return noData
	}
	labels := strings.Split(base, ".")
	kind := labels[len(labels)-1]
	labels = labels[:len(labels)-1]
	if kind != "svc" && kind != "pod" || len(labels) > 4 {
		return nx
	}
	ns := labels[len(labels)-1]
	if len(labels) == 1 {
		if r.namespaces[ns] {
			return noData
		}
		return nx
	}
	if kind == "pod" {
		return r.podRecord(fqdn, labels)
	}
	q := query{svc: nsName{ns, labels[len(labels)-2]}}
	switch len(labels) {
	case 3:
		q.endpoint = labels[0]
	case 4:
		q.port, q.protocol = strings.TrimPrefix(labels[0], "_"), strings.TrimPrefix(labels[1], "_")
	}
	svc, ok := r.services[q.svc]
	if !ok {
		return nx
	}
	switch {
	case svc.Spec.Type == v1.ServiceTypeExternalName:
		target := strings.ToLower(strings.TrimSuffix(svc.Spec.ExternalName, "."))
		if q.endpoint != "" || target == "" {
			return nx
		}
		if _, err := netip.ParseAddr(target); err == nil {
			return nx // not a host name: CoreDNS makes no CNAME of it
		}
		return r.follow(fqdn, target, chain)
	case svc.Spec.ClusterIP == v1.ClusterIPNone || q.endpoint != "":
		addrs := r.readyAddresses(q)
		if len(addrs) == 0 {
			// NXDOMAIN, as CoreDNS and the updated DNS spec (kubernetes/dns#245).
			return nx
		}
		return Answer{Name: fqdn, Rcode: NoError, Addresses: addrs}
	case svc.Spec.ClusterIP != "" && slices.ContainsFunc(svc.Spec.Ports, func(p v1.ServicePort) bool {
		return matchPortAndProtocol(q, p.Name, string(p.Protocol))
	}):
		return Answer{Name: fqdn, Rcode: NoError, Addresses: []string{svc.Spec.ClusterIP}}
	}
	return nx
}

// follow answers fqdn, an ExternalName Service's name, with a CNAME to
// target. A target outside the cluster domain is left to the client (kubesim
// forwards nothing). One inside it is looked up, as CoreDNS completes
// CNAMEs in its own zone (plugin/backend_lookup.go A): the CNAME and the
// target's addresses, or no data at all when the target has none, the
// chain is too long or loops.
func (r *Resolver) follow(fqdn, target string, chain []string) Answer {
	noData := Answer{Name: fqdn, Rcode: NoError}
	if target != r.domain && !strings.HasSuffix(target, "."+r.domain) {
		return Answer{Name: fqdn, Rcode: NoError, CNAME: target}
	}
	if target == fqdn || len(chain) >= maxCNAMEs-1 || slices.Contains(chain, target) {
		return noData
	}
	next := r.lookup(target, append(chain, fqdn))
	if len(next.Addresses) == 0 {
		return noData
	}
	return Answer{Name: fqdn, Rcode: NoError, CNAME: target, Addresses: next.Addresses}
}

// podRecord answers <dashed-ip>.<ns>.pod as CoreDNS's "pods insecure"
// mode (the kubeadm default) does: the address the label spells, when the
// namespace exists, whether or not a pod has it.
func (r *Resolver) podRecord(fqdn string, labels []string) Answer {
	nx := Answer{Name: fqdn, Rcode: NXDomain}
	if len(labels) != 2 || !r.namespaces[labels[1]] {
		return nx
	}
	name := labels[0]
	var ip string
	if strings.Count(name, "-") == 3 && !strings.Contains(name, "--") {
		ip = strings.ReplaceAll(name, "-", ".")
	} else {
		ip = strings.ReplaceAll(name, "-", ":")
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil || !addr.Is4() {
		return nx // IPv4 only
	}
	return Answer{Name: fqdn, Rcode: NoError, Addresses: []string{addr.String()}}
}

// matchPortAndProtocol is CoreDNS's: the query's port and protocol, when
// given, equal the port's (case-insensitive).
func matchPortAndProtocol(q query, port, protocol string) bool {
	return (q.port == "" || strings.EqualFold(q.port, port)) && (q.protocol == "" || strings.EqualFold(q.protocol, protocol))
}

// readyAddresses collects the ready endpoint addresses of the query's
// service, deduplicated and sorted: only those whose endpointHostname is
// q.endpoint when it is set, and only from slices with a port matching
// q.port and q.protocol when they are set (a slice without ports has one
// unnamed port with no protocol, CoreDNS's sentinel).
func (r *Resolver) readyAddresses(q query) []string {
	var out []netip.Addr
	for _, name := range r.bySvc[q.svc] {
		s := r.slices[nsName{q.svc.ns, name}]
		if s.AddressType != discovery.AddressTypeIPv4 && s.AddressType != discovery.AddressTypeIPv6 {
			continue
		}
		if !sliceHasPort(s, q) {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				if q.endpoint != "" && endpointHostname(ep, a) != q.endpoint {
					continue
				}
				if addr, err := netip.ParseAddr(a); err == nil && !slices.Contains(out, addr) {
					out = append(out, addr)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	strs := make([]string, len(out))
	for i, a := range out {
		strs[i] = a.String()
	}
	return strs
}

// sliceHasPort reports whether a slice has a port matching the query's.
func sliceHasPort(s *discovery.EndpointSlice, q query) bool {
	if len(s.Ports) == 0 {
		return matchPortAndProtocol(q, "", "")
	}
	for _, p := range s.Ports {
		name, proto := "", ""
		if p.Name != nil {
			name = *p.Name
		}
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		if matchPortAndProtocol(q, name, proto) {
			return true
		}
	}
	return false
}

// endpointHostname is the name of an endpoint address under its Service,
// as CoreDNS's kubernetes plugin derives it (endpointHostname): the
// endpoint's hostname, else the address with dashes for dots (or colons):
// the DNS specification's "system-assigned identifier".
func endpointHostname(ep discovery.Endpoint, address string) string {
	if ep.Hostname != nil && *ep.Hostname != "" {
		return strings.ToLower(*ep.Hostname)
	}
	if strings.Contains(address, ".") {
		return strings.ReplaceAll(address, ".", "-")
	}
	return strings.ToLower(strings.ReplaceAll(address, ":", "-"))
}
