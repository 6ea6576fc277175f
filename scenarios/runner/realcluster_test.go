// Tests of the runner's actions and faults on the whole cluster (kubelets,
// node controllers, workload controllers, network).

package runner_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/runner"
)

// runOK runs a scenario written in the test and fails with every failed
// expectation and run error.
func runOK(t *testing.T, doc string) *runner.Run {
	t.Helper()
	sc, err := scenarios.LoadBytes("test.yaml", []byte(strings.TrimLeft(doc, "\n")), ".", scenarios.WithValidator(runner.Validator()))
	require.NoError(t, err)
	r, err := runner.New(sc, runner.Options{DetectCacheMutations: true})
	require.NoError(t, err)
	requireOK(t, r.Finish())
	require.NoError(t, r.Cluster().Informers.CheckMutations())
	return r
}

func requireOK(t *testing.T, res *runner.Result) {
	t.Helper()
	var problems []string
	for _, e := range res.Expectations {
		if e.Status != scenarios.Passed {
			problems = append(problems, e.Status.String()+" "+e.Expectation.String()+": observed "+e.Observed)
		}
	}
	for _, e := range res.Errors {
		problems = append(problems, "error "+e.String())
	}
	require.Empty(t, problems, "%s (seed %d)", res.Scenario, res.Seed)
}

func TestNodeFaultsOnTheWholeCluster(t *testing.T) {
	runOK(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 20m
  cluster:
    nodes:
    - {name: a, count: 3, zone: zone-a, capacity: {cpu: "4", memory: 8Gi}}
    - {name: b, zone: zone-b, capacity: {cpu: "4", memory: 8Gi}}
  objects:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 4, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: i, resources: {requests: {cpu: 100m}}}]}}}}
  events:
  - {at: 10s, action: cordon, node: a-1}
  - {at: 30s, action: uncordon, node: a-1}
  - {at: 1m, action: crashNode, node: a-2}
  - {at: 3m, action: recoverNode, node: a-2}
  - {at: 4m, action: partitionNode, node: a-3}
  - {at: 5m30s, action: recoverNode, node: a-3}
  - {at: 6m, action: addNode, group: {name: c, zone: zone-c, capacity: {cpu: "2", memory: 4Gi}}}
  - {at: 7m, action: deleteNode, node: c}
  - {at: 8m, action: drain, node: a-1}
  - {at: 10m, action: failZone, zone: zone-b}
  - {at: 12m, action: recoverZone, zone: zone-b}
  expect:
  - {at: 20s, get: node/a-1, jsonpath: '{.spec.unschedulable}', equals: "true"}
  - {at: 40s, get: node/a-1, jsonpath: '{.spec.unschedulable}', equals: ""}
  - {within: 2m10s, get: node/a-2, jsonpath: '{.status.conditions[?(@.type=="Ready")].status}', equals: Unknown}
  - {at: 3m30s, get: node/a-2, jsonpath: '{.status.conditions[?(@.type=="Ready")].status}', equals: "True"}
  - {within: 5m10s, get: node/a-3, jsonpath: '{.status.conditions[?(@.type=="Ready")].status}', equals: Unknown}
  - {at: 6m, get: node/a-3, jsonpath: '{.status.conditions[?(@.type=="Ready")].status}', equals: "True"}
  - {at: 6m10s, get: node/c, jsonpath: '{.status.conditions[?(@.type=="Ready")].status}', equals: "True"}
  - {at: 7m10s, count: nodes, fieldSelector: metadata.name=c, equals: 0}
  - {at: 8m, get: node/a-1, jsonpath: '{.spec.unschedulable}', equals: "true"}
  - {at: 9m, count: pods, fieldSelector: spec.nodeName=a-1, equals: 0}
  - {within: 11m10s, get: node/b, jsonpath: '{.status.conditions[?(@.type=="Ready")].status}', equals: Unknown}
  - {at: 13m, get: node/b, jsonpath: '{.status.conditions[?(@.type=="Ready")].status}', equals: "True"}
  - {at: 20m, get: deployment/web, jsonpath: '{.status.readyReplicas}', equals: "4"}
