package deployment_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/controllers/controllerutil"
	"github.com/kubesim/kubesim/controllers/deployment"
	deploymentutil "github.com/kubesim/kubesim/controllers/deployment/util"
	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/simtest"
)

const ns = "default"

var web = map[string]string{"app": "web"}

// tb is what the environment needs from *testing.T or *rapid.T.
type tb interface {
	require.TestingT
	Helper()
	Logf(format string, args ...any)
}

type env struct {
	t       tb
	c       *cluster.Cluster
	cl      client.Interface
	kubelet *simtest.FakeKubelet
	trace   *simtest.Trace
	podsRes *apiserver.Resource
	// broken images never become Ready.
	broken map[string]bool
}

// newEnv builds a cluster with the scheduler, three roomy nodes and the
// fake kubelet (pods ready startDelay after binding, gone stopDelay after
// their deletion starts).
func newEnv(t tb, seed uint64, startDelay, stopDelay time.Duration) *env {
	c := cluster.New(cluster.Config{Seed: seed, DetectCacheMutations: true})
	require.NoError(t, simtest.AddNodes(c, simtest.Node("n1", "16", "64Gi", nil), simtest.Node("n2", "16", "64Gi", nil), simtest.Node("n3", "16", "64Gi", nil)))
	k := simtest.StartFakeKubelet(c, startDelay, stopDelay)
	e := &env{t: t, c: c, cl: c.Client("test"), kubelet: k, trace: simtest.RecordTrace(c), broken: map[string]bool{}}
	e.podsRes, _ = c.API.Resource("pods")
	k.Unready = func(p *v1.Pod) bool { return e.broken[p.Spec.Containers[0].Image] }
	c.Start()
	return e
}

func (e *env) check() { require.NoError(e.t, e.c.Informers.CheckMutations()) }

func (e *env) now() time.Duration { return e.c.Engine.Elapsed() }

func (e *env) create(d *appsv1.Deployment) {
	_, err := e.cl.AppsV1().Deployments(ns).Create(context.TODO(), d, metav1.CreateOptions{})
	require.NoError(e.t, err)
}

func (e *env) get(name string) *appsv1.Deployment {
	d, err := e.cl.AppsV1().Deployments(ns).Get(context.TODO(), name, metav1.GetOptions{})
	require.NoError(e.t, err)
	return d
}

// update applies mutate to the latest Deployment and writes it.
func (e *env) update(name string, mutate func(d *appsv1.Deployment)) {
	d := e.get(name)
	mutate(d)
	_, err := e.cl.AppsV1().Deployments(ns).Update(context.TODO(), d, metav1.UpdateOptions{})
	require.NoError(e.t, err)
}

func (e *env) setImage(name, image string) {
	e.update(name, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = image })
}

// replicaSets returns the Deployment's ReplicaSets, oldest revision first.
func (e *env) replicaSets() []appsv1.ReplicaSet {
	l, err := e.cl.AppsV1().ReplicaSets(ns).List(context.TODO(), metav1.ListOptions{LabelSelector: labels.FormatLabels(web)})
	require.NoError(e.t, err)
	sort.Slice(l.Items, func(i, j int) bool {
		ri, _ := deploymentutil.Revision(&l.Items[i])
		rj, _ := deploymentutil.Revision(&l.Items[j])
		return ri < rj
	})
	return l.Items
}

func (e *env) rsByImage(image string) *appsv1.ReplicaSet {
	for _, rs := range e.replicaSets() {
		if rs.Spec.Template.Spec.Containers[0].Image == image {
			return &rs
		}
	}
	return nil
}

// podCounts reads the store (shared objects, no copies): active pods (not
// terminal, not terminating), the available ones among them, and all pods.
func (e *env) podCounts() (active, available, all int) {
	objs, _, err := e.c.API.List(e.podsRes, ns, metav1.ListOptions{})
	require.NoError(e.t, err)
	for _, o := range objs {
		p := o.(*v1.Pod)
		all++
		if !controllerutil.IsPodActive(p) {
			continue
		}
		active++
		if podutil.IsPodAvailable(p, 0, e.c.Engine.Now()) {
			available++
		}
	}
	return active, available, all
}

