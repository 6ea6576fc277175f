package informer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
	"github.com/kubesim/kubesim/sim/mvcc"
)

var ctx = context.Background()

func mustRV(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := apiserver.ParseResourceVersion(rv)
	require.NoError(t, err)
	return n
}

func setup(t *testing.T, opts ...informer.Option) (*sim.Engine, client.Interface, *informer.Factory) {
	t.Helper()
	eng := sim.New(1)
	s := apiserver.New(eng, mvcc.New(eng, mvcc.Config{}), apiserver.DefaultConfig())
	return eng, client.New(s, "test"), informer.NewFactory(s, opts...)
}

func mkpod(name, node string) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "c", Image: "img"}}}}
}

type log struct{ events []string }

func (l *log) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { l.events = append(l.events, "add "+obj.(*v1.Pod).Name) },
		UpdateFunc: func(old, new any) {
			l.events = append(l.events, fmt.Sprintf("update %s %s->%s", new.(*v1.Pod).Name, old.(*v1.Pod).ResourceVersion, new.(*v1.Pod).ResourceVersion))
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				l.events = append(l.events, "delete-unknown "+t.Key)
				return
			}
			l.events = append(l.events, "delete "+obj.(*v1.Pod).Name)
		},
	}
}

func TestInformerListWatchAndListers(t *testing.T) {
	eng, c, f := setup(t, informer.DetectMutations())
	pods := c.CoreV1().Pods("default")
	b, err := pods.Create(ctx, mkpod("b", "n1"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, mkpod("a", "n2"), metav1.CreateOptions{})
	require.NoError(t, err)

	inf := f.Pods()
	onNode := f.Pods(informer.WithFieldSelector("spec.nodeName=n1"))
	assert.Same(t, inf.Informer, f.Pods().Informer, "informers are shared")
	var all, n1 log
	inf.AddEventHandler(all.handler())
	onNode.AddEventHandler(n1.handler())
	f.Start()
	assert.True(t, inf.HasSynced())
	assert.Equal(t, []string{"add a", "add b"}, all.events, "initial list in key order")
	assert.Equal(t, []string{"add b"}, n1.events)

	p, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	p.Labels["v"] = "2"
	up, err := pods.Update(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Delete(ctx, "b", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}))
	assert.Len(t, all.events, 2, "watch events arrive through the engine, not inside the write")
	eng.RunUntilIdle(100)
	// A delete with grace 0 is two writes: b with its deletionTimestamp
	// (the revision after a's update), then its removal.
	markB := fmt.Sprintf("update b %s->%d", b.ResourceVersion, mustRV(t, up.ResourceVersion)+1)
	assert.Equal(t, []string{"add a", "add b", fmt.Sprintf("update a %s->%s", p.ResourceVersion, up.ResourceVersion), markB, "delete b"}, all.events)
	assert.Equal(t, []string{"add b", markB, "delete b"}, n1.events)

	got, err := inf.Lister().Pods("default").Get("a")
	require.NoError(t, err)
	assert.Equal(t, "2", got.Labels["v"])
	byKey, ok := inf.ByKey("default/a")
	require.True(t, ok)
	assert.Same(t, got, byKey, "ByKey is the lister's Get by a queue key")
	assert.Equal(t, "default/a", inf.KeyOf(got))
	assert.Equal(t, "other/x", inf.KeyOf(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "x"}}), "any object")
	_, ok = inf.ByKey("default/b")
	assert.False(t, ok, "deleted")
	list, err := inf.Lister().List(labels.SelectorFromSet(labels.Set{"app": "web"}))
	require.NoError(t, err)
	assert.Len(t, list, 1)
	require.NoError(t, f.CheckMutations())

	// A late handler gets the current state replayed.
	var late log
	inf.AddEventHandler(late.handler())
	assert.Equal(t, []string{"add a"}, late.events)
}

