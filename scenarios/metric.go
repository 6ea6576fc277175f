package scenarios

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
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

// MetricLabels are the labels of each series of MetricNames. A matcher on
// another label is an error: the label would read as "" and the selector
// would silently match every series or none. Treat as read-only.
var MetricLabels = map[string][]string{
	"kubesim_endpoints":                       {"namespace", "service", "ready"},
	"kubesim_request_duration_seconds_bucket": {"namespace", "service", "le"},
	"kubesim_request_duration_seconds_count":  {"namespace", "service"},
	"kubesim_request_duration_seconds_sum":    {"namespace", "service"},
	"kubesim_requests_total":                  {"namespace", "service", "pod", "node", "outcome"},
}

// MetricLabelValues are the values of the labels of MetricLabels that take
// a fixed set: a request's outcome, an endpoint's readiness and a latency
// bucket's upper bound (Prometheus' default buckets, in seconds). Treat as
// read-only.
var MetricLabelValues = map[string][]string{
	"outcome": {"served", "failed"},
	"ready":   {"true", "false"},
	"le":      {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"},
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
				// Name the user's expression, not the anchored one.
				var serr *syntax.Error
				if errors.As(err, &serr) {
					err = errors.New(string(serr.Code))
				}
				return sel, fmt.Errorf("label %q: invalid regular expression %q: %v", label, value, err)
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

// checkMetricLabels returns what is wrong with the matchers of a selector
// of one of MetricNames: a label the metric does not have, a value a
// label with a fixed set never takes (= and !=), a regular expression
// matching none of them (=~).
func checkMetricLabels(sel MetricSelector) []string {
	labels, ok := MetricLabels[sel.Name]
	if !ok {
		return nil
	}
	var problems []string
	for _, m := range sel.Matchers {
		if !slices.Contains(labels, m.Label) {
			problems = append(problems, fmt.Sprintf("unknown label %q%s: %s has the labels %s",
				m.Label, suggest(m.Label, labels), sel.Name, strings.Join(labels, ", ")))
			continue
		}
		values, fixed := MetricLabelValues[m.Label]
		if !fixed {
			continue
		}
		switch m.Op {
		case MatchEqual, MatchNotEqual:
			if !slices.Contains(values, m.Value) {
				problems = append(problems, fmt.Sprintf("label %q is never %q%s: its values are %s",
					m.Label, m.Value, valueHint(m.Value, values), strings.Join(values, ", ")))
			}
		case MatchRegexp:
			if !slices.ContainsFunc(values, m.regexp().MatchString) {
				problems = append(problems, fmt.Sprintf("label %q: %q matches none of its values (%s); the expression must match a whole value, e.g. %q",
					m.Label, m.Value, strings.Join(values, ", "), m.Value+".*"))
			}
		}
	}
	return problems
}

// valueHint suggests the value a mistyped one stands for: the only one it
// begins ("fail" for "failed"), or a close one; no guess for a number (a
// bucket bound 0.3 is not a typo of 0.1).
func valueHint(v string, values []string) string {
	var prefixed []string
	for _, c := range values {
		if v != "" && strings.HasPrefix(strings.ToLower(c), strings.ToLower(v)) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return fmt.Sprintf(" (did you mean %q?)", prefixed[0])
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return ""
	}
	return suggest(v, values)
}
