package deployment

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	deploymentutil "github.com/kubesim/kubesim/controllers/deployment/util"
)

// scaleDeployment mirrors upstream's test helper newDeployment: RollingUpdate
// with maxSurge and maxUnavailable 0 unless given (so surge 0, unavailable 1).
func scaleDeployment(replicas int32, maxSurge *int32) *apps.Deployment {
	d := newDeployment(replicas, intstr.FromInt32(0), intstr.FromInt32(0))
	if maxSurge != nil {
		s := intstr.FromInt32(*maxSurge)
		d.Spec.Strategy.RollingUpdate.MaxSurge = &s
	}
	return d
}

func scaleRS(name string, replicas int32, created time.Time) *apps.ReplicaSet {
	return &apps.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), CreationTimestamp: metav1.NewTime(created), ResourceVersion: "1"},
		Spec:       apps.ReplicaSetSpec{Replicas: ptr.To(replicas)},
		Status:     apps.ReplicaSetStatus{AvailableReplicas: replicas},
	}
}

// TestScale ports upstream's sync_test.go TestScale cases (same names and
// numbers): proportional scaling of the active ReplicaSets when the
// Deployment is resized mid-rollout.
func TestScale(t *testing.T) {
	newTimestamp := epoch.Add(2 * time.Hour)
	oldTimestamp := epoch.Add(time.Hour)
	olderTimestamp := epoch
	tests := []struct {
		name          string
		deployment    *apps.Deployment
		oldDeployment *apps.Deployment
		newRS         *apps.ReplicaSet
		oldRSs        []*apps.ReplicaSet
		expectedNew   int32 // ignored if newRS is nil
		expectedOld   []int32
	}{
		{"normal scaling event: 10 -> 12", scaleDeployment(12, nil), scaleDeployment(10, nil), scaleRS("foo-v1", 10, newTimestamp), nil, 12, nil},
		{"normal scaling event: 10 -> 5", scaleDeployment(5, nil), scaleDeployment(10, nil), scaleRS("foo-v1", 10, newTimestamp), nil, 5, nil},
		{"proportional scaling: 5 -> 10", scaleDeployment(10, nil), scaleDeployment(5, nil), scaleRS("foo-v2", 2, newTimestamp), []*apps.ReplicaSet{scaleRS("foo-v1", 3, oldTimestamp)}, 4, []int32{6}},
		{"proportional scaling: 5 -> 3", scaleDeployment(3, nil), scaleDeployment(5, nil), scaleRS("foo-v2", 2, newTimestamp), []*apps.ReplicaSet{scaleRS("foo-v1", 3, oldTimestamp)}, 1, []int32{2}},
		{"proportional scaling: 9 -> 4", scaleDeployment(4, nil), scaleDeployment(9, nil), scaleRS("foo-v2", 8, newTimestamp), []*apps.ReplicaSet{scaleRS("foo-v1", 1, oldTimestamp)}, 4, []int32{0}},
		{"proportional scaling: 7 -> 10", scaleDeployment(10, nil), scaleDeployment(7, nil), scaleRS("foo-v3", 2, newTimestamp), []*apps.ReplicaSet{scaleRS("foo-v2", 3, oldTimestamp), scaleRS("foo-v1", 2, olderTimestamp)}, 3, []int32{4, 3}},
		{"proportional scaling: 13 -> 8", scaleDeployment(8, nil), scaleDeployment(13, nil), scaleRS("foo-v3", 2, newTimestamp), []*apps.ReplicaSet{scaleRS("foo-v2", 8, oldTimestamp), scaleRS("foo-v1", 3, olderTimestamp)}, 1, []int32{5, 2}},
		// Scales up the new replica set.
		{"leftover distribution: 3 -> 4", scaleDeployment(4, nil), scaleDeployment(3, nil), scaleRS("foo-v3", 1, newTimestamp), []*apps.ReplicaSet{scaleRS("foo-v2", 1, oldTimestamp), scaleRS("foo-v1", 1, olderTimestamp)}, 2, []int32{1, 1}},
		// Scales down the older replica set.
		{"leftover distribution: 3 -> 2", scaleDeployment(2, nil), scaleDeployment(3, nil), scaleRS("foo-v3", 1, newTimestamp), []*apps.ReplicaSet{scaleRS("foo-v2", 1, oldTimestamp), scaleRS("foo-v1", 1, olderTimestamp)}, 1, []int32{1, 0}},
		// Scales up the latest replica set first.
		{"proportional scaling (no new rs): 4 -> 5", scaleDeployment(5, nil), scaleDeployment(4, nil), nil, []*apps.ReplicaSet{scaleRS("foo-v2", 2, oldTimestamp), scaleRS("foo-v1", 2, olderTimestamp)}, 0, []int32{3, 2}},
		{"proportional scaling: 6 -> 0", scaleDeployment(0, nil), scaleDeployment(6, nil), scaleRS("foo-v3", 3, newTimestamp), []*apps.ReplicaSet{scaleRS("foo-v2", 2, oldTimestamp), scaleRS("foo-v1", 1, olderTimestamp)}, 0, []int32{0, 0}},
		{"proportional scaling: 0 -> 6", scaleDeployment(6, nil), scaleDeployment(6, nil), scaleRS("foo-v3", 0, newTimestamp), []*apps.ReplicaSet{scaleRS("foo-v2", 0, oldTimestamp), scaleRS("foo-v1", 0, olderTimestamp)}, 6, []int32{0, 0}},
		{"deployment with surge pods", scaleDeployment(20, ptr.To[int32](2)), scaleDeployment(10, ptr.To[int32](2)), scaleRS("foo-v2", 6, newTimestamp), []*apps.ReplicaSet{scaleRS("foo-v1", 6, oldTimestamp)}, 11, []int32{11}},
		{"change both surge and size", scaleDeployment(50, ptr.To[int32](6)), scaleDeployment(10, ptr.To[int32](3)), scaleRS("foo-v2", 5, newTimestamp), []*apps.ReplicaSet{scaleRS("foo-v1", 8, oldTimestamp)}, 22, []int32{34}},
		{"change both size and template", scaleDeployment(14, nil), scaleDeployment(10, nil), nil, []*apps.ReplicaSet{scaleRS("foo-v2", 7, newTimestamp), scaleRS("foo-v1", 3, oldTimestamp)}, 0, []int32{10, 4}},
		{"saturated but broken new replica set does not affect old pods", func() *apps.Deployment {
			d := scaleDeployment(2, ptr.To[int32](1))
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(1))
			return d
		}(), func() *apps.Deployment {
			d := scaleDeployment(2, ptr.To[int32](1))
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(1))
			return d
		}(), func() *apps.ReplicaSet {
			rs := scaleRS("foo-v2", 2, newTimestamp)
			rs.Status.AvailableReplicas = 0
			return rs
		}(), []*apps.ReplicaSet{scaleRS("foo-v1", 1, oldTimestamp)}, 2, []int32{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Annotate as the controller did for the old Deployment size.
			old := *tc.oldDeployment
			desired := *old.Spec.Replicas
			var all []*apps.ReplicaSet
			if tc.newRS != nil {
				deploymentutil.SetReplicasAnnotations(tc.newRS, desired, desired+deploymentutil.MaxSurge(old))
				all = append(all, tc.newRS)
			}
			for _, rs := range tc.oldRSs {
				deploymentutil.SetReplicasAnnotations(rs, desired, desired+deploymentutil.MaxSurge(old))
				all = append(all, rs)
			}
			if tc.deployment.Status.Replicas == 0 {
				tc.deployment.Status.Replicas = deploymentutil.GetReplicaCountForReplicaSets(all)
			}
			rec := NewRecorder(tc.deployment, all, epoch)
			s := &Syncer{Client: rec, Now: epoch}
			require.NoError(t, s.scale(tc.deployment, tc.newRS, tc.oldRSs))
			got := map[string]int32{}
			for _, rs := range rec.ReplicaSets() {
				got[rs.Name] = *rs.Spec.Replicas
				assert.Equal(t, *tc.deployment.Spec.Replicas, mustDesired(t, rs), "%s desired-replicas annotation after scaling", rs.Name)
			}
			if tc.newRS != nil {
				assert.Equal(t, tc.expectedNew, got[tc.newRS.Name], "new %s", tc.newRS.Name)
			}
			for i, rs := range tc.oldRSs {
				assert.Equal(t, tc.expectedOld[i], got[rs.Name], "old %s", rs.Name)
			}
		})
	}
}

