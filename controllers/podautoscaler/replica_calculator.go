package podautoscaler

import (
	"fmt"
	"math"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/kubesim/kubesim/controllers/podutil"
)

// Defaults of kube-controller-manager's HPA flags.
const (
	// DefaultSyncPeriod is --horizontal-pod-autoscaler-sync-period.
	DefaultSyncPeriod = 15 * time.Second
	// DefaultTolerance is --horizontal-pod-autoscaler-tolerance.
	DefaultTolerance = 0.1
	// DefaultDownscaleStabilisationWindow is --horizontal-pod-autoscaler-downscale-stabilization.
	DefaultDownscaleStabilisationWindow = 5 * time.Minute
	// DefaultCPUInitializationPeriod is --horizontal-pod-autoscaler-cpu-initialization-period.
	DefaultCPUInitializationPeriod = 5 * time.Minute
	// DefaultDelayOfInitialReadinessStatus is --horizontal-pod-autoscaler-initial-readiness-delay.
	DefaultDelayOfInitialReadinessStatus = 30 * time.Second
)

// PodMetric is one pod's resource usage as the metrics API reports it.
type PodMetric struct {
	// Timestamp is when the sample was taken (end of its window).
	Timestamp time.Time
	// Window is the interval the usage is averaged over.
	Window time.Duration
	// Value is the usage in milli-units (millicores; memory in milli-bytes,
	// as upstream's MilliValue).
	Value int64
}

// PodMetricsInfo maps pod names to their metric.
type PodMetricsInfo map[string]PodMetric

// MetricsClient returns the resource metrics of the pods matching selector
// (summed over containers, or of one container if container is set), and
// the metrics' timestamp. Upstream's metrics client has the same shape.
type MetricsClient interface {
	GetResourceMetric(resource v1.ResourceName, namespace string, selector labels.Selector, container string) (PodMetricsInfo, time.Time, error)
}

// Tolerances are the dead band around ratio 1 inside which nothing changes.
type Tolerances struct {
	ScaleDown float64
	ScaleUp   float64
}

func (t Tolerances) isWithin(usageRatio float64) bool {
	return (1.0-t.ScaleDown) <= usageRatio && usageRatio <= (1.0+t.ScaleUp)
}

// ReplicaCalculator computes replica proposals from metrics.
type ReplicaCalculator struct {
	// Tolerance is the cluster-wide tolerance (0.1), applied in each
	// direction the HPA's behavior does not set its own.
	Tolerance float64
	// CPUInitializationPeriod: young pods' CPU samples are trusted only when Ready (5 min).
	CPUInitializationPeriod time.Duration
	// DelayOfInitialReadinessStatus: a pod that turned Ready=False within this of its start has never been ready (30 s).
	DelayOfInitialReadinessStatus time.Duration
}

// NewReplicaCalculator returns a calculator with upstream's defaults.
func NewReplicaCalculator() *ReplicaCalculator {
	return &ReplicaCalculator{Tolerance: DefaultTolerance, CPUInitializationPeriod: DefaultCPUInitializationPeriod, DelayOfInitialReadinessStatus: DefaultDelayOfInitialReadinessStatus}
}

// Tolerances returns the cluster-wide tolerance in both directions.
func (c *ReplicaCalculator) Tolerances() Tolerances { return Tolerances{c.Tolerance, c.Tolerance} }

