package apiserver_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/mvcc"
)

var ctx = context.Background()

type env struct {
	eng *sim.Engine
	s   *apiserver.Server
	c   client.Interface
}

func newEnv(t *testing.T) *env {
	t.Helper()
	eng := sim.New(1)
	store := mvcc.New(eng, mvcc.Config{})
	s := apiserver.New(eng, store, apiserver.DefaultConfig())
	return &env{eng: eng, s: s, c: client.New(s, "test")}
}

func pod(name string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "nginx:1.27",
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}}}}},
	}
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "nginx:1.27"}}},
			},
		},
	}
}

func TestCreateSetsSystemFieldsAndDefaults(t *testing.T) {
	e := newEnv(t)
	e.eng.RunUntil(90 * time.Second)
	p, err := e.c.CoreV1().Pods("default").Create(ctx, pod("web-1"), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "default", p.Namespace)
	assert.Len(t, string(p.UID), 36)
	assert.Equal(t, sim.Epoch.Add(90*time.Second), p.CreationTimestamp.Time.UTC())
	assert.NotEmpty(t, p.ResourceVersion)
	assert.Equal(t, int64(1), p.Generation)
	assert.Equal(t, v1.PodPending, p.Status.Phase)
	assert.Equal(t, v1.PodQOSBurstable, p.Status.QOSClass)
	assert.Equal(t, v1.RestartPolicyAlways, p.Spec.RestartPolicy)
	assert.Equal(t, int64(30), *p.Spec.TerminationGracePeriodSeconds)
	assert.Equal(t, "default-scheduler", p.Spec.SchedulerName)
	assert.Equal(t, v1.DNSClusterFirst, p.Spec.DNSPolicy)
	assert.Equal(t, v1.PullIfNotPresent, p.Spec.Containers[0].ImagePullPolicy)
	assert.Equal(t, int32(0), *p.Spec.Priority)
	// DefaultTolerationSeconds admission.
	require.Len(t, p.Spec.Tolerations, 2)
	assert.Equal(t, v1.TaintNodeNotReady, p.Spec.Tolerations[0].Key)
	assert.Equal(t, v1.TaintNodeUnreachable, p.Spec.Tolerations[1].Key)
	assert.Equal(t, int64(300), *p.Spec.Tolerations[1].TolerationSeconds)

	_, err = e.c.CoreV1().Pods("default").Create(ctx, pod("web-1"), metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsAlreadyExists(err))
	assert.Equal(t, `pods "web-1" already exists`, err.Error())
}

