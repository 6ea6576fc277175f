package runner

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim"
)

const checkerScenario = `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 10m
  cluster:
    nodes: [{name: w, count: 2, capacity: {cpu: "2", memory: 4Gi}}]
  objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: small, labels: {app: x}}, spec: {containers: [{name: c, image: i, resources: {requests: {cpu: 500m}}}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: huge, labels: {app: x}}, spec: {containers: [{name: c, image: i, resources: {requests: {cpu: "3"}}}]}}
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 1, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: i}]}}}}
  events:
  - {at: 1m30s, action: scale, target: deployment/web, replicas: 5}
  - {at: 4m, action: delete, target: pod/small}
  expect:
  - name: scaled
    within: 5m
    get: deployment/web
    jsonpath: '{.spec.replicas}'
    equals: "5"
  - name: small runs
    within: 1m
    get: pod/small
    jsonpath: '{.status.phase}'
    equals: Running
  - name: huge never fits
    at: 3m
    count: pods
    fieldSelector: status.phase=Pending
    equals: 1
  - name: never true
    within: 6m
    count: pods
    equals: 7
  - name: small is gone
    at: 4m1s
    count: pods
    labelSelector: app=x
    equals: 1
  - name: after the end of a short run
    at: 9m
    count: pods
    atLeast: 0
`

func TestCheckerIsDrivenAtEveryInstantAndDeadline(t *testing.T) {
	r := newRun(t, checkerScenario, Options{})
	res := r.Finish()
	byName := map[string]scenarios.Result{}
	for _, e := range res.Expectations {
		byName[e.Expectation.Name] = e
	}
	assert.Equal(t, scenarios.Passed, byName["scaled"].Status)
	assert.Equal(t, 90*time.Second, byName["scaled"].DecidedAt, "decided at the instant of the scale, not at a later observation")
	assert.Equal(t, scenarios.Passed, byName["small runs"].Status)
	assert.Equal(t, 2*time.Second, byName["small runs"].DecidedAt, "the fake kubelet starts a pod 2 s after it is bound")
	assert.Equal(t, scenarios.Passed, byName["huge never fits"].Status)
	assert.Equal(t, scenarios.Failed, byName["never true"].Status)
	assert.Equal(t, 6*time.Minute, byName["never true"].DecidedAt)
	assert.Equal(t, "1", byName["never true"].Observed, "small was deleted at 4m")
	assert.Equal(t, scenarios.Passed, byName["small is gone"].Status, "observed %s", byName["small is gone"].Observed)
	assert.False(t, res.OK())
	assert.Equal(t, 10*time.Minute, res.RanUntil)
}

func TestAdvancingInSlicesGivesTheSameRun(t *testing.T) {
	run := func(step time.Duration) (string, []scenarios.Result) {
		var trace strings.Builder
		opts := Options{Trace: func(rec sim.Record) { trace.Write(rec.AppendJSON(nil)); trace.WriteByte('\n') }}
		var story strings.Builder
		opts.Story = func(e Entry) { story.WriteString(e.String() + "\n") }
		r := newRun(t, checkerScenario, opts)
		if step > 0 {
			for at := time.Duration(0); at < r.Until(); at += step {
				r.AdvanceTo(at)
			}
		}
		res := r.Finish()
		for i := range res.Expectations {
			res.Expectations[i].Evaluations = 0 // slices may add evaluations of unchanged state
		}
		return trace.String() + story.String(), res.Expectations
	}
	whole, wholeRes := run(0)
	for _, step := range []time.Duration{7 * time.Second, time.Minute, 333 * time.Millisecond} {
		sliced, slicedRes := run(step)
		assert.Equal(t, whole, sliced, "step %v", step)
		assert.Equal(t, wholeRes, slicedRes, "step %v", step)
	}
}

