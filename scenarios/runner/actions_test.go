package runner

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim/cluster"
)

const webV1 = `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, annotations: {team: a}}, spec: {replicas: 3, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "nginx:1.26"}]}}}}`

func TestApplyCreatesThenPatchesLikeKubectl(t *testing.T) {
	var opts Options
	story := storyOf(&opts)
	opts.Setup = func(c *cluster.Cluster) {
		// Another client labels the deployment and scales it between the
		// applies: apply keeps what it never managed and resets what it did.
		c.Engine.At(30*time.Second, "other client", func() {
			cl := c.Client("someone")
			d, err := cl.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
			require.NoError(t, err)
			d.Labels = map[string]string{"owner": "someone"}
			replicas := int32(7)
			d.Spec.Replicas = &replicas
			_, err = cl.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{})
			require.NoError(t, err)
		})
	}
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 3m
  objects:
  - `+webV1+`
  events:
  - at: 1m
    action: apply
    object:
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
        annotations: {tier: front}
      spec:
        replicas: 3
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
            - {name: web, image: "nginx:1.27"}
  - at: 2m
    action: apply
    object:
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
        annotations: {tier: front}
      spec:
        replicas: 3
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
            - {name: web, image: "nginx:1.27"}
`, opts)
	r.AdvanceTo(10 * time.Second)
	d := get[*appsv1.Deployment](t, r, "deployments", "default", "web")
	assert.Equal(t, "nginx:1.26", d.Spec.Template.Spec.Containers[0].Image)
	last := d.Annotations[v1.LastAppliedConfigAnnotation]
	require.NotEmpty(t, last, "create records the last applied configuration")
	var lastObj map[string]any
	require.NoError(t, json.Unmarshal([]byte(last), &lastObj))
	assert.Equal(t, "default", lastObj["metadata"].(map[string]any)["namespace"], "kubectl fills in the namespace")
	assert.NotContains(t, last, "creationTimestamp", "the manifest as written, not the typed object")

	r.AdvanceTo(time.Minute)
	d = get[*appsv1.Deployment](t, r, "deployments", "default", "web")
	assert.Equal(t, "nginx:1.27", d.Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, "front", d.Annotations["tier"], "added")
	assert.NotContains(t, d.Annotations, "team", "removed: it was applied before and is gone from the manifest")
	assert.Equal(t, "someone", d.Labels["owner"], "a field apply never managed is kept")
	assert.Equal(t, int32(3), *d.Spec.Replicas, "a field apply manages is reset to the manifest (kubectl apply after a scale)")
	rv := d.ResourceVersion

	r.AdvanceTo(2 * time.Minute)
	d = get[*appsv1.Deployment](t, r, "deployments", "default", "web")
	assert.Equal(t, rv, d.ResourceVersion, "applying the same manifest again writes nothing")
	assert.True(t, hasEntry(*story, "apply", "deployment/web", "created"))
	assert.True(t, hasEntry(*story, "apply", "deployment/web", "configured"))
	assert.True(t, hasEntry(*story, "apply", "deployment/web", "unchanged"))
	assert.Empty(t, r.Finish().Errors)
}

func TestDeleteScaleRestartAndUndo(t *testing.T) {
	var opts Options
	story := storyOf(&opts)
	opts.Setup = func(c *cluster.Cluster) {
		// Stand in for the deployment controller: two revisions of
		// ReplicaSets owned by the deployment.
		c.Engine.At(10*time.Second, "fake deployment controller", func() {
			cl := c.Client("fake-deployment-controller")
			d, err := cl.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
			require.NoError(t, err)
			for rev, image := range map[string]string{"1": "nginx:1.25", "2": "nginx:1.26"} {
				rs := &appsv1.ReplicaSet{
					ObjectMeta: metav1.ObjectMeta{Name: "web-" + rev, Labels: map[string]string{"app": "web", "pod-template-hash": rev},
						Annotations:     map[string]string{"deployment.kubernetes.io/revision": rev},
						OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
					Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "pod-template-hash": rev}},
						Template: v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "pod-template-hash": rev}},
							Spec: v1.PodSpec{Containers: []v1.Container{{Name: "web", Image: image}}}}},
				}
				_, err := cl.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{})
				require.NoError(t, err)
			}
		})
	}
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 10m
  objects:
  - `+webV1+`
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {a: b}}
  events:
  - {at: 1m, action: scale, target: deploy/web, replicas: 5}
  - {at: 2m, action: rolloutUndo, target: deployment/web}
  - {at: 3m, action: rolloutUndo, target: deployment/web, toRevision: 2}
  - {at: 4m, action: rolloutUndo, target: deployment/web, toRevision: 9}
  - {at: 5m, action: rolloutRestart, target: deployment/web}
  - {at: 6m, action: delete, target: configmap/settings}
`, opts)
	r.AdvanceTo(time.Minute)
	d := get[*appsv1.Deployment](t, r, "deployments", "default", "web")
	assert.Equal(t, int32(5), *d.Spec.Replicas)
	assert.Equal(t, int64(2), d.Generation, "a scale is a spec change")
	assert.True(t, hasEntry(*story, "scale", "deployment/web", "replicas 3 -> 5"))

	r.AdvanceTo(2 * time.Minute)
	d = get[*appsv1.Deployment](t, r, "deployments", "default", "web")
	assert.Equal(t, "nginx:1.25", d.Spec.Template.Spec.Containers[0].Image, "undo to the previous revision (1, below the latest 2)")
	assert.NotContains(t, d.Spec.Template.Labels, "pod-template-hash", "kubectl drops the hash label")

	r.AdvanceTo(3 * time.Minute)
	d = get[*appsv1.Deployment](t, r, "deployments", "default", "web")
	assert.Equal(t, "nginx:1.26", d.Spec.Template.Spec.Containers[0].Image, "undo --to-revision=2")

	r.AdvanceTo(5 * time.Minute)
	d = get[*appsv1.Deployment](t, r, "deployments", "default", "web")
	assert.Equal(t, "2026-01-01T00:05:00Z", d.Spec.Template.Annotations[RestartedAtAnnotation], "restartedAt is the simulated time")
	assert.Equal(t, "nginx:1.26", d.Spec.Template.Spec.Containers[0].Image)

	require.True(t, exists(r, "configmaps", "default", "settings"))
	res := r.Finish()
	assert.False(t, exists(r, "configmaps", "default", "settings"))
	require.Len(t, res.Errors, 1, "%v", res.Errors)
	e := res.Errors[0]
	assert.Equal(t, 4*time.Minute, e.At)
	assert.Equal(t, "test.yaml", e.Source.File)
	assert.Equal(t, 12, e.Source.Line)
	assert.Equal(t, "rolloutUndo deployment/web", e.What)
	assert.Contains(t, e.Message, "unable to find specified revision 9 in history")
	assert.False(t, res.OK())
}

