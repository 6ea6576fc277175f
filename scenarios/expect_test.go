package scenarios

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// fakeCluster is a Cluster over plain slices.
type fakeCluster struct {
	objects []runtime.Object
	metrics map[string][]Sample
}

func (c *fakeCluster) Get(r Resource, namespace, name string) (runtime.Object, bool) {
	for _, o := range c.List(r, namespace) {
		acc, _ := meta.Accessor(o)
		if acc.GetName() == name {
			return o, true
		}
	}
	return nil, false
}

func (c *fakeCluster) List(r Resource, namespace string) []runtime.Object {
	var out []runtime.Object
	for _, o := range c.objects {
		gvk, err := kindOf(o)
		if err != nil || gvk != r.Kind {
			continue
		}
		acc, _ := meta.Accessor(o)
		if namespace != "" && acc.GetNamespace() != namespace {
			continue
		}
		out = append(out, o)
	}
	return out
}

func (c *fakeCluster) Metric(name string) []Sample { return c.metrics[name] }

func kindOf(o runtime.Object) (string, error) {
	switch o.(type) {
	case *v1.Pod:
		return "Pod", nil
	case *v1.Node:
		return "Node", nil
	case *v1.Service:
		return "Service", nil
	case *v1.Event:
		return "Event", nil
	}
	return fmt.Sprintf("%T", o), nil
}

func pod(ns, name, node string, phase v1.PodPhase, labels map[string]string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       v1.PodSpec{NodeName: node},
		Status:     v1.PodStatus{Phase: phase},
	}
}

// expectFrom loads a scenario with the given expect entries and returns them.
func expectFrom(t *testing.T, entries string) []Expectation {
	t.Helper()
	deployment := func(ns string) string {
		return "  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web, namespace: " + ns + "}\n" +
			"    spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}}\n"
	}
	doc := "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1h\n" +
		"  cluster:\n    nodes: [{name: worker-1, capacity: {cpu: 1, memory: 1Gi}}]\n" +
		"  objects:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: shop}}\n" +
		deployment("default") + deployment("shop") +
		"  expect:\n" + entries
	s, err := LoadBytes("e.yaml", []byte(doc), ".")
	require.NoError(t, err)
	return s.Spec.Expect
}

func TestEvaluateGet(t *testing.T) {
	exps := expectFrom(t, `
  - {at: 1m, get: deployment/web, jsonpath: '{.status.readyReplicas}', equals: "2"}
  - {at: 1m, get: deployment/web, jsonpath: '{.status.readyReplicas}', equals: "3"}
  - {at: 1m, get: deploy/web, namespace: shop, jsonpath: '{.spec.replicas}', equals: "3"}
  - {at: 1m, get: node/worker-1, jsonpath: '{.spec.unschedulable}', equals: true}
  - {at: 1m, get: deployment/web, jsonpath: '{.spec.template.spec.containers[9].name}', equals: ""}
`)
	dep := &deploymentCluster{fakeCluster: &fakeCluster{objects: []runtime.Object{testDeployment(), testNode()}}}
	assert.Equal(t, Observation{Holds: true, Value: "2"}, exps[0].Evaluate(dep))
	assert.Equal(t, Observation{Holds: false, Value: "2"}, exps[1].Evaluate(dep))
	assert.Equal(t, Observation{Holds: false, Value: "deployment/web not found in namespace shop", NotFound: true}, exps[2].Evaluate(dep))
	assert.Equal(t, Observation{Holds: true, Value: "true"}, exps[3].Evaluate(dep))
	assert.Equal(t, Observation{Holds: false, Value: "jsonpath error: array index out of bounds: index 9, length 2"}, exps[4].Evaluate(dep))
}

