package util

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	intstrutil "k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/integer"

	"github.com/kubesim/kubesim/controllers/controllerutil"
)

const (
	// RevisionAnnotation records a ReplicaSet's place in its Deployment's rollout sequence.
	RevisionAnnotation = "deployment.kubernetes.io/revision"
	// RevisionHistoryAnnotation lists the older revisions a reused ReplicaSet has served.
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	// DesiredReplicasAnnotation is the Deployment's spec.replicas when the ReplicaSet was last sized.
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	// MaxReplicasAnnotation is spec.replicas + maxSurge when the ReplicaSet was last sized.
	MaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"

	// RollbackRevisionNotFound is the event reason of a rollback to a missing revision.
	RollbackRevisionNotFound = "DeploymentRollbackRevisionNotFound"
	// RollbackTemplateUnchanged is the event reason of a rollback to the current template.
	RollbackTemplateUnchanged = "DeploymentRollbackTemplateUnchanged"
	// RollbackDone is the event reason of a completed rollback.
	RollbackDone = "DeploymentRollback"

	// ReplicaSetUpdatedReason (Progressing=True): a ReplicaSet was scaled as part of the rollout.
	ReplicaSetUpdatedReason = "ReplicaSetUpdated"
	// FailedRSCreateReason (Progressing=False): the new ReplicaSet could not be created.
	FailedRSCreateReason = "ReplicaSetCreateError"
	// NewReplicaSetReason (Progressing=True): the new ReplicaSet was created.
	NewReplicaSetReason = "NewReplicaSetCreated"
	// FoundNewRSReason (Progressing=True): an existing ReplicaSet was found to be the new one.
	FoundNewRSReason = "FoundNewReplicaSet"
	// NewRSAvailableReason (Progressing=True): the rollout is complete.
	NewRSAvailableReason = "NewReplicaSetAvailable"
	// TimedOutReason (Progressing=False): no progress within progressDeadlineSeconds.
	TimedOutReason = "ProgressDeadlineExceeded"
	// PausedDeployReason (Progressing=Unknown): the Deployment is paused.
	PausedDeployReason = "DeploymentPaused"
	// ResumedDeployReason (Progressing=Unknown): the Deployment was resumed.
	ResumedDeployReason = "DeploymentResumed"

	// MinimumReplicasAvailable (Available=True): at least replicas − maxUnavailable are available.
	MinimumReplicasAvailable = "MinimumReplicasAvailable"
	// MinimumReplicasUnavailable (Available=False): fewer than replicas − maxUnavailable are available.
	MinimumReplicasUnavailable = "MinimumReplicasUnavailable"
)

// NewDeploymentCondition creates a condition with both times set to now.
func NewDeploymentCondition(condType apps.DeploymentConditionType, status v1.ConditionStatus, reason, message string, now time.Time) *apps.DeploymentCondition {
	return &apps.DeploymentCondition{
		Type:               condType,
		Status:             status,
		LastUpdateTime:     metav1.NewTime(now),
		LastTransitionTime: metav1.NewTime(now),
		Reason:             reason,
		Message:            message,
	}
}

// GetDeploymentCondition returns a copy of the condition of the given type, or nil.
func GetDeploymentCondition(status apps.DeploymentStatus, condType apps.DeploymentConditionType) *apps.DeploymentCondition {
	for i := range status.Conditions {
		c := status.Conditions[i]
		if c.Type == condType {
			return &c
		}
	}
	return nil
}

// SetDeploymentCondition adds or replaces a condition. Same status and reason
// ⇒ no change at all (lastUpdateTime included); same status, new reason ⇒
// lastTransitionTime is kept. The condition moves to the end of the list.
func SetDeploymentCondition(status *apps.DeploymentStatus, condition apps.DeploymentCondition) {
	currentCond := GetDeploymentCondition(*status, condition.Type)
	if currentCond != nil && currentCond.Status == condition.Status && currentCond.Reason == condition.Reason {
		return
	}
	if currentCond != nil && currentCond.Status == condition.Status {
		condition.LastTransitionTime = currentCond.LastTransitionTime
	}
	newConditions := filterOutCondition(status.Conditions, condition.Type)
	status.Conditions = append(newConditions, condition)
}