func TestUntilStopsEarlyAndLeavesLaterExpectationsPending(t *testing.T) {
	r := newRun(t, checkerScenario, Options{Until: 2 * time.Minute})
	res := r.Finish()
	assert.Equal(t, 2*time.Minute, res.RanUntil)
	passed, failed, pending := res.Counts()
	assert.Equal(t, 2, passed)
	assert.Equal(t, 0, failed)
	assert.Equal(t, 4, pending)
	assert.True(t, res.OK(), "undecided expectations do not fail a run cut short")

	r = newRun(t, checkerScenario, Options{Until: 20 * time.Minute})
	assert.Equal(t, 20*time.Minute, r.Finish().RanUntil, "--until may run past spec.duration")
}

func TestSeedOption(t *testing.T) {
	seed := uint64(77)
	r := newRun(t, checkerScenario, Options{Seed: &seed})
	assert.Equal(t, uint64(77), r.Seed())
	assert.Equal(t, uint64(77), r.Finish().Seed)
	r = newRun(t, checkerScenario, Options{})
	assert.Equal(t, uint64(scenarios.DefaultSeed), r.Seed())
}

func TestSummaryReadsTheClusterAtTheEnd(t *testing.T) {
	r := newRun(t, checkerScenario, Options{Until: 3 * time.Minute})
	s := r.Finish().Summary
	require.Len(t, s.Nodes, 2)
	assert.Equal(t, "w-1", s.Nodes[0].Name)
	assert.Equal(t, "True", s.Nodes[0].Ready)
	assert.Equal(t, 1, s.Nodes[0].Pods+s.Nodes[1].Pods, "small is the only bound pod")
	require.Len(t, s.Deployments, 1)
	assert.Equal(t, DeploymentSummary{Namespace: "default", Name: "web", Replicas: 5}, s.Deployments[0],
		"no deployment controller in this test: only the spec moved")
	assert.Equal(t, PodSummary{Total: 2, Pending: 1, Running: 1, Unschedulable: 1, Ready: 1}, s.Pods)
	cpu := s.Nodes[0].CPU + " " + s.Nodes[1].CPU
	assert.Contains(t, cpu, "500m/2")
	assert.Contains(t, cpu, "0/2")
}

func TestExplainTellsWhyAPodIsPendingOrWhereItIs(t *testing.T) {
	r := newRun(t, checkerScenario, Options{Until: time.Minute})
	r.Finish()
	text, err := r.Explain("default", "huge")
	require.NoError(t, err)
	assert.Contains(t, text, "pod default/huge at 0:01:00.000 (seed 1)")
	assert.Contains(t, text, "PodScheduled=False (Unschedulable)")
	assert.Contains(t, text, "Insufficient cpu")
	assert.Contains(t, text, "w-1")

	text, err = r.Explain("default", "small")
	require.NoError(t, err)
	assert.Contains(t, text, "on node w-")
	assert.Contains(t, text, "Bound on w-")

	_, err = r.Explain("default", "smal")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not exist at 0:01:00.000 and was never scheduled")
}

