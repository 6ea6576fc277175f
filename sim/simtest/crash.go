package simtest

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// defaultCrashRestartDelay is CrashLoopBackOff's first back-off.
const defaultCrashRestartDelay = 10 * time.Second

// CrashContainer makes the first container of a running pod exit with code
// 1, as a crashing process would under restartPolicy Always: the container
// is Terminated and the pod not Ready at once; CrashRestartDelay later the
// container runs again with restartCount + 1 and the pod is Ready again
// (unless Unready says otherwise). It is the fake kubelet's stand-in for a
// real container crash; the real kubelet model does the same through its
// probes and back-off.
func (k *FakeKubelet) CrashContainer(namespace, name string) error {
	pods := k.c.CoreV1().Pods(namespace)
	p, err := pods.Get(context.TODO(), name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if p.Status.Phase != v1.PodRunning || len(p.Status.ContainerStatuses) == 0 {
		return fmt.Errorf("pod %s/%s is not running", namespace, name)
	}
	now := metav1.NewTime(k.eng.Now())
	cs := &p.Status.ContainerStatuses[0]
	startedAt := metav1.Time{}
	if cs.State.Running != nil {
		startedAt = cs.State.Running.StartedAt
	}
	cs.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", StartedAt: startedAt, FinishedAt: now}}
	cs.Ready = false
	cs.Started = ptr(false)
	setPodReady(&p.Status, v1.ConditionFalse, now)
	if _, err := pods.UpdateStatus(context.TODO(), p, metav1.UpdateOptions{}); err != nil {
		return err
	}
	delay := k.CrashRestartDelay
	if delay == 0 {
		delay = defaultCrashRestartDelay
	}
	uid := p.UID
	k.eng.After(delay, "fake-kubelet restart", func() { k.restart(namespace, name, uid) })
	return nil
}

func (k *FakeKubelet) restart(ns, name string, uid types.UID) {
	pods := k.c.CoreV1().Pods(ns)
	p, err := pods.Get(context.TODO(), name, metav1.GetOptions{})
	if err != nil || p.UID != uid || p.DeletionTimestamp != nil || p.Status.Phase != v1.PodRunning || len(p.Status.ContainerStatuses) == 0 {
		return
	}
	now := metav1.NewTime(k.eng.Now())
	cs := &p.Status.ContainerStatuses[0]
	cs.LastTerminationState = cs.State
	cs.State = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: now}}
	cs.RestartCount++
	cs.Started = ptr(true)
	ready := k.Unready == nil || !k.Unready(p)
	cs.Ready = ready
	if ready {
		setPodReady(&p.Status, v1.ConditionTrue, now)
	}
	_, _ = pods.UpdateStatus(context.TODO(), p, metav1.UpdateOptions{})
}

// FailPod moves a pod to phase Failed (every container terminated), as the
// kubelet does for a pod whose restartPolicy does not restart it or that it
// evicts under node pressure. A Failed pod no longer counts for its
// ReplicaSet, which replaces it.
func (k *FakeKubelet) FailPod(namespace, name, reason string) error {
	pods := k.c.CoreV1().Pods(namespace)
	p, err := pods.Get(context.TODO(), name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.NewTime(k.eng.Now())
	p.Status.Phase = v1.PodFailed
	p.Status.Reason = reason
	for i := range p.Status.ContainerStatuses {
		cs := &p.Status.ContainerStatuses[i]
		cs.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 137, Reason: reason, FinishedAt: now}}
		cs.Ready = false
		cs.Started = ptr(false)
	}
	setPodReady(&p.Status, v1.ConditionFalse, now)
	_, err = pods.UpdateStatus(context.TODO(), p, metav1.UpdateOptions{})
	return err
}

// setPodReady sets the Ready and ContainersReady conditions to status,
// moving their lastTransitionTime only when the status changes.
func setPodReady(st *v1.PodStatus, status v1.ConditionStatus, now metav1.Time) {
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != v1.PodReady && c.Type != v1.ContainersReady {
			continue
		}
		if c.Status != status {
			c.Status = status
			c.LastTransitionTime = now
		}
	}
}