func mustDesired(t *testing.T, rs *apps.ReplicaSet) int32 {
	v, ok := deploymentutil.GetDesiredReplicasAnnotation(rs)
	if !ok {
		// Untouched sets (already the right size, single active) keep the old annotation.
		return -1
	}
	return v
}

// TestScalingEventGoesThroughSync checks that SyncDeployment detects a
// resize (desired-replicas annotation ≠ spec.replicas) and scales
// proportionally instead of rolling.
func TestScalingEventGoesThroughSync(t *testing.T) {
	c := newFakeCluster(t, newDeployment(10, intstr.FromInt32(3), intstr.FromInt32(2)))
	c.complete()
	c.setImage("v2")
	c.settle() // v1 8, v2 5 (all v2 unavailable)
	require.Equal(t, map[string]int32{"v1": 8, "v2": 5}, c.specs())
	d := c.rec.Deployment()
	d.Spec.Replicas = ptr.To[int32](20)
	d.Generation++
	c.rec.SetDeployment(d)
	require.NoError(t, c.syncDeployment())
	// allowed 23, current 13, +10: v1 round(8×23/13)=14 (+6), v2 round(5×23/13)=9 (+4).
	assert.Equal(t, map[string]int32{"v1": 14, "v2": 9}, c.specs())
	for _, rs := range c.rec.ReplicaSets() {
		assert.Equal(t, "20", rs.Annotations[deploymentutil.DesiredReplicasAnnotation])
		assert.Equal(t, "23", rs.Annotations[deploymentutil.MaxReplicasAnnotation])
	}
}

