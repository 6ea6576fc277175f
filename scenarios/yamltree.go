package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Limits that keep hostile input (alias bombs, self-referencing anchors,
// absurd nesting) from exhausting memory or the stack.
const (
	maxDepth      = 256     // nesting depth followed in any YAML walk
	maxNodeVisits = 2000000 // node visits per load, aliases expanded
)

// parseDocuments splits data into its YAML documents. Empty documents (only
// comments or `---`) are dropped. A syntax error ends the file: the
// documents before it are returned with the error's line and message.
func parseDocuments(data []byte) (docs []*yaml.Node, errLine int, errMsg string) {
	defer func() {
		// go-yaml is robust, but a parser panic on some input must not take
		// the process down: report it as a syntax error on line 1.
		if r := recover(); r != nil {
			docs, errLine, errMsg = nil, 1, fmt.Sprintf("cannot parse YAML: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, 0, ""
		}
		if err != nil {
			line, msg := syntaxErrorLine(err)
			line = offendingLine(data, line, msg)
			if tab := tabIndentedLine(data, line, msg); tab > 0 {
				return docs, tab, msg + tabHint
			}
			return docs, line, msg + colonHint(data, line, msg)
		}
		if isEmptyDocument(&doc) {
			continue
		}
		docs = append(docs, &doc)
	}
}

// parseJSONStream splits a manifest file that starts with "{" into its
// JSON objects, as kubectl's YAMLOrJSONDecoder reads such a file as a
// stream of JSON values (concatenated, with or without whitespace between
// them): each object is parsed as a YAML document, its lines counted from
// the start of the file. It returns nil docs when data is not such a
// stream (not JSON, or invalid JSON: the YAML parser reports it).
func parseJSONStream(data []byte) (docs []*yaml.Node, errLine int, errMsg string) {
	body := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, 0, ""
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var chunks [][2]int // start and end offsets in body
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || len(raw) == 0 || raw[0] != '{' {
			return nil, 0, "" // let the YAML parser say what is wrong
		}
		end := int(dec.InputOffset())
		chunks = append(chunks, [2]int{end - len(raw), end})
	}
	if len(chunks) < 2 {
		return nil, 0, "" // one object: YAML reads it as it is
	}
	skipped := len(data) - len(body) // the byte order mark
	for _, c := range chunks {
		ds, line, msg := parseDocuments(body[c[0]:c[1]])
		offset := bytes.Count(data[:skipped+c[0]], []byte("\n"))
		if line > 0 {
			return docs, line + offset, msg
		}
		for _, doc := range ds {
			shiftLines(doc, offset, 0)
		}
		docs = append(docs, ds...)
	}
	return docs, 0, ""
}

// shiftLines adds delta to the line of every node of a document (JSON has
// no aliases, so the walk is a tree walk).
func shiftLines(n *yaml.Node, delta, depth int) {
	if n == nil || depth > maxDepth {
		return
	}
	n.Line += delta
	for _, c := range n.Content {
		shiftLines(c, delta, depth+1)
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxErrorLine pulls the line number out of a go-yaml error.
func syntaxErrorLine(err error) (int, string) {
	msg := oneLine(err.Error())
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 {
			return n, "YAML syntax error: " + m[2]
		}
	}
	return 1, "YAML syntax error: " + strings.TrimPrefix(msg, "yaml: ")
}

// parserProblems are go-yaml's parser (not scanner) errors. go-yaml
// reports them at the line where the construct being parsed began, and
// 0-based (one line early); the token that broke it may be further down.
var parserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected '-' indicator",
	"did not find expected <document start>", "did not find expected key", "did not find expected node content",
	"found duplicate %TAG directive", "found duplicate %YAML directive", "found incompatible YAML document",
	"found undefined tag handle",
}

// maxReparseLines bounds the file size for which offendingLine looks for
// the line of a parser error by parsing prefixes of the file.
const maxReparseLines = 2000

// offendingLine refines the line of a go-yaml parser error: the first line
// at or after the construct's start where the file, cut after that line,
// fails with the same problem (an unclosed bracket fails at its own line,
// a misindented key at the key). Scanner errors' lines are exact.
func offendingLine(data []byte, line int, msg string) int {
	problem := strings.TrimPrefix(msg, "YAML syntax error: ")
	if !slices.Contains(parserProblems, problem) {
		return line
	}
	start := line + 1 // go-yaml's parser errors are 0-based
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxReparseLines {
		return start
	}
	for k := start; k <= len(lines); k++ {
		prefix := bytes.Join(lines[:k], nil)
		if _, _, m := parsePrefix(prefix); m == msg {
			return k
		}
	}
	return start
}

// colonHint follows go-yaml's "mapping values are not allowed in this
// context" when the line is `key: value` and the plain value holds ": "
// (description: HPA lab: scale up): it says to quote the value, and how.
func colonHint(data []byte, line int, msg string) string {
	if strings.TrimPrefix(msg, "YAML syntax error: ") != "mapping values are not allowed in this context" {
		return ""
	}
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return ""
	}
	text := strings.TrimRight(string(lines[line-1]), " \r")
	body := strings.TrimLeft(text, " ")
	dash := ""
	if rest, ok := strings.CutPrefix(body, "- "); ok {
		dash, body = "- ", strings.TrimLeft(rest, " ")
	}
	key, value, ok := strings.Cut(body, ": ")
	value = strings.TrimLeft(value, " ")
	if !ok || key == "" || strings.ContainsAny(key, "\"'{[#") || !strings.Contains(value, ": ") ||
		strings.ContainsAny(value[:1], "\"'{[|>&*!#") || strings.Contains(value, " #") {
		return ""
	}
	return fmt.Sprintf(`: a value containing ": " must be quoted: %s%s: %s`, dash, key, strconv.Quote(value))
}

