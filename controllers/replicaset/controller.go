package replicaset

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kubesim/kubesim/controllers/controllerutil"
	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
)

// ComponentName is the controller's name in events, traces and API writes.
const ComponentName = "replicaset-controller"

const (
	// statusUpdateRetries is how many times a conflicting status write is
	// retried after a fresh read (upstream 1).
	statusUpdateRetries = 1
	// controllerUIDIndex indexes ReplicaSets by their controller's UID.
	controllerUIDIndex = "controllerUID"
)

// Controller is upstream's ReplicaSetController: shared informers for
// ReplicaSets and pods whose handlers only enqueue ReplicaSet keys (and
// observe expectations), and a work queue whose sync (syncReplicaSet)
// claims pods, manages replicas and writes the status. The engine runs one
// queue item per event; there is one worker.
type Controller struct {
	eng       *sim.Engine
	client    client.Interface
	recorder  record.EventRecorder
	rsLister  appslisters.ReplicaSetLister
	rsIndexer cache.Indexer
	podLister corelisters.PodLister
	// podIndexer has controllerutil.PodControllerUIDIndex.
	podIndexer cache.Indexer
	queue      *informer.Queue[string]
	// expectations are the creations/deletions each ReplicaSet waits to observe.
	expectations *controllerutil.UIDTrackingControllerExpectations
	// burstReplicas caps the creations or deletions of one sync.
	burstReplicas int
}

// NewController creates the controller and registers its handlers on the
// factory's ReplicaSet and pod informers (call before the factory starts).
// burstReplicas ≤ 0 means BurstReplicas.
func NewController(eng *sim.Engine, f *informer.Factory, cl client.Interface, recorder record.EventRecorder, burstReplicas int) *Controller {
	if burstReplicas <= 0 {
		burstReplicas = BurstReplicas
	}
	rsInformer := f.ReplicaSets()
	podInformer := f.Pods()
	rsc := &Controller{
		eng:           eng,
		client:        cl,
		recorder:      recorder,
		rsLister:      rsInformer.Lister(),
		rsIndexer:     rsInformer.GetIndexer(),
		podLister:     podInformer.Lister(),
		expectations:  controllerutil.NewUIDTrackingControllerExpectations(controllerutil.NewControllerExpectations(eng.Now)),
		burstReplicas: burstReplicas,
	}
	rsc.queue = informer.NewQueue[string](eng, "replicaset", informer.DefaultControllerRateLimiter[string](eng), rsc.syncReplicaSet)
	rsInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    rsc.addRS,
		UpdateFunc: rsc.updateRS,
		DeleteFunc: rsc.deleteRS,
	})
	if _, exists := rsInformer.GetIndexer().GetIndexers()[controllerUIDIndex]; !exists {
		if err := rsInformer.AddIndexers(cache.Indexers{controllerUIDIndex: indexByControllerUID}); err != nil {
			panic(fmt.Sprintf("replicaset controller: %v", err))
		}
	}
	if err := controllerutil.AddPodControllerUIDIndexer(podInformer); err != nil {
		panic(fmt.Sprintf("replicaset controller: %v", err))
	}
	rsc.podIndexer = podInformer.GetIndexer()
	podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    rsc.addPod,
		UpdateFunc: rsc.updatePod,
		DeleteFunc: rsc.deletePod,
	})
	return rsc
}

// Queue is the controller's work queue (for tests and the UI).
func (rsc *Controller) Queue() *informer.Queue[string] { return rsc.queue }

// Expectations returns the pending (adds, dels) of a ReplicaSet key and
// whether any are recorded.
func (rsc *Controller) Expectations(key string) (add, del int64, ok bool) {
	exp, ok := rsc.expectations.GetExpectations(key)
	if !ok {
		return 0, 0, false
	}
	add, del = exp.GetExpectations()
	return add, del, true
}

func indexByControllerUID(obj any) ([]string, error) {
	rs, ok := obj.(*apps.ReplicaSet)
	if !ok {
		return nil, nil
	}
	ref := metav1.GetControllerOfNoCopy(rs)
	if ref == nil {
		return nil, nil
	}
	return []string{string(ref.UID)}, nil
}

// ---- event handlers: they only enqueue keys and observe expectations ----

func (rsc *Controller) enqueueRS(rs *apps.ReplicaSet) { rsc.queue.Add(Key(rs)) }

func (rsc *Controller) addRS(obj any) { rsc.enqueueRS(obj.(*apps.ReplicaSet)) }

