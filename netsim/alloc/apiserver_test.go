package alloc_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/netsim/alloc"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/mvcc"
)

var ctx = context.Background()

type env struct {
	api  *apiserver.Server
	alc  *alloc.Allocator
	plug *alloc.Admission
	svcs client.ServiceInterface
}

func newEnv(t interface {
	require.TestingT
	Helper()
}, seed uint64) *env {
	t.Helper()
	eng := sim.New(seed)
	api := apiserver.New(eng, mvcc.New(eng, mvcc.Config{}), apiserver.DefaultConfig())
	alc, err := alloc.New(eng, alloc.Config{})
	require.NoError(t, err)
	plug := alloc.NewAdmission(alc)
	api.AddAdmission(plug)
	return &env{api: api, alc: alc, plug: plug, svcs: client.New(api, "test").CoreV1().Services("default")}
}

func svc(name string, typ v1.ServiceType) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.ServiceSpec{Type: typ, Selector: map[string]string{"app": name},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
}

// checkInSync asserts that the allocator holds exactly the ClusterIPs,
// NodePorts and health-check node ports of the stored Services, and no
// write is left open.
func (e *env) checkInSync(t require.TestingT) {
	l, err := e.svcs.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var ips []string
	var ports []int
	for _, s := range l.Items {
		if s.Spec.ClusterIP != "" && s.Spec.ClusterIP != v1.ClusterIPNone {
			ips = append(ips, s.Spec.ClusterIP)
		}
		// Only NodePort and LoadBalancer Services hold node ports.
		if s.Spec.Type == v1.ServiceTypeNodePort || s.Spec.Type == v1.ServiceTypeLoadBalancer {
			for _, p := range s.Spec.Ports {
				if p.NodePort != 0 && !slices.Contains(ports, int(p.NodePort)) {
					ports = append(ports, int(p.NodePort))
				}
			}
		}
		if hc := int(s.Spec.HealthCheckNodePort); apiserver.ServiceNeedsHealthCheck(&s) && !slices.Contains(ports, hc) {
			ports = append(ports, hc)
		}
	}
	slices.Sort(ips)
	slices.Sort(ports)
	got := e.alc.AllocatedIPs()
	slices.Sort(got)
	assert.Equal(t, ips, got, "allocated ClusterIPs = stored ones")
	assert.Equal(t, ports, e.alc.AllocatedNodePorts(), "allocated NodePorts = stored ones")
	assert.Zero(t, e.plug.Pending(), "no admitted write left open")
}

func TestAdmissionCreateSetsIPFields(t *testing.T) {
	e := newEnv(t, 1)
	got, err := e.svcs.Create(ctx, svc("web", ""), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, got.Spec.ClusterIP)
	assert.Equal(t, []string{got.Spec.ClusterIP}, got.Spec.ClusterIPs)
	assert.Equal(t, []v1.IPFamily{v1.IPv4Protocol}, got.Spec.IPFamilies)
	require.NotNil(t, got.Spec.IPFamilyPolicy)
	assert.Equal(t, v1.IPFamilyPolicySingleStack, *got.Spec.IPFamilyPolicy)
	assert.True(t, e.alc.HasIP(got.Spec.ClusterIP))

	np, err := e.svcs.Create(ctx, svc("np", v1.ServiceTypeNodePort), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, np.Spec.Ports[0].NodePort, int32(30000))
	assert.LessOrEqual(t, np.Spec.Ports[0].NodePort, int32(32767))

	h := svc("headless", "")
	h.Spec.ClusterIP = v1.ClusterIPNone
	hs, err := e.svcs.Create(ctx, h, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{v1.ClusterIPNone}, hs.Spec.ClusterIPs)
	assert.Equal(t, []v1.IPFamily{v1.IPv4Protocol}, hs.Spec.IPFamilies)

	x := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Spec: v1.ServiceSpec{Type: v1.ServiceTypeExternalName, ExternalName: "db.example.com"}}
	xs, err := e.svcs.Create(ctx, x, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Empty(t, xs.Spec.ClusterIP)
	assert.Nil(t, xs.Spec.IPFamilies)
	e.checkInSync(t)
}