func TestDeleteIsBackgroundCascading(t *testing.T) {
	opts := Options{}
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  objects:
  - `+webV1+`
  events:
  - {at: 1m, action: delete, target: deployment/web}
`, opts)
	r.AdvanceTo(59 * time.Second)
	d := get[*appsv1.Deployment](t, r, "deployments", "default", "web")
	r.Finish()
	assert.False(t, exists(r, "deployments", "default", "web"),
		"background propagation adds no finalizer, so a deployment goes at once (its ReplicaSets are the garbage collector's)")
	assert.Empty(t, d.Finalizers)
}

func TestLabelAndTaintNodesLikeKubectl(t *testing.T) {
	var opts Options
	story := storyOf(&opts)
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 10m
  cluster:
    nodes:
    - {name: n, capacity: {cpu: "2", memory: 4Gi}, labels: {tier: a, old: x}, taints: [{key: k, value: v1, effect: NoSchedule}]}
  events:
  - {at: 1m, action: labelNode, node: n, labels: {tier: b, disk: ssd}, removeLabels: [old]}
  - {at: 2m, action: taintNode, node: n, taints: [{key: k, value: v2, effect: NoSchedule}, {key: k, effect: NoExecute}]}
  - {at: 3m, action: untaintNode, node: n, taints: [{key: k, effect: NoExecute}]}
  - {at: 4m, action: untaintNode, node: n, taints: [{key: k}]}
  - {at: 5m, action: untaintNode, node: n, taints: [{key: k}]}
`, opts)
	r.AdvanceTo(time.Minute)
	n := get[*v1.Node](t, r, "nodes", "", "n")
	assert.Equal(t, "b", n.Labels["tier"])
	assert.Equal(t, "ssd", n.Labels["disk"])
	assert.NotContains(t, n.Labels, "old")
	assert.Equal(t, "n", n.Labels[v1.LabelHostname], "other labels stay")
	assert.True(t, hasEntry(*story, "labelNode", "node/n", "disk=ssd tier=b old-"))

	r.AdvanceTo(2 * time.Minute)
	n = get[*v1.Node](t, r, "nodes", "", "n")
	assert.Equal(t, []v1.Taint{{Key: "k", Value: "v2", Effect: v1.TaintEffectNoSchedule}, {Key: "k", Effect: v1.TaintEffectNoExecute}}, n.Spec.Taints,
		"same key and effect is replaced, another effect added")

	r.AdvanceTo(3 * time.Minute)
	n = get[*v1.Node](t, r, "nodes", "", "n")
	assert.Equal(t, []v1.Taint{{Key: "k", Value: "v2", Effect: v1.TaintEffectNoSchedule}}, n.Spec.Taints)

	r.AdvanceTo(4 * time.Minute)
	n = get[*v1.Node](t, r, "nodes", "", "n")
	assert.Empty(t, n.Spec.Taints, "a key without an effect removes every effect")

	res := r.Finish()
	require.Len(t, res.Errors, 1)
	assert.Contains(t, res.Errors[0].Message, `taint "k" not found`, "kubectl taint k- on a node without it fails")
}

