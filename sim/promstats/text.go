package promstats

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Label is one name="value" pair of a sample.
type Label struct{ Name, Value string }

// Sample is one exposed time series value: a counter or gauge series, or one
// of a histogram's _bucket, _sum and _count series.
type Sample struct {
	Name   string
	Labels []Label // sorted by name; histogram buckets end with le
	Value  float64
}

// Samples lists every exposed sample in exposition order: families by name,
// series by label values.
func (r *Registry) Samples() []Sample {
	r.collect()
	var out []Sample
	for _, f := range r.sortedFamilies() {
		out = f.appendSamples(out)
	}
	return out
}

// SamplesNamed lists the exposed samples named name (a counter's or
// gauge's family name, or a histogram's name_bucket, name_sum or
// name_count), in exposition order: what Samples returns with that name,
// without building the other families' samples.
func (r *Registry) SamplesNamed(name string) []Sample {
	r.collect()
	f := r.familyNamed(name)
	if f == nil {
		return nil
	}
	var out []Sample
	for _, sm := range f.appendSamples(nil) {
		if sm.Name == name {
			out = append(out, sm)
		}
	}
	return out
}

// ValuesNamed appends to buf the values of the samples SamplesNamed(name)
// lists, in the same order, without building their labels, and returns
// them with the metric's shape: a number that stays the same for as long
// as SamplesNamed(name) lists the same labels in the same order (it moves
// when a series of the family is added or deleted). A reader that matched
// the labels once can then read the values alone, as the scenarios'
// metric expectations do at every instant of a within.
func (r *Registry) ValuesNamed(name string, buf []float64) (values []float64, shape uint64) {
	r.collect()
	f := r.familyNamed(name)
	if f == nil {
		return buf, noFamilyShape
	}
	bucket, sum, count := f.kind == KindHistogram && name == f.name+"_bucket", name == f.name+"_sum", name == f.name+"_count"
	for _, s := range f.sortedSeries() {
		switch {
		case f.kind != KindHistogram:
			buf = append(buf, s.value)
		case bucket:
			for i := range f.buckets {
				buf = append(buf, float64(s.bucketCount(i)))
			}
			buf = append(buf, float64(s.count))
		case sum:
			buf = append(buf, s.total())
		case count:
			buf = append(buf, float64(s.count))
		}
	}
	return buf, f.shape
}

// noFamilyShape is ValuesNamed's shape for a name no family exposes: no
// family's count of series changes reaches it.
const noFamilyShape = ^uint64(0)

// familyNamed returns the family whose samples are named name: a counter
// or gauge of that name, or the histogram of name_bucket, name_sum or
// name_count; nil if none.
func (r *Registry) familyNamed(name string) *family {
	if f, ok := r.families[name]; ok && f.kind != KindHistogram {
		return f
	}
	var f *family
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, cut := strings.CutSuffix(name, suffix); cut {
			if h, ok := r.families[base]; ok && h.kind == KindHistogram {
				f = h
			}
		}
	}
	return f
}

func (r *Registry) sortedFamilies() []*family {
	names := make([]string, 0, len(r.families))
	for n := range r.families {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]*family, 0, len(names))
	for _, n := range names {
		out = append(out, r.families[n])
	}
	return out
}

func (f *family) appendSamples(out []Sample) []Sample {
	order := f.labelOrder()
	for _, s := range f.sortedSeries() {
		labels := make([]Label, 0, len(f.labels)+1)
		for _, i := range order {
			labels = append(labels, Label{f.labels[i], s.values[i]})
		}
		if f.kind != KindHistogram {
			out = append(out, Sample{Name: f.name, Labels: labels, Value: s.value})
			continue
		}
		for i, b := range f.buckets {
			out = append(out, Sample{Name: f.name + "_bucket", Labels: withLe(labels, formatFloat(b)), Value: float64(s.bucketCount(i))})
		}
		out = append(out,
			Sample{Name: f.name + "_bucket", Labels: withLe(labels, "+Inf"), Value: float64(s.count)},
			Sample{Name: f.name + "_sum", Labels: labels, Value: s.total()},
			Sample{Name: f.name + "_count", Labels: labels, Value: float64(s.count)})
	}
	return out
}

func withLe(labels []Label, le string) []Label {
	out := make([]Label, len(labels), len(labels)+1)
	copy(out, labels)
	return append(out, Label{"le", le})
}

// WriteText writes every family with at least one series in the Prometheus
// text exposition format (version 0.0.4): families sorted by name, each
// with its HELP and TYPE lines, series sorted by label values, labels sorted
// by name (le last), values formatted as client_golang's expfmt does.
func (r *Registry) WriteText(w io.Writer) error {
	r.collect()
	bw := bufio.NewWriter(w)
	var line []byte
	for _, f := range r.sortedFamilies() {
		if len(f.series) == 0 {
			continue
		}
		line = append(line[:0], "# HELP "...)
		line = append(line, f.name...)
		line = append(line, ' ')
		line = appendEscaped(line, f.help, false)
		line = append(line, "\n# TYPE "...)
		line = append(line, f.name...)
		line = append(line, ' ')
		line = append(line, f.kind.String()...)
		line = append(line, '\n')
		for _, s := range f.appendSamples(nil) {
			line = appendSample(line, s)
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Text is WriteText into a string.
func (r *Registry) Text() string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}

func appendSample(b []byte, s Sample) []byte {
	b = append(b, s.Name...)
	if len(s.Labels) > 0 {
		b = append(b, '{')
		for i, l := range s.Labels {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, l.Name...)
			b = append(b, '=', '"')
			b = appendEscaped(b, l.Value, true)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = append(b, formatFloat(s.Value)...)
	return append(b, '\n')
}

// appendEscaped escapes backslash and newline, and double quotes in label
// values, as the text format requires.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '"' && quote:
			b = append(b, '\\', '"')
		default:
			b = append(b, c)
		}
	}
	return b
}

// formatFloat formats like expfmt: +Inf, -Inf, NaN, else the shortest 'g'
// representation.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