// TestEvaluateGetAgainAndAgain evaluates the same get many times, as a
// within does at every instant: each evaluation prints what a fresh
// kubectl get would. client-go's JSONPath keeps the state of a {range}
// in the compiled template (FindResults narrows parser.Root.Nodes to the
// nodes after the range and leaves it so), so reusing a compiled template
// with a range printed "not in range, nothing to end" from the second
// evaluation on.
func TestEvaluateGetAgainAndAgain(t *testing.T) {
	exps := expectFrom(t, `
  - {within: 1m, get: deployment/web, jsonpath: '{range .status.conditions[*]}{.type}={.status};{end}', equals: "Available=True;Progressing=True;"}
  - {within: 1m, get: deployment/web, jsonpath: 'x{range .spec.template.spec.containers[*]}{.name}{range .ports[*]}:{.containerPort}{end},{end}y {.spec.replicas}', equals: "x"}
  - {within: 1m, get: deployment/web, jsonpath: '{range .spec.template.spec.containers[*]}{.ports[5]}{end}', equals: ""}
  - {within: 1m, get: deployment/web, jsonpath: '{.status.readyReplicas}', equals: "2"}
`)
	dep := &deploymentCluster{fakeCluster: &fakeCluster{objects: []runtime.Object{testDeployment(), testNode()}}}
	want := []Observation{
		{Holds: true, Value: "Available=True;Progressing=True;"},
		{Holds: false, Value: "xweb:80:443,sidecar,y 3"},
		{Holds: false, Value: "jsonpath error: array index out of bounds: index 5, length 2"},
		{Holds: true, Value: "2"},
	}
	for round := range 3 {
		for i := range exps {
			assert.Equal(t, want[i], exps[i].Evaluate(dep), "expectation %d, evaluation %d", i, round+1)
		}
	}
}

// TestEvaluateGetWalksMapsInKeyOrder: * and .. visit a map's entries in
// Go's random map order in client-go's jsonpath (evalWildcard and
// evalRecursive range over MapKeys), so kubectl prints them in any order;
// kubesim prints them in key order, the same in every run, as determinism
// requires (one of the orders kubectl prints).
func TestEvaluateGetWalksMapsInKeyOrder(t *testing.T) {
	exps := expectFrom(t, `
  - {at: 1m, get: deployment/web, jsonpath: '{.metadata.labels[*]}', equals: "web front"}
  - {at: 1m, get: deployment/web, jsonpath: '{.metadata.labels.*}', equals: "web front"}
  - {at: 1m, get: deployment/web, jsonpath: '{..name}', equals: "web web sidecar"}
  - {at: 1m, get: deployment/web, jsonpath: '{..ports[*].containerPort} {.status.conditions[*].type}', equals: "80 443 Available Progressing"}
  - {at: 1m, get: deployment/web, jsonpath: '{.spec.template.spec.containers[0].resources.requests.*}', equals: "100m 1Gi"}
  - {at: 1m, get: deployment/web, jsonpath: '{.spec.template.spec.containers[*]}', equals: ""}
`)
	dep := &deploymentCluster{fakeCluster: &fakeCluster{objects: []runtime.Object{testDeployment(), testNode()}}}
	for i := range exps {
		seen := map[string]bool{}
		for range 40 {
			seen[exps[i].Evaluate(dep).Value] = true
		}
		assert.Len(t, seen, 1, "expectation %d printed %q", i, sortedKeys(seen))
	}
	assert.Equal(t, Observation{Value: "jsonpath error: map[string]interface {} is not array or slice"}, exps[0].Evaluate(dep),
		"[*] is for lists (kubectl's error)")
	for i, want := range []string{1: "web front", 2: "web web sidecar", 3: "80 443 Available Progressing", 4: "100m 1Gi"} {
		if i > 0 {
			assert.Equal(t, Observation{Holds: want == exps[i].Text, Value: want}, exps[i].Evaluate(dep), "expectation %d", i)
		}
	}
	containers, err := json.Marshal(testDeployment().Spec.Template.Spec.Containers)
	require.NoError(t, err)
	var list []any
	require.NoError(t, json.Unmarshal(containers, &list))
	var objects []string
	for _, c := range list {
		b, err := json.Marshal(c)
		require.NoError(t, err)
		objects = append(objects, string(b))
	}
	assert.Equal(t, strings.Join(objects, " "), exps[5].Evaluate(dep).Value, "objects print as the JSON of the maps they are")
}

