package kubelet_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubesim/kubesim/sim/kubelet"
)

// The timeline of a pod with one init container and a container with a
// readiness probe, with defaults (no jitter): pull 2 s, start 0.5 s, init
// container runs 1 s.
//
//	0     admitted, sandbox and IP; init: Pulling busybox
//	2     init pulled;  2.5 init running
//	3.5   init completed (Initialized); app: Pulling nginx
//	5.5   app pulled;   6.0 app running (phase Running, not Ready); the
//	      sync that follows runs no readiness probe (initialDelay 3 s) but
//	      restarts its period (5 s)
//	11    first readiness probe succeeds: Ready
func TestPhasesAndConditionsTimeline(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	app := ctr("app", "nginx:1.27")
	app.ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80)}},
		InitialDelaySeconds: 3, PeriodSeconds: 5}
	p := pod("web", app)
	p.Spec.InitContainers = []v1.Container{ctr("init", "busybox:1.36")}
	e.create(p, "n1")

	e.at(sec(1))
	got := e.get("web")
	assert.Equal(t, v1.PodPending, got.Status.Phase)
	assert.Equal(t, []string{"PodReadyToStartContainers=True", "Initialized=False", "Ready=False", "ContainersReady=False", "PodScheduled=True"},
		condTypes(got))
	assert.Equal(t, "containers with incomplete status: [init]", cond(got, v1.PodInitialized).Message)
	assert.Equal(t, "ContainersNotInitialized", cond(got, v1.PodInitialized).Reason)
	assert.Equal(t, "containers with unready status: [app]", cond(got, v1.PodReady).Message)
	assert.Equal(t, "waiting:PodInitializing", state(containerStatus(got, "init")))
	assert.Equal(t, "waiting:PodInitializing", state(containerStatus(got, "app")))
	assert.Equal(t, "10.244.0.2", got.Status.PodIP)
	assert.Equal(t, "192.168.0.1", got.Status.HostIP)
	assert.Equal(t, at0(0), *got.Status.StartTime)

	e.at(sec(3))
	got = e.get("web")
	assert.Equal(t, "running", state(containerStatus(got, "init")))
	assert.Equal(t, v1.ConditionFalse, cond(got, v1.PodInitialized).Status)

	e.at(sec(4))
	got = e.get("web")
	assert.Equal(t, "terminated:Completed:0", state(containerStatus(got, "init")))
	assert.True(t, containerStatus(got, "init").Ready)
	assert.Equal(t, v1.ConditionTrue, cond(got, v1.PodInitialized).Status)
	assert.Equal(t, at0(sec(3.5)), cond(got, v1.PodInitialized).LastTransitionTime)
	assert.Equal(t, v1.PodPending, got.Status.Phase)

	e.at(sec(7))
	got = e.get("web")
	assert.Equal(t, v1.PodRunning, got.Status.Phase)
	assert.Equal(t, "running", state(containerStatus(got, "app")))
	assert.Equal(t, at0(sec(6)), containerStatus(got, "app").State.Running.StartedAt)
	assert.False(t, containerStatus(got, "app").Ready)
	assert.True(t, *containerStatus(got, "app").Started)
	assert.Equal(t, v1.ConditionFalse, cond(got, v1.PodReady).Status)

	e.at(sec(10.9))
	assert.Equal(t, v1.ConditionFalse, cond(e.get("web"), v1.PodReady).Status)
	e.at(sec(11))
	got = e.get("web")
	assert.Equal(t, v1.ConditionTrue, cond(got, v1.PodReady).Status)
	assert.Equal(t, v1.ConditionTrue, cond(got, v1.ContainersReady).Status)
	assert.Equal(t, at0(sec(11)), cond(got, v1.PodReady).LastTransitionTime)
	assert.Equal(t, at0(0), cond(got, v1.PodReadyToStartContainers).LastTransitionTime)

	assert.Equal(t, []string{
		`0s Pulling: Pulling image "busybox:1.36"`,
		`2s Pulled: Successfully pulled image "busybox:1.36" in 2s (2s including waiting). Image size: ` + sizeOf("busybox:1.36") + ` bytes.`,
		`2.5s Created: Created container: init`,
		`2.5s Started: Started container init`,
		`3.5s Pulling: Pulling image "nginx:1.27"`,
		`5.5s Pulled: Successfully pulled image "nginx:1.27" in 2s (2s including waiting). Image size: ` + sizeOf("nginx:1.27") + ` bytes.`,
		`6s Created: Created container: app`,
		`6s Started: Started container app`,
	}, e.events("web"))
	// One status write per change: admission, init running, init done,
	// app running, app ready.
	var writes []time.Duration
	for _, r := range e.traces("update/status") {
		if r.Name == "web" {
			writes = append(writes, r.Time)
		}
	}
	assert.Equal(t, []time.Duration{0, sec(2.5), sec(3.5), sec(6), sec(11)}, writes)
}

