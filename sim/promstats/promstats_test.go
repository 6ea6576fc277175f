package promstats

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	assert.Equal(t, string(want), got)
}

func sampleRegistry() *Registry {
	r := NewRegistry()
	req := r.Counter("kubesim_requests_total", "Requests sent to services, by outcome.", "namespace", "service", "pod", "node", "outcome")
	req.With("default", "web", "web-b", "node-2", "served").Add(150)
	req.With("default", "web", "web-a", "node-1", "served").Add(36000000)
	req.With("default", "web", "", "node-1", "failed").Add(3)
	req.With("shop", "cart", "cart-0", "node-1", "served").Inc()
	eps := r.Gauge("kubesim_endpoints", "Endpoints in the Service's EndpointSlices.", "namespace", "service", "ready")
	eps.With("default", "web", "true").Set(3)
	eps.With("default", "web", "false").Set(0)
	h := r.Histogram("kubesim_request_duration_seconds", "Latency of served requests.", nil, "namespace", "service")
	web := h.With("default", "web")
	web.Observe(0.003)
	web.Observe(0.02)
	web.ObserveN(0.7, 2)
	r.Gauge("kubesim_unused", "Never set, so not exposed.")
	odd := r.Gauge("kubesim_escapes", "Help with a backslash \\ and\na newline.", "v")
	odd.With("quote \" backslash \\ newline \n").Set(math.Inf(1))
	return r
}

func TestTextExpositionGolden(t *testing.T) {
	golden(t, "exposition.txt", sampleRegistry().Text())
}

func TestSumWithMatchers(t *testing.T) {
	r := sampleRegistry()
	for sel, want := range map[string]float64{
		`kubesim_requests_total`:                                     36000154,
		`kubesim_requests_total{}`:                                   36000154,
		`kubesim_requests_total{namespace="default"}`:                36000153,
		`kubesim_requests_total{outcome="failed"}`:                   3,
		`kubesim_requests_total{outcome!="failed", service = "web"}`: 36000150,
		`kubesim_requests_total{pod=~"web-.*"}`:                      36000150,
		`kubesim_requests_total{pod=~"web"}`:                         0,
		`kubesim_requests_total{pod=""}`:                             3,
		`kubesim_requests_total{pod!~"web-a|"}`:                      151,
		`kubesim_requests_total{missing=""}`:                         36000154,
		`kubesim_requests_total{missing="x"}`:                        0,
		`kubesim_endpoints{ready='true'}`:                            3,
		`kubesim_request_duration_seconds_count{service="web"}`:      4,
		`kubesim_request_duration_seconds_bucket{le="0.005"}`:        1,
		`kubesim_request_duration_seconds_bucket{le="1"}`:            4,
		`kubesim_request_duration_seconds_bucket{le="0.5"}`:          2,
		`kubesim_request_duration_seconds_sum`:                       0.003 + 0.02 + 1.4,
	} {
		got, err := r.Sum(sel)
		require.NoError(t, err, sel)
		assert.InDelta(t, want, got, 1e-9, sel)
	}
	m, err := NewMatcher("outcome", MatchNotEqual, "failed")
	require.NoError(t, err)
	assert.Equal(t, 36000151.0, r.SumOf("kubesim_requests_total", m))
	_, err = r.Sum(`kubesim_request_duration_seconds`)
	assert.ErrorContains(t, err, "is a histogram")
	_, err = r.Sum(`kubesim_typo_total`)
	assert.ErrorContains(t, err, "no metric named kubesim_typo_total")
	_, err = r.Sum(`kubesim_requests_total{pod=~"("}`)
	assert.ErrorContains(t, err, "bad regular expression")
}

func TestParseSelectorErrors(t *testing.T) {
	for _, s := range []string{``, `{a="b"}`, `m{a}`, `m{a="b"`, `m{a="b" c="d"}`, `m{a==b}`, `m{a="\q"}`, `m x`, `m{a="b"} x`, `m{="b"}`} {
		_, err := ParseSelector(s)
		assert.Error(t, err, s)
	}
	sel, err := ParseSelector(" m { a = \"x\\\"y\" , b !~ 'z.*' , } ")
	require.NoError(t, err)
	assert.Equal(t, "m", sel.Name)
	require.Len(t, sel.Matchers, 2)
	assert.Equal(t, `x"y`, sel.Matchers[0].Value)
	assert.Equal(t, MatchNotRegexp, sel.Matchers[1].Op)
	assert.Equal(t, `m{a="x\"y",b!~"z.*"}`, sel.String())
}

