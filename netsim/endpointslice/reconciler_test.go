package endpointslice

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"pgregory.net/rapid"
)

// Helpers modelled on upstream's reconciler_test.go / utils_test.go
// (newServiceAndEndpointMeta, newPod, newEmptyEndpointSlice), with valid
// pod IPs.

const ns = "test"

func newService(name string) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(name + "-uid")},
		Spec: v1.ServiceSpec{
			Ports:      []v1.ServicePort{{TargetPort: intstr.FromInt32(80), Protocol: v1.ProtocolTCP}},
			Selector:   map[string]string{"foo": "bar"},
			IPFamilies: []v1.IPFamily{v1.IPv4Protocol},
		},
	}
}

func newPod(i int, ready, terminating bool) *v1.Pod {
	status := v1.ConditionTrue
	if !ready {
		status = v1.ConditionFalse
	}
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod%d", i), Namespace: ns, Labels: map[string]string{"foo": "bar"}, UID: types.UID(fmt.Sprintf("uid-%d", i))},
		Spec:       v1.PodSpec{NodeName: "node-1", Containers: []v1.Container{{Name: "c", Ports: []v1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: v1.ProtocolTCP}}}}},
		Status: v1.PodStatus{
			Phase:      v1.PodRunning,
			Conditions: []v1.PodCondition{{Type: v1.PodReady, Status: status}},
			PodIP:      fmt.Sprintf("10.0.%d.%d", i/250, i%250+1),
		},
	}
	p.Status.PodIPs = []v1.PodIP{{IP: p.Status.PodIP}}
	if terminating {
		p.DeletionTimestamp = &metav1.Time{Time: time.Unix(100, 0)}
	}
	return p
}

func newPods(n int) []*v1.Pod {
	var pods []*v1.Pod
	for i := range n {
		pods = append(pods, newPod(i, i%3 != 0, false))
	}
	return pods
}

var node1 = &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}

func nodesOf(nodes ...*v1.Node) NodeGetter {
	return func(name string) (*v1.Node, bool) {
		for _, n := range nodes {
			if n.Name == name {
				return n, true
			}
		}
		return nil, false
	}
}

func defaultNodes() NodeGetter { return nodesOf(node1) }

var port80 = []discovery.EndpointPort{{Name: ptr.To(""), Port: ptr.To[int32](80), Protocol: ptr.To(v1.ProtocolTCP)}}

// existingSlice builds a stored slice named <svc>-<i> holding the endpoints
// of pods.
func existingSlice(i int, svc *v1.Service, ports []discovery.EndpointPort, pods ...*v1.Pod) *discovery.EndpointSlice {
	s := newSlice(svc, slices.Clone(ports), discovery.AddressTypeIPv4, ControllerName)
	s.Name = fmt.Sprintf("%s-%d", svc.Name, i)
	s.ResourceVersion = "1"
	for _, p := range pods {
		s.Endpoints = append(s.Endpoints, podToEndpoint(p, &v1.Node{}, svc, discovery.AddressTypeIPv4))
	}
	return s
}

func lengths(slices_ ...[]*discovery.EndpointSlice) []int {
	var out []int
	for _, ss := range slices_ {
		for _, s := range ss {
			out = append(out, len(s.Endpoints))
		}
	}
	slices.Sort(out)
	return out
}

func sorted(xs ...int) []int { slices.Sort(xs); return xs }

// fakeAPI applies plans the way the API server would, naming created slices.
type fakeAPI struct {
	slices map[string]*discovery.EndpointSlice
	seq    int
}

func newFakeAPI(existing ...*discovery.EndpointSlice) *fakeAPI {
	f := &fakeAPI{slices: map[string]*discovery.EndpointSlice{}}
	for _, s := range existing {
		f.slices[s.Name] = s
	}
	return f
}

func (f *fakeAPI) apply(t require.TestingT, p Plan) {
	for _, s := range p.Create {
		require.Empty(t, s.Name, "creates are named by the API server")
		c := s.DeepCopy()
		f.seq++
		c.Name = fmt.Sprintf("%s%05d", s.GenerateName, f.seq)
		c.ResourceVersion = fmt.Sprint(f.seq)
		f.slices[c.Name] = c
	}
	for _, s := range p.Update {
		require.Contains(t, f.slices, s.Name, "update of a missing slice")
		c := s.DeepCopy()
		f.seq++
		c.ResourceVersion = fmt.Sprint(f.seq)
		f.slices[s.Name] = c
	}
	for _, s := range p.Delete {
		require.Contains(t, f.slices, s.Name, "delete of a missing slice")
		delete(f.slices, s.Name)
	}
}