// deploymentCluster adds Deployments to fakeCluster's kinds.
type deploymentCluster struct{ *fakeCluster }

func (c *deploymentCluster) Get(r Resource, namespace, name string) (runtime.Object, bool) {
	for _, o := range c.objects {
		acc, _ := meta.Accessor(o)
		kind, _ := kindOf(o)
		if kind == "*v1.Deployment" {
			kind = "Deployment"
		}
		if kind == r.Kind && acc.GetName() == name && (namespace == "" || acc.GetNamespace() == namespace) {
			return o, true
		}
	}
	return nil, false
}

func TestEvaluateCount(t *testing.T) {
	exps := expectFrom(t, `
  - {at: 1m, count: pods, equals: 3}
  - {at: 1m, count: po, labelSelector: app=web, equals: 2}
  - {at: 1m, count: pods, fieldSelector: spec.nodeName=worker-1, equals: 2}
  - {at: 1m, count: pods, fieldSelector: 'spec.nodeName=worker-1,status.phase!=Running', equals: 1}
  - {at: 1m, count: pods, labelSelector: 'app in (web, db)', fieldSelector: status.phase=Running, atLeast: 2, atMost: 2}
  - {at: 1m, count: pods, allNamespaces: true, equals: 4}
  - {at: 1m, count: pods, namespace: shop, equals: 1}
  - {at: 1m, count: nodes, fieldSelector: spec.unschedulable=true, equals: 1}
  - {at: 1m, count: nodes, fieldSelector: spec.unschedulable=false, equals: 1}
  - {at: 1m, count: svc, fieldSelector: spec.type=NodePort, atLeast: 1}
  - {at: 1m, count: events, fieldSelector: 'involvedObject.name=web-1,reason=Killing,source=kubelet', equals: 1}
  - {at: 1m, count: pods, fieldSelector: 'status.podIP=10.0.0.9,metadata.name=db', equals: 1}
  - {at: 1m, count: pods, namespace: kube-public, labelSelector: app=api, equals: 1}
  - {at: 1m, count: pods, labelSelector: app=api, equals: 0}
`)
	dbPod := pod("default", "db", "worker-2", v1.PodRunning, map[string]string{"app": "db"})
	dbPod.Status.PodIPs = []v1.PodIP{{IP: "10.0.0.9"}}
	cl := &fakeCluster{objects: []runtime.Object{
		pod("default", "web-1", "worker-1", v1.PodRunning, map[string]string{"app": "web"}),
		pod("default", "web-2", "worker-1", v1.PodPending, map[string]string{"app": "web"}),
		dbPod,
		pod("shop", "api-1", "worker-2", v1.PodRunning, map[string]string{"app": "api"}),
		testNode(),
		&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker-2"}},
		&v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}, Spec: v1.ServiceSpec{Type: v1.ServiceTypeNodePort}},
		&v1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-1.1"}, InvolvedObject: v1.ObjectReference{Kind: "Pod", Name: "web-1"},
			Reason: "Killing", Source: v1.EventSource{Component: "kubelet"}},
	}}
	want := []Observation{
		{Holds: true, Value: "3"}, {Holds: true, Value: "2"}, {Holds: true, Value: "2"}, {Holds: true, Value: "1"}, {Holds: true, Value: "2"}, {Holds: true, Value: "4"}, {Holds: true, Value: "1"},
		{Holds: true, Value: "1"}, {Holds: true, Value: "1"}, {Holds: true, Value: "1"}, {Holds: true, Value: "1"}, {Holds: true, Value: "1"},
		// a namespace with none of the kind says so, as kubectl's "No
		// resources found in kube-public namespace." (the api pod is in shop);
		// one with some that do not match says only the count
		{Holds: false, Value: "0 (no pods in namespace kube-public)"}, {Holds: true, Value: "0"},
	}
	require.Len(t, exps, len(want))
	for i, e := range exps {
		assert.Equal(t, want[i], e.Evaluate(cl), "expectation %d: %s", i, e.Description())
	}
	cl.objects = cl.objects[:1]
	assert.Equal(t, Observation{Holds: false, Value: "1"}, exps[0].Evaluate(cl))
}

