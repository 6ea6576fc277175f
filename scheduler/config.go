package scheduler

import (
	"fmt"
	"time"
)

// DefaultSchedulerName is the schedulerName this scheduler serves by default.
const DefaultSchedulerName = "default-scheduler"

// Config holds the scheduler's knobs; DefaultConfig returns upstream's
// defaults (pkg/scheduler/apis/config/v1/defaults.go). Zero durations and
// counts in a Config passed to New also mean "the default".
type Config struct {
	// SchedulerName is the spec.schedulerName this scheduler serves;
	// unassigned pods for any other scheduler are ignored.
	SchedulerName string
	// PercentageOfNodesToScore is the share of nodes to find feasible before
	// scoring; 0 means adaptive: max(50 − nodes/125, 5) %, at least 100 nodes.
	PercentageOfNodesToScore int32
	// PodInitialBackoff is the first backoff after a failed attempt (1 s).
	PodInitialBackoff time.Duration
	// PodMaxBackoff caps the doubling backoff (10 s).
	PodMaxBackoff time.Duration
	// PodMaxInUnschedulablePods is how long a pod waits in the unschedulable
	// pool before it is retried without a triggering event (5 min).
	PodMaxInUnschedulablePods time.Duration
	// UnschedulableFlushPeriod is how often that leftover flush runs (30 s).
	UnschedulableFlushPeriod time.Duration
	// BindDelay is the simulated time between assuming a pod and its Bind
	// call (upstream binds in a goroutine). With 0 the bind runs in its own
	// engine event at the same instant, queued just before the next cycle;
	// with more, later cycles see the pod only as assumed until it binds.
	BindDelay time.Duration
	// AssumedPodTTL expires assumed pods whose bind succeeded but whose bound
	// version never arrived through the informer; 0 never expires them
	// (upstream's default since v1.29).
	AssumedPodTTL time.Duration
	// MinCandidateNodesPercentage and MinCandidateNodesAbsolute size the
	// preemption dry run: max(percentage of candidate nodes, absolute) (10 %, 100).
	MinCandidateNodesPercentage int32
	MinCandidateNodesAbsolute   int32
	// HardPodAffinityWeight is InterPodAffinity's scoring weight for existing
	// pods' required affinity terms (1).
	HardPodAffinityWeight int32
	// ExplainAttemptsPerPod is how many attempts Explain keeps per pod (5).
	ExplainAttemptsPerPod int
	// ExplainDetailedAttempts is how many of the most recent attempts,
	// cluster-wide, keep their per-node filter verdicts and per-plugin scores;
	// older attempts keep only their summary and the top 3 nodes (256).
	ExplainDetailedAttempts int
	// ExplainRetainDeleted is how long the attempts of a deleted pod stay
	// available (5 min).
	ExplainRetainDeleted time.Duration
}

// DefaultConfig returns upstream's default configuration.
func DefaultConfig() Config {
	return Config{
		SchedulerName:               DefaultSchedulerName,
		PodInitialBackoff:           time.Second,
		PodMaxBackoff:               10 * time.Second,
		PodMaxInUnschedulablePods:   5 * time.Minute,
		UnschedulableFlushPeriod:    30 * time.Second,
		MinCandidateNodesPercentage: 10,
		MinCandidateNodesAbsolute:   100,
		HardPodAffinityWeight:       1,
		ExplainAttemptsPerPod:       5,
		ExplainDetailedAttempts:     256,
		ExplainRetainDeleted:        5 * time.Minute,
	}
}

// withDefaults fills zero fields from DefaultConfig and panics on values
// that can only be programming errors (negative durations, percentages out
// of range): New has no error path by design, so a bad config fails loudly.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.SchedulerName == "" {
		c.SchedulerName = d.SchedulerName
	}
	def := func(v *time.Duration, dv time.Duration, name string) {
		if *v < 0 {
			panic(fmt.Sprintf("scheduler: Config.%s is negative (%v)", name, *v))
		}
		if *v == 0 {
			*v = dv
		}
	}
	def(&c.PodInitialBackoff, d.PodInitialBackoff, "PodInitialBackoff")
	def(&c.PodMaxBackoff, d.PodMaxBackoff, "PodMaxBackoff")
	def(&c.PodMaxInUnschedulablePods, d.PodMaxInUnschedulablePods, "PodMaxInUnschedulablePods")
	def(&c.UnschedulableFlushPeriod, d.UnschedulableFlushPeriod, "UnschedulableFlushPeriod")
	def(&c.ExplainRetainDeleted, d.ExplainRetainDeleted, "ExplainRetainDeleted")
	if c.BindDelay < 0 || c.AssumedPodTTL < 0 {
		panic(fmt.Sprintf("scheduler: negative BindDelay (%v) or AssumedPodTTL (%v)", c.BindDelay, c.AssumedPodTTL))
	}
	if c.PercentageOfNodesToScore < 0 || c.PercentageOfNodesToScore > 100 {
		panic(fmt.Sprintf("scheduler: Config.PercentageOfNodesToScore %d is not in 0..100", c.PercentageOfNodesToScore))
	}
	if c.MinCandidateNodesPercentage == 0 {
		c.MinCandidateNodesPercentage = d.MinCandidateNodesPercentage
	}
	if c.MinCandidateNodesAbsolute == 0 {
		c.MinCandidateNodesAbsolute = d.MinCandidateNodesAbsolute
	}
	if c.HardPodAffinityWeight == 0 {
		c.HardPodAffinityWeight = d.HardPodAffinityWeight
	}
	if c.ExplainAttemptsPerPod <= 0 {
		c.ExplainAttemptsPerPod = d.ExplainAttemptsPerPod
	}
	if c.ExplainDetailedAttempts <= 0 {
		c.ExplainDetailedAttempts = d.ExplainDetailedAttempts
	}
	return c
}
