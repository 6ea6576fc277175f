package scenarios

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validator checks a decoded manifest as the API server would on create
// (kubesim's API server provides one). Paths in the returned errors are
// relative to the object (e.g. spec.replicas); the loader maps each to the
// line of that field in the YAML. Validate receives a copy it may modify
// (e.g. apply defaults to).
type Validator interface {
	Validate(obj runtime.Object) field.ErrorList
}

// ValidatorFunc adapts a function to Validator.
type ValidatorFunc func(obj runtime.Object) field.ErrorList

// Validate calls f.
func (f ValidatorFunc) Validate(obj runtime.Object) field.ErrorList { return f(obj) }

// Option configures a load.
type Option func(*options)

type options struct {
	validator   Validator
	metricNames []string
}

// WithValidator makes the loader run v on every manifest (objects, files,
// apply events) that decodes cleanly.
func WithValidator(v Validator) Option { return func(o *options) { o.validator = v } }

// WithMetricNames adds series names that metric expectations may read, to
// the built-in MetricNames.
func WithMetricNames(names ...string) Option {
	return func(o *options) { o.metricNames = append(o.metricNames, names...) }
}

// Load reads, decodes and statically checks the scenario file at path.
// Files under spec.files are read relative to its directory. On any problem
// it returns a nil scenario and an ErrorList holding every error found.
func Load(file string, opts ...Option) (*Scenario, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, ErrorList{{File: file, Message: "cannot read scenario: " + pathErrorText(err)}}
	}
	return LoadBytes(file, data, filepath.Dir(file), opts...)
}

// LoadBytes is Load for a scenario already in memory; name is the file name
// used in messages and baseDir the directory spec.files are relative to.
func LoadBytes(name string, data []byte, baseDir string, opts ...Option) (*Scenario, error) {
	read := func(rel string) ([]byte, string, error) {
		// An absolute path is read and shown as written.
		shown, full := rel, rel
		if !filepath.IsAbs(rel) {
			shown = filepath.Join(filepath.Dir(name), filepath.FromSlash(rel))
			full = filepath.Join(baseDir, filepath.FromSlash(rel))
		}
		if st, err := os.Stat(full); err == nil && st.IsDir() {
			return nil, shown, errors.New("is a directory; list the manifest files themselves")
		}
		b, err := readFile(full)
		return b, shown, err
	}
	return load(name, data, read, opts)
}

// maxFileBytes bounds what is read of a scenario or manifest file, so that
// /dev/zero or a runaway generator is an error, not a process out of
// memory. The API server takes at most 3 MiB per object; a scenario of
// 5,000 nodes and thousands of manifests stays far below this.
const maxFileBytes = 64 << 20

var errFileTooLarge = fmt.Errorf("larger than %d MiB", maxFileBytes>>20)

// readFile is os.ReadFile up to maxFileBytes.
func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileBytes {
		return nil, errFileTooLarge
	}
	return data, nil
}

// LoadFS is Load on a file system (e.g. an embed.FS of built-in scenarios):
// name and spec.files are slash-separated paths inside fsys.
func LoadFS(fsys fs.FS, name string, opts ...Option) (*Scenario, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, ErrorList{{File: name, Message: "cannot read scenario: " + pathErrorText(err)}}
	}
	read := func(rel string) ([]byte, string, error) {
		full := path.Join(path.Dir(name), rel)
		if path.IsAbs(rel) || !fs.ValidPath(full) {
			return nil, full, errors.New("must be a relative path inside the scenario's directory")
		}
		b, err := fs.ReadFile(fsys, full)
		return b, full, err
	}
	return load(name, data, read, opts)
}

func pathErrorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// loader holds the state of one load.
type loader struct {
	opts   options
	errs   *errorSet
	read   func(rel string) (data []byte, shown string, err error)
	visits int // YAML nodes visited, aliases expanded; bounded by maxNodeVisits

	// skipTimeline is set when a node group, event or expectation did not
	// decode: replaying the timeline without it would report follow-on errors.
	skipTimeline bool
	// skipNodeStates is set when an event did not decode: it may have
	// been a crash or recovery, so the replayed node states (crashed,
	// partitioned) are not checked, to spare follow-on errors.
	skipNodeStates bool

	duration     time.Duration // spec.duration once decoded; 0 when missing or bad
	durationNode *yaml.Node
}

func load(name string, data []byte, read func(string) ([]byte, string, error), opts []Option) (*Scenario, error) {
	l := &loader{errs: newErrorSet(), read: read}
	for _, o := range opts {
		o(&l.opts)
	}
	s := l.scenario(name, data)
	if len(l.errs.list) > 0 {
		return nil, l.errs.sorted()
	}
	return s, nil
}

// fileDec decodes nodes of one file, reporting errors against it.
type fileDec struct {
	l    *loader
	file string
}

func (d *fileDec) errorf(n *yaml.Node, path, format string, args ...any) {
	line, col := 1, 0
	if n != nil && n.Line > 0 {
		line, col = n.Line, n.Column
	}
	d.l.errs.add(d.file, line, col, path, fmt.Sprintf(format, args...))
}

// object is a mapping node whose keys were checked against a field list.
type object struct {
	d     *fileDec
	n     *yaml.Node // the mapping (resolved)
	path  string
	vals  map[string]pair
	order []string // keys present, in document order
}

// mapping checks that n is a mapping (null counts as empty) with only the
// allowed keys and returns it; unknown keys are reported with a suggestion.
func (d *fileDec) mapping(n *yaml.Node, path string, allowed ...string) (*object, bool) {
	n = resolve(n)
	o := &object{d: d, n: n, path: path, vals: map[string]pair{}}
	if isNull(n) {
		return o, true
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping, not %s", describe(n))
		return o, false
	}
	for _, p := range pairs(n) {
		k := p.key.Value
		if _, dup := o.vals[k]; dup || p.key.ShortTag() == "!!merge" {
			continue // checkTree reported it
		}
		if !slices.Contains(allowed, k) {
			d.errorf(p.key, joinKey(path, k), "unknown field %q%s", k, suggest(k, allowed))
			continue
		}
		o.vals[k] = p
		o.order = append(o.order, k)
	}
	return o, true
}