func TestAdmissionClashIsInvalid(t *testing.T) {
	e := newEnv(t, 1)
	a := svc("a", "")
	a.Spec.ClusterIP = "10.96.0.10"
	_, err := e.svcs.Create(ctx, a, metav1.CreateOptions{})
	require.NoError(t, err)
	b := svc("b", "")
	b.Spec.ClusterIP = "10.96.0.10"
	_, err = e.svcs.Create(ctx, b, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err), "422 Invalid, got %v", err)
	assert.Contains(t, err.Error(), `Service "b" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.10"]: failed to allocate IP 10.96.0.10: provided IP is already allocated`)
	e.checkInSync(t)
}

func TestAdmissionRevertsWhenValidationFails(t *testing.T) {
	e := newEnv(t, 1)
	bad := svc("bad", v1.ServiceTypeNodePort)
	bad.Spec.Ports[0].Port = 0 // invalid port: the API server rejects after admission
	_, err := e.svcs.Create(ctx, bad, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err))
	assert.Zero(t, e.alc.UsedIPs(), "the reserved ClusterIP went back")
	assert.Zero(t, e.alc.UsedNodePorts(), "the reserved NodePort went back")
	e.checkInSync(t)
}

func TestAdmissionUpdateAndDelete(t *testing.T) {
	e := newEnv(t, 1)
	s, err := e.svcs.Create(ctx, svc("web", ""), metav1.CreateOptions{})
	require.NoError(t, err)
	ip := s.Spec.ClusterIP

	// ClusterIP -> NodePort allocates a node port; the IP stays.
	s.Spec.Type = v1.ServiceTypeNodePort
	s, err = e.svcs.Update(ctx, s, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, ip, s.Spec.ClusterIP)
	port := s.Spec.Ports[0].NodePort
	assert.NotZero(t, port)
	e.checkInSync(t)

	// An apply-style update without the allocated fields keeps them.
	s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.Ports[0].NodePort = "", nil, 0
	s, err = e.svcs.Update(ctx, s, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, ip, s.Spec.ClusterIP)
	assert.Equal(t, port, s.Spec.Ports[0].NodePort)
	e.checkInSync(t)

	// Changing the ClusterIP is refused and leaks nothing.
	moved := s.DeepCopy()
	moved.Spec.ClusterIP, moved.Spec.ClusterIPs = "10.96.0.99", []string{"10.96.0.99"}
	_, err = e.svcs.Update(ctx, moved, metav1.UpdateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err))
	assert.False(t, e.alc.HasIP("10.96.0.99"))
	e.checkInSync(t)

	// A status write does not go through the allocator.
	s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "1.2.3.4"}}
	_, err = e.svcs.UpdateStatus(ctx, s, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.checkInSync(t)

	// NodePort -> ClusterIP releases the node port on commit.
	s, err = e.svcs.Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	s.Spec.Type = v1.ServiceTypeClusterIP
	s.Spec.Ports[0].NodePort = 0
	s.Spec.ExternalTrafficPolicy = ""
	_, err = e.svcs.Update(ctx, s, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.False(t, e.alc.HasNodePort(int(port)))
	e.checkInSync(t)

	require.NoError(t, e.svcs.Delete(ctx, "web", metav1.DeleteOptions{}))
	assert.False(t, e.alc.HasIP(ip), "delete released the ClusterIP")
	e.checkInSync(t)
}

// TestAdmissionModel drives random Service writes through the API server
// and checks after each that the allocator holds exactly what the stored
// Services hold.
func TestAdmissionModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		e := newEnv(rt, rapid.Uint64().Draw(rt, "seed"))
		types := []v1.ServiceType{v1.ServiceTypeClusterIP, v1.ServiceTypeNodePort, v1.ServiceTypeLoadBalancer, v1.ServiceTypeExternalName}
		for i := range rapid.IntRange(1, 30).Draw(rt, "ops") {
			name := fmt.Sprintf("s%d", rapid.IntRange(0, 5).Draw(rt, fmt.Sprint("name", i)))
			typ := rapid.SampledFrom(types).Draw(rt, fmt.Sprint("type", i))
			s := svc(name, typ)
			if typ == v1.ServiceTypeExternalName {
				s.Spec.ExternalName = "x.example.com"
			}
			if rapid.Bool().Draw(rt, fmt.Sprint("fixedIP", i)) && typ != v1.ServiceTypeExternalName {
				s.Spec.ClusterIP = fmt.Sprintf("10.96.0.%d", rapid.IntRange(1, 4).Draw(rt, fmt.Sprint("ip", i)))
			}
			if rapid.Bool().Draw(rt, fmt.Sprint("fixedPort", i)) && (typ == v1.ServiceTypeNodePort || typ == v1.ServiceTypeLoadBalancer) {
				s.Spec.Ports[0].NodePort = int32(30000 + rapid.IntRange(0, 3).Draw(rt, fmt.Sprint("port", i)))
			}
			switch rapid.IntRange(0, 2).Draw(rt, fmt.Sprint("op", i)) {
			case 0:
				_, _ = e.svcs.Create(ctx, s, metav1.CreateOptions{})
			case 1:
				if cur, err := e.svcs.Get(ctx, name, metav1.GetOptions{}); err == nil {
					s.ResourceVersion = cur.ResourceVersion
					_, _ = e.svcs.Update(ctx, s, metav1.UpdateOptions{})
				}
			case 2:
				_ = e.svcs.Delete(ctx, name, metav1.DeleteOptions{})
			}
			e.checkInSync(rt)
		}
	})
}

