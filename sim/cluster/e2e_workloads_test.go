package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubesim/kubesim/controllers/deployment"
	deploymentutil "github.com/kubesim/kubesim/controllers/deployment/util"
	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/controllers/replicaset"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/kubelet"
	"github.com/kubesim/kubesim/sim/simtest"
)

// TestE2EReplicaSetCrashLoopKeepsThePod: a ReplicaSet pod whose container
// exits 5 s after every start is restarted in place by the real kubelet
// with §8.3's CrashLoopBackOff (first restart at once, then 10 s doubling
// to 300 s, measured from the exit; each start takes the default 0.5 s):
//
//	starts 2.5 (pull 2 s + 0.5 s), 8, 23.5, 49, 94.5, 180, 345.5, 651, 956.5, 1262 s
//
// The pod keeps its name, UID and owner; restartCount counts the
// restarts; the ReplicaSet never replaces it (a crashing pod is active),
// only its readyReplicas follows the container.
func TestE2EReplicaSetCrashLoopKeepsThePod(t *testing.T) {
	e := newE2E(t, 2, cluster.Config{Kubelet: exact})
	e.addNodes("n1", "n2", "n3")
	rs := simtest.ReplicaSet("default", "crasher", 1, map[string]string{"app": "crasher"}, "crasher:1")
	rs.Spec.Template.Annotations = map[string]string{kubelet.AnnotationCrashAfter: "5s"}
	rs, err := e.cl.AppsV1().ReplicaSets("default").Create(bg, rs, metav1.CreateOptions{})
	require.NoError(t, err)
	e.at(3 * time.Second)
	pods := e.pods("app=crasher")
	require.Len(t, pods, 1)
	first := pods[0]

	// Mid-back-off: waiting 20 s after the exit at 28.5 s.
	e.at(30 * time.Second)
	p := e.pods("app=crasher")[0]
	s := p.Status.ContainerStatuses[0]
	require.NotNil(t, s.State.Waiting)
	assert.Equal(t, "CrashLoopBackOff", s.State.Waiting.Reason)
	assert.Equal(t, fmt.Sprintf("back-off 20s restarting failed container=app pod=%s_default(%s)", p.Name, p.UID), s.State.Waiting.Message)
	assert.Equal(t, int32(2), s.RestartCount)
	assert.Equal(t, int32(1), s.LastTerminationState.Terminated.ExitCode)
	assert.False(t, podutil.IsPodReady(p))
	assert.Equal(t, v1.PodRunning, p.Status.Phase)
	got, err := e.cl.AppsV1().ReplicaSets("default").Get(bg, "crasher", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []int32{1, 0, 0}, []int32{got.Status.Replicas, got.Status.ReadyReplicas, got.Status.AvailableReplicas})

	e.at(22 * time.Minute)
	ms := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	starts := e.times("kubelet/"+first.Spec.NodeName, "containerStarted", first.Name)
	assert.Equal(t, []time.Duration{ms(2.5), ms(8), ms(23.5), ms(49), ms(94.5), ms(180), ms(345.5), ms(651), ms(956.5), ms(1262)}, starts)
	exits := e.times("kubelet/"+first.Spec.NodeName, "containerExited", first.Name)
	require.Len(t, exits, len(starts))
	var backOffs []time.Duration
	for i := 1; i < len(starts); i++ {
		assert.Equal(t, starts[i-1]+5*time.Second, exits[i-1], "runs 5 s")
		backOffs = append(backOffs, starts[i]-exits[i-1]-500*time.Millisecond)
	}
	assert.Equal(t, []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 300 * time.Second, 300 * time.Second, 300 * time.Second}, backOffs)

	pods = e.pods("app=crasher")
	require.Len(t, pods, 1, "never replaced")
	p = pods[0]
	assert.Equal(t, first.UID, p.UID)
	ref := metav1.GetControllerOf(p)
	require.NotNil(t, ref)
	assert.Equal(t, rs.UID, ref.UID, "still owned by the ReplicaSet")
	assert.Equal(t, int32(len(starts)-1), p.Status.ContainerStatuses[0].RestartCount)
	assert.Len(t, e.records(replicaset.ComponentName, "scaledUp"), 1, "one pod ever created")
}

