package scenarios

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
	kjson "sigs.k8s.io/json"
)

// decodeTyped decodes the YAML node n into out, a pointer to a Kubernetes
// API type, the way the API server decodes a request body: YAML to JSON, then
// sigs.k8s.io/json's strict, case-sensitive decoding (unknown and duplicate
// fields are errors). Every problem is reported at its own line with path
// as prefix; it returns false when there was any.
//
// The decode itself is Kubernetes'. Because encoding/json stops at the first
// type error and reports custom unmarshaler errors (quantities, times) without
// a location, a failed decode is explained by a second walk (locate) that
// follows the Go type alongside the YAML and reports each offending field.
// On success it also returns the JSON the node converted to.
func (d *fileDec) decodeTyped(n *yaml.Node, path string, out any) ([]byte, bool) {
	data, bad, why := d.l.toJSON(n)
	if bad != nil {
		d.errorf(bad, d.pathOf(n, bad, path), "%s", why)
		return nil, false
	}
	strictErrs, err := kjson.UnmarshalStrict(data, out)
	if err == nil && len(strictErrs) == 0 {
		return data, true
	}
	loc := &locator{d: d, reported: map[*yaml.Node]bool{}}
	loc.walk(n, reflect.TypeOf(out).Elem(), path, 0)
	for _, se := range strictErrs {
		var fe kjson.FieldError
		if !errors.As(se, &fe) {
			d.errorf(n, path, "%v", se)
			continue
		}
		pos, _ := nodeAt(n, fe.FieldPath())
		if loc.reported[pos] {
			continue
		}
		msg := se.Error()
		if i := strings.Index(msg, " \""); i > 0 {
			// `unknown field "a.b.c"`: the path is printed separately.
			msg = msg[:i] + fmt.Sprintf(" %q", lastSegment(fe.FieldPath()))
		}
		d.errorf(pos, joinPath(path, fe.FieldPath()), "%s", msg)
	}
	if err != nil && loc.typeErrors == 0 {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			pos, _ := nodeAt(n, te.Field)
			d.errorf(pos, joinPath(path, te.Field), "must be %s, not a JSON %s", goTypeName(te.Type), te.Value)
		} else {
			d.errorf(n, path, "cannot decode: %v", err)
		}
	}
	return nil, false
}

// pathOf gives the field path of node target inside n (prefix path), used
// for conversion errors; it falls back to the prefix.
func (d *fileDec) pathOf(n, target *yaml.Node, prefix string) string {
	var found string
	var walk func(cur *yaml.Node, p string, depth int) bool
	walk = func(cur *yaml.Node, p string, depth int) bool {
		if cur == nil || depth > maxDepth {
			return false
		}
		if cur == target {
			found = p
			return true
		}
		switch cur.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(cur.Content); i += 2 {
				k := cur.Content[i]
				sub := joinKey(p, k.Value)
				if k == target {
					found = sub
					return true
				}
				if walk(cur.Content[i+1], sub, depth+1) {
					return true
				}
			}
		case yaml.SequenceNode:
			for i, c := range cur.Content {
				if walk(c, fmt.Sprintf("%s[%d]", p, i), depth+1) {
					return true
				}
			}
		}
		return false
	}
	if walk(n, prefix, 0) {
		return found
	}
	return prefix
}

func lastSegment(path string) string {
	if i := strings.LastIndexAny(path, ".]"); i >= 0 && i+1 < len(path) {
		return path[i+1:]
	}
	return path
}

