package tainteviction

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kubesim/kubesim/controllers/nodeutil"
	"github.com/kubesim/kubesim/internal/alias"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
)

// Component is the controller's name, in traces and as its event source.
const Component = "taint-eviction-controller"

// retries bounds the attempts of one pod deletion (upstream 5).
const retries = 5

var discard = logr.Discard()

// Controller is the taint eviction controller.
type Controller struct {
	eng      *sim.Engine
	client   client.Interface
	recorder record.EventRecorder

	podInformer informer.PodInformer
	nodeLister  corelisters.NodeLister

	nodeQueue *informer.Queue[string]
	podQueue  *informer.Queue[string]
	// workers holds the scheduled deletions by pod key ("ns/name").
	workers map[string]*timedWorker
}

// timedWorker is a scheduled pod deletion.
type timedWorker struct {
	createdAt, fireAt time.Duration
	timer             sim.Timer
	why               string
	// started marks a deletion due at once (fireAt <= createdAt). Upstream
	// runs it without a timer and keeps a nil worker under the key
	// (timed_workers.go createWorker), so it cannot be cancelled: a cancel
	// only forgets the key, silently.
	started bool
}

// New creates the controller and registers its handlers on the factory's
// shared pod and node informers.
func New(eng *sim.Engine, f *informer.Factory, c client.Interface, recorder record.EventRecorder) *Controller {
	tc := &Controller{eng: eng, client: c, recorder: recorder, podInformer: f.Pods(), workers: map[string]*timedWorker{}}
	nodes := f.Nodes()
	tc.nodeLister = nodes.Lister()
	if err := nodeutil.AddPodNodeNameIndexer(tc.podInformer.Informer); err != nil {
		panic(fmt.Sprintf("%s: %v", Component, err))
	}
	tc.nodeQueue = informer.NewQueue[string](eng, Component+" node", informer.DefaultControllerRateLimiter[string](eng), tc.handleNodeUpdate)
	tc.podQueue = informer.NewQueue[string](eng, Component+" pod", informer.DefaultControllerRateLimiter[string](eng), tc.handlePodUpdate)
	tc.podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { tc.podUpdated(nil, obj.(*v1.Pod)) },
		UpdateFunc: func(old, cur any) { tc.podUpdated(old.(*v1.Pod), cur.(*v1.Pod)) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*v1.Pod); ok {
				tc.podUpdated(p, nil)
			}
		},
	})
	nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { tc.nodeUpdated(nil, obj.(*v1.Node)) },
		UpdateFunc: func(old, cur any) { tc.nodeUpdated(old.(*v1.Node), cur.(*v1.Node)) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*v1.Node); ok {
				tc.nodeUpdated(n, nil)
			}
		},
	})
	return tc
}

func (tc *Controller) trace(verb, ns, name, msg string) {
	tc.eng.Trace(sim.Record{Component: Component, Verb: verb, Kind: "Pod", Namespace: ns, Name: name, Msg: msg})
}

// podUpdated queues a pod whose node or tolerations changed (or that came or
// went).
func (tc *Controller) podUpdated(oldPod, newPod *v1.Pod) {
	if oldPod != nil && newPod != nil && oldPod.Spec.NodeName == newPod.Spec.NodeName &&
		// (The versions of a pod share the parts of the spec an update
		// did not touch: most updates skip the reflective comparison.)
		(alias.Same(oldPod.Spec.Tolerations, newPod.Spec.Tolerations) ||
			apiequality.Semantic.DeepEqual(oldPod.Spec.Tolerations, newPod.Spec.Tolerations)) {
		return
	}
	p := newPod
	if p == nil {
		p = oldPod
	}
	tc.podQueue.Add(tc.podInformer.KeyOf(p))
}

// nodeUpdated queues a node whose NoExecute taints changed (or that came or
// went).
func (tc *Controller) nodeUpdated(oldNode, newNode *v1.Node) {
	if oldNode != nil && newNode != nil &&
		apiequality.Semantic.DeepEqual(noExecuteTaints(oldNode.Spec.Taints), noExecuteTaints(newNode.Spec.Taints)) {
		return
	}
	n := newNode
	if n == nil {
		n = oldNode
	}
	tc.nodeQueue.Add(n.Name)
}

