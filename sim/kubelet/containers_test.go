package kubelet_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubesim/kubesim/sim/kubelet"
)

func started(e *env, pod string) []string {
	var out []string
	for _, ev := range e.events(pod) {
		if contains(ev, " Started: ") {
			out = append(out, ev)
		}
	}
	return out
}

// Init containers run one at a time, in order, each to completion; the
// regular containers start after the last one.
func TestInitContainersRunInOrder(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("app", "img:1"), ctr("side", "img:1"))
	p.Spec.InitContainers = []v1.Container{ctr("first", "img:1"), ctr("second", "img:1"), ctr("third", "img:1")}
	p.Annotations[kubelet.AnnotationStartDuration] = "1s"
	p.Annotations[kubelet.AnnotationCompleteAfter+".first"] = "5s"
	p.Annotations[kubelet.AnnotationCompleteAfter+".second"] = "3s"
	p.Annotations[kubelet.AnnotationCompleteAfter+".third"] = "1s"
	e.create(p, "n1")
	e.at(time.Minute)
	// pull 2 s, then: first 2+1 → runs 5 s → 8; second 8+1 → 9, runs 3 → 12;
	// third 13, runs 1 → 14; app 15; side 16.
	assert.Equal(t, []string{"3s Started: Started container first", "9s Started: Started container second",
		"13s Started: Started container third", "15s Started: Started container app", "16s Started: Started container side"}, started(e, "p"))
	got := e.get("p")
	assert.Equal(t, v1.PodRunning, got.Status.Phase)
	for _, n := range []string{"first", "second", "third"} {
		assert.Equal(t, "terminated:Completed:0", state(containerStatus(got, n)), n)
	}
}

// A running init container reports started=true (it has no startup probe:
// upstream's prober manager isContainerStarted) and ready=false; once it
// completed, started=false and ready=true.
func TestInitContainerStartedAndReady(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("app", "img:1"))
	p.Spec.InitContainers = []v1.Container{ctr("init", "img:1")}
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationCompleteAfter+".init"] = "5s"
	e.create(p, "n1")
	e.at(sec(1))
	s := containerStatus(e.get("p"), "init")
	require.Equal(t, "running", state(s))
	require.NotNil(t, s.Started)
	assert.True(t, *s.Started)
	assert.False(t, s.Ready)
	e.at(sec(6))
	s = containerStatus(e.get("p"), "init")
	require.Equal(t, "terminated:Completed:0", state(s))
	assert.False(t, *s.Started)
	assert.True(t, s.Ready)
}

// A failing init container is restarted with back-off (restartPolicy
// Always); with Never the pod fails.
func TestFailingInitContainer(t *testing.T) {
	for _, policy := range []v1.RestartPolicy{v1.RestartPolicyAlways, v1.RestartPolicyNever} {
		t.Run(string(policy), func(t *testing.T) {
			e := newEnv(t, kubelet.Config{})
			e.node("n1", "4", "8Gi")
			p := pod("p", ctr("app", "img:1"))
			p.Spec.RestartPolicy = policy
			p.Spec.InitContainers = []v1.Container{ctr("init", "img:1")}
			p.Annotations[kubelet.AnnotationCrashAfter+".init"] = "1s"
			p.Annotations[kubelet.AnnotationExitCode] = "3"
			e.create(p, "n1")
			e.at(time.Minute)
			got := e.get("p")
			s := containerStatus(got, "init")
			if policy == v1.RestartPolicyNever {
				assert.Equal(t, v1.PodFailed, got.Status.Phase)
				assert.Equal(t, "terminated:Error:3", state(s))
				assert.Equal(t, "waiting:PodInitializing", state(containerStatus(got, "app")))
				return
			}
			assert.Equal(t, v1.PodPending, got.Status.Phase)
			assert.Equal(t, "Init:CrashLoopBackOff", initPhase(got))
			// runs at 2.5, 4 (immediate), 15 (10 s after 5), 36 (20 s after 16): 3 restarts by 60 s
			assert.Equal(t, int32(3), s.RestartCount)
		})
	}
}

func initPhase(p *v1.Pod) string {
	for _, s := range p.Status.InitContainerStatuses {
		if s.State.Waiting != nil && s.State.Waiting.Reason != "PodInitializing" {
			return "Init:" + s.State.Waiting.Reason
		}
	}
	return string(p.Status.Phase)
}

// CrashLoopBackOff: the first restart is immediate, then the back-off is
// 10 s doubling to 300 s, measured from the container's finish.
func TestCrashLoopBackOffDelays(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("c", "img:1"))
	p.Annotations[kubelet.AnnotationCrashAfter] = "1s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	e.create(p, "n1")
	// Starts at 2, 3, 14, 35, 76, 157: the 6th exit is at 158 and the
	// back-off is then 160 s.
	e.at(159 * time.Second)
	got := e.get("p")
	s := containerStatus(got, "c")
	assert.Equal(t, "waiting:CrashLoopBackOff", state(s))
	assert.Equal(t, fmt.Sprintf("back-off 2m40s restarting failed container=c pod=p_default(%s)", got.UID), s.State.Waiting.Message)
	assert.Equal(t, "Error", s.LastTerminationState.Terminated.Reason)
	assert.Equal(t, int32(1), s.LastTerminationState.Terminated.ExitCode)
	assert.Equal(t, at0(158*time.Second), s.LastTerminationState.Terminated.FinishedAt)
	assert.Equal(t, int32(5), s.RestartCount)
	assert.Equal(t, v1.PodRunning, got.Status.Phase)
	assert.Contains(t, e.events("p"), fmt.Sprintf("4s BackOff: Back-off restarting failed container c in pod p_default(%s)", got.UID))

	e.at(30 * time.Minute)
	starts := e.times("containerStarted", "p")
	exits := e.times("containerExited", "p")
	require.GreaterOrEqual(t, len(starts), 10)
	var delays []time.Duration
	for i := 1; i < 10; i++ {
		delays = append(delays, starts[i]-exits[i-1])
	}
	assert.Equal(t, []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 300 * time.Second, 300 * time.Second, 300 * time.Second}, delays)
}

