package scenarios

import (
	"maps"
	"slices"
	"time"
)

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func parseDurationForTest(s string) (time.Duration, error) { return time.ParseDuration(s) }