// GetResourceReplicas proposes a replica count for a Utilization target
// (percent of request): ceil(ratio × ready pods) outside the tolerances,
// with missing and unready pods rebalanced as upstream. It returns the
// proposal, the current utilization (integer percent) and the raw average
// usage (milli-units per pod).
func (c *ReplicaCalculator) GetResourceReplicas(currentReplicas int32, targetUtilization int32, resource v1.ResourceName, tolerances Tolerances, metrics PodMetricsInfo, pods []*v1.Pod, container string, now time.Time) (replicaCount int32, utilization int32, rawUtilization int64, err error) {
	if len(pods) == 0 {
		return 0, 0, 0, fmt.Errorf("no pods returned by selector while calculating replica count")
	}
	metrics = copyMetrics(metrics)
	readyPodCount, unreadyPods, missingPods, ignoredPods := groupPods(pods, metrics, resource, c.CPUInitializationPeriod, c.DelayOfInitialReadinessStatus, now)
	removeMetricsForPods(metrics, ignoredPods)
	removeMetricsForPods(metrics, unreadyPods)
	if len(metrics) == 0 {
		return 0, 0, 0, fmt.Errorf("did not receive metrics for targeted pods (pods might be unready)")
	}

	requests, err := calculatePodRequests(pods, container, resource)
	if err != nil {
		return 0, 0, 0, err
	}

	usageRatio, utilization, rawUtilization, err := GetResourceUtilizationRatio(metrics, requests, targetUtilization)
	if err != nil {
		return 0, 0, 0, err
	}

	scaleUpWithUnready := len(unreadyPods) > 0 && usageRatio > 1.0
	if !scaleUpWithUnready && len(missingPods) == 0 {
		if tolerances.isWithin(usageRatio) {
			return currentReplicas, utilization, rawUtilization, nil
		}
		return int32(math.Ceil(usageRatio * float64(readyPodCount))), utilization, rawUtilization, nil
	}

	if len(missingPods) > 0 {
		if usageRatio < 1.0 {
			// Scale-down: missing pods count as using 100% of their
			// request, or the target when it is above 100%.
			fallbackUtilization := int64(max(100, targetUtilization))
			for podName := range missingPods {
				metrics[podName] = PodMetric{Value: requests[podName] * fallbackUtilization / 100}
			}
		} else if usageRatio > 1.0 {
			// Scale-up: missing pods count as using nothing.
			for podName := range missingPods {
				metrics[podName] = PodMetric{Value: 0}
			}
		}
	}
	if scaleUpWithUnready {
		// Scale-up: unready pods count as using nothing.
		for podName := range unreadyPods {
			metrics[podName] = PodMetric{Value: 0}
		}
	}

	newUsageRatio, _, _, err := GetResourceUtilizationRatio(metrics, requests, targetUtilization)
	if err != nil {
		return 0, utilization, rawUtilization, err
	}
	if tolerances.isWithin(newUsageRatio) || (usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0) {
		// Too small a change, or the rebalancing flipped the direction.
		return currentReplicas, utilization, rawUtilization, nil
	}
	newReplicas := int32(math.Ceil(newUsageRatio * float64(len(metrics))))
	if (newUsageRatio < 1.0 && newReplicas > currentReplicas) || (newUsageRatio > 1.0 && newReplicas < currentReplicas) {
		// The pod count would move against the ratio's direction.
		return currentReplicas, utilization, rawUtilization, nil
	}
	return newReplicas, utilization, rawUtilization, nil
}