func TestEvaluateMetric(t *testing.T) {
	exps := expectFrom(t, `
  - {at: 1m, metric: 'kubesim_requests_total{service="web",outcome="failed"}', atMost: 50}
  - {at: 1m, metric: 'kubesim_requests_total{service="web"}', equals: 370}
  - {at: 1m, metric: 'kubesim_requests_total{service=~"web|api",outcome!="failed"}', atLeast: 400}
  - {at: 1m, metric: 'kubesim_requests_total{pod!~"web-.*"}', equals: 100}
  - {at: 1m, metric: 'kubesim_requests_total', equals: 470}
  - {at: 1m, metric: 'kubesim_endpoints{service="none"}', equals: 0}
  - {at: 1m, metric: 'kubesim_requests_total{namespace=""}', equals: 470}
`)
	cl := &fakeCluster{metrics: map[string][]Sample{
		"kubesim_requests_total": {
			{Labels: map[string]string{"service": "web", "pod": "web-1", "outcome": "served"}, Value: 300},
			{Labels: map[string]string{"service": "web", "pod": "web-2", "outcome": "failed"}, Value: 70},
			{Labels: map[string]string{"service": "api", "pod": "api-1", "outcome": "served"}, Value: 100},
		},
	}}
	want := []Observation{
		{Holds: false, Value: "70"}, {Holds: true, Value: "370"}, {Holds: true, Value: "400"}, {Holds: true, Value: "100"}, {Holds: true, Value: "470"},
		{Holds: true, Value: "0 (no matching series)"}, {Holds: true, Value: "470"},
	}
	require.Len(t, exps, len(want))
	for i, e := range exps {
		assert.Equal(t, want[i], e.Evaluate(cl), "expectation %d: %s", i, e.Description())
	}
}

// stepCluster is a cluster whose pod count the test sets over time.
type stepCluster struct{ pods int }

func (c *stepCluster) Get(Resource, string, string) (runtime.Object, bool) { return nil, false }
func (c *stepCluster) List(r Resource, _ string) []runtime.Object {
	out := make([]runtime.Object, c.pods)
	for i := range out {
		out[i] = pod("default", fmt.Sprintf("p%d", i), "", v1.PodRunning, nil)
	}
	return out
}
func (c *stepCluster) Metric(string) []Sample { return nil }

