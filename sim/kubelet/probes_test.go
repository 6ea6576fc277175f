package kubelet_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubesim/kubesim/sim/kubelet"
)

// The probe schedule of upstream's prober workers up to v1.37
// (pkg/kubelet/prober/worker.go, prober_manager.go): a pod's probe workers
// start when the kubelet first syncs the pod and tick every periodSeconds
// from then; a tick probes only a running container whose
// initialDelaySeconds have passed. A readiness worker is also run at once
// ("manual run", which restarts its period) at every sync of the pod while
// its container is started but not ready: the container's start, another
// container's start or exit, a probe result changing.

// probeEvents lists the events of kind reason ("Unhealthy", "Killing") about pod.
func probeEvents(e *env, pod, reason string) []string {
	var out []string
	for _, ev := range e.events(pod) {
		if contains(ev, " "+reason+": ") {
			out = append(out, ev)
		}
	}
	return out
}

// A startup probe's failures are counted on the pod's ticks, from its
// first sync, not from the container's start: with a 2 s pull the
// container starts at 2, its startup probes run at 10, 20 and 30, and it
// is killed at 30 (failureThreshold × periodSeconds after the pod's start).
func TestStartupProbeTicksFromThePodsFirstSync(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.StartupProbe = httpProbe(0, 10, 3)
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationImagePullDuration] = "2s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationStartupDuration] = "1h"
	e.create(p, "n1")
	e.at(sec(31))
	kills := probeEvents(e, "p", "Killing")
	require.NotEmpty(t, kills)
	assert.Equal(t, "30s Killing: Container c failed startup probe, will be restarted", kills[0])
	assert.Len(t, probeEvents(e, "p", "Unhealthy"), 3)
}

// A liveness probe ticks on the same grid: with initialDelaySeconds 5 and
// the container started at 2, it first runs at 10.
func TestLivenessProbeTicksFromThePodsFirstSync(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.LivenessProbe = httpProbe(5, 10, 3)
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationImagePullDuration] = "2s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationLivenessFailsAfter] = "30s"
	e.create(p, "n1")
	// Probes at 10, 20, 30 (since start 28 s: ok), 40, 50, 60: killed at 60.
	e.at(sec(61))
	assert.Equal(t, []string{"40s Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 500",
		"50s Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 500",
		"1m0s Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 500"}, probeEvents(e, "p", "Unhealthy"))
	assert.Equal(t, []string{"1m0s Killing: Container c failed liveness probe, will be restarted"}, probeEvents(e, "p", "Killing"))
}

// A readiness probe is run at the sync that follows its container's start,
// which restarts its period; a run before initialDelaySeconds is skipped:
// with initialDelaySeconds 5 and periodSeconds 10 the first run is at 10.
func TestReadinessFirstRunIsAPeriodAfterTheStart(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.ReadinessProbe = httpProbe(5, 10, 3)
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	e.create(p, "n1")
	e.at(sec(9))
	assert.False(t, containerStatus(e.get("p"), "c").Ready)
	e.at(sec(10))
	got := e.get("p")
	assert.True(t, containerStatus(got, "c").Ready)
	assert.Equal(t, at0(sec(10)), cond(got, v1.PodReady).LastTransitionTime)
}

// The readiness run triggered by the startup probe's success restarts the
// readiness period: with startup probes at 3, 6, 9 (success) the readiness
// probe runs at 9, 19, 29 — not at 10, inside the window where it would fail.
func TestReadinessPeriodRestartsAtStartupSuccess(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.StartupProbe = httpProbe(0, 3, 5)
	c.ReadinessProbe = httpProbe(0, 10, 1)
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationStartupDuration] = "8s"
	p.Annotations[kubelet.AnnotationNotReadyBetween] = "10s-12s"
	e.create(p, "n1")
	e.at(sec(9))
	assert.True(t, containerStatus(e.get("p"), "c").Ready)
	e.at(sec(30))
	got := e.get("p")
	assert.True(t, containerStatus(got, "c").Ready)
	assert.Equal(t, at0(sec(9)), cond(got, v1.PodReady).LastTransitionTime)
	assert.Equal(t, []string{"3s Unhealthy: Startup probe failed: Get \"http://10.244.0.2:8080/healthz\": dial tcp 10.244.0.2:8080: connect: connection refused",
		"6s Unhealthy: Startup probe failed: Get \"http://10.244.0.2:8080/healthz\": dial tcp 10.244.0.2:8080: connect: connection refused"},
		probeEvents(e, "p", "Unhealthy"), "the startup failures at 3 and 6 only")
}