// RemoveDeploymentCondition removes the condition of the given type.
func RemoveDeploymentCondition(status *apps.DeploymentStatus, condType apps.DeploymentConditionType) {
	status.Conditions = filterOutCondition(status.Conditions, condType)
}

func filterOutCondition(conditions []apps.DeploymentCondition, condType apps.DeploymentConditionType) []apps.DeploymentCondition {
	var newConditions []apps.DeploymentCondition
	for _, c := range conditions {
		if c.Type == condType {
			continue
		}
		newConditions = append(newConditions, c)
	}
	return newConditions
}

// ReplicaSetToDeploymentCondition converts a ReplicaSet condition (e.g.
// ReplicaFailure) into a Deployment condition.
func ReplicaSetToDeploymentCondition(cond apps.ReplicaSetCondition) apps.DeploymentCondition {
	return apps.DeploymentCondition{
		Type:               apps.DeploymentConditionType(cond.Type),
		Status:             cond.Status,
		LastTransitionTime: cond.LastTransitionTime,
		LastUpdateTime:     cond.LastTransitionTime,
		Reason:             cond.Reason,
		Message:            cond.Message,
	}
}

// SetDeploymentRevision sets the Deployment's revision annotation; it
// reports whether it changed.
func SetDeploymentRevision(deployment *apps.Deployment, revision string) bool {
	updated := false
	if deployment.Annotations == nil {
		deployment.Annotations = make(map[string]string)
	}
	if deployment.Annotations[RevisionAnnotation] != revision {
		deployment.Annotations[RevisionAnnotation] = revision
		updated = true
	}
	return updated
}

// MaxRevision is the highest parseable revision among the replica sets (0 if none).
func MaxRevision(allRSs []*apps.ReplicaSet) int64 {
	maxRev := int64(0)
	for _, rs := range allRSs {
		if v, err := Revision(rs); err == nil && v > maxRev {
			maxRev = v
		}
	}
	return maxRev
}

// LastRevision is the second highest revision (the one `rollout undo` goes back to).
func LastRevision(allRSs []*apps.ReplicaSet) int64 {
	maxRev, secMax := int64(0), int64(0)
	for _, rs := range allRSs {
		if v, err := Revision(rs); err != nil {
			continue
		} else if v >= maxRev {
			secMax = maxRev
			maxRev = v
		} else if v > secMax {
			secMax = v
		}
	}
	return secMax
}