func (f *fakeAPI) list() []*discovery.EndpointSlice {
	var out []*discovery.EndpointSlice
	for _, s := range f.slices {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *discovery.EndpointSlice) int { return compareStrings(a.Name, b.Name) })
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var r = Reconciler{}

// TestReconcileEmpty ports upstream's TestReconcileEmpty: no pods still
// yields one placeholder slice.
func TestReconcileEmpty(t *testing.T) {
	svc := newService("foo")
	p := r.Reconcile(svc, nil, nil, defaultNodes(), time.Time{})
	require.Len(t, p.Create, 1)
	assert.Empty(t, p.Update)
	assert.Empty(t, p.Delete)
	s := p.Create[0]
	assert.Equal(t, "foo-", s.GenerateName)
	assert.Equal(t, "foo", s.Labels[discovery.LabelServiceName])
	assert.Equal(t, ControllerName, s.Labels[discovery.LabelManagedBy])
	assert.Equal(t, []discovery.EndpointPort{}, s.Ports)
	assert.Equal(t, []discovery.Endpoint{}, s.Endpoints)
	require.Len(t, s.OwnerReferences, 1)
	assert.Equal(t, metav1.OwnerReference{APIVersion: "v1", Kind: "Service", Name: "foo", UID: "foo-uid", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}, s.OwnerReferences[0])
}

// TestReconcile1Pod ports the ipv4, ipv4-clusterip, ipv4-labels and
// ipv4-bad-labels cases of upstream's TestReconcile1Pod.
func TestReconcile1Pod(t *testing.T) {
	pod := newPod(1, true, false)
	pod.Status.PodIP = "1.2.3.4"
	pod.Status.PodIPs = []v1.PodIP{{IP: "1.2.3.4"}, {IP: "1234::5678:0000:0000:9abc:def0"}}
	pod.Spec.Hostname = "example-hostname"
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{
		"topology.kubernetes.io/zone": "us-central1-a", "topology.kubernetes.io/region": "us-central1"}}}
	wantEndpoint := discovery.Endpoint{
		Addresses:  []string{"1.2.3.4"},
		Conditions: discovery.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
		Zone:       ptr.To("us-central1-a"),
		NodeName:   ptr.To("node-1"),
		TargetRef:  &v1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "pod1", UID: "uid-1"},
	}
	cases := map[string]struct {
		mutate     func(*v1.Service)
		wantLabels map[string]string
	}{
		"ipv4": {func(*v1.Service) {}, map[string]string{
			discovery.LabelManagedBy: ControllerName, discovery.LabelServiceName: "foo", v1.IsHeadlessService: ""}},
		"ipv4-clusterip": {func(s *v1.Service) { s.Spec.ClusterIP = "1.1.1.1" }, map[string]string{
			discovery.LabelManagedBy: ControllerName, discovery.LabelServiceName: "foo"}},
		"ipv4-labels": {func(s *v1.Service) { s.Labels = map[string]string{"foo": "bar"} }, map[string]string{
			discovery.LabelManagedBy: ControllerName, discovery.LabelServiceName: "foo", "foo": "bar", v1.IsHeadlessService: ""}},
		"ipv4-bad-labels": {func(s *v1.Service) {
			s.Labels = map[string]string{discovery.LabelServiceName: "bad", discovery.LabelManagedBy: "actor", v1.IsHeadlessService: "invalid"}
		}, map[string]string{
			discovery.LabelManagedBy: ControllerName, discovery.LabelServiceName: "foo", v1.IsHeadlessService: ""}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			svc := newService("foo")
			tc.mutate(svc)
			trigger := time.Date(2026, 1, 1, 0, 0, 1, 500, time.UTC)
			p := r.Reconcile(svc, []*v1.Pod{pod}, nil, nodesOf(node), trigger)
			require.Len(t, p.Create, 1)
			s := p.Create[0]
			assert.Equal(t, tc.wantLabels, s.Labels)
			assert.Equal(t, discovery.AddressTypeIPv4, s.AddressType)
			assert.Equal(t, "2026-01-01T00:00:01.0000005Z", s.Annotations[v1.EndpointsLastChangeTriggerTime])
			require.Len(t, s.Endpoints, 1)
			assert.Equal(t, wantEndpoint, s.Endpoints[0])
			assert.Equal(t, port80, s.Ports)
			assert.Equal(t, 1, p.Added)
		})
	}
}

