package promstats

import (
	"fmt"
	"regexp"
	"strings"
)

// MatchOp is a label matcher's operator.
type MatchOp string

// Matcher operators, as in PromQL.
const (
	MatchEqual     MatchOp = "="
	MatchNotEqual  MatchOp = "!="
	MatchRegexp    MatchOp = "=~"
	MatchNotRegexp MatchOp = "!~"
)

// Matcher selects series by one label. A label a series lacks has the value
// "" (PromQL semantics).
type Matcher struct {
	Name  string
	Op    MatchOp
	Value string
	re    *regexp.Regexp // anchored, for =~ and !~
}

// NewMatcher builds a matcher; regular expressions are fully anchored.
func NewMatcher(name string, op MatchOp, value string) (Matcher, error) {
	m := Matcher{Name: name, Op: op, Value: value}
	switch op {
	case MatchEqual, MatchNotEqual:
	case MatchRegexp, MatchNotRegexp:
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return Matcher{}, fmt.Errorf("label %s: bad regular expression %q: %w", name, value, err)
		}
		m.re = re
	default:
		return Matcher{}, fmt.Errorf("label %s: unknown operator %q", name, op)
	}
	return m, nil
}

// Matches reports whether the label value v satisfies the matcher.
func (m Matcher) Matches(v string) bool {
	switch m.Op {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	case MatchNotRegexp:
		return !m.re.MatchString(v)
	}
	panic(fmt.Sprintf("promstats: matcher with operator %q", m.Op))
}

// String renders the matcher as name op "value".
func (m Matcher) String() string {
	return m.Name + string(m.Op) + quote(m.Value)
}

// Selector is a metric name with label matchers:
// kubesim_requests_total{service="web",outcome!="served"}.
type Selector struct {
	Name     string
	Matchers []Matcher
}

// String renders the selector in the syntax ParseSelector reads.
func (s Selector) String() string {
	if len(s.Matchers) == 0 {
		return s.Name
	}
	parts := make([]string, len(s.Matchers))
	for i, m := range s.Matchers {
		parts[i] = m.String()
	}
	return s.Name + "{" + strings.Join(parts, ",") + "}"
}

func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Matches reports whether a sample satisfies the selector.
func (s Selector) Matches(sm Sample) bool {
	if sm.Name != s.Name {
		return false
	}
	for _, m := range s.Matchers {
		v := ""
		for _, l := range sm.Labels {
			if l.Name == m.Name {
				v = l.Value
				break
			}
		}
		if !m.Matches(v) {
			return false
		}
	}
	return true
}

// Select returns the samples the selector matches, in exposition order. A
// histogram is selected through its _bucket, _sum and _count series.
func (r *Registry) Select(sel Selector) []Sample {
	var out []Sample
	for _, sm := range r.Samples() {
		if sel.Matches(sm) {
			out = append(out, sm)
		}
	}
	return out
}

// SumSelector sums the values of the samples the selector matches (0 when
// none does).
func (r *Registry) SumSelector(sel Selector) float64 {
	total := 0.0
	for _, sm := range r.Select(sel) {
		total += sm.Value
	}
	return total
}

// SumOf sums the samples of the series name that all matchers select.
func (r *Registry) SumOf(name string, matchers ...Matcher) float64 {
	return r.SumSelector(Selector{Name: name, Matchers: matchers})
}

// Sum parses selector and sums the matching samples, e.g.
// Sum(`kubesim_requests_total{service="web",outcome="failed"}`). Naming a
// metric that is not registered, or a histogram by its base name, is an
// error, so a typo in an expectation does not read as 0.
func (r *Registry) Sum(selector string) (float64, error) {
	sel, err := ParseSelector(selector)
	if err != nil {
		return 0, err
	}
	if !r.known(sel.Name) {
		if f, ok := r.families[sel.Name]; ok && f.kind == KindHistogram {
			return 0, fmt.Errorf("%s is a histogram: query %s_count, %s_sum or %s_bucket", sel.Name, sel.Name, sel.Name, sel.Name)
		}
		return 0, fmt.Errorf("no metric named %s", sel.Name)
	}
	return r.SumSelector(sel), nil
}

// known reports whether name is an exposed series name.
func (r *Registry) known(name string) bool {
	if f, ok := r.families[name]; ok {
		return f.kind != KindHistogram
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := r.families[base]; ok && f.kind == KindHistogram {
				return true
			}
		}
	}
	return false
}

// ParseSelector reads `name`, `name{}` or `name{label op "value", ...}`
// with op one of = != =~ !~ and values in double or single quotes
// (escapes \\ \" \' \n \t). Whitespace between tokens is allowed.
func ParseSelector(s string) (Selector, error) {
	p := &parser{src: s}
	sel, err := p.selector()
	if err != nil {
		return Selector{}, fmt.Errorf("selector %q: %w", s, err)
	}
	return sel, nil
}

type parser struct {
	src string
	pos int
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
}

func (p *parser) ident(metric bool) string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || metric && c == ':' || p.pos > start && c >= '0' && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

func (p *parser) selector() (Selector, error) {
	p.skipSpace()
	var sel Selector
	sel.Name = p.ident(true)
	if sel.Name == "" {
		return sel, fmt.Errorf("expected a metric name at offset %d", p.pos)
	}
	p.skipSpace()
	if p.pos == len(p.src) {
		return sel, nil
	}
	if p.src[p.pos] != '{' {
		return sel, fmt.Errorf("unexpected %q at offset %d", p.src[p.pos], p.pos)
	}
	p.pos++
	for {
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == '}' {
			p.pos++
			break
		}
		name := p.ident(false)
		if name == "" {
			return sel, fmt.Errorf("expected a label name at offset %d", p.pos)
		}
		p.skipSpace()
		op, err := p.op()
		if err != nil {
			return sel, err
		}
		p.skipSpace()
		val, err := p.str()
		if err != nil {
			return sel, err
		}
		m, err := NewMatcher(name, op, val)
		if err != nil {
			return sel, err
		}
		sel.Matchers = append(sel.Matchers, m)
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == '}' {
			p.pos++
			break
		}
		return sel, fmt.Errorf("expected ',' or '}' at offset %d", p.pos)
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return sel, fmt.Errorf("trailing text at offset %d", p.pos)
	}
	return sel, nil
}

func (p *parser) op() (MatchOp, error) {
	rest := p.src[p.pos:]
	for _, op := range []MatchOp{MatchRegexp, MatchNotRegexp, MatchNotEqual, MatchEqual} {
		if strings.HasPrefix(rest, string(op)) {
			p.pos += len(op)
			return op, nil
		}
	}
	return "", fmt.Errorf("expected one of = != =~ !~ at offset %d", p.pos)
}

func (p *parser) str() (string, error) {
	if p.pos >= len(p.src) || (p.src[p.pos] != '"' && p.src[p.pos] != '\'') {
		return "", fmt.Errorf("expected a quoted value at offset %d", p.pos)
	}
	q := p.src[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		p.pos++
		switch {
		case c == q:
			return b.String(), nil
		case c == '\\':
			if p.pos >= len(p.src) {
				return "", fmt.Errorf("unterminated escape")
			}
			e := p.src[p.pos]
			p.pos++
			switch e {
			case '\\', '"', '\'':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				return "", fmt.Errorf("unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated string")
}
