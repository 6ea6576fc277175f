package kubelet

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Pod annotations of the container behaviour model. Each applies to every
// container of the pod (init containers included); the same name followed
// by "." and a container name ("kubesim.dev/crash-after.web") applies to
// that container only and wins over the pod-wide value. Durations use Go's
// syntax (time.ParseDuration: "500ms", "30s", "2m", "1h30m"); times such as
// "crash after" are measured from each start of the container, so a
// restarted container lives its behaviour again from the beginning.
const (
	// AnnotationImagePullDuration is how long pulling each image takes when
	// a pull happens (default Config.ImagePullDuration with jitter).
	AnnotationImagePullDuration = "kubesim.dev/image-pull-duration"
	// AnnotationStartDuration is how long creating and starting a container
	// takes once its image is on the node (default Config.ContainerStartDuration with jitter).
	AnnotationStartDuration = "kubesim.dev/start-duration"
	// AnnotationCrashAfter makes the container exit with AnnotationExitCode
	// (default 1) that long after each start.
	AnnotationCrashAfter = "kubesim.dev/crash-after"
	// AnnotationCompleteAfter makes the container exit with code 0 that long
	// after each start (a Job-style container). Init containers complete
	// after Config.InitContainerDuration unless this is set.
	AnnotationCompleteAfter = "kubesim.dev/complete-after"
	// AnnotationExitCode is the exit code of AnnotationCrashAfter (1..255, default 1).
	AnnotationExitCode = "kubesim.dev/exit-code"
	// AnnotationNotReadyBetween ("1m-3m") makes readiness probes fail while
	// the time since the container's start is in [from, to).
	AnnotationNotReadyBetween = "kubesim.dev/not-ready-between"
	// AnnotationLivenessFailsAfter makes liveness probes fail from that long
	// after each start.
	AnnotationLivenessFailsAfter = "kubesim.dev/liveness-fails-after"
	// AnnotationStartupDuration is how long the application takes to start:
	// before that every probe (startup, readiness, liveness) fails and the
	// container accepts no connections (Kubelet.PodServing is false).
	AnnotationStartupDuration = "kubesim.dev/startup-duration"
	// AnnotationPreStopDuration is how long the container's preStop hook runs
	// (an exec or httpGet hook; a sleep hook's own seconds apply when this is
	// not set). Without a preStop hook in the spec it still models one.
	AnnotationPreStopDuration = "kubesim.dev/prestop-duration"
	// AnnotationStopDuration is how long the process takes to exit after the
	// stop signal (default 0: at once). If that is longer than what is left
	// of the grace period the container is killed (exit code 137).
	AnnotationStopDuration = "kubesim.dev/stop-duration"
	// AnnotationImagePullError makes every pull of the container's image fail
	// with this message (ErrImagePull, then ImagePullBackOff).
	AnnotationImagePullError = "kubesim.dev/image-pull-error"
)

// behaviourKeys are the annotation names of the behaviour model, in
// validation order.
var behaviourKeys = []string{
	AnnotationImagePullDuration, AnnotationStartDuration, AnnotationCrashAfter, AnnotationCompleteAfter,
	AnnotationExitCode, AnnotationNotReadyBetween, AnnotationLivenessFailsAfter, AnnotationStartupDuration,
	AnnotationPreStopDuration, AnnotationStopDuration, AnnotationImagePullError,
}

// Behaviour is the behaviour model of one container, read from the pod's
// annotations. A nil pointer means "not set" (the default applies).
type Behaviour struct {
	ImagePullDuration *time.Duration
	StartDuration     *time.Duration
	// CrashAfter and CompleteAfter: the container exits that long after
	// each start (CrashAfter with ExitCode, CompleteAfter with 0; the
	// earlier one wins).
	CrashAfter    *time.Duration
	CompleteAfter *time.Duration
	ExitCode      int32
	// NotReadyFrom/NotReadyTo bound the window in which readiness fails.
	NotReadyFrom, NotReadyTo *time.Duration
	LivenessFailsAfter       *time.Duration
	StartupDuration          time.Duration
	PreStopDuration          *time.Duration
	StopDuration             time.Duration
	// ImagePullError, when not empty, makes every pull fail with it.
	ImagePullError string
}

// exitAfter is when (since start) and with which code the container exits
// by itself, if it does.
func (b Behaviour) exitAfter() (time.Duration, int32, bool) {
	switch {
	case b.CrashAfter != nil && (b.CompleteAfter == nil || *b.CrashAfter < *b.CompleteAfter):
		return *b.CrashAfter, b.ExitCode, true
	case b.CompleteAfter != nil:
		return *b.CompleteAfter, 0, true
	}
	return 0, 0, false
}

// hasBehaviourAnnotations reports whether pod has any annotation of the
// behaviour model (the common case in large runs is none).
func hasBehaviourAnnotations(pod *v1.Pod) bool {
	for k := range pod.Annotations {
		if strings.HasPrefix(k, "kubesim.dev/") && baseKey(k) != "" {
			return true
		}
	}
	return false
}

// BehaviourAnnotations lists the behaviour model's annotation names (each
// also takes a ".<container>" suffix).
func BehaviourAnnotations() []string { return slices.Clone(behaviourKeys) }

