//go:build !linux

package cluster_test

// The resident high-water mark is read from Linux's /proc; elsewhere the
// benchmark reports no peak-rss-MiB.
func resetPeakRSS() bool { return false }
func peakRSS() uint64    { return 0 }
