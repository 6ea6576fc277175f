package cluster_test

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/kubelet"
	"github.com/kubesim/kubesim/sim/simtest"
)

// scaleScope is what a scale run includes, and when it counts a pod done.
type scaleScope int

const (
	// wholeCluster runs every component, a kubelet per node: a pod is done
	// once the API reports it Running. The targets are for this run.
	wholeCluster scaleScope = iota
	// schedulerOnly runs what upstream's scheduler_perf runs (its
	// mustSetupCluster): the API server, kube-scheduler recording its
	// Scheduled Events, and the garbage collector, on Ready nodes without
	// kubelets: a pod is done once it is bound. kubesim's service
	// networking stays (its EndpointSlice controller and traffic model
	// watch the pods, and cannot be switched off); the node lifecycle and
	// workload controllers, which scheduler_perf does not start, are off.
	schedulerOnly
)

// goal is what a pod must reach for the run to count it done.
func (s scaleScope) goal() string {
	if s == schedulerOnly {
		return "bound"
	}
	return "Running"
}

// scaleResult is what one scale run measured.
type scaleResult struct {
	podsPerSecond  float64
	wall           time.Duration
	cpu            time.Duration // process CPU time (user + system) over the same window as wall; 0 if unknown
	done           int           // pods done at the end: Running, or bound (schedulerOnly)
	runningPhase   int           // pods that reached phase Running
	simulated      time.Duration
	peakHeapInuse  uint64
	liveHeap       uint64  // after a collection at the end: what the cluster retains
	peakSys        uint64  // memory the runtime holds from the OS (Sys minus what it released)
	peakRSS        uint64  // the kernel's high-water mark of resident memory over the run; 0 if unknown
	allocated      uint64  // bytes allocated from the first create to the last pod Running
	mallocs        uint64  // heap objects allocated in the same window
	gcShare        float64 // the collector's share of the Go CPU time in the same window (runtime/metrics)
	steps          uint64
	failedOrLeft   int
	registerWall   time.Duration
	nodesWithPods  int
	maxPodsPerNode int
	scope          scaleScope
}