// The back-off resets when the container ran for more than 10 minutes
// (2 × the 5 min maximum) since its last restart.
func TestCrashLoopBackOffResetsAfterTenMinutes(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("c", "img:1"))
	p.Annotations[kubelet.AnnotationCrashAfter] = "1s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	e.create(p, "n1")
	e.at(40 * time.Second) // starts at 2, 3, 14, 35 (back-offs 0, 10, 20)
	require.Len(t, e.times("containerStarted", "p"), 4)
	setAnnotation(e, "p", kubelet.AnnotationCrashAfter, "11m")
	// exit at 36; the next start, at 36+40 = 76, runs 11 min: exit at 736.
	e.at(76*time.Second + 5*time.Minute)
	setAnnotation(e, "p", kubelet.AnnotationCrashAfter, "1s")
	e.at(20 * time.Minute)
	starts := e.times("containerStarted", "p")
	exits := e.times("containerExited", "p")
	require.GreaterOrEqual(t, len(starts), 8)
	assert.Equal(t, 76*time.Second, starts[4], "40 s back-off")
	assert.Equal(t, exits[4], starts[5], "ran 11 min: the back-off expired, restart at once")
	assert.Equal(t, 10*time.Second, starts[6]-exits[5], "and starts again from 10 s")
	assert.Equal(t, 20*time.Second, starts[7]-exits[6])
}

// The kubelet's housekeeping drops a back-off entry 2 × the 5 min maximum
// after its last update (flowcontrol.Backoff.GC, called by
// HandlePodCleanups): a container whose back-off wait outlasts that
// restarts then, and its next back-off starts again from 10 s.
func TestCrashLoopBackOffCollectedTenMinutesAfterItsLastUpdate(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("c", "img:1"))
	p.Annotations[kubelet.AnnotationCrashAfter] = "1s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	e.create(p, "n1")
	// Starts at 2, 3, 14, 35, 76, 157; the exit at 158 waits 160 s: the
	// start at 318 sets the back-off to 300 s.
	e.at(200 * time.Second)
	setAnnotation(e, "p", kubelet.AnnotationCrashAfter, "6m")
	// Runs 318–678: 6 min, less than the 10 min that would expire the
	// back-off, so 300 s more to wait, until 978; but the entry, last
	// updated at 318, is collected at 918: restart then, from 10 s again.
	e.at(700 * time.Second)
	setAnnotation(e, "p", kubelet.AnnotationCrashAfter, "1s")
	e.at(1000 * time.Second)
	starts := e.times("containerStarted", "p")
	require.GreaterOrEqual(t, len(starts), 9)
	assert.Equal(t, []time.Duration{sec(318), sec(918), sec(929)}, starts[6:9])
}

// A start failure (CrashLoopBackOff, an image pull error) is shown in place
// of the container's state only while upstream's ShouldContainerBeRestarted
// says the container is to be restarted (convertToAPIContainerStatuses,
// pkg/kubelet/kubelet_pods.go): never once the pod is being deleted. Then
// a crash-looping container shows its last exit, and one that never ran
// the default waiting reason, without a message.
func TestStartFailuresHiddenWhileThePodIsDeleted(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("crash", "img:1"), ctr("pull", "private/app:1"), ctr("slow", "img:1"), ctr("web", "img:1"))
	p.Annotations[kubelet.AnnotationCrashAfter+".crash"] = "1s"
	p.Annotations[kubelet.AnnotationImagePullError+".pull"] = "pull access denied"
	p.Annotations[kubelet.AnnotationStopDuration+".web"] = "2s"
	p.Annotations[kubelet.AnnotationStopDuration+".slow"] = "20s"
	e.create(p, "n1")
	e.at(time.Minute)
	got := e.get("p")
	require.Equal(t, "waiting:CrashLoopBackOff", state(containerStatus(got, "crash")))
	require.Equal(t, "waiting:ImagePullBackOff", state(containerStatus(got, "pull")))
	require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}))
	// web exits 2 s after the delete; slow still runs: a status written
	// while the pod terminates.
	e.at(time.Minute + sec(3))
	got = e.get("p")
	require.Equal(t, "terminated:Completed:0", state(containerStatus(got, "web")))
	require.Equal(t, "running", state(containerStatus(got, "slow")))
	s := containerStatus(got, "crash")
	require.Equal(t, "terminated:Error:1", state(s))
	require.NotNil(t, s.LastTerminationState.Terminated, "the run before")
	assert.Equal(t, "Error", s.LastTerminationState.Terminated.Reason)
	assert.Less(t, s.LastTerminationState.Terminated.FinishedAt.Time, s.State.Terminated.FinishedAt.Time)
	s = containerStatus(got, "pull")
	require.Equal(t, "waiting:ContainerCreating", state(s))
	assert.Empty(t, s.State.Waiting.Message)
}

// A sidecar whose runs complete (exit 0) is restarted with back-off, but
// its status shows its last exit, not CrashLoopBackOff: upstream's
// convertToAPIContainerStatuses shows no start failure for an init
// container whose last run completed.
func TestCompletedSidecarInBackOffShowsItsExit(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	always := v1.ContainerRestartPolicyAlways
	side := ctr("proxy", "img:1")
	side.RestartPolicy = &always
	p := pod("p", ctr("app", "img:1"))
	p.Spec.InitContainers = []v1.Container{side}
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationCompleteAfter+".proxy"] = "5s"
	e.create(p, "n1")
	// proxy runs 0–5, 5–10, then waits its 10 s back-off until 20.
	e.at(sec(15))
	s := containerStatus(e.get("p"), "proxy")
	assert.Equal(t, "terminated:Completed:0", state(s))
	assert.Equal(t, int32(1), s.RestartCount)
	assert.Contains(t, e.events("p"), fmt.Sprintf("10s BackOff: Back-off restarting failed container proxy in pod p_default(%s)", e.get("p").UID))
}

// A container whose restart fails to pull its image shows the pull error,
// waiting, with its last exit as lastState (convertToAPIContainerStatuses
// moves the terminated state to lastState), not its exit.
func TestPullErrorOfARestartShowsWaiting(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.ImagePullPolicy = v1.PullAlways
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationImagePullDuration] = "1s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationCrashAfter] = "10s"
	e.create(p, "n1")
	e.at(sec(5))
	setAnnotation(e, "p", kubelet.AnnotationImagePullError, "registry down")
	// Exit at 11, immediate restart: its pull fails at 12.
	e.at(sec(12))
	s := containerStatus(e.get("p"), "c")
	require.Equal(t, "waiting:ErrImagePull", state(s))
	assert.Equal(t, `failed to pull image "img:1": registry down`, s.State.Waiting.Message)
	require.NotNil(t, s.LastTerminationState.Terminated)
	assert.Equal(t, int32(1), s.LastTerminationState.Terminated.ExitCode)
	assert.Equal(t, at0(sec(11)), s.LastTerminationState.Terminated.FinishedAt)
	assert.Equal(t, int32(0), s.RestartCount)
}

