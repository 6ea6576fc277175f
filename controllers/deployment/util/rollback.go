package util

import (
	"fmt"

	apps "k8s.io/api/apps/v1"
)

// Rollback is what `kubectl rollout undo [--to-revision=N]` does, client
// side (kubectl's DeploymentRollbacker): find the ReplicaSet of revision N
// (0 ⇒ the previous revision) among d's ReplicaSets and return a copy of d
// whose template (without the hash label) and copyable annotations are that
// ReplicaSet's; the controller then rolls out to it, reusing the ReplicaSet
// with a new revision number. skipped is non-empty when the template
// already matches (no write needed).
func Rollback(d *apps.Deployment, rsList []*apps.ReplicaSet, toRevision int64) (updated *apps.Deployment, skipped string, err error) {
	rs, err := deploymentRevision(d, rsList, toRevision)
	if err != nil {
		return nil, "", err
	}
	if d.Spec.Paused {
		return nil, "", fmt.Errorf("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/%s' and try again", d.Name)
	}
	if EqualIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
		return nil, fmt.Sprintf("skipped rollback (current template already matches revision %d)", toRevision), nil
	}
	out := d.DeepCopy()
	SetFromReplicaSetTemplate(out, *rs.Spec.Template.DeepCopy())
	SetDeploymentAnnotationsTo(out, rs)
	return out, "", nil
}

func deploymentRevision(d *apps.Deployment, rsList []*apps.ReplicaSet, toRevision int64) (*apps.ReplicaSet, error) {
	var latest, previous *apps.ReplicaSet
	latestRevision, previousRevision := int64(-1), int64(-1)
	for _, rs := range FilterOwnedReplicaSets(d, rsList) {
		v, err := Revision(rs)
		if err != nil {
			continue
		}
		if toRevision == 0 {
			if latestRevision < v {
				previousRevision, previous = latestRevision, latest
				latestRevision, latest = v, rs
			} else if previousRevision < v {
				previousRevision, previous = v, rs
			}
		} else if toRevision == v {
			return rs, nil
		}
	}
	if toRevision > 0 {
		return nil, fmt.Errorf("unable to find specified revision %v in history", toRevision)
	}
	if previous == nil {
		return nil, fmt.Errorf("no rollout history found for deployment %q", d.Name)
	}
	return previous, nil
}
