package podautoscaler

import (
	"context"
	"fmt"
	"sort"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
)

// ComponentName is the controller's name in events, traces and API writes.
const ComponentName = "horizontal-pod-autoscaler"

// Config holds the kube-controller-manager HPA flags.
type Config struct {
	// SyncPeriod is --horizontal-pod-autoscaler-sync-period (15 s).
	SyncPeriod time.Duration
	// Tolerance is --horizontal-pod-autoscaler-tolerance (0.1).
	Tolerance float64
	// DownscaleStabilization is --horizontal-pod-autoscaler-downscale-stabilization (5 min).
	DownscaleStabilization time.Duration
	// CPUInitializationPeriod is --horizontal-pod-autoscaler-cpu-initialization-period (5 min).
	CPUInitializationPeriod time.Duration
	// InitialReadinessDelay is --horizontal-pod-autoscaler-initial-readiness-delay (30 s).
	InitialReadinessDelay time.Duration
}

// DefaultConfig returns upstream's defaults.
func DefaultConfig() Config {
	return Config{
		SyncPeriod:              DefaultSyncPeriod,
		Tolerance:               DefaultTolerance,
		DownscaleStabilization:  DefaultDownscaleStabilisationWindow,
		CPUInitializationPeriod: DefaultCPUInitializationPeriod,
		InitialReadinessDelay:   DefaultDelayOfInitialReadinessStatus,
	}
}

// FixedIntervalRateLimiter makes every requeue wait the same interval
// (upstream's FixedItemIntervalRateLimiter behind NewDefaultHPARateLimiter):
// the HPA queue uses it so each HPA is reconciled once per sync period.
type FixedIntervalRateLimiter struct{ interval time.Duration }

// When implements informer.RateLimiter.
func (r FixedIntervalRateLimiter) When(string) time.Duration { return r.interval }

// Forget implements informer.RateLimiter.
func (r FixedIntervalRateLimiter) Forget(string) {}

// NumRequeues implements informer.RateLimiter.
func (r FixedIntervalRateLimiter) NumRequeues(string) int { return 1 }

// Controller is upstream's HorizontalController: a handler on the shared
// HPA informer that only enqueues keys — always with the sync-period delay,
// so a new HPA is first reconciled one period after it appears — and a
// queue whose sync reads the target's /scale, the pods from the informer
// and the metrics through a MetricsClient, runs Autoscaler.Reconcile, and
// writes /scale and the HPA status. Every processed key is requeued after
// the sync period: each HPA is reconciled every SyncPeriod.
type Controller struct {
	eng        *sim.Engine
	client     client.Interface
	recorder   record.EventRecorder
	hpaLister  autoscalinglisters.HorizontalPodAutoscalerLister
	podLister  corelisters.PodLister
	queue      *informer.Queue[string]
	autoscaler *Autoscaler
	metrics    MetricsClient
	// selectors holds each known HPA's last selector (labels.Nothing until
	// its first reconcile), to detect pods claimed by several HPAs.
	selectors map[string]labels.Selector
}

// NewController creates the controller and registers its handlers on the
// factory's HPA informer (call before the factory starts). Zero fields of
// cfg take their defaults.
func NewController(eng *sim.Engine, f *informer.Factory, cl client.Interface, recorder record.EventRecorder, metrics MetricsClient, cfg Config) *Controller {
	def := DefaultConfig()
	if cfg.SyncPeriod <= 0 {
		cfg.SyncPeriod = def.SyncPeriod
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = def.Tolerance
	}
	if cfg.DownscaleStabilization <= 0 {
		cfg.DownscaleStabilization = def.DownscaleStabilization
	}
	if cfg.CPUInitializationPeriod <= 0 {
		cfg.CPUInitializationPeriod = def.CPUInitializationPeriod
	}
	if cfg.InitialReadinessDelay <= 0 {
		cfg.InitialReadinessDelay = def.InitialReadinessDelay
	}
	as := NewAutoscaler()
	as.DownscaleStabilisationWindow = cfg.DownscaleStabilization
	as.Calc = &ReplicaCalculator{Tolerance: cfg.Tolerance, CPUInitializationPeriod: cfg.CPUInitializationPeriod, DelayOfInitialReadinessStatus: cfg.InitialReadinessDelay}
	hpaInformer := f.HorizontalPodAutoscalers()
	a := &Controller{
		eng:        eng,
		client:     cl,
		recorder:   recorder,
		hpaLister:  hpaInformer.Lister(),
		podLister:  f.Pods().Lister(),
		autoscaler: as,
		metrics:    metrics,
		selectors:  map[string]labels.Selector{},
	}
	a.queue = informer.NewQueue[string](eng, "horizontalpodautoscaler", FixedIntervalRateLimiter{cfg.SyncPeriod}, a.processKey)
	hpaInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    a.enqueueHPA,
		UpdateFunc: func(_, cur any) { a.enqueueHPA(cur) },
		DeleteFunc: a.deleteHPA,
	})
	return a
}

