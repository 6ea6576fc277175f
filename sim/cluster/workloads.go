package cluster

// This file is owned by the workload-controllers work: ReplicaSet,
// Deployment, HorizontalPodAutoscaler, garbage collector and the metrics
// pipeline.

import (
	"context"
	"fmt"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubesim/kubesim/controllers/deployment"
	"github.com/kubesim/kubesim/controllers/garbagecollector"
	"github.com/kubesim/kubesim/controllers/podautoscaler"
	"github.com/kubesim/kubesim/controllers/replicaset"
	"github.com/kubesim/kubesim/sim/metrics"
)

// Names of the workload components, for WorkloadsConfig.DisableControllers
// (the first four are kube-controller-manager's --controllers names).
const (
	ControllerReplicaSet       = "replicaset"
	ControllerDeployment       = "deployment"
	ControllerHPA              = "horizontalpodautoscaling"
	ControllerGarbageCollector = "garbagecollector"
	ComponentMetricsServer     = "metrics-server"
	workloadsConfigPath        = "workloads"
)

var workloadComponents = []string{ControllerReplicaSet, ControllerDeployment, ControllerHPA, ControllerGarbageCollector, ComponentMetricsServer}

// WorkloadsConfig configures the workload controllers and metrics-server.
// Zero values mean the upstream defaults (kube-controller-manager flags in
// brackets).
type WorkloadsConfig struct {
	// DisableControllers names components not to run: "replicaset",
	// "deployment", "horizontalpodautoscaling", "garbagecollector",
	// "metrics-server" (like --controllers=-name).
	DisableControllers []string
	// ReplicaSetBurstReplicas caps the pod creations or deletions of one
	// ReplicaSet sync (500; a constant upstream).
	ReplicaSetBurstReplicas int
	// HPASyncPeriod [--horizontal-pod-autoscaler-sync-period, 15s].
	HPASyncPeriod time.Duration
	// HPATolerance [--horizontal-pod-autoscaler-tolerance, 0.1].
	HPATolerance float64
	// HPADownscaleStabilization [--horizontal-pod-autoscaler-downscale-stabilization, 5m].
	HPADownscaleStabilization time.Duration
	// HPACPUInitializationPeriod [--horizontal-pod-autoscaler-cpu-initialization-period, 5m].
	HPACPUInitializationPeriod time.Duration
	// HPAInitialReadinessDelay [--horizontal-pod-autoscaler-initial-readiness-delay, 30s].
	HPAInitialReadinessDelay time.Duration
}

// Validate reports bad values with their field paths.
func (cfg WorkloadsConfig) Validate() field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath(workloadsConfigPath)
	for i, name := range cfg.DisableControllers {
		if !slices.Contains(workloadComponents, name) {
			errs = append(errs, field.NotSupported(p.Child("disableControllers").Index(i), name, workloadComponents))
		}
	}
	if cfg.ReplicaSetBurstReplicas < 0 {
		errs = append(errs, field.Invalid(p.Child("replicaSetBurstReplicas"), cfg.ReplicaSetBurstReplicas, "must not be negative"))
	}
	if cfg.HPATolerance < 0 {
		errs = append(errs, field.Invalid(p.Child("hpaTolerance"), cfg.HPATolerance, "must not be negative"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"hpaSyncPeriod", cfg.HPASyncPeriod},
		{"hpaDownscaleStabilization", cfg.HPADownscaleStabilization},
		{"hpaCPUInitializationPeriod", cfg.HPACPUInitializationPeriod},
		{"hpaInitialReadinessDelay", cfg.HPAInitialReadinessDelay},
	} {
		if d.v < 0 {
			errs = append(errs, field.Invalid(p.Child(d.name), d.v.String(), "must not be negative"))
		}
	}
	return errs
}

func (cfg WorkloadsConfig) enabled(name string) bool {
	return !slices.Contains(cfg.DisableControllers, name)
}