// A pod created with scheduling gates gets PodScheduled=False,
// SchedulingGated from the API server (upstream's pod strategy,
// applySchedulingGatedCondition), which kubectl shows as its STATUS; a pod
// without gates gets no condition.
func TestCreateGatedPodGetsSchedulingGatedCondition(t *testing.T) {
	e := newEnv(t)
	e.eng.RunUntil(10 * time.Second)
	gated := pod("gated")
	gated.Spec.SchedulingGates = []v1.PodSchedulingGate{{Name: "example.com/wait"}}
	p, err := e.c.CoreV1().Pods("default").Create(ctx, gated, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, p.Status.Conditions, 1)
	c := p.Status.Conditions[0]
	assert.Equal(t, v1.PodScheduled, c.Type)
	assert.Equal(t, v1.ConditionFalse, c.Status)
	assert.Equal(t, v1.PodReasonSchedulingGated, c.Reason)
	assert.Equal(t, "Scheduling is blocked due to non-empty scheduling gates", c.Message)
	assert.Equal(t, sim.Epoch.Add(10*time.Second), c.LastTransitionTime.Time.UTC())

	plain, err := e.c.CoreV1().Pods("default").Create(ctx, pod("plain"), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Empty(t, plain.Status.Conditions)
}

func TestGenerateNameAndDeterministicUIDs(t *testing.T) {
	names := func() []string {
		e := newEnv(t)
		var out []string
		for i := 0; i < 3; i++ {
			p := pod("")
			p.GenerateName = "web-7d4f8-"
			got, err := e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
			require.NoError(t, err)
			assert.Regexp(t, `^web-7d4f8-[bcdfghjklmnpqrstvwxz2456789]{5}$`, got.Name)
			out = append(out, got.Name, string(got.UID))
		}
		return out
	}
	assert.Equal(t, names(), names(), "same seed, same names and UIDs")
}

func TestDeploymentDefaultsAndValidationMessages(t *testing.T) {
	e := newEnv(t)
	d, err := e.c.AppsV1().Deployments("default").Create(ctx, deployment("web", 3), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)
	assert.Equal(t, "25%", d.Spec.Strategy.RollingUpdate.MaxSurge.String())
	assert.Equal(t, "25%", d.Spec.Strategy.RollingUpdate.MaxUnavailable.String())
	assert.Equal(t, int32(10), *d.Spec.RevisionHistoryLimit)
	assert.Equal(t, int32(600), *d.Spec.ProgressDeadlineSeconds)
	assert.Equal(t, v1.RestartPolicyAlways, d.Spec.Template.Spec.RestartPolicy)

	bad := deployment("bad", -1)
	_, err = e.c.AppsV1().Deployments("default").Create(ctx, bad, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err))
	assert.Equal(t, `Deployment.apps "bad" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`, err.Error())

	mismatch := deployment("mismatch", 1)
	mismatch.Spec.Template.Labels = map[string]string{"app": "other"}
	mismatch.Spec.Template.Spec.RestartPolicy = v1.RestartPolicyNever
	_, err = e.c.AppsV1().Deployments("default").Create(ctx, mismatch, metav1.CreateOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `spec.template.metadata.labels: Invalid value: {"app":"other"}: `+"`selector` does not match template `labels`")
	assert.Contains(t, err.Error(), `spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`)

	p := pod("Bad_Name")
	p.Spec.Containers[0].Image = ""
	_, err = e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of`)
	assert.Contains(t, err.Error(), `spec.containers[0].image: Required value`)
}

// TestTemplateKeepsLimitsOnlyResources: requests defaulted from limits and
// hostNetwork host ports are SetDefaults_Pod's, not SetDefaults_PodSpec's
// (pkg/apis/core/v1/defaults.go: "only on a v1.Pod and not a
// v1.PodTemplate"): a Deployment's template keeps them unset — so its
// pod-template-hash is upstream's — and the pods made from it get them.
func TestTemplateKeepsLimitsOnlyResources(t *testing.T) {
	e := newEnv(t)
	d := deployment("web", 1)
	limits := v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m")}
	d.Spec.Template.Spec.HostNetwork = true
	d.Spec.Template.Spec.Containers[0].Resources.Limits = limits
	d.Spec.Template.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 8080}}
	d, err := e.c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
	require.NoError(t, err)
	c := d.Spec.Template.Spec.Containers[0]
	assert.Nil(t, c.Resources.Requests, "template requests stay unset")
	assert.Equal(t, int32(0), c.Ports[0].HostPort, "template host port stays unset")
	assert.Equal(t, v1.ProtocolTCP, c.Ports[0].Protocol, "SetDefaults_ContainerPort applies to templates")

	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: *d.Spec.Template.Spec.DeepCopy()}
	p, err = e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	c = p.Spec.Containers[0]
	assert.Equal(t, "500m", c.Resources.Requests.Cpu().String(), "a pod's requests default to its limits")
	assert.Equal(t, int32(8080), c.Ports[0].HostPort, "a hostNetwork pod's host port defaults to the container port")
}

func TestUpdateConflictGenerationAndNoop(t *testing.T) {
	e := newEnv(t)
	deps := e.c.AppsV1().Deployments("default")
	d, err := deps.Create(ctx, deployment("web", 3), metav1.CreateOptions{})
	require.NoError(t, err)
	stale := d.DeepCopy()

	// A spec change bumps generation and resourceVersion.
	d.Spec.Replicas = ptr(int32(5))
	d2, err := deps.Update(ctx, d, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), d2.Generation)
	assert.NotEqual(t, d.ResourceVersion, d2.ResourceVersion)

	// The stale copy conflicts, with upstream's message.
	stale.Spec.Replicas = ptr(int32(7))
	_, err = deps.Update(ctx, stale, metav1.UpdateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsConflict(err))
	assert.Equal(t, `Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again`, err.Error())

	// Metadata-only change: no generation bump.
	d2.Labels = map[string]string{"team": "a"}
	d3, err := deps.Update(ctx, d2, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), d3.Generation)

	// Status change through /status: no generation bump; status through the
	// main resource is ignored.
	d3.Status.ObservedGeneration = 2
	d3.Status.Replicas = 5
	d4, err := deps.UpdateStatus(ctx, d3, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), d4.Generation)
	assert.Equal(t, int32(5), d4.Status.Replicas)
	// /status keeps spec and labels but takes annotations (deploymentStatusStrategy).
	d4.Annotations = map[string]string{"deployment.kubernetes.io/revision": "1"}
	d4.Labels = map[string]string{"team": "b"}
	d4.Spec.Paused = true
	d4, err = deps.UpdateStatus(ctx, d4, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "1", d4.Annotations["deployment.kubernetes.io/revision"])
	assert.Equal(t, "a", d4.Labels["team"])
	assert.False(t, d4.Spec.Paused)
	d4.Status.Replicas = 99
	d5, err := deps.Update(ctx, d4, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(5), d5.Status.Replicas)

	// A write that changes nothing does not bump the revision.
	rev, noops := e.s.Store().Rev(), e.s.Stats().NoopWrites
	d6, err := deps.Update(ctx, d5, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, d5.ResourceVersion, d6.ResourceVersion)
	assert.Equal(t, rev, e.s.Store().Rev())
	assert.Equal(t, noops+1, e.s.Stats().NoopWrites)

	// Scale subresource bumps generation too.
	sc, err := deps.GetScale(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(5), sc.Spec.Replicas)
	assert.Equal(t, "app=web", sc.Status.Selector)
	sc.Spec.Replicas = 2
	_, err = deps.UpdateScale(ctx, "web", sc, metav1.UpdateOptions{})
	require.NoError(t, err)
	got, err := deps.Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), *got.Spec.Replicas)
	assert.Equal(t, int64(3), got.Generation)
	_, err = deps.UpdateScale(ctx, "web", &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: -1}}, metav1.UpdateOptions{})
	assert.EqualError(t, err, `Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`)
}

func ptr[T any](v T) *T { return &v }

func TestGracefulPodDeletion(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	_, err := pods.Create(ctx, pod("web-1"), metav1.CreateOptions{})
	require.NoError(t, err)
	// An unscheduled pod is deleted at once.
	require.NoError(t, pods.Delete(ctx, "web-1", metav1.DeleteOptions{}))
	_, err = pods.Get(ctx, "web-1", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))

	_, err = pods.Create(ctx, pod("web-2"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web-2"}, Target: v1.ObjectReference{Kind: "Node", Name: "node-1"}}, metav1.CreateOptions{}))
	bound, err := pods.Get(ctx, "web-2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "node-1", bound.Spec.NodeName)
	assert.Equal(t, v1.PodScheduled, bound.Status.Conditions[0].Type)
	err = pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web-2"}, Target: v1.ObjectReference{Name: "node-2"}}, metav1.CreateOptions{})
	assert.EqualError(t, err, `Operation cannot be fulfilled on pods "web-2": pod web-2 is already assigned to node "node-1"`)

	e.eng.RunUntil(10 * time.Second)
	require.NoError(t, pods.Delete(ctx, "web-2", metav1.DeleteOptions{}))
	term, err := pods.Get(ctx, "web-2", metav1.GetOptions{})
	require.NoError(t, err, "a bound pod stays until its kubelet confirms")
	require.NotNil(t, term.DeletionTimestamp)
	assert.Equal(t, sim.Epoch.Add(40*time.Second), term.DeletionTimestamp.Time.UTC())
	assert.Equal(t, int64(30), *term.DeletionGracePeriodSeconds)
	// The kubelet confirms with grace 0.
	require.NoError(t, pods.Delete(ctx, "web-2", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}))
	_, err = pods.Get(ctx, "web-2", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))
}

func TestFinalizersAndPreconditions(t *testing.T) {
	e := newEnv(t)
	cms := e.c.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	wrong := types.UID("nope")
	err = cms.Delete(ctx, "cfg", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &wrong}})
	assert.EqualError(t, err, fmt.Sprintf(`Operation cannot be fulfilled on ConfigMap "cfg": the UID in the precondition (nope) does not match the UID in record (%s). The object might have been deleted and then recreated`, cm.UID))
	require.NoError(t, cms.Delete(ctx, "cfg", metav1.DeleteOptions{}))
	held, err := cms.Get(ctx, "cfg", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, held.DeletionTimestamp)
	// Finalizers cannot be added while deleting.
	held.Finalizers = append(held.Finalizers, "example.com/more")
	_, err = cms.Update(ctx, held, metav1.UpdateOptions{})
	require.Error(t, err)
	held.Finalizers = nil
	_, err = cms.Update(ctx, held, metav1.UpdateOptions{})
	require.NoError(t, err)
	_, err = cms.Get(ctx, "cfg", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "removing the last finalizer deletes")

	// Propagation policies add the garbage collector's finalizers.
	deps := e.c.AppsV1().Deployments("default")
	_, err = deps.Create(ctx, deployment("fg", 1), metav1.CreateOptions{})
	require.NoError(t, err)
	fg := metav1.DeletePropagationForeground
	require.NoError(t, deps.Delete(ctx, "fg", metav1.DeleteOptions{PropagationPolicy: &fg}))
	d, err := deps.Get(ctx, "fg", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"foregroundDeletion"}, d.Finalizers)
	_, err = deps.Create(ctx, deployment("or", 1), metav1.CreateOptions{})
	require.NoError(t, err)
	orphan := metav1.DeletePropagationOrphan
	require.NoError(t, deps.Delete(ctx, "or", metav1.DeleteOptions{PropagationPolicy: &orphan}))
	d, err = deps.Get(ctx, "or", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"orphan"}, d.Finalizers)
}

func TestListSelectors(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	for i, node := range []string{"a", "b", "a", ""} {
		p := pod(fmt.Sprintf("p%d", i))
		if i == 3 {
			p.Labels = map[string]string{"app": "db"}
		}
		_, err := pods.Create(ctx, p, metav1.CreateOptions{})
		require.NoError(t, err)
		if node != "" {
			require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name}, Target: v1.ObjectReference{Name: node}}, metav1.CreateOptions{}))
		}
	}
	names := func(opts metav1.ListOptions) []string {
		l, err := pods.List(ctx, opts)
		require.NoError(t, err)
		var out []string
		for _, p := range l.Items {
			out = append(out, p.Name)
		}
		return out
	}
	assert.Equal(t, []string{"p0", "p2"}, names(metav1.ListOptions{FieldSelector: "spec.nodeName=a"}))
	assert.Equal(t, []string{"p3"}, names(metav1.ListOptions{FieldSelector: "spec.nodeName="}))
	assert.Equal(t, []string{"p0", "p1", "p2", "p3"}, names(metav1.ListOptions{FieldSelector: "status.phase=Pending"}))
	assert.Equal(t, []string{"p1"}, names(metav1.ListOptions{FieldSelector: "metadata.name=p1"}))
	assert.Equal(t, []string{"p0", "p1", "p2"}, names(metav1.ListOptions{LabelSelector: "app=web"}))
	assert.Equal(t, []string{"p1"}, names(metav1.ListOptions{LabelSelector: "app in (web)", FieldSelector: "spec.nodeName!=a,spec.nodeName!="}))
	_, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "status.hostIP=1.2.3.4"})
	assert.EqualError(t, err, "field label not supported: status.hostIP")
	l, err := pods.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(e.s.Store().Rev()), l.ResourceVersion)

	_, err = e.c.CoreV1().Pods("nope").Create(ctx, pod("x"), metav1.CreateOptions{})
	assert.EqualError(t, err, `namespaces "nope" not found`)
}

type recorded struct {
	typ  watch.EventType
	name string
	rv   string
}

func record(events *[]recorded) func(watch.Event) {
	return func(ev watch.Event) {
		m := ev.Object.(metav1.Object)
		*events = append(*events, recorded{ev.Type, m.GetName(), m.GetResourceVersion()})
	}
}

func TestWatchSelectorsAndResume(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	podRes, _ := e.s.Resource("pods")
	_, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)

	var all, onNode []recorded
	_, err = e.s.Watch(podRes, "default", metav1.ListOptions{}, record(&all))
	require.NoError(t, err)
	_, err = e.s.Watch(podRes, "", metav1.ListOptions{FieldSelector: "spec.nodeName=n1"}, record(&onNode))
	require.NoError(t, err)
	assert.Empty(t, all, "nothing is delivered inside the call")
	e.eng.RunUntilIdle(1000)
	require.Len(t, all, 1)
	assert.Equal(t, watch.Added, all[0].typ, "initial state as synthetic ADDED")

	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Target: v1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	require.NoError(t, pods.Delete(ctx, "a", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}))
	e.eng.RunUntilIdle(1000)
	// bind, then the grace-0 delete: its deletion, then the removal.
	assert.Equal(t, []watch.EventType{watch.Added, watch.Modified, watch.Modified, watch.Deleted}, types3(all))
	// The node-filtered watch sees the pod enter its selection on bind.
	assert.Equal(t, []watch.EventType{watch.Added, watch.Modified, watch.Deleted}, types3(onNode))
	// DELETED carries the deletion revision.
	assert.Equal(t, fmt.Sprint(e.s.Store().Rev()), all[3].rv)

	// Resume from the first event's resourceVersion: exactly the later events.
	var resumed []recorded
	_, err = e.s.Watch(podRes, "default", metav1.ListOptions{ResourceVersion: all[0].rv}, record(&resumed))
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	assert.Equal(t, all[1:], resumed)
}

func types3(evs []recorded) []watch.EventType {
	var out []watch.EventType
	for _, e := range evs {
		out = append(out, e.typ)
	}
	return out
}

// A keyed watch's events carry client-go's MetaNamespaceKeyFunc key of
// their object — live, replayed, served from the store (events), for
// namespaced and cluster-scoped resources — or "" for the initial list.
func TestWatchKeyedKeys(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.CoreV1().Pods("default").Create(ctx, pod("before"), metav1.CreateOptions{})
	require.NoError(t, err)
	type keyed struct {
		typ watch.EventType
		key string
		obj string // MetaNamespaceKeyFunc of the event's object
	}
	var got []keyed
	collect := func(ev watch.Event, key string) {
		k, err := cache.MetaNamespaceKeyFunc(ev.Object)
		require.NoError(t, err)
		got = append(got, keyed{ev.Type, key, k})
	}
	for _, name := range []string{"pods", "nodes", "events"} {
		res, _ := e.s.Resource(name)
		_, err := e.s.WatchKeyed(res, "", metav1.ListOptions{}, collect)
		require.NoError(t, err)
	}
	e.eng.RunUntilIdle(1000)
	require.Equal(t, []keyed{{watch.Added, "", "default/before"}}, got, "the initial list comes without keys")
	got = nil

	p, err := e.c.CoreV1().Pods("default").Create(ctx, pod("web-1"), metav1.CreateOptions{})
	require.NoError(t, err)
	firstRV := p.ResourceVersion
	require.NoError(t, e.c.CoreV1().Pods("default").Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web-1"},
		Target: v1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	require.NoError(t, e.c.CoreV1().Pods("default").Delete(ctx, "web-1", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}))
	_, err = e.c.CoreV1().Nodes().Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.c.CoreV1().Events("kube-system").Create(ctx, &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "n1.1"}, Reason: "Ready",
		InvolvedObject: v1.ObjectReference{Kind: "Node", Name: "n1"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	// bind, then the grace-0 delete: its deletion, then the removal.
	assert.Equal(t, []keyed{{watch.Added, "default/web-1", "default/web-1"}, {watch.Modified, "default/web-1", "default/web-1"},
		{watch.Modified, "default/web-1", "default/web-1"}, {watch.Deleted, "default/web-1", "default/web-1"}, {watch.Added, "n1", "n1"},
		{watch.Added, "kube-system/n1.1", "kube-system/n1.1"}}, got)

	// Replayed from the watch cache's window: the same keys.
	got = nil
	podRes, _ := e.s.Resource("pods")
	_, err = e.s.WatchKeyed(podRes, "default", metav1.ListOptions{ResourceVersion: firstRV}, collect)
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	assert.Equal(t, []keyed{{watch.Modified, "default/web-1", "default/web-1"}, {watch.Modified, "default/web-1", "default/web-1"},
		{watch.Deleted, "default/web-1", "default/web-1"}}, got)
}

// A watch from a resourceVersion the watch cache's window no longer
// covers fails with 410 Gone; etcd's compaction does not matter to it
// (upstream's watchCache.getAllEventsSinceLocked looks only at its own
// window, which keeps the events the compaction dropped from etcd).
func TestWatchAfterCompactionIsGone(t *testing.T) {
	eng := sim.New(1)
	cfg := apiserver.DefaultConfig()
	cfg.WatchCacheMinEvents, cfg.WatchCacheMaxEvents = 2, 4
	s := apiserver.New(eng, mvcc.New(eng, mvcc.Config{}), cfg)
	pods := client.New(s, "test").CoreV1().Pods("default")
	p, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)
	oldRV := p.ResourceVersion
	for i := 0; i < 3; i++ {
		p.Labels["i"] = fmt.Sprint(i)
		p, err = pods.Update(ctx, p, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	// Compaction runs every 5 minutes and compacts to the revision recorded
	// at the previous tick.
	eng.RunFor(10*time.Minute + time.Second)
	old, err := apiserver.ParseResourceVersion(oldRV)
	require.NoError(t, err)
	require.Greater(t, s.Store().CompactRev(), old, "a's first versions are compacted")
	podRes, _ := s.Resource("pods")
	var got []watch.Event
	_, err = s.Watch(podRes, "default", metav1.ListOptions{ResourceVersion: oldRV}, func(ev watch.Event) { got = append(got, ev) })
	require.NoError(t, err, "the window still has every change after it")
	eng.RunUntilIdle(1000)
	assert.Len(t, got, 3)

	p.Labels["i"] = "last"
	_, err = pods.Update(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	eng.RunUntilIdle(1000)
	_, err = s.Watch(podRes, "default", metav1.ListOptions{ResourceVersion: oldRV}, func(watch.Event) {})
	require.Error(t, err, "the window dropped the first update")
	assert.True(t, apierrors.IsResourceExpired(err))
	assert.Equal(t, int32(410), err.(apierrors.APIStatus).Status().Code)
	assert.Regexp(t, `^too old resource version: \d+ \(\d+\)$`, err.Error())
}

func TestNamespaceDeletionCascades(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.c.CoreV1().Pods("team").Create(ctx, pod("p"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.c.AppsV1().Deployments("team").Create(ctx, deployment("d", 1), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, e.c.CoreV1().Namespaces().Delete(ctx, "team", metav1.DeleteOptions{}))
	ns, err := e.c.CoreV1().Namespaces().Get(ctx, "team", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1.NamespaceTerminating, ns.Status.Phase)
	_, err = e.c.CoreV1().Pods("team").Create(ctx, pod("late"), metav1.CreateOptions{})
	assert.EqualError(t, err, `pods "late" is forbidden: unable to create new content in namespace team because it is being terminated`)
	// The cause lets controllers stay quiet (no FailedCreate events),
	// as upstream's NamespaceLifecycle admission adds it.
	assert.True(t, apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause), "status causes: %v", err.(apierrors.APIStatus).Status().Details)
	e.eng.RunFor(time.Minute)
	_, err = e.c.CoreV1().Namespaces().Get(ctx, "team", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))
	l, err := e.c.AppsV1().Deployments("team").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, l.Items)
}

func TestPriorityAdmission(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000}, metav1.CreateOptions{})
	require.NoError(t, err)
	p := pod("p")
	p.Spec.PriorityClassName = "high"
	got, err := e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1000), *got.Spec.Priority)
	assert.Equal(t, v1.PreemptLowerPriority, *got.Spec.PreemptionPolicy)
	p2 := pod("p2")
	p2.Spec.PriorityClassName = "missing"
	_, err = e.c.CoreV1().Pods("default").Create(ctx, p2, metav1.CreateOptions{})
	assert.EqualError(t, err, `pods "p2" is forbidden: no PriorityClass with name missing was found`)
	_, err = e.c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "huge"}, Value: 2000000000}, metav1.CreateOptions{})
	assert.EqualError(t, err, `PriorityClass.scheduling.k8s.io "huge" is invalid: value: Forbidden: maximum allowed value of a user defined priority is 1000000000`)
}

// The pod's preemptionPolicy comes from its class (PreemptLowerPriority
// without one): a different value in the pod spec is refused, as upstream's
// Priority admission (plugin/pkg/admission/priority, admitPod) does; the
// same value is accepted.
func TestPriorityAdmissionPreemptionPolicy(t *testing.T) {
	e := newEnv(t)
	never := v1.PreemptNever
	_, err := e.c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "polite"}, Value: 10, PreemptionPolicy: &never}, metav1.CreateOptions{})
	require.NoError(t, err)

	p := pod("no-class")
	p.Spec.PreemptionPolicy = &never
	_, err = e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	assert.EqualError(t, err, `pods "no-class" is forbidden: the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name`)
	assert.True(t, apierrors.IsForbidden(err))

	lower := v1.PreemptLowerPriority
	p = pod("polite")
	p.Spec.PriorityClassName = "polite"
	p.Spec.PreemptionPolicy = &lower
	_, err = e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	assert.EqualError(t, err, `pods "polite" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name`)

	p.Spec.PreemptionPolicy = &never
	got, err := e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1.PreemptNever, *got.Spec.PreemptionPolicy)
	assert.Equal(t, int32(10), *got.Spec.Priority)
}

// An update that omits spec.priority and spec.preemptionPolicy keeps the
// stored ones, as upstream's Priority admission restores them on update
// (admitPod) before validation sees an immutable field change.
func TestPriorityAdmissionKeepsPriorityOnUpdate(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000}, metav1.CreateOptions{})
	require.NoError(t, err)
	p := pod("p")
	p.Spec.PriorityClassName = "high"
	got, err := e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	got.Spec.Priority, got.Spec.PreemptionPolicy = nil, nil
	got.Labels["tier"] = "front"
	upd, err := e.c.CoreV1().Pods("default").Update(ctx, got, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "front", upd.Labels["tier"])
	require.NotNil(t, upd.Spec.Priority)
	assert.Equal(t, int32(1000), *upd.Spec.Priority)
	require.NotNil(t, upd.Spec.PreemptionPolicy)
	assert.Equal(t, v1.PreemptLowerPriority, *upd.Spec.PreemptionPolicy)
}

// PriorityClass validation in upstream's words
// (pkg/apis/scheduling/validation): a system- name must be one of the
// system classes with its value and globalDefault; preemptionPolicy is
// required when given and immutable; an update checks only immutability.
func TestPriorityClassValidation(t *testing.T) {
	e := newEnv(t)
	pcs := e.c.SchedulingV1().PriorityClasses()
	create := func(pc *schedulingv1.PriorityClass) error {
		_, err := pcs.Create(ctx, pc, metav1.CreateOptions{})
		return err
	}
	assert.EqualError(t, create(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-foo"}, Value: 5}),
		`PriorityClass.scheduling.k8s.io "system-foo" is invalid: metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-foo is not a known system priority class`)
	require.NoError(t, pcs.Delete(ctx, "system-cluster-critical", metav1.DeleteOptions{}))
	assert.EqualError(t, create(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-cluster-critical"}, Value: 5}),
		`PriorityClass.scheduling.k8s.io "system-cluster-critical" is invalid: metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: value of system-cluster-critical PriorityClass must be 2000000000`)
	assert.EqualError(t, create(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-cluster-critical"}, Value: 2000000000, GlobalDefault: true}),
		`PriorityClass.scheduling.k8s.io "system-cluster-critical" is invalid: metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: globalDefault of system-cluster-critical PriorityClass must be false`)
	require.NoError(t, create(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-cluster-critical"}, Value: 2000000000}))
	empty := v1.PreemptionPolicy("")
	assert.EqualError(t, create(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "e"}, Value: 5, PreemptionPolicy: &empty}),
		`PriorityClass.scheduling.k8s.io "e" is invalid: preemptionPolicy: Required value`)

	require.NoError(t, create(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Value: 5}))
	pc, err := pcs.Get(ctx, "p", metav1.GetOptions{})
	require.NoError(t, err)
	never := v1.PreemptNever
	pc.PreemptionPolicy = &never
	_, err = pcs.Update(ctx, pc, metav1.UpdateOptions{})
	assert.EqualError(t, err, `PriorityClass.scheduling.k8s.io "p" is invalid: preemptionPolicy: Invalid value: "Never": field is immutable`)

	// No other class is the default: a system class may become it.
	sys, err := pcs.Get(ctx, "system-node-critical", metav1.GetOptions{})
	require.NoError(t, err)
	sys.GlobalDefault = true
	_, err = pcs.Update(ctx, sys, metav1.UpdateOptions{})
	require.NoError(t, err)
}

// A pod without a class gets the global default's priority, following
// every create, update and delete of the classes.
func TestPriorityAdmissionGlobalDefault(t *testing.T) {
	e := newEnv(t)
	pcs := e.c.SchedulingV1().PriorityClasses()
	n := 0
	priority := func() (int32, string) {
		t.Helper()
		n++
		got, err := e.c.CoreV1().Pods("default").Create(ctx, pod(fmt.Sprint("p", n)), metav1.CreateOptions{})
		require.NoError(t, err)
		return *got.Spec.Priority, got.Spec.PriorityClassName
	}
	p, name := priority()
	assert.Equal(t, int32(0), p)
	assert.Empty(t, name, "no class, no default")

	_, err := pcs.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "b-default"}, Value: 100, GlobalDefault: true}, metav1.CreateOptions{})
	require.NoError(t, err)
	p, name = priority()
	assert.Equal(t, int32(100), p)
	assert.Equal(t, "b-default", name)

	// Only one class may be the default (upstream's Priority admission,
	// validatePriorityClass), whether created or updated to be one.
	_, err = pcs.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "a-default"}, Value: 100, GlobalDefault: true}, metav1.CreateOptions{})
	assert.EqualError(t, err, `priorityclasses.scheduling.k8s.io "a-default" is forbidden: PriorityClass b-default is already marked as default. Only one default can exist`)
	assert.True(t, apierrors.IsForbidden(err))
	a, err := pcs.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "a-default"}, Value: 100}, metav1.CreateOptions{})
	require.NoError(t, err)
	a.GlobalDefault = true
	_, err = pcs.Update(ctx, a, metav1.UpdateOptions{})
	assert.EqualError(t, err, `priorityclasses.scheduling.k8s.io "a-default" is forbidden: PriorityClass b-default is already marked as default. Only one default can exist`)
	// Validation comes first.
	_, err = pcs.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "huge"}, Value: 2000000000, GlobalDefault: true}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsInvalid(err), "%v", err)
	// The default itself may be updated.
	b, err := pcs.Get(ctx, "b-default", metav1.GetOptions{})
	require.NoError(t, err)
	b.Description = "the default"
	b, err = pcs.Update(ctx, b, metav1.UpdateOptions{})
	require.NoError(t, err)

	b.GlobalDefault = false
	_, err = pcs.Update(ctx, b, metav1.UpdateOptions{})
	require.NoError(t, err)
	p, name = priority()
	assert.Equal(t, int32(0), p, "an update is seen")
	assert.Empty(t, name)

	a, err = pcs.Get(ctx, "a-default", metav1.GetOptions{})
	require.NoError(t, err)
	a.GlobalDefault = true
	_, err = pcs.Update(ctx, a, metav1.UpdateOptions{})
	require.NoError(t, err)
	_, name = priority()
	assert.Equal(t, "a-default", name)

	require.NoError(t, pcs.Delete(ctx, "a-default", metav1.DeleteOptions{}))
	p, name = priority()
	assert.Equal(t, int32(0), p, "a delete is seen")
	assert.Empty(t, name)
}

// DefaultTolerationSeconds adds what a pod does not tolerate yet; pods
// without tolerations share one read-only pair, which a client's copy
// does not reach.
func TestDefaultTolerationSeconds(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	a, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)
	a.Spec.Tolerations[0].Key = "changed by a client"
	b, err := pods.Create(ctx, pod("b"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, b.Spec.Tolerations, 2)
	assert.Equal(t, v1.TaintNodeNotReady, b.Spec.Tolerations[0].Key, "the client's copy was its own")
	assert.Equal(t, int64(300), *b.Spec.Tolerations[0].TolerationSeconds)

	own := pod("c")
	secs := int64(60)
	own.Spec.Tolerations = []v1.Toleration{{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: &secs}}
	c, err := pods.Create(ctx, own, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, c.Spec.Tolerations, 2)
	assert.Equal(t, int64(60), *c.Spec.Tolerations[0].TolerationSeconds, "its own unreachable toleration kept")
	assert.Equal(t, v1.TaintNodeNotReady, c.Spec.Tolerations[1].Key, "the missing one added")
}

func TestHPADefaults(t *testing.T) {
	e := newEnv(t)
	h, err := e.c.AutoscalingV2().HorizontalPodAutoscalers("default").Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"}, MaxReplicas: 10},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), *h.Spec.MinReplicas)
	require.Len(t, h.Spec.Metrics, 1)
	assert.Equal(t, int32(80), *h.Spec.Metrics[0].Resource.Target.AverageUtilization)
	assert.Nil(t, h.Spec.Behavior, "behavior is not defaulted when absent")

	h2, err := e.c.AutoscalingV2().HorizontalPodAutoscalers("default").Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web2"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 10,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(60))}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(0), *h2.Spec.Behavior.ScaleUp.StabilizationWindowSeconds)
	assert.Len(t, h2.Spec.Behavior.ScaleUp.Policies, 2)
	assert.Equal(t, int32(60), *h2.Spec.Behavior.ScaleDown.StabilizationWindowSeconds)
	assert.Equal(t, autoscalingv2.PercentScalingPolicy, h2.Spec.Behavior.ScaleDown.Policies[0].Type)
}

func TestEvictionHonoursPDB(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	for _, n := range []string{"a", "b"} {
		_, err := pods.Create(ctx, pod(n), metav1.CreateOptions{})
		require.NoError(t, err)
		require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: n}, Target: v1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	}
	minAvail := intstr.FromInt32(2)
	pdb, err := e.c.PolicyV1().PodDisruptionBudgets("default").Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvail, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	// As the disruption controller would report: 2 healthy, 2 desired.
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, CurrentHealthy: 2, DesiredHealthy: 2, ExpectedPods: 2}
	pdb, err = e.c.PolicyV1().PodDisruptionBudgets("default").UpdateStatus(ctx, pdb, metav1.UpdateOptions{})
	require.NoError(t, err)
	ready := func(name string) {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		p.Status.Phase = v1.PodRunning // a Pending pod is evicted without looking at PDBs
		p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue})
		_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	ready("a")
	ready("b")
	err = pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
	require.Error(t, err)
	assert.True(t, apierrors.IsTooManyRequests(err))
	assert.Equal(t, "Cannot evict pod as it would violate the pod's disruption budget.", err.Error())

	pdb.Status.DisruptionsAllowed = 1
	pdb.Status.DesiredHealthy = 1
	_, err = e.c.PolicyV1().PodDisruptionBudgets("default").UpdateStatus(ctx, pdb, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "a"}}))
	evicted, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotNil(t, evicted.DeletionTimestamp)
	hasDT := false
	for _, c := range evicted.Status.Conditions {
		hasDT = hasDT || (c.Type == v1.DisruptionTarget && c.Reason == "EvictionByEvictionAPI")
	}
	assert.True(t, hasDT)
	after, err := e.c.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(0), after.Status.DisruptionsAllowed)
	assert.Contains(t, after.Status.DisruptedPods, "a")
	// The eviction that spends the last disruption also turns the
	// DisruptionAllowed condition False (upstream checkAndDecrement).
	cond := apimeta.FindStatusCondition(after.Status.Conditions, policyv1.DisruptionAllowedCondition)
	require.NotNil(t, cond)
	assert.Equal(t, metav1.ConditionFalse, cond.Status)
	assert.Equal(t, policyv1.InsufficientPodsReason, cond.Reason)
	assert.Equal(t, after.Status.ObservedGeneration, cond.ObservedGeneration)
}

// Pods that are Pending, terminal or already terminating are evicted
// without looking at PodDisruptionBudgets, and get the DisruptionTarget
// condition like any evicted pod (upstream eviction.go: canIgnorePDB, then
// addConditionAndDeletePod).
func TestEvictionIgnoresPDBForPendingTerminalAndTerminatingPods(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	minAvail := intstr.FromInt32(3)
	pdb, err := e.c.PolicyV1().PodDisruptionBudgets("default").Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvail, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, CurrentHealthy: 0, DesiredHealthy: 3, ExpectedPods: 3}
	_, err = e.c.PolicyV1().PodDisruptionBudgets("default").UpdateStatus(ctx, pdb, metav1.UpdateOptions{})
	require.NoError(t, err)
	for _, n := range []string{"pending", "done", "going"} {
		_, err := pods.Create(ctx, pod(n), metav1.CreateOptions{})
		require.NoError(t, err)
		require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: n}, Target: v1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	}
	done, err := pods.Get(ctx, "done", metav1.GetOptions{})
	require.NoError(t, err)
	done.Status.Phase = v1.PodSucceeded
	_, err = pods.UpdateStatus(ctx, done, metav1.UpdateOptions{})
	require.NoError(t, err)
	going, err := pods.Get(ctx, "going", metav1.GetOptions{})
	require.NoError(t, err)
	going.Status.Phase = v1.PodRunning
	_, err = pods.UpdateStatus(ctx, going, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Delete(ctx, "going", metav1.DeleteOptions{}))

	for _, n := range []string{"pending", "done", "going"} {
		require.NoError(t, pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: n}}), n)
	}
	// The Pending pod (no finalizer, not Running) is terminating or gone;
	// the others too. Where the object remains, it carries DisruptionTarget.
	for _, n := range []string{"pending", "done", "going"} {
		p, err := pods.Get(ctx, n, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		require.NoError(t, err)
		assert.NotNil(t, p.DeletionTimestamp, n)
		hasDT := false
		for _, c := range p.Status.Conditions {
			hasDT = hasDT || (c.Type == v1.DisruptionTarget && c.Status == v1.ConditionTrue && c.Reason == "EvictionByEvictionAPI")
		}
		assert.True(t, hasDT, "%s has DisruptionTarget", n)
	}
	after, err := e.c.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, after.Status.DisruptedPods, "no budget was spent")
}

// In policy/v1 an empty PDB selector ({}) selects every pod of the
// namespace, and the eviction subresource honours such a budget (upstream
// eviction.go getPodDisruptionBudgets matches with the selector as is; only
// a nil selector matches nothing).
func TestEvictionHonoursPDBWithEmptySelector(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	_, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Target: v1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	p, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	p.Status.Phase = v1.PodRunning
	p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue})
	_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	minAvail := intstr.FromInt32(1)
	pdb, err := e.c.PolicyV1().PodDisruptionBudgets("default").Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "all"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvail, Selector: &metav1.LabelSelector{}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1}
	_, err = e.c.PolicyV1().PodDisruptionBudgets("default").UpdateStatus(ctx, pdb, metav1.UpdateOptions{})
	require.NoError(t, err)

	err = pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
	require.Error(t, err)
	assert.True(t, apierrors.IsTooManyRequests(err), "the budget selecting every pod refuses: %v", err)
	still, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Nil(t, still.DeletionTimestamp)
}

func TestPatch(t *testing.T) {
	e := newEnv(t)
	nodes := e.c.CoreV1().Nodes()
	_, err := nodes.Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"a": "1"}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	n, err := nodes.Patch(ctx, "n1", types.StrategicMergePatchType, []byte(`{"metadata":{"labels":{"b":"2"}},"spec":{"unschedulable":true}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "1", "b": "2"}, n.Labels)
	assert.True(t, n.Spec.Unschedulable)
	n, err = nodes.Patch(ctx, "n1", types.MergePatchType, []byte(`{"metadata":{"labels":{"a":null}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"b": "2"}, n.Labels)
	n, err = nodes.Patch(ctx, "n1", types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/unschedulable","value":false}]`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.False(t, n.Spec.Unschedulable)
	_, err = nodes.Patch(ctx, "n1", types.ApplyPatchType, []byte(`{}`), metav1.PatchOptions{FieldManager: "test"})
	assert.True(t, apierrors.IsUnsupportedMediaType(err), "no server-side apply: %v", err)
}

// Field selectors read single fields (no map per object); every field of
// FieldSet must select the object by its value, and not by another value.
func TestFieldSelectorsAgreeWithFieldSet(t *testing.T) {
	e := newEnv(t)
	p := pod("fs")
	p.Spec.NodeName = "n1"
	p.Spec.HostNetwork = true
	_, err := e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	res, _ := e.s.Resource("pods")
	obj, err := e.s.Get(res, "default", "fs")
	require.NoError(t, err)
	set := res.FieldSet(obj)
	require.Len(t, set, 10, "upstream's PodToSelectableFields: 8 pod fields, metadata.name and metadata.namespace")
	for f, v := range set {
		l, err := e.c.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: f + "=" + v})
		require.NoError(t, err, f)
		assert.Len(t, l.Items, 1, "%s=%s selects the pod", f, v)
		l, err = e.c.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: f + "=" + v + "x"})
		require.NoError(t, err, f)
		assert.Empty(t, l.Items, "%s=%sx does not", f, v)
	}
}