// runScale registers nodes kubelets (32 CPU, 128 GiB, 110 pods each), then
// creates pods plain pods (100m CPU, 128 MiB requests, no owner) through the
// API server at one instant, and runs the cluster until every pod is
// Running as the API reports it: API server, watch cache, informers,
// scheduler (cycle, assume, bind) and kubelet (admission, image pull,
// container start, status write). It measures the wall time from the first
// create to the last pod Running, and samples the peak heap. With scope
// schedulerOnly the nodes have no kubelets and a pod counts once bound.
func runScale(tb testing.TB, scope scaleScope, nodes, pods int) scaleResult {
	res := scaleResult{scope: scope}
	// Start from a clean slate: the memory of an earlier run in this
	// process goes back to the OS, so this run's figures are its own.
	debug.FreeOSMemory()
	rssKnown := resetPeakRSS()
	cfg := cluster.Config{Seed: 1, Kubelet: cluster.KubeletConfig{ClusterCIDR: "10.0.0.0/8", NodeIPRange: "172.16.0.0/12",
		Config: kubelet.Config{}}}
	if scope == schedulerOnly {
		cfg.NodeControllers.Disabled = true
		cfg.Workloads.DisableControllers = []string{cluster.ControllerReplicaSet, cluster.ControllerDeployment,
			cluster.ControllerHPA, cluster.ComponentMetricsServer}
	}
	c := cluster.New(cfg)
	running, bound := 0, 0      // pods Running; pods bound (schedulerOnly)
	boundTo := map[string]int{} // schedulerOnly: pods bound per node
	c.Informers.Pods().AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: func(old, cur any) {
		o, n := old.(*v1.Pod), cur.(*v1.Pod)
		if n.Status.Phase == v1.PodRunning && o.Status.Phase != v1.PodRunning {
			running++
		}
		if scope == schedulerOnly && n.Spec.NodeName != "" && o.Spec.NodeName == "" {
			bound++
			boundTo[n.Spec.NodeName]++
		}
	}})
	done := &running
	if scope == schedulerOnly {
		done = &bound
	}
	c.Start()
	var ms runtime.MemStats
	sample := func() {
		runtime.ReadMemStats(&ms)
		res.peakHeapInuse = max(res.peakHeapInuse, ms.HeapInuse)
		res.peakSys = max(res.peakSys, ms.Sys-ms.HeapReleased)
	}
	regStart := time.Now()
	capacity := v1.ResourceList{v1.ResourceCPU: resource.MustParse("32"), v1.ResourceMemory: resource.MustParse("128Gi"),
		v1.ResourcePods: resource.MustParse("110")}
	for i := 0; i < nodes; i++ {
		name, zone := fmt.Sprintf("node-%05d", i), map[string]string{v1.LabelTopologyZone: fmt.Sprintf("zone-%d", i%3)}
		var err error
		if scope == schedulerOnly {
			// A Ready Node object and nothing behind it, as scheduler_perf's nodes.
			err = simtest.AddNodes(c, simtest.Node(name, "32", "128Gi", zone))
		} else {
			err = c.AddNode(cluster.NodeSpec{Name: name, Capacity: capacity, Labels: zone})
		}
		require.NoError(tb, err)
	}
	c.Engine.RunFor(time.Second) // taints removed, caches filled
	res.registerWall = time.Since(regStart)
	sample()
	if path := os.Getenv("KUBESIM_HEAP_PROFILE"); path != "" {
		// The heap once the nodes are up: `go tool pprof -base
		// <file>.start <file>` shows what the pods alone allocated.
		writeHeapProfile(tb, path+".start")
	}

	reqs := v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("128Mi")}
	cl := c.Client("bench")
	template := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default"},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10", Resources: v1.ResourceRequirements{Requests: reqs}}}}}
	if b, ok := tb.(*testing.B); ok {
		b.ResetTimer()
	}
	simStart := c.Engine.Elapsed()
	runtime.ReadMemStats(&ms)
	allocStart, mallocStart := ms.TotalAlloc, ms.Mallocs
	gcStart := readGCCPU()
	cpuStart := cpuTime()
	start := time.Now()
	podsRes, ok := c.API.Resource("pods")
	require.True(tb, ok)
	for i := 0; i < pods; i++ {
		// POST through the API server's create (which copies what it is
		// sent, as decoding a request makes a new object: one template
		// serves every pod). The response is not read: a real client
		// would decode it in its own process, so the harness spares the
		// client's copy of it.
		template.Name = fmt.Sprintf("pod-%06d", i)
		if _, err := cl.Server().Create(cl.User(), podsRes, "default", template, metav1.CreateOptions{}); err != nil {
			tb.Fatalf("create %s: %v", template.Name, err)
		}
		if i%20000 == 0 {
			sample()
		}
	}
	for *done < pods {
		if _, ok := c.Engine.Step(); !ok {
			break
		}
		if c.Engine.Steps()%50000 == 0 {
			sample()
		}
		if c.Engine.Elapsed()-simStart > time.Hour {
			break
		}
	}
	res.wall = time.Since(start)
	res.cpu = cpuTime() - cpuStart
	if b, ok := tb.(*testing.B); ok {
		b.StopTimer()
	}
	sample()
	if rssKnown {
		res.peakRSS = peakRSS()
	}
	res.allocated = ms.TotalAlloc - allocStart
	res.mallocs = ms.Mallocs - mallocStart
	res.gcShare = readGCCPU().shareSince(gcStart)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res.liveHeap = ms.HeapAlloc
	if path := os.Getenv("KUBESIM_HEAP_PROFILE"); path != "" {
		// A profile of the live cluster's heap (-memprofile is taken after
		// the cluster is garbage).
		writeHeapProfile(tb, path)
	}
	res.simulated = c.Engine.Elapsed() - simStart
	res.steps = c.Engine.Steps()
	res.podsPerSecond = float64(*done) / res.wall.Seconds()
	res.done, res.runningPhase = *done, running
	res.failedOrLeft = pods - *done
	perNode := boundTo
	if scope == wholeCluster {
		// The pods each kubelet runs.
		perNode = map[string]int{}
		for _, n := range c.KubeletNodes() {
			if k := c.Kubelet(n); k.PodCount() > 0 {
				perNode[n] = k.PodCount()
			}
		}
	}
	for _, n := range perNode {
		res.maxPodsPerNode = max(res.maxPodsPerNode, n)
	}
	res.nodesWithPods = len(perNode)
	return res
}

