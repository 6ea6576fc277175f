package scheduler

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoWallClockNoGoroutines greps the scheduler's sources for what the
// determinism rules forbid: wall-clock reads, real timers, goroutines and
// non-engine randomness.
func TestNoWallClockNoGoroutines(t *testing.T) {
	forbidden := regexp.MustCompile(`time\.(Now|Sleep|After|Tick|NewTicker|NewTimer|Since|Until)\(|^\s*go\s+[\w(]|"math/rand"|"crypto/rand"|rand\.New\(`)
	var checked int
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			assert.False(t, forbidden.MatchString(line), "%s:%d: %s", path, i+1, line)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, checked, 10)
}