// A gated pod never reaches the scheduler: explain says which gates keep
// it out, beside the SchedulingGated condition the API server gave it.
func TestExplainNamesTheGatesOfAGatedPod(t *testing.T) {
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes:
    - {name: w, capacity: {cpu: "2", memory: 4Gi}}
  objects:
  - apiVersion: v1
    kind: Pod
    metadata: {name: gated}
    spec:
      schedulingGates: [{name: example.com/a}, {name: example.com/b}]
      containers: [{name: c, image: nginx:1.27}]
`, Options{Until: 30 * time.Second})
	r.Finish()
	text, err := r.Explain("default", "gated")
	require.NoError(t, err)
	assert.Contains(t, text, "PodScheduled=False (SchedulingGated): Scheduling is blocked due to non-empty scheduling gates")
	assert.Contains(t, text, "the scheduler has no attempt on record for it (its scheduling gates keep it out of the queue: example.com/a, example.com/b)")
}

// A preemptor waiting for its victims to go: the node it is nominated to
// comes with the binding, before the conditions.
func TestExplainSaysWhereAPreemptorIsNominated(t *testing.T) {
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes:
    - {name: w, capacity: {cpu: "1", memory: 4Gi}}
  objects:
  - {apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: high}, value: 1000}
  - {apiVersion: v1, kind: Pod, metadata: {name: low}, spec: {containers: [{name: c, image: i, resources: {requests: {cpu: 800m}}}]}}
  events:
  - at: 10s
    action: apply
    object: {apiVersion: v1, kind: Pod, metadata: {name: vip}, spec: {priorityClassName: high, containers: [{name: c, image: i, resources: {requests: {cpu: 500m}}}]}}
`, Options{Until: 10 * time.Second})
	r.Finish()
	text, err := r.Explain("default", "vip")
	require.NoError(t, err)
	assert.Contains(t, text, "phase Pending, not bound to a node (nominated to w), PodScheduled=False (Unschedulable): 0/1 nodes are available: 1 Insufficient cpu. preemption: found a potential placement for pod on node w, preempting 1 victims\n")
	assert.Contains(t, text, "preemption: nominated w, evicting default/low")
}

func TestValidatorRejectsWhatTheAPIServerRejectsAtItsLine(t *testing.T) {
	_, err := scenarios.LoadBytes("bad.yaml", []byte(`apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: other}}
        spec:
          containers:
          - name: web
            image: ""
`), ".", scenarios.WithValidator(Validator()))
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "bad.yaml:12: spec.objects[0].spec.template.metadata.labels: Invalid value")
	assert.Contains(t, msg, "`selector` does not match template `labels`")
	assert.Contains(t, msg, "bad.yaml:16: spec.objects[0].spec.template.spec.containers[0].image: Required value")
}

// The cluster's check of kubesim.dev/ annotations runs before the run too.
func TestValidatorChecksKubesimAnnotationsAtTheirLine(t *testing.T) {
	_, err := scenarios.LoadBytes("bad.yaml", []byte(`apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  objects:
  - apiVersion: v1
    kind: Pod
    metadata:
      name: q
      annotations: {kubesim.dev/crash-after: bad}
    spec: {containers: [{name: c, image: nginx}]}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata:
          labels: {app: web}
          annotations:
            kubesim.dev/workers: "0"
        spec: {containers: [{name: web, image: nginx}]}
`), ".", scenarios.WithValidator(Validator()))
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `bad.yaml:10: spec.objects[0].metadata.annotations[kubesim.dev/crash-after]: Invalid value: "bad"`)
	assert.Contains(t, msg, `bad.yaml:21: spec.objects[1].spec.template.metadata.annotations[kubesim.dev/workers]: Invalid value: "0": must be a positive integer`)
}

// The Service allocator's checks run before the run too, as in the
// cluster: before validation, and validation sees what it fills in (a
// LoadBalancer with externalTrafficPolicy Local gets its health-check
// node port, which validation requires).
func TestValidatorRunsTheServiceAllocator(t *testing.T) {
	_, err := scenarios.LoadBytes("bad.yaml", []byte(`apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  objects:
  - apiVersion: v1
    kind: Service
    metadata: {name: lb}
    spec:
      type: LoadBalancer
      externalTrafficPolicy: Local
      selector: {app: web}
      ports: [{port: 80}]
  - apiVersion: v1
    kind: Service
    metadata: {name: dns}
    spec:
      clusterIP: 10.0.0.10
      selector: {app: dns}
      ports: [{port: 53, protocol: DNS}]
  - apiVersion: v1
    kind: Service
    metadata: {name: api}
    spec:
      clusterIP: 10.96.0.1
      ports: [{port: 443}]
`), ".", scenarios.WithValidator(Validator()))
	require.Error(t, err)
	msg := err.Error()
	assert.NotContains(t, msg, "healthCheckNodePort")
	assert.Contains(t, msg, `bad.yaml:17: spec.objects[1].spec.clusterIPs: Invalid value: ["10.0.0.10"]: failed to allocate IP 10.0.0.10: the provided network does not match the current range`)
	assert.NotContains(t, msg, "protocol", "the allocation error comes alone, as in a run")
	assert.Contains(t, msg, `spec.objects[2].spec.clusterIPs: Invalid value: ["10.96.0.1"]: failed to allocate IP 10.96.0.1: provided IP is already allocated`, "default/kubernetes holds it")
}

