package runner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scheduler"
	"github.com/kubesim/kubesim/sim"
)

// maxEarlierAttempts bounds the one-line attempts Explain lists before the
// latest one.
const maxEarlierAttempts = 10

// Explain answers "why is this pod on that node / still Pending / not
// Ready / gone" at the current simulated time, from the scheduler's record
// of its attempts, the pod as the API server has it now (its containers
// and conditions, as kubectl describe shows them), its Events, and, for a
// pod deleted before now, how it ended (see podEnds). Times are simulated
// times since the start of the run.
func (r *Run) Explain(namespace, name string) (string, error) {
	var b strings.Builder
	now := FormatClock(r.Now())
	podRes, _ := r.api.Resource("pods")
	obj, err := r.api.Get(podRes, namespace, name)
	var pod *v1.Pod
	if err == nil {
		pod = obj.(*v1.Pod)
	}
	var history []*scheduler.Attempt
	if r.c.Scheduler != nil {
		history = r.c.Scheduler.History(namespace, name)
	}
	var end *podEnd
	if pod == nil {
		if e, ok := r.ends.ended(namespace, name); ok {
			end = e
		}
	}
	if pod == nil && len(history) == 0 && end == nil {
		return "", fmt.Errorf("pod %s/%s does not exist at %s and was never scheduled%s", namespace, name, now, r.similarPods(namespace, name))
	}
	fmt.Fprintf(&b, "pod %s/%s at %s (seed %d)\n", namespace, name, now, r.seed)
	var events []*v1.Event
	switch {
	case pod != nil:
		state := podState(pod)
		b.WriteString("  " + state + "\n")
		if line := r.nodeState(pod); line != "" {
			b.WriteString("  " + line + "\n")
		}
		events = r.podEvents(pod.Namespace, pod.Name, pod.UID)
		describeContainers(&b, pod, events)
		describeConditions(&b, pod, state)
	case end != nil:
		b.WriteString(end.describe())
		events = r.podEvents(namespace, name, end.uid)
	default:
		b.WriteString("  the pod no longer exists; its scheduling history:\n")
	}
	r.describeAttempts(&b, pod, history)
	if pod != nil || end != nil {
		describeEvents(&b, events)
	}
	return b.String(), nil
}

