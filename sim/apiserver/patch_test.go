package apiserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// statusOf is the Status a client would read from the error.
func statusOf(t *testing.T, err error) metav1.Status {
	t.Helper()
	require.Error(t, err)
	se, ok := err.(apierrors.APIStatus)
	require.True(t, ok, "%T is not an API status: %v", err, err)
	return se.Status()
}

// patchEnv is a server with the pod "p" in the default namespace.
func patchEnv(t *testing.T) (*env, *v1.Pod) {
	t.Helper()
	e := newEnv(t)
	p, err := e.c.CoreV1().Pods("default").Create(ctx, pod("p"), metav1.CreateOptions{})
	require.NoError(t, err)
	return e, p
}

// TestJSONPatchOperationFailureIsAnOpaque422: a JSON patch that decodes
// but cannot be applied (a failing test, a missing path) is
// NewGenericServerResponse(422, ...) without the library's error text
// (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go,
// jsonPatcher.applyJSPatch).
func TestJSONPatchOperationFailureIsAnOpaque422(t *testing.T) {
	e, p := patchEnv(t)
	pods := e.c.CoreV1().Pods("default")
	for _, patch := range []string{
		`[{"op":"test","path":"/spec/containers/0/image","value":"nginx:1.0"},{"op":"replace","path":"/spec/containers/0/image","value":"nginx:1.28"}]`,
		`[{"op":"replace","path":"/spec/nosuch/x","value":"x"}]`,
	} {
		_, err := pods.Patch(ctx, "p", types.JSONPatchType, []byte(patch), metav1.PatchOptions{})
		st := statusOf(t, err)
		assert.Equal(t, int32(422), st.Code, patch)
		assert.Equal(t, metav1.StatusReasonInvalid, st.Reason, patch)
		assert.Equal(t, "the server rejected our request due to an error in our request", st.Message, patch)
		assert.Equal(t, &metav1.StatusDetails{}, st.Details, patch)
	}
	got, err := pods.Get(ctx, "p", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, p.ResourceVersion, got.ResourceVersion, "nothing written")
}

// TestJSONPatchSeesAPIVersionAndKind: the patch applies to the object
// encoded at its API version, apiVersion and kind included
// (jsonPatcher.applyPatchToCurrentObject encodes with the scope's codec).
func TestJSONPatchSeesAPIVersionAndKind(t *testing.T) {
	e, _ := patchEnv(t)
	got, err := e.c.CoreV1().Pods("default").Patch(ctx, "p", types.JSONPatchType,
		[]byte(`[{"op":"test","path":"/kind","value":"Pod"},{"op":"test","path":"/apiVersion","value":"v1"},{"op":"add","path":"/spec/activeDeadlineSeconds","value":30}]`),
		metav1.PatchOptions{})
	require.NoError(t, err)
	require.NotNil(t, got.Spec.ActiveDeadlineSeconds)
	assert.Equal(t, int64(30), *got.Spec.ActiveDeadlineSeconds)
}

// TestJSONPatchOperationLimit: more than 10,000 operations is 413
// (maxJSONPatchOperations).
func TestJSONPatchOperationLimit(t *testing.T) {
	e, _ := patchEnv(t)
	ops := strings.TrimSuffix(strings.Repeat(`{"op":"test","path":"/kind","value":"Pod"},`, 10001), ",")
	_, err := e.c.CoreV1().Pods("default").Patch(ctx, "p", types.JSONPatchType, []byte("["+ops+"]"), metav1.PatchOptions{})
	st := statusOf(t, err)
	assert.Equal(t, int32(413), st.Code)
	assert.Equal(t, metav1.StatusReasonRequestEntityTooLarge, st.Reason)
	assert.Equal(t, "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001", st.Message)
}

