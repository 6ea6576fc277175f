package suggest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHint(t *testing.T) {
	assert.Equal(t, ` (did you mean "crashNode"?)`, Hint("crashnode", []string{"cordon", "crashNode"}))
	assert.Equal(t, ` (did you mean "replicas"?)`, Hint("replicass", []string{"replica", "replicas"}))
	assert.Equal(t, ` (did you mean "image"?)`, Hint("imgae", []string{"name", "image"}), "a transposition is one edit")
	assert.Equal(t, ` (did you mean "node-failure"?)`, Hint("node-failur", []string{"hpa", "node-failure"}))
	assert.Equal(t, "", Hint("reboot", []string{"recoverNode", "cordon"}))
	assert.Equal(t, "", Hint("x", nil))
	assert.Equal(t, "", Hint("drain", []string{"drain"}), "no hint for an exact match")
}
