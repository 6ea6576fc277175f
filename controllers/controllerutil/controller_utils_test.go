package controllerutil

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/davecgh/go-spew/spew"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// pod builds a pod for ranking tests; opts tweak it.
func pod(name string, opts ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(epoch)},
		Spec:       v1.PodSpec{NodeName: "node-1"},
		Status:     v1.PodStatus{Phase: v1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func unassigned(p *v1.Pod) { p.Spec.NodeName = "" }
func onNode(n string) func(*v1.Pod) {
	return func(p *v1.Pod) { p.Spec.NodeName = n }
}
func phase(ph v1.PodPhase) func(*v1.Pod) { return func(p *v1.Pod) { p.Status.Phase = ph } }
func readySince(t time.Time) func(*v1.Pod) {
	return func(p *v1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: metav1.NewTime(t)})
	}
}
func created(t time.Time) func(*v1.Pod) {
	return func(p *v1.Pod) { p.CreationTimestamp = metav1.NewTime(t) }
}
func restarts(n int32) func(*v1.Pod) {
	return func(p *v1.Pod) {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, v1.ContainerStatus{Name: "c", RestartCount: n})
	}
}
func cost(c string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[PodDeletionCostAnnotation] = c
	}
}
func uid(u string) func(*v1.Pod) { return func(p *v1.Pod) { p.UID = types.UID(u) } }

func names(pods []*v1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

// TestActivePodsWithRanksLess checks each rule on a pair: "first" must sort
// before "second" and not the other way round.
func TestActivePodsWithRanksLess(t *testing.T) {
	now := metav1.NewTime(epoch.Add(time.Hour))
	tests := []struct {
		name          string
		first, second *v1.Pod
		rankFirst     int
		rankSecond    int
		now           metav1.Time
	}{
		{name: "1 unassigned before assigned", first: pod("a", unassigned, phase(v1.PodPending)), second: pod("b", phase(v1.PodPending))},
		{name: "2 pending before unknown", first: pod("a", phase(v1.PodPending)), second: pod("b", phase(v1.PodUnknown))},
		{name: "2 unknown before running", first: pod("a", phase(v1.PodUnknown)), second: pod("b")},
		{name: "3 not ready before ready", first: pod("a"), second: pod("b", readySince(epoch))},
		{name: "4 lower deletion cost first", first: pod("a", readySince(epoch), cost("-5")), second: pod("b", readySince(epoch))},
		{name: "4 deletion cost beats rank", first: pod("a", cost("1")), second: pod("b", cost("2")), rankFirst: 1, rankSecond: 9},
		{name: "4 invalid deletion cost counts as 0", first: pod("a", cost("+7")), second: pod("b", cost("1"))},
		{name: "5 higher rank first", first: pod("a", readySince(epoch)), second: pod("b", readySince(epoch)), rankFirst: 3, rankSecond: 1},
		{name: "6 ready more recently first (raw, now zero)", first: pod("a", readySince(epoch.Add(time.Second))), second: pod("b", readySince(epoch))},
		{name: "6 ready more recently first (other log bucket)", first: pod("a", readySince(epoch.Add(50*time.Minute))), second: pod("b", readySince(epoch)), now: now},
		{name: "6 same log bucket: UID order", first: pod("b", readySince(epoch.Add(time.Second)), uid("1")), second: pod("a", readySince(epoch), uid("2")), now: now},
		{name: "6 same log bucket: UID order beats readiness time", first: pod("a", readySince(epoch), uid("1")), second: pod("b", readySince(epoch.Add(time.Second)), uid("2")), now: now},
		{name: "7 more restarts first", first: pod("a", restarts(3)), second: pod("b", restarts(1))},
		{name: "8 newer first (raw)", first: pod("a", created(epoch.Add(time.Second))), second: pod("b")},
		{name: "8 newer first (other log bucket)", first: pod("a", created(epoch.Add(59*time.Minute))), second: pod("b"), now: now},
		{name: "8 same log bucket: UID order", first: pod("a", created(epoch), uid("1")), second: pod("b", created(epoch.Add(time.Second)), uid("2")), now: now},
		{name: "8 zero creation time first", first: pod("a", created(time.Time{})), second: pod("b")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ActivePodsWithRanks{Pods: []*v1.Pod{tc.first, tc.second}, Rank: []int{tc.rankFirst, tc.rankSecond}, Now: tc.now}
			assert.True(t, s.Less(0, 1), "first should sort before second")
			assert.False(t, s.Less(1, 0), "second should not sort before first")
		})
	}
}