// complete reports upstream's "rollout complete": observed, all replicas
// updated and available, no old replicas, Progressing NewReplicaSetAvailable.
func (e *env) complete(name string) bool {
	d := e.get(name)
	cond := deploymentutil.GetDeploymentCondition(d.Status, appsv1.DeploymentProgressing)
	return d.Status.ObservedGeneration >= d.Generation && deploymentutil.DeploymentComplete(d, &d.Status) &&
		cond != nil && cond.Reason == deploymentutil.NewRSAvailableReason
}

func (e *env) runUntil(limit time.Duration, what string, cond func() bool) {
	e.t.Helper()
	require.True(e.t, simtest.RunUntil(e.c, limit, cond), "by %v: %s (now %v)", limit, what, e.now())
}

func newDeployment(replicas int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	d := simtest.Deployment(ns, "web", replicas, web, "v1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}
	return d
}

func genIntOrPercent(t *rapid.T, label string) intstr.IntOrString {
	if rapid.Bool().Draw(t, label+"IsPercent") {
		return intstr.FromString(fmt.Sprintf("%d%%", rapid.SampledFrom([]int{0, 10, 20, 25, 33, 50, 75, 100}).Draw(t, label+"Percent")))
	}
	return intstr.FromInt32(int32(rapid.IntRange(0, 4).Draw(t, label)))
}

func isZero(v intstr.IntOrString) bool {
	return (v.Type == intstr.Int && v.IntVal == 0) || (v.Type == intstr.String && v.StrVal == "0%")
}

// TestRollingUpdateKeepsBounds is the property of a rolling update: at
// every engine step, active pods (terminating ones excluded, as upstream
// counts them) ≤ replicas + maxSurge, so is Σ ReplicaSet spec.replicas, and
// available pods ≥ replicas − maxUnavailable; and the rollout completes.
func TestRollingUpdateKeepsBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		replicas := int32(rapid.IntRange(1, 10).Draw(t, "replicas"))
		surge := genIntOrPercent(t, "maxSurge")
		unavailable := genIntOrPercent(t, "maxUnavailable")
		if isZero(surge) && isZero(unavailable) {
			unavailable = intstr.FromInt32(1) // validation forbids both 0
		}
		startDelay := time.Duration(rapid.IntRange(1, 20).Draw(t, "startDelaySeconds")) * time.Second
		stopDelay := time.Duration(rapid.IntRange(0, 40).Draw(t, "stopDelaySeconds")) * time.Second
		seed := rapid.Uint64().Draw(t, "seed")
		maxSurge, maxUnavailable, err := deploymentutil.ResolveFenceposts(&surge, &unavailable, replicas)
		require.NoError(t, err)

		jitterSeconds := rapid.IntRange(0, 30).Draw(t, "startJitterSeconds")
		e := newEnv(t, seed, startDelay, stopDelay)
		rnd := e.c.Engine.Rand("start-jitter")
		e.kubelet.ExtraStartDelay = func(*v1.Pod) time.Duration { return time.Duration(rnd.IntN(jitterSeconds+1)) * time.Second }
		e.create(newDeployment(replicas, surge, unavailable))
		e.runUntil(10*time.Minute, "first rollout complete", func() bool { return e.complete("web") })
		e.setImage("web", "v2")
		steps := 0
		done := simtest.RunUntil(e.c, e.now()+30*time.Minute, func() bool {
			steps++
			active, available, _ := e.podCounts()
			require.LessOrEqual(t, active, int(replicas+maxSurge), "at %v: active pods", e.now())
			require.GreaterOrEqual(t, available, int(replicas-maxUnavailable), "at %v: available pods", e.now())
			sum := int32(0)
			for _, rs := range e.replicaSets() {
				sum += *rs.Spec.Replicas
			}
			require.LessOrEqual(t, sum, replicas+maxSurge, "at %v: Σ spec.replicas", e.now())
			return e.complete("web")
		})
		require.True(t, done, "rollout did not complete (now %v)", e.now())
		require.Greater(t, steps, 1)
		rss := e.replicaSets()
		require.Len(t, rss, 2)
		assert.Equal(t, int32(0), *rss[0].Spec.Replicas, "old replicaset scaled to 0")
		assert.Equal(t, replicas, rss[1].Status.AvailableReplicas, "new replicaset fully available")
		e.check()
	})
}