func TestKillPodPicksARunningPodOfTheWorkloadFromTheSeed(t *testing.T) {
	// Real kubelets (the pick reads container states and machine states),
	// no workload controllers (the bare pods stay as they are).
	run := func(seed uint64) *Run {
		opts := Options{Seed: &seed, DetectCacheMutations: true, configure: func(cfg *cluster.Config) {
			cfg.Workloads.DisableControllers = []string{"replicaset", "deployment", "horizontalpodautoscaling", "garbagecollector"}
		}}
		r, err := New(load(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  cluster:
    nodes: [{name: w, count: 2, capacity: {cpu: "4", memory: 8Gi}}]
  objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: web-a, labels: {app: web}}, spec: {nodeName: w-1, containers: [{name: c, image: i}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: web-b, labels: {app: web}}, spec: {nodeName: w-2, containers: [{name: c, image: i}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: web-c, labels: {app: web}}, spec: {nodeName: w-2, containers: [{name: c, image: i}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: other, labels: {app: other}}, spec: {nodeName: w-2, containers: [{name: c, image: i}]}}
  - `+webV1+`
  events:
  - {at: 1m, action: delete, target: pod/web-c}
  - {at: 80s, action: crashNode, node: w-1}
  - {at: 100s, action: partitionNode, node: w-2}
  - {at: 101s, action: killPod, target: pod/web-b}
`), opts)
		require.NoError(t, err)
		return r
	}
	e := &scenarios.Event{Action: scenarios.ActionKillPod, Namespace: "default",
		Target: scenarios.Ref{Resource: mustResource(t, "deployment"), Name: "web"}}
	pick := func(r *Run) []string {
		var names []string
		for range 20 {
			p, err := r.pickPod(e)
			require.NoError(t, err)
			assert.Equal(t, v1.PodRunning, p.Status.Phase)
			names = append(names, p.Name)
		}
		return names
	}
	at := func(seed uint64, d time.Duration) []string {
		r := run(seed)
		r.AdvanceTo(d)
		return pick(r)
	}
	a := at(1, 70*time.Second)
	assert.Equal(t, a, at(1, 70*time.Second), "same seed, same choices")
	assert.Subset(t, []string{"web-a", "web-b"}, a, "only running, non-deleted pods of the workload")
	assert.Contains(t, a, "web-a")
	assert.Contains(t, a, "web-b")
	assert.NotEqual(t, a, at(2, 70*time.Second), "another seed draws differently")
	for _, name := range at(1, 90*time.Second) {
		assert.Equal(t, "web-b", name, "web-a's node crashed: the API still says Running, but nothing runs there")
	}
	// web-b's container was killed on a partitioned node: it waits out its
	// restart back-off, while the API, which the node cannot reach, still
	// shows it running.
	r := run(1)
	r.AdvanceTo(102 * time.Second)
	b := get[*v1.Pod](t, r, "pods", "default", "web-b")
	require.NotNil(t, b.Status.ContainerStatuses[0].State.Running, "the API's stale status")
	_, err := r.pickPod(e)
	require.Error(t, err)
	assert.Equal(t, "deployment/web has no running pod (web-a: its node w-1 is crashed; web-b: container c is not running on w-2)",
		err.Error(), "the error says why each pod does not count")
}

func mustResource(t *testing.T, name string) scenarios.Resource {
	r, ok := scenarios.LookupResource(name)
	require.True(t, ok)
	return r
}

func TestFaultErrorsAreAttributedToTheirEvent(t *testing.T) {
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
`, Options{})
	e := &scenarios.Event{At: time.Minute, Action: scenarios.ActionAddNode, Source: scenarios.Source{File: "x.yaml", Line: 7},
		Group: &scenarios.NodeGroup{Name: "g"}}
	f := cluster.Fault{At: time.Minute, Action: cluster.FaultAddNode} // no spec: always an error
	r.faults[f.String()+" at 1m0s"] = e
	r.c.Inject(f)
	res := r.Finish()
	require.Len(t, res.Errors, 1)
	assert.Equal(t, RunError{At: time.Minute, Source: e.Source, What: "addNode g", Message: "addNode needs a node spec"}, res.Errors[0])
	assert.Equal(t, "x.yaml:7: at 1m: addNode g: addNode needs a node spec", res.Errors[0].String())
}

func TestLoadRampIsAStaircaseAndALaterLoadReplacesIt(t *testing.T) {
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 5m
`, Options{})
	type set struct {
		at  time.Duration
		rps float64
	}
	var sets []set
	rampTo := 100.0
	e := &scenarios.Event{At: 0, RPS: 10, RampTo: &rampTo, RampDuration: 10 * time.Second}
	require.NoError(t, r.ramp("k", e, func(rps float64) error { sets = append(sets, set{r.Now(), rps}); return nil }))
	r.AdvanceTo(time.Minute)
	require.Len(t, sets, 11, "the initial rate and ten 1 s steps")
	assert.Equal(t, set{0, 10}, sets[0])
	assert.Equal(t, set{time.Second, 19}, sets[1])
	assert.Equal(t, set{10 * time.Second, 100}, sets[10])

	sets = nil
	long := &scenarios.Event{At: time.Minute, RPS: 0, RampTo: &rampTo, RampDuration: time.Hour}
	require.NoError(t, r.ramp("k", long, func(rps float64) error { sets = append(sets, set{r.Now(), rps}); return nil }))
	assert.Len(t, r.ramps["k"], maxRampSteps, "at most 1000 steps")
	r.AdvanceTo(2 * time.Minute)
	n := len(sets)
	stop := &scenarios.Event{At: 2 * time.Minute, RPS: 5}
	require.NoError(t, r.ramp("k", stop, func(rps float64) error { sets = append(sets, set{r.Now(), rps}); return nil }))
	r.AdvanceTo(4 * time.Minute)
	assert.Equal(t, n+1, len(sets), "the new load cancelled the ramp")
	assert.Equal(t, set{2 * time.Minute, 5}, sets[len(sets)-1])
}

// TestSetLoadThroughTheNetworkModel: setLoad and its ramp drive the real
// traffic model (pods run on the fake runtime); metric expectations read
// its registry.
func TestSetLoadThroughTheNetworkModel(t *testing.T) {
	var opts Options
	story := storyOf(&opts)
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 6m
  cluster:
    nodes: [{name: w, count: 3, capacity: {cpu: "8", memory: 16Gi}}]
  objects:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 2, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: i, ports: [{containerPort: 80}]}]}}}}
  - {apiVersion: v1, kind: Pod, metadata: {name: web-a, labels: {app: web}}, spec: {containers: [{name: web, image: i, ports: [{containerPort: 80}]}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: web-b, labels: {app: web}}, spec: {containers: [{name: web, image: i, ports: [{containerPort: 80}]}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
  events:
  - {at: 30s, action: setLoad, service: web, rps: 10}
  - {at: 1m30s, action: setLoad, service: web, rps: 0, rampTo: 100, rampDuration: 1m}
  - {at: 3m, action: setLoad, service: web, rps: 0}
  - {at: 4m, action: setLoad, service: web, rps: 5, from: w-2}
  expect:
  - {at: 1m30s, metric: 'kubesim_requests_total{service="web",outcome="served"}', equals: 600}
  # a staircase of 1 s steps of 100k/60 rps for k=1..59 (2950 requests) and
  # 30 s at 100 rps (3000), less at most one request per step
  - {at: 3m, metric: 'kubesim_requests_total{service="web",outcome="served"}', atLeast: 6490, atMost: 6550}
  - {at: 4m, metric: 'kubesim_requests_total{service="web"}', atLeast: 6490, atMost: 6550}
  - {at: 5m, metric: 'kubesim_requests_total{service="web",outcome="failed"}', equals: 0}
  - {at: 6m, metric: 'kubesim_requests_total{service="web"}', atLeast: 7090, atMost: 7150}
`, opts)
	res := r.Finish()
	for _, e := range res.Expectations {
		assert.Equal(t, scenarios.Passed, e.Status, "%s: observed %s", e.Expectation, e.Observed)
	}
	assert.Empty(t, res.Errors)
	assert.True(t, hasEntry(*story, "setLoad", "service/web", "0 requests/s from clients in the cluster, ramping to 100 over 1m"))
	assert.True(t, hasEntry(*story, "setLoad", "service/web", "5 requests/s from node w-2"))
}

// TestRolloutUndoOfAPausedDeploymentNamesTheResumeCommand: kubectl's error
// names the deployment to resume (k8s.io/kubectl/pkg/polymorphichelpers,
// rollback.go DeploymentRollbacker.Rollback).
func TestRolloutUndoOfAPausedDeploymentNamesTheResumeCommand(t *testing.T) {
	opts := Options{Setup: func(c *cluster.Cluster) {
		c.Engine.At(10*time.Second, "fake deployment controller", func() {
			cl := c.Client("fake-deployment-controller")
			d, err := cl.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
			require.NoError(t, err)
			for _, rev := range []string{"1", "2"} {
				rs := &appsv1.ReplicaSet{
					ObjectMeta: metav1.ObjectMeta{Name: "web-" + rev, Labels: map[string]string{"app": "web"},
						Annotations:     map[string]string{"deployment.kubernetes.io/revision": rev},
						OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
					Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
						Template: v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
							Spec: v1.PodSpec{Containers: []v1.Container{{Name: "web", Image: "nginx:1." + rev}}}}},
				}
				_, err := cl.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{})
				require.NoError(t, err)
			}
		})
	}}
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  objects:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {paused: true, replicas: 1, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "nginx:1.2"}]}}}}
  events:
  - {at: 1m, action: rolloutUndo, target: deployment/web}
