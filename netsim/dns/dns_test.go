package dns

import (
	"testing"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func svc(ns, name, clusterIP string) *v1.Service {
	return &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1.ServiceSpec{ClusterIP: clusterIP}}
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
	assert.Equal(t, NXDomain, r.Resolve("default", "x.web").Rcode, "only headless services have hostname records")
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
