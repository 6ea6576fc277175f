package kubelet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/kubelet"
)

func TestNodeRegistration(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	require.NoError(t, e.c.AddNode(cluster.NodeSpec{Name: "n1",
		Capacity:    v1.ResourceList{v1.ResourceCPU: resource.MustParse("8"), v1.ResourceMemory: resource.MustParse("32Gi")},
		Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("7500m")},
		Labels:      map[string]string{v1.LabelTopologyZone: "z1"},
		Taints:      []v1.Taint{{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}}}))
	e.node("n2", "4", "8Gi")
	n, err := e.cl.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "n1", n.Labels[v1.LabelHostname])
	assert.Equal(t, "linux", n.Labels[v1.LabelOSStable])
	assert.Equal(t, "z1", n.Labels[v1.LabelTopologyZone])
	assert.Equal(t, []v1.Taint{{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule},
		{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoSchedule}}, n.Spec.Taints,
		"the NodeTaint admission plugin adds not-ready; the node lifecycle controller removes it")
	assert.Equal(t, "10.244.0.0/24", n.Spec.PodCIDR)
	assert.Equal(t, []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "192.168.0.1"}, {Type: v1.NodeHostName, Address: "n1"}}, n.Status.Addresses)
	assert.Equal(t, "7500m", ptrQ(n.Status.Allocatable, v1.ResourceCPU))
	assert.Equal(t, "32Gi", ptrQ(n.Status.Allocatable, v1.ResourceMemory))
	assert.Equal(t, "110", ptrQ(n.Status.Capacity, v1.ResourcePods))
	assert.Equal(t, "linux", n.Status.NodeInfo.OperatingSystem)
	var conds []string
	for _, c := range n.Status.Conditions {
		conds = append(conds, string(c.Type)+"="+string(c.Status)+"/"+c.Reason+"/"+c.Message)
	}
	assert.Equal(t, []string{
		"MemoryPressure=False/KubeletHasSufficientMemory/kubelet has sufficient memory available",
		"DiskPressure=False/KubeletHasNoDiskPressure/kubelet has no disk pressure",
		"PIDPressure=False/KubeletHasSufficientPID/kubelet has sufficient PID available",
		"Ready=True/KubeletReady/kubelet is posting ready status",
	}, conds)
	n2, err := e.cl.CoreV1().Nodes().Get(ctx, "n2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "10.244.1.0/24", n2.Spec.PodCIDR)
	assert.Equal(t, "192.168.0.2", n2.Status.Addresses[0].Address)

	lease, err := e.cl.CoordinationV1().Leases(v1.NamespaceNodeLease).Get(ctx, "n1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(40), *lease.Spec.LeaseDurationSeconds)
	assert.Equal(t, "n1", *lease.Spec.HolderIdentity)
	assert.Equal(t, "Node", lease.OwnerReferences[0].Kind)
	assert.Equal(t, n.UID, lease.OwnerReferences[0].UID)
	// The pressure setters record their events for the conditions they
	// create; the Ready setter records one only when an existing Ready
	// condition changes (nodestatus.ReadyCondition), so a node that
	// registers Ready has no NodeReady Event.
	assert.Equal(t, []string{"0s Starting: Starting kubelet.", "0s NodeHasSufficientMemory: Node n1 status is now: NodeHasSufficientMemory",
		"0s NodeHasNoDiskPressure: Node n1 status is now: NodeHasNoDiskPressure", "0s NodeHasSufficientPID: Node n1 status is now: NodeHasSufficientPID",
		"0s NodeAllocatableEnforced: Updated Node Allocatable limit across pods"}, e.events("n1"))

	// Deleting a node frees its block for the next node.
	require.NoError(t, e.c.DeleteNode("n1"))
	e.node("n3", "4", "8Gi")
	n3, err := e.cl.CoreV1().Nodes().Get(ctx, "n3", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "10.244.0.0/24", n3.Spec.PodCIDR)
	assert.Error(t, e.c.AddNode(cluster.NodeSpec{Name: "n2", Capacity: n.Status.Capacity}), "n2 exists")
}

func ptrQ(rl v1.ResourceList, name v1.ResourceName) string {
	q := rl[name]
	return q.String()
}

// NodeReadyDelay: the node registers NotReady and turns Ready later.
func TestNodeReadyDelay(t *testing.T) {
	e := newEnv(t, kubelet.Config{NodeReadyDelay: 3 * time.Second})
	e.node("n1", "4", "8Gi")
	ready := func() v1.NodeCondition {
		n, err := e.cl.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
		require.NoError(t, err)
		return n.Status.Conditions[3]
	}
	assert.Equal(t, v1.ConditionFalse, ready().Status)
	assert.Equal(t, "KubeletNotReady", ready().Reason)
	e.at(3 * time.Second)
	assert.Equal(t, v1.ConditionTrue, ready().Status)
	assert.Equal(t, at0(3*time.Second), ready().LastTransitionTime)
	// No NodeNotReady for the Ready condition the node registers with; a
	// NodeReady when it turns True.
	var readiness []string
	for _, ev := range e.events("n1") {
		if strings.Contains(ev, "Ready:") {
			readiness = append(readiness, ev)
		}
	}
	assert.Equal(t, []string{"3s NodeReady: Node n1 status is now: NodeReady"}, readiness)
	assert.Equal(t, []time.Duration{3 * time.Second}, e.times("nodeReady", "n1"))
}

// The lease is renewed every 10 s; the node status is recomputed every 10
// s but written only when it changed or every 5 minutes.
func TestLeaseAndStatusCadence(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.at(61 * time.Second)
	e.create(pod("p", ctr("c", "img:1")), "n1") // pulls img:1 at 61..63: status.images changes
	e.at(12 * time.Minute)
	var leases, statuses []time.Duration
	for _, r := range e.recs {
		switch {
		case r.Kind == "Lease" && r.Name == "n1" && (r.Verb == "update" || r.Verb == "create"):
			leases = append(leases, r.Time)
		case r.Kind == "Node" && r.Name == "n1" && r.Verb == "update/status":
			statuses = append(statuses, r.Time)
		}
	}
	require.Len(t, leases, 73)
	for i, at := range leases {
		assert.Equal(t, time.Duration(i)*10*time.Second, at)
	}
	// 70 s: the image appeared; 70 s + 5 min and + 10 min: report frequency.
	assert.Equal(t, []time.Duration{70 * time.Second, 370 * time.Second, 670 * time.Second}, statuses)
	lease, err := e.cl.CoordinationV1().Leases(v1.NamespaceNodeLease).Get(ctx, "n1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, metav1.NewMicroTime(at0(720*time.Second).Time), *lease.Spec.RenewTime)
}

// An explicit NodeStatusUpdateFrequency with no NodeStatusReportFrequency
// makes the report frequency the same (upstream's defaults.go keeps the
// pre-1.13 behaviour that way): the status is written at every update.
func TestExplicitStatusUpdateFrequencyIsAlsoReportFrequency(t *testing.T) {
	e := newEnv(t, kubelet.Config{NodeStatusUpdateFrequency: 20 * time.Second})
	e.node("n1", "4", "8Gi")
	e.at(time.Minute + time.Second)
	var statuses []time.Duration
	for _, r := range e.recs {
		if r.Kind == "Node" && r.Name == "n1" && r.Verb == "update/status" {
			statuses = append(statuses, r.Time)
		}
	}
	assert.Equal(t, []time.Duration{20 * time.Second, 40 * time.Second, 60 * time.Second}, statuses)
	assert.Equal(t, 20*time.Second, e.c.Kubelet("n1").Config().NodeStatusReportFrequency)
	assert.Equal(t, 5*time.Minute, kubelet.DefaultConfig().NodeStatusReportFrequency)
}

// Heartbeat jitter (upstream's 0.04) spreads the loops of the nodes.
func TestHeartbeatJitter(t *testing.T) {
	e := &env{t: t}
	e.c = cluster.New(cluster.Config{Seed: 3, NoScheduler: true})
	e.c.Engine.AddTraceSink(func(r sim.Record) { e.recs = append(e.recs, r) })
	e.cl = e.c.Client("test")
	e.c.Start()
	e.node("n1", "4", "8Gi")
	e.at(time.Minute)
	var leases []time.Duration
	for _, r := range e.recs {
		if r.Kind == "Lease" && r.Verb == "update" {
			leases = append(leases, r.Time)
		}
	}
	require.Len(t, leases, 5)
	prev := time.Duration(0)
	for _, at := range leases {
		assert.GreaterOrEqual(t, at-prev, 10*time.Second)
		assert.LessOrEqual(t, at-prev, 10400*time.Millisecond)
		prev = at
	}
}

// Admission: a pod that does not fit the node's allocatable fails with
// upstream's OutOf<resource> reason and message.
func TestAdmissionRejectsWhatDoesNotFit(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "1", "2Gi")
	e.create(pod("a", withRequests(ctr("c", "img:1"), "600m", "1Gi")), "n1")
	e.create(pod("b", withRequests(ctr("c", "img:1"), "600m", "")), "n1")
	e.create(pod("m", withRequests(ctr("c", "img:1"), "100m", "1536Mi")), "n1")
	e.at(5 * time.Second)
	assert.Equal(t, v1.PodRunning, e.get("a").Status.Phase)
	b := e.get("b")
	assert.Equal(t, v1.PodFailed, b.Status.Phase)
	assert.Equal(t, "OutOfcpu", b.Status.Reason)
	assert.Equal(t, "Pod was rejected: Node didn't have enough resource: cpu, requested: 600, used: 600, capacity: 1000", b.Status.Message)
	assert.Empty(t, b.Status.Conditions, "the kubelet drops the conditions it owns")
	assert.Equal(t, []string{"0s OutOfcpu: Node didn't have enough resource: cpu, requested: 600, used: 600, capacity: 1000"}, e.events("b"))
	m := e.get("m")
	assert.Equal(t, "OutOfmemory", m.Status.Reason)
	assert.Equal(t, "Pod was rejected: Node didn't have enough resource: memory, requested: 1610612736, used: 1073741824, capacity: 2147483648", m.Status.Message)

	// Resources come back when a pod finishes; the pods limit is checked first.
	require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "a", metav1.DeleteOptions{}))
	e.at(6 * time.Second)
	e.create(pod("b2", withRequests(ctr("c", "img:1"), "600m", "")), "n1")
	e.at(7 * time.Second)
	assert.Equal(t, v1.PodRunning, e.get("b2").Status.Phase)
}

