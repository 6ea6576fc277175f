package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/metrics"
	"github.com/kubesim/kubesim/sim/simtest"
)

func TestWorkloadsConfigValidate(t *testing.T) {
	assert.Empty(t, cluster.WorkloadsConfig{}.Validate())
	errs := cluster.WorkloadsConfig{DisableControllers: []string{"deployment", "statefulset"}, HPATolerance: -1, HPASyncPeriod: -time.Second}.Validate()
	require.Len(t, errs, 3)
	assert.Equal(t, "workloads.disableControllers[1]", errs[0].Field)
	assert.Contains(t, errs[0].Error(), `Unsupported value: "statefulset"`)
	assert.Equal(t, "workloads.hpaTolerance", errs[1].Field)
	assert.Equal(t, "workloads.hpaSyncPeriod", errs[2].Field)
	assert.PanicsWithValue(t, `cluster: invalid Config.Workloads: workloads.disableControllers[0]: Unsupported value: "x": supported values: "replicaset", "deployment", "horizontalpodautoscaling", "garbagecollector", "metrics-server"`,
		func() {
			cluster.New(cluster.Config{Workloads: cluster.WorkloadsConfig{DisableControllers: []string{"x"}}})
		})
}

func TestDisableControllers(t *testing.T) {
	c := cluster.New(cluster.Config{Seed: 1, Workloads: cluster.WorkloadsConfig{DisableControllers: []string{
		cluster.ControllerDeployment, cluster.ControllerHPA, cluster.ControllerGarbageCollector, cluster.ComponentMetricsServer}}})
	assert.NotNil(t, c.ReplicaSetController())
	assert.Nil(t, c.DeploymentController())
	assert.Nil(t, c.HPAController())
	assert.Nil(t, c.GarbageCollector())
	assert.Nil(t, c.MetricsServer())
	assert.EqualError(t, c.SetPodLoad("default", labels.Everything(), 1), "cannot set pod load: metrics-server is disabled (Config.Workloads.DisableControllers)")
	_, err := c.PodMetrics("default", labels.Everything())
	assert.Error(t, err)
}

// rpsByName is a LoadSource: requests/s by the pod's app label.
type rpsByName map[string]float64

func (r rpsByName) RPS(pod *v1.Pod) float64 { return r[pod.Labels["app"]] }