`)
}

func TestKillPodRestartsInPlace(t *testing.T) {
	r := runOK(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 3m
  cluster:
    nodes: [{name: w, count: 2, capacity: {cpu: "4", memory: 8Gi}}]
  objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: solo}, spec: {containers: [{name: a, image: i}, {name: b, image: i}]}}
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 3, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: i}]}}}}
  events:
  - {at: 1m, action: killPod, target: pod/solo, container: b}
  - {at: 1m, action: killPod, target: deployment/web}
  expect:
  - {at: 1m30s, get: pod/solo, jsonpath: '{.status.containerStatuses[?(@.name=="b")].restartCount}', equals: "1"}
  - {at: 1m30s, get: pod/solo, jsonpath: '{.status.containerStatuses[?(@.name=="a")].restartCount}', equals: "0"}
  - {at: 1m30s, count: pods, labelSelector: app=web, equals: 3}
`)
	res, _ := r.Cluster().API.Resource("pods")
	objs, _, err := r.Cluster().API.List(res, "default", metav1.ListOptions{LabelSelector: "app=web"})
	require.NoError(t, err)
	restarts := int32(0)
	for _, o := range objs {
		for _, cs := range o.(*v1.Pod).Status.ContainerStatuses {
			restarts += cs.RestartCount
		}
	}
	assert.Equal(t, int32(1), restarts, "exactly one pod of the workload was killed, and restarted in place")
}

// TestSetPodLoadDrivesTheHPA: setPodLoad drives the load model the HPA reads
// (setLoad is covered without the tag, on the fake runtime).
func TestSetPodLoadDrivesTheHPA(t *testing.T) {
	runOK(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 5m
  cluster:
    nodes: [{name: w, count: 3, capacity: {cpu: "8", memory: 16Gi}}]
  objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: worker}
    spec:
      replicas: 1
      selector: {matchLabels: {app: worker}}
      template:
        metadata: {labels: {app: worker}, annotations: {kubesim.dev/cpu-per-request: 10m}}
        spec: {containers: [{name: w, image: i, resources: {requests: {cpu: 100m}}}]}
  - {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: worker}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: worker}, minReplicas: 1, maxReplicas: 5, metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]}}
  events:
  # 20 rps per pod at 10m CPU each: 200m, 200% of the request, whatever
  # the number of pods: the HPA goes to its maximum.
  - {at: 30s, action: setPodLoad, target: deployment/worker, rps: 20}
  expect:
  - {within: 4m, get: deployment/worker, jsonpath: '{.spec.replicas}', equals: "5"}
`)
}

// A scenario of more nodes than the default pod range holds (256 /24
// blocks of 10.244.0.0/16) gets the larger range 10.128.0.0/9: every node,
// added ones included, registers with a pod CIDR, becomes Ready and runs
// pods.
func TestLargeScenarioGetsALargerPodRange(t *testing.T) {
	r := runOK(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  cluster:
    nodes: [{name: w, count: 200, capacity: {cpu: "2", memory: 4Gi}}]
  objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 300
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: nginx, resources: {requests: {cpu: "1500m"}}}]}
  events:
  - {at: 30s, action: addNode, group: {name: extra, count: 100, capacity: {cpu: "2", memory: 4Gi}}}
  expect:
  - within: 2m
    count: nodes
    equals: 300
  - within: 2m
    get: deployment/web
    jsonpath: '{.status.readyReplicas}'
    equals: "300"
`)
	nodes, err := r.Cluster().Client("test").CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, nodes.Items, 300)
	cidrs := map[string]bool{}
	for _, n := range nodes.Items {
		assert.True(t, strings.HasPrefix(n.Spec.PodCIDR, "10."), n.Name)
		cidrs[n.Spec.PodCIDR] = true
	}
	assert.Len(t, cidrs, 300, "one block per node")
	n, err := r.Cluster().Client("test").CoreV1().Nodes().Get(t.Context(), "extra-100", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "10.129.43.0/24", n.Spec.PodCIDR, "the 300th block of 10.128.0.0/9")
	pods, err := r.Cluster().Client("test").CoreV1().Pods("default").List(t.Context(), metav1.ListOptions{FieldSelector: "spec.nodeName=extra-100"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 1, "the last node runs a pod (1.5 CPU each, one per node)")
	assert.True(t, strings.HasPrefix(pods.Items[0].Status.PodIP, "10.129.43."), pods.Items[0].Status.PodIP)
}

