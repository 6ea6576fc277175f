package apiserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// A ClusterIP Service with externalIPs is externally accessible
// (pkg/api/v1/service ExternallyAccessible): SetDefaults_Service gives it
// externalTrafficPolicy Cluster, which validation requires, and an update
// that removes the external IPs drops the policy it did not change
// (dropTypeDependentFields).
func TestClusterIPServiceWithExternalIPsGetsExternalTrafficPolicy(t *testing.T) {
	e := newEnv(t)
	svcs := e.c.CoreV1().Services("default")
	s, err := svcs.Create(ctx, &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec: v1.ServiceSpec{ExternalIPs: []string{"192.0.2.10"}, Ports: []v1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1.ServiceExternalTrafficPolicyCluster, s.Spec.ExternalTrafficPolicy)

	s, err = svcs.Patch(ctx, "ext", types.MergePatchType, []byte(`{"spec":{"externalIPs":null}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	assert.Empty(t, s.Spec.ExternalTrafficPolicy)
}

// DefaultTolerationSeconds admits updates too
// (plugin/pkg/admission/defaulttolerationseconds: NewHandler(Create,
// Update)): a full update with the manifest as written (kubectl replace)
// gets the tolerations back instead of being refused for removing them.
func TestDefaultTolerationSecondsOnUpdate(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	created, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)

	p := pod("a")
	p.ResourceVersion = created.ResourceVersion
	p.Labels["tier"] = "front"
	got, err := pods.Update(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, created.Spec.Tolerations, got.Spec.Tolerations)
	assert.Equal(t, "front", got.Labels["tier"])
}

// serviceAccount is an alias of serviceAccountName (pkg/apis/core/v1
// conversion.go, Convert_v1_PodSpec_To_core_PodSpec and back): either one
// written reads back as both, serviceAccountName winning, in pods and in
// pod templates.
func TestServiceAccountIsAnAliasOfServiceAccountName(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	for _, c := range []struct{ name, sa, saName, want string }{
		{"old", "legacy", "", "legacy"},
		{"new", "", "web", "web"},
		{"both", "legacy", "web", "web"},
		{"none", "", "", ""},
	} {
		p := pod(c.name)
		p.Spec.DeprecatedServiceAccount, p.Spec.ServiceAccountName = c.sa, c.saName
		got, err := pods.Create(ctx, p, metav1.CreateOptions{})
		require.NoError(t, err)
		assert.Equal(t, c.want, got.Spec.ServiceAccountName, c.name)
		assert.Equal(t, c.want, got.Spec.DeprecatedServiceAccount, c.name)
	}
	d := deployment("web", 1)
	d.Spec.Template.Spec.DeprecatedServiceAccount = "legacy"
	d, err := e.c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "legacy", d.Spec.Template.Spec.ServiceAccountName)
}

// The nested defaults of SetObjectDefaults_Pod (pkg/apis/core/v1
// zz_generated.defaults.go) beyond containers and probes: volumes
// (SetDefaults_Volume and the volume sources), env and downward API
// fieldRefs (SetDefaults_ObjectFieldSelector) and a gRPC probe's service
// (+default=""), in pods and in pod templates.
func TestPodNestedDefaults(t *testing.T) {
	const spec = `
volumes:
- name: scratch
- name: secret
  secret: {secretName: s}
- name: config
  configMap: {name: c}
- name: host
  hostPath: {path: /var/log}
- name: info
  downwardAPI:
    items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]
- name: projected
  projected:
    sources:
    - serviceAccountToken: {path: token}
    - downwardAPI:
        items: [{path: name, fieldRef: {fieldPath: metadata.name}}]
containers:
- name: c
  image: nginx:1.27
  env:
  - name: POD_NAME
    valueFrom: {fieldRef: {fieldPath: metadata.name}}
  livenessProbe:
    grpc: {port: 9000}
`
	var ps v1.PodSpec
	require.NoError(t, yaml.Unmarshal([]byte(spec), &ps))
	check := func(what string, s v1.PodSpec) {
		t.Helper()
		vols := map[string]v1.VolumeSource{}
		for _, v := range s.Volumes {
			vols[v.Name] = v.VolumeSource
		}
		assert.Equal(t, &v1.EmptyDirVolumeSource{}, vols["scratch"].EmptyDir, what)
		assert.Equal(t, ptr(int32(0o644)), vols["secret"].Secret.DefaultMode, what)
		assert.Equal(t, ptr(int32(0o644)), vols["config"].ConfigMap.DefaultMode, what)
		assert.Equal(t, ptr(v1.HostPathUnset), vols["host"].HostPath.Type, what)
		assert.Equal(t, ptr(int32(0o644)), vols["info"].DownwardAPI.DefaultMode, what)
		assert.Equal(t, "v1", vols["info"].DownwardAPI.Items[0].FieldRef.APIVersion, what)
		proj := vols["projected"].Projected
		assert.Equal(t, ptr(int32(0o644)), proj.DefaultMode, what)
		assert.Equal(t, ptr(int64(3600)), proj.Sources[0].ServiceAccountToken.ExpirationSeconds, what)
		assert.Equal(t, "v1", proj.Sources[1].DownwardAPI.Items[0].FieldRef.APIVersion, what)
		c := s.Containers[0]
		assert.Equal(t, "v1", c.Env[0].ValueFrom.FieldRef.APIVersion, what)
		assert.Equal(t, ptr(""), c.LivenessProbe.GRPC.Service, what)
	}
	e := newEnv(t)
	p := pod("p")
	p.Spec = *ps.DeepCopy()
	got, err := e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	check("pod", got.Spec)

	d := deployment("web", 1)
	d.Spec.Template.Spec = *ps.DeepCopy()
	d, err = e.c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
	require.NoError(t, err)
	check("deployment template", d.Spec.Template.Spec)
}

// SetDefaults_ResourceList rounds every quantity of a pod's, a template's
// and a node's resource lists up to milli precision (and writes it in its
// canonical form), so a cpu limit of 0.5m reads back as 1m.
func TestResourceListsRoundUpToMilli(t *testing.T) {
	e := newEnv(t)
	p := pod("p")
	p.Spec.Containers[0].Resources = v1.ResourceRequirements{
		Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("0.5m"), v1.ResourceMemory: resource.MustParse("1000000u")},
		Requests: v1.ResourceList{v1.ResourceMemory: resource.MustParse("0.0001")}}
	p.Spec.Overhead = v1.ResourceList{v1.ResourceCPU: resource.MustParse("1500u")}
	got, err := e.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	r := got.Spec.Containers[0].Resources
	assert.Equal(t, "1m", ptr(r.Limits[v1.ResourceCPU]).String())
	assert.Equal(t, "1m", ptr(r.Requests[v1.ResourceCPU]).String(), "the request defaulted from the limit")
	assert.Equal(t, "1", ptr(r.Limits[v1.ResourceMemory]).String(), "exact, in canonical form")
	assert.Equal(t, "1m", ptr(r.Requests[v1.ResourceMemory]).String())
	assert.Equal(t, "2m", ptr(got.Spec.Overhead[v1.ResourceCPU]).String())

	d := deployment("web", 1)
	d.Spec.Template.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("0.1m")}
	d, err = e.c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "1m", ptr(d.Spec.Template.Spec.Containers[0].Resources.Requests[v1.ResourceCPU]).String())

	n, err := e.c.CoreV1().Nodes().Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"},
		Status: v1.NodeStatus{Capacity: v1.ResourceList{v1.ResourceCPU: resource.MustParse("3999.5m")}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "4", ptr(n.Status.Capacity[v1.ResourceCPU]).String())
	assert.Equal(t, "4", ptr(n.Status.Allocatable[v1.ResourceCPU]).String())
}

// imagePullPolicy defaults to Always when upstream's parsers.ParseImageName
// (github.com/distribution/reference ParseNormalizedNamed) finds the tag
// "latest" — written, or implied by an image without tag and digest — and
// to IfNotPresent otherwise, also for an image it cannot parse.
func TestImagePullPolicyFollowsTheParsedTag(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	const sha = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for i, c := range []struct {
		image string
		want  v1.PullPolicy
	}{
		{"nginx", v1.PullAlways},
		{"nginx:latest", v1.PullAlways},
		{"nginx:1.27", v1.PullIfNotPresent},
		{"nginx:Latest", v1.PullIfNotPresent},
		{"nginx@" + sha, v1.PullIfNotPresent},
		{"nginx:latest@" + sha, v1.PullAlways},
		{"nginx:1.27@" + sha, v1.PullIfNotPresent},
		{"localhost:5000/team/app", v1.PullAlways},
		{"registry.example.com:5000/team/app:latest", v1.PullAlways},
		{"Registry.Example.com/team/app", v1.PullAlways},
		{"[2001:db8::1]:5000/app", v1.PullAlways},
		{"my-registry/web__app", v1.PullAlways},
		// Unparsable: no tag.
		{"NGINX", v1.PullIfNotPresent},
		{"Nginx:latest", v1.PullIfNotPresent},
		{"team/App", v1.PullIfNotPresent},
		{"nginx:", v1.PullIfNotPresent},
		{"web..app", v1.PullIfNotPresent},
		{"web___app", v1.PullIfNotPresent},
		{"nginx:latest@sha256:0123", v1.PullIfNotPresent},
		{"nginx:latest@md5:0123456789abcdef0123456789abcdef", v1.PullIfNotPresent},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", v1.PullIfNotPresent},
		// distribution/reference v0.6.0 (what upstream vendors) bounds the
		// path, not the domain with it, by 255 characters.
		{"example.com/" + strings.Repeat("a", 256), v1.PullIfNotPresent},
		{"example.com/" + strings.Repeat("a", 255), v1.PullAlways},
	} {
		p := pod(fmt.Sprintf("p%d", i))
		p.Spec.Containers[0].Image = c.image
		got, err := pods.Create(ctx, p, metav1.CreateOptions{})
		require.NoError(t, err, c.image)
		assert.Equal(t, c.want, got.Spec.Containers[0].ImagePullPolicy, c.image)
	}
}

// Pod-level resources (PodLevelResources, on by default since v1.34):
// SetDefaults_Pod fills the pod-level requests the pod leaves out — from
// its containers' requests for cpu and memory (defaultPodRequests), else
// from the pod-level limit — and hugepages limits from the containers'
// (defaultHugePagePodLimits); the QoS class is then the pod-level
// resources' (ComputePodQOS).
func TestPodLevelResourcesDefaults(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	q := resource.MustParse
	limits := v1.ResourceList{v1.ResourceCPU: q("1"), v1.ResourceMemory: q("1Gi")}

	p := pod("limits-only")
	p.Spec.Containers[0].Resources = v1.ResourceRequirements{}
	p.Spec.Resources = &v1.ResourceRequirements{Limits: limits.DeepCopy()}
	got, err := pods.Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "1", ptr(got.Spec.Resources.Requests[v1.ResourceCPU]).String())
	assert.Equal(t, "1Gi", ptr(got.Spec.Resources.Requests[v1.ResourceMemory]).String())
	assert.Equal(t, v1.PodQOSGuaranteed, got.Status.QOSClass)

	p = pod("with-container-requests") // the container requests 100m cpu
	p.Spec.Resources = &v1.ResourceRequirements{Limits: limits.DeepCopy()}
	got, err = pods.Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "100m", ptr(got.Spec.Resources.Requests[v1.ResourceCPU]).String())
	assert.Equal(t, "1Gi", ptr(got.Spec.Resources.Requests[v1.ResourceMemory]).String())
	assert.Equal(t, v1.PodQOSBurstable, got.Status.QOSClass)

	p = pod("requests-only")
	p.Spec.Containers[0].Resources = v1.ResourceRequirements{}
	p.Spec.Resources = &v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: q("500m")}}
	got, err = pods.Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Nil(t, got.Spec.Resources.Limits, "no limits defaulted")
	assert.Equal(t, v1.PodQOSBurstable, got.Status.QOSClass, "pod-level requests decide, not the best-effort container")

	p = pod("hugepages")
	p.Spec.Containers[0].Resources = v1.ResourceRequirements{Limits: v1.ResourceList{
		v1.ResourceCPU: q("1"), v1.ResourceMemory: q("1Gi"), "hugepages-2Mi": q("4Mi")}}
	p.Spec.Resources = &v1.ResourceRequirements{Limits: limits.DeepCopy()}
	got, err = pods.Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "4Mi", ptr(got.Spec.Resources.Limits["hugepages-2Mi"]).String())
	assert.Equal(t, "4Mi", ptr(got.Spec.Resources.Requests["hugepages-2Mi"]).String())
	assert.Equal(t, "1", ptr(got.Spec.Resources.Requests[v1.ResourceCPU]).String())
}

// An EndpointSlice's ports default to name "" and protocol TCP
// (pkg/apis/discovery/v1 SetDefaults_EndpointPort).
func TestEndpointSlicePortDefaults(t *testing.T) {
	e := newEnv(t)
	got, err := e.c.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Port: ptr(int32(8080))}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, ptr(""), got.Ports[0].Name)
	assert.Equal(t, ptr(v1.ProtocolTCP), got.Ports[0].Protocol)
}
