package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	esrec "github.com/kubesim/kubesim/netsim/endpointslice"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
)

// Names of the controller, as kube-controller-manager uses them.
const (
	// Name is the controller's name and the user it writes as.
	Name = "endpointslice-controller"
	// EventSource is the component of the events it records.
	EventSource = "endpoint-slice-controller"
)

// Upstream's constants (pkg/controller/endpointslice/endpointslice_controller.go).
const (
	// maxRetries is how many failed syncs of one Service are retried
	// before it is dropped from the queue (until its next change).
	maxRetries = 15
	// sliceChangeMinSyncDelay delays the sync an EndpointSlice change
	// triggers, batching changes to several slices.
	sliceChangeMinSyncDelay = time.Second
	// syncBackOffBase and syncBackOffMax bound the per-Service retry
	// backoff (1 s doubling to 1000 s), a larger base than the default
	// controller rate limiter's 5 ms.
	syncBackOffBase = time.Second
	syncBackOffMax  = 1000 * time.Second
)

// Config holds the controller's kube-controller-manager flags.
type Config struct {
	// MaxEndpointsPerSlice is --max-endpoints-per-slice (1-1000); 0 means
	// 100.
	MaxEndpointsPerSlice int
	// UpdatesBatchPeriod is --endpointslice-updates-batch-period: the delay
	// of syncs triggered by pod changes (default 0). The sync after an
	// EndpointSlice change waits max(1 s, UpdatesBatchPeriod).
	UpdatesBatchPeriod time.Duration
}

// Controller is the EndpointSlice controller. See the package
// documentation.
type Controller struct {
	eng    *sim.Engine
	client client.Interface
	rec    record.EventRecorder
	cfg    Config
	recon  esrec.Reconciler

	services informer.ServiceInformer
	pods     informer.PodInformer
	nodes    informer.NodeInformer
	epSlices informer.EndpointSliceInformer
	queue    *informer.Queue[string]
	tracker  *sliceTracker
	triggers *triggerTimes
}

// New creates the controller and registers its event handlers on the
// factory's informers (start the factory afterwards, or before: handlers
// added later receive the cached objects). Writes go through c as Name;
// events are recorded through rec.
func New(eng *sim.Engine, c client.Interface, rec record.EventRecorder, f *informer.Factory, cfg Config) (*Controller, error) {
	if cfg.MaxEndpointsPerSlice == 0 {
		cfg.MaxEndpointsPerSlice = esrec.DefaultMaxEndpointsPerSlice
	}
	if cfg.MaxEndpointsPerSlice < 1 || cfg.MaxEndpointsPerSlice > 1000 {
		return nil, fmt.Errorf("maxEndpointsPerSlice: %d must be between 1 and 1000", cfg.MaxEndpointsPerSlice)
	}
	if cfg.UpdatesBatchPeriod < 0 {
		return nil, fmt.Errorf("endpointUpdatesBatchPeriod: %v must not be negative", cfg.UpdatesBatchPeriod)
	}
	ctl := &Controller{
		eng: eng, client: c, rec: rec, cfg: cfg,
		recon:    esrec.Reconciler{MaxEndpointsPerSlice: cfg.MaxEndpointsPerSlice, ControllerName: esrec.ControllerName},
		services: f.Services(), pods: f.Pods(), nodes: f.Nodes(), epSlices: f.EndpointSlices(),
		tracker: newSliceTracker(), triggers: newTriggerTimes(),
	}
	rl := informer.NewMaxOfRateLimiter[string](
		informer.NewExponentialFailureRateLimiter[string](syncBackOffBase, syncBackOffMax),
		informer.NewBucketRateLimiter[string](eng, 10, 100),
	)
	ctl.queue = informer.NewQueue[string](eng, Name, rl, ctl.process)

	ctl.services.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    ctl.onService,
		UpdateFunc: func(_, cur any) { ctl.onService(cur) },
		DeleteFunc: ctl.onService,
	})
	ctl.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { ctl.onPodChange(nil, podOf(obj)) },
		UpdateFunc: func(old, cur any) { ctl.onPodChange(podOf(old), podOf(cur)) },
		DeleteFunc: func(obj any) { ctl.onPodChange(nil, podOf(obj)) },
	})
	ctl.epSlices.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    ctl.onSliceAdd,
		UpdateFunc: ctl.onSliceUpdate,
		DeleteFunc: ctl.onSliceDelete,
	})
	return ctl, nil
}

