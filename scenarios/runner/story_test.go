package runner

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim"
)

// tell feeds records to a storyteller and returns its lines
// ("component verb object message").
func tell(recs ...sim.Record) []string {
	var got []string
	s := newStoryteller(func(e Entry) {
		w := ""
		if e.Warning {
			w = "! "
		}
		got = append(got, fmt.Sprintf("%s%s %s %s %s", w, e.Component, e.Verb, e.Object, e.Message))
	})
	for _, r := range recs {
		s.record(r)
	}
	s.flush()
	return got
}

func rec(t time.Duration, component, verb, kind, name, msg string) sim.Record {
	return sim.Record{Time: t, Component: component, Verb: verb, Kind: kind, Namespace: "default", Name: name, Msg: msg}
}

func event(t time.Duration, component, typ, reason, object, msg string, update bool) sim.Record {
	verb := "create"
	if update {
		verb = "update"
	}
	return sim.Record{Time: t, Component: component, Verb: verb, Kind: "Event", Namespace: "default", Name: "e", RV: 9,
		Msg: typ + " " + reason + " " + object + ": " + msg}
}

func TestStoryMergesOneObjectsInstantIntoOneLine(t *testing.T) {
	assert.Equal(t, []string{
		"kubelet/w-1 started pod/web-1 container web started (restarts 0); Ready",
	}, tell(
		rec(2*time.Second, "kubelet/w-1", "containerStarted", "Pod", "web-1", "container web started (restarts 0)"),
		event(2*time.Second, "kubelet/w-1", "Normal", "Started", "Pod/web-1", "Started container web", false),
		rec(2*time.Second, "kubelet/w-1", "phaseRunning", "Pod", "web-1", "phase Pending → Running"),
		rec(2*time.Second, "kubelet/w-1", "ready", "Pod", "web-1", "pod is Ready"),
	))
}

func TestStoryDropsEventsThatRepeatATraceAndEventUpdates(t *testing.T) {
	assert.Equal(t, []string{
		"replicaset-controller scaledUp replicaset/web created 2 pods (0 active, want 2): web-a, web-b",
		"deployment-controller newReplicaSet replicaset/web new replicaset of deployment web (revision 1) with 2 replicas",
		"! kubelet/w-1 BackOff pod/web-a Back-off pulling image \"x\"",
	}, tell(
		event(time.Second, "replicaset-controller", "Normal", "SuccessfulCreate", "ReplicaSet/web", "Created pod: web-a", false),
		event(time.Second, "replicaset-controller", "Normal", "SuccessfulCreate", "ReplicaSet/web", "Created pod: web-b", false),
		rec(time.Second, "replicaset-controller", "scaledUp", "ReplicaSet", "web", "created 2 pods (0 active, want 2): web-a, web-b"),
		event(time.Second, "deployment-controller", "Normal", "ScalingReplicaSet", "Deployment/web", "Scaled up replica set web from 0 to 2", false),
		rec(time.Second, "deployment-controller", "newReplicaSet", "ReplicaSet", "web", "new replicaset of deployment web (revision 1) with 2 replicas"),
		event(10*time.Second, "kubelet/w-1", "Warning", "BackOff", "Pod/web-a", `Back-off pulling image "x"`, false),
		event(20*time.Second, "kubelet/w-1", "Warning", "BackOff", "Pod/web-a", `Back-off pulling image "x"`, true),
	))
}