// TestReconcile1EndpointSlice ports upstream's test of the same name: an
// identical placeholder is left alone, a different one is updated.
func TestReconcile1EndpointSlice(t *testing.T) {
	svc := newService("foo")
	same := newSlice(svc, []discovery.EndpointPort{}, discovery.AddressTypeIPv4, ControllerName)
	same.Name = "foo-abcde"
	p := r.Reconcile(svc, nil, []*discovery.EndpointSlice{same}, defaultNodes(), time.Time{})
	assert.True(t, p.Empty(), "existing identical placeholder: no writes")

	different := existingSlice(1, svc, port80)
	different.Labels = map[string]string{"bar": "baz"}
	p = r.Reconcile(svc, nil, []*discovery.EndpointSlice{different}, defaultNodes(), time.Time{})
	assert.Empty(t, p.Create)
	assert.Empty(t, p.Delete)
	require.Len(t, p.Update, 1, "the placeholder create is recycled into an update")
	assert.Equal(t, "foo-1", p.Update[0].Name)
	assert.Equal(t, []discovery.EndpointPort{}, p.Update[0].Ports)
	assert.Equal(t, "foo", p.Update[0].Labels[discovery.LabelServiceName])
}

// TestReconcile1EndpointSlicePublishNotReadyAddresses ports upstream's
// test: with publishNotReadyAddresses every endpoint is ready.
func TestReconcile1EndpointSlicePublishNotReadyAddresses(t *testing.T) {
	svc := newService("foo")
	svc.Spec.PublishNotReadyAddresses = true
	p := r.Reconcile(svc, newPods(50), nil, defaultNodes(), time.Time{})
	require.Len(t, p.Create, 1)
	assert.Len(t, p.Create[0].Endpoints, 50)
	for i, ep := range p.Create[0].Endpoints {
		assert.True(t, *ep.Conditions.Ready, "endpoint %d", i)
	}
	notReady := 0
	for _, ep := range p.Create[0].Endpoints {
		if !*ep.Conditions.Serving {
			notReady++
		}
	}
	assert.Equal(t, 17, notReady, "serving still reflects pod readiness (i%3==0 not ready)")
}

// TestReconcileManyPods ports upstream's test: 250 pods ⇒ 3 slices (100,
// 100, 50), all creates.
func TestReconcileManyPods(t *testing.T) {
	p := r.Reconcile(newService("foo"), newPods(250), nil, defaultNodes(), time.Time{})
	assert.Len(t, p.Create, 3)
	assert.Empty(t, p.Update)
	assert.Equal(t, []int{50, 100, 100}, lengths(p.Create))
	assert.Equal(t, 250, p.Added)
}

// TestReconcileEndpointSlicesSomePreexisting ports upstream's test: 62 and
// 61 endpoints exist, 127 to add ⇒ one new full slice and 27 into the
// slice that gets closest to full (62 ⇒ 89).
func TestReconcileEndpointSlicesSomePreexisting(t *testing.T) {
	svc := newService("foo")
	pods := newPods(250)
	var p1, p2 []*v1.Pod
	for i := 1; i < len(pods)-4; i += 4 {
		p1 = append(p1, pods[i])
	}
	for i := 3; i < len(pods)-4; i += 4 {
		p2 = append(p2, pods[i])
	}
	s1, s2 := existingSlice(1, svc, port80, p1...), existingSlice(2, svc, port80, p2...)
	require.Len(t, s1.Endpoints, 62)
	require.Len(t, s2.Endpoints, 61)
	before1, before2 := s1.DeepCopy(), s2.DeepCopy()

	p := r.Reconcile(svc, pods, []*discovery.EndpointSlice{s1, s2}, defaultNodes(), time.Time{})
	assert.Len(t, p.Create, 1)
	require.Len(t, p.Update, 1)
	assert.Equal(t, "foo-1", p.Update[0].Name)
	assert.Equal(t, sorted(89, 61, 100), lengths(p.Create, p.Update, []*discovery.EndpointSlice{s2}))
	assert.Equal(t, 127, p.Added)
	assert.Equal(t, before1, s1, "cached slices are never mutated")
	assert.Equal(t, before2, s2)
}

