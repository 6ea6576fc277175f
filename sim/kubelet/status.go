package kubelet

import (
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod and container status vocabulary, as upstream's kubelet writes it
// (pkg/kubelet/status/generate.go, pkg/kubelet/container, pkg/kubelet/images).
const (
	reasonContainerCreating        = "ContainerCreating"
	reasonPodInitializing          = "PodInitializing"
	reasonCrashLoopBackOff         = "CrashLoopBackOff"
	reasonErrImagePull             = "ErrImagePull"
	reasonImagePullBackOff         = "ImagePullBackOff"
	reasonErrImageNeverPull        = "ErrImageNeverPull"
	reasonCompleted                = "Completed"
	reasonError                    = "Error"
	reasonUnknown                  = "Unknown"
	reasonContainerStatusUnknown   = "ContainerStatusUnknown"
	reasonUnknownContainerStatuses = "UnknownContainerStatuses"
	reasonPodCompleted             = "PodCompleted"
	reasonPodFailed                = "PodFailed"
	reasonContainersNotReady       = "ContainersNotReady"
	reasonContainersNotInitialized = "ContainersNotInitialized"
	reasonReadinessGatesNotReady   = "ReadinessGatesNotReady"

	msgContainerStatusUnknown = "The container could not be located when the pod was terminated"
)

// isRestartableInit reports a sidecar: an init container with restartPolicy Always.
func isRestartableInit(c *v1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways
}

func findStatus(statuses []v1.ContainerStatus, name string) (v1.ContainerStatus, bool) {
	for _, s := range statuses {
		if s.Name == name {
			return s, true
		}
	}
	return v1.ContainerStatus{}, false
}

func anyRegularStarted(spec *v1.PodSpec, statuses []v1.ContainerStatus) bool {
	for _, c := range spec.Containers {
		if s, ok := findStatus(statuses, c.Name); ok && (s.State.Running != nil || s.State.Terminated != nil) {
			return true
		}
	}
	return false
}

// podPhase computes status.phase from the container statuses (init and
// regular), as upstream's getPhase. terminal is true when the pod is
// terminal whatever its restart policy (being deleted and all containers
// stopped); initialized when a regular container started in the pod's
// current sandbox (HasAnyActiveRegularContainerStarted): a pending sidecar
// then does not make the pod Pending, a pending regular init container
// (one running again in a sandbox recreated after a node crash) always
// does.
func podPhase(spec *v1.PodSpec, statuses []v1.ContainerStatus, terminal, initialized bool) v1.PodPhase {
	pendingInit, pendingSidecars, failedInit := 0, 0, 0
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if isRestartableInit(c) {
			continue
		}
		s, ok := findStatus(statuses, c.Name)
		if !ok {
			pendingInit++
			continue
		}
		switch {
		case s.State.Running != nil:
			pendingInit++
		case s.State.Terminated != nil:
			if s.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case s.State.Waiting != nil:
			if s.LastTerminationState.Terminated != nil {
				if s.LastTerminationState.Terminated.ExitCode != 0 {
					failedInit++
				}
			} else {
				pendingInit++
			}
		default:
			pendingInit++
		}
	}
	unknown, running, waiting, stopped, succeeded := 0, 0, 0, 0, 0
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if !isRestartableInit(c) {
			continue
		}
		s, ok := findStatus(statuses, c.Name)
		if !ok {
			unknown++
			continue
		}
		switch {
		case s.State.Running != nil:
			if s.Started == nil || !*s.Started {
				pendingSidecars++
			}
			running++
		case s.State.Terminated != nil:
		case s.State.Waiting != nil:
			if s.LastTerminationState.Terminated == nil {
				pendingSidecars++
				waiting++
			}
		default:
			pendingSidecars++
			unknown++
		}
	}
	for _, c := range spec.Containers {
		s, ok := findStatus(statuses, c.Name)
		if !ok {
			unknown++
			continue
		}
		switch {
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil:
			stopped++
			if s.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case s.State.Waiting != nil:
			if s.LastTerminationState.Terminated != nil {
				stopped++
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}
	if failedInit > 0 && spec.RestartPolicy == v1.RestartPolicyNever {
		return v1.PodFailed
	}
	switch {
	case pendingInit > 0 || (pendingSidecars > 0 && !initialized):
		return v1.PodPending
	case waiting > 0:
		return v1.PodPending
	case running > 0 && unknown == 0:
		return v1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if terminal {
			if stopped == succeeded {
				return v1.PodSucceeded
			}
			return v1.PodFailed
		}
		if spec.RestartPolicy == v1.RestartPolicyAlways {
			return v1.PodRunning
		}
		if stopped == succeeded {
			return v1.PodSucceeded
		}
		if spec.RestartPolicy == v1.RestartPolicyNever {
			return v1.PodFailed
		}
		return v1.PodRunning
	}
	return v1.PodPending
}

func names(list []string) string { return "[" + strings.Join(list, " ") + "]" }

// containersReadyCondition is GenerateContainersReadyCondition.
func containersReadyCondition(spec *v1.PodSpec, statuses []v1.ContainerStatus, phase v1.PodPhase) v1.PodCondition {
	cond := v1.PodCondition{Type: v1.ContainersReady, Status: v1.ConditionFalse}
	// Every status write of a starting pod comes here: the lists live on
	// the stack and the message is built in one piece.
	var unknownBuf, unreadyBuf [4]string
	unknown, unready := unknownBuf[:0], unreadyBuf[:0]
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if !isRestartableInit(c) {
			continue
		}
		if s, ok := findStatus(statuses, c.Name); ok {
			if !s.Ready {
				unready = append(unready, c.Name)
			}
		} else {
			unknown = append(unknown, c.Name)
		}
	}
	for _, c := range spec.Containers {
		if s, ok := findStatus(statuses, c.Name); ok {
			if !s.Ready {
				unready = append(unready, c.Name)
			}
		} else {
			unknown = append(unknown, c.Name)
		}
	}
	if (phase == v1.PodSucceeded && len(unknown) == 0) || phase == v1.PodFailed {
		cond.Reason = reasonPodCompleted
		if phase == v1.PodFailed {
			cond.Reason = reasonPodFailed
		}
		return cond
	}
	switch {
	case len(unknown) > 0 && len(unready) > 0:
		cond.Message = "containers with unknown status: [" + strings.Join(unknown, " ") +
			"], containers with unready status: [" + strings.Join(unready, " ") + "]"
	case len(unknown) > 0:
		cond.Message = "containers with unknown status: [" + strings.Join(unknown, " ") + "]"
	case len(unready) > 0:
		cond.Message = "containers with unready status: [" + strings.Join(unready, " ") + "]"
	default:
		cond.Status = v1.ConditionTrue
		return cond
	}
	cond.Reason = reasonContainersNotReady
	return cond
}

