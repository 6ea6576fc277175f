package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// FuzzLoad feeds arbitrary scenario and manifest files to the loader: it
// must never panic, must either return a scenario or errors (never both,
// never neither), every error must read FILE:LINE: …, and a scenario that
// loads must be internally consistent and evaluable. Seeds: testdata/good,
// testdata/bad and testdata/fuzz/FuzzLoad (hostile YAML).
func FuzzLoad(f *testing.F) {
	manifest, err := os.ReadFile("testdata/good/manifests/api.yaml")
	require.NoError(f, err)
	for _, pattern := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml"} {
		files, err := filepath.Glob(pattern)
		require.NoError(f, err)
		for _, file := range files {
			data, err := os.ReadFile(file)
			require.NoError(f, err)
			f.Add(data, manifest)
		}
	}
	f.Add([]byte("apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1m\n  files: [m.yaml]\n"), manifest)
	f.Fuzz(func(t *testing.T, scenario, manifests []byte) {
		fsys := fstest.MapFS{"s.yaml": {Data: scenario}, "m.yaml": {Data: manifests}}
		s, err := LoadFS(fsys, "s.yaml", WithValidator(testValidator{}))
		if err != nil {
			checkErrorList(t, s, err)
			return
		}
		checkLoaded(t, s)
	})
}

func checkErrorList(t *testing.T, s *Scenario, err error) {
	if s != nil {
		t.Fatalf("a scenario and an error: %v", err)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("error is not a non-empty ErrorList: %#v", err)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !errorLineRE.MatchString(line) {
			t.Fatalf("error line not in FILE:LINE: form: %q", line)
		}
	}
	for _, e := range list {
		if e.Line < 1 || (e.File != "s.yaml" && e.File != "m.yaml") {
			t.Fatalf("bad position in %q", e.Error())
		}
	}
}

func checkLoaded(t *testing.T, s *Scenario) {
	if s.Spec.Duration <= 0 {
		t.Fatalf("loaded with duration %v", s.Spec.Duration)
	}
	for _, m := range s.InitialObjects() {
		if m.Object == nil || m.Name == "" {
			t.Fatalf("manifest without object or name: %+v", m)
		}
	}
	for _, e := range s.Spec.Events {
		if e.At > s.Spec.Duration || e.Action == "" {
			t.Fatalf("bad event %+v", e)
		}
		if e.Action == ActionApply && (e.Object == nil || e.Object.Object == nil) {
			t.Fatalf("apply without object: %+v", e)
		}
	}
	cl := &fakeCluster{}
	chk := NewChecker(s.Spec.Expect)
	for !chk.Done() {
		next, _ := chk.NextDeadline()
		if next > s.Spec.Duration {
			t.Fatalf("expectation due at %v after the end %v", next, s.Spec.Duration)
		}
		chk.Observe(next, cl)
	}
}
