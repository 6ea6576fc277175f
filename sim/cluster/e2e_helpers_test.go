package cluster_test

// Helpers of the end-to-end tests (e2e_*_test.go): clusters with every real
// component — API server, scheduler, kubelets, node lifecycle / taint
// eviction / pod GC / disruption controllers, ReplicaSet / Deployment / HPA
// / garbage collector / metrics-server, EndpointSlice controller,
// kube-proxies and traffic — and no stand-ins.

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubesim/kubesim/controllers/controllerutil"
	deploymentutil "github.com/kubesim/kubesim/controllers/deployment/util"
	"github.com/kubesim/kubesim/controllers/podutil"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/kubelet"
	"github.com/kubesim/kubesim/sim/simtest"
)

// e2e is a whole simulated cluster under test.
type e2e struct {
	t     *testing.T
	seed  uint64
	c     *cluster.Cluster
	cl    client.Interface
	recs  []sim.Record
	trace bytes.Buffer
}

// newE2E builds a cluster from cfg (Seed and DetectCacheMutations are set
// here) and starts it. On failure the seed is logged; at the end the
// informer caches are checked for mutations and no injected fault may have
// failed.
func newE2E(t *testing.T, seed uint64, cfg cluster.Config) *e2e {
	t.Helper()
	cfg.Seed, cfg.DetectCacheMutations = seed, true
	e := &e2e{t: t, seed: seed, c: cluster.New(cfg)}
	e.c.Engine.AddTraceSink(func(r sim.Record) {
		e.recs = append(e.recs, r)
		e.trace.Write(r.AppendJSON(nil))
		e.trace.WriteByte('\n')
	})
	e.cl = e.c.Client("test")
	e.c.Start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d, simulated time %v", seed, e.c.Engine.Elapsed())
			return
		}
		require.NoError(t, e.c.Informers.CheckMutations(), "seed %d", seed)
		require.Empty(t, e.c.FaultErrors(), "seed %d", seed)
	})
	return e
}

// exact is the kubelet configuration of timeline tests: no jitter, so
// heartbeats fall on whole 10 s and every duration is its default (image
// pull 2 s, container start 0.5 s).
var exact = cluster.KubeletConfig{Config: kubelet.Config{DisableJitter: true}}