func TestMutationDetector(t *testing.T) {
	eng, c, f := setup(t, informer.DetectMutations())
	_, err := c.CoreV1().Pods("default").Create(ctx, mkpod("a", ""), metav1.CreateOptions{})
	require.NoError(t, err)
	inf := f.Pods()
	f.Start()
	cached, err := inf.Lister().Pods("default").Get("a")
	require.NoError(t, err)
	cached.Labels["oops"] = "mutated" // forbidden: cached objects are shared
	err = f.CheckMutations()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "default/a was modified in place")
	// The next event for the object panics, naming it.
	p, err := c.CoreV1().Pods("default").Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	p.Labels["x"] = "y"
	_, err = c.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.PanicsWithValue(t, "informer pods: cached object default/a was modified in place; cached objects are shared and must be copied (DeepCopy) before changing them",
		func() { eng.RunUntilIdle(100) })
}

// TestCheckCachesComparesWithAFreshList: an informer that received every
// event matches a list; a cache that gained, lost or kept a stale object
// does not, and the error names the object. A stopped informer (its
// component cut off) is not compared.
func TestCheckCachesComparesWithAFreshList(t *testing.T) {
	eng, c, f := setup(t)
	_, err := c.CoreV1().Pods("default").Create(ctx, mkpod("a", "n1"), metav1.CreateOptions{})
	require.NoError(t, err)
	all := f.Pods()
	onN1 := f.Pods(informer.WithFieldSelector("spec.nodeName=n1"))
	f.Start()
	_, err = c.CoreV1().Pods("default").Create(ctx, mkpod("b", "n2"), metav1.CreateOptions{})
	require.NoError(t, err)
	eng.RunUntilIdle(100)
	require.NoError(t, f.CheckCaches())

	stale := mkpod("ghost", "n1")
	stale.Namespace = "default"
	require.NoError(t, onN1.GetStore().Add(stale))
	err = f.CheckCaches()
	require.Error(t, err)
	assert.Equal(t, "informer pods fields=spec.nodeName=n1: cache holds default/ghost (resourceVersion ), which a list does not return", err.Error())
	require.NoError(t, onN1.GetStore().Delete(stale))

	b, err := all.Lister().Pods("default").Get("b")
	require.NoError(t, err)
	require.NoError(t, all.GetStore().Delete(b))
	err = f.CheckCaches()
	require.Error(t, err)
	assert.Equal(t, "informer pods: cache lacks default/b, which a list returns", err.Error())
	require.NoError(t, all.GetStore().Add(b))

	onN1.Stop()
	_, err = c.CoreV1().Pods("default").Create(ctx, mkpod("c", "n1"), metav1.CreateOptions{})
	require.NoError(t, err)
	eng.RunUntilIdle(100)
	assert.NoError(t, f.CheckCaches(), "a stopped informer is not compared")
}

func TestQueueDeduplicatesAndRetries(t *testing.T) {
	eng := sim.New(1)
	var processed []string
	fail := map[string]int{"flaky": 2}
	var q *informer.Queue[string]
	q = informer.NewQueue[string](eng, "test", informer.NewExponentialFailureRateLimiter[string](time.Second, time.Minute), func(key string) error {
		processed = append(processed, fmt.Sprintf("%s@%v", key, eng.Elapsed()))
		if key == "self" && len(processed) == 1 {
			q.Add("self") // re-added while processing: processed again afterwards
		}
		if fail[key] > 0 {
			fail[key]--
			return errors.New("boom")
		}
		return nil
	})
	q.Add("self")
	q.Add("a")
	q.Add("a")
	q.Add("flaky")
	assert.Equal(t, 3, q.Len(), "duplicates are merged")
	eng.RunUntil(time.Hour)
	assert.Equal(t, []string{"self@0s", "a@0s", "flaky@0s", "self@0s", "flaky@1s", "flaky@3s"}, processed)
	assert.Equal(t, 0, q.NumRequeues("flaky"), "success forgets")

	q.AddAfter("later", 10*time.Second)
	q.AddAfter("later", 5*time.Second)
	q.AddAfter("later", 20*time.Second)
	eng.RunFor(time.Minute)
	assert.Equal(t, fmt.Sprintf("later@%v", time.Hour+5*time.Second), processed[len(processed)-1])
	assert.Len(t, processed, 7)
}