// The kubelet keeps why a container failed to start in memory (upstream's
// reasonCache): after a crash of its node a container that was in
// CrashLoopBackOff shows its last exit until it runs again.
func TestStartFailureForgottenOnNodeCrash(t *testing.T) {
	e := newEnv(t, kubelet.Config{SandboxDuration: 5 * time.Second})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("c", "img:1"))
	p.Annotations[kubelet.AnnotationCrashAfter] = "1s"
	e.create(p, "n1")
	e.at(time.Minute)
	require.Equal(t, "waiting:CrashLoopBackOff", state(containerStatus(e.get("p"), "c")))
	require.NoError(t, e.c.CrashNode("n1"))
	e.at(time.Minute + sec(10))
	require.NoError(t, e.c.RecoverNode("n1"))
	// The new sandbox takes 5 s: the status written at the recovery shows
	// the exit, not the forgotten back-off.
	e.at(time.Minute + sec(12))
	s := containerStatus(e.get("p"), "c")
	assert.Equal(t, "terminated:Error:1", state(s))
}

// After a node crash the kubelet recreates a pod's sandbox and starts its
// containers again, except as upstream's computePodActions
// (pkg/kubelet/kuberuntime/kuberuntime_manager.go) decides when the
// sandbox changed: a restartPolicy Never pod any of whose containers
// (init containers too) was created gets no new sandbox, so one whose init
// container the crash stopped ends Failed; an OnFailure pod's regular
// containers that had succeeded are not started again.
func TestRecoveryAfterNodeCrashFollowsTheRestartPolicy(t *testing.T) {
	t.Run("Never, crashed while initializing", func(t *testing.T) {
		e := newEnv(t, kubelet.Config{})
		e.node("n1", "4", "8Gi")
		p := pod("p", ctr("app", "img:1"))
		p.Spec.RestartPolicy = v1.RestartPolicyNever
		p.Spec.InitContainers = []v1.Container{ctr("init", "img:1")}
		p.Annotations[kubelet.AnnotationCompleteAfter+".init"] = "1m"
		e.create(p, "n1")
		e.at(sec(30))
		require.Equal(t, "running", state(containerStatus(e.get("p"), "init")))
		require.NoError(t, e.c.CrashNode("n1"))
		e.at(sec(40))
		require.NoError(t, e.c.RecoverNode("n1"))
		e.at(2 * time.Minute)
		got := e.get("p")
		assert.Equal(t, v1.PodFailed, got.Status.Phase)
		init := containerStatus(got, "init")
		assert.Equal(t, "terminated:Unknown:255", state(init))
		assert.Equal(t, int32(0), init.RestartCount)
		assert.Equal(t, "waiting:PodInitializing", state(containerStatus(got, "app")))
		assert.Equal(t, 0, e.c.Kubelet("n1").PodCount(), "its resources are released")
	})
	t.Run("Never, crashed before the regular container was created", func(t *testing.T) {
		e := newEnv(t, kubelet.Config{})
		e.node("n1", "4", "8Gi")
		p := pod("p", ctr("app", "app:2"))
		p.Spec.RestartPolicy = v1.RestartPolicyNever
		p.Spec.InitContainers = []v1.Container{ctr("init", "img:1")}
		p.Annotations[kubelet.AnnotationImagePullDuration+".app"] = "1m"
		e.create(p, "n1")
		e.at(sec(20))
		require.Equal(t, "terminated:Completed:0", state(containerStatus(e.get("p"), "init")))
		require.NoError(t, e.c.CrashNode("n1"))
		e.at(sec(30))
		require.NoError(t, e.c.RecoverNode("n1"))
		e.at(2 * time.Minute)
		// No sandbox and nothing to run: upstream's pod stays Pending.
		got := e.get("p")
		assert.Equal(t, v1.PodPending, got.Status.Phase)
		assert.Equal(t, "waiting:PodInitializing", state(containerStatus(got, "app")))
		// Its deletion ends it Failed (TerminatePod): the initialized pod's
		// container that never ran is reported ContainerStatusUnknown.
		require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}))
		for !e.gone("p") {
			e.c.Engine.Step()
		}
		e.at(e.now())
		final := e.deleted["p"]
		require.NotNil(t, final)
		assert.Equal(t, v1.PodFailed, final.Status.Phase)
		assert.Equal(t, "terminated:ContainerStatusUnknown:137", state(containerStatus(final, "app")))
	})
	t.Run("OnFailure, one container succeeded", func(t *testing.T) {
		e := newEnv(t, kubelet.Config{})
		e.node("n1", "4", "8Gi")
		p := pod("p", ctr("done", "img:1"), ctr("srv", "img:1"))
		p.Spec.RestartPolicy = v1.RestartPolicyOnFailure
		p.Annotations[kubelet.AnnotationCompleteAfter+".done"] = "5s"
		e.create(p, "n1")
		e.at(sec(30))
		require.Equal(t, "terminated:Completed:0", state(containerStatus(e.get("p"), "done")))
		require.NoError(t, e.c.CrashNode("n1"))
		e.at(sec(40))
		require.NoError(t, e.c.RecoverNode("n1"))
		e.at(2 * time.Minute)
		got := e.get("p")
		assert.Equal(t, v1.PodRunning, got.Status.Phase)
		done := containerStatus(got, "done")
		assert.Equal(t, "terminated:Completed:0", state(done))
		assert.Equal(t, int32(0), done.RestartCount)
		srv := containerStatus(got, "srv")
		assert.Equal(t, "running", state(srv))
		assert.Equal(t, int32(1), srv.RestartCount)
		require.NotNil(t, srv.LastTerminationState.Terminated)
		assert.Equal(t, int32(255), srv.LastTerminationState.Terminated.ExitCode)
	})
}

// A pod whose sandbox the kubelet recreated after a node crash is Pending
// while its init containers run again: upstream's getPhase
// (pkg/kubelet/kubelet_pods.go) counts a pending regular init container
// as Pending whatever the regular containers did before, and a pending
// sidecar unless a regular container started in the current sandbox
// (HasAnyActiveRegularContainerStarted).
func TestPodPendingWhileReinitializingAfterNodeCrash(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("app", "img:1"))
	p.Spec.InitContainers = []v1.Container{ctr("init", "img:1")}
	p.Annotations[kubelet.AnnotationCompleteAfter+".init"] = "20s"
	e.create(p, "n1")
	e.at(time.Minute)
	require.Equal(t, v1.PodRunning, e.get("p").Status.Phase)
	require.NoError(t, e.c.CrashNode("n1"))
	e.at(sec(70))
	require.NoError(t, e.c.RecoverNode("n1"))
	e.at(sec(80))
	got := e.get("p")
	require.Equal(t, "running", state(containerStatus(got, "init")))
	assert.Equal(t, v1.PodPending, got.Status.Phase)
	e.at(2 * time.Minute)
	got = e.get("p")
	require.Equal(t, "running", state(containerStatus(got, "app")))
	assert.Equal(t, v1.PodRunning, got.Status.Phase)
}