// Revision parses the revision annotation of obj (missing ⇒ 0).
func Revision(obj metav1.Object) (int64, error) {
	v, ok := obj.GetAnnotations()[RevisionAnnotation]
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

// MaxRevHistoryLengthInChars bounds the revision-history annotation (upstream 2000).
const MaxRevHistoryLengthInChars = 2000

// SetNewReplicaSetAnnotations copies the Deployment's annotations (except
// the skipped ones) onto newRS, raises its revision to newRevision if lower
// — appending the old number to revision-history when the ReplicaSet is
// reused, within revHistoryLimitInChars — and, for a ReplicaSet about to be
// created (!exists), sets desired-replicas and max-replicas. It reports
// whether any annotation changed.
func SetNewReplicaSetAnnotations(deployment *apps.Deployment, newRS *apps.ReplicaSet, newRevision string, exists bool, revHistoryLimitInChars int) bool {
	annotationChanged := copyDeploymentAnnotationsToReplicaSet(deployment, newRS)
	if newRS.Annotations == nil {
		newRS.Annotations = make(map[string]string)
	}
	oldRevision, ok := newRS.Annotations[RevisionAnnotation]
	// The new RS's revision must be the greatest; only raise it.
	oldRevisionInt, err := strconv.ParseInt(oldRevision, 10, 64)
	if err != nil {
		if oldRevision != "" {
			return false
		}
		oldRevisionInt = 0
	}
	newRevisionInt, err := strconv.ParseInt(newRevision, 10, 64)
	if err != nil {
		return false
	}
	if oldRevisionInt < newRevisionInt {
		newRS.Annotations[RevisionAnnotation] = newRevision
		annotationChanged = true
	}
	// A reused ReplicaSet (rollback) keeps its former revisions.
	if ok && oldRevisionInt < newRevisionInt {
		revisionHistoryAnnotation := newRS.Annotations[RevisionHistoryAnnotation]
		oldRevisions := strings.Split(revisionHistoryAnnotation, ",")
		if len(oldRevisions[0]) == 0 {
			newRS.Annotations[RevisionHistoryAnnotation] = oldRevision
		} else {
			totalLen := len(revisionHistoryAnnotation) + len(oldRevision) + 1
			start := 0
			for totalLen > revHistoryLimitInChars && start < len(oldRevisions) {
				totalLen = totalLen - len(oldRevisions[start]) - 1
				start++
			}
			if totalLen <= revHistoryLimitInChars {
				oldRevisions = append(oldRevisions[start:], oldRevision)
				newRS.Annotations[RevisionHistoryAnnotation] = strings.Join(oldRevisions, ",")
			}
		}
	}
	if !exists && SetReplicasAnnotations(newRS, *(deployment.Spec.Replicas), *(deployment.Spec.Replicas)+MaxSurge(*deployment)) {
		annotationChanged = true
	}
	return annotationChanged
}

var annotationsToSkip = map[string]bool{
	v1.LastAppliedConfigAnnotation: true,
	RevisionAnnotation:             true,
	RevisionHistoryAnnotation:      true,
	DesiredReplicasAnnotation:      true,
	MaxReplicasAnnotation:          true,
	apps.DeprecatedRollbackTo:      true,
}

func skipCopyAnnotation(key string) bool { return annotationsToSkip[key] }

// copyDeploymentAnnotationsToReplicaSet copies the non-skipped annotations.
func copyDeploymentAnnotationsToReplicaSet(deployment *apps.Deployment, rs *apps.ReplicaSet) bool {
	rsAnnotationsChanged := false
	if rs.Annotations == nil {
		rs.Annotations = make(map[string]string)
	}
	for k, v := range deployment.Annotations {
		if skipCopyAnnotation(k) || rs.Annotations[k] == v {
			continue
		}
		rs.Annotations[k] = v
		rsAnnotationsChanged = true
	}
	return rsAnnotationsChanged
}

// SetDeploymentAnnotationsTo replaces the Deployment's copyable annotations
// by those of rollbackToRS (used when rolling back).
func SetDeploymentAnnotationsTo(deployment *apps.Deployment, rollbackToRS *apps.ReplicaSet) {
	deployment.Annotations = getSkippedAnnotations(deployment.Annotations)
	for k, v := range rollbackToRS.Annotations {
		if !skipCopyAnnotation(k) {
			deployment.Annotations[k] = v
		}
	}
}

func getSkippedAnnotations(annotations map[string]string) map[string]string {
	skippedAnnotations := make(map[string]string)
	for k, v := range annotations {
		if skipCopyAnnotation(k) {
			skippedAnnotations[k] = v
		}
	}
	return skippedAnnotations
}

// FindActiveOrLatest returns the only active replica set, or the newest one
// if none is active; nil if several are active (proportional scaling needed).
func FindActiveOrLatest(newRS *apps.ReplicaSet, oldRSs []*apps.ReplicaSet) *apps.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	sort.Sort(sort.Reverse(controllerutil.ReplicaSetsByCreationTimestamp(oldRSs)))
	allRSs := controllerutil.FilterActiveReplicaSets(append(oldRSs, newRS))
	switch len(allRSs) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return oldRSs[0]
	case 1:
		return allRSs[0]
	default:
		return nil
	}
}

// GetDesiredReplicasAnnotation returns the desired-replicas annotation.
func GetDesiredReplicasAnnotation(rs *apps.ReplicaSet) (int32, bool) {
	return getIntFromAnnotation(rs, DesiredReplicasAnnotation)
}

func getMaxReplicasAnnotation(rs *apps.ReplicaSet) (int32, bool) {
	return getIntFromAnnotation(rs, MaxReplicasAnnotation)
}

func getIntFromAnnotation(rs *apps.ReplicaSet, annotationKey string) (int32, bool) {
	annotationValue, ok := rs.Annotations[annotationKey]
	if !ok {
		return int32(0), false
	}
	intValue, err := strconv.Atoi(annotationValue)
	if err != nil {
		return int32(0), false
	}
	return int32(intValue), true
}