func reportScale(b *testing.B, r scaleResult) {
	b.ReportMetric(r.podsPerSecond, "pods/s")
	if r.cpu > 0 {
		// The rate per second of CPU the process used: steadier than
		// pods/s on a shared machine.
		b.ReportMetric(float64(r.done)/r.cpu.Seconds(), "pods/cpu-s")
	}
	b.ReportMetric(float64(r.peakHeapInuse)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(r.peakSys)/(1<<20), "peak-sys-MiB")
	if r.peakRSS > 0 {
		b.ReportMetric(float64(r.peakRSS)/(1<<20), "peak-rss-MiB")
	}
	b.ReportMetric(float64(r.liveHeap)/(1<<20), "live-heap-MiB")
	// Bytes allocated per pod: unlike the times, the same from run to run
	// (to within the collector's own timing), so it compares two versions
	// of the code on a noisy machine.
	b.ReportMetric(float64(r.allocated)/float64(max(r.done, 1))/1024, "alloc-KiB/pod")
	b.ReportMetric(float64(r.mallocs)/float64(max(r.done, 1)), "allocs/pod")
	b.ReportMetric(100*r.gcShare, "gc-cpu-%")
	b.ReportMetric(r.simulated.Seconds(), "sim-s")
	b.ReportMetric(r.registerWall.Seconds(), "register-s")
	b.Logf("wall %v for the pods (nodes registered in %v), simulated %v, %d engine steps, %d pods not %s, %d nodes used, max %d pods/node",
		r.wall, r.registerWall, r.simulated, r.steps, r.failedOrLeft, r.scope.goal(), r.nodesWithPods, r.maxPodsPerNode)
	if r.failedOrLeft > 0 {
		b.Fatalf("%d pods were not %s", r.failedOrLeft, r.scope.goal())
	}
}

// BenchmarkScale5000Nodes150kPods is the scale benchmark at the Kubernetes
// scale limits (run with make bench-scale, or: go test -run '^$' -bench
// Scale5000 -benchtime 1x -cpu 1 ./sim/cluster/). Upstream's scheduler_perf
// threshold for 5,000 nodes is 810 pods/s for the real kube-scheduler alone; kubesim's target, through
// API server, scheduler, binding and kubelet start on one core, is ≥ 8,100
// pods/s with a peak heap under 2 GiB.
func BenchmarkScale5000Nodes150kPods(b *testing.B) {
	for i := 0; i < b.N; i++ {
		reportScale(b, runScale(b, wholeCluster, 5000, 150000))
	}
}

// BenchmarkScale5000NodesMemLimit is the 5,000-node run under a soft
// memory limit of 1,900 MiB (debug.SetMemoryLimit, what GOMEMLIMIT sets):
// the collector then runs as often as it must to keep the Go runtime's
// memory under the limit, trading speed for the peak.
func BenchmarkScale5000NodesMemLimit(b *testing.B) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1900 << 20))
	for i := 0; i < b.N; i++ {
		reportScale(b, runScale(b, wholeCluster, 5000, 150000))
	}
}

// BenchmarkScale5000NodesMemBudget is the 5,000-node run with a memory
// budget instead of a growth ratio: the collector's proportional trigger
// off (debug.SetGCPercent(-1), what GOGC=off sets) and the same 1,900 MiB
// soft limit, so it collects only as the heap nears the budget — the Go
// GC guide's configuration for a process that knows its memory budget.
// Fewer collections than with GOGC=100 (each marks the live heap), so it
// is faster than the default run as well as under the limit; a heap whose
// live part nears the budget would make it collect often (the runtime caps
// the collector at about half the CPU then).
func BenchmarkScale5000NodesMemBudget(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1900 << 20))
	for i := 0; i < b.N; i++ {
		reportScale(b, runScale(b, wholeCluster, 5000, 150000))
	}
}

