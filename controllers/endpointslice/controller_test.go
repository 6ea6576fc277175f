package endpointslice_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/controllers/endpointslice"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
	"github.com/kubesim/kubesim/sim/mvcc"
	"github.com/kubesim/kubesim/sim/record"
)

var ctx = context.Background()

type env struct {
	eng   *sim.Engine
	api   *apiserver.Server
	f     *informer.Factory
	user  client.Interface
	ctl   *endpointslice.Controller
	trace []sim.Record
	ip    int
}

type tb interface {
	require.TestingT
	Helper()
}

func newEnv(t tb, seed uint64, watchDelay time.Duration, cfg endpointslice.Config) *env {
	t.Helper()
	eng := sim.New(seed)
	acfg := apiserver.DefaultConfig()
	acfg.WatchDelay = watchDelay
	api := apiserver.New(eng, mvcc.New(eng, mvcc.Config{WatchDelay: watchDelay}), acfg)
	f := informer.NewFactory(api, informer.DetectMutations())
	e := &env{eng: eng, api: api, f: f, user: client.New(api, "test")}
	eng.AddTraceSink(func(r sim.Record) {
		if r.Component == endpointslice.Name {
			e.trace = append(e.trace, r)
		}
	})
	ctl, err := endpointslice.New(eng, client.New(api, endpointslice.Name),
		record.New(client.New(api, endpointslice.EventSource), eng, endpointslice.EventSource, ""), f, cfg)
	require.NoError(t, err)
	e.ctl = ctl
	f.Start()
	for _, n := range []string{"node-1", "node-2"} {
		e.node(t, n, "zone-"+n[len(n)-1:])
	}
	return e
}

func (e *env) node(t tb, name, zone string) {
	_, err := e.user.CoreV1().Nodes().Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{v1.LabelTopologyZone: zone}}}, metav1.CreateOptions{})
	require.NoError(t, err)
}

func (e *env) service(t tb, name string, selector map[string]string, mutate ...func(*v1.Service)) *v1.Service {
	s := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.ServiceSpec{Selector: selector, ClusterIP: "10.96.0.10",
			Ports: []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}}
	for _, m := range mutate {
		m(s)
	}
	got, err := e.user.CoreV1().Services("default").Create(ctx, s, metav1.CreateOptions{})
	require.NoError(t, err)
	return got
}

// pod creates a running pod with an IP on node; ready sets its Ready
// condition.
func (e *env) pod(t tb, name, node string, ready bool, lbls map[string]string) {
	e.ip++
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: lbls},
		Spec: v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "c", Image: "img",
			Ports:     []v1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("10m")}}}}}}
	p, err := e.user.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	p.Status.Phase = v1.PodRunning
	p.Status.PodIP = fmt.Sprintf("10.244.%d.%d", e.ip/200, e.ip%200+1)
	p.Status.PodIPs = []v1.PodIP{{IP: p.Status.PodIP}}
	p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: cond(ready), LastTransitionTime: metav1.NewTime(e.eng.Now())}}
	_, err = e.user.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
}

func cond(b bool) v1.ConditionStatus {
	if b {
		return v1.ConditionTrue
	}
	return v1.ConditionFalse
}

func (e *env) setReady(t tb, name string, ready bool) {
	p, err := e.user.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: cond(ready), LastTransitionTime: metav1.NewTime(e.eng.Now())}}
	_, err = e.user.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
}

func (e *env) slices(t tb, svc string) []discovery.EndpointSlice {
	l, err := e.user.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discovery.LabelServiceName + "=" + svc})
	require.NoError(t, err)
	return l.Items
}

// endpoints maps pod name to "ready/serving/terminating" over a Service's
// slices, and fails on a pod listed twice.
func endpoints(t tb, ss []discovery.EndpointSlice) map[string]string {
	out := map[string]string{}
	for _, s := range ss {
		for _, ep := range s.Endpoints {
			name := ep.TargetRef.Name
			require.NotContains(t, out, name, "pod listed twice")
			out[name] = fmt.Sprintf("%v/%v/%v", *ep.Conditions.Ready, *ep.Conditions.Serving, *ep.Conditions.Terminating)
		}
	}
	return out
}