func TestLogarithmicRankDiff(t *testing.T) {
	now := metav1.NewTime(epoch.Add(1000 * time.Second))
	// 1000 s and 600 s ago: log2(1e12)≈39.86, log2(6e11)≈39.13 ⇒ same bucket 39.
	assert.Equal(t, int64(0), logarithmicRankDiff(metav1.NewTime(epoch), metav1.NewTime(epoch.Add(400*time.Second)), now))
	// 1000 s and 100 s ago: 39 vs 36.
	assert.Equal(t, int64(3), logarithmicRankDiff(metav1.NewTime(epoch), metav1.NewTime(epoch.Add(900*time.Second)), now))
	// A time at or after now has rank -1.
	assert.Equal(t, int64(-40), logarithmicRankDiff(now, metav1.NewTime(epoch), now))
}

func TestActivePodsVictimOrder(t *testing.T) {
	now := metav1.NewTime(epoch.Add(24 * time.Hour))
	pods := []*v1.Pod{
		pod("running-ready-old", readySince(epoch), created(epoch)),
		pod("pending-unassigned", unassigned, phase(v1.PodPending)),
		pod("running-ready-recent", readySince(epoch.Add(23*time.Hour+59*time.Minute)), created(epoch)),
		pod("running-notready", created(epoch)),
		pod("pending-assigned", phase(v1.PodPending)),
		pod("running-ready-costly", readySince(epoch.Add(23*time.Hour+59*time.Minute)), cost("100")),
		pod("unknown", phase(v1.PodUnknown)),
	}
	s := ActivePodsWithRanks{Pods: pods, Rank: make([]int, len(pods)), Now: now}
	sort.Sort(s)
	assert.Equal(t, []string{
		"pending-unassigned", "pending-assigned", "unknown", "running-notready",
		"running-ready-recent", "running-ready-old", "running-ready-costly",
	}, names(s.Pods))
}

func TestGetDeletionCostFromPodAnnotations(t *testing.T) {
	tests := []struct {
		value   string
		want    int32
		wantErr bool
	}{
		{"0", 0, false}, {"10", 10, false}, {"-10", -10, false},
		{"2147483647", math.MaxInt32, false}, {"-2147483648", math.MinInt32, false},
		{"2147483648", 0, true}, {"+10", 0, true}, {"010", 0, true}, {"", 0, true}, {"ten", 0, true},
	}
	for _, tc := range tests {
		got, err := GetDeletionCostFromPodAnnotations(map[string]string{PodDeletionCostAnnotation: tc.value})
		assert.Equal(t, tc.want, got, tc.value)
		assert.Equal(t, tc.wantErr, err != nil, tc.value)
	}
	got, err := GetDeletionCostFromPodAnnotations(nil)
	assert.NoError(t, err)
	assert.Zero(t, got)
}

func TestFilterActivePods(t *testing.T) {
	deleting := pod("deleting")
	deleting.DeletionTimestamp = &metav1.Time{Time: epoch}
	pods := []*v1.Pod{pod("a"), pod("done", phase(v1.PodSucceeded)), pod("failed", phase(v1.PodFailed)), deleting, pod("b", phase(v1.PodPending))}
	assert.Equal(t, []string{"a", "b"}, names(FilterActivePods(pods)))
	assert.True(t, IsPodTerminating(deleting))
	assert.False(t, IsPodTerminating(pods[0]))
}

func TestExpectationsTTL(t *testing.T) {
	now := epoch
	clock := func() time.Time { return now }
	e := NewControllerExpectations(clock)
	const key = "ns/rs"
	assert.True(t, e.SatisfiedExpectations(key), "no expectations ⇒ sync")

	e.ExpectCreations(key, 2)
	assert.False(t, e.SatisfiedExpectations(key))
	e.CreationObserved(key)
	assert.False(t, e.SatisfiedExpectations(key))
	e.CreationObserved(key)
	assert.True(t, e.SatisfiedExpectations(key), "both creations seen")

	e.ExpectCreations(key, 3)
	now = now.Add(ExpectationsTimeout)
	assert.False(t, e.SatisfiedExpectations(key), "exactly 5 min is not expired (strict >)")
	now = now.Add(time.Nanosecond)
	assert.True(t, e.SatisfiedExpectations(key), "expired after 5 min")
	add, del := func() (int64, int64) { x, _ := e.GetExpectations(key); return x.GetExpectations() }()
	assert.Equal(t, int64(3), add)
	assert.Equal(t, int64(0), del)

	e.DeleteExpectations(key)
	_, ok := e.GetExpectations(key)
	assert.False(t, ok)
	e.CreationObserved(key) // no expectations: a no-op, must not create an entry
	_, ok = e.GetExpectations(key)
	assert.False(t, ok)
}

