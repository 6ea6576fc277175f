package runner

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim"
)

// maxExplainEvents is how many of a pod's Events explain lists (the
// latest ones).
const maxExplainEvents = 10

// The blocks below follow kubectl describe pod (k8s.io/kubectl
// pkg/describe: describePod, describeContainers, describeContainerState,
// describeStatus, DescribeEvents): its section names, field names, order
// and column alignment (a tabwriter with kubectl's settings), with times
// on the timeline's clock (simulated time since the start of the run,
// 0:01:17.000) instead of dates and ages, and only the fields that say what happened to the pod (no image,
// ports, mounts, environment).

// simTime prints an API timestamp on the timeline's clock (the simulated
// time since the start), as the rest of explain prints instants.
func simTime(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return sim.FormatClock(t.Sub(sim.Epoch))
}

// tabbed writes lines through a tabwriter set as kubectl's (tabbedString:
// padding 2, spaces), indented by indent, without trailing blanks.
func tabbed(b *strings.Builder, indent string, lines []string) {
	var buf strings.Builder
	w := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	_ = w.Flush() // writes to a strings.Builder cannot fail
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if l == "" {
			continue
		}
		b.WriteString(indent + strings.TrimRight(l, " \n") + "\n")
	}
}

// describeContainers writes the Init Containers (sidecars among them,
// marked) and Containers blocks of a pod the kubelet reports on.
func describeContainers(b *strings.Builder, pod *v1.Pod, events []*v1.Event) {
	if len(pod.Status.InitContainerStatuses)+len(pod.Status.ContainerStatuses) == 0 {
		if pod.Spec.NodeName != "" && pod.Status.Phase == v1.PodPending {
			b.WriteString("  Containers: no status reported by the kubelet yet\n")
		}
		return
	}
	if len(pod.Spec.InitContainers) > 0 {
		containerBlock(b, "Init Containers", "spec.initContainers", pod.Spec.InitContainers, pod.Status.InitContainerStatuses, events)
	}
	containerBlock(b, "Containers", "spec.containers", pod.Spec.Containers, pod.Status.ContainerStatuses, events)
}

// containerBlock is kubectl's describeContainers for one list, with the
// state fields only. A running container that is not ready gets the
// message of the kubelet's last Unhealthy Event about it (its probe
// failure), which kubectl shows among the Events only.
func containerBlock(b *strings.Builder, label, fieldPath string, specs []v1.Container, statuses []v1.ContainerStatus, events []*v1.Event) {
	b.WriteString("  " + label + ":\n")
	for _, c := range specs {
		name := c.Name + ":"
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			name = c.Name + " (sidecar):"
		}
		b.WriteString("    " + name + "\n")
		i := slices.IndexFunc(statuses, func(s v1.ContainerStatus) bool { return s.Name == c.Name })
		if i < 0 {
			continue
		}
		st := statuses[i]
		lines := stateLines("State", st.State)
		if st.LastTerminationState.Terminated != nil {
			lines = append(lines, stateLines("Last State", st.LastTerminationState)...)
		}
		lines = append(lines, "Ready:\t"+boolString(st.Ready), fmt.Sprintf("Restart Count:\t%d", st.RestartCount))
		tabbed(b, "      ", lines)
		if st.State.Running != nil && !st.Ready {
			if ev := lastUnhealthy(events, fieldPath+"{"+c.Name+"}"); ev != nil {
				fmt.Fprintf(b, "      Last probe failure: %s (at %s)\n", strings.TrimSpace(ev.Message), simTime(ev.LastTimestamp))
			}
		}
	}
}

// stateLines is kubectl's describeStatus (sub-fields indented by two),
// plus a waiting container's message (a back-off says how long it waits).
func stateLines(label string, s v1.ContainerState) []string {
	switch {
	case s.Running != nil:
		return []string{label + ":\tRunning", "  Started:\t" + simTime(s.Running.StartedAt)}
	case s.Terminated != nil:
		t := s.Terminated
		lines := []string{label + ":\tTerminated"}
		if t.Reason != "" {
			lines = append(lines, "  Reason:\t"+t.Reason)
		}
		if t.Message != "" {
			lines = append(lines, "  Message:\t"+t.Message)
		}
		lines = append(lines, fmt.Sprintf("  Exit Code:\t%d", t.ExitCode))
		if t.Signal > 0 {
			lines = append(lines, fmt.Sprintf("  Signal:\t%d", t.Signal))
		}
		return append(lines, "  Started:\t"+simTime(t.StartedAt), "  Finished:\t"+simTime(t.FinishedAt))
	}
	lines := []string{label + ":\tWaiting"}
	if w := s.Waiting; w != nil {
		if w.Reason != "" {
			lines = append(lines, "  Reason:\t"+w.Reason)
		}
		if w.Message != "" {
			lines = append(lines, "  Message:\t"+w.Message)
		}
	}
	return lines
}

func boolString(v bool) string {
	if v {
		return "True"
	}
	return "False"
}

// lastUnhealthy is the latest Unhealthy Event about the container at
// fieldPath (events are in time order).
func lastUnhealthy(events []*v1.Event, fieldPath string) *v1.Event {
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.Reason == "Unhealthy" && e.InvolvedObject.FieldPath == fieldPath {
			return e
		}
	}
	return nil
}