func TestSliceForReadyPods(t *testing.T) {
	e := newEnv(t, 1, 0, endpointslice.Config{})
	svc := e.service(t, "web", map[string]string{"app": "web"})
	e.pod(t, "web-1", "node-1", true, map[string]string{"app": "web"})
	e.pod(t, "web-2", "node-2", true, map[string]string{"app": "web"})
	e.pod(t, "web-3", "node-2", false, map[string]string{"app": "web"})
	e.pod(t, "other", "node-1", true, map[string]string{"app": "other"})
	e.eng.RunFor(time.Second)

	ss := e.slices(t, "web")
	require.Len(t, ss, 1)
	s := ss[0]
	assert.True(t, strings.HasPrefix(s.Name, "web-") && len(s.Name) == len("web-")+5, "generateName web- plus 5 characters, got %q", s.Name)
	assert.Equal(t, "endpointslice-controller.k8s.io", s.Labels[discovery.LabelManagedBy])
	require.Len(t, s.OwnerReferences, 1)
	assert.Equal(t, svc.UID, s.OwnerReferences[0].UID)
	assert.True(t, *s.OwnerReferences[0].Controller)
	assert.Equal(t, discovery.AddressTypeIPv4, s.AddressType)
	require.Len(t, s.Ports, 1)
	assert.Equal(t, int32(8080), *s.Ports[0].Port, "named targetPort resolved from the container port")
	assert.Equal(t, map[string]string{"web-1": "true/true/false", "web-2": "true/true/false", "web-3": "false/false/false"}, endpoints(t, ss))
	for _, ep := range s.Endpoints {
		assert.Equal(t, "zone-"+(*ep.NodeName)[5:], *ep.Zone)
	}
	require.NotEmpty(t, e.trace)
	last := e.trace[len(e.trace)-1]
	assert.Equal(t, "endpointsUpdated", last.Verb)
	assert.Equal(t, "web", last.Name)
	assert.Contains(t, last.Msg, "2 ready, 1 not ready, 0 terminating endpoint(s) in 1 slice(s)")
	require.NoError(t, e.f.CheckMutations())
}

func TestSliceFollowsPodChanges(t *testing.T) {
	e := newEnv(t, 1, 0, endpointslice.Config{})
	e.service(t, "web", map[string]string{"app": "web"})
	for i := 1; i <= 3; i++ {
		e.pod(t, fmt.Sprint("web-", i), "node-1", true, map[string]string{"app": "web"})
	}
	e.eng.RunFor(time.Second)
	name := e.slices(t, "web")[0].Name

	e.setReady(t, "web-1", false)
	e.eng.RunFor(time.Second)
	assert.Equal(t, "false/false/false", endpoints(t, e.slices(t, "web"))["web-1"])

	// graceful deletion: terminating, serving keeps the pod's readiness
	require.NoError(t, e.user.CoreV1().Pods("default").Delete(ctx, "web-2", metav1.DeleteOptions{}))
	e.eng.RunFor(time.Second)
	assert.Equal(t, "false/true/true", endpoints(t, e.slices(t, "web"))["web-2"])

	// relabelled out of the selector: removed
	p, err := e.user.CoreV1().Pods("default").Get(ctx, "web-3", metav1.GetOptions{})
	require.NoError(t, err)
	p.Labels["app"] = "moved"
	_, err = e.user.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.eng.RunFor(time.Second)
	ss := e.slices(t, "web")
	require.Len(t, ss, 1)
	assert.Equal(t, name, ss[0].Name, "updated in place, never re-created")
	assert.Equal(t, map[string]string{"web-1": "false/false/false", "web-2": "false/true/true"}, endpoints(t, ss))
	require.NoError(t, e.f.CheckMutations())
}

func TestSliceDeletedBySomeoneElseIsRecreated(t *testing.T) {
	e := newEnv(t, 1, 0, endpointslice.Config{})
	e.service(t, "web", map[string]string{"app": "web"})
	e.pod(t, "web-1", "node-1", true, map[string]string{"app": "web"})
	e.eng.RunFor(time.Second)
	old := e.slices(t, "web")
	require.Len(t, old, 1)
	require.NoError(t, e.user.DiscoveryV1().EndpointSlices("default").Delete(ctx, old[0].Name, metav1.DeleteOptions{}))
	e.eng.RunFor(500 * time.Millisecond)
	assert.Empty(t, e.slices(t, "web"), "the resync waits the 1 s slice-change delay")
	e.eng.RunFor(time.Second)
	ss := e.slices(t, "web")
	require.Len(t, ss, 1)
	assert.NotEqual(t, old[0].Name, ss[0].Name)
	assert.Equal(t, map[string]string{"web-1": "true/true/false"}, endpoints(t, ss))
}