// TestPatchOfAnUnsupportedTypeIs415: the content type is checked before
// anything else, against the patch types the resource serves
// (PatchResource, negotiation.NewUnsupportedMediaTypeError). kubesim
// serves no server-side apply, so it does not list
// application/apply-patch+yaml as upstream does.
func TestPatchOfAnUnsupportedTypeIs415(t *testing.T) {
	e, _ := patchEnv(t)
	pods := e.c.CoreV1().Pods("default")
	for _, tc := range []struct {
		pt   types.PatchType
		name string
	}{
		{"application/json", "p"},
		{types.ApplyPatchType, "p"},
		{"application/json", "missing"},
	} {
		_, err := pods.Patch(ctx, tc.name, tc.pt, []byte(`{}`), metav1.PatchOptions{FieldManager: "test"})
		st := statusOf(t, err)
		assert.Equal(t, int32(415), st.Code, tc.pt)
		assert.Equal(t, metav1.StatusReasonUnsupportedMediaType, st.Reason, tc.pt)
		assert.Equal(t, "the body of the request was in an unknown format - accepted media types include: "+
			"application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json", st.Message, tc.pt)
		assert.True(t, apierrors.IsUnsupportedMediaType(err))
	}
}

// TestPatchOptionsAreValidated: force is only for apply patches
// (ValidatePatchOptions in k8s.io/apimachinery/pkg/apis/meta/v1/validation,
// called by PatchResource).
func TestPatchOptionsAreValidated(t *testing.T) {
	e, _ := patchEnv(t)
	force := true
	_, err := e.c.CoreV1().Pods("default").Patch(ctx, "p", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{Force: &force})
	st := statusOf(t, err)
	assert.Equal(t, int32(422), st.Code)
	assert.Equal(t, `PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch`, st.Message)
}

