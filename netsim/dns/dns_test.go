package dns

import (
	"testing"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// svc is a Service with one unnamed TCP port (a Service with a ClusterIP
// must have a port).
func svc(ns, name, clusterIP string) *v1.Service {
	return &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.ServiceSpec{ClusterIP: clusterIP, Ports: []v1.ServicePort{{Protocol: v1.ProtocolTCP, Port: 80}}}}
}

func slice(ns, name, service string, eps ...discovery.Endpoint) *discovery.EndpointSlice {
	return &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discovery.LabelServiceName: service}},
		AddressType: discovery.AddressTypeIPv4,
		Endpoints:   eps,
	}
}

func ep(ip string, ready bool) discovery.Endpoint {
	return discovery.Endpoint{Addresses: []string{ip}, Conditions: discovery.EndpointConditions{Ready: ptr.To(ready)}}
}

func fixture() *Resolver {
	r := New("")
	r.OnServiceUpdate(svc("default", "web", "10.96.12.34"))
	r.OnServiceUpdate(svc("shop", "db", "10.96.99.1"))
	r.OnServiceUpdate(svc("default", "db", "10.96.55.5"))
	r.OnServiceUpdate(svc("default", "peers", v1.ClusterIPNone))
	r.OnEndpointSliceUpdate(slice("default", "peers-aaaaa", "peers", ep("10.244.2.10", true), ep("10.244.1.9", true), ep("10.244.3.3", false)))
	r.OnEndpointSliceUpdate(slice("default", "peers-bbbbb", "peers", ep("10.244.1.10", true), ep("10.244.1.9", true)))
	ext := svc("default", "payments", "")
	ext.Spec.Type = v1.ServiceTypeExternalName
	ext.Spec.ExternalName = "api.payments.example.com."
	r.OnServiceUpdate(ext)
	return r
}

func TestNormalServiceShortAndLongForms(t *testing.T) {
	r := fixture()
	for _, q := range []string{"web", "web.default", "web.default.svc", "web.default.svc.cluster.local", "web.default.svc.cluster.local.", "WEB.Default"} {
		a := r.Resolve("default", q)
		assert.Equal(t, NoError, a.Rcode, q)
		assert.Equal(t, []string{"10.96.12.34"}, a.Addresses, q)
		assert.Equal(t, "web.default.svc.cluster.local", a.Name, q)
	}
}

func TestOtherNamespace(t *testing.T) {
	r := fixture()
	assert.Equal(t, []string{"10.96.99.1"}, r.Resolve("default", "db.shop").Addresses)
	assert.Equal(t, []string{"10.96.55.5"}, r.Resolve("default", "db").Addresses, "short name is the pod's own namespace")
	assert.Equal(t, []string{"10.96.99.1"}, r.Resolve("shop", "db").Addresses)
	a := r.Resolve("shop", "web")
	assert.Equal(t, NXDomain, a.Rcode, "web lives in default, not shop")
	assert.Equal(t, []string{"10.96.12.34"}, r.Resolve("shop", "web.default.svc.cluster.local").Addresses)
}

func TestHeadlessReturnsReadyPodIPsSorted(t *testing.T) {
	r := fixture()
	a := r.Resolve("default", "peers")
	assert.Equal(t, NoError, a.Rcode)
	assert.Equal(t, []string{"10.244.1.9", "10.244.1.10", "10.244.2.10"}, a.Addresses, "numeric order, deduplicated, not-ready left out")

	r.OnEndpointSliceDelete("default", "peers-bbbbb")
	assert.Equal(t, []string{"10.244.1.9", "10.244.2.10"}, r.Resolve("default", "peers").Addresses)
	r.OnEndpointSliceUpdate(slice("default", "peers-aaaaa", "peers", ep("10.244.3.3", false)))
	assert.Equal(t, NXDomain, r.Resolve("default", "peers").Rcode, "headless without ready endpoints")
}

func TestHeadlessHostnameRecord(t *testing.T) {
	r := fixture()
	e := ep("10.244.4.4", true)
	e.Hostname = ptr.To("peers-0")
	r.OnEndpointSliceUpdate(slice("default", "peers-ccccc", "peers", e))
	assert.Equal(t, []string{"10.244.4.4"}, r.Resolve("default", "peers-0.peers").Addresses)
	assert.Equal(t, NXDomain, r.Resolve("default", "peers-1.peers").Rcode)
	assert.Equal(t, NXDomain, r.Resolve("default", "x.web").Rcode, "no endpoint of web is named x")
}

func TestExternalNameIsCNAME(t *testing.T) {
	a := fixture().Resolve("default", "payments")
	assert.Equal(t, NoError, a.Rcode)
	assert.Equal(t, "api.payments.example.com", a.CNAME)
	assert.Empty(t, a.Addresses)
}

func TestNXDomain(t *testing.T) {
	r := fixture()
	for _, q := range []string{"nope", "example.com", "web.default.svc.other.local.", "a.b.c.d.e.f"} {
		assert.Equal(t, NXDomain, r.Resolve("default", q).Rcode, q)
	}
	r.OnServiceDelete("default", "web")
	assert.Equal(t, NXDomain, r.Resolve("default", "web").Rcode)
}

