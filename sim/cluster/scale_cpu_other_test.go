//go:build !unix

package cluster_test

import "time"

// cpuTime is unknown here: the benchmark reports no pods/cpu-s.
func cpuTime() time.Duration { return 0 }
