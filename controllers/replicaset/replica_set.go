package replicaset

import (
	"fmt"
	"sort"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubesim/kubesim/controllers/controllerutil"
	"github.com/kubesim/kubesim/controllers/podutil"
)

// BurstReplicas caps the creations or deletions of one sync (upstream 500).
const BurstReplicas = 500

// controllerKind is the GroupVersionKind of what this controller manages.
var controllerKind = apps.SchemeGroupVersion.WithKind("ReplicaSet")

// PodControl performs the pod writes of a sync. The controller implements it
// over the API client; tests record the calls.
type PodControl interface {
	// CreatePod creates pod (built by controllerutil.GetPodFromTemplate,
	// with GenerateName set) in namespace.
	CreatePod(namespace string, pod *v1.Pod) error
	// DeletePod deletes the named pod (graceful, default grace period).
	DeletePod(namespace, name string) error
}

// Key is the work-queue and expectations key of a ReplicaSet.
func Key(rs *apps.ReplicaSet) string { return rs.Namespace + "/" + rs.Name }

// ManageReplicas is upstream's manageReplicas: it compares the active pods
// with spec.replicas and creates or deletes the difference, at most
// burstReplicas per sync, recording expectations first. Creations go in
// slow-start batches (1, 2, 4, …) and stop after a batch with a failure;
// expectations are lowered for every creation that did not succeed.
// Deletions pick victims with GetPodsToDelete (relatedPods are the pods of
// all ReplicaSets with the same controller, for the colocation rank); a
// failed deletion lowers the deletion expectation, and a NotFound error is
// not an error. It returns the first error.
func ManageReplicas(rs *apps.ReplicaSet, activePods, relatedPods []*v1.Pod, exp *controllerutil.UIDTrackingControllerExpectations, podControl PodControl, now time.Time, burstReplicas int) error {
	diff := len(activePods) - int(*(rs.Spec.Replicas))
	rsKey := Key(rs)
	if diff < 0 {
		diff *= -1
		if diff > burstReplicas {
			diff = burstReplicas
		}
		// Expect the creations before issuing them: the watch events may
		// arrive before the calls return.
		exp.ExpectCreations(rsKey, diff)
		successfulCreations, err := controllerutil.SlowStartBatch(diff, controllerutil.SlowStartInitialBatchSize, func() error {
			pod := controllerutil.GetPodFromTemplate(&rs.Spec.Template, rs, controllerutil.NewControllerRef(rs, controllerKind))
			if len(pod.Labels) == 0 {
				return fmt.Errorf("unable to create pods, no labels")
			}
			return podControl.CreatePod(rs.Namespace, pod)
		})
		// Any creation that did not happen will never be observed.
		if skippedPods := diff - successfulCreations; skippedPods > 0 {
			for i := 0; i < skippedPods; i++ {
				exp.CreationObserved(rsKey)
			}
		}
		return err
	} else if diff > 0 {
		if diff > burstReplicas {
			diff = burstReplicas
		}
		podsToDelete := GetPodsToDelete(activePods, relatedPods, diff, now)
		exp.ExpectDeletions(rsKey, getPodKeys(podsToDelete))
		var firstErr error
		for _, pod := range podsToDelete {
			if err := podControl.DeletePod(rs.Namespace, pod.Name); err != nil {
				// The informer will not observe this deletion.
				exp.DeletionObserved(rsKey, controllerutil.PodKey(pod))
				if !apierrors.IsNotFound(err) && firstErr == nil {
					firstErr = err
				}
			}
		}
		return firstErr
	}
	return nil
}

// GetPodsToDelete returns the diff pods of filteredPods to delete first. If
// all of them go, no sorting happens (upstream behaviour); otherwise they are
// sorted by controllerutil.ActivePodsWithRanks with ranks from relatedPods
// and now as the logarithmic reference time. filteredPods is reordered.
func GetPodsToDelete(filteredPods, relatedPods []*v1.Pod, diff int, now time.Time) []*v1.Pod {
	if diff < len(filteredPods) {
		podsWithRanks := getPodsRankedByRelatedPodsOnSameNode(filteredPods, relatedPods, now)
		sort.Sort(podsWithRanks)
	}
	return filteredPods[:diff]
}

// getPodsRankedByRelatedPodsOnSameNode ranks each pod by the number of active
// related pods on its node (unassigned pods share the node name "").
func getPodsRankedByRelatedPodsOnSameNode(podsToRank, relatedPods []*v1.Pod, now time.Time) controllerutil.ActivePodsWithRanks {
	podsOnNode := make(map[string]int)
	for _, pod := range relatedPods {
		if controllerutil.IsPodActive(pod) {
			podsOnNode[pod.Spec.NodeName]++
		}
	}
	ranks := make([]int, len(podsToRank))
	for i, pod := range podsToRank {
		ranks[i] = podsOnNode[pod.Spec.NodeName]
	}
	return controllerutil.ActivePodsWithRanks{Pods: podsToRank, Rank: ranks, Now: metav1.NewTime(now)}
}

func getPodKeys(pods []*v1.Pod) []string {
	podKeys := make([]string, 0, len(pods))
	for _, pod := range pods {
		podKeys = append(podKeys, controllerutil.PodKey(pod))
	}
	return podKeys
}