func TestSearchPathAndCustomDomain(t *testing.T) {
	r := New("corp.internal.")
	assert.Equal(t, []string{"team.svc.corp.internal", "svc.corp.internal", "corp.internal"}, r.SearchPath("team"))
	r.OnServiceUpdate(svc("team", "api", "10.96.0.7"))
	assert.Equal(t, []string{"10.96.0.7"}, r.Resolve("team", "api").Addresses)
	assert.Equal(t, NXDomain, r.Resolve("team", "api.team.svc.cluster.local").Rcode)
}

// TestHeadlessEndpointWithoutHostnameHasDashedIPRecord: the DNS
// specification gives every ready endpoint of a headless Service a
// <hostname>.<svc>.<ns>.svc record, the hostname being a system-assigned
// identifier when the endpoint has none; CoreDNS's kubernetes plugin uses
// the dashed IP (plugin/kubernetes endpointHostname: 10-244-2-10).
func TestHeadlessEndpointWithoutHostnameHasDashedIPRecord(t *testing.T) {
	r := fixture()
	a := r.Resolve("default", "10-244-2-10.peers")
	assert.Equal(t, NoError, a.Rcode)
	assert.Equal(t, []string{"10.244.2.10"}, a.Addresses)
	assert.Equal(t, "10-244-2-10.peers.default.svc.cluster.local", a.Name)
	assert.Equal(t, NXDomain, r.Resolve("default", "10-244-3-3.peers").Rcode, "not ready")

	e := ep("10.244.4.4", true)
	e.Hostname = ptr.To("peers-0")
	r.OnEndpointSliceUpdate(slice("default", "peers-ccccc", "peers", e))
	assert.Equal(t, NXDomain, r.Resolve("default", "10-244-4-4.peers").Rcode, "an endpoint with a hostname is known by it only")
}

func withPorts(s *v1.Service, ports ...v1.ServicePort) *v1.Service {
	s.Spec.Ports = ports
	return s
}

func slicePort(name string, proto v1.Protocol, port int32) discovery.EndpointPort {
	return discovery.EndpointPort{Name: ptr.To(name), Protocol: ptr.To(proto), Port: ptr.To(port)}
}

// TestEndpointRecordOfClusterIPService: CoreDNS answers
// <endpoint>.<svc>.<ns>.svc for every Service with endpoints, not only
// headless ones (plugin/kubernetes findServices: "Endpoint query or
// headless service").
func TestEndpointRecordOfClusterIPService(t *testing.T) {
	r := fixture()
	e := ep("10.244.7.7", true)
	e.Hostname = ptr.To("web-0")
	r.OnEndpointSliceUpdate(slice("default", "web-aaaaa", "web", ep("10.244.1.5", true), e, ep("10.244.1.6", false)))
	a := r.Resolve("default", "10-244-1-5.web")
	assert.Equal(t, Answer{Name: "10-244-1-5.web.default.svc.cluster.local", Rcode: NoError, Addresses: []string{"10.244.1.5"}}, a)
	assert.Equal(t, []string{"10.244.7.7"}, r.Resolve("default", "web-0.web").Addresses)
	assert.Equal(t, NXDomain, r.Resolve("default", "10-244-1-6.web").Rcode, "not ready")
	assert.Equal(t, []string{"10.96.12.34"}, r.Resolve("default", "web").Addresses, "the service name is still its ClusterIP")
	assert.Equal(t, NXDomain, r.Resolve("default", "x.payments").Rcode, "an ExternalName service has no endpoint names")
}

// TestPortAndProtocolNames: the SRV-shaped names _<port>._<proto>.<svc>
// also answer A queries, with the ClusterIP when the service has that
// port, or a headless service's ready endpoints whose slice has it
// (CoreDNS parseRequest case 1 and matchPortAndProtocol).
func TestPortAndProtocolNames(t *testing.T) {
	r := fixture()
	r.OnServiceUpdate(withPorts(svc("default", "web", "10.96.12.34"),
		v1.ServicePort{Name: "http", Protocol: v1.ProtocolTCP, Port: 80}, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53}))
	for _, q := range []string{"_http._tcp.web", "_http._tcp.web.default.svc.cluster.local.", "_dns._udp.web", "_HTTP._TCP.web", "http.tcp.web"} {
		assert.Equal(t, []string{"10.96.12.34"}, r.Resolve("default", q).Addresses, q)
	}
	for _, q := range []string{"_http._udp.web", "_https._tcp.web", "_a._b.nope"} {
		assert.Equal(t, NXDomain, r.Resolve("default", q).Rcode, q)
	}

	s := slice("default", "peers-ccccc", "peers", ep("10.244.5.5", true))
	s.Ports = []discovery.EndpointPort{slicePort("peer", v1.ProtocolTCP, 7000)}
	r.OnEndpointSliceUpdate(s)
	assert.Equal(t, []string{"10.244.5.5"}, r.Resolve("default", "_peer._tcp.peers").Addresses, "only the slice with that port")
	assert.Equal(t, NXDomain, r.Resolve("default", "_gossip._tcp.peers").Rcode)
}