func TestCheckerAtAndWithin(t *testing.T) {
	exps := expectFrom(t, `
  - {at: 2m, count: pods, equals: 3}
  - {at: 2m, count: pods, equals: 4}
  - {within: 5m, count: pods, atLeast: 5}
  - {within: 5m, count: pods, atLeast: 9}
  - {within: 0s, count: pods, equals: 0}
`)
	cl := &stepCluster{}
	chk := NewChecker(exps)
	next, ok := chk.NextDeadline()
	require.True(t, ok)
	assert.Equal(t, time.Duration(0), next)

	decided := chk.Observe(0, cl)
	require.Len(t, decided, 1)
	assert.Equal(t, 4, decided[0].Expectation.Index)
	assert.Equal(t, Passed, decided[0].Status)

	cl.pods = 3
	assert.Empty(t, chk.Observe(time.Minute, cl), "an at is not evaluated before its time")
	next, _ = chk.NextDeadline()
	assert.Equal(t, 2*time.Minute, next)
	decided = chk.Observe(2*time.Minute, cl)
	require.Len(t, decided, 2)
	assert.Equal(t, Result{Expectation: &exps[0], Status: Passed, DecidedAt: 2 * time.Minute, Observed: "3", Evaluations: 1}, decided[0])
	assert.Equal(t, Result{Expectation: &exps[1], Status: Failed, DecidedAt: 2 * time.Minute, Observed: "3", Evaluations: 1}, decided[1])

	cl.pods = 6
	decided = chk.Observe(3*time.Minute+time.Second, cl)
	require.Len(t, decided, 1)
	assert.Equal(t, Passed, decided[0].Status, "within passes the first time it holds")
	assert.Equal(t, 3*time.Minute+time.Second, decided[0].DecidedAt)

	cl.pods = 2
	assert.Empty(t, chk.Observe(4*time.Minute, cl))
	assert.False(t, chk.Done())
	decided = chk.Observe(5*time.Minute, cl)
	require.Len(t, decided, 1)
	assert.Equal(t, Result{Expectation: &exps[3], Status: Failed, DecidedAt: 5 * time.Minute, Observed: "2", Evaluations: 6}, decided[0],
		"within fails at its deadline with the value seen then")
	assert.True(t, chk.Done())
	assert.False(t, chk.AllPassed())
	_, ok = chk.NextDeadline()
	assert.False(t, ok)

	statuses := []Status{}
	for _, r := range chk.Results() {
		statuses = append(statuses, r.Status)
	}
	assert.Equal(t, []Status{Passed, Failed, Passed, Failed, Passed}, statuses)
	assert.Equal(t, "PASS", Passed.String())
	assert.Equal(t, "FAIL", Failed.String())
}

// changeCountingCluster is a stepCluster that counts its changes per kind
// and its lists.
type changeCountingCluster struct {
	stepCluster
	changes map[string]uint64
	lists   int
}

func (c *changeCountingCluster) List(r Resource, ns string) []runtime.Object {
	c.lists++
	return c.stepCluster.List(r, ns)
}

func (c *changeCountingCluster) ChangeCount(r Resource) (uint64, bool) {
	n, ok := c.changes[r.Kind]
	return n, ok
}

// A count is listed again only when its kind changed; an observation of an
// unchanged kind is the last one, and still counts as an evaluation.
func TestCheckerRelistsACountOnlyAfterAChange(t *testing.T) {
	exps := expectFrom(t, `
  - {within: 5m, count: pods, equals: 0}
  - {within: 5m, count: nodes, equals: 7}
`)
	cl := &changeCountingCluster{stepCluster: stepCluster{pods: 2}, changes: map[string]uint64{"Pod": 1}}
	chk := NewChecker(exps)
	assert.Empty(t, chk.Observe(0, cl))
	assert.Equal(t, 2, cl.lists, "first evaluation of each")
	assert.Empty(t, chk.Observe(time.Second, cl))
	assert.Equal(t, 3, cl.lists, "pods unchanged: not listed again; nodes are not counted: listed")
	cl.pods = 0 // a change the cluster did not count: not seen
	assert.Empty(t, chk.Observe(2*time.Second, cl))
	assert.Equal(t, 4, cl.lists)
	cl.changes["Pod"]++
	decided := chk.Observe(3*time.Second, cl)
	assert.Equal(t, 6, cl.lists)
	require.Len(t, decided, 1)
	assert.Equal(t, Passed, decided[0].Status)
	assert.Equal(t, 3*time.Second, decided[0].DecidedAt)
	assert.Equal(t, 4, decided[0].Evaluations)
	assert.Equal(t, "0 (no pods in namespace default)", decided[0].Observed)
}

// objectsCluster is a fakeCluster whose every change is counted.
type objectsCluster struct {
	fakeCluster
	changes uint64
}

func (c *objectsCluster) ChangeCount(Resource) (uint64, bool) { return c.changes, true }

