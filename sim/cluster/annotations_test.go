package cluster_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/kubelet"
)

// Every kubesim.dev/ annotation of a pod, or of a workload's pod template,
// is checked at admission: unknown names (typos), malformed values, and a
// container suffix on a per-pod annotation.
func TestAnnotationsOfPodsAndTemplatesAreCheckedAtAdmission(t *testing.T) {
	c := cluster.New(cluster.Config{Seed: 1, NoScheduler: true})
	cl := c.Client("test")
	container := []v1.Container{{Name: "c", Image: "nginx"}}
	for _, tc := range []struct{ key, value, msg string }{
		{"kubesim.dev/crash-afer", "5s", `[kubesim.dev/crash-afer]: Invalid value: "5s": unknown kubesim.dev/ annotation (did you mean "kubesim.dev/crash-after"?)`},
		{"kubesim.dev/idle-cpu", "lots", `[kubesim.dev/idle-cpu]: Invalid value: "lots": must be a non-negative quantity`},
		{"kubesim.dev/cpu-per-request", "-1m", `[kubesim.dev/cpu-per-request]: Invalid value: "-1m": must be a non-negative quantity`},
		{"kubesim.dev/cpu-per-request.c", "10m", `[kubesim.dev/cpu-per-request.c]: Invalid value: "10m": kubesim.dev/cpu-per-request is per pod: it takes no container suffix`},
		{cluster.ServiceTimeAnnotation, "0s", `[kubesim.dev/service-time]: Invalid value: "0s": must be a positive duration`},
		{cluster.WorkersAnnotation, "many", `[kubesim.dev/workers]: Invalid value: "many": must be a positive integer`},
		{kubelet.AnnotationCrashAfter + ".nope", "1s", `[kubesim.dev/crash-after.nope]: Invalid value: "1s": the pod has no container named "nope"`},
	} {
		ann := map[string]string{tc.key: tc.value}
		pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Annotations: ann}, Spec: v1.PodSpec{Containers: container}}
		_, err := cl.CoreV1().Pods("default").Create(bg, pod, metav1.CreateOptions{})
		require.Error(t, err, tc.key)
		assert.Contains(t, err.Error(), `Pod "p" is invalid: metadata.annotations`+tc.msg)

		labels := map[string]string{"app": "web"}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: ann}, Spec: v1.PodSpec{Containers: container}}}}
		_, err = cl.AppsV1().Deployments("default").Create(bg, d, metav1.CreateOptions{})
		require.Error(t, err, tc.key)
		assert.Contains(t, err.Error(), `Deployment.apps "web" is invalid: spec.template.metadata.annotations`+tc.msg)
	}

	good := map[string]string{
		kubelet.AnnotationCrashAfter + ".c": "1m", "kubesim.dev/cpu-per-request": "10m", "kubesim.dev/idle-memory": "64Mi",
		cluster.ServiceTimeAnnotation: "20ms", cluster.WorkersAnnotation: "4", "example.com/other": "not ours",
	}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "ok", Namespace: "default", Annotations: good}, Spec: v1.PodSpec{Containers: container}}
	_, err := cl.CoreV1().Pods("default").Create(bg, pod, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Empty(t, cluster.ValidateAnnotations(&v1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"kubesim.dev/anything": "x"}}}),
		"only pods and pod templates carry kubesim.dev/ annotations")
}
