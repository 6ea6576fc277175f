package util

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func rolling(replicas int32, surge, unavailable intstr.IntOrString) *apps.Deployment {
	return &apps.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "d-uid"},
		Spec: apps.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Strategy: apps.DeploymentStrategy{Type: apps.RollingUpdateDeploymentStrategyType, RollingUpdate: &apps.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
		},
	}
}

func rsWith(name string, replicas int32, annotations map[string]string) *apps.ReplicaSet {
	return &apps.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations}, Spec: apps.ReplicaSetSpec{Replicas: ptr.To(replicas)}}
}

func TestResolveFenceposts(t *testing.T) {
	pct25 := intstr.FromString("25%")
	tests := []struct {
		surge, unavailable intstr.IntOrString
		desired            int32
		wantSurge, wantU   int32
	}{
		{pct25, pct25, 10, 3, 2},
		{pct25, pct25, 4, 1, 1},
		{pct25, pct25, 1, 1, 0},
		{pct25, pct25, 3, 1, 0},
		{intstr.FromInt32(0), intstr.FromInt32(0), 5, 0, 1},
		{intstr.FromString("0%"), intstr.FromString("1%"), 2, 0, 1},
		{intstr.FromString("1%"), intstr.FromString("25%"), 2, 1, 0},
		{intstr.FromInt32(3), intstr.FromInt32(2), 10, 3, 2},
		{intstr.FromString("100%"), intstr.FromString("100%"), 7, 7, 7},
	}
	for _, tc := range tests {
		s, u, err := ResolveFenceposts(&tc.surge, &tc.unavailable, tc.desired)
		require.NoError(t, err)
		assert.Equal(t, tc.wantSurge, s, "surge %s of %d", tc.surge.String(), tc.desired)
		assert.Equal(t, tc.wantU, u, "unavailable %s of %d", tc.unavailable.String(), tc.desired)
	}
	bad := intstr.FromString("ten")
	_, _, err := ResolveFenceposts(&bad, &pct25, 10)
	assert.Error(t, err)
}

func TestMaxSurgeMaxUnavailable(t *testing.T) {
	d := rolling(10, intstr.FromString("25%"), intstr.FromString("25%"))
	assert.Equal(t, int32(3), MaxSurge(*d))
	assert.Equal(t, int32(2), MaxUnavailable(*d))
	assert.Equal(t, int32(8), MinAvailable(d))
	d.Spec.Replicas = ptr.To[int32](0)
	assert.Equal(t, int32(0), MaxUnavailable(*d), "0 replicas")
	d = rolling(2, intstr.FromInt32(0), intstr.FromInt32(5))
	assert.Equal(t, int32(2), MaxUnavailable(*d), "capped at replicas")
	d.Spec.Strategy = apps.DeploymentStrategy{Type: apps.RecreateDeploymentStrategyType}
	assert.Equal(t, int32(0), MaxSurge(*d))
	assert.Equal(t, int32(0), MaxUnavailable(*d))
	assert.Equal(t, int32(0), MinAvailable(d))
}

func TestNewRSNewReplicas(t *testing.T) {
	d := rolling(10, intstr.FromString("25%"), intstr.FromString("25%"))
	newRS := rsWith("new", 0, nil)
	old := rsWith("old", 10, nil)
	n, err := NewRSNewReplicas(d, []*apps.ReplicaSet{old, newRS}, newRS)
	require.NoError(t, err)
	assert.Equal(t, int32(3), n, "room 13−10")
	newRS.Spec.Replicas = ptr.To[int32](3)
	n, _ = NewRSNewReplicas(d, []*apps.ReplicaSet{old, newRS}, newRS)
	assert.Equal(t, int32(3), n, "13 ≥ 13: no scale-up")
	old.Spec.Replicas = ptr.To[int32](2)
	n, _ = NewRSNewReplicas(d, []*apps.ReplicaSet{old, newRS}, newRS)
	assert.Equal(t, int32(10), n, "room 8 but capped by replicas − new = 7")
	d.Spec.Strategy = apps.DeploymentStrategy{Type: apps.RecreateDeploymentStrategyType}
	n, _ = NewRSNewReplicas(d, nil, newRS)
	assert.Equal(t, int32(10), n)
	d.Spec.Strategy.Type = "Canary"
	_, err = NewRSNewReplicas(d, nil, newRS)
	assert.Error(t, err)
}