// A pod status update keeps the stored spec (the caller's spec changes are
// ignored) and changes metadata and status; a bind changes only
// spec.nodeName; the versions before stay as they were (the server shares
// the unchanged spec between versions and must never modify it).
func TestPodStatusUpdateAndBindKeepStoredSpec(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	p, err := pods.Create(ctx, pod("st"), metav1.CreateOptions{})
	require.NoError(t, err)
	res, _ := e.s.Resource("pods")
	before, err := e.s.Get(res, "default", "st")
	require.NoError(t, err)
	snapshot := before.DeepCopyObject()

	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "st"}, Target: v1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	p, err = pods.Get(ctx, "st", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "n1", p.Spec.NodeName)
	p.Spec.Containers[0].Image = "changed:2"
	p.Spec.NodeName = "elsewhere"
	p.Labels["extra"] = "yes"
	p.Status.Phase = v1.PodRunning
	p.Status.PodIP = "10.0.0.9"
	got, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "nginx:1.27", got.Spec.Containers[0].Image)
	assert.Equal(t, "n1", got.Spec.NodeName)
	assert.Equal(t, "yes", got.Labels["extra"])
	assert.Equal(t, v1.PodRunning, got.Status.Phase)
	assert.Equal(t, "10.0.0.9", got.Status.PodIP)
	assert.Equal(t, snapshot, before, "the first stored version is unchanged")
}

