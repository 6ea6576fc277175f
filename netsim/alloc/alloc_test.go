package alloc

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/sim"
)

func newAlloc(t testing.TB, seed uint64, cfg Config) *Allocator {
	t.Helper()
	a, err := New(sim.New(seed), cfg)
	require.NoError(t, err)
	return a
}

func clusterIPSvc(name string) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []v1.ServicePort{{Port: 80, Protocol: v1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

func nodePortSvc(name string, nodePort int32) *v1.Service {
	s := clusterIPSvc(name)
	s.Spec.Type = v1.ServiceTypeNodePort
	s.Spec.Ports[0].NodePort = nodePort
	return s
}

func TestRandomClusterIPIsSeededAndInDynamicBand(t *testing.T) {
	run := func(seed uint64) []string {
		a := newAlloc(t, seed, Config{})
		var ips []string
		for i := range 20 {
			s := clusterIPSvc(fmt.Sprintf("s%d", i))
			require.Empty(t, a.Admit(OpCreate, s, nil))
			ips = append(ips, s.Spec.ClusterIP)
			assert.Equal(t, []string{s.Spec.ClusterIP}, s.Spec.ClusterIPs)
			assert.Equal(t, []v1.IPFamily{v1.IPv4Protocol}, s.Spec.IPFamilies)
			require.NotNil(t, s.Spec.IPFamilyPolicy)
			assert.Equal(t, v1.IPFamilyPolicySingleStack, *s.Spec.IPFamilyPolicy)
		}
		return ips
	}
	a1, a2 := run(7), run(7)
	assert.Equal(t, a1, a2, "same seed, same IPs")
	assert.NotEqual(t, a1, run(8), "another seed draws other IPs")

	prefix := netip.MustParsePrefix("10.96.0.0/12")
	// /12 has 2^20 addresses; the static band is min(max(16, 2^20/16), 256)
	// = 256 offsets above the network address: 10.96.0.1 .. 10.96.1.0.
	firstDynamic := netip.MustParseAddr("10.96.1.1")
	seen := map[string]bool{}
	for _, ip := range a1 {
		addr := netip.MustParseAddr(ip)
		assert.True(t, prefix.Contains(addr), ip)
		assert.GreaterOrEqual(t, addr.Compare(firstDynamic), 0, "%s is in the static band", ip)
		assert.NotEqual(t, "10.111.255.255", ip, "broadcast never handed out")
		assert.False(t, seen[ip], "duplicate %s", ip)
		seen[ip] = true
	}
}

func TestRequestedClusterIPConflictUsesUpstreamWording(t *testing.T) {
	a := newAlloc(t, 1, Config{})
	s1 := clusterIPSvc("dns")
	s1.Spec.ClusterIP = "10.96.0.10"
	require.Empty(t, a.Admit(OpCreate, s1, nil))
	assert.True(t, a.HasIP("10.96.0.10"))

	s2 := clusterIPSvc("other")
	s2.Spec.ClusterIP, s2.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10"}
	errs := a.Admit(OpCreate, s2, nil)
	require.Len(t, errs, 1)
	assert.Equal(t, `spec.clusterIPs: Invalid value: ["10.96.0.10"]: failed to allocate IP 10.96.0.10: provided IP is already allocated`, errs[0].Error())
	assert.Equal(t, 1, a.UsedIPs())
}

// An IP outside the service CIDR gets the MetaAllocator's error (the
// allocator of v1.33+, MultiCIDRServiceAllocator GA); the CIDR's network
// and broadcast addresses are not in its range.
func TestRequestedClusterIPOutOfRange(t *testing.T) {
	a := newAlloc(t, 1, Config{})
	for ip, why := range map[string]string{
		"10.112.0.1":     "the provided network does not match the current range",
		"192.168.0.1":    "the provided network does not match the current range",
		"10.96.0.0":      "the provided IP (10.96.0.0) is not in the valid range. The range of valid IPs is 10.96.0.0/12",
		"10.111.255.255": "the provided IP (10.111.255.255) is not in the valid range. The range of valid IPs is 10.96.0.0/12",
	} {
		s := clusterIPSvc("x")
		s.Spec.ClusterIP = ip
		errs := a.Admit(OpCreate, s, nil)
		require.Len(t, errs, 1, ip)
		assert.Equal(t, fmt.Sprintf(`spec.clusterIPs: Invalid value: ["%s"]: failed to allocate IP %s: %s`, ip, ip, why), errs[0].Error())
	}
	s := clusterIPSvc("bad")
	s.Spec.ClusterIP = "10.96.0.300"
	errs := a.Admit(OpCreate, s, nil)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "spec.clusterIPs[0]: Invalid value: \"10.96.0.300\": must be a valid IP address")
	assert.Zero(t, a.UsedIPs())
}

func TestKubernetesServiceIPIsFirstAddress(t *testing.T) {
	a := newAlloc(t, 1, Config{})
	assert.Equal(t, "10.96.0.1", a.KubernetesServiceIP())
	s := clusterIPSvc("kubernetes")
	s.Spec.ClusterIP = a.KubernetesServiceIP()
	require.Empty(t, a.Admit(OpCreate, s, nil))
	assert.Equal(t, []string{"10.96.0.1"}, a.AllocatedIPs())
}

func TestHeadlessAndExternalNameAllocateNothing(t *testing.T) {
	a := newAlloc(t, 1, Config{})
	h := clusterIPSvc("headless")
	h.Spec.ClusterIP = v1.ClusterIPNone
	require.Empty(t, a.Admit(OpCreate, h, nil))
	assert.Equal(t, []string{"None"}, h.Spec.ClusterIPs)
	assert.Equal(t, []v1.IPFamily{v1.IPv4Protocol}, h.Spec.IPFamilies, "headless with a selector follows the cluster")
	assert.Equal(t, v1.IPFamilyPolicySingleStack, *h.Spec.IPFamilyPolicy)

	e := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "default"},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeExternalName, ExternalName: "db.example.com"}}
	require.Empty(t, a.Admit(OpCreate, e, nil))
	assert.Empty(t, e.Spec.ClusterIP)
	assert.Empty(t, e.Spec.ClusterIPs)
	assert.Zero(t, a.UsedIPs())
	assert.Zero(t, a.UsedNodePorts())

	// What an ExternalName Service may not set is validation's to refuse
	// (TestAllocationPrecedesValidation); the allocator takes nothing.
	e2 := e.DeepCopy()
	e2.Spec.ClusterIP = "10.96.5.5"
	e2.Spec.Ports = []v1.ServicePort{{Port: 80, NodePort: 30080}}
	require.Empty(t, a.Admit(OpCreate, e2, nil))
	assert.Zero(t, a.UsedIPs())
	assert.Zero(t, a.UsedNodePorts())
}