// When the readiness probe turns a container unready, the pod sync that
// follows runs it again at once (the container is not ready) and restarts
// its period.
func TestReadinessRunAgainWhenTheContainerTurnsUnready(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.ReadinessProbe = httpProbe(0, 10, 2)
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationNotReadyBetween] = "25s-1m"
	e.create(p, "n1")
	// Runs at 0, 10, 20 (ok), 30 (fail), 40 (fail: unready), 40 again, 50,
	// 60 (ok: ready).
	e.at(sec(61))
	assert.Equal(t, []string{"30s Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503",
		"40s Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503",
		"40s Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503",
		"50s Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503"}, probeEvents(e, "p", "Unhealthy"))
	assert.True(t, containerStatus(e.get("p"), "c").Ready)
}

// Another container's start is a sync of the pod too: it runs the
// readiness probe of a started container that is not ready yet.
func TestReadinessRunAtAnotherContainersStart(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	a := ctr("a", "img:1")
	a.ReadinessProbe = httpProbe(0, 10, 1)
	p := pod("p", a, ctr("b", "img:1"))
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationStartDuration+".a"] = "0s"
	p.Annotations[kubelet.AnnotationStartDuration+".b"] = "5s"
	p.Annotations[kubelet.AnnotationNotReadyBetween+".a"] = "0s-3s"
	e.create(p, "n1")
	// a starts at 0 (readiness fails), b at 5: a's readiness runs then.
	e.at(sec(5))
	assert.True(t, containerStatus(e.get("p"), "a").Ready)
	assert.Equal(t, at0(sec(5)), cond(e.get("p"), v1.ContainersReady).LastTransitionTime)
}

// Probe failure messages as upstream's probers word them (pkg/probe/http,
// pkg/probe/grpc): a gRPC probe of an application still starting times
// out dialing the pod's address; one of an application failing its
// checks is answered NOT_SERVING; an HTTPS probe dials an https URL.
func TestProbeFailureMessages(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	grpc := ctr("grpc", "img:1")
	grpc.LivenessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{GRPC: &v1.GRPCAction{Port: 9000}},
		PeriodSeconds: 10, FailureThreshold: 3, SuccessThreshold: 1, TimeoutSeconds: 2}
	web := ctr("web", "img:1")
	web.ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "ready", Port: intstr.FromInt32(8443), Scheme: v1.URISchemeHTTPS}},
		PeriodSeconds: 10, FailureThreshold: 3, SuccessThreshold: 1, TimeoutSeconds: 1}
	p := pod("p", grpc, web)
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationStartupDuration] = "15s"
	p.Annotations[kubelet.AnnotationLivenessFailsAfter+".grpc"] = "25s"
	e.create(p, "n1")
	e.at(sec(31))
	ip := e.get("p").Status.PodIP
	unhealthy := probeEvents(e, "p", "Unhealthy")
	assert.Contains(t, unhealthy, `0s Unhealthy: Readiness probe failed: Get "https://`+ip+`:8443/ready": dial tcp `+ip+`:8443: connect: connection refused`)
	assert.Contains(t, unhealthy, `10s Unhealthy: Liveness probe failed: timeout: failed to connect service "`+ip+`:9000" within 2s: context deadline exceeded`)
	assert.Contains(t, unhealthy, `30s Unhealthy: Liveness probe failed: service unhealthy (responded with "NOT_SERVING")`)
}