// GetRawResourceReplicas proposes a replica count for an AverageValue
// target (milli-units per pod); it returns the proposal and the current
// average usage.
func (c *ReplicaCalculator) GetRawResourceReplicas(currentReplicas int32, targetUsage int64, resource v1.ResourceName, tolerances Tolerances, metrics PodMetricsInfo, pods []*v1.Pod, now time.Time) (replicaCount int32, usage int64, err error) {
	if len(pods) == 0 {
		return 0, 0, fmt.Errorf("no pods returned by selector while calculating replica count")
	}
	metrics = copyMetrics(metrics)
	readyPodCount, unreadyPods, missingPods, ignoredPods := groupPods(pods, metrics, resource, c.CPUInitializationPeriod, c.DelayOfInitialReadinessStatus, now)
	removeMetricsForPods(metrics, ignoredPods)
	removeMetricsForPods(metrics, unreadyPods)
	if len(metrics) == 0 {
		return 0, 0, fmt.Errorf("did not receive metrics for targeted pods (pods might be unready)")
	}

	usageRatio, usage := GetMetricUsageRatio(metrics, targetUsage)
	scaleUpWithUnready := len(unreadyPods) > 0 && usageRatio > 1.0
	if !scaleUpWithUnready && len(missingPods) == 0 {
		if tolerances.isWithin(usageRatio) {
			return currentReplicas, usage, nil
		}
		return int32(math.Ceil(usageRatio * float64(readyPodCount))), usage, nil
	}

	if len(missingPods) > 0 {
		if usageRatio < 1.0 {
			// Scale-down: missing pods count as using exactly the target.
			for podName := range missingPods {
				metrics[podName] = PodMetric{Value: targetUsage}
			}
		} else if usageRatio > 1.0 {
			// Scale-up: missing pods count as using nothing.
			for podName := range missingPods {
				metrics[podName] = PodMetric{Value: 0}
			}
		}
	}
	if scaleUpWithUnready {
		for podName := range unreadyPods {
			metrics[podName] = PodMetric{Value: 0}
		}
	}

	newUsageRatio, _ := GetMetricUsageRatio(metrics, targetUsage)
	if tolerances.isWithin(newUsageRatio) || (usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0) {
		return currentReplicas, usage, nil
	}
	newReplicas := int32(math.Ceil(newUsageRatio * float64(len(metrics))))
	if (newUsageRatio < 1.0 && newReplicas > currentReplicas) || (newUsageRatio > 1.0 && newReplicas < currentReplicas) {
		return currentReplicas, usage, nil
	}
	return newReplicas, usage, nil
}

// groupPods sorts pods into ready (counted), unready (Pending; for CPU also
// not-yet-trustworthy samples), missing (no metric) and ignored (being
// deleted or Failed).
func groupPods(pods []*v1.Pod, metrics PodMetricsInfo, resource v1.ResourceName, cpuInitializationPeriod, delayOfInitialReadinessStatus time.Duration, now time.Time) (readyPodCount int, unreadyPods, missingPods, ignoredPods sets.Set[string]) {
	missingPods = sets.New[string]()
	unreadyPods = sets.New[string]()
	ignoredPods = sets.New[string]()
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == v1.PodFailed {
			ignoredPods.Insert(pod.Name)
			continue
		}
		if pod.Status.Phase == v1.PodPending {
			unreadyPods.Insert(pod.Name)
			continue
		}
		metric, found := metrics[pod.Name]
		if !found {
			missingPods.Insert(pod.Name)
			continue
		}
		if resource == v1.ResourceCPU {
			var unready bool
			_, condition := podutil.GetPodCondition(&pod.Status, v1.PodReady)
			if condition == nil || pod.Status.StartTime == nil {
				unready = true
			} else if pod.Status.StartTime.Add(cpuInitializationPeriod).After(now) {
				// Still initializing: trust the sample only if Ready and a
				// full metric window has passed since the last transition.
				unready = condition.Status == v1.ConditionFalse || metric.Timestamp.Before(condition.LastTransitionTime.Time.Add(metric.Window))
			} else {
				// Past initialization: ignore pods that never became ready.
				unready = condition.Status == v1.ConditionFalse && pod.Status.StartTime.Add(delayOfInitialReadinessStatus).After(condition.LastTransitionTime.Time)
			}
			if unready {
				unreadyPods.Insert(pod.Name)
				continue
			}
		}
		readyPodCount++
	}
	return readyPodCount, unreadyPods, missingPods, ignoredPods
}

