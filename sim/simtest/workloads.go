package simtest

import (
	"context"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kptr "k8s.io/utils/ptr"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
)

// PodTemplate returns a one-container pod template ("app") with the given
// labels, image and CPU request ("" for none).
func PodTemplate(labels map[string]string, image, cpuRequest string) v1.PodTemplateSpec {
	c := v1.Container{Name: "app", Image: image}
	if cpuRequest != "" {
		c.Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpuRequest)}
	}
	return v1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       v1.PodSpec{Containers: []v1.Container{c}},
	}
}

// ReplicaSet returns a ReplicaSet selecting labels with a PodTemplate.
func ReplicaSet(namespace, name string, replicas int32, labels map[string]string, image string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: kptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: PodTemplate(labels, image, ""),
		},
	}
}

// Deployment returns a Deployment selecting labels with a PodTemplate and
// the API defaults left to the server.
func Deployment(namespace, name string, replicas int32, labels map[string]string, image string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: kptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: PodTemplate(labels, image, ""),
		},
	}
}

// RunUntil steps the engine one event at a time until cond holds or the
// clock would pass limit (then it runs up to limit); it reports whether
// cond held. cond is checked before the first step and after every step.
func RunUntil(c *cluster.Cluster, limit time.Duration, cond func() bool) bool {
	eng := c.Engine
	for {
		if cond() {
			return true
		}
		next, ok := eng.NextAt()
		if !ok || next > limit {
			eng.RunUntil(limit)
			return cond()
		}
		eng.Step()
	}
}

// Trace collects the trace records of a cluster.
type Trace struct {
	// Records are all records so far, in emission order.
	Records []sim.Record
}

// RecordTrace starts collecting c's trace records.
func RecordTrace(c *cluster.Cluster) *Trace {
	t := &Trace{}
	c.Engine.AddTraceSink(func(r sim.Record) { t.Records = append(t.Records, r) })
	return t
}

// Find returns the records of component with verb (any verb if "").
func (t *Trace) Find(component, verb string) []sim.Record {
	var out []sim.Record
	for _, r := range t.Records {
		if r.Component == component && (verb == "" || r.Verb == verb) {
			out = append(out, r)
		}
	}
	return out
}

// Events lists the Events about the object named involved in namespace
// whose reason is reason (any if ""), oldest first ("Reason: message").
func Events(c *cluster.Cluster, namespace, involved, reason string) []string {
	l, err := c.Client("simtest").CoreV1().Events(namespace).List(context.TODO(), metav1.ListOptions{})
	if err != nil {
		return nil
	}
	evs := l.Items
	sort.SliceStable(evs, func(i, j int) bool {
		if !evs[i].FirstTimestamp.Equal(&evs[j].FirstTimestamp) {
			return evs[i].FirstTimestamp.Before(&evs[j].FirstTimestamp)
		}
		return resourceVersionLess(evs[i].ResourceVersion, evs[j].ResourceVersion)
	})
	var out []string
	for _, e := range evs {
		if e.InvolvedObject.Name != involved || (reason != "" && e.Reason != reason) {
			continue
		}
		out = append(out, e.Reason+": "+e.Message)
	}
	return out
}

func resourceVersionLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return strings.Compare(a, b) < 0
}
