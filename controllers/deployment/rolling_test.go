package deployment

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apps "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"
	"pgregory.net/rapid"

	deploymentutil "github.com/kubesim/kubesim/controllers/deployment/util"
)

// TestRollingUpdateWorkedExample walks k8s-semantics §11 (R=10, maxSurge and
// maxUnavailable 25% ⇒ 3 and 2) sync by sync. Upstream's first sync both
// creates the new ReplicaSet with 3 and scales the old one 10 → 8 (§11 lists
// these as syncs 1 and 2); and as soon as the old one is at 8 the total is
// 11 < 13, so the new one grows 3 → 5 without waiting for availability.
func TestRollingUpdateWorkedExample(t *testing.T) {
	c := newFakeCluster(t, newDeployment(10, intstr.FromString("25%"), intstr.FromString("25%")))
	c.complete()
	assert.Equal(t, map[string]int32{"v1": 10}, c.specs())
	c.setImage("v2")
	c.rec.Actions = nil

	// Sync 1: create v2 with 3 (total 13), then old 10 → 8 in the same pass.
	err := c.syncDeployment()
	require.Len(t, c.rec.Actions, 4, "%v", c.rec.Actions)
	assert.Equal(t, VerbCreateReplicaSet, c.rec.Actions[0].Verb)
	assert.Equal(t, int32(3), *c.rec.Actions[0].ReplicaSet.Spec.Replicas)
	assert.Equal(t, "2", c.rec.Actions[0].ReplicaSet.Annotations[deploymentutil.RevisionAnnotation])
	assert.Equal(t, "10", c.rec.Actions[0].ReplicaSet.Annotations[deploymentutil.DesiredReplicasAnnotation])
	assert.Equal(t, "13", c.rec.Actions[0].ReplicaSet.Annotations[deploymentutil.MaxReplicasAnnotation])
	assert.Equal(t, VerbUpdateDeploymentStatus, c.rec.Actions[1].Verb, "revision + NewReplicaSetCreated")
	assert.Equal(t, "update rs "+c.rsByImage("v1").Name+" replicas 10->8", c.rec.Actions[2].String())
	// Upstream writes the Deployment status twice from one stale copy: the
	// second write is a 409 Conflict and the sync is retried.
	require.Error(t, err)
	assert.True(t, apierrors.IsConflict(err))
	assert.Equal(t, map[string]int32{"v1": 8, "v2": 3}, c.specs())

	c.rsController()
	total, avail := c.podCounts()
	assert.Equal(t, 11, total)
	assert.Equal(t, 8, avail)

	// Sync 2: total 11 < 13 ⇒ v2 3 → 5.
	require.NoError(t, c.syncDeployment())
	assert.Equal(t, map[string]int32{"v1": 8, "v2": 5}, c.specs())
	c.rsController()
	// Sync 3: 13 total, budget 13 − 8 − 5 unavailable = 0 ⇒ nothing moves.
	c.rec.Actions = nil
	require.NoError(t, c.syncDeployment())
	assert.Equal(t, map[string]int32{"v1": 8, "v2": 5}, c.specs())
	total, avail = c.podCounts()
	assert.Equal(t, 13, total)
	assert.Equal(t, 8, avail)

	// The 5 new pods become available: available 13 ⇒ old 8 → 3.
	c.makeAvailable(-1)
	require.NoError(t, c.syncDeployment())
	assert.Equal(t, map[string]int32{"v1": 3, "v2": 5}, c.specs())
	c.rsController()
	// total 8 ⇒ new 5 → 10.
	require.NoError(t, c.syncDeployment())
	assert.Equal(t, map[string]int32{"v1": 3, "v2": 10}, c.specs())
	c.rsController()
	total, avail = c.podCounts()
	assert.Equal(t, 13, total)
	assert.Equal(t, 8, avail)
	c.settle()
	assert.Equal(t, map[string]int32{"v1": 3, "v2": 10}, c.specs(), "blocked: 13 − 8 − 5 = 0")

	c.makeAvailable(-1)
	c.settle()
	assert.Equal(t, map[string]int32{"v1": 0, "v2": 10}, c.specs())
	d := c.rec.Deployment()
	assert.True(t, deploymentutil.DeploymentComplete(d, &d.Status))
	cond := deploymentutil.GetDeploymentCondition(d.Status, apps.DeploymentProgressing)
	require.NotNil(t, cond)
	assert.Equal(t, deploymentutil.NewRSAvailableReason, cond.Reason)
	assert.Equal(t, "2", d.Annotations[deploymentutil.RevisionAnnotation])
	avCond := deploymentutil.GetDeploymentCondition(d.Status, apps.DeploymentAvailable)
	require.NotNil(t, avCond)
	assert.Equal(t, deploymentutil.MinimumReplicasAvailable, avCond.Reason)
}

// TestRollingUpdateProperty: for random replicas, maxSurge and
// maxUnavailable (ints and percents) and random interleavings of
// deployment syncs, ReplicaSet reconciles and pods becoming available, at
// every step available ≥ R − maxUnavailable and total ≤ R + maxSurge, and
// the rollout completes once pods keep becoming available.
func TestRollingUpdateProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		r := rapid.Int32Range(1, 15).Draw(rt, "replicas")
		fence := func(label string) intstr.IntOrString {
			if rapid.Bool().Draw(rt, label+"Percent") {
				return intstr.FromString(fmt.Sprintf("%d%%", rapid.IntRange(0, 100).Draw(rt, label+"Pct")))
			}
			return intstr.FromInt32(rapid.Int32Range(0, r+2).Draw(rt, label+"Int"))
		}
		surge, unavailable := fence("surge"), fence("unavailable")
		if surge.String() == "0" && unavailable.String() == "0" || surge.String() == "0%" && unavailable.String() == "0%" ||
			surge.String() == "0" && unavailable.String() == "0%" || surge.String() == "0%" && unavailable.String() == "0" {
			unavailable = intstr.FromInt32(1) // validation forbids both zero
		}
		d := newDeployment(r, surge, unavailable)
		maxSurge, maxUnavailable := deploymentutil.MaxSurge(*d), deploymentutil.MaxUnavailable(*d)

		c := newFakeCluster(rt, d)
		c.complete()
		c.setImage("v2")

		check := func(step string) {
			total, avail := c.podCounts()
			if int32(avail) < r-maxUnavailable {
				rt.Fatalf("%s: available %d < %d − %d", step, avail, r, maxUnavailable)
			}
			if int32(total) > r+maxSurge {
				rt.Fatalf("%s: total %d > %d + %d", step, total, r, maxSurge)
			}
		}
		steps := rapid.IntRange(0, 60).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			switch rapid.IntRange(0, 2).Draw(rt, "action") {
			case 0:
				_ = c.syncDeployment()
			case 1:
				c.rsController()
			case 2:
				c.makeAvailable(rapid.IntRange(1, int(r)).Draw(rt, "n"))
			}
			check(fmt.Sprintf("step %d", i))
		}
		for i := 0; i < 100; i++ {
			_ = c.syncDeployment()
			check("finish sync")
			c.rsController()
			check("finish rs")
			c.makeAvailable(-1)
			check("finish available")
			cur := c.rec.Deployment()
			if deploymentutil.DeploymentComplete(cur, &cur.Status) && c.specs()["v1"] == 0 {
				assert.Equal(rt, r, c.specs()["v2"])
				return
			}
		}
		rt.Fatalf("rollout did not complete: specs %v status %+v", c.specs(), c.rec.Deployment().Status)
	})
}
