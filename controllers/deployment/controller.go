package deployment

import (
	"context"
	"fmt"
	"reflect"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kubesim/kubesim/controllers/controllerutil"
	deploymentutil "github.com/kubesim/kubesim/controllers/deployment/util"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
)

// ComponentName is the controller's name in events, traces and API writes.
const ComponentName = "deployment-controller"

// MaxRetries is how many rate-limited retries a failing Deployment gets
// before it is dropped from the queue until its next change (upstream 15:
// 5 ms doubling up to ≈82 s).
const MaxRetries = 15

var replicaSetKind = apps.SchemeGroupVersion.WithKind("ReplicaSet")

// Controller is upstream's DeploymentController: handlers on the shared
// Deployment, ReplicaSet and pod informers that only enqueue Deployment
// keys (addDeployment … deletePod, the last only for Recreate Deployments
// whose pods are all gone), and a work queue whose sync claims the
// Deployment's ReplicaSets, groups their pods and runs a Syncer whose
// Client writes through the API.
type Controller struct {
	eng      *sim.Engine
	client   client.Interface
	recorder record.EventRecorder
	dLister  appslisters.DeploymentLister
	rsLister appslisters.ReplicaSetLister
	// podIndexer has controllerutil.PodControllerUIDIndex.
	podIndexer cache.Indexer
	// podWrites counts podIndexer's writes (nil when it does not).
	podWrites func() uint64
	// podMaps holds each Deployment's last pod map (by key), valid while
	// podWrites stays the same (see getPodMapForDeployment).
	podMaps map[string]*podMapMemo
	queue   *informer.Queue[string]
}

// podMapMemo is a pod map and what it was computed from: the pod cache at
// its writes count, the namespace, the selector and the ReplicaSets' UIDs.
type podMapMemo struct {
	writes    uint64
	namespace string
	selector  *metav1.LabelSelector
	rsUIDs    []types.UID
	podMap    map[types.UID][]*v1.Pod
}

// NewController creates the controller and registers its handlers (call
// before the factory starts).
func NewController(eng *sim.Engine, f *informer.Factory, cl client.Interface, recorder record.EventRecorder) *Controller {
	dInformer, rsInformer, podInformer := f.Deployments(), f.ReplicaSets(), f.Pods()
	dc := &Controller{
		eng:      eng,
		client:   cl,
		recorder: recorder,
		dLister:  dInformer.Lister(),
		rsLister: rsInformer.Lister(),
	}
	if err := controllerutil.AddPodControllerUIDIndexer(podInformer); err != nil {
		panic(fmt.Sprintf("deployment controller: %v", err))
	}
	dc.podIndexer = podInformer.GetIndexer()
	if w, ok := dc.podIndexer.(interface{ Writes() uint64 }); ok {
		dc.podWrites, dc.podMaps = w.Writes, map[string]*podMapMemo{}
	}
	dc.queue = informer.NewQueue[string](eng, "deployment", informer.DefaultControllerRateLimiter[string](eng), dc.processKey)
	dInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    dc.addDeployment,
		UpdateFunc: dc.updateDeployment,
		DeleteFunc: dc.deleteDeployment,
	})
	rsInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    dc.addReplicaSet,
		UpdateFunc: dc.updateReplicaSet,
		DeleteFunc: dc.deleteReplicaSet,
	})
	podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: dc.deletePod})
	return dc
}

// Queue is the controller's work queue (for tests and the UI).
func (dc *Controller) Queue() *informer.Queue[string] { return dc.queue }

// ---- event handlers: they only enqueue keys ----

func (dc *Controller) enqueue(d *apps.Deployment) { dc.queue.Add(Key(d)) }

func (dc *Controller) addDeployment(obj any) { dc.enqueue(obj.(*apps.Deployment)) }

func (dc *Controller) updateDeployment(_, cur any) { dc.enqueue(cur.(*apps.Deployment)) }

func (dc *Controller) deleteDeployment(obj any) {
	d, ok := obj.(*apps.Deployment)
	if !ok {
		tombstone, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if d, ok = tombstone.Obj.(*apps.Deployment); !ok {
			return
		}
	}
	dc.enqueue(d)
}

