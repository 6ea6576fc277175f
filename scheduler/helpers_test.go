package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/sim"
)

// fakeAPI records what the scheduler does. With echo set it plays the
// informer too: a Bind immediately delivers the bound pod back to the
// scheduler (OnPodUpdate), a Preempt deletes the victim at once.
type fakeAPI struct {
	s       *Scheduler
	echo    bool
	bindErr func(pod *v1.Pod, node string) error
	// preemptErr, when set, is what Preempt returns for a victim.
	preemptErr func(victim *v1.Pod) error
	binds      map[string]string // pod key → node
	order      []string          // bind order
	conds      map[string]v1.PodCondition
	nominate   map[string]string
	events     []string
	failedAt   map[string][]time.Duration // FailedScheduling event times per pod
	preempts   []string
	pods       map[string]*v1.Pod // latest version of every pod we touched
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{binds: map[string]string{}, conds: map[string]v1.PodCondition{}, nominate: map[string]string{},
		pods: map[string]*v1.Pod{}, failedAt: map[string][]time.Duration{}}
}

func key(p *v1.Pod) string { return p.Namespace + "/" + p.Name }

func (f *fakeAPI) Bind(pod *v1.Pod, node string) error {
	if f.bindErr != nil {
		if err := f.bindErr(pod, node); err != nil {
			return err
		}
	}
	f.binds[key(pod)] = node
	f.order = append(f.order, key(pod))
	if f.echo {
		bound := *pod
		bound.Spec.NodeName = node
		f.pods[key(pod)] = &bound
		f.s.OnPodUpdate(pod, &bound)
	}
	return nil
}

func (f *fakeAPI) SetUnschedulable(pod *v1.Pod, cond v1.PodCondition, nominated string) error {
	f.conds[key(pod)] = cond
	f.nominate[key(pod)] = nominated
	if f.echo {
		upd := *pod
		upd.Status.Conditions = []v1.PodCondition{cond}
		upd.Status.NominatedNodeName = nominated
		f.pods[key(pod)] = &upd
		f.s.OnPodUpdate(pod, &upd)
	}
	return nil
}

func (f *fakeAPI) SetNominatedNode(pod *v1.Pod, node string) error {
	f.nominate[key(pod)] = node
	return nil
}

func (f *fakeAPI) Preempt(victim, preemptor *v1.Pod) error {
	if f.preemptErr != nil {
		if err := f.preemptErr(victim); err != nil {
			return err
		}
	}
	f.preempts = append(f.preempts, key(victim))
	if f.echo {
		f.s.OnPodDelete(victim)
	}
	return nil
}

func (f *fakeAPI) Event(obj *v1.Pod, eventType, reason, message string) {
	f.events = append(f.events, fmt.Sprintf("%s %s %s: %s", key(obj), eventType, reason, message))
	if reason == "FailedScheduling" {
		f.failedAt[key(obj)] = append(f.failedAt[key(obj)], f.s.eng.Elapsed())
	}
}

// ---- object builders ----

type nodeOpt func(*v1.Node)

func node(name string, cpu, mem string, opts ...nodeOpt) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("node-" + name), Labels: map[string]string{v1.LabelHostname: name}},
		Status: v1.NodeStatus{Allocatable: v1.ResourceList{
			v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse(mem), v1.ResourcePods: resource.MustParse("110"),
		}},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func withLabels(kv ...string) nodeOpt {
	return func(n *v1.Node) {
		for i := 0; i < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

func withTaint(k, v string, eff v1.TaintEffect) nodeOpt {
	return func(n *v1.Node) { n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: k, Value: v, Effect: eff}) }
}

func unschedulable() nodeOpt { return func(n *v1.Node) { n.Spec.Unschedulable = true } }

func maxPods(p string) nodeOpt {
	return func(n *v1.Node) { n.Status.Allocatable[v1.ResourcePods] = resource.MustParse(p) }
}

func withImage(name string, size int64) nodeOpt {
	return func(n *v1.Node) {
		n.Status.Images = append(n.Status.Images, v1.ContainerImage{Names: []string{name}, SizeBytes: size})
	}
}

type podOpt func(*v1.Pod)

func pod(name string, cpu, mem string, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{}},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "app:1"}}},
	}
	req := v1.ResourceList{}
	if cpu != "" {
		req[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		req[v1.ResourceMemory] = resource.MustParse(mem)
	}
	if len(req) > 0 {
		p.Spec.Containers[0].Resources.Requests = req
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func podLabels(kv ...string) podOpt {
	return func(p *v1.Pod) {
		for i := 0; i < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func priority(v int32) podOpt { return func(p *v1.Pod) { p.Spec.Priority = &v } }

func onNode(n string) podOpt { return func(p *v1.Pod) { p.Spec.NodeName = n } }

func nodeSelector(kv ...string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.NodeSelector = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			p.Spec.NodeSelector[kv[i]] = kv[i+1]
		}
	}
}

func toleration(k, v string, eff v1.TaintEffect) podOpt {
	return func(p *v1.Pod) {
		op := v1.TolerationOpEqual
		if v == "" {
			op = v1.TolerationOpExists
		}
		p.Spec.Tolerations = append(p.Spec.Tolerations, v1.Toleration{Key: k, Operator: op, Value: v, Effect: eff})
	}
}

func hostPort(port int32) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, v1.ContainerPort{ContainerPort: port, HostPort: port})
	}
}

func gates(names ...string) podOpt {
	return func(p *v1.Pod) {
		for _, n := range names {
			p.Spec.SchedulingGates = append(p.Spec.SchedulingGates, v1.PodSchedulingGate{Name: n})
		}
	}
}

func neverPreempt() podOpt {
	return func(p *v1.Pod) { never := v1.PreemptNever; p.Spec.PreemptionPolicy = &never }
}

func spread(key string, maxSkew int32, when v1.UnsatisfiableConstraintAction, sel map[string]string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, v1.TopologySpreadConstraint{
			MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: when,
			LabelSelector: &metav1.LabelSelector{MatchLabels: sel},
		})
	}
}

// env is a scheduler on a fresh engine with a fake API.
type env struct {
	t   testing.TB
	eng *sim.Engine
	api *fakeAPI
	s   *Scheduler
}

func newEnv(t testing.TB, cfg Config, echo bool) *env {
	eng := sim.New(1)
	api := newFakeAPI()
	api.echo = echo
	s := New(eng, api, cfg)
	api.s = s
	return &env{t: t, eng: eng, api: api, s: s}
}

func (e *env) addNodes(ns ...*v1.Node) {
	for _, n := range ns {
		e.s.OnNodeAdd(n)
	}
}

func (e *env) addPods(ps ...*v1.Pod) {
	for _, p := range ps {
		e.api.pods[key(p)] = p
		e.s.OnPodAdd(p)
	}
}

// settle runs the engine until nothing but background work is left (or
// a step limit trips, which fails the test).
func (e *env) settle() {
	e.t.Helper()
	if !e.eng.RunUntilIdle(1_000_000) {
		e.t.Fatalf("engine did not become idle")
	}
}

var discardLogger = logr.Discard()
