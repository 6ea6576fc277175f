package replicaset

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kubesim/kubesim/controllers/controllerutil"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type fakePodControl struct {
	created    []*v1.Pod
	deleted    []string
	createErrs map[int]error // by 1-based creation call
	deleteErrs map[string]error
	calls      int
}

func (f *fakePodControl) CreatePod(ns string, pod *v1.Pod) error {
	f.calls++
	if err := f.createErrs[f.calls]; err != nil {
		return err
	}
	f.created = append(f.created, pod)
	return nil
}

func (f *fakePodControl) DeletePod(ns, name string) error {
	if err := f.deleteErrs[name]; err != nil {
		return err
	}
	f.deleted = append(f.deleted, name)
	return nil
}

func newRS(replicas int32) *apps.ReplicaSet {
	return &apps.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "ns", UID: "rs-uid", Generation: 1},
		Spec: apps.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Template: v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}},
		},
	}
}

func runningPod(name, node string, ready bool) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{"app": "web"}, CreationTimestamp: metav1.NewTime(epoch)},
		Spec:       v1.PodSpec{NodeName: node},
		Status:     v1.PodStatus{Phase: v1.PodRunning},
	}
	if ready {
		p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: metav1.NewTime(epoch)}}
	}
	return p
}

func newExp(now *time.Time) *controllerutil.UIDTrackingControllerExpectations {
	return controllerutil.NewUIDTrackingControllerExpectations(controllerutil.NewControllerExpectations(func() time.Time { return *now }))
}

func TestManageReplicasCreatesWithSlowStart(t *testing.T) {
	now := epoch
	exp := newExp(&now)
	rs := newRS(10)
	pc := &fakePodControl{}
	require.NoError(t, ManageReplicas(rs, nil, nil, exp, pc, now, BurstReplicas))
	assert.Len(t, pc.created, 10)
	assert.Equal(t, "web-abc-", pc.created[0].GenerateName)
	assert.True(t, metav1.IsControlledBy(pc.created[0], rs))
	e, _ := exp.GetExpectations(Key(rs))
	add, _ := e.GetExpectations()
	assert.Equal(t, int64(10), add, "creations expected until observed")
}

func TestManageReplicasCreateFailureLowersExpectations(t *testing.T) {
	now := epoch
	exp := newExp(&now)
	rs := newRS(10)
	// Batches 1, 2, 4: the 5th call (in the third batch) fails ⇒ the batch
	// finishes (7 calls, 6 created) and 4 creations are skipped.
	pc := &fakePodControl{createErrs: map[int]error{5: errors.New("quota")}}
	err := ManageReplicas(rs, nil, nil, exp, pc, now, BurstReplicas)
	require.Error(t, err)
	assert.Equal(t, 7, pc.calls)
	assert.Len(t, pc.created, 6)
	e, _ := exp.GetExpectations(Key(rs))
	add, _ := e.GetExpectations()
	assert.Equal(t, int64(6), add, "only the 6 successful creations remain expected")
}

func TestManageReplicasBurstCap(t *testing.T) {
	now := epoch
	exp := newExp(&now)
	pc := &fakePodControl{}
	require.NoError(t, ManageReplicas(newRS(600), nil, nil, exp, pc, now, BurstReplicas))
	assert.Len(t, pc.created, 500)
}

func TestManageReplicasDeletesBestVictims(t *testing.T) {
	now := epoch.Add(time.Hour)
	exp := newExp(&now)
	rs := newRS(2)
	active := []*v1.Pod{
		runningPod("a", "n1", true),
		runningPod("b", "n2", true),
		runningPod("c", "n2", true), // n2 is doubled up
		runningPod("d", "n3", false),
	}
	// A related pod of a sibling ReplicaSet on n1 makes n1 doubled up too,
	// but n2 holds two of ours plus nothing else: ranks n1=2, n2=2, n3=1.
	sibling := runningPod("sib", "n1", true)
	related := append(append([]*v1.Pod{}, active...), sibling)
	pc := &fakePodControl{deleteErrs: map[string]error{}}
	require.NoError(t, ManageReplicas(rs, active, related, exp, pc, now, BurstReplicas))
	// d first (not ready), then among a/b/c (rank 2 each, same times) UID order: a.
	assert.Equal(t, []string{"d", "a"}, pc.deleted)
	assert.False(t, exp.SatisfiedExpectations(Key(rs)))
	exp.DeletionObserved(Key(rs), "ns/d")
	exp.DeletionObserved(Key(rs), "ns/a")
	assert.True(t, exp.SatisfiedExpectations(Key(rs)))
}

func TestManageReplicasDeleteErrors(t *testing.T) {
	now := epoch
	exp := newExp(&now)
	rs := newRS(0)
	active := []*v1.Pod{runningPod("a", "n1", true), runningPod("b", "n1", true)}
	pc := &fakePodControl{deleteErrs: map[string]error{
		"a": apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "a"),
		"b": fmt.Errorf("server down"),
	}}
	err := ManageReplicas(rs, active, active, exp, pc, now, BurstReplicas)
	assert.EqualError(t, err, "server down", "NotFound is not an error")
	assert.True(t, exp.SatisfiedExpectations(Key(rs)), "failed deletions lowered the expectations")
}

func TestGetPodsToDeleteAllGoUnsorted(t *testing.T) {
	pods := []*v1.Pod{runningPod("z", "n", true), runningPod("a", "", false)}
	got := GetPodsToDelete(pods, pods, 2, epoch)
	assert.Equal(t, "z", got[0].Name, "no sorting when every pod is deleted")
}

func TestCalculateStatus(t *testing.T) {
	rs := newRS(3)
	rs.Spec.MinReadySeconds = 10
	now := epoch.Add(5 * time.Second)
	old := runningPod("old", "n", true) // ready since epoch: 5 s < 10 s ⇒ not available
	stale := runningPod("stale", "n", true)
	stale.Status.Conditions[0].LastTransitionTime = metav1.NewTime(epoch.Add(-time.Minute))
	stale.Labels = map[string]string{"other": "x"}
	notReady := runningPod("nr", "n", false)
	st := CalculateStatus(rs, []*v1.Pod{old, stale, notReady}, nil, now)
	assert.Equal(t, int32(3), st.Replicas)
	assert.Equal(t, int32(2), st.FullyLabeledReplicas)
	assert.Equal(t, int32(2), st.ReadyReplicas)
	assert.Equal(t, int32(1), st.AvailableReplicas)
	assert.Equal(t, time.Duration(0), AvailabilityRequeueAfter(rs, st, nil), "not all ready: no availability requeue")

	st = CalculateStatus(rs, []*v1.Pod{old}, errors.New("quota exceeded"), now)
	c := GetCondition(st, apps.ReplicaSetReplicaFailure)
	require.NotNil(t, c)
	assert.Equal(t, "FailedCreate", c.Reason)
	assert.Equal(t, "quota exceeded", c.Message)
	rs.Status = st
	st = CalculateStatus(rs, []*v1.Pod{old, old, old}, nil, now)
	assert.Nil(t, GetCondition(st, apps.ReplicaSetReplicaFailure), "cleared once manageReplicas succeeds")
	assert.Equal(t, 10*time.Second+time.Millisecond, AvailabilityRequeueAfter(rs, st, nil), "minReadySeconds + a 1 ms pad")
	assert.False(t, StatusUnchanged(rs, st))
	rs.Status = st
	rs.Status.ObservedGeneration = rs.Generation
	assert.True(t, StatusUnchanged(rs, st))
}
