package scheduler

import (
	v1 "k8s.io/api/core/v1"
)

// API is how the scheduler acts on the cluster. The wiring implements it
// with the typed client; calls may synchronously deliver informer events
// back into the scheduler's On* methods (the scheduler is re-entrant for
// that), or deliver them later.
type API interface {
	// Bind POSTs pods/binding: sets spec.nodeName and PodScheduled=True.
	Bind(pod *v1.Pod, nodeName string) error
	// SetUnschedulable updates the pod's status: it sets (replaces) the
	// condition of type cond.Type and status.nominatedNodeName (the empty
	// string clears it). Called after every failed attempt whose condition
	// or nomination changed.
	SetUnschedulable(pod *v1.Pod, cond v1.PodCondition, nominatedNode string) error
	// SetNominatedNode sets (or, with "", clears) status.nominatedNodeName.
	SetNominatedNode(pod *v1.Pod, nodeName string) error
	// Preempt evicts a victim for preemptor: add the condition returned by
	// DisruptionTargetCondition(victim, preemptor) to the victim's status, then
	// delete it gracefully (its terminationGracePeriodSeconds). An error
	// for which apierrors.IsNotFound holds means the victim is already
	// gone, which the scheduler counts as preempted.
	Preempt(victim *v1.Pod, preemptor *v1.Pod) error
	// Event records an event about obj from component "default-scheduler"
	// (reasons Scheduled, FailedScheduling, Preempted).
	Event(obj *v1.Pod, eventType, reason, message string)
}

// DisruptionTargetCondition is the condition a preemption victim gets before
// its deletion, as upstream's preemption executor writes it: observed at
// the generation of the victim as the scheduler knows it.
func DisruptionTargetCondition(victim, preemptor *v1.Pod) v1.PodCondition {
	name := preemptor.Spec.SchedulerName
	if name == "" {
		name = DefaultSchedulerName
	}
	return v1.PodCondition{
		Type:               v1.DisruptionTarget,
		ObservedGeneration: victim.Generation,
		Status:             v1.ConditionTrue,
		Reason:             v1.PodReasonPreemptionByScheduler,
		Message:            name + ": preempting to accommodate a higher priority pod",
	}
}