func newEnvWith(t *testing.T, cfg alloc.Config) *env {
	t.Helper()
	eng := sim.New(1)
	api := apiserver.New(eng, mvcc.New(eng, mvcc.Config{}), apiserver.DefaultConfig())
	alc, err := alloc.New(eng, cfg)
	require.NoError(t, err)
	plug := alloc.NewAdmission(alc)
	api.AddAdmission(plug)
	return &env{api: api, alc: alc, plug: plug, svcs: client.New(api, "test").CoreV1().Services("default")}
}

// As upstream's Service storage, the allocator runs before validation
// (store.Create: BeginCreate, then rest.BeforeCreate's Validate) and
// checks first only what initIPFamilyFields checks, the cluster-IP
// fields; everything else is validation's, reported in full after the
// allocation.
func TestAllocationPrecedesValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(s *v1.Service)
		want string
	}{
		{"an unknown type is validation's, with the rest", func(s *v1.Service) {
			s.Spec.Type = "Cluster"
			s.Spec.Ports[0].Protocol = "HTTP"
		}, `Service "web" is invalid: [spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP", spec.type: Unsupported value: "Cluster": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]`},
		{"headless NodePort is validation's, with the rest", func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeNodePort
			s.Spec.ClusterIP = v1.ClusterIPNone
			s.Spec.Ports[0].Protocol = "HTTP"
		}, `Service "web" is invalid: [spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services, spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"]`},
		{"a clusterIP on an ExternalName service is validation's", func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeExternalName
			s.Spec.ExternalName = "db.example.com"
			s.Spec.ClusterIP = "10.96.0.10"
			s.Spec.Ports[0].Protocol = "HTTP"
		}, `Service "web" is invalid: [spec.clusterIPs: Forbidden: may not be set for ExternalName services, spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"]`},
		{"cluster-IP field errors come alone", func(s *v1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.11"}
			s.Spec.Ports[0].Protocol = "HTTP"
		}, "Service \"web\" is invalid: spec.clusterIPs: Invalid value: [\"10.96.0.11\"]: first value must match `clusterIP`"},
		{"an allocation error comes alone", func(s *v1.Service) {
			s.Spec.ClusterIP = "10.96.0.1"
			s.Spec.Ports[0].Protocol = "HTTP"
		}, `Service "web" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.1"]: failed to allocate IP 10.96.0.1: provided IP is already allocated`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 1)
			k := svc("kubernetes", "")
			k.Spec.ClusterIP = "10.96.0.1"
			_, err := e.svcs.Create(ctx, k, metav1.CreateOptions{})
			require.NoError(t, err)
			s := svc("web", "")
			tc.edit(s)
			_, err = e.svcs.Create(ctx, s, metav1.CreateOptions{})
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			e.checkInSync(t)
		})
	}
}