// addReplicaSet wakes the owning Deployment, or every Deployment that might
// adopt an orphan ReplicaSet.
func (dc *Controller) addReplicaSet(obj any) {
	rs := obj.(*apps.ReplicaSet)
	if rs.DeletionTimestamp != nil {
		dc.deleteReplicaSet(rs)
		return
	}
	if ref := metav1.GetControllerOf(rs); ref != nil {
		if d := dc.resolveControllerRef(rs.Namespace, ref); d != nil {
			dc.enqueue(d)
		}
		return
	}
	for _, d := range dc.getDeploymentsForReplicaSet(rs) {
		dc.enqueue(d)
	}
}

// getDeploymentsForReplicaSet returns the Deployments whose selector
// matches rs's labels.
func (dc *Controller) getDeploymentsForReplicaSet(rs *apps.ReplicaSet) []*apps.Deployment {
	if len(rs.Labels) == 0 {
		return nil
	}
	list, err := dc.dLister.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*apps.Deployment
	for _, d := range list {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(rs.Labels)) {
			continue
		}
		out = append(out, d)
	}
	return out
}

func (dc *Controller) updateReplicaSet(old, cur any) {
	oldRS, curRS := old.(*apps.ReplicaSet), cur.(*apps.ReplicaSet)
	if curRS.ResourceVersion == oldRS.ResourceVersion {
		return
	}
	curRef := metav1.GetControllerOf(curRS)
	oldRef := metav1.GetControllerOf(oldRS)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if d := dc.resolveControllerRef(oldRS.Namespace, oldRef); d != nil {
			dc.enqueue(d)
		}
	}
	if curRef != nil {
		if d := dc.resolveControllerRef(curRS.Namespace, curRef); d != nil {
			dc.enqueue(d)
		}
		return
	}
	labelChanged := !reflect.DeepEqual(curRS.Labels, oldRS.Labels)
	if labelChanged || refChanged {
		for _, d := range dc.getDeploymentsForReplicaSet(curRS) {
			dc.enqueue(d)
		}
	}
}

func (dc *Controller) deleteReplicaSet(obj any) {
	rs, ok := obj.(*apps.ReplicaSet)
	if !ok {
		tombstone, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if rs, ok = tombstone.Obj.(*apps.ReplicaSet); !ok {
			return
		}
	}
	ref := metav1.GetControllerOf(rs)
	if ref == nil {
		return
	}
	if d := dc.resolveControllerRef(rs.Namespace, ref); d != nil {
		dc.enqueue(d)
	}
}

// deletePod wakes a Recreate Deployment once none of its pods is left.
func (dc *Controller) deletePod(obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		tombstone, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tombstone.Obj.(*v1.Pod); !ok {
			return
		}
	}
	d := dc.getDeploymentForPod(pod)
	if d == nil || d.Spec.Strategy.Type != apps.RecreateDeploymentStrategyType {
		return
	}
	// Upstream lists the ReplicaSets through the API here.
	rsList, err := dc.listReplicaSetsFromAPI(d)
	if err != nil {
		return
	}
	podMap, err := dc.getPodMapForDeployment(d, rsList)
	if err != nil {
		return
	}
	numPods := 0
	for _, pods := range podMap {
		numPods += len(pods)
	}
	if numPods == 0 {
		dc.enqueue(d)
	}
}

// listReplicaSetsFromAPI lists the ReplicaSets d controls with a live read
// (upstream util.ListReplicaSets with RsListFromClient).
func (dc *Controller) listReplicaSetsFromAPI(d *apps.Deployment) ([]*apps.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	list, err := dc.client.AppsV1().ReplicaSets(d.Namespace).List(context.TODO(), metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var owned []*apps.ReplicaSet
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], d) {
			owned = append(owned, &list.Items[i])
		}
	}
	return owned, nil
}