// TestRollingUpdateSteps follows a rolling update of 10 replicas with the
// defaults (maxSurge 25% ⇒ 3, maxUnavailable 25% ⇒ 2; minAvailable 8) when
// every pod becomes available 5 s after it is created:
//
//	 5 s  new 0→3   (maxTotal 13 − Σ 10 = 3)
//	 5 s  old 10→8  (13 − minAvailable 8 − new unavailable 3 = 2)
//	 5 s  new 3→5   (Σ 11: 2 more fit under 13)
//	10 s  old 8→3   (the 5 new pods are available: 13 − 8 − 0 = 5)
//	10 s  new 5→10  (Σ 8: 5 more fit, capped by 10 − 5)
//	15 s  old 3→0   (new pods available) — rollout complete.
func TestRollingUpdateSteps(t *testing.T) {
	e := newEnv(t, 1, 5*time.Second, 0)
	e.create(simtest.Deployment(ns, "web", 10, web, "v1"))
	e.runUntil(time.Minute, "complete", func() bool { return e.complete("web") })
	e.setImage("web", "v2")
	e.runUntil(10*time.Minute, "complete", func() bool { return e.complete("web") })
	assert.Equal(t, 15*time.Second, e.now())
	v1rs, v2rs := e.rsByImage("v1").Name, e.rsByImage("v2").Name
	var scaled []string
	for _, r := range e.trace.Find(deployment.ComponentName, "scaled") {
		scaled = append(scaled, fmt.Sprintf("%v %s", r.Time, r.Msg))
	}
	prefix := "deployment web scaled replicaset "
	assert.Equal(t, []string{
		"5s " + prefix + v1rs + " from 10 to 8",
		"5s " + prefix + v2rs + " from 3 to 5",
		"10s " + prefix + v1rs + " from 8 to 3",
		"10s " + prefix + v2rs + " from 5 to 10",
		"15s " + prefix + v1rs + " from 3 to 0",
	}, scaled)
	events := simtest.Events(e.c, ns, "web", "ScalingReplicaSet")
	assert.Equal(t, []string{
		"ScalingReplicaSet: Scaled up replica set " + v1rs + " from 0 to 10",
		"ScalingReplicaSet: Scaled up replica set " + v2rs + " from 0 to 3",
		"ScalingReplicaSet: Scaled down replica set " + v1rs + " from 10 to 8",
		"ScalingReplicaSet: Scaled up replica set " + v2rs + " from 3 to 5",
		"ScalingReplicaSet: Scaled down replica set " + v1rs + " from 8 to 3",
		"ScalingReplicaSet: Scaled up replica set " + v2rs + " from 5 to 10",
		"ScalingReplicaSet: Scaled down replica set " + v1rs + " from 3 to 0",
	}, events)
	e.check()
}

