package disruption

import (
	"context"
	"fmt"
	"time"

	apps "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	v1 "k8s.io/api/core/v1"
	policy "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	pdbhelper "k8s.io/component-helpers/apps/poddisruptionbudget"

	"github.com/kubesim/kubesim/controllers/nodeutil"
	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
)

// Component is the controller's name in traces.
const Component = "disruption-controller"

// EventSource is the source component of its events, as upstream.
const EventSource = "controllermanager"

const (
	// DeletionTimeout is how long a pod listed in disruptedPods may take to
	// be seen deleted before the entry is dropped.
	DeletionTimeout = 2 * time.Minute
	// stalePodDisruptionTimeout is how long a DisruptionTarget condition may
	// stay on a pod that is not being deleted.
	stalePodDisruptionTimeout = 2 * time.Minute
)

var (
	controllerKindRS  = apps.SchemeGroupVersion.WithKind("ReplicaSet")
	controllerKindDep = apps.SchemeGroupVersion.WithKind("Deployment")
)

// Controller is the disruption controller.
type Controller struct {
	eng      *sim.Engine
	client   client.Interface
	recorder record.EventRecorder

	pdbInformer informer.PDBInformer
	podInformer informer.PodInformer
	rsInformer  informer.ReplicaSetInformer
	dInformer   informer.DeploymentInformer
	pdbLister   policylisters.PodDisruptionBudgetLister
	podLister   corelisters.PodLister
	rsLister    appslisters.ReplicaSetLister
	dLister     appslisters.DeploymentLister

	queue      *informer.Queue[string]
	staleQueue *informer.Queue[string]
	// recheck holds one pending recheck per budget key, at its earliest time.
	recheck map[string]sim.Timer
}

type controllerAndScale struct {
	types.UID
	scale int32
}

type podControllerFinder func(ref *metav1.OwnerReference, namespace string) (*controllerAndScale, error)

// New creates the controller on the factory's shared informers.
func New(eng *sim.Engine, f *informer.Factory, c client.Interface, recorder record.EventRecorder) *Controller {
	dc := &Controller{eng: eng, client: c, recorder: recorder,
		pdbInformer: f.PodDisruptionBudgets(), podInformer: f.Pods(), rsInformer: f.ReplicaSets(), dInformer: f.Deployments(),
		recheck: map[string]sim.Timer{}}
	dc.pdbLister = dc.pdbInformer.Lister()
	dc.podLister = dc.podInformer.Lister()
	dc.rsLister = dc.rsInformer.Lister()
	dc.dLister = dc.dInformer.Lister()
	dc.queue = informer.NewQueue[string](eng, Component, informer.DefaultControllerRateLimiter[string](eng), dc.sync)
	dc.staleQueue = informer.NewQueue[string](eng, Component+" stale-disruption", informer.DefaultControllerRateLimiter[string](eng), dc.syncStalePodDisruption)

	dc.podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { dc.podChanged(obj.(*v1.Pod), true) },
		UpdateFunc: func(_, cur any) { dc.podChanged(cur.(*v1.Pod), true) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*v1.Pod); ok {
				dc.podChanged(p, false)
			}
		},
	})
	enqueue := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if pdb, ok := obj.(*policy.PodDisruptionBudget); ok {
			dc.queue.Add(pdb.Namespace + "/" + pdb.Name)
		}
	}
	dc.pdbInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, cur any) { enqueue(cur) }, DeleteFunc: enqueue,
	})
	return dc
}

func (dc *Controller) trace(verb, ns, name, msg string) {
	dc.eng.Trace(sim.Record{Component: Component, Verb: verb, Kind: "PodDisruptionBudget", Namespace: ns, Name: name, Msg: msg})
}

// podChanged queues the pod's budget, and the pod itself when it carries a
// stale DisruptionTarget condition.
func (dc *Controller) podChanged(pod *v1.Pod, live bool) {
	if pdb := dc.getPdbForPod(pod); pdb != nil {
		dc.queue.Add(pdb.Namespace + "/" + pdb.Name)
	}
	if !live {
		return
	}
	if has, cleanAfter := dc.nonTerminatingPodHasStaleDisruptionCondition(pod); has {
		dc.staleQueue.AddAfter(pod.Namespace+"/"+pod.Name, cleanAfter)
	}
}