func TestUIDTrackingExpectations(t *testing.T) {
	now := epoch
	u := NewUIDTrackingControllerExpectations(NewControllerExpectations(func() time.Time { return now }))
	const key = "ns/rs"
	u.ExpectDeletions(key, []string{"ns/p1", "ns/p2"})
	assert.False(t, u.SatisfiedExpectations(key))
	u.DeletionObserved(key, "ns/p1")
	u.DeletionObserved(key, "ns/p1") // graceful delete seen twice counts once
	u.DeletionObserved(key, "ns/other")
	assert.False(t, u.SatisfiedExpectations(key))
	assert.Equal(t, []string{"ns/p2"}, sets2slice(u.GetUIDs(key)))
	u.DeletionObserved(key, "ns/p2")
	assert.True(t, u.SatisfiedExpectations(key))
	u.DeleteExpectations(key)
	assert.Nil(t, u.GetUIDs(key))
}

func sets2slice(s interface{ UnsortedList() []string }) []string {
	l := s.UnsortedList()
	sort.Strings(l)
	return l
}

func TestSlowStartBatch(t *testing.T) {
	fail := errors.New("boom")
	tests := []struct {
		name          string
		count         int
		failOnCall    map[int]bool // 1-based call numbers that fail
		wantCalls     int
		wantSuccesses int
		wantErr       bool
	}{
		{name: "zero", count: 0, wantCalls: 0, wantSuccesses: 0},
		{name: "all succeed 10 = 1+2+4+3", count: 10, wantCalls: 10, wantSuccesses: 10},
		{name: "fail in first batch stops", count: 10, failOnCall: map[int]bool{1: true}, wantCalls: 1, wantSuccesses: 0, wantErr: true},
		{name: "fail in 3rd batch finishes batch then stops", count: 20, failOnCall: map[int]bool{4: true}, wantCalls: 7, wantSuccesses: 6, wantErr: true},
		{name: "two failures in a batch", count: 20, failOnCall: map[int]bool{5: true, 6: true}, wantCalls: 7, wantSuccesses: 5, wantErr: true},
		{name: "fail in last batch", count: 7, failOnCall: map[int]bool{7: true}, wantCalls: 7, wantSuccesses: 6, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			n, err := SlowStartBatch(tc.count, SlowStartInitialBatchSize, func() error {
				calls++
				if tc.failOnCall[calls] {
					return fail
				}
				return nil
			})
			assert.Equal(t, tc.wantCalls, calls)
			assert.Equal(t, tc.wantSuccesses, n)
			assert.Equal(t, tc.wantErr, err != nil)
			if tc.wantErr {
				assert.ErrorIs(t, err, fail)
			}
		})
	}
}

func TestSlowStartBatchSizes(t *testing.T) {
	// Record batch boundaries by failing nothing and watching remaining counts.
	var sizes []int
	count := 100
	remaining := count
	batch := min(remaining, SlowStartInitialBatchSize)
	for batch > 0 {
		sizes = append(sizes, batch)
		remaining -= batch
		batch = min(2*batch, remaining)
	}
	assert.Equal(t, []int{1, 2, 4, 8, 16, 32, 37}, sizes)
	// And SlowStartBatch makes the same number of calls before a failure at
	// the first call of each batch: 1, 1+2, 1+2+4, …
	starts := []int{1, 2, 4, 8, 16, 32, 64}
	prefix := 0
	for i, s := range starts {
		calls := 0
		failAt := prefix + 1
		_, err := SlowStartBatch(count, 1, func() error {
			calls++
			if calls == failAt {
				return errors.New("x")
			}
			return nil
		})
		require.Error(t, err)
		assert.Equal(t, prefix+sizes[i], calls, "failure at start of batch %d", i)
		prefix += s
	}
}

func TestGetPodFromTemplate(t *testing.T) {
	rs := &apps.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-7d9f8", Namespace: "prod", UID: "rs-uid"}}
	tmpl := &v1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"a": "b"}, Finalizers: []string{"f"}},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "nginx"}}},
	}
	ref := NewControllerRef(rs, apps.SchemeGroupVersion.WithKind("ReplicaSet"))
	p := GetPodFromTemplate(tmpl, rs, ref)
	assert.Equal(t, "web-7d9f8-", p.GenerateName)
	assert.Equal(t, "prod", p.Namespace)
	assert.Equal(t, map[string]string{"app": "web"}, p.Labels)
	assert.Equal(t, []string{"f"}, p.Finalizers)
	require.Len(t, p.OwnerReferences, 1)
	assert.Equal(t, metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f8", UID: "rs-uid", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}, p.OwnerReferences[0])
	p.Labels["app"] = "changed"
	p.Spec.Containers[0].Image = "changed"
	assert.Equal(t, "web", tmpl.Labels["app"], "labels copied, not shared")
	assert.Equal(t, "nginx", tmpl.Spec.Containers[0].Image, "spec deep-copied")

	long := &apps.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "Bad_Name"}}
	assert.Equal(t, "Bad_Name", GetPodFromTemplate(tmpl, long, nil).GenerateName, "invalid prefix ⇒ name without dash, as upstream")
}

