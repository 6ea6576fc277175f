package apiserver_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The messages apimachinery's format checks produce (k8s.io/apimachinery
// pkg/util/validation, pkg/api/validate/content at v0.37: a label value's
// length is "no more than 63 bytes" there), spelled out so the
// expectations below read as what a user sees.
const (
	msgDNS1123Label     = `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`
	msgDNS1123Subdomain = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
	msgDNS1035Label     = `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`
	msgLabelValue       = `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`
	msgQualifiedName    = `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`
	msgPortRange        = `must be between 1 and 65535, inclusive`
)

// longPortName is 30 characters: a port name may have 15.
const longPortName = "external-disk-provisioner-http"

func upPod() *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "web", Image: "nginx:1.27"}}},
	}
}

func upDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}
}

func upService() *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: v1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

func upHPA() *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr(int32(2)),
			MaxReplicas:    5,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: v1.ResourceCPU, Target: autoscalingv2.MetricTarget{
					Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(60))}},
			}},
		},
	}
}

func upPDB() *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &one,
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		},
	}
}

func withPod(edit func(p *v1.Pod)) runtime.Object {
	p := upPod()
	edit(p)
	return p
}

func withDeployment(edit func(d *appsv1.Deployment)) runtime.Object {
	d := upDeployment()
	edit(d)
	return d
}

func withService(edit func(s *v1.Service)) runtime.Object {
	s := upService()
	edit(s)
	return s
}

func withHPA(edit func(h *autoscalingv2.HorizontalPodAutoscaler)) runtime.Object {
	h := upHPA()
	edit(h)
	return h
}

func withPDB(edit func(p *policyv1.PodDisruptionBudget)) runtime.Object {
	p := upPDB()
	edit(p)
	return p
}

func exec(cmd ...string) v1.ProbeHandler {
	return v1.ProbeHandler{Exec: &v1.ExecAction{Command: cmd}}
}

func intOrStr(s string) *intstr.IntOrString { v := intstr.Parse(s); return &v }

// createIn creates obj through the server as a client would and returns
// the error as the client prints it.
func createIn(t *testing.T, e *env, obj runtime.Object) error {
	t.Helper()
	gvk, ok := e.s.GVKFor(obj)
	require.True(t, ok, "%T", obj)
	res, ok := e.s.ResourceFor(gvk.GroupKind())
	require.True(t, ok, "%v", gvk)
	ns := ""
	if res.Namespaced {
		ns = "default"
	}
	_, err := e.s.Create("test", res, ns, obj, metav1.CreateOptions{})
	return err
}

// TestValidationMatchesUpstreamMessages: manifests with the mistakes people
// make, and the error a v1.32+ API server returns for each, field path,
// error type, detail and order as apierrors.NewInvalid prints them
// (pkg/apis/core/validation, pkg/apis/apps/validation,
// pkg/apis/autoscaling/validation, pkg/apis/policy/validation,
// pkg/apis/scheduling/validation, apimachinery's ObjectMeta and label
// checks). Server.Validate must agree with Create on each.
func TestValidationMatchesUpstreamMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  runtime.Object
		want string
	}{
		// ---- metadata ----
		{"name with upper case", withDeployment(func(d *appsv1.Deployment) { d.Name = "Web" }),
			`Deployment.apps "Web" is invalid: metadata.name: Invalid value: "Web": ` + msgDNS1123Subdomain},
		{"service name is a DNS-1035 label", withService(func(s *v1.Service) { s.Name = "1web" }),
			`Service "1web" is invalid: metadata.name: Invalid value: "1web": ` + msgDNS1035Label},
		{"name then labels then spec", withDeployment(func(d *appsv1.Deployment) {
			d.Name = "Web"
			d.Labels = map[string]string{"app name": "web"}
			d.Spec.Replicas = ptr(int32(-1))
		}), `Deployment.apps "Web" is invalid: [metadata.name: Invalid value: "Web": ` + msgDNS1123Subdomain +
			`, metadata.labels: Invalid value: "app name": ` + msgQualifiedName +
			`, spec.replicas: Invalid value: -1: must be greater than or equal to 0]`},
		{"label key then its value", withPod(func(p *v1.Pod) { p.Labels = map[string]string{"tier name": "front end"} }),
			`Pod "web" is invalid: [metadata.labels: Invalid value: "tier name": ` + msgQualifiedName +
				`, metadata.labels: Invalid value: "front end": ` + msgLabelValue + `]`},
		{"label value", withPod(func(p *v1.Pod) { p.Labels = map[string]string{"tier": "front end"} }),
			`Pod "web" is invalid: metadata.labels: Invalid value: "front end": ` + msgLabelValue},
		{"annotation key", withPod(func(p *v1.Pod) { p.Annotations = map[string]string{"my note": "x"} }),
			`Pod "web" is invalid: metadata.annotations: Invalid value: "my note": ` + msgQualifiedName},
		{"finalizer without a domain", withPod(func(p *v1.Pod) { p.Finalizers = []string{"my-finalizer"} }),
			`Pod "web" is invalid: metadata.finalizers[0]: Invalid value: "my-finalizer": name is neither a standard finalizer name nor is it fully qualified`},
		{"annotations too large", withPod(func(p *v1.Pod) { p.Annotations = map[string]string{"notes": strings.Repeat("x", 256*1024)} }),
			`Pod "web" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			errs := e.s.Validate(tc.obj)
			err := createIn(t, e, tc.obj)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			var fromValidate []string
			for _, fe := range errs {
				fromValidate = append(fromValidate, fe.Error())
			}
			assert.Equal(t, tc.want, invalidMessage(err, fromValidate), "Validate reports what Create does")
		})
	}
}

// invalidMessage rebuilds a Create error's message from Validate's errors
// as apierrors.NewInvalid prints them (one error bare, several in brackets).
func invalidMessage(createErr error, errs []string) string {
	prefix, _, _ := strings.Cut(createErr.Error(), " is invalid: ")
	if len(errs) == 1 {
		return prefix + " is invalid: " + errs[0]
	}
	return prefix + " is invalid: [" + strings.Join(errs, ", ") + "]"
}

// Manifests upstream accepts, unusual as they are: kubesim must not refuse
// them.
func TestValidationAcceptsWhatUpstreamAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  runtime.Object
	}{
		// ---- metadata ----
		{"qualified label keys", withPod(func(p *v1.Pod) {
			p.Labels = map[string]string{"app.kubernetes.io/name": "web", "Tier": "Front_End.1"}
			p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "node-1"}
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			assert.Empty(t, e.s.Validate(tc.obj))
			assert.NoError(t, createIn(t, e, tc.obj))
		})
	}
}