// Events have no watch cache (as kube-apiserver's default): each watch is
// served by the store, as kube-apiserver serves one from etcd. Watches see
// every change with the right type and object, a field-selected watch sees
// objects enter and leave its selection, and a watch from an older
// resourceVersion gets the store's history from there (410 Gone only below
// the compaction).
func TestEventsWithoutWatchCache(t *testing.T) {
	e := newEnv(t)
	evRes, _ := e.s.Resource("events")
	require.True(t, evRes.NoWatchCache)
	events := e.c.CoreV1().Events("default")
	mk := func(name, reason string) *v1.Event {
		return &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: name}, Reason: reason, Message: "m",
			InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"}}
	}
	first, err := events.Create(ctx, mk("e0", "Pulled"), metav1.CreateOptions{})
	require.NoError(t, err)
	var all, pulled []recorded
	_, err = e.s.Watch(evRes, "default", metav1.ListOptions{}, record(&all))
	require.NoError(t, err)
	_, err = e.s.Watch(evRes, "default", metav1.ListOptions{FieldSelector: "reason=Pulled"}, record(&pulled))
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)

	_, err = events.Create(ctx, mk("e1", "Started"), metav1.CreateOptions{})
	require.NoError(t, err)
	ev, err := events.Get(ctx, "e0", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "Pulled", ev.Reason, "reads decode from the store")
	ev.Reason = "Created"
	_, err = events.Update(ctx, ev, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, events.Delete(ctx, "e1", metav1.DeleteOptions{}))
	e.eng.RunUntilIdle(1000)
	assert.Equal(t, []recorded{{watch.Added, "e0", first.ResourceVersion}, {watch.Added, "e1", all[1].rv},
		{watch.Modified, "e0", all[2].rv}, {watch.Deleted, "e1", fmt.Sprint(e.s.Store().Rev())}}, all)
	assert.Equal(t, []watch.EventType{watch.Added, watch.Deleted}, types3(pulled), "e0 left the selection when its reason changed")

	var resumed []recorded
	_, err = e.s.Watch(evRes, "default", metav1.ListOptions{ResourceVersion: first.ResourceVersion}, record(&resumed))
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	assert.Equal(t, all[1:], resumed, "replayed from the store")
	l, err := events.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, l.Items, 1)
	assert.Equal(t, "Created", l.Items[0].Reason)
}

