//go:build linux

package cluster_test

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
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
func peakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			kb, err := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