// CalculateStatus is upstream's calculateStatus: counts over the active
// pods (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas at
// now) and the ReplicaFailure condition from the last manageReplicas error.
// The caller sets observedGeneration when it writes the status.
func CalculateStatus(rs *apps.ReplicaSet, activePods []*v1.Pod, manageReplicasErr error, now time.Time) apps.ReplicaSetStatus {
	newStatus := *rs.Status.DeepCopy()
	fullyLabeledReplicasCount := 0
	readyReplicasCount := 0
	availableReplicasCount := 0
	templateLabel := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	for _, pod := range activePods {
		if templateLabel.Matches(labels.Set(pod.Labels)) {
			fullyLabeledReplicasCount++
		}
		if podutil.IsPodReady(pod) {
			readyReplicasCount++
			if podutil.IsPodAvailable(pod, rs.Spec.MinReadySeconds, now) {
				availableReplicasCount++
			}
		}
	}

	failureCond := GetCondition(rs.Status, apps.ReplicaSetReplicaFailure)
	if manageReplicasErr != nil && failureCond == nil {
		var reason string
		if diff := len(activePods) - int(*(rs.Spec.Replicas)); diff < 0 {
			reason = controllerutil.FailedCreatePodReason
		} else if diff > 0 {
			reason = controllerutil.FailedDeletePodReason
		}
		cond := NewReplicaSetCondition(apps.ReplicaSetReplicaFailure, v1.ConditionTrue, reason, manageReplicasErr.Error(), now)
		SetCondition(&newStatus, cond)
	} else if manageReplicasErr == nil && failureCond != nil {
		RemoveCondition(&newStatus, apps.ReplicaSetReplicaFailure)
	}

	newStatus.Replicas = int32(len(activePods))
	newStatus.FullyLabeledReplicas = int32(fullyLabeledReplicasCount)
	newStatus.ReadyReplicas = int32(readyReplicasCount)
	newStatus.AvailableReplicas = int32(availableReplicasCount)
	return newStatus
}

// StatusUnchanged reports whether writing newStatus (with observedGeneration
// = rs.Generation) would change nothing, so the write can be skipped.
func StatusUnchanged(rs *apps.ReplicaSet, newStatus apps.ReplicaSetStatus) bool {
	s := rs.Status
	return s.Replicas == newStatus.Replicas &&
		s.FullyLabeledReplicas == newStatus.FullyLabeledReplicas &&
		s.ReadyReplicas == newStatus.ReadyReplicas &&
		s.AvailableReplicas == newStatus.AvailableReplicas &&
		rs.Generation == s.ObservedGeneration &&
		conditionsEqual(s.Conditions, newStatus.Conditions)
}

func conditionsEqual(a, b []apps.ReplicaSetCondition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Status != b[i].Status || a[i].Reason != b[i].Reason ||
			a[i].Message != b[i].Message || !a[i].LastTransitionTime.Equal(&b[i].LastTransitionTime) {
			return false
		}
	}
	return true
}

// availabilityRequeuePad is added to the minReadySeconds requeue of a sync
// (see AvailabilityRequeueAfter).
const availabilityRequeuePad = time.Millisecond

// AvailabilityRequeueAfter returns how long after a status write the
// ReplicaSet must be synced again so pods Ready but not yet available (because
// of minReadySeconds) get counted: minReadySeconds + 1 ms when all replicas
// are ready but not all available, else 0 (no requeue).
//
// Upstream waits exactly minReadySeconds after a sync that ran a moment after
// the kubelet's Ready write, so the pods are available then (Ready for
// strictly more than minReadySeconds). Here the sync runs in the same instant
// as that write, and a check at exactly lastTransitionTime + minReadySeconds
// would not count them yet; the 1 ms stands for that moment. (The pad is not
// the 1 s upstream adds to the requeue on a pod turning Ready: the work queue
// keeps only the earliest pending time per key, as client-go's, so this
// requeue comes first, as upstream's does.)
func AvailabilityRequeueAfter(rs *apps.ReplicaSet, status apps.ReplicaSetStatus, manageReplicasErr error) time.Duration {
	if manageReplicasErr == nil && rs.Spec.MinReadySeconds > 0 &&
		status.ReadyReplicas == *(rs.Spec.Replicas) &&
		status.AvailableReplicas != *(rs.Spec.Replicas) {
		return time.Duration(rs.Spec.MinReadySeconds)*time.Second + availabilityRequeuePad
	}
	return 0
}

// NewReplicaSetCondition creates a condition with both times set to now.
func NewReplicaSetCondition(condType apps.ReplicaSetConditionType, status v1.ConditionStatus, reason, msg string, now time.Time) apps.ReplicaSetCondition {
	return apps.ReplicaSetCondition{Type: condType, Status: status, LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: msg}
}

// GetCondition returns the condition of the given type, or nil.
func GetCondition(status apps.ReplicaSetStatus, condType apps.ReplicaSetConditionType) *apps.ReplicaSetCondition {
	for _, c := range status.Conditions {
		if c.Type == condType {
			return &c
		}
	}
	return nil
}

// SetCondition adds or replaces the condition, keeping it as is when status
// and reason are unchanged.
func SetCondition(status *apps.ReplicaSetStatus, condition apps.ReplicaSetCondition) {
	currentCond := GetCondition(*status, condition.Type)
	if currentCond != nil && currentCond.Status == condition.Status && currentCond.Reason == condition.Reason {
		return
	}
	newConditions := filterOutCondition(status.Conditions, condition.Type)
	status.Conditions = append(newConditions, condition)
}

// RemoveCondition removes the condition of the given type.
func RemoveCondition(status *apps.ReplicaSetStatus, condType apps.ReplicaSetConditionType) {
	status.Conditions = filterOutCondition(status.Conditions, condType)
}

func filterOutCondition(conditions []apps.ReplicaSetCondition, condType apps.ReplicaSetConditionType) []apps.ReplicaSetCondition {
	var newConditions []apps.ReplicaSetCondition
	for _, c := range conditions {
		if c.Type == condType {
			continue
		}
		newConditions = append(newConditions, c)
	}
	return newConditions
}