func TestAdmissionPodsLimitAndTaints(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	require.NoError(t, e.c.AddNode(cluster.NodeSpec{Name: "n1",
		Capacity: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("2")}}))
	for _, n := range []string{"a", "b", "c"} {
		e.create(pod(n, ctr("c", "img:1")), "n1")
	}
	e.at(time.Second)
	assert.Equal(t, "OutOfpods", e.get("c").Status.Reason)
	assert.Equal(t, "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2", e.get("c").Status.Message)

	require.NoError(t, e.c.TaintNode("n1", []v1.Taint{{Key: "maintenance", Effect: v1.TaintEffectNoExecute}}))
	require.NoError(t, e.cl.CoreV1().Pods("default").Delete(ctx, "a", metav1.DeleteOptions{}))
	e.at(2 * time.Second)
	e.create(pod("d", ctr("c", "img:1")), "n1")
	e.at(3 * time.Second)
	// The kubelet rejects d; the taint eviction controller then deletes it
	// (upstream's deletes every pod bound to a node with a NoExecute taint
	// it does not tolerate, whatever its phase), and the API server removes
	// a terminal pod at once: it writes the pod with grace 0, then removes
	// it. Its last version carries the rejection.
	assert.True(t, e.gone("d"))
	d := e.deleted["d"]
	require.NotNil(t, d)
	assert.Equal(t, v1.PodFailed, d.Status.Phase)
	assert.Equal(t, "TaintToleration", d.Status.Reason)
	assert.Equal(t, "Pod was rejected: Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate", d.Status.Message)
	assert.Equal(t, []time.Duration{2 * time.Second}, e.times("rejected", "d"))
	var deletedBy []string
	for _, r := range e.recs {
		if r.Name == "d" && r.Kind == "Pod" && (r.Verb == "delete" || r.Verb == "deleted") {
			deletedBy = append(deletedBy, r.Component+" "+r.Verb)
		}
	}
	assert.Equal(t, []string{"taint-eviction-controller delete", "taint-eviction-controller deleted"}, deletedBy)

	sel := pod("s", ctr("c", "img:1"))
	sel.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	require.NoError(t, e.c.UntaintNode("n1", []v1.Taint{{Key: "maintenance"}}))
	e.create(sel, "n1")
	e.at(4 * time.Second)
	assert.Equal(t, "NodeAffinity", e.get("s").Status.Reason)
}

