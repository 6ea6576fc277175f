package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSuggestNameSkipsSiblings(t *testing.T) {
	nodes := []string{"worker-1", "worker-2", "worker-10", "gpu", "zone-a"}
	for _, tc := range []struct{ word, want string }{
		{"worker1", ` (did you mean "worker-1"?)`},
		{"wokrer-2", ` (did you mean "worker-2"?)`},
		{"Worker-1", ` (did you mean "worker-1"?)`},
		{"gpu1", ` (did you mean "gpu"?)`},
		{"worker-4", ""},  // another node of the group
		{"worker-11", ""}, // also one
		{"zone-b", ""},    // another zone
		{"zonea", ` (did you mean "zone-a"?)`},
	} {
		assert.Equal(t, tc.want, suggestName(tc.word, nodes), tc.word)
	}
}

func TestDurationHint(t *testing.T) {
	for in, want := range map[string]string{
		"5 minutes":  "5m",
		"2 min":      "2m",
		"1m30":       "1m30s",
		"1h5":        "1h5m",
		"1d":         "24h",
		"2 days":     "48h",
		"1.5min":     "1m30s",
		"30 secs":    "30s",
		"250 millis": "250ms",
		"1h 30m":     "1h30m",
	} {
		assert.Equal(t, ` (did you mean "`+want+`"?)`, durationHint(in), in)
	}
	for _, in := range []string{"soon", "5x", "1s30", "m5", ""} {
		assert.Empty(t, durationHint(in), in)
	}
}