// Upstream accepts a nodePort on an ExternalName Service (ValidateService
// forbids one only for type ClusterIP) and allocates nothing for it.
func TestExternalNameNodePortIsAcceptedAndNotHeld(t *testing.T) {
	e := newEnv(t, 1)
	x := svc("ext", v1.ServiceTypeExternalName)
	x.Spec.ExternalName = "db.example.com"
	x.Spec.Ports[0].NodePort = 30080
	_, err := e.svcs.Create(ctx, x, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.False(t, e.alc.HasNodePort(30080))

	np := svc("np", v1.ServiceTypeNodePort)
	np.Spec.Ports[0].NodePort = 30080
	_, err = e.svcs.Create(ctx, np, metav1.CreateOptions{})
	require.NoError(t, err, "the port is free")
	require.NoError(t, e.svcs.Delete(ctx, "ext", metav1.DeleteOptions{}))
	assert.True(t, e.alc.HasNodePort(30080), "deleting the ExternalName service leaves np's port")
	e.checkInSync(t)
}

// On kubesim's IPv4 single-stack cluster, IPv6 and dual-stack requests
// get upstream's errors for such a cluster (initIPFamilyFields).
func TestSingleStackClusterRefusesOtherFamilies(t *testing.T) {
	single, require2, prefer := v1.IPFamilyPolicySingleStack, v1.IPFamilyPolicyRequireDualStack, v1.IPFamilyPolicyPreferDualStack
	for _, tc := range []struct {
		name string
		edit func(s *v1.Service)
		want string
	}{
		{"an IPv6 cluster IP", func(s *v1.Service) { s.Spec.ClusterIP = "fd00::10" },
			`Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["fd00::10"]: IPv6 is not configured on this cluster`},
		{"an IPv6 family", func(s *v1.Service) { s.Spec.IPFamilies = []v1.IPFamily{v1.IPv6Protocol} },
			`Service "web" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster`},
		{"RequireDualStack", func(s *v1.Service) { s.Spec.IPFamilyPolicy = &require2 },
			`Service "web" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`},
		{"PreferDualStack naming both families", func(s *v1.Service) {
			s.Spec.IPFamilyPolicy = &prefer
			s.Spec.IPFamilies = []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol}
		}, `Service "web" is invalid: spec.ipFamilies[1]: Invalid value: "IPv6": not configured on this cluster`},
		{"two cluster IPs, SingleStack", func(s *v1.Service) {
			s.Spec.IPFamilyPolicy = &single
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10", "fd00::10"}
		}, "Service \"web\" is invalid: [spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified, spec.clusterIPs[1]: Invalid value: [\"10.96.0.10\",\"fd00::10\"]: IPv6 is not configured on this cluster]"},
		{"two cluster IPs of one family", func(s *v1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10", "10.96.0.11"}
		}, `Service "web" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.10","10.96.0.11"]: may specify no more than one IP for each IP family`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 1)
			s := svc("web", "")
			tc.edit(s)
			_, err := e.svcs.Create(ctx, s, metav1.CreateOptions{})
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			e.checkInSync(t)
		})
	}
	// PreferDualStack alone stays single-stack.
	e := newEnv(t, 1)
	s := svc("web", "")
	s.Spec.IPFamilyPolicy = &prefer
	got, err := e.svcs.Create(ctx, s, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, []v1.IPFamily{v1.IPv4Protocol}, got.Spec.IPFamilies)
	assert.Equal(t, prefer, *got.Spec.IPFamilyPolicy)
}

