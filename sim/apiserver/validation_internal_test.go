package apiserver

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
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
	})
}