// Queue is the controller's work queue of Service keys.
func (c *Controller) Queue() *informer.Queue[string] { return c.queue }

// ---- event handlers: they only enqueue Service keys ----

func (c *Controller) onService(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

func podOf(obj any) *v1.Pod {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, _ := obj.(*v1.Pod)
	return p
}

// onPodChange enqueues the Services a pod change may affect, as upstream's
// GetPodUpdateProjectionKey + GetServicesToUpdate: an add or delete (old
// nil) concerns the Services selecting the pod; an update only when its
// labels, hostname/subdomain, deletion, readiness or IPs changed or it is
// terminating, and then the Services selecting its new labels, plus those
// selecting its old ones when the labels changed (all of them if the pod
// changed too, else the symmetric difference).
func (c *Controller) onPodChange(old, cur *v1.Pod) {
	if cur == nil {
		return
	}
	var keys []string
	if old == nil {
		keys = c.servicesSelecting(cur.Namespace, cur.Labels)
	} else {
		if old.ResourceVersion == cur.ResourceVersion {
			return
		}
		podChanged, labelsChanged := podEndpointsChanged(old, cur)
		switch {
		case !podChanged && !labelsChanged:
			return
		case !labelsChanged:
			keys = c.servicesSelecting(cur.Namespace, cur.Labels)
		default:
			now := c.servicesSelecting(cur.Namespace, cur.Labels)
			before := c.servicesSelecting(old.Namespace, old.Labels)
			if podChanged {
				keys = union(now, before)
			} else {
				keys = union(difference(now, before), difference(before, now))
			}
		}
	}
	for _, k := range keys {
		c.queue.AddAfter(k, c.cfg.UpdatesBatchPeriod)
	}
}

// servicesSelecting lists, in key order, the keys of the Services in
// namespace whose selector matches podLabels (a nil selector matches
// nothing).
func (c *Controller) servicesSelecting(namespace string, podLabels map[string]string) []string {
	// The namespace's services straight from the cache, without the
	// lister's allocations: this runs on every pod change.
	var out []string
	c.services.InNamespace(namespace, func(s *v1.Service) {
		if s.Spec.Selector != nil && labels.ValidatedSetSelector(s.Spec.Selector).Matches(labels.Set(podLabels)) {
			out = append(out, s.Namespace+"/"+s.Name)
		}
	})
	slices.Sort(out)
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

func difference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// podEndpointsChanged is upstream's: whether the pod changed in a way that
// may change its endpoint (deletion set or pod terminating, readiness,
// IPs), and whether it
// changed in a way that may change which Services select it (labels,
// hostname, subdomain).
func podEndpointsChanged(old, cur *v1.Pod) (podChanged, labelsChanged bool) {
	labelsChanged = !reflect.DeepEqual(old.Labels, cur.Labels) ||
		old.Spec.Hostname != cur.Spec.Hostname || old.Spec.Subdomain != cur.Spec.Subdomain
	// Upstream compares the two objects' deletionTimestamp pointers, which
	// differ whenever either is set: every update of a terminating pod is
	// a pod change (so, e.g., its turning terminal is noticed).
	if old.DeletionTimestamp != nil || cur.DeletionTimestamp != nil {
		return true, labelsChanged
	}
	if esrec.IsPodReady(old) != esrec.IsPodReady(cur) {
		return true, labelsChanged
	}
	if len(old.Status.PodIPs) != len(cur.Status.PodIPs) || old.Status.PodIP != cur.Status.PodIP {
		return true, labelsChanged
	}
	for i := range old.Status.PodIPs {
		if old.Status.PodIPs[i].IP != cur.Status.PodIPs[i].IP {
			return true, labelsChanged
		}
	}
	return false, labelsChanged
}

func sliceOf(obj any) *discovery.EndpointSlice {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, _ := obj.(*discovery.EndpointSlice)
	return s
}

func managed(s *discovery.EndpointSlice) bool {
	return s.Labels[discovery.LabelManagedBy] == esrec.ControllerName
}

// queueForSlice enqueues the slice's Service after the slice-change delay.
func (c *Controller) queueForSlice(s *discovery.EndpointSlice) {
	name := s.Labels[discovery.LabelServiceName]
	if name == "" {
		return
	}
	c.queue.AddAfter(s.Namespace+"/"+name, max(sliceChangeMinSyncDelay, c.cfg.UpdatesBatchPeriod))
}

// onSliceAdd resyncs the Service of a managed slice the controller did not
// write itself.
func (c *Controller) onSliceAdd(obj any) {
	if s := sliceOf(obj); s != nil && managed(s) && c.tracker.shouldSync(s) {
		c.queueForSlice(s)
	}
}

func (c *Controller) onSliceUpdate(oldObj, curObj any) {
	old, cur := sliceOf(oldObj), sliceOf(curObj)
	if old == nil || cur == nil {
		return
	}
	if old.Labels[discovery.LabelServiceName] != cur.Labels[discovery.LabelServiceName] {
		c.queueForSlice(cur)
		c.queueForSlice(old)
		return
	}
	if managed(old) != managed(cur) || (managed(cur) && c.tracker.shouldSync(cur)) {
		c.queueForSlice(cur)
	}
}

// onSliceDelete resyncs the Service of a managed slice someone else deleted.
func (c *Controller) onSliceDelete(obj any) {
	s := sliceOf(obj)
	if s != nil && managed(s) && c.tracker.has(s) && !c.tracker.handleDeletion(s) {
		c.queueForSlice(s)
	}
}

// ---- sync ----

// errStaleCache is upstream's StaleInformerCache error: the controller's
// own writes have not reached its cache yet; the sync is retried.
var errStaleCache = errors.New("EndpointSlice informer cache is out of date")

// process runs one sync; after maxRetries failures in a row the Service is
// dropped from the queue until its next change, as upstream.
func (c *Controller) process(key string) error {
	err := c.syncService(key)
	if err == nil {
		return nil
	}
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	if c.queue.NumRequeues(key) < maxRetries {
		c.trace("syncFailed", ns, name, err.Error()+"; retrying")
		return err
	}
	c.trace("syncDropped", ns, name, fmt.Sprintf("retry budget exceeded, dropping Service out of the queue: %v", err))
	c.queue.Forget(key)
	return nil
}

func (c *Controller) syncService(key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	svc, err := c.services.Lister().Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// Its slices are owned by it and go with the garbage collector.
		c.triggers.deleteService(ns, name)
		c.tracker.deleteService(ns, name)
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Spec.Type == v1.ServiceTypeExternalName || svc.Spec.Selector == nil {
		// no endpoints from this controller (issues.k8s.io/105986); slices
		// of selector-less Services are written by others
		return nil
	}
	pods, err := c.pods.Lister().Pods(ns).List(labels.ValidatedSetSelector(svc.Spec.Selector))
	c.queue.Charge(informer.SyncCost(len(pods)))
	if err != nil {
		return err
	}
	sliceSel := labels.SelectorFromValidatedSet(labels.Set{discovery.LabelServiceName: svc.Name, discovery.LabelManagedBy: esrec.ControllerName})
	cached, err := c.epSlices.Lister().EndpointSlices(ns).List(sliceSel)
	if err != nil {
		return err
	}
	cached = slices.DeleteFunc(slices.Clone(cached), func(s *discovery.EndpointSlice) bool { return s.DeletionTimestamp != nil })
	if c.tracker.staleSlices(svc, cached) {
		return errStaleCache
	}
	triggerTime := c.triggers.compute(svc, pods)
	nodes := c.nodes.Lister()
	plan := c.recon.Reconcile(svc, pods, cached, func(n string) (*v1.Node, bool) {
		node, err := nodes.Get(n)
		return node, err == nil
	}, triggerTime)

	if err := c.apply(svc, cached, plan); err != nil {
		c.rec.Eventf(svc, v1.EventTypeWarning, "FailedToUpdateEndpointSlices",
			"Error updating Endpoint Slices for Service %s/%s: %v", svc.Namespace, svc.Name, err)
		return err
	}
	if len(plan.Errs) > 0 {
		err := errors.Join(plan.Errs...)
		c.rec.Eventf(svc, v1.EventTypeWarning, "FailedToUpdateEndpointSlices",
			"Error updating Endpoint Slices for Service %s/%s: %v", svc.Namespace, svc.Name, err)
		return err
	}
	return nil
}

// apply makes the plan's API writes in upstream's order (creates, updates,
// deletes), stopping at the first failure, and traces the outcome.
func (c *Controller) apply(svc *v1.Service, cached []*discovery.EndpointSlice, plan esrec.Plan) error {
	if plan.Empty() {
		return nil
	}
	api := c.client.DiscoveryV1().EndpointSlices(svc.Namespace)
	ctx := context.TODO()
	written := map[string]*discovery.EndpointSlice{}
	var created []*discovery.EndpointSlice
	for _, s := range plan.Create {
		got, err := api.Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			if apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause) {
				return nil // creates keep failing in a terminating namespace; drop
			}
			return fmt.Errorf("failed to create EndpointSlice for Service %s/%s: %v", svc.Namespace, svc.Name, err)
		}
		c.tracker.update(got)
		created = append(created, got)
	}
	for _, s := range plan.Update {
		got, err := api.Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("failed to update %s EndpointSlice for Service %s/%s: %v", s.Name, svc.Namespace, svc.Name, err)
		}
		c.tracker.update(got)
		written[got.Name] = got
	}
	deleted := map[string]bool{}
	for _, s := range plan.Delete {
		if err := api.Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil {
			return fmt.Errorf("failed to delete %s EndpointSlice for Service %s/%s: %v", s.Name, svc.Namespace, svc.Name, err)
		}
		c.tracker.expectDeletion(s)
		deleted[s.Name] = true
	}
	// The Service's slices now: cached ones as written, plus the new ones.
	var now []*discovery.EndpointSlice
	for _, s := range cached {
		switch {
		case deleted[s.Name]:
		case written[s.Name] != nil:
			now = append(now, written[s.Name])
		default:
			now = append(now, s)
		}
	}
	now = append(now, created...)
	c.trace("endpointsUpdated", svc.Namespace, svc.Name, summary(now, len(plan.Create), len(plan.Update), len(plan.Delete), plan.Added, plan.Removed))
	return nil
}

// summary describes a Service's slices after a sync for the trace.
func summary(now []*discovery.EndpointSlice, created, updated, deleted, added, removed int) string {
	var ready, notReady, terminating int
	for _, s := range now {
		for _, ep := range s.Endpoints {
			switch {
			case ep.Conditions.Terminating != nil && *ep.Conditions.Terminating:
				terminating++
			case ep.Conditions.Ready == nil || *ep.Conditions.Ready:
				ready++
			default:
				notReady++
			}
		}
	}
	return fmt.Sprintf("%d ready, %d not ready, %d terminating endpoint(s) in %d slice(s); +%d/-%d endpoint(s); slices created %d, updated %d, deleted %d",
		ready, notReady, terminating, len(now), added, removed, created, updated, deleted)
}

func (c *Controller) trace(verb, ns, name, msg string) {
	c.eng.Trace(sim.Record{Component: Name, Verb: verb, Kind: "Service", Namespace: ns, Name: name, Msg: msg})
}
