package promstats

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// Kind is a metric family's type.
type Kind int

// Metric kinds, as in the Prometheus data model.
const (
	KindCounter Kind = iota
	KindGauge
	KindHistogram
)

func (k Kind) String() string {
	switch k {
	case KindCounter:
		return "counter"
	case KindGauge:
		return "gauge"
	case KindHistogram:
		return "histogram"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// DefBuckets are Prometheus' default histogram buckets (client_golang
// prometheus.DefBuckets), in seconds.
var DefBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Registry is a set of metric families. It is not safe for concurrent use:
// like everything in the simulation core it is driven by the engine's single
// thread. Output and queries are deterministic: families by name, series by
// label values.
type Registry struct {
	families   map[string]*family
	collectors []func()
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{families: map[string]*family{}}
}

// family is one metric name with its series.
type family struct {
	name    string
	help    string
	kind    Kind
	labels  []string  // label names, in the order With takes values
	buckets []float64 // histogram upper bounds, increasing, without +Inf
	series  map[string]*series
	// sorted is sortedSeries' result, kept until a series is added or
	// deleted (values do not change the order).
	sorted []*series
	// shape counts the series added and deleted: while it stays the same
	// the family's samples keep their labels and order (see ValuesNamed).
	shape uint64
}

// series is one labelled time series. For a histogram, count is exact and
// so are the sum of duration observations (in nanoseconds) and the
// expected[i], which accumulate in fixed point the (possibly fractional)
// expected number of observations ≤ buckets[i]; the exposed bucket count is
// its floor. Integer sums do not depend on how the observations were
// batched or ordered, so apportioning them over many calls changes nothing,
// bit for bit (see Histogram.ObserveShiftedExp).
type series struct {
	values   []string
	value    float64 // counter / gauge
	count    uint64  // histogram
	sum      float64 // histogram: the sum of Observe's float values
	sumNanos uint128 // histogram: the sum of duration observations, in ns
	expected []uint128
}

// uint128 is an unsigned 128-bit integer: exact sums of products of two
// uint64s.
type uint128 struct{ hi, lo uint64 }

// addMul adds n·x.
func (a *uint128) addMul(n, x uint64) {
	hi, lo := bits.Mul64(n, x)
	var carry uint64
	a.lo, carry = bits.Add64(a.lo, lo, 0)
	a.hi += hi + carry
}

// float64 is a's value as a float64 (exact up to 2⁵³, as any conversion
// of the same integer the same).
func (a uint128) float64() float64 { return float64(a.hi)*0x1p64 + float64(a.lo) }

// fixedOne is 1 in the fixed point of expected bucket counts: 53 bits of
// fraction, a float64's precision for a probability in [0.5, 1].
const (
	fixedBits        = 53
	fixedOne  uint64 = 1 << fixedBits
)

// total is a histogram series' sum of observations.
func (s *series) total() float64 {
	if s.sumNanos == (uint128{}) {
		return s.sum
	}
	return s.sum + s.sumNanos.float64()/1e9
}

func (r *Registry) register(name, help string, kind Kind, buckets []float64, labels []string) *family {
	if !validMetricName(name) {
		panic(fmt.Sprintf("promstats: invalid metric name %q", name))
	}
	seen := map[string]bool{}
	for _, l := range labels {
		if !validLabelName(l) || l == "le" && kind == KindHistogram || seen[l] {
			panic(fmt.Sprintf("promstats: invalid or duplicate label %q for %s", l, name))
		}
		seen[l] = true
	}
	if f, ok := r.families[name]; ok {
		if f.kind != kind || !slices.Equal(f.labels, labels) || !slices.Equal(f.buckets, buckets) {
			panic(fmt.Sprintf("promstats: %s registered twice with different shapes", name))
		}
		return f
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := r.families[base]; ok && f.kind == KindHistogram {
				panic(fmt.Sprintf("promstats: %s collides with histogram %s", name, base))
			}
		}
		if kind == KindHistogram {
			if _, ok := r.families[name+suffix]; ok {
				panic(fmt.Sprintf("promstats: histogram %s collides with %s", name, name+suffix))
			}
		}
	}
	f := &family{name: name, help: help, kind: kind, labels: slices.Clone(labels), buckets: slices.Clone(buckets), series: map[string]*series{}}
	r.families[name] = f
	return f
}

// OnCollect registers f to run before every read of the registry's
// samples (Samples and so Select and the Sum queries, WriteText), in
// registration order: a component whose gauge is costly to keep current on
// every change brings it up to date there, only when it is read.
func (r *Registry) OnCollect(f func()) { r.collectors = append(r.collectors, f) }

func (r *Registry) collect() {
	for _, f := range r.collectors {
		f()
	}
}

func (f *family) with(values []string) *series {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("promstats: %s takes %d label values %v, got %d", f.name, len(f.labels), f.labels, len(values)))
	}
	key := strings.Join(values, "\xff")
	s, ok := f.series[key]
	if !ok {
		s = &series{values: slices.Clone(values)}
		if f.kind == KindHistogram {
			s.expected = make([]uint128, len(f.buckets))
		}
		f.series[key] = s
		f.sorted = nil
		f.shape++
	}
	return s
}

func (f *family) delete(values []string) bool {
	key := strings.Join(values, "\xff")
	_, ok := f.series[key]
	if ok {
		delete(f.series, key)
		f.sorted = nil
		f.shape++
	}
	return ok
}