// TestExplainTellsWhyAPodStaysTerminating: a pod evicted from a dead node
// stays Terminating; explain says since when, who deleted it and why (its
// DisruptionTarget condition), and that its node cannot confirm.
func TestExplainTellsWhyAPodStaysTerminating(t *testing.T) {
	sc, err := scenarios.LoadBytes("test.yaml", []byte(`apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  cluster:
    nodes:
    - {name: w, count: 2, capacity: {cpu: "2", memory: 4Gi}}
  objects:
  - apiVersion: v1
    kind: Pod
    metadata: {name: p}
    spec:
      nodeName: w-1
      tolerations: [{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 10}]
      containers: [{name: c, image: nginx}]
  events:
  - {at: 10s, action: crashNode, node: w-1}
  - {at: 1m30s, action: deleteNode, node: w-1}
`), ".", scenarios.WithValidator(runner.Validator()))
	require.NoError(t, err)
	r, err := runner.New(sc, runner.Options{})
	require.NoError(t, err)
	r.AdvanceTo(80 * time.Second)
	text, err := r.Explain("default", "p")
	require.NoError(t, err)
	// The crash at 10s comes before the first Lease renewal: the last
	// heartbeat was seen at 5s, so Unknown at 55s, NoExecute at 1m, deleted
	// 10 s later with the default 30 s grace period.
	assert.Contains(t, text, "phase Running, on node w-1, Terminating since 0:01:10.000 (grace period 30s), PodScheduled=True, Ready=False, "+
		"DisruptionTarget=True (DeletionByTaintManager): Taint manager: deleting due to NoExecute taint\n")
	assert.Contains(t, text, "  node w-1 is Ready=Unknown (NodeStatusUnknown): no kubelet confirms that the pod stopped, "+
		"so it stays Terminating until the node is back, the Node is deleted or the pod is force-deleted\n")

	// Once the Node is deleted, the pod garbage collector removes the pod
	// after its 40 s quarantine.
	r.Finish()
	text, err = r.Explain("default", "p")
	require.NoError(t, err)
	assert.Contains(t, text, "  node w-1 no longer exists: the pod garbage collector removes the pod (after a 40 s quarantine)\n")
}

// TestExplainTellsWhyARunningPodIsNotReady: a pod on a node that stopped
// reporting is Ready=False although its phase stays Running; explain names
// the node's state and, while the taint eviction countdown runs, when the
// pod is to be deleted; a pod on a deleted Node is removed by the pod
// garbage collector.
func TestExplainTellsWhyARunningPodIsNotReady(t *testing.T) {
	sc, err := scenarios.LoadBytes("test.yaml", []byte(`apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 5m
  cluster:
    nodes:
    - {name: w, count: 2, capacity: {cpu: "2", memory: 4Gi}}
  objects:
  - apiVersion: v1
    kind: Pod
    metadata: {name: p}
    spec:
      nodeName: w-1
      containers: [{name: c, image: nginx}]
  events:
  - {at: 10s, action: crashNode, node: w-1}
  - {at: 2m, action: deleteNode, node: w-1}
`), ".", scenarios.WithValidator(runner.Validator()))
	require.NoError(t, err)
	r, err := runner.New(sc, runner.Options{})
	require.NoError(t, err)
	// Last heartbeat at 5s: Unknown at 55s, NoExecute at 1m, the default
	// 300 s toleration ends at 6m.
	r.AdvanceTo(90 * time.Second)
	text, err := r.Explain("default", "p")
	require.NoError(t, err)
	assert.Contains(t, text, "  phase Running, on node w-1, PodScheduled=True, Ready=False\n")
	assert.Contains(t, text, "  node w-1 is Ready=Unknown (NodeStatusUnknown): the node lifecycle controller marked the pod not ready; "+
		"the taint eviction controller deletes it at 0:06:00.000 (tolerationSeconds 300 for node.kubernetes.io/unreachable:NoExecute)\n")

	r.AdvanceTo(130 * time.Second)
	text, err = r.Explain("default", "p")
	require.NoError(t, err)
	assert.Contains(t, text, "  node w-1 no longer exists: the pod garbage collector marks the pod Failed and deletes it (after a 40 s quarantine)\n")
}

// TestSummaryNamesThePodsADrainStillWaitsFor: a budget that allows no
// disruption blocks a drain for ever (kubectl drain retries every 5 s); the
// summary says which pods it still retries.
func TestSummaryNamesThePodsADrainStillWaitsFor(t *testing.T) {
	r := runOK(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  cluster:
    nodes:
    - {name: w, count: 2, capacity: {cpu: "2", memory: 4Gi}}
  objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: db, labels: {app: db}}, spec: {nodeName: w-1, containers: [{name: c, image: postgres}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: other}, spec: {nodeName: w-2, containers: [{name: c, image: nginx}]}}
  - {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: db}, spec: {maxUnavailable: 0, selector: {matchLabels: {app: db}}}}
  events:
  - {at: 1m, action: drain, node: w-1}
`)
	res := r.Finish()
	var waiting []string
	for _, n := range res.Summary.Nodes {
		waiting = append(waiting, n.Name+": "+strings.Join(n.DrainWaiting, ","))
	}
	assert.Equal(t, []string{"w-1: default/db", "w-2: "}, waiting)
}

// TestKillPodOfAPodOnADeadNodeIsOnlyAnError: killPod of a named pod whose
// node is down fails with the reason, and the timeline does not first
// announce a kill that never happens.
func TestKillPodOfAPodOnADeadNodeIsOnlyAnError(t *testing.T) {
	sc, err := scenarios.LoadBytes("test.yaml", []byte(`apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes:
    - {name: w, count: 2, capacity: {cpu: "2", memory: 4Gi}}
  objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {nodeName: w-1, containers: [{name: c, image: nginx}]}}
  events:
  - {at: 10s, action: crashNode, node: w-1}
  - {at: 20s, action: killPod, target: pod/p}