// calculatePodRequests returns each pod's request of resource in
// milli-units (upstream calculateRequests, v1.34+ with PodLevelResources on
// by default): a named container's request; otherwise the pod-level
// request when spec.resources sets requests (resource.PodRequests, pod
// overhead excluded); otherwise the sum over the containers and sidecars.
// A container without the request, or a pod without the named container,
// is an error.
func calculatePodRequests(pods []*v1.Pod, container string, resource v1.ResourceName) (map[string]int64, error) {
	requests := make(map[string]int64, len(pods))
	for _, pod := range pods {
		var request int64
		var err error
		if container == "" && resourcehelper.IsPodLevelRequestsSet(pod) {
			request, err = calculatePodLevelRequests(pod, resource)
		} else {
			request, err = calculatePodRequestsFromContainers(pod, container, resource)
		}
		if err != nil {
			return nil, err
		}
		requests[pod.Name] = request
	}
	return requests, nil
}

// calculatePodLevelRequests is the pod's effective request of resource
// with pod-level resources, overhead excluded.
func calculatePodLevelRequests(pod *v1.Pod, resource v1.ResourceName) (int64, error) {
	q, ok := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{ExcludeOverhead: true})[resource]
	if !ok {
		return 0, fmt.Errorf("missing pod-level request for %s in Pod %s", resource, pod.Name)
	}
	return q.MilliValue(), nil
}

// calculatePodRequestsFromContainers sums the requests of the containers
// and restartable init containers, or returns the named container's.
func calculatePodRequestsFromContainers(pod *v1.Pod, container string, resource v1.ResourceName) (int64, error) {
	var request int64
	for pass, list := range [2][]v1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			c := &list[i]
			if pass == 1 && (c.RestartPolicy == nil || *c.RestartPolicy != v1.ContainerRestartPolicyAlways) {
				continue // only sidecars among the init containers
			}
			if container != "" && container != c.Name {
				continue
			}
			containerRequest, ok := c.Resources.Requests[resource]
			if !ok {
				return 0, fmt.Errorf("missing request for %s in container %s of Pod %s", resource, c.Name, pod.Name)
			}
			request += containerRequest.MilliValue()
			if container != "" {
				// Container names are unique in a pod.
				return request, nil
			}
		}
	}
	if container != "" {
		return 0, fmt.Errorf("container %s not found in Pod %s", container, pod.Name)
	}
	return request, nil
}

func removeMetricsForPods(metrics PodMetricsInfo, pods sets.Set[string]) {
	for _, pod := range sets.List(pods) {
		delete(metrics, pod)
	}
}

func copyMetrics(m PodMetricsInfo) PodMetricsInfo {
	out := make(PodMetricsInfo, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// GetResourceUtilizationRatio is upstream's metrics/utilization.go:
// utilization = floor(Σ usage × 100 / Σ request) over pods having both, as
// an integer percent; ratio = utilization / target; raw = Σ usage / pods.
func GetResourceUtilizationRatio(metrics PodMetricsInfo, requests map[string]int64, targetUtilization int32) (utilizationRatio float64, currentUtilization int32, rawAverageValue int64, err error) {
	metricsTotal := int64(0)
	requestsTotal := int64(0)
	numEntries := 0
	for _, podName := range sortedNames(metrics) {
		request, hasRequest := requests[podName]
		if !hasRequest {
			// Missing requests are checked elsewhere: an extraneous metric.
			continue
		}
		metricsTotal += metrics[podName].Value
		requestsTotal += request
		numEntries++
	}
	if requestsTotal == 0 {
		return 0, 0, 0, fmt.Errorf("no metrics returned matched known pods")
	}
	currentUtilization = int32((metricsTotal * 100) / requestsTotal)
	return float64(currentUtilization) / float64(targetUtilization), currentUtilization, metricsTotal / int64(numEntries), nil
}

// GetMetricUsageRatio returns (average usage / target, average usage), the
// average an integer division.
func GetMetricUsageRatio(metrics PodMetricsInfo, targetUsage int64) (usageRatio float64, currentUsage int64) {
	metricsTotal := int64(0)
	for _, metric := range metrics {
		metricsTotal += metric.Value
	}
	currentUsage = metricsTotal / int64(len(metrics))
	return float64(currentUsage) / float64(targetUsage), currentUsage
}

func sortedNames(m PodMetricsInfo) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