// TestHeadlessSelectorlessFamilies: upstream defaults a headless Service
// without a selector to RequireDualStack with both families, even on a
// single-stack cluster, and lets the user name both; updates keep them.
func TestHeadlessSelectorlessFamilies(t *testing.T) {
	a := newAlloc(t, 1, Config{})
	h := clusterIPSvc("manual")
	h.Spec.Selector = nil
	h.Spec.ClusterIP = v1.ClusterIPNone
	require.Empty(t, a.Admit(OpCreate, h, nil))
	assert.Equal(t, []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol}, h.Spec.IPFamilies)
	assert.Equal(t, v1.IPFamilyPolicyRequireDualStack, *h.Spec.IPFamilyPolicy)

	upd := h.DeepCopy()
	upd.Spec.IPFamilies, upd.Spec.IPFamilyPolicy = nil, nil
	upd.Spec.Ports[0].Port = 81
	require.Empty(t, a.Admit(OpUpdate, upd, h))
	assert.Equal(t, h.Spec.IPFamilies, upd.Spec.IPFamilies, "an update without the family fields keeps them")

	single := clusterIPSvc("single")
	single.Spec.Selector = nil
	single.Spec.ClusterIP = v1.ClusterIPNone
	p := v1.IPFamilyPolicySingleStack
	single.Spec.IPFamilyPolicy = &p
	require.Empty(t, a.Admit(OpCreate, single, nil))
	assert.Equal(t, []v1.IPFamily{v1.IPv4Protocol}, single.Spec.IPFamilies)

	v6 := clusterIPSvc("v6")
	v6.Spec.Selector = nil
	v6.Spec.ClusterIP = v1.ClusterIPNone
	v6.Spec.IPFamilies = []v1.IPFamily{v1.IPv6Protocol}
	require.Empty(t, a.Admit(OpCreate, v6, nil))
	assert.Equal(t, []v1.IPFamily{v1.IPv6Protocol, v1.IPv4Protocol}, v6.Spec.IPFamilies)

	withSel := clusterIPSvc("sel")
	withSel.Spec.ClusterIP = v1.ClusterIPNone
	withSel.Spec.IPFamilies = []v1.IPFamily{v1.IPv6Protocol}
	errs := a.Admit(OpCreate, withSel, nil)
	require.Len(t, errs, 1)
	assert.Equal(t, `spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster`, errs[0].Error())
	assert.Zero(t, a.UsedIPs())
}