// getPdbForPod returns the first budget selecting the pod (warning when
// several do).
func (dc *Controller) getPdbForPod(pod *v1.Pod) *policy.PodDisruptionBudget {
	if dc.pdbInformer.GetIndexer().(*informer.Indexer).IndexLen(cache.NamespaceIndex, pod.Namespace) == 0 {
		return nil // what the lister answers, without listing and formatting its error
	}
	pdbs, err := dc.pdbLister.GetPodPodDisruptionBudgets(pod)
	if err != nil || len(pdbs) == 0 {
		return nil
	}
	if len(pdbs) > 1 {
		msg := fmt.Sprintf("Pod %q/%q matches multiple PodDisruptionBudgets.  Chose %q arbitrarily.", pod.Namespace, pod.Name, pdbs[0].Name)
		dc.recorder.Event(pod, v1.EventTypeWarning, "MultiplePodDisruptionBudgets", msg)
	}
	return pdbs[0]
}

func (dc *Controller) getPodsForPdb(pdb *policy.PodDisruptionBudget) ([]*v1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		return nil, err
	}
	return dc.podLister.Pods(pdb.Namespace).List(sel)
}

// sync is the budget work queue's sync.
func (dc *Controller) sync(key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	pdb, err := dc.pdbLister.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	err = dc.trySync(pdb)
	if apierrors.IsConflict(err) {
		return err
	}
	if err != nil {
		dc.trace("syncFailed", ns, name, err.Error())
		return dc.failSafe(pdb, err)
	}
	return nil
}

func (dc *Controller) trySync(pdb *policy.PodDisruptionBudget) error {
	pods, err := dc.getPodsForPdb(pdb)
	dc.queue.Charge(informer.SyncCost(len(pods)))
	if err != nil {
		dc.recorder.Eventf(pdb, v1.EventTypeWarning, "NoPods", "Failed to get pods: %v", err)
		return err
	}
	if len(pods) == 0 {
		dc.recorder.Eventf(pdb, v1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	expectedCount, desiredHealthy, unmanagedPods, err := dc.getExpectedPodCount(pdb, pods)
	if err != nil {
		dc.recorder.Eventf(pdb, v1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return err
	}
	if len(unmanagedPods) > 0 {
		dc.recorder.Eventf(pdb, v1.EventTypeWarning, "UnmanagedPods", "Pods selected by this PodDisruptionBudget (selector: %v) were found "+
			"to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
			"To account for these pods please set \".spec.minAvailable\" "+
			"field of the PDB to an integer value.", pdb.Spec.Selector)
	}
	now := dc.eng.Now()
	disruptedPods, recheckTime := dc.buildDisruptedPodMap(pods, pdb, now)
	currentHealthy := countHealthyPods(pods, disruptedPods, now)
	err = dc.updatePdbStatus(pdb, currentHealthy, desiredHealthy, expectedCount, disruptedPods)
	if err == nil && recheckTime != nil {
		dc.enqueueForRecheck(pdb.Namespace+"/"+pdb.Name, recheckTime.Sub(now))
	}
	return err
}

// enqueueForRecheck syncs the budget again after delay (through the rate
// limiter, as upstream's recheck worker does).
func (dc *Controller) enqueueForRecheck(key string, delay time.Duration) {
	at := dc.eng.Elapsed() + delay
	if t, ok := dc.recheck[key]; ok {
		if when, pending := t.When(); pending && when <= at {
			return
		}
		t.Stop()
	}
	dc.recheck[key] = dc.eng.At(at, Component+" recheck", func() {
		delete(dc.recheck, key)
		dc.queue.AddRateLimited(key)
	})
}

// getExpectedPodCount is upstream's getExpectedPodCount.
func (dc *Controller) getExpectedPodCount(pdb *policy.PodDisruptionBudget, pods []*v1.Pod) (expectedCount, desiredHealthy int32, unmanagedPods []string, err error) {
	if pdb.Spec.MaxUnavailable != nil {
		expectedCount, unmanagedPods, err = dc.getExpectedScale(pdb, pods)
		if err != nil {
			return
		}
		var maxUnavailable int
		maxUnavailable, err = intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(expectedCount), true)
		if err != nil {
			return
		}
		desiredHealthy = max(expectedCount-int32(maxUnavailable), 0)
	} else if pdb.Spec.MinAvailable != nil {
		if pdb.Spec.MinAvailable.Type == intstr.Int {
			desiredHealthy = pdb.Spec.MinAvailable.IntVal
			expectedCount = int32(len(pods))
		} else if pdb.Spec.MinAvailable.Type == intstr.String {
			expectedCount, unmanagedPods, err = dc.getExpectedScale(pdb, pods)
			if err != nil {
				return
			}
			var minAvailable int
			minAvailable, err = intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(expectedCount), true)
			if err != nil {
				return
			}
			desiredHealthy = int32(minAvailable)
		}
	}
	return
}

// getExpectedScale sums the scales of the selected pods' controllers.
func (dc *Controller) getExpectedScale(pdb *policy.PodDisruptionBudget, pods []*v1.Pod) (expectedCount int32, unmanagedPods []string, err error) {
	controllerScale := map[types.UID]int32{}
	finders := []podControllerFinder{dc.getPodDeployment, dc.getPodReplicaSet, dc.getScaleController}
	for _, pod := range pods {
		ref := metav1.GetControllerOf(pod)
		if ref == nil {
			unmanagedPods = append(unmanagedPods, pod.Name)
			continue
		}
		if _, found := controllerScale[ref.UID]; found {
			continue
		}
		found := false
		for _, finder := range finders {
			var cas *controllerAndScale
			if cas, err = finder(ref, pod.Namespace); err != nil {
				return
			}
			if cas != nil {
				controllerScale[cas.UID] = cas.scale
				found = true
				break
			}
		}
		if !found {
			err = fmt.Errorf("found no controllers for pod %q", pod.Name)
			return
		}
	}
	for _, n := range controllerScale {
		expectedCount += n
	}
	return
}

func verifyGroupKind(ref *metav1.OwnerReference, expectedKind string, expectedGroups []string) (bool, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false, err
	}
	if ref.Kind != expectedKind {
		return false, nil
	}
	for _, g := range expectedGroups {
		if g == gv.Group {
			return true, nil
		}
	}
	return false, nil
}