func sizeOf(image string) string { return strconv.FormatInt(kubelet.ImageSizeBytes(image), 10) }

// The statuses a kubelet writes share what is the same for all its pods
// (the stored objects are read-only): status.hostIPs and the containers'
// started flags. Clients still get their own copies.
func TestStatusesShareTheirNodeParts(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.create(pod("a", ctr("app", "nginx:1.27")), "n1")
	e.create(pod("b", ctr("app", "nginx:1.27")), "n1")
	e.at(sec(30))
	podRes, _ := e.c.API.Resource("pods")
	stored := func(name string) *v1.Pod {
		obj, err := e.c.API.GetCached(podRes, "default", name)
		require.NoError(t, err)
		return obj.(*v1.Pod)
	}
	a, b := stored("a"), stored("b")
	require.Len(t, a.Status.HostIPs, 1)
	assert.Same(t, &a.Status.HostIPs[0], &b.Status.HostIPs[0])
	assert.Same(t, a.Status.ContainerStatuses[0].Started, b.Status.ContainerStatuses[0].Started)
	assert.True(t, *a.Status.ContainerStatuses[0].Started)
	got := e.get("a")
	*got.Status.ContainerStatuses[0].Started = false // the client's copy
	assert.True(t, *b.Status.ContainerStatuses[0].Started)
}

// status.containerStatuses is sorted by container name, whatever the spec
// order (upstream's convertToAPIContainerStatuses sorts them with
// SortedContainerStatuses); init container statuses keep the spec order.
func TestContainerStatusesSortedByName(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("web", "img:1"), ctr("app", "img:1"), ctr("metrics", "img:1"))
	p.Spec.InitContainers = []v1.Container{ctr("zinit", "img:1"), ctr("ainit", "img:1")}
	e.create(p, "n1")
	for _, at := range []time.Duration{sec(1), time.Minute} {
		e.at(at)
		got := e.get("p")
		var regular, inits []string
		for _, s := range got.Status.ContainerStatuses {
			regular = append(regular, s.Name)
		}
		for _, s := range got.Status.InitContainerStatuses {
			inits = append(inits, s.Name)
		}
		assert.Equal(t, []string{"app", "metrics", "web"}, regular, "at %v", at)
		assert.Equal(t, []string{"zinit", "ainit"}, inits, "at %v", at)
	}
}

// A Succeeded pod's Initialized condition carries reason PodCompleted,
// with or without init containers (upstream's
// GeneratePodInitializedCondition, pkg/kubelet/status/generate.go); a
// Failed pod's does not.
func TestTerminalPodConditionReasons(t *testing.T) {
	cases := []struct {
		name, annotation        string
		inits                   bool
		phase                   v1.PodPhase
		initReason, readyReason string
	}{
		{"succeeded", kubelet.AnnotationCompleteAfter, false, v1.PodSucceeded, "PodCompleted", "PodCompleted"},
		{"succeeded with init", kubelet.AnnotationCompleteAfter, true, v1.PodSucceeded, "PodCompleted", "PodCompleted"},
		{"failed", kubelet.AnnotationCrashAfter, false, v1.PodFailed, "", "PodFailed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kubelet.Config{})
			e.node("n1", "4", "8Gi")
			p := pod("p", ctr("c", "img:1"))
			p.Spec.RestartPolicy = v1.RestartPolicyNever
			p.Annotations[tc.annotation+".c"] = "5s"
			if tc.inits {
				p.Spec.InitContainers = []v1.Container{ctr("init", "img:1")}
			}
			e.create(p, "n1")
			e.at(time.Minute)
			got := e.get("p")
			require.Equal(t, tc.phase, got.Status.Phase)
			initialized := cond(got, v1.PodInitialized)
			assert.Equal(t, v1.ConditionTrue, initialized.Status)
			assert.Equal(t, tc.initReason, initialized.Reason)
			assert.Equal(t, tc.readyReason, cond(got, v1.ContainersReady).Reason)
			assert.Equal(t, tc.readyReason, cond(got, v1.PodReady).Reason)
		})
	}
}