// TestProgressDeadlineAndUndo: a new image that never becomes Ready stalls
// the rollout; 600 s after the last progress Progressing turns False
// (ProgressDeadlineExceeded) without stopping anything; kubectl rollout
// undo (util.Rollback through the API) goes back to the previous
// ReplicaSet, which is reused with a new revision.
func TestProgressDeadlineAndUndo(t *testing.T) {
	e := newEnv(t, 3, 2*time.Second, 5*time.Second)
	e.broken["v2-broken"] = true
	e.create(simtest.Deployment(ns, "web", 3, web, "v1"))
	e.runUntil(time.Minute, "complete", func() bool { return e.complete("web") })
	e.c.Engine.RunUntil(time.Minute)
	e.setImage("web", "v2-broken")
	// 3 replicas ⇒ maxSurge 1, maxUnavailable 0: one new pod, never ready.
	e.runUntil(2*time.Minute, "new pod running", func() bool {
		rs := e.rsByImage("v2-broken")
		return rs != nil && rs.Status.Replicas == 1
	})
	e.c.Engine.RunFor(30 * time.Second)
	d := e.get("web")
	progressing := deploymentutil.GetDeploymentCondition(d.Status, appsv1.DeploymentProgressing)
	require.NotNil(t, progressing)
	assert.Equal(t, deploymentutil.ReplicaSetUpdatedReason, progressing.Reason)
	lastUpdate := progressing.LastUpdateTime.Time
	assert.Equal(t, e.c.Engine.Now().Add(-30*time.Second), lastUpdate, "the last progress: the new pod was created at 60 s")

	timedOut := func() bool {
		c := deploymentutil.GetDeploymentCondition(e.get("web").Status, appsv1.DeploymentProgressing)
		return c != nil && c.Reason == deploymentutil.TimedOutReason
	}
	e.runUntil(20*time.Minute, "deadline exceeded", timedOut)
	// The controller re-checks at lastUpdateTime + 600 s + 1 s (upstream's
	// skew pad); DeploymentTimedOut needs now strictly after the deadline.
	assert.Equal(t, lastUpdate.Add(601*time.Second), e.c.Engine.Now(), "Progressing=False exactly at lastUpdateTime + 600 s + 1 s")
	d = e.get("web")
	progressing = deploymentutil.GetDeploymentCondition(d.Status, appsv1.DeploymentProgressing)
	assert.Equal(t, v1.ConditionFalse, progressing.Status)
	assert.Equal(t, fmt.Sprintf("ReplicaSet %q has timed out progressing.", e.rsByImage("v2-broken").Name), progressing.Message)
	assert.Equal(t, int32(3), e.rsByImage("v1").Status.AvailableReplicas, "the old pods keep serving")
	assert.Equal(t, int32(1), *e.rsByImage("v2-broken").Spec.Replicas, "a timed-out rollout is not rolled back by itself")
	assert.Len(t, e.trace.Find(deployment.ComponentName, "progressDeadlineExceeded"), 1)

	// kubectl rollout undo.
	var rsList []*appsv1.ReplicaSet
	for _, rs := range e.replicaSets() {
		rs := rs
		rsList = append(rsList, &rs)
	}
	undone, skipped, err := deploymentutil.Rollback(e.get("web"), rsList, 0)
	require.NoError(t, err)
	require.Empty(t, skipped)
	_, err = e.cl.AppsV1().Deployments(ns).Update(context.TODO(), undone, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.runUntil(e.now()+time.Minute, "rolled back", func() bool { return e.complete("web") })
	rss := e.replicaSets()
	require.Len(t, rss, 2, "the v1 ReplicaSet was reused")
	assert.Equal(t, "v2-broken", rss[0].Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, "2", rss[0].Annotations[deploymentutil.RevisionAnnotation])
	assert.Equal(t, int32(0), *rss[0].Spec.Replicas)
	assert.Equal(t, "v1", rss[1].Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, "3", rss[1].Annotations[deploymentutil.RevisionAnnotation], "reused with the next revision")
	assert.Equal(t, "1", rss[1].Annotations[deploymentutil.RevisionHistoryAnnotation])
	assert.Equal(t, "3", e.get("web").Annotations[deploymentutil.RevisionAnnotation])
	active, available, _ := e.podCounts()
	assert.Equal(t, 3, active)
	assert.Equal(t, 3, available)
	e.check()
}

// TestRevisionHistoryLimit: after five rollouts with revisionHistoryLimit
// 2 only the current ReplicaSet and the two newest old ones remain.
func TestRevisionHistoryLimit(t *testing.T) {
	e := newEnv(t, 4, time.Second, time.Second)
	d := simtest.Deployment(ns, "web", 2, web, "v1")
	d.Spec.RevisionHistoryLimit = ptr.To[int32](2)
	e.create(d)
	e.runUntil(time.Minute, "complete", func() bool { return e.complete("web") })
	for i := 2; i <= 5; i++ {
		e.setImage("web", fmt.Sprintf("v%d", i))
		e.runUntil(e.now()+5*time.Minute, "complete", func() bool { return e.complete("web") && len(e.replicaSets()) <= 3 })
	}
	var got []string
	for _, rs := range e.replicaSets() {
		got = append(got, rs.Annotations[deploymentutil.RevisionAnnotation]+":"+rs.Spec.Template.Spec.Containers[0].Image)
	}
	assert.Equal(t, []string{"3:v3", "4:v4", "5:v5"}, got)
	assert.Len(t, e.trace.Find(deployment.ComponentName, "historyTrimmed"), 2, "revisions 1 and 2 deleted")
	e.check()
}

// TestRecreate: every old pod is gone (not just terminating) before the
// first new pod is created.
func TestRecreate(t *testing.T) {
	e := newEnv(t, 5, 2*time.Second, 10*time.Second)
	d := simtest.Deployment(ns, "web", 3, web, "v1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	e.create(d)
	e.runUntil(time.Minute, "complete", func() bool { return e.complete("web") })
	e.c.Engine.RunUntil(time.Minute)
	e.setImage("web", "v2")
	lastOld := time.Duration(-1)
	firstNew := time.Duration(-1)
	ok := simtest.RunUntil(e.c, 5*time.Minute, func() bool {
		objs, _, err := e.c.API.List(e.podsRes, ns, metav1.ListOptions{})
		require.NoError(t, err)
		var old, cur int
		for _, o := range objs {
			if o.(*v1.Pod).Spec.Containers[0].Image == "v1" {
				old++
			} else {
				cur++
			}
		}
		require.False(t, old > 0 && cur > 0, "at %v: %d old and %d new pods at once", e.now(), old, cur)
		if old > 0 {
			lastOld = e.now()
		}
		if cur > 0 && firstNew < 0 {
			firstNew = e.now()
		}
		return e.complete("web")
	})
	require.True(t, ok)
	assert.Equal(t, 70*time.Second, lastOld+0, "old pods terminate for 10 s")
	assert.Equal(t, 70*time.Second, firstNew, "new pods created the instant the last old one is gone")
	assert.Equal(t, 72*time.Second, e.now())
	e.check()
}

// TestPauseResume: a paused Deployment does not roll out template changes
// (but still scales); resuming rolls out the latest template only.
func TestPauseResume(t *testing.T) {
	e := newEnv(t, 6, 2*time.Second, 2*time.Second)
	e.create(simtest.Deployment(ns, "web", 3, web, "v1"))
	e.runUntil(time.Minute, "complete", func() bool { return e.complete("web") })
	e.update("web", func(d *appsv1.Deployment) { d.Spec.Paused = true })
	e.setImage("web", "v2")
	e.setImage("web", "v3")
	e.update("web", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](5) })
	e.c.Engine.RunFor(time.Minute)
	require.Len(t, e.replicaSets(), 1, "no rollout while paused")
	assert.Equal(t, int32(5), e.rsByImage("v1").Status.AvailableReplicas, "scaling still happens")
	c := deploymentutil.GetDeploymentCondition(e.get("web").Status, appsv1.DeploymentProgressing)
	assert.Equal(t, v1.ConditionUnknown, c.Status)
	assert.Equal(t, deploymentutil.PausedDeployReason, c.Reason)

	e.update("web", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	e.runUntil(e.now()+5*time.Minute, "complete", func() bool { return e.complete("web") })
	rss := e.replicaSets()
	require.Len(t, rss, 2, "v2 was never rolled out")
	assert.Equal(t, "v3", rss[1].Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, int32(5), rss[1].Status.AvailableReplicas)
	assert.NotEmpty(t, e.trace.Find(deployment.ComponentName, "paused"))
	assert.NotEmpty(t, e.trace.Find(deployment.ComponentName, "resumed"))
	e.check()
}

// TestProportionalScaling reproduces the documentation's example: 10
// replicas, maxSurge 3, maxUnavailable 2, a rollout stuck on a bad image
// (old 8, new 5); scaling to 15 spreads the 5 extra replicas
// proportionally: 3 to the old ReplicaSet, 2 to the new one.
func TestProportionalScaling(t *testing.T) {
	e := newEnv(t, 8, 2*time.Second, 5*time.Second)
	e.broken["v2-broken"] = true
	e.create(newDeployment(10, intstr.FromInt32(3), intstr.FromInt32(2)))
	e.runUntil(time.Minute, "complete", func() bool { return e.complete("web") })
	e.setImage("web", "v2-broken")
	e.c.Engine.RunFor(time.Minute)
	oldRS, newRS := e.rsByImage("v1"), e.rsByImage("v2-broken")
	require.Equal(t, int32(8), *oldRS.Spec.Replicas)
	require.Equal(t, int32(5), *newRS.Spec.Replicas)

	e.update("web", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](15) })
	e.c.Engine.RunFor(time.Minute)
	assert.Equal(t, int32(11), *e.rsByImage("v1").Spec.Replicas)
	assert.Equal(t, int32(7), *e.rsByImage("v2-broken").Spec.Replicas)
	events := simtest.Events(e.c, ns, "web", "ScalingReplicaSet")
	assert.Contains(t, events, "ScalingReplicaSet: Scaled up replica set "+oldRS.Name+" from 8 to 11")
	assert.Contains(t, events, "ScalingReplicaSet: Scaled up replica set "+newRS.Name+" from 5 to 7")
	assert.Equal(t, "15", e.rsByImage("v1").Annotations[deploymentutil.DesiredReplicasAnnotation])
	assert.Equal(t, "18", e.rsByImage("v1").Annotations[deploymentutil.MaxReplicasAnnotation])
	e.check()
}