// Queue is the controller's work queue (for tests and the UI).
func (a *Controller) Queue() *informer.Queue[string] { return a.queue }

// Autoscaler is the controller's decision state (recommendations and
// scale events per HPA).
func (a *Controller) Autoscaler() *Autoscaler { return a.autoscaler }

// enqueueHPA queues the HPA after the sync period; an earlier pending
// request wins, so status writes do not shift the HPA's sync grid.
func (a *Controller) enqueueHPA(obj any) {
	key, err := cache.MetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	a.queue.AddRateLimited(key)
	if _, ok := a.selectors[key]; !ok {
		a.selectors[key] = labels.Nothing()
	}
}

func (a *Controller) deleteHPA(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	a.queue.Forget(key)
	delete(a.selectors, key)
}

// processKey reconciles one HPA and requeues it after the sync period
// unless it is gone. Errors are reported (trace and events), not retried
// sooner: the next period retries.
func (a *Controller) processKey(key string) error {
	deleted, err := a.reconcileKey(key)
	if err != nil {
		ns, name, _ := cache.SplitMetaNamespaceKey(key)
		a.trace("reconcileFailed", ns, name, err.Error())
	}
	if !deleted {
		a.queue.AddRateLimited(key)
	}
	return nil
}

func (a *Controller) reconcileKey(key string) (deleted bool, err error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return true, err
	}
	hpa, err := a.hpaLister.HorizontalPodAutoscalers(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		a.autoscaler.Forget(key)
		delete(a.selectors, key)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, a.reconcileAutoscaler(hpa, key)
}

// reconcileAutoscaler is upstream's reconcileAutoscaler around
// Autoscaler.Reconcile: the /scale read (FailedGetScale), the selector
// checks, the pods, the /scale write and the status write.
func (a *Controller) reconcileAutoscaler(hpaShared *autoscalingv2.HorizontalPodAutoscaler, key string) error {
	now := a.eng.Now()
	ref := hpaShared.Spec.ScaleTargetRef
	reference := fmt.Sprintf("%s/%s/%s", ref.Kind, hpaShared.Namespace, ref.Name)

	scale, scales, err := a.getScale(hpaShared.Namespace, ref, reference)
	if err != nil {
		hpa := hpaShared.DeepCopy()
		a.recorder.Event(hpa, v1.EventTypeWarning, "FailedGetScale", err.cause.Error())
		setCondition(hpa, autoscalingv2.AbleToScale, v1.ConditionFalse, "FailedGetScale", fmt.Sprintf("the HPA controller was unable to get the target's current scale: %v", err.cause), now)
		if uerr := a.updateStatusIfNeeded(&hpaShared.Status, hpa); uerr != nil {
			return uerr
		}
		return err
	}

	target := ScaleTarget{SpecReplicas: scale.Spec.Replicas, StatusReplicas: scale.Status.Replicas}
	var pods []*v1.Pod
	if ComputesMetrics(hpaShared, scale.Spec.Replicas) {
		// Upstream checks (and registers) the selector only on the way to
		// the metrics.
		target.Selector, pods, target.SelectorError = a.validateAndParseSelector(hpaShared, key, scale.Status.Selector)
	}

	updateScale := func(replicas int32) error {
		s := scale.DeepCopy()
		s.Spec.Replicas = replicas
		_, err := scales.UpdateScale(context.TODO(), s.Name, s, metav1.UpdateOptions{})
		return err
	}
	res, recErr := a.autoscaler.Reconcile(key, hpaShared, target, a.metrics, pods, updateScale, now)
	for _, ev := range res.Events {
		a.recorder.Event(res.HPA, ev.Type, ev.Reason, ev.Message)
	}
	if res.Rescaled {
		a.trace("scaled", hpaShared.Namespace, hpaShared.Name, fmt.Sprintf("%s from %d to %d (%s)", reference, target.SpecReplicas, res.DesiredReplicas, lastMessage(res.Events, "SuccessfulRescale")))
	}
	if err := a.updateStatusIfNeeded(&hpaShared.Status, res.HPA); err != nil {
		return err
	}
	return recErr
}

func lastMessage(events []Event, reason string) string {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Reason == reason {
			return events[i].Message
		}
	}
	return ""
}

// scaleClient is the /scale half of a typed Deployments or ReplicaSets client.
type scaleClient interface {
	GetScale(ctx context.Context, name string, opts metav1.GetOptions) (*autoscalingv1.Scale, error)
	UpdateScale(ctx context.Context, name string, scale *autoscalingv1.Scale, opts metav1.UpdateOptions) (*autoscalingv1.Scale, error)
}