// A resource without a watch cache is watched in the store only while it
// has API watchers: a watch from an older resourceVersion gets the store's
// history from there (as etcd serves it), and once the last watch stops,
// its writes cost no delivery.
func TestEventsAreWatchedOnlyWhileWatched(t *testing.T) {
	e := newEnv(t)
	evRes, _ := e.s.Resource("events")
	events := e.c.CoreV1().Events("default")
	mk := func(name string) *v1.Event {
		return &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: name}, Reason: "Pulled", Message: "m",
			InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"}}
	}
	idle := e.s.Store().Stats().Watchers
	first, err := events.Create(ctx, mk("e0"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = events.Create(ctx, mk("e1"), metav1.CreateOptions{})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	assert.Equal(t, idle, e.s.Store().Stats().Watchers, "nobody watches events: no store watch")

	var got []recorded
	w, err := e.s.Watch(evRes, "default", metav1.ListOptions{ResourceVersion: first.ResourceVersion}, record(&got))
	require.NoError(t, err)
	assert.Equal(t, idle+1, e.s.Store().Stats().Watchers)
	e.eng.RunUntilIdle(1000)
	require.Len(t, got, 1, "the change after the resourceVersion, from the store's history")
	assert.Equal(t, recorded{watch.Added, "e1", got[0].rv}, got[0])
	_, err = events.Create(ctx, mk("e2"), metav1.CreateOptions{})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	require.Len(t, got, 2)
	assert.Equal(t, "e2", got[1].name)

	w.Stop()
	assert.Equal(t, idle, e.s.Store().Stats().Watchers, "the last watch stopped: the store watch too")
	_, err = events.Create(ctx, mk("e3"), metav1.CreateOptions{})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	assert.Zero(t, e.s.Store().Stats().PendingDeliveries)
	require.Len(t, got, 2)

	// A new watch from the current state: the initial list, then changes.
	var again []recorded
	_, err = e.s.Watch(evRes, "default", metav1.ListOptions{}, record(&again))
	require.NoError(t, err)
	_, err = events.Create(ctx, mk("e4"), metav1.CreateOptions{})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	var names []string
	for _, r := range again {
		names = append(names, r.name)
	}
	assert.Equal(t, []string{"e0", "e1", "e2", "e3", "e4"}, names)
}

// CreateOwned stores the caller's object itself (no copy) with the same
// defaulting, admission and validation as Create.
func TestCreateOwned(t *testing.T) {
	e := newEnv(t)
	res, _ := e.s.Resource("events")
	ev := &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1"}, Reason: "R", InvolvedObject: v1.ObjectReference{Kind: "Pod", Name: "p"}}
	out, err := e.s.CreateOwned("test", res, "default", ev, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Same(t, ev, out)
	assert.NotEmpty(t, ev.UID)
	assert.Equal(t, "default", ev.Namespace)
	_, err = e.s.CreateOwned("test", res, "default", &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1"}}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsAlreadyExists(err))
	_, err = e.s.CreateOwned("test", res, "default", &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "Bad_Name"}}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsInvalid(err))
	_, err = e.s.CreateOwned("test", res, "nowhere", &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e2"}}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsNotFound(err))
}

// UpdateOwned stores the caller's object itself; a status update still
// keeps the stored spec.
func TestUpdateOwned(t *testing.T) {
	e := newEnv(t)
	res, _ := e.s.Resource("pods")
	p, err := e.c.CoreV1().Pods("default").Create(ctx, pod("o"), metav1.CreateOptions{})
	require.NoError(t, err)
	p.Spec.Containers[0].Image = "ignored:1"
	p.Status.Phase = v1.PodRunning
	out, err := e.s.UpdateOwned("test", res, "default", p, "status", metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Same(t, p, out)
	assert.Equal(t, "nginx:1.27", out.(*v1.Pod).Spec.Containers[0].Image)
	assert.Equal(t, v1.PodRunning, out.(*v1.Pod).Status.Phase)
	stale := p.DeepCopy()
	stale.ResourceVersion = "1"
	_, err = e.s.UpdateOwned("test", res, "default", stale, "status", metav1.UpdateOptions{})
	assert.True(t, apierrors.IsConflict(err))
}

// A watch resumed from an old resourceVersion replays the window, reading
// the versions it names from the store: every replayed event equals the
// live one (type, object and resourceVersion), including selector
// transitions and the deletion. That holds too when the previous versions
// of the replayed changes are older than the store's compaction (a watch
// cannot start below it, and the store keeps each key's newest version at
// or below it).
func TestWatchReplayEqualsLiveEvents(t *testing.T) {
	t.Run("fresh store", func(t *testing.T) { testWatchReplay(t, false) })
	t.Run("previous versions before the compaction", func(t *testing.T) { testWatchReplay(t, true) })
}

func testWatchReplay(t *testing.T, compact bool) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	podRes, _ := e.s.Resource("pods")
	type seen struct {
		typ watch.EventType
		obj runtime.Object
	}
	rec := func(out *[]seen) func(watch.Event) {
		return func(ev watch.Event) { *out = append(*out, seen{ev.Type, ev.Object}) }
	}
	var live [3][]seen
	start := ""
	startWatches := func() {
		start = fmt.Sprint(e.s.Store().Rev())
		for i, o := range replayWatchOptions(start) {
			_, err := e.s.Watch(podRes, "default", o, rec(&live[i]))
			require.NoError(t, err)
		}
	}
	if !compact {
		startWatches()
	}
	_, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("b"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Target: v1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	e.eng.RunFor(time.Second)
	if compact {
		last := e.s.Store().Rev()
		e.eng.RunFor(10*time.Minute + time.Second) // two compaction ticks
		require.GreaterOrEqual(t, e.s.Store().CompactRev(), last, "a and b's versions are compacted")
		startWatches()
	}
	a, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	a.Status.Phase = v1.PodRunning
	a.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: metav1.NewTime(e.eng.Now())}}
	_, err = pods.UpdateStatus(ctx, a, metav1.UpdateOptions{})
	require.NoError(t, err)
	a, err = pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	a.Labels = map[string]string{"app": "other"} // leaves the label selection
	_, err = pods.Update(ctx, a, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Delete(ctx, "a", metav1.DeleteOptions{}))                                  // graceful
	require.NoError(t, pods.Delete(ctx, "a", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})) // gone
	require.NoError(t, pods.Delete(ctx, "b", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}))
	e.eng.RunUntilIdle(1000)

	for i, o := range replayWatchOptions(start) {
		var replay []seen
		_, err := e.s.Watch(podRes, "default", o, rec(&replay))
		require.NoError(t, err)
		e.eng.RunUntilIdle(1000)
		require.NotEmpty(t, live[i])
		require.Len(t, replay, len(live[i]), "watch %+v", o)
		for j := range replay {
			assert.Equal(t, live[i][j].typ, replay[j].typ, "watch %+v event %d", o, j)
			assert.True(t, apiequality.Semantic.DeepEqual(live[i][j].obj, replay[j].obj),
				"watch %+v event %d: %v", o, j, diff.Diff(live[i][j].obj, replay[j].obj))
			assert.Equal(t, live[i][j].obj.(metav1.Object).GetResourceVersion(), replay[j].obj.(metav1.Object).GetResourceVersion())
		}
	}
}

// A watch accepted just before a compaction replays the window after it:
// the window kept the bytes of the versions the compaction dropped.
func TestWatchReplayAcrossACompaction(t *testing.T) {
	eng := sim.New(1)
	cfg := apiserver.DefaultConfig()
	cfg.WatchDelay = time.Millisecond
	s := apiserver.New(eng, mvcc.New(eng, mvcc.Config{}), cfg)
	pods := client.New(s, "test").CoreV1().Pods("default")
	podRes, _ := s.Resource("pods")
	type seen struct {
		typ watch.EventType
		obj runtime.Object
	}
	rec := func(out *[]seen) func(watch.Event) {
		return func(ev watch.Event) { *out = append(*out, seen{ev.Type, ev.Object}) }
	}
	p, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)
	start := p.ResourceVersion
	var live []seen
	_, err = s.Watch(podRes, "default", metav1.ListOptions{ResourceVersion: start}, rec(&live))
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		p.Labels["i"] = fmt.Sprint(i)
		p, err = pods.Update(ctx, p, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	last := s.Store().Rev()
	// The 5-minute tick records the revision; the 10-minute one compacts
	// to it, dropping the first three versions of a. Open the watch half
	// a millisecond before that: it starts (1 ms later) after the
	// compaction.
	eng.RunFor(10*time.Minute - 500*time.Microsecond - eng.Elapsed())
	require.Less(t, s.Store().CompactRev(), last)
	var replay []seen
	_, err = s.Watch(podRes, "default", metav1.ListOptions{ResourceVersion: start}, rec(&replay))
	require.NoError(t, err)
	eng.RunFor(time.Second)
	require.Equal(t, last, s.Store().CompactRev(), "compacted between the watch and its start")
	require.Len(t, live, 3)
	require.Len(t, replay, len(live))
	for j := range replay {
		assert.Equal(t, live[j].typ, replay[j].typ, "event %d", j)
		assert.True(t, apiequality.Semantic.DeepEqual(live[j].obj, replay[j].obj), "event %d: %v", j, diff.Diff(live[j].obj, replay[j].obj))
	}
}

// replayWatchOptions are the watches testWatchReplay compares: all pods,
// one node's (indexed), and a label selection.
func replayWatchOptions(start string) []metav1.ListOptions {
	return []metav1.ListOptions{{ResourceVersion: start}, {ResourceVersion: start, FieldSelector: "spec.nodeName=n1"},
		{ResourceVersion: start, LabelSelector: "app=web"}}
}

// Pods stamped from one template share their template parts in the
// server's memory (stored objects are immutable), and pods with equal
// conditions share those, while every client still gets its own deep copy;
// a part that differs in memory is not shared.
func TestPodsFromOneTemplateShareParts(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	podRes, _ := e.s.Resource("pods")
	for _, name := range []string{"a", "b"} {
		_, err := pods.Create(ctx, pod(name), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	other := pod("c")
	other.Spec.Containers[0].Resources.Requests[v1.ResourceCPU] = resource.MustParse("200m")
	_, err := pods.Create(ctx, other, metav1.CreateOptions{})
	require.NoError(t, err)
	stored := func(name string) *v1.Pod {
		obj, err := e.s.Get(podRes, "default", name)
		require.NoError(t, err)
		return obj.(*v1.Pod)
	}
	a, b, c := stored("a"), stored("b"), stored("c")
	assert.Same(t, &a.Spec.Containers[0], &b.Spec.Containers[0], "containers shared")
	assert.Same(t, &a.Spec.Tolerations[0], &b.Spec.Tolerations[0], "defaulted tolerations shared")
	assert.Same(t, a.Spec.TerminationGracePeriodSeconds, b.Spec.TerminationGracePeriodSeconds)
	assert.NotSame(t, &a.Spec.Containers[0], &c.Spec.Containers[0], "different requests, own containers")
	assert.Equal(t, resource.MustParse("200m"), c.Spec.Containers[0].Resources.Requests[v1.ResourceCPU])

	// A client's copy is its own.
	got, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	got.Spec.Containers[0].Resources.Requests[v1.ResourceCPU] = resource.MustParse("1")
	got.Spec.Tolerations[0].Key = "changed"
	assert.Equal(t, resource.MustParse("100m"), b.Spec.Containers[0].Resources.Requests[v1.ResourceCPU])
	assert.Equal(t, v1.TaintNodeNotReady, b.Spec.Tolerations[0].Key)
	want := pod("b")
	assert.True(t, apiequality.Semantic.DeepEqual(want.Spec.Containers[0].Resources, b.Spec.Containers[0].Resources))

	// Pods whose status writes carry equal conditions (a burst of starts)
	// share them too; a pod with another transition time keeps its own.
	at := metav1.NewTime(e.eng.Now())
	for _, name := range []string{"a", "b", "c"} {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: at},
			{Type: v1.ContainersReady, Status: v1.ConditionTrue, LastTransitionTime: at}}
		if name == "c" {
			p.Status.Conditions[1].LastTransitionTime = metav1.NewTime(at.Add(time.Second))
		}
		_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	a, b, c = stored("a"), stored("b"), stored("c")
	assert.Same(t, &a.Status.Conditions[0], &b.Status.Conditions[0], "conditions shared")
	assert.NotSame(t, &a.Status.Conditions[0], &c.Status.Conditions[0])
	assert.Equal(t, at.Add(time.Second), c.Status.Conditions[1].LastTransitionTime.Time)
}

// Services select on spec.clusterIP and spec.type (upstream since v1.31).
func TestServiceFieldSelectors(t *testing.T) {
	e := newEnv(t)
	svcs := e.c.CoreV1().Services("default")
	for _, s := range []*v1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "headless"}, Spec: v1.ServiceSpec{ClusterIP: v1.ClusterIPNone, Ports: []v1.ServicePort{{Port: 80}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Spec: v1.ServiceSpec{Type: v1.ServiceTypeExternalName, ExternalName: "example.com"}},
	} {
		_, err := svcs.Create(ctx, s, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	names := func(sel string) []string {
		l, err := svcs.List(ctx, metav1.ListOptions{FieldSelector: sel})
		require.NoError(t, err, sel)
		var out []string
		for _, s := range l.Items {
			out = append(out, s.Name)
		}
		return out
	}
	assert.Equal(t, []string{"headless"}, names("spec.clusterIP=None"))
	assert.Equal(t, []string{"ext"}, names("spec.type=ExternalName"))
	assert.Equal(t, []string{"headless"}, names("spec.type!=ExternalName"))
	_, err := svcs.List(ctx, metav1.ListOptions{FieldSelector: "spec.externalName=example.com"})
	assert.EqualError(t, err, "field label not supported: spec.externalName")
}

// observer records how the writes it admitted ended.
type observer struct {
	open  map[*apiserver.Attributes]string
	ended []string
}

func (o *observer) Admit(a *apiserver.Attributes) error {
	if _, dup := o.open[a]; dup {
		return fmt.Errorf("attributes of an open write reused")
	}
	o.open[a] = string(a.Operation) + " " + a.Name
	return nil
}

func (o *observer) Committed(a *apiserver.Attributes) { o.end(a, "committed") }
func (o *observer) Aborted(a *apiserver.Attributes)   { o.end(a, "aborted") }

func (o *observer) end(a *apiserver.Attributes, how string) {
	if a.Operation == apiserver.OpDelete {
		o.ended = append(o.ended, "gone "+a.Name)
		return
	}
	what, ok := o.open[a]
	if !ok {
		what = "unknown attributes"
	}
	delete(o.open, a)
	o.ended = append(o.ended, what+" "+how)
}

// Admit, then Committed or Aborted, see one write's Attributes; they are
// recycled for later writes only once the write has ended.
func TestAdmissionAttributesPerWrite(t *testing.T) {
	e := newEnv(t)
	o := &observer{open: map[*apiserver.Attributes]string{}}
	e.s.AddAdmission(o)
	pods := e.c.CoreV1().Pods("default")
	_, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.True(t, apierrors.IsAlreadyExists(err))
	bad := pod("b")
	bad.Spec.Containers[0].Image = ""
	_, err = pods.Create(ctx, bad, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err))
	p, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	p.Labels["v"] = "2"
	_, err = pods.Update(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Delete(ctx, "a", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}))
	assert.Equal(t, []string{"CREATE a committed", "CREATE a aborted", "CREATE b aborted", "UPDATE a committed", "gone a"}, o.ended)
	assert.Empty(t, o.open)
}

