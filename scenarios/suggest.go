package scenarios

import (
	"strings"

	hint "github.com/kubesim/kubesim/internal/suggest"
)

// suggest is suggest.Hint: ` (did you mean "x"?)` or "".
func suggest(word string, candidates []string) string { return hint.Hint(word, candidates) }

// suggestName is suggest for the names of nodes and zones, which come in
// families: worker-4 is not a typo of worker-1, nor zone-c of zone-a, so a
// candidate that differs from word only after their common last separator
// is never offered.
func suggestName(word string, candidates []string) string {
	var close []string
	for _, c := range candidates {
		if !siblings(word, c) {
			close = append(close, c)
		}
	}
	return suggest(word, close)
}

// siblings reports whether a and b share everything up to their last "-" or
// "." (both having it at the same place) and differ after it.
func siblings(a, b string) bool {
	i, j := strings.LastIndexAny(a, "-."), strings.LastIndexAny(b, "-.")
	return i >= 0 && i == j && a[:i+1] == b[:j+1] && a != b
}
