package simtest

import (
	"context"
	"fmt"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/cluster"
)

// FakeRuntimeConfig tunes a FakeRuntime. Zero durations mean "at once",
// except the lease and node-monitor periods, which default to upstream's.
type FakeRuntimeConfig struct {
	// StartDelay is the time from binding to running containers (phase
	// Running, pod IP).
	StartDelay time.Duration
	// WarmUp is the time from running containers to the application
	// accepting connections.
	WarmUp time.Duration
	// StopDelay is the time from stopped containers to the removal of the
	// API object.
	StopDelay time.Duration
	// LeaseRenewInterval is the heartbeat period of every node that is up
	// (default 10 s).
	LeaseRenewInterval time.Duration
	// NodeLifecycle turns on the stand-in node lifecycle controller: every
	// NodeMonitorPeriod (default 5 s) a node whose last heartbeat is older
	// than NodeMonitorGracePeriod (default 50 s) gets Ready=Unknown and
	// all its pods Ready=False (upstream's MarkPodsNotReady).
	NodeLifecycle          bool
	NodeMonitorPeriod      time.Duration
	NodeMonitorGracePeriod time.Duration
}

// FakeRuntime stands in for the kubelets and the node lifecycle controller
// in network tests, with the parts of their behaviour that decide whether
// a request is served:
//
//   - a bound pod's containers start StartDelay after binding (Running,
//     pod IP); its application accepts connections WarmUp later;
//   - Ready: at once for a pod without a readiness probe; with one, at the
//     first probe (initialDelaySeconds + k·periodSeconds after the start)
//     that finds the application accepting connections;
//   - deletion: the containers keep serving for the longest preStop sleep
//     (lifecycle.preStop.sleep.seconds, capped by the grace period), then
//     stop; the object is removed StopDelay later; without a preStop hook
//     they stop at once (an application that exits on SIGTERM);
//   - Crash(node): the node, its containers and its heartbeats stop; its
//     pods' objects are left as they are (nobody reports on them).
//
// It answers traffic.World (installed with Cluster.SetTrafficWorld) and
// calls Cluster.NetworkNodeChanged / NetworkPodChanged at each change, as
// the real kubelet model does. Production code never uses it.
type FakeRuntime struct {
	c   *cluster.Cluster
	cl  client.Interface
	eng *sim.Engine
	cfg FakeRuntimeConfig

	pods      map[types.UID]*fakePod
	byName    map[string]*fakePod      // "namespace/name" -> latest pod of that name
	crashed   map[string]time.Duration // node -> crash time
	heartbeat map[string]time.Duration // node -> last heartbeat
	detected  map[string]time.Duration // node -> Ready=Unknown time
	nextIP    int
}

type fakePod struct {
	ns, name, node string
	uid            types.UID
	running        bool // containers running
	serving        bool // application accepts connections
	terminating    bool
	probe          sim.Timer
}

// StartFakeRuntime attaches a fake runtime to the cluster (call before
// c.Start) and installs it as the cluster's traffic world.
func StartFakeRuntime(c *cluster.Cluster, cfg FakeRuntimeConfig) *FakeRuntime {
	if cfg.LeaseRenewInterval <= 0 {
		cfg.LeaseRenewInterval = 10 * time.Second
	}
	if cfg.NodeMonitorPeriod <= 0 {
		cfg.NodeMonitorPeriod = 5 * time.Second
	}
	if cfg.NodeMonitorGracePeriod <= 0 {
		cfg.NodeMonitorGracePeriod = 50 * time.Second
	}
	rt := &FakeRuntime{c: c, cl: c.Client("fake-runtime"), eng: c.Engine, cfg: cfg,
		pods: map[types.UID]*fakePod{}, byName: map[string]*fakePod{}, crashed: map[string]time.Duration{}, heartbeat: map[string]time.Duration{}, detected: map[string]time.Duration{}}
	c.Informers.Pods().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { rt.onPod(obj.(*v1.Pod)) },
		UpdateFunc: func(_, obj any) { rt.onPod(obj.(*v1.Pod)) },
	})
	c.Informers.Nodes().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			n := obj.(*v1.Node).Name
			if _, ok := rt.heartbeat[n]; !ok {
				rt.heartbeat[n] = rt.eng.Elapsed()
			}
		},
	})
	rt.eng.Every(cfg.LeaseRenewInterval, "fake-runtime heartbeats", rt.beat)
	if cfg.NodeLifecycle {
		rt.eng.Every(cfg.NodeMonitorPeriod, "fake-node-lifecycle monitor", rt.monitor)
	}
	c.SetTrafficWorld(rt)
	return rt
}

// Nodes implements traffic.World: the Node objects, sorted.
func (rt *FakeRuntime) Nodes() []string {
	nodes, _ := rt.c.Informers.Nodes().Lister().List(labels.Everything())
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	slices.Sort(out)
	return out
}

// NodeUp implements traffic.World: the node exists and has not crashed.
func (rt *FakeRuntime) NodeUp(node string) bool {
	if _, err := rt.c.Informers.Nodes().Lister().Get(node); err != nil {
		return false
	}
	_, crashed := rt.crashed[node]
	return !crashed
}