// TestLoadSourceAndSetPodLoad: the traffic model's LoadSource drives pod
// usage through metrics-server; SetPodLoad overrides it for the pods it
// selects; SetDeploymentLoad selects a Deployment's pods.
func TestLoadSourceAndSetPodLoad(t *testing.T) {
	c := cluster.New(cluster.Config{Seed: 1, DetectCacheMutations: true})
	c.SetLoadSource(rpsByName{"web": 3, "api": 7})
	require.NoError(t, simtest.AddNodes(c, simtest.Node("n1", "16", "64Gi", nil)))
	simtest.StartFakeKubelet(c, time.Second, time.Second)
	c.Start()
	cl := c.Client("test")
	for _, app := range []string{"web", "api"} {
		d := simtest.Deployment("default", app, 2, map[string]string{"app": app}, "img")
		d.Spec.Template.Annotations = map[string]string{metrics.CPUPerRequestAnnotation: "10m", metrics.IdleCPUAnnotation: "5m"}
		_, err := cl.AppsV1().Deployments("default").Create(context.TODO(), d, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	c.Engine.RunUntil(30 * time.Second)
	usage := func(app string) []int64 {
		m, err := c.PodMetrics("default", labels.SelectorFromSet(labels.Set{"app": app}))
		require.NoError(t, err)
		var out []int64
		for _, name := range metrics.SortedNames(m) {
			out = append(out, m[name].CPUMilli())
		}
		return out
	}
	assert.Equal(t, []int64{35, 35}, usage("web"), "5m idle + 3 req/s × 10m")
	assert.Equal(t, []int64{75, 75}, usage("api"))

	require.NoError(t, c.SetDeploymentLoad("default", "web", 10))
	c.Engine.RunUntil(45 * time.Second)
	assert.Equal(t, []int64{105, 105}, usage("web"), "SetPodLoad wins over the LoadSource")
	assert.Equal(t, []int64{75, 75}, usage("api"))

	c.SetLoadSource(rpsByName{"api": 1})
	c.Engine.RunUntil(60 * time.Second)
	assert.Equal(t, []int64{15, 15}, usage("api"), "a replaced LoadSource counts from the change")
	assert.EqualError(t, c.SetDeploymentLoad("default", "nope", 1), `cannot set deployment load: deployments.apps "nope" not found`)
	require.NoError(t, c.Informers.CheckMutations())
}

// runWorkloads drives the whole workload stack — a Deployment under an
// HPA with load, a rolling update, a scale, a foreground deletion — and
// returns the JSON-lines trace.
func runWorkloads(t *testing.T, seed uint64) []byte {
	c := cluster.New(cluster.Config{Seed: seed, DetectCacheMutations: true})
	var out []byte
	c.Engine.AddTraceSink(func(r sim.Record) { out = append(r.AppendJSON(out), '\n') })
	require.NoError(t, simtest.AddNodes(c, simtest.Node("n1", "8", "32Gi", nil), simtest.Node("n2", "8", "32Gi", nil)))
	k := simtest.StartFakeKubelet(c, 3*time.Second, 10*time.Second)
	rnd := c.Engine.Rand("test-jitter")
	k.ExtraStartDelay = func(*v1.Pod) time.Duration { return time.Duration(rnd.IntN(5000)) * time.Millisecond }
	c.Start()
	cl := c.Client("kubectl")
	d := simtest.Deployment("default", "web", 3, map[string]string{"app": "web"}, "v1")
	d.Spec.Template.Annotations = map[string]string{metrics.CPUPerRequestAnnotation: "10m"}
	d.Spec.Template.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}
	_, err := cl.AppsV1().Deployments("default").Create(context.TODO(), d, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, c.SetDeploymentLoad("default", "web", 12))
	_, err = cl.AutoscalingV2().HorizontalPodAutoscalers("default").Create(context.TODO(), &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    8,
		}}, metav1.CreateOptions{})
	require.NoError(t, err)
	c.Engine.RunUntil(3 * time.Minute)
	d, err = cl.AppsV1().Deployments("default").Get(context.TODO(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	d.Spec.Template.Spec.Containers[0].Image = "v2"
	_, err = cl.AppsV1().Deployments("default").Update(context.TODO(), d, metav1.UpdateOptions{})
	require.NoError(t, err)
	c.Engine.RunUntil(6 * time.Minute)
	require.NoError(t, c.SetDeploymentLoad("default", "web", 1))
	c.Engine.RunUntil(15 * time.Minute)
	fg := metav1.DeletePropagationForeground
	require.NoError(t, cl.AppsV1().Deployments("default").Delete(context.TODO(), "web", metav1.DeleteOptions{PropagationPolicy: &fg}))
	c.Engine.RunUntil(20 * time.Minute)
	require.NoError(t, c.Informers.CheckMutations())
	return out
}

func TestWorkloadsSameSeedSameTrace(t *testing.T) {
	a, b := runWorkloads(t, 5), runWorkloads(t, 5)
	require.Greater(t, len(a), 10000)
	assert.Equal(t, string(a), string(b))
	assert.NotEqual(t, string(a), string(runWorkloads(t, 6)))
	for _, want := range []string{`"horizontal-pod-autoscaler","verb":"scaled"`, `"deployment-controller","verb":"rolloutComplete"`,
		`"replicaset-controller","verb":"scaledDown"`, `"generic-garbage-collector","verb":"finalized"`} {
		assert.Contains(t, string(a), want)
	}
}

// BenchmarkWorkloadsHour runs one hour of cluster time: a 20-replica
// Deployment under an HPA with load changing every 10 minutes, a rolling
// update every 15 minutes.
func BenchmarkWorkloadsHour(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c := cluster.New(cluster.Config{Seed: uint64(i)})
		if err := simtest.AddNodes(c, simtest.Node("n1", "32", "128Gi", nil), simtest.Node("n2", "32", "128Gi", nil), simtest.Node("n3", "32", "128Gi", nil)); err != nil {
			b.Fatal(err)
		}
		simtest.StartFakeKubelet(c, 3*time.Second, 10*time.Second)
		c.Start()
		cl := c.Client("kubectl")
		d := simtest.Deployment("default", "web", 20, map[string]string{"app": "web"}, "v0")
		d.Spec.Template.Annotations = map[string]string{metrics.CPUPerRequestAnnotation: "10m"}
		d.Spec.Template.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}
		if _, err := cl.AppsV1().Deployments("default").Create(context.TODO(), d, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := cl.AutoscalingV2().HorizontalPodAutoscalers("default").Create(context.TODO(), &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MinReplicas:    ptrInt32(10), MaxReplicas: 60,
			}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		for m := 0; m < 60; m++ {
			at := time.Duration(m) * time.Minute
			m := m
			c.Engine.At(at, "bench", func() {
				if m%10 == 0 {
					_ = c.SetDeploymentLoad("default", "web", float64(2+(m/10)%3*6))
				}
				if m%15 == 14 {
					d, err := cl.AppsV1().Deployments("default").Get(context.TODO(), "web", metav1.GetOptions{})
					if err == nil {
						d.Spec.Template.Spec.Containers[0].Image = fmt.Sprintf("v%d", m)
						_, _ = cl.AppsV1().Deployments("default").Update(context.TODO(), d, metav1.UpdateOptions{})
					}
				}
			})
		}
		c.Engine.RunUntil(time.Hour)
	}
}