func TestEntryString(t *testing.T) {
	e := Entry{Time: 61*time.Second + 5*time.Millisecond, Component: "scheduler", Verb: "scheduled", Object: "pod/web-1", Message: "on w-1"}
	assert.Equal(t, "0:01:01.005   scheduler              scheduled        pod/web-1  on w-1", e.String())
	e = Entry{Time: time.Hour, Component: "scenario", Verb: "error", Message: "boom", Warning: true}
	assert.Equal(t, "1:00:00.000 ! scenario               error            boom", e.String())
}

func TestStoryTellsDecisionsNotWrites(t *testing.T) {
	var got []string
	s := newStoryteller(func(e Entry) { got = append(got, fmt.Sprintf("%s %s %s %s", e.Component, e.Verb, e.Object, e.Message)) })
	at := func(d time.Duration, r sim.Record) { r.Time = d; s.record(r) }
	at(1*time.Second, sim.Record{Component: "replicaset-controller", Verb: "create", Kind: "Pod", Namespace: "default", Name: "web-1", RV: 5})
	at(1*time.Second, sim.Record{Component: "scheduler", Verb: "assume", Kind: "Pod", Namespace: "default", Name: "web-1", Msg: "w-1"})
	at(1*time.Second, sim.Record{Component: "scheduler", Verb: "bind", Kind: "Pod", Namespace: "default", Name: "web-1", Msg: "w-1"})
	at(1*time.Second, sim.Record{Component: "default-scheduler", Verb: "create", Kind: "Event", Namespace: "default", Name: "web-1.1", RV: 6,
		Msg: "Normal Scheduled Pod/web-1: Successfully assigned default/web-1 to w-1"})
	at(2*time.Second, sim.Record{Component: "kubelet/w-1", Verb: "create", Kind: "Event", Namespace: "shop", Name: "e", RV: 7,
		Msg: "Normal Pulled Pod/api-1: Container image pulled"})
	at(2*time.Second, sim.Record{Component: "kubelet/w-1", Verb: "create", Kind: "Event", Namespace: "shop", Name: "e2", RV: 8,
		Msg: "Warning BackOff Pod/api-1: Back-off restarting failed container"})
	at(3*time.Second, sim.Record{Component: "scheduler", Verb: "failedScheduling", Kind: "Pod", Namespace: "default", Name: "big", Msg: "0/1 nodes are available"})
	at(13*time.Second, sim.Record{Component: "scheduler", Verb: "failedScheduling", Kind: "Pod", Namespace: "default", Name: "big", Msg: "0/1 nodes are available"})
	at(14*time.Second, sim.Record{Component: "apiserver", Verb: "compact", RV: 9})
	at(15*time.Second, sim.Record{Component: "node-lifecycle-controller", Verb: "tainted", Kind: "Node", Name: "w-1", Msg: "node.kubernetes.io/unreachable:NoExecute"})
	s.flush()
	assert.Equal(t, []string{
		"scheduler scheduled pod/web-1 on w-1",
		"kubelet/w-1 BackOff shop/pod/api-1 Back-off restarting failed container",
		"scheduler unschedulable pod/big 0/1 nodes are available",
		"node-lifecycle-controller tainted node/w-1 node.kubernetes.io/unreachable:NoExecute",
	}, got)
}
