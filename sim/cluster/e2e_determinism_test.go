package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubesim/kubesim/netsim/traffic"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/kubelet"
	"github.com/kubesim/kubesim/sim/metrics"
)

// mixedRun is a scripted mixed workload with every component on and the
// kubelets' default jitter: 4 nodes in 2 zones; Deployment web (2 replicas,
// 10m CPU per request/s, 200m requested) behind Service web with 100
// requests/s and an HPA at 50 % CPU; Deployment api (3 replicas, readiness
// probes, crash-looping every 4 min) behind Service api with 20 requests/s
// traced one by one, rolled to a new image at 3m; node b1 crashed at 5m and
// recovered at 12m; a drain of a2 at 13m. It returns the JSON-lines trace,
// the metrics text at 15m and the run's e2e for further checks.
func mixedRun(t *testing.T, seed uint64) (trace, metricsText string, e *e2e) {
	e = newE2E(t, seed, cluster.Config{})
	for _, n := range []struct{ name, zone string }{{"a1", "a"}, {"a2", "a"}, {"b1", "b"}, {"b2", "b"}} {
		require.NoError(t, e.c.AddNode(cluster.NodeSpec{Name: n.name, Labels: map[string]string{v1.LabelTopologyZone: n.zone},
			Capacity: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi")}}))
	}
	for _, svc := range []string{"web", "api"} {
		_, err := e.cl.CoreV1().Services("default").Create(bg, serviceFor(svc), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	web := webDeployment(2, "php-apache:1")
	web.Spec.Template.Annotations = map[string]string{metrics.CPUPerRequestAnnotation: "10m"}
	web.Spec.Template.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("200m")}
	e.createDeployment(web)

	api := webDeployment(3, "api:1")
	api.Name = "api"
	api.Labels = map[string]string{"app": "api"}
	api.Spec.Selector.MatchLabels = map[string]string{"app": "api"}
	api.Spec.Template.Labels = map[string]string{"app": "api"}
	api.Spec.Template.Annotations = map[string]string{kubelet.AnnotationCrashAfter: "4m", kubelet.AnnotationStartupDuration: "2s"}
	api.Spec.Template.Spec.Containers[0].ReadinessProbe = &v1.Probe{PeriodSeconds: 2,
		ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}}}
	e.createDeployment(api)

	min2 := int32(2)
	fifty := int32(50)
	_, err := e.cl.AutoscalingV2().HorizontalPodAutoscalers("default").Create(bg, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    &min2, MaxReplicas: 12,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: v1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &fifty}}}},
		}}, metav1.CreateOptions{})
	require.NoError(t, err)
	e.c.Engine.At(30*time.Second, "load", func() {
		require.NoError(t, e.c.SetServiceLoad("default", "web", 100, ""))
		require.NoError(t, e.c.SetLoad(traffic.Load{Namespace: "default", Service: "api", RPS: 20, Trace: traffic.TraceAlways}))
	})
	e.c.Engine.At(3*time.Minute, "rollout api", func() {
		e.updateDeployment("api", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "api:2" })
	})
	e.c.Inject(cluster.Fault{At: 5 * time.Minute, Action: cluster.FaultCrashNode, Node: "b1"})
	e.c.Inject(cluster.Fault{At: 12 * time.Minute, Action: cluster.FaultRecoverNode, Node: "b1"})
	e.c.Inject(cluster.Fault{At: 13 * time.Minute, Action: cluster.FaultDrain, Node: "a2"})
	e.at(15 * time.Minute)
	return e.trace.String(), e.c.Metrics().Text(), e
}

// TestE2EMixedWorkloadDeterministic: the same seed gives byte-identical
// traces and metrics text with everything on; another seed gives another
// history.
func TestE2EMixedWorkloadDeterministic(t *testing.T) {
	t1, m1, e := mixedRun(t, 31)
	t2, m2, _ := mixedRun(t, 31)
	assert.Equal(t, t1, t2, "same seed, same trace bytes")
	assert.Equal(t, m1, m2, "same seed, same metrics text")
	t3, m3, _ := mixedRun(t, 32)
	assert.NotEqual(t, t1, t3, "another seed, another history")
	assert.NotEqual(t, m1, m3)

	// The run exercised what it claims to.
	require.Greater(t, len(t1), 100_000)
	for _, want := range []string{
		`"component":"horizontal-pod-autoscaler"`, `"verb":"statusUnknown"`, `"verb":"nodeRecovered"`, `"verb":"drained"`,
		`"verb":"backOff"`, `"component":"traffic","verb":"request"`, `"verb":"evicted"`,
	} {
		assert.Contains(t, t1, want)
	}
	assert.Contains(t, m1, `kubesim_requests_total{namespace="default",node=`)
	d := e.deployment("web")
	assert.Equal(t, int32(10), *d.Spec.Replicas, "the HPA settles at 100 req/s × 10m / (50 % of 200m) = 10 pods")
	assert.Equal(t, int32(10), d.Status.AvailableReplicas)
	assert.Equal(t, "api:2", e.deployment("api").Spec.Template.Spec.Containers[0].Image)
	assert.True(t, e.rolledOut("api"))
	t.Logf("trace %d bytes (%d records), metrics %d bytes", len(t1), len(e.recs), len(m1))
}
