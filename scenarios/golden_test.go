package scenarios

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var update = flag.Bool("update", false, "rewrite the golden .err files of testdata/bad")

// errorLineRE is the shape of every error line: FILE:LINE: ...
var errorLineRE = regexp.MustCompile(`^[^:]+:\d+: `)

// testValidator stands in for the API server's validation: a few upstream
// rules, producing the field paths apimachinery's validation produces.
type testValidator struct{}

func (testValidator) Validate(obj runtime.Object) field.ErrorList {
	var errs field.ErrorList
	switch o := obj.(type) {
	case *appsv1.Deployment:
		labels := field.NewPath("metadata", "labels")
		for _, k := range sortedKeys(o.Labels) {
			for _, msg := range validation.IsValidLabelValue(o.Labels[k]) {
				errs = append(errs, field.Invalid(labels.Key(k), o.Labels[k], msg))
			}
		}
		if o.Spec.Replicas != nil && *o.Spec.Replicas < 0 {
			errs = append(errs, field.Invalid(field.NewPath("spec", "replicas"), *o.Spec.Replicas, "must be greater than or equal to 0"))
		}
		cs := field.NewPath("spec", "template", "spec", "containers")
		for i, c := range o.Spec.Template.Spec.Containers {
			if c.Image == "" {
				errs = append(errs, field.Required(cs.Index(i).Child("image"), ""))
			}
			for j, p := range c.Ports {
				for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
					errs = append(errs, field.Invalid(cs.Index(i).Child("ports").Index(j).Child("containerPort"), p.ContainerPort, msg))
				}
			}
		}
	case *v1.Service:
		for i, p := range o.Spec.Ports {
			for _, msg := range validation.IsValidPortNum(int(p.Port)) {
				errs = append(errs, field.Invalid(field.NewPath("spec", "ports").Index(i).Child("port"), p.Port, msg))
			}
		}
		if len(o.Spec.Selector) == 0 {
			errs = append(errs, field.Required(field.NewPath("spec", "selector"), "kubesim services need a selector"))
		}
	}
	return errs
}

// TestBadScenarios loads every testdata/bad/*.yaml and compares the errors
// with the .err file beside it (go test -run TestBadScenarios -update
// rewrites them). Files named validator-* run with testValidator.
func TestBadScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			var opts []Option
			if strings.HasPrefix(name, "validator-") {
				opts = append(opts, WithValidator(testValidator{}))
			}
			s, err := Load(file, opts...)
			require.Error(t, err, "a bad scenario must not load")
			assert.Nil(t, s, "no partial scenario on error")
			var list ErrorList
			require.ErrorAs(t, err, &list)
			got := err.Error() + "\n"
			for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				assert.Regexp(t, errorLineRE, line)
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "missing golden file; run with -update")
			assert.Equal(t, string(want), got)
		})
	}
}