// GetLatest answers as Get does, through creates, updates, status writes,
// binds, graceful and final deletes and a namespace's deletion, for a kind
// with a watch cache and one without.
func TestGetLatestIsGet(t *testing.T) {
	e := newEnv(t)
	podsRes, ok := e.s.Resource("pods")
	require.True(t, ok)
	evRes, ok := e.s.Resource("events")
	require.True(t, ok)
	same := func(step string) {
		t.Helper()
		for _, k := range []struct {
			res      *apiserver.Resource
			ns, name string
		}{{podsRes, "default", "a"}, {podsRes, "default", "b"}, {podsRes, "shop", "c"}, {evRes, "default", "ev"}} {
			want, err := e.s.Get(k.res, k.ns, k.name)
			got, found := e.s.GetLatest(k.res, k.ns, k.name)
			assert.Equal(t, err == nil, found, "%s: %s/%s", step, k.ns, k.name)
			switch {
			case err != nil:
			case k.res.NoWatchCache: // each read decodes the store's bytes
				assert.Equal(t, want, got, "%s: %s/%s", step, k.ns, k.name)
			default: // the very object the server wrote
				assert.Same(t, want, got, "%s: %s/%s", step, k.ns, k.name)
			}
		}
	}
	same("empty")
	pods := e.c.CoreV1().Pods("default")
	_, err := e.c.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	a, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("b"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.c.CoreV1().Pods("shop").Create(ctx, pod("c"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.c.CoreV1().Events("default").Create(ctx, &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "ev"},
		InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "a"}, Reason: "Test", Type: v1.EventTypeNormal}, metav1.CreateOptions{})
	require.NoError(t, err)
	same("created")
	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Target: v1.ObjectReference{Kind: "Node", Name: "n1"}}, metav1.CreateOptions{}))
	same("bound")
	a, err = pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	a.Status.Phase = v1.PodRunning
	_, err = pods.UpdateStatus(ctx, a, metav1.UpdateOptions{})
	require.NoError(t, err)
	same("status written")
	require.NoError(t, pods.Delete(ctx, "a", metav1.DeleteOptions{}))
	same("graceful delete")
	require.NoError(t, pods.Delete(ctx, "b", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}))
	same("deleted")
	require.NoError(t, e.c.CoreV1().Namespaces().Delete(ctx, "shop", metav1.DeleteOptions{}))
	e.eng.RunFor(time.Minute)
	same("namespace deleted")
	_, found := e.s.GetLatest(podsRes, "shop", "c")
	assert.False(t, found, "gone with its namespace")
}

// Extended resources (nvidia.com/gpu) are whole units and cannot be
// overcommitted: upstream rejects a fraction, a request without a limit
// and a request that differs from its limit; a limit alone is the request.
func TestExtendedResourcesAreIntegersAndNotOvercommitted(t *testing.T) {
	e := newEnv(t)
	gpu := v1.ResourceName("nvidia.com/gpu")
	create := func(name string, requests, limits v1.ResourceList) error {
		p := pod(name)
		p.Spec.Containers[0].Resources = v1.ResourceRequirements{Requests: requests, Limits: limits}
		_, err := e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
		return err
	}
	err := create("half", v1.ResourceList{gpu: resource.MustParse("500m")}, v1.ResourceList{gpu: resource.MustParse("500m")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `spec.containers[0].resources.limits[nvidia.com/gpu]: Invalid value: "500m": must be an integer`)
	assert.Contains(t, err.Error(), `spec.containers[0].resources.requests[nvidia.com/gpu]: Invalid value: "500m": must be an integer`)

	err = create("nolimit", v1.ResourceList{gpu: resource.MustParse("1")}, nil)
	require.Error(t, err)
	assert.Equal(t, `Pod "nolimit" is invalid: spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources`, err.Error())

	err = create("below", v1.ResourceList{gpu: resource.MustParse("1")}, v1.ResourceList{gpu: resource.MustParse("2")})
	require.Error(t, err)
	// Upstream names resources.requests, not the resource's key, here.
	assert.Equal(t, `Pod "below" is invalid: spec.containers[0].resources.requests: Invalid value: "1": must be equal to nvidia.com/gpu limit of 2`, err.Error())

	require.NoError(t, create("limit-only", nil, v1.ResourceList{gpu: resource.MustParse("2")}))
	got, err := e.c.CoreV1().Pods("default").Get(ctx, "limit-only", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "2", got.Spec.Containers[0].Resources.Requests.Name(gpu, resource.DecimalSI).String())
	// cpu may still be requested below its limit.
	require.NoError(t, create("cpu", v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}, v1.ResourceList{v1.ResourceCPU: resource.MustParse("1")}))
}

// Upstream checks delete options and preconditions in rest.BeforeDelete
// (staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go) before it
// touches storage: its wording names the kind, and a negative grace period
// is taken as 1 s rather than refused.
func TestDeleteOptionsAndPreconditionsAsBeforeDelete(t *testing.T) {
	e := newEnv(t)
	cms := e.c.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	wrong := types.UID("nope")
	err = cms.Delete(ctx, "cfg", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &wrong}})
	assert.True(t, apierrors.IsConflict(err))
	assert.EqualError(t, err, fmt.Sprintf(`Operation cannot be fulfilled on ConfigMap "cfg": the UID in the precondition (nope) does not match the UID in record (%s). The object might have been deleted and then recreated`, cm.UID))
	staleRV := "1"
	err = cms.Delete(ctx, "cfg", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &staleRV}})
	assert.True(t, apierrors.IsConflict(err))
	assert.EqualError(t, err, fmt.Sprintf(`Operation cannot be fulfilled on ConfigMap "cfg": the ResourceVersion in the precondition (1) does not match the ResourceVersion in record (%s). The object might have been modified`, cm.ResourceVersion))

	deps := e.c.AppsV1().Deployments("default")
	d, err := deps.Create(ctx, deployment("web", 1), metav1.CreateOptions{})
	require.NoError(t, err)
	err = deps.Delete(ctx, "web", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &wrong}})
	assert.EqualError(t, err, fmt.Sprintf(`Operation cannot be fulfilled on Deployment.apps "web": the UID in the precondition (nope) does not match the UID in record (%s). The object might have been deleted and then recreated`, d.UID))

	sideways := metav1.DeletionPropagation("Sideways")
	err = cms.Delete(ctx, "cfg", metav1.DeleteOptions{PropagationPolicy: &sideways})
	assert.True(t, apierrors.IsInvalid(err))
	assert.EqualError(t, err, `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"`)
	bg := metav1.DeletePropagationBackground
	err = cms.Delete(ctx, "cfg", metav1.DeleteOptions{PropagationPolicy: &bg, OrphanDependents: ptr(true)})
	assert.EqualError(t, err, `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Background": orphanDependents and deletionPropagation cannot be both set`)
	_, err = cms.Get(ctx, "cfg", metav1.GetOptions{})
	require.NoError(t, err, "refused deletes delete nothing")

	// A negative grace period is 1 s.
	pods := e.c.CoreV1().Pods("default")
	_, err = pods.Create(ctx, pod("web-1"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}, Target: v1.ObjectReference{Name: "node-1"}}, metav1.CreateOptions{}))
	require.NoError(t, pods.Delete(ctx, "web-1", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(-5))}))
	p, err := pods.Get(ctx, "web-1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), *p.DeletionGracePeriodSeconds)
	assert.Equal(t, sim.Epoch.Add(time.Second), p.DeletionTimestamp.Time.UTC())
}

// A delete of an object already being deleted gracefully may only shorten
// its grace period, counted from the first request (the deletionTimestamp
// moves by the difference), and only with an explicit gracePeriodSeconds;
// otherwise nothing changes (rest.BeforeDelete, "graceful deletion is
// pending").
func TestSecondDeleteShortensGraceFromTheFirstRequest(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	_, err := pods.Create(ctx, pod("web-1"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}, Target: v1.ObjectReference{Name: "node-1"}}, metav1.CreateOptions{}))
	e.eng.RunUntil(10 * time.Second)
	require.NoError(t, pods.Delete(ctx, "web-1", metav1.DeleteOptions{}))
	first, err := pods.Get(ctx, "web-1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, sim.Epoch.Add(40*time.Second), first.DeletionTimestamp.Time.UTC())

	// The kubelet reports the pod terminal; a delete without a grace
	// period changes nothing (the pod's own rules are not consulted again).
	e.eng.RunUntil(20 * time.Second)
	failed := first.DeepCopy()
	failed.Status.Phase = v1.PodFailed
	failed, err = pods.UpdateStatus(ctx, failed, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Delete(ctx, "web-1", metav1.DeleteOptions{}))
	same, err := pods.Get(ctx, "web-1", metav1.GetOptions{})
	require.NoError(t, err, "a pending graceful deletion is left alone")
	assert.Equal(t, failed.ResourceVersion, same.ResourceVersion)
	require.NoError(t, pods.Delete(ctx, "web-1", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(60))}))
	same, err = pods.Get(ctx, "web-1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, failed.ResourceVersion, same.ResourceVersion, "a longer grace period changes nothing")

	require.NoError(t, pods.Delete(ctx, "web-1", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(5))}))
	shorter, err := pods.Get(ctx, "web-1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(5), *shorter.DeletionGracePeriodSeconds)
	assert.Equal(t, sim.Epoch.Add(15*time.Second), shorter.DeletionTimestamp.Time.UTC(), "40 s - 30 s + 5 s")
}