// A charged sync keeps its item in processing for the charged time: the
// adds that arrive meanwhile fold into one more sync when it ends, while
// other items are processed as usual.
func TestQueueChargeFoldsChangesDuringASync(t *testing.T) {
	eng := sim.New(1)
	var processed []string
	var q *informer.Queue[string]
	q = informer.NewQueue[string](eng, "test", informer.NewExponentialFailureRateLimiter[string](time.Second, time.Minute), func(key string) error {
		processed = append(processed, fmt.Sprintf("%s@%v", key, eng.Elapsed()))
		if key == "big" {
			q.Charge(informer.SyncCost(5000))
		}
		return nil
	})
	q.Add("big")
	for i := 1; i <= 4; i++ { // four changes during the 5 ms sync
		eng.After(time.Duration(i)*time.Millisecond, "change", func() { q.Add("big"); q.Add("small") })
	}
	eng.RunUntil(time.Second)
	assert.Equal(t, []string{"big@0s", "small@1ms", "small@2ms", "small@3ms", "small@4ms", "big@5ms"}, processed)

	// A sync that reads fewer objects than the threshold takes no time.
	assert.Equal(t, time.Duration(0), informer.SyncCost(informer.SyncCostThreshold-1))
	assert.Equal(t, time.Millisecond, informer.SyncCost(informer.SyncCostThreshold))
}

func TestDefaultControllerRateLimiter(t *testing.T) {
	eng := sim.New(1)
	rl := informer.DefaultControllerRateLimiter[string](eng)
	assert.Equal(t, 5*time.Millisecond, rl.When("x"))
	assert.Equal(t, 10*time.Millisecond, rl.When("x"))
	assert.Equal(t, 20*time.Millisecond, rl.When("x"))
	for i := 0; i < 30; i++ {
		rl.When("x")
	}
	assert.Equal(t, 1000*time.Second, rl.When("x"), "capped")
	rl.Forget("x")
	assert.Equal(t, 0, rl.NumRequeues("x"))
	// The bucket: after the burst of 100, 10 per second.
	b := informer.NewBucketRateLimiter[string](eng, 10, 100)
	for i := 0; i < 100; i++ {
		require.Equal(t, time.Duration(0), b.When("y"))
	}
	assert.Equal(t, 100*time.Millisecond, b.When("y"))
	assert.Equal(t, 200*time.Millisecond, b.When("y"))
}

func TestIndexerOrderAndIndexes(t *testing.T) {
	ix := informer.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{
		"node": func(obj any) ([]string, error) { return []string{obj.(*v1.Pod).Spec.NodeName}, nil },
	})
	for _, n := range []struct{ name, node string }{{"c", "n1"}, {"a", "n2"}, {"b", "n1"}} {
		p := mkpod(n.name, n.node)
		p.Namespace = "ns"
		require.NoError(t, ix.Add(p))
	}
	assert.Equal(t, []string{"ns/a", "ns/b", "ns/c"}, ix.ListKeys())
	keys, err := ix.IndexKeys("node", "n1")
	require.NoError(t, err)
	assert.Equal(t, []string{"ns/b", "ns/c"}, keys)
	moved := mkpod("b", "n2")
	moved.Namespace = "ns"
	require.NoError(t, ix.Update(moved))
	keys, _ = ix.IndexKeys("node", "n2")
	assert.Equal(t, []string{"ns/a", "ns/b"}, keys)
	assert.Equal(t, []string{"n1", "n2"}, ix.ListIndexFuncValues("node"))
	require.NoError(t, ix.Delete(moved))
	assert.Equal(t, 2, ix.Len())
	_, err = ix.ByIndex("nope", "x")
	assert.Error(t, err)
}

