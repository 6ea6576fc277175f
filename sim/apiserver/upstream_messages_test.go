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
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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

		// ---- containers ----
		{"container name not a DNS-1123 label", withDeployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Name = "Web_App" }),
			`Deployment.apps "web" is invalid: spec.template.spec.containers[0].name: Invalid value: "Web_App": ` + msgDNS1123Label},
		{"duplicate container names", withPod(func(p *v1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: "web", Image: "busybox:1.36"})
		}), `Pod "web" is invalid: spec.containers[1].name: Duplicate value: "web"`},
		{"duplicate name reported after the container's other errors", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 0}}
			p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: "web"})
		}), `Pod "web" is invalid: [spec.containers[0].ports[0].containerPort: Required value, spec.containers[1].image: Required value, spec.containers[1].name: Duplicate value: "web"]`},
		{"init container named like a container", withPod(func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{{Name: "web", Image: "busybox:1.36"}}
		}), `Pod "web" is invalid: spec.initContainers[0].name: Duplicate value: "web"`},
		{"containers are checked before init containers", withPod(func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{{Name: "init"}}
			p.Spec.Containers[0].Image = ""
		}), `Pod "web" is invalid: [spec.containers[0].image: Required value, spec.initContainers[0].image: Required value]`},
		{"image pull policy", withPod(func(p *v1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "always" }),
			`Pod "web" is invalid: spec.containers[0].imagePullPolicy: Unsupported value: "always": supported values: "Always", "IfNotPresent", "Never"`},
		{"restartPolicy on a regular container", withPod(func(p *v1.Pod) { p.Spec.Containers[0].RestartPolicy = ptr(v1.ContainerRestartPolicyAlways) }),
			`Pod "web" is invalid: spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers`},
		{"init container restartPolicy other than Always", withPod(func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox:1.36", RestartPolicy: ptr(v1.ContainerRestartPolicy("OnFailure"))}}
		}), `Pod "web" is invalid: spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`},

		// ---- ports ----
		{"port name too long", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = []v1.ContainerPort{{Name: longPortName, ContainerPort: 8080}}
		}),
			`Pod "web" is invalid: spec.containers[0].ports[0].name: Invalid value: "external-disk-provisioner-http": must be no more than 15 characters`},
		{"port name not an IANA_SVC_NAME", withPod(func(p *v1.Pod) { p.Spec.Containers[0].Ports = []v1.ContainerPort{{Name: "HTTP", ContainerPort: 8080}} }),
			`Pod "web" is invalid: [spec.containers[0].ports[0].name: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), spec.containers[0].ports[0].name: Invalid value: "HTTP": must contain at least one letter (a-z)]`},
		{"port name twice", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = []v1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "http", ContainerPort: 8081}}
		}), `Pod "web" is invalid: spec.containers[0].ports[1].name: Duplicate value: "http"`},
		{"an invalid port name is not also a duplicate", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = []v1.ContainerPort{{Name: "-http", ContainerPort: 8080}, {Name: "-http", ContainerPort: 8081}}
		}), `Pod "web" is invalid: [spec.containers[0].ports[0].name: Invalid value: "-http": must not begin or end with a hyphen, spec.containers[0].ports[1].name: Invalid value: "-http": must not begin or end with a hyphen]`},
		{"containerPort 0", withPod(func(p *v1.Pod) { p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 0}} }),
			`Pod "web" is invalid: spec.containers[0].ports[0].containerPort: Required value`},
		{"containerPort 70000", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 70000}}
		}), `Deployment.apps "web" is invalid: spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: ` + msgPortRange},
		{"protocol in lower case", withPod(func(p *v1.Pod) { p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 80, Protocol: "tcp"}} }),
			`Pod "web" is invalid: spec.containers[0].ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"`},
		{"host port used twice", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
			p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: "proxy", Image: "envoy:1.30",
				Ports: []v1.ContainerPort{{ContainerPort: 81, HostPort: 8080}}})
		}), `Pod "web" is invalid: spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"`},

		// ---- resources ----
		{"requests greater than limits", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].Resources = v1.ResourceRequirements{
				Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("200m")},
				Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}}
		}), `Pod "web" is invalid: spec.containers[0].resources.requests: Invalid value: "200m": must be less than or equal to cpu limit of 100m`},
		{"memory request above its limit in a template", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Resources = v1.ResourceRequirements{
				Requests: v1.ResourceList{v1.ResourceMemory: resource.MustParse("256Mi")},
				Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("128Mi")}}
		}), `Deployment.apps "web" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "256Mi": must be less than or equal to memory limit of 128Mi`},
		{"resource name typo", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Resources.Limits = v1.ResourceList{"cpus": resource.MustParse("1")}
		}), `Deployment.apps "web" is invalid: [spec.template.spec.containers[0].resources.limits[cpus]: Invalid value: "cpus": must be a standard resource type or fully qualified, spec.template.spec.containers[0].resources.limits[cpus]: Invalid value: "cpus": must be a standard resource for containers]`},
		{"extended resource request without a limit", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Requests = v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
		}), `Pod "web" is invalid: spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources`},
		{"extended resource request below its limit", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].Resources = v1.ResourceRequirements{
				Requests: v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")},
				Limits:   v1.ResourceList{"nvidia.com/gpu": resource.MustParse("2")}}
		}), `Pod "web" is invalid: spec.containers[0].resources.requests: Invalid value: "1": must be equal to nvidia.com/gpu limit of 2`},

		// ---- probes ----
		{"probe without a handler", withPod(func(p *v1.Pod) { p.Spec.Containers[0].LivenessProbe = &v1.Probe{PeriodSeconds: 5} }),
			`Pod "web" is invalid: spec.containers[0].livenessProbe: Required value: must specify a handler type`},
		{"probe with two handlers", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{
				HTTPGet:   &v1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)},
				TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(8080)}}}
		}), `Pod "web" is invalid: spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type`},
		{"httpGet without a port", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/healthz"}}}
		}), `Pod "web" is invalid: spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: ` + msgPortRange},
		{"httpGet port name too long", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].LivenessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{
				HTTPGet: &v1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString(longPortName)}}}
		}), `Deployment.apps "web" is invalid: spec.template.spec.containers[0].livenessProbe.httpGet.port: Invalid value: "external-disk-provisioner-http": must be no more than 15 characters`},
		{"exec without a command", withPod(func(p *v1.Pod) { p.Spec.Containers[0].StartupProbe = &v1.Probe{ProbeHandler: exec()} }),
			`Pod "web" is invalid: spec.containers[0].startupProbe.exec.command: Required value`},
		{"negative periodSeconds", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &v1.Probe{ProbeHandler: exec("true"), PeriodSeconds: -1}
		}), `Pod "web" is invalid: spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0`},
		{"liveness successThreshold", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &v1.Probe{ProbeHandler: exec("true"), SuccessThreshold: 3}
		}), `Pod "web" is invalid: spec.containers[0].livenessProbe.successThreshold: Invalid value: 3: must be 1`},
		{"readiness probe with a grace period", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &v1.Probe{ProbeHandler: exec("true"), TerminationGracePeriodSeconds: ptr(int64(10))}
		}), `Pod "web" is invalid: spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 10: must not be set for readinessProbes`},
		{"probe on a plain init container", withPod(func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox:1.36", ReadinessProbe: &v1.Probe{ProbeHandler: exec("true")}}}
		}), `Pod "web" is invalid: spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always`},

		// ---- scheduling ----
		{"toleration Exists with a value", withPod(func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpExists, Value: "gpu", Effect: v1.TaintEffectNoSchedule}}
		}), "Pod \"web\" is invalid: spec.tolerations[0].operator: Invalid value: \"gpu\": value must be empty when `operator` is 'Exists'"},
		{"toleration effect", withPod(func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "gpu", Effect: "NoSchedul"}}
		}), `Pod "web" is invalid: spec.tolerations[0].effect: Unsupported value: "NoSchedul": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`},
		{"toleration seconds need NoExecute", withPod(func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule, TolerationSeconds: ptr(int64(60))}}
		}), "Pod \"web\" is invalid: spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"},
		{"toleration value's problems in one error", withPod(func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "k", Value: "-" + strings.Repeat("v", 63)}}
		}), `Pod "web" is invalid: spec.tolerations[0].operator: Invalid value: "-` + strings.Repeat("v", 63) + `": must be no more than 63 bytes;` + msgLabelValue},
		{"nodeSelector value", withPod(func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"disktype": "ssd fast"} }),
			`Pod "web" is invalid: spec.nodeSelector: Invalid value: "ssd fast": ` + msgLabelValue},
		{"nodeSelector key", withPod(func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"disk type": "ssd"} }),
			`Pod "web" is invalid: spec.nodeSelector: Invalid value: "disk type": ` + msgQualifiedName},
		{"pod restartPolicy", withPod(func(p *v1.Pod) { p.Spec.RestartPolicy = "Sometimes" }),
			`Pod "web" is invalid: spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`},
		{"node affinity operator", withPod(func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: "Equals", Values: []string{"a"}}}}}}}}
		}), `Pod "web" is invalid: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator`},
		{"topology spread minDomains", withPod(func(p *v1.Pod) {
			p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule, MinDomains: ptr(int32(0))}}
		}), `Pod "web" is invalid: spec.topologySpreadConstraints[0].minDomains: Invalid value: 0: must be greater than zero`},

		// ---- Deployments ----
		{"restartPolicy Never in a Deployment", withDeployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = v1.RestartPolicyNever }),
			`Deployment.apps "web" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`},
		{"selector does not match the template", withDeployment(func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "frontend"} }),
			"Deployment.apps \"web\" is invalid: spec.template.metadata.labels: Invalid value: {\"app\":\"frontend\"}: `selector` does not match template `labels`"},
		{"empty selector", withDeployment(func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }),
			`Deployment.apps "web" is invalid: spec.selector: Invalid value: {}: empty selector is invalid for deployment`},
		{"no selector", withDeployment(func(d *appsv1.Deployment) { d.Spec.Selector = nil }),
			"Deployment.apps \"web\" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`]"},
		{"template label value", withDeployment(func(d *appsv1.Deployment) { d.Spec.Template.Labels["tier"] = "front end" }),
			`Deployment.apps "web" is invalid: spec.template.labels: Invalid value: "front end": ` + msgLabelValue},
		{"selector mismatch before the template's label errors", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Template.Labels = map[string]string{"app": "front end"}
		}), "Deployment.apps \"web\" is invalid: [spec.template.metadata.labels: Invalid value: {\"app\":\"front end\"}: `selector` does not match template `labels`, " +
			`spec.template.labels: Invalid value: "front end": ` + msgLabelValue + `]`},
		{"maxSurge and maxUnavailable both 0", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: intOrStr("0"), MaxUnavailable: intOrStr("0")}
		}), "Deployment.apps \"web\" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"},
		{"maxSurge 0% and maxUnavailable 0", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: intOrStr("0%"), MaxUnavailable: intOrStr("0")}
		}), "Deployment.apps \"web\" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"},
		{"maxUnavailable 150%", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: intOrStr("150%")}
		}), `Deployment.apps "web" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%`},
		{"maxSurge without %", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ptr(intstr.FromString("25"))}
		}), `Deployment.apps "web" is invalid: spec.strategy.rollingUpdate.maxSurge: Invalid value: "25": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`},
		{"strategy type", withDeployment(func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "Rolling" }),
			`Deployment.apps "web" is invalid: spec.strategy: Unsupported value: {"Type":"Rolling","RollingUpdate":null}: supported values: "Recreate", "RollingUpdate"`},
		{"activeDeadlineSeconds in a Deployment", withDeployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(60)) }),
			`Deployment.apps "web" is invalid: spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported`},

		// ---- Services ----
		{"service port used twice", withService(func(s *v1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "web", Port: 80, TargetPort: intstr.FromInt32(8081)})
		}), `Service "web" is invalid: spec.ports[1]: Duplicate value: {"Name":"","Protocol":"TCP","AppProtocol":null,"Port":80,"TargetPort":0,"NodePort":0}`},
		{"service port name used twice", withService(func(s *v1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "http", Port: 81})
		}), `Service "web" is invalid: spec.ports[1].name: Duplicate value: "http"`},
		{"several ports need names", withService(func(s *v1.Service) {
			s.Spec.Ports = []v1.ServicePort{{Port: 80}, {Port: 443}}
		}), `Service "web" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value]`},
		{"service port 0", withService(func(s *v1.Service) { s.Spec.Ports = []v1.ServicePort{{Port: 0}} }),
			`Service "web" is invalid: [spec.ports[0].port: Invalid value: 0: ` + msgPortRange + `, spec.ports[0].targetPort: Invalid value: 0: ` + msgPortRange + `]`},
		{"targetPort 70000", withService(func(s *v1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(70000) }),
			`Service "web" is invalid: spec.ports[0].targetPort: Invalid value: 70000: ` + msgPortRange},
		{"named targetPort too long", withService(func(s *v1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString(longPortName) }),
			`Service "web" is invalid: spec.ports[0].targetPort: Invalid value: "external-disk-provisioner-http": must be no more than 15 characters`},
		{"service type", withService(func(s *v1.Service) { s.Spec.Type = "Cluster" }),
			`Service "web" is invalid: spec.type: Unsupported value: "Cluster": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`},
		{"nodePort on a ClusterIP service", withService(func(s *v1.Service) { s.Spec.Ports[0].NodePort = 30080 }),
			"Service \"web\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"},
		{"externalName not a DNS name", withService(func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeExternalName
			s.Spec.ExternalName = "db_host"
		}), `Service "web" is invalid: spec.externalName: Invalid value: "db_host": ` + msgDNS1123Subdomain},
		{"clusterIPs must start with clusterIP", withService(func(s *v1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.11"}
		}), "Service \"web\" is invalid: spec.clusterIPs: Invalid value: [\"10.96.0.11\"]: first value must match `clusterIP`"},
		{"clusterIPs without clusterIP", withService(func(s *v1.Service) { s.Spec.ClusterIPs = []string{"10.96.0.11"} }),
			"Service \"web\" is invalid: spec.clusterIPs: Invalid value: [\"10.96.0.11\"]: must be empty when `clusterIP` is not specified"},
		{"cluster IP not an IP", withService(func(s *v1.Service) { s.Spec.ClusterIP = "10.96.0.300" }),
			`Service "web" is invalid: spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`},
		{"ipFamilyPolicy", withService(func(s *v1.Service) { s.Spec.IPFamilyPolicy = ptr(v1.IPFamilyPolicy("Dual")) }),
			`Service "web" is invalid: spec.ipFamilyPolicy: Unsupported value: "Dual": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"`},
		{"cluster IP errors after session affinity, before the type", withService(func(s *v1.Service) {
			s.Spec.Type = "Cluster"
			s.Spec.SessionAffinity = "Sticky"
			s.Spec.IPFamilies = []v1.IPFamily{"IPv5"}
		}), `Service "web" is invalid: [spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None", spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6", spec.type: Unsupported value: "Cluster": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]`},
		{"healthCheckNodePort on a ClusterIP service", withService(func(s *v1.Service) { s.Spec.HealthCheckNodePort = 30000 }),
			"Service \"web\" is invalid: spec.healthCheckNodePort: Invalid value: 30000: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"},
		{"port errors before the type", withService(func(s *v1.Service) {
			s.Spec.Type = "Cluster"
			s.Spec.Ports[0].Protocol = "HTTP"
		}), `Service "web" is invalid: [spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP", spec.type: Unsupported value: "Cluster": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]`},

		// ---- HorizontalPodAutoscalers ----
		{"minReplicas above maxReplicas", withHPA(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.MinReplicas, h.Spec.MaxReplicas = ptr(int32(5)), 2
		}),
			"HorizontalPodAutoscaler.autoscaling \"web\" is invalid: spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"},
		{"minReplicas 0", withHPA(func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = ptr(int32(0)) }),
			`HorizontalPodAutoscaler.autoscaling "web" is invalid: spec.minReplicas: Invalid value: 0: must be greater than or equal to 1`},
		{"replica bounds before the target", withHPA(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.MaxReplicas = 0
			h.Spec.ScaleTargetRef.Name = ""
		}), "HorizontalPodAutoscaler.autoscaling \"web\" is invalid: [spec.maxReplicas: Invalid value: 0: must be greater than 0, spec.maxReplicas: Invalid value: 0: must be greater than or equal to `minReplicas`, spec.scaleTargetRef.name: Required value]"},
		{"averageUtilization 0", withHPA(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target.AverageUtilization = ptr(int32(0))
		}),
			`HorizontalPodAutoscaler.autoscaling "web" is invalid: spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0`},
		{"metric without a type", withHPA(func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Type = "" }),
			`HorizontalPodAutoscaler.autoscaling "web" is invalid: [spec.metrics[0].type: Required value: must specify a metric source type, spec.metrics[0].type: Unsupported value: "": supported values: "ContainerResource", "External", "Object", "Pods", "Resource"]`},
		{"Utilization target without a value", withHPA(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target.AverageUtilization = nil
		}),
			`HorizontalPodAutoscaler.autoscaling "web" is invalid: spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or a target utilization`},
		{"target type", withHPA(func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Resource.Target.Type = "Percent" }),
			`HorizontalPodAutoscaler.autoscaling "web" is invalid: spec.metrics[0].resource.target.type: Invalid value: "Percent": must be either Utilization, Value, or AverageValue`},
		{"Pods metric without its source", withHPA(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Type = autoscalingv2.PodsMetricSourceType
		}),
			`HorizontalPodAutoscaler.autoscaling "web" is invalid: spec.metrics[0].pods: Required value: must populate information for the given metric source`},
		{"scaling policy period", withHPA(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 3600}}}}
		}), `HorizontalPodAutoscaler.autoscaling "web" is invalid: spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 3600: must be less than or equal to 1800`},
		{"negative stabilization window", withHPA(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(-1))}}
		}), `HorizontalPodAutoscaler.autoscaling "web" is invalid: spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: -1: must be greater than or equal to zero`},

		// ---- PodDisruptionBudgets, PriorityClasses ----
		{"minAvailable and maxUnavailable", withPDB(func(p *policyv1.PodDisruptionBudget) { p.Spec.MaxUnavailable = intOrStr("1") }),
			`PodDisruptionBudget.policy "web" is invalid: spec: Invalid value: {"MinAvailable":1,"Selector":{"matchLabels":{"app":"web"}},"MaxUnavailable":1,"UnhealthyPodEvictionPolicy":null}: minAvailable and maxUnavailable cannot be both set`},
		{"maxUnavailable above 100%", withPDB(func(p *policyv1.PodDisruptionBudget) {
			p.Spec.MinAvailable, p.Spec.MaxUnavailable = nil, intOrStr("120%")
		}),
			`PodDisruptionBudget.policy "web" is invalid: spec.maxUnavailable: Invalid value: "120%": must not be greater than 100%`},
		{"negative minAvailable", withPDB(func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = intOrStr("-1") }),
			`PodDisruptionBudget.policy "web" is invalid: spec.minAvailable: Invalid value: -1: must be greater than or equal to 0`},
		{"PriorityClass value too large", &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "huge"}, Value: 2000000000},
			`PriorityClass.scheduling.k8s.io "huge" is invalid: value: Forbidden: maximum allowed value of a user defined priority is 1000000000`},
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

