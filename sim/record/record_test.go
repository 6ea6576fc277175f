package record_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/mvcc"
	"github.com/kubesim/kubesim/sim/record"
)

func setup(t *testing.T) (*sim.Engine, client.Interface) {
	t.Helper()
	eng := sim.New(1)
	s := apiserver.New(eng, mvcc.New(eng, mvcc.Config{}), apiserver.DefaultConfig())
	return eng, client.New(s, "test")
}

func events(t *testing.T, c client.Interface) []v1.Event {
	t.Helper()
	l, err := c.CoreV1().Events("default").List(context.TODO(), metav1.ListOptions{})
	require.NoError(t, err)
	return l.Items
}

var pod = &v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "web", UID: "u1"}

// Two components recording about one object in the same instant must not
// lose an event to a name collision.
func TestTwoRecordersSameObjectSameInstant(t *testing.T) {
	eng, c := setup(t)
	sched := record.New(client.New(c.Server(), "default-scheduler"), eng, "default-scheduler", "")
	kubelet := record.New(client.New(c.Server(), "kubelet/n1"), eng, "kubelet", "n1")
	sched.Event(pod, v1.EventTypeNormal, "Scheduled", "Successfully assigned default/web to n1")
	kubelet.Event(pod, v1.EventTypeNormal, "Pulling", `Pulling image "nginx"`)
	kubelet.Event(pod, v1.EventTypeNormal, "Pulled", `Container image "nginx" already present on machine`)
	evs := events(t, c)
	require.Len(t, evs, 3)
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, e.Reason+"/"+e.Source.Component)
	}
	assert.ElementsMatch(t, []string{"Scheduled/default-scheduler", "Pulling/kubelet", "Pulled/kubelet"}, reasons)

	// Two recorders of one source name their events alike: the second
	// finds its first choice taken and uses the next name.
	again := record.New(client.New(c.Server(), "kubelet/n1"), eng, "kubelet", "n1")
	again.Event(pod, v1.EventTypeNormal, "Killing", "Stopping container c")
	require.Len(t, events(t, c), 4)
}

// Repeats are folded into one Event (count++), as long as the correlator
// still remembers it: it keeps the last 4096 distinct events.
func TestFoldingAndBoundedMemory(t *testing.T) {
	eng, c := setup(t)
	r := record.New(c, eng, "kubelet", "n1")
	r.Event(pod, v1.EventTypeWarning, "BackOff", "back-off")
	eng.RunFor(1)
	r.Event(pod, v1.EventTypeWarning, "BackOff", "back-off")
	evs := events(t, c)
	require.Len(t, evs, 1)
	assert.Equal(t, int32(2), evs[0].Count)

	other := func(i int) *v1.ObjectReference {
		return &v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: fmt.Sprint("p", i), UID: "u2"}
	}
	for i := 0; i < 4096; i++ {
		r.Event(other(i), v1.EventTypeNormal, "Other", fmt.Sprint(i))
	}
	eng.RunFor(1)
	r.Event(pod, v1.EventTypeWarning, "BackOff", "back-off")  // forgotten: a new Event
	r.Event(other(4095), v1.EventTypeNormal, "Other", "4095") // remembered: folded
	n, backoffs := 0, 0
	for _, e := range events(t, c) {
		n++
		if e.Reason == "BackOff" {
			backoffs++
		}
		if e.Reason == "Other" && e.Message == "4095" {
			assert.Equal(t, int32(2), e.Count)
		}
	}
	assert.Equal(t, 2, backoffs)
	assert.Equal(t, 1+4096+1, n)
}

// The events of one object in one instant take consecutive names from the
// instant's; another object starts from the instant's again, and so does a
// later instant.
func TestEventNamesWithinAnInstant(t *testing.T) {
	eng, c := setup(t)
	r := record.New(c, eng, "kubelet", "n1")
	other := &v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "api", UID: "u2"}
	suffix := map[string][]int64{}
	emit := func(ref *v1.ObjectReference, reason string) {
		before := map[string]bool{}
		for _, e := range events(t, c) {
			before[e.Name] = true
		}
		r.Event(ref, v1.EventTypeNormal, reason, reason)
		for _, e := range events(t, c) {
			if !before[e.Name] {
				obj, hex, ok := strings.Cut(e.Name, ".")
				require.True(t, ok, e.Name)
				n, err := strconv.ParseInt(hex, 16, 64)
				require.NoError(t, err, e.Name)
				suffix[obj] = append(suffix[obj], n)
			}
		}
	}
	emit(pod, "Pulled")
	emit(pod, "Created")
	emit(other, "Pulled")
	emit(pod, "Started")
	eng.RunFor(time.Second)
	emit(pod, "Killing")
	require.Len(t, suffix["web"], 4)
	require.Len(t, suffix["api"], 1)
	base := suffix["web"][0]
	assert.Equal(t, []int64{base, base + 1, base + 2, base + int64(time.Second)}, suffix["web"])
	assert.Equal(t, []int64{base}, suffix["api"])
}