// addNodes adds nodes with 4 CPUs and 8 GiB each (kubelets start at once).
func (e *e2e) addNodes(names ...string) {
	e.t.Helper()
	for _, n := range names {
		require.NoError(e.t, e.c.AddNode(cluster.NodeSpec{Name: n,
			Capacity: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi")}}))
	}
}

func (e *e2e) now() time.Duration { return e.c.Engine.Elapsed() }

// at runs the engine until d.
func (e *e2e) at(d time.Duration) { e.c.Engine.RunUntil(d) }

// runUntil steps the engine until cond holds, failing if it does not by limit.
func (e *e2e) runUntil(limit time.Duration, what string, cond func() bool) {
	e.t.Helper()
	require.True(e.t, simtest.RunUntil(e.c, limit, cond), "by %v: %s (now %v, seed %d)", limit, what, e.now(), e.seed)
}

// webDeployment is Deployment default/web (app=web) with replicas pods of
// one container "app" (image, 100m CPU, port 8080).
func webDeployment(replicas int32, image string) *appsv1.Deployment {
	d := simtest.Deployment("default", "web", replicas, map[string]string{"app": "web"}, image)
	c := &d.Spec.Template.Spec.Containers[0]
	c.Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}
	c.Ports = []v1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	return d
}

func (e *e2e) createDeployment(d *appsv1.Deployment) {
	e.t.Helper()
	_, err := e.cl.AppsV1().Deployments(d.Namespace).Create(bg, d, metav1.CreateOptions{})
	require.NoError(e.t, err)
}

func (e *e2e) deployment(name string) *appsv1.Deployment {
	e.t.Helper()
	d, err := e.cl.AppsV1().Deployments("default").Get(bg, name, metav1.GetOptions{})
	require.NoError(e.t, err)
	return d
}

// updateDeployment applies mutate to the latest Deployment and writes it.
func (e *e2e) updateDeployment(name string, mutate func(*appsv1.Deployment)) {
	e.t.Helper()
	d := e.deployment(name)
	mutate(d)
	_, err := e.cl.AppsV1().Deployments("default").Update(bg, d, metav1.UpdateOptions{})
	require.NoError(e.t, err)
}

// rolledOut reports upstream's "rollout complete" (kubectl rollout status).
func (e *e2e) rolledOut(name string) bool {
	d := e.deployment(name)
	cond := deploymentutil.GetDeploymentCondition(d.Status, appsv1.DeploymentProgressing)
	return d.Status.ObservedGeneration >= d.Generation && deploymentutil.DeploymentComplete(d, &d.Status) &&
		cond != nil && cond.Reason == deploymentutil.NewRSAvailableReason
}

// replicaSets lists the ReplicaSets of app=web, oldest revision first.
func (e *e2e) replicaSets() []*appsv1.ReplicaSet {
	e.t.Helper()
	l, err := e.cl.AppsV1().ReplicaSets("default").List(bg, metav1.ListOptions{LabelSelector: "app=web"})
	require.NoError(e.t, err)
	out := make([]*appsv1.ReplicaSet, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	sort.Slice(out, func(i, j int) bool {
		ri, _ := deploymentutil.Revision(out[i])
		rj, _ := deploymentutil.Revision(out[j])
		return ri < rj
	})
	return out
}

// pods lists the pods of namespace default matching selector, by name.
func (e *e2e) pods(selector string) []*v1.Pod {
	e.t.Helper()
	l, err := e.cl.CoreV1().Pods("default").List(bg, metav1.ListOptions{LabelSelector: selector})
	require.NoError(e.t, err)
	out := make([]*v1.Pod, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (e *e2e) pod(name string) *v1.Pod {
	e.t.Helper()
	p, err := e.cl.CoreV1().Pods("default").Get(bg, name, metav1.GetOptions{})
	require.NoError(e.t, err)
	return p
}

// perNode counts pods by node name ("node=count" sorted, e.g. "n1=2 n2=2").
func perNode(pods []*v1.Pod) string {
	m := map[string]int{}
	for _, p := range pods {
		m[p.Spec.NodeName]++
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// names lists the pods' names.
func names(pods []*v1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}

// podCounts reads the pods of app=web in the API server's store (shared
// objects, read only): the active ones (not terminal, not terminating) and
// the available ones among them (Ready; minReadySeconds 0).
func (e *e2e) podCounts() (active, available int) {
	res, _ := e.c.API.Resource("pods")
	objs, _, err := e.c.API.List(res, "default", metav1.ListOptions{LabelSelector: "app=web"})
	require.NoError(e.t, err)
	for _, o := range objs {
		p := o.(*v1.Pod)
		if !controllerutil.IsPodActive(p) {
			continue
		}
		active++
		if podutil.IsPodAvailable(p, 0, e.c.Engine.Now()) {
			available++
		}
	}
	return active, available
}

// records returns the trace records of component (any if "") with verb.
func (e *e2e) records(component, verb string) []sim.Record {
	var out []sim.Record
	for _, r := range e.recs {
		if (component == "" || r.Component == component) && r.Verb == verb {
			out = append(out, r)
		}
	}
	return out
}

// times returns the times of the records of component with verb about
// objects named in names (any name if names is empty).
func (e *e2e) times(component, verb string, names ...string) []time.Duration {
	var out []time.Duration
	for _, r := range e.records(component, verb) {
		if len(names) == 0 || contains(names, r.Name) {
			out = append(out, r.Time)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// repeat returns n copies of d.
func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// at0 is the API timestamp of simulated time d.
func at0(d time.Duration) time.Time { return sim.Epoch.Add(d) }

var webSelector = labels.SelectorFromSet(labels.Set{"app": "web"})