// getPodReplicaSet finds a ReplicaSet not controlled by a Deployment.
func (dc *Controller) getPodReplicaSet(ref *metav1.OwnerReference, namespace string) (*controllerAndScale, error) {
	ok, err := verifyGroupKind(ref, controllerKindRS.Kind, []string{"apps", "extensions"})
	if !ok || err != nil {
		return nil, err
	}
	rs, err := dc.rsLister.ReplicaSets(namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil, nil
	}
	if c := metav1.GetControllerOf(rs); c != nil && c.Kind == controllerKindDep.Kind {
		return nil, nil
	}
	return &controllerAndScale{rs.UID, replicas(rs.Spec.Replicas)}, nil
}

// getPodDeployment finds the Deployment of a pod's ReplicaSet.
func (dc *Controller) getPodDeployment(ref *metav1.OwnerReference, namespace string) (*controllerAndScale, error) {
	ok, err := verifyGroupKind(ref, controllerKindRS.Kind, []string{"apps", "extensions"})
	if !ok || err != nil {
		return nil, err
	}
	rs, err := dc.rsLister.ReplicaSets(namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil, nil
	}
	dref := metav1.GetControllerOf(rs)
	if dref == nil {
		return nil, nil
	}
	ok, err = verifyGroupKind(dref, controllerKindDep.Kind, []string{"apps", "extensions"})
	if !ok || err != nil {
		return nil, err
	}
	d, err := dc.dLister.Deployments(rs.Namespace).Get(dref.Name)
	if err != nil || d.UID != dref.UID {
		return nil, nil
	}
	return &controllerAndScale{d.UID, replicas(d.Spec.Replicas)}, nil
}