// updateRS enqueues on every update (a status-only change included, as
// upstream: a resync must retry ReplicaSets whose creations failed).
func (rsc *Controller) updateRS(old, cur any) {
	oldRS, curRS := old.(*apps.ReplicaSet), cur.(*apps.ReplicaSet)
	if curRS.UID != oldRS.UID {
		rsc.deleteRS(cache.DeletedFinalStateUnknown{Key: Key(oldRS), Obj: oldRS})
	}
	rsc.enqueueRS(curRS)
}

func (rsc *Controller) deleteRS(obj any) {
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
	key := Key(rs)
	// A ReplicaSet re-created with the same name starts clean.
	rsc.expectations.DeleteExpectations(key)
	rsc.queue.Add(key)
}

// getPodReplicaSets returns the ReplicaSets whose selector matches pod.
func (rsc *Controller) getPodReplicaSets(pod *v1.Pod) []*apps.ReplicaSet {
	if len(pod.Labels) == 0 {
		// The lister's answer (an error: a pod without labels is
		// selected by no ReplicaSet), without formatting it.
		return nil
	}
	rss, err := rsc.rsLister.GetPodReplicaSets(pod)
	if err != nil {
		return nil
	}
	return rss
}

// resolveControllerRef returns the ReplicaSet a controller reference points
// to, or nil if it is of another kind or the name now has another UID.
func (rsc *Controller) resolveControllerRef(namespace string, ref *metav1.OwnerReference) *apps.ReplicaSet {
	if ref.Kind != controllerKind.Kind {
		return nil
	}
	rs, err := rsc.rsLister.ReplicaSets(namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	return rs
}

// addPod observes a creation for the owning ReplicaSet, or wakes every
// ReplicaSet that might adopt an orphan.
func (rsc *Controller) addPod(obj any) {
	pod := obj.(*v1.Pod)
	if pod.DeletionTimestamp != nil {
		// Seen first already being deleted: not a creation observation.
		rsc.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		rs := rsc.resolveControllerRef(pod.Namespace, ref)
		if rs == nil {
			return
		}
		rsKey := Key(rs)
		rsc.expectations.CreationObserved(rsKey)
		rsc.queue.Add(rsKey)
		return
	}
	// An orphan: no controller is waiting for it, so no observation.
	for _, rs := range rsc.getPodReplicaSets(pod) {
		rsc.enqueueRS(rs)
	}
}

// updatePod wakes the ReplicaSets concerned by a pod change: a deletion
// timestamp counts as the deletion; a controller-ref change wakes both the
// old and the new owner; a pod turning Ready under minReadySeconds is
// looked at again once it can be available.
func (rsc *Controller) updatePod(old, cur any) {
	oldPod, curPod := old.(*v1.Pod), cur.(*v1.Pod)
	if curPod.ResourceVersion == oldPod.ResourceVersion {
		return
	}
	labelChanged := !reflect.DeepEqual(curPod.Labels, oldPod.Labels)
	if curPod.DeletionTimestamp != nil {
		// A graceful deletion: replace the pod now, not when the kubelet is done.
		rsc.deletePod(curPod)
		if labelChanged {
			rsc.deletePod(oldPod)
		}
		return
	}
	curRef := metav1.GetControllerOf(curPod)
	oldRef := metav1.GetControllerOf(oldPod)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if rs := rsc.resolveControllerRef(oldPod.Namespace, oldRef); rs != nil {
			rsc.enqueueRS(rs)
		}
	}
	if curRef != nil {
		rs := rsc.resolveControllerRef(curPod.Namespace, curRef)
		if rs == nil {
			return
		}
		rsc.enqueueRS(rs)
		if !podutil.IsPodReady(oldPod) && podutil.IsPodReady(curPod) && rs.Spec.MinReadySeconds > 0 {
			// One extra second against clock skew, as upstream.
			rsc.queue.AddAfter(Key(rs), time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if labelChanged || refChanged {
		for _, rs := range rsc.getPodReplicaSets(curPod) {
			rsc.enqueueRS(rs)
		}
	}
}

// deletePod observes a deletion for the owning ReplicaSet.
func (rsc *Controller) deletePod(obj any) {
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
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return
	}
	rs := rsc.resolveControllerRef(pod.Namespace, ref)
	if rs == nil {
		return
	}
	rsKey := Key(rs)
	rsc.expectations.DeletionObserved(rsKey, controllerutil.PodKey(pod))
	rsc.queue.Add(rsKey)
}

// ---- sync ----

// syncReplicaSet is upstream's syncReplicaSet: read the ReplicaSet and the
// namespace's active pods from the cache, claim pods, create or delete pods
// when expectations are satisfied, and write the status if it changed.
func (rsc *Controller) syncReplicaSet(key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	rs, err := rsc.rsLister.ReplicaSets(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		rsc.expectations.DeleteExpectations(key)
		return nil
	}
	if err != nil {
		return err
	}
	rsNeedsSync := rsc.expectations.SatisfiedExpectations(key)
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		// An invalid selector never heals by retrying.
		return nil
	}
	// The pods it controls (also those that no longer match, to release
	// them) and the orphans it may adopt, through the controller-UID index.
	allRSPods, err := controllerutil.FilterPodsByOwner(rsc.podIndexer, &rs.ObjectMeta, true)
	if err != nil {
		return err
	}
	filteredPods := controllerutil.FilterActivePods(allRSPods)
	filteredPods, err = rsc.claimPods(rs, selector, filteredPods)
	if err != nil {
		return err
	}
	// The sync takes the time of the pods it works on (those it controls).
	rsc.queue.Charge(informer.SyncCost(len(filteredPods)))

	var manageReplicasErr error
	if rsNeedsSync && rs.DeletionTimestamp == nil {
		manageReplicasErr = rsc.manageReplicas(filteredPods, rs)
	}
	rs = rs.DeepCopy()
	newStatus := CalculateStatus(rs, filteredPods, manageReplicasErr, rsc.eng.Now())
	updatedRS, err := rsc.updateReplicaSetStatus(rs, newStatus)
	if err != nil {
		return err
	}
	// Resync once Ready pods can have become available (minReadySeconds).
	if after := AvailabilityRequeueAfter(updatedRS, updatedRS.Status, manageReplicasErr); after > 0 {
		rsc.queue.AddAfter(key, after)
	}
	return manageReplicasErr
}

// claimPods adopts matching orphans and releases owned pods that no longer
// match, returning the pods the ReplicaSet controls.
func (rsc *Controller) claimPods(rs *apps.ReplicaSet, selector labels.Selector, pods []*v1.Pod) ([]*v1.Pod, error) {
	pc := rsc.client.CoreV1().Pods(rs.Namespace)
	m := &controllerutil.ControllerRefManager[*v1.Pod]{
		Controller: rs,
		Selector:   selector,
		// Re-read the ReplicaSet live before the first adoption: it may
		// have just been deleted.
		CanAdopt: controllerutil.RecheckDeletionTimestamp(func() (metav1.Object, error) {
			fresh, err := rsc.client.AppsV1().ReplicaSets(rs.Namespace).Get(context.TODO(), rs.Name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			if fresh.UID != rs.UID {
				return nil, fmt.Errorf("original ReplicaSet %v/%v is gone: got uid %v, wanted %v", rs.Namespace, rs.Name, fresh.UID, rs.UID)
			}
			return fresh, nil
		}),
		Adopt: func(pod *v1.Pod) error {
			patch, err := controllerutil.OwnerRefControllerPatch(rs, controllerKind, pod.UID)
			if err != nil {
				return err
			}
			if _, err := pc.Patch(context.TODO(), pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
				return err
			}
			rsc.trace("adopted", "Pod", pod.Namespace, pod.Name, fmt.Sprintf("by replicaset %s (labels match its selector)", rs.Name))
			return nil
		},
		Release: func(pod *v1.Pod) error {
			patch, err := controllerutil.GenerateDeleteOwnerRefStrategicMergeBytes(pod.UID, []types.UID{rs.UID})
			if err != nil {
				return err
			}
			_, err = pc.Patch(context.TODO(), pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) {
					// Gone, or replaced by a pod with another UID: nothing to release.
					return nil
				}
				return err
			}
			rsc.trace("released", "Pod", pod.Namespace, pod.Name, fmt.Sprintf("from replicaset %s (labels no longer match its selector)", rs.Name))
			return nil
		},
	}
	return m.Claim(pods)
}

// manageReplicas runs ManageReplicas with pod writes through the API and
// traces what it did.
func (rsc *Controller) manageReplicas(filteredPods []*v1.Pod, rs *apps.ReplicaSet) error {
	var relatedPods []*v1.Pod
	if len(filteredPods) > int(*rs.Spec.Replicas) {
		relatedPods = rsc.getIndirectlyRelatedPods(rs)
	}
	pc := &apiPodControl{client: rsc.client, recorder: rsc.recorder, rs: rs}
	err := ManageReplicas(rs, filteredPods, relatedPods, rsc.expectations, pc, rsc.eng.Now(), rsc.burstReplicas)
	had := len(filteredPods)
	want := *rs.Spec.Replicas
	if len(pc.created) > 0 {
		rsc.trace("scaledUp", "ReplicaSet", rs.Namespace, rs.Name,
			fmt.Sprintf("created %d pods (%d active, want %d): %s", len(pc.created), had, want, strings.Join(pc.created, ", ")))
	}
	if len(pc.deleted) > 0 {
		rsc.trace("scaledDown", "ReplicaSet", rs.Namespace, rs.Name,
			fmt.Sprintf("deleted %d pods (%d active, want %d), in victim order: %s", len(pc.deleted), had, want, strings.Join(pc.deleted, ", ")))
	}
	return err
}

// getIndirectlyRelatedPods returns the pods of every ReplicaSet with the
// same controller as rs (for the "doubled-up node" victim rank). A
// ReplicaSet without a controller has none, as upstream's
// getReplicaSetsWithSameController: all its pods then rank 0.
func (rsc *Controller) getIndirectlyRelatedPods(rs *apps.ReplicaSet) []*v1.Pod {
	ref := metav1.GetControllerOfNoCopy(rs)
	if ref == nil {
		return nil
	}
	objs, err := rsc.rsIndexer.ByIndex(controllerUIDIndex, string(ref.UID))
	if err != nil {
		return nil
	}
	var related []*v1.Pod
	seen := map[types.UID]bool{}
	for _, obj := range objs {
		relatedRS := obj.(*apps.ReplicaSet)
		sel, err := metav1.LabelSelectorAsSelector(relatedRS.Spec.Selector)
		if err != nil {
			continue
		}
		pods, err := rsc.podLister.Pods(relatedRS.Namespace).List(sel)
		if err != nil {
			continue
		}
		for _, pod := range pods {
			if seen[pod.UID] {
				continue
			}
			seen[pod.UID] = true
			related = append(related, pod)
		}
	}
	return related
}

// updateReplicaSetStatus writes newStatus (with observedGeneration) unless
// nothing changed; a failed write is retried once after a fresh read.
func (rsc *Controller) updateReplicaSetStatus(rs *apps.ReplicaSet, newStatus apps.ReplicaSetStatus) (*apps.ReplicaSet, error) {
	if StatusUnchanged(rs, newStatus) {
		return rs, nil
	}
	newStatus.ObservedGeneration = rs.Generation
	rsClient := rsc.client.AppsV1().ReplicaSets(rs.Namespace)
	var updateErr error
	for i := 0; ; i++ {
		rs.Status = newStatus
		updated, err := rsClient.UpdateStatus(context.TODO(), rs, metav1.UpdateOptions{})
		if err == nil {
			return updated, nil
		}
		updateErr = err
		if i >= statusUpdateRetries {
			break
		}
		if rs, err = rsClient.Get(context.TODO(), rs.Name, metav1.GetOptions{}); err != nil {
			return nil, err
		}
	}
	return nil, updateErr
}

func (rsc *Controller) trace(verb, kind, namespace, name, msg string) {
	if !rsc.eng.Tracing() {
		return
	}
	rsc.eng.Trace(sim.Record{Component: ComponentName, Verb: verb, Kind: kind, Namespace: namespace, Name: name, Msg: msg})
}

// apiPodControl is upstream's RealPodControl for one ReplicaSet: pod
// creations and deletions through the API, with the SuccessfulCreate /
// FailedCreate / SuccessfulDelete / FailedDelete events on the ReplicaSet.
type apiPodControl struct {
	client   client.Interface
	recorder record.EventRecorder
	rs       *apps.ReplicaSet
	created  []string
	deleted  []string
}

// CreatePod implements PodControl.
func (pc *apiPodControl) CreatePod(namespace string, pod *v1.Pod) error {
	newPod, err := pc.client.CoreV1().Pods(namespace).Create(context.TODO(), pod, metav1.CreateOptions{})
	if err != nil {
		if apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause) {
			// Every creation fails while the namespace goes away: not an error.
			return nil
		}
		pc.recorder.Eventf(pc.rs, v1.EventTypeWarning, controllerutil.FailedCreatePodReason, "Error creating: %v", err)
		return err
	}
	pc.created = append(pc.created, newPod.Name)
	pc.recorder.Eventf(pc.rs, v1.EventTypeNormal, controllerutil.SuccessfulCreatePodReason, "Created pod: %v", newPod.Name)
	return nil
}

// DeletePod implements PodControl.
func (pc *apiPodControl) DeletePod(namespace, name string) error {
	if err := pc.client.CoreV1().Pods(namespace).Delete(context.TODO(), name, metav1.DeleteOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		pc.recorder.Eventf(pc.rs, v1.EventTypeWarning, controllerutil.FailedDeletePodReason, "Error deleting: %v", err)
		return fmt.Errorf("unable to delete pods: %v", err)
	}
	pc.deleted = append(pc.deleted, name)
	pc.recorder.Eventf(pc.rs, v1.EventTypeNormal, controllerutil.SuccessfulDeletePodReason, "Deleted pod: %v", name)
	return nil
}