`, opts)
	res := r.Finish()
	require.Len(t, res.Errors, 1, "%v", res.Errors)
	assert.Equal(t, "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/web' and try again",
		res.Errors[0].Message)
}

// TestRolloutRestartTwiceInOneSecondFailsLikeKubectl: restartedAt has a
// resolution of one second, so a second restart within it would send an
// empty patch; kubectl refuses it (k8s.io/kubectl/pkg/cmd/rollout,
// rollout_restart.go RunRestart) rather than report a restart that does
// nothing.
func TestRolloutRestartTwiceInOneSecondFailsLikeKubectl(t *testing.T) {
	var opts Options
	story := storyOf(&opts)
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  objects:
  - `+webV1+`
  events:
  - {at: 1m, action: rolloutRestart, target: deployment/web}
  - {at: 1m500ms, action: rolloutRestart, target: deployment/web}
  - {at: 1m1s, action: rolloutRestart, target: deployment/web}
`, opts)
	res := r.Finish()
	d := get[*appsv1.Deployment](t, r, "deployments", "default", "web")
	assert.Equal(t, "2026-01-01T00:01:01Z", d.Spec.Template.Annotations[RestartedAtAnnotation])
	require.Len(t, res.Errors, 1, "%v", res.Errors)
	assert.Equal(t, time.Minute+500*time.Millisecond, res.Errors[0].At)
	assert.Equal(t, "failed to create patch for web: if restart has already been triggered within the past second, please wait before attempting to trigger another",
		res.Errors[0].Message)
	n := 0
	for _, e := range *story {
		if e.Verb == "rolloutRestart" {
			n++
		}
	}
	assert.Equal(t, 2, n, "the refused restart is not told as one")
}

