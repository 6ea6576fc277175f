package ctltest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
	"github.com/kubesim/kubesim/sim/mvcc"
)

// Env is a cluster core without components.
type Env struct {
	T       testing.TB
	Eng     *sim.Engine
	API     *apiserver.Server
	Factory *informer.Factory
	// Admin is a client for test set-up ("kubectl").
	Admin client.Interface
	// Trace holds every trace record emitted so far.
	Trace []sim.Record
}

// New builds an Env at time zero.
func New(t testing.TB, seed uint64) *Env {
	eng := sim.New(seed)
	cfg := apiserver.DefaultConfig()
	store := mvcc.New(eng, mvcc.Config{WatchDelay: cfg.WatchDelay})
	api := apiserver.New(eng, store, cfg)
	e := &Env{T: t, Eng: eng, API: api, Factory: informer.NewFactory(api, informer.DetectMutations()), Admin: client.New(api, "kubectl")}
	eng.AddTraceSink(func(r sim.Record) { e.Trace = append(e.Trace, r) })
	return e
}

// Client returns a client acting as component.
func (e *Env) Client(component string) client.Interface { return client.New(e.API, component) }

// Start starts the informers.
func (e *Env) Start() { e.Factory.Start() }

// CheckMutations fails the test if a component modified a cached object.
func (e *Env) CheckMutations() { require.NoError(e.T, e.Factory.CheckMutations()) }

// At is the engine time t as a metav1.Time.
func At(t time.Duration) metav1.Time { return metav1.NewTime(sim.Epoch.Add(t)) }

// Node returns a node whose kubelet last posted status at heartbeat (Ready=True, no pressure), the given
// labels, and room for pods.
func Node(name string, labels map[string]string, heartbeat time.Duration) *v1.Node {
	l := map[string]string{v1.LabelHostname: name}
	for k, v := range labels {
		l[k] = v
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l},
		Status: v1.NodeStatus{
			Capacity: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"),
				v1.ResourcePods: resource.MustParse("110")},
			Conditions: []v1.NodeCondition{
				{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: At(heartbeat), LastTransitionTime: At(heartbeat)},
				{Type: v1.NodeDiskPressure, Status: v1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", LastHeartbeatTime: At(heartbeat), LastTransitionTime: At(heartbeat)},
				{Type: v1.NodePIDPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientPID", LastHeartbeatTime: At(heartbeat), LastTransitionTime: At(heartbeat)},
				{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady",
					Message: "kubelet is posting ready status", LastHeartbeatTime: At(heartbeat), LastTransitionTime: At(heartbeat)},
			},
		},
	}
}

// Zone returns the zone labels map for zone.
func Zone(zone string) map[string]string { return map[string]string{v1.LabelTopologyZone: zone} }

// CreateNode creates node through the API.
func (e *Env) CreateNode(node *v1.Node) *v1.Node {
	e.T.Helper()
	out, err := e.Admin.CoreV1().Nodes().Create(context.TODO(), node, metav1.CreateOptions{})
	require.NoError(e.T, err)
	return out
}

// GetNode reads a node from the API.
func (e *Env) GetNode(name string) *v1.Node {
	e.T.Helper()
	n, err := e.Admin.CoreV1().Nodes().Get(context.TODO(), name, metav1.GetOptions{})
	require.NoError(e.T, err)
	return n
}

// GetPod reads a pod from the API; nil if it does not exist.
func (e *Env) GetPod(ns, name string) *v1.Pod {
	e.T.Helper()
	p, err := e.Admin.CoreV1().Pods(ns).Get(context.TODO(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(e.T, err)
	return p
}

// RenewLease creates or renews the node's Lease in kube-node-lease at the
// current time, as the kubelet's lease controller does every 10 s.
func (e *Env) RenewLease(node string) {
	e.T.Helper()
	leases := e.Client("kubelet/" + node).CoordinationV1().Leases(v1.NamespaceNodeLease)
	now := metav1.NewMicroTime(e.Eng.Now())
	l, err := leases.Get(context.TODO(), node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(context.TODO(), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: node},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(node), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now}},
			metav1.CreateOptions{})
		require.NoError(e.T, err)
		return
	}
	require.NoError(e.T, err)
	l.Spec.RenewTime = &now
	_, err = leases.Update(context.TODO(), l, metav1.UpdateOptions{})
	require.NoError(e.T, err)
}

