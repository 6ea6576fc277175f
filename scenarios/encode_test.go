package scenarios

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"pgregory.net/rapid"
)

// canonical strips what legitimately differs between a scenario and its
// re-encoded self: source lines, the raw JSON of manifests, compiled
// selectors and the split between objects and files (Marshal inlines
// files).
func canonical(s *Scenario) *Scenario {
	c := *s
	c.Source = Source{}
	objs := slices.Concat(s.Spec.Objects, s.Spec.FileObjects)
	c.Spec.Objects, c.Spec.FileObjects, c.Spec.Files = nil, nil, nil
	for _, m := range objs {
		c.Spec.Objects = append(c.Spec.Objects, canonicalManifest(m))
	}
	c.Spec.Events = nil
	for _, e := range s.Spec.Events {
		e.Source, e.lines = Source{}, nil
		if e.Group != nil {
			g := canonicalGroup(*e.Group)
			e.Group = &g
		}
		if e.Object != nil {
			m := canonicalManifest(*e.Object)
			e.Object = &m
		}
		c.Spec.Events = append(c.Spec.Events, e)
	}
	c.Spec.Expect = nil
	for _, x := range s.Spec.Expect {
		x.Source, x.lines, x.jsonPath, x.labelSel, x.fieldSel = Source{}, nil, nil, nil, nil
		for i := range x.Metric.Matchers {
			x.Metric.Matchers[i].re = nil
		}
		c.Spec.Expect = append(c.Spec.Expect, x)
	}
	c.Spec.Cluster.Nodes = nil
	for _, g := range s.Spec.Cluster.Nodes {
		c.Spec.Cluster.Nodes = append(c.Spec.Cluster.Nodes, canonicalGroup(g))
	}
	return &c
}

// canonicalGroup treats empty and nil lists and maps alike.
func canonicalGroup(g NodeGroup) NodeGroup {
	g.Source = Source{}
	if len(g.Taints) == 0 {
		g.Taints = nil
	}
	if len(g.Labels) == 0 {
		g.Labels = nil
	}
	return g
}

func canonicalManifest(m Manifest) Manifest {
	m.Source, m.JSON, m.path = Source{}, nil, ""
	m.nameLine, m.nsLine, m.nsPath = 0, 0, ""
	return m
}

// assertSameScenario compares two scenarios field by field; objects are
// compared semantically (quantities print differently once re-encoded).
func assertSameScenario(t require.TestingT, want, got *Scenario) {
	w, g := canonical(want), canonical(got)
	require.Equal(t, len(w.Spec.Objects), len(g.Spec.Objects))
	for i := range w.Spec.Objects {
		requireSemantic(t, w.Spec.Objects[i].Object, g.Spec.Objects[i].Object)
		w.Spec.Objects[i].Object, g.Spec.Objects[i].Object = nil, nil
	}
	require.Equal(t, len(w.Spec.Events), len(g.Spec.Events))
	for i := range w.Spec.Events {
		if w.Spec.Events[i].Object != nil && g.Spec.Events[i].Object != nil {
			requireSemantic(t, w.Spec.Events[i].Object.Object, g.Spec.Events[i].Object.Object)
			w.Spec.Events[i].Object.Object, g.Spec.Events[i].Object.Object = nil, nil
		}
	}
	for _, gs := range [][]NodeGroup{w.Spec.Cluster.Nodes, g.Spec.Cluster.Nodes} {
		for i := range gs {
			gs[i].Capacity = normalizeQuantities(gs[i].Capacity)
			gs[i].Allocatable = normalizeQuantities(gs[i].Allocatable)
		}
	}
	for _, es := range [][]Event{w.Spec.Events, g.Spec.Events} {
		for _, e := range es {
			if e.Group != nil {
				e.Group.Capacity = normalizeQuantities(e.Group.Capacity)
				e.Group.Allocatable = normalizeQuantities(e.Group.Allocatable)
			}
		}
	}
	require.Equal(t, w, g)
}

func requireSemantic(t require.TestingT, want, got runtime.Object) {
	require.True(t, equality.Semantic.DeepEqual(want, got), "objects differ:\nwant %#v\ngot  %#v", want, got)
}

func TestMarshalRoundTripsTheGoodScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s, err := Load(file, WithValidator(testValidator{}))
			require.NoError(t, err)
			out, err := Marshal(s)
			require.NoError(t, err)
			back, err := LoadBytes("marshaled.yaml", out, ".", WithValidator(testValidator{}))
			require.NoError(t, err, "re-encoded scenario does not load:\n%s", out)
			assertSameScenario(t, s, back)
			again, err := Marshal(back)
			require.NoError(t, err)
			assert.Equal(t, string(out), string(again), "Marshal is stable")
		})
	}
}

func TestMarshalRoundTripsGeneratedScenarios(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		doc, _ := genScenario(t)
		s, err := LoadBytes("gen.yaml", []byte(doc), ".")
		require.NoError(t, err)
		out, err := Marshal(s)
		require.NoError(t, err)
		back, err := LoadBytes("marshaled.yaml", out, ".")
		require.NoError(t, err, "re-encoded scenario does not load:\n%s\nfrom:\n%s", out, doc)
		assertSameScenario(t, s, back)
	})
}

func TestMarshalWritesTypedObjectsWithoutGeneratedNoise(t *testing.T) {
	s, err := Load("testdata/good/all-actions.yaml", WithValidator(testValidator{}))
	require.NoError(t, err)
	for i := range s.Spec.Objects {
		s.Spec.Objects[i].JSON = nil // as if built in Go
	}
	out, err := Marshal(s)
	require.NoError(t, err)
	assert.NotContains(t, string(out), "creationTimestamp")
	assert.NotContains(t, string(out), "status: {}")
	assert.Contains(t, string(out), "namespace: shop", "a non-default namespace is written")
	back, err := LoadBytes("marshaled.yaml", out, ".", WithValidator(testValidator{}))
	require.NoError(t, err, "%s", out)
	assertSameScenario(t, s, back)
}

// normalizeQuantities re-parses quantities so that equal values compare
// equal with require.Equal (their cached string forms may differ).
func normalizeQuantities(rl v1.ResourceList) v1.ResourceList {
	if rl == nil {
		return nil
	}
	out := v1.ResourceList{}
	for k, q := range rl {
		out[k] = resource.MustParse(q.String())
	}
	return out
}
