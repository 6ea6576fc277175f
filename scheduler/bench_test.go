package scheduler

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/sim"
)

// benchAPI binds immediately and echoes the bound pod back, like an API
// server whose informer delivers synchronously; it records nothing else.
type benchAPI struct {
	s     *Scheduler
	binds int
}

func (a *benchAPI) Bind(pod *v1.Pod, node string) error {
	a.binds++
	bound := *pod
	bound.Spec.NodeName = node
	a.s.OnPodUpdate(pod, &bound)
	return nil
}
func (a *benchAPI) SetUnschedulable(*v1.Pod, v1.PodCondition, string) error { return nil }
func (a *benchAPI) SetNominatedNode(*v1.Pod, string) error                  { return nil }
func (a *benchAPI) Preempt(*v1.Pod, *v1.Pod) error                          { return nil }
func (a *benchAPI) Event(*v1.Pod, string, string, string)                   {}

// BenchmarkSchedule5000Nodes schedules plain pods (requests, no owner) onto
// 5,000 nodes of 32 CPU / 128 GiB / 110 pods and reports pods/s of
// scheduler work (pod add, cycle, assume, bind, confirmation).
func BenchmarkSchedule5000Nodes(b *testing.B) {
	const numNodes = 5000
	eng := sim.New(1)
	api := &benchAPI{}
	s := New(eng, api, DefaultConfig())
	api.s = s
	for i := 0; i < numNodes; i++ {
		n := &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%04d", i), Labels: map[string]string{v1.LabelHostname: fmt.Sprintf("node-%04d", i)}},
			Status: v1.NodeStatus{Allocatable: v1.ResourceList{
				v1.ResourceCPU: resource.MustParse("32"), v1.ResourceMemory: resource.MustParse("128Gi"), v1.ResourcePods: resource.MustParse("110"),
			}},
		}
		s.OnNodeAdd(n)
	}
	reqs := v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("128Mi")}
	const batch = 1000
	pods := make([]*v1.Pod, 0, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		pods = pods[:0]
		for i := 0; i < batch && done+i < b.N; i++ {
			name := fmt.Sprintf("pod-%07d", done+i)
			pods = append(pods, &v1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(name)},
				Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
					Resources: v1.ResourceRequirements{Requests: reqs}}}},
			})
		}
		b.StartTimer()
		for _, p := range pods {
			s.OnPodAdd(p)
		}
		eng.RunUntilIdle(uint64(10 * len(pods)))
		done += len(pods)
	}
	b.StopTimer()
	if api.binds != b.N {
		b.Fatalf("bound %d of %d pods", api.binds, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
}
