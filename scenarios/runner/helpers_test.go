package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/simtest"
)

// load loads a scenario written in a test, with the API server's validation.
func load(t *testing.T, doc string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.LoadBytes("test.yaml", []byte(strings.TrimLeft(doc, "\n")), ".", scenarios.WithValidator(Validator()))
	require.NoError(t, err)
	return sc
}

// fakeNodes makes the run create its nodes as simtest's Ready Node objects
// and run pods with simtest's fake runtime (running and ready 2 s after
// binding, gone 1 s after deletion, heartbeats, traffic world) instead of
// the kubelet model. Tests on the whole cluster are in realcluster_test.go,
// library_test.go and convergence_test.go.
func fakeNodes(opts *Options) {
	prev := opts.Setup
	var c *cluster.Cluster
	opts.Setup = func(cl *cluster.Cluster) {
		c = cl
		simtest.StartFakeRuntime(cl, simtest.FakeRuntimeConfig{StartDelay: 2 * time.Second, StopDelay: time.Second})
		if prev != nil {
			prev(cl)
		}
	}
	opts.addNode = func(spec cluster.NodeSpec) error {
		n := simtest.Node(spec.Name, "1", "1Gi", spec.Labels)
		n.Status.Capacity = spec.Capacity.DeepCopy()
		if _, ok := n.Status.Capacity[v1.ResourcePods]; !ok {
			n.Status.Capacity[v1.ResourcePods] = simtest.Node("x", "1", "1", nil).Status.Capacity[v1.ResourcePods]
		}
		n.Status.Allocatable = n.Status.Capacity.DeepCopy()
		n.Spec.Taints = spec.Taints
		return simtest.AddNodes(c, n)
	}
}

// newRun starts a run of doc with fake nodes.
func newRun(t *testing.T, doc string, opts Options) *Run {
	t.Helper()
	opts.DetectCacheMutations = true
	fakeNodes(&opts)
	// These unit tests drive objects by hand on the fake runtime; the
	// workload controllers' own behaviour is covered by their tests and by
	// the whole-cluster tests (realcluster_test.go, library_test.go).
	opts.configure = func(cfg *cluster.Config) {
		cfg.Workloads.DisableControllers = []string{"replicaset", "deployment", "horizontalpodautoscaling", "garbagecollector"}
	}
	r, err := New(load(t, doc), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.c.Informers.CheckMutations()) })
	return r
}

// get reads an object from the run's API server (a copy).
func get[T runtime.Object](t *testing.T, r *Run, resource, ns, name string) T {
	t.Helper()
	res, ok := r.api.Resource(resource)
	require.True(t, ok, resource)
	obj, err := r.api.Get(res, ns, name)
	require.NoError(t, err)
	return obj.DeepCopyObject().(T)
}

func exists(r *Run, resource, ns, name string) bool {
	res, _ := r.api.Resource(resource)
	_, err := r.api.Get(res, ns, name)
	return err == nil
}

func apiResource(t *testing.T, r *Run, name string) *apiserver.Resource {
	res, ok := r.api.Resource(name)
	require.True(t, ok)
	return res
}

// storyOf collects the timeline entries of a run.
func storyOf(opts *Options) *[]Entry {
	var out []Entry
	opts.Story = func(e Entry) { out = append(out, e) }
	return &out
}

func hasEntry(entries []Entry, verb, object, msgPart string) bool {
	for _, e := range entries {
		if e.Verb == verb && e.Object == object && strings.Contains(e.Message, msgPart) {
			return true
		}
	}
	return false
}

var ctx = context.Background()

var _ = metav1.Now
