package apiserver

import (
	"slices"
	"sort"
	"strings"
	"testing"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"pgregory.net/rapid"
)

// The hand-written DNS-1123 subdomain check accepts exactly what
// upstream's regular expression accepts.
func TestIsDNS1123SubdomainMatchesUpstream(t *testing.T) {
	for _, s := range []string{"a", "a.b", "a-b", "a--b", "0", "web-7d4.18867251edfa0000", "", "-a", "a-", "a.-b", "a-.b", ".a", "a.", "a..b", "A", "a_b",
		string(make([]byte, 254)), strings.Repeat("a", 253), strings.Repeat("a", 254), strings.Repeat("ab.", 84) + "a"} {
		want := len(validation.IsDNS1123Subdomain(s)) == 0
		if got := isDNS1123Subdomain(s); got != want {
			t.Errorf("%q: got %v, upstream %v", s, got, want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringOfN(rapid.SampledFrom([]rune("ab9-.Z_")), 0, 12, -1).Draw(t, "name")
		if got, want := isDNS1123Subdomain(s), len(validation.IsDNS1123Subdomain(s)) == 0; got != want {
			t.Fatalf("%q: got %v, upstream %v", s, got, want)
		}
		if got, want := isDNS1123Label(s), len(validation.IsDNS1123Label(s)) == 0; got != want {
			t.Fatalf("label %q: got %v, upstream %v", s, got, want)
		}
	})
}

// The hand-written port name check accepts exactly what upstream's
// IsValidPortName accepts.
func TestIsValidPortNameMatchesUpstream(t *testing.T) {
	for _, s := range []string{"http", "h2c", "web-8080", "a", "8080", "", "-http", "http-", "ht--tp", "HTTP", "h_ttp",
		"http-metrics-12", "http-metrics-123", "external-disk-provisioner-http"} {
		if got, want := isValidPortName(s), len(validation.IsValidPortName(s)) == 0; got != want {
			t.Errorf("%q: got %v, upstream %v", s, got, want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringOfN(rapid.SampledFrom([]rune("ab9-Z_")), 0, 17, -1).Draw(t, "name")
		if got, want := isValidPortName(s), len(validation.IsValidPortName(s)) == 0; got != want {
			t.Fatalf("%q: got %v, upstream %v", s, got, want)
		}
	})
}

// The plain-metadata shortcut agrees with upstream's full validation.
func TestPlainMetaValidAgreesWithUpstream(t *testing.T) {
	pods := newRegistry().byName["pods"]
	nodes := newRegistry().byName["nodes"]
	rapid.Check(t, func(t *rapid.T) {
		m := &metav1.ObjectMeta{
			Name:      rapid.SampledFrom([]string{"web", "web-1", "a.b", "Web", "-x", "", strings.Repeat("a", 254)}).Draw(t, "name"),
			Namespace: rapid.SampledFrom([]string{"default", "", "a.b", "Team", strings.Repeat("n", 64)}).Draw(t, "namespace"),
		}
		if rapid.Bool().Draw(t, "labels") {
			m.Labels = map[string]string{rapid.SampledFrom([]string{"app", "bad key!"}).Draw(t, "key"): "v"}
		}
		if rapid.Bool().Draw(t, "generateName") {
			m.GenerateName = "gen-"
		}
		m.Generation = int64(rapid.IntRange(-1, 1).Draw(t, "generation"))
		res := pods
		if rapid.Bool().Draw(t, "clusterScoped") {
			res = nodes
		}
		full := apivalidation.ValidateObjectMetaAccessor(m, res.Namespaced, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
		if plainMetaValid(res, m) && len(full) > 0 {
			t.Fatalf("shortcut accepts %+v but upstream says %v", m, full)
		}
		// The same errors; kubesim's label and annotation errors come in
		// key order where upstream's come in map order.
		if got, want := errStrings(validateMeta(res, m)), errStrings(full); !slices.Equal(got, want) {
			t.Fatalf("validateMeta disagrees on %+v: %v vs %v", m, got, want)
		}
	})
}

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	sort.Strings(out)
	return out
}

// The watch cache's event ring behaves as a slice that grows at the back
// and shrinks at the front.
func TestEventRingAgainstSlice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var r eventRing
		var model []int64
		rev := int64(0)
		for _, op := range rapid.SliceOfN(rapid.IntRange(0, 3), 1, 300).Draw(t, "ops") {
			if op == 0 && len(model) > 0 {
				r.Pop()
				model = model[1:]
			} else {
				rev += int64(rapid.IntRange(1, 3).Draw(t, "step"))
				r.Push(histEvent{rev: rev})
				model = append(model, rev)
			}
			if r.Len() != len(model) {
				t.Fatalf("len %d, want %d", r.Len(), len(model))
			}
			for i, want := range model {
				if got := r.At(i).rev; got != want {
					t.Fatalf("at(%d) = %d, want %d", i, got, want)
				}
			}
			probe := int64(rapid.IntRange(0, int(rev)+1).Draw(t, "probe"))
			want := sort.Search(len(model), func(i int) bool { return model[i] >= probe })
			if got := r.search(probe); got != want {
				t.Fatalf("search(%d) = %d, want %d", probe, got, want)
			}
		}
	})
}

// The names validation takes as valid without checking are valid.
func TestWellKnownNamesAreQualified(t *testing.T) {
	for _, n := range wellKnownNames {
		if errs := validation.IsQualifiedName(n); len(errs) > 0 {
			t.Errorf("%q: %v", n, errs)
		}
	}
	if len(qualifiedNameErrs("bad key!")) == 0 {
		t.Error("other names are still checked")
	}
}
