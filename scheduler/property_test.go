package scheduler

import (
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	v1helper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"pgregory.net/rapid"

	fw "github.com/kubesim/kubesim/scheduler/internal/framework"
	"github.com/kubesim/kubesim/scheduler/internal/plugins"
	"github.com/kubesim/kubesim/sim"
)

// checkingAPI binds immediately (echoing the bound pod to the scheduler) and,
// at every Bind, re-runs every filter for the pod against the scheduler's
// snapshot without the pod itself: a bound pod must pass all of them.
type checkingAPI struct {
	*fakeAPI
	t         *rapid.T
	recheck   bool
	rechecked int
	nodes     map[string]*v1.Node
	pods      map[string]*v1.Pod
}

func (c *checkingAPI) Bind(pod *v1.Pod, node string) error {
	s := c.s
	if c.recheck {
		pi := s.cache.ForgetPod(pod.UID)
		ni := s.cache.Get(node)
		if ni == nil {
			c.t.Fatalf("bind of %s to unknown node %s", key(pod), node)
		}
		cs := plugins.NewCycleState()
		res := s.fwk.RunPreFilter(cs, pi)
		if res.Status != nil {
			c.t.Fatalf("bind of %s: PreFilter rejects it: %s", key(pod), res.Status.Message())
		}
		if res.NodeNames != nil {
			if _, ok := res.NodeNames[node]; !ok {
				c.t.Fatalf("bind of %s: node %s excluded by PreFilter", key(pod), node)
			}
		}
		if st := s.fwk.RunFilterWithNominated(cs, pi, ni, s.nominator.podsFor(node)); st != nil {
			c.t.Fatalf("bind of %s to %s fails %s: %s", key(pod), node, st.Plugin(), st.Message())
		}
		s.cache.AssumePod(pi, node)
		c.oracle(pod, node)
		c.rechecked++
	}
	return c.fakeAPI.Bind(pod, node)
}

// oracle re-derives the spread and inter-pod affinity rules from the test's
// own record of bindings, independently of the scheduler's code.
func (c *checkingAPI) oracle(pod *v1.Pod, nodeName string) {
	node := c.nodes[nodeName]
	type placed struct {
		p *v1.Pod
		n *v1.Node
	}
	var bound []placed
	for k, nn := range c.binds {
		bound = append(bound, placed{c.pods[k], c.nodes[nn]})
	}
	matches := func(sel *metav1.LabelSelector, p *v1.Pod) bool {
		for k, v := range sel.MatchLabels {
			if p.Labels[k] != v {
				return false
			}
		}
		return true
	}
	req := nodeaffinity.GetRequiredNodeAffinity(pod)
	for _, tsc := range pod.Spec.TopologySpreadConstraints {
		if tsc.WhenUnsatisfiable != v1.DoNotSchedule {
			continue
		}
		counts := map[string]int{}
		for _, n := range c.nodes {
			if v, ok := n.Labels[tsc.TopologyKey]; ok {
				if m, _ := req.Match(n); m && c.s.cache.Get(n.Name) != nil {
					counts[v] += 0
				}
			}
		}
		for _, b := range bound {
			v, ok := b.n.Labels[tsc.TopologyKey]
			if _, eligible := counts[v]; ok && eligible && b.p.Namespace == pod.Namespace && matches(tsc.LabelSelector, b.p) {
				if m, _ := req.Match(b.n); m {
					counts[v]++
				}
			}
		}
		minCount := -1
		for _, n := range counts {
			if minCount < 0 || n < minCount {
				minCount = n
			}
		}
		self := 0
		if matches(tsc.LabelSelector, pod) {
			self = 1
		}
		v, ok := node.Labels[tsc.TopologyKey]
		if !ok || counts[v]+self-minCount > int(tsc.MaxSkew) {
			c.t.Fatalf("%s on %s violates spread over %s (counts %v, maxSkew %d)", key(pod), nodeName, tsc.TopologyKey, counts, tsc.MaxSkew)
		}
	}
	a := pod.Spec.Affinity
	if a != nil && a.PodAntiAffinity != nil {
		for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			for _, b := range bound {
				if b.n.Labels[term.TopologyKey] == node.Labels[term.TopologyKey] && matches(term.LabelSelector, b.p) {
					c.t.Fatalf("%s on %s next to %s despite anti-affinity", key(pod), nodeName, key(b.p))
				}
			}
		}
	}
	for _, b := range bound {
		if ba := b.p.Spec.Affinity; ba != nil && ba.PodAntiAffinity != nil {
			for _, term := range ba.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				if b.n.Labels[term.TopologyKey] == node.Labels[term.TopologyKey] && matches(term.LabelSelector, pod) {
					c.t.Fatalf("%s on %s violates the anti-affinity of %s", key(pod), nodeName, key(b.p))
				}
			}
		}
	}
	if a != nil && a.PodAffinity != nil {
		for _, term := range a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			zone, ok := node.Labels[term.TopologyKey]
			if !ok {
				c.t.Fatalf("%s on %s lacking affinity topology key %s", key(pod), nodeName, term.TopologyKey)
			}
			found, anywhere := false, false
			// Only pods on nodes that have the topology key count, as upstream.
			for _, b := range bound {
				if v, ok := b.n.Labels[term.TopologyKey]; ok && matches(term.LabelSelector, b.p) {
					anywhere = true
					if v == zone {
						found = true
					}
				}
			}
			if !found && (anywhere || !matches(term.LabelSelector, pod)) {
				c.t.Fatalf("%s on %s without a pod matching its affinity in %s=%s", key(pod), nodeName, term.TopologyKey, zone)
			}
		}
	}
}