func TestIsSaturated(t *testing.T) {
	d := rolling(3, intstr.FromInt32(1), intstr.FromInt32(0))
	rs := rsWith("a", 3, map[string]string{DesiredReplicasAnnotation: "3"})
	rs.Status.AvailableReplicas = 3
	assert.True(t, IsSaturated(d, rs))
	rs.Status.AvailableReplicas = 2
	assert.False(t, IsSaturated(d, rs))
	rs.Status.AvailableReplicas = 3
	rs.Annotations[DesiredReplicasAnnotation] = "4"
	assert.False(t, IsSaturated(d, rs))
	delete(rs.Annotations, DesiredReplicasAnnotation)
	assert.False(t, IsSaturated(d, rs))
	assert.False(t, IsSaturated(d, nil))
}

func TestGetProportion(t *testing.T) {
	d := rolling(10, intstr.FromInt32(0), intstr.FromInt32(1)) // surge 0
	rs := rsWith("a", 3, map[string]string{MaxReplicasAnnotation: "5"})
	// round(3 × 10 / 5) − 3 = 3, capped by what is left to add.
	assert.Equal(t, int32(3), GetProportion(rs, *d, 5, 0))
	assert.Equal(t, int32(2), GetProportion(rs, *d, 5, 3))
	assert.Equal(t, int32(0), GetProportion(rs, *d, 5, 5))
	assert.Equal(t, int32(0), GetProportion(rsWith("z", 0, nil), *d, 5, 0))
	// Scaling down: 3 → 10 of 13 ⇒ round(3×10/13)=2 ⇒ −1, at most what remains to remove.
	rs.Annotations[MaxReplicasAnnotation] = "13"
	assert.Equal(t, int32(-1), GetProportion(rs, *d, -3, 0))
	assert.Equal(t, int32(-1), GetProportion(rs, *d, -3, -2), "max(−1, −1)")
	// No annotation: falls back to status.replicas.
	d.Status.Replicas = 6
	assert.Equal(t, int32(2), GetProportion(rsWith("b", 3, nil), *d, 4, 0), "round(3×10/6)−3 = 2")
	// Scaling to zero removes everything.
	d.Spec.Replicas = ptr.To[int32](0)
	assert.Equal(t, int32(-3), GetProportion(rs, *d, -10, 0))
}

func TestRevisionsAndAnnotations(t *testing.T) {
	d := rolling(4, intstr.FromString("25%"), intstr.FromString("25%"))
	d.Annotations = map[string]string{"team": "blue", RevisionAnnotation: "9", v1.LastAppliedConfigAnnotation: "{}"}
	rs := rsWith("new", 0, nil)
	changed := SetNewReplicaSetAnnotations(d, rs, "3", false, MaxRevHistoryLengthInChars)
	assert.True(t, changed)
	assert.Equal(t, map[string]string{"team": "blue", RevisionAnnotation: "3", DesiredReplicasAnnotation: "4", MaxReplicasAnnotation: "5"}, rs.Annotations)
	assert.False(t, SetNewReplicaSetAnnotations(d, rs, "3", true, MaxRevHistoryLengthInChars), "nothing new")
	assert.False(t, SetNewReplicaSetAnnotations(d, rs, "2", true, MaxRevHistoryLengthInChars), "never lowered")
	// Reuse (rollback): 3 → 7 records 3, then 7 → 8 appends 7.
	assert.True(t, SetNewReplicaSetAnnotations(d, rs, "7", true, MaxRevHistoryLengthInChars))
	assert.Equal(t, "7", rs.Annotations[RevisionAnnotation])
	assert.Equal(t, "3", rs.Annotations[RevisionHistoryAnnotation])
	SetNewReplicaSetAnnotations(d, rs, "8", true, MaxRevHistoryLengthInChars)
	assert.Equal(t, "3,7", rs.Annotations[RevisionHistoryAnnotation])
	// A tiny history limit drops the oldest entries.
	SetNewReplicaSetAnnotations(d, rs, "10", true, 4)
	assert.Equal(t, "7,8", rs.Annotations[RevisionHistoryAnnotation])

	rss := []*apps.ReplicaSet{rsWith("a", 0, map[string]string{RevisionAnnotation: "2"}), rsWith("b", 0, map[string]string{RevisionAnnotation: "5"}), rsWith("c", 0, map[string]string{RevisionAnnotation: "x"}), rsWith("d", 0, nil)}
	assert.Equal(t, int64(5), MaxRevision(rss))
	assert.Equal(t, int64(2), LastRevision(rss))
	_, err := Revision(rss[2])
	assert.Error(t, err)
	assert.True(t, SetDeploymentRevision(d, "5"))
	assert.False(t, SetDeploymentRevision(d, "5"))
}