// SetReplicasAnnotations sets desired-replicas and max-replicas; it reports
// whether either changed.
func SetReplicasAnnotations(rs *apps.ReplicaSet, desiredReplicas, maxReplicas int32) bool {
	updated := false
	if rs.Annotations == nil {
		rs.Annotations = make(map[string]string)
	}
	desiredString := fmt.Sprintf("%d", desiredReplicas)
	if hasString := rs.Annotations[DesiredReplicasAnnotation]; hasString != desiredString {
		rs.Annotations[DesiredReplicasAnnotation] = desiredString
		updated = true
	}
	maxString := fmt.Sprintf("%d", maxReplicas)
	if hasString := rs.Annotations[MaxReplicasAnnotation]; hasString != maxString {
		rs.Annotations[MaxReplicasAnnotation] = maxString
		updated = true
	}
	return updated
}

// ReplicasAnnotationsNeedUpdate reports whether SetReplicasAnnotations would change anything.
func ReplicasAnnotationsNeedUpdate(rs *apps.ReplicaSet, desiredReplicas, maxReplicas int32) bool {
	if rs.Annotations == nil {
		return true
	}
	if rs.Annotations[DesiredReplicasAnnotation] != fmt.Sprintf("%d", desiredReplicas) {
		return true
	}
	return rs.Annotations[MaxReplicasAnnotation] != fmt.Sprintf("%d", maxReplicas)
}

// MaxUnavailable is the resolved maxUnavailable of a RollingUpdate
// Deployment, at most spec.replicas; 0 for Recreate or 0 replicas.
func MaxUnavailable(deployment apps.Deployment) int32 {
	if !IsRollingUpdate(&deployment) || *(deployment.Spec.Replicas) == 0 {
		return int32(0)
	}
	_, maxUnavailable, _ := ResolveFenceposts(deployment.Spec.Strategy.RollingUpdate.MaxSurge, deployment.Spec.Strategy.RollingUpdate.MaxUnavailable, *(deployment.Spec.Replicas))
	if maxUnavailable > *deployment.Spec.Replicas {
		return *deployment.Spec.Replicas
	}
	return maxUnavailable
}

// MinAvailable is spec.replicas − MaxUnavailable (0 for Recreate).
func MinAvailable(deployment *apps.Deployment) int32 {
	if !IsRollingUpdate(deployment) {
		return int32(0)
	}
	return *(deployment.Spec.Replicas) - MaxUnavailable(*deployment)
}

// MaxSurge is the resolved maxSurge of a RollingUpdate Deployment (0 for Recreate).
func MaxSurge(deployment apps.Deployment) int32 {
	if !IsRollingUpdate(&deployment) {
		return int32(0)
	}
	maxSurge, _, _ := ResolveFenceposts(deployment.Spec.Strategy.RollingUpdate.MaxSurge, deployment.Spec.Strategy.RollingUpdate.MaxUnavailable, *(deployment.Spec.Replicas))
	return maxSurge
}

// GetProportion is how many replicas rs gets (or loses) out of
// deploymentReplicasToAdd, given deploymentReplicasAdded already handed out:
// its fraction (getReplicaSetFraction), never beyond what is left.
func GetProportion(rs *apps.ReplicaSet, d apps.Deployment, deploymentReplicasToAdd, deploymentReplicasAdded int32) int32 {
	if rs == nil || *(rs.Spec.Replicas) == 0 || deploymentReplicasToAdd == 0 || deploymentReplicasToAdd == deploymentReplicasAdded {
		return int32(0)
	}
	rsFraction := getReplicaSetFraction(*rs, d)
	allowed := deploymentReplicasToAdd - deploymentReplicasAdded
	if deploymentReplicasToAdd > 0 {
		return min(rsFraction, allowed)
	}
	return max(rsFraction, allowed)
}

// getReplicaSetFraction is round(rs.replicas × (replicas+maxSurge) /
// max-replicas annotation) − rs.replicas (the annotation falls back to
// d.status.replicas); scaling to 0 removes the whole ReplicaSet.
func getReplicaSetFraction(rs apps.ReplicaSet, d apps.Deployment) int32 {
	if *(d.Spec.Replicas) == int32(0) {
		return -*(rs.Spec.Replicas)
	}
	deploymentReplicas := *(d.Spec.Replicas) + MaxSurge(d)
	annotatedReplicas, ok := getMaxReplicasAnnotation(&rs)
	if !ok {
		// No annotation: fall back to the current size; GetProportion's
		// min/max still keeps the result within bounds.
		annotatedReplicas = d.Status.Replicas
	}
	// Upstream never scales proportionally from zero, so neither
	// rs.spec.replicas nor annotatedReplicas is zero here.
	newRSsize := (float64(*(rs.Spec.Replicas) * deploymentReplicas)) / float64(annotatedReplicas)
	return integer.RoundToInt32(newRSsize) - *(rs.Spec.Replicas)
}