// sortedSeries returns the series ordered by label values in label-name
// order (the order client_golang exposes).
func (f *family) sortedSeries() []*series {
	if f.sorted != nil || len(f.series) == 0 {
		return f.sorted
	}
	order := f.labelOrder()
	out := make([]*series, 0, len(f.series))
	for _, s := range f.series {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *series) int {
		for _, i := range order {
			if c := cmp.Compare(a.values[i], b.values[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	f.sorted = out
	return out
}

// labelOrder lists indexes into labels sorted by label name.
func (f *family) labelOrder() []int {
	idx := make([]int, len(f.labels))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(f.labels[a], f.labels[b]) })
	return idx
}

// CounterVec is a counter family.
type CounterVec struct{ f *family }

// Counter is one counter series; its value only goes up.
type Counter struct{ s *series }

// Counter registers (or returns the already registered) counter family.
func (r *Registry) Counter(name, help string, labels ...string) *CounterVec {
	return &CounterVec{r.register(name, help, KindCounter, nil, labels)}
}

// With returns the series for the label values, in registration order.
func (v *CounterVec) With(values ...string) *Counter { return &Counter{v.f.with(values)} }

// Add adds d, which must not be negative.
func (c *Counter) Add(d float64) {
	if d < 0 || math.IsNaN(d) {
		panic(fmt.Sprintf("promstats: counter decreased by %v", d))
	}
	c.s.value += d
}

// Inc adds one.
func (c *Counter) Inc() { c.s.value++ }

// Value is the current value.
func (c *Counter) Value() float64 { return c.s.value }

// GaugeVec is a gauge family.
type GaugeVec struct{ f *family }

// Gauge is one gauge series.
type Gauge struct{ s *series }

// Gauge registers (or returns the already registered) gauge family.
func (r *Registry) Gauge(name, help string, labels ...string) *GaugeVec {
	return &GaugeVec{r.register(name, help, KindGauge, nil, labels)}
}

// With returns the series for the label values, in registration order.
func (v *GaugeVec) With(values ...string) *Gauge { return &Gauge{v.f.with(values)} }

// Delete removes a series; it reports whether it existed.
func (v *GaugeVec) Delete(values ...string) bool { return v.f.delete(values) }

// Set sets the value.
func (g *Gauge) Set(x float64) { g.s.value = x }

// Add adds d (may be negative).
func (g *Gauge) Add(d float64) { g.s.value += d }

// Value is the current value.
func (g *Gauge) Value() float64 { return g.s.value }

// HistogramVec is a histogram family.
type HistogramVec struct{ f *family }

// Histogram is one histogram series.
type Histogram struct {
	s       *series
	buckets []float64
}

// Histogram registers (or returns the already registered) histogram family
// with the given bucket upper bounds (nil means DefBuckets).
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if buckets == nil {
		buckets = DefBuckets
	}
	for i, b := range buckets {
		if math.IsNaN(b) || math.IsInf(b, 0) || i > 0 && b <= buckets[i-1] {
			panic(fmt.Sprintf("promstats: %s buckets must be finite and increasing: %v", name, buckets))
		}
	}
	return &HistogramVec{r.register(name, help, KindHistogram, buckets, labels)}
}

// With returns the series for the label values, in registration order.
func (v *HistogramVec) With(values ...string) *Histogram {
	return &Histogram{s: v.f.with(values), buckets: v.f.buckets}
}

// Observe records one observation.
func (h *Histogram) Observe(x float64) { h.ObserveN(x, 1) }

// ObserveN records n observations of the same value. The sum of float
// observations is a float sum: for totals that do not depend on the
// batches, observe durations (ObserveShiftedExp).
func (h *Histogram) ObserveN(x float64, n uint64) {
	if n == 0 {
		return
	}
	h.s.count += n
	h.s.sum += x * float64(n)
	for i, b := range h.buckets {
		if x <= b {
			h.s.expected[i].addMul(n, fixedOne)
		}
	}
}

// ObserveShiftedExp records n durations distributed as offset + an
// exponential variable of the given mean, in expectation, in a histogram of
// seconds: each bucket receives n·P(X ≤ le) expected observations
// (fractions carried across calls, exposed counts are floors) and the sum
// grows by n·(offset+mean). Both are kept exactly (the sum in nanoseconds,
// each bucket's P in 53-bit fixed point), so splitting n over several
// calls, in any batches, gives the same totals bit for bit as one call:
// how often the traffic model accounts, which follows how often the
// registry is read, does not show in what it reads.
func (h *Histogram) ObserveShiftedExp(n uint64, offset, mean time.Duration) {
	if n == 0 {
		return
	}
	offset, mean = max(offset, 0), max(mean, 0)
	h.s.count += n
	h.s.sumNanos.addMul(n, uint64(offset+mean))
	off, m := offset.Seconds(), mean.Seconds()
	for i, b := range h.buckets {
		switch {
		case b < off:
		case m == 0:
			h.s.expected[i].addMul(n, fixedOne)
		default:
			p := -math.Expm1(-(b - off) / m)
			h.s.expected[i].addMul(n, uint64(math.Round(p*float64(fixedOne))))
		}
	}
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.s.count }

// Sum is the sum of observations.
func (h *Histogram) Sum() float64 { return h.s.total() }

// bucketCount is the exposed cumulative count of bucket i: the floor of
// its expected count, never above the total count.
func (s *series) bucketCount(i int) uint64 {
	e := s.expected[i]
	return min(e.hi<<(64-fixedBits)|e.lo>>fixedBits, s.count)
}

func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
