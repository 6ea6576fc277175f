package alias_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kubesim/kubesim/internal/alias"
)

func TestSame(t *testing.T) {
	a := []int{1, 2, 3}
	b := append([]int(nil), a...) // equal contents, other memory
	assert.True(t, alias.Same(a, a))
	assert.True(t, alias.Same(a[:2], a[:2]))
	assert.False(t, alias.Same(a, b), "equal is not the same")
	assert.False(t, alias.Same(a[:2], a), "a prefix is not the whole")
	assert.False(t, alias.Same(a[1:], a[:2]), "other start")
	assert.True(t, alias.Same([]int(nil), []int{}), "empty is empty")
	assert.False(t, alias.Same(nil, a))
}