// workloadsState holds the workload components (nil when disabled).
type workloadsState struct {
	replicaSetController *replicaset.Controller
	deploymentController *deployment.Controller
	hpaController        *podautoscaler.Controller
	garbageCollector     *garbagecollector.GarbageCollector
	metricsServer        *metrics.Server
	// loadSource feeds metrics-server: the traffic model
	// (TrafficLoadSource) unless SetLoadSource replaced it.
	loadSource metrics.LoadSource
}

// installWorkloads creates metrics-server and the ReplicaSet, Deployment,
// HPA and garbage-collector controllers, in that order (which fixes the
// order their handlers see each informer event).
func (c *Cluster) installWorkloads() {
	cfg := c.cfg.Workloads
	if errs := cfg.Validate(); len(errs) > 0 {
		panic(fmt.Sprintf("cluster: invalid Config.Workloads: %v", errs.ToAggregate()))
	}
	f := c.Informers
	w := &c.workloadsState
	if cfg.enabled(ComponentMetricsServer) {
		// The traffic model feeds metrics-server unless a LoadSource was
		// set before (SetLoadSource); its rate changes close the current
		// integration segment first.
		if w.loadSource == nil {
			w.loadSource = c.TrafficLoadSource()
		}
		pods := f.Pods().Lister()
		w.metricsServer = metrics.New(c.Engine, func() []*v1.Pod {
			list, _ := pods.List(labels.Everything())
			return list
		}, w.loadSource)
		c.OnTrafficLoadChanging(w.metricsServer.LoadChanged)
	}
	if cfg.enabled(ControllerReplicaSet) {
		w.replicaSetController = replicaset.NewController(c.Engine, f, c.Client(replicaset.ComponentName),
			c.Recorder(replicaset.ComponentName, ""), cfg.ReplicaSetBurstReplicas)
	}
	if cfg.enabled(ControllerDeployment) {
		w.deploymentController = deployment.NewController(c.Engine, f, c.Client(deployment.ComponentName), c.Recorder(deployment.ComponentName, ""))
	}
	if cfg.enabled(ControllerHPA) {
		w.hpaController = podautoscaler.NewController(c.Engine, f, c.Client(podautoscaler.ComponentName),
			c.Recorder(podautoscaler.ComponentName, ""), metricsClient{w.metricsServer}, podautoscaler.Config{
				SyncPeriod:              cfg.HPASyncPeriod,
				Tolerance:               cfg.HPATolerance,
				DownscaleStabilization:  cfg.HPADownscaleStabilization,
				CPUInitializationPeriod: cfg.HPACPUInitializationPeriod,
				InitialReadinessDelay:   cfg.HPAInitialReadinessDelay,
			})
	}
	if cfg.enabled(ControllerGarbageCollector) {
		w.garbageCollector = garbagecollector.New(c.Engine, f, c.Client(garbagecollector.ComponentName),
			c.Recorder(garbagecollector.EventSource, ""))
	}
}

// ReplicaSetController is the ReplicaSet controller (nil if disabled).
func (c *Cluster) ReplicaSetController() *replicaset.Controller { return c.replicaSetController }

// DeploymentController is the Deployment controller (nil if disabled).
func (c *Cluster) DeploymentController() *deployment.Controller { return c.deploymentController }

// HPAController is the HorizontalPodAutoscaler controller (nil if disabled).
func (c *Cluster) HPAController() *podautoscaler.Controller { return c.hpaController }

// GarbageCollector is the garbage collector (nil if disabled).
func (c *Cluster) GarbageCollector() *garbagecollector.GarbageCollector { return c.garbageCollector }

// MetricsServer is the metrics-server model (nil if disabled).
func (c *Cluster) MetricsServer() *metrics.Server { return c.metricsServer }

