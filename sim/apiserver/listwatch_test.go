package apiserver_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// An object that leaves a watch's selection is delivered as DELETED with
// its previous content (the version that matched) and the change's
// resourceVersion, as upstream's cacheWatcher.convertToWatchEvent and the
// etcd3 watcher's transform do; one that enters it as ADDED with the new
// content. Both for a resource with a watch cache (pods) and one served
// from the store (events).
func TestWatchLeavingTheSelectionDeliversThePreviousObject(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	podRes, _ := e.s.Resource("pods")
	_, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)
	var got []watch.Event
	_, err = e.s.Watch(podRes, "default", metav1.ListOptions{FieldSelector: "status.phase=Pending"},
		func(ev watch.Event) { got = append(got, ev) })
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	require.Len(t, got, 1)

	p, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	p.Status.Phase = v1.PodRunning
	running, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	running.Status.Phase = v1.PodPending
	pending, err := pods.UpdateStatus(ctx, running, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	require.Len(t, got, 3)
	assert.Equal(t, watch.Deleted, got[1].Type)
	left := got[1].Object.(*v1.Pod)
	assert.Equal(t, v1.PodPending, left.Status.Phase, "the version that matched")
	assert.Equal(t, running.ResourceVersion, left.ResourceVersion, "at the change's resourceVersion")
	assert.Equal(t, watch.Added, got[2].Type)
	assert.Equal(t, pending.ResourceVersion, got[2].Object.(*v1.Pod).ResourceVersion)
	cached, err := e.s.Get(podRes, "default", "a")
	require.NoError(t, err)
	assert.Equal(t, pending.ResourceVersion, cached.(metav1.Object).GetResourceVersion(), "the cached objects keep their own versions")

	evRes, _ := e.s.Resource("events")
	events := e.c.CoreV1().Events("default")
	first, err := events.Create(ctx, &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e0"}, Reason: "Pulled", Message: "m",
		InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "a"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	var evs []watch.Event
	_, err = e.s.Watch(evRes, "default", metav1.ListOptions{FieldSelector: "reason=Pulled"},
		func(ev watch.Event) { evs = append(evs, ev) })
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	first.Reason = "Created"
	created, err := events.Update(ctx, first, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	require.Len(t, evs, 2)
	assert.Equal(t, watch.Deleted, evs[1].Type)
	ev := evs[1].Object.(*v1.Event)
	assert.Equal(t, "Pulled", ev.Reason)
	assert.Equal(t, created.ResourceVersion, ev.ResourceVersion)
	assert.Equal(t, fmt.Sprint(e.s.Store().Rev()), ev.ResourceVersion)
}
