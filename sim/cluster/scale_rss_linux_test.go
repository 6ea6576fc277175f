//go:build linux

package cluster_test

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
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

// statusKiB is the field of /proc/self/status named by prefix ("VmHWM:
// 123456 kB"), in KiB; 0 if it cannot be read.
func statusKiB(prefix string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
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

// The high-water mark sees memory the process touched, and starts again
// from the current resident set when reset.
func TestPeakRSSSeesTouchedMemory(t *testing.T) {
	before := peakRSS()
	require.NotZero(t, before, "VmHWM readable")
	debug.FreeOSMemory() // earlier garbage leaves the resident set
	reset := resetPeakRSS()
	base := statusKiB("VmRSS:") << 10
	require.NotZero(t, base, "VmRSS readable")
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after := peakRSS()
	runtime.KeepAlive(buf)
	if !reset {
		require.GreaterOrEqual(t, after, before, "a high-water mark never falls")
		return
	}
	// From the resident set at the reset, plus the 64 MiB touched (less a
	// little the runtime may have returned meanwhile); the earlier peak
	// is forgotten.
	require.GreaterOrEqual(t, after, base+56<<20)
	require.Less(t, after, base+256<<20)
}