// FilterOwnedReplicaSets keeps the replica sets whose controller is deployment
// (what upstream's ListReplicaSets returns after the label query).
func FilterOwnedReplicaSets(deployment *apps.Deployment, all []*apps.ReplicaSet) []*apps.ReplicaSet {
	owned := make([]*apps.ReplicaSet, 0, len(all))
	for _, rs := range all {
		if metav1.IsControlledBy(rs, deployment) {
			owned = append(owned, rs)
		}
	}
	return owned
}

// EqualIgnoreHash reports whether two templates are semantically equal
// once the pod-template-hash label is ignored.
func EqualIgnoreHash(template1, template2 *v1.PodTemplateSpec) bool {
	t1Copy := template1.DeepCopy()
	t2Copy := template2.DeepCopy()
	delete(t1Copy.Labels, apps.DefaultDeploymentUniqueLabelKey)
	delete(t2Copy.Labels, apps.DefaultDeploymentUniqueLabelKey)
	return apiequality.Semantic.DeepEqual(t1Copy, t2Copy)
}

// FindNewReplicaSet returns the oldest replica set whose template equals the
// Deployment's (ignoring the hash label), or nil. It sorts rsList.
func FindNewReplicaSet(deployment *apps.Deployment, rsList []*apps.ReplicaSet) *apps.ReplicaSet {
	sort.Sort(controllerutil.ReplicaSetsByCreationTimestamp(rsList))
	for i := range rsList {
		if EqualIgnoreHash(&rsList[i].Spec.Template, &deployment.Spec.Template) {
			return rsList[i]
		}
	}
	return nil
}

// FindOldReplicaSets returns the old replica sets with replicas > 0 and all
// old replica sets (everything but the new one).
func FindOldReplicaSets(deployment *apps.Deployment, rsList []*apps.ReplicaSet) ([]*apps.ReplicaSet, []*apps.ReplicaSet) {
	var requiredRSs []*apps.ReplicaSet
	var allRSs []*apps.ReplicaSet
	newRS := FindNewReplicaSet(deployment, rsList)
	for _, rs := range rsList {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		allRSs = append(allRSs, rs)
		if *(rs.Spec.Replicas) != 0 {
			requiredRSs = append(requiredRSs, rs)
		}
	}
	return requiredRSs, allRSs
}

// SetFromReplicaSetTemplate copies a ReplicaSet's template into the
// Deployment without the hash label (what `rollout undo` does client-side).
func SetFromReplicaSetTemplate(deployment *apps.Deployment, template v1.PodTemplateSpec) *apps.Deployment {
	deployment.Spec.Template.ObjectMeta = template.ObjectMeta
	deployment.Spec.Template.Spec = template.Spec
	deployment.Spec.Template.ObjectMeta.Labels = CloneAndRemoveLabel(deployment.Spec.Template.ObjectMeta.Labels, apps.DefaultDeploymentUniqueLabelKey)
	return deployment
}

// GetReplicaCountForReplicaSets sums spec.replicas.
func GetReplicaCountForReplicaSets(replicaSets []*apps.ReplicaSet) int32 {
	total := int32(0)
	for _, rs := range replicaSets {
		if rs != nil {
			total += *(rs.Spec.Replicas)
		}
	}
	return total
}

// GetActualReplicaCountForReplicaSets sums status.replicas.
func GetActualReplicaCountForReplicaSets(replicaSets []*apps.ReplicaSet) int32 {
	total := int32(0)
	for _, rs := range replicaSets {
		if rs != nil {
			total += rs.Status.Replicas
		}
	}
	return total
}

