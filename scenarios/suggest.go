package scenarios

import hint "github.com/kubesim/kubesim/internal/suggest"

// suggest is suggest.Hint: ` (did you mean "x"?)` or "".
func suggest(word string, candidates []string) string { return hint.Hint(word, candidates) }
