package deployment

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/controllers/controllerutil"
	deploymentutil "github.com/kubesim/kubesim/controllers/deployment/util"
)

// SyncDeployment is upstream's syncDeployment after the cache reads:
// deployment is the cached object (never mutated; the sync works on a deep
// copy), rsList the ReplicaSets it controls and podMap their pods by
// ReplicaSet UID (only Recreate looks at it).
func (s *Syncer) SyncDeployment(deployment *apps.Deployment, rsList []*apps.ReplicaSet, podMap map[types.UID][]*v1.Pod) error {
	d := deployment.DeepCopy()
	rsList = append([]*apps.ReplicaSet(nil), rsList...) // sorting must not reorder the caller's slice

	everything := metav1.LabelSelector{}
	if reflect.DeepEqual(d.Spec.Selector, &everything) {
		s.eventf(d, v1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			_, _ = s.Client.UpdateDeploymentStatus(d)
		}
		return nil
	}

	if d.DeletionTimestamp != nil {
		return s.syncStatusOnly(d, rsList)
	}

	// Pausing and resuming set an Unknown Progressing condition so that a
	// resumed Deployment is not judged against time spent paused.
	if err := s.checkPausedConditions(d); err != nil {
		return err
	}

	if d.Spec.Paused {
		return s.sync(d, rsList)
	}

	scalingEvent, err := s.isScalingEvent(d, rsList)
	if err != nil {
		return err
	}
	if scalingEvent {
		return s.sync(d, rsList)
	}

	switch d.Spec.Strategy.Type {
	case apps.RecreateDeploymentStrategyType:
		return s.rolloutRecreate(d, rsList, podMap)
	case apps.RollingUpdateDeploymentStrategyType:
		return s.rolloutRolling(d, rsList)
	}
	return fmt.Errorf("unexpected deployment strategy type: %s", d.Spec.Strategy.Type)
}

// syncStatusOnly only updates the status (the Deployment is being deleted).
func (s *Syncer) syncStatusOnly(d *apps.Deployment, rsList []*apps.ReplicaSet) error {
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(d, rsList, false)
	if err != nil {
		return err
	}
	allRSs := append(oldRSs, newRS)
	return s.syncDeploymentStatus(allRSs, newRS, d)
}

// sync reconciles a scaling event or a paused Deployment: proportional
// scaling, history cleanup when paused, status.
func (s *Syncer) sync(d *apps.Deployment, rsList []*apps.ReplicaSet) error {
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(d, rsList, false)
	if err != nil {
		return err
	}
	if err := s.scale(d, newRS, oldRSs); err != nil {
		return err
	}
	if d.Spec.Paused {
		if err := s.cleanupDeployment(oldRSs, d); err != nil {
			return err
		}
	}
	allRSs := append(oldRSs, newRS)
	return s.syncDeploymentStatus(allRSs, newRS, d)
}

// checkPausedConditions sets Progressing=Unknown DeploymentPaused /
// DeploymentResumed when the paused flag and the condition disagree.
func (s *Syncer) checkPausedConditions(d *apps.Deployment) error {
	if !deploymentutil.HasProgressDeadline(d) {
		return nil
	}
	cond := deploymentutil.GetDeploymentCondition(d.Status, apps.DeploymentProgressing)
	if cond != nil && cond.Reason == deploymentutil.TimedOutReason {
		// A reported lack of progress is not overwritten by a paused condition.
		return nil
	}
	pausedCondExists := cond != nil && cond.Reason == deploymentutil.PausedDeployReason

	needsUpdate := false
	if d.Spec.Paused && !pausedCondExists {
		condition := deploymentutil.NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionUnknown, deploymentutil.PausedDeployReason, "Deployment is paused", s.Now)
		deploymentutil.SetDeploymentCondition(&d.Status, *condition)
		needsUpdate = true
	} else if !d.Spec.Paused && pausedCondExists {
		condition := deploymentutil.NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionUnknown, deploymentutil.ResumedDeployReason, "Deployment is resumed", s.Now)
		deploymentutil.SetDeploymentCondition(&d.Status, *condition)
		needsUpdate = true
	}
	if !needsUpdate {
		return nil
	}
	_, err := s.Client.UpdateDeploymentStatus(d)
	return err
}