func setAnnotation(e *env, name, key, value string) {
	e.t.Helper()
	p := e.get(name)
	p.Annotations[key] = value
	_, err := e.cl.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{})
	require.NoError(e.t, err)
}

func TestRestartPolicies(t *testing.T) {
	cases := []struct {
		policy     v1.RestartPolicy
		annotation string
		value      string
		phase      v1.PodPhase
		restarts   bool
		state      string
	}{
		{v1.RestartPolicyAlways, kubelet.AnnotationCompleteAfter, "5s", v1.PodRunning, true, ""},
		{v1.RestartPolicyAlways, kubelet.AnnotationCrashAfter, "5s", v1.PodRunning, true, ""},
		{v1.RestartPolicyOnFailure, kubelet.AnnotationCompleteAfter, "5s", v1.PodSucceeded, false, "terminated:Completed:0"},
		{v1.RestartPolicyOnFailure, kubelet.AnnotationCrashAfter, "5s", v1.PodRunning, true, ""},
		{v1.RestartPolicyNever, kubelet.AnnotationCompleteAfter, "5s", v1.PodSucceeded, false, "terminated:Completed:0"},
		{v1.RestartPolicyNever, kubelet.AnnotationCrashAfter, "5s", v1.PodFailed, false, "terminated:Error:1"},
	}
	for _, tc := range cases {
		t.Run(string(tc.policy)+"/"+tc.annotation, func(t *testing.T) {
			e := newEnv(t, kubelet.Config{})
			e.node("n1", "4", "8Gi")
			p := pod("p", ctr("c", "img:1"))
			p.Spec.RestartPolicy = tc.policy
			p.Annotations[tc.annotation] = tc.value
			e.create(p, "n1")
			e.at(time.Minute)
			got := e.get("p")
			assert.Equal(t, tc.phase, got.Status.Phase)
			s := containerStatus(got, "c")
			if tc.restarts {
				assert.Greater(t, s.RestartCount, int32(0))
			} else {
				assert.Equal(t, int32(0), s.RestartCount)
				assert.Equal(t, tc.state, state(s))
				assert.Equal(t, v1.ConditionFalse, cond(got, v1.PodReady).Status)
				assert.Equal(t, v1.ConditionFalse, cond(got, v1.PodReadyToStartContainers).Status, "sandbox gone")
				assert.Equal(t, 0, e.c.Kubelet("n1").PodCount(), "a finished pod releases its resources")
			}
		})
	}
}

func httpProbe(delay, period, failure int32) *v1.Probe {
	return &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
		InitialDelaySeconds: delay, PeriodSeconds: period, FailureThreshold: failure, SuccessThreshold: 1, TimeoutSeconds: 1}
}

// Readiness failure only flips Ready (after failureThreshold failures) and
// never restarts the container.
func TestReadinessProbeWindow(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.ReadinessProbe = httpProbe(0, 10, 3)
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationNotReadyBetween] = "1m-2m"
	e.create(p, "n1")
	// Probes at 0, 10, ..., 60 (fail), 70 (fail), 80 (3rd failure: not
	// ready), ..., 120 (success: ready).
	e.at(79 * time.Second)
	assert.Equal(t, v1.ConditionTrue, cond(e.get("p"), v1.PodReady).Status)
	e.at(80 * time.Second)
	got := e.get("p")
	assert.Equal(t, v1.ConditionFalse, cond(got, v1.PodReady).Status)
	assert.Equal(t, "containers with unready status: [c]", cond(got, v1.PodReady).Message)
	assert.True(t, e.c.PodServing("default", "p"), "a not-ready container still runs")
	e.at(119 * time.Second)
	assert.Equal(t, v1.ConditionFalse, cond(e.get("p"), v1.PodReady).Status)
	e.at(120 * time.Second)
	got = e.get("p")
	assert.Equal(t, v1.ConditionTrue, cond(got, v1.PodReady).Status)
	assert.Equal(t, int32(0), containerStatus(got, "c").RestartCount)
	assert.Contains(t, e.events("p"), "1m0s Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503")
}

// Liveness failures kill and restart the container after failureThreshold
// consecutive failures.
func TestLivenessProbeRestarts(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.LivenessProbe = httpProbe(5, 10, 3)
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationLivenessFailsAfter] = "30s"
	e.create(p, "n1")
	// The pod's probe ticks are 10 s apart from its admission at 0: probes
	// at 10, 20 (ok), 30, 40, 50 (3rd failure): killed at 50.
	e.at(49 * time.Second)
	assert.Equal(t, int32(0), containerStatus(e.get("p"), "c").RestartCount)
	e.at(50 * time.Second)
	got := e.get("p")
	s := containerStatus(got, "c")
	assert.Equal(t, int32(1), s.RestartCount, "restarted at once (first restart)")
	assert.Equal(t, "running", state(s))
	assert.Equal(t, "Completed", s.LastTerminationState.Terminated.Reason)
	assert.Equal(t, at0(50*time.Second), s.LastTerminationState.Terminated.FinishedAt)
	assert.Contains(t, e.events("p"), "50s Killing: Container c failed liveness probe, will be restarted")
	assert.Contains(t, e.events("p"), "30s Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 500")
}

// A container killed for a failed liveness probe is restarted in the same
// sync as the kill, and upstream's doBackOff checks the back-off against
// the pod status read before the kill: against the container's previous
// exited run (none the first time: no back-off update at all). So the
// restarts after kills 50 s apart stay immediate until the back-off (10,
// 20, 40, 80 s) exceeds the 50 s since the previous kill; then the
// container waits the back-off from its kill.
func TestLivenessKillBackOffFollowsThePreviousRun(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.LivenessProbe = httpProbe(5, 10, 3)
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationLivenessFailsAfter] = "30s"
	e.create(p, "n1")
	// Each run starts on one of the pod's probe ticks (every 10 s from 0)
	// and is killed 50 s later (probes at +30, +40, +50). Kill 1 (50): no
	// previous run, restart at once. Kill 2 (100): since 50 ≥ no
	// back-off, at once, back-off 10 s. Kills 3–5 (150, 200, 250): 50 s ≥
	// 10, 20, 40 s, at once (back-off 20, 40, 80 s). Kill 6 (300): 50 s <
	// 80 s: CrashLoopBackOff until 300 + 80 = 380.
	e.at(sec(370))
	s := containerStatus(e.get("p"), "c")
	assert.Equal(t, "waiting:CrashLoopBackOff", state(s))
	assert.Contains(t, s.State.Waiting.Message, "back-off 1m20s restarting failed container=c")
	e.at(sec(390))
	assert.Equal(t, []time.Duration{0, sec(50), sec(100), sec(150), sec(200), sec(250), sec(380)}, e.times("containerStarted", "p"))
	assert.Equal(t, int32(6), containerStatus(e.get("p"), "c").RestartCount)
}