// TestReconcileEndpointSlicesSomePreexistingWorseAllocation ports
// upstream's test: 74+74 exist, 152 to add ⇒ two creates (100, 52) rather
// than splitting the 52 over two updates.
func TestReconcileEndpointSlicesSomePreexistingWorseAllocation(t *testing.T) {
	svc := newService("foo")
	pods := newPods(300)
	var p1, p2 []*v1.Pod
	for i := 1; i < len(pods)-4; i += 4 {
		p1 = append(p1, pods[i])
	}
	for i := 3; i < len(pods)-4; i += 4 {
		p2 = append(p2, pods[i])
	}
	s1, s2 := existingSlice(1, svc, port80, p1...), existingSlice(2, svc, port80, p2...)
	p := r.Reconcile(svc, pods, []*discovery.EndpointSlice{s1, s2}, defaultNodes(), time.Time{})
	assert.Len(t, p.Create, 2)
	assert.Empty(t, p.Update)
	assert.Equal(t, sorted(74, 74, 100, 52), lengths(p.Create, []*discovery.EndpointSlice{s1, s2}))
	assert.Equal(t, 152, p.Added)
}

// TestReconcileEndpointSlicesUpdating ports upstream's test: a target port
// change updates the three slices in place instead of create + delete.
func TestReconcileEndpointSlicesUpdating(t *testing.T) {
	svc := newService("foo")
	pods := newPods(250)
	api := newFakeAPI()
	api.apply(t, r.Reconcile(svc, pods, nil, defaultNodes(), time.Time{}))
	require.Len(t, api.slices, 3)

	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(81)
	p := r.Reconcile(svc, pods, api.list(), defaultNodes(), time.Time{})
	assert.Empty(t, p.Create)
	assert.Empty(t, p.Delete)
	assert.Len(t, p.Update, 3)
	api.apply(t, p)
	assert.Equal(t, []int{50, 100, 100}, lengths(api.list()))
	for _, s := range api.list() {
		assert.Equal(t, int32(81), *s.Ports[0].Port)
	}
}

// TestReconcileEndpointSlicesServicesLabelsUpdating and ...ReservedLabels
// port upstream's tests: service labels are mirrored (3 updates), reserved
// ones ignored (no writes).
func TestReconcileEndpointSlicesServicesLabels(t *testing.T) {
	svc := newService("foo")
	pods := newPods(250)
	api := newFakeAPI()
	api.apply(t, r.Reconcile(svc, pods, nil, defaultNodes(), time.Time{}))

	reserved := svc.DeepCopy()
	reserved.Labels = map[string]string{discovery.LabelServiceName: "bad", discovery.LabelManagedBy: "actor", v1.IsHeadlessService: "invalid"}
	assert.True(t, r.Reconcile(reserved, pods, api.list(), defaultNodes(), time.Time{}).Empty())

	svc.Labels = map[string]string{"foo": "bar"}
	p := r.Reconcile(svc, pods, api.list(), defaultNodes(), time.Time{})
	assert.Len(t, p.Update, 3)
	assert.Empty(t, p.Create)
	for _, s := range p.Update {
		assert.Equal(t, "bar", s.Labels["foo"])
		assert.Equal(t, "foo", s.Labels[discovery.LabelServiceName])
	}
}

// TestReconcileEndpointSlicesRecycling ports upstream's test: 10 slices of
// 30 are left alone; a port change recycles them into 3 full slices (3
// updates + 7 deletes).
func TestReconcileEndpointSlicesRecycling(t *testing.T) {
	svc := newService("foo")
	pods := newPods(300)
	var existing []*discovery.EndpointSlice
	for i := 0; i < 300; i += 30 {
		existing = append(existing, existingSlice(i/30, svc, port80, pods[i:i+30]...))
	}
	assert.True(t, r.Reconcile(svc, pods, existing, defaultNodes(), time.Time{}).Empty(), "no re-packing while nothing changes")

	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(81)
	p := r.Reconcile(svc, pods, existing, defaultNodes(), time.Time{})
	assert.Empty(t, p.Create)
	assert.Len(t, p.Update, 3)
	assert.Len(t, p.Delete, 7)
	assert.Equal(t, []int{100, 100, 100}, lengths(p.Update))
}

