package scenarios

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func loadGood(t *testing.T, file string) *Scenario {
	t.Helper()
	s, err := Load(file, WithValidator(testValidatorLenient{}))
	require.NoError(t, err)
	require.NotNil(t, s)
	return s
}

// testValidatorLenient is testValidator minus the selector rule, so good
// scenarios pass it: the loader calls the validator on every manifest.
type testValidatorLenient struct{ testValidator }

func TestMinimalScenarioGetsDefaults(t *testing.T) {
	s := loadGood(t, "testdata/good/minimal.yaml")
	assert.Equal(t, "minimal", s.Metadata.Name, "name defaults to the file name")
	assert.Equal(t, uint64(DefaultSeed), s.Spec.Seed)
	assert.Equal(t, 90*time.Second, s.Spec.Duration)
	assert.Equal(t, ProxyRoundRobin, s.Spec.ProxyMode)
	assert.Empty(t, s.Spec.Cluster.Nodes)
	assert.Empty(t, s.Spec.Events)
}

func TestAllActionsScenario(t *testing.T) {
	s := loadGood(t, "testdata/good/all-actions.yaml")
	assert.Equal(t, "all-actions", s.Metadata.Name)
	assert.Equal(t, "Every action and every expectation kind, for the loader tests.", s.Metadata.Description)
	assert.Equal(t, uint64(42), s.Spec.Seed)
	assert.Equal(t, time.Hour, s.Spec.Duration)
	assert.Equal(t, ProxyRandom, s.Spec.ProxyMode)

	t.Run("node groups", func(t *testing.T) {
		require.Len(t, s.Spec.Cluster.Nodes, 2)
		w := s.Spec.Cluster.Nodes[0]
		assert.Equal(t, []string{"worker-1", "worker-2", "worker-3"}, w.NodeNames())
		assert.Equal(t, "zone-a", w.Zone)
		assert.Equal(t, map[string]string{"tier": "general", ZoneLabel: "zone-a"}, w.Labels)
		assertQuantity(t, "4", w.Capacity[v1.ResourceCPU])
		assertQuantity(t, "8Gi", w.Capacity[v1.ResourceMemory])
		assertQuantity(t, "110", w.Capacity[v1.ResourcePods])
		assertQuantity(t, "3800m", w.Allocatable[v1.ResourceCPU], "allocatable overrides cpu")
		assertQuantity(t, "8Gi", w.Allocatable[v1.ResourceMemory], "the rest of allocatable is capacity")
		g := s.Spec.Cluster.Nodes[1]
		assert.Equal(t, []string{"gpu"}, g.NodeNames(), "a group of one is named as the group")
		assert.Equal(t, "zone-b", g.Zone, "zone comes from the label too")
		assertQuantity(t, "50", g.Capacity[v1.ResourcePods])
		assertQuantity(t, "2", g.Capacity["nvidia.com/gpu"])
		assert.Equal(t, []v1.Taint{{Key: "nvidia.com/gpu", Value: "present", Effect: v1.TaintEffectNoSchedule}}, g.Taints)
		assert.Equal(t, []string{"worker-1", "worker-2", "worker-3", "gpu"}, s.NodeNames())
	})

	t.Run("manifests", func(t *testing.T) {
		init := s.InitialObjects()
		require.Len(t, init, 5)
		var refs []string
		for _, m := range init {
			refs = append(refs, m.Ref().String()+"@"+m.Namespace)
		}
		assert.Equal(t, []string{"namespace/shop@", "deployment/web@default", "service/web@default", "deployment/api@shop", "service/api@shop"}, refs)
		d, ok := init[1].Object.(*appsv1.Deployment)
		require.True(t, ok)
		assert.Equal(t, int32(3), *d.Spec.Replicas)
		assert.Equal(t, "default", d.Namespace, "the API server's namespace defaulting is applied")
		assert.Equal(t, "apps/v1", d.APIVersion)
		assert.Equal(t, "Deployment", d.Kind)
		assert.Equal(t, "10m", d.Annotations["kubesim.dev/cpu-per-request"])
		assertQuantity(t, "100m", d.Spec.Template.Spec.Containers[0].Resources.Requests[v1.ResourceCPU])
		assert.Equal(t, "testdata/good/all-actions.yaml", init[1].Source.File)
		assert.Equal(t, 27, init[1].Source.Line)
		assert.Equal(t, "testdata/good/manifests/api.yaml", init[4].Source.File)
		assert.Equal(t, 12, init[4].Source.Line)
		ns := init[0].Object.(*v1.Namespace)
		assert.Empty(t, ns.Namespace, "cluster-scoped objects have no namespace")
	})

	byAction := map[Action]Event{}
	for _, e := range s.Spec.Events {
		if _, seen := byAction[e.Action]; !seen {
			byAction[e.Action] = e
		}
	}
	for _, a := range Actions {
		assert.Contains(t, byAction, a, "the scenario uses every action")
	}
	ev := func(i int) Event { return s.Spec.Events[i] }
	cases := []struct {
		name string
		got  Event
		want Event
	}{
		{"crashNode", ev(0), Event{At: 30 * time.Second, Action: ActionCrashNode, Node: "worker-1"}},
		{"partitionNode", ev(1), Event{At: time.Minute, Action: ActionPartitionNode, Node: "worker-2"}},
		{"recoverNode", ev(2), Event{At: 2 * time.Minute, Action: ActionRecoverNode, Node: "worker-1"}},
		{"deleteNode", ev(4), Event{At: 4 * time.Minute, Action: ActionDeleteNode, Node: "extra-2"}},
		{"cordon", ev(5), Event{At: 5 * time.Minute, Action: ActionCordon, Node: "worker-3"}},
		{"uncordon", ev(6), Event{At: 6 * time.Minute, Action: ActionUncordon, Node: "worker-3"}},
		{"drain", ev(7), Event{At: 7 * time.Minute, Action: ActionDrain, Node: "worker-3"}},
		{"failZone", ev(8), Event{At: 8 * time.Minute, Action: ActionFailZone, Zone: "zone-a"}},
		{"recoverZone", ev(9), Event{At: 9 * time.Minute, Action: ActionRecoverZone, Zone: "zone-a"}},
		{"delete", ev(11), Event{At: 11 * time.Minute, Action: ActionDelete, Namespace: "shop", Target: ref(t, "configmap/settings")}},
		{"scale", ev(12), Event{At: 12 * time.Minute, Action: ActionScale, Target: ref(t, "deployment/web"), Replicas: 5}},
		{"setLoad", ev(13), Event{At: 13 * time.Minute, Action: ActionSetLoad, Service: "web", RPS: 300}},
		{"setLoad ramp", ev(14), Event{At: 14 * time.Minute, Action: ActionSetLoad, Service: "web", RPS: 100, RampTo: ptr(1000.0), RampDuration: 10 * time.Minute, From: FromExternal}},
		{"setLoad from node", ev(15), Event{At: 15 * time.Minute, Action: ActionSetLoad, Namespace: "shop", Service: "api", RPS: 5, From: "worker-2"}},
		{"setPodLoad", ev(16), Event{At: 16 * time.Minute, Action: ActionSetPodLoad, Target: ref(t, "deployment/web"), RPS: 20.5}},
		{"killPod container", ev(17), Event{At: 17 * time.Minute, Action: ActionKillPod, Target: ref(t, "deployment/web"), Container: "sidecar"}},
		{"killPod pod", ev(18), Event{At: 18 * time.Minute, Action: ActionKillPod, Target: ref(t, "pod/web-5d8f7c9b4-x2x4k")}},
		{"rolloutUndo", ev(19), Event{At: 19 * time.Minute, Action: ActionRolloutUndo, Target: ref(t, "deployment/web")}},
		{"rolloutUndo toRevision", ev(20), Event{At: 20 * time.Minute, Action: ActionRolloutUndo, Target: ref(t, "deployment/web"), ToRevision: 1}},
		{"rolloutRestart", ev(21), Event{At: 21 * time.Minute, Action: ActionRolloutRestart, Target: ref(t, "deployment/web")}},
		{"labelNode", ev(22), Event{At: 22 * time.Minute, Action: ActionLabelNode, Node: "gpu", Labels: map[string]string{"accelerator": "a100"}, RemoveLabels: []string{"tier"}}},
		{"taintNode", ev(23), Event{At: 23 * time.Minute, Action: ActionTaintNode, Node: "worker-2", Taints: []v1.Taint{{Key: "maintenance", Effect: v1.TaintEffectNoExecute}}}},
		{"untaintNode", ev(24), Event{At: 24 * time.Minute, Action: ActionUntaintNode, Node: "gpu", Taints: []v1.Taint{{Key: "nvidia.com/gpu"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want.Namespace == "" {
				c.want.Namespace = DefaultNamespace
			}
			assert.Equal(t, c.want, stripped(c.got))
		})
	}

	t.Run("addNode", func(t *testing.T) {
		e := ev(3)
		assert.Equal(t, ActionAddNode, e.Action)
		require.NotNil(t, e.Group)
		assert.Equal(t, []string{"extra-1", "extra-2"}, e.Group.NodeNames())
		assert.Equal(t, "zone-c", e.Group.Labels[ZoneLabel])
		assertQuantity(t, "2", e.Group.Allocatable[v1.ResourceCPU])
	})
	t.Run("apply", func(t *testing.T) {
		e := ev(10)
		require.NotNil(t, e.Object)
		cm, ok := e.Object.Object.(*v1.ConfigMap)
		require.True(t, ok)
		assert.Equal(t, "shop", cm.Namespace, "the event's namespace applies to the object")
		assert.Equal(t, "shop", e.Namespace)
		assert.Equal(t, map[string]string{"mode": "fast"}, cm.Data)
	})
	t.Run("timeline", func(t *testing.T) {
		tl := s.Timeline()
		require.Len(t, tl, len(s.Spec.Events))
		assert.Equal(t, ActionCordon, tl[0].Action, "the 0s event written last runs first")
		assert.Equal(t, 25, tl[0].Index)
		for i := 1; i < len(tl); i++ {
			assert.LessOrEqual(t, tl[i-1].At, tl[i].At)
		}
	})
}

func TestAllActionsExpectations(t *testing.T) {
	s := loadGood(t, "testdata/good/all-actions.yaml")
	require.Len(t, s.Spec.Expect, 9)
	e := s.Spec.Expect
	assert.Equal(t, "web is scaled", e[0].Name)
	assert.Equal(t, TimingAt, e[0].Timing)
	assert.Equal(t, 30*time.Minute, e[0].Time)
	assert.Equal(t, ExpectGet, e[0].Kind)
	assert.Equal(t, "deployment/web", e[0].Target.String())
	assert.Equal(t, "{.status.readyReplicas}", e[0].JSONPath)
	assert.Equal(t, "5", e[0].Text)

	assert.Equal(t, TimingWithin, e[1].Timing)
	assert.Equal(t, "true", e[1].Text, "a YAML boolean is compared as the text written")
	assert.Equal(t, "Node", e[1].Target.Resource.Kind)

	assert.Equal(t, ExpectCount, e[2].Kind)
	assert.Equal(t, 8*time.Minute+30*time.Second, e[2].Time)
	assert.Equal(t, "pods", e[2].Resource.Plural)
	assert.Equal(t, "app=web", e[2].LabelSelector)
	assert.Equal(t, "spec.nodeName=worker-1,status.phase!=Failed", e[2].FieldSelector)
	assert.Equal(t, Bounds{Equals: ptr(0.0)}, e[2].Bounds)
	assert.Equal(t, "count pods (app=web, spec.nodeName=worker-1,status.phase!=Failed) == 0 within 8m30s", e[2].String())

	assert.True(t, e[3].AllNamespaces)
	assert.Equal(t, Bounds{AtLeast: ptr(3.0), AtMost: ptr(20.0)}, e[3].Bounds)
	assert.Equal(t, "shop", e[4].Namespace)

	assert.Equal(t, ExpectMetric, e[5].Kind)
	assert.Equal(t, `kubesim_requests_total{service="web",outcome="failed"}`, e[5].Metric.String())
	assert.Equal(t, Bounds{AtMost: ptr(50.0)}, e[5].Bounds)
	assert.Equal(t, []MatchOp{MatchEqual, MatchRegexp, MatchNotEqual}, []MatchOp{e[6].Metric.Matchers[0].Op, e[6].Metric.Matchers[1].Op, e[6].Metric.Matchers[2].Op})
	assert.Equal(t, Bounds{AtLeast: ptr(1.5)}, e[6].Bounds)

	assert.Equal(t, TimingThroughout, e[7].Timing)
	assert.Equal(t, time.Minute, e[7].From)
	assert.Equal(t, time.Hour, e[7].Time)
	assert.Equal(t, "never fewer than 2 ready web endpoints after the start throughout 1m-1h", e[7].String())
	assert.Equal(t, TimingThroughout, e[8].Timing)
	assert.Equal(t, time.Duration(0), e[8].From, "from defaults to 0s")
	for _, x := range e[:7] {
		assert.Equal(t, time.Duration(0), x.From, "at and within have no from")
	}
}

func TestLoadFSWithFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"lib/s.yaml":    {Data: []byte("apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1m\n  files: [m/cm.yaml]\n")},
		"lib/m/cm.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")},
	}
	s, err := LoadFS(fsys, "lib/s.yaml")
	require.NoError(t, err)
	require.Len(t, s.Spec.FileObjects, 2)
	assert.Equal(t, "b", s.Spec.FileObjects[1].Name)
	assert.Equal(t, Source{File: "lib/m/cm.yaml", Line: 5}, s.Spec.FileObjects[1].Source)

	fsys["lib/s.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1m\n  files: [../../etc/passwd]\n")}
	_, err = LoadFS(fsys, "lib/s.yaml")
	require.EqualError(t, err, `lib/s.yaml:5: spec.files[0]: cannot read "../../etc/passwd": must be a relative path inside the scenario's directory`)
}