// A startup probe holds liveness and readiness back; when it fails
// failureThreshold times the container is killed and restarted.
func TestStartupProbe(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.StartupProbe = httpProbe(0, 10, 3)
	c.LivenessProbe = httpProbe(0, 10, 1)
	c.ReadinessProbe = httpProbe(0, 10, 1)
	ok := pod("ok", c)
	ok.Annotations[kubelet.AnnotationStartDuration] = "0s"
	ok.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	ok.Annotations[kubelet.AnnotationStartupDuration] = "15s"
	e.create(ok, "n1")
	slow := pod("slow", *c.DeepCopy())
	slow.Annotations[kubelet.AnnotationStartDuration] = "0s"
	slow.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	slow.Annotations[kubelet.AnnotationStartupDuration] = "40s"
	e.create(slow, "n1")

	// ok: startup probes on the pod's ticks, 10 (fail), 20 (success):
	// started and ready at 20; the liveness probe (failure threshold 1)
	// did not kill it.
	e.at(19 * time.Second)
	s := containerStatus(e.get("ok"), "c")
	assert.False(t, *s.Started)
	assert.False(t, s.Ready)
	e.at(20 * time.Second)
	s = containerStatus(e.get("ok"), "c")
	assert.True(t, *s.Started)
	assert.True(t, s.Ready)
	assert.Equal(t, int32(0), s.RestartCount)

	// slow: startup fails at 10, 20, 30 → killed at 30, restarted.
	e.at(30 * time.Second)
	assert.Contains(t, e.events("slow"), "30s Killing: Container c failed startup probe, will be restarted")
	assert.Equal(t, int32(1), containerStatus(e.get("slow"), "c").RestartCount)
}

// The readiness probe triggered when the startup probe succeeds still
// honours its own initialDelaySeconds (upstream's worker.doProbe skips any
// run, manual or periodic, before it): the container is not ready before.
func TestReadinessAfterStartupWaitsForItsInitialDelay(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.StartupProbe = httpProbe(0, 5, 3)
	c.ReadinessProbe = httpProbe(30, 10, 3)
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationStartupDuration] = "8s"
	e.create(p, "n1")
	// Startup probes on the pod's ticks, 5 (fail), 10 (success): started
	// at 10; the readiness probe runs then (its period restarts) but not
	// before its initial delay: its first run is at 30.
	e.at(sec(29))
	s := containerStatus(e.get("p"), "c")
	assert.True(t, *s.Started)
	assert.False(t, s.Ready)
	e.at(sec(30))
	got := e.get("p")
	assert.True(t, containerStatus(got, "c").Ready)
	assert.Equal(t, at0(sec(30)), cond(got, v1.PodReady).LastTransitionTime)
}

// An application that is still starting (AnnotationStartupDuration)
// accepts no connections: PodServing turns true, and the serving observers
// hear of it, exactly when the startup duration has passed since the
// container's start, and again after each restart.
func TestStartupDurationDelaysServing(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	changes := e.servingChanges("n1")
	p := pod("p", ctr("c", "img:1"))
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationStartupDuration] = "3s"
	p.Annotations[kubelet.AnnotationCrashAfter] = "10s"
	e.create(p, "n1")
	e.at(sec(2.999))
	assert.False(t, e.c.PodServing("default", "p"), "running, application not started yet")
	e.at(sec(3))
	assert.True(t, e.c.PodServing("default", "p"))
	// Crash at 10 s, restarted at once: serving again at 13 s.
	e.at(sec(14))
	assert.Equal(t, []servingChange{{sec(3), "p", true}, {sec(10), "p", false}, {sec(13), "p", true}}, *changes)
}

// Graceful termination: preStop, then the stop signal; never longer than
// the grace period plus the one-time 2 s extension after a preStop hook;
// then the kubelet writes the terminal status and deletes the pod.
func TestGracefulTermination(t *testing.T) {
	cases := []struct {
		name      string
		prestop   string // annotation
		sleep     int64  // lifecycle.preStop.sleep.seconds
		stop      string
		grace     int64
		wantGone  time.Duration // after the delete
		wantExit  int32
		wantPhase v1.PodPhase
	}{
		{name: "no hook", grace: 30, wantGone: 0, wantPhase: v1.PodSucceeded},
		{name: "annotation hook", prestop: "10s", grace: 30, wantGone: 10 * time.Second, wantPhase: v1.PodSucceeded},
		{name: "sleep hook", sleep: 7, stop: "3s", grace: 30, wantGone: 10 * time.Second, wantPhase: v1.PodSucceeded},
		{name: "slow process killed", stop: "60s", grace: 30, wantGone: 30 * time.Second, wantExit: 137, wantPhase: v1.PodFailed},
		{name: "hook past grace gets 2s", prestop: "50s", stop: "5s", grace: 30, wantGone: 32 * time.Second, wantExit: 137, wantPhase: v1.PodFailed},
		{name: "hook past grace, quick exit", prestop: "50s", stop: "1s", grace: 30, wantGone: 31 * time.Second, wantPhase: v1.PodSucceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kubelet.Config{})
			e.node("n1", "4", "8Gi")
			c := ctr("c", "img:1")
			if tc.sleep > 0 {
				c.Lifecycle = &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: tc.sleep}}}
			}
			p := pod("p", c)
			p.Spec.TerminationGracePeriodSeconds = &tc.grace
			if tc.prestop != "" {
				p.Annotations[kubelet.AnnotationPreStopDuration] = tc.prestop
			}
			if tc.stop != "" {
				p.Annotations[kubelet.AnnotationStopDuration] = tc.stop
			}
			e.create(p, "n1")
			e.at(time.Minute)
			require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}))
			for !e.gone("p") {
				e.c.Engine.Step()
			}
			assert.Equal(t, time.Minute+tc.wantGone, e.now())
			e.at(e.now()) // deliver the watch events of this instant
			final := e.deleted["p"]
			require.NotNil(t, final)
			s := containerStatus(final, "c")
			require.NotNil(t, s.State.Terminated, "final status written before the delete: %v", state(s))
			assert.Equal(t, tc.wantExit, s.State.Terminated.ExitCode)
			assert.Equal(t, tc.wantPhase, final.Status.Phase)
			assert.Contains(t, e.events("p"), "1m0s Killing: Stopping container c")
			assert.Equal(t, 0, e.c.Kubelet("n1").PodCount())
			// Regression: the watch events after the termination (the final
			// status) used to start a second one.
			e.at(e.now() + time.Second)
			assert.Equal(t, []time.Duration{time.Minute}, e.times("terminating", "p"))
			assert.Equal(t, []time.Duration{time.Minute + tc.wantGone}, e.times("terminated", "p"))
		})
	}
}