func TestCleanupDeploymentTrimsHistory(t *testing.T) {
	d := newDeployment(1, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.RevisionHistoryLimit = ptr.To[int32](2)
	var rsList []*apps.ReplicaSet
	for i := 1; i <= 5; i++ {
		rs := scaleRS("web-r"+string(rune('0'+i)), 0, epoch.Add(time.Duration(i)*time.Minute))
		rs.Status = apps.ReplicaSetStatus{}
		rs.Annotations = map[string]string{deploymentutil.RevisionAnnotation: string(rune('0' + i))}
		rsList = append(rsList, rs)
	}
	// Revision 2 still has a pod: never deleted, and it uses up a slot of the diff.
	rsList[1].Status.Replicas = 1
	// Revision 3 has an unobserved generation: skipped too.
	rsList[2].Generation = 2
	rec := NewRecorder(d, rsList, epoch)
	s := &Syncer{Client: rec, Now: epoch}
	require.NoError(t, s.cleanupDeployment(rsList, d))
	var deleted []string
	for _, a := range rec.Actions {
		if a.Verb == VerbDeleteReplicaSet {
			deleted = append(deleted, a.Name)
		}
	}
	assert.Equal(t, []string{"web-r1"}, deleted, "5 old − limit 2 = 3 candidates (r1, r2, r3), only r1 is deletable")

	rsList[1].Status.Replicas = 0
	rsList[2].Generation = 0
	rec = NewRecorder(d, rsList, epoch)
	s = &Syncer{Client: rec, Now: epoch}
	require.NoError(t, s.cleanupDeployment(rsList, d))
	assert.Len(t, rec.Actions, 3)
	assert.Equal(t, []string{"web-r4", "web-r5"}, names(rec.ReplicaSets()), "the newest 2 old revisions stay")
}

func names(l []*apps.ReplicaSet) []string {
	var out []string
	for _, rs := range l {
		out = append(out, rs.Name)
	}
	return out
}

// TestHistoryTrimmedOverRollouts: after 5 rollouts with revisionHistoryLimit
// 2, only the current ReplicaSet and the 2 newest old ones remain.
func TestHistoryTrimmedOverRollouts(t *testing.T) {
	d := newDeployment(2, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.RevisionHistoryLimit = ptr.To[int32](2)
	c := newFakeCluster(t, d)
	c.complete()
	for _, img := range []string{"v2", "v3", "v4", "v5", "v6"} {
		c.setImage(img)
		c.finish()
	}
	var images, revisions []string
	for _, rs := range c.rec.ReplicaSets() {
		images = append(images, rs.Spec.Template.Spec.Containers[0].Image)
		revisions = append(revisions, rs.Annotations[deploymentutil.RevisionAnnotation])
	}
	assert.ElementsMatch(t, []string{"v4", "v5", "v6"}, images)
	assert.ElementsMatch(t, []string{"4", "5", "6"}, revisions)
}

// TestProgressDeadlineAndUndo: a new image that never becomes ready hits
// ProgressDeadlineExceeded 600 s after the last progress; `rollout undo`
// reuses the old ReplicaSet under a new revision and the rollout completes.
func TestProgressDeadlineAndUndo(t *testing.T) {
	c := newFakeCluster(t, newDeployment(4, intstr.FromString("25%"), intstr.FromString("25%")))
	c.complete()
	c.setImage("broken")
	c.settle()
	assert.Equal(t, map[string]int32{"v1": 3, "broken": 2}, c.specs(), "surge 1, unavailable 1: stuck with 2 unready new pods")
	d := c.rec.Deployment()
	cond := deploymentutil.GetDeploymentCondition(d.Status, apps.DeploymentProgressing)
	require.NotNil(t, cond)
	assert.Equal(t, v1.ConditionTrue, cond.Status)
	lastProgress := cond.LastUpdateTime.Time
	assert.Equal(t, 601*time.Second, c.requeueAfter, "re-check at lastUpdate + 600 s + 1 s")

	c.now = lastProgress.Add(600 * time.Second)
	require.NoError(t, c.syncDeployment())
	d = c.rec.Deployment()
	assert.Equal(t, deploymentutil.ReplicaSetUpdatedReason, deploymentutil.GetDeploymentCondition(d.Status, apps.DeploymentProgressing).Reason, "exactly at the deadline: not yet")
	assert.Equal(t, RequeueRateLimited, c.requeueAfter)

	c.now = lastProgress.Add(601 * time.Second)
	require.NoError(t, c.syncDeployment())
	d = c.rec.Deployment()
	cond = deploymentutil.GetDeploymentCondition(d.Status, apps.DeploymentProgressing)
	assert.Equal(t, v1.ConditionFalse, cond.Status)
	assert.Equal(t, deploymentutil.TimedOutReason, cond.Reason)
	assert.Equal(t, `ReplicaSet "`+c.rsByImage("broken").Name+`" has timed out progressing.`, cond.Message)
	assert.Equal(t, map[string]int32{"v1": 3, "broken": 2}, c.specs(), "exceeding the deadline does not roll back by itself")
	c.settle()
	assert.Equal(t, deploymentutil.TimedOutReason, deploymentutil.GetDeploymentCondition(c.rec.Deployment().Status, apps.DeploymentProgressing).Reason)

	// kubectl rollout undo.
	undone, skipped, err := deploymentutil.Rollback(c.rec.Deployment(), c.rec.ReplicaSets(), 0)
	require.NoError(t, err)
	require.Empty(t, skipped)
	undone.Generation++
	c.rec.SetDeployment(undone)
	c.now = c.now.Add(time.Second)
	c.finish()
	assert.Equal(t, map[string]int32{"v1": 4, "broken": 0}, c.specs())
	v1rs := c.rsByImage("v1")
	assert.Equal(t, "3", v1rs.Annotations[deploymentutil.RevisionAnnotation], "reused RS gets max+1")
	assert.Equal(t, "1", v1rs.Annotations[deploymentutil.RevisionHistoryAnnotation])
	d = c.rec.Deployment()
	assert.Equal(t, "3", d.Annotations[deploymentutil.RevisionAnnotation])
	cond = deploymentutil.GetDeploymentCondition(d.Status, apps.DeploymentProgressing)
	assert.Equal(t, deploymentutil.NewRSAvailableReason, cond.Reason)
	assert.Equal(t, v1.ConditionTrue, cond.Status)
}

func TestPausedDeploymentConditions(t *testing.T) {
	c := newFakeCluster(t, newDeployment(2, intstr.FromInt32(1), intstr.FromInt32(0)))
	c.complete()
	d := c.rec.Deployment()
	d.Spec.Paused = true
	d.Spec.Template = newTemplate("v2")
	d.Generation++
	c.rec.SetDeployment(d)
	c.settle()
	assert.Equal(t, map[string]int32{"v1": 2}, c.specs(), "paused: no rollout")
	cond := deploymentutil.GetDeploymentCondition(c.rec.Deployment().Status, apps.DeploymentProgressing)
	assert.Equal(t, v1.ConditionUnknown, cond.Status)
	assert.Equal(t, deploymentutil.PausedDeployReason, cond.Reason)

	d = c.rec.Deployment()
	d.Spec.Paused = false
	c.rec.SetDeployment(d)
	c.finish()
	assert.Equal(t, map[string]int32{"v1": 0, "v2": 2}, c.specs())
}

func TestRecreate(t *testing.T) {
	d := newDeployment(3, intstr.FromInt32(0), intstr.FromInt32(0))
	d.Spec.Strategy = apps.DeploymentStrategy{Type: apps.RecreateDeploymentStrategyType}
	c := newFakeCluster(t, d)
	c.complete()
	c.setImage("v2")
	old := c.rsByImage("v1")
	// Old pods are still terminating: the podMap shows them Running.
	terminating := map[types.UID][]*v1.Pod{old.UID: {{Status: v1.PodStatus{Phase: v1.PodRunning}}}}
	sync := func(podMap map[types.UID][]*v1.Pod) {
		s := &Syncer{Client: c.rec, Now: c.now}
		_ = s.SyncDeployment(c.rec.Deployment(), c.rec.ReplicaSets(), podMap)
	}
	sync(terminating)
	assert.Equal(t, map[string]int32{"v1": 0}, c.specs(), "scale old to 0 first, no new RS yet")
	c.rsController()
	sync(terminating)
	assert.Equal(t, map[string]int32{"v1": 0}, c.specs(), "waits while an old pod is not terminal")
	sync(map[types.UID][]*v1.Pod{old.UID: {{Status: v1.PodStatus{Phase: v1.PodSucceeded}}}})
	assert.Equal(t, map[string]int32{"v1": 0, "v2": 3}, c.specs(), "then the new RS straight to 3")
}

func TestPlanListsWrites(t *testing.T) {
	d := newDeployment(10, intstr.FromString("25%"), intstr.FromString("25%"))
	res := Plan(d, nil, nil, epoch)
	require.NoError(t, res.Err)
	require.NotEmpty(t, res.Actions)
	assert.Equal(t, VerbCreateReplicaSet, res.Actions[0].Verb)
	assert.Equal(t, int32(10), *res.Actions[0].ReplicaSet.Spec.Replicas, "first rollout: nothing else exists, new RS takes all 10")
	assert.Equal(t, "web-"+res.Actions[0].ReplicaSet.Labels[apps.DefaultDeploymentUniqueLabelKey], res.Actions[0].Name)
}

// terminatingNamespaceClient refuses every ReplicaSet creation as the API
// server does in a terminating namespace.
type terminatingNamespaceClient struct{ *Recorder }

func (c terminatingNamespaceClient) CreateReplicaSet(rs *apps.ReplicaSet) (*apps.ReplicaSet, error) {
	err := apierrors.NewForbidden(rsResource, rs.Name, fmt.Errorf("unable to create new content in namespace %s because it is being terminated", rs.Namespace))
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: v1.NamespaceTerminatingCause})
	return nil, err
}