// getDeploymentForPod follows pod → ReplicaSet → Deployment controller refs.
func (dc *Controller) getDeploymentForPod(pod *v1.Pod) *apps.Deployment {
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != replicaSetKind.Kind {
		return nil
	}
	rs, err := dc.rsLister.ReplicaSets(pod.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	ref = metav1.GetControllerOf(rs)
	if ref == nil {
		return nil
	}
	return dc.resolveControllerRef(rs.Namespace, ref)
}

// resolveControllerRef returns the Deployment a controller reference points
// to, or nil.
func (dc *Controller) resolveControllerRef(namespace string, ref *metav1.OwnerReference) *apps.Deployment {
	if ref.Kind != controllerKind.Kind {
		return nil
	}
	d, err := dc.dLister.Deployments(namespace).Get(ref.Name)
	if err != nil || d.UID != ref.UID {
		return nil
	}
	return d
}

// ---- sync ----

// processKey is upstream's processNextWorkItem + handleErr: an error is
// retried rate-limited up to MaxRetries times, then the key is dropped.
func (dc *Controller) processKey(key string) error {
	err := dc.syncDeployment(key)
	if err == nil || apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause) {
		return nil
	}
	if dc.queue.NumRequeues(key) < MaxRetries {
		return err // the queue requeues it rate-limited
	}
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	dc.trace("dropped", ns, name, fmt.Sprintf("dropped from the queue after %d failed syncs: %v", MaxRetries, err))
	return nil
}

// syncDeployment is upstream's syncDeployment: read the Deployment from
// the cache, claim its ReplicaSets, group their pods, and run one Syncer
// pass; then requeue for the progress-deadline check if asked.
func (dc *Controller) syncDeployment(key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	deployment, err := dc.dLister.Deployments(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		delete(dc.podMaps, key)
		return nil
	}
	if err != nil {
		return err
	}
	s := &Syncer{Client: &apiClient{dc: dc, d: deployment}, Recorder: dc.recorder, Now: dc.eng.Now()}

	everything := metav1.LabelSelector{}
	if reflect.DeepEqual(deployment.Spec.Selector, &everything) {
		// Refused before any claim: an empty selector would adopt everything.
		return s.SyncDeployment(deployment, nil, nil)
	}
	rsList, err := dc.getReplicaSetsForDeployment(deployment)
	if err != nil {
		return err
	}
	podMap, err := dc.getPodMapForDeployment(deployment, rsList)
	if err != nil {
		return err
	}
	read := 0
	for _, pods := range podMap {
		read += len(pods)
	}
	dc.queue.Charge(informer.SyncCost(read))
	err = s.SyncDeployment(deployment, rsList, podMap)
	switch {
	case s.RequeueAfter == RequeueRateLimited:
		dc.queue.AddRateLimited(key)
	case s.RequeueAfter > 0:
		dc.queue.AddAfter(key, s.RequeueAfter)
	}
	return err
}

// getReplicaSetsForDeployment claims the namespace's ReplicaSets: keeps
// those d controls and still selects, adopts matching orphans, releases
// those that no longer match.
func (dc *Controller) getReplicaSetsForDeployment(d *apps.Deployment) ([]*apps.ReplicaSet, error) {
	rsList, err := dc.rsLister.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s has invalid label selector: %v", d.Namespace, d.Name, err)
	}
	rsClient := dc.client.AppsV1().ReplicaSets(d.Namespace)
	m := &controllerutil.ControllerRefManager[*apps.ReplicaSet]{
		Controller: d,
		Selector:   selector,
		CanAdopt: controllerutil.RecheckDeletionTimestamp(func() (metav1.Object, error) {
			fresh, err := dc.client.AppsV1().Deployments(d.Namespace).Get(context.TODO(), d.Name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			if fresh.UID != d.UID {
				return nil, fmt.Errorf("original Deployment %v/%v is gone: got uid %v, wanted %v", d.Namespace, d.Name, fresh.UID, d.UID)
			}
			return fresh, nil
		}),
		Adopt: func(rs *apps.ReplicaSet) error {
			patch, err := controllerutil.OwnerRefControllerPatch(d, controllerKind, rs.UID)
			if err != nil {
				return err
			}
			if _, err := rsClient.Patch(context.TODO(), rs.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
				return err
			}
			dc.trace("adopted", rs.Namespace, rs.Name, fmt.Sprintf("replicaset %s adopted by deployment %s", rs.Name, d.Name))
			return nil
		},
		Release: func(rs *apps.ReplicaSet) error {
			patch, err := controllerutil.GenerateDeleteOwnerRefStrategicMergeBytes(rs.UID, []types.UID{d.UID})
			if err != nil {
				return err
			}
			if _, err := rsClient.Patch(context.TODO(), rs.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
				if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) {
					return nil
				}
				return err
			}
			dc.trace("released", rs.Namespace, rs.Name, fmt.Sprintf("replicaset %s released by deployment %s", rs.Name, d.Name))
			return nil
		},
	}
	return m.Claim(rsList)
}