func TestOwnWritesDoNotTriggerSyncs(t *testing.T) {
	e := newEnv(t, 1, 0, endpointslice.Config{})
	e.service(t, "web", map[string]string{"app": "web"})
	e.pod(t, "web-1", "node-1", true, map[string]string{"app": "web"})
	e.eng.RunFor(5 * time.Second)
	n := e.ctl.Queue().Processed()
	e.eng.RunFor(time.Minute)
	assert.Equal(t, n, e.ctl.Queue().Processed(), "nothing changed, nothing synced")
	e.setReady(t, "web-1", false)
	e.eng.RunFor(5 * time.Second)
	assert.Equal(t, n+1, e.ctl.Queue().Processed(), "one pod change, one sync; its slice write causes none")
}

func TestPodOnUnknownNodeRetriesWithEvent(t *testing.T) {
	e := newEnv(t, 1, 0, endpointslice.Config{})
	e.service(t, "web", map[string]string{"app": "web"})
	e.pod(t, "web-1", "node-1", true, map[string]string{"app": "web"})
	e.pod(t, "web-9", "node-9", true, map[string]string{"app": "web"})
	e.eng.RunFor(500 * time.Millisecond)
	assert.Equal(t, map[string]string{"web-1": "true/true/false"}, endpoints(t, e.slices(t, "web")), "the other pods are published meanwhile")
	evs, err := e.user.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, evs.Items)
	ev := evs.Items[0]
	assert.Equal(t, "FailedToUpdateEndpointSlices", ev.Reason)
	assert.Equal(t, v1.EventTypeWarning, ev.Type)
	assert.Equal(t, "endpoint-slice-controller", ev.Source.Component)
	assert.Contains(t, ev.Message, "skipping Pod web-9 for Service default/web: Node node-9 Not Found")

	e.node(t, "node-9", "zone-9")
	e.eng.RunFor(5 * time.Second)
	assert.Equal(t, map[string]string{"web-1": "true/true/false", "web-9": "true/true/false"}, endpoints(t, e.slices(t, "web")))
}

func TestNoSlicesForExternalNameOrSelectorless(t *testing.T) {
	e := newEnv(t, 1, 0, endpointslice.Config{})
	e.service(t, "manual", nil)
	e.service(t, "ext", map[string]string{"app": "web"}, func(s *v1.Service) {
		s.Spec = v1.ServiceSpec{Type: v1.ServiceTypeExternalName, ExternalName: "db.example.com", Selector: map[string]string{"app": "web"}}
	})
	e.pod(t, "web-1", "node-1", true, map[string]string{"app": "web"})
	e.eng.RunFor(5 * time.Second)
	assert.Empty(t, e.slices(t, "manual"))
	assert.Empty(t, e.slices(t, "ext"))
}

func TestManyPodsSpreadOverSlices(t *testing.T) {
	e := newEnv(t, 1, 0, endpointslice.Config{MaxEndpointsPerSlice: 10})
	e.service(t, "web", map[string]string{"app": "web"})
	for i := range 25 {
		e.pod(t, fmt.Sprintf("web-%02d", i), "node-1", true, map[string]string{"app": "web"})
	}
	e.eng.RunFor(time.Second)
	ss := e.slices(t, "web")
	var sizes []int
	for _, s := range ss {
		sizes = append(sizes, len(s.Endpoints))
	}
	slices.Sort(sizes)
	assert.Equal(t, 25, len(endpoints(t, ss)))
	for _, n := range sizes {
		assert.LessOrEqual(t, n, 10)
	}
	assert.Len(t, ss, 3, "25 endpoints need 3 slices of at most 10")
}

func TestConfigValidation(t *testing.T) {
	eng := sim.New(1)
	api := apiserver.New(eng, mvcc.New(eng, mvcc.Config{}), apiserver.DefaultConfig())
	f := informer.NewFactory(api)
	_, err := endpointslice.New(eng, client.New(api, "x"), record.New(client.New(api, "x"), eng, "x", ""), f, endpointslice.Config{MaxEndpointsPerSlice: 1001})
	assert.EqualError(t, err, "maxEndpointsPerSlice: 1001 must be between 1 and 1000")
	_, err = endpointslice.New(eng, client.New(api, "x"), record.New(client.New(api, "x"), eng, "x", ""), f, endpointslice.Config{UpdatesBatchPeriod: -time.Second})
	assert.EqualError(t, err, "endpointUpdatesBatchPeriod: -1s must not be negative")
}

