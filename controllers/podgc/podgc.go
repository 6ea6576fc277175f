package podgc

import (
	"context"
	"fmt"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/kubesim/kubesim/controllers/nodeutil"
	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
)

// Component is the controller's name in traces (upstream's client name).
const Component = "pod-garbage-collector"

// Config configures the pod garbage collector. Zero fields mean upstream's
// defaults.
type Config struct {
	// TerminatedPodThreshold is --terminated-pod-gc-threshold (12500); a
	// negative value turns the terminated-pod collection off (upstream 0).
	TerminatedPodThreshold int
	// CheckPeriod is how often the collector runs (upstream constant
	// gcCheckPeriod, 20 s).
	CheckPeriod time.Duration
	// Quarantine is how long a missing node is waited for before its pods
	// count as orphaned (upstream constant quarantineTime, 40 s).
	Quarantine time.Duration
}

// DefaultConfig returns upstream's defaults.
func DefaultConfig() Config {
	return Config{TerminatedPodThreshold: 12500, CheckPeriod: 20 * time.Second, Quarantine: 40 * time.Second}
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.TerminatedPodThreshold == 0 {
		c.TerminatedPodThreshold = d.TerminatedPodThreshold
	}
	if c.CheckPeriod == 0 {
		c.CheckPeriod = d.CheckPeriod
	}
	if c.Quarantine == 0 {
		c.Quarantine = d.Quarantine
	}
	return c
}

// Controller is the pod garbage collector.
type Controller struct {
	eng    *sim.Engine
	cfg    Config
	client client.Interface

	pods       informer.PodInformer
	nodes      informer.NodeInformer
	podLister  corelisters.PodLister
	nodeLister corelisters.NodeLister

	// quarantined maps a missing node's name to the time it may be checked
	// (upstream's delaying nodeQueue; a node already waiting keeps its
	// earlier time).
	quarantined map[string]time.Duration
	ticker      *sim.Ticker
}

// New creates the collector on the factory's shared pod and node informers
// and starts its ticker.
func New(eng *sim.Engine, f *informer.Factory, c client.Interface, cfg Config) *Controller {
	gcc := &Controller{eng: eng, cfg: cfg.WithDefaults(), client: c, pods: f.Pods(), nodes: f.Nodes(), quarantined: map[string]time.Duration{}}
	gcc.podLister = gcc.pods.Lister()
	gcc.nodeLister = gcc.nodes.Lister()
	gcc.ticker = eng.EveryFrom(0, gcc.cfg.CheckPeriod, Component+" gc", gcc.gc)
	return gcc
}

// Config returns the collector's configuration (defaults filled in).
func (gcc *Controller) Config() Config { return gcc.cfg }

// Quarantined returns the missing nodes waiting out their quarantine, with
// the time each may be checked.
func (gcc *Controller) Quarantined() map[string]time.Duration {
	out := make(map[string]time.Duration, len(gcc.quarantined))
	for k, v := range gcc.quarantined {
		out[k] = v
	}
	return out
}

func (gcc *Controller) trace(verb, ns, name, msg string) {
	gcc.eng.Trace(sim.Record{Component: Component, Verb: verb, Kind: "Pod", Namespace: ns, Name: name, Msg: msg})
}

// gc is one pass.
func (gcc *Controller) gc() {
	if !gcc.pods.HasSynced() || !gcc.nodes.HasSynced() {
		return
	}
	pods, err := gcc.podLister.List(labels.Everything())
	if err != nil {
		panic(fmt.Sprintf("%s: listing cached pods: %v", Component, err))
	}
	nodes, err := gcc.nodeLister.List(labels.Everything())
	if err != nil {
		panic(fmt.Sprintf("%s: listing cached nodes: %v", Component, err))
	}
	sort.Slice(pods, func(i, j int) bool { return podKey(pods[i]) < podKey(pods[j]) })
	if gcc.cfg.TerminatedPodThreshold > 0 {
		gcc.gcTerminated(pods)
	}
	gcc.gcTerminating(pods)
	gcc.gcOrphaned(pods, nodes)
	gcc.gcUnscheduledTerminating(pods)
}

func podKey(p *v1.Pod) string { return p.Namespace + "/" + p.Name }

// gcTerminating force-deletes terminating pods on not-ready nodes with the
// out-of-service taint.
func (gcc *Controller) gcTerminating(pods []*v1.Pod) {
	var terminating []*v1.Pod
	for _, pod := range pods {
		if pod.DeletionTimestamp == nil || pod.Spec.NodeName == "" {
			continue
		}
		node, err := gcc.nodeLister.Get(pod.Spec.NodeName)
		if err != nil {
			continue
		}
		if !nodeutil.IsNodeReady(node) && nodeutil.TaintKeyExists(node.Spec.Taints, v1.TaintNodeOutOfService) {
			terminating = append(terminating, pod)
		}
	}
	if len(terminating) == 0 {
		return
	}
	sort.SliceStable(terminating, byEvictionAndCreationTimestamp(terminating))
	for _, pod := range terminating {
		gcc.markFailedAndDelete(pod, nil, "terminating on out-of-service node "+pod.Spec.NodeName)
	}
}