func TestStoryFoldsATerminationIntoTerminatingAndDeleted(t *testing.T) {
	assert.Equal(t, []string{
		"kubelet/w-1 terminating pod/a pod deleted: stopping containers (grace 30s); stopped and removed",
		"kubelet/w-1 terminating pod/b pod deleted: stopping containers (grace 30s)",
		"kubelet/w-1 deleted pod/b containers stopped; pod object removed",
	}, tell(
		rec(time.Minute, "kubelet/w-1", "terminating", "Pod", "a", "pod deleted: stopping containers (grace 30s)"),
		event(time.Minute, "kubelet/w-1", "Normal", "Killing", "Pod/a", "Stopping container web", false),
		rec(time.Minute, "kubelet/w-1", "containerExited", "Pod", "a", "container web exited with code 0 (Completed)"),
		rec(time.Minute, "kubelet/w-1", "terminated", "Pod", "a", "all containers stopped"),
		rec(time.Minute, "kubelet/w-1", "phaseSucceeded", "Pod", "a", "phase Running → Succeeded"),
		rec(time.Minute, "kubelet/w-1", "notReady", "Pod", "a", "pod is no longer Ready"),
		rec(time.Minute, "kubelet/w-1", "podDeleted", "Pod", "a", "containers stopped; pod object removed"),
		// A pod that takes its grace period: the exit comes later.
		rec(time.Minute, "kubelet/w-1", "terminating", "Pod", "b", "pod deleted: stopping containers (grace 30s)"),
		rec(time.Minute+20*time.Second, "kubelet/w-1", "containerExited", "Pod", "b", "container web exited with code 143 (Error)"),
		rec(time.Minute+20*time.Second, "kubelet/w-1", "terminated", "Pod", "b", "all containers stopped"),
		rec(time.Minute+20*time.Second, "kubelet/w-1", "podDeleted", "Pod", "b", "containers stopped; pod object removed"),
	))
}

// A kubelet that reconnects to a pod deleted while its node was cut off
// writes the pod's status once more before stopping it: Ready again (as
// upstream's kubelet keeps Ready=True until the containers stop), then
// not ready once they have. Neither is news in a termination the
// "terminating" and "deleted" entries tell: the line has no stray
// "Ready".
func TestStoryTerminationLineHasNoStrayReady(t *testing.T) {
	assert.Equal(t, []string{
		"kubelet/w-1 terminating pod/a pod deleted: stopping containers (grace 30s); stopped and removed",
		"kubelet/w-1 terminating pod/b pod deleted: stopping containers (grace 30s)",
		"kubelet/w-1 deleted pod/b containers stopped; pod object removed",
	}, tell(
		rec(10*time.Minute, "kubelet/w-1", "terminating", "Pod", "a", "pod deleted: stopping containers (grace 30s)"),
		event(10*time.Minute, "kubelet/w-1", "Normal", "Killing", "Pod/a", "Stopping container app", false),
		rec(10*time.Minute, "kubelet/w-1", "ready", "Pod", "a", "pod is Ready"),
		rec(10*time.Minute, "kubelet/w-1", "containerExited", "Pod", "a", "container app exited with code 0 (Completed)"),
		rec(10*time.Minute, "kubelet/w-1", "terminated", "Pod", "a", "all containers stopped"),
		rec(10*time.Minute, "kubelet/w-1", "phaseSucceeded", "Pod", "a", "phase Running → Succeeded"),
		rec(10*time.Minute, "kubelet/w-1", "notReady", "Pod", "a", "pod is no longer Ready"),
		rec(10*time.Minute, "kubelet/w-1", "podDeleted", "Pod", "a", "containers stopped; pod object removed"),
		// Ready told again later, while the containers still stop.
		rec(10*time.Minute, "kubelet/w-1", "terminating", "Pod", "b", "pod deleted: stopping containers (grace 30s)"),
		rec(10*time.Minute+time.Second, "kubelet/w-1", "ready", "Pod", "b", "pod is Ready"),
		rec(10*time.Minute+20*time.Second, "kubelet/w-1", "podDeleted", "Pod", "b", "containers stopped; pod object removed"),
	))
}

