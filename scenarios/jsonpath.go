package scenarios

import (
	"bytes"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"unicode"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/jsonpath"
)

// jsonTemplate is a get expectation's jsonpath template, run as
// `kubectl get -o jsonpath=…` runs it: client-go's util/jsonpath with
// missing keys allowed (cli-runtime's JSONPathPrintFlags.ToPrinter; no JSON
// output mode, that is -o jsonpath-as-json), over the object's unstructured
// JSON form.
type jsonTemplate struct {
	src string
	// compiled is parsed from src; it is run again only when reusable.
	compiled *jsonpath.JSONPath
	// reusable: src has no {range}. client-go's JSONPath keeps a range's
	// state in the compiled template (FindResults narrows
	// parser.Root.Nodes to the nodes after the range and leaves it so), and
	// kubectl runs each template once, so a template with a range is parsed
	// anew for every run.
	reusable bool
	// walksMaps: src has a * or .. step, which visits a map's entries in
	// Go's random map order (evalWildcard and evalRecursive range over
	// MapKeys): kubectl may print them in any order from one run to the
	// next. kubesim visits them in key order (see orderedForm), one of the
	// orders kubectl prints, the same in every run.
	walksMaps bool
	// literal: src is text alone, with no {…} expression.
	literal bool
}

// parseTemplate parses src as kubectl -o jsonpath does.
func parseTemplate(src string) (*jsonTemplate, error) {
	j, err := compileJSONPath(src)
	if err != nil {
		return nil, err
	}
	p, err := jsonpath.Parse("expect", src)
	if err != nil {
		return nil, err
	}
	t := &jsonTemplate{src: src, compiled: j, reusable: true, literal: true}
	var visit func(n jsonpath.Node)
	visit = func(n jsonpath.Node) {
		switch n := n.(type) {
		case *jsonpath.TextNode:
			return
		case *jsonpath.ListNode:
			for _, m := range n.Nodes {
				visit(m)
			}
		case *jsonpath.FilterNode:
			visit(n.Left)
			visit(n.Right)
		case *jsonpath.UnionNode:
			for _, m := range n.Nodes {
				visit(m)
			}
		case *jsonpath.IdentifierNode:
			if n.Name == "range" {
				t.reusable = false
			}
		case *jsonpath.WildcardNode, *jsonpath.RecursiveNode:
			t.walksMaps = true
		}
	}
	for _, n := range p.Root.Nodes {
		if n.Type() != jsonpath.NodeText {
			t.literal = false
		}
		visit(n)
	}
	return t, nil
}

// compileJSONPath parses a template as kubectl -o jsonpath does, missing
// keys allowed (kubectl's --allow-missing-template-keys default).
func compileJSONPath(tmpl string) (*jsonpath.JSONPath, error) {
	j := jsonpath.New("expect")
	j.AllowMissingKeys(true)
	if err := j.Parse(tmpl); err != nil {
		return nil, err
	}
	return j, nil
}

// text runs the template over obj and returns what kubectl prints.
func (t *jsonTemplate) text(obj runtime.Object, r Resource) (string, error) {
	m, err := toMap(obj, r)
	if err != nil {
		return "", err
	}
	if !t.walksMaps {
		return t.execute(m)
	}
	out, err := t.execute(orderedForm(m))
	if err != nil {
		// kubectl's words for the error: they name the map's type
		return t.execute(m)
	}
	return out, nil
}

// execute runs the template once over data.
func (t *jsonTemplate) execute(data any) (string, error) {
	j := t.compiled
	if !t.reusable {
		var err error
		if j, err = compileJSONPath(t.src); err != nil {
			return "", err
		}
	}
	var buf bytes.Buffer
	if err := j.Execute(&buf, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// JSONPathText returns what `kubectl get -o jsonpath=TEMPLATE` prints for
// obj: the object is first turned into kubectl's unstructured form (JSON,
// integers as int64, apiVersion and kind set). A * or .. step visits map
// entries in key order (kubectl: in Go's random map order).
func JSONPathText(obj runtime.Object, r Resource, template string) (string, error) {
	t, err := parseTemplate(template)
	if err != nil {
		return "", err
	}
	return t.text(obj, r)
}

var anyType = reflect.TypeFor[any]()

// orderedForm is v, unstructured JSON, with every map turned into a struct
// with a field for each key, in key order, tagged with the key: client-go's
// jsonpath finds a struct's field by its json tag, visits its fields in
// order where it visits a map's entries in random order, and prints a
// struct as encoding/json does, the same JSON as the map's. A map with a
// key a tag cannot carry stays a map (the API server's validation leaves
// none in the kinds kubesim serves).
func orderedForm(v any) any {
	switch x := v.(type) {
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		fields := make([]reflect.StructField, len(keys))
		for i, k := range keys {
			if !validTagName(k) {
				return v
			}
			tag := k
			if k == "-" {
				tag = "-," // "-" alone leaves the field out
			}
			fields[i] = reflect.StructField{Name: "KubesimKey" + strconv.Itoa(i), Type: anyType, Tag: reflect.StructTag(`json:"` + tag + `"`)}
		}
		s := reflect.New(reflect.StructOf(fields)).Elem()
		for i, k := range keys {
			if o := orderedForm(x[k]); o != nil {
				s.Field(i).Set(reflect.ValueOf(o))
			}
		}
		return s.Interface()
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = orderedForm(x[i])
		}
		return out
	}
	return v
}

// validTagName reports whether encoding/json takes k as a json tag's name
// (isValidTag in encoding/json) and a struct tag can carry it.
func validTagName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		switch {
		case unicode.IsLetter(c) || unicode.IsDigit(c):
		case c < unicode.MaxASCII && bytes.ContainsRune([]byte("!#$%&()*+-./:;<=>?@[]^_{|}~ "), c):
		default:
			return false
		}
	}
	return true
}