// getPodMapForDeployment groups the pods matching d's selector by the UID
// of their controlling ReplicaSet (only ReplicaSets in rsList; inactive
// pods included, as Recreate needs them). Upstream lists the namespace's
// pods by the selector and groups them by controller; this reads each
// ReplicaSet's pods through the controller-UID index and keeps those of
// d's namespace that match the selector: the same pods in the same (key)
// order, without walking the namespace's other pods. (A Deployment stuck
// with unavailable replicas after its rollout completed is requeued
// rate-limited, ten syncs a second, as upstream's requeueStuckDeployment
// does: with thousands of pods the list was most of the run.)
//
// The map is kept per Deployment and given again (a copy of the map, the
// same slices) while the pod cache has had no write and the namespace,
// selector and ReplicaSets are the same: it would hold the same pods. The
// callers only read it.
func (dc *Controller) getPodMapForDeployment(d *apps.Deployment, rsList []*apps.ReplicaSet) (map[types.UID][]*v1.Pod, error) {
	var memo *podMapMemo
	if dc.podWrites != nil {
		memo = dc.podMaps[Key(d)]
		if memo != nil && memo.writes == dc.podWrites() && memo.namespace == d.Namespace &&
			sameReplicaSets(memo.rsUIDs, rsList) && reflect.DeepEqual(memo.selector, d.Spec.Selector) {
			podMap := make(map[types.UID][]*v1.Pod, len(memo.podMap))
			for uid, pods := range memo.podMap {
				podMap[uid] = pods
			}
			return podMap, nil
		}
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	podMap := make(map[types.UID][]*v1.Pod, len(rsList))
	for _, rs := range rsList {
		podMap[rs.UID] = []*v1.Pod{}
	}
	for _, rs := range rsList {
		if len(podMap[rs.UID]) > 0 {
			continue // listed twice
		}
		objs, err := dc.podIndexer.ByIndex(controllerutil.PodControllerUIDIndex, string(rs.UID))
		if err != nil {
			return nil, err
		}
		for _, obj := range objs {
			pod, ok := obj.(*v1.Pod)
			if !ok || pod.Namespace != d.Namespace || !selector.Matches(labels.Set(pod.Labels)) {
				continue
			}
			podMap[rs.UID] = append(podMap[rs.UID], pod)
		}
	}
	if dc.podWrites != nil {
		if memo == nil {
			memo = &podMapMemo{}
			dc.podMaps[Key(d)] = memo
		}
		memo.writes, memo.namespace, memo.selector = dc.podWrites(), d.Namespace, d.Spec.Selector
		memo.rsUIDs = memo.rsUIDs[:0]
		for _, rs := range rsList {
			memo.rsUIDs = append(memo.rsUIDs, rs.UID)
		}
		memo.podMap = make(map[types.UID][]*v1.Pod, len(podMap))
		for uid, pods := range podMap {
			memo.podMap[uid] = pods
		}
	}
	return podMap, nil
}

// sameReplicaSets reports whether rsList has the given UIDs, in order.
func sameReplicaSets(uids []types.UID, rsList []*apps.ReplicaSet) bool {
	if len(uids) != len(rsList) {
		return false
	}
	for i, rs := range rsList {
		if rs.UID != uids[i] {
			return false
		}
	}
	return true
}

// trace records a Deployment-controller decision about a Deployment.
func (dc *Controller) trace(verb, namespace, name, msg string) {
	dc.traceKind(verb, "Deployment", namespace, name, msg)
}

func (dc *Controller) traceKind(verb, kind, namespace, name, msg string) {
	if !dc.eng.Tracing() {
		return
	}
	dc.eng.Trace(sim.Record{Component: ComponentName, Verb: verb, Kind: kind, Namespace: namespace, Name: name, Msg: msg})
}

// apiClient implements Client over the typed client for one sync of d, and
// traces the decisions each write carries.
type apiClient struct {
	dc *Controller
	d  *apps.Deployment
}

// CreateReplicaSet implements Client.
func (a *apiClient) CreateReplicaSet(rs *apps.ReplicaSet) (*apps.ReplicaSet, error) {
	created, err := a.dc.client.AppsV1().ReplicaSets(rs.Namespace).Create(context.TODO(), rs, metav1.CreateOptions{})
	if err == nil {
		a.dc.traceKind("newReplicaSet", "ReplicaSet", created.Namespace, created.Name,
			fmt.Sprintf("new replicaset of deployment %s (revision %s) with %d replicas", a.d.Name, created.Annotations[deploymentutil.RevisionAnnotation], *created.Spec.Replicas))
	}
	return created, err
}

// UpdateReplicaSet implements Client.
func (a *apiClient) UpdateReplicaSet(rs *apps.ReplicaSet) (*apps.ReplicaSet, error) {
	var oldReplicas int32 = -1
	if cur, err := a.dc.rsLister.ReplicaSets(rs.Namespace).Get(rs.Name); err == nil && cur.Spec.Replicas != nil {
		oldReplicas = *cur.Spec.Replicas
	}
	updated, err := a.dc.client.AppsV1().ReplicaSets(rs.Namespace).Update(context.TODO(), rs, metav1.UpdateOptions{})
	if err == nil && oldReplicas >= 0 && oldReplicas != *updated.Spec.Replicas {
		a.dc.traceKind("scaled", "ReplicaSet", updated.Namespace, updated.Name,
			fmt.Sprintf("deployment %s scaled replicaset %s from %d to %d", a.d.Name, updated.Name, oldReplicas, *updated.Spec.Replicas))
	}
	return updated, err
}

// DeleteReplicaSet implements Client (history cleanup; the API's default
// background propagation lets the garbage collector take the pods).
func (a *apiClient) DeleteReplicaSet(namespace, name string) error {
	err := a.dc.client.AppsV1().ReplicaSets(namespace).Delete(context.TODO(), name, metav1.DeleteOptions{})
	if err == nil {
		a.dc.traceKind("historyTrimmed", "ReplicaSet", namespace, name,
			fmt.Sprintf("old replicaset beyond revisionHistoryLimit %d of deployment %s", *a.d.Spec.RevisionHistoryLimit, a.d.Name))
	}
	return err
}

// UpdateDeploymentStatus implements Client; a change of the Progressing or
// Available condition is traced.
func (a *apiClient) UpdateDeploymentStatus(d *apps.Deployment) (*apps.Deployment, error) {
	updated, err := a.dc.client.AppsV1().Deployments(d.Namespace).UpdateStatus(context.TODO(), d, metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	a.traceConditions(updated)
	a.d = updated
	return updated, nil
}

// traceConditions traces Progressing reason changes and Available status
// changes between the Deployment the sync started from and updated.
func (a *apiClient) traceConditions(updated *apps.Deployment) {
	oldP := deploymentutil.GetDeploymentCondition(a.d.Status, apps.DeploymentProgressing)
	newP := deploymentutil.GetDeploymentCondition(updated.Status, apps.DeploymentProgressing)
	if newP != nil && (oldP == nil || oldP.Reason != newP.Reason || oldP.Status != newP.Status) {
		verb := "progressing"
		switch newP.Reason {
		case deploymentutil.NewRSAvailableReason:
			verb = "rolloutComplete"
		case deploymentutil.TimedOutReason:
			verb = "progressDeadlineExceeded"
		case deploymentutil.PausedDeployReason:
			verb = "paused"
		case deploymentutil.ResumedDeployReason:
			verb = "resumed"
		}
		a.dc.trace(verb, updated.Namespace, updated.Name, fmt.Sprintf("Progressing=%s %s: %s", newP.Status, newP.Reason, newP.Message))
	}
	oldA := deploymentutil.GetDeploymentCondition(a.d.Status, apps.DeploymentAvailable)
	newA := deploymentutil.GetDeploymentCondition(updated.Status, apps.DeploymentAvailable)
	if newA != nil && (oldA == nil || oldA.Status != newA.Status) {
		verb := "available"
		if newA.Status != v1.ConditionTrue {
			verb = "unavailable"
		}
		a.dc.trace(verb, updated.Namespace, updated.Name, fmt.Sprintf("Available=%s %s: %d of %d replicas available", newA.Status, newA.Reason, updated.Status.AvailableReplicas, *updated.Spec.Replicas))
	}
}

// GetReplicaSet implements Client (a copy from the informer cache).
func (a *apiClient) GetReplicaSet(namespace, name string) (*apps.ReplicaSet, error) {
	rs, err := a.dc.rsLister.ReplicaSets(namespace).Get(name)
	if err != nil {
		return nil, err
	}
	return rs.DeepCopy(), nil
}