// getAllReplicaSetsAndSyncRevision returns the new ReplicaSet (created if
// createIfNotExisted) and all old ones, with revisions synced.
func (s *Syncer) getAllReplicaSetsAndSyncRevision(d *apps.Deployment, rsList []*apps.ReplicaSet, createIfNotExisted bool) (*apps.ReplicaSet, []*apps.ReplicaSet, error) {
	_, allOldRSs := deploymentutil.FindOldReplicaSets(d, rsList)
	newRS, err := s.getNewReplicaSet(d, rsList, allOldRSs, createIfNotExisted)
	if err != nil {
		return nil, nil, err
	}
	return newRS, allOldRSs, nil
}

// getNewReplicaSet returns the ReplicaSet matching d's template, updating
// its annotations and minReadySeconds if needed (revision = max old + 1),
// or creates it (name d-<hash>, sized by NewRSNewReplicas). A create that
// collides with a foreign ReplicaSet of the same name bumps
// status.collisionCount and returns the error so the sync is retried.
func (s *Syncer) getNewReplicaSet(d *apps.Deployment, rsList, oldRSs []*apps.ReplicaSet, createIfNotExisted bool) (*apps.ReplicaSet, error) {
	existingNewRS := deploymentutil.FindNewReplicaSet(d, rsList)

	maxOldRevision := deploymentutil.MaxRevision(oldRSs)
	newRevision := strconv.FormatInt(maxOldRevision+1, 10)

	if existingNewRS != nil {
		rsCopy := existingNewRS.DeepCopy()

		annotationsUpdated := deploymentutil.SetNewReplicaSetAnnotations(d, rsCopy, newRevision, true, deploymentutil.MaxRevHistoryLengthInChars)
		minReadySecondsNeedsUpdate := rsCopy.Spec.MinReadySeconds != d.Spec.MinReadySeconds
		if annotationsUpdated || minReadySecondsNeedsUpdate {
			rsCopy.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			return s.Client.UpdateReplicaSet(rsCopy)
		}

		// The revision recorded on the ReplicaSet is the authority.
		needsUpdate := deploymentutil.SetDeploymentRevision(d, rsCopy.Annotations[deploymentutil.RevisionAnnotation])
		cond := deploymentutil.GetDeploymentCondition(d.Status, apps.DeploymentProgressing)
		if deploymentutil.HasProgressDeadline(d) && cond == nil {
			msg := fmt.Sprintf("Found new replica set %q", rsCopy.Name)
			condition := deploymentutil.NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionTrue, deploymentutil.FoundNewRSReason, msg, s.Now)
			deploymentutil.SetDeploymentCondition(&d.Status, *condition)
			needsUpdate = true
		}
		if needsUpdate {
			if _, err := s.Client.UpdateDeploymentStatus(d); err != nil {
				return nil, err
			}
		}
		return rsCopy, nil
	}

	if !createIfNotExisted {
		return nil, nil
	}

	// The new ReplicaSet does not exist: create it.
	newRSTemplate := *d.Spec.Template.DeepCopy()
	podTemplateSpecHash := controllerutil.ComputeHash(&newRSTemplate, d.Status.CollisionCount)
	newRSTemplate.Labels = deploymentutil.CloneAndAddLabel(d.Spec.Template.Labels, apps.DefaultDeploymentUniqueLabelKey, podTemplateSpecHash)
	newRSSelector := deploymentutil.CloneSelectorAndAddLabel(d.Spec.Selector, apps.DefaultDeploymentUniqueLabelKey, podTemplateSpecHash)

	newRS := apps.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			// A deterministic name makes creation idempotent.
			Name:            d.Name + "-" + podTemplateSpecHash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, controllerKind)},
			Labels:          newRSTemplate.Labels,
		},
		Spec: apps.ReplicaSetSpec{
			Replicas:        new(int32),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        newRSSelector,
			Template:        newRSTemplate,
		},
	}
	allRSs := append(oldRSs, &newRS)
	newReplicasCount, err := deploymentutil.NewRSNewReplicas(d, allRSs, &newRS)
	if err != nil {
		return nil, err
	}
	*(newRS.Spec.Replicas) = newReplicasCount
	deploymentutil.SetNewReplicaSetAnnotations(d, &newRS, newRevision, false, deploymentutil.MaxRevHistoryLengthInChars)

	alreadyExists := false
	createdRS, err := s.Client.CreateReplicaSet(&newRS)
	switch {
	case apierrors.IsAlreadyExists(err):
		// A slow cache or a fast resync; or a hash collision.
		alreadyExists = true
		rs, rsErr := s.Client.GetReplicaSet(newRS.Namespace, newRS.Name)
		if rsErr != nil {
			return nil, rsErr
		}
		controllerRef := metav1.GetControllerOf(rs)
		if controllerRef != nil && controllerRef.UID == d.UID && deploymentutil.EqualIgnoreHash(&d.Spec.Template, &rs.Spec.Template) {
			createdRS = rs
			err = nil
			break
		}
		// A different template under our name: bump collisionCount and retry.
		if d.Status.CollisionCount == nil {
			d.Status.CollisionCount = new(int32)
		}
		*d.Status.CollisionCount++
		_, _ = s.Client.UpdateDeploymentStatus(d)
		return nil, err
	case apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause):
		// Every create fails while the namespace goes away: nothing to report.
		return nil, err
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", newRS.Name, err)
		if deploymentutil.HasProgressDeadline(d) {
			cond := deploymentutil.NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionFalse, deploymentutil.FailedRSCreateReason, msg, s.Now)
			deploymentutil.SetDeploymentCondition(&d.Status, *cond)
			_, _ = s.Client.UpdateDeploymentStatus(d)
		}
		s.eventf(d, v1.EventTypeWarning, deploymentutil.FailedRSCreateReason, "%s", msg)
		return nil, err
	}
	if !alreadyExists && newReplicasCount > 0 {
		s.eventf(d, v1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", createdRS.Name, newReplicasCount)
	}

	needsUpdate := deploymentutil.SetDeploymentRevision(d, newRevision)
	if !alreadyExists && deploymentutil.HasProgressDeadline(d) {
		msg := fmt.Sprintf("Created new replica set %q", createdRS.Name)
		condition := deploymentutil.NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionTrue, deploymentutil.NewReplicaSetReason, msg, s.Now)
		deploymentutil.SetDeploymentCondition(&d.Status, *condition)
		needsUpdate = true
	}
	if needsUpdate {
		_, err = s.Client.UpdateDeploymentStatus(d)
	}
	return createdRS, err
}