// SetNodeReady writes the node's Ready condition as a kubelet posting status
// would (heartbeat now; transition time now when the status changes).
func (e *Env) SetNodeReady(node string, status v1.ConditionStatus) {
	e.T.Helper()
	nodes := e.Client("kubelet/" + node).CoreV1().Nodes()
	n, err := nodes.Get(context.TODO(), node, metav1.GetOptions{})
	require.NoError(e.T, err)
	now := metav1.NewTime(e.Eng.Now())
	found := false
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		if c.Type != v1.NodeReady {
			continue
		}
		found = true
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.LastHeartbeatTime = status, now
		c.Reason, c.Message = "KubeletReady", "kubelet is posting ready status"
		if status != v1.ConditionTrue {
			c.Reason, c.Message = "KubeletNotReady", "container runtime is down"
		}
	}
	if !found {
		n.Status.Conditions = append(n.Status.Conditions, v1.NodeCondition{Type: v1.NodeReady, Status: status,
			LastHeartbeatTime: now, LastTransitionTime: now, Reason: "KubeletReady"})
	}
	_, err = nodes.UpdateStatus(context.TODO(), n, metav1.UpdateOptions{})
	require.NoError(e.T, err)
}

// HeartbeatUntil renews the node's Lease every period from first until
// until (inclusive), as a kubelet that stops at until would.
func (e *Env) HeartbeatUntil(node string, first, period, until time.Duration) {
	for t := first; t <= until; t += period {
		e.Eng.At(t, "heartbeat "+node, func() { e.RenewLease(node) })
	}
}

// Pod returns a pod bound to node, Running and Ready since readyAt, with the
// given tolerations (the API server adds the default 300 s ones if none
// match).
func Pod(ns, name, node string, readyAt time.Duration, tolerations ...v1.Toleration) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": strings.SplitN(name, "-", 2)[0]}},
		Spec: v1.PodSpec{NodeName: node, Tolerations: tolerations,
			Containers: []v1.Container{{Name: "c", Image: "img"}}},
		Status: v1.PodStatus{Phase: v1.PodRunning, Conditions: []v1.PodCondition{
			{Type: v1.PodScheduled, Status: v1.ConditionTrue, LastTransitionTime: At(readyAt)},
			{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: At(readyAt)},
		}},
	}
}

// CreatePod creates pod and then writes its status (create drops status).
func (e *Env) CreatePod(pod *v1.Pod) *v1.Pod {
	e.T.Helper()
	pods := e.Admin.CoreV1().Pods(pod.Namespace)
	st := pod.Status
	out, err := pods.Create(context.TODO(), pod, metav1.CreateOptions{})
	require.NoError(e.T, err)
	if st.Phase == "" && len(st.Conditions) == 0 {
		return out
	}
	out.Status = st
	out, err = pods.UpdateStatus(context.TODO(), out, metav1.UpdateOptions{})
	require.NoError(e.T, err)
	return out
}

// Events returns the events with reason in all namespaces, oldest first.
func (e *Env) Events(reason string) []v1.Event {
	e.T.Helper()
	l, err := e.Admin.CoreV1().Events(metav1.NamespaceAll).List(context.TODO(), metav1.ListOptions{})
	require.NoError(e.T, err)
	var out []v1.Event
	for _, ev := range l.Items {
		if ev.Reason == reason {
			out = append(out, ev)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FirstTimestamp.Before(&out[j].FirstTimestamp) })
	return out
}

// EventMessages returns "Kind/name: message" for the events with reason.
func (e *Env) EventMessages(reason string) []string {
	e.T.Helper()
	var out []string
	for _, ev := range e.Events(reason) {
		out = append(out, fmt.Sprintf("%s/%s: %s", ev.InvolvedObject.Kind, ev.InvolvedObject.Name, ev.Message))
	}
	return out
}

// Traced returns the trace records of component with verb.
func (e *Env) Traced(component, verb string) []sim.Record {
	var out []sim.Record
	for _, r := range e.Trace {
		if r.Component == component && r.Verb == verb {
			out = append(out, r)
		}
	}
	return out
}

// TracedAt returns the times of the trace records of component with verb
// about object name.
func (e *Env) TracedAt(component, verb, name string) []time.Duration {
	var out []time.Duration
	for _, r := range e.Trace {
		if r.Component == component && r.Verb == verb && r.Name == name {
			out = append(out, r.Time)
		}
	}
	return out
}