// A count re-checks the selectors of an object only when its version
// changed, and forgets the objects that are gone.
func TestCountRechecksOnlyChangedObjects(t *testing.T) {
	exps := expectFrom(t, "  - {within: 5m, count: pods, fieldSelector: status.phase=Running, labelSelector: app=web, equals: 99}\n")
	web := map[string]string{"app": "web"}
	mk := func(i int, phase v1.PodPhase, rv string) *v1.Pod {
		p := pod("default", fmt.Sprintf("p%d", i), "n", phase, web)
		p.UID, p.ResourceVersion = types.UID(fmt.Sprintf("uid-%d", i)), rv
		return p
	}
	cl := &objectsCluster{}
	for i := range 3 {
		cl.objects = append(cl.objects, mk(i, v1.PodRunning, "1"))
	}
	chk := NewChecker(exps)
	observed := func(at time.Duration) string {
		chk.Observe(at, cl)
		return chk.Results()[0].Observed
	}
	assert.Equal(t, "3", observed(0))

	cl.objects[0] = mk(0, v1.PodFailed, "2")
	cl.changes++
	assert.Equal(t, "2", observed(time.Second), "a new version is checked again")

	cl.objects[1].(*v1.Pod).Status.Phase = v1.PodFailed // in place, same version: never happens in an API server
	cl.changes++
	assert.Equal(t, "2", observed(2*time.Second), "an unchanged version is not checked again")

	cl.objects = cl.objects[:1]
	for i := 3; i < 1200; i++ {
		cl.objects = append(cl.objects, mk(i, v1.PodPending, "1"))
	}
	cl.changes++
	assert.Equal(t, "0", observed(3*time.Second))
	cl.objects = cl.objects[:1]
	cl.changes++
	assert.Equal(t, "0", observed(4*time.Second))
	r := chk.Results()[0]
	assert.Equal(t, Pending, r.Status)
	require.NotNil(t, r.memo)
	assert.Len(t, r.memo.byUID, 1, "the objects gone are forgotten")
}

func TestCheckerRejectsSkippedDeadlines(t *testing.T) {
	exps := expectFrom(t, "  - {at: 2m, count: pods, equals: 0}\n")
	chk := NewChecker(exps)
	assert.PanicsWithValue(t,
		"scenarios: expectation 0 (count pods == 0 at 2m) was due at 2m0s but Observe was first called at 3m0s after it; the runner must call Observe at every NextDeadline",
		func() { chk.Observe(3*time.Minute, &stepCluster{}) })

	chk = NewChecker(exps)
	chk.Observe(time.Minute, &stepCluster{})
	assert.Panics(t, func() { chk.Observe(30*time.Second, &stepCluster{}) }, "time going backwards is a runner bug")
}

func TestCheckerAllPassed(t *testing.T) {
	exps := expectFrom(t, "  - {at: 1m, count: pods, equals: 0}\n  - {within: 1m, count: pods, atMost: 1}\n")
	chk := NewChecker(exps)
	chk.Observe(30*time.Second, &stepCluster{})
	assert.False(t, chk.AllPassed())
	chk.Observe(time.Minute, &stepCluster{})
	assert.True(t, chk.AllPassed())
	assert.True(t, NewChecker(nil).AllPassed())
}