// A second delete with a shorter grace period, while the pod's containers
// are stopping, kills them again with the shorter grace, counted from when
// the kubelet sees it: upstream's UpdatePod
// (pkg/kubelet/pod_workers.go) takes calculateEffectiveGracePeriod's
// shorter value (never below 1 s), cancels the terminating sync and runs
// SyncTerminatingPod again, whose killContainer
// (pkg/kubelet/kuberuntime/kuberuntime_container.go) records Killing, runs
// the preStop hook again (the one cut short by the cancellation fails:
// FailedPreStopHook), sends the stop signal and kills after what is left
// of the grace, at least 2 s. A process that already had the stop signal
// goes on exiting on its own schedule.
func TestShorterGraceKillsAgain(t *testing.T) {
	cases := []struct {
		name       string
		prestop    string // annotation
		stop       string
		second     int64         // grace of the second delete, 10 s after the first
		wantGone   time.Duration // after the first delete
		wantExit   int32
		wantEvents []string
	}{
		{name: "slow process killed sooner", stop: "60s", second: 5, wantGone: 15 * time.Second, wantExit: 137,
			wantEvents: []string{"1m0s Killing: Stopping container c", "1m10s Killing: Stopping container c"}},
		{name: "signalled process exits on its own schedule", stop: "12s", second: 5, wantGone: 12 * time.Second,
			wantEvents: []string{"1m0s Killing: Stopping container c", "1m10s Killing: Stopping container c"}},
		{name: "at least 2 s", stop: "60s", second: 1, wantGone: 12 * time.Second, wantExit: 137,
			wantEvents: []string{"1m0s Killing: Stopping container c", "1m10s Killing: Stopping container c"}},
		{name: "preStop cut short runs again", prestop: "20s", stop: "3s", second: 5, wantGone: 17 * time.Second, wantExit: 137,
			wantEvents: []string{"1m0s Killing: Stopping container c", "1m10s FailedPreStopHook: PreStopHook failed",
				"1m10s Killing: Stopping container c"}},
		{name: "preStop done, process signalled", prestop: "4s", stop: "20s", second: 5, wantGone: 16 * time.Second, wantExit: 137,
			wantEvents: []string{"1m0s Killing: Stopping container c", "1m10s Killing: Stopping container c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kubelet.Config{})
			e.node("n1", "4", "8Gi")
			p := pod("p", ctr("c", "img:1"))
			if tc.prestop != "" {
				p.Annotations[kubelet.AnnotationPreStopDuration] = tc.prestop
			}
			p.Annotations[kubelet.AnnotationStopDuration] = tc.stop
			e.create(p, "n1")
			e.at(time.Minute)
			pods := e.cl.CoreV1().Pods("default")
			require.NoError(t, pods.Delete(ctx, "p", metav1.DeleteOptions{}))
			e.at(time.Minute + 10*time.Second)
			require.NoError(t, pods.Delete(ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: &tc.second}))
			for !e.gone("p") {
				e.c.Engine.Step()
			}
			assert.Equal(t, time.Minute+tc.wantGone, e.now())
			e.at(e.now())
			final := e.deleted["p"]
			require.NotNil(t, final)
			s := containerStatus(final, "c")
			require.NotNil(t, s.State.Terminated, "final status written before the delete: %v", state(s))
			assert.Equal(t, tc.wantExit, s.State.Terminated.ExitCode)
			assert.Equal(t, tc.wantEvents, eventsFrom(e.events("p"), "1m"))
			assert.Equal(t, []time.Duration{time.Minute}, e.times("terminating", "p"))
			assert.Equal(t, []time.Duration{time.Minute + 10*time.Second}, e.times("graceShortened", "p"))
		})
	}
}

// eventsFrom keeps the events whose time starts with prefix.
func eventsFrom(events []string, prefix string) []string {
	var out []string
	for _, ev := range events {
		if strings.HasPrefix(ev, prefix) {
			out = append(out, ev)
		}
	}
	return out
}

// A force delete (grace 0) of a pod whose containers are stopping: the
// API server writes the pod with deletionGracePeriodSeconds 0 before it
// removes it, so the kubelet first shortens the grace (to 1 s, the least
// calculateEffectiveGracePeriod gives) and kills again, then sees the pod
// gone and kills what still runs at once.
func TestForceDeleteOfATerminatingPod(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("c", "img:1"))
	p.Annotations[kubelet.AnnotationStopDuration] = "60s"
	e.create(p, "n1")
	e.at(time.Minute)
	pods := e.cl.CoreV1().Pods("default")
	require.NoError(t, pods.Delete(ctx, "p", metav1.DeleteOptions{}))
	e.at(time.Minute + 10*time.Second)
	require.NoError(t, pods.Delete(ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}))
	assert.True(t, e.gone("p"))
	e.at(time.Minute + 20*time.Second)
	assert.Equal(t, []string{"1m0s Killing: Stopping container c", "1m10s Killing: Stopping container c"}, eventsFrom(e.events("p"), "1m"))
	shortened := e.traces("graceShortened")
	require.Len(t, shortened, 1)
	assert.Equal(t, "deletion grace period 30s → 1s: stopping containers again", shortened[0].Msg)
	assert.Equal(t, []time.Duration{time.Minute + 10*time.Second}, e.times("containerKilled", "p"))
	assert.Equal(t, 0, e.c.Kubelet("n1").PodCount())
}