func TestStoryToldCrashesButNotStartupNoise(t *testing.T) {
	assert.Equal(t, []string{
		"scenario addNode node/w-1 cpu 4, memory 8Gi",
		"scenario crashNode node/w-1 ",
		"kubelet/w-1 nodeCrashed node/w-1 kubelet, containers and heartbeats stopped",
		"node-lifecycle-controller statusUnknown node/w-1 Ready True → Ready Unknown (NodeStatusUnknown); marking its 1 pod(s) not ready; tainted node.kubernetes.io/unreachable:NoSchedule (node conditions)",
		"node-lifecycle-controller zoneStateChanged zone/zone-a Normal → FullDisruption",
		"node-lifecycle-controller zoneRateChanged zone/zone-b FullDisruption: 2 of 2 node(s) not ready; NoExecute tainting at 0 → 0.1 nodes/s",
		"node-lifecycle-controller untainted node/w-1 node.kubernetes.io/unreachable:NoSchedule (node conditions)",
	}, func() []string {
		var got []string
		s := newStoryteller(func(e Entry) { got = append(got, fmt.Sprintf("%s %s %s %s", e.Component, e.Verb, e.Object, e.Message)) })
		s.emit(Entry{Component: "scenario", Verb: "addNode", Object: "node/w-1", Message: "cpu 4, memory 8Gi"})
		for _, r := range []sim.Record{
			rec(0, "kubelet/w-1", "registered", "Node", "w-1", "node registered"),
			event(0, "kubelet/w-1", "Normal", "NodeHasSufficientMemory", "Node/w-1", "…", false),
			rec(0, "kubelet/w-1", "nodeReady", "Node", "w-1", "kubelet is posting ready status"),
			rec(0, "fault", "addNode", "Node", "w-1", "podCIDR 10.244.0.0/24"),
			rec(0, "node-lifecycle-controller", "untainted", "Node", "w-1", "node.kubernetes.io/not-ready:NoSchedule (node conditions)"),
			rec(0, "kube-proxy/w-1", "start", "Node", "w-1", "kube-proxy started"),
			rec(5*time.Second, "node-lifecycle-controller", "zoneStateChanged", "", "zone-a", "Initial → Normal"),
		} {
			s.record(r)
		}
		s.emit(Entry{Time: time.Minute, Component: "scenario", Verb: "crashNode", Object: "node/w-1"})
		for _, r := range []sim.Record{
			rec(time.Minute, "kubelet/w-1", "nodeCrashed", "Node", "w-1", "kubelet, containers and heartbeats stopped"),
			rec(time.Minute, "fault", "crashNode", "Node", "w-1", "kubelet, containers and heartbeats stopped"),
			rec(2*time.Minute, "node-lifecycle-controller", "statusUnknown", "Node", "w-1", "Ready True → Ready Unknown (NodeStatusUnknown)"),
			rec(2*time.Minute, "node-lifecycle-controller", "nodeNotReady", "Node", "w-1", "Ready True → Unknown: marking its 1 pod(s) not ready"),
			rec(2*time.Minute, "node-lifecycle-controller", "podNotReady", "Pod", "web-1", "Ready=False"),
			event(2*time.Minute, "node-controller", "Warning", "NodeNotReady", "Pod/web-1", "Node is not ready", false),
			rec(2*time.Minute, "node-lifecycle-controller", "tainted", "Node", "w-1", "node.kubernetes.io/unreachable:NoSchedule (node conditions)"),
			rec(2*time.Minute, "node-lifecycle-controller", "zoneStateChanged", "", "zone-a", "Normal → FullDisruption"),
			rec(2*time.Minute, "node-lifecycle-controller", "zoneRateChanged", "", "zone-b", "FullDisruption: 2 of 2 node(s) not ready; NoExecute tainting at 0 → 0.1 nodes/s"),
			rec(3*time.Minute, "node-lifecycle-controller", "untainted", "Node", "w-1", "node.kubernetes.io/unreachable:NoSchedule (node conditions)"),
		} {
			s.record(r)
		}
		s.flush()
		return got
	}())
}