func TestNodePortRandomRequestedAndConflicts(t *testing.T) {
	a := newAlloc(t, 3, Config{})
	s := nodePortSvc("web", 0)
	require.Empty(t, a.Admit(OpCreate, s, nil))
	np := s.Spec.Ports[0].NodePort
	// dynamic band: 2768 ports, static band min(max(16, 2768/32), 128) = 86
	assert.GreaterOrEqual(t, np, int32(30086))
	assert.LessOrEqual(t, np, int32(32767))
	assert.NotEmpty(t, s.Spec.ClusterIP, "NodePort services also get a ClusterIP")

	fixed := nodePortSvc("fixed", 30080)
	require.Empty(t, a.Admit(OpCreate, fixed, nil))
	assert.True(t, a.HasNodePort(30080))

	clash := nodePortSvc("clash", 30080)
	errs := a.Admit(OpCreate, clash, nil)
	require.Len(t, errs, 1)
	assert.Equal(t, "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated", errs[0].Error())
	assert.False(t, a.HasIP(clash.Spec.ClusterIP), "the failed create released its ClusterIP")
	assert.Equal(t, 2, a.UsedIPs())

	out := nodePortSvc("out", 8080)
	errs = a.Admit(OpCreate, out, nil)
	require.Len(t, errs, 1)
	assert.Equal(t, "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767", errs[0].Error())

	// A ClusterIP Service's nodePort is validation's to refuse; the
	// allocator does not take it.
	c := clusterIPSvc("cip")
	c.Spec.Ports[0].NodePort = 30001
	require.Empty(t, a.Admit(OpCreate, c, nil))
	assert.False(t, a.HasNodePort(30001))
}

func TestNodePortsSharedBySamePortNumber(t *testing.T) {
	a := newAlloc(t, 3, Config{})
	s := nodePortSvc("dns", 0)
	s.Spec.Ports = []v1.ServicePort{
		{Name: "dns-udp", Port: 53, Protocol: v1.ProtocolUDP},
		{Name: "dns-tcp", Port: 53, Protocol: v1.ProtocolTCP},
		{Name: "metrics", Port: 9153, Protocol: v1.ProtocolTCP},
	}
	require.Empty(t, a.Admit(OpCreate, s, nil))
	assert.Equal(t, s.Spec.Ports[0].NodePort, s.Spec.Ports[1].NodePort)
	assert.NotEqual(t, s.Spec.Ports[0].NodePort, s.Spec.Ports[2].NodePort)
	assert.Equal(t, 2, a.UsedNodePorts())
}

func TestDeleteReleases(t *testing.T) {
	a := newAlloc(t, 3, Config{})
	s := nodePortSvc("web", 30100)
	s.Spec.ClusterIP = "10.96.0.20"
	require.Empty(t, a.Admit(OpCreate, s, nil))
	require.Empty(t, a.Admit(OpDelete, nil, s))
	assert.Zero(t, a.UsedIPs())
	assert.Zero(t, a.UsedNodePorts())
	again := nodePortSvc("web2", 30100)
	again.Spec.ClusterIP = "10.96.0.20"
	assert.Empty(t, a.Admit(OpCreate, again, nil), "released values can be requested again")
}