// TestReconcileEndpointSlicesUpdatePacking ports upstream's test: new
// endpoints go into the fullest slice already being updated (80+15 = 95).
func TestReconcileEndpointSlicesUpdatePacking(t *testing.T) {
	svc := newService("foo")
	var pods, in1, in2 []*v1.Pod
	for i := range 80 {
		p := newPod(i, true, false)
		in1 = append(in1, p)
		pods = append(pods, p)
	}
	for i := 100; i < 120; i++ {
		p := newPod(i, true, false)
		in2 = append(in2, p)
		pods = append(pods, p)
	}
	s1, s2 := existingSlice(1, svc, port80, in1...), existingSlice(2, svc, port80, in2...)
	for i, p := range pods {
		if i%10 == 0 {
			p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionFalse}}
		}
	}
	for i := 200; i < 215; i++ {
		pods = append(pods, newPod(i, true, false))
	}
	p := r.Reconcile(svc, pods, []*discovery.EndpointSlice{s1, s2}, defaultNodes(), time.Time{})
	assert.Empty(t, p.Create)
	require.Len(t, p.Update, 2)
	assert.Equal(t, []int{20, 95}, lengths(p.Update))
	assert.Equal(t, 15, p.Added)
}

// TestReconcileEndpointSlicesRecreation ports upstream's test: a slice
// owned by an older Service with the same name is replaced (create +
// delete), one owned by this Service is kept.
func TestReconcileEndpointSlicesRecreation(t *testing.T) {
	svc := newService("foo")
	pod := newPod(1, true, false)
	owned := existingSlice(1, svc, port80, pod)
	assert.True(t, r.Reconcile(svc, []*v1.Pod{pod}, []*discovery.EndpointSlice{owned}, defaultNodes(), time.Time{}).Empty())

	foreign := existingSlice(1, svc, port80, pod)
	foreign.OwnerReferences[0].UID = "different"
	p := r.Reconcile(svc, []*v1.Pod{pod}, []*discovery.EndpointSlice{foreign}, defaultNodes(), time.Time{})
	assert.Len(t, p.Create, 1)
	assert.Empty(t, p.Update)
	assert.Equal(t, []*discovery.EndpointSlice{foreign}, p.Delete)
}

// TestReconcileEndpointSlicesNamedPorts ports upstream's test: a named
// target port resolving to 5 different numbers gives 5 slices of 60.
func TestReconcileEndpointSlicesNamedPorts(t *testing.T) {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "named-port-example", Namespace: ns, UID: "np"},
		Spec: v1.ServiceSpec{
			Ports:      []v1.ServicePort{{TargetPort: intstr.FromString("http"), Protocol: v1.ProtocolTCP}},
			Selector:   map[string]string{"foo": "bar"},
			IPFamilies: []v1.IPFamily{v1.IPv4Protocol},
		},
	}
	var pods []*v1.Pod
	for i := range 300 {
		p := newPod(i, i%3 != 0, false)
		p.Spec.Containers[0].Ports = []v1.ContainerPort{{Name: "http", ContainerPort: int32(8080 + i%5), Protocol: v1.ProtocolTCP}}
		pods = append(pods, p)
	}
	p := r.Reconcile(svc, pods, nil, defaultNodes(), time.Time{})
	require.Len(t, p.Create, 5)
	assert.Equal(t, []int{60, 60, 60, 60, 60}, lengths(p.Create))
	var got []int32
	for _, s := range p.Create {
		require.Len(t, s.Ports, 1)
		assert.Equal(t, "", *s.Ports[0].Name)
		got = append(got, *s.Ports[0].Port)
	}
	slices.Sort(got)
	assert.Equal(t, []int32{8080, 8081, 8082, 8083, 8084}, got)
}

// TestReconcileMaxEndpointsPerSlice ports upstream's table.
func TestReconcileMaxEndpointsPerSlice(t *testing.T) {
	for _, tc := range []struct {
		max  int
		want []int
	}{
		{50, []int{50, 50, 50, 50, 50}},
		{80, sorted(80, 80, 80, 10)},
		{150, sorted(150, 100)},
		{250, []int{250}},
		{500, []int{250}},
	} {
		p := Reconciler{MaxEndpointsPerSlice: tc.max}.Reconcile(newService("foo"), newPods(250), nil, defaultNodes(), time.Time{})
		assert.Equal(t, tc.want, lengths(p.Create), "max %d", tc.max)
	}
}

