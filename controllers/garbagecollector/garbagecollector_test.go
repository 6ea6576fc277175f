package garbagecollector_test

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
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/controllers/garbagecollector"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/simtest"
)

const ns = "default"

var web = map[string]string{"app": "web"}

type env struct {
	t     *testing.T
	c     *cluster.Cluster
	cl    client.Interface
	trace *simtest.Trace
}

// newEnv: a cluster whose fake kubelet runs pods 2 s after binding and
// removes them 5 s after their deletion starts; a Deployment "web" of 3
// replicas, rolled out.
func newEnv(t *testing.T) *env {
	c := cluster.New(cluster.Config{Seed: 13, DetectCacheMutations: true})
	require.NoError(t, simtest.AddNodes(c, simtest.Node("n1", "16", "64Gi", nil), simtest.Node("n2", "16", "64Gi", nil)))
	simtest.StartFakeKubelet(c, 2*time.Second, 5*time.Second)
	e := &env{t: t, c: c, cl: c.Client("test"), trace: simtest.RecordTrace(c)}
	c.Start()
	_, err := e.cl.AppsV1().Deployments(ns).Create(context.TODO(), simtest.Deployment(ns, "web", 3, web, "v1"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.True(t, simtest.RunUntil(c, time.Minute, func() bool {
		d, err := e.cl.AppsV1().Deployments(ns).Get(context.TODO(), "web", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 3
	}))
	c.Engine.RunUntil(10 * time.Second)
	t.Cleanup(func() { require.NoError(t, c.Informers.CheckMutations()) })
	return e
}

func (e *env) now() time.Duration { return e.c.Engine.Elapsed() }

func (e *env) deployment() (*appsv1.Deployment, bool) {
	d, err := e.cl.AppsV1().Deployments(ns).Get(context.TODO(), "web", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	require.NoError(e.t, err)
	return d, true
}

func (e *env) replicaSets() []appsv1.ReplicaSet {
	l, err := e.cl.AppsV1().ReplicaSets(ns).List(context.TODO(), metav1.ListOptions{})
	require.NoError(e.t, err)
	return l.Items
}

func (e *env) pods() []v1.Pod {
	l, err := e.cl.CoreV1().Pods(ns).List(context.TODO(), metav1.ListOptions{LabelSelector: labels.FormatLabels(web)})
	require.NoError(e.t, err)
	return l.Items
}

func podUIDs(pods []v1.Pod) []types.UID {
	var out []types.UID
	for _, p := range pods {
		out = append(out, p.UID)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (e *env) deleteDeployment(policy metav1.DeletionPropagation) {
	opts := metav1.DeleteOptions{}
	if policy != "" {
		opts.PropagationPolicy = &policy
	}
	require.NoError(e.t, e.cl.AppsV1().Deployments(ns).Delete(context.TODO(), "web", opts))
}

func (e *env) runUntil(limit time.Duration, what string, cond func() bool) {
	e.t.Helper()
	require.True(e.t, simtest.RunUntil(e.c, limit, cond), "by %v: %s (now %v)", limit, what, e.now())
}

// TestBackgroundDeletion: deleting a Deployment (default propagation) is
// immediate; the collector then deletes its ReplicaSet and the pods.
func TestBackgroundDeletion(t *testing.T) {
	e := newEnv(t)
	e.deleteDeployment("")
	_, exists := e.deployment()
	assert.False(t, exists, "background: the owner goes first")
	e.runUntil(11*time.Second, "replicaset collected", func() bool { return len(e.replicaSets()) == 0 })
	assert.Equal(t, 10*time.Second, e.now())
	e.runUntil(11*time.Second, "pods terminating", func() bool {
		for _, p := range e.pods() {
			if p.DeletionTimestamp == nil {
				return false
			}
		}
		return true
	})
	e.runUntil(time.Minute, "pods gone", func() bool { return len(e.pods()) == 0 })
	assert.Equal(t, 15*time.Second, e.now(), "the kubelet removes them 5 s later")
	collected := e.trace.Find(garbagecollector.ComponentName, "collected")
	require.Len(t, collected, 4)
	assert.Equal(t, "ReplicaSet", collected[0].Kind)
	assert.Equal(t, "owner Deployment web is gone (propagationPolicy Background)", collected[0].Msg)
	for _, r := range collected[1:] {
		assert.Equal(t, "Pod", r.Kind)
		assert.Contains(t, r.Msg, "owner ReplicaSet web-")
	}
	e.c.Engine.RunFor(time.Minute)
	assert.Empty(t, e.pods(), "the ReplicaSet controller did not recreate them")
}

// TestOrphanDeletion: with propagationPolicy Orphan the Deployment goes
// once the collector has stripped its reference from the ReplicaSet, which
// keeps running its pods; orphaning the ReplicaSet too leaves the pods
// running without owner, and a Deployment created again with the same
// template adopts them: no pod is created or deleted.
func TestOrphanDeletion(t *testing.T) {
	e := newEnv(t)
	pods := podUIDs(e.pods())
	rsName := e.replicaSets()[0].Name

	e.deleteDeployment(metav1.DeletePropagationOrphan)
	d, exists := e.deployment()
	require.True(t, exists, "waits for the orphan finalizer")
	assert.Equal(t, []string{metav1.FinalizerOrphanDependents}, d.Finalizers)
	e.runUntil(time.Minute, "deployment gone", func() bool { _, ok := e.deployment(); return !ok })
	assert.Equal(t, 10*time.Second, e.now())
	rss := e.replicaSets()
	require.Len(t, rss, 1)
	assert.Empty(t, rss[0].OwnerReferences, "orphaned")
	require.Len(t, e.trace.Find(garbagecollector.ComponentName, "orphaned"), 1)

	policy := metav1.DeletePropagationOrphan
	require.NoError(t, e.cl.AppsV1().ReplicaSets(ns).Delete(context.TODO(), rsName, metav1.DeleteOptions{PropagationPolicy: &policy}))
	e.runUntil(time.Minute, "replicaset gone", func() bool { return len(e.replicaSets()) == 0 })
	e.c.Engine.RunFor(30 * time.Second)
	require.Equal(t, pods, podUIDs(e.pods()), "the pods are still there")
	for _, p := range e.pods() {
		assert.Empty(t, p.OwnerReferences, "pod %s orphaned", p.Name)
		assert.Equal(t, v1.PodRunning, p.Status.Phase)
	}

	_, err := e.cl.AppsV1().Deployments(ns).Create(context.TODO(), simtest.Deployment(ns, "web", 3, web, "v1"), metav1.CreateOptions{})
	require.NoError(t, err)
	e.runUntil(e.now()+time.Minute, "rolled out", func() bool {
		d, ok := e.deployment()
		return ok && d.Status.AvailableReplicas == 3 && d.Status.UpdatedReplicas == 3
	})
	rss = e.replicaSets()
	require.Len(t, rss, 1)
	assert.Equal(t, rsName, rss[0].Name, "same template, same pod-template-hash")
	assert.Equal(t, pods, podUIDs(e.pods()), "the orphans were adopted, none created")
	for _, p := range e.pods() {
		ref := metav1.GetControllerOf(&p)
		require.NotNil(t, ref)
		assert.Equal(t, rss[0].UID, ref.UID)
	}
	assert.Empty(t, simtest.Events(e.c, ns, rsName, "SuccessfulDelete"))
}

// TestForegroundDeletion: the Deployment stays (deletionTimestamp,
// foregroundDeletion finalizer) until its ReplicaSet is gone, which stays
// until its pods are gone; at every step no owner disappears before its
// dependents.
func TestForegroundDeletion(t *testing.T) {
	e := newEnv(t)
	e.deleteDeployment(metav1.DeletePropagationForeground)
	d, exists := e.deployment()
	require.True(t, exists)
	assert.NotNil(t, d.DeletionTimestamp)
	assert.Equal(t, []string{metav1.FinalizerDeleteDependents}, d.Finalizers)
	var deploymentGone, rsGone, podsGone time.Duration
	e.runUntil(time.Minute, "all gone", func() bool {
		_, dOK := e.deployment()
		nRS, nPods := len(e.replicaSets()), len(e.pods())
		require.False(t, !dOK && nRS > 0, "at %v the Deployment is gone before its ReplicaSet", e.now())
		require.False(t, nRS == 0 && nPods > 0, "at %v the ReplicaSet is gone before its pods", e.now())
		if nPods == 0 && podsGone == 0 {
			podsGone = e.now()
		}
		if nRS == 0 && rsGone == 0 {
			rsGone = e.now()
		}
		if !dOK && deploymentGone == 0 {
			deploymentGone = e.now()
		}
		return !dOK
	})
	assert.Equal(t, 15*time.Second, podsGone, "pods terminate for 5 s")
	assert.Equal(t, 15*time.Second, rsGone)
	assert.Equal(t, 15*time.Second, deploymentGone)
	finalized := e.trace.Find(garbagecollector.ComponentName, "finalized")
	require.Len(t, finalized, 2)
	assert.Equal(t, "ReplicaSet", finalized[0].Kind, "the ReplicaSet (deleted in the foreground too) finishes first")
	assert.Equal(t, "Deployment", finalized[1].Kind)
	assert.Equal(t, "removed finalizer foregroundDeletion: no dependent with blockOwnerDeletion is left", finalized[1].Msg)
}

// TestDanglingReferences: an ownerReference whose UID does not match the
// live object of that name (or whose object does not exist) does not hold
// its dependent; a dependent with another, solid owner only loses the
// dangling reference.
func TestDanglingReferences(t *testing.T) {
	e := newEnv(t)
	d, _ := e.deployment()
	cm, err := e.cl.CoreV1().ConfigMaps(ns).Create(context.TODO(), &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	ref := func(kind, name string, uid types.UID) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "apps/v1", Kind: kind, Name: name, UID: uid}
	}
	cmRef := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "config", UID: cm.UID}
	mk := func(name string, refs ...metav1.OwnerReference) {
		p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "other"}, OwnerReferences: refs},
			Spec: simtest.PodTemplate(nil, "busybox", "").Spec}
		_, err := e.cl.CoreV1().Pods(ns).Create(context.TODO(), p, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	mk("wrong-uid", ref("Deployment", d.Name, "not-the-uid"))
	mk("no-such-owner", ref("ReplicaSet", "ghost", "ghost-uid"))
	mk("two-owners", ref("Deployment", d.Name, "not-the-uid"), cmRef)
	mk("solid", ref("Deployment", d.Name, d.UID))
	e.c.Engine.RunFor(time.Second)
	get := func(name string) (*v1.Pod, bool) {
		p, err := e.cl.CoreV1().Pods(ns).Get(context.TODO(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, false
		}
		require.NoError(t, err)
		return p, true
	}
	for _, name := range []string{"wrong-uid", "no-such-owner"} {
		p, ok := get(name)
		assert.True(t, !ok || p.DeletionTimestamp != nil, "%s collected", name)
	}
	p, ok := get("two-owners")
	require.True(t, ok)
	assert.Nil(t, p.DeletionTimestamp)
	assert.Equal(t, []metav1.OwnerReference{cmRef}, p.OwnerReferences, "only the dangling reference removed")
	p, ok = get("solid")
	require.True(t, ok)
	assert.Nil(t, p.DeletionTimestamp, "a solid owner keeps its dependent")
	require.Len(t, e.trace.Find(garbagecollector.ComponentName, "ownerRefsRemoved"), 1)

	// A reference to a kind kubesim does not serve is reported, not retried forever.
	mk("unknown-kind", metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "w", UID: "w-uid"})
	e.c.Engine.RunFor(time.Second)
	_, ok = get("unknown-kind")
	assert.True(t, ok)
	assert.NotEmpty(t, e.trace.Find(garbagecollector.ComponentName, "unresolvable"))
	assert.True(t, e.c.Engine.RunUntilIdle(100000), "nothing keeps retrying")
}

// TestOwnerRefInvalidNamespace: an ownerReference names an owner in the
// dependent's own namespace (or a cluster-scoped one). A reference to an
// observed owner of another namespace is reported as upstream's graph
// builder does (reportInvalidNamespaceOwnerRef in graph_builder.go: a
// Warning OwnerRefInvalidNamespace Event on the dependent) and does not hold
// the dependent, which is collected; a cluster-scoped dependent of a
// namespaced owner is reported the same way and left alone.
func TestOwnerRefInvalidNamespace(t *testing.T) {
	e := newEnv(t)
	_, err := e.cl.CoreV1().Namespaces().Create(context.TODO(), &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	cm, err := e.cl.CoreV1().ConfigMaps(ns).Create(context.TODO(), &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	ref := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "config", UID: cm.UID}
	_, err = e.cl.CoreV1().ConfigMaps("other").Create(context.TODO(), &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stray", OwnerReferences: []metav1.OwnerReference{ref}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.cl.SchedulingV1().PriorityClasses().Create(context.TODO(), &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "owned-pc", OwnerReferences: []metav1.OwnerReference{ref}}, Value: 10}, metav1.CreateOptions{})
	require.NoError(t, err)
	e.c.Engine.RunFor(time.Second)

	assert.Equal(t, []string{fmt.Sprintf(`OwnerRefInvalidNamespace: ownerRef [v1/ConfigMap, namespace: other, name: config, uid: %s] does not exist in namespace "other"`, cm.UID)},
		simtest.Events(e.c, "other", "stray", ""))
	_, err = e.cl.CoreV1().ConfigMaps("other").Get(context.TODO(), "stray", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the owner is looked up in the dependent's namespace: absent, so the dependent is collected")

	// A cluster-scoped object's Event goes to the default namespace.
	assert.Equal(t, []string{fmt.Sprintf(`OwnerRefInvalidNamespace: ownerRef [v1/ConfigMap, namespace: , name: config, uid: %s] does not exist in namespace ""`, cm.UID)},
		simtest.Events(e.c, ns, "owned-pc", ""))
	_, err = e.cl.SchedulingV1().PriorityClasses().Get(context.TODO(), "owned-pc", metav1.GetOptions{})
	assert.NoError(t, err, "a cluster-scoped object with a namespaced owner is left alone")
	evs, err := e.cl.CoreV1().Events("other").List(context.TODO(), metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, evs.Items, 1)
	ev := evs.Items[0]
	assert.Equal(t, v1.EventTypeWarning, ev.Type)
	assert.Equal(t, "garbage-collector-controller", ev.Source.Component)
	assert.Equal(t, v1.ObjectReference{Kind: "ConfigMap", APIVersion: "v1", Namespace: "other", Name: "stray", UID: ev.InvolvedObject.UID}, ev.InvolvedObject)
	assert.NotEmpty(t, ev.InvolvedObject.UID)
}

// TestOwnerRefInvalidNamespaceOwnerObservedLater: the dependent is observed
// before its owner (the collector's informers list pods before
// configmaps), so the owner is first a virtual node in the dependent's
// namespace; observing it in another namespace reports the dependent
// (processGraphChanges in graph_builder.go) and the dependent is collected.
func TestOwnerRefInvalidNamespaceOwnerObservedLater(t *testing.T) {
	c := cluster.New(cluster.Config{Seed: 13})
	cl := c.Client("test")
	_, err := cl.CoreV1().Namespaces().Create(context.TODO(), &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	cm, err := cl.CoreV1().ConfigMaps(ns).Create(context.TODO(), &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	ref := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "config", UID: cm.UID}
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stray", OwnerReferences: []metav1.OwnerReference{ref}}, Spec: simtest.PodTemplate(nil, "busybox", "").Spec}
	_, err = cl.CoreV1().Pods("other").Create(context.TODO(), p, metav1.CreateOptions{})
	require.NoError(t, err)
	c.Start()
	c.Engine.RunFor(time.Second)

	assert.Equal(t, []string{fmt.Sprintf(`OwnerRefInvalidNamespace: ownerRef [v1/ConfigMap, namespace: other, name: config, uid: %s] does not exist in namespace "other"`, cm.UID)},
		simtest.Events(c, "other", "stray", "OwnerRefInvalidNamespace"))
	_, err = cl.CoreV1().Pods("other").Get(context.TODO(), "stray", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "collected")
	_, err = cl.CoreV1().ConfigMaps(ns).Get(context.TODO(), "config", metav1.GetOptions{})
	assert.NoError(t, err)
}

// TestForegroundDoesNotWaitForNonBlockingDependents: a foreground deletion
// waits only for the dependents whose reference has blockOwnerDeletion=true
// (node.blockingDependents in graph.go); the others are deleted too
// (attemptToDeleteItem: their owner is waitingForDependentsDeletion, and
// without dependents of their own they go with propagation Background) but
// the owner does not wait for them to be gone.
func TestForegroundDoesNotWaitForNonBlockingDependents(t *testing.T) {
	e := newEnv(t)
	d, _ := e.deployment()
	ref := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID}
	_, err := e.cl.CoreV1().ConfigMaps(ns).Create(context.TODO(), &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held",
		OwnerReferences: []metav1.OwnerReference{ref}, Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	e.c.Engine.RunFor(time.Second)
	e.deleteDeployment(metav1.DeletePropagationForeground)
	e.runUntil(time.Minute, "deployment gone", func() bool { _, ok := e.deployment(); return !ok })
	assert.Equal(t, 16*time.Second, e.now(), "when its pods and ReplicaSet are gone")
	cm, err := e.cl.CoreV1().ConfigMaps(ns).Get(context.TODO(), "held", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotNil(t, cm.DeletionTimestamp, "deleted, held by its own finalizer, not waited for")
	var msgs []string
	for _, r := range e.trace.Find(garbagecollector.ComponentName, "collected") {
		if r.Kind == "ConfigMap" {
			msgs = append(msgs, r.Msg)
		}
	}
	assert.Equal(t, []string{"owner Deployment web is being deleted in the foreground (propagationPolicy Background)"}, msgs)
}

// TestNamespaceForegroundDeletion: a namespace deleted with propagation
// Foreground carries the foregroundDeletion finalizer (the namespace REST
// Delete); the collector removes it (no dependent blocks it) while the
// namespace is still being emptied, and the namespace goes once its
// content is gone and spec.finalizers are empty.
func TestNamespaceForegroundDeletion(t *testing.T) {
	e := newEnv(t)
	nss := e.cl.CoreV1().Namespaces()
	_, err := nss.Create(context.TODO(), &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = e.cl.AppsV1().Deployments("team").Create(context.TODO(), simtest.Deployment("team", "web", 2, web, "v1"), metav1.CreateOptions{})
	require.NoError(t, err)
	e.c.Engine.RunFor(10 * time.Second)
	fg := metav1.DeletePropagationForeground
	require.NoError(t, nss.Delete(context.TODO(), "team", metav1.DeleteOptions{PropagationPolicy: &fg}))
	n, err := nss.Get(context.TODO(), "team", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{metav1.FinalizerDeleteDependents}, n.Finalizers)
	e.c.Engine.RunFor(time.Second)
	n, err = nss.Get(context.TODO(), "team", metav1.GetOptions{})
	require.NoError(t, err, "its pods are still terminating")
	assert.Empty(t, n.Finalizers, "the collector removed foregroundDeletion")
	assert.Equal(t, []v1.FinalizerName{v1.FinalizerKubernetes}, n.Spec.Finalizers)
	e.runUntil(e.now()+time.Minute, "namespace gone", func() bool {
		_, err := nss.Get(context.TODO(), "team", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// TestOrphanFinalizerAlreadyThere: without a propagation policy the API
// server keeps an orphan finalizer the object already has (it outranks the
// kind's default, background for apps/v1: shouldOrphanDependents in
// registry/generic/registry/store.go), so the ReplicaSet is orphaned, not
// collected; an explicit Background (kubectl's default cascade) drops it.
func TestOrphanFinalizerAlreadyThere(t *testing.T) {
	e := newEnv(t)
	d, _ := e.deployment()
	d.Finalizers = []string{metav1.FinalizerOrphanDependents}
	_, err := e.cl.AppsV1().Deployments(ns).Update(context.TODO(), d, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.deleteDeployment("")
	e.runUntil(time.Minute, "deployment gone", func() bool { _, ok := e.deployment(); return !ok })
	rss := e.replicaSets()
	require.Len(t, rss, 1)
	assert.Empty(t, rss[0].OwnerReferences, "orphaned, not collected")
	require.Len(t, e.pods(), 3)

	rs := rss[0]
	rs.Finalizers = []string{metav1.FinalizerOrphanDependents}
	_, err = e.cl.AppsV1().ReplicaSets(ns).Update(context.TODO(), &rs, metav1.UpdateOptions{})
	require.NoError(t, err)
	bg := metav1.DeletePropagationBackground
	require.NoError(t, e.cl.AppsV1().ReplicaSets(ns).Delete(context.TODO(), rs.Name, metav1.DeleteOptions{PropagationPolicy: &bg}))
	_, err = e.cl.AppsV1().ReplicaSets(ns).Get(context.TODO(), rs.Name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "Background drops the orphan finalizer: gone at once")
	e.runUntil(e.now()+time.Minute, "pods gone", func() bool { return len(e.pods()) == 0 })
}