// getScaleController reads the scale subresource of the pod's controller.
// kubesim serves /scale for Deployments and ReplicaSets only; any other kind
// fails as an unknown kind fails upstream's REST mapping.
func (dc *Controller) getScaleController(ref *metav1.OwnerReference, namespace string) (*controllerAndScale, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, err
	}
	var get func(ctx context.Context, name string, opts metav1.GetOptions) (*autoscalingv1.Scale, error)
	switch {
	case gv.Group == "apps" && ref.Kind == "Deployment":
		get = dc.client.AppsV1().Deployments(namespace).GetScale
	case gv.Group == "apps" && ref.Kind == "ReplicaSet":
		get = dc.client.AppsV1().ReplicaSets(namespace).GetScale
	default:
		return nil, fmt.Errorf("no matches for kind %q in version %q", ref.Kind, ref.APIVersion)
	}
	sc, err := get(context.TODO(), ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if sc.UID != ref.UID {
		return nil, nil
	}
	return &controllerAndScale{sc.UID, sc.Spec.Replicas}, nil
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// countHealthyPods counts Ready pods that are neither being deleted nor
// recently disrupted.
func countHealthyPods(pods []*v1.Pod, disruptedPods map[string]metav1.Time, now time.Time) (currentHealthy int32) {
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if t, found := disruptedPods[pod.Name]; found && t.Time.Add(DeletionTimeout).After(now) {
			continue
		}
		if podutil.IsPodReady(pod) {
			currentHealthy++
		}
	}
	return
}

// buildDisruptedPodMap keeps the disruptedPods entries of pods that exist,
// are not being deleted yet and are within DeletionTimeout, and returns when
// the earliest of them expires.
func (dc *Controller) buildDisruptedPodMap(pods []*v1.Pod, pdb *policy.PodDisruptionBudget, now time.Time) (map[string]metav1.Time, *time.Time) {
	disrupted := pdb.Status.DisruptedPods
	result := map[string]metav1.Time{}
	var recheck *time.Time
	if disrupted == nil {
		return result, nil
	}
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		t, found := disrupted[pod.Name]
		if !found {
			continue
		}
		expected := t.Time.Add(DeletionTimeout)
		if expected.Before(now) {
			dc.recorder.Eventf(pod, v1.EventTypeWarning, "NotDeleted", "Pod was expected by PDB %s/%s to be deleted but it wasn't", pdb.Namespace, pdb.Name)
			continue
		}
		if recheck == nil || expected.Before(*recheck) {
			e := expected
			recheck = &e
		}
		result[pod.Name] = t
	}
	return result, recheck
}

// failSafe sets disruptionsAllowed to 0 with a SyncFailed condition.
func (dc *Controller) failSafe(pdb *policy.PodDisruptionBudget, syncErr error) error {
	newPdb := pdb.DeepCopy()
	newPdb.Status.DisruptionsAllowed = 0
	if newPdb.Status.Conditions == nil {
		newPdb.Status.Conditions = []metav1.Condition{}
	}
	apimeta.SetStatusCondition(&newPdb.Status.Conditions, metav1.Condition{Type: policy.DisruptionAllowedCondition,
		Status: metav1.ConditionFalse, Reason: policy.SyncFailedReason, Message: syncErr.Error(),
		ObservedGeneration: newPdb.Status.ObservedGeneration, LastTransitionTime: metav1.NewTime(dc.eng.Now())})
	_, err := dc.client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(context.TODO(), newPdb, metav1.UpdateOptions{})
	return err
}