// A full range is a 500 Internal error upstream (apierrors.NewInternalError
// in allocIPs, initNodePorts and txnAllocNodePorts), and so is a
// requested health-check node port that is taken.
func TestAllocationFailuresThatAreInternalErrors(t *testing.T) {
	e := newEnvWith(t, alloc.Config{ServiceCIDR: "192.168.0.0/30"}) // two IPs
	for _, name := range []string{"a", "b"} {
		_, err := e.svcs.Create(ctx, svc(name, ""), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err := e.svcs.Create(ctx, svc("c", ""), metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInternalError(err), "%v", err)
	assert.Equal(t, "Internal error occurred: failed to allocate a serviceIP: range is full", err.Error())
	e.checkInSync(t)

	e = newEnvWith(t, alloc.Config{NodePortRange: "30000-30001"})
	_, err = e.svcs.Create(ctx, svc("a", v1.ServiceTypeNodePort), metav1.CreateOptions{})
	require.NoError(t, err)
	lb := svc("lb", v1.ServiceTypeLoadBalancer)
	lb.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	lb.Spec.HealthCheckNodePort = int32(e.alc.AllocatedNodePorts()[0])
	_, err = e.svcs.Create(ctx, lb, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInternalError(err), "%v", err)
	assert.Equal(t, fmt.Sprintf("Internal error occurred: failed to allocate requested HealthCheck NodePort %d: provided port is already allocated", lb.Spec.HealthCheckNodePort), err.Error())

	lb.Spec.HealthCheckNodePort = 0
	_, err = e.svcs.Create(ctx, lb, metav1.CreateOptions{}) // one port left, for the service port
	require.Error(t, err)
	assert.Equal(t, "Internal error occurred: failed to allocate a HealthCheck NodePort 0: range is full", err.Error())

	_, err = e.svcs.Create(ctx, svc("np", v1.ServiceTypeNodePort), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.svcs.Create(ctx, svc("np2", v1.ServiceTypeNodePort), metav1.CreateOptions{})
	require.Error(t, err)
	assert.Equal(t, "Internal error occurred: failed to allocate a nodePort: range is full", err.Error())
	e.checkInSync(t)
}

// The health-check node port may not change (upstream's
// validateServiceExternalTrafficFieldsUpdate); a refused change leaks
// nothing.
func TestHealthCheckNodePortIsImmutable(t *testing.T) {
	e := newEnv(t, 1)
	lb := svc("lb", v1.ServiceTypeLoadBalancer)
	lb.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	got, err := e.svcs.Create(ctx, lb, metav1.CreateOptions{})
	require.NoError(t, err)
	hc := got.Spec.HealthCheckNodePort
	require.NotZero(t, hc)
	moved := int32(30999)
	if hc == moved {
		moved--
	}
	got.Spec.HealthCheckNodePort = moved
	_, err = e.svcs.Update(ctx, got, metav1.UpdateOptions{})
	assert.EqualError(t, err, `Service "lb" is invalid: spec.healthCheckNodePort: Forbidden: field is immutable`)
	assert.True(t, e.alc.HasNodePort(int(hc)))
	assert.False(t, e.alc.HasNodePort(int(moved)))
	e.checkInSync(t)
}

// An update that leaves node ports out gets them back by port name, as
// upstream's patchAllocatedValues: a renumbered port keeps its node port,
// a renamed one gets a new one.
func TestUpdateKeepsNodePortsByPortName(t *testing.T) {
	e := newEnv(t, 1)
	s := svc("web", v1.ServiceTypeNodePort)
	s.Spec.Ports = []v1.ServicePort{{Name: "http", Port: 80}, {Name: "metrics", Port: 9090}}
	got, err := e.svcs.Create(ctx, s, metav1.CreateOptions{})
	require.NoError(t, err)
	httpNP, metricsNP := got.Spec.Ports[0].NodePort, got.Spec.Ports[1].NodePort

	upd := got.DeepCopy()
	upd.Spec.Ports = []v1.ServicePort{{Name: "http", Port: 8080}, {Name: "prom", Port: 9090}}
	got, err = e.svcs.Update(ctx, upd, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, httpNP, got.Spec.Ports[0].NodePort, "same name, new number: kept")
	assert.NotZero(t, got.Spec.Ports[1].NodePort)
	assert.NotEqual(t, metricsNP, got.Spec.Ports[1].NodePort, "new name: a new node port")
	assert.False(t, e.alc.HasNodePort(int(metricsNP)), "the old one is released")
	e.checkInSync(t)
}

// Changing the type to ClusterIP drops the node ports only when the
// update brings no node port of its own (upstream's sameNodePorts);
// otherwise validation refuses each.
func TestTypeChangeDropsNodePortsOnlyIfAllOld(t *testing.T) {
	e := newEnv(t, 1)
	s := svc("web", v1.ServiceTypeNodePort)
	s.Spec.Ports = []v1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}, {Name: "https", Port: 443, NodePort: 30443}}
	got, err := e.svcs.Create(ctx, s, metav1.CreateOptions{})
	require.NoError(t, err)
	upd := got.DeepCopy()
	upd.Spec.Type = v1.ServiceTypeClusterIP
	upd.Spec.Ports[1].NodePort = 30444
	_, err = e.svcs.Update(ctx, upd, metav1.UpdateOptions{})
	assert.EqualError(t, err, "Service \"web\" is invalid: [spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP', spec.ports[1].nodePort: Forbidden: may not be used when `type` is 'ClusterIP']")
	e.checkInSync(t)
}

// A changed cluster IP is validation's to refuse, with upstream's value
// (the clusterIPs list) and the other errors.
func TestChangedClusterIPIsValidations(t *testing.T) {
	e := newEnv(t, 1)
	got, err := e.svcs.Create(ctx, svc("web", ""), metav1.CreateOptions{})
	require.NoError(t, err)
	upd := got.DeepCopy()
	upd.Spec.ClusterIP, upd.Spec.ClusterIPs = "10.96.0.99", []string{"10.96.0.99"}
	upd.Spec.Ports[0].Protocol = "HTTP"
	_, err = e.svcs.Update(ctx, upd, metav1.UpdateOptions{})
	assert.EqualError(t, err, `Service "web" is invalid: [spec.clusterIPs[0]: Invalid value: ["10.96.0.99"]: may not change once set, spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"]`)
	assert.False(t, e.alc.HasIP("10.96.0.99"))
	e.checkInSync(t)
}

// The API server's Validate (what kubesim validate runs) reports what a
// create reports: the allocator's checks first and alone, then validation
// of the object the allocation filled in.
func TestValidateReportsWhatCreateDoes(t *testing.T) {
	require2 := v1.IPFamilyPolicyRequireDualStack
	for _, tc := range []struct {
		name string
		edit func(s *v1.Service)
	}{
		{"LoadBalancer with externalTrafficPolicy Local", func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeLoadBalancer
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		}},
		{"nodePort on an ExternalName service", func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeExternalName
			s.Spec.ExternalName = "db.example.com"
			s.Spec.Ports[0].NodePort = 30080
		}},
		{"cluster-IP field errors alone", func(s *v1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.11"}
			s.Spec.Ports[0].Protocol = "HTTP"
		}},
		{"RequireDualStack", func(s *v1.Service) { s.Spec.IPFamilyPolicy = &require2 }},
		{"a cluster IP out of range", func(s *v1.Service) {
			s.Spec.ClusterIP = "10.0.0.10"
			s.Spec.Ports[0].Protocol = "HTTP"
		}},
		{"a node port out of range", func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeNodePort
			s.Spec.Ports[0].NodePort = 80
		}},
		{"an unknown type with the rest", func(s *v1.Service) {
			s.Spec.Type = "Cluster"
			s.Spec.Ports[0].Protocol = "HTTP"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 1)
			s := svc("web", "")
			tc.edit(s)
			errs := e.api.Validate(s)
			assert.Zero(t, e.alc.UsedIPs()+e.alc.UsedNodePorts(), "Validate holds nothing")
			_, err := e.svcs.Create(ctx, s, metav1.CreateOptions{})
			if err == nil {
				assert.Empty(t, errs)
				return
			}
			var fromValidate []string
			for _, fe := range errs {
				fromValidate = append(fromValidate, fe.Error())
			}
			want := err.Error()
			prefix := `Service "web" is invalid: `
			require.True(t, strings.HasPrefix(want, prefix), want)
			if len(fromValidate) == 1 {
				assert.Equal(t, want, prefix+fromValidate[0])
			} else {
				assert.Equal(t, want, prefix+"["+strings.Join(fromValidate, ", ")+"]")
			}
		})
	}
}

