package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"
)

func TestParseMetricSelector(t *testing.T) {
	cases := []struct {
		in   string
		want string // String() of the result
	}{
		{"kubesim_requests_total", "kubesim_requests_total"},
		{"kubesim_requests_total{}", "kubesim_requests_total"},
		{`kubesim_requests_total{service="web"}`, `kubesim_requests_total{service="web"}`},
		{` kubesim_requests_total { service = "web" , outcome!="failed", } `, `kubesim_requests_total{service="web",outcome!="failed"}`},
		{`m{a=~"x|y",b!~'z.*'}`, `m{a=~"x|y",b!~"z.*"}`},
		{`m{a="quote\"inside",b='it\'s'}`, `m{a="quote\"inside",b="it's"}`},
		{`m{a="x",a="x"}`, `m{a="x"}`},
		{`ns:rule_name{a=""}`, `ns:rule_name{a=""}`},
	}
	for _, c := range cases {
		sel, err := ParseMetricSelector(c.in)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, sel.String(), c.in)
	}
	bad := map[string]string{
		"":               "must start with a metric name",
		"{a=\"b\"}":      "must start with a metric name",
		"m{a=b}":         `label "a": value must be quoted`,
		`m{a="b"`:        "missing closing }",
		`m{a="b}`:        `label "a": unterminated string`,
		`m{a<"b"}`:       `expected =, !=, =~ or !~ after label "a"`,
		`m{a="b" c="d"}`: `expected , or } after the value of label "a"`,
		`m{a="b"}[5m]`:   "functions, ranges and offsets are not supported",
		`sum(m)`:         "only label matchers in {} are supported",
		`m{a=~"("}`:      "invalid regular expression",
		`m{1a="b"}`:      "expected a label name",
		`m{a="\q"}`:      "invalid escape",
	}
	for in, want := range bad {
		_, err := ParseMetricSelector(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
}

func TestMetricMatchers(t *testing.T) {
	sel, err := ParseMetricSelector(`m{service="web",pod=~"web-.*",outcome!="failed",zone!~"b|c"}`)
	require.NoError(t, err)
	assert.True(t, sel.Matches(map[string]string{"service": "web", "pod": "web-1", "outcome": "served", "zone": "a"}))
	assert.True(t, sel.Matches(map[string]string{"service": "web", "pod": "web-1"}), "missing labels are empty")
	assert.False(t, sel.Matches(map[string]string{"service": "web", "pod": "xweb-1"}), "regexps are anchored")
	assert.False(t, sel.Matches(map[string]string{"service": "web", "pod": "web-1", "outcome": "failed"}))
	assert.False(t, sel.Matches(map[string]string{"service": "web", "pod": "web-1", "zone": "b"}))
	assert.False(t, sel.Matches(map[string]string{"service": "api", "pod": "web-1"}))
}

func TestLookupResource(t *testing.T) {
	cases := map[string]string{
		"pods": "Pod", "pod": "Pod", "po": "Pod", "Pod": "Pod",
		"deployments": "Deployment", "deploy": "Deployment", "deployment.apps": "Deployment", "deployments.v1.apps": "Deployment",
		"replicasets": "ReplicaSet", "rs": "ReplicaSet",
		"services": "Service", "svc": "Service",
		"nodes": "Node", "no": "Node",
		"endpointslices": "EndpointSlice", "endpointslices.discovery.k8s.io": "EndpointSlice",
		"horizontalpodautoscalers": "HorizontalPodAutoscaler", "hpa": "HorizontalPodAutoscaler",
		"events": "Event", "ev": "Event",
		"namespaces": "Namespace", "ns": "Namespace",
		"leases": "Lease", "lease": "Lease",
		"poddisruptionbudgets": "PodDisruptionBudget", "pdb": "PodDisruptionBudget",
		"priorityclasses": "PriorityClass", "pc": "PriorityClass",
		"configmaps": "ConfigMap", "cm": "ConfigMap",
	}
	for name, kind := range cases {
		r, ok := LookupResource(name)
		require.True(t, ok, name)
		assert.Equal(t, kind, r.Kind, name)
	}
	for _, name := range []string{"", "deployments.core", "statefulsets", "podz", "deploy.v2.apps"} {
		_, ok := LookupResource(name)
		assert.False(t, ok, name)
	}
	for _, r := range Resources {
		obj := r.New()
		assert.Equal(t, r.GVK(), obj.GetObjectKind().GroupVersionKind(), "every kind is in client-go's scheme")
	}
}

func TestParseRef(t *testing.T) {
	r, err := ParseRef("deploy/web")
	require.NoError(t, err)
	assert.Equal(t, "deployment/web", r.String())
	for in, want := range map[string]string{
		"web":          `must be kind/name (e.g. deployment/web), not "web"`,
		"deployment/":  `must be kind/name`,
		"a/b/c":        `must be kind/name`,
		"deploymnt/x":  `unknown kind "deploymnt" (did you mean "deployment"?)`,
		"frobnicate/x": `unknown kind "frobnicate"`,
	} {
		_, err := ParseRef(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
}

func TestNodeAt(t *testing.T) {
	src := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
    kubernetes.io/name: web
  annotations:
    "weird]key": x
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: web
        ports:
        - containerPort: 80
        - containerPort: 443
      - name: sidecar
        image: envoy
`
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(src), &doc))
	root := body(&doc)
	cases := []struct {
		path  string
		line  int
		found bool
	}{
		{"", 1, true},
		{"spec.replicas", 11, true},
		{"spec.template.spec.containers[0].ports[1].containerPort", 18, true},
		{"spec.template.spec.containers[1]", 19, true},
		{"spec.template.spec.containers[1].image", 20, true},
		{"spec.template.spec.containers[1].resources.limits[cpu]", 19, false},
		{"spec.template.spec.containers[7].name", 14, false},
		{"metadata.labels[app]", 6, true},
		{"metadata.labels.app", 6, true},
		{"metadata.labels[kubernetes.io/name]", 7, true},
		{"metadata.labels.kubernetes.io/name", 7, true},
		{"metadata.annotations[weird]key]", 9, true},
		{"metadata.namespace", 3, false},
		{"spec.selector.matchLabels", 10, false},
		{"spec.replicas.foo", 11, false},
		{"[0]", 1, false},
		{"spec.template.spec.containers[x]", 14, false},
		{"spec.template.spec.containers[", 14, false},
	}
	for _, c := range cases {
		pos, found := nodeAt(root, c.path)
		assert.Equal(t, c.found, found, c.path)
		assert.Equal(t, c.line, pos.Line, c.path)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[string]string{"5m": "5m", "1h30m": "1h30m", "90s": "1m30s", "1.5s": "1.5s", "2h": "2h", "0s": "0s", "1h0m5s": "1h0m5s"} {
		v, err := parseDurationForTest(d)
		require.NoError(t, err)
		assert.Equal(t, want, FormatDuration(v), d)
	}
}