`), ".", scenarios.WithValidator(runner.Validator()))
	require.NoError(t, err)
	var story []string
	r, err := runner.New(sc, runner.Options{Story: func(e runner.Entry) { story = append(story, e.Verb+" "+e.Object+" "+e.Message) }})
	require.NoError(t, err)
	res := r.Finish()
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "test.yaml:12: at 20s: killPod pod/p: pod/p cannot be killed: its node w-1 is crashed", res.Errors[0].String())
	for _, line := range story {
		assert.NotContains(t, line, "killing container", "no kill is announced")
	}
}

// TestMetricLabelsAreWhatTheClusterExports: the labels and fixed label
// values metric expectations are checked against (scenarios.MetricLabels,
// MetricLabelValues) are those of the series the cluster exports.
func TestMetricLabelsAreWhatTheClusterExports(t *testing.T) {
	r := runOK(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 3m
  cluster:
    nodes: [{name: w, count: 2, capacity: {cpu: "8", memory: 16Gi}}]
  objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}, annotations: {kubesim.dev/not-ready-between: 1m-2m}}
        spec: {containers: [{name: web, image: i, readinessProbe: {httpGet: {path: /, port: 80}}}]}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
  events:
  - {at: 30s, action: setLoad, service: web, rps: 100}
  - {at: 1m30s, action: crashNode, node: w-1}
  expect:
  - {at: 3m, metric: 'kubesim_requests_total{outcome="failed"}', atLeast: 1}
  - {at: 1m30s, metric: 'kubesim_endpoints{ready="false"}', atLeast: 1}
`)
	seen := map[string]bool{}
	for _, name := range scenarios.MetricNames {
		for _, s := range r.Cluster().Metrics().SamplesNamed(name) {
			seen[name] = true
			var labels []string
			for _, l := range s.Labels {
				labels = append(labels, l.Name)
				if values, fixed := scenarios.MetricLabelValues[l.Name]; fixed {
					assert.Contains(t, values, l.Value, "%s{%s}", name, l.Name)
				}
			}
			assert.ElementsMatch(t, scenarios.MetricLabels[name], labels, name)
		}
	}
	assert.Len(t, seen, len(scenarios.MetricNames), "every metric has series: %v", seen)
	assert.Len(t, scenarios.MetricLabels, len(scenarios.MetricNames))
}

// The summary's columns that imitate kubectl get print what kubectl prints
// (pkg/printers/internalversion/printers.go): a node's STATUS (printNode:
// Ready, NotReady for False and Unknown, Unknown without a Ready condition,
// then SchedulingDisabled when cordoned), an HPA's REFERENCE (printHPA:
// the target's Kind/Name), a Service's CLUSTER-IP (printService: None for a
// headless Service).
func TestSummaryColumnsAsKubectlPrintsThem(t *testing.T) {
	sc, err := scenarios.LoadBytes("test.yaml", []byte(`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  cluster:
    nodes:
    - {name: w, count: 3, capacity: {cpu: "4", memory: 8Gi}}
  objects:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 2, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: i, resources: {requests: {cpu: 100m}}}]}}}}
  - {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, minReplicas: 2, maxReplicas: 4, metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: db}, spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}}
  events:
  - {at: 10s, action: cordon, node: w-1}
  - {at: 10s, action: crashNode, node: w-2}
  - {at: 10s, action: cordon, node: w-3}
  - {at: 10s, action: crashNode, node: w-3}
`), ".", scenarios.WithValidator(runner.Validator()))
	require.NoError(t, err)
	r, err := runner.New(sc, runner.Options{})
	require.NoError(t, err)
	s := r.Finish().Summary
	status := map[string]string{}
	for _, n := range s.Nodes {
		status[n.Name] = n.Status
	}
	assert.Equal(t, map[string]string{"w-1": "Ready,SchedulingDisabled", "w-2": "NotReady", "w-3": "NotReady,SchedulingDisabled"}, status)
	require.Len(t, s.HPAs, 1)
	assert.Equal(t, "Deployment/web", s.HPAs[0].Target)
	require.Len(t, s.Services, 2)
	assert.Equal(t, "db", s.Services[0].Name)
	assert.Equal(t, "None", s.Services[0].ClusterIP)
}