// A scenario file that cannot be read is no problem at a line: the error
// names the file alone.
func TestLoadBytesAndMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	require.EqualError(t, err, "testdata/does-not-exist.yaml: cannot read scenario: no such file or directory")
	_, err = LoadFS(fstest.MapFS{}, "lib/none.yaml")
	require.EqualError(t, err, "lib/none.yaml: cannot read scenario: file does not exist")
	s, err := LoadBytes("inline.yaml", []byte("apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec: {duration: 5m}\n"), ".")
	require.NoError(t, err)
	assert.Equal(t, "inline", s.Metadata.Name)
}

func TestValidatorSeesDefaultedNamespaceAndACopy(t *testing.T) {
	var seen []string
	v := ValidatorFunc(func(obj runtime.Object) field.ErrorList {
		acc, err := meta.Accessor(obj)
		require.NoError(t, err)
		seen = append(seen, obj.GetObjectKind().GroupVersionKind().Kind+" "+acc.GetNamespace()+"/"+acc.GetName())
		acc.SetLabels(map[string]string{"mutated": "yes"}) // must not leak into the scenario
		return nil
	})
	s, err := Load("testdata/good/all-actions.yaml", WithValidator(v))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"Namespace /shop", "Deployment default/web", "Service default/web",
		"Deployment shop/api", "Service shop/api", "ConfigMap shop/settings",
	}, seen, "every manifest, in file order, with the API server's namespace")
	for _, m := range s.InitialObjects() {
		acc, _ := meta.Accessor(m.Object)
		assert.NotContains(t, acc.GetLabels(), "mutated")
	}
}