// TestTaintNodePutsNewTaintsFirstLikeKubectl: kubectl taint builds the new
// list as the taints given, then the node's other taints in their order
// (k8s.io/kubectl/pkg/cmd/taint, utils.go reorganizeTaints).
func TestTaintNodePutsNewTaintsFirstLikeKubectl(t *testing.T) {
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 5m
  cluster:
    nodes:
    - {name: n, capacity: {cpu: "2", memory: 4Gi}, taints: [{key: a, effect: NoSchedule}, {key: b, value: v1, effect: NoSchedule}]}
  events:
  - {at: 1m, action: taintNode, node: n, taints: [{key: c, effect: PreferNoSchedule}]}
  - {at: 2m, action: taintNode, node: n, taints: [{key: b, value: v2, effect: NoSchedule}]}
`, Options{})
	r.AdvanceTo(time.Minute)
	n := get[*v1.Node](t, r, "nodes", "", "n")
	assert.Equal(t, []v1.Taint{{Key: "c", Effect: v1.TaintEffectPreferNoSchedule}, {Key: "a", Effect: v1.TaintEffectNoSchedule},
		{Key: "b", Value: "v1", Effect: v1.TaintEffectNoSchedule}}, n.Spec.Taints)
	r.AdvanceTo(2 * time.Minute)
	n = get[*v1.Node](t, r, "nodes", "", "n")
	assert.Equal(t, []v1.Taint{{Key: "b", Value: "v2", Effect: v1.TaintEffectNoSchedule}, {Key: "c", Effect: v1.TaintEffectPreferNoSchedule},
		{Key: "a", Effect: v1.TaintEffectNoSchedule}}, n.Spec.Taints, "a replaced taint moves to the front too")
	assert.Empty(t, r.Finish().Errors)
}

// TestApplyRecordsKubectlsLastAppliedConfiguration: kubectl encodes the
// manifest with the unstructured JSON encoder (a trailing newline) after
// setting its annotations to a non-nil map, so a manifest without
// annotations records "annotations":{} (k8s.io/kubectl/pkg/util/apply.go
// GetModifiedConfiguration).
func TestApplyRecordsKubectlsLastAppliedConfiguration(t *testing.T) {
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  objects:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: plain}, data: {a: b}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: noted, annotations: {team: x}}, data: {a: b}}
  events:
  - {at: 1m, action: apply, object: {apiVersion: v1, kind: ConfigMap, metadata: {name: plain}, data: {a: c}}}
`, Options{})
	r.AdvanceTo(time.Second)
	plain := get[*v1.ConfigMap](t, r, "configmaps", "default", "plain")
	assert.Equal(t, `{"apiVersion":"v1","data":{"a":"b"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"plain","namespace":"default"}}`+"\n",
		plain.Annotations[v1.LastAppliedConfigAnnotation])
	noted := get[*v1.ConfigMap](t, r, "configmaps", "default", "noted")
	assert.Equal(t, `{"apiVersion":"v1","data":{"a":"b"},"kind":"ConfigMap","metadata":{"annotations":{"team":"x"},"name":"noted","namespace":"default"}}`+"\n",
		noted.Annotations[v1.LastAppliedConfigAnnotation])
	r.AdvanceTo(time.Minute)
	plain = get[*v1.ConfigMap](t, r, "configmaps", "default", "plain")
	assert.Equal(t, "c", plain.Data["a"])
	assert.Equal(t, `{"apiVersion":"v1","data":{"a":"c"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"plain","namespace":"default"}}`+"\n",
		plain.Annotations[v1.LastAppliedConfigAnnotation])
	assert.Equal(t, map[string]string{v1.LastAppliedConfigAnnotation: plain.Annotations[v1.LastAppliedConfigAnnotation]}, plain.Annotations)
	assert.Empty(t, r.Finish().Errors)
}