// An explicit propagation policy replaces the garbage collector's
// finalizers rather than only adding them: Background (or
// orphanDependents: false) removes orphan and foregroundDeletion, so a
// foreground deletion can be turned into a background one
// (deletionFinalizersForGarbageCollection in
// staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go).
func TestExplicitPropagationPolicyReplacesGCFinalizers(t *testing.T) {
	e := newEnv(t)
	deps := e.c.AppsV1().Deployments("default")
	_, err := deps.Create(ctx, deployment("fg", 1), metav1.CreateOptions{})
	require.NoError(t, err)
	fg, bg := metav1.DeletePropagationForeground, metav1.DeletePropagationBackground
	require.NoError(t, deps.Delete(ctx, "fg", metav1.DeleteOptions{PropagationPolicy: &fg}))
	d, err := deps.Get(ctx, "fg", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"foregroundDeletion"}, d.Finalizers)
	require.NoError(t, deps.Delete(ctx, "fg", metav1.DeleteOptions{PropagationPolicy: &bg}))
	_, err = deps.Get(ctx, "fg", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "background drops the foregroundDeletion finalizer, the last one")

	held := deployment("held", 1)
	held.Finalizers = []string{"orphan", "example.com/hold"}
	_, err = deps.Create(ctx, held, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, deps.Delete(ctx, "held", metav1.DeleteOptions{OrphanDependents: ptr(false)}))
	d, err = deps.Get(ctx, "held", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"example.com/hold"}, d.Finalizers)
	require.NotNil(t, d.DeletionTimestamp)
}

// A create that finds its name taken says so as upstream's
// registry.Store.create does: "object is being deleted: " when the holder
// has a deletionTimestamp, and a GenerateNameConflict whenever the object
// carries a generateName (rest.CheckGeneratedNameError), even if the name
// was given.
func TestCreateConflictMessages(t *testing.T) {
	e := newEnv(t)
	cms := e.c.CoreV1().ConfigMaps("default")
	_, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cms.Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", GenerateName: "cfg-"}}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsAlreadyExists(err))
	assert.EqualError(t, err, `configmaps "cfg" already exists, the server was not able to generate a unique name for the object`)
	require.NoError(t, cms.Delete(ctx, "cfg", metav1.DeleteOptions{}))
	_, err = cms.Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsAlreadyExists(err))
	assert.EqualError(t, err, `object is being deleted: configmaps "cfg" already exists`)
}

// NamespaceLifecycle as upstream
// (staging/src/k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle):
// default, kube-system and kube-public may not be deleted; nothing, Events
// included, is created in a terminating namespace; and its refusals name
// an object whose name is still to be generated by its generateName
// (admission.NewForbidden runs before the name exists).
func TestNamespaceLifecycleAsUpstream(t *testing.T) {
	e := newEnv(t)
	nss := e.c.CoreV1().Namespaces()
	for _, name := range []string{"default", "kube-system", "kube-public"} {
		err := nss.Delete(ctx, name, metav1.DeleteOptions{})
		assert.True(t, apierrors.IsForbidden(err), name)
		assert.EqualError(t, err, fmt.Sprintf(`namespaces %q is forbidden: this namespace may not be deleted`, name))
		ns, err := nss.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Nil(t, ns.DeletionTimestamp)
	}

	_, err := nss.Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.c.CoreV1().Pods("team").Create(ctx, pod("p"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, nss.Delete(ctx, "team", metav1.DeleteOptions{}))
	_, err = e.c.CoreV1().Events("team").Create(ctx, &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "p.1"},
		InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "team", Name: "p"}, Reason: "Killing", Type: v1.EventTypeNormal}, metav1.CreateOptions{})
	assert.EqualError(t, err, `events "p.1" is forbidden: unable to create new content in namespace team because it is being terminated`)
	gen := pod("")
	gen.GenerateName = "web-"
	_, err = e.c.CoreV1().Pods("team").Create(ctx, gen, metav1.CreateOptions{})
	assert.EqualError(t, err, `pods "web-" is forbidden: unable to create new content in namespace team because it is being terminated`)

	gen.Spec.PriorityClassName = "missing"
	_, err = e.c.CoreV1().Pods("default").Create(ctx, gen, metav1.CreateOptions{})
	assert.EqualError(t, err, `pods "web-" is forbidden: no PriorityClass with name missing was found`)
}

// kubesim has no dry run: a write asking for one is refused, plainly,
// rather than carried out for real.
func TestDryRunIsRefusedNotApplied(t *testing.T) {
	e := newEnv(t)
	cms := e.c.CoreV1().ConfigMaps("default")
	all := []string{metav1.DryRunAll}
	const msg = "dryRun is not supported by kubesim"
	_, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}}, metav1.CreateOptions{DryRun: all})
	assert.True(t, apierrors.IsBadRequest(err))
	assert.EqualError(t, err, msg)
	_, err = cms.Get(ctx, "dry", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))

	cm, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "wet"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	changed := cm.DeepCopy()
	changed.Data = map[string]string{"k": "v"}
	_, err = cms.Update(ctx, changed, metav1.UpdateOptions{DryRun: all})
	assert.EqualError(t, err, msg)
	_, err = cms.Patch(ctx, "wet", types.MergePatchType, []byte(`{"data":{"k":"v"}}`), metav1.PatchOptions{DryRun: all})
	assert.EqualError(t, err, msg)
	err = cms.Delete(ctx, "wet", metav1.DeleteOptions{DryRun: all})
	assert.EqualError(t, err, msg)
	got, err := cms.Get(ctx, "wet", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, cm.ResourceVersion, got.ResourceVersion, "nothing was written")
}

// Nodes have no metadata.generation: upstream's node strategy neither
// sets it on create nor bumps it on spec changes
// (pkg/registry/core/node/strategy.go), unlike pods, Deployments,
// ReplicaSets, HPAs and PDBs.
func TestNodesHaveNoGeneration(t *testing.T) {
	e := newEnv(t)
	nodes := e.c.CoreV1().Nodes()
	n, err := nodes.Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(0), n.Generation)
	n.Spec.Unschedulable = true
	n, err = nodes.Update(ctx, n, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.True(t, n.Spec.Unschedulable)
	assert.Equal(t, int64(0), n.Generation)
}

// An EndpointSlice's generation also bumps when its labels change
// (pkg/registry/discovery/endpointslice/strategy.go, PrepareForUpdate),
// not when only its annotations do.
func TestEndpointSliceGenerationFollowsLabels(t *testing.T) {
	e := newEnv(t)
	res, ok := e.s.Resource("endpointslices")
	require.True(t, ok)
	obj, err := e.s.Create("test", res, "default", &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-abc",
		Labels: map[string]string{"kubernetes.io/service-name": "web"}}, AddressType: discoveryv1.AddressTypeIPv4}, metav1.CreateOptions{})
	require.NoError(t, err)
	es := obj.(*discoveryv1.EndpointSlice).DeepCopy()
	require.Equal(t, int64(1), es.Generation)
	es.Annotations = map[string]string{"note": "x"}
	obj, err = e.s.Update("test", res, "default", es, "", metav1.UpdateOptions{})
	require.NoError(t, err)
	es = obj.(*discoveryv1.EndpointSlice).DeepCopy()
	assert.Equal(t, int64(1), es.Generation, "annotations are metadata")
	es.Labels["extra"] = "y"
	obj, err = e.s.Update("test", res, "default", es, "", metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), obj.(*discoveryv1.EndpointSlice).Generation, "labels bump it")
}

// A delete whose grace period resolves to 0 is two writes, as upstream's
// registry store makes it (Store.Delete → updateForGracefulDeletionAndFinalizers
// in staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go):
// rest.BeforeDelete calls it graceful (podStrategy.CheckGracefulDelete
// always does, with period 0 for an explicit 0, an unscheduled or a
// terminal pod; a pod being deleted has its grace shortened to 0), so the
// pod is first stored with deletionTimestamp and
// deletionGracePeriodSeconds 0 (MODIFIED, one revision), and then, as
// lastGraceful is 0, removed (DELETED, carrying that version with the
// deletion revision). A resource without a graceful strategy, an object
// already at deletionGracePeriodSeconds 0, and the removal of a last
// finalizer go in one write.
func TestGraceZeroDeleteWritesTheDeletionThenRemoves(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	podRes, _ := e.s.Resource("pods")
	type event struct {
		typ watch.EventType
		pod *v1.Pod
	}
	var events []event
	_, err := e.s.Watch(podRes, "default", metav1.ListOptions{ResourceVersion: "0"}, func(ev watch.Event) {
		events = append(events, event{ev.Type, ev.Object.(*v1.Pod)})
	})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	bound := func(name string) *v1.Pod {
		t.Helper()
		_, err := pods.Create(ctx, pod(name), metav1.CreateOptions{})
		require.NoError(t, err)
		require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: v1.ObjectReference{Name: "node-1"}}, metav1.CreateOptions{}))
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		return p
	}
	// deleteAndWatch deletes name with opts and returns the watch events
	// and the number of revisions the delete took.
	deleteAndWatch := func(name string, opts metav1.DeleteOptions) ([]event, int64) {
		t.Helper()
		e.eng.RunUntilIdle(1000)
		events = nil
		before := e.s.Store().Rev()
		require.NoError(t, pods.Delete(ctx, name, opts))
		revs := e.s.Store().Rev() - before
		e.eng.RunUntilIdle(1000)
		_, err := pods.Get(ctx, name, metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "%s is gone", name)
		return events, revs
	}
	// requireTwoStep checks the MODIFIED + DELETED pair.
	requireTwoStep := func(evs []event, revs int64, wantDeletionTimestamp time.Time, wantGeneration int64) {
		t.Helper()
		require.Equal(t, int64(2), revs, "one write for the deletion, one for the removal")
		require.Len(t, evs, 2)
		assert.Equal(t, watch.Modified, evs[0].typ)
		assert.Equal(t, watch.Deleted, evs[1].typ)
		marked, gone := evs[0].pod, evs[1].pod
		require.NotNil(t, marked.DeletionTimestamp)
		assert.Equal(t, wantDeletionTimestamp, marked.DeletionTimestamp.Time.UTC())
		require.NotNil(t, marked.DeletionGracePeriodSeconds)
		assert.Equal(t, int64(0), *marked.DeletionGracePeriodSeconds)
		assert.Equal(t, wantGeneration, marked.Generation)
		assert.Equal(t, fmt.Sprint(e.s.Store().Rev()-1), marked.ResourceVersion)
		// DELETED carries the version just written, with the deletion revision.
		assert.Equal(t, fmt.Sprint(e.s.Store().Rev()), gone.ResourceVersion)
		withRV := gone.DeepCopy()
		withRV.ResourceVersion = marked.ResourceVersion
		assert.True(t, apiequality.Semantic.DeepEqual(marked, withRV), diff.Diff(marked, withRV))
	}

	e.eng.RunUntil(10 * time.Second)
	now := sim.Epoch.Add(10 * time.Second)
	// An explicit gracePeriodSeconds: 0 on a running pod (a force delete).
	p := bound("forced")
	evs, revs := deleteAndWatch("forced", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
	requireTwoStep(evs, revs, now, p.Generation+1)

	// An unscheduled pod: its grace resolves to 0.
	_, err = pods.Create(ctx, pod("pending"), metav1.CreateOptions{})
	require.NoError(t, err)
	evs, revs = deleteAndWatch("pending", metav1.DeleteOptions{})
	requireTwoStep(evs, revs, now, 2)

	// A terminal pod: its grace resolves to 0.
	p = bound("done")
	p.Status.Phase = v1.PodSucceeded
	p, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	evs, revs = deleteAndWatch("done", metav1.DeleteOptions{})
	requireTwoStep(evs, revs, now, p.Generation+1)

	// The kubelet's final delete of a pod deleted gracefully 5 s earlier:
	// the grace shortens from 30 s to 0, so the deletionTimestamp moves
	// back by 30 s, to the first request (no generation bump: the pod was
	// already being deleted).
	p = bound("graceful")
	require.NoError(t, pods.Delete(ctx, "graceful", metav1.DeleteOptions{}))
	e.eng.RunUntil(15 * time.Second)
	evs, revs = deleteAndWatch("graceful", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: &p.UID}})
	requireTwoStep(evs, revs, now, p.Generation+1)

	// A pod held by a finalizer: the grace-0 delete is one write and the
	// pod stays; deleting it again changes nothing (its
	// deletionGracePeriodSeconds is 0 already: not graceful, and the
	// finalizer keeps it); removing the finalizer removes it in one write.
	held := pod("held")
	held.Finalizers = []string{"example.com/hold"}
	_, err = pods.Create(ctx, held, metav1.CreateOptions{})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	events = nil
	before := e.s.Store().Rev()
	require.NoError(t, pods.Delete(ctx, "held", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}))
	require.NoError(t, pods.Delete(ctx, "held", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}))
	assert.Equal(t, before+1, e.s.Store().Rev())
	held, err = pods.Get(ctx, "held", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(0), *held.DeletionGracePeriodSeconds)
	held.Finalizers = nil
	_, err = pods.Update(ctx, held, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, before+2, e.s.Store().Rev(), "the finalizer's removal is the removal")
	e.eng.RunUntilIdle(1000)
	assert.Equal(t, []watch.EventType{watch.Modified, watch.Deleted}, []watch.EventType{events[0].typ, events[1].typ})
	require.Len(t, events, 2)

	// A resource without a graceful strategy is removed in one write.
	cms := e.c.CoreV1().ConfigMaps("default")
	_, err = cms.Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	before = e.s.Store().Rev()
	require.NoError(t, cms.Delete(ctx, "cfg", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}))
	assert.Equal(t, before+1, e.s.Store().Rev())
}

