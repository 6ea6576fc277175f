package suggest

import (
	"fmt"
	"strings"
)

// Hint returns ` (did you mean "x"?)` for the candidate closest to word,
// or "" when none is close. A case-insensitive match always wins; otherwise
// the edit distance must be small relative to the word. Ties go to the
// earliest candidate, so the hint is deterministic.
func Hint(word string, candidates []string) string {
	for _, c := range candidates {
		if strings.EqualFold(c, word) && c != word {
			return fmt.Sprintf(" (did you mean %q?)", c)
		}
	}
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := max(1, min(3, len(word)/3))
	if bestDist < 0 || bestDist > limit || best == word {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b (bytes), with an
// adjacent transposition counted as one edit. Inputs are short field names;
// longer strings are cut to bound the work.
func editDistance(a, b string) int {
	const maxLen = 64
	if len(a) > maxLen {
		a = a[:maxLen]
	}
	if len(b) > maxLen {
		b = b[:maxLen]
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