// Readiness probes keep running while a deleted pod's containers stop
// (upstream's worker.doProbe ends only liveness and startup probes on a
// deletion), so a container can turn not ready during its shutdown.
func TestReadinessProbedDuringTermination(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.ReadinessProbe = httpProbe(0, 10, 1)
	c.LivenessProbe = httpProbe(0, 10, 1)
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationStopDuration] = "25s"
	p.Annotations[kubelet.AnnotationNotReadyBetween] = "65s-2m"
	p.Annotations[kubelet.AnnotationLivenessFailsAfter] = "65s"
	e.create(p, "n1")
	e.at(time.Minute)
	require.Equal(t, v1.ConditionTrue, cond(e.get("p"), v1.PodReady).Status)
	require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}))
	// Readiness probe at 70 fails (threshold 1): not ready while stopping;
	// the liveness probe no longer runs, so nothing kills the container.
	e.at(sec(69))
	assert.Equal(t, v1.ConditionTrue, cond(e.get("p"), v1.PodReady).Status)
	e.at(sec(70))
	got := e.get("p")
	assert.Equal(t, v1.ConditionFalse, cond(got, v1.PodReady).Status)
	assert.Equal(t, "running", state(containerStatus(got, "c")))
	e.at(sec(86))
	assert.True(t, e.gone("p"))
	assert.Equal(t, "terminated:Completed:0", state(containerStatus(e.deleted["p"], "c")))
	for _, ev := range e.events("p") {
		assert.NotContains(t, ev, "Liveness probe failed")
	}
}

// A pod deleted before its containers started is finished at once: its
// containers are reported ContainerStatusUnknown and it is Failed.
func TestDeleteBeforeStart(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.create(pod("p", ctr("c", "img:1")), "n1")
	e.at(sec(1))
	require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}))
	for !e.gone("p") {
		e.c.Engine.Step()
	}
	assert.Equal(t, sec(1), e.now())
	e.at(e.now())
	final := e.deleted["p"]
	require.NotNil(t, final)
	assert.Equal(t, "terminated:ContainerStatusUnknown:137", state(containerStatus(final, "c")))
	assert.Equal(t, v1.PodFailed, final.Status.Phase)
}

// A pod deleted before it initialized: only the init containers up to the
// last one that ran (at least the first) are reported terminated with
// ContainerStatusUnknown; the others, and the regular containers, stay
// waiting; the phase is Failed (upstream's status manager TerminatePod,
// pkg/kubelet/status/status_manager.go).
func TestDeleteBeforeInitialized(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("app", "img:1"))
	p.Spec.InitContainers = []v1.Container{ctr("first", "img:1"), ctr("second", "img:1")}
	p.Annotations[kubelet.AnnotationImagePullDuration] = "10s"
	e.create(p, "n1")
	e.at(sec(1))
	require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}))
	for !e.gone("p") {
		e.c.Engine.Step()
	}
	e.at(e.now())
	final := e.deleted["p"]
	require.NotNil(t, final)
	assert.Equal(t, "terminated:ContainerStatusUnknown:137", state(containerStatus(final, "first")))
	assert.Equal(t, "waiting:PodInitializing", state(containerStatus(final, "second")))
	assert.Equal(t, "waiting:PodInitializing", state(containerStatus(final, "app")))
	assert.Equal(t, v1.PodFailed, final.Status.Phase)
}

// A pod terminated before its containers ran keeps the conditions of the
// phase its containers gave (Pending: ContainersNotReady, naming the
// containers), not those of a Failed pod: upstream generates the
// conditions in generateAPIPodStatus, and the status manager's
// TerminatePod (pkg/kubelet/status/status_manager.go) then marks the
// containers that never ran ContainerStatusUnknown and turns Pending into
// Failed without generating them again.
func TestPodTerminatedBeforeRunningKeepsItsConditions(t *testing.T) {
	cases := []struct {
		name               string
		inits              []string
		wantReadyMsg       string
		wantInitialized    v1.ConditionStatus
		wantInitializedMsg string
	}{
		{name: "no init containers", wantReadyMsg: "containers with unready status: [b a]", wantInitialized: v1.ConditionTrue},
		{name: "init containers", inits: []string{"first", "second"}, wantReadyMsg: "containers with unready status: [b a]",
			wantInitialized: v1.ConditionFalse, wantInitializedMsg: "containers with incomplete status: [first second]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kubelet.Config{})
			e.node("n1", "4", "8Gi")
			p := pod("p", ctr("b", "img:1"), ctr("a", "img:1"))
			for _, name := range tc.inits {
				p.Spec.InitContainers = append(p.Spec.InitContainers, ctr(name, "img:1"))
			}
			p.Annotations[kubelet.AnnotationImagePullDuration] = "10s"
			e.create(p, "n1")
			e.at(sec(1))
			require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}))
			for !e.gone("p") {
				e.c.Engine.Step()
			}
			e.at(e.now())
			final := e.deleted["p"]
			require.NotNil(t, final)
			require.Equal(t, v1.PodFailed, final.Status.Phase)
			for _, ct := range []v1.PodConditionType{v1.ContainersReady, v1.PodReady} {
				c := cond(final, ct)
				assert.Equal(t, v1.ConditionFalse, c.Status, "%s", ct)
				assert.Equal(t, "ContainersNotReady", c.Reason, "%s", ct)
				assert.Equal(t, tc.wantReadyMsg, c.Message, "%s", ct)
			}
			initialized := cond(final, v1.PodInitialized)
			assert.Equal(t, tc.wantInitialized, initialized.Status)
			assert.Equal(t, tc.wantInitializedMsg, initialized.Message)
		})
	}
}

// A sidecar (init container with restartPolicy Always) starts before the
// next init container and keeps running next to the regular containers;
// the pod is Ready only when it is ready too.
func TestSidecarContainer(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	always := v1.ContainerRestartPolicyAlways
	side := ctr("proxy", "img:1")
	side.RestartPolicy = &always
	side.ReadinessProbe = httpProbe(0, 10, 1)
	p := pod("p", ctr("app", "img:1"))
	p.Spec.InitContainers = []v1.Container{side, ctr("migrate", "img:1")}
	p.Annotations[kubelet.AnnotationStartDuration] = "1s"
	p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
	p.Annotations[kubelet.AnnotationNotReadyBetween+".proxy"] = "0s-15s"
	e.create(p, "n1")
	e.at(time.Minute)
	// proxy starts at 1; migrate 2, runs 1 s, done at 3; app starts at 4.
	assert.Equal(t, []string{"1s Started: Started container proxy", "2s Started: Started container migrate", "4s Started: Started container app"}, started(e, "p"))
	got := e.get("p")
	assert.Equal(t, v1.PodRunning, got.Status.Phase)
	assert.Equal(t, "running", state(containerStatus(got, "proxy")))
	assert.Equal(t, "terminated:Completed:0", state(containerStatus(got, "migrate")))
	assert.Equal(t, v1.ConditionTrue, cond(got, v1.PodReady).Status)
	// The proxy's readiness is good from 15 s. It is probed at its start
	// (1) and at each of the pod's syncs while it is not ready (migrate's
	// start at 2 and exit at 3, app's start at 4), then a period after the
	// last: 14 (fails), 24: the pod became Ready then, not when the app
	// started.
	assert.Equal(t, at0(24*time.Second), cond(got, v1.PodReady).LastTransitionTime)
}