// tabHint follows a syntax error caused by a tab in a line's indentation.
const tabHint = ": a tab indents this line; YAML does not allow tabs for indentation, indent with spaces"

// tabIndentedLine returns the line of a syntax error that a tab in the
// indentation caused, or 0. go-yaml's scanner says "found character that
// cannot start any token" at the tab's own line, and "found a tab character
// that violates indentation" at the line where the scalar before it began,
// so for the latter the first tab-indented line from there on is the one.
func tabIndentedLine(data []byte, line int, msg string) int {
	problem := strings.TrimPrefix(msg, "YAML syntax error: ")
	lines := bytes.Split(data, []byte("\n"))
	switch problem {
	case "found character that cannot start any token":
		if line <= len(lines) && tabIndented(lines[line-1]) {
			return line
		}
	case "found a tab character that violates indentation":
		for k := line; k <= len(lines); k++ {
			if tabIndented(lines[k-1]) {
				return k
			}
		}
	}
	return 0
}

// tabIndented reports whether a tab comes before a line's content: in its
// leading blanks and block sequence dashes.
func tabIndented(line []byte) bool {
	for _, c := range line {
		switch c {
		case '\t':
			return true
		case ' ', '-':
		default:
			return false
		}
	}
	return false
}

// parsePrefix parses data as parseDocuments does, without refining lines.
func parsePrefix(data []byte) (docs int, errLine int, errMsg string) {
	defer func() {
		if r := recover(); r != nil {
			errLine, errMsg = 1, fmt.Sprintf("cannot parse YAML: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, 0, ""
		}
		if err != nil {
			errLine, errMsg = syntaxErrorLine(err)
			return docs, errLine, errMsg
		}
		docs++
	}
}

func isEmptyDocument(doc *yaml.Node) bool {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return true
	}
	c := doc.Content[0]
	return c.Kind == yaml.ScalarNode && c.ShortTag() == "!!null" && c.Value == ""
}

// body returns a document's root node.
func body(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		return doc.Content[0]
	}
	return doc
}

// resolve follows aliases to the node they name. A chain longer than
// maxDepth (only possible with pathological input) yields the last alias.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit YAML null.
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node holds, for "must be X, not Y" messages.
func describe(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean (" + n.Value + ")"
		case "!!int":
			return "an integer (" + n.Value + ")"
		case "!!float":
			return "a number (" + n.Value + ")"
		case "!!str", "!!timestamp":
			return fmt.Sprintf("a string (%q)", clip(n.Value))
		default:
			return "a " + n.ShortTag() + " value"
		}
	}
	return "an unsupported YAML node"
}

// clip shortens long values quoted in messages.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// pair is one key: value entry of a mapping.
type pair struct {
	key   *yaml.Node // a resolved scalar
	value *yaml.Node // resolved
}

// pairs lists a mapping's entries in document order, resolving aliases.
// Entries whose key is not a scalar are skipped (checkTree reports them).
func pairs(n *yaml.Node) []pair {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			continue
		}
		out = append(out, pair{key: k, value: resolve(n.Content[i+1])})
	}
	return out
}