func ptrInt32(v int32) *int32 { return &v }

// TestTrafficDrivesHPA closes the loop: 100 req/s on a Service are spread
// over the serving pods, metrics-server turns each pod's share into CPU
// (10m per req/s), and the HPA (50% of a 200m request = 100m per pod)
// settles where 100 × 10m / 100m = 10 pods serve the load.
func TestTrafficDrivesHPA(t *testing.T) {
	c := cluster.New(cluster.Config{Seed: 3, DetectCacheMutations: true})
	require.NoError(t, simtest.AddNodes(c, simtest.Node("n1", "16", "64Gi", nil), simtest.Node("n2", "16", "64Gi", nil)))
	simtest.StartFakeRuntime(c, simtest.FakeRuntimeConfig{StartDelay: 2 * time.Second, StopDelay: 5 * time.Second})
	c.Start()
	cl := c.Client("kubectl")
	web := map[string]string{"app": "web"}
	_, err := cl.CoreV1().Services("default").Create(context.TODO(), &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: v1.ServiceSpec{Selector: web, Ports: []v1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	d := simtest.Deployment("default", "web", 2, web, "php-apache")
	d.Spec.Template.Annotations = map[string]string{metrics.CPUPerRequestAnnotation: "10m"}
	d.Spec.Template.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("200m")}
	_, err = cl.AppsV1().Deployments("default").Create(context.TODO(), d, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, c.SetServiceLoad("default", "web", 100, ""))
	c.Engine.RunUntil(time.Minute)
	m, err := c.PodMetrics("default", labels.SelectorFromSet(web))
	require.NoError(t, err)
	require.Len(t, m, 2)
	for _, name := range metrics.SortedNames(m) {
		assert.Equal(t, int64(500), m[name].CPUMilli(), "50 req/s × 10m on each of 2 pods")
	}

	_, err = cl.AutoscalingV2().HorizontalPodAutoscalers("default").Create(context.TODO(), &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptrInt32(2), MaxReplicas: 20,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: v1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptrInt32(50)}}}},
		}}, metav1.CreateOptions{})
	require.NoError(t, err)
	replicas := func() int32 {
		d, err := cl.AppsV1().Deployments("default").Get(context.TODO(), "web", metav1.GetOptions{})
		require.NoError(t, err)
		return *d.Spec.Replicas
	}
	var got []int32
	for at := 75 * time.Second; at <= 6*time.Minute; at += 15 * time.Second {
		c.Engine.RunUntil(at)
		if r := replicas(); len(got) == 0 || got[len(got)-1] != r {
			got = append(got, r)
		}
	}
	t.Logf("replica counts: %v", got)
	assert.Equal(t, int32(10), got[len(got)-1], "settles at 10 pods")
	prev := int32(2)
	for _, r := range got {
		assert.LessOrEqual(t, r, max(2*prev, 4), "never more than max(2×, 4) per sync")
		prev = r
	}
	h, err := cl.AutoscalingV2().HorizontalPodAutoscalers("default").Get(context.TODO(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(50), *h.Status.CurrentMetrics[0].Resource.Current.AverageUtilization)
	require.NoError(t, c.Informers.CheckMutations())
}
