package apiserver_test

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestValidateMatchesCreateWithoutWriting(t *testing.T) {
	e := newEnv(t)
	rev := e.s.Store().Rev()

	good := deployment("web", 3)
	before := good.DeepCopy()
	assert.Empty(t, e.s.Validate(good))
	assert.Equal(t, before, good, "Validate works on a copy")

	bad := deployment("web", -1)
	bad.Spec.Template.Labels = map[string]string{"app": "other"}
	errs := e.s.Validate(bad)
	require.NotEmpty(t, errs)
	var fields []string
	for _, fe := range errs {
		fields = append(fields, fe.Field)
	}
	assert.Contains(t, fields, "spec.replicas")
	assert.Contains(t, fields, "spec.template.metadata.labels")
	assert.Equal(t, rev, e.s.Store().Rev(), "Validate stores nothing")

	// The same object through Create fails with the same causes.
	_, err := e.c.AppsV1().Deployments("default").Create(ctx, bad, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	for _, fe := range errs {
		assert.Contains(t, err.Error(), fe.Field)
	}
}

func TestValidateAppliesDefaultsFirst(t *testing.T) {
	e := newEnv(t)
	p := pod("web-1")
	p.Spec.Containers[0].ImagePullPolicy = "" // defaulted, so not "Unsupported value"
	assert.Empty(t, e.s.Validate(p))
	p.Spec.Containers[0].Image = ""
	errs := e.s.Validate(p)
	require.Len(t, errs, 1)
	assert.Equal(t, "spec.containers[0].image", errs[0].Field)
}

func TestValidateRejectsUnservedTypes(t *testing.T) {
	e := newEnv(t)
	errs := e.s.Validate(&metav1.Status{})
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "does not serve")
	var _ runtime.Object = &metav1.Status{}
}

// Each part of a pod's spec names its own field path in the error (the
// paths are built only when there is an error: this pins them).
func TestValidatePodFieldPaths(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		field string
		edit  func(p *v1.Pod)
	}{
		{"spec.containers[0].name", func(p *v1.Pod) { p.Spec.Containers[0].Name = "Bad_Name" }},
		{"spec.containers[1].name", func(p *v1.Pod) { p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0]) }},
		{"spec.containers[0].imagePullPolicy", func(p *v1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "Sometimes" }},
		{"spec.containers[0].ports[0].containerPort", func(p *v1.Pod) { p.Spec.Containers[0].Ports = []v1.ContainerPort{{Protocol: v1.ProtocolTCP}} }},
		{"spec.containers[0].resources.requests[cpu]", func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Requests[v1.ResourceCPU] = resource.MustParse("-1")
		}},
		{"spec.containers[0].resources.limits[memory]", func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("-1Mi")}
		}},
		{"spec.containers[0].resources.requests", func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceCPU: resource.MustParse("50m")}
		}},
		{"spec.containers[0].readinessProbe.periodSeconds", func(p *v1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: -1}
		}},
		{"spec.initContainers[0].livenessProbe", func(p *v1.Pod) {
			ic := p.Spec.Containers[0]
			ic.Name = "init"
			ic.LivenessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"true"}}}}
			p.Spec.InitContainers = []v1.Container{ic}
		}},
		{"spec.tolerations[0].key", func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "bad key!", Operator: v1.TolerationOpExists}}
		}},
		{"spec.tolerations[0].operator", func(p *v1.Pod) { p.Spec.Tolerations = []v1.Toleration{{Key: "k", Operator: "Maybe"}} }},
		{"spec.nodeSelector", func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"bad key!": "v"} }},
		{"spec.topologySpreadConstraints[0].maxSkew", func(p *v1.Pod) {
			p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{MaxSkew: 0, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule}}
		}},
	} {
		p := pod("web-1")
		tc.edit(p)
		var fields []string
		for _, fe := range e.s.Validate(p) {
			fields = append(fields, fe.Field)
		}
		assert.Contains(t, fields, tc.field, "errors %v", fields)
	}
	assert.Empty(t, e.s.Validate(pod("web-1")), "the unedited pod is valid")
}

// A status update names status.phase when it goes wrong.
func TestValidatePodStatusFieldPaths(t *testing.T) {
	e := newEnv(t)
	p, err := e.c.CoreV1().Pods("default").Create(ctx, pod("web-1"), metav1.CreateOptions{})
	require.NoError(t, err)
	p.Status.Phase = "Sleeping"
	_, err = e.c.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	assert.Contains(t, err.Error(), "status.phase: Unsupported value")
}

// A node's capacity and allocatable are checked under their own paths.
func TestValidateNodeResourcePaths(t *testing.T) {
	e := newEnv(t)
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: v1.NodeStatus{
		Capacity:    v1.ResourceList{v1.ResourceCPU: resource.MustParse("-1")},
		Allocatable: v1.ResourceList{"bad name!": resource.MustParse("1")}}}
	var fields []string
	for _, fe := range e.s.Validate(n) {
		fields = append(fields, fe.Field)
	}
	assert.Equal(t, []string{"status.capacity[cpu]", "status.allocatable[bad name!]"}, fields)
}