// TestComputeHash ports upstream's TestComputeHash (controller_utils_test.go):
// different collision counts give different hashes.
func TestComputeHash(t *testing.T) {
	collisionCount := int32(1)
	otherCollisionCount := int32(2)
	maxCollisionCount := int32(math.MaxInt32)
	tests := []struct {
		name                string
		template            *v1.PodTemplateSpec
		collisionCount      *int32
		otherCollisionCount *int32
	}{
		{"simple", &v1.PodTemplateSpec{}, &collisionCount, &otherCollisionCount},
		{"using math.MaxInt64", &v1.PodTemplateSpec{}, nil, &maxCollisionCount},
	}
	for _, tc := range tests {
		hash := ComputeHash(tc.template, tc.collisionCount)
		otherHash := ComputeHash(tc.template, tc.otherCollisionCount)
		assert.NotEqual(t, hash, otherHash, tc.name)
	}
}

const podSpecJSON = `{"metadata":{"creationTimestamp":null,"labels":{"app":"cats"}},"spec":{"containers":[{"name":"cats","image":"registry.example/cats:@@VERSION@@","resources":{"limits":{"cpu":"100m","memory":"128Mi"}}}],"restartPolicy":"Always"}}`

// TestPodTemplateSpecHash ports upstream's deployment/util hash_test.go: 1000
// templates differing in one field give 1000 distinct hashes.
func TestPodTemplateSpecHash(t *testing.T) {
	seen := map[string]int{}
	for i := 0; i < 1000; i++ {
		spec := v1.PodTemplateSpec{}
		require.NoError(t, json.Unmarshal([]byte(strings.Replace(podSpecJSON, "@@VERSION@@", strconv.Itoa(i), 1)), &spec))
		h := ComputeHash(&spec, nil)
		if prev, ok := seen[h]; ok {
			t.Fatalf("hash collision between %d and %d: %s", prev, i, h)
		}
		seen[h] = i
	}
}

// TestComputeHashMatchesSpewConfig recomputes the hash through go-spew with
// the ConfigState upstream's hashutil.DeepHashObject has always used, so a
// change in k8s.io/utils/dump (which we call) would be caught.
func TestComputeHashMatchesSpewConfig(t *testing.T) {
	tmpl := &v1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "web", Image: "nginx:1.27"}}},
	}
	for _, cc := range []*int32{nil, ptr.To[int32](0), ptr.To[int32](7)} {
		h := fnv.New32a()
		printer := spew.ConfigState{Indent: " ", SortKeys: true, DisableMethods: true, SpewKeys: true, DisablePointerAddresses: true, DisableCapacities: true}
		printer.Fprintf(h, "%#v", *tmpl)
		if cc != nil {
			b := []byte{byte(*cc), 0, 0, 0, 0, 0, 0, 0}
			_, _ = h.Write(b)
		}
		want := rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
		assert.Equal(t, want, ComputeHash(tmpl, cc))
	}
	// SafeEncodeString keeps the decimal's length and uses the "bcdfghjklmnpqrstvwxz2456789" alphabet.
	got := ComputeHash(tmpl, nil)
	assert.Regexp(t, `^[bcdfghjklmnpqrstvwxz2456789]{1,10}$`, got)
}

func TestReplicaSetOrderings(t *testing.T) {
	mk := func(name string, replicas int32, created time.Time) *apps.ReplicaSet {
		return &apps.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)}, Spec: apps.ReplicaSetSpec{Replicas: ptr.To(replicas)}}
	}
	a := mk("a", 3, epoch)
	b := mk("b", 5, epoch.Add(time.Minute))
	c := mk("c", 3, epoch.Add(2*time.Minute))
	d := mk("d", 0, epoch)
	rsNames := func(l []*apps.ReplicaSet) []string {
		var out []string
		for _, r := range l {
			out = append(out, r.Name)
		}
		return out
	}
	l := []*apps.ReplicaSet{c, b, a, d}
	sort.Sort(ReplicaSetsByCreationTimestamp(l))
	assert.Equal(t, []string{"a", "d", "b", "c"}, rsNames(l), "ties by name")
	sort.Sort(ReplicaSetsBySizeOlder(l))
	assert.Equal(t, []string{"b", "a", "c", "d"}, rsNames(l))
	sort.Sort(ReplicaSetsBySizeNewer(l))
	assert.Equal(t, []string{"b", "c", "a", "d"}, rsNames(l))
	assert.Equal(t, []string{"b", "c", "a"}, rsNames(FilterActiveReplicaSets(append(l, nil))))
}