// PodServing implements traffic.World: the pod's application accepts
// connections on a node that is up.
func (rt *FakeRuntime) PodServing(namespace, name string) bool {
	p, ok := rt.byName[namespace+"/"+name]
	return ok && p.serving && rt.NodeUp(p.node)
}

// Crash crashes a node now: its containers, its kube-proxy and its
// heartbeats stop.
func (rt *FakeRuntime) Crash(node string) {
	if _, ok := rt.crashed[node]; ok {
		return
	}
	rt.crashed[node] = rt.eng.Elapsed()
	rt.trace("crashed", "Node", "", node, "node crashed: containers, kube-proxy and heartbeats stop")
	rt.c.NetworkNodeChanged(node)
}

// CrashedAt is when a node crashed.
func (rt *FakeRuntime) CrashedAt(node string) (time.Duration, bool) {
	t, ok := rt.crashed[node]
	return t, ok
}

// LastHeartbeat is the time of a node's last heartbeat.
func (rt *FakeRuntime) LastHeartbeat(node string) time.Duration { return rt.heartbeat[node] }

// DetectedAt is when the stand-in node lifecycle controller marked a node
// Ready=Unknown and its pods not ready.
func (rt *FakeRuntime) DetectedAt(node string) (time.Duration, bool) {
	t, ok := rt.detected[node]
	return t, ok
}

func (rt *FakeRuntime) trace(verb, kind, ns, name, msg string) {
	rt.eng.Trace(sim.Record{Component: "fake-runtime", Verb: verb, Kind: kind, Namespace: ns, Name: name, Msg: msg})
}

func (rt *FakeRuntime) beat() {
	for _, n := range rt.Nodes() {
		if _, crashed := rt.crashed[n]; !crashed {
			rt.heartbeat[n] = rt.eng.Elapsed()
			RenewLease(rt.cl, rt.eng, n)
		}
	}
}

// monitor is the stand-in node lifecycle controller's monitorNodeHealth.
func (rt *FakeRuntime) monitor() {
	now := rt.eng.Elapsed()
	for _, n := range rt.Nodes() {
		if _, done := rt.detected[n]; done {
			continue
		}
		if hb, ok := rt.heartbeat[n]; !ok || now-hb <= rt.cfg.NodeMonitorGracePeriod {
			continue
		}
		rt.detected[n] = now
		if rt.c.NodeLifecycle == nil {
			// Without the real node lifecycle controller, act as it would;
			// with it, only record when it detects the node (same rule).
			rt.markNodeUnknown(n)
		}
	}
}

func (rt *FakeRuntime) markNodeUnknown(name string) {
	ctx := context.TODO()
	node, err := rt.cl.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return
	}
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == v1.NodeReady {
			node.Status.Conditions[i].Status = v1.ConditionUnknown
			node.Status.Conditions[i].Reason = "NodeStatusUnknown"
			node.Status.Conditions[i].Message = "Kubelet stopped posting node status."
			node.Status.Conditions[i].LastTransitionTime = metav1.NewTime(rt.eng.Now())
		}
	}
	_, _ = rt.cl.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	rt.trace("nodeNotReady", "Node", "", name, "Ready=Unknown: no heartbeat for more than "+rt.cfg.NodeMonitorGracePeriod.String()+"; marking its pods not ready")
	pods, _ := rt.c.Informers.Pods().Lister().List(labels.Everything())
	for _, p := range pods {
		if p.Spec.NodeName != name {
			continue
		}
		rt.setReady(p.Namespace, p.Name, p.UID, false)
	}
}

func (rt *FakeRuntime) onPod(p *v1.Pod) {
	if p.Spec.NodeName == "" {
		return
	}
	fp, known := rt.pods[p.UID]
	switch {
	case !known && p.DeletionTimestamp == nil && p.Status.Phase == v1.PodPending:
		fp = &fakePod{ns: p.Namespace, name: p.Name, node: p.Spec.NodeName, uid: p.UID}
		rt.pods[p.UID] = fp
		rt.byName[p.Namespace+"/"+p.Name] = fp
		rt.eng.After(rt.cfg.StartDelay, "fake-runtime start", func() { rt.start(fp) })
	case known && p.DeletionTimestamp != nil && !fp.terminating:
		fp.terminating = true
		rt.terminate(fp, p)
	}
}

func (rt *FakeRuntime) down(node string) bool { _, c := rt.crashed[node]; return c }