// TestExternalNameInClusterTargetIsFollowed: CoreDNS completes a CNAME
// whose target is in its own zone (plugin/backend_lookup.go A): the
// answer holds the CNAME and the target's addresses, or nothing at all
// (NOERROR, no data) when the target does not resolve; a chain is
// followed, a loop answers nothing.
func TestExternalNameInClusterTargetIsFollowed(t *testing.T) {
	r := fixture()
	ext := func(name, target string) {
		s := svc("default", name, "")
		s.Spec.Type = v1.ServiceTypeExternalName
		s.Spec.ExternalName = target
		r.OnServiceUpdate(s)
	}
	ext("alias", "db.shop.svc.cluster.local.")
	ext("alias2", "alias.default.svc.cluster.local")
	ext("dangling", "gone.shop.svc.cluster.local")
	ext("loop-a", "loop-b.default.svc.cluster.local")
	ext("loop-b", "loop-a.default.svc.cluster.local")

	assert.Equal(t, Answer{Name: "alias.default.svc.cluster.local", Rcode: NoError, CNAME: "db.shop.svc.cluster.local", Addresses: []string{"10.96.99.1"}},
		r.Resolve("default", "alias"))
	assert.Equal(t, Answer{Name: "alias2.default.svc.cluster.local", Rcode: NoError, CNAME: "alias.default.svc.cluster.local", Addresses: []string{"10.96.99.1"}},
		r.Resolve("default", "alias2"), "a chain ends at the addresses")
	assert.Equal(t, Answer{Name: "dangling.default.svc.cluster.local", Rcode: NoError}, r.Resolve("default", "dangling"),
		"an in-cluster target that does not resolve: no data, and the search goes on without finding more")
	assert.Equal(t, Answer{Name: "loop-a.default.svc.cluster.local", Rcode: NoError}, r.Resolve("default", "loop-a"))
	assert.Equal(t, "api.payments.example.com", r.Resolve("default", "payments").CNAME, "an outside target is left to the client")
}

// TestExternalNameIPIsNotACNAME: an externalName that is an IP address
// is not a host name; CoreDNS answers nothing for it (findServices keeps
// only HostType CNAME).
func TestExternalNameIPIsNotACNAME(t *testing.T) {
	r := fixture()
	s := svc("default", "legacy", "")
	s.Spec.Type = v1.ServiceTypeExternalName
	s.Spec.ExternalName = "192.0.2.10"
	r.OnServiceUpdate(s)
	assert.Equal(t, NXDomain, r.Resolve("default", "legacy").Rcode)
}

// TestNamespaceAndApexNamesHaveNoData: CoreDNS answers NOERROR without
// records for the zone apex, svc.<zone>, pod.<zone> and <ns>.svc.<zone>
// of an existing namespace (parseRequest, findServices "NODATA"); an
// unknown namespace is NXDOMAIN. A search that meets no data goes on, and
// ends with no data rather than NXDOMAIN (glibc res_search got_nodata).
func TestNamespaceAndApexNamesHaveNoData(t *testing.T) {
	r := fixture()
	r.OnNamespaceUpdate("shop")
	for _, q := range []string{"cluster.local.", "svc.cluster.local.", "pod.cluster.local.", "shop.svc.cluster.local."} {
		assert.Equal(t, Answer{Name: q[:len(q)-1], Rcode: NoError}, r.Resolve("default", q), q)
	}
	assert.Equal(t, NXDomain, r.Resolve("default", "nowhere.svc.cluster.local.").Rcode)
	assert.Equal(t, Answer{Name: "shop.svc.cluster.local", Rcode: NoError}, r.Resolve("default", "shop"),
		"shop.default.svc: NXDOMAIN, shop.svc: no data, shop.cluster.local and shop: NXDOMAIN")
	r.OnNamespaceDelete("shop")
	assert.Equal(t, NXDomain, r.Resolve("default", "shop").Rcode)
}

// TestPodRecordsInsecure: kubeadm's Corefile has "pods insecure": a
// dashed IP under <ns>.pod.<zone> answers that IP when the namespace
// exists, without checking that such a pod exists (findPods).
func TestPodRecordsInsecure(t *testing.T) {
	r := fixture()
	r.OnNamespaceUpdate("default")
	assert.Equal(t, Answer{Name: "10-244-1-2.default.pod.cluster.local", Rcode: NoError, Addresses: []string{"10.244.1.2"}},
		r.Resolve("default", "10-244-1-2.default.pod"))
	assert.Equal(t, NXDomain, r.Resolve("default", "10-244-1-2.nowhere.pod").Rcode, "no such namespace")
	assert.Equal(t, NXDomain, r.Resolve("default", "web-0.default.pod").Rcode, "not an IP")
	assert.Equal(t, Answer{Name: "default.pod.cluster.local", Rcode: NoError}, r.Resolve("default", "default.pod.cluster.local."))
}
