package deployment

import (
	"fmt"
	"sort"
	"time"

	"github.com/stretchr/testify/require"
	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	deploymentutil "github.com/kubesim/kubesim/controllers/deployment/util"
)

// tb is what the fake cluster needs from *testing.T or *rapid.T.
type tb interface {
	require.TestingT
	Fatalf(format string, args ...any)
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeCluster is a tiny stand-in for the API server + ReplicaSet controller:
// a Recorder with optimistic concurrency, and per-ReplicaSet pods that are
// created unavailable and become available only when told. Deleted pods
// vanish at once (no termination grace), unavailable ones first, as the
// ReplicaSet victim ranking would pick them.
type fakeCluster struct {
	t    tb
	rec  *Recorder
	now  time.Time
	pods map[string][]bool // ReplicaSet name → per pod: available?
	// syncErrs counts syncs that ended in an error (e.g. 409 Conflict).
	syncErrs     int
	requeueAfter time.Duration
}

func newTemplate(image string) v1.PodTemplateSpec {
	return v1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "web", Image: image}}},
	}
}

func newDeployment(replicas int32, surge, unavailable intstr.IntOrString) *apps.Deployment {
	return &apps.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "d-uid", Generation: 1, ResourceVersion: "1"},
		Spec: apps.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: newTemplate("v1"),
			Strategy: apps.DeploymentStrategy{
				Type:          apps.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &apps.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable},
			},
			RevisionHistoryLimit:    ptr.To[int32](10),
			ProgressDeadlineSeconds: ptr.To[int32](600),
		},
	}
}

func newFakeCluster(t tb, d *apps.Deployment) *fakeCluster {
	rec := NewRecorder(d, nil, epoch)
	rec.StrictResourceVersion = true
	return &fakeCluster{t: t, rec: rec, now: epoch, pods: map[string][]bool{}}
}

// syncDeployment runs one sync of the stored Deployment.
func (c *fakeCluster) syncDeployment() error {
	c.rec.Now = c.now
	s := &Syncer{Client: c.rec, Now: c.now}
	err := s.SyncDeployment(c.rec.Deployment(), c.rec.ReplicaSets(), nil)
	if err != nil {
		c.syncErrs++
	}
	c.requeueAfter = s.RequeueAfter
	return err
}

// rsController creates/deletes pods to match each ReplicaSet's spec and
// writes its status.
func (c *fakeCluster) rsController() {
	for _, rs := range c.rec.ReplicaSets() {
		pods := c.pods[rs.Name]
		want := int(*rs.Spec.Replicas)
		if len(pods) > want {
			// Unavailable pods go first.
			sort.SliceStable(pods, func(i, j int) bool { return !pods[i] && pods[j] })
			pods = pods[len(pods)-want:]
		}
		for len(pods) < want {
			pods = append([]bool{false}, pods...)
		}
		c.pods[rs.Name] = pods
		c.writeStatus(rs)
	}
}

func (c *fakeCluster) writeStatus(rs *apps.ReplicaSet) {
	avail := int32(0)
	for _, a := range c.pods[rs.Name] {
		if a {
			avail++
		}
	}
	c.rec.SetReplicaSetStatus(rs.Name, apps.ReplicaSetStatus{
		Replicas: int32(len(c.pods[rs.Name])), ReadyReplicas: avail, AvailableReplicas: avail,
		FullyLabeledReplicas: int32(len(c.pods[rs.Name])), ObservedGeneration: rs.Generation,
	})
}

// makeAvailable turns up to n unavailable pods (of any ReplicaSet, by name
// order) available and updates the statuses; n < 0 means all.
func (c *fakeCluster) makeAvailable(n int) {
	for _, rs := range c.rec.ReplicaSets() {
		pods := c.pods[rs.Name]
		for i := range pods {
			if n == 0 {
				break
			}
			if !pods[i] {
				pods[i] = true
				n--
			}
		}
		c.writeStatus(rs)
	}
}

// settle alternates deployment syncs and ReplicaSet reconciles until a
// sync changes nothing, at most 20 rounds.
func (c *fakeCluster) settle() {
	for i := 0; i < 20; i++ {
		before := len(c.rec.Actions)
		_ = c.syncDeployment()
		c.rsController()
		if len(c.rec.Actions) == before {
			return
		}
	}
	c.t.Fatalf("deployment did not settle: %v", c.rec.Actions)
}

func (c *fakeCluster) podCounts() (total, available int) {
	for _, pods := range c.pods {
		for _, a := range pods {
			total++
			if a {
				available++
			}
		}
	}
	return total, available
}

// specs returns "new/old" spec.replicas by template image, e.g. {"v1":8,"v2":5}.
func (c *fakeCluster) specs() map[string]int32 {
	out := map[string]int32{}
	for _, rs := range c.rec.ReplicaSets() {
		out[rs.Spec.Template.Spec.Containers[0].Image] = *rs.Spec.Replicas
	}
	return out
}

func (c *fakeCluster) setImage(image string) {
	d := c.rec.Deployment()
	d.Spec.Template = newTemplate(image)
	d.Generation++
	c.rec.SetDeployment(d)
}

func (c *fakeCluster) rsByImage(image string) *apps.ReplicaSet {
	for _, rs := range c.rec.ReplicaSets() {
		if rs.Spec.Template.Spec.Containers[0].Image == image {
			return rs
		}
	}
	require.FailNow(c.t, fmt.Sprintf("no replicaset for %s", image))
	return nil
}

// complete brings a fresh deployment to a finished first rollout.
func (c *fakeCluster) complete() {
	c.settle()
	c.makeAvailable(-1)
	c.settle()
	d := c.rec.Deployment()
	require.True(c.t, deploymentutil.DeploymentComplete(d, &d.Status), "initial rollout complete: %+v", d.Status)
}

// finish lets every pod become available until the rollout completes.
func (c *fakeCluster) finish() {
	for i := 0; i < 30; i++ {
		c.settle()
		c.makeAvailable(-1)
		d := c.rec.Deployment()
		if deploymentutil.DeploymentComplete(d, &d.Status) && deploymentutil.GetReplicaCountForReplicaSets(c.rec.ReplicaSets()) == *d.Spec.Replicas {
			c.settle()
			return
		}
	}
	c.t.Fatalf("rollout did not finish: %v", c.specs())
}
