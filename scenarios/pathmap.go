package scenarios

import (
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// nodeAt follows a field path, as apimachinery's field.Path and
// sigs.k8s.io/json print them, from root and returns the node where it
// ends, or the nearest existing ancestor, and whether the whole path was
// found. The position is that of the mapping key that names the field (so an
// error about `replicas` points at the `replicas:` line), or of the list item.
//
// Accepted segment forms: `.name`, `name` (first), `[3]` (list index),
// `[key]` (map key, which may contain dots or slashes), and dotted map keys
// written `.kubernetes.io/name` (matched against the mapping's keys, longest
// first).
func nodeAt(root *yaml.Node, path string) (pos *yaml.Node, found bool) {
	cur := resolve(root)
	pos = root
	rest := path
	for steps := 0; rest != ""; steps++ {
		if cur == nil || steps > maxDepth*4 {
			return pos, false
		}
		switch rest[0] {
		case '.':
			rest = rest[1:]
			continue
		case '[':
			end := closingBracket(rest)
			if end < 0 {
				return pos, false
			}
			inner := rest[1:end]
			switch cur.Kind {
			case yaml.SequenceNode:
				i, err := strconv.Atoi(inner)
				if err != nil || i < 0 || i >= len(cur.Content) {
					return pos, false
				}
				pos = cur.Content[i]
				cur = resolve(pos)
			case yaml.MappingNode:
				k, v := mappingKey(cur, inner)
				if k == nil {
					return pos, false
				}
				pos, cur = k, v
			default:
				return pos, false
			}
			rest = rest[end+1:]
		default:
			if cur.Kind != yaml.MappingNode {
				return pos, false
			}
			k, v, n := longestKeyPrefix(cur, rest)
			if k == nil {
				return pos, false
			}
			pos, cur = k, v
			rest = rest[n:]
		}
	}
	return pos, true
}

// closingBracket finds the `]` closing the segment that s starts with: the
// first one followed by the end, `.` or `[`, so keys may contain brackets.
func closingBracket(s string) int {
	for i := 1; i < len(s); i++ {
		if s[i] == ']' && (i+1 == len(s) || s[i+1] == '.' || s[i+1] == '[') {
			return i
		}
	}
	return -1
}

// mappingKey returns the key node and the resolved value of key in m.
func mappingKey(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	for _, p := range pairs(m) {
		if p.key.Value == key {
			return p.key, p.value
		}
	}
	return nil, nil
}

// longestKeyPrefix finds the longest key of m that rest starts with, ending
// at the end of rest or before `.` or `[`; n is the key's length.
func longestKeyPrefix(m *yaml.Node, rest string) (k, v *yaml.Node, n int) {
	for _, p := range pairs(m) {
		key := p.key.Value
		if key == "" || !strings.HasPrefix(rest, key) || len(key) <= n {
			continue
		}
		if len(rest) == len(key) || rest[len(key)] == '.' || rest[len(key)] == '[' {
			k, v, n = p.key, p.value, len(key)
		}
	}
	return k, v, n
}