// scale scales the active ReplicaSets: the single active (or newest) one
// straight to spec.replicas; old ones to 0 if the new one is saturated;
// otherwise, for RollingUpdate, proportionally (largest first, leftovers to
// the first, ties: newer first when growing, older first when shrinking).
// Each ScalingReplicaSet event names that ReplicaSet's own direction (an
// old set may shrink while the total grows), as upstream since v1.32.
func (s *Syncer) scale(deployment *apps.Deployment, newRS *apps.ReplicaSet, oldRSs []*apps.ReplicaSet) error {
	if activeOrLatest := deploymentutil.FindActiveOrLatest(newRS, oldRSs); activeOrLatest != nil {
		if *(activeOrLatest.Spec.Replicas) == *(deployment.Spec.Replicas) {
			return nil
		}
		_, _, err := s.scaleReplicaSetAndRecordEvent(activeOrLatest, *(deployment.Spec.Replicas), deployment)
		return err
	}

	// Adoption while the new ReplicaSet is saturated: old ones go to zero.
	if deploymentutil.IsSaturated(deployment, newRS) {
		for _, old := range controllerutil.FilterActiveReplicaSets(oldRSs) {
			if _, _, err := s.scaleReplicaSetAndRecordEvent(old, 0, deployment); err != nil {
				return err
			}
		}
		return nil
	}

	if deploymentutil.IsRollingUpdate(deployment) {
		allRSs := controllerutil.FilterActiveReplicaSets(append(oldRSs, newRS))
		allRSsReplicas := deploymentutil.GetReplicaCountForReplicaSets(allRSs)

		allowedSize := int32(0)
		if *(deployment.Spec.Replicas) > 0 {
			allowedSize = *(deployment.Spec.Replicas) + deploymentutil.MaxSurge(*deployment)
		}
		// Replicas to add (or, negative, remove) across the active sets.
		deploymentReplicasToAdd := allowedSize - allRSsReplicas

		switch {
		case deploymentReplicasToAdd > 0:
			sort.Sort(controllerutil.ReplicaSetsBySizeNewer(allRSs))
		case deploymentReplicasToAdd < 0:
			sort.Sort(controllerutil.ReplicaSetsBySizeOlder(allRSs))
		}

		deploymentReplicasAdded := int32(0)
		nameToSize := make(map[string]int32)
		for i := range allRSs {
			rs := allRSs[i]
			if deploymentReplicasToAdd != 0 {
				proportion := deploymentutil.GetProportion(rs, *deployment, deploymentReplicasToAdd, deploymentReplicasAdded)
				nameToSize[rs.Name] = *(rs.Spec.Replicas) + proportion
				deploymentReplicasAdded += proportion
			} else {
				nameToSize[rs.Name] = *(rs.Spec.Replicas)
			}
		}

		for i := range allRSs {
			rs := allRSs[i]
			// Leftovers go to the largest replica set.
			if i == 0 && deploymentReplicasToAdd != 0 {
				leftover := deploymentReplicasToAdd - deploymentReplicasAdded
				nameToSize[rs.Name] = nameToSize[rs.Name] + leftover
				if nameToSize[rs.Name] < 0 {
					nameToSize[rs.Name] = 0
				}
			}
			if _, _, err := s.scaleReplicaSet(rs, nameToSize[rs.Name], deployment); err != nil {
				// Stop at the first failure; the Deployment is requeued.
				return err
			}
		}
	}
	return nil
}