// get returns the value of key, or nil when absent or null.
func (o *object) get(key string) *yaml.Node {
	p, ok := o.vals[key]
	if !ok || isNull(p.value) {
		return nil
	}
	return p.value
}

// key returns the key node of key, or the mapping itself when absent.
func (o *object) key(key string) *yaml.Node {
	if p, ok := o.vals[key]; ok {
		return p.key
	}
	if o.n != nil {
		return o.n
	}
	return nil
}

// lines maps each present key to the line of its value.
func (o *object) lines() map[string]int {
	out := make(map[string]int, len(o.order))
	for _, k := range o.order {
		out[k] = lineOf(o.vals[k].value)
	}
	return out
}

// sub is the field path of key.
func (o *object) sub(key string) string { return joinKey(o.path, key) }

// required reports a missing field and returns its value node.
func (o *object) required(key string) *yaml.Node {
	v := o.get(key)
	if v == nil {
		o.d.errorf(o.n, o.sub(key), "required field is missing")
	}
	return v
}

// --- scalars ---

func (d *fileDec) str(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		hint := ""
		if n != nil && n.Kind == yaml.ScalarNode {
			hint = fmt.Sprintf("; quote it: %q", n.Value)
		}
		d.errorf(n, path, "must be a string, not %s%s", describe(n), hint)
		return "", false
	}
	return n.Value, true
}

// nonEmpty is str that also rejects "".
func (d *fileDec) nonEmpty(n *yaml.Node, path string) (string, bool) {
	s, ok := d.str(n, path)
	if ok && s == "" {
		d.errorf(n, path, "must not be empty")
		return "", false
	}
	return s, ok
}

// wellFormedDuration is time.ParseDuration's syntax.
var wellFormedDuration = regexp.MustCompile(`^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

func (d *fileDec) duration(n *yaml.Node, path string) (time.Duration, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		msg := fmt.Sprintf("must be a duration such as \"90s\", \"5m\" or \"1h30m\", not %s", describe(n))
		if n != nil && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
			msg += fmt.Sprintf("; a unit is required (e.g. \"%ss\")", n.Value)
		}
		d.errorf(n, path, "%s", msg)
		return 0, false
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil && wellFormedDuration.MatchString(n.Value) {
		// The syntax is right, so Go's "invalid duration" is an overflow.
		d.errorf(n, path, "duration %q is out of range: at most %s", clip(n.Value), time.Duration(math.MaxInt64))
		return 0, false
	}
	if err != nil {
		d.errorf(n, path, "invalid duration %q%s: use Go/Kubernetes durations with units ns, us, ms, s, m, h (e.g. \"90s\", \"1h30m\")",
			clip(n.Value), durationHint(n.Value))
		return 0, false
	}
	if v < 0 {
		d.errorf(n, path, "must not be negative, got %s", n.Value)
		return 0, false
	}
	return v, true
}

// integer decodes a YAML integer within [lo, hi].
func (d *fileDec) integer(n *yaml.Node, path string, lo, hi int64) (int64, bool) {
	n = resolve(n)
	var v int64
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
			d.errorf(n, path, "%s is out of range [%d, %d]", n.Value, lo, hi)
		} else {
			d.errorf(n, path, "must be an integer, not %s", describe(n))
		}
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(n, path, "must be between %d and %d, got %d", lo, hi, v)
		return 0, false
	}
	return v, true
}

func (d *fileDec) uinteger(n *yaml.Node, path string) (uint64, bool) {
	n = resolve(n)
	var v uint64
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.errorf(n, path, "must be a non-negative integer (up to 2^64-1), not %s", describe(n))
		return 0, false
	}
	return v, true
}

// number decodes a finite YAML number (integer or float) >= lo.
func (d *fileDec) number(n *yaml.Node, path string, lo float64) (float64, bool) {
	n = resolve(n)
	var v float64
	if n == nil || n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&v) != nil {
		d.errorf(n, path, "must be a number, not %s", describe(n))
		return 0, false
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		d.errorf(n, path, "must be a finite number, not %s", n.Value)
		return 0, false
	}
	if v < lo {
		d.errorf(n, path, "must be at least %g, got %s", lo, n.Value)
		return 0, false
	}
	return v, true
}

func (d *fileDec) boolean(n *yaml.Node, path string) (bool, bool) {
	n = resolve(n)
	var v bool
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		d.errorf(n, path, "must be true or false, not %s", describe(n))
		return false, false
	}
	return v, true
}

func (d *fileDec) list(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "must be a list, not %s", describe(n))
		return nil, false
	}
	return n.Content, true
}

func (d *fileDec) stringList(n *yaml.Node, path string) ([]string, bool) {
	items, ok := d.list(n, path)
	var out []string
	for i, item := range items {
		s, good := d.nonEmpty(item, fmt.Sprintf("%s[%d]", path, i))
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

// stringMap decodes a mapping of strings to strings (labels).
func (d *fileDec) stringMap(n *yaml.Node, path string) (map[string]string, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping, not %s", describe(n))
		return nil, false
	}
	out := map[string]string{}
	ok := true
	for _, p := range pairs(n) {
		if _, dup := out[p.key.Value]; dup {
			continue
		}
		v, good := d.str(p.value, joinKey(path, p.key.Value))
		ok = ok && good
		out[p.key.Value] = v
	}
	return out, ok
}