// expandMerges replaces the YAML merge keys (<<) of every mapping in the
// document under n by the entries they merge, as go-yaml v3 decodes them
// and sigs.k8s.io/yaml does for kubectl: the mapping's own keys win over
// merged ones, and of a list of merged mappings the earlier wins. Merged
// entries keep their nodes (the values through an alias), so an error in
// one is reported where it is written. Each mapping is expanded once (anchored ones in place, shared by
// their aliases); the entries it gains count against the load's node
// budget.
func (d *fileDec) expandMerges(n *yaml.Node, path string, depth int, done map[*yaml.Node]bool) {
	if n == nil || depth > maxDepth || done[n] {
		return
	}
	done[n] = true
	switch n.Kind {
	case yaml.DocumentNode, yaml.AliasNode:
		for _, c := range n.Content {
			d.expandMerges(c, path, depth+1, done)
		}
		if n.Kind == yaml.AliasNode {
			d.expandMerges(n.Alias, path, depth+1, done)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.expandMerges(c, fmt.Sprintf("%s[%d]", path, i), depth+1, done)
		}
	case yaml.MappingNode:
		own := map[string]bool{}
		merges := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k != nil && k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				merges = true
			} else if k != nil && k.Kind == yaml.ScalarNode {
				own[k.Value] = true
			}
			key := "<<"
			if k != nil && k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" {
				key = k.Value
			}
			d.expandMerges(n.Content[i+1], joinKey(path, key), depth+1, done)
		}
		if !merges {
			return
		}
		out := make([]*yaml.Node, 0, len(n.Content))
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
			if k == nil || k.Kind != yaml.ScalarNode || k.ShortTag() != "!!merge" {
				out = append(out, n.Content[i], n.Content[i+1])
				continue
			}
			sources := []*yaml.Node{v}
			if v != nil && v.Kind == yaml.SequenceNode {
				sources = sources[:0]
				for _, item := range v.Content {
					sources = append(sources, resolve(item))
				}
			}
			for _, src := range sources {
				if src == nil || src.Kind != yaml.MappingNode {
					d.errorf(src, joinKey(path, "<<"), "a merge key (<<) takes a mapping or a list of mappings, not %s", describe(src))
					continue
				}
				d.l.visits += len(src.Content) / 2
				if d.l.visits > maxNodeVisits {
					d.errorf(k, path, "document too large (more than %d nodes with aliases and merge keys expanded)", maxNodeVisits)
					return
				}
				for j := 0; j+1 < len(src.Content); j += 2 {
					sk := resolve(src.Content[j])
					if sk == nil || sk.Kind != yaml.ScalarNode || own[sk.Value] {
						continue
					}
					own[sk.Value] = true
					// The value joins as an alias: checkTree checks it where
					// it is written, not once more per mapping it is merged into.
					v := src.Content[j+1]
					out = append(out, src.Content[j], &yaml.Node{Kind: yaml.AliasNode, Alias: v, Line: v.Line, Column: v.Column})
				}
			}
		}
		n.Content = out
	}
}

// checkTree reports structural problems anywhere in a document: duplicate
// keys, non-scalar keys, unsupported tags (merge keys are expanded before).
// Aliases are not followed: what they name is checked where it is defined.
func (d *fileDec) checkTree(n *yaml.Node, path string, depth int) {
	if n == nil || n.Kind == yaml.AliasNode {
		return
	}
	if depth > maxDepth {
		d.errorf(n, path, "nesting deeper than %d levels", maxDepth)
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			d.checkTree(c, path, depth+1)
		}
	case yaml.MappingNode:
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			rk := resolve(k)
			if rk == nil || rk.Kind != yaml.ScalarNode {
				d.errorf(k, path, "mapping keys must be plain strings, not %s", describe(k))
				continue
			}
			sub := joinKey(path, rk.Value)
			if line, dup := first[rk.Value]; dup {
				d.errorf(k, sub, "duplicate field %q (first set on line %d)", rk.Value, line)
				continue
			}
			first[rk.Value] = k.Line
			d.checkTree(v, sub, depth+1)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.checkTree(c, fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary":
		default:
			d.errorf(n, path, "unsupported YAML tag %q", n.Tag)
		}
	}
}