// getScaleError is a failure to read the target's /scale: the event and
// the AbleToScale condition carry cause, the returned error names the step
// (upstream reconcileAutoscaler).
type getScaleError struct {
	step  string
	cause error
}

func (e *getScaleError) Error() string { return fmt.Sprintf("%s: %v", e.step, e.cause) }

// getScale reads the target's /scale. kubesim serves /scale for
// apps/v1 Deployments and ReplicaSets; another kind is what upstream's
// REST mapper reports for a kind the API server does not serve.
func (a *Controller) getScale(namespace string, ref autoscalingv2.CrossVersionObjectReference, reference string) (*autoscalingv1.Scale, scaleClient, *getScaleError) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, nil, &getScaleError{"invalid API version in scale target reference", err}
	}
	var sc scaleClient
	switch {
	case gv.Group == "apps" && ref.Kind == "Deployment":
		sc = a.client.AppsV1().Deployments(namespace)
	case gv.Group == "apps" && ref.Kind == "ReplicaSet":
		sc = a.client.AppsV1().ReplicaSets(namespace)
	default:
		return nil, nil, &getScaleError{"unable to determine resource for scale target reference",
			fmt.Errorf("no matches for kind %q in group %q (kubesim scales apps/v1 Deployments and ReplicaSets)", ref.Kind, gv.Group)}
	}
	scale, err := sc.GetScale(context.TODO(), ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, nil, &getScaleError{"failed to query scale subresource for " + reference, err}
	}
	return scale, sc, nil
}

// validateAndParseSelector is upstream's check of scale.status.selector:
// present, parsable, and its pods not selected by another HPA's selector.
// It returns the selector, the pods it selects, or the failure.
func (a *Controller) validateAndParseSelector(hpa *autoscalingv2.HorizontalPodAutoscaler, key, selector string) (labels.Selector, []*v1.Pod, *SelectorError) {
	if selector == "" {
		return nil, nil, &SelectorError{EventReason: "SelectorRequired", ConditionReason: "InvalidSelector",
			ConditionMessage: "the HPA target's scale is missing a selector", Err: fmt.Errorf("selector is required")}
	}
	parsed, err := labels.Parse(selector)
	if err != nil {
		msg := fmt.Sprintf("couldn't convert selector into a corresponding internal selector object: %v", err)
		return nil, nil, &SelectorError{EventReason: "InvalidSelector", ConditionReason: "InvalidSelector", ConditionMessage: msg, Err: fmt.Errorf("%s", msg)}
	}
	if _, ok := a.selectors[key]; ok {
		a.selectors[key] = parsed
	}
	pods, err := a.podLister.Pods(hpa.Namespace).List(parsed)
	if err != nil {
		return nil, nil, &SelectorError{EventReason: "InvalidSelector", ConditionReason: "InvalidSelector", ConditionMessage: err.Error(), Err: err}
	}
	if selecting := a.hpasControllingPods(pods); len(selecting) > 1 {
		msg := fmt.Sprintf("pods by selector %v are controlled by multiple HPAs: %v", selector, selecting)
		return nil, nil, &SelectorError{EventReason: "AmbiguousSelector", ConditionReason: "AmbiguousSelector", ConditionMessage: msg, Err: fmt.Errorf("%s", msg)}
	}
	return parsed, pods, nil
}

// hpasControllingPods returns the keys of the HPAs whose last selector
// matches any of pods, sorted.
func (a *Controller) hpasControllingPods(pods []*v1.Pod) []string {
	keys := make([]string, 0, len(a.selectors))
	for k := range a.selectors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		ns, _, _ := cache.SplitMetaNamespaceKey(k)
		sel := a.selectors[k]
		for _, p := range pods {
			if p.Namespace == ns && sel.Matches(labels.Set(p.Labels)) {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// updateStatusIfNeeded writes hpa's status when it differs from old.
func (a *Controller) updateStatusIfNeeded(old *autoscalingv2.HorizontalPodAutoscalerStatus, hpa *autoscalingv2.HorizontalPodAutoscaler) error {
	if apiequality.Semantic.DeepEqual(old, &hpa.Status) {
		return nil
	}
	if _, err := a.client.AutoscalingV2().HorizontalPodAutoscalers(hpa.Namespace).UpdateStatus(context.TODO(), hpa, metav1.UpdateOptions{}); err != nil {
		a.recorder.Event(hpa, v1.EventTypeWarning, "FailedUpdateStatus", err.Error())
		return fmt.Errorf("failed to update status for %s: %v", hpa.Name, err)
	}
	return nil
}

func (a *Controller) trace(verb, namespace, name, msg string) {
	if !a.eng.Tracing() {
		return
	}
	a.eng.Trace(sim.Record{Component: ComponentName, Verb: verb, Kind: "HorizontalPodAutoscaler", Namespace: namespace, Name: name, Msg: msg})
}