// SetLoadSource replaces what feeds metrics-server (by default the traffic
// model's TrafficLoadSource, connected in installWorkloads): src gives the
// requests per second each pod serves. Rates set with SetPodLoad still win
// for the pods they match. A source whose rates change must have
// LoadChanged called just before each change.
func (c *Cluster) SetLoadSource(src metrics.LoadSource) {
	c.loadSource = src
	if c.metricsServer != nil {
		c.metricsServer.SetLoadSource(src)
	}
}

// LoadChanged tells metrics-server that the LoadSource's rates are about
// to change, so usage up to now is integrated at the old rates.
func (c *Cluster) LoadChanged() {
	if c.metricsServer != nil {
		c.metricsServer.LoadChanged()
	}
}

// SetPodLoad makes every pod in namespace matching selector serve
// rpsPerPod requests per second from now on (the load model turns it into
// CPU and memory through the pods' kubesim.dev/ annotations).
func (c *Cluster) SetPodLoad(namespace string, selector labels.Selector, rpsPerPod float64) error {
	if c.metricsServer == nil {
		return fmt.Errorf("cannot set pod load: metrics-server is disabled (Config.Workloads.DisableControllers)")
	}
	if rpsPerPod < 0 {
		return fmt.Errorf("cannot set pod load: rpsPerPod %v must not be negative", rpsPerPod)
	}
	c.metricsServer.SetPodLoad(namespace, selector, rpsPerPod)
	return nil
}

// SetDeploymentLoad is SetPodLoad for the pods selected by a Deployment.
func (c *Cluster) SetDeploymentLoad(namespace, name string, rpsPerPod float64) error {
	d, err := c.Client("kubesim").AppsV1().Deployments(namespace).Get(context.TODO(), name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("cannot set deployment load: %w", err)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return fmt.Errorf("cannot set deployment load: deployment %s/%s: spec.selector: %w", namespace, name, err)
	}
	return c.SetPodLoad(namespace, sel, rpsPerPod)
}

// PodMetrics returns metrics-server's latest samples of the pods in
// namespace matching selector, by pod name (kubectl top pods).
func (c *Cluster) PodMetrics(namespace string, selector labels.Selector) (map[string]metrics.PodMetric, error) {
	if c.metricsServer == nil {
		return nil, fmt.Errorf("metrics API not available: metrics-server is disabled")
	}
	return c.metricsServer.PodMetrics(namespace, selector), nil
}

// metricsClient is the HPA's resource-metrics client over metrics-server
// (upstream's resourceMetricsClient over metrics.k8s.io).
type metricsClient struct{ server *metrics.Server }

// GetResourceMetric implements podautoscaler.MetricsClient: per pod, the
// sum over its containers (or the one named container) in milli-units; a
// pod without a sample, or without the named container, is absent.
func (m metricsClient) GetResourceMetric(resource v1.ResourceName, namespace string, selector labels.Selector, container string) (podautoscaler.PodMetricsInfo, time.Time, error) {
	if m.server == nil {
		return nil, time.Time{}, fmt.Errorf("unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)")
	}
	samples := m.server.PodMetrics(namespace, selector)
	if len(samples) == 0 {
		return nil, time.Time{}, fmt.Errorf("no metrics returned from resource metrics API")
	}
	names := metrics.SortedNames(samples)
	res := podautoscaler.PodMetricsInfo{}
	for _, name := range names {
		pm := samples[name]
		var sum int64
		found := false
		for _, cm := range pm.Containers {
			if container != "" && cm.Name != container {
				continue
			}
			switch resource {
			case v1.ResourceCPU:
				sum += cm.CPUMilli
			case v1.ResourceMemory:
				sum += cm.MemoryBytes * 1000
			default:
				continue
			}
			found = true
		}
		if found {
			res[name] = podautoscaler.PodMetric{Timestamp: pm.Timestamp, Window: pm.Window, Value: sum}
		}
	}
	return res, samples[names[0]].Timestamp, nil
}