// TestReconcileEndpointSlicesMetrics ports the second half of upstream's
// test: dropping 10 of 20 pods updates the slice, removing 10.
func TestReconcileEndpointSlicesMetrics(t *testing.T) {
	svc := newService("foo")
	var pods []*v1.Pod
	for i := range 20 {
		pods = append(pods, newPod(i, true, false))
	}
	api := newFakeAPI()
	api.apply(t, r.Reconcile(svc, pods, nil, defaultNodes(), time.Time{}))
	p := r.Reconcile(svc, pods[:10], api.list(), defaultNodes(), time.Time{})
	assert.Len(t, p.Update, 1)
	assert.Equal(t, 10, p.Removed)
	assert.Equal(t, 0, p.Added)
	assert.Len(t, p.Update[0].Endpoints, 10)
}

// TestReconcilerFinalizeSvcDeletionTimestamp ports upstream's intent: no
// creates for a service being deleted, updates and deletes still go out.
func TestReconcilerFinalizeSvcDeletionTimestamp(t *testing.T) {
	svc := newService("foo")
	svc.DeletionTimestamp = &metav1.Time{Time: time.Unix(5, 0)}
	p := r.Reconcile(svc, newPods(3), nil, defaultNodes(), time.Time{})
	assert.Empty(t, p.Create)

	pods := newPods(3)
	stale := existingSlice(1, svc, port80, pods[0])
	p = r.Reconcile(svc, pods[1:], []*discovery.EndpointSlice{stale}, defaultNodes(), time.Time{})
	require.Len(t, p.Update, 1, "recycled create still goes out as an update")
	assert.Len(t, p.Update[0].Endpoints, 2)
}

// TestReconcilerPodMissingNode ports upstream's cases: a pod on an unknown
// node is skipped with an error, unless publishNotReadyAddresses.
func TestReconcilerPodMissingNode(t *testing.T) {
	pods := []*v1.Pod{newPod(0, true, false), newPod(1, true, false)}
	pods[0].Spec.NodeName = "node-0"
	pods[1].Spec.NodeName = "node-1"
	node0 := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-0"}}

	svc := newService("foo")
	p := r.Reconcile(svc, pods, nil, nodesOf(node0), time.Time{})
	require.Len(t, p.Create, 1)
	assert.Len(t, p.Create[0].Endpoints, 1)
	require.Len(t, p.Errs, 1)
	assert.Equal(t, "skipping Pod pod1 for Service test/foo: Node node-1 Not Found", p.Errs[0].Error())

	svc.Spec.PublishNotReadyAddresses = true
	p = r.Reconcile(svc, pods, nil, nodesOf(node0), time.Time{})
	require.Len(t, p.Create, 1)
	assert.Len(t, p.Create[0].Endpoints, 2)
	assert.Empty(t, p.Errs)

	// "Update if publishNotReady false and no nodes are present": the slice
	// is emptied by an update (placeholder recycled), not deleted.
	svc.Spec.PublishNotReadyAddresses = false
	both := existingSlice(1, svc, port80, pods...)
	p = r.Reconcile(svc, pods, []*discovery.EndpointSlice{both}, nodesOf(), time.Time{})
	assert.Empty(t, p.Create)
	assert.Empty(t, p.Delete)
	require.Len(t, p.Update, 1)
	assert.Empty(t, p.Update[0].Endpoints)
	assert.Equal(t, 2, p.Removed)
	assert.Len(t, p.Errs, 2)
}

// TestTerminatingPodConditions checks §7.1/§9.3: a terminating pod stays in
// its slice with ready=false, terminating=true, serving=<pod Ready>; a
// terminal pod is removed.
func TestTerminatingPodConditions(t *testing.T) {
	svc := newService("foo")
	readyTerm := newPod(1, true, true)
	notReadyTerm := newPod(2, false, true)
	done := newPod(3, true, false)
	done.Status.Phase = v1.PodSucceeded
	p := r.Reconcile(svc, []*v1.Pod{readyTerm, notReadyTerm, done}, nil, defaultNodes(), time.Time{})
	require.Len(t, p.Create, 1)
	eps := p.Create[0].Endpoints
	require.Len(t, eps, 2)
	assert.Equal(t, "pod1", eps[0].TargetRef.Name)
	assert.Equal(t, discovery.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)}, eps[0].Conditions)
	assert.Equal(t, "pod2", eps[1].TargetRef.Name)
	assert.Equal(t, discovery.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(false), Terminating: ptr.To(true)}, eps[1].Conditions)

	svc.Spec.PublishNotReadyAddresses = true
	p = r.Reconcile(svc, []*v1.Pod{readyTerm}, nil, defaultNodes(), time.Time{})
	assert.True(t, *p.Create[0].Endpoints[0].Conditions.Ready, "publishNotReadyAddresses makes even terminating endpoints ready")
}

