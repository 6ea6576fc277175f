package plugins

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/scheduler/internal/cache"
	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
)

// fakeSnap is a Snapshot over a real cache, with namespace labels and
// Services for the default spread selector.
type fakeSnap struct {
	c        *cache.Cache
	ns       map[string]labels.Set
	services []*v1.Service
}

func newSnap(nodes []*v1.Node, pods []*v1.Pod) *fakeSnap {
	s := &fakeSnap{c: cache.New(0), ns: map[string]labels.Set{}}
	for _, n := range nodes {
		s.c.AddNode(n)
	}
	for i, p := range pods {
		if p.UID == "" {
			p.UID = types.UID(p.Namespace + "/" + p.Name + "/" + string(rune('a'+i)))
		}
		s.c.AddPod(fw.NewPodInfo(p, prio(p)))
	}
	return s
}

func prio(p *v1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

func (s *fakeSnap) Nodes() []*fw.NodeInfo              { return s.c.Nodes() }
func (s *fakeSnap) Get(name string) *fw.NodeInfo       { return s.c.Get(name) }
func (s *fakeSnap) ImageNumNodes(image string) int     { return s.c.ImageNumNodes(image) }
func (s *fakeSnap) HaveAffinityPods() bool             { return s.c.HaveAffinityPods() }
func (s *fakeSnap) HaveRequiredAntiAffinityPods() bool { return s.c.HaveRequiredAntiAffinityPods() }
func (s *fakeSnap) NamespaceLabels(ns string) labels.Set {
	if l, ok := s.ns[ns]; ok {
		return l
	}
	return labels.Set{v1.LabelMetadataName: ns}
}
func (s *fakeSnap) NamespacesMatching(sel labels.Selector) []string {
	var out []string
	for ns, l := range s.ns {
		if sel.Matches(l) {
			out = append(out, ns)
		}
	}
	sort.Strings(out)
	return out
}
func (s *fakeSnap) DefaultSpreadSelector(pod *v1.Pod) labels.Selector {
	set := labels.Set{}
	for _, svc := range s.services {
		if svc.Namespace == pod.Namespace && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			set = labels.Merge(set, svc.Spec.Selector)
		}
	}
	return set.AsSelector()
}

// scores runs PreFilter and the whole score phase for pod on the feasible
// nodes and returns plugin id's normalised scores by node name.
func scores(t *testing.T, s *fakeSnap, id ID, pod *v1.Pod, feasible ...string) map[string]int64 {
	t.Helper()
	f := New(s, Options{})
	cs := NewCycleState()
	pi := fw.NewPodInfo(pod, prio(pod))
	f.RunPreFilter(cs, pi)
	var nodes []*fw.NodeInfo
	for _, n := range feasible {
		ni := s.c.Get(n)
		if ni == nil {
			t.Fatalf("no node %s", n)
		}
		nodes = append(nodes, ni)
	}
	var sc Scores
	if st := f.RunScore(cs, pi, nodes, &sc); st != nil {
		t.Fatalf("score: %v", st.Message())
	}
	ids, weights := f.ScorePlugins()
	for j := range nodes {
		// The total is the weighted sum of the normalised rows, and a
		// plugin without ScoreExtensions has its raw scores as its
		// normalised ones (the framework fuses these passes).
		var want int64
		for i := range ids {
			if sc.Skipped[i] {
				continue
			}
			if _, ext := f.scores[i].(scoreExtensions); !ext {
				require.Equal(t, sc.Raw[i][j], sc.Norm[i][j], "%v has no ScoreExtensions", ids[i])
			}
			want += sc.Norm[i][j] * weights[i]
		}
		require.Equal(t, want, sc.Total[j], "total of %s", nodes[j].Name)
	}
	for i, pid := range ids {
		if pid == id {
			out := map[string]int64{}
			for j, n := range feasible {
				if sc.Skipped[i] {
					require.Empty(t, sc.Norm[i], "a skipped plugin's rows are empty")
					out[n] = 0 // it contributes nothing
					continue
				}
				out[n] = sc.Norm[i][j]
			}
			return out
		}
	}
	t.Fatalf("plugin %v does not score", id)
	return nil
}

// filter runs PreFilter and then plugin id's Filter on every node; a nil
// status means the node passes (also when the PreFilter said Skip).
func filter(t *testing.T, s *fakeSnap, id ID, pod *v1.Pod) map[string]*fw.Status {
	t.Helper()
	f := New(s, Options{})
	cs := NewCycleState()
	pi := fw.NewPodInfo(pod, prio(pod))
	res := f.RunPreFilter(cs, pi)
	out := map[string]*fw.Status{}
	for _, n := range s.c.Nodes() {
		if res.Status != nil && res.Rejectors.Has(id) {
			out[n.Name] = res.Status
			continue
		}
		if cs.skipFilter.Has(id) {
			out[n.Name] = nil
			continue
		}
		out[n.Name] = f.all[id].(FilterPlugin).Filter(cs, pi, n)
	}
	return out
}