// TestRolloutRestartOfAPausedDeploymentFailsLikeKubectl: kubectl prefixes
// the restarter's error with the resource and name
// (k8s.io/kubectl/pkg/cmd/rollout/rollout_restart.go, RunRestart;
// polymorphichelpers/objectrestarter.go) and writes nothing.
func TestRolloutRestartOfAPausedDeploymentFailsLikeKubectl(t *testing.T) {
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  objects:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {paused: true, replicas: 1, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "nginx:1.2"}]}}}}
  events:
  - {at: 1m, action: rolloutRestart, target: deployment/web}
`, Options{})
	res := r.Finish()
	require.Len(t, res.Errors, 1, "%v", res.Errors)
	assert.Equal(t, `deployments.apps "web" can't restart paused deployment (run rollout resume first)`, res.Errors[0].Message)
	d := get[*appsv1.Deployment](t, r, "deployments", "default", "web")
	assert.NotContains(t, d.Spec.Template.Annotations, RestartedAtAnnotation)
}

// TestApplyChangesAServiceFromNodePortToClusterIP: applying the manifest
// of a NodePort Service without its type is what kubectl users do to go
// back to ClusterIP; the API server drops the defaulted
// externalTrafficPolicy and the allocated node port (upstream's
// dropTypeDependentFields), so the apply succeeds and the port is free.
func TestApplyChangesAServiceFromNodePortToClusterIP(t *testing.T) {
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 3m
  objects:
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}}
  events:
  - {at: 1m, action: apply, object: {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}}
  - {at: 2m, action: apply, object: {apiVersion: v1, kind: Service, metadata: {name: other}, spec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}}}
