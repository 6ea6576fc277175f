package apiserver_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