func TestFindNewAndOldReplicaSets(t *testing.T) {
	d := rolling(3, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.Template = v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "v2"}}}}
	mk := func(name, image, hash string, replicas int32, created time.Time) *apps.ReplicaSet {
		rs := rsWith(name, replicas, nil)
		rs.UID = k8stypes.UID("uid-" + name)
		rs.CreationTimestamp = metav1.NewTime(created)
		rs.Spec.Template = v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", apps.DefaultDeploymentUniqueLabelKey: hash}}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: image}}}}
		return rs
	}
	v1a := mk("v1", "v1", "h1", 2, epoch)
	v2late := mk("v2-late", "v2", "h3", 0, epoch.Add(2*time.Minute))
	v2 := mk("v2", "v2", "h2", 1, epoch.Add(time.Minute))
	v0 := mk("v0", "v0", "h0", 0, epoch.Add(-time.Minute))
	list := []*apps.ReplicaSet{v1a, v2late, v2, v0}
	assert.Equal(t, "v2", FindNewReplicaSet(d, list).Name, "oldest equal template wins, hash label ignored")
	required, all := FindOldReplicaSets(d, list)
	assert.Len(t, required, 1)
	assert.Equal(t, "v1", required[0].Name)
	assert.Len(t, all, 3)
}

func TestDeploymentConditions(t *testing.T) {
	st := &apps.DeploymentStatus{}
	c1 := NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionTrue, NewReplicaSetReason, "created", epoch)
	SetDeploymentCondition(st, *c1)
	c2 := NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionTrue, NewReplicaSetReason, "again", epoch.Add(time.Minute))
	SetDeploymentCondition(st, *c2)
	assert.Equal(t, "created", st.Conditions[0].Message, "same status and reason: unchanged")
	c3 := NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionTrue, ReplicaSetUpdatedReason, "updated", epoch.Add(2*time.Minute))
	SetDeploymentCondition(st, *c3)
	assert.Equal(t, ReplicaSetUpdatedReason, st.Conditions[0].Reason)
	assert.Equal(t, epoch, st.Conditions[0].LastTransitionTime.Time, "same status keeps the transition time")
	assert.Equal(t, epoch.Add(2*time.Minute), st.Conditions[0].LastUpdateTime.Time)
	SetDeploymentCondition(st, *NewDeploymentCondition(apps.DeploymentAvailable, v1.ConditionFalse, MinimumReplicasUnavailable, "", epoch))
	assert.Len(t, st.Conditions, 2)
	RemoveDeploymentCondition(st, apps.DeploymentProgressing)
	assert.Len(t, st.Conditions, 1)
	assert.Nil(t, GetDeploymentCondition(*st, apps.DeploymentProgressing))
}