func assertQuantity(t *testing.T, want string, got resource.Quantity, msgs ...any) {
	t.Helper()
	want2 := resource.MustParse(want)
	assert.Equal(t, 0, want2.Cmp(got), append([]any{"want %s, got %s", want, got.String()}, msgs...)...)
}

func ref(t *testing.T, s string) Ref {
	t.Helper()
	r, err := ParseRef(s)
	require.NoError(t, err)
	return r
}

func ptr[T any](v T) *T { return &v }

// stripped drops the bookkeeping fields (position, lines, group, object)
// so decoded events compare with literals.
func stripped(e Event) Event {
	e.Index, e.Source, e.lines = 0, Source{}, nil
	return e
}

func TestIssueExampleLoads(t *testing.T) {
	s := loadGood(t, "testdata/good/issue-example.yaml")
	assert.Equal(t, "node-failure", s.Metadata.Name)
	assert.Equal(t, []string{"worker-1", "worker-2", "worker-3"}, s.NodeNames())
	assert.Empty(t, s.Spec.Cluster.Nodes[0].Taints)
	assert.Len(t, s.Spec.Events, 4)
	assert.Len(t, s.Spec.Expect, 3)
}

// killPod may name an init container (a sidecar, restartPolicy Always, runs
// for the pod's life), as the kubelet kills any container of the pod; a
// name that is no container at all is still an error listing them all.
func TestKillPodMayNameASidecar(t *testing.T) {
	doc := func(container string) []byte {
		return []byte(`apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 5m
  cluster:
    nodes: [{name: w, capacity: {cpu: "4", memory: 8Gi}}]
  objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          initContainers: [{name: proxy, image: envoy, restartPolicy: Always}]
          containers: [{name: web, image: nginx}]
  events:
  - {at: 1m, action: killPod, target: deployment/web, container: ` + container + `}
`)
	}
	s, err := LoadBytes("sidecar.yaml", doc("proxy"), ".")
	require.NoError(t, err)
	assert.Equal(t, "proxy", s.Spec.Events[0].Container)
	_, err = LoadBytes("sidecar.yaml", doc("proxi"), ".")
	require.EqualError(t, err, `sidecar.yaml:19: spec.events[0].container: deployment/web has no container "proxi" (did you mean "proxy"?) (containers: web, proxy)`)
}