// EventFor records what Event does for the same reference, and folds with
// it.
func TestEventForIsEvent(t *testing.T) {
	eng, c := setup(t)
	r := record.New(c, eng, "kubelet", "n1")
	r.EventFor(*pod, v1.EventTypeNormal, "Started", "Started container c")
	eng.RunFor(time.Second)
	r.Event(pod, v1.EventTypeNormal, "Started", "Started container c")
	evs := events(t, c)
	require.Len(t, evs, 1)
	assert.Equal(t, *pod, evs[0].InvolvedObject)
	assert.Equal(t, "Started", evs[0].Reason)
	assert.Equal(t, int32(2), evs[0].Count)
}

// In a burst (more objects named in one instant than a recorder counts
// without a map, as the scheduler's Scheduled events), each object's names
// are still consecutive from the instant's, interleaved or not, and the
// next instant starts again.
func TestEventNamesInABurst(t *testing.T) {
	eng, c := setup(t)
	r := record.New(c, eng, "default-scheduler", "")
	suffixes := func() map[string][]int64 {
		out := map[string][]int64{}
		for _, e := range events(t, c) {
			obj, hex, ok := strings.Cut(e.Name, ".")
			require.True(t, ok, e.Name)
			n, err := strconv.ParseInt(hex, 16, 64)
			require.NoError(t, err, e.Name)
			out[obj] = append(out[obj], n)
		}
		for _, s := range out {
			slices.Sort(s)
		}
		return out
	}
	const objects = 20
	for round := range 3 {
		for i := range objects {
			ref := &v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: fmt.Sprintf("p%02d", i), UID: types.UID(fmt.Sprint("u", i))}
			r.Event(ref, v1.EventTypeNormal, fmt.Sprint("R", round), "m")
		}
	}
	got := suffixes()
	require.Len(t, got, objects)
	base := got["p00"][0]
	for i := range objects {
		assert.Equal(t, []int64{base, base + 1, base + 2}, got[fmt.Sprintf("p%02d", i)], "object %d", i)
	}
	eng.RunFor(time.Second)
	r.Event(&v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "p19", UID: "u19"}, v1.EventTypeNormal, "Later", "m")
	assert.Equal(t, []int64{base, base + 1, base + 2, base + int64(time.Second)}, suffixes()["p19"])
}

// Upstream's folding key (getEventKey in client-go tools/record/
// events_cache.go) includes the involved object's fieldPath and apiVersion:
// the same probe failure of two containers of one pod is two Events, each
// counting its own repeats.
func TestFoldingKeyIncludesFieldPathAndAPIVersion(t *testing.T) {
	eng, c := setup(t)
	r := record.New(c, eng, "kubelet", "n1")
	a, b := *pod, *pod
	a.FieldPath, b.FieldPath = "spec.containers{a}", "spec.containers{b}"
	for range 3 {
		r.EventFor(a, v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500")
		r.EventFor(b, v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500")
		eng.RunFor(10 * time.Second)
	}
	other := a
	other.APIVersion = "v2"
	r.EventFor(other, v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500")
	got := map[string]int32{}
	for _, e := range events(t, c) {
		got[e.InvolvedObject.APIVersion+" "+e.InvolvedObject.FieldPath] = e.Count
	}
	assert.Equal(t, map[string]int32{"v1 spec.containers{a}": 3, "v1 spec.containers{b}": 3, "v2 spec.containers{a}": 1}, got)
}

// Upstream's recorder (generateEvent in client-go tools/record/event.go)
// sets reportingController to the source's component and reportingInstance
// to the source's host: the node name for a kubelet, empty for a
// controller.
func TestReportingInstanceIsSourceHost(t *testing.T) {
	eng, c := setup(t)
	record.New(c, eng, "kubelet", "n1").Event(pod, v1.EventTypeNormal, "Pulling", `Pulling image "nginx"`)
	record.New(c, eng, "replicaset-controller", "").Event(pod, v1.EventTypeNormal, "SuccessfulCreate", "Created pod: web")
	got := map[string]string{}
	for _, e := range events(t, c) {
		got[e.ReportingController] = e.ReportingInstance
	}
	assert.Equal(t, map[string]string{"kubelet": "n1", "replicaset-controller": ""}, got)
}