func TestConditionChangeUpdatesInPlace(t *testing.T) {
	svc := newService("foo")
	pods := []*v1.Pod{newPod(1, true, false), newPod(2, true, false)}
	api := newFakeAPI()
	api.apply(t, r.Reconcile(svc, pods, nil, defaultNodes(), time.Time{}))
	name := api.list()[0].Name

	term := pods[0].DeepCopy()
	term.DeletionTimestamp = &metav1.Time{Time: time.Unix(9, 0)}
	p := r.Reconcile(svc, []*v1.Pod{term, pods[1]}, api.list(), defaultNodes(), time.Time{})
	require.Len(t, p.Update, 1)
	assert.Equal(t, name, p.Update[0].Name)
	assert.NotEmpty(t, p.Update[0].ResourceVersion, "in-place update carries the stored resourceVersion")
	assert.Empty(t, p.Create)
	assert.Empty(t, p.Delete)
	eps := p.Update[0].Endpoints
	require.Len(t, eps, 2)
	assert.True(t, *eps[0].Conditions.Terminating)
	assert.False(t, *eps[0].Conditions.Ready)
	assert.True(t, *eps[0].Conditions.Serving)
	assert.False(t, *eps[1].Conditions.Terminating)
}

func TestHostnameAndZone(t *testing.T) {
	svc := newService("web")
	pod := newPod(1, true, false)
	pod.Spec.Hostname = "web-0"
	pod.Spec.Subdomain = "web"
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{v1.LabelTopologyZone: "zone-a"}}}
	p := r.Reconcile(svc, []*v1.Pod{pod}, nil, nodesOf(node), time.Time{})
	ep := p.Create[0].Endpoints[0]
	assert.Equal(t, "web-0", *ep.Hostname)
	assert.Equal(t, "zone-a", *ep.Zone)
	assert.Equal(t, "node-1", *ep.NodeName)

	other := newService("other")
	p = r.Reconcile(other, []*v1.Pod{pod}, nil, nodesOf(node), time.Time{})
	assert.Nil(t, p.Create[0].Endpoints[0].Hostname, "hostname only when the subdomain names the service")
}

func TestSelectPods(t *testing.T) {
	svc := newService("foo")
	a := newPod(1, true, false)
	b := newPod(2, true, false)
	b.Labels = map[string]string{"foo": "baz"}
	c := newPod(3, true, false)
	c.Namespace = "elsewhere"
	assert.Equal(t, []*v1.Pod{a}, SelectPods(svc, []*v1.Pod{a, b, c}))
	svc.Spec.Selector = nil
	assert.Empty(t, SelectPods(svc, []*v1.Pod{a}))
}

// TestReconcileConverges is a property: for random pod sets and random
// existing states reached through earlier reconciles, applying the plan
// gives exactly the desired endpoints, once each, in slices of at most max,
// and a second reconcile makes no write. Inputs are never mutated and the
// plan does not depend on the order of the inputs.
func TestReconcileConverges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		max := rapid.IntRange(1, 12).Draw(t, "max")
		rc := Reconciler{MaxEndpointsPerSlice: max}
		svc := newService("svc")
		api := newFakeAPI()
		for round := range rapid.IntRange(1, 5).Draw(t, "rounds") {
			var pods []*v1.Pod
			for i := range rapid.IntRange(0, 40).Draw(t, "pods") {
				if rapid.IntRange(0, 3).Draw(t, "skip") == 0 {
					continue
				}
				p := newPod(i, rapid.Bool().Draw(t, "ready"), rapid.IntRange(0, 4).Draw(t, "term") == 0)
				if rapid.IntRange(0, 5).Draw(t, "named") == 0 {
					p.Spec.Containers[0].Ports[0].ContainerPort = 81
				}
				pods = append(pods, p)
			}
			svc.Spec.Ports[0].TargetPort = intstr.FromString("http")
			existing := api.list()
			snapshot := make([]*discovery.EndpointSlice, len(existing))
			for i, s := range existing {
				snapshot[i] = s.DeepCopy()
			}
			plan := rc.Reconcile(svc, pods, existing, defaultNodes(), time.Time{})
			shuffled := slices.Clone(existing)
			slices.Reverse(shuffled)
			revPods := slices.Clone(pods)
			slices.Reverse(revPods)
			assert.Equal(t, plan, rc.Reconcile(svc, revPods, shuffled, defaultNodes(), time.Time{}), "order-independent")
			for i := range existing {
				require.Equal(t, snapshot[i], existing[i], "input mutated")
			}
			api.apply(t, plan)

			seen := map[string]int{}
			for _, s := range api.list() {
				require.LessOrEqual(t, len(s.Endpoints), max, "round %d", round)
				for _, ep := range s.Endpoints {
					seen[ep.TargetRef.Name]++
				}
			}
			want := map[string]int{}
			for _, p := range pods {
				want[p.Name] = 1
			}
			require.Equal(t, want, seen, "round %d", round)
			if len(pods) == 0 {
				require.Len(t, api.slices, 1, "placeholder")
			}
			require.True(t, rc.Reconcile(svc, pods, api.list(), defaultNodes(), time.Time{}).Empty(), "round %d: second reconcile writes", round)
		}
	})
}