// A capacity quantity that does not parse is reported once, at its key: the
// resource is there, so no "must set" follows, and an allocatable entry for
// it is not "not in capacity".
func TestInvalidCapacityQuantityIsTheOnlyError(t *testing.T) {
	_, err := LoadBytes("q.yaml", []byte(`apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes:
    - {name: w, capacity: {cpu: "4", memory: 16GG}}
    - name: v
      capacity: {cpu: [4], memory: 8Gi}
      allocatable: {cpu: "2", memory: 7Gi}
`), ".")
	require.EqualError(t, err, `q.yaml:7: spec.cluster.nodes[0].capacity.memory: invalid value "16GG": `+quantityHint+`
q.yaml:9: spec.cluster.nodes[1].capacity.cpu: must be a quantity such as "4", "500m" or "8Gi", not a list`)
}

// A tab in a line's indentation, which YAML forbids, is reported at that
// line with a hint, whichever of go-yaml's two messages it gives; a tab
// elsewhere (after a colon) is fine, and another character that cannot
// start a token gets no tab hint.
func TestTabIndentationGetsAHint(t *testing.T) {
	const head = "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\n"
	const hint = "; YAML does not allow tabs for indentation, indent with spaces"
	cases := map[string]string{
		"spec:\n\tduration: 1m\n": "t.yaml:4: YAML syntax error: found character that cannot start any token: a tab indents this line" + hint,
		"spec:\n  duration: 1m\n  cluster:\n    nodes:\n    - name: w\n      capacity:\n      \tcpu: \"4\"\n": "t.yaml:9: YAML syntax error: found character that cannot start any token: a tab indents this line" + hint,
		"spec:\n  duration: 1m\n  \tseed: 2\n":                     "t.yaml:5: YAML syntax error: found a tab character that violates indentation: a tab indents this line" + hint,
		"spec:\n  duration: 1m\n  objects:\n  -\tapiVersion: v1\n": "t.yaml:6: YAML syntax error: found character that cannot start any token: a tab indents this line" + hint,
		"spec:\n  duration: 1m\n  @seed: 2\n":                      "t.yaml:5: YAML syntax error: found character that cannot start any token",
	}
	for doc, want := range cases {
		_, err := LoadBytes("t.yaml", []byte(head+doc), ".")
		require.EqualError(t, err, want, doc)
	}
	_, err := LoadBytes("t.yaml", []byte(head+"spec:\n  duration:\t1m\n"), ".")
	require.NoError(t, err, "a tab after the colon separates, it does not indent")
}