// TestE2EReplicaSetReplacesDeletedAndKilled: a killed container is
// restarted in place (first restart at once, restartCount 1, same pod); a
// deleted pod is replaced at the instant it gets its deletionTimestamp,
// and the kubelet removes the deleted pod at once (no preStop, the process
// exits on the stop signal).
func TestE2EReplicaSetReplacesDeletedAndKilled(t *testing.T) {
	e := newE2E(t, 3, cluster.Config{Kubelet: exact})
	e.addNodes("n1", "n2", "n3")
	rs := simtest.ReplicaSet("default", "web", 3, map[string]string{"app": "web"}, "web:1")
	_, err := e.cl.AppsV1().ReplicaSets("default").Create(bg, rs, metav1.CreateOptions{})
	require.NoError(t, err)
	e.at(time.Minute)
	pods := e.pods("app=web")
	require.Len(t, pods, 3)
	assert.Equal(t, "n1=1 n2=1 n3=1", perNode(pods))

	killed := pods[0]
	e.c.Inject(cluster.Fault{At: time.Minute, Action: cluster.FaultKillContainer, Namespace: "default", Pod: killed.Name})
	e.at(time.Minute + time.Second)
	p := e.pod(killed.Name)
	assert.Equal(t, killed.UID, p.UID)
	assert.Equal(t, int32(1), p.Status.ContainerStatuses[0].RestartCount)
	assert.Equal(t, int32(137), p.Status.ContainerStatuses[0].LastTerminationState.Terminated.ExitCode)
	assert.Equal(t, []time.Duration{time.Minute + 500*time.Millisecond}, e.times("", "containerStarted", killed.Name)[1:], "restarted at once (+0.5 s start)")
	assert.Len(t, e.pods("app=web"), 3, "no replacement for a restart")

	deleted := pods[1]
	const del = 2 * time.Minute
	e.c.Engine.At(del, "delete pod", func() {
		require.NoError(t, e.cl.CoreV1().Pods("default").Delete(bg, deleted.Name, metav1.DeleteOptions{}))
	})
	e.at(del + time.Second)
	scaled := e.records(replicaset.ComponentName, "scaledUp")
	require.Len(t, scaled, 2)
	assert.Equal(t, del, scaled[1].Time, "replacement created at the deletion")
	assert.Contains(t, scaled[1].Msg, "created 1 pods (2 active, want 3)")
	assert.Equal(t, []time.Duration{del}, e.times("kubelet/"+deleted.Spec.NodeName, "podDeleted", deleted.Name), "gone at once")
	pods = e.pods("app=web")
	require.Len(t, pods, 3)
	assert.NotContains(t, names(pods), deleted.Name)
	for _, p := range pods {
		assert.True(t, podutil.IsPodReady(p), p.Name)
	}
	assert.Equal(t, "n1=1 n2=1 n3=1", perNode(pods), "the replacement lands where there is room")
	var repl *v1.Pod
	for _, p := range pods {
		if p.CreationTimestamp.Time.UTC().Equal(at0(del)) {
			repl = p
		}
	}
	require.NotNil(t, repl, "the replacement")
	assert.Equal(t, deleted.Spec.NodeName, repl.Spec.NodeName)
	assert.Equal(t, []time.Duration{del + 500*time.Millisecond}, e.times("", "containerStarted", repl.Name), "image cached on the node: 0.5 s start")
}