// ---- builders in the spirit of upstream's st.MakeNode / st.MakePod ----

type nodeB struct{ n *v1.Node }

func mkNode(name string) *nodeB {
	return &nodeB{&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Status: v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourcePods: resource.MustParse("110")}}}}
}

func (b *nodeB) label(k, v string) *nodeB { b.n.Labels[k] = v; return b }

// capacity sets allocatable like upstream's MakeNode().Capacity: quantities
// are parsed as written ("4000" cpu means 4000 cores).
func (b *nodeB) capacity(kv map[v1.ResourceName]string) *nodeB {
	for k, v := range kv {
		b.n.Status.Allocatable[k] = resource.MustParse(v)
	}
	return b
}

func (b *nodeB) milli(cpu, mem int64) *nodeB {
	b.n.Status.Allocatable[v1.ResourceCPU] = *resource.NewMilliQuantity(cpu, resource.DecimalSI)
	b.n.Status.Allocatable[v1.ResourceMemory] = *resource.NewQuantity(mem, resource.BinarySI)
	return b
}

func (b *nodeB) taint(k, v string, e v1.TaintEffect) *nodeB {
	b.n.Spec.Taints = append(b.n.Spec.Taints, v1.Taint{Key: k, Value: v, Effect: e})
	return b
}

func (b *nodeB) images(names []string, size int64) *nodeB {
	b.n.Status.Images = append(b.n.Status.Images, v1.ContainerImage{Names: names, SizeBytes: size})
	return b
}

func (b *nodeB) obj() *v1.Node { return b.n }

type podB struct{ p *v1.Pod }

func mkPod(name string) *podB {
	return &podB{&v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(name), Labels: map[string]string{}}}}
}

func (b *podB) ns(ns string) *podB      { b.p.Namespace = ns; return b }
func (b *podB) node(n string) *podB     { b.p.Spec.NodeName = n; return b }
func (b *podB) label(k, v string) *podB { b.p.Labels[k] = v; return b }
func (b *podB) containerImage(i string) *podB {
	b.p.Spec.Containers = append(b.p.Spec.Containers, v1.Container{Name: "c", Image: i})
	return b
}

// req adds a container with the given requests (upstream MakePod().Req).
func (b *podB) req(kv map[v1.ResourceName]string) *podB {
	rl := v1.ResourceList{}
	for k, v := range kv {
		rl[k] = resource.MustParse(v)
	}
	b.p.Spec.Containers = append(b.p.Spec.Containers, v1.Container{Name: "c", Resources: v1.ResourceRequirements{Requests: rl}})
	return b
}

func (b *podB) milli(cpu, mem int64) *podB {
	rl := v1.ResourceList{
		v1.ResourceCPU:    *resource.NewMilliQuantity(cpu, resource.DecimalSI),
		v1.ResourceMemory: *resource.NewQuantity(mem, resource.BinarySI),
	}
	b.p.Spec.Containers = append(b.p.Spec.Containers, v1.Container{Name: "c", Resources: v1.ResourceRequirements{Requests: rl}})
	return b
}

func (b *podB) toleration(k, op, v string, e v1.TaintEffect) *podB {
	b.p.Spec.Tolerations = append(b.p.Spec.Tolerations, v1.Toleration{Key: k, Operator: v1.TolerationOperator(op), Value: v, Effect: e})
	return b
}

func (b *podB) spread(maxSkew int32, key string, when v1.UnsatisfiableConstraintAction, sel *metav1.LabelSelector) *podB {
	b.p.Spec.TopologySpreadConstraints = append(b.p.Spec.TopologySpreadConstraints,
		v1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: when, LabelSelector: sel})
	return b
}

func (b *podB) affinity(a *v1.Affinity) *podB { b.p.Spec.Affinity = a; return b }

func (b *podB) hostPort(port int32, proto v1.Protocol, ip string) *podB {
	if len(b.p.Spec.Containers) == 0 {
		b.p.Spec.Containers = append(b.p.Spec.Containers, v1.Container{Name: "c"})
	}
	c := &b.p.Spec.Containers[0]
	c.Ports = append(c.Ports, v1.ContainerPort{HostPort: port, ContainerPort: port, Protocol: proto, HostIP: ip})
	return b
}

func (b *podB) obj() *v1.Pod { return b.p }

func exists(key string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: metav1.LabelSelectorOpExists}}}
}

func codes(m map[string]*fw.Status) map[string]fw.Code {
	out := map[string]fw.Code{}
	for k, v := range m {
		out[k] = v.Code()
	}
	return out
}

func resourceQ(s string) resource.Quantity { return resource.MustParse(s) }

func milliQ(m int64) *resource.Quantity { return resource.NewMilliQuantity(m, resource.DecimalSI) }