func TestAnnotationsAreValidatedAtAdmission(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	for _, tc := range []struct{ key, value, msg string }{
		{kubelet.AnnotationCrashAfter, "soon", `metadata.annotations[kubesim.dev/crash-after]: Invalid value: "soon": must be a non-negative duration`},
		{kubelet.AnnotationExitCode, "0", `metadata.annotations[kubesim.dev/exit-code]: Invalid value: "0": must be an exit code between 1 and 255`},
		{kubelet.AnnotationNotReadyBetween, "3m-1m", `metadata.annotations[kubesim.dev/not-ready-between]: Invalid value: "3m-1m": must be a window`},
		{kubelet.AnnotationCrashAfter + ".nope", "1s", `metadata.annotations[kubesim.dev/crash-after.nope]: Invalid value: "1s": the pod has no container named "nope"`},
		{kubelet.AnnotationStartDuration + ".c", "-1s", `metadata.annotations[kubesim.dev/start-duration.c]: Invalid value: "-1s"`},
	} {
		p := pod("bad", ctr("c", "img:1"))
		p.Annotations[tc.key] = tc.value
		_, err := e.cl.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
		require.Error(t, err, tc.key)
		assert.Contains(t, err.Error(), tc.msg)
	}
	ok := pod("ok", ctr("c", "img:1"))
	ok.Annotations[kubelet.AnnotationNotReadyBetween+".c"] = "1m-3m"
	ok.Annotations["kubesim.dev/service-time"] = "20ms" // the traffic model's, checked by the cluster too
	_, err := e.cl.CoreV1().Pods("default").Create(ctx, ok, metav1.CreateOptions{})
	require.NoError(t, err)
}

