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
