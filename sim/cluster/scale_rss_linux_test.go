//go:build linux

package cluster_test

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// resetPeakRSS makes the kernel's high-water mark of this process's
// resident memory (VmHWM) start again from the current resident set, so
// that peakRSS measures one run. It reports whether the kernel took it
// (writing 5 to /proc/self/clear_refs, Linux 4.0 and later).
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS is the most memory the process has held resident since the last
// resetPeakRSS (VmHWM in /proc/self/status): every byte the process
// touched — heap, stacks, the runtime's own, the binary — measured by
// the kernel rather than sampled. 0 if unknown.
func peakRSS() uint64 { return statusKiB("VmHWM:") << 10 }

// statusKiB is the field of /proc/self/status named by prefix, in KiB; 0
// if it cannot be read.
func statusKiB(prefix string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return parseStatusKiB(data, prefix)
}

// parseStatusKiB reads a "Name:   123456 kB" field of a /proc status text.
func parseStatusKiB(data []byte, prefix string) uint64 {
	for line := range bytes.Lines(data) {
		if v, ok := bytes.CutPrefix(line, []byte(prefix)); ok {
			f := bytes.Fields(v)
			if len(f) != 2 || string(f[1]) != "kB" {
				return 0
			}
			kb, err := strconv.ParseUint(string(f[0]), 10, 64)
			if err != nil {
				return 0
			}
			return kb
		}
	}
	return 0
}

func TestParseStatusKiB(t *testing.T) {
	status := []byte("Name:\tcluster.test\nVmPeak:\t 9876543 kB\nVmSize:\t 9000000 kB\nVmHWM:\t  345678 kB\nVmRSS:\t  123456 kB\nThreads:\t4\n")
	require.Equal(t, uint64(345678), parseStatusKiB(status, "VmHWM:"))
	require.Equal(t, uint64(123456), parseStatusKiB(status, "VmRSS:"))
	require.Zero(t, parseStatusKiB(status, "Threads:"), "not a size")
	require.Zero(t, parseStatusKiB(status, "VmSwap:"), "absent")
	require.Zero(t, parseStatusKiB([]byte("VmHWM:\t12x kB\n"), "VmHWM:"))

	// This process's: the high-water mark is not below the resident set
	// read before it (to within the kernel's per-CPU counting, which can
	// show it a few pages short). How much it rises with memory touched
	// depends on what the runtime and, under -race, its shadow memory
	// already hold resident, so the benchmark's figures show that.
	rss := statusKiB("VmRSS:")
	require.NotZero(t, rss)
	require.GreaterOrEqual(t, peakRSS()+1<<20, rss<<10)
}