// GetReadyReplicaCountForReplicaSets sums status.readyReplicas.
func GetReadyReplicaCountForReplicaSets(replicaSets []*apps.ReplicaSet) int32 {
	total := int32(0)
	for _, rs := range replicaSets {
		if rs != nil {
			total += rs.Status.ReadyReplicas
		}
	}
	return total
}

// GetAvailableReplicaCountForReplicaSets sums status.availableReplicas.
func GetAvailableReplicaCountForReplicaSets(replicaSets []*apps.ReplicaSet) int32 {
	total := int32(0)
	for _, rs := range replicaSets {
		if rs != nil {
			total += rs.Status.AvailableReplicas
		}
	}
	return total
}

// IsRollingUpdate reports whether the strategy is RollingUpdate.
func IsRollingUpdate(deployment *apps.Deployment) bool {
	return deployment.Spec.Strategy.Type == apps.RollingUpdateDeploymentStrategyType
}

// DeploymentComplete: all replicas updated and available, no old pods, and
// the current generation observed.
func DeploymentComplete(deployment *apps.Deployment, newStatus *apps.DeploymentStatus) bool {
	return newStatus.UpdatedReplicas == *(deployment.Spec.Replicas) &&
		newStatus.Replicas == *(deployment.Spec.Replicas) &&
		newStatus.AvailableReplicas == *(deployment.Spec.Replicas) &&
		newStatus.ObservedGeneration >= deployment.Generation
}

// DeploymentProgressing compares the stored status with the new one: more
// updated, fewer old, more ready or more available replicas is progress.
func DeploymentProgressing(deployment *apps.Deployment, newStatus *apps.DeploymentStatus) bool {
	oldStatus := deployment.Status
	oldStatusOldReplicas := oldStatus.Replicas - oldStatus.UpdatedReplicas
	newStatusOldReplicas := newStatus.Replicas - newStatus.UpdatedReplicas
	return (newStatus.UpdatedReplicas > oldStatus.UpdatedReplicas) ||
		(newStatusOldReplicas < oldStatusOldReplicas) ||
		newStatus.ReadyReplicas > deployment.Status.ReadyReplicas ||
		newStatus.AvailableReplicas > deployment.Status.AvailableReplicas
}

// DeploymentTimedOut reports whether the Progressing condition in newStatus
// shows no progress for progressDeadlineSeconds at now (strictly:
// lastUpdateTime + deadline < now), or already says ProgressDeadlineExceeded.
func DeploymentTimedOut(deployment *apps.Deployment, newStatus *apps.DeploymentStatus, now time.Time) bool {
	if !HasProgressDeadline(deployment) {
		return false
	}
	condition := GetDeploymentCondition(*newStatus, apps.DeploymentProgressing)
	if condition == nil {
		return false
	}
	// A completed rollout is never timed out (the status may lag a new RS).
	if condition.Reason == NewRSAvailableReason {
		return false
	}
	if condition.Reason == TimedOutReason {
		return true
	}
	from := condition.LastUpdateTime
	delta := time.Duration(*deployment.Spec.ProgressDeadlineSeconds) * time.Second
	return from.Add(delta).Before(now)
}

// NewRSNewReplicas is the size the new ReplicaSet should have now: for
// RollingUpdate, its size plus min(room under replicas+maxSurge, replicas −
// its size); for Recreate, spec.replicas.
func NewRSNewReplicas(deployment *apps.Deployment, allRSs []*apps.ReplicaSet, newRS *apps.ReplicaSet) (int32, error) {
	switch deployment.Spec.Strategy.Type {
	case apps.RollingUpdateDeploymentStrategyType:
		maxSurge, err := intstrutil.GetScaledValueFromIntOrPercent(deployment.Spec.Strategy.RollingUpdate.MaxSurge, int(*(deployment.Spec.Replicas)), true)
		if err != nil {
			return 0, err
		}
		currentPodCount := GetReplicaCountForReplicaSets(allRSs)
		maxTotalPods := *(deployment.Spec.Replicas) + int32(maxSurge)
		if currentPodCount >= maxTotalPods {
			return *(newRS.Spec.Replicas), nil
		}
		scaleUpCount := maxTotalPods - currentPodCount
		scaleUpCount = min(scaleUpCount, *(deployment.Spec.Replicas)-*(newRS.Spec.Replicas))
		return *(newRS.Spec.Replicas) + scaleUpCount, nil
	case apps.RecreateDeploymentStrategyType:
		return *(deployment.Spec.Replicas), nil
	default:
		return 0, fmt.Errorf("deployment type %v isn't supported", deployment.Spec.Strategy.Type)
	}
}