// gcTerminated deletes the terminated pods beyond the threshold.
func (gcc *Controller) gcTerminated(pods []*v1.Pod) {
	var terminated []*v1.Pod
	for _, pod := range pods {
		if isPodTerminated(pod) {
			terminated = append(terminated, pod)
		}
	}
	deleteCount := len(terminated) - gcc.cfg.TerminatedPodThreshold
	if deleteCount <= 0 {
		return
	}
	sort.SliceStable(terminated, byEvictionAndCreationTimestamp(terminated))
	for _, pod := range terminated[:deleteCount] {
		gcc.markFailedAndDelete(pod, nil, fmt.Sprintf("%d terminated pods exceed --terminated-pod-gc-threshold=%d", len(terminated), gcc.cfg.TerminatedPodThreshold))
	}
}

// gcOrphaned deletes pods bound to nodes that have been missing for the
// quarantine time.
func (gcc *Controller) gcOrphaned(pods []*v1.Pod, nodes []*v1.Node) {
	now := gcc.eng.Elapsed()
	existing := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		existing[n.Name] = true
	}
	for _, pod := range pods {
		if n := pod.Spec.NodeName; n != "" && !existing[n] {
			if _, waiting := gcc.quarantined[n]; !waiting {
				gcc.quarantined[n] = now + gcc.cfg.Quarantine
				gcc.eng.Trace(sim.Record{Component: Component, Verb: "quarantine", Kind: "Node", Name: n,
					Msg: fmt.Sprintf("pods bound to a missing node; checking again at %s", now+gcc.cfg.Quarantine)})
			}
		}
	}
	deleted := gcc.discoverDeletedNodes(existing, now)
	if len(deleted) == 0 {
		return
	}
	for _, pod := range pods {
		if !deleted[pod.Spec.NodeName] {
			continue
		}
		gcc.markFailedAndDelete(pod, &v1.PodCondition{Type: v1.DisruptionTarget, ObservedGeneration: pod.Generation, Status: v1.ConditionTrue,
			Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists"}, "orphaned: node "+pod.Spec.NodeName+" no longer exists")
	}
}

// discoverDeletedNodes takes the nodes whose quarantine is over and returns
// those still missing, confirmed by a GET.
func (gcc *Controller) discoverDeletedNodes(existing map[string]bool, now time.Duration) map[string]bool {
	deleted := map[string]bool{}
	names := make([]string, 0, len(gcc.quarantined))
	for n, at := range gcc.quarantined {
		if at <= now {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		delete(gcc.quarantined, n)
		if existing[n] {
			continue
		}
		_, err := gcc.client.CoreV1().Nodes().Get(context.TODO(), n, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			deleted[n] = true
		}
	}
	return deleted
}

// gcUnscheduledTerminating deletes terminating pods that were never bound.
func (gcc *Controller) gcUnscheduledTerminating(pods []*v1.Pod) {
	for _, pod := range pods {
		if pod.DeletionTimestamp == nil || pod.Spec.NodeName != "" {
			continue
		}
		gcc.markFailedAndDelete(pod, nil, "terminating and never scheduled")
	}
}

func isPodTerminated(pod *v1.Pod) bool {
	phase := pod.Status.Phase
	return phase != v1.PodPending && phase != v1.PodRunning && phase != v1.PodUnknown
}

// podIsEvicted is the kubelet's eviction.PodIsEvicted.
func podIsEvicted(status v1.PodStatus) bool {
	return status.Phase == v1.PodFailed && status.Reason == "Evicted"
}

// byEvictionAndCreationTimestamp orders evicted pods first, then by
// creationTimestamp, then by name.
func byEvictionAndCreationTimestamp(pods []*v1.Pod) func(i, j int) bool {
	return func(i, j int) bool {
		ie, je := podIsEvicted(pods[i].Status), podIsEvicted(pods[j].Status)
		if ie != je {
			return ie
		}
		if pods[i].CreationTimestamp.Equal(&pods[j].CreationTimestamp) {
			return pods[i].Name < pods[j].Name
		}
		return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp)
	}
}

// markFailedAndDelete moves a pod that is not terminal to phase Failed (with
// condition, if any, and status.observedGeneration the generation of the
// cached pod, as upstream's markFailedAndDeletePodWithCondition) and
// force-deletes it (grace period 0).
func (gcc *Controller) markFailedAndDelete(cached *v1.Pod, condition *v1.PodCondition, why string) {
	pods := gcc.client.CoreV1().Pods(cached.Namespace)
	// Upstream patches the status; kubesim reads the pod and writes the
	// status back, which has the same effect without a stale-cache conflict.
	pod, err := pods.Get(context.TODO(), cached.Name, metav1.GetOptions{})
	if err != nil || pod.UID != cached.UID {
		return
	}
	if !podutil.IsPodTerminal(pod) {
		pod.Status.Phase = v1.PodFailed
		pod.Status.ObservedGeneration = cached.Generation
		if condition != nil {
			nodeutil.UpdatePodCondition(&pod.Status, condition.DeepCopy(), metav1.NewTime(gcc.eng.Now()))
		}
		if _, err := pods.UpdateStatus(context.TODO(), pod, metav1.UpdateOptions{}); err != nil {
			if !apierrors.IsNotFound(err) {
				gcc.trace("error", cached.Namespace, cached.Name, "marking pod Failed: "+err.Error())
			}
			return
		}
	}
	zero := int64(0)
	err = pods.Delete(context.TODO(), cached.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero,
		Preconditions: &metav1.Preconditions{UID: &cached.UID}})
	switch {
	case err == nil:
		gcc.trace("forceDeleted", cached.Namespace, cached.Name, why)
	case apierrors.IsNotFound(err):
	default:
		gcc.trace("error", cached.Namespace, cached.Name, "force-deleting pod: "+err.Error())
	}
}