// TestFieldSetTypedMatchesUnstructured: the typed fast path and the
// unstructured path compute the same selectable fields.
func TestFieldSetTypedMatchesUnstructured(t *testing.T) {
	p := pod("default", "web-1", "worker-1", v1.PodRunning, nil)
	p.Spec.RestartPolicy, p.Spec.SchedulerName, p.Spec.ServiceAccountName, p.Spec.HostNetwork = v1.RestartPolicyAlways, "default-scheduler", "sa", true
	p.Status.PodIPs, p.Status.NominatedNodeName = []v1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}, "worker-2"
	ev := &v1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "e"},
		InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", UID: "u", APIVersion: "v1", ResourceVersion: "7", FieldPath: "spec.containers{web}"},
		Reason:         "Killing", ReportingController: "kubelet", Type: "Normal"}
	objs := map[string]runtime.Object{
		"pod": p, "node": testNode(), "event": ev,
		"service":    &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: v1.ServiceSpec{Type: v1.ServiceTypeNodePort, ClusterIP: "10.96.0.10"}},
		"namespace":  &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Status: v1.NamespaceStatus{Phase: v1.NamespaceActive}},
		"replicaset": &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-1"}, Status: appsv1.ReplicaSetStatus{Replicas: 3}},
	}
	for name, obj := range objs {
		r, _ := LookupResource(name)
		typed, err := fieldSet(obj, r)
		require.NoError(t, err)
		m, err := toMap(obj, r)
		require.NoError(t, err)
		unstructuredSet, err := fieldSet(&unstructured.Unstructured{Object: m}, r)
		require.NoError(t, err)
		assert.Equal(t, typed, unstructuredSet, name)
		assert.Len(t, typed, len(selectableFields(r)), "%s: every selectable field is computed", name)
	}
}

// valuesCluster is a fakeCluster that reads a metric's values without its
// labels, with a shape it moves when the test adds or deletes a series,
// and counts the label lists it builds.
type valuesCluster struct {
	fakeCluster
	shape   uint64
	samples int // calls of Metric
}

func (c *valuesCluster) Metric(name string) []Sample {
	c.samples++
	return c.fakeCluster.Metric(name)
}

func (c *valuesCluster) MetricValues(name string, buf []float64) ([]float64, uint64) {
	for _, s := range c.fakeCluster.metrics[name] {
		buf = append(buf, s.Value)
	}
	return buf, c.shape
}

// A metric expectation matches the samples' labels only when the metric's
// shape moved; in between it sums the values of the samples it matched,
// and observes what matching them all again would.
func TestMetricMatchesLabelsOnlyWhenTheShapeMoves(t *testing.T) {
	exps := expectFrom(t, `
  - {within: 5m, metric: 'kubesim_requests_total{service=~"web|api",outcome="served"}', atLeast: 1000}
  - {within: 5m, metric: 'kubesim_requests_total{service="none"}', equals: 1}
`)
	req := func(svc, pod, outcome string, v float64) Sample {
		return Sample{Labels: map[string]string{"service": svc, "pod": pod, "outcome": outcome}, Value: v}
	}
	cl := &valuesCluster{fakeCluster: fakeCluster{metrics: map[string][]Sample{
		"kubesim_requests_total": {req("web", "web-1", "served", 1), req("web", "web-1", "failed", 7), req("db", "db-1", "served", 9)},
	}}}
	plain := &cl.fakeCluster
	chk := NewChecker(exps)
	observe := func(at time.Duration) {
		t.Helper()
		chk.Observe(at, cl)
		for i, r := range chk.Results() {
			if r.Status == Pending {
				assert.Equal(t, exps[i].Evaluate(plain).Value, r.Observed, "expectation %d at %v", i, at)
			}
		}
	}
	observe(0)
	assert.Equal(t, 2, cl.samples, "the first evaluation of each matches")
	series := cl.metrics["kubesim_requests_total"]
	for i := range 10 {
		series[0].Value++
		series[1].Value++
		observe(time.Duration(i+1) * time.Second)
	}
	assert.Equal(t, 2, cl.samples, "values alone moved: nothing matched again")
	assert.Equal(t, "11", chk.Results()[0].Observed)

	cl.metrics["kubesim_requests_total"] = append(series[:1:1], req("api", "api-1", "served", 5), series[1], series[2])
	cl.shape++
	observe(20 * time.Second)
	assert.Equal(t, 4, cl.samples, "a series added: both match again")
	cl.metrics["kubesim_requests_total"][1].Value = 995
	observe(21 * time.Second)
	assert.Equal(t, 4, cl.samples)
	r := chk.Results()[0]
	assert.Equal(t, Passed, r.Status)
	assert.Equal(t, "1006", r.Observed)
	assert.Equal(t, "0 (no matching series)", chk.Results()[1].Observed)
}