type eventList []string

func (l *eventList) Eventf(_ runtime.Object, eventtype, reason, messageFmt string, args ...any) {
	*l = append(*l, eventtype+" "+reason+": "+fmt.Sprintf(messageFmt, args...))
}

// TestNewReplicaSetInTerminatingNamespace: upstream getNewReplicaSet
// returns the error of a create refused because the namespace is being
// terminated without a ReplicaSetCreateError event or Progressing=False
// condition (and handleErr does not retry it).
func TestNewReplicaSetInTerminatingNamespace(t *testing.T) {
	d := newDeployment(3, intstr.FromString("25%"), intstr.FromString("25%"))
	d.Status.Conditions = nil
	rec := NewRecorder(d, nil, epoch)
	var events eventList
	s := &Syncer{Client: terminatingNamespaceClient{rec}, Recorder: &events, Now: epoch}
	err := s.SyncDeployment(rec.Deployment(), nil, nil)
	require.Error(t, err)
	assert.True(t, apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause))
	assert.Empty(t, events)
	assert.Empty(t, rec.Actions, "no status write")
	assert.Nil(t, deploymentutil.GetDeploymentCondition(rec.Deployment().Status, apps.DeploymentProgressing))
}

// TestProportionalScalingEventsNameEachReplicaSetsDirection: upstream
// v1.32+ scaleReplicaSet (pkg/controller/deployment/sync.go, after
// kubernetes#123430 and #128526) says "up" or "down" from the ReplicaSet's
// own old and new sizes, so an old ReplicaSet that shrinks while the
// Deployment's total grows is reported "Scaled down" (before v1.32 scale
// passed one direction, from the sign of the replicas to add, to every
// ReplicaSet). 10 → 8 mid-rollout (surge 25%): allowed 10, current 5 + 3 =
// 8, +2; fractions round(5×10/13)−5 = −1 and round(3×10/13)−3 = −1,
// leftover 4 to the largest: new 5 → 8, old 3 → 2.
func TestProportionalScalingEventsNameEachReplicaSetsDirection(t *testing.T) {
	old := newDeployment(10, intstr.FromString("25%"), intstr.FromString("25%"))
	d := newDeployment(8, intstr.FromString("25%"), intstr.FromString("25%"))
	newRS := scaleRS("web-v2", 5, epoch.Add(time.Hour))
	oldRS := scaleRS("web-v1", 3, epoch)
	for _, rs := range []*apps.ReplicaSet{newRS, oldRS} {
		deploymentutil.SetReplicasAnnotations(rs, 10, 10+deploymentutil.MaxSurge(*old))
	}
	rec := NewRecorder(d, []*apps.ReplicaSet{newRS, oldRS}, epoch)
	var events eventList
	s := &Syncer{Client: rec, Recorder: &events, Now: epoch}
	require.NoError(t, s.scale(d, newRS, []*apps.ReplicaSet{oldRS}))
	assert.Equal(t, eventList{
		"Normal ScalingReplicaSet: Scaled up replica set web-v2 from 5 to 8",
		"Normal ScalingReplicaSet: Scaled down replica set web-v1 from 3 to 2",
	}, events)
}