// An update that changes a Deployment's selector is refused in upstream's
// words (the deployment strategy's ValidateUpdate:
// apivalidation.ValidateImmutableField on spec.selector).
func TestDeploymentSelectorIsImmutableAsUpstream(t *testing.T) {
	e := newEnv(t)
	deps := e.c.AppsV1().Deployments("default")
	d, err := deps.Create(ctx, upDeployment(), metav1.CreateOptions{})
	require.NoError(t, err)
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web2"}}
	d.Spec.Template.Labels = map[string]string{"app": "web2"}
	_, err = deps.Update(ctx, d, metav1.UpdateOptions{})
	assert.EqualError(t, err, `Deployment.apps "web" is invalid: spec.selector: Invalid value: {"matchLabels":{"app":"web2"}}: field is immutable`)
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
		// ---- pods ----
		{"limits without requests in a pod", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m"), v1.ResourceMemory: resource.MustParse("256Mi")}
		})},
		{"limits without requests in a template", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m")}
		})},
		{"grpc probe", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{GRPC: &v1.GRPCAction{Port: 9090}}}
		})},
		{"liveness probe with its own grace period", withPod(func(p *v1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &v1.Probe{ProbeHandler: exec("true"), TerminationGracePeriodSeconds: ptr(int64(5))}
		})},
		{"sidecar init container with probes", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.InitContainers = []v1.Container{{Name: "proxy", Image: "envoy:1.30",
				RestartPolicy:  ptr(v1.ContainerRestartPolicyAlways),
				ReadinessProbe: &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(15001)}}},
				StartupProbe:   &v1.Probe{ProbeHandler: exec("true")}}}
		})},
		{"toleration of every taint", withPod(func(p *v1.Pod) { p.Spec.Tolerations = []v1.Toleration{{Operator: v1.TolerationOpExists}} })},
		// ---- Deployments, PodDisruptionBudgets ----
		{"maxSurge 0 with maxUnavailable 1", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: intOrStr("0"), MaxUnavailable: intOrStr("1")}
		})},
		{"percentage minAvailable", withPDB(func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = intOrStr("50%") })},
		// ---- Services ----
		{"named targetPort", withService(func(s *v1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("http") })},
		{"targetPort 0 defaults to the port", withService(func(s *v1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(0) })},
		{"selector on an ExternalName service", withService(func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeExternalName
			s.Spec.ExternalName = "db.example.com."
		})},
		{"clusterIP alone (an old client)", withService(func(s *v1.Service) { s.Spec.ClusterIP = "10.96.0.10" })},
		{"headless with clusterIP alone", withService(func(s *v1.Service) { s.Spec.ClusterIP = v1.ClusterIPNone })},
		{"nodePort on an ExternalName service", withService(func(s *v1.Service) {
			s.Spec.Type = v1.ServiceTypeExternalName
			s.Spec.ExternalName = "db.example.com"
			s.Spec.Ports[0].NodePort = 30080
		})},
		// ---- HorizontalPodAutoscalers ----
		{"Utilization target given as an average value", withHPA(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageValue: ptr(resource.MustParse("200m"))}
		})},
		// ---- grace periods ----
		{"negative pod grace period", withPod(func(p *v1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(-1)) })},
		{"negative grace period in a template", withDeployment(func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr(int64(-5))
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			assert.Empty(t, e.s.Validate(tc.obj))
			assert.NoError(t, createIn(t, e, tc.obj))
		})
	}
}

// A pod's negative terminationGracePeriodSeconds is accepted and read back
// as 1 (kubernetes#115606: Convert_v1_Pod_To_core_Pod); a template keeps
// its value.
func TestNegativeGracePeriodBecomesOne(t *testing.T) {
	e := newEnv(t)
	p, err := e.c.CoreV1().Pods("default").Create(ctx, withPod(func(p *v1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(-1)) }).(*v1.Pod), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), *p.Spec.TerminationGracePeriodSeconds)
	d, err := e.c.AppsV1().Deployments("default").Create(ctx, withDeployment(func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr(int64(-5))
	}).(*appsv1.Deployment), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(-5), *d.Spec.Template.Spec.TerminationGracePeriodSeconds)
}
