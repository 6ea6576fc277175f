package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Timing says when an expectation is checked.
type Timing string

// Timings.
const (
	TimingAt         Timing = "at"         // checked once, at exactly Time
	TimingWithin     Timing = "within"     // passes the first time it holds in [0, Time]; fails at Time otherwise
	TimingThroughout Timing = "throughout" // fails the first time it does not hold in [From, Time]; passes at Time otherwise
)

// ExpectKind is what an expectation looks at.
type ExpectKind string

// Expectation kinds.
const (
	ExpectGet    ExpectKind = "get"    // one object, through a jsonpath, compared as text
	ExpectCount  ExpectKind = "count"  // the number of objects of a kind matching selectors
	ExpectMetric ExpectKind = "metric" // the sum of the metric series matching a selector
)

// Expectation is one entry of spec.expect.
type Expectation struct {
	Name   string // optional label
	Timing Timing
	Time   time.Duration // <= spec.duration
	// From starts the window of a throughout (< Time; 0 when not set);
	// always 0 for at and within.
	From time.Duration
	Kind ExpectKind

	// Namespace for get and count on namespaced kinds (DefaultNamespace
	// when absent); AllNamespaces makes count look in every namespace.
	Namespace     string
	AllNamespaces bool

	// get
	Target   Ref
	JSONPath string // kubectl jsonpath template
	Text     string // equals: compared with the jsonpath output as kubectl prints it

	// count
	Resource      Resource
	LabelSelector string // kubectl syntax; "" selects everything
	FieldSelector string // kubectl syntax; "" selects everything

	// metric
	Metric MetricSelector

	// count and metric: the value must satisfy every bound that is set.
	Bounds Bounds

	Index  int    // position in spec.expect
	Source Source // the entry's first line

	lines    map[string]int // line of each field's value
	jsonPath *jsonTemplate  // parsed JSONPath
	labelSel labels.Selector
	fieldSel fields.Selector
}

// Bounds constrain a number: each set bound must hold.
type Bounds struct {
	Equals  *float64
	AtLeast *float64
	AtMost  *float64
}

// Holds reports whether v satisfies every set bound.
func (b Bounds) Holds(v float64) bool {
	return (b.Equals == nil || v == *b.Equals) &&
		(b.AtLeast == nil || v >= *b.AtLeast) &&
		(b.AtMost == nil || v <= *b.AtMost)
}

// String prints the bounds, e.g. "== 6" or ">= 2 and <= 5".
func (b Bounds) String() string {
	var parts []string
	if b.Equals != nil {
		parts = append(parts, "== "+formatNumber(*b.Equals))
	}
	if b.AtLeast != nil {
		parts = append(parts, ">= "+formatNumber(*b.AtLeast))
	}
	if b.AtMost != nil {
		parts = append(parts, "<= "+formatNumber(*b.AtMost))
	}
	return strings.Join(parts, " and ")
}

