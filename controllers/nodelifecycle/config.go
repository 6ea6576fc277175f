package nodelifecycle

import "time"

// Config holds the node lifecycle controller's kube-controller-manager flags.
// A zero field means the upstream default (DefaultConfig).
type Config struct {
	// MonitorPeriod is --node-monitor-period: how often node health is
	// checked (5 s).
	MonitorPeriod time.Duration
	// MonitorGracePeriod is --node-monitor-grace-period: how long a node may
	// go without a heartbeat before it is marked Unknown (50 s since v1.32).
	MonitorGracePeriod time.Duration
	// StartupGracePeriod is --node-startup-grace-period: the same for a node
	// that never posted a Ready condition (60 s).
	StartupGracePeriod time.Duration
	// EvictionRate is --node-eviction-rate: nodes per second that get a
	// NoExecute taint in a healthy zone (0.1). Negative means 0 (never).
	// As upstream, a zone whose tainting was stopped (rate 0) does not
	// resume at a rate of exactly 1: see RateLimitedTimedQueue.SwapLimiter.
	EvictionRate float64
	// SecondaryEvictionRate is --secondary-node-eviction-rate: the rate in a
	// partially disrupted zone larger than LargeClusterSizeThreshold (0.01).
	// Negative means 0.
	SecondaryEvictionRate float64
	// LargeClusterSizeThreshold is --large-cluster-size-threshold (50): a
	// partially disrupted zone of at most this many nodes stops tainting.
	LargeClusterSizeThreshold int32
	// UnhealthyZoneThreshold is --unhealthy-zone-threshold (0.55): the
	// fraction of not-ready nodes (when more than 2) that makes a zone
	// PartialDisruption.
	UnhealthyZoneThreshold float64
}

// DefaultConfig returns upstream's defaults (v1.32+).
func DefaultConfig() Config {
	return Config{
		MonitorPeriod:             5 * time.Second,
		MonitorGracePeriod:        50 * time.Second,
		StartupGracePeriod:        60 * time.Second,
		EvictionRate:              0.1,
		SecondaryEvictionRate:     0.01,
		LargeClusterSizeThreshold: 50,
		UnhealthyZoneThreshold:    0.55,
	}
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.MonitorPeriod == 0 {
		c.MonitorPeriod = d.MonitorPeriod
	}
	if c.MonitorGracePeriod == 0 {
		c.MonitorGracePeriod = d.MonitorGracePeriod
	}
	if c.StartupGracePeriod == 0 {
		c.StartupGracePeriod = d.StartupGracePeriod
	}
	if c.EvictionRate == 0 {
		c.EvictionRate = d.EvictionRate
	} else if c.EvictionRate < 0 {
		c.EvictionRate = 0
	}
	if c.SecondaryEvictionRate == 0 {
		c.SecondaryEvictionRate = d.SecondaryEvictionRate
	} else if c.SecondaryEvictionRate < 0 {
		c.SecondaryEvictionRate = 0
	}
	if c.LargeClusterSizeThreshold == 0 {
		c.LargeClusterSizeThreshold = d.LargeClusterSizeThreshold
	}
	if c.UnhealthyZoneThreshold == 0 {
		c.UnhealthyZoneThreshold = d.UnhealthyZoneThreshold
	}
	return c
}