var (
	quantityType        = reflect.TypeFor[resource.Quantity]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// locator walks a YAML node alongside the Go type it decodes into and
// reports every field that encoding/json would reject.
type locator struct {
	d          *fileDec
	reported   map[*yaml.Node]bool // nodes already blamed, so strict errors are not repeated
	typeErrors int
}

func (lc *locator) blame(n *yaml.Node, path, format string, args ...any) {
	lc.reported[n] = true
	lc.d.errorf(n, path, format, args...)
}

func (lc *locator) walk(n *yaml.Node, t reflect.Type, path string, depth int) {
	lc.d.l.visits++
	if lc.d.l.visits > maxNodeVisits || depth > maxDepth {
		return
	}
	n = resolve(n)
	if isNull(n) {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == quantityType && n.Kind != yaml.ScalarNode {
		lc.typeErrors++
		lc.blame(n, path, "must be a quantity such as \"500m\" or \"8Gi\", not %s", describe(n))
		return
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		data, _, _ := lc.d.l.toJSON(n)
		if data == nil {
			return
		}
		u := reflect.New(t).Interface().(json.Unmarshaler)
		if err := u.UnmarshalJSON(data); err != nil {
			lc.typeErrors++
			lc.blame(n, path, "invalid value %s: %s", scalarText(n), unmarshalerMessage(err))
		}
		return
	}
	kind := jsonKind(n)
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		if kind != "string" {
			lc.typeMismatch(n, t, path)
			return
		}
		u := reflect.New(t).Interface().(encoding.TextUnmarshaler)
		if err := u.UnmarshalText([]byte(n.Value)); err != nil {
			lc.typeErrors++
			lc.blame(n, path, "invalid value %s: %v", scalarText(n), err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Interface:
		return
	case reflect.Struct:
		if kind != "object" {
			lc.typeMismatch(n, t, path)
			return
		}
		fields := jsonFieldsOf(t)
		for _, p := range pairs(n) {
			sub := joinKey(path, p.key.Value)
			f, ok := fields.byName[p.key.Value]
			if !ok {
				lc.blame(p.key, sub, "unknown field %q%s", p.key.Value, suggest(p.key.Value, fields.names))
				continue
			}
			lc.walk(p.value, f.typ, sub, depth+1)
		}
	case reflect.Map:
		if kind != "object" {
			lc.typeMismatch(n, t, path)
			return
		}
		for _, p := range pairs(n) {
			lc.walk(p.value, t.Elem(), joinKey(path, p.key.Value), depth+1)
		}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			if kind != "string" {
				lc.typeMismatch(n, t, path)
			} else if _, err := base64.StdEncoding.DecodeString(n.Value); err != nil {
				lc.typeErrors++
				lc.blame(n, path, "must be base64-encoded data: %v", err)
			}
			return
		}
		if kind != "array" {
			lc.typeMismatch(n, t, path)
			return
		}
		for i, item := range n.Content {
			lc.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
	case reflect.String:
		if kind != "string" {
			lc.typeMismatch(n, t, path)
		}
	case reflect.Bool:
		if kind != "boolean" {
			lc.typeMismatch(n, t, path)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if kind != "number" {
			lc.typeMismatch(n, t, path)
			return
		}
		text := numberText(lc.d.l, n)
		if _, err := strconv.ParseInt(text, 10, t.Bits()); err != nil {
			lc.numberError(n, t, path, text)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if kind != "number" {
			lc.typeMismatch(n, t, path)
			return
		}
		text := numberText(lc.d.l, n)
		if _, err := strconv.ParseUint(text, 10, t.Bits()); err != nil {
			lc.numberError(n, t, path, text)
		}
	case reflect.Float32, reflect.Float64:
		if kind != "number" {
			lc.typeMismatch(n, t, path)
			return
		}
		if f, err := strconv.ParseFloat(numberText(lc.d.l, n), 64); err == nil && t.Kind() == reflect.Float32 && math.Abs(f) > math.MaxFloat32 {
			lc.typeErrors++
			lc.blame(n, path, "%s is out of range for float32", n.Value)
		}
	}
}

func (lc *locator) typeMismatch(n *yaml.Node, t reflect.Type, path string) {
	lc.typeErrors++
	hint := ""
	if t.Kind() == reflect.String && n.Kind == yaml.ScalarNode {
		hint = fmt.Sprintf("; quote it: %q", n.Value)
	}
	lc.blame(n, path, "must be %s, not %s%s", goTypeName(t), describe(n), hint)
}

func (lc *locator) numberError(n *yaml.Node, t reflect.Type, path, text string) {
	lc.typeErrors++
	if strings.ContainsAny(text, ".eE") {
		lc.blame(n, path, "must be %s, not %s", goTypeName(t), describe(n))
		return
	}
	lc.blame(n, path, "%s is out of range for %s", n.Value, t.Kind())
}

// numberText is the JSON text the converter writes for a number node.
func numberText(l *loader, n *yaml.Node) string {
	data, _, _ := l.toJSON(n)
	return string(data)
}

// jsonKind is the JSON type the converter produces for a node.
func jsonKind(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n == nil:
		return "null"
	case n.Kind == yaml.MappingNode:
		return "object"
	case n.Kind == yaml.SequenceNode:
		return "array"
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!bool":
		return "boolean"
	case "!!int", "!!float":
		return "number"
	default:
		return "string"
	}
}

// scalarText quotes a scalar's text for messages.
func scalarText(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(clip(n.Value))
	}
	return describe(n)
}

// unmarshalerMessage trims Go decoding jargon from a custom unmarshaler's
// error (e.g. a quantity's or a time's).
func unmarshalerMessage(err error) string {
	if errors.Is(err, resource.ErrFormatWrong) || errors.Is(err, resource.ErrSuffix) || errors.Is(err, resource.ErrNumeric) {
		return quantityHint
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	return msg
}

// goTypeName describes a Go type the way a YAML user thinks of it.
func goTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer (" + t.Kind().String() + ")"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "a list"
	}
	return t.String()
}

// structFields is a struct's JSON field table, embedded structs promoted.
type structFields struct {
	byName map[string]fieldInfo
	names  []string // declaration order, for suggestions
}

type fieldInfo struct {
	typ reflect.Type
}

var fieldCache sync.Map // reflect.Type -> *structFields

// jsonFieldsOf lists the JSON names a struct accepts, following
// encoding/json: tag names, untagged exported names, promoted fields of
// embedded structs (`json:",inline"` in Kubernetes types), "-" skipped.
func jsonFieldsOf(t reflect.Type) *structFields {
	if v, ok := fieldCache.Load(t); ok {
		return v.(*structFields)
	}
	sf := &structFields{byName: map[string]fieldInfo{}}
	type level struct {
		t     reflect.Type
		depth int
	}
	queue := []level{{t, 0}}
	depthOf := map[string]int{}
	for len(queue) > 0 && len(queue) < 1000 {
		cur := queue[0]
		queue = queue[1:]
		for i := range cur.t.NumField() {
			f := cur.t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous && name == "" {
				et := ft
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					queue = append(queue, level{et, cur.depth + 1})
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if d, ok := depthOf[name]; ok && d <= cur.depth {
				continue
			}
			depthOf[name] = cur.depth
			if _, ok := sf.byName[name]; !ok {
				sf.names = append(sf.names, name)
			}
			sf.byName[name] = fieldInfo{typ: ft}
		}
	}
	sf.names = slices.Clip(sf.names)
	fieldCache.Store(t, sf)
	return sf
}

const quantityHint = "not a quantity: use a number with an optional suffix (m, k, M, G, T, Ki, Mi, Gi, Ti, …), e.g. 500m, 2, 8Gi"