func noExecuteTaints(taints []v1.Taint) []v1.Taint {
	out := []v1.Taint{}
	for _, t := range taints {
		if t.Effect == v1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// handlePodUpdate (re)considers one pod against its node's NoExecute taints.
func (tc *Controller) handlePodUpdate(key string) error {
	pod, ok := tc.podInformer.ByKey(key)
	if !ok {
		tc.cancelWorkWithEvent(key, "the pod was deleted")
		return nil
	}
	if pod.Spec.NodeName == "" {
		return nil
	}
	node, err := tc.nodeLister.Get(pod.Spec.NodeName)
	if err != nil {
		// Node deleted (or never seen): nothing to decide; a running
		// countdown keeps running, as upstream.
		return nil
	}
	taints := noExecuteTaints(node.Spec.Taints)
	if len(taints) == 0 {
		return nil // the node handler cancelled what had to be
	}
	tc.processPodOnNode(key, pod.Spec.Tolerations, taints)
	return nil
}

// handleNodeUpdate (re)considers every pod of a node whose NoExecute taints
// changed.
func (tc *Controller) handleNodeUpdate(nodeName string) error {
	node, err := tc.nodeLister.Get(nodeName)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	taints := noExecuteTaints(node.Spec.Taints)
	pods, err := nodeutil.PodsAssignedToNode(tc.podInformer.GetIndexer(), nodeName)
	if err != nil {
		return err
	}
	for _, pod := range pods {
		key := pod.Namespace + "/" + pod.Name
		if len(taints) == 0 {
			tc.cancelWorkWithEvent(key, whyTaintsGone)
			continue
		}
		tc.processPodOnNode(key, pod.Spec.Tolerations, taints)
	}
	return nil
}

// processPodOnNode schedules, keeps or cancels the deletion of one pod
// (upstream processPodOnNode).
func (tc *Controller) processPodOnNode(key string, tolerations []v1.Toleration, taints []v1.Taint) {
	if len(taints) == 0 {
		tc.cancelWorkWithEvent(key, whyTaintsGone)
		return
	}
	now := tc.eng.Elapsed()
	allTolerated, used := GetMatchingTolerations(taints, tolerations)
	if !allTolerated {
		why := "not all NoExecute taints are tolerated: " + nodeutil.TaintsString(taints)
		tc.cancelWorkWithEvent(key, "superseded: "+why)
		tc.addWork(key, now, now, why)
		return
	}
	minToleration := GetMinTolerationTime(used)
	if minToleration < 0 {
		// Tolerated forever.
		tc.cancelWorkWithEvent(key, "the pod now tolerates the node's NoExecute taints for ever")
		return
	}
	fireAt := now + minToleration
	if w := tc.workers[key]; w != nil {
		if w.started {
			return // upstream sees a nil worker, and AddWork skips the key
		}
		// Upstream keeps a running countdown unless it was started at this
		// very instant for a later time; kubesim keeps it also when the
		// restarted one would fire at the same time.
		if w.createdAt < now || w.fireAt <= fireAt {
			return
		}
		tc.cancelWorkWithEvent(key, fmt.Sprintf("superseded: tolerationSeconds %d now", int64(minToleration/time.Second)))
	}
	tc.addWork(key, now, fireAt, fmt.Sprintf("tolerationSeconds %d for %s", int64(minToleration/time.Second), nodeutil.TaintsString(taints)))
}

// GetMatchingTolerations reports whether every taint is tolerated and
// returns, for each taint, the first toleration that tolerates it (upstream
// v1helper.GetMatchingTolerations).
func GetMatchingTolerations(taints []v1.Taint, tolerations []v1.Toleration) (bool, []v1.Toleration) {
	if len(taints) == 0 {
		return true, []v1.Toleration{}
	}
	if len(tolerations) == 0 {
		return false, []v1.Toleration{}
	}
	result := []v1.Toleration{}
	for i := range taints {
		tolerated := false
		for j := range tolerations {
			if tolerations[j].ToleratesTaint(discard, &taints[i], false) {
				result = append(result, tolerations[j])
				tolerated = true
				break
			}
		}
		if !tolerated {
			return false, []v1.Toleration{}
		}
	}
	return true, result
}

// GetMinTolerationTime returns the smallest tolerationSeconds of
// tolerations, 0 if one is <= 0 or there are none, and -1 if none sets it
// (tolerated forever).
func GetMinTolerationTime(tolerations []v1.Toleration) time.Duration {
	if len(tolerations) == 0 {
		return 0
	}
	minSeconds := int64(math.MaxInt64)
	for _, t := range tolerations {
		if t.TolerationSeconds != nil {
			if *t.TolerationSeconds <= 0 {
				return 0
			} else if *t.TolerationSeconds < minSeconds {
				minSeconds = *t.TolerationSeconds
			}
		}
	}
	if minSeconds == int64(math.MaxInt64) {
		return -1
	}
	return time.Duration(minSeconds) * time.Second
}

// addWork schedules the deletion of a pod at fireAt unless one is scheduled.
func (tc *Controller) addWork(key string, createdAt, fireAt time.Duration, why string) {
	if _, exists := tc.workers[key]; exists {
		return
	}
	w := &timedWorker{createdAt: createdAt, fireAt: fireAt, why: why, started: fireAt <= createdAt}
	w.timer = tc.eng.At(fireAt, Component+" evict "+key, func() { tc.fire(key, w) })
	tc.workers[key] = w
	if fireAt > createdAt && tc.eng.Tracing() {
		ns, name, _ := cache.SplitMetaNamespaceKey(key)
		tc.trace("evictionScheduled", ns, name, fmt.Sprintf("deletion at %s (%s)", fireAt, why))
	}
}

// whyTaintsGone is the evictionCancelled trace message when the node has no
// NoExecute taint left.
const whyTaintsGone = "the node lost its NoExecute taints"

// cancelWorkWithEvent cancels a pending deletion and records
// "Cancelling deletion of Pod ns/name" (upstream's Event says no more); the
// evictionCancelled trace record says why. A deletion started at once is
// only forgotten (upstream CancelWork on a nil worker): it still runs, and
// no event is recorded.
func (tc *Controller) cancelWorkWithEvent(key, why string) {
	w := tc.workers[key]
	if w == nil {
		return
	}
	delete(tc.workers, key)
	if w.started || !w.timer.Stop() {
		return
	}
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	tc.recorder.Eventf(podRef(ns, name), v1.EventTypeNormal, "TaintManagerEviction", "Cancelling deletion of Pod %s", key)
	tc.trace("evictionCancelled", ns, name, why)
}

func podRef(ns, name string) *v1.ObjectReference {
	return &v1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: name}
}

// fire runs a due deletion: event, DisruptionTarget condition, graceful
// DELETE.
func (tc *Controller) fire(key string, w *timedWorker) {
	if tc.workers[key] == w {
		delete(tc.workers, key)
	}
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	tc.recorder.Eventf(podRef(ns, name), v1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s", key)
	var err error
	for i := 0; i < retries; i++ {
		if err = tc.addConditionAndDeletePod(ns, name); err == nil || apierrors.IsNotFound(err) {
			break
		}
	}
	switch {
	case err == nil:
		tc.trace("evicted", ns, name, "deleted: "+w.why)
	case apierrors.IsNotFound(err):
	default:
		tc.trace("error", ns, name, "deleting pod: "+err.Error())
	}
}

func (tc *Controller) addConditionAndDeletePod(ns, name string) error {
	pods := tc.client.CoreV1().Pods(ns)
	pod, err := pods.Get(context.TODO(), name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	// The condition is observed at the generation just read
	// (apipod.CalculatePodConditionObservedGeneration).
	if nodeutil.UpdatePodCondition(&pod.Status, &v1.PodCondition{Type: v1.DisruptionTarget, ObservedGeneration: pod.Generation,
		Status: v1.ConditionTrue, Reason: "DeletionByTaintManager", Message: "Taint manager: deleting due to NoExecute taint"},
		metav1.NewTime(tc.eng.Now())) {
		if _, err := pods.UpdateStatus(context.TODO(), pod, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	return pods.Delete(context.TODO(), name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
}

// Countdown reports the pending deletion of the pod with key
// (namespace/name): when it fires and why (the tolerationSeconds and taints
// it counts down for).
func (tc *Controller) Countdown(key string) (fireAt time.Duration, why string, ok bool) {
	w := tc.workers[key]
	if w == nil || w.started {
		return 0, "", false
	}
	return w.fireAt, w.why, true
}

// Scheduled returns the pending deletions as pod key → engine time.
func (tc *Controller) Scheduled() map[string]time.Duration {
	out := make(map[string]time.Duration, len(tc.workers))
	for k, w := range tc.workers {
		out[k] = w.fireAt
	}
	return out
}
