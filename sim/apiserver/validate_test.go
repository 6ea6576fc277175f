package apiserver_test

import (
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