// A resume from a resourceVersion the watch cache's window no longer
// covers gets 410 Gone and lists again, whatever etcd compacted.
func TestResumeOutsideTheWindowRelists(t *testing.T) {
	eng := sim.New(1)
	cfg := apiserver.DefaultConfig()
	cfg.WatchCacheMinEvents, cfg.WatchCacheMaxEvents = 2, 3
	s := apiserver.New(eng, mvcc.New(eng, mvcc.Config{}), cfg)
	c, f := client.New(s, "test"), informer.NewFactory(s, informer.DetectMutations())
	pods := c.CoreV1().Pods("default")
	for _, n := range []string{"a", "b", "c"} {
		_, err := pods.Create(ctx, mkpod(n, ""), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	inf := f.Pods()
	var l log
	inf.AddEventHandler(l.handler())
	f.Start()
	inf.Stop()
	assert.True(t, inf.Stopped())

	// While disconnected: one pod changes, one is deleted, one is created.
	p, err := pods.Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	p.Labels["v"] = "2"
	up, err := pods.Update(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, pods.Delete(ctx, "b", metav1.DeleteOptions{}))
	_, err = pods.Create(ctx, mkpod("d", ""), metav1.CreateOptions{})
	require.NoError(t, err)
	eng.RunFor(11 * time.Minute) // the window dropped the informer's last RV
	assert.Len(t, l.events, 3, "a stopped informer sees nothing")

	inf.Resume()
	assert.Equal(t, 1, inf.Relists(), "410 Gone ⇒ list again")
	assert.Equal(t, []string{"add a", "add b", "add c",
		fmt.Sprintf("update a %s->%s", p.ResourceVersion, up.ResourceVersion), "add d", "delete-unknown default/b"}, l.events)
	assert.Equal(t, []string{"default/a", "default/c", "default/d"}, inf.GetIndexer().ListKeys())
	require.NoError(t, f.CheckMutations())

	// A resume within the window replays the missed events instead.
	inf.Stop()
	require.NoError(t, pods.Delete(ctx, "c", metav1.DeleteOptions{}))
	eng.RunFor(time.Second)
	inf.Resume()
	eng.RunUntilIdle(100)
	assert.Equal(t, 1, inf.Relists())
	assert.Equal(t, "delete c", l.events[len(l.events)-1])
}

// An update re-indexes only the indexes whose values changed; either way
// ByIndex answers for the latest version.
func TestIndexerUpdateMovesBetweenIndexValues(t *testing.T) {
	byApp := func(obj any) ([]string, error) { return []string{obj.(*v1.Pod).Labels["app"]}, nil }
	ix := informer.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{"app": byApp, cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	mk := func(name, app, rv string) *v1.Pod {
		return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv, Labels: map[string]string{"app": app}}}
	}
	require.NoError(t, ix.Add(mk("a", "web", "1")))
	require.NoError(t, ix.Add(mk("b", "web", "1")))
	require.NoError(t, ix.Update(mk("a", "db", "2")))
	require.NoError(t, ix.Update(mk("b", "web", "2")))
	keys := func(index, value string) []string {
		k, err := ix.IndexKeys(index, value)
		require.NoError(t, err)
		return k
	}
	assert.Equal(t, []string{"ns/b"}, keys("app", "web"))
	assert.Equal(t, []string{"ns/a"}, keys("app", "db"))
	assert.Equal(t, []string{"ns/a", "ns/b"}, keys(cache.NamespaceIndex, "ns"))
	objs, err := ix.ByIndex("app", "web")
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, "2", objs[0].(*v1.Pod).ResourceVersion, "the latest version")
	assert.Equal(t, 2, ix.IndexLen(cache.NamespaceIndex, "ns"))
	require.NoError(t, ix.Delete(mk("b", "web", "3")))
	assert.Empty(t, keys("app", "web"))
	assert.Equal(t, []string{"db"}, ix.ListIndexFuncValues("app"))
	assert.Equal(t, []string{"ns/a"}, keys(cache.NamespaceIndex, "ns"))
	assert.Equal(t, 1, ix.IndexLen(cache.NamespaceIndex, "ns"))
	assert.Equal(t, 0, ix.IndexLen(cache.NamespaceIndex, "other"))
	assert.Equal(t, 0, ix.IndexLen("no-such-index", "ns"))
}

