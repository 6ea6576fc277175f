package kubelet

import (
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Config holds the kubelet's knobs. Zero values mean the defaults below
// (upstream's where upstream has one, pkg/kubelet/apis/config/v1beta1/defaults.go).
type Config struct {
	// NodeStatusUpdateFrequency is how often the kubelet recomputes its node
	// status (10 s); it writes it only when something changed or
	// NodeStatusReportFrequency passed since the last write (5 min, or
	// NodeStatusUpdateFrequency when only that is set, as upstream).
	NodeStatusUpdateFrequency time.Duration
	NodeStatusReportFrequency time.Duration
	// NodeLeaseDurationSeconds is the Lease's leaseDurationSeconds (40); the
	// lease is renewed every 0.25 of it (10 s).
	NodeLeaseDurationSeconds int32
	// HeartbeatJitter is the jitter factor of the status and lease loops
	// (wait.JitterUntil's 0.04: each period is extended by up to 4 %).
	HeartbeatJitter float64
	// NodeReadyDelay is how long after registration the node reports
	// Ready=True (0: it registers Ready). Before that it reports Ready=False
	// with reason KubeletNotReady.
	NodeReadyDelay time.Duration
	// SandboxDuration is how long creating a pod sandbox (and its network)
	// takes (0: at once).
	SandboxDuration time.Duration
	// ImagePullDuration is the mean time to pull an image that is not on
	// the node (2 s). Pulls are serialized per node, as upstream's default
	// serializeImagePulls=true, unless ParallelImagePulls.
	ImagePullDuration  time.Duration
	ParallelImagePulls bool
	// ContainerStartDuration is the mean time to create and start a
	// container once its image is present (500 ms).
	ContainerStartDuration time.Duration
	// InitContainerDuration is how long an init container runs before it
	// completes when no annotation says otherwise (1 s).
	InitContainerDuration time.Duration
	// DurationJitter is the relative jitter of the default durations above:
	// each draw is uniform in [d×(1−j), d×(1+j)] from the node's random
	// stream (0.2). Durations given by annotations are exact.
	DurationJitter float64
	// DisableJitter turns off both jitters (exact, reproducible timelines
	// for tests and lessons).
	DisableJitter bool
	// CrashLoopBackOffInitial and CrashLoopBackOffMax are the container
	// restart backoff (10 s, 300 s); the same values apply to image pull
	// back-off, as upstream.
	CrashLoopBackOffInitial time.Duration
	CrashLoopBackOffMax     time.Duration
	// NodeStatusMaxImages caps status.images (50).
	NodeStatusMaxImages int
	// KubeletVersion, ContainerRuntimeVersion, KernelVersion and OSImage
	// fill status.nodeInfo.
	KubeletVersion          string
	ContainerRuntimeVersion string
	KernelVersion           string
	OSImage                 string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration, name string) {
		if *v < 0 {
			panic(fmt.Sprintf("kubelet: Config.%s is negative (%v)", name, *v))
		}
		if *v == 0 {
			*v = d
		}
	}
	// As upstream, an explicit NodeStatusUpdateFrequency is also the report
	// frequency unless that is given too.
	reportDefault := 5 * time.Minute
	if c.NodeStatusUpdateFrequency > 0 {
		reportDefault = c.NodeStatusUpdateFrequency
	}
	def(&c.NodeStatusUpdateFrequency, 10*time.Second, "NodeStatusUpdateFrequency")
	def(&c.NodeStatusReportFrequency, reportDefault, "NodeStatusReportFrequency")
	def(&c.ImagePullDuration, 2*time.Second, "ImagePullDuration")
	def(&c.ContainerStartDuration, 500*time.Millisecond, "ContainerStartDuration")
	def(&c.InitContainerDuration, time.Second, "InitContainerDuration")
	def(&c.CrashLoopBackOffInitial, 10*time.Second, "CrashLoopBackOffInitial")
	def(&c.CrashLoopBackOffMax, 300*time.Second, "CrashLoopBackOffMax")
	if c.SandboxDuration < 0 || c.NodeReadyDelay < 0 {
		panic(fmt.Sprintf("kubelet: negative SandboxDuration (%v) or NodeReadyDelay (%v)", c.SandboxDuration, c.NodeReadyDelay))
	}
	if c.NodeLeaseDurationSeconds == 0 {
		c.NodeLeaseDurationSeconds = 40
	}
	if c.HeartbeatJitter == 0 {
		c.HeartbeatJitter = 0.04
	}
	if c.DurationJitter == 0 {
		c.DurationJitter = 0.2
	}
	if c.HeartbeatJitter < 0 || c.DurationJitter < 0 || c.DurationJitter >= 1 {
		panic(fmt.Sprintf("kubelet: jitter out of range (heartbeat %v, duration %v)", c.HeartbeatJitter, c.DurationJitter))
	}
	if c.DisableJitter {
		c.HeartbeatJitter, c.DurationJitter = 0, 0
	}
	if c.NodeStatusMaxImages == 0 {
		c.NodeStatusMaxImages = 50
	}
	if c.KubeletVersion == "" {
		c.KubeletVersion = "v1.37.2"
	}
	if c.ContainerRuntimeVersion == "" {
		c.ContainerRuntimeVersion = "containerd://2.1.4"
	}
	if c.KernelVersion == "" {
		c.KernelVersion = "6.8.0-kubesim"
	}
	if c.OSImage == "" {
		c.OSImage = "kubesim node image"
	}
	return c
}

// NodeSpec is what a kubelet registers: the machine's resources, labels and
// taints, and the addresses the cluster runtime assigned to it.
type NodeSpec struct {
	Name string
	// Capacity must hold cpu and memory; pods defaults to 110.
	Capacity v1.ResourceList
	// Allocatable defaults to Capacity (entries not given default to capacity).
	Allocatable v1.ResourceList
	// Labels are added to the kubelet's own (hostname, os, arch).
	Labels map[string]string
	// Taints are registered with the node (--register-with-taints).
	Taints []v1.Taint
	// PodCIDR is the node's pod range (e.g. "10.244.3.0/24"); pod IPs come
	// from it.
	PodCIDR string
	// InternalIP is the node's address.
	InternalIP string
	// Unschedulable registers the node cordoned (--register-schedulable=false).
	Unschedulable bool
}