func formatNumber(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Description says what the expectation checks: its name, or a summary.
func (e *Expectation) Description() string {
	if e.Name != "" {
		return e.Name
	}
	switch e.Kind {
	case ExpectGet:
		return fmt.Sprintf("%s %s == %q", e.Target, e.JSONPath, e.Text)
	case ExpectCount:
		var sel []string
		if e.LabelSelector != "" {
			sel = append(sel, e.LabelSelector)
		}
		if e.FieldSelector != "" {
			sel = append(sel, e.FieldSelector)
		}
		s := "count " + e.Resource.Plural
		if len(sel) > 0 {
			s += " (" + strings.Join(sel, ", ") + ")"
		}
		return s + " " + e.Bounds.String()
	case ExpectMetric:
		return e.Metric.String() + " " + e.Bounds.String()
	}
	return string(e.Kind)
}

// Wants says what the expectation wants: the quoted text of a get, or the
// bounds of a count or metric (e.g. "== 6", ">= 2 and <= 5").
func (e *Expectation) Wants() string {
	if e.Kind == ExpectGet {
		return fmt.Sprintf("%q", e.Text)
	}
	return e.Bounds.String()
}

// When is the expectation's timing as the report prints it: "at 5m",
// "within 8m", "throughout 10m" (from 0s), "throughout 1m-5m".
func (e *Expectation) When() string {
	if e.Timing == TimingThroughout && e.From > 0 {
		return fmt.Sprintf("%s %s-%s", e.Timing, FormatDuration(e.From), FormatDuration(e.Time))
	}
	return fmt.Sprintf("%s %s", e.Timing, FormatDuration(e.Time))
}

// String is the description with its timing, e.g. "… within 8m".
func (e *Expectation) String() string {
	return e.Description() + " " + e.When()
}

// firstChecked is the first instant the expectation may be evaluated at
// and found to fail: Time for at and within (a within may hold earlier,
// but fails only at Time), From for throughout.
func (e *Expectation) firstChecked() time.Duration {
	if e.Timing == TimingThroughout {
		return e.From
	}
	return e.Time
}

// --- decoding ---

var expectFields = []string{"name", "at", "within", "throughout", "from", "namespace", "allNamespaces", "get", "jsonpath",
	"count", "labelSelector", "fieldSelector", "metric", "equals", "atLeast", "atMost"}

var expectKindFields = map[ExpectKind][]string{
	ExpectGet:    {"namespace", "jsonpath", "equals"},
	ExpectCount:  {"namespace", "allNamespaces", "labelSelector", "fieldSelector", "equals", "atLeast", "atMost"},
	ExpectMetric: {"equals", "atLeast", "atMost"},
}

func (d *fileDec) expectation(n *yaml.Node, path string, index int) (Expectation, bool) {
	e := Expectation{Index: index, Namespace: DefaultNamespace, Source: Source{File: d.file, Line: lineOf(n)}}
	o, ok := d.mapping(n, path, expectFields...)
	if !ok {
		return e, false
	}
	e.lines = o.lines()
	if v := o.get("name"); v != nil {
		e.Name, _ = d.str(v, o.sub("name"))
		// The name is one line of the report: a newline would split its
		// PASS/FAIL line, a tab or escape garble it.
		if i := strings.IndexFunc(e.Name, unicode.IsControl); i >= 0 {
			r, _ := utf8.DecodeRuneInString(e.Name[i:])
			d.errorf(v, o.sub("name"), "contains a control character (%q): a name is one line of the report", string(r))
		}
	}
	d.timing(o, &e)
	var kinds []ExpectKind
	for _, k := range []ExpectKind{ExpectGet, ExpectCount, ExpectMetric} {
		if _, set := o.vals[string(k)]; set {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		d.errorf(o.n, path, "needs one of get, count or metric")
		return e, false
	case 1:
		e.Kind = kinds[0]
	default:
		d.errorf(o.key(string(kinds[1])), path, "set only one of get, count and metric (found %s and %s)", kinds[0], kinds[1])
		return e, false
	}
	allowed := expectKindFields[e.Kind]
	for _, k := range o.order {
		if slices.Contains(allowed, k) || slices.Contains(timingFields, k) || k == "name" || k == string(e.Kind) {
			continue
		}
		d.errorf(o.key(k), o.sub(k), "field %q is not used by a %s expectation (it takes %s)", k, e.Kind, strings.Join(allowed, ", "))
	}
	if v := o.get("namespace"); v != nil && slices.Contains(allowed, "namespace") {
		if ns, ok := d.nonEmpty(v, o.sub("namespace")); ok {
			e.Namespace = ns
			for _, msg := range validation.IsDNS1123Label(ns) {
				d.errorf(v, o.sub("namespace"), "invalid namespace %q: %s", ns, msg)
			}
		}
	}
	switch e.Kind {
	case ExpectGet:
		d.getExpectation(o, &e)
	case ExpectCount:
		d.countExpectation(o, &e)
	case ExpectMetric:
		d.metricExpectation(o, &e)
	}
	usable := (e.Kind == ExpectGet && e.Target.Name != "") || (e.Kind == ExpectCount && e.Resource.Kind != "") || e.Kind == ExpectMetric
	return e, usable
}

// timingFields are the fields of an expectation's timing.
var timingFields = []string{"at", "within", "throughout", "from"}

// timing decodes at, within or throughout (with its optional from).
func (d *fileDec) timing(o *object, e *Expectation) {
	var set []Timing
	for _, t := range []Timing{TimingAt, TimingWithin, TimingThroughout} {
		if o.get(string(t)) != nil {
			set = append(set, t)
		}
	}
	timeOK := false
	switch len(set) {
	case 0:
		d.errorf(o.n, o.path, "needs at (checked at that instant), within (passes the first time it holds) or throughout (holds at every instant up to it)")
	case 1:
		e.Timing = set[0]
		key := string(e.Timing)
		if t, ok := d.duration(o.get(key), o.sub(key)); ok {
			e.Time, timeOK = t, true
			d.checkWithinDuration(o.get(key), o.sub(key), t)
		}
	default:
		d.errorf(o.key(string(set[1])), o.path, "set only one of at, within and throughout (found %s and %s)", set[0], set[1])
	}
	from := o.get("from")
	if from != nil && (len(set) != 1 || e.Timing != TimingThroughout) {
		d.errorf(o.key("from"), o.sub("from"), "is only used with throughout (the window [from, throughout] an invariant must hold over)")
		return
	}
	if e.Timing != TimingThroughout {
		return
	}
	if from != nil {
		t, ok := d.duration(from, o.sub("from"))
		if !ok {
			return
		}
		e.From = t
	}
	// The window is [from, throughout] with from < throughout: a window of
	// one instant is an at, and a reversed one most likely a typo.
	switch {
	case !timeOK:
	case from == nil && e.Time == 0:
		d.errorf(o.get("throughout"), o.sub("throughout"), "must be after from (0s when not set): a single instant is at: 0s")
	case e.From == e.Time:
		d.errorf(from, o.sub("from"), "%s must be before throughout (%s): a single instant is at: %s", FormatDuration(e.From), FormatDuration(e.Time), FormatDuration(e.From))
	case e.From > e.Time:
		d.errorf(from, o.sub("from"), "%s must be before throughout (%s)", FormatDuration(e.From), FormatDuration(e.Time))
	}
}

func (d *fileDec) getExpectation(o *object, e *Expectation) {
	if v := o.get("get"); v == nil {
		d.errorf(o.key("get"), o.sub("get"), "must name an object as kind/name, e.g. deployment/web")
	} else if s, ok := d.nonEmpty(v, o.sub("get")); ok {
		ref, err := ParseRef(s)
		if err != nil {
			d.errorf(v, o.sub("get"), "%v", err)
		}
		e.Target = ref
	}
	if v := o.required("jsonpath"); v != nil {
		if s, ok := d.nonEmpty(v, o.sub("jsonpath")); ok {
			t, err := parseTemplate(s)
			if err != nil {
				d.errorf(v, o.sub("jsonpath"), "invalid jsonpath: %v", err)
			} else if t.literal {
				hint := ""
				if !strings.ContainsAny(s, " \t") {
					hint = fmt.Sprintf("; did you mean %q?", "{."+strings.TrimPrefix(s, ".")+"}")
				}
				d.errorf(v, o.sub("jsonpath"), "%q has no {…} expression, so it prints as it is, whatever the object (as kubectl -o jsonpath does)%s", s, hint)
			}
			e.JSONPath, e.jsonPath = s, t
		}
	}
	if v := o.required("equals"); v != nil {
		if v.Kind != yaml.ScalarNode {
			d.errorf(v, o.sub("equals"), "must be the expected jsonpath output as text, not %s", describe(v))
		} else {
			e.Text = v.Value
		}
	}
}

func (d *fileDec) countExpectation(o *object, e *Expectation) {
	kindNode := o.get("count")
	if kindNode == nil {
		d.errorf(o.key("count"), o.sub("count"), "must name a kind, e.g. pods")
		return
	}
	name, ok := d.nonEmpty(kindNode, o.sub("count"))
	if !ok {
		return
	}
	r, found := LookupResource(name)
	if !found {
		d.errorf(kindNode, o.sub("count"), "unknown kind %q%s", name, suggest(name, resourceNames()))
		return
	}
	e.Resource = r
	if v := o.get("allNamespaces"); v != nil {
		e.AllNamespaces, _ = d.boolean(v, o.sub("allNamespaces"))
	}
	if v := o.get("labelSelector"); v != nil {
		if s, ok := d.str(v, o.sub("labelSelector")); ok {
			sel, err := labels.Parse(s)
			if err != nil {
				d.errorf(v, o.sub("labelSelector"), "invalid label selector: %v", err)
			}
			e.LabelSelector, e.labelSel = s, sel
		}
	}
	if v := o.get("fieldSelector"); v != nil {
		if s, ok := d.str(v, o.sub("fieldSelector")); ok {
			sel, err := parseFieldSelector(s, r)
			if err != nil {
				d.errorf(v, o.sub("fieldSelector"), "invalid field selector: %v", err)
			}
			e.FieldSelector, e.fieldSel = s, sel
		}
	}
	d.bounds(o, e, true)
}

func (d *fileDec) metricExpectation(o *object, e *Expectation) {
	v := o.get("metric")
	if v == nil {
		d.errorf(o.key("metric"), o.sub("metric"), "must be a metric selector, e.g. kubesim_requests_total{service=\"web\"}")
		return
	}
	s, ok := d.nonEmpty(v, o.sub("metric"))
	if !ok {
		return
	}
	sel, err := ParseMetricSelector(s)
	if err != nil {
		d.errorf(v, o.sub("metric"), "invalid metric selector: %v", err)
		return
	}
	if known, hint := knownMetric(sel.Name, d.l.opts.metricNames); !known {
		d.errorf(v, o.sub("metric"), "unknown metric %q%s: kubesim exports %s", sel.Name, hint, strings.Join(MetricNames, ", "))
	}
	for _, p := range checkMetricLabels(sel) {
		d.errorf(v, o.sub("metric"), "%s", p)
	}
	e.Metric = sel
	d.bounds(o, e, false)
}

// bounds decodes equals / atLeast / atMost; integer says the value counts objects.
func (d *fileDec) bounds(o *object, e *Expectation, integer bool) {
	read := func(key string) *float64 {
		v := o.get(key)
		if v == nil {
			return nil
		}
		if integer {
			i, ok := d.integer(v, o.sub(key), 0, math.MaxInt32)
			if !ok {
				return nil
			}
			f := float64(i)
			return &f
		}
		f, ok := d.number(v, o.sub(key), math.Inf(-1))
		if !ok {
			return nil
		}
		return &f
	}
	e.Bounds = Bounds{Equals: read("equals"), AtLeast: read("atLeast"), AtMost: read("atMost")}
	_, hasEq := o.vals["equals"]
	_, hasMin := o.vals["atLeast"]
	_, hasMax := o.vals["atMost"]
	if !hasEq && !hasMin && !hasMax {
		d.errorf(o.n, o.path, "a %s expectation needs equals, atLeast or atMost", e.Kind)
		return
	}
	b := e.Bounds
	lo, hi := math.Inf(-1), math.Inf(1)
	if b.AtLeast != nil {
		lo = *b.AtLeast
	}
	if b.AtMost != nil {
		hi = *b.AtMost
	}
	switch {
	case lo > hi:
		d.errorf(o.key("atMost"), o.sub("atMost"), "can never hold: atLeast %s is greater than atMost %s", formatNumber(lo), formatNumber(hi))
	case b.Equals != nil && *b.Equals < lo:
		d.errorf(o.key("equals"), o.sub("equals"), "can never hold: equals %s is below atLeast %s", formatNumber(*b.Equals), formatNumber(lo))
	case b.Equals != nil && *b.Equals > hi:
		d.errorf(o.key("equals"), o.sub("equals"), "can never hold: equals %s is above atMost %s", formatNumber(*b.Equals), formatNumber(hi))
	}
}

// --- evaluation ---

// Cluster is the read-only view of the simulated cluster that expectations
// are evaluated against; the runner implements it over the API server's
// store and the metrics registry.
type Cluster interface {
	// Get returns the object r named name in namespace ("" for cluster-scoped
	// kinds), or false if it does not exist.
	Get(r Resource, namespace, name string) (runtime.Object, bool)
	// List returns every object of kind r in namespace ("" means all
	// namespaces, and is always used for cluster-scoped kinds).
	List(r Resource, namespace string) []runtime.Object
	// Metric returns the current value of every series named name.
	Metric(name string) []Sample
}

// Sample is one series of a metric: its labels and current value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Observation is the outcome of evaluating an expectation once.
type Observation struct {
	Holds bool
	// Value is what was observed, printable: the jsonpath output, the count,
	// the metric sum, or why there is no value (object not found, jsonpath
	// error).
	Value string
	// NotFound is set when a get's object does not exist (Value says so
	// for people); never for count or metric.
	NotFound bool
}

// Evaluate checks e against the cluster's current state. It is pure: it
// reads cl and nothing else.
func (e *Expectation) Evaluate(cl Cluster) Observation {
	switch e.Kind {
	case ExpectGet:
		return e.evalGet(cl)
	case ExpectCount:
		return e.evalCount(cl, nil)
	case ExpectMetric:
		return e.evalMetric(cl)
	}
	panic(fmt.Sprintf("scenarios: expectation %d has no kind", e.Index))
}

func (e *Expectation) namespaceFor(r Resource) string {
	if !r.Namespaced || (e.Kind == ExpectCount && e.AllNamespaces) {
		return ""
	}
	return e.Namespace
}

func (e *Expectation) evalGet(cl Cluster) Observation {
	ns := e.namespaceFor(e.Target.Resource)
	obj, ok := cl.Get(e.Target.Resource, ns, e.Target.Name)
	if !ok {
		where := ""
		if ns != "" {
			where = " in namespace " + ns
		}
		return Observation{Value: fmt.Sprintf("%s not found%s", e.Target, where), NotFound: true}
	}
	out, err := e.template().text(obj, e.Target.Resource)
	if err != nil {
		return Observation{Value: "jsonpath error: " + err.Error()}
	}
	return Observation{Holds: out == e.Text, Value: out}
}

// template returns the parsed JSONPath (parsed here for an expectation
// the loader did not make).
func (e *Expectation) template() *jsonTemplate {
	if e.jsonPath == nil {
		t, err := parseTemplate(e.JSONPath)
		if err != nil {
			panic(fmt.Sprintf("scenarios: expectation %d has an invalid jsonpath the loader should have rejected: %v", e.Index, err))
		}
		e.jsonPath = t
	}
	return e.jsonPath
}

// countMemo remembers whether each object (by UID) matched a count's
// selectors at a resourceVersion, so that listing again re-checks only the
// objects that changed: the field selector's check builds the object's
// field set, costly at thousands of objects an instant.
type countMemo struct {
	byUID map[types.UID]memoMatch
	pass  uint32 // evaluations so far; entries not seen in one are pruned
}

type memoMatch struct {
	rv    string
	match bool
	pass  uint32
}

func (e *Expectation) evalCount(cl Cluster, memo *countMemo) Observation {
	if e.labelSel == nil {
		sel, err := labels.Parse(e.LabelSelector)
		if err != nil {
			panic(fmt.Sprintf("scenarios: expectation %d has an invalid label selector the loader should have rejected: %v", e.Index, err))
		}
		e.labelSel = sel
	}
	if e.fieldSel == nil {
		sel, err := parseFieldSelector(e.FieldSelector, e.Resource)
		if err != nil {
			panic(fmt.Sprintf("scenarios: expectation %d has an invalid field selector the loader should have rejected: %v", e.Index, err))
		}
		e.fieldSel = sel
	}
	ns := e.namespaceFor(e.Resource)
	if memo != nil {
		memo.pass++
		if memo.byUID == nil {
			memo.byUID = map[types.UID]memoMatch{}
		}
	}
	n := 0
	objs := cl.List(e.Resource, ns)
	for _, obj := range objs {
		acc, err := meta.Accessor(obj)
		if err != nil {
			return Observation{Value: "cannot read object: " + err.Error()}
		}
		uid, rv := acc.GetUID(), acc.GetResourceVersion()
		if memo != nil && uid != "" && rv != "" {
			if m, ok := memo.byUID[uid]; ok && m.rv == rv {
				m.pass = memo.pass
				memo.byUID[uid] = m
				if m.match {
					n++
				}
				continue
			}
		}
		match, err := e.countMatches(obj, acc, ns)
		if err != nil {
			return Observation{Value: "cannot read object: " + err.Error()}
		}
		if memo != nil && uid != "" && rv != "" {
			memo.byUID[uid] = memoMatch{rv: rv, match: match, pass: memo.pass}
		}
		if match {
			n++
		}
	}
	if memo != nil && len(memo.byUID) > 2*len(objs)+1024 {
		for uid, m := range memo.byUID {
			if m.pass != memo.pass {
				delete(memo.byUID, uid) // gone since
			}
		}
	}
	v := strconv.Itoa(n)
	if len(objs) == 0 && ns != "" {
		// as kubectl's "No resources found in shop namespace.": the
		// namespace may be the wrong one
		v += fmt.Sprintf(" (no %s in namespace %s)", e.Resource.Plural, ns)
	}
	return Observation{Holds: e.Bounds.Holds(float64(n)), Value: v}
}

// countMatches reports whether a listed object counts: in the namespace,
// matching the label and field selectors.
func (e *Expectation) countMatches(obj runtime.Object, acc metav1.Object, ns string) (bool, error) {
	if ns != "" && acc.GetNamespace() != ns {
		return false, nil
	}
	if !e.labelSel.Matches(labels.Set(acc.GetLabels())) {
		return false, nil
	}
	if !e.fieldSel.Empty() {
		set, err := fieldSet(obj, e.Resource)
		if err != nil {
			return false, err
		}
		if !e.fieldSel.Matches(set) {
			return false, nil
		}
	}
	return true, nil
}

func (e *Expectation) evalMetric(cl Cluster) Observation {
	sum, matched := sumMatching(e.Metric, cl.Metric(e.Metric.Name))
	return e.metricObservation(sum, matched)
}

// metricObservation is what a metric expectation observes when matched
// samples sum to sum.
func (e *Expectation) metricObservation(sum float64, matched int) Observation {
	v := formatNumber(sum)
	if matched == 0 {
		v += " (no matching series)"
	}
	return Observation{Holds: e.Bounds.Holds(sum), Value: v}
}