// joinKey appends a mapping key to a field path: `.key` for plain
// identifiers, `[key]` (apimachinery's style for map keys) otherwise, and
// `["key"]` (Go-quoted) for a key that holds brackets, quotes or
// unprintable characters, so a path is always one unambiguous line.
func joinKey(path, key string) string {
	if isPlainKey(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	if q := strconv.Quote(key); q[1:len(q)-1] != key || strings.ContainsAny(key, "[]") {
		return path + "[" + q + "]"
	}
	return path + "[" + key + "]"
}

func isPlainKey(key string) bool {
	if key == "" {
		return false
	}
	for _, r := range key {
		if !(r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// joinPath appends a relative field path (as Kubernetes and sigs.k8s.io/json
// print them, e.g. `spec.replicas` or `[0].key`) to a prefix.
func joinPath(prefix, sub string) string {
	switch {
	case sub == "":
		return prefix
	case prefix == "":
		return strings.TrimPrefix(sub, ".")
	case strings.HasPrefix(sub, "["):
		return prefix + sub
	default:
		return prefix + "." + strings.TrimPrefix(sub, ".")
	}
}

// jsonConv turns a YAML node into JSON for Kubernetes' decoder, as
// sigs.k8s.io/yaml would, following aliases within the load's node budget.
type jsonConv struct {
	buf    bytes.Buffer
	visits *int
	bad    *yaml.Node // the node that could not be converted
	why    string
}

// toJSON converts n; on failure it returns the offending node and why.
func (l *loader) toJSON(n *yaml.Node) ([]byte, *yaml.Node, string) {
	c := &jsonConv{visits: &l.visits}
	if !c.value(n, 0) {
		return nil, c.bad, c.why
	}
	return c.buf.Bytes(), nil, ""
}

func (c *jsonConv) fail(n *yaml.Node, format string, args ...any) bool {
	c.bad, c.why = n, fmt.Sprintf(format, args...)
	return false
}

func (c *jsonConv) value(n *yaml.Node, depth int) bool {
	*c.visits++
	if *c.visits > maxNodeVisits {
		return c.fail(n, "document too large (more than %d nodes with aliases expanded)", maxNodeVisits)
	}
	if depth > maxDepth {
		return c.fail(n, "nesting deeper than %d levels", maxDepth)
	}
	n = resolve(n)
	if n == nil {
		c.buf.WriteString("null")
		return true
	}
	switch n.Kind {
	case yaml.MappingNode:
		c.buf.WriteByte('{')
		seen := map[string]bool{}
		first := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k == nil || k.Kind != yaml.ScalarNode {
				return c.fail(n.Content[i], "mapping keys must be plain strings")
			}
			if k.ShortTag() == "!!merge" {
				return c.fail(k, "YAML merge keys (<<) are not supported")
			}
			if seen[k.Value] {
				continue // reported by checkTree; the first value wins
			}
			seen[k.Value] = true
			if !first {
				c.buf.WriteByte(',')
			}
			first = false
			writeJSONString(&c.buf, k.Value)
			c.buf.WriteByte(':')
			if !c.value(n.Content[i+1], depth+1) {
				return false
			}
		}
		c.buf.WriteByte('}')
	case yaml.SequenceNode:
		c.buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			if !c.value(item, depth+1) {
				return false
			}
		}
		c.buf.WriteByte(']')
	case yaml.ScalarNode:
		return c.scalar(n)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			c.buf.WriteString("null")
			return true
		}
		return c.value(n.Content[0], depth+1)
	default:
		return c.fail(n, "unsupported YAML node")
	}
	return true
}

func (c *jsonConv) scalar(n *yaml.Node) bool {
	switch n.ShortTag() {
	case "!!null":
		c.buf.WriteString("null")
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return c.fail(n, "invalid boolean %q", clip(n.Value))
		}
		c.buf.WriteString(strconv.FormatBool(b))
	case "!!int":
		var v any
		if err := n.Decode(&v); err != nil {
			return c.fail(n, "invalid integer %q", clip(n.Value))
		}
		switch x := v.(type) {
		case int:
			c.buf.WriteString(strconv.Itoa(x))
		case int64:
			c.buf.WriteString(strconv.FormatInt(x, 10))
		case uint64:
			c.buf.WriteString(strconv.FormatUint(x, 10))
		case float64:
			return c.float(n, x)
		default:
			return c.fail(n, "invalid integer %q", clip(n.Value))
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return c.fail(n, "invalid number %q", clip(n.Value))
		}
		return c.float(n, f)
	case "!!str", "!!timestamp", "!!binary":
		writeJSONString(&c.buf, n.Value)
	default:
		return c.fail(n, "unsupported YAML tag %q", n.Tag)
	}
	return true
}

func (c *jsonConv) float(n *yaml.Node, f float64) bool {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return c.fail(n, "%s cannot be represented in JSON", n.Value)
	}
	b, _ := json.Marshal(f)
	c.buf.Write(b)
	return true
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // never fails for a string
	buf.Write(b)
}