// TestPatchMayNotMoveTheObject: a patch that changes the namespace or the
// name is refused before validation (patcher.applyPatch:
// rest.EnsureObjectNamespaceMatchesRequestNamespace, then checkName); a
// patch that drops the namespace gets the request's back.
func TestPatchMayNotMoveTheObject(t *testing.T) {
	e, p := patchEnv(t)
	pods := e.c.CoreV1().Pods("default")
	for patch, want := range map[string]string{
		`{"metadata":{"namespace":"other"}}`:            "the namespace of the provided object does not match the namespace sent on the request",
		`{"metadata":{"name":"q"}}`:                     "the name of the object (q) does not match the name on the URL (p)",
		`{"metadata":{"name":"q","namespace":"other"}}`: "the namespace of the provided object does not match the namespace sent on the request",
	} {
		_, err := pods.Patch(ctx, "p", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		st := statusOf(t, err)
		assert.Equal(t, int32(400), st.Code, patch)
		assert.Equal(t, metav1.StatusReasonBadRequest, st.Reason, patch)
		assert.Equal(t, want, st.Message, patch)
	}
	got, err := pods.Patch(ctx, "p", types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/namespace"}]`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.Equal(t, "default", got.Namespace)
	assert.Equal(t, p.ResourceVersion, got.ResourceVersion, "nothing changed")

	// The uid is caught by metadata validation (no precondition on a patch).
	_, err = pods.Patch(ctx, "p", types.MergePatchType, []byte(`{"metadata":{"uid":"abc"}}`), metav1.PatchOptions{})
	st := statusOf(t, err)
	assert.Equal(t, int32(422), st.Code)
	assert.Equal(t, `Pod "p" is invalid: metadata.uid: Invalid value: "abc": field is immutable`, st.Message)
}

// TestPatchedObjectThatDoesNotDecodeIs422: the patched document is decoded
// case-sensitively into the typed object; a decoding error is an Invalid
// error on the field "patch" with an empty kind and name, whose value is
// the patched JSON (JSON and merge patches) or the patch map (strategic
// merge patches) (jsonPatcher.applyPatchToCurrentObject,
// applyPatchToObject).
func TestPatchedObjectThatDoesNotDecodeIs422(t *testing.T) {
	e, _ := patchEnv(t)
	pods := e.c.CoreV1().Pods("default")
	const decodeErr = "json: cannot unmarshal string into Go struct field PodSpec.spec.activeDeadlineSeconds of type int64"
	for pt, patch := range map[types.PatchType]string{
		types.MergePatchType: `{"spec":{"activeDeadlineSeconds":"x"}}`,
		types.JSONPatchType:  `[{"op":"add","path":"/spec/activeDeadlineSeconds","value":"x"}]`,
	} {
		_, err := pods.Patch(ctx, "p", pt, []byte(patch), metav1.PatchOptions{})
		st := statusOf(t, err)
		assert.Equal(t, int32(422), st.Code, pt)
		assert.Equal(t, metav1.StatusReasonInvalid, st.Reason, pt)
		assert.True(t, strings.HasPrefix(st.Message, ` "" is invalid: patch: Invalid value: "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{`), "%s: %s", pt, st.Message)
		assert.True(t, strings.HasSuffix(st.Message, `": `+decodeErr), "%s: %s", pt, st.Message)
		require.Len(t, st.Details.Causes, 1, pt)
		assert.Equal(t, "patch", st.Details.Causes[0].Field, pt)
		assert.Empty(t, st.Details.Kind, pt)
		assert.Empty(t, st.Details.Name, pt)
	}
	_, err := pods.Patch(ctx, "p", types.StrategicMergePatchType, []byte(`{"spec":{"activeDeadlineSeconds":"x"}}`), metav1.PatchOptions{})
	st := statusOf(t, err)
	assert.Equal(t, int32(422), st.Code)
	assert.True(t, strings.HasPrefix(st.Message, ` "" is invalid: patch: Invalid value: "map[spec:map[activeDeadlineSeconds:x]]": `), st.Message)

	// Field names are case-sensitive: an unknown field is dropped.
	got, err := pods.Patch(ctx, "p", types.MergePatchType, []byte(`{"spec":{"ActiveDeadlineSeconds":5}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.Nil(t, got.Spec.ActiveDeadlineSeconds)
}

// TestStrategicMergePatchErrors: the patch is decoded with sigs.k8s.io/json
// (its syntax error is the 400's message), and the library's errors are
// sorted by interpretStrategicMergePatchError: format errors are 400, a
// list of lists to merge would be an opaque 422 (no typed object has one),
// anything else (an unknown $patch, a $setElementOrder that is not a
// list, mixed list elements) is a 500; a result that does not decode is a
// 422 quoting the patch.
func TestStrategicMergePatchErrors(t *testing.T) {
	e, _ := patchEnv(t)
	d := deployment("d", 1)
	d.Finalizers = []string{"example.com/keep"}
	_, err := e.c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
	require.NoError(t, err)
	deps := e.c.AppsV1().Deployments("default")
	for _, tc := range []struct {
		patch  string
		code   int32
		reason metav1.StatusReason
		msg    string
	}{
		{`{`, 400, metav1.StatusReasonBadRequest, "unexpected end of JSON input"},
		{`{"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":{"maxSurge":1}}}}`, 400, metav1.StatusReasonBadRequest, "invalid patch format of retainKeys"},
		{`{"metadata":{"finalizers":[["example.com/a"]]}}`, 500, metav1.StatusReasonUnknown, "list element types are not identical: [[example.com/keep] [[example.com/a]]]"},
		{`{"spec":{"template":{"spec":{"containers":[{"name":"c","command":[["a"]]}]}}}}`, 422, metav1.StatusReasonInvalid,
			` "" is invalid: patch: Invalid value: "map[spec:map[template:map[spec:map[containers:[map[command:[[a]] name:c]]]]]]": unrecognized type: string`},
		{`{"spec":{"template":{"spec":{"$setElementOrder/containers":"c"}}}}`, 500, metav1.StatusReasonUnknown, "expected a []interface {}, but received a string"},
		{`{"spec":{"template":{"spec":{"containers":[{"name":"c","$patch":"bogus"}]}}}}`, 500, metav1.StatusReasonUnknown, "unknown patch type: bogus in map: map[$patch:bogus name:c]"},
	} {
		_, err := deps.Patch(ctx, "d", types.StrategicMergePatchType, []byte(tc.patch), metav1.PatchOptions{})
		require.Error(t, err, tc.patch)
		st := statusOf(t, err)
		assert.Equal(t, tc.code, st.Code, tc.patch)
		assert.Equal(t, tc.reason, st.Reason, tc.patch)
		assert.Equal(t, tc.msg, st.Message, tc.patch)
	}
}

// TestPatchResourceVersion: a resourceVersion in the patch is the
// registry store's precondition (Store.Update): a stale one is a 409, "0"
// is no precondition, and one that is not a number fails with the
// parser's error as a 500 (APIObjectVersioner.ObjectResourceVersion).
func TestPatchResourceVersion(t *testing.T) {
	e, p := patchEnv(t)
	pods := e.c.CoreV1().Pods("default")
	_, err := pods.Patch(ctx, "p", types.MergePatchType, []byte(`{"metadata":{"resourceVersion":"1","labels":{"a":"b"}}}`), metav1.PatchOptions{})
	assert.True(t, apierrors.IsConflict(err), "%v", err)

	got, err := pods.Patch(ctx, "p", types.MergePatchType, []byte(`{"metadata":{"resourceVersion":"0","labels":{"a":"b"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.Equal(t, "b", got.Labels["a"])

	got, err = pods.Patch(ctx, "p", types.MergePatchType, []byte(fmt.Sprintf(`{"metadata":{"resourceVersion":"0%s","labels":{"a":"c"}}}`, got.ResourceVersion)), metav1.PatchOptions{})
	require.NoError(t, err, "the version is compared as a number")
	assert.Equal(t, "c", got.Labels["a"])
	assert.NotEqual(t, p.ResourceVersion, got.ResourceVersion)

	_, err = pods.Patch(ctx, "p", types.MergePatchType, []byte(`{"metadata":{"resourceVersion":"abc"}}`), metav1.PatchOptions{})
	st := statusOf(t, err)
	assert.Equal(t, int32(500), st.Code)
	assert.Equal(t, metav1.StatusReasonUnknown, st.Reason)
	assert.Equal(t, `strconv.ParseUint: parsing "abc": invalid syntax`, st.Message)
}

// TestUpdateResourceVersion: an update's resourceVersion is the same
// precondition as a patch's (Store.Update): "0" is none, the version is
// compared as a number, and a non-number is the versioner's 500. Kinds
// whose strategy refuses unconditional updates (PodDisruptionBudget,
// Lease: AllowUnconditionalUpdate false) need one, through a patch too.
func TestUpdateResourceVersion(t *testing.T) {
	e, p := patchEnv(t)
	pods := e.c.CoreV1().Pods("default")
	p.ResourceVersion = "0"
	p.Labels["a"] = "b"
	got, err := pods.Update(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err, "0 is no precondition")
	assert.Equal(t, "b", got.Labels["a"])

	got.ResourceVersion = "0" + got.ResourceVersion
	got.Labels["a"] = "c"
	got, err = pods.Update(ctx, got, metav1.UpdateOptions{})
	require.NoError(t, err, "the version is compared as a number")
	assert.Equal(t, "c", got.Labels["a"])

	got.ResourceVersion = "abc"
	_, err = pods.Update(ctx, got, metav1.UpdateOptions{})
	st := statusOf(t, err)
	assert.Equal(t, int32(500), st.Code)
	assert.Equal(t, `strconv.ParseUint: parsing "abc": invalid syntax`, st.Message)

	pdbs := e.c.PolicyV1().PodDisruptionBudgets("default")
	one := intstr.FromInt32(1)
	pdb, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "b"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	const mustHave = `poddisruptionbudgets.policy "b" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update`
	unconditional := pdb.DeepCopy()
	unconditional.ResourceVersion = ""
	_, err = pdbs.Update(ctx, unconditional, metav1.UpdateOptions{})
	st = statusOf(t, err)
	assert.Equal(t, int32(422), st.Code)
	assert.Equal(t, mustHave, st.Message)
	_, err = pdbs.UpdateStatus(ctx, unconditional, metav1.UpdateOptions{})
	assert.Equal(t, mustHave, statusOf(t, err).Message, "the status strategy too")
	_, err = pdbs.Patch(ctx, "b", types.MergePatchType, []byte(`{"metadata":{"resourceVersion":null,"labels":{"a":"b"}}}`), metav1.PatchOptions{})
	assert.Equal(t, mustHave, statusOf(t, err).Message, "a patch that drops the version")
	got2, err := pdbs.Patch(ctx, "b", types.MergePatchType, []byte(`{"metadata":{"labels":{"a":"b"}}}`), metav1.PatchOptions{})
	require.NoError(t, err, "a patch keeps the stored version")
	assert.Equal(t, "b", got2.Labels["a"])
	pdb.Labels = map[string]string{"a": "c"}
	pdb.ResourceVersion = got2.ResourceVersion
	_, err = pdbs.Update(ctx, pdb, metav1.UpdateOptions{})
	require.NoError(t, err)

	leases := e.c.CoordinationV1().Leases("default")
	l, err := leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	l.ResourceVersion = ""
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	assert.Equal(t, `leases.coordination.k8s.io "l" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update`, statusOf(t, err).Message)
}

// TestStrategicMergePatchDirectives: the pod template's lists merge by
// their patch merge keys (containers and volumes by name, ports by
// containerPort, env by name) and the directives do what
// apimachinery/pkg/util/strategicpatch does upstream; a merge patch
// replaces lists whole and deletes with null.
func TestStrategicMergePatchDirectives(t *testing.T) {
	e := newEnv(t)
	deps := e.c.AppsV1().Deployments("default")
	d := deployment("d", 1)
	d.Finalizers = []string{"example.com/a", "example.com/b"}
	d.Labels = map[string]string{"x": "y"}
	spec := &d.Spec.Template.Spec
	spec.Containers[0].Ports = []v1.ContainerPort{{Name: "http", ContainerPort: 80}, {Name: "admin", ContainerPort: 81}}
	spec.Containers[0].Env = []v1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
	spec.Containers = append(spec.Containers, v1.Container{Name: "side", Image: "busybox:1.36"})
	spec.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
	_, err := deps.Create(ctx, d, metav1.CreateOptions{})
	require.NoError(t, err)
	smp := func(patch string) *v1.PodSpec {
		t.Helper()
		got, err := deps.Patch(ctx, "d", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		require.NoError(t, err, patch)
		return &got.Spec.Template.Spec
	}
	names := func(cs []v1.Container) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name+"="+c.Image)
		}
		return out
	}
	env := func(c v1.Container) []string {
		var out []string
		for _, e := range c.Env {
			out = append(out, e.Name+"="+e.Value)
		}
		return out
	}

	s := smp(`{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox:1.37"}]}}}}`)
	assert.Equal(t, []string{"c=nginx:1.27", "side=busybox:1.37"}, names(s.Containers), "merged by name")

	s = smp(`{"spec":{"template":{"spec":{"containers":[{"name":"c","ports":[{"containerPort":81,"name":"metrics"},{"containerPort":80,"$patch":"delete"}]}]}}}}`)
	assert.Equal(t, []v1.ContainerPort{{Name: "metrics", ContainerPort: 81, Protocol: v1.ProtocolTCP}}, s.Containers[0].Ports, "ports by containerPort")

	s = smp(`{"spec":{"template":{"spec":{"containers":[{"name":"c","env":[{"name":"B","value":"3"},{"name":"C","value":"4"}]}]}}}}`)
	assert.Equal(t, []string{"A=1", "B=3", "C=4"}, env(s.Containers[0]), "env by name, new entries last")

	s = smp(`{"spec":{"template":{"spec":{"containers":[{"name":"c","$setElementOrder/env":[{"name":"C"},{"name":"A"},{"name":"B"}]}]}}}}`)
	assert.Equal(t, []string{"C=4", "A=1", "B=3"}, env(s.Containers[0]), "$setElementOrder")

	s = smp(`{"spec":{"template":{"spec":{"containers":[{"name":"c","env":[{"name":"Z","value":"9"},{"$patch":"replace"}]}]}}}}`)
	assert.Equal(t, []string{"Z=9"}, env(s.Containers[0]), "$patch: replace on a list")

	s = smp(`{"spec":{"template":{"spec":{"volumes":[{"name":"data","$retainKeys":["name","hostPath"],"hostPath":{"path":"/data"}}]}}}}`)
	require.Len(t, s.Volumes, 1)
	assert.Nil(t, s.Volumes[0].EmptyDir, "$retainKeys drops the other volume source")
	require.NotNil(t, s.Volumes[0].HostPath)
	assert.Equal(t, "/data", s.Volumes[0].HostPath.Path)

	s = smp(`{"spec":{"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}`)
	assert.Equal(t, []string{"c=nginx:1.27"}, names(s.Containers), "$patch: delete")

	s = smp(`{"spec":{"template":{"spec":{"containers":[{"name":"c","ports":null}]}}}}`)
	assert.Empty(t, s.Containers[0].Ports, "null deletes")

	got, err := deps.Patch(ctx, "d", types.StrategicMergePatchType, []byte(`{"metadata":{"$deleteFromPrimitiveList/finalizers":["example.com/a"]}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"example.com/b"}, got.Finalizers, "$deleteFromPrimitiveList")
	got, err = deps.Patch(ctx, "d", types.StrategicMergePatchType, []byte(`{"metadata":{"finalizers":["example.com/c"]}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"example.com/c", "example.com/b"}, got.Finalizers, "finalizers merge: the patch's first")
	got, err = deps.Patch(ctx, "d", types.StrategicMergePatchType, []byte(`{"metadata":{"labels":{"$patch":"replace","team":"a"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"team": "a"}, got.Labels, "$patch: replace on a map")

	got, err = deps.Patch(ctx, "d", types.MergePatchType, []byte(`{"metadata":{"labels":{"team":null}},"spec":{"template":{"spec":{"containers":[{"name":"n","image":"nginx:1.28"}]}}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.Empty(t, got.Labels, "merge patch: null deletes")
	assert.Equal(t, []string{"n=nginx:1.28"}, names(got.Spec.Template.Spec.Containers), "merge patch: lists are replaced")
}

// TestPatchOfStatusAndOfTheMainResource: a patch goes through the
// strategy of the endpoint it is sent to: the main resource keeps the
// stored status, /status keeps the stored spec (and a Deployment's
// labels: deploymentStatusStrategy.PrepareForUpdate).
func TestPatchOfStatusAndOfTheMainResource(t *testing.T) {
	e := newEnv(t)
	deps := e.c.AppsV1().Deployments("default")
	_, err := deps.Create(ctx, deployment("d", 1), metav1.CreateOptions{})
	require.NoError(t, err)
	got, err := deps.Patch(ctx, "d", types.MergePatchType, []byte(`{"spec":{"replicas":3},"status":{"replicas":9}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), *got.Spec.Replicas)
	assert.Zero(t, got.Status.Replicas, "the main resource ignores status")
	assert.Equal(t, int64(2), got.Generation)

	got, err = deps.Patch(ctx, "d", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}},"spec":{"replicas":5},"status":{"replicas":2}}`), metav1.PatchOptions{}, "status")
	require.NoError(t, err)
	assert.Equal(t, int32(3), *got.Spec.Replicas, "/status ignores the spec")
	assert.Equal(t, int32(2), got.Status.Replicas)
	assert.Empty(t, got.Labels, "and a deployment's labels")
	assert.Equal(t, int64(2), got.Generation)
}

// TestUpdateScaleResourceVersion: the Scale's resourceVersion becomes
// the parent's (scaleUpdatedObjectInfo.UpdatedObject) and is checked as
// an update's: "0" is no precondition.
func TestUpdateScaleResourceVersion(t *testing.T) {
	e := newEnv(t)
	deps := e.c.AppsV1().Deployments("default")
	_, err := deps.Create(ctx, deployment("d", 1), metav1.CreateOptions{})
	require.NoError(t, err)
	sc, err := deps.GetScale(ctx, "d", metav1.GetOptions{})
	require.NoError(t, err)
	sc.ResourceVersion = "0"
	sc.Spec.Replicas = 4
	got, err := deps.UpdateScale(ctx, "d", sc, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(4), got.Spec.Replicas)
	sc.ResourceVersion = "abc"
	_, err = deps.UpdateScale(ctx, "d", sc, metav1.UpdateOptions{})
	assert.Equal(t, int32(500), statusOf(t, err).Code)
}