// Admission drops the requests of extended resources the node does not
// have at all before the fit check (upstream predicate.go
// removeMissingExtendedResources, for containers and init containers:
// cluster-level resources unknown to nodes), so such a pod bound directly
// to the node runs; an extended resource the node has, and hugepages
// (native, never dropped), are still checked.
func TestAdmissionIgnoresExtendedResourcesTheNodeLacks(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	require.NoError(t, e.c.AddNode(cluster.NodeSpec{Name: "n1", Capacity: v1.ResourceList{
		v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("2Gi"), "example.com/gpu": resource.MustParse("1")}}))
	withExtra := func(c v1.Container, name, q string) v1.Container {
		c.Resources.Requests = v1.ResourceList{v1.ResourceName(name): resource.MustParse(q)}
		c.Resources.Limits = c.Resources.Requests
		return c
	}
	e.create(pod("licence", withExtra(ctr("c", "img:1"), "cluster.example/licence", "5")), "n1")
	initPod := pod("init-licence", ctr("c", "img:1"))
	initPod.Spec.InitContainers = []v1.Container{withExtra(ctr("i", "img:1"), "cluster.example/licence", "1")}
	e.create(initPod, "n1")
	e.create(pod("gpus", withExtra(ctr("c", "img:1"), "example.com/gpu", "2")), "n1")
	e.create(pod("huge", withExtra(ctr("c", "img:1"), "hugepages-2Mi", "2Mi")), "n1")
	e.at(30 * time.Second)
	assert.Equal(t, v1.PodRunning, e.get("licence").Status.Phase, e.get("licence").Status.Message)
	assert.Equal(t, v1.PodRunning, e.get("init-licence").Status.Phase, e.get("init-licence").Status.Message)
	assert.Equal(t, "OutOfexample.com/gpu", e.get("gpus").Status.Reason)
	assert.Equal(t, "Pod was rejected: Node didn't have enough resource: example.com/gpu, requested: 2, used: 0, capacity: 1", e.get("gpus").Status.Message)
	assert.Equal(t, "OutOfhugepages-2Mi", e.get("huge").Status.Reason)
}