// A sidecar killed for a failed probe is announced as an init container
// and without "will be restarted" (it always is), as upstream's
// computeInitContainerActions words it
// (pkg/kubelet/kuberuntime/kuberuntime_container.go).
func TestSidecarProbeKillMessage(t *testing.T) {
	for _, kind := range []string{"liveness", "startup"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kubelet.Config{})
			e.node("n1", "4", "8Gi")
			always := v1.ContainerRestartPolicyAlways
			side := ctr("proxy", "img:1")
			side.RestartPolicy = &always
			p := pod("p", ctr("app", "img:1"))
			p.Spec.InitContainers = []v1.Container{side}
			p.Annotations[kubelet.AnnotationStartDuration] = "0s"
			p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
			if kind == "liveness" {
				p.Spec.InitContainers[0].LivenessProbe = httpProbe(0, 10, 1)
				p.Annotations[kubelet.AnnotationLivenessFailsAfter+".proxy"] = "15s"
			} else {
				p.Spec.InitContainers[0].StartupProbe = httpProbe(0, 10, 1)
				p.Annotations[kubelet.AnnotationStartupDuration+".proxy"] = "1h"
			}
			e.create(p, "n1")
			e.at(time.Minute)
			var kills []string
			for _, ev := range e.events("p") {
				if contains(ev, " Killing: ") {
					kills = append(kills, ev[strings.Index(ev, "Killing: "):])
				}
			}
			require.NotEmpty(t, kills)
			assert.Equal(t, "Killing: Init container proxy failed "+kind+" probe", kills[0])
			assert.Greater(t, containerStatus(e.get("p"), "proxy").RestartCount, int32(0))
		})
	}
}

// When the pod is killed, sidecars stop after the regular containers, in
// reverse spec order: after its preStop hook each sidecar waits, at most
// what is left of the grace period, until the regular containers and the
// next sidecar exited (upstream's terminationOrdering,
// pkg/kubelet/kuberuntime/kuberuntime_termination_order.go).
func TestSidecarsStopAfterTheRegularContainers(t *testing.T) {
	cases := []struct {
		name     string
		appStop  string
		wantExit map[string]time.Duration // after the delete
	}{
		// app exits 5 s after the stop signal; logs then proxy follow.
		{"in order", "5s", map[string]time.Duration{"app": sec(5), "logs": sec(8), "proxy": sec(8)}},
		// app is killed when the grace period (30 s) runs out; the
		// sidecars' waits end then too, each with the 2 s minimum: logs
		// (3 s to stop) is killed at 32, proxy stops at once at 30.
		{"grace runs out", "60s", map[string]time.Duration{"app": sec(30), "logs": sec(32), "proxy": sec(30)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kubelet.Config{})
			e.node("n1", "4", "8Gi")
			always := v1.ContainerRestartPolicyAlways
			proxy, logs := ctr("proxy", "img:1"), ctr("logs", "img:1")
			proxy.RestartPolicy, logs.RestartPolicy = &always, &always
			p := pod("p", ctr("app", "img:1"))
			p.Spec.InitContainers = []v1.Container{proxy, logs}
			p.Annotations[kubelet.AnnotationStopDuration+".app"] = tc.appStop
			p.Annotations[kubelet.AnnotationStopDuration+".logs"] = "3s"
			e.create(p, "n1")
			e.at(time.Minute)
			require.Equal(t, v1.PodRunning, e.get("p").Status.Phase)
			require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}))
			e.at(2 * time.Minute)
			got := map[string]time.Duration{}
			for _, r := range e.traces("containerExited") {
				for name := range tc.wantExit {
					if r.Name == "p" && contains(r.Msg, "container "+name+" ") {
						got[name] = r.Time - time.Minute
					}
				}
			}
			assert.Equal(t, tc.wantExit, got)
			assert.True(t, e.gone("p"))
		})
	}
}

// Readiness gates: the pod is Ready only when every gate's condition is True.
func TestReadinessGates(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("c", "img:1"))
	p.Spec.ReadinessGates = []v1.PodReadinessGate{{ConditionType: "example.com/lb-ready"}}
	e.create(p, "n1")
	e.at(10 * time.Second)
	got := e.get("p")
	assert.Equal(t, v1.ConditionTrue, cond(got, v1.ContainersReady).Status)
	assert.Equal(t, v1.ConditionFalse, cond(got, v1.PodReady).Status)
	assert.Equal(t, "ReadinessGatesNotReady", cond(got, v1.PodReady).Reason)
	assert.Equal(t, `corresponding condition of pod readiness gate "example.com/lb-ready" does not exist.`, cond(got, v1.PodReady).Message)

	got.Status.Conditions = append(got.Status.Conditions, v1.PodCondition{Type: "example.com/lb-ready", Status: v1.ConditionTrue})
	_, err := e.c.Client("lb-controller").CoreV1().Pods("default").UpdateStatus(ctx, got, metav1.UpdateOptions{})
	require.NoError(t, err)
	// The kubelet sees the gate's condition change and reports Ready,
	// keeping the condition it does not own.
	e.at(11 * time.Second)
	got = e.get("p")
	assert.Equal(t, v1.ConditionTrue, cond(got, "example.com/lb-ready").Status)
	assert.Equal(t, v1.ConditionTrue, cond(got, v1.PodReady).Status)
}

// A serving pod stops serving, and its observers hear of it, the moment
// its object is force-deleted (the kubelet kills what runs) and the moment
// its node is deleted (the machine stops).
func TestServingEndsWithThePodOrTheNode(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	changes := e.servingChanges("n1")
	for _, name := range []string{"a", "b"} {
		p := pod(name, ctr("c", "img:1"))
		p.Annotations[kubelet.AnnotationStartDuration] = "0s"
		p.Annotations[kubelet.AnnotationImagePullDuration] = "0s"
		e.create(p, "n1")
	}
	e.at(sec(1))
	require.True(t, e.c.PodServing("default", "a"))
	require.True(t, e.c.PodServing("default", "b"))

	zero := int64(0)
	require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "a", metav1.DeleteOptions{GracePeriodSeconds: &zero}))
	e.at(sec(2))
	require.NoError(t, e.c.DeleteNode("n1"))
	e.at(sec(3))
	assert.False(t, e.c.PodServing("default", "a"))
	assert.False(t, e.c.PodServing("default", "b"))
	assert.Equal(t, []servingChange{{0, "a", true}, {0, "b", true}, {sec(1), "a", false}, {sec(2), "b", false}}, *changes)
}