// BenchmarkScale5000NodesSchedulerOnly is the memory-budget run scoped as
// upstream's scheduler_perf is (see schedulerOnly): the same 5,000 nodes
// and 150,000 pods, without kubelets, each pod done once bound. Its
// pods/s compares like for like with scheduler_perf's 810; the issue's
// target is for the whole-cluster runs above, not this one.
func BenchmarkScale5000NodesSchedulerOnly(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1900 << 20))
	for i := 0; i < b.N; i++ {
		reportScale(b, runScale(b, schedulerOnly, 5000, 150000))
	}
}

// BenchmarkScale500Nodes5kPods is the same run, small enough for CI.
func BenchmarkScale500Nodes5kPods(b *testing.B) {
	for i := 0; i < b.N; i++ {
		reportScale(b, runScale(b, wholeCluster, 500, 5000))
	}
}

// TestScale500Nodes5kPods runs the small scale scenario as a test: every
// pod reaches Running and the pods spread over the nodes.
func TestScale500Nodes5kPods(t *testing.T) {
	r := runScale(t, wholeCluster, 500, 5000)
	require.Zero(t, r.failedOrLeft, "pods not Running")
	require.Greater(t, r.nodesWithPods, 400, "pods spread over the nodes")
	require.LessOrEqual(t, r.maxPodsPerNode, 110)
	t.Logf("%.0f pods/s, peak heap %d MiB, simulated %v", r.podsPerSecond, r.peakHeapInuse>>20, r.simulated)
}

// TestSchedulerOnlyScale500Nodes5kPods runs the scheduler_perf-scoped
// scenario small: every pod is bound, spread over the nodes, and none runs
// (there are no kubelets to run it).
func TestSchedulerOnlyScale500Nodes5kPods(t *testing.T) {
	r := runScale(t, schedulerOnly, 500, 5000)
	require.Zero(t, r.failedOrLeft, "pods not bound")
	require.Equal(t, 5000, r.done)
	require.Greater(t, r.nodesWithPods, 400, "pods spread over the nodes")
	require.LessOrEqual(t, r.maxPodsPerNode, 110)
	require.Zero(t, r.runningPhase, "pods Running without kubelets")
}

// BenchmarkScale1000Nodes20kPods is a mid-size run, quick enough to
// profile (-cpuprofile; KUBESIM_HEAP_PROFILE=<file> writes a profile of
// the live cluster's heap at the end of a run).
func BenchmarkScale1000Nodes20kPods(b *testing.B) {
	for i := 0; i < b.N; i++ {
		reportScale(b, runScale(b, wholeCluster, 1000, 20000))
	}
}

// gcCPU is the runtime's account of its CPU time: all of it, idle, and the
// collector's (less the marking it did on otherwise idle time).
type gcCPU struct{ total, idle, gc float64 }

func readGCCPU() gcCPU {
	samples := []metrics.Sample{{Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/cpu/classes/idle:cpu-seconds"},
		{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/gc/mark/idle:cpu-seconds"}}
	metrics.Read(samples)
	v := func(i int) float64 {
		if samples[i].Value.Kind() != metrics.KindFloat64 {
			return 0
		}
		return samples[i].Value.Float64()
	}
	return gcCPU{total: v(0), idle: v(1), gc: v(2) - v(3)}
}

// shareSince is the collector's share of the busy CPU time since start
// (the runtime's estimate: marking, assists and pauses; not the write
// barriers and allocation slow paths its work costs the program).
func (c gcCPU) shareSince(start gcCPU) float64 {
	busy := (c.total - start.total) - (c.idle - start.idle)
	if busy <= 0 {
		return 0
	}
	return (c.gc - start.gc) / busy
}

// writeHeapProfile writes a profile of the live heap (after a collection).
func writeHeapProfile(tb testing.TB, path string) {
	f, err := os.Create(path)
	require.NoError(tb, err)
	runtime.GC()
	require.NoError(tb, pprof.WriteHeapProfile(f))
	require.NoError(tb, f.Close())
}