// TestMergeKeysExpandAsKubectlDoes: kubectl apply accepts YAML merge keys
// (sigs.k8s.io/yaml decodes them), so kubesim does too, with YAML's merge
// rules: the mapping's own keys win, and of a list of merged mappings the
// earlier wins. An error in a merged value is reported where it is
// written, under the path it is merged into.
func TestMergeKeysExpandAsKubectlDoes(t *testing.T) {
	fsys := fstest.MapFS{
		"s.yaml": {Data: []byte(`apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes:
    - &base {name: a, capacity: {cpu: "4", memory: 8Gi}}
    - <<: *base
      name: b
  files: [web.yaml]
`)},
		"web.yaml": {Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: &labels {app: web}}
  template:
    metadata: {labels: *labels}
    spec:
      containers:
      - &c
        name: web
        image: nginx
        resources: {requests: {cpu: 100m}}
      - <<: [{image: busybox, imagePullPolicy: Never}, *c]
        name: sidecar
`)},
	}
	s, err := LoadFS(fsys, "s.yaml")
	require.NoError(t, err)
	require.Len(t, s.Spec.Cluster.Nodes, 2)
	assert.Equal(t, "b", s.Spec.Cluster.Nodes[1].Name)
	assert.Equal(t, "4", s.Spec.Cluster.Nodes[1].Capacity.Cpu().String())
	d := s.Spec.FileObjects[0].Object.(*appsv1.Deployment)
	require.Len(t, d.Spec.Template.Spec.Containers, 2)
	side := d.Spec.Template.Spec.Containers[1]
	assert.Equal(t, "sidecar", side.Name, "the mapping's own key wins")
	assert.Equal(t, "busybox", side.Image, "the earlier merged mapping wins")
	assert.Equal(t, v1.PullNever, side.ImagePullPolicy)
	assert.Equal(t, "100m", side.Resources.Requests.Cpu().String())
	assert.Contains(t, string(s.Spec.FileObjects[0].JSON), `"name":"sidecar"`)
	assert.NotContains(t, string(s.Spec.FileObjects[0].JSON), `<<`)

	fsys["web.yaml"] = &fstest.MapFile{Data: []byte(`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - &c {name: a, image: nginx, imagePullPolicyy: Always}
  - <<: *c
    name: b
  - <<: 3
    name: c
`)}
	_, err = LoadFS(fsys, "s.yaml")
	require.EqualError(t, err, `web.yaml:6: spec.containers[0].imagePullPolicyy: unknown field "imagePullPolicyy" (did you mean "imagePullPolicy"?)
web.yaml:6: spec.containers[1].imagePullPolicyy: unknown field "imagePullPolicyy" (did you mean "imagePullPolicy"?)
web.yaml:9: spec.containers[2][<<]: a merge key (<<) takes a mapping or a list of mappings, not an integer (3)`)
}

// TestJSONStreamManifestFile: kubectl apply -f reads a file that starts
// with "{" as a stream of JSON objects (its YAMLOrJSONDecoder), so a file
// of concatenated JSON manifests loads, each object's errors at its own
// lines.
func TestJSONStreamManifestFile(t *testing.T) {
	fsys := fstest.MapFS{
		"s.yaml": {Data: []byte("apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1m\n  files: [cms.json]\n")},
		"cms.json": {Data: []byte(`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
{
  "apiVersion": "v1", "kind": "ConfigMap",
  "metadata": {"name": "b"}
} {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
`)},
	}
	s, err := LoadFS(fsys, "s.yaml")
	require.NoError(t, err)
	require.Len(t, s.Spec.FileObjects, 3)
	assert.Equal(t, Source{File: "cms.json", Line: 2}, s.Spec.FileObjects[1].Source)
	assert.Equal(t, "c", s.Spec.FileObjects[2].Name)
	assert.Equal(t, Source{File: "cms.json", Line: 5}, s.Spec.FileObjects[2].Source)

	fsys["cms.json"] = &fstest.MapFile{Data: []byte(`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
{
  "apiVersion": "v1", "kind": "ConfigMap",
  "metadata": {"name": "b"},
  "data": {"n": 1}
}
`)}
	_, err = LoadFS(fsys, "s.yaml")
	require.EqualError(t, err, `cms.json:5: data.n: must be a string, not an integer (1); quote it: "1"`)
}

// TestMetricNamesGivenWithOptionsTakeAnyLabel: the labels of a series name
// added with WithMetricNames are not known, so any matcher goes; a
// built-in name's labels are checked.
func TestMetricNamesGivenWithOptionsTakeAnyLabel(t *testing.T) {
	doc := func(metric string) []byte {
		return []byte("apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1h\n  expect:\n" +
			"  - {at: 1m, metric: '" + metric + "', equals: 0}\n")
	}
	_, err := LoadBytes("m.yaml", doc(`app_queue_depth{queue="jobs",zone=~"a|b"}`), ".", WithMetricNames("app_queue_depth"))
	assert.NoError(t, err)
	_, err = LoadBytes("m.yaml", doc(`kubesim_endpoints{zone="a"}`), ".", WithMetricNames("app_queue_depth"))
	assert.EqualError(t, err, `m.yaml:6: spec.expect[0].metric: unknown label "zone": kubesim_endpoints has the labels namespace, service, ready`)
}

// A plain value with ": " in it ends YAML's key at its first colon, and
// go-yaml says only "mapping values are not allowed in this context": the
// error says to quote the value, with the line quoted.
func TestUnquotedColonInAValueGetsAHint(t *testing.T) {
	doc := "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: lab\n  description: HPA lab: scale up\nspec:\n  duration: 1m\n"
	_, err := LoadBytes("s.yaml", []byte(doc), ".")
	require.EqualError(t, err, `s.yaml:5: YAML syntax error: mapping values are not allowed in this context: a value containing ": " must be quoted: description: "HPA lab: scale up"`)

	doc = "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1m\n  expect:\n  - name: web: up\n    at: 1m\n"
	_, err = LoadBytes("s.yaml", []byte(doc), ".")
	require.EqualError(t, err, `s.yaml:6: YAML syntax error: mapping values are not allowed in this context: a value containing ": " must be quoted: - name: "web: up"`)
}

// An absolute path in spec.files is read as it is, and its errors and
// objects name it as it is: before, the scenario's directory was put in
// front of it (sub/etc/m.yaml for /etc/m.yaml), naming a file that does
// not exist.
func TestAbsoluteFilesPathIsShownAsWritten(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(abs, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndatta: {}\n"), 0o600))
	scen := filepath.Join(dir, "sub", "s.yaml")
	require.NoError(t, os.MkdirAll(filepath.Dir(scen), 0o700))
	require.NoError(t, os.WriteFile(scen, []byte("apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1m\n  files: ["+abs+"]\n"), 0o600))
	_, err := Load(scen)
	require.EqualError(t, err, abs+`:4: datta: unknown field "datta" (did you mean "data"?)`)

	require.NoError(t, os.WriteFile(abs, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"), 0o600))
	s, err := Load(scen)
	require.NoError(t, err)
	require.Len(t, s.Spec.FileObjects, 1)
	assert.Equal(t, Source{File: abs, Line: 1}, s.Spec.FileObjects[0].Source)
}

// A scenario or manifest file is read up to a bound: /dev/zero (or a
// runaway generator's output) is an error naming the file, not a process
// that runs out of memory.
func TestFilesAreReadUpToABound(t *testing.T) {
	_, err := Load("/dev/zero")
	require.EqualError(t, err, "/dev/zero: cannot read scenario: larger than 64 MiB")
	_, err = LoadBytes("s.yaml", []byte("apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1m\n  files: [/dev/zero]\n"), ".")
	require.EqualError(t, err, `s.yaml:5: spec.files[0]: cannot read "/dev/zero": larger than 64 MiB`)
}

// A duration too long for Go's time.Duration (about 292 years) is out of
// range, which the error says, rather than a hint about units that the
// value already has.
func TestDurationOutOfRangeSaysSo(t *testing.T) {
	_, err := LoadBytes("t.yaml", []byte("apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 9999999h\n"), ".")
	require.EqualError(t, err, `t.yaml:4: spec.duration: duration "9999999h" is out of range: at most 2562047h47m16.854775807s`)
}
