package apiserver_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubesim/kubesim/sim/apiserver"
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

// Field selectors take the field labels of the kind's conversion function
// (pkg/apis/core/v1/conversion.go: pods, nodes, namespaces, events,
// services), and of runtime.DefaultMetaV1FieldSelectorConversion for every
// other kind (metadata.name and metadata.namespace only, in its own
// wording): nodes and namespaces take no metadata.namespace, apps/v1
// replicasets no status.replicas (kubernetes#135136). Pods' legacy
// spec.host is spec.nodeName; status.podIPs is accepted but is no
// selectable field (PodToSelectableFields), so it reads as "".
func TestFieldLabelsAsUpstreamConverts(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	for _, n := range []string{"a", "b"} {
		_, err := pods.Create(ctx, pod(n), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Target: v1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	p, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	p.Status.PodIP = "10.0.0.9"
	p.Status.PodIPs = []v1.PodIP{{IP: "10.0.0.9"}}
	_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	names := func(sel string) []string {
		l, err := pods.List(ctx, metav1.ListOptions{FieldSelector: sel})
		require.NoError(t, err, sel)
		out := []string{}
		for _, p := range l.Items {
			out = append(out, p.Name)
		}
		return out
	}
	assert.Equal(t, []string{"a"}, names("spec.host=n1"))
	assert.Equal(t, []string{"a"}, names("status.podIP=10.0.0.9"))
	assert.Equal(t, []string{}, names("status.podIPs=10.0.0.9"))
	assert.Equal(t, []string{"a", "b"}, names("status.podIPs="))

	podRes, _ := e.s.Resource("pods")
	var onNode []string
	_, err = e.s.Watch(podRes, "", metav1.ListOptions{FieldSelector: "spec.host=n1"}, func(ev watch.Event) {
		onNode = append(onNode, string(ev.Type)+" "+ev.Object.(metav1.Object).GetName())
	})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	assert.Equal(t, []string{"ADDED a"}, onNode)

	for _, c := range []struct{ resource, selector, err string }{
		{"nodes", "metadata.namespace=x", "field label not supported: metadata.namespace"},
		{"namespaces", "metadata.namespace=x", "field label not supported: metadata.namespace"},
		{"pods", "status.hostIP=1.2.3.4", "field label not supported: status.hostIP"},
		{"replicasets", "status.replicas=1", `"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"`},
		{"configmaps", "data.x=y", `"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"`},
		{"deployments", "spec.replicas=1", `"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"`},
	} {
		res, _ := e.s.Resource(c.resource)
		_, err := e.s.ListObject(res, "", metav1.ListOptions{FieldSelector: c.selector})
		assert.EqualError(t, err, c.err, c.resource)
		assert.True(t, apierrors.IsBadRequest(err), c.resource)
		_, err = e.s.Watch(res, "", metav1.ListOptions{FieldSelector: c.selector}, func(watch.Event) {})
		assert.EqualError(t, err, c.err, c.resource)
	}
	for _, c := range []struct{ resource, selector string }{
		{"nodes", "spec.unschedulable=false"}, {"namespaces", "status.phase=Active"}, {"priorityclasses", "metadata.namespace="},
		{"replicasets", "metadata.namespace=default"}, {"events", "involvedObject.fieldPath=x"}, {"services", "spec.type=ClusterIP"},
	} {
		res, _ := e.s.Resource(c.resource)
		_, err := e.s.ListObject(res, "", metav1.ListOptions{FieldSelector: c.selector})
		assert.NoError(t, err, c.resource)
	}
}

// Lists and watches check their options as the handler's
// ValidateListOptions (WatchList on, after SetListOptionsDefaults): 422
// Invalid on ListOptions.meta.k8s.io, after the selectors parse and before
// their field labels convert.
func TestListOptionsValidation(t *testing.T) {
	e := newEnv(t)
	podRes, _ := e.s.Resource("pods")
	for _, c := range []struct {
		opts  metav1.ListOptions
		watch bool
		err   string
	}{
		{opts: metav1.ListOptions{ResourceVersionMatch: metav1.ResourceVersionMatchExact},
			err: `ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided`},
		{opts: metav1.ListOptions{ResourceVersion: "0", ResourceVersionMatch: metav1.ResourceVersionMatchExact},
			err: `ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"`},
		{opts: metav1.ListOptions{ResourceVersion: "5", ResourceVersionMatch: "Newest"},
			err: `ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""`},
		{opts: metav1.ListOptions{ResourceVersion: "5", ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, Continue: "x"},
			err: `ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided`},
		{opts: metav1.ListOptions{SendInitialEvents: ptr(true)},
			err: `ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list`},
		{watch: true, opts: metav1.ListOptions{ResourceVersion: "5", ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan},
			err: `ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided`},
		{watch: true, opts: metav1.ListOptions{SendInitialEvents: ptr(true)},
			err: `ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan`},
		{watch: true, opts: metav1.ListOptions{SendInitialEvents: ptr(true), ResourceVersionMatch: metav1.ResourceVersionMatchExact, ResourceVersion: "5"},
			err: `ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]`},
		// The selectors parse first, their labels convert after.
		{opts: metav1.ListOptions{LabelSelector: "a b", ResourceVersionMatch: metav1.ResourceVersionMatchExact},
			err: `unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt`},
		{opts: metav1.ListOptions{FieldSelector: "status.hostIP=x", ResourceVersionMatch: metav1.ResourceVersionMatchExact},
			err: `ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided`},
	} {
		var err error
		if c.watch {
			_, err = e.s.Watch(podRes, "", c.opts, func(watch.Event) {})
		} else {
			_, err = e.s.ListObject(podRes, "", c.opts)
		}
		require.Error(t, err, "%+v", c.opts)
		assert.Equal(t, c.err, err.Error(), "%+v", c.opts)
		if c.opts.LabelSelector == "" {
			assert.True(t, apierrors.IsInvalid(err), "%+v: 422", c.opts)
		} else {
			assert.True(t, apierrors.IsBadRequest(err), "%+v: 400", c.opts)
		}
	}
	// Valid: a watch list, and a legacy watch the defaults make one.
	for _, o := range []metav1.ListOptions{
		{SendInitialEvents: ptr(true), ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true},
		{SendInitialEvents: ptr(false), ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan},
		{ResourceVersion: "0"},
	} {
		_, err := e.s.Watch(podRes, "", o, func(watch.Event) {})
		assert.NoError(t, err, "%+v", o)
	}
}

func podNames(l *v1.PodList) []string {
	out := []string{}
	for _, p := range l.Items {
		out = append(out, p.Name)
	}
	return out
}

// A list's resourceVersion semantics (api-concepts "semantics for get and
// list"): "" is the latest state (a consistent read); "0" any state, served
// from the watch cache, which may not have the latest write yet; "N" with
// NotOlderThan (or no match) the latest state, failing 504 "Too large
// resource version" when N is ahead of the store; "N" with Exact the state
// at N, read from etcd, 410 "The resourceVersion for the provided list is
// too old." once N is compacted, and etcd's future-revision error (500)
// ahead of it (etcd3 store.GetList, interpretListError; cacher
// shouldDelegateList, watchCache waitUntilFreshAndBlock).
func TestListResourceVersionSemantics(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	a, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)
	a.Labels["v"] = "2"
	a2, err := pods.Update(ctx, a, metav1.UpdateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("b"), metav1.CreateOptions{})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	now := e.s.Store().Rev()
	list := func(o metav1.ListOptions) *v1.PodList {
		l, err := pods.List(ctx, o)
		require.NoError(t, err, "%+v", o)
		return l
	}

	l := list(metav1.ListOptions{ResourceVersion: a.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	assert.Equal(t, a.ResourceVersion, l.ResourceVersion, "the list is at the revision asked")
	require.Equal(t, []string{"a"}, podNames(l))
	assert.Equal(t, a.ResourceVersion, l.Items[0].ResourceVersion)
	assert.Empty(t, l.Items[0].Labels["v"], "a as it was then")

	for _, o := range []metav1.ListOptions{{}, {ResourceVersion: a2.ResourceVersion},
		{ResourceVersion: a.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan}} {
		l = list(o)
		assert.Equal(t, fmt.Sprint(now), l.ResourceVersion, "%+v", o)
		assert.Equal(t, []string{"a", "b"}, podNames(l), "%+v", o)
		assert.Equal(t, "2", l.Items[0].Labels["v"], "%+v", o)
	}

	future := fmt.Sprint(now + 5)
	for _, o := range []metav1.ListOptions{{ResourceVersion: future}, {ResourceVersion: future, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan}} {
		_, err = pods.List(ctx, o)
		require.Error(t, err)
		assert.Equal(t, fmt.Sprintf("Timeout: Too large resource version: %d, current: %d", now+5, now), err.Error())
		assert.True(t, apierrors.IsTimeout(err))
		assert.True(t, apierrors.HasStatusCause(err, metav1.CauseTypeResourceVersionTooLarge))
	}
	_, err = pods.List(ctx, metav1.ListOptions{ResourceVersion: future, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	require.Error(t, err)
	assert.Equal(t, "etcdserver: mvcc: required revision is a future revision", err.Error())
	assert.Equal(t, int32(500), err.(apierrors.APIStatus).Status().Code)

	// "0" reads the watch cache: a write it has not been told of yet is
	// not in it; the list's resourceVersion is the cache's.
	_, err = pods.Create(ctx, pod("c"), metav1.CreateOptions{})
	require.NoError(t, err)
	l = list(metav1.ListOptions{ResourceVersion: "0"})
	assert.Equal(t, []string{"a", "b"}, podNames(l))
	assert.Equal(t, fmt.Sprint(now), l.ResourceVersion)
	assert.Equal(t, []string{"a", "b", "c"}, podNames(list(metav1.ListOptions{})))
	assert.Equal(t, []string{"a", "b"}, podNames(list(metav1.ListOptions{ResourceVersion: "0", LabelSelector: "app=web", Limit: 1})),
		"the watch cache ignores the limit of a list from \"0\"")
	e.eng.RunUntilIdle(1000)
	assert.Equal(t, []string{"a", "b", "c"}, podNames(list(metav1.ListOptions{ResourceVersion: "0"})))
	evs, err := e.c.CoreV1().Events("default").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(e.s.Store().Rev()), evs.ResourceVersion, "events have no watch cache: \"0\" reads etcd")

	e.eng.RunFor(10*time.Minute + time.Second) // two compaction ticks
	require.Greater(t, e.s.Store().CompactRev(), now)
	_, err = pods.List(ctx, metav1.ListOptions{ResourceVersion: a.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	require.Error(t, err)
	assert.Equal(t, "The resourceVersion for the provided list is too old.", err.Error())
	assert.True(t, apierrors.IsResourceExpired(err))
}

// continueToken decodes a continue token as storage.DecodeContinue does.
func continueToken(t *testing.T, s string) (rv int64, start string) {
	t.Helper()
	data, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	var c struct {
		V     string `json:"v"`
		RV    int64  `json:"rv"`
		Start string `json:"start"`
	}
	require.NoError(t, json.Unmarshal(data, &c))
	require.Equal(t, "meta.k8s.io/v1", c.V)
	return c.RV, c.Start
}

// limit and continue page a list as the etcd3 store and the watch cache do:
// every page is read at the first page's revision, the continue token
// (storage.EncodeContinue) names that revision and the key after the last
// item, remainingItemCount counts the keys left when no selector filters;
// a continue token whose revision is compacted fails 410 with a token
// that continues at the latest revision (handleCompactedErrorForPaging);
// a continue with a resourceVersion other than "0" is refused; a legacy
// "N" with a limit reads exactly N.
func TestListPaging(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		_, err := pods.Create(ctx, pod(n), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err := e.c.CoreV1().Pods("kube-system").Create(ctx, pod("z"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Bind(ctx, &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "d"}, Target: v1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	all := e.c.CoreV1().Pods("")
	revN := e.s.Store().Rev()
	rev := fmt.Sprint(revN)

	p1, err := all.List(ctx, metav1.ListOptions{Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, podNames(p1))
	assert.Equal(t, rev, p1.ResourceVersion)
	require.NotNil(t, p1.RemainingItemCount)
	assert.Equal(t, int64(4), *p1.RemainingItemCount)
	tokRV, start := continueToken(t, p1.Continue)
	assert.Equal(t, rev, fmt.Sprint(tokRV))
	assert.Equal(t, "default/b\x00", start)

	_, err = pods.Create(ctx, pod("f"), metav1.CreateOptions{})
	require.NoError(t, err)
	p2, err := all.List(ctx, metav1.ListOptions{Limit: 2, Continue: p1.Continue, ResourceVersion: "0"})
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "d"}, podNames(p2))
	assert.Equal(t, rev, p2.ResourceVersion, "every page at the first page's revision")
	require.NotNil(t, p2.RemainingItemCount)
	assert.Equal(t, int64(2), *p2.RemainingItemCount)
	p3, err := all.List(ctx, metav1.ListOptions{Limit: 2, Continue: p2.Continue})
	require.NoError(t, err)
	assert.Equal(t, []string{"e", "z"}, podNames(p3), "f was created after the first page")
	assert.Empty(t, p3.Continue)
	assert.Nil(t, p3.RemainingItemCount)

	// In one namespace the token's key is relative to it; a selector
	// leaves remainingItemCount out.
	n1, err := pods.List(ctx, metav1.ListOptions{Limit: 1, LabelSelector: "app=web"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, podNames(n1))
	assert.Nil(t, n1.RemainingItemCount)
	_, start = continueToken(t, n1.Continue)
	assert.Equal(t, "a\x00", start)
	onNode, err := pods.List(ctx, metav1.ListOptions{Limit: 1, FieldSelector: "spec.nodeName=n1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"d"}, podNames(onNode))
	assert.NotEmpty(t, onNode.Continue, "keys are left after d")
	last, err := pods.List(ctx, metav1.ListOptions{Limit: 1, FieldSelector: "spec.nodeName=n1", Continue: onNode.Continue})
	require.NoError(t, err)
	assert.Empty(t, podNames(last))
	assert.Empty(t, last.Continue)

	_, err = all.List(ctx, metav1.ListOptions{Limit: 2, Continue: p1.Continue, ResourceVersion: rev})
	assert.EqualError(t, err, "specifying resource version is not allowed when using continue")
	assert.True(t, apierrors.IsBadRequest(err))
	_, err = all.List(ctx, metav1.ListOptions{Continue: "bm90IGpzb24"})
	require.Error(t, err)
	assert.True(t, apierrors.IsBadRequest(err))
	assert.Regexp(t, `^invalid continue token: continue key is not valid: `, err.Error())

	// A legacy "N" with a limit is an exact read; NotOlderThan is not.
	old, err := all.List(ctx, metav1.ListOptions{Limit: 10, ResourceVersion: rev})
	require.NoError(t, err)
	assert.Equal(t, rev, old.ResourceVersion)
	assert.Equal(t, []string{"a", "b", "c", "d", "e", "z"}, podNames(old))
	fresh, err := all.List(ctx, metav1.ListOptions{Limit: 10, ResourceVersion: rev, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c", "d", "e", "f", "z"}, podNames(fresh))

	e.eng.RunFor(10*time.Minute + time.Second) // two compaction ticks
	require.Greater(t, e.s.Store().CompactRev(), revN)
	_, err = all.List(ctx, metav1.ListOptions{Limit: 2, Continue: p1.Continue})
	require.Error(t, err)
	assert.True(t, apierrors.IsResourceExpired(err))
	assert.Equal(t, "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.", err.Error())
	next := err.(apierrors.APIStatus).Status().ListMeta.Continue
	tokRV, start = continueToken(t, next)
	assert.Equal(t, int64(-1), tokRV, "continue at the latest revision")
	assert.Equal(t, "default/b\x00", start)
	inconsistent, err := all.List(ctx, metav1.ListOptions{Continue: next})
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "d", "e", "f", "z"}, podNames(inconsistent))
	assert.Equal(t, fmt.Sprint(e.s.Store().Rev()), inconsistent.ResourceVersion)
}

type seenEvent struct {
	typ  watch.EventType
	name string
	rv   string
	end  string // the k8s.io/initial-events-end annotation
}

func collect(out *[]seenEvent) func(watch.Event) {
	return func(ev watch.Event) {
		m := ev.Object.(metav1.Object)
		*out = append(*out, seenEvent{ev.Type, m.GetName(), m.GetResourceVersion(), m.GetAnnotations()[metav1.InitialEventsAnnotationKey]})
	}
}

// Where a watch starts (cacher.Watch, getWatchCacheResourceVersion,
// watchCache.getAllEventsSinceLocked; the etcd3 watcher alike): with
// sendInitialEvents=true (which the WatchList defaults give a legacy watch
// from "" or "0") the current state as ADDED events, then, when the watch
// allows bookmarks, a BOOKMARK of an empty object at the state's
// resourceVersion annotated k8s.io/initial-events-end=true, then the
// changes; a specific resourceVersion does not replay the changes after
// it but must not be ahead of the watch cache. With
// sendInitialEvents=false: no initial state, the changes after "N", after
// the latest revision for "", after the watch cache's for "0".
func TestWatchInitialEventsAndStartingPoint(t *testing.T) {
	e := newEnv(t)
	pods := e.c.CoreV1().Pods("default")
	podRes, _ := e.s.Resource("pods")
	a, err := pods.Create(ctx, pod("a"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("b"), metav1.CreateOptions{})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	rev := fmt.Sprint(e.s.Store().Rev())
	notOlder := metav1.ResourceVersionMatchNotOlderThan

	watches := map[string]metav1.ListOptions{
		"list":           {SendInitialEvents: ptr(true), ResourceVersionMatch: notOlder, AllowWatchBookmarks: true},
		"list from a":    {SendInitialEvents: ptr(true), ResourceVersionMatch: notOlder, AllowWatchBookmarks: true, ResourceVersion: a.ResourceVersion},
		"legacy":         {AllowWatchBookmarks: true},
		"legacy 0":       {ResourceVersion: "0"},
		"no initial":     {SendInitialEvents: ptr(false), ResourceVersionMatch: notOlder},
		"no initial, 0":  {SendInitialEvents: ptr(false), ResourceVersionMatch: notOlder, ResourceVersion: "0"},
		"no initial, a":  {SendInitialEvents: ptr(false), ResourceVersionMatch: notOlder, ResourceVersion: a.ResourceVersion},
		"from a, legacy": {ResourceVersion: a.ResourceVersion, AllowWatchBookmarks: true},
	}
	// c is written before the watches start, and the watch cache has not
	// seen it yet when they do.
	c, err := pods.Create(ctx, pod("c"), metav1.CreateOptions{})
	require.NoError(t, err)
	got := map[string]*[]seenEvent{}
	for name, o := range watches {
		got[name] = &[]seenEvent{}
		_, err := e.s.Watch(podRes, "default", o, collect(got[name]))
		require.NoError(t, err, name)
	}
	e.eng.RunUntilIdle(1000)
	d, err := pods.Create(ctx, pod("d"), metav1.CreateOptions{})
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)

	now := c.ResourceVersion
	initial := []seenEvent{{watch.Added, "a", a.ResourceVersion, ""}, {watch.Added, "b", rev, ""}, {watch.Added, "c", now, ""}}
	end := seenEvent{watch.Bookmark, "", now, "true"}
	dAdded := seenEvent{watch.Added, "d", d.ResourceVersion, ""}
	cAdded := seenEvent{watch.Added, "c", now, ""}
	bAdded := seenEvent{watch.Added, "b", rev, ""}
	assert.Equal(t, append(append(initial[:3:3], end), dAdded), *got["list"])
	assert.Equal(t, append(append(initial[:3:3], end), dAdded), *got["list from a"], "the state, not the changes after a")
	assert.Equal(t, append(append(initial[:3:3], end), dAdded), *got["legacy"])
	// The watch cache's state from "0" (c not in it yet), then c.
	assert.Equal(t, []seenEvent{initial[0], initial[1], cAdded, dAdded}, *got["legacy 0"])
	assert.Equal(t, []seenEvent{dAdded}, *got["no initial"])
	assert.Equal(t, []seenEvent{cAdded, dAdded}, *got["no initial, 0"])
	assert.Equal(t, []seenEvent{bAdded, cAdded, dAdded}, *got["no initial, a"])
	assert.Equal(t, []seenEvent{bAdded, cAdded, dAdded}, *got["from a, legacy"], "no bookmark without initial events")

	future := fmt.Sprint(e.s.Store().Rev() + 3)
	_, err = e.s.Watch(podRes, "default", metav1.ListOptions{SendInitialEvents: ptr(true), ResourceVersionMatch: notOlder, ResourceVersion: future}, func(watch.Event) {})
	require.Error(t, err)
	assert.True(t, apierrors.IsTimeout(err))
	assert.Equal(t, fmt.Sprintf("Timeout: Too large resource version: %s, current: %d", future, e.s.Store().Rev()), err.Error())

	// Events are served by the store: the same initial state and bookmark.
	evRes, _ := e.s.Resource("events")
	ev, err := e.c.CoreV1().Events("default").Create(ctx, &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e0"}, Reason: "Pulled",
		InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "a"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	var evs []seenEvent
	_, err = e.s.Watch(evRes, "default", watches["list"], collect(&evs))
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	assert.Equal(t, []seenEvent{{watch.Added, "e0", ev.ResourceVersion, ""}, {watch.Bookmark, "", ev.ResourceVersion, "true"}}, evs)
	var bookmark watch.Event
	_, err = e.s.Watch(evRes, "default", watches["list"], func(ev watch.Event) { bookmark = ev })
	require.NoError(t, err)
	e.eng.RunUntilIdle(1000)
	assert.IsType(t, &v1.Event{}, bookmark.Object, "an empty object of the kind")
}

// A watch of a resource without a watch cache is etcd's: it fails 410
// with the etcd3 watcher's "The resourceVersion for the provided watch is
// too old." (interpretWatchError) when it would start below the
// compaction, and replays from the compact revision itself.
func TestWatchWithoutWatchCacheAfterCompaction(t *testing.T) {
	e := newEnv(t)
	evRes, _ := e.s.Resource("events")
	events := e.c.CoreV1().Events("default")
	mk := func(name string) *v1.Event {
		return &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: name}, Reason: "Pulled",
			InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "a"}}
	}
	first, err := events.Create(ctx, mk("e0"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = events.Create(ctx, mk("e1"), metav1.CreateOptions{})
	require.NoError(t, err)
	e2, err := events.Create(ctx, mk("e2"), metav1.CreateOptions{})
	require.NoError(t, err)
	e.eng.RunFor(10*time.Minute + time.Second)
	compact := e.s.Store().CompactRev()
	firstRev, err := apiserver.ParseResourceVersion(first.ResourceVersion)
	require.NoError(t, err)
	require.Less(t, firstRev+1, compact, "a watch from e0 would start below the compaction")
	_, err = e.s.Watch(evRes, "default", metav1.ListOptions{ResourceVersion: first.ResourceVersion}, func(watch.Event) {})
	require.Error(t, err)
	assert.True(t, apierrors.IsResourceExpired(err))
	assert.Equal(t, "The resourceVersion for the provided watch is too old.", err.Error())

	_, err = events.Create(ctx, mk("e3"), metav1.CreateOptions{})
	require.NoError(t, err)
	var got []string
	_, err = e.s.Watch(evRes, "default", metav1.ListOptions{ResourceVersion: fmt.Sprint(compact - 1)}, func(ev watch.Event) {
		got = append(got, ev.Object.(metav1.Object).GetName())
	})
	require.NoError(t, err, "etcd replays from the compact revision")
	e.eng.RunUntilIdle(1000)
	require.Equal(t, e2.ResourceVersion, fmt.Sprint(compact))
	assert.Equal(t, []string{"e2", "e3"}, got, "e2 is the compact revision's change")
}

// ListNamePrefix reads the objects of one namespace whose names begin with
// a prefix (an object's Events, "<object>.<suffix>"), in name order, and
// no others.
func TestListNamePrefix(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"web.2", "web.1", "web-2.1", "we.1", "webb"} {
		_, err := e.c.CoreV1().Pods("default").Create(ctx, pod(n), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err := e.c.CoreV1().Pods("kube-system").Create(ctx, pod("web.3"), metav1.CreateOptions{})
	require.NoError(t, err)
	podRes, _ := e.s.Resource("pods")
	objs, err := e.s.ListNamePrefix(podRes, "default", "web.")
	require.NoError(t, err)
	var names []string
	for _, o := range objs {
		names = append(names, o.(*v1.Pod).Name)
	}
	assert.Equal(t, []string{"web.1", "web.2"}, names)
}