// TestE2EProgressDeadlineAndRollback: a rollout to an image whose
// readiness probe never passes (kubesim.dev/startup-duration 24h: the
// application never starts) stalls with the real kubelet: 3 replicas ⇒
// maxSurge 1, maxUnavailable 0, so one new pod is created and never Ready
// while the 3 old ones keep serving. Progressing turns False
// (ProgressDeadlineExceeded) at the last progress + 600 s + 1 s; kubectl
// rollout undo (util.Rollback) restores the old template, whose ReplicaSet
// is reused with revision 3, and the broken pod is removed.
func TestE2EProgressDeadlineAndRollback(t *testing.T) {
	e := newE2E(t, 4, cluster.Config{Kubelet: exact})
	e.addNodes("n1", "n2", "n3")
	e.createDeployment(webDeployment(3, "web:1"))
	e.runUntil(time.Minute, "first rollout", func() bool { return e.rolledOut("web") })
	original := e.deployment("web").Spec.Template

	const update = 2 * time.Minute
	e.at(update)
	e.updateDeployment("web", func(d *appsv1.Deployment) {
		tpl := &d.Spec.Template
		tpl.Annotations = map[string]string{kubelet.AnnotationStartupDuration: "24h"}
		tpl.Spec.Containers[0].Image = "web:2"
		tpl.Spec.Containers[0].ReadinessProbe = &v1.Probe{PeriodSeconds: 5,
			ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}}}
	})
	e.at(update + time.Minute)
	rss := e.replicaSets()
	require.Len(t, rss, 2)
	broken := rss[1]
	assert.Equal(t, int32(1), broken.Status.Replicas, "maxSurge 1")
	assert.Equal(t, int32(0), broken.Status.ReadyReplicas, "never ready")
	assert.Equal(t, int32(3), rss[0].Status.AvailableReplicas, "maxUnavailable 0: the old pods stay")
	cond := deploymentutil.GetDeploymentCondition(e.deployment("web").Status, appsv1.DeploymentProgressing)
	require.NotNil(t, cond)
	assert.Equal(t, deploymentutil.ReplicaSetUpdatedReason, cond.Reason)
	lastProgress := cond.LastUpdateTime.Time.UTC()
	assert.Equal(t, at0(update), lastProgress, "the new pod was created at the update")

	timedOut := func() bool {
		c := deploymentutil.GetDeploymentCondition(e.deployment("web").Status, appsv1.DeploymentProgressing)
		return c != nil && c.Reason == deploymentutil.TimedOutReason
	}
	e.runUntil(30*time.Minute, "progress deadline exceeded", timedOut)
	assert.Equal(t, update+601*time.Second, e.now(), "Progressing=False at the last progress + 600 s + 1 s")
	cond = deploymentutil.GetDeploymentCondition(e.deployment("web").Status, appsv1.DeploymentProgressing)
	assert.Equal(t, v1.ConditionFalse, cond.Status)
	assert.Equal(t, fmt.Sprintf("ReplicaSet %q has timed out progressing.", broken.Name), cond.Message)
	assert.Equal(t, []time.Duration{update + 601*time.Second}, e.times(deployment.ComponentName, "progressDeadlineExceeded"))
	bp := e.pods("pod-template-hash=" + broken.Labels[appsv1.DefaultDeploymentUniqueLabelKey])
	require.Len(t, bp, 1)
	assert.Equal(t, v1.PodRunning, bp[0].Status.Phase, "running, never ready")
	assert.False(t, podutil.IsPodReady(bp[0]))
	assert.Equal(t, int32(0), bp[0].Status.ContainerStatuses[0].RestartCount, "a readiness failure never restarts")

	// kubectl rollout undo.
	undo := e.now()
	undone, skipped, err := deploymentutil.Rollback(e.deployment("web"), e.replicaSets(), 0)
	require.NoError(t, err)
	require.Empty(t, skipped)
	_, err = e.cl.AppsV1().Deployments("default").Update(bg, undone, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.runUntil(undo+time.Minute, "rolled back", func() bool { return e.rolledOut("web") && len(e.pods("app=web")) == 3 })
	d := e.deployment("web")
	assert.True(t, apiequality.Semantic.DeepEqual(original, d.Spec.Template), "the old template is back")
	assert.Equal(t, "3", d.Annotations[deploymentutil.RevisionAnnotation])
	rss = e.replicaSets()
	require.Len(t, rss, 2, "the old ReplicaSet was reused")
	assert.Equal(t, "web:2", rss[0].Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, int32(0), *rss[0].Spec.Replicas)
	assert.Equal(t, "web:1", rss[1].Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, "3", rss[1].Annotations[deploymentutil.RevisionAnnotation])
	assert.Equal(t, "1", rss[1].Annotations[deploymentutil.RevisionHistoryAnnotation])
	for _, p := range e.pods("app=web") {
		assert.Equal(t, "web:1", p.Spec.Containers[0].Image)
		assert.True(t, podutil.IsPodReady(p))
	}
	assert.Equal(t, undo, e.now(), "complete at the undo: the reused ReplicaSet's pods are all available, the broken pod stops at once")
}