// IsSaturated: rs has exactly spec.replicas, its desired-replicas annotation
// agrees, and all of them are available.
func IsSaturated(deployment *apps.Deployment, rs *apps.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, err := strconv.Atoi(rs.Annotations[DesiredReplicasAnnotation])
	if err != nil {
		return false
	}
	return *(rs.Spec.Replicas) == *(deployment.Spec.Replicas) &&
		int32(desired) == *(deployment.Spec.Replicas) &&
		rs.Status.AvailableReplicas == *(deployment.Spec.Replicas)
}

// ResolveFenceposts resolves maxSurge (percent rounded up) and
// maxUnavailable (percent rounded down) against desired; if both come out 0,
// maxUnavailable becomes 1.
func ResolveFenceposts(maxSurge, maxUnavailable *intstrutil.IntOrString, desired int32) (int32, int32, error) {
	surge, err := intstrutil.GetScaledValueFromIntOrPercent(intstrutil.ValueOrDefault(maxSurge, intstrutil.FromInt32(0)), int(desired), true)
	if err != nil {
		return 0, 0, err
	}
	unavailable, err := intstrutil.GetScaledValueFromIntOrPercent(intstrutil.ValueOrDefault(maxUnavailable, intstrutil.FromInt32(0)), int(desired), false)
	if err != nil {
		return 0, 0, err
	}
	if surge == 0 && unavailable == 0 {
		// Validation forbids both being 0 explicitly, but rounding down can
		// produce it; assume surge might be blocked by quota.
		unavailable = 1
	}
	return int32(surge), int32(unavailable), nil
}

// HasProgressDeadline reports whether progressDeadlineSeconds is set and not MaxInt32.
func HasProgressDeadline(d *apps.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != math.MaxInt32
}

// HasRevisionHistoryLimit reports whether revisionHistoryLimit is set and not MaxInt32.
func HasRevisionHistoryLimit(d *apps.Deployment) bool {
	return d.Spec.RevisionHistoryLimit != nil && *d.Spec.RevisionHistoryLimit != math.MaxInt32
}

// ReplicaSetsByRevision sorts by revision ascending (creation time when
// equal or unparseable).
type ReplicaSetsByRevision []*apps.ReplicaSet

func (o ReplicaSetsByRevision) Len() int      { return len(o) }
func (o ReplicaSetsByRevision) Swap(i, j int) { o[i], o[j] = o[j], o[i] }
func (o ReplicaSetsByRevision) Less(i, j int) bool {
	revision1, err1 := Revision(o[i])
	revision2, err2 := Revision(o[j])
	if err1 != nil || err2 != nil || revision1 == revision2 {
		return controllerutil.ReplicaSetsByCreationTimestamp(o).Less(i, j)
	}
	return revision1 < revision2
}

// CloneAndAddLabel returns a copy of labels with key=value added.
func CloneAndAddLabel(labels map[string]string, labelKey, labelValue string) map[string]string {
	if labelKey == "" {
		return labels
	}
	newLabels := map[string]string{}
	for key, value := range labels {
		newLabels[key] = value
	}
	newLabels[labelKey] = labelValue
	return newLabels
}

// CloneAndRemoveLabel returns a copy of labels without key.
func CloneAndRemoveLabel(labels map[string]string, labelKey string) map[string]string {
	if labelKey == "" {
		return labels
	}
	newLabels := map[string]string{}
	for key, value := range labels {
		newLabels[key] = value
	}
	delete(newLabels, labelKey)
	return newLabels
}

// CloneSelectorAndAddLabel returns a copy of selector with key=value added
// to matchLabels.
func CloneSelectorAndAddLabel(selector *metav1.LabelSelector, labelKey, labelValue string) *metav1.LabelSelector {
	if labelKey == "" {
		return selector
	}
	newSelector := selector.DeepCopy()
	if newSelector.MatchLabels == nil {
		newSelector.MatchLabels = map[string]string{}
	}
	newSelector.MatchLabels[labelKey] = labelValue
	return newSelector
}