// describeAttempts writes the scheduler's record of the pod's attempts.
func (r *Run) describeAttempts(b *strings.Builder, pod *v1.Pod, history []*scheduler.Attempt) {
	if len(history) == 0 {
		b.WriteString("  the scheduler has no attempt on record for it")
		if pod != nil && pod.Spec.SchedulerName != "" && pod.Spec.SchedulerName != scheduler.DefaultSchedulerName {
			fmt.Fprintf(b, " (it asks for scheduler %q, which kubesim does not run)", pod.Spec.SchedulerName)
		} else if pod != nil && pod.Spec.NodeName != "" {
			b.WriteString(" (spec.nodeName was set when it was created)")
		} else if pod != nil && len(pod.Spec.SchedulingGates) > 0 {
			gates := make([]string, len(pod.Spec.SchedulingGates))
			for i, g := range pod.Spec.SchedulingGates {
				gates[i] = g.Name
			}
			fmt.Fprintf(b, " (its scheduling gates keep it out of the queue: %s)", strings.Join(gates, ", "))
		}
		b.WriteString("\n")
		return
	}
	if len(history) > 1 {
		earlier := history[:len(history)-1]
		b.WriteString("  earlier attempts:\n")
		if len(earlier) > maxEarlierAttempts {
			fmt.Fprintf(b, "    (%d older attempts not shown)\n", len(earlier)-maxEarlierAttempts)
			earlier = earlier[len(earlier)-maxEarlierAttempts:]
		}
		for _, a := range earlier {
			fmt.Fprintf(b, "    %s  attempt %d: %s", FormatClock(a.Time), a.AttemptNumber, a.Outcome)
			if a.Node != "" {
				fmt.Fprintf(b, " on %s", a.Node)
			}
			if a.Message != "" {
				fmt.Fprintf(b, ": %s", a.Message)
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("  latest attempt:\n")
	for _, line := range strings.Split(strings.TrimRight(history[len(history)-1].String(), "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
}

// podState is one line about a pod: phase, node, the conditions that matter.
func podState(p *v1.Pod) string {
	s := fmt.Sprintf("phase %s", p.Status.Phase)
	if p.Spec.NodeName != "" {
		s += ", on node " + p.Spec.NodeName
	} else {
		s += ", not bound to a node"
	}
	if p.Status.NominatedNodeName != "" {
		// before the conditions, whose messages end with a full stop
		s += " (nominated to " + p.Status.NominatedNodeName + ")"
	}
	if p.DeletionTimestamp != nil {
		s += ", Terminating"
		if g := p.DeletionGracePeriodSeconds; g != nil {
			grace := time.Duration(*g) * time.Second
			s += fmt.Sprintf(" since %s (grace period %s)",
				FormatClock(p.DeletionTimestamp.Sub(sim.Epoch)-grace), scenarios.FormatDuration(grace))
		}
	}
	for _, t := range []v1.PodConditionType{v1.PodScheduled, v1.PodReady, v1.DisruptionTarget} {
		if c := podCondition(p, t); c != nil {
			s += fmt.Sprintf(", %s=%s", c.Type, c.Status)
			if c.Reason != "" {
				s += " (" + c.Reason + ")"
			}
			// DisruptionTarget=True says in its message who deletes the pod
			if (c.Status != v1.ConditionTrue || c.Type == v1.DisruptionTarget) && c.Message != "" {
				s += ": " + c.Message
			}
		}
	}
	return s
}

// nodeState explains a bound pod whose node is not Ready or gone. For a
// Terminating pod: only its kubelet can confirm that the containers
// stopped, so the pod object stays (upstream: until the kubelet is back,
// PodGC removes it once the Node is gone or out-of-service, or someone
// force-deletes it). For a pod still running there: the node lifecycle
// controller marked it Ready=False (MarkPodsNotReady), and the taint
// eviction controller's countdown, if one runs, says when it goes.
func (r *Run) nodeState(p *v1.Pod) string {
	if p.Spec.NodeName == "" || (p.DeletionTimestamp == nil && (p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed)) {
		return ""
	}
	nodeRes, _ := r.api.Resource("nodes")
	obj, err := r.api.Get(nodeRes, "", p.Spec.NodeName)
	if err != nil {
		if p.DeletionTimestamp != nil {
			return fmt.Sprintf("node %s no longer exists: the pod garbage collector removes the pod (after a 40 s quarantine)", p.Spec.NodeName)
		}
		return fmt.Sprintf("node %s no longer exists: the pod garbage collector marks the pod Failed and deletes it (after a 40 s quarantine)", p.Spec.NodeName)
	}
	ready := nodeCondition(obj.(*v1.Node), v1.NodeReady)
	if ready == nil || ready.Status == v1.ConditionTrue {
		return ""
	}
	s := fmt.Sprintf("node %s is Ready=%s", p.Spec.NodeName, ready.Status)
	if ready.Reason != "" {
		s += " (" + ready.Reason + ")"
	}
	if p.DeletionTimestamp != nil {
		return s + ": no kubelet confirms that the pod stopped, so it stays Terminating until the node is back, the Node is deleted or the pod is force-deleted"
	}
	s += ": the node lifecycle controller marked the pod not ready"
	if te := r.c.TaintEviction; te != nil {
		if at, why, ok := te.Countdown(p.Namespace + "/" + p.Name); ok {
			s += fmt.Sprintf("; the taint eviction controller deletes it at %s (%s)", FormatClock(at), why)
		}
	}
	return s
}

func nodeCondition(n *v1.Node, t v1.NodeConditionType) *v1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// similarPods suggests pods whose names share the asked name's prefix.
func (r *Run) similarPods(namespace, name string) string {
	podRes, _ := r.api.Resource("pods")
	objs, _, err := r.api.List(podRes, namespace, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	prefix := name
	if i := strings.LastIndex(prefix, "-"); i > 0 {
		prefix = prefix[:i]
	}
	var names []string
	for _, o := range objs {
		p := o.(*v1.Pod)
		if strings.HasPrefix(p.Name, prefix) {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	if len(names) > 8 {
		names = append(names[:8], "…")
	}
	return "; pods then: " + strings.Join(names, ", ")
}