var zones = []string{"z1", "z2", "z3"}

func genNode(t *rapid.T, i int) *v1.Node {
	name := fmt.Sprintf("node-%d", i)
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelHostname: name}},
		Status: v1.NodeStatus{Allocatable: v1.ResourceList{
			v1.ResourceCPU:    *resource.NewMilliQuantity(rapid.SampledFrom([]int64{1000, 2000, 4000, 8000}).Draw(t, "cpu"), resource.DecimalSI),
			v1.ResourceMemory: *resource.NewQuantity(rapid.SampledFrom([]int64{1, 2, 4, 8}).Draw(t, "memGi")<<30, resource.BinarySI),
			v1.ResourcePods:   *resource.NewQuantity(int64(rapid.IntRange(1, 8).Draw(t, "maxPods")), resource.DecimalSI),
		}},
	}
	if rapid.IntRange(0, 9).Draw(t, "zoned") > 0 {
		n.Labels[v1.LabelTopologyZone] = rapid.SampledFrom(zones).Draw(t, "zone")
	}
	n.Labels["disk"] = rapid.SampledFrom([]string{"ssd", "hdd"}).Draw(t, "disk")
	if rapid.IntRange(0, 4).Draw(t, "dedicated") == 0 {
		n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule})
	}
	if rapid.IntRange(0, 4).Draw(t, "prefer") == 0 {
		n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: "spot", Value: "yes", Effect: v1.TaintEffectPreferNoSchedule})
	}
	n.Spec.Unschedulable = rapid.IntRange(0, 9).Draw(t, "unschedulable") == 0
	return n
}

func genPod(t *rapid.T, i int) *v1.Pod {
	name := fmt.Sprintf("pod-%d", i)
	app := rapid.SampledFrom([]string{"web", "db", "batch"}).Draw(t, "app")
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(name), Labels: map[string]string{"app": app}},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "app:1"}}},
	}
	req := v1.ResourceList{}
	if cpu := rapid.SampledFrom([]int64{0, 100, 250, 500, 1000, 2000}).Draw(t, "reqCPU"); cpu > 0 {
		req[v1.ResourceCPU] = *resource.NewMilliQuantity(cpu, resource.DecimalSI)
	}
	if mem := rapid.SampledFrom([]int64{0, 128, 512, 1024, 3072}).Draw(t, "reqMiB"); mem > 0 {
		req[v1.ResourceMemory] = *resource.NewQuantity(mem<<20, resource.BinarySI)
	}
	if len(req) > 0 {
		p.Spec.Containers[0].Resources.Requests = req
	}
	if rapid.IntRange(0, 3).Draw(t, "selector") == 0 {
		p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	}
	if rapid.IntRange(0, 2).Draw(t, "tolerates") == 0 {
		p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "gpu", Effect: v1.TaintEffectNoSchedule}}
	}
	if rapid.IntRange(0, 3).Draw(t, "port") == 0 {
		port := rapid.SampledFrom([]int32{80, 443}).Draw(t, "hostPort")
		p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: port, HostPort: port}}
	}
	if rapid.IntRange(0, 2).Draw(t, "spread") == 0 {
		p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{
			MaxSkew:           int32(rapid.IntRange(1, 2).Draw(t, "maxSkew")),
			TopologyKey:       rapid.SampledFrom([]string{v1.LabelTopologyZone, v1.LabelHostname}).Draw(t, "topologyKey"),
			WhenUnsatisfiable: rapid.SampledFrom([]v1.UnsatisfiableConstraintAction{v1.DoNotSchedule, v1.ScheduleAnyway}).Draw(t, "when"),
			LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
		}}
	}
	switch rapid.IntRange(0, 5).Draw(t, "podAffinity") {
	case 0:
		p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}, TopologyKey: v1.LabelHostname}}}}
	case 1:
		p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: v1.LabelTopologyZone}}}}
	}
	return p
}