func TestUpdateTypeChanges(t *testing.T) {
	a := newAlloc(t, 5, Config{})
	s := clusterIPSvc("web")
	require.Empty(t, a.Admit(OpCreate, s, nil))
	ip := s.Spec.ClusterIP

	// Apply without clusterIP and as NodePort: IP kept, node port allocated.
	np := clusterIPSvc("web")
	np.Spec.Type = v1.ServiceTypeNodePort
	require.Empty(t, a.Admit(OpUpdate, np, s))
	assert.Equal(t, ip, np.Spec.ClusterIP)
	require.NotZero(t, np.Spec.Ports[0].NodePort)
	assert.Equal(t, 1, a.UsedNodePorts())

	// Back to ClusterIP, node port value still in the object: dropped and released.
	back := np.DeepCopy()
	back.Spec.Type = v1.ServiceTypeClusterIP
	require.Empty(t, a.Admit(OpUpdate, back, np))
	assert.Zero(t, back.Spec.Ports[0].NodePort)
	assert.Zero(t, a.UsedNodePorts())

	// A changed IP is not allocated (validation refuses it:
	// TestChangedClusterIPIsValidations).
	moved := back.DeepCopy()
	moved.Spec.ClusterIP = "10.96.0.99"
	moved.Spec.ClusterIPs = []string{"10.96.0.99"}
	txn, errs := a.Begin(OpUpdate, moved, back)
	require.Empty(t, errs)
	assert.False(t, a.HasIP("10.96.0.99"))
	txn.Revert()

	// A patch that names only clusterIP (kubectl apply of a manifest with a
	// new clusterIP) leaves the stored clusterIPs: they follow clusterIP
	// (upstream's normalizeClusterIPs), so the cluster-IP fields stay
	// consistent and validation's "may not change once set" is the error,
	// not "first value must match `clusterIP`".
	patched := back.DeepCopy()
	patched.Spec.ClusterIP = "10.96.0.99"
	txn, errs = a.Begin(OpUpdate, patched, back)
	require.Empty(t, errs, "%v", errs)
	assert.Equal(t, []string{"10.96.0.99"}, patched.Spec.ClusterIPs)
	txn.Revert()

	// To ExternalName: IP released.
	ext := back.DeepCopy()
	ext.Spec.Type = v1.ServiceTypeExternalName
	ext.Spec.ExternalName = "example.com"
	require.Empty(t, a.Admit(OpUpdate, ext, back))
	assert.Empty(t, ext.Spec.ClusterIP)
	assert.Zero(t, a.UsedIPs())

	// And back: a fresh IP.
	again := ext.DeepCopy()
	again.Spec.Type = v1.ServiceTypeClusterIP
	again.Spec.ExternalName = ""
	require.Empty(t, a.Admit(OpUpdate, again, ext))
	assert.NotEmpty(t, again.Spec.ClusterIP)
	assert.Equal(t, 1, a.UsedIPs())
}

func TestTxnRevertKeepsWhatUpdateWouldRelease(t *testing.T) {
	a := newAlloc(t, 5, Config{})
	s := nodePortSvc("web", 30200)
	require.Empty(t, a.Admit(OpCreate, s, nil))
	upd := s.DeepCopy()
	upd.Spec.Ports[0].NodePort = 30201
	txn, errs := a.Begin(OpUpdate, upd, s)
	require.Empty(t, errs)
	assert.True(t, a.HasNodePort(30201), "reserved before commit")
	assert.True(t, a.HasNodePort(30200), "released only at commit")
	txn.Revert()
	assert.False(t, a.HasNodePort(30201))
	assert.True(t, a.HasNodePort(30200))
	assert.Panics(t, func() { txn.Commit() })
}

func TestLoadBalancerLocalGetsHealthCheckNodePort(t *testing.T) {
	a := newAlloc(t, 5, Config{})
	s := clusterIPSvc("lb")
	s.Spec.Type = v1.ServiceTypeLoadBalancer
	s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	require.Empty(t, a.Admit(OpCreate, s, nil))
	assert.NotZero(t, s.Spec.HealthCheckNodePort)
	assert.Equal(t, 2, a.UsedNodePorts())
	require.Empty(t, a.Admit(OpDelete, nil, s))
	assert.Zero(t, a.UsedNodePorts())
}

