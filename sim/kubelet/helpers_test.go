package kubelet_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/kubelet"
)

var ctx = context.Background()

// env is a cluster without a scheduler: tests bind pods by setting
// spec.nodeName, so only the kubelet acts on them.
type env struct {
	t    *testing.T
	c    *cluster.Cluster
	cl   client.Interface
	recs []sim.Record
	// deleted holds the last version of every pod deleted (its final status).
	deleted map[string]*v1.Pod
}

func newEnv(t *testing.T, kcfg kubelet.Config) *env {
	t.Helper()
	kcfg.DisableJitter = true
	e := &env{t: t, deleted: map[string]*v1.Pod{}}
	e.c = cluster.New(cluster.Config{Seed: 7, DetectCacheMutations: true, NoScheduler: true,
		Kubelet: cluster.KubeletConfig{Config: kcfg}})
	e.c.Engine.AddTraceSink(func(r sim.Record) { e.recs = append(e.recs, r) })
	e.c.Informers.Pods().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if p, ok := obj.(*v1.Pod); ok {
			e.deleted[p.Name] = p
		}
	}})
	e.cl = e.c.Client("test")
	e.c.Start()
	t.Cleanup(func() {
		if !t.Failed() {
			require.NoError(t, e.c.Informers.CheckMutations())
		}
	})
	return e
}

func (e *env) node(name, cpu, mem string) {
	e.t.Helper()
	require.NoError(e.t, e.c.AddNode(cluster.NodeSpec{Name: name,
		Capacity: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse(mem)}}))
}

// create creates pod bound to node.
func (e *env) create(pod *v1.Pod, node string) {
	e.t.Helper()
	pod.Spec.NodeName = node
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	_, err := e.cl.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	require.NoError(e.t, err)
}

func (e *env) get(name string) *v1.Pod {
	e.t.Helper()
	p, err := e.cl.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	require.NoError(e.t, err)
	return p
}

func (e *env) gone(name string) bool {
	_, err := e.cl.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	return err != nil
}

func (e *env) at(d time.Duration) { e.c.Engine.RunUntil(d) }

// servingChange is one call of a kubelet's serving observers.
type servingChange struct {
	at      time.Duration
	name    string
	serving bool
}

// servingChanges records what node's kubelet tells its serving observers
// from now on.
func (e *env) servingChanges(node string) *[]servingChange {
	var changes []servingChange
	e.c.Kubelet(node).OnServingChange(func(_, name string, serving bool) {
		changes = append(changes, servingChange{e.now(), name, serving})
	})
	return &changes
}

func (e *env) now() time.Duration { return e.c.Engine.Elapsed() }

// events lists "t Reason: message" for the events about object, in the
// order they were recorded (repeats of a folded event included).
func (e *env) events(object string) []string {
	var out []string
	for _, r := range e.recs {
		if r.Kind != "Event" || (r.Verb != "create" && r.Verb != "update") {
			continue
		}
		// msg: "<type> <reason> <Kind>/<name>: <message>"
		parts := strings.SplitN(r.Msg, " ", 4)
		if len(parts) < 4 || !strings.HasSuffix(parts[2], "/"+object+":") {
			continue
		}
		out = append(out, fmt.Sprintf("%v %s: %s", r.Time, parts[1], parts[3]))
	}
	return out
}

// traces returns the records with verb (of any component).
func (e *env) traces(verb string) []sim.Record {
	var out []sim.Record
	for _, r := range e.recs {
		if r.Verb == verb {
			out = append(out, r)
		}
	}
	return out
}

// times returns the times of the records with verb about name.
func (e *env) times(verb, name string) []time.Duration {
	var out []time.Duration
	for _, r := range e.recs {
		if r.Verb == verb && r.Name == name {
			out = append(out, r.Time)
		}
	}
	return out
}

func cond(p *v1.Pod, t v1.PodConditionType) v1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return v1.PodCondition{}
}

func condTypes(p *v1.Pod) []string {
	var out []string
	for _, c := range p.Status.Conditions {
		out = append(out, string(c.Type)+"="+string(c.Status))
	}
	return out
}

// at0 is the API timestamp of simulated time d (whole seconds, as stored).
func at0(d time.Duration) metav1.Time { return metav1.NewTime(sim.Epoch.Add(d).Truncate(time.Second)) }

func pod(name string, containers ...v1.Container) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: map[string]string{}},
		Spec: v1.PodSpec{Containers: containers}}
}

func ctr(name, image string) v1.Container { return v1.Container{Name: name, Image: image} }

func withRequests(c v1.Container, cpu, mem string) v1.Container {
	c.Resources.Requests = v1.ResourceList{}
	if cpu != "" {
		c.Resources.Requests[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		c.Resources.Requests[v1.ResourceMemory] = resource.MustParse(mem)
	}
	return c
}

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func sortedStrings(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

func containerStatus(p *v1.Pod, name string) v1.ContainerStatus {
	for _, s := range append(append([]v1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if s.Name == name {
			return s
		}
	}
	return v1.ContainerStatus{}
}

func state(s v1.ContainerStatus) string {
	switch {
	case s.State.Running != nil:
		return "running"
	case s.State.Terminated != nil:
		return fmt.Sprintf("terminated:%s:%d", s.State.Terminated.Reason, s.State.Terminated.ExitCode)
	case s.State.Waiting != nil:
		return "waiting:" + s.State.Waiting.Reason
	}
	return "none"
}