// A value index holds what the same function through AddIndexers would,
// through adds, updates that change the value or not, and deletes.
func TestValueIndexMatchesAnIndexFunc(t *testing.T) {
	app := func(obj any) string { return obj.(*v1.Pod).Labels["app"] }
	plain := informer.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{"app": func(obj any) ([]string, error) { return []string{app(obj)}, nil }})
	valued := informer.NewIndexer(cache.MetaNamespaceKeyFunc, nil)
	mk := func(name, a string) *v1.Pod {
		return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{"app": a}}}
	}
	require.NoError(t, valued.Add(mk("z", "web")), "an object held before the index is added is indexed")
	require.NoError(t, valued.AddValueIndex("app", app))
	require.Error(t, valued.AddValueIndex("app", app), "a second index of the same name")
	require.NoError(t, plain.Add(mk("z", "web")))
	steps := []func(ix *informer.Indexer) error{
		func(ix *informer.Indexer) error { return ix.Add(mk("a", "web")) },
		func(ix *informer.Indexer) error { return ix.Add(mk("b", "db")) },
		func(ix *informer.Indexer) error { return ix.Update(mk("a", "db")) },
		func(ix *informer.Indexer) error { return ix.Update(mk("b", "db")) },
		func(ix *informer.Indexer) error { return ix.Update(mk("z", "")) },
		func(ix *informer.Indexer) error { return ix.Delete(mk("a", "db")) },
	}
	for i, step := range steps {
		require.NoError(t, step(plain))
		require.NoError(t, step(valued))
		values := plain.ListIndexFuncValues("app")
		assert.Equal(t, values, valued.ListIndexFuncValues("app"), "step %d", i)
		for _, v := range values {
			want, _ := plain.IndexKeys("app", v)
			got, _ := valued.IndexKeys("app", v)
			assert.Equal(t, want, got, "step %d, value %q", i, v)
		}
	}
	assert.Equal(t, []string{"", "db"}, valued.ListIndexFuncValues("app"))
	objs, err := valued.Index("app", mk("x", "db"))
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, "b", objs[0].(*v1.Pod).Name)
}

// Writes changes with every change of the cache, through the watch or the
// store's methods, and only then.
func TestIndexerWritesCountsChanges(t *testing.T) {
	eng, c, f := setup(t)
	pods := c.CoreV1().Pods("default")
	inf := f.Pods()
	f.Start()
	ix := inf.GetIndexer().(*informer.Indexer)
	writes := ix.Writes()
	changed := func(what string) {
		t.Helper()
		eng.RunFor(time.Second)
		assert.Greater(t, ix.Writes(), writes, what)
		writes = ix.Writes()
	}
	p, err := pods.Create(ctx, mkpod("a", "n1"), metav1.CreateOptions{})
	require.NoError(t, err)
	changed("create")
	eng.RunFor(time.Second)
	_, _ = inf.Lister().List(labels.Everything())
	assert.Equal(t, writes, ix.Writes(), "no change, no write")
	p.Labels = map[string]string{"app": "api"}
	_, err = pods.Update(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	changed("update")
	require.NoError(t, pods.Delete(ctx, "a", metav1.DeleteOptions{}))
	changed("delete")
	require.NoError(t, ix.Add(mkpod("b", "n1")))
	changed("Add")
	require.NoError(t, ix.Replace(nil, ""))
	changed("Replace with nothing")
}