func TestSmallRangeFillsAndReportsFull(t *testing.T) {
	a := newAlloc(t, 9, Config{ServiceCIDR: "192.168.0.0/29", NodePortRange: "30000-30002"})
	var got []string
	for i := range 6 { // /29 = 8 addresses, 6 usable, no static band
		s := clusterIPSvc(fmt.Sprintf("s%d", i))
		require.Empty(t, a.Admit(OpCreate, s, nil))
		got = append(got, s.Spec.ClusterIP)
	}
	slices.Sort(got)
	assert.Equal(t, []string{"192.168.0.1", "192.168.0.2", "192.168.0.3", "192.168.0.4", "192.168.0.5", "192.168.0.6"}, got)
	errs := a.Admit(OpCreate, clusterIPSvc("full"), nil)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "failed to allocate a serviceIP: range is full")
}

func TestConfigErrors(t *testing.T) {
	_, err := New(sim.New(1), Config{ServiceCIDR: "fd00::/108"})
	assert.ErrorContains(t, err, "IPv4")
	_, err = New(sim.New(1), Config{ServiceCIDR: "10.96.0.1/12"})
	assert.ErrorContains(t, err, "did you mean 10.96.0.0/12")
	_, err = New(sim.New(1), Config{NodePortRange: "nope"})
	assert.Error(t, err)
}

// TestAllocationsMatchLiveServices: for random create/update/delete
// sequences, the allocator holds exactly the union of the live services'
// IPs and node ports, with no value held twice.
func TestAllocationsMatchLiveServices(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, err := New(sim.New(rapid.Uint64().Draw(t, "seed")), Config{ServiceCIDR: "10.0.0.0/27", NodePortRange: "30000-30019"})
		require.NoError(t, err)
		live := map[string]*v1.Service{}
		for step := range rapid.IntRange(1, 60).Draw(t, "steps") {
			name := fmt.Sprintf("s%d", rapid.IntRange(0, 9).Draw(t, "name"))
			cur, exists := live[name]
			switch {
			case !exists:
				s := clusterIPSvc(name)
				s.Spec.Type = rapid.SampledFrom([]v1.ServiceType{"", v1.ServiceTypeNodePort, v1.ServiceTypeExternalName}).Draw(t, "type")
				if s.Spec.Type == v1.ServiceTypeExternalName {
					s.Spec.ExternalName = "x.example"
				}
				if s.Spec.Type == v1.ServiceTypeNodePort && rapid.Bool().Draw(t, "askPort") {
					s.Spec.Ports[0].NodePort = int32(30000 + rapid.IntRange(0, 19).Draw(t, "port"))
				}
				if s.Spec.Type != v1.ServiceTypeExternalName && rapid.Bool().Draw(t, "askIP") {
					s.Spec.ClusterIP = fmt.Sprintf("10.0.0.%d", rapid.IntRange(1, 30).Draw(t, "ip"))
				}
				if errs := a.Admit(OpCreate, s, nil); len(errs) == 0 {
					live[name] = s
				}
			case rapid.Bool().Draw(t, "delete"):
				require.Empty(t, a.Admit(OpDelete, nil, cur))
				delete(live, name)
			default:
				u := cur.DeepCopy()
				u.Spec.Type = rapid.SampledFrom([]v1.ServiceType{v1.ServiceTypeClusterIP, v1.ServiceTypeNodePort}).Draw(t, "newType")
				u.Spec.ExternalName = ""
				if errs := a.Admit(OpUpdate, u, cur); len(errs) == 0 {
					live[name] = u
				}
			}
			var wantIPs []string
			var wantPorts []int
			for _, s := range live {
				wantIPs = append(wantIPs, allocatedIPs(s)...)
				wantPorts = append(wantPorts, allocatedPorts(s)...)
			}
			slices.SortFunc(wantIPs, func(x, y string) int { return netip.MustParseAddr(x).Compare(netip.MustParseAddr(y)) })
			slices.Sort(wantPorts)
			require.Equal(t, wantIPs, a.AllocatedIPs(), "step %d", step)
			require.Equal(t, wantPorts, a.AllocatedNodePorts(), "step %d", step)
		}
	})
}