// TestStoryTellsEveryScenarioActionOfAnInstant: a fault at 0s on a node
// the scenario creates at 0s is its own line, not merged (and lost) into
// the node's addNode line.
func TestStoryTellsEveryScenarioActionOfAnInstant(t *testing.T) {
	var got []string
	s := newStoryteller(func(e Entry) { got = append(got, fmt.Sprintf("%s %s %s %s", e.Component, e.Verb, e.Object, e.Message)) })
	s.emit(Entry{Component: "scenario", Verb: "addNode", Object: "node/w-1", Message: "cpu 4, memory 8Gi"})
	s.emit(Entry{Component: "scenario", Verb: "crashNode", Object: "node/w-1"})
	s.emit(Entry{Component: "scenario", Verb: "cordon", Object: "node/w-1"})
	s.flush()
	assert.Equal(t, []string{
		"scenario addNode node/w-1 cpu 4, memory 8Gi",
		"scenario crashNode node/w-1 ",
		"scenario cordon node/w-1 ",
	}, got)
}

// TestStoryTellsEveryKubectlAction: each action the scenario runs is its
// own line, even when it repeats the object's last line (a second apply
// that changes the object again) or shares an instant with another action
// on the object (delete, then apply): merged, a delete followed by a create
// read "delete … deleted; created", and a repeated "configured" vanished.
func TestStoryTellsEveryKubectlAction(t *testing.T) {
	var got []string
	s := newStoryteller(func(e Entry) { got = append(got, fmt.Sprintf("%s %s %s %s", e.Component, e.Verb, e.Object, e.Message)) })
	s.emit(Entry{Time: time.Minute, Component: User, Verb: "apply", Object: "configmap/cfg", Message: "configured"})
	s.emit(Entry{Time: 2 * time.Minute, Component: User, Verb: "apply", Object: "configmap/cfg", Message: "configured"})
	s.emit(Entry{Time: 2 * time.Minute, Component: User, Verb: "apply", Object: "configmap/cfg", Message: "unchanged"})
	s.emit(Entry{Time: 3 * time.Minute, Component: User, Verb: "delete", Object: "configmap/cfg", Message: "deleted (background cascading)"})
	s.emit(Entry{Time: 3 * time.Minute, Component: User, Verb: "apply", Object: "configmap/cfg", Message: "created"})
	s.flush()
	assert.Equal(t, []string{
		"kubectl apply configmap/cfg configured",
		"kubectl apply configmap/cfg configured",
		"kubectl apply configmap/cfg unchanged",
		"kubectl delete configmap/cfg deleted (background cascading)",
		"kubectl apply configmap/cfg created",
	}, got)
}

// TestStoryQuotesAFailedExpectationsValue: the observed value of a FAIL
// line is quoted as in the EXPECTATIONS list, so a value that ends with a
// newline (a last-applied-configuration annotation) stays on its line.
func TestStoryQuotesAFailedExpectationsValue(t *testing.T) {
	var got []string
	s := newStoryteller(func(e Entry) { got = append(got, e.Message) })
	exp := &scenarios.Expectation{Name: "annotation", Timing: scenarios.TimingAt, Time: time.Minute}
	s.decided(scenarios.Result{Expectation: exp, Status: scenarios.Failed, DecidedAt: time.Minute, Observed: "{\"a\":1}\n"})
	s.flush()
	assert.Equal(t, []string{`annotation (observed "{\"a\":1}\n")`}, got)
}

func TestStoryKeepsTheLastEndpointsUpdateOfAnInstant(t *testing.T) {
	assert.Equal(t, []string{
		"endpointslice-controller endpointsUpdated service/web 0 ready, 3 not ready, 0 terminating endpoint(s) in 1 slice(s)",
		"endpointslice-controller endpointsUpdated service/web 1 ready, 2 not ready, 0 terminating endpoint(s) in 1 slice(s)",
	}, tell(
		rec(0, "endpointslice-controller", "endpointsUpdated", "Service", "web", "0 ready, 1 not ready, 0 terminating endpoint(s) in 1 slice(s); +1/-0 endpoint(s)"),
		rec(0, "endpointslice-controller", "endpointsUpdated", "Service", "web", "0 ready, 3 not ready, 0 terminating endpoint(s) in 1 slice(s); +1/-0 endpoint(s)"),
		rec(2*time.Second, "endpointslice-controller", "endpointsUpdated", "Service", "web", "1 ready, 2 not ready, 0 terminating endpoint(s) in 1 slice(s); +0/-0 endpoint(s)"),
		rec(3*time.Second, "endpointslice-controller", "endpointsUpdated", "Service", "web", "1 ready, 2 not ready, 0 terminating endpoint(s) in 1 slice(s); +0/-0 endpoint(s)"),
	))
}