// TestReconcileRecyclesPerAddressType follows upstream's Reconcile, which
// calls finalize once per address type: a dual-stack Service whose target
// port changes recycles each family's new slice into an update of that
// family's old one (upstream's finalize only looks at the last create, so
// a single pass over both families would pair an IPv6 create with the IPv4
// delete, miss, and create and delete the IPv4 slice instead).
func TestReconcileRecyclesPerAddressType(t *testing.T) {
	svc := newService("foo")
	svc.Spec.IPFamilies = []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol}
	pods := newPods(3)
	for i, p := range pods {
		p.Status.PodIPs = append(p.Status.PodIPs, v1.PodIP{IP: fmt.Sprintf("fd00::%d", i+1)})
	}
	v4 := existingSlice(1, svc, port80, pods...)
	v6 := newSlice(svc, slices.Clone(port80), discovery.AddressTypeIPv6, ControllerName)
	v6.Name, v6.ResourceVersion = "foo-2", "1"
	for _, p := range pods {
		v6.Endpoints = append(v6.Endpoints, podToEndpoint(p, &v1.Node{}, svc, discovery.AddressTypeIPv6))
	}
	existing := []*discovery.EndpointSlice{v4, v6}
	require.True(t, r.Reconcile(svc, pods, existing, defaultNodes(), time.Time{}).Empty())

	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(81)
	p := r.Reconcile(svc, pods, existing, defaultNodes(), time.Time{})
	assert.Empty(t, p.Create)
	assert.Empty(t, p.Delete)
	require.Len(t, p.Update, 2)
	got := map[string]discovery.AddressType{}
	for _, s := range p.Update {
		got[s.Name] = s.AddressType
		assert.Equal(t, int32(81), *s.Ports[0].Port, s.Name)
		assert.Len(t, s.Endpoints, 3, s.Name)
	}
	assert.Equal(t, map[string]discovery.AddressType{"foo-1": discovery.AddressTypeIPv4, "foo-2": discovery.AddressTypeIPv6}, got)
}

// TestRecycledUpdateIsUnconditional follows upstream's finalize, which
// gives a create recycled into an update only the old slice's name: the
// update carries no resourceVersion (nor UID), so the API server applies it
// unconditionally (EndpointSlice's strategy allows that) instead of
// refusing it with a conflict when the slice changed in the meantime.
func TestRecycledUpdateIsUnconditional(t *testing.T) {
	svc := newService("foo")
	pods := newPods(2)
	old := existingSlice(1, svc, port80, pods...)
	old.ResourceVersion, old.UID = "7", "slice-uid"
	old.CreationTimestamp = metav1.Time{Time: time.Unix(3, 0)}
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(81)
	p := r.Reconcile(svc, pods, []*discovery.EndpointSlice{old}, defaultNodes(), time.Time{})
	require.Len(t, p.Update, 1)
	u := p.Update[0]
	assert.Equal(t, "foo-1", u.Name)
	assert.Empty(t, u.ResourceVersion)
	assert.Empty(t, u.UID)
	assert.True(t, u.CreationTimestamp.IsZero())
	assert.Equal(t, "foo-", u.GenerateName)
}
