package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// MetricNames are the series kubesim exports (Prometheus names; a histogram
// contributes its _bucket, _sum and _count series). Metric expectations may
// read only these, plus names given with WithMetricNames, so that a typo is
// an error rather than a silent zero. Treat as read-only.
var MetricNames = []string{
	"kubesim_endpoints",
	"kubesim_request_duration_seconds_bucket",
	"kubesim_request_duration_seconds_count",
	"kubesim_request_duration_seconds_sum",
	"kubesim_requests_total",
}

// MatchOp is a label matcher's operator, as in PromQL.
type MatchOp string

// Label matcher operators.
const (
	MatchEqual     MatchOp = "="
	MatchNotEqual  MatchOp = "!="
	MatchRegexp    MatchOp = "=~" // fully anchored RE2, as Prometheus
	MatchNotRegexp MatchOp = "!~"
)

// Matcher is one label condition of a metric selector. A missing label
// has the value "", as in PromQL.
type Matcher struct {
	Label string
	Op    MatchOp
	Value string
	re    *regexp.Regexp // for =~ and !~
}

// Matches reports whether labels satisfy the matcher.
func (m Matcher) Matches(labels map[string]string) bool {
	v := labels[m.Label]
	switch m.Op {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.regexp().MatchString(v)
	case MatchNotRegexp:
		return !m.regexp().MatchString(v)
	}
	panic(fmt.Sprintf("scenarios: matcher with unknown operator %q", m.Op))
}

func (m Matcher) regexp() *regexp.Regexp {
	if m.re != nil {
		return m.re
	}
	return regexp.MustCompile("^(?:" + m.Value + ")$") // validated by ParseMetricSelector
}

// MetricSelector is a PromQL instant-vector selector without functions or
// ranges: a metric name and label matchers.
type MetricSelector struct {
	Name     string
	Matchers []Matcher
}

// Matches reports whether a series' labels satisfy every matcher.
func (s MetricSelector) Matches(labels map[string]string) bool {
	for _, m := range s.Matchers {
		if !m.Matches(labels) {
			return false
		}
	}
	return true
}

// String prints the selector in PromQL syntax.
func (s MetricSelector) String() string {
	if len(s.Matchers) == 0 {
		return s.Name
	}
	parts := make([]string, len(s.Matchers))
	for i, m := range s.Matchers {
		parts[i] = m.Label + string(m.Op) + strconv.Quote(m.Value)
	}
	return s.Name + "{" + strings.Join(parts, ",") + "}"
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*`)
)

// ParseMetricSelector parses `name`, `name{}` or `name{l1="v",l2!="v",l3=~"re",l4!~"re"}`.
// Values are double- or single-quoted strings with Go/PromQL escapes; a
// trailing comma is allowed; spaces may separate tokens.
func ParseMetricSelector(s string) (MetricSelector, error) {
	var sel MetricSelector
	rest := strings.TrimSpace(s)
	name := metricNameRE.FindString(rest)
	if name == "" {
		return sel, fmt.Errorf("must start with a metric name, e.g. kubesim_requests_total{service=\"web\"}")
	}
	sel.Name = name
	rest = strings.TrimSpace(rest[len(name):])
	if rest == "" {
		return sel, nil
	}
	if rest[0] != '{' {
		return sel, fmt.Errorf("unexpected %q after the metric name: only label matchers in {} are supported", clip(rest))
	}
	rest = strings.TrimSpace(rest[1:])
	seen := map[string]bool{}
	for {
		if rest == "" {
			return sel, fmt.Errorf("missing closing }")
		}
		if rest[0] == '}' {
			if tail := strings.TrimSpace(rest[1:]); tail != "" {
				return sel, fmt.Errorf("unexpected %q after }: functions, ranges and offsets are not supported", clip(tail))
			}
			return sel, nil
		}
		label := labelNameRE.FindString(rest)
		if label == "" {
			return sel, fmt.Errorf("expected a label name at %q", clip(rest))
		}
		rest = strings.TrimSpace(rest[len(label):])
		var op MatchOp
		for _, candidate := range []MatchOp{MatchRegexp, MatchNotRegexp, MatchNotEqual, MatchEqual} {
			if strings.HasPrefix(rest, string(candidate)) {
				op = candidate
				break
			}
		}
		if op == "" {
			return sel, fmt.Errorf("expected =, !=, =~ or !~ after label %q", label)
		}
		rest = strings.TrimSpace(rest[len(op):])
		value, n, err := unquoteLabelValue(rest)
		if err != nil {
			return sel, fmt.Errorf("label %q: %v", label, err)
		}
		rest = strings.TrimSpace(rest[n:])
		m := Matcher{Label: label, Op: op, Value: value}
		if op == MatchRegexp || op == MatchNotRegexp {
			re, err := regexp.Compile("^(?:" + value + ")$")
			if err != nil {
				return sel, fmt.Errorf("label %q: invalid regular expression: %v", label, err)
			}
			m.re = re
		}
		key := label + string(op) + value
		if !seen[key] {
			seen[key] = true
			sel.Matchers = append(sel.Matchers, m)
		}
		if strings.HasPrefix(rest, ",") {
			rest = strings.TrimSpace(rest[1:])
		} else if rest == "" {
			return sel, fmt.Errorf("missing closing }")
		} else if !strings.HasPrefix(rest, "}") {
			return sel, fmt.Errorf("expected , or } after the value of label %q", label)
		}
	}
}

// unquoteLabelValue reads a quoted string at the start of s and returns its
// value and the number of bytes it spans.
func unquoteLabelValue(s string) (string, int, error) {
	if s == "" || (s[0] != '"' && s[0] != '\'') {
		return "", 0, fmt.Errorf("value must be quoted, e.g. \"web\"")
	}
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			lit := s[:i+1]
			if q == '\'' {
				// Go has no single-quoted strings: re-quote the body.
				lit = `"` + strings.ReplaceAll(strings.ReplaceAll(s[1:i], `\'`, `'`), `"`, `\"`) + `"`
			}
			v, err := strconv.Unquote(lit)
			if err != nil {
				return "", 0, fmt.Errorf("invalid escape in %s", s[:i+1])
			}
			return v, i + 1, nil
		}
	}
	return "", 0, fmt.Errorf("unterminated string %s", clip(s))
}

// sumMatching adds the values of the samples the selector matches.
func sumMatching(sel MetricSelector, samples []Sample) (sum float64, matched int) {
	for _, s := range samples {
		if sel.Matches(s.Labels) {
			sum += s.Value
			matched++
		}
	}
	return sum, matched
}

// knownMetric reports whether name may be read, with a suggestion if not.
func knownMetric(name string, extra []string) (bool, string) {
	all := slices.Concat(MetricNames, extra)
	if slices.Contains(all, name) {
		return true, ""
	}
	return false, suggest(name, all)
}