func TestStoryTellsOnlyAStalledRollout(t *testing.T) {
	assert.Equal(t, []string{
		"! deployment-controller progressing deployment/web Progressing=False ProgressDeadlineExceeded: ReplicaSet \"web-1\" has timed out progressing.",
	}, tell(
		rec(0, "deployment-controller", "progressing", "Deployment", "web", "Progressing=True ReplicaSetUpdated: ReplicaSet \"web-1\" is progressing."),
		rec(10*time.Minute, "deployment-controller", "progressing", "Deployment", "web", "Progressing=False ProgressDeadlineExceeded: ReplicaSet \"web-1\" has timed out progressing."),
	))
}

func TestStoryTellsWhenRequestsFailAndRecover(t *testing.T) {
	var got []string
	s := newStoryteller(func(e Entry) { got = append(got, fmt.Sprintf("%v %s %s %s", e.Time, e.Verb, e.Object, e.Message)) })
	stats := map[time.Duration]requestStats{
		1 * time.Second: {Served: 30, Loaded: true},
		2 * time.Second: {Served: 60, Loaded: true},
		3 * time.Second: {Served: 80, Failed: 10, Reasons: map[string]uint64{"endpoint node down or unreachable": 10}, Loaded: true},
		4 * time.Second: {Served: 100, Failed: 20, Reasons: map[string]uint64{"endpoint node down or unreachable": 20}, Loaded: true},
		5 * time.Second: {Served: 130, Failed: 20, Reasons: map[string]uint64{"endpoint node down or unreachable": 20}, Loaded: true},
		6 * time.Second: {Served: 160, Failed: 20, Reasons: map[string]uint64{"endpoint node down or unreachable": 20}, Loaded: true},
	}
	for at := time.Second; at <= 6*time.Second; at += time.Second {
		s.watchTraffic(at, []string{"service/web"}, func(string) requestStats { return stats[at] })
	}
	s.flush()
	assert.Equal(t, []string{
		"3s failing service/web 10 of 30 requests failed in the last 1s: endpoint node down or unreachable",
		"5s recovered service/web every request served again; 20 failed in 2s",
	}, got)
}

func TestStoryMarksWhatGoesWrong(t *testing.T) {
	assert.Equal(t, []string{
		"! kubelet/w-1 containerExited pod/a container app exited with code 3 (Error); container app in CrashLoopBackOff, restart in 10s; not Ready",
		"kubelet/w-1 containerExited pod/b container app exited with code 0 (Completed)",
		"! kubelet/w-1 nodeCrashed node/w-1 kubelet, containers and heartbeats stopped",
	}, tell(
		rec(time.Second, "kubelet/w-1", "containerExited", "Pod", "a", "container app exited with code 3 (Error)"),
		rec(time.Second, "kubelet/w-1", "backOff", "Pod", "a", "container app in CrashLoopBackOff, restart in 10s"),
		event(time.Second, "kubelet/w-1", "Warning", "BackOff", "Pod/a", "Back-off restarting failed container app in pod a_default(uid)", false),
		rec(time.Second, "kubelet/w-1", "notReady", "Pod", "a", "pod is no longer Ready"),
		rec(time.Second, "kubelet/w-1", "containerExited", "Pod", "b", "container app exited with code 0 (Completed)"),
		rec(time.Second, "kubelet/w-1", "nodeCrashed", "Node", "w-1", "kubelet, containers and heartbeats stopped"),
	))
}

