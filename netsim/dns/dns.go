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

// Answer is the result of a lookup.
type Answer struct {
	// Name is the fully qualified name that answered (or, for NXDOMAIN,
	// the last one tried), without the trailing dot.
	Name  string
	Rcode Rcode
	// CNAME is set for an ExternalName Service; the target is not
	// resolved further.
	CNAME string
	// Addresses are the A records, sorted.
	Addresses []string
}

type nsName struct{ ns, name string }

// Resolver answers DNS queries from its copy of Services and EndpointSlices.
// It never modifies the objects it is given.
type Resolver struct {
	domain   string
	services map[nsName]*v1.Service
	slices   map[nsName]*discovery.EndpointSlice
	bySvc    map[nsName][]string // slice names per service, sorted
}

// New returns a resolver for clusterDomain ("" means cluster.local).
func New(clusterDomain string) *Resolver {
	if clusterDomain == "" {
		clusterDomain = DefaultClusterDomain
	}
	return &Resolver{
		domain:   strings.ToLower(strings.TrimSuffix(clusterDomain, ".")),
		services: map[nsName]*v1.Service{},
		slices:   map[nsName]*discovery.EndpointSlice{},
		bySvc:    map[nsName][]string{},
	}
}

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

// Resolve resolves name as a pod in namespace would: a name ending in "."
// is looked up as is; a name with fewer than ndots (5) dots is tried with
// each search domain first, then as is; otherwise as is first, then with
// the search domains. The first answer that is not NXDOMAIN wins.
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
	var last Answer
	for _, c := range candidates {
		last = r.Lookup(c)
		if last.Rcode != NXDomain {
			return last
		}
	}
	return last
}

// Lookup answers one fully qualified name (trailing dot optional), without
// search domains.
func (r *Resolver) Lookup(fqdn string) Answer {
	fqdn = strings.ToLower(strings.TrimSuffix(fqdn, "."))
	nx := Answer{Name: fqdn, Rcode: NXDomain}
	rest, ok := strings.CutSuffix(fqdn, ".svc."+r.domain)
	if !ok {
		return nx
	}
	labels := strings.Split(rest, ".")
	switch len(labels) {
	case 2:
		return r.serviceRecord(fqdn, nsName{labels[1], labels[0]})
	case 3:
		return r.hostnameRecord(fqdn, labels[0], nsName{labels[2], labels[1]})
	}
	return nx
}

func (r *Resolver) serviceRecord(fqdn string, k nsName) Answer {
	nx := Answer{Name: fqdn, Rcode: NXDomain}
	svc, ok := r.services[k]
	if !ok {
		return nx
	}
	switch {
	case svc.Spec.Type == v1.ServiceTypeExternalName:
		return Answer{Name: fqdn, Rcode: NoError, CNAME: strings.TrimSuffix(svc.Spec.ExternalName, ".")}
	case svc.Spec.ClusterIP == v1.ClusterIPNone:
		addrs := r.readyAddresses(k, "")
		if len(addrs) == 0 {
			// NXDOMAIN, as CoreDNS and the updated DNS spec (kubernetes/dns#245).
			return nx
		}
		return Answer{Name: fqdn, Rcode: NoError, Addresses: addrs}
	case svc.Spec.ClusterIP != "":
		return Answer{Name: fqdn, Rcode: NoError, Addresses: []string{svc.Spec.ClusterIP}}
	}
	return nx
}

func (r *Resolver) hostnameRecord(fqdn, hostname string, k nsName) Answer {
	svc, ok := r.services[k]
	if !ok || svc.Spec.ClusterIP != v1.ClusterIPNone {
		return Answer{Name: fqdn, Rcode: NXDomain}
	}
	addrs := r.readyAddresses(k, hostname)
	if len(addrs) == 0 {
		return Answer{Name: fqdn, Rcode: NXDomain}
	}
	return Answer{Name: fqdn, Rcode: NoError, Addresses: addrs}
}

// readyAddresses collects the ready endpoint addresses of a service's
// slices (only those whose endpointHostname is hostname, when not ""),
// deduplicated and sorted.
func (r *Resolver) readyAddresses(k nsName, hostname string) []string {
	var out []netip.Addr
	for _, name := range r.bySvc[k] {
		s := r.slices[nsName{k.ns, name}]
		if s.AddressType != discovery.AddressTypeIPv4 && s.AddressType != discovery.AddressTypeIPv6 {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				if hostname != "" && endpointHostname(ep, a) != hostname {
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
