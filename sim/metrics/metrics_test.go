package metrics

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/sim"
)

var webSel = labels.SelectorFromSet(labels.Set{"app": "web"})

func webPod(name string, annotations map[string]string, containers ...v1.Container) *v1.Pod {
	if len(containers) == 0 {
		containers = []v1.Container{{Name: "app"}}
	}
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name), Labels: map[string]string{"app": "web"}, Annotations: annotations},
		Spec:       v1.PodSpec{NodeName: "n1", Containers: containers},
		Status:     v1.PodStatus{Phase: v1.PodRunning},
	}
}

var costly = map[string]string{CPUPerRequestAnnotation: "10m", IdleCPUAnnotation: "5m", MemoryPerRequestAnnotation: "1Mi", IdleMemoryAnnotation: "64Mi"}

func TestAveragesOverWindowWithMidWindowChange(t *testing.T) {
	eng := sim.New(1)
	pods := []*v1.Pod{webPod("a", costly)}
	m := New(eng, func() []*v1.Pod { return pods }, nil)

	eng.RunFor(Resolution) // t=15 s: first sight of the pod, no sample yet
	assert.Empty(t, m.PodMetrics("default", webSel), "no sample before a full window")

	m.SetPodLoad("default", webSel, 10)
	eng.RunFor(Resolution) // t=30 s: 10 rps all window
	got := m.PodMetrics("default", webSel)
	require.Contains(t, got, "a")
	assert.Equal(t, int64(5+10*10), got["a"].CPUMilli(), "idle 5m + 10 rps × 10m")
	assert.Equal(t, int64(64<<20+10<<20), got["a"].MemoryBytes())
	assert.Equal(t, sim.Epoch.Add(30*time.Second), got["a"].Timestamp)
	assert.Equal(t, Resolution, got["a"].Window)

	// 10 rps for 5 s then 40 rps for 10 s ⇒ average 30 rps ⇒ 5 + 300 = 305m.
	eng.RunFor(5 * time.Second)
	m.SetPodLoad("default", webSel, 40)
	eng.RunFor(10 * time.Second)
	assert.Equal(t, int64(305), m.PodMetrics("default", webSel)["a"].CPUMilli())

	// Next window all at 40 rps.
	eng.RunFor(Resolution)
	assert.Equal(t, int64(405), m.PodMetrics("default", webSel)["a"].CPUMilli())
}

type constLoad float64

func (c constLoad) RPS(*v1.Pod) float64 { return float64(c) }

func TestLoadSourceAndOverride(t *testing.T) {
	eng := sim.New(1)
	other := webPod("b", costly)
	other.Labels = map[string]string{"app": "api"}
	pods := []*v1.Pod{webPod("a", costly), other}
	m := New(eng, func() []*v1.Pod { return pods }, constLoad(2))
	m.SetPodLoad("default", webSel, 20)
	eng.RunFor(2 * Resolution)
	assert.Equal(t, int64(205), m.PodMetrics("default", webSel)["a"].CPUMilli(), "SetPodLoad wins")
	assert.Equal(t, int64(25), m.PodMetrics("default", labels.Everything())["b"].CPUMilli(), "others use the LoadSource")
}

func TestOnlyRunningPodsAndNewPodsWaitAFullWindow(t *testing.T) {
	eng := sim.New(1)
	a := webPod("a", costly)
	pending := webPod("p", costly)
	pending.Status.Phase = v1.PodPending
	pods := []*v1.Pod{a, pending}
	m := New(eng, func() []*v1.Pod { return pods }, nil)
	eng.RunFor(2 * Resolution)
	got := m.PodMetrics("default", webSel)
	assert.Contains(t, got, "a")
	assert.NotContains(t, got, "p")

	// p starts running at t=37 s: seen at the t=45 s scrape, sampled at t=60 s.
	eng.RunFor(7 * time.Second)
	pending.Status.Phase = v1.PodRunning
	eng.RunFor(8 * time.Second)
	assert.NotContains(t, m.PodMetrics("default", webSel), "p")
	eng.RunFor(Resolution)
	assert.Contains(t, m.PodMetrics("default", webSel), "p")
	assert.Equal(t, int64(5), m.PodMetrics("default", webSel)["p"].CPUMilli(), "idle only")

	// A deleted pod disappears at the next scrape.
	pods = []*v1.Pod{pending}
	eng.RunFor(Resolution)
	assert.NotContains(t, m.PodMetrics("default", labels.Everything()), "a")
}

func TestSplitAcrossContainersByRequests(t *testing.T) {
	eng := sim.New(1)
	req := func(cpu string) v1.ResourceRequirements {
		return v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}}
	}
	p := webPod("a", map[string]string{IdleCPUAnnotation: "100m"},
		v1.Container{Name: "app", Resources: req("300m")}, v1.Container{Name: "proxy", Resources: req("100m")})
	m := New(eng, func() []*v1.Pod { return []*v1.Pod{p} }, nil)
	eng.RunFor(2 * Resolution)
	got := m.PodMetrics("default", webSel)["a"]
	require.Len(t, got.Containers, 2)
	assert.Equal(t, ContainerMetric{Name: "app", CPUMilli: 75}, got.Containers[0])
	assert.Equal(t, ContainerMetric{Name: "proxy", CPUMilli: 25}, got.Containers[1])

	// No requests: even split, remainder to the first.
	p2 := webPod("b", map[string]string{IdleCPUAnnotation: "101m"}, v1.Container{Name: "x"}, v1.Container{Name: "y"})
	assert.Equal(t, []int64{51, 50}, split(p2, v1.ResourceCPU, 101))
}

func TestBadAnnotationsRecordedOnce(t *testing.T) {
	eng := sim.New(1)
	p := webPod("a", map[string]string{CPUPerRequestAnnotation: "ten millicores", IdleCPUAnnotation: "-5m", IdleMemoryAnnotation: "1Gi"})
	m := New(eng, func() []*v1.Pod { return []*v1.Pod{p} }, nil)
	m.SetPodLoad("default", webSel, 100)
	eng.RunFor(5 * Resolution)
	errs := m.Errors()
	require.Len(t, errs, 2, "each bad annotation once, however many scrapes")
	assert.Contains(t, errs[0].Error(), `metadata.annotations[kubesim.dev/idle-cpu]: invalid quantity "-5m": must not be negative`)
	assert.Contains(t, errs[1].Error(), `metadata.annotations[kubesim.dev/cpu-per-request]: invalid quantity "ten millicores"`)
	got := m.PodMetrics("default", webSel)["a"]
	assert.Equal(t, int64(0), got.CPUMilli(), "bad values count as 0")
	assert.Equal(t, int64(1<<30), got.MemoryBytes(), "good annotations still apply")
}

func TestDeterministicAcrossRuns(t *testing.T) {
	run := func() []int64 {
		eng := sim.New(7)
		pods := []*v1.Pod{webPod("a", costly), webPod("b", costly)}
		m := New(eng, func() []*v1.Pod { return pods }, nil)
		var out []int64
		for i := 0; i < 10; i++ {
			m.SetPodLoad("default", webSel, float64(i*3))
			eng.RunFor(7 * time.Second)
			for _, n := range SortedNames(m.PodMetrics("default", webSel)) {
				out = append(out, m.PodMetrics("default", webSel)[n].CPUMilli())
			}
		}
		return out
	}
	a, b := run(), run()
	assert.NotEmpty(t, a)
	assert.Equal(t, a, b)
}