// TestE2ERollingUpdateBoundsRealKubelet runs the rolling-update invariant
// of TestRollingUpdateKeepsBounds (controllers/deployment, a rapid
// property over the fake kubelet) once per fixed case with the real
// kubelet (default jitter: image pulls ≈2 s serialized per node, starts
// ≈0.5 s; a readiness probe every 2 s after 3 s): after every engine step
// of the rollout from web:1 to web:2, active pods ≤ replicas + maxSurge,
// Σ ReplicaSet spec.replicas ≤ replicas + maxSurge and available pods ≥
// replicas − maxUnavailable; the rollout completes.
func TestE2ERollingUpdateBoundsRealKubelet(t *testing.T) {
	cases := []struct {
		replicas    int32
		surge, unav intstr.IntOrString
	}{
		{10, intstr.FromString("25%"), intstr.FromString("25%")}, // defaults: surge 3, unavailable 2
		{5, intstr.FromInt32(0), intstr.FromInt32(1)},
		{4, intstr.FromInt32(2), intstr.FromInt32(0)},
		{6, intstr.FromString("50%"), intstr.FromString("50%")},
		{1, intstr.FromInt32(1), intstr.FromInt32(0)},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%d replicas surge %s unavailable %s", tc.replicas, tc.surge.String(), tc.unav.String()), func(t *testing.T) {
			e := newE2E(t, uint64(100+i), cluster.Config{})
			e.addNodes("n1", "n2", "n3")
			d := webDeployment(tc.replicas, "web:1")
			surge, unav := tc.surge, tc.unav
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unav}}
			d.Spec.Template.Spec.Containers[0].ReadinessProbe = &v1.Probe{InitialDelaySeconds: 3, PeriodSeconds: 2,
				ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(8080)}}}
			e.createDeployment(d)
			e.runUntil(5*time.Minute, "first rollout", func() bool { return e.rolledOut("web") })
			maxSurge, maxUnavailable, err := deploymentutil.ResolveFenceposts(&surge, &unav, tc.replicas)
			require.NoError(t, err)

			e.updateDeployment("web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "web:2" })
			start, steps := e.now(), 0
			minAvailable, maxActive := int(tc.replicas), 0
			e.runUntil(start+10*time.Minute, "rollout to web:2", func() bool {
				steps++
				active, available := e.podCounts()
				require.LessOrEqual(t, active, int(tc.replicas+maxSurge), "at %v: active pods (seed %d)", e.now(), e.seed)
				require.GreaterOrEqual(t, available, int(tc.replicas-maxUnavailable), "at %v: available pods (seed %d)", e.now(), e.seed)
				sum := int32(0)
				for _, rs := range e.replicaSets() {
					sum += *rs.Spec.Replicas
				}
				require.LessOrEqual(t, sum, tc.replicas+maxSurge, "at %v: Σ spec.replicas (seed %d)", e.now(), e.seed)
				minAvailable, maxActive = min(minAvailable, available), max(maxActive, active)
				return e.rolledOut("web")
			})
			rss := e.replicaSets()
			require.Len(t, rss, 2)
			assert.Equal(t, int32(0), *rss[0].Spec.Replicas)
			assert.Equal(t, tc.replicas, rss[1].Status.AvailableReplicas)
			assert.Greater(t, steps, 10)
			assert.Equal(t, int(tc.replicas+maxSurge), maxActive, "the surge budget is used")
			assert.Equal(t, int(tc.replicas-maxUnavailable), minAvailable, "the unavailability budget is used")
			t.Logf("%d steps, %v; bounds: active ≤ %d (max seen %d), available ≥ %d (min seen %d)",
				steps, e.now()-start, tc.replicas+maxSurge, maxActive, tc.replicas-maxUnavailable, minAvailable)
		})
	}
}