// scaleReplicaSetAndRecordEvent scales rs to newScale unless it is already there.
func (s *Syncer) scaleReplicaSetAndRecordEvent(rs *apps.ReplicaSet, newScale int32, deployment *apps.Deployment) (bool, *apps.ReplicaSet, error) {
	if *(rs.Spec.Replicas) == newScale {
		return false, rs, nil
	}
	return s.scaleReplicaSet(rs, newScale, deployment)
}

// scaleReplicaSet writes newScale and the replica annotations to a copy of
// rs when either differs; it reports whether the size changed. The
// ScalingReplicaSet event says "Scaled up" or "Scaled down" from rs's old
// and new sizes.
func (s *Syncer) scaleReplicaSet(rs *apps.ReplicaSet, newScale int32, deployment *apps.Deployment) (bool, *apps.ReplicaSet, error) {
	sizeNeedsUpdate := *(rs.Spec.Replicas) != newScale
	annotationsNeedUpdate := deploymentutil.ReplicasAnnotationsNeedUpdate(rs, *(deployment.Spec.Replicas), *(deployment.Spec.Replicas)+deploymentutil.MaxSurge(*deployment))

	scaled := false
	var err error
	if sizeNeedsUpdate || annotationsNeedUpdate {
		oldScale := *(rs.Spec.Replicas)
		rsCopy := rs.DeepCopy()
		*(rsCopy.Spec.Replicas) = newScale
		deploymentutil.SetReplicasAnnotations(rsCopy, *(deployment.Spec.Replicas), *(deployment.Spec.Replicas)+deploymentutil.MaxSurge(*deployment))
		rs, err = s.Client.UpdateReplicaSet(rsCopy)
		if err == nil && sizeNeedsUpdate {
			scalingOperation := "down"
			if oldScale < newScale {
				scalingOperation = "up"
			}
			scaled = true
			s.eventf(deployment, v1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", scalingOperation, rs.Name, oldScale, newScale)
		}
	}
	return scaled, rs, err
}

// cleanupDeployment deletes old ReplicaSets beyond revisionHistoryLimit,
// lowest revision first, skipping any that still has replicas (spec or
// status), an unobserved generation, or a deletionTimestamp.
func (s *Syncer) cleanupDeployment(oldRSs []*apps.ReplicaSet, deployment *apps.Deployment) error {
	if !deploymentutil.HasRevisionHistoryLimit(deployment) {
		return nil
	}
	var cleanableRSes []*apps.ReplicaSet
	for _, rs := range oldRSs {
		if rs != nil && rs.DeletionTimestamp == nil {
			cleanableRSes = append(cleanableRSes, rs)
		}
	}
	diff := int32(len(cleanableRSes)) - *deployment.Spec.RevisionHistoryLimit
	if diff <= 0 {
		return nil
	}
	sort.Sort(deploymentutil.ReplicaSetsByRevision(cleanableRSes))
	for i := int32(0); i < diff; i++ {
		rs := cleanableRSes[i]
		if rs.Status.Replicas != 0 || *(rs.Spec.Replicas) != 0 || rs.Generation > rs.Status.ObservedGeneration || rs.DeletionTimestamp != nil {
			continue
		}
		if err := s.Client.DeleteReplicaSet(rs.Namespace, rs.Name); err != nil && !apierrors.IsNotFound(err) {
			// Stop rather than hammer an overloaded API server.
			return err
		}
	}
	return nil
}

// syncDeploymentStatus writes the calculated status if it changed.
func (s *Syncer) syncDeploymentStatus(allRSs []*apps.ReplicaSet, newRS *apps.ReplicaSet, d *apps.Deployment) error {
	newStatus := CalculateStatus(allRSs, newRS, d, s.Now)
	if reflect.DeepEqual(d.Status, newStatus) {
		return nil
	}
	newDeployment := d
	newDeployment.Status = newStatus
	_, err := s.Client.UpdateDeploymentStatus(newDeployment)
	return err
}

// CalculateStatus is upstream's calculateStatus: replica counts from the
// ReplicaSets' status (unavailable = Σ spec.replicas − available, ≥ 0),
// observedGeneration, collisionCount, the existing conditions and the
// Available condition (available ≥ replicas − maxUnavailable).
func CalculateStatus(allRSs []*apps.ReplicaSet, newRS *apps.ReplicaSet, deployment *apps.Deployment, now time.Time) apps.DeploymentStatus {
	availableReplicas := deploymentutil.GetAvailableReplicaCountForReplicaSets(allRSs)
	totalReplicas := deploymentutil.GetReplicaCountForReplicaSets(allRSs)
	unavailableReplicas := totalReplicas - availableReplicas
	// More available than desired (e.g. while scaling down): not negative.
	if unavailableReplicas < 0 {
		unavailableReplicas = 0
	}

	status := apps.DeploymentStatus{
		ObservedGeneration:  deployment.Generation,
		Replicas:            deploymentutil.GetActualReplicaCountForReplicaSets(allRSs),
		UpdatedReplicas:     deploymentutil.GetActualReplicaCountForReplicaSets([]*apps.ReplicaSet{newRS}),
		ReadyReplicas:       deploymentutil.GetReadyReplicaCountForReplicaSets(allRSs),
		AvailableReplicas:   availableReplicas,
		UnavailableReplicas: unavailableReplicas,
		CollisionCount:      deployment.Status.CollisionCount,
	}
	// Copy the conditions one by one: never mutate the original.
	conditions := deployment.Status.Conditions
	for i := range conditions {
		status.Conditions = append(status.Conditions, conditions[i])
	}

	if availableReplicas >= *(deployment.Spec.Replicas)-deploymentutil.MaxUnavailable(*deployment) {
		minAvailability := deploymentutil.NewDeploymentCondition(apps.DeploymentAvailable, v1.ConditionTrue, deploymentutil.MinimumReplicasAvailable, "Deployment has minimum availability.", now)
		deploymentutil.SetDeploymentCondition(&status, *minAvailability)
	} else {
		noMinAvailability := deploymentutil.NewDeploymentCondition(apps.DeploymentAvailable, v1.ConditionFalse, deploymentutil.MinimumReplicasUnavailable, "Deployment does not have minimum availability.", now)
		deploymentutil.SetDeploymentCondition(&status, *noMinAvailability)
	}
	return status
}

// isScalingEvent reports whether an active ReplicaSet's desired-replicas
// annotation differs from spec.replicas (the user scaled the Deployment).
func (s *Syncer) isScalingEvent(d *apps.Deployment, rsList []*apps.ReplicaSet) (bool, error) {
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(d, rsList, false)
	if err != nil {
		return false, err
	}
	allRSs := append(oldRSs, newRS)
	for _, rs := range controllerutil.FilterActiveReplicaSets(allRSs) {
		desired, ok := deploymentutil.GetDesiredReplicasAnnotation(rs)
		if !ok {
			continue
		}
		if desired != *(d.Spec.Replicas) {
			return true, nil
		}
	}
	return false, nil
}