// Events do not take part in garbage collection: their strategy's
// DefaultGarbageCollectionPolicy is Unsupported (pkg/registry/core/event),
// so a delete adds neither the orphan nor the foregroundDeletion finalizer
// whatever its propagation policy, and removes them if the Event has them
// (shouldOrphanDependents / shouldDeleteDependents in
// staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go).
// The garbage collector does not watch Events, so either finalizer would
// hold one forever.
func TestEventsHaveNoGarbageCollectionPolicy(t *testing.T) {
	e := newEnv(t)
	evs := e.c.CoreV1().Events("default")
	mk := func(name string, finalizers ...string) {
		t.Helper()
		_, err := evs.Create(ctx, &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers},
			InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1"}, Reason: "Test", Type: v1.EventTypeNormal}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	gone := func(name string) bool {
		_, err := evs.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}
	fg, orphan := metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan
	mk("fg")
	require.NoError(t, evs.Delete(ctx, "fg", metav1.DeleteOptions{PropagationPolicy: &fg}))
	assert.True(t, gone("fg"), "no foregroundDeletion finalizer")
	mk("orphan")
	require.NoError(t, evs.Delete(ctx, "orphan", metav1.DeleteOptions{PropagationPolicy: &orphan}))
	assert.True(t, gone("orphan"), "no orphan finalizer")
	mk("legacy")
	require.NoError(t, evs.Delete(ctx, "legacy", metav1.DeleteOptions{OrphanDependents: ptr(true)}))
	assert.True(t, gone("legacy"), "orphanDependents: true adds nothing either")
	mk("had-orphan", metav1.FinalizerOrphanDependents)
	require.NoError(t, evs.Delete(ctx, "had-orphan", metav1.DeleteOptions{}))
	assert.True(t, gone("had-orphan"), "its orphan finalizer is dropped: nothing is left to wait for")
	mk("held", metav1.FinalizerDeleteDependents, "example.com/hold")
	require.NoError(t, evs.Delete(ctx, "held", metav1.DeleteOptions{}))
	ev, err := evs.Get(ctx, "held", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"example.com/hold"}, ev.Finalizers)
	assert.NotNil(t, ev.DeletionTimestamp)
}

// A terminating namespace goes only once its spec.finalizers are empty
// (the namespace controller's "kubernetes", removed when its content is
// gone): neither a second delete (the namespace REST Delete returns it
// unchanged while spec.finalizers remain, pkg/registry/core/namespace/
// storage) nor the removal of its last metadata finalizer
// (ShouldDeleteNamespaceDuringUpdate) removes it earlier.
func TestTerminatingNamespaceWaitsForSpecFinalizers(t *testing.T) {
	e := newEnv(t)
	nss := e.c.CoreV1().Namespaces()
	for _, name := range []string{"team", "held"} {
		n := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if name == "held" {
			n.Finalizers = []string{"example.com/hold"}
		}
		_, err := nss.Create(ctx, n, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = e.c.CoreV1().ConfigMaps(name).Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
		require.NoError(t, err)
		require.NoError(t, nss.Delete(ctx, name, metav1.DeleteOptions{}))
	}
	e.eng.RunFor(10 * time.Second)

	require.NoError(t, nss.Delete(ctx, "team", metav1.DeleteOptions{}), "deleting again")
	team, err := nss.Get(ctx, "team", metav1.GetOptions{})
	require.NoError(t, err, "a second delete does not remove a namespace whose content is not gone")
	assert.Equal(t, []v1.FinalizerName{v1.FinalizerKubernetes}, team.Spec.Finalizers)

	held, err := nss.Get(ctx, "held", metav1.GetOptions{})
	require.NoError(t, err)
	held.Finalizers = nil
	_, err = nss.Update(ctx, held, metav1.UpdateOptions{})
	require.NoError(t, err)
	held, err = nss.Get(ctx, "held", metav1.GetOptions{})
	require.NoError(t, err, "without metadata finalizers, but spec.finalizers remain")
	assert.Equal(t, v1.NamespaceTerminating, held.Status.Phase)

	for _, name := range []string{"team", "held"} {
		cm, err := e.c.CoreV1().ConfigMaps(name).Get(ctx, "cfg", metav1.GetOptions{})
		require.NoError(t, err)
		cm.Finalizers = nil
		_, err = e.c.CoreV1().ConfigMaps(name).Update(ctx, cm, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	e.eng.RunFor(10 * time.Second)
	for _, name := range []string{"team", "held"} {
		_, err := nss.Get(ctx, name, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "%s gone with its content", name)
	}
}

// Deleting a namespace sets its orphan / foregroundDeletion finalizers as
// the namespace REST Delete does (shouldHaveOrphanFinalizer,
// shouldHaveDeleteDependentsFinalizer in pkg/registry/core/namespace/
// storage): an explicit policy decides, orphanDependents: false meaning
// foreground there; without one the finalizers stay as they are. The
// namespace controller deletes the content with propagation Background
// (namespaced_resources_deleter.go deleteCollection), so an orphan
// finalizer on the content does not hold it.
func TestNamespaceDeletionPropagation(t *testing.T) {
	e := newEnv(t)
	nss := e.c.CoreV1().Namespaces()
	fg, orphan := metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan
	for _, tc := range []struct {
		name     string
		existing []string
		opts     metav1.DeleteOptions
		want     []string
	}{
		{"fg", nil, metav1.DeleteOptions{PropagationPolicy: &fg}, []string{metav1.FinalizerDeleteDependents}},
		{"orphan", nil, metav1.DeleteOptions{PropagationPolicy: &orphan}, []string{metav1.FinalizerOrphanDependents}},
		{"legacy", nil, metav1.DeleteOptions{OrphanDependents: ptr(false)}, []string{metav1.FinalizerDeleteDependents}},
		{"kept", []string{"example.com/hold", metav1.FinalizerOrphanDependents}, metav1.DeleteOptions{}, []string{"example.com/hold", metav1.FinalizerOrphanDependents}},
		{"bg", []string{metav1.FinalizerOrphanDependents}, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}, nil},
	} {
		_, err := nss.Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tc.name, Finalizers: tc.existing}}, metav1.CreateOptions{})
		require.NoError(t, err)
		require.NoError(t, nss.Delete(ctx, tc.name, tc.opts))
		n, err := nss.Get(ctx, tc.name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, tc.want, n.Finalizers, tc.name)
		assert.Equal(t, v1.NamespaceTerminating, n.Status.Phase, tc.name)
	}

	_, err := nss.Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.c.CoreV1().ConfigMaps("team").Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Finalizers: []string{metav1.FinalizerOrphanDependents}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.c.CoreV1().ConfigMaps("team").Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "fg"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, e.c.CoreV1().ConfigMaps("team").Delete(ctx, "fg", metav1.DeleteOptions{PropagationPolicy: &fg}))
	require.NoError(t, nss.Delete(ctx, "team", metav1.DeleteOptions{}))
	e.eng.RunFor(10 * time.Second)
	_, err = e.c.CoreV1().ConfigMaps("team").Get(ctx, "cfg", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "deleted with propagation Background: its orphan finalizer is dropped")
	_, err = e.c.CoreV1().ConfigMaps("team").Get(ctx, "fg", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "already being deleted in the foreground: deleting it again with Background drops foregroundDeletion")
	_, err = nss.Get(ctx, "team", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))
}

// TestServiceTypeChangeDropsTypeDependentFields: changing a NodePort or
// LoadBalancer Service to ClusterIP with a patch that names only the type
// (what kubectl apply sends) succeeds: the server drops the defaulted
// externalTrafficPolicy, allocateLoadBalancerNodePorts and
// loadBalancerClass the user did not change, as upstream's
// pkg/registry/core/service/strategy.go dropTypeDependentFields does.
func TestServiceTypeChangeDropsTypeDependentFields(t *testing.T) {
	e := newEnv(t)
	svcs := e.c.CoreV1().Services("default")
	class := "example.com/lb"
	for _, s := range []*v1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "np"}, Spec: v1.ServiceSpec{Type: v1.ServiceTypeNodePort, Ports: []v1.ServicePort{{Port: 80}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "lb"}, Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, LoadBalancerClass: &class, Ports: []v1.ServicePort{{Port: 80}}}},
	} {
		created, err := svcs.Create(ctx, s, metav1.CreateOptions{})
		require.NoError(t, err)
		require.Equal(t, v1.ServiceExternalTrafficPolicyCluster, created.Spec.ExternalTrafficPolicy)

		got, err := svcs.Patch(ctx, s.Name, types.StrategicMergePatchType, []byte(`{"spec":{"type":"ClusterIP"}}`), metav1.PatchOptions{})
		require.NoError(t, err, s.Name)
		assert.Equal(t, v1.ServiceTypeClusterIP, got.Spec.Type)
		assert.Empty(t, got.Spec.ExternalTrafficPolicy, s.Name)
		assert.Nil(t, got.Spec.AllocateLoadBalancerNodePorts, s.Name)
		assert.Nil(t, got.Spec.LoadBalancerClass, s.Name)
	}

	// A changed externalTrafficPolicy is the user's: kept, and refused.
	_, err := svcs.Create(ctx, &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "np2"},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeNodePort, Ports: []v1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = svcs.Patch(ctx, "np2", types.StrategicMergePatchType, []byte(`{"spec":{"type":"ClusterIP","externalTrafficPolicy":"Local"}}`), metav1.PatchOptions{})
	assert.EqualError(t, err, `Service "np2" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services`)
}
