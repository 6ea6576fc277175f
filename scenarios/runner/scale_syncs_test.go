package runner_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/runner"
)

// bigWorkload is a 2,000-replica Deployment behind a Service and a
// PodDisruptionBudget on 100 nodes.
const bigWorkload = `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: big}
spec:
  duration: 1m
  cluster:
    nodes:
    - {name: w, count: 100, capacity: {cpu: "64", memory: 256Gi, pods: "110"}}
  objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2000
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - {name: web, image: "nginx:1.27", resources: {requests: {cpu: 10m, memory: 32Mi}}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
  - {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: web}, spec: {minAvailable: 1000, selector: {matchLabels: {app: web}}}}
  expect:
  - {within: 1m, get: deploy/web, jsonpath: '{.status.readyReplicas}', equals: "2000"}
  - {within: 1m, get: pdb/web, jsonpath: '{.status.currentHealthy}', equals: "2000"}
  - {within: 1m, count: endpointslices, labelSelector: kubernetes.io/service-name=web, equals: 20}
`

// A big workload does not cost a sync of all its pods per change of any
// of them: the ReplicaSet, Deployment and EndpointSlice syncs of a
// 2,000-replica rollout behind a Service take time (informer.SyncCost),
// and the changes that arrive during one fold into the next, as in
// upstream's controllers, whose syncs take real time. Without that they
// synced about once per pod change — 6,003, 4,009 and 4,004 times, each
// reading all 2,000 pods, and the run took six times as long.
func TestBigWorkloadSyncsFoldChanges(t *testing.T) {
	sc, err := scenarios.LoadBytes("big.yaml", []byte(bigWorkload), "", scenarios.WithValidator(runner.Validator()))
	require.NoError(t, err)
	r, err := runner.New(sc, runner.Options{})
	require.NoError(t, err)
	res := r.Finish()
	requireOK(t, res)
	c := r.Cluster()
	rs, d, es := c.ReplicaSetController().Queue().Processed(), c.DeploymentController().Queue().Processed(), c.EndpointSliceController().Queue().Processed()
	t.Logf("syncs: replicaset %d, deployment %d, endpointslice %d", rs, d, es)
	assert.Less(t, rs, uint64(2000))
	assert.Less(t, d, uint64(2000))
	assert.Less(t, es, uint64(2000))
}

// BenchmarkBigWorkload runs bigWorkload: a minute of cluster time in which
// 2,000 pods of one Deployment start behind a Service and a PDB.
func BenchmarkBigWorkload(b *testing.B) { benchScenario(b, bigWorkload) }

// benchScenario runs a scenario b.N times; every run must pass.
func benchScenario(b *testing.B, doc string) {
	sc, err := scenarios.LoadBytes("bench.yaml", []byte(doc), "", scenarios.WithValidator(runner.Validator()))
	require.NoError(b, err)
	for i := 0; i < b.N; i++ {
		res, err := runner.Execute(sc, runner.Options{})
		require.NoError(b, err)
		require.True(b, res.OK(), "%v", res)
	}
}

// bigService is the start of a big Service's scenario: spec.duration, then
// 3,000 replicas of web behind a Service on 300 nodes in three zones.
func bigService(name, duration string) string {
	return `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: ` + name + `}
spec:
  duration: ` + duration + `
  cluster:
    nodes:
    - {name: a, count: 100, zone: za, capacity: {cpu: "32", memory: 128Gi}}
    - {name: b, count: 100, zone: zb, capacity: {cpu: "32", memory: 128Gi}}
    - {name: c, count: 100, zone: zc, capacity: {cpu: "32", memory: 128Gi}}
  objects:
  - ` + webDeployment("nginx:1.27", "    ") + `
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
`
}