// readyCondition is GeneratePodReadyCondition: ContainersReady and every
// readiness gate.
func readyCondition(spec *v1.PodSpec, conds []v1.PodCondition, containersReady v1.PodCondition) v1.PodCondition {
	if containersReady.Status != v1.ConditionTrue {
		return v1.PodCondition{Type: v1.PodReady, Status: containersReady.Status, Reason: containersReady.Reason, Message: containersReady.Message}
	}
	var msgs []string
	for _, rg := range spec.ReadinessGates {
		var c *v1.PodCondition
		for i := range conds {
			if conds[i].Type == rg.ConditionType {
				c = &conds[i]
			}
		}
		if c == nil {
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(rg.ConditionType)))
		} else if c.Status != v1.ConditionTrue {
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(rg.ConditionType), c.Status))
		}
	}
	if len(msgs) > 0 {
		return v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionFalse, Reason: reasonReadinessGatesNotReady, Message: strings.Join(msgs, ", ")}
	}
	return v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue}
}

// initializedCondition is GeneratePodInitializedCondition.
func initializedCondition(spec *v1.PodSpec, statuses []v1.ContainerStatus, phase v1.PodPhase) v1.PodCondition {
	cond := v1.PodCondition{Type: v1.PodInitialized, Status: v1.ConditionTrue}
	if len(spec.InitContainers) == 0 {
		if phase == v1.PodSucceeded {
			cond.Reason = reasonPodCompleted // no init container is unknown
		}
		return cond
	}
	var unknown, incomplete []string
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		s, ok := findStatus(statuses, c.Name)
		if !ok {
			unknown = append(unknown, c.Name)
			continue
		}
		if isRestartableInit(c) {
			if s.Started == nil || !*s.Started {
				incomplete = append(incomplete, c.Name)
			}
		} else if !s.Ready {
			incomplete = append(incomplete, c.Name)
		}
	}
	if phase == v1.PodSucceeded && len(unknown) == 0 {
		cond.Reason = reasonPodCompleted
		return cond
	}
	if anyRegularStarted(spec, statuses) {
		return cond
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", names(unknown)))
	}
	if len(incomplete) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with incomplete status: %s", names(incomplete)))
	}
	if len(msgs) > 0 {
		cond.Status, cond.Reason, cond.Message = v1.ConditionFalse, reasonContainersNotInitialized, strings.Join(msgs, ", ")
	}
	return cond
}

// kubeletOwned reports the condition types the kubelet writes; others (set
// by the scheduler, controllers, the eviction API, readiness gates) are kept.
func kubeletOwned(t v1.PodConditionType) bool {
	switch t {
	case v1.PodScheduled, v1.PodReady, v1.PodInitialized, v1.ContainersReady, v1.PodReadyToStartContainers:
		return true
	}
	return false
}

// conditions returns the pod's conditions (mergeConditions) as the
// kubelet writes them: the slice it wrote last when they are equal to it.
// Pods of a node that take a step in the same second carry equal
// conditions (now is truncated to the second, as the API server stores
// it), and the objects the server stores are read-only, so they share one
// slice instead of each status write allocating its own.
func (k *Kubelet) conditions(old, kubelet []v1.PodCondition, now metav1.Time) []v1.PodCondition {
	now = metav1.NewTime(now.Truncate(time.Second))
	k.condScratch = mergeConditions(k.condScratch[:0], old, kubelet, now)
	if !slices.Equal(k.condScratch, k.lastConds) {
		// Exact size: every stored status keeps it.
		k.lastConds = append(make([]v1.PodCondition, 0, len(k.condScratch)), k.condScratch...)
	}
	return k.lastConds
}

// mergeConditions appends to out the pod's conditions: those not owned by
// the kubelet from old (in their order), then the kubelet's in upstream's
// order, each keeping old's lastTransitionTime while its status is
// unchanged and taking now otherwise.
func mergeConditions(out, old, kubelet []v1.PodCondition, now metav1.Time) []v1.PodCondition {
	for _, c := range old {
		if !kubeletOwned(c.Type) {
			out = append(out, c)
		}
	}
	for _, c := range kubelet {
		c.LastTransitionTime = now
		for _, o := range old {
			if o.Type == c.Type && o.Status == c.Status && !o.LastTransitionTime.IsZero() {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		out = append(out, c)
	}
	return out
}

// conditionStatus returns the status of condition t in conds.
func conditionStatus(conds []v1.PodCondition, t v1.PodConditionType) v1.ConditionStatus {
	for _, c := range conds {
		if c.Type == t {
			return c.Status
		}
	}
	return v1.ConditionUnknown
}
