package alloc_test

import (
	"context"
	"fmt"
	"slices"
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

// checkInSync asserts that the allocator holds exactly the ClusterIPs and
// NodePorts of the stored Services, and no write is left open.
func (e *env) checkInSync(t require.TestingT) {
	l, err := e.svcs.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var ips []string
	var ports []int
	for _, s := range l.Items {
		if s.Spec.ClusterIP != "" && s.Spec.ClusterIP != v1.ClusterIPNone {
			ips = append(ips, s.Spec.ClusterIP)
		}
		for _, p := range s.Spec.Ports {
			if p.NodePort != 0 && !slices.Contains(ports, int(p.NodePort)) {
				ports = append(ports, int(p.NodePort))
			}
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
