package apiserver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/mvcc"
)

// A budget whose disruptionsAllowed is negative refuses with 403, not 429
// (eviction.go checkAndDecrement). policy/v1 status validation keeps such a
// value out, so the test stores it past the server, as a policy/v1beta1
// writer of an older cluster could have.
func TestEvictionRefusedByNegativeBudget(t *testing.T) {
	eng := sim.New(1)
	s := New(eng, mvcc.New(eng, mvcc.Config{}), DefaultConfig())
	podRes, pdbRes := s.mustResource("pods"), s.mustResource("poddisruptionbudgets")
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"app": "web"}},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "nginx"}}}}
	_, err := s.Create("test", podRes, "default", p, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Bind("test", "default", &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Target: v1.ObjectReference{Name: "n1"}}))
	obj, err := s.Get(podRes, "default", "a")
	require.NoError(t, err)
	p = obj.(*v1.Pod).DeepCopy()
	p.Status.Phase = v1.PodRunning
	p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue})
	_, err = s.Update("test", podRes, "default", p, "status", metav1.UpdateOptions{})
	require.NoError(t, err)

	minAvailable := intstr.FromInt32(1)
	_, err = s.Create("test", pdbRes, "default", &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	key := s.storedKey(pdbRes, "default", "web")
	cur, rev, _, err := s.current(pdbRes, key, "web")
	require.NoError(t, err)
	pdb := cur.(*policyv1.PodDisruptionBudget).DeepCopy()
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, DisruptionsAllowed: -1, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1}
	_, ok := s.store.PutIfMod(key, rev, encode(pdbRes, pdb))
	require.True(t, ok)

	err = s.Evict("test", "default", &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Equal(t, `poddisruptionbudget.policy "web" is forbidden: pdb disruptions allowed is negative`, err.Error())
	obj, err = s.Get(podRes, "default", "a")
	require.NoError(t, err)
	assert.Nil(t, obj.(*v1.Pod).DeletionTimestamp)
}