func (rt *FakeRuntime) start(fp *fakePod) {
	if fp.terminating || rt.down(fp.node) {
		return
	}
	pods := rt.cl.CoreV1().Pods(fp.ns)
	p, err := pods.Get(context.TODO(), fp.name, metav1.GetOptions{})
	if err != nil || p.UID != fp.uid || p.Status.Phase != v1.PodPending {
		return
	}
	rt.nextIP++
	now := metav1.NewTime(rt.eng.Now())
	p.Status.Phase = v1.PodRunning
	p.Status.PodIP = fmt.Sprintf("10.244.%d.%d", rt.nextIP/250, rt.nextIP%250+1)
	p.Status.PodIPs = []v1.PodIP{{IP: p.Status.PodIP}}
	p.Status.StartTime = &now
	probe := readinessProbe(p)
	ready := v1.ConditionTrue
	if probe != nil {
		ready = v1.ConditionFalse
	}
	p.Status.Conditions = []v1.PodCondition{
		{Type: v1.PodInitialized, Status: v1.ConditionTrue, LastTransitionTime: now},
		{Type: v1.ContainersReady, Status: ready, LastTransitionTime: now},
		{Type: v1.PodReady, Status: ready, LastTransitionTime: now},
	}
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, v1.ContainerStatus{Name: c.Name, Image: c.Image,
			Ready: ready == v1.ConditionTrue, Started: ptr(true), State: v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: now}}})
	}
	if _, err := pods.UpdateStatus(context.TODO(), p, metav1.UpdateOptions{}); err != nil {
		return
	}
	fp.running = true
	rt.trace("started", "Pod", fp.ns, fp.name, "containers running on "+fp.node)
	warm := func() {
		if !fp.running || rt.down(fp.node) {
			return
		}
		fp.serving = true
		rt.trace("serving", "Pod", fp.ns, fp.name, "application accepts connections")
		rt.c.NetworkPodChanged(fp.ns, fp.name)
	}
	if rt.cfg.WarmUp > 0 {
		rt.eng.After(rt.cfg.WarmUp, "fake-runtime warm-up", warm)
	} else {
		warm()
	}
	if probe != nil {
		period := time.Duration(max(probe.PeriodSeconds, 1)) * time.Second
		var tick func()
		tick = func() {
			if !fp.running || fp.terminating || rt.down(fp.node) {
				return
			}
			if fp.serving {
				rt.setReady(fp.ns, fp.name, fp.uid, true)
				return
			}
			fp.probe = rt.eng.After(period, "fake-runtime readiness probe", tick)
		}
		fp.probe = rt.eng.After(time.Duration(probe.InitialDelaySeconds)*time.Second, "fake-runtime readiness probe", tick)
	}
}

func readinessProbe(p *v1.Pod) *v1.Probe {
	for _, c := range p.Spec.Containers {
		if c.ReadinessProbe != nil {
			return c.ReadinessProbe
		}
	}
	return nil
}

// setReady writes the pod's Ready and ContainersReady conditions.
func (rt *FakeRuntime) setReady(ns, name string, uid types.UID, ready bool) {
	pods := rt.cl.CoreV1().Pods(ns)
	p, err := pods.Get(context.TODO(), name, metav1.GetOptions{})
	if err != nil || p.UID != uid {
		return
	}
	st := v1.ConditionFalse
	if ready {
		st = v1.ConditionTrue
	}
	now := metav1.NewTime(rt.eng.Now())
	changed := false
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		if (c.Type == v1.PodReady || c.Type == v1.ContainersReady) && c.Status != st {
			c.Status, c.LastTransitionTime = st, now
			changed = true
		}
	}
	for i := range p.Status.ContainerStatuses {
		p.Status.ContainerStatuses[i].Ready = ready
	}
	if !changed {
		return
	}
	if _, err := pods.UpdateStatus(context.TODO(), p, metav1.UpdateOptions{}); err == nil {
		verb := "ready"
		if !ready {
			verb = "notReady"
		}
		rt.trace(verb, "Pod", ns, name, "")
	}
}

// terminate runs the pod's preStop hooks (sleep only), stops its
// containers and removes the object.
func (rt *FakeRuntime) terminate(fp *fakePod, p *v1.Pod) {
	if rt.down(fp.node) {
		return // nobody on the node to terminate it: it stays Terminating
	}
	fp.probe.Stop()
	var preStop time.Duration
	for _, c := range p.Spec.Containers {
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			preStop = max(preStop, time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second)
		}
	}
	if p.DeletionGracePeriodSeconds != nil {
		preStop = min(preStop, time.Duration(*p.DeletionGracePeriodSeconds)*time.Second)
	}
	stop := func() {
		if rt.down(fp.node) {
			return
		}
		wasServing := fp.serving
		fp.running, fp.serving = false, false
		rt.trace("stopped", "Pod", fp.ns, fp.name, "containers stopped")
		if wasServing {
			rt.c.NetworkPodChanged(fp.ns, fp.name)
		}
		rt.eng.After(rt.cfg.StopDelay, "fake-runtime remove", func() {
			zero := int64(0)
			_ = rt.cl.CoreV1().Pods(fp.ns).Delete(context.TODO(), fp.name, metav1.DeleteOptions{GracePeriodSeconds: &zero,
				Preconditions: &metav1.Preconditions{UID: &fp.uid}})
			delete(rt.pods, fp.uid)
			if rt.byName[fp.ns+"/"+fp.name] == fp {
				delete(rt.byName, fp.ns+"/"+fp.name)
			}
		})
	}
	if preStop > 0 {
		rt.trace("preStop", "Pod", fp.ns, fp.name, "preStop hook sleeps "+preStop.String())
		rt.eng.After(preStop, "fake-runtime preStop", stop)
	} else {
		stop()
	}
}