func TestObserveShiftedExpIsSplitInvariant(t *testing.T) {
	r := NewRegistry()
	h := r.Histogram("lat", "", nil)
	whole := h.With()
	whole.ObserveShiftedExp(1000, time.Millisecond, 10*time.Millisecond)
	r2 := NewRegistry()
	split := r2.Histogram("lat", "", nil).With()
	for range 1000 {
		split.ObserveShiftedExp(1, time.Millisecond, 10*time.Millisecond)
	}
	// Every value, the sum included, bit for bit: how the traffic model
	// batches its accounting depends on when the registry is read (each
	// read accounts the requests up to then), and reading must not change
	// what is read later.
	assert.Equal(t, r.Samples(), r2.Samples())
	assert.Equal(t, r.Text(), r2.Text())
	// P(X <= 0.01) = 1 - exp(-(0.01-0.001)/0.01) = 0.5934...: 593 of 1000.
	v, err := r.Sum(`lat_bucket{le="0.01"}`)
	require.NoError(t, err)
	assert.Equal(t, 593.0, v)
	v, _ = r.Sum(`lat_bucket{le="0.005"}`)
	assert.Equal(t, 329.0, v) // 1 - exp(-0.4) = 0.3297
	v, _ = r.Sum(`lat_sum`)
	assert.Equal(t, 11.0, v)
}

// The totals of a histogram fed in batches of any sizes, at different
// latencies, are the same bit for bit whatever the batches: what a run's
// metrics say does not depend on how often something read them.
func TestHistogramTotalsDoNotDependOnTheBatches(t *testing.T) {
	type obs struct {
		n            uint64
		offset, mean time.Duration
	}
	var all []obs
	for i := range 40 {
		all = append(all, obs{uint64(1 + i*37%101), 100*time.Microsecond + time.Duration(i%3)*500*time.Microsecond,
			5*time.Millisecond + time.Duration(i%7)*3100*time.Microsecond + time.Duration(i)*17})
	}
	feed := func(batch func(n uint64) []uint64) string {
		r := NewRegistry()
		h := r.Histogram("lat", "", nil).With()
		for _, o := range all {
			for _, n := range batch(o.n) {
				h.ObserveShiftedExp(n, o.offset, o.mean)
			}
		}
		return r.Text()
	}
	whole := feed(func(n uint64) []uint64 { return []uint64{n} })
	ones := feed(func(n uint64) []uint64 {
		b := make([]uint64, n)
		for i := range b {
			b[i] = 1
		}
		return b
	})
	uneven := feed(func(n uint64) []uint64 {
		var b []uint64
		for k := uint64(1); n > 0; k = k*3%7 + 1 {
			k = min(k, n)
			b = append(b, k)
			n -= k
		}
		return b
	})
	assert.Equal(t, whole, ones)
	assert.Equal(t, whole, uneven)
}

func TestRegistrationRules(t *testing.T) {
	r := NewRegistry()
	a := r.Counter("x_total", "h", "a")
	a.With("1").Inc()
	assert.Equal(t, 1.0, r.Counter("x_total", "h", "a").With("1").Value(), "same shape returns the same family")
	assert.Panics(t, func() { r.Gauge("x_total", "h", "a") })
	assert.Panics(t, func() { r.Counter("x_total", "h", "b") })
	assert.Panics(t, func() { a.With("1", "2") })
	assert.Panics(t, func() { a.With("1").Add(-1) })
	assert.Panics(t, func() { r.Counter("bad-name", "h") })
	assert.Panics(t, func() { r.Counter("y", "h", "__reserved") })
	r.Histogram("lat", "h", nil)
	assert.Panics(t, func() { r.Counter("lat_count", "h") })
	assert.Panics(t, func() { r.Histogram("h2", "h", []float64{1, 1}) })
	g := r.Gauge("g", "h", "k")
	g.With("a").Set(2)
	g.With("a").Add(-0.5)
	assert.Equal(t, 1.5, g.With("a").Value())
	assert.True(t, g.Delete("a"))
	assert.False(t, g.Delete("a"))
}