// TestPropertyNoOvercommitAndFiltersHoldAtBind schedules random pods onto
// random nodes and checks, with an oracle independent of the scheduler's
// cache, that no node is over-committed (cpu, memory, pods, host ports),
// that every bound pod tolerates its node and matches its node selector,
// and (with the recheck API) that every filter passes at bind time.
func TestPropertyNoOvercommitAndFiltersHoldAtBind(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		bindDelay := rapid.SampledFrom([]time.Duration{0, 0, time.Second}).Draw(rt, "bindDelay")
		cfg := DefaultConfig()
		cfg.BindDelay = bindDelay
		eng := sim.New(rapid.Uint64().Draw(rt, "seed"))
		nodes := map[string]*v1.Node{}
		pods := map[string]*v1.Pod{}
		api := &checkingAPI{fakeAPI: newFakeAPI(), t: rt, recheck: bindDelay == 0, nodes: nodes, pods: pods}
		api.echo = true
		s := New(eng, api, cfg)
		api.s = s

		numNodes := rapid.IntRange(1, 6).Draw(rt, "numNodes")
		late := rapid.IntRange(0, numNodes-1).Draw(rt, "lateNodes")
		var lateNodes []*v1.Node
		for i := 0; i < numNodes; i++ {
			n := genNode(rt, i)
			nodes[n.Name] = n
			if i < numNodes-late {
				s.OnNodeAdd(n)
			} else {
				lateNodes = append(lateNodes, n)
			}
		}
		for i, n := 0, rapid.IntRange(1, 25).Draw(rt, "numPods"); i < n; i++ {
			p := genPod(rt, i)
			pods[key(p)] = p
			s.OnPodAdd(p)
			if rapid.IntRange(0, 3).Draw(rt, "step") == 0 {
				eng.RunFor(time.Duration(rapid.IntRange(0, 3000).Draw(rt, "stepMs")) * time.Millisecond)
			}
		}
		eng.RunFor(10 * time.Second)
		for _, n := range lateNodes {
			s.OnNodeAdd(n)
			eng.RunFor(time.Duration(rapid.IntRange(0, 20).Draw(rt, "lateGapS")) * time.Second)
		}
		eng.RunFor(time.Minute)

		type usage struct {
			cpu, mem int64
			pods     int
			ports    map[int32]bool
		}
		used := map[string]*usage{}
		for k, nodeName := range api.binds {
			p, n := pods[k], nodes[nodeName]
			u := used[nodeName]
			if u == nil {
				u = &usage{ports: map[int32]bool{}}
				used[nodeName] = u
			}
			pi := fw.NewPodInfo(p, 0)
			u.cpu += pi.Requests.MilliCPU
			u.mem += pi.Requests.Memory
			u.pods++
			for _, c := range p.Spec.Containers {
				for _, port := range c.Ports {
					if u.ports[port.HostPort] {
						rt.Fatalf("host port %d used twice on %s", port.HostPort, nodeName)
					}
					u.ports[port.HostPort] = true
				}
			}
			for i := range n.Spec.Taints {
				taint := &n.Spec.Taints[i]
				if (taint.Effect == v1.TaintEffectNoSchedule) && !v1helper.TolerationsTolerateTaint(discardLogger, p.Spec.Tolerations, taint, false) {
					rt.Fatalf("%s bound to %s without tolerating %v", k, nodeName, taint)
				}
			}
			if ok, _ := nodeaffinity.GetRequiredNodeAffinity(p).Match(n); !ok {
				rt.Fatalf("%s bound to %s against its node selector", k, nodeName)
			}
			if n.Spec.Unschedulable {
				rt.Fatalf("%s bound to unschedulable node %s", k, nodeName)
			}
		}
		for name, u := range used {
			a := nodes[name].Status.Allocatable
			if u.cpu > a.Cpu().MilliValue() || u.mem > a.Memory().Value() || int64(u.pods) > a.Pods().Value() {
				rt.Fatalf("node %s over-committed: cpu %dm/%dm mem %d/%d pods %d/%d", name,
					u.cpu, a.Cpu().MilliValue(), u.mem, a.Memory().Value(), u.pods, a.Pods().Value())
			}
		}
		// Liveness: every pod is bound or has been told why not.
		for k := range pods {
			if _, bound := api.binds[k]; !bound {
				if c, ok := api.conds[k]; !ok || c.Reason != v1.PodReasonUnschedulable {
					rt.Fatalf("%s neither bound nor marked unschedulable", k)
				}
			}
		}
		if api.recheck && len(api.binds) != api.rechecked {
			rt.Fatalf("rechecked %d of %d binds", api.rechecked, len(api.binds))
		}
	})
}