// webDeployment is the 3,000-replica Deployment web running image, as a
// YAML mapping whose lines after the first are indented by indent.
func webDeployment(image, indent string) string {
	return strings.ReplaceAll(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3000
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "`+image+`", resources: {requests: {cpu: 100m, memory: 128Mi}}}`, "\n", "\n"+indent)
}

// bigRollout is a day in the life of a big Service: the 3,000 replicas
// roll out a new image, then a zone fails for nine minutes: its nodes are
// tainted at 0.1 nodes/s (the zone is in full disruption), the pods of the
// first twenty or so are evicted and replaced, and stay Terminating on
// their nodes until the zone comes back at 14 minutes — which a within
// count with a field selector watches all along (node a-20 is one of
// those, with seed 1).
var bigRollout = bigService("big-rollout", "15m") + `  events:
  - at: 1m
    action: apply
    object:
      ` + webDeployment("nginx:1.28", "      ") + `
  - {at: 5m, action: failZone, zone: za}
  - {at: 14m, action: recoverZone, zone: za}
  expect:
  - {within: 5m, get: deploy/web, jsonpath: '{.status.updatedReplicas} {.status.readyReplicas}', equals: "3000 3000"}
  - {within: 15m, count: pods, fieldSelector: spec.nodeName=a-20, equals: 0}
  - {at: 15m, get: deploy/web, jsonpath: '{.status.readyReplicas}', equals: "3000"}
`

// BenchmarkBigRollout runs bigRollout: fifteen minutes of cluster time.
func BenchmarkBigRollout(b *testing.B) { benchScenario(b, bigRollout) }

// loadedRollout is the big Service rolled out under load: clients on every
// node send it 1,000 requests/s from 30 s, and the new image rolls out at
// 40 s.
var loadedRollout = bigService("loaded-rollout", "75s") + `  events:
  - {at: 30s, action: setLoad, service: web, rps: 1000}
  - at: 40s
    action: apply
    object:
      ` + webDeployment("nginx:1.28", "      ") + `
  expect:
  - {at: 75s, get: deploy/web, jsonpath: '{.status.updatedReplicas} {.status.readyReplicas}', equals: "3000 3000"}
  - {at: 75s, metric: 'kubesim_requests_total{service="web",outcome="served"}', atLeast: 40000}
`

// BenchmarkLoadedRollout runs loadedRollout: 75 s of cluster time.
func BenchmarkLoadedRollout(b *testing.B) { benchScenario(b, loadedRollout) }

// watchedServices is five Services of 100 replicas on 300 nodes, each
// under 100 requests/s from 1 m, rolled out at 5 m with a surge and no
// unavailable pod, and a node crash at 8 m, while a within metric
// expectation per Service waits all along for its 50,000th request
// served (about 9 m 20 s).
var watchedServices = func() string {
	var b strings.Builder
	b.WriteString(`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: watched-services}
spec:
  duration: 10m
  cluster:
    nodes:
    - {name: a, count: 100, zone: za, capacity: {cpu: "16", memory: 64Gi}}
    - {name: b, count: 100, zone: zb, capacity: {cpu: "16", memory: 64Gi}}
    - {name: c, count: 100, zone: zc, capacity: {cpu: "16", memory: 64Gi}}
  objects:
`)
	names := []string{"cart", "checkout", "search", "users", "web"}
	for _, n := range names {
		b.WriteString(strings.ReplaceAll(`  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: NAME}
    spec:
      replicas: 100
      strategy: {rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}}
      selector: {matchLabels: {app: NAME}}
      template:
        metadata: {labels: {app: NAME}}
        spec:
          containers:
          - {name: app, image: "app:1", ports: [{containerPort: 8080}], resources: {requests: {cpu: 100m, memory: 128Mi}}}
  - {apiVersion: v1, kind: Service, metadata: {name: NAME}, spec: {selector: {app: NAME}, ports: [{port: 80, targetPort: 8080}]}}
`, "NAME", n))
	}
	b.WriteString("  events:\n")
	for _, n := range names {
		b.WriteString("  - {at: 1m, action: setLoad, service: " + n + ", rps: 100}\n")
		b.WriteString("  - {at: 5m, action: rolloutRestart, target: deploy/" + n + "}\n")
	}
	b.WriteString("  - {at: 8m, action: crashNode, node: b-1}\n  expect:\n")
	for _, n := range names {
		b.WriteString("  - {within: 10m, metric: 'kubesim_requests_total{service=\"" + n + "\",outcome=\"served\"}', atLeast: 50000}\n")
	}
	return b.String()
}()

// BenchmarkWatchedServices runs watchedServices: ten minutes of cluster
// time in which five metric expectations are evaluated at every instant.
func BenchmarkWatchedServices(b *testing.B) { benchScenario(b, watchedServices) }

// The big scenarios are valid (they only run as benchmarks).
func TestBigScenariosLoad(t *testing.T) {
	for _, doc := range []string{bigWorkload, bigRollout, loadedRollout, watchedServices} {
		_, err := scenarios.LoadBytes("bench.yaml", []byte(doc), "", scenarios.WithValidator(runner.Validator()))
		require.NoError(t, err, doc)
	}
}