func TestDeploymentTimedOut(t *testing.T) {
	d := rolling(3, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.ProgressDeadlineSeconds = ptr.To[int32](600)
	st := &apps.DeploymentStatus{}
	assert.False(t, DeploymentTimedOut(d, st, epoch), "no condition, no base")
	SetDeploymentCondition(st, *NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionTrue, ReplicaSetUpdatedReason, "", epoch))
	assert.False(t, DeploymentTimedOut(d, st, epoch.Add(600*time.Second)), "exactly at the deadline: not yet")
	assert.True(t, DeploymentTimedOut(d, st, epoch.Add(600*time.Second+time.Nanosecond)))
	st.Conditions[0].Reason = NewRSAvailableReason
	assert.False(t, DeploymentTimedOut(d, st, epoch.Add(time.Hour)), "complete rollouts never time out")
	st.Conditions[0].Reason = TimedOutReason
	assert.True(t, DeploymentTimedOut(d, st, epoch))
	d.Spec.ProgressDeadlineSeconds = nil
	assert.False(t, DeploymentTimedOut(d, st, epoch.Add(time.Hour)))
}

func TestDeploymentCompleteAndProgressing(t *testing.T) {
	d := rolling(3, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Generation = 2
	d.Status = apps.DeploymentStatus{Replicas: 4, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 3}
	assert.False(t, DeploymentComplete(d, &apps.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3, ObservedGeneration: 1}))
	assert.True(t, DeploymentComplete(d, &apps.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3, ObservedGeneration: 2}))
	assert.True(t, DeploymentProgressing(d, &apps.DeploymentStatus{Replicas: 4, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}), "more updated")
	assert.True(t, DeploymentProgressing(d, &apps.DeploymentStatus{Replicas: 3, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 3}), "fewer old")
	assert.True(t, DeploymentProgressing(d, &apps.DeploymentStatus{Replicas: 4, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 4}), "more available")
	assert.False(t, DeploymentProgressing(d, &d.Status))
}

func TestRollback(t *testing.T) {
	d := rolling(3, intstr.FromInt32(1), intstr.FromInt32(0))
	tmpl := func(image, hash string) v1.PodTemplateSpec {
		return v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", apps.DefaultDeploymentUniqueLabelKey: hash}}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: image}}}}
	}
	owned := func(name, image, hash, rev string) *apps.ReplicaSet {
		rs := rsWith(name, 0, map[string]string{RevisionAnnotation: rev, "note": name})
		rs.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(d, apps.SchemeGroupVersion.WithKind("Deployment"))}
		rs.Spec.Template = tmpl(image, hash)
		return rs
	}
	r1, r2, r3 := owned("r1", "v1", "h1", "1"), owned("r2", "v2", "h2", "2"), owned("r3", "v3", "h3", "3")
	d.Spec.Template = tmpl("v3", "")
	delete(d.Spec.Template.Labels, apps.DefaultDeploymentUniqueLabelKey)
	d.Annotations = map[string]string{RevisionAnnotation: "3"}
	list := []*apps.ReplicaSet{r1, r3, r2}

	out, skipped, err := Rollback(d, list, 0)
	require.NoError(t, err)
	assert.Empty(t, skipped)
	assert.Equal(t, "v2", out.Spec.Template.Spec.Containers[0].Image, "undo goes to the previous revision")
	assert.NotContains(t, out.Spec.Template.Labels, apps.DefaultDeploymentUniqueLabelKey)
	assert.Equal(t, "r2", out.Annotations["note"])
	assert.Equal(t, "3", out.Annotations[RevisionAnnotation], "revision annotation is left to the controller")

	out, _, err = Rollback(d, list, 1)
	require.NoError(t, err)
	assert.Equal(t, "v1", out.Spec.Template.Spec.Containers[0].Image)
	_, skipped, err = Rollback(d, list, 3)
	require.NoError(t, err)
	assert.Contains(t, skipped, "current template already matches revision 3")
	_, _, err = Rollback(d, list, 9)
	assert.EqualError(t, err, "unable to find specified revision 9 in history")
	_, _, err = Rollback(d, []*apps.ReplicaSet{r3}, 0)
	assert.ErrorContains(t, err, "no rollout history found")
	d.Spec.Paused = true
	_, _, err = Rollback(d, list, 0)
	assert.ErrorContains(t, err, "paused")
	// kubectl looks the revision up before it checks the pause.
	_, _, err = Rollback(d, list, 9)
	assert.EqualError(t, err, "unable to find specified revision 9 in history")
}