// updatePdbStatus writes the new status unless nothing changed.
func (dc *Controller) updatePdbStatus(pdb *policy.PodDisruptionBudget, currentHealthy, desiredHealthy, expectedCount int32, disruptedPods map[string]metav1.Time) error {
	disruptionsAllowed := currentHealthy - desiredHealthy
	if expectedCount <= 0 || disruptionsAllowed <= 0 {
		disruptionsAllowed = 0
	}
	st := pdb.Status
	if st.CurrentHealthy == currentHealthy && st.DesiredHealthy == desiredHealthy && st.ExpectedPods == expectedCount &&
		st.DisruptionsAllowed == disruptionsAllowed && apiequality.Semantic.DeepEqual(st.DisruptedPods, disruptedPods) &&
		st.ObservedGeneration == pdb.Generation && pdbhelper.ConditionsAreUpToDate(pdb) {
		return nil
	}
	newPdb := pdb.DeepCopy()
	newPdb.Status = policy.PodDisruptionBudgetStatus{
		CurrentHealthy: currentHealthy, DesiredHealthy: desiredHealthy, ExpectedPods: expectedCount,
		DisruptionsAllowed: disruptionsAllowed, DisruptedPods: disruptedPods, ObservedGeneration: pdb.Generation,
		Conditions: newPdb.Status.Conditions,
	}
	updateDisruptionAllowedCondition(newPdb, metav1.NewTime(dc.eng.Now()))
	if _, err := dc.client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(context.TODO(), newPdb, metav1.UpdateOptions{}); err != nil {
		return err
	}
	if dc.eng.Tracing() {
		dc.trace("statusUpdated", pdb.Namespace, pdb.Name, fmt.Sprintf("disruptionsAllowed=%d currentHealthy=%d desiredHealthy=%d expectedPods=%d",
			disruptionsAllowed, currentHealthy, desiredHealthy, expectedCount))
	}
	return nil
}

// updateDisruptionAllowedCondition is pdbhelper.UpdateDisruptionAllowedCondition
// with the transition time taken from the engine (the helper leaves it to
// apimeta.SetStatusCondition, which reads the wall clock).
func updateDisruptionAllowedCondition(pdb *policy.PodDisruptionBudget, now metav1.Time) {
	want := metav1.Condition{Type: policy.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
		Reason: policy.InsufficientPodsReason, ObservedGeneration: pdb.Status.ObservedGeneration, LastTransitionTime: now}
	if pdb.Status.DisruptionsAllowed > 0 {
		want.Status, want.Reason = metav1.ConditionTrue, policy.SufficientPodsReason
	}
	if old := apimeta.FindStatusCondition(pdb.Status.Conditions, policy.DisruptionAllowedCondition); old != nil && old.Status == want.Status {
		want.LastTransitionTime = old.LastTransitionTime
	}
	if pdb.Status.Conditions == nil {
		pdb.Status.Conditions = []metav1.Condition{}
	}
	apimeta.SetStatusCondition(&pdb.Status.Conditions, want)
}

// nonTerminatingPodHasStaleDisruptionCondition reports whether the pod
// carries a DisruptionTarget=True condition without being deleted, and how
// long until it counts as stale.
func (dc *Controller) nonTerminatingPodHasStaleDisruptionCondition(pod *v1.Pod) (bool, time.Duration) {
	if pod.DeletionTimestamp != nil {
		return false, 0
	}
	_, cond := podutil.GetPodCondition(&pod.Status, v1.DisruptionTarget)
	if cond == nil || cond.Status != v1.ConditionTrue || cond.Reason == v1.PodReasonTerminationByKubelet || podutil.IsPodTerminal(pod) {
		return false, 0
	}
	return true, max(stalePodDisruptionTimeout-dc.eng.Since(cond.LastTransitionTime.Time), 0)
}

// syncStalePodDisruption resets a stale DisruptionTarget condition to False.
func (dc *Controller) syncStalePodDisruption(key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := dc.podLister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	has, cleanAfter := dc.nonTerminatingPodHasStaleDisruptionCondition(pod)
	if !has {
		return nil
	}
	if cleanAfter > 0 {
		dc.staleQueue.AddAfter(key, cleanAfter)
		return nil
	}
	newPod := pod.DeepCopy()
	if !nodeutil.UpdatePodCondition(&newPod.Status, &v1.PodCondition{Type: v1.DisruptionTarget, ObservedGeneration: newPod.Generation,
		Status: v1.ConditionFalse}, metav1.NewTime(dc.eng.Now())) {
		return nil
	}
	if _, err := dc.client.CoreV1().Pods(ns).UpdateStatus(context.TODO(), newPod, metav1.UpdateOptions{}); err != nil {
		return err
	}
	dc.eng.Trace(sim.Record{Component: Component, Verb: "staleDisruptionCleared", Kind: "Pod", Namespace: ns, Name: name,
		Msg: "DisruptionTarget set to False: the pod was not deleted within 2m"})
	return nil
}