`, Options{})
	r.AdvanceTo(10 * time.Second)
	svc := get[*v1.Service](t, r, "services", "default", "web")
	port := svc.Spec.Ports[0].NodePort
	require.NotZero(t, port)

	r.AdvanceTo(time.Minute)
	svc = get[*v1.Service](t, r, "services", "default", "web")
	assert.Equal(t, v1.ServiceTypeClusterIP, svc.Spec.Type)
	assert.Empty(t, svc.Spec.ExternalTrafficPolicy)
	assert.Zero(t, svc.Spec.Ports[0].NodePort)
	assert.Empty(t, r.Finish().Errors)
}

// TestSlowLoadRampStepsKeepTheLoadsResolution: a ramp's steps are rounded
// to a load's resolution of 0.001 requests/s, so a slow ramp from 0 does
// not fail on its first step (0.0004 rps one step into a ramp to 0.4 rps
// over an hour), and it sends what its staircase does.
func TestSlowLoadRampStepsKeepTheLoadsResolution(t *testing.T) {
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2h
  cluster:
    nodes: [{name: w, count: 2, capacity: {cpu: "8", memory: 16Gi}}]
  objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: web-a, labels: {app: web}}, spec: {containers: [{name: web, image: i, ports: [{containerPort: 80}]}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
  events:
  - {at: 1m, action: setLoad, service: web, rps: 0, rampTo: 0.4, rampDuration: 1h}
  expect:
  # 1000 steps of 3.6 s at 0.0004·k rps (k = 1…999, rounded to 0.001): about 720
  - {at: 1h1m, metric: 'kubesim_requests_total{service="web",outcome="served"}', atLeast: 700, atMost: 730}
`, Options{})
	res := r.Finish()
	assert.Empty(t, res.Errors)
	for _, e := range res.Expectations {
		assert.Equal(t, scenarios.Passed, e.Status, "%s: observed %s", e.Expectation, e.Observed)
	}
}