func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{`m`, `m{a="b"}`, `m{a!="b",c=~"d.*",e!~'f'}`, `m{a="\n\"\\"}`, `m{`, `x{a=~"("}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelector(s)
		if err != nil {
			return
		}
		again, err := ParseSelector(sel.String())
		require.NoError(t, err, "round trip of %q via %q", s, sel.String())
		require.Equal(t, sel.Name, again.Name)
		require.Len(t, again.Matchers, len(sel.Matchers))
		for i := range sel.Matchers {
			require.Equal(t, sel.Matchers[i].Name, again.Matchers[i].Name)
			require.Equal(t, sel.Matchers[i].Op, again.Matchers[i].Op)
			require.Equal(t, sel.Matchers[i].Value, again.Matchers[i].Value)
		}
	})
}

// A collect hook runs before every read, so a gauge it keeps is current
// in every query and in the exposition, and a series it deletes is gone.
func TestOnCollectRunsBeforeEveryRead(t *testing.T) {
	r := NewRegistry()
	g := r.Gauge("kubesim_lazy", "Set when read.", "k")
	pending := map[string]float64{"a": 1}
	calls := 0
	r.OnCollect(func() {
		calls++
		for k, v := range pending {
			if v < 0 {
				g.Delete(k)
			} else {
				g.With(k).Set(v)
			}
		}
		clear(pending)
	})
	got, err := r.Sum(`kubesim_lazy{k="a"}`)
	require.NoError(t, err)
	assert.Equal(t, 1.0, got)
	pending["a"], pending["b"] = 5, 2
	assert.Contains(t, r.Text(), "kubesim_lazy{k=\"a\"} 5\nkubesim_lazy{k=\"b\"} 2\n")
	pending["a"] = -1
	assert.Equal(t, []Sample{{Name: "kubesim_lazy", Labels: []Label{{"k", "b"}}, Value: 2}}, r.Select(Selector{Name: "kubesim_lazy"}))
	assert.Equal(t, 3, calls)
}

// SamplesNamed is Samples filtered by name, for every exposed name, and
// the exposition order stays right as series come and go between reads.
func TestSamplesNamedIsSamplesOfThatName(t *testing.T) {
	r := sampleRegistry()
	check := func() {
		t.Helper()
		byName := map[string][]Sample{}
		for _, sm := range r.Samples() {
			byName[sm.Name] = append(byName[sm.Name], sm)
		}
		for name, want := range byName {
			assert.Equal(t, want, r.SamplesNamed(name), name)
		}
		for _, name := range []string{"kubesim_request_duration_seconds", "kubesim_nope", "kubesim_requests_total_count", "kubesim_unused"} {
			assert.Empty(t, r.SamplesNamed(name), name)
		}
	}
	check()
	req := r.Counter("kubesim_requests_total", "", "namespace", "service", "pod", "node", "outcome")
	req.With("default", "api", "api-0", "node-3", "served").Inc() // sorts between existing series
	req.With("a-first", "x", "", "", "failed").Inc()
	check()
	r.Gauge("kubesim_endpoints", "", "namespace", "service", "ready").Delete("default", "web", "false")
	check()
	assert.Equal(t, "a-first", r.SamplesNamed("kubesim_requests_total")[0].Labels[0].Value)
}

// ValuesNamed lists SamplesNamed's values in its order, for every name,
// and its shape moves exactly when a series of the family is added or
// deleted: value changes, and series of other families, leave it.
func TestValuesNamedAreSamplesNamedValues(t *testing.T) {
	r := sampleRegistry()
	names := []string{"kubesim_requests_total", "kubesim_endpoints", "kubesim_request_duration_seconds_bucket",
		"kubesim_request_duration_seconds_sum", "kubesim_request_duration_seconds_count", "kubesim_escapes",
		"kubesim_request_duration_seconds", "kubesim_nope", "kubesim_requests_total_count", "kubesim_unused"}
	shapes := map[string]uint64{}
	check := func(moved ...string) {
		t.Helper()
		for _, name := range names {
			var want []float64
			for _, sm := range r.SamplesNamed(name) {
				want = append(want, sm.Value)
			}
			got, shape := r.ValuesNamed(name, []float64{-1})
			assert.Equal(t, append([]float64{-1}, want...), got, "%s: appended to the buffer", name)
			if old, ok := shapes[name]; ok {
				if slices.Contains(moved, name) {
					assert.NotEqual(t, old, shape, "%s: shape moved", name)
				} else {
					assert.Equal(t, old, shape, "%s: shape kept", name)
				}
			}
			shapes[name] = shape
		}
	}
	check()
	req := r.Counter("kubesim_requests_total", "", "namespace", "service", "pod", "node", "outcome")
	req.With("default", "web", "web-a", "node-1", "served").Add(5)
	h := r.Histogram("kubesim_request_duration_seconds", "", nil, "namespace", "service")
	h.With("default", "web").ObserveN(0.04, 3)
	check()
	req.With("default", "api", "api-0", "node-3", "served").Inc()
	check("kubesim_requests_total")
	h.With("shop", "cart").Observe(1)
	check("kubesim_request_duration_seconds_bucket", "kubesim_request_duration_seconds_sum", "kubesim_request_duration_seconds_count")
	eps := r.Gauge("kubesim_endpoints", "", "namespace", "service", "ready")
	eps.Delete("default", "web", "false")
	check("kubesim_endpoints")
	eps.Delete("default", "nope", "false") // nothing deleted
	check()
}
