package runner

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/cluster"
)

// view is the read-only scenarios.Cluster the expectations are evaluated
// against: the API server's current objects (what kubectl get would show)
// and the metrics registry. Objects it returns are shared with the
// server and only read.
type view struct {
	c *cluster.Cluster
}

var (
	_ scenarios.Cluster       = view{}
	_ scenarios.ChangeCounter = view{}
	_ scenarios.MetricValuer  = view{}
)

func (v view) resource(r scenarios.Resource) (*apiserver.Resource, bool) {
	return v.c.API.Resource(r.Plural)
}

// Get implements scenarios.Cluster.
func (v view) Get(r scenarios.Resource, namespace, name string) (runtime.Object, bool) {
	res, ok := v.resource(r)
	if !ok {
		return nil, false
	}
	obj, err := v.c.API.Get(res, namespace, name)
	if err != nil {
		return nil, false
	}
	return withKind(obj, res), true
}

// ChangeCount implements scenarios.ChangeCounter: the API server's count of
// committed writes of the kind.
func (v view) ChangeCount(r scenarios.Resource) (uint64, bool) {
	res, ok := v.resource(r)
	if !ok {
		return 0, false
	}
	return res.Writes(), true
}

// List implements scenarios.Cluster.
func (v view) List(r scenarios.Resource, namespace string) []runtime.Object {
	res, ok := v.resource(r)
	if !ok {
		return nil
	}
	objs, _, err := v.c.API.List(res, namespace, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	return objs
}

// Metric implements scenarios.Cluster: every series named name, with
// traffic accounted up to now.
func (v view) Metric(name string) []scenarios.Sample {
	var out []scenarios.Sample
	for _, s := range v.c.Metrics().SamplesNamed(name) {
		labels := make(map[string]string, len(s.Labels))
		for _, l := range s.Labels {
			labels[l.Name] = l.Value
		}
		out = append(out, scenarios.Sample{Labels: labels, Value: s.Value})
	}
	return out
}

// MetricValues implements scenarios.MetricValuer: the values of the series
// Metric(name) lists, in its order, with traffic accounted up to now, and
// the registry's shape of the metric (see promstats.Registry.ValuesNamed).
func (v view) MetricValues(name string, buf []float64) ([]float64, uint64) {
	return v.c.Metrics().ValuesNamed(name, buf)
}

// withKind returns obj with apiVersion and kind set, as kubectl get prints
// it (the server's stored objects carry no type meta). It copies only when
// needed.
func withKind(obj runtime.Object, res *apiserver.Resource) runtime.Object {
	if !obj.GetObjectKind().GroupVersionKind().Empty() {
		return obj
	}
	cp := obj.DeepCopyObject()
	cp.GetObjectKind().SetGroupVersionKind(res.GVK())
	return cp
}