// describeConditions writes the pod's conditions in their order, as
// kubectl's Conditions block, with each condition's reason and message
// where set; a message already told (by the pod's state line, or by an
// earlier condition) is not repeated.
func describeConditions(b *strings.Builder, pod *v1.Pod, told string) {
	if len(pod.Status.Conditions) == 0 {
		return
	}
	b.WriteString("  Conditions:\n")
	lines := []string{"Type\tStatus\tReason"}
	for _, c := range pod.Status.Conditions {
		why := c.Reason
		if c.Message != "" && !strings.Contains(told, c.Message) {
			told += "\n" + c.Message
			if why != "" {
				why += ": "
			}
			why += c.Message
		}
		lines = append(lines, fmt.Sprintf("%s\t%s\t%s", c.Type, c.Status, why))
	}
	tabbed(b, "    ", lines)
}

// podEvents returns the Events about the pod with uid, as kubectl
// describe pod searches them (searchEvents: by involvedObject name,
// namespace and uid, so neither a pod of the same name before it nor an
// Event whose reference has no uid, such as the taint eviction
// controller's TaintManagerEviction, is among them), in kubectl's order:
// by the time each was last seen (SortableEvents); as those times are in
// whole seconds, Events of one second in the order they were last written.
func (r *Run) podEvents(namespace, name string, uid types.UID) []*v1.Event {
	res, ok := r.api.Resource("events")
	if !ok || uid == "" {
		return nil
	}
	objs, err := r.api.ListNamePrefix(res, namespace, name+".")
	if err != nil {
		return nil
	}
	var out []*v1.Event
	for _, o := range objs {
		e := o.(*v1.Event)
		if io := e.InvolvedObject; io.Name == name && io.UID == uid {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b *v1.Event) int {
		if c := eventTime(a).Compare(eventTime(b)); c != 0 {
			return c
		}
		return cmp.Compare(revision(a), revision(b))
	})
	return out
}

// revision is the Event's resourceVersion as a number (when it was last
// written).
func revision(e *v1.Event) int64 {
	rv, _ := strconv.ParseInt(e.ResourceVersion, 10, 64)
	return rv
}

// eventTime is the time kubectl sorts an Event by (pkg/util/event
// SortableEvents): its series' last observation, else its lastTimestamp,
// else its eventTime.
func eventTime(e *v1.Event) time.Time {
	switch {
	case e.Series != nil:
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	}
	return e.EventTime.Time
}

// describeEvents writes kubectl's Events table, the last
// maxExplainEvents of them, with when each happened instead of its age:
// "0:01:17.000 (x3 since 0:00:46.000)" is an Event seen 3 times, first
// at 46 s, last at 1m17s.
func describeEvents(b *strings.Builder, events []*v1.Event) {
	if len(events) == 0 {
		b.WriteString("  Events: <none>\n")
		return
	}
	if n := len(events); n > maxExplainEvents {
		fmt.Fprintf(b, "  Events (the last %d of %d):\n", maxExplainEvents, n)
		events = events[n-maxExplainEvents:]
	} else {
		b.WriteString("  Events:\n")
	}
	lines := []string{"Type\tReason\tAt\tFrom\tMessage", "----\t------\t--\t----\t-------"}
	for _, e := range events {
		at := simTime(e.LastTimestamp)
		first := e.FirstTimestamp
		if !e.EventTime.IsZero() {
			first = metav1.NewTime(e.EventTime.Time)
		}
		switch {
		case e.Series != nil:
			at = fmt.Sprintf("%s (x%d since %s)", simTime(metav1.NewTime(e.Series.LastObservedTime.Time)), e.Series.Count, simTime(first))
		case e.Count > 1:
			at = fmt.Sprintf("%s (x%d since %s)", at, e.Count, simTime(first))
		case e.LastTimestamp.IsZero():
			at = simTime(first)
		}
		from := e.Source.Component
		if from == "" {
			from = e.ReportingController
		}
		lines = append(lines, fmt.Sprintf("%s\t%s\t%s\t%s\t%s", e.Type, e.Reason, at, from, strings.TrimSpace(e.Message)))
	}
	tabbed(b, "    ", lines)
}

// describe tells how a deleted pod ended: its DisruptionTarget condition
// (who disrupted it and why), else who deleted it; when it was deleted
// and removed; its last phase and node.
func (e *podEnd) describe() string {
	var b strings.Builder
	b.WriteString("  the pod no longer exists: ")
	if c := e.disruption; c.Type != "" {
		fmt.Fprintf(&b, "%s=%s", c.Type, c.Status)
		if c.Reason != "" {
			b.WriteString(" (" + c.Reason + ")")
		}
		if c.Message != "" {
			b.WriteString(": " + c.Message)
		}
	} else {
		b.WriteString("deleted by " + e.by)
	}
	b.WriteString("\n  deleted at " + sim.FormatClock(e.requested))
	if e.grace >= 0 {
		fmt.Fprintf(&b, " (grace period %s)", scenarios.FormatDuration(time.Duration(e.grace)*time.Second))
	}
	b.WriteString(", removed at " + sim.FormatClock(e.removed))
	if e.phase != "" {
		fmt.Fprintf(&b, "; its last phase was %s", e.phase)
		if e.node != "" {
			b.WriteString(", on node " + e.node)
		} else {
			b.WriteString(", not bound to a node")
		}
	}
	b.WriteString("\n")
	return b.String()
}
