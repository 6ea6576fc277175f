package scenarios

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// BenchmarkLoad measures loading the all-actions scenario (26 events, 5
// manifests, 7 expectations, one manifest file) with validation.
func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile("testdata/good/all-actions.yaml")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadBytes("testdata/good/all-actions.yaml", data, "testdata/good", WithValidator(testValidatorLenient{})); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCountWithFieldSelector measures one count evaluation over 1,000
// pods with a field selector on spec.nodeName (the costly path: each pod is
// converted to its unstructured form).
func BenchmarkCountWithFieldSelector(b *testing.B) {
	exps := expectFromB(b, "  - {at: 1m, count: pods, labelSelector: app=web, fieldSelector: spec.nodeName=worker-1, atLeast: 1}\n")
	cl := &fakeCluster{}
	for i := range 1000 {
		node := "worker-1"
		if i%2 == 1 {
			node = "worker-2"
		}
		cl.objects = append(cl.objects, runtime.Object(pod("default", "p"+time.Duration(i).String(), node, v1.PodRunning, map[string]string{"app": "web"})))
	}
	b.ReportAllocs()
	for b.Loop() {
		if !exps[0].Evaluate(cl).Holds {
			b.Fatal("expected to hold")
		}
	}
}

func expectFromB(b *testing.B, entries string) []Expectation {
	doc := "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: 1h\n  expect:\n" + entries
	s, err := LoadBytes("e.yaml", []byte(doc), ".")
	require.NoError(b, err)
	return s.Spec.Expect
}