// TestConvergesUnderLaggingCache drives random pod changes against an API
// server whose watches lag (so the controller's cache is often behind its
// own writes) and checks that the slices always converge to exactly the
// desired endpoints, each pod once, no slice over the limit, never more
// slices than needed plus the ones being emptied.
func TestConvergesUnderLaggingCache(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		delay := time.Duration(rapid.IntRange(0, 300).Draw(rt, "watchDelayMs")) * time.Millisecond
		e := newEnv(rt, rapid.Uint64().Draw(rt, "seed"), delay, endpointslice.Config{MaxEndpointsPerSlice: 3})
		e.service(rt, "web", map[string]string{"app": "web"})
		live := map[string]bool{}
		n := 0
		for i := range rapid.IntRange(1, 40).Draw(rt, "ops") {
			switch rapid.IntRange(0, 3).Draw(rt, fmt.Sprint("op", i)) {
			case 0, 1:
				n++
				name := fmt.Sprintf("web-%02d", n)
				e.pod(rt, name, "node-1", rapid.Bool().Draw(rt, fmt.Sprint("ready", i)), map[string]string{"app": "web"})
				live[name] = true
			case 2:
				if len(live) > 0 {
					names := sortedKeys(live)
					name := names[rapid.IntRange(0, len(names)-1).Draw(rt, fmt.Sprint("pick", i))]
					e.setReady(rt, name, rapid.Bool().Draw(rt, fmt.Sprint("r", i)))
				}
			case 3:
				if len(live) > 0 {
					names := sortedKeys(live)
					name := names[rapid.IntRange(0, len(names)-1).Draw(rt, fmt.Sprint("del", i))]
					zero := int64(0)
					require.NoError(rt, e.user.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}))
					delete(live, name)
				}
			}
			e.eng.RunFor(time.Duration(rapid.IntRange(0, 1500).Draw(rt, fmt.Sprint("wait", i))) * time.Millisecond)
		}
		e.eng.RunFor(2 * time.Minute)
		ss := e.slices(rt, "web")
		got := endpoints(rt, ss)
		assert.Equal(rt, sortedKeys(live), sortedKeys(got))
		for _, s := range ss {
			assert.LessOrEqual(rt, len(s.Endpoints), 3)
		}
		want := max(1, (len(live)+2)/3)
		assert.GreaterOrEqual(rt, len(ss), want)
		require.NoError(rt, e.f.CheckMutations())
	})
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestTerminatingPodTurningTerminalLeavesSlice: upstream's
// podEndpointsChanged (staging/src/k8s.io/endpointslice/util/
// controller_utils.go) compares the deletionTimestamp pointers of two
// decoded objects, so every update of a terminating pod is a pod change and
// syncs its Services. A terminating, unready pod reaching phase Failed
// (its readiness unchanged) therefore leaves the slice before the pod
// object is gone.
func TestTerminatingPodTurningTerminalLeavesSlice(t *testing.T) {
	e := newEnv(t, 1, 0, endpointslice.Config{})
	e.service(t, "web", map[string]string{"app": "web"})
	e.pod(t, "web-1", "node-1", false, map[string]string{"app": "web"})
	e.pod(t, "web-2", "node-1", true, map[string]string{"app": "web"})
	require.NoError(t, e.user.CoreV1().Pods("default").Delete(ctx, "web-1", metav1.DeleteOptions{}))
	e.eng.RunFor(time.Second)
	require.Equal(t, map[string]string{"web-1": "false/false/true", "web-2": "true/true/false"}, endpoints(t, e.slices(t, "web")))

	p, err := e.user.CoreV1().Pods("default").Get(ctx, "web-1", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, p.DeletionTimestamp)
	p.Status.Phase = v1.PodFailed
	_, err = e.user.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.eng.RunFor(time.Second)
	assert.Equal(t, map[string]string{"web-2": "true/true/false"}, endpoints(t, e.slices(t, "web")))
	require.NoError(t, e.f.CheckMutations())
}