// A LoadBalancer with allocateLoadBalancerNodePorts false gets only the
// node ports it asks for (upstream's shouldAllocateNodePorts), but still
// its health-check node port; turning allocation back on fills the rest.
func TestLoadBalancerWithoutNodePortAllocation(t *testing.T) {
	e := newEnv(t, 1)
	off := false
	lb := svc("lb", v1.ServiceTypeLoadBalancer)
	lb.Spec.AllocateLoadBalancerNodePorts = &off
	lb.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	lb.Spec.Ports = []v1.ServicePort{{Name: "http", Port: 80}, {Name: "https", Port: 443, NodePort: 30443}}
	got, err := e.svcs.Create(ctx, lb, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Zero(t, got.Spec.Ports[0].NodePort)
	assert.Equal(t, int32(30443), got.Spec.Ports[1].NodePort)
	assert.NotZero(t, got.Spec.HealthCheckNodePort)
	assert.Equal(t, 2, e.alc.UsedNodePorts())
	e.checkInSync(t)

	on := true
	got.Spec.AllocateLoadBalancerNodePorts = &on
	got, err = e.svcs.Update(ctx, got, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.NotZero(t, got.Spec.Ports[0].NodePort)
	assert.Equal(t, int32(30443), got.Spec.Ports[1].NodePort)
	e.checkInSync(t)
}

// Two ports of an update with the same protocol and node port are refused
// by the allocation as upstream's updateNodePorts does: a plain error,
// which the API server answers with a 500 of reason Unknown.
func TestUpdateWithDuplicateNodePort(t *testing.T) {
	e := newEnv(t, 1)
	s := svc("web", v1.ServiceTypeNodePort)
	s.Spec.Ports = []v1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}, {Name: "https", Port: 443}}
	got, err := e.svcs.Create(ctx, s, metav1.CreateOptions{})
	require.NoError(t, err)
	got.Spec.Ports[1].NodePort = 30080
	_, err = e.svcs.Update(ctx, got, metav1.UpdateOptions{})
	require.Error(t, err)
	assert.Equal(t, "duplicate nodePort: {TCP 30080}", err.Error())
	var status apierrors.APIStatus
	require.ErrorAs(t, err, &status)
	assert.Equal(t, int32(500), status.Status().Code)
	assert.Equal(t, metav1.StatusReasonUnknown, status.Status().Reason)
	e.checkInSync(t)
}