// TestStoryRecoversOnlyWhenNoRequestFails: a batch of requests that
// happens to miss the failing endpoint (a traced load's single request, or
// the few requests accounted between two ticks) is no recovery while the
// routing still sends requests to it.
func TestStoryRecoversOnlyWhenNoRequestFails(t *testing.T) {
	var got []string
	s := newStoryteller(func(e Entry) { got = append(got, fmt.Sprintf("%v %s %s %s", e.Time, e.Verb, e.Object, e.Message)) })
	down := map[string]uint64{"endpoint node down or unreachable": 1}
	steps := []struct {
		at time.Duration
		st requestStats
	}{
		{1 * time.Second, requestStats{Served: 1, Loaded: true}},
		{2 * time.Second, requestStats{Served: 1, Failed: 1, Reasons: down, Loaded: true, Failing: true}},
		{3 * time.Second, requestStats{Served: 2, Failed: 1, Reasons: down, Loaded: true, Failing: true}},
		{4 * time.Second, requestStats{Served: 3, Failed: 1, Reasons: down, Loaded: true, Failing: true}},
		{5 * time.Second, requestStats{Served: 3, Failed: 2, Reasons: map[string]uint64{"endpoint node down or unreachable": 2}, Loaded: true}},
		{6 * time.Second, requestStats{Served: 4, Failed: 2, Reasons: map[string]uint64{"endpoint node down or unreachable": 2}, Loaded: true}},
	}
	for _, step := range steps {
		s.watchTraffic(step.at, []string{"service/web"}, func(string) requestStats { return step.st })
	}
	s.flush()
	assert.Equal(t, []string{
		"2s failing service/web 1 of 1 requests failed in the last 1s: endpoint node down or unreachable",
		"6s recovered service/web every request served again; 2 failed in 4s",
	}, got)
}

// TestStoryCountsFailuresFromTheLoadsStart: "in the last …" spans the
// time since the load started, not since the start of the run or since
// the previous load stopped.
func TestStoryCountsFailuresFromTheLoadsStart(t *testing.T) {
	var got []string
	s := newStoryteller(func(e Entry) { got = append(got, fmt.Sprintf("%v %s %s %s", e.Time, e.Verb, e.Object, e.Message)) })
	noEndpoints := func(n uint64) map[string]uint64 { return map[string]uint64{"no endpoints (rejected)": n} }
	steps := []struct {
		at time.Duration
		st requestStats
	}{
		{30 * time.Second, requestStats{Loaded: true}},
		{31 * time.Second, requestStats{Failed: 10, Reasons: noEndpoints(10), Loaded: true, Failing: true}},
		{40 * time.Second, requestStats{Failed: 100, Reasons: noEndpoints(100)}},
		{50 * time.Second, requestStats{Failed: 100, Reasons: noEndpoints(100)}},
		{90 * time.Second, requestStats{Failed: 100, Reasons: noEndpoints(100), Loaded: true}},
		{92 * time.Second, requestStats{Failed: 120, Reasons: noEndpoints(120), Loaded: true, Failing: true}},
	}
	for _, step := range steps {
		s.watchTraffic(step.at, []string{"service/web"}, func(string) requestStats { return step.st })
	}
	s.flush()
	assert.Equal(t, []string{
		"31s failing service/web 10 of 10 requests failed in the last 1s: no endpoints (rejected)",
		"1m32s failing service/web 20 of 20 requests failed in the last 2s: no endpoints (rejected)",
	}, got)
}

