package scenarios

import (
	"maps"
	"slices"
	"time"
)

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

func parseDurationForTest(s string) (time.Duration, error) { return time.ParseDuration(s) }
