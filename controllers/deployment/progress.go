package deployment

import (
	"fmt"
	"reflect"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"

	deploymentutil "github.com/kubesim/kubesim/controllers/deployment/util"
)

// syncRolloutStatus writes the status of a rolling/recreate sync, with the
// Progressing condition: NewReplicaSetAvailable when complete,
// ReplicaSetUpdated (lastUpdateTime refreshed) on any progress,
// ProgressDeadlineExceeded when lastUpdateTime + deadline < now; and the
// ReplicaFailure condition copied from the ReplicaSets. If nothing changed
// it schedules the next deadline check (RequeueAfter).
func (s *Syncer) syncRolloutStatus(allRSs []*apps.ReplicaSet, newRS *apps.ReplicaSet, d *apps.Deployment) error {
	newStatus := CalculateStatus(allRSs, newRS, d, s.Now)

	if !deploymentutil.HasProgressDeadline(d) {
		deploymentutil.RemoveDeploymentCondition(&newStatus, apps.DeploymentProgressing)
	}

	// A resync of a completed rollout does not estimate progress.
	currentCond := deploymentutil.GetDeploymentCondition(d.Status, apps.DeploymentProgressing)
	isCompleteDeployment := newStatus.Replicas == newStatus.UpdatedReplicas && currentCond != nil && currentCond.Reason == deploymentutil.NewRSAvailableReason
	if deploymentutil.HasProgressDeadline(d) && !isCompleteDeployment {
		switch {
		case deploymentutil.DeploymentComplete(d, &newStatus):
			msg := fmt.Sprintf("Deployment %q has successfully progressed.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has successfully progressed.", newRS.Name)
			}
			condition := deploymentutil.NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionTrue, deploymentutil.NewRSAvailableReason, msg, s.Now)
			deploymentutil.SetDeploymentCondition(&newStatus, *condition)

		case deploymentutil.DeploymentProgressing(d, &newStatus):
			msg := fmt.Sprintf("Deployment %q is progressing.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q is progressing.", newRS.Name)
			}
			condition := deploymentutil.NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionTrue, deploymentutil.ReplicaSetUpdatedReason, msg, s.Now)
			// Progressing is special: same reason, but lastUpdateTime must
			// move on progress, so replace it (keeping lastTransitionTime if
			// it stays True).
			if currentCond != nil {
				if currentCond.Status == v1.ConditionTrue {
					condition.LastTransitionTime = currentCond.LastTransitionTime
				}
				deploymentutil.RemoveDeploymentCondition(&newStatus, apps.DeploymentProgressing)
			}
			deploymentutil.SetDeploymentCondition(&newStatus, *condition)

		case deploymentutil.DeploymentTimedOut(d, &newStatus, s.Now):
			msg := fmt.Sprintf("Deployment %q has timed out progressing.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has timed out progressing.", newRS.Name)
			}
			condition := deploymentutil.NewDeploymentCondition(apps.DeploymentProgressing, v1.ConditionFalse, deploymentutil.TimedOutReason, msg, s.Now)
			deploymentutil.SetDeploymentCondition(&newStatus, *condition)
		}
	}

	// Only one ReplicaFailure condition is carried over.
	if replicaFailureCond := getReplicaFailures(allRSs, newRS); len(replicaFailureCond) > 0 {
		deploymentutil.SetDeploymentCondition(&newStatus, replicaFailureCond[0])
	} else {
		deploymentutil.RemoveDeploymentCondition(&newStatus, apps.DeploymentReplicaFailure)
	}

	if reflect.DeepEqual(d.Status, newStatus) {
		s.requeueStuckDeployment(d, newStatus)
		return nil
	}

	newDeployment := d
	newDeployment.Status = newStatus
	_, err := s.Client.UpdateDeploymentStatus(newDeployment)
	return err
}

// getReplicaFailures returns the ReplicaFailure conditions of the new
// ReplicaSet, or else of all ReplicaSets.
func getReplicaFailures(allRSs []*apps.ReplicaSet, newRS *apps.ReplicaSet) []apps.DeploymentCondition {
	var conditions []apps.DeploymentCondition
	if newRS != nil {
		for _, c := range newRS.Status.Conditions {
			if c.Type != apps.ReplicaSetReplicaFailure {
				continue
			}
			conditions = append(conditions, deploymentutil.ReplicaSetToDeploymentCondition(c))
		}
	}
	if len(conditions) > 0 {
		return conditions
	}
	for i := range allRSs {
		rs := allRSs[i]
		if rs == nil {
			continue
		}
		for _, c := range rs.Status.Conditions {
			if c.Type != apps.ReplicaSetReplicaFailure {
				continue
			}
			conditions = append(conditions, deploymentutil.ReplicaSetToDeploymentCondition(c))
		}
	}
	return conditions
}

// requeueStuckDeployment sets RequeueAfter for the next deadline check:
// lastUpdateTime + deadline − now (+1 s), or rate-limited now if under 1 s;
// nothing if there is no deadline, no Progressing condition, or the rollout
// is complete or already timed out. It returns upstream's value (−1: none).
func (s *Syncer) requeueStuckDeployment(d *apps.Deployment, newStatus apps.DeploymentStatus) time.Duration {
	currentCond := deploymentutil.GetDeploymentCondition(d.Status, apps.DeploymentProgressing)
	if !deploymentutil.HasProgressDeadline(d) || currentCond == nil {
		return time.Duration(-1)
	}
	if deploymentutil.DeploymentComplete(d, &newStatus) || currentCond.Reason == deploymentutil.TimedOutReason {
		return time.Duration(-1)
	}
	after := currentCond.LastUpdateTime.Time.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(s.Now)
	if after < time.Second {
		s.RequeueAfter = RequeueRateLimited
		return time.Duration(0)
	}
	// One extra second against millisecond skew, as upstream.
	s.RequeueAfter = after + time.Second
	return after
}