// TestStoryTellsAFailedHPAReconcileOnceAsAWarning: the HPA's Warning
// Events repeat its reconcile error, which says more (the step that
// failed); the line is marked as something going wrong.
func TestStoryTellsAFailedHPAReconcileOnceAsAWarning(t *testing.T) {
	hpa := "horizontal-pod-autoscaler"
	assert.Equal(t, []string{
		`! horizontal-pod-autoscaler reconcileFailed horizontalpodautoscaler/ghost failed to query scale subresource for Deployment/default/ghost: deployments.apps "ghost" not found`,
		"! horizontal-pod-autoscaler reconcileFailed horizontalpodautoscaler/api failed to compute desired number of replicas based on listed metrics for Deployment/default/api: invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: missing request for cpu in container app of Pod api-1",
	}, tell(
		event(15*time.Second, hpa, "Warning", "FailedGetScale", "HorizontalPodAutoscaler/ghost", `deployments.apps "ghost" not found`, false),
		rec(15*time.Second, hpa, "reconcileFailed", "HorizontalPodAutoscaler", "ghost", `failed to query scale subresource for Deployment/default/ghost: deployments.apps "ghost" not found`),
		event(15*time.Second, hpa, "Warning", "FailedGetResourceMetric", "HorizontalPodAutoscaler/api", "failed to get cpu utilization: missing request for cpu in container app of Pod api-1", false),
		event(15*time.Second, hpa, "Warning", "FailedComputeMetricsReplicas", "HorizontalPodAutoscaler/api", "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: missing request for cpu in container app of Pod api-1", false),
		rec(15*time.Second, hpa, "reconcileFailed", "HorizontalPodAutoscaler", "api", "failed to compute desired number of replicas based on listed metrics for Deployment/default/api: invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: missing request for cpu in container app of Pod api-1"),
	))
}

// TestStoryLeavesTracedRequestsToTheTrace: a load of up to 20 requests/s
// traces every request; the timeline tells when requests fail and
// recover, not each request (the --trace file has them).
func TestStoryLeavesTracedRequestsToTheTrace(t *testing.T) {
	assert.Equal(t, []string{
		"scenario crashNode node/w-1 ",
	}, func() []string {
		var got []string
		s := newStoryteller(func(e Entry) { got = append(got, fmt.Sprintf("%s %s %s %s", e.Component, e.Verb, e.Object, e.Message)) })
		s.record(rec(time.Second, "traffic", "request", "Service", "web", "#1 from cluster via w-1 -> pod web-1 (10.244.0.2:80) on w-1: served in 5.116ms"))
		s.emit(Entry{Time: 2 * time.Second, Component: "scenario", Verb: "crashNode", Object: "node/w-1"})
		s.record(rec(2*time.Second, "traffic", "request", "Service", "web", "#2 from cluster via w-2 -> pod web-1 (10.244.0.2:80) on w-1: failed: endpoint node down or unreachable"))
		s.flush()
		return got
	}())
}

// A readiness probe failure of a ready container is told once: the
// kubelet's Unhealthy Event repeats its containerNotReady record (before,
// the line read "Readiness probe failed: …; container c failed its
// readiness probe: …; not Ready").
func TestStoryTellsAReadinessFailureOnce(t *testing.T) {
	const probe = "HTTP probe failed with statuscode: 503"
	assert.Equal(t, []string{
		"! kubelet/w-1 containerNotReady pod/web-1 container c failed its readiness probe: " + probe + "; not Ready",
	}, tell(
		event(30*time.Second, "kubelet/w-1", "Warning", "Unhealthy", "Pod/web-1", "Readiness probe failed: "+probe, false),
		rec(30*time.Second, "kubelet/w-1", "containerNotReady", "Pod", "web-1", "container c failed its readiness probe: "+probe),
		event(30*time.Second, "kubelet/w-1", "Warning", "Unhealthy", "Pod/web-1", "Readiness probe failed: "+probe, true),
		rec(30*time.Second, "kubelet/w-1", "notReady", "Pod", "web-1", "pod is no longer Ready"),
	))
	assert.Equal(t, []string{
		"! kubelet/w-1 Unhealthy pod/web-1 Liveness probe failed: " + probe,
	}, tell(event(30*time.Second, "kubelet/w-1", "Warning", "Unhealthy", "Pod/web-1", "Liveness probe failed: "+probe, false)),
		"an Unhealthy Event with no record to repeat is told")
}