// IsBehaviourAnnotation reports whether key is a behaviour annotation, with
// or without a container suffix.
func IsBehaviourAnnotation(key string) bool { return baseKey(key) != "" }

// baseKey returns the behaviour annotation name of key (without a
// container suffix), or "" if key is not one.
func baseKey(key string) string {
	for _, b := range behaviourKeys {
		if key == b || (strings.HasPrefix(key, b) && len(key) > len(b) && key[len(b)] == '.') {
			return b
		}
	}
	return ""
}

// lookup returns the container-specific value of annotation base, else the
// pod-wide one.
func lookup(pod *v1.Pod, base, container string) (string, string, bool) {
	if v, ok := pod.Annotations[base+"."+container]; ok {
		return base + "." + container, v, true
	}
	v, ok := pod.Annotations[base]
	return base, v, ok
}

// BehaviourFor reads the behaviour of container from pod's annotations.
// Invalid values are reported with their field path (API admission rejects
// them first; see ValidateAnnotations).
func BehaviourFor(pod *v1.Pod, container string) (Behaviour, field.ErrorList) {
	b := Behaviour{ExitCode: 1}
	if !hasBehaviourAnnotations(pod) {
		return b, nil
	}
	path := field.NewPath("metadata", "annotations")
	var errs field.ErrorList
	dur := func(base string) *time.Duration {
		key, v, ok := lookup(pod, base, container)
		if !ok {
			return nil
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			errs = append(errs, field.Invalid(path.Key(key), v, "must be a non-negative duration such as 500ms, 30s or 2m"))
			return nil
		}
		return &d
	}
	b.ImagePullDuration = dur(AnnotationImagePullDuration)
	b.StartDuration = dur(AnnotationStartDuration)
	b.CrashAfter = dur(AnnotationCrashAfter)
	b.CompleteAfter = dur(AnnotationCompleteAfter)
	b.LivenessFailsAfter = dur(AnnotationLivenessFailsAfter)
	b.PreStopDuration = dur(AnnotationPreStopDuration)
	if d := dur(AnnotationStartupDuration); d != nil {
		b.StartupDuration = *d
	}
	if d := dur(AnnotationStopDuration); d != nil {
		b.StopDuration = *d
	}
	if key, v, ok := lookup(pod, AnnotationExitCode, container); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 255 {
			errs = append(errs, field.Invalid(path.Key(key), v, "must be an exit code between 1 and 255"))
		} else {
			b.ExitCode = int32(n)
		}
	}
	if key, v, ok := lookup(pod, AnnotationNotReadyBetween, container); ok {
		from, to, err := parseWindow(v)
		if err != nil {
			errs = append(errs, field.Invalid(path.Key(key), v, err.Error()))
		} else {
			b.NotReadyFrom, b.NotReadyTo = &from, &to
		}
	}
	if _, v, ok := lookup(pod, AnnotationImagePullError, container); ok {
		b.ImagePullError = v
		if b.ImagePullError == "" {
			b.ImagePullError = "simulated pull failure"
		}
	}
	return b, errs
}

// parseWindow parses "from-to" (two durations, from < to).
func parseWindow(v string) (time.Duration, time.Duration, error) {
	const msg = "must be a window of two durations such as 1m-3m (from before to)"
	a, b, ok := strings.Cut(strings.TrimSpace(v), "-")
	if !ok {
		return 0, 0, fmt.Errorf("%s", msg)
	}
	from, err1 := time.ParseDuration(strings.TrimSpace(a))
	to, err2 := time.ParseDuration(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || from < 0 || to <= from {
		return 0, 0, fmt.Errorf("%s", msg)
	}
	return from, to, nil
}

// ValidateAnnotations checks every behaviour-model annotation of pod: its
// value, and that a container suffix names a container of the pod. Other
// kubesim.dev/ annotations (owned by other components) are not checked.
func ValidateAnnotations(pod *v1.Pod) field.ErrorList {
	if !hasBehaviourAnnotations(pod) {
		return nil
	}
	names := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		names[c.Name] = true
	}
	for _, c := range pod.Spec.Containers {
		names[c.Name] = true
	}
	keys := make([]string, 0, len(pod.Annotations))
	for k := range pod.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	path := field.NewPath("metadata", "annotations")
	var errs field.ErrorList
	checked := map[string]bool{}
	for _, k := range keys {
		base := baseKey(k)
		if base == "" {
			continue
		}
		if k != base {
			c := k[len(base)+1:]
			if !names[c] {
				errs = append(errs, field.Invalid(path.Key(k), pod.Annotations[k], fmt.Sprintf("the pod has no container named %q", c)))
				continue
			}
			_, cerrs := BehaviourFor(pod, c)
			for _, e := range cerrs {
				if !checked[e.Field] {
					checked[e.Field] = true
					errs = append(errs, e)
				}
			}
		}
	}
	// Pod-wide values, checked once through any container name.
	probe := &v1.Pod{}
	probe.Annotations = map[string]string{}
	for _, k := range keys {
		if baseKey(k) == k {
			probe.Annotations[k] = pod.Annotations[k]
		}
	}
	_, perrs := BehaviourFor(probe, "\x00")
	for _, e := range perrs {
		if !checked[e.Field] {
			checked[e.Field] = true
			errs = append(errs, e)
		}
	}
	return errs
}
