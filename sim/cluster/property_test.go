package cluster_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	resourcehelper "k8s.io/component-helpers/resource"
	v1helper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/scheduler"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/kubelet"
)

// TestPropertyRealSchedulerAndKubelets: random nodes and pods go through
// the real scheduler and kubelets. After every engine step no node is
// over-committed (the requests of its bound, non-terminated pods fit its
// allocatable, and so does their number), and every bind is checked, right
// after the step that made it, against every filter on the node as the API
// had it: unschedulable, taints, node selector and affinity, resources and
// pod count. The scheduler's Explain record names the same node, and no
// kubelet ever rejects a pod the scheduler placed.
func TestPropertyRealSchedulerAndKubelets(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		seed := rapid.Uint64().Draw(rt, "seed")
		c := cluster.New(cluster.Config{Seed: seed, DetectCacheMutations: true,
			Kubelet: cluster.KubeletConfig{Config: kubelet.Config{NodeReadyDelay: time.Duration(rapid.IntRange(0, 3).Draw(rt, "readyDelay")) * time.Second}}})
		var binds []sim.Record
		c.Engine.AddTraceSink(func(r sim.Record) {
			if r.Verb == "bind" && r.Kind == "Pod" {
				binds = append(binds, r)
			}
		})
		c.Start()
		cl := c.Client("workload")

		nNodes := rapid.IntRange(1, 6).Draw(rt, "nodes")
		for i := 0; i < nNodes; i++ {
			spec := cluster.NodeSpec{Name: fmt.Sprintf("n%d", i),
				Capacity: v1.ResourceList{
					v1.ResourceCPU:    resource.MustParse(rapid.SampledFrom([]string{"1", "2", "4"}).Draw(rt, "cpu")),
					v1.ResourceMemory: resource.MustParse(rapid.SampledFrom([]string{"1Gi", "2Gi", "4Gi"}).Draw(rt, "mem")),
					v1.ResourcePods:   *resource.NewQuantity(int64(rapid.IntRange(2, 8).Draw(rt, "maxPods")), resource.DecimalSI),
				},
				Labels: map[string]string{v1.LabelTopologyZone: rapid.SampledFrom([]string{"z1", "z2"}).Draw(rt, "zone")},
			}
			if rapid.Bool().Draw(rt, "ssd") {
				spec.Labels["disk"] = "ssd"
			}
			if rapid.IntRange(0, 3).Draw(rt, "tainted") == 0 {
				spec.Taints = []v1.Taint{{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}}
			}
			at := time.Duration(rapid.IntRange(0, 20).Draw(rt, "nodeAt")) * time.Second
			c.Inject(cluster.Fault{At: at, Action: cluster.FaultAddNode, Spec: &spec})
		}
		nPods := rapid.IntRange(1, 30).Draw(rt, "pods")
		for i := 0; i < nPods; i++ {
			name := fmt.Sprintf("p%d", i)
			ctr := v1.Container{Name: "c", Image: rapid.SampledFrom([]string{"a:1", "b:1", "c:1"}).Draw(rt, "image"),
				Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
					v1.ResourceCPU:    resource.MustParse(rapid.SampledFrom([]string{"0", "100m", "250m", "500m", "900m", "1500m"}).Draw(rt, "podCPU")),
					v1.ResourceMemory: resource.MustParse(rapid.SampledFrom([]string{"0", "128Mi", "512Mi", "1Gi"}).Draw(rt, "podMem")),
				}}}
			p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: map[string]string{}},
				Spec: v1.PodSpec{Containers: []v1.Container{ctr}}}
			switch rapid.IntRange(0, 3).Draw(rt, "behaviour") {
			case 1:
				p.Spec.RestartPolicy = v1.RestartPolicyNever
				p.Annotations[kubelet.AnnotationCompleteAfter] = fmt.Sprintf("%ds", rapid.IntRange(1, 60).Draw(rt, "runFor"))
			case 2:
				p.Annotations[kubelet.AnnotationCrashAfter] = fmt.Sprintf("%ds", rapid.IntRange(1, 30).Draw(rt, "crashAfter"))
			}
			if rapid.IntRange(0, 3).Draw(rt, "selector") == 0 {
				p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
			}
			if rapid.IntRange(0, 3).Draw(rt, "tolerates") == 0 {
				p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "db", Effect: v1.TaintEffectNoSchedule}}
			}
			at := time.Duration(rapid.IntRange(0, 90).Draw(rt, "podAt")) * time.Second
			c.Engine.At(at, "test create", func() {
				if _, err := cl.CoreV1().Pods("default").Create(bg, p, metav1.CreateOptions{}); err != nil {
					rt.Fatalf("create %s: %v", name, err)
				}
			})
			if rapid.IntRange(0, 4).Draw(rt, "deleted") == 0 {
				del := at + time.Duration(rapid.IntRange(1, 120).Draw(rt, "deleteAfter"))*time.Second
				c.Engine.At(del, "test delete", func() { _ = cl.CoreV1().Pods("default").Delete(bg, name, metav1.DeleteOptions{}) })
			}
		}

		podRes, _ := c.API.Resource("pods")
		nodeRes, _ := c.API.Resource("nodes")
		check := func(label string) {
			objs, _, err := c.API.List(podRes, "", metav1.ListOptions{})
			if err != nil {
				rt.Fatal(err)
			}
			nodeObjs, _, err := c.API.List(nodeRes, "", metav1.ListOptions{})
			if err != nil {
				rt.Fatal(err)
			}
			nodes := map[string]*v1.Node{}
			for _, o := range nodeObjs {
				nodes[o.(*v1.Node).Name] = o.(*v1.Node)
			}
			used := map[string]v1.ResourceList{}
			count := map[string]int64{}
			var pods []*v1.Pod
			for _, o := range objs {
				p := o.(*v1.Pod)
				pods = append(pods, p)
				if strings.HasPrefix(p.Status.Reason, "OutOf") {
					rt.Fatalf("%s: kubelet rejected scheduled pod %s: %s", label, p.Name, p.Status.Message)
				}
				if p.Spec.NodeName == "" || p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed {
					continue
				}
				count[p.Spec.NodeName]++
				addTo(used, p.Spec.NodeName, p)
			}
			for name, u := range used {
				n := nodes[name]
				if n == nil {
					rt.Fatalf("%s: pods bound to missing node %s", label, name)
				}
				overcommitted(rt, label, n, u, count[name])
			}
			// Binds made by this step: every filter held on the node.
			for _, b := range binds {
				var pod *v1.Pod
				for _, p := range pods {
					if p.Name == b.Name && p.Namespace == b.Namespace {
						pod = p
					}
				}
				if pod == nil {
					continue // deleted in the same step
				}
				n := nodes[pod.Spec.NodeName]
				if n == nil {
					rt.Fatalf("%s: %s bound to missing node %s", label, pod.Name, pod.Spec.NodeName)
				}
				if n.Spec.Unschedulable {
					rt.Fatalf("%s: %s bound to unschedulable %s", label, pod.Name, n.Name)
				}
				if taint, bad := v1helper.FindMatchingUntoleratedTaint(logr.Discard(), n.Spec.Taints, pod.Spec.Tolerations, func(t *v1.Taint) bool {
					return t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute
				}, false); bad {
					rt.Fatalf("%s: %s bound to %s with untolerated taint %s", label, pod.Name, n.Name, taint.ToString())
				}
				if ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(n); !ok {
					rt.Fatalf("%s: %s bound to %s which does not match its node selector", label, pod.Name, n.Name)
				}
				a, ok := c.Scheduler.Explain(pod.Namespace, pod.Name)
				if !ok || a.Node != n.Name || (a.Outcome != scheduler.OutcomeBound && a.Outcome != scheduler.OutcomeAssumed) {
					rt.Fatalf("%s: explain of %s does not name its node %s: %+v", label, pod.Name, n.Name, a)
				}
			}
			binds = binds[:0]
		}
		for c.Engine.Elapsed() < 4*time.Minute {
			label, ok := c.Engine.Step()
			if !ok {
				break
			}
			check(fmt.Sprintf("after %q at %v", label, c.Engine.Elapsed()))
		}
		if err := c.Informers.CheckMutations(); err != nil {
			rt.Fatal(err)
		}
	})
}

func addTo(used map[string]v1.ResourceList, node string, p *v1.Pod) {
	req := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
	u := used[node]
	if u == nil {
		u = v1.ResourceList{}
		used[node] = u
	}
	for name, q := range req {
		cur := u[name]
		cur.Add(q)
		u[name] = cur
	}
}

func overcommitted(rt *rapid.T, label string, n *v1.Node, used v1.ResourceList, pods int64) {
	for name, q := range used {
		alloc, ok := n.Status.Allocatable[name]
		if !ok {
			if !q.IsZero() {
				rt.Fatalf("%s: node %s has no %s but its pods request %s", label, n.Name, name, q.String())
			}
			continue
		}
		if q.Cmp(alloc) > 0 {
			rt.Fatalf("%s: node %s over-committed on %s: %s requested > %s allocatable", label, n.Name, name, q.String(), alloc.String())
		}
	}
	if max := n.Status.Allocatable.Pods().Value(); pods > max {
		rt.Fatalf("%s: node %s runs %d pods > %d allowed", label, n.Name, pods, max)
	}
}
