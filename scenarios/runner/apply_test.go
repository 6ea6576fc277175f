package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim/cluster"
)

// TestApplyThreeWayMerge: kubectl apply's patch is the three-way merge
// of the last-applied configuration, the manifest and the live object
// (k8s.io/kubectl/pkg/cmd/apply/patcher.go, patchSimple;
// strategicpatch.CreateThreeWayMergePatch): what another actor changed in
// a field the manifest leaves out (replicas under an HPA) or added (a
// label) is kept; what the previous apply set and the manifest no longer
// has (an env var, minReadySeconds, an annotation) is removed.
func TestApplyThreeWayMerge(t *testing.T) {
	var opts Options
	opts.Setup = func(c *cluster.Cluster) {
		c.Engine.At(30*time.Second, "autoscaler", func() {
			cl := c.Client("someone")
			d, err := cl.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
			require.NoError(t, err)
			d.Labels = map[string]string{"owner": "someone"}
			replicas := int32(5)
			d.Spec.Replicas = &replicas
			_, err = cl.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{})
			require.NoError(t, err)
		})
	}
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, annotations: {team: a}}
    spec:
      minReadySeconds: 10
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - name: web
            image: nginx:1.26
            env: [{name: A, value: "1"}, {name: B, value: "2"}]
  events:
  - at: 1m
    action: apply
    object:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
            - name: web
              image: nginx:1.27
              env: [{name: A, value: "1"}]
`, opts)
	r.AdvanceTo(time.Minute)
	d := get[*appsv1.Deployment](t, r, "deployments", "default", "web")
	assert.Equal(t, int32(5), *d.Spec.Replicas, "replicas changed by another actor, in no manifest: kept")
	assert.Equal(t, "someone", d.Labels["owner"], "added by another actor: kept")
	c := d.Spec.Template.Spec.Containers[0]
	assert.Equal(t, "nginx:1.27", c.Image)
	assert.Equal(t, []v1.EnvVar{{Name: "A", Value: "1"}}, c.Env, "dropped from the manifest: removed")
	assert.Zero(t, d.Spec.MinReadySeconds, "dropped from the manifest: removed")
	assert.NotContains(t, d.Annotations, "team", "dropped from the manifest: removed")
	assert.Empty(t, r.Finish().Errors)
}

// TestApplyWithoutLastAppliedConfiguration: applying to an object that no
// apply created (a system namespace) warns as kubectl does
// (warningNoLastAppliedConfigAnnotation in kubectl's apply.go), patches
// with no original (nothing is removed) and records the annotation.
func TestApplyWithoutLastAppliedConfiguration(t *testing.T) {
	var opts Options
	story := storyOf(&opts)
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  events:
  - {at: 1m, action: apply, object: {apiVersion: v1, kind: Namespace, metadata: {name: default, labels: {team: a}}}}
`, opts)
	r.AdvanceTo(time.Minute)
	ns := get[*v1.Namespace](t, r, "namespaces", "", "default")
	assert.Equal(t, "a", ns.Labels["team"])
	assert.Equal(t, "default", ns.Labels[v1.LabelMetadataName], "not in the manifest, no original: kept")
	assert.NotEmpty(t, ns.Annotations[v1.LastAppliedConfigAnnotation])
	var warned bool
	for _, e := range *story {
		if e.Verb == "apply" && e.Object == "namespace/default" && e.Warning &&
			e.Message == "Warning: resource namespaces/default is missing the kubectl.kubernetes.io/last-applied-configuration annotation "+
				"which is required by kubectl apply. kubectl apply should only be used on resources created declaratively by either "+
				"kubectl create --save-config or kubectl apply. The missing annotation will be patched automatically." {
			warned = true
		}
	}
	assert.True(t, warned, "%v", *story)
	assert.True(t, hasEntry(*story, "apply", "namespace/default", "configured"))
	assert.Empty(t, r.Finish().Errors)
}

// TestApplyToAnObjectBeingDeleted: the patch goes through and kubectl
// warns (WarnIfDeleting in kubectl's apply.go), changed or not.
func TestApplyToAnObjectBeingDeleted(t *testing.T) {
	var opts Options
	story := storyOf(&opts)
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 3m
  objects:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, finalizers: [example.com/keep]}, data: {a: b}}
  events:
  - {at: 30s, action: delete, target: configmap/cfg}
  - {at: 1m, action: apply, object: {apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, finalizers: [example.com/keep]}, data: {a: c}}}
  - {at: 2m, action: apply, object: {apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, finalizers: [example.com/keep]}, data: {a: c}}}
`, opts)
	r.AdvanceTo(2 * time.Minute)
	cm := get[*v1.ConfigMap](t, r, "configmaps", "default", "cfg")
	assert.Equal(t, "c", cm.Data["a"])
	require.NotNil(t, cm.DeletionTimestamp)
	var warnings []time.Duration
	for _, e := range *story {
		if e.Verb == "apply" && e.Object == "configmap/cfg" && e.Warning &&
			e.Message == "Warning: Detected changes to resource cfg which is currently being deleted." {
			warnings = append(warnings, e.Time)
		}
	}
	assert.Equal(t, []time.Duration{time.Minute, 2 * time.Minute}, warnings, "%v", *story)
	assert.True(t, hasEntry(*story, "apply", "configmap/cfg", "unchanged"))
	assert.Empty(t, r.Finish().Errors)
}

// TestApplyDropsTheNamespaceOfAClusterScopedObject: kubectl's resource
// builder clears metadata.namespace of a cluster-scoped object before
// apply encodes it (FilterNamespace in k8s.io/cli-runtime/pkg/resource),
// so the last-applied configuration has none.
func TestApplyDropsTheNamespaceOfAClusterScopedObject(t *testing.T) {
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  objects:
  - {apiVersion: v1, kind: Namespace, metadata: {name: shop, namespace: elsewhere}}
`, Options{})
	r.AdvanceTo(time.Second)
	ns := get[*v1.Namespace](t, r, "namespaces", "", "shop")
	assert.Equal(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"annotations":{},"name":"shop"}}`+"\n",
		ns.Annotations[v1.LastAppliedConfigAnnotation])
}

// TestValidationCountsTheLastAppliedAnnotation: kubectl apply adds the
// last-applied-configuration annotation (the manifest again), and the API
// server's 256 KiB limit on annotations counts it
// (apimachinery/pkg/api/validation, ValidateAnnotationsSize): a manifest
// whose own annotations fit but not with that copy is refused before the
// run, as the run's create would refuse it, never once the run began.
func TestValidationCountsTheLastAppliedAnnotation(t *testing.T) {
	big := strings.Repeat("x", 200000)
	doc := "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1m\n  objects:\n" +
		"  - {apiVersion: v1, kind: ConfigMap, metadata: {name: fits, annotations: {a: " + big[:100000] + "}}}\n" +
		"  - {apiVersion: v1, kind: ConfigMap, metadata: {name: big, annotations: {a: " + big + "}}}\n" +
		"  events:\n  - at: 10s\n    action: apply\n    object: {apiVersion: v1, kind: ConfigMap, metadata: {name: fits, annotations: {a: " + big + "}}}\n"
	_, err := scenarios.LoadBytes("test.yaml", []byte(doc), ".", scenarios.WithValidator(Validator()))
	require.EqualError(t, err, "test.yaml:7: spec.objects[1].metadata.annotations: Too long: may not be more than 262144 bytes\n"+
		"test.yaml:11: spec.events[0].object.metadata.annotations: Too long: may not be more than 262144 bytes")
}
