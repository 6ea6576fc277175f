package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim/simtest"
)

// The view's change count of a kind moves with every committed write of
// it (create, update, delete) and with nothing else, so a count
// expectation may reuse its observation while it stays.
func TestViewChangeCountMovesWithWrites(t *testing.T) {
	r := newRun(t, `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster: {nodes: [{name: n, count: 1, capacity: {cpu: "1", memory: 1Gi}}]}
`, Options{})
	v := view{r.c}
	pods := scenarios.Resource{Plural: "pods", Kind: "Pod", Namespaced: true}
	count := func() uint64 {
		n, ok := v.ChangeCount(pods)
		require.True(t, ok)
		return n
	}
	_, ok := v.ChangeCount(scenarios.Resource{Plural: "nosuchthings"})
	assert.False(t, ok)
	start := count()
	cl := r.c.Client("test")
	pc := cl.CoreV1().Pods("default")
	p, err := pc.Create(ctx, &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: simtest.PodTemplate(nil, "nginx:1", "").Spec}, metav1.CreateOptions{})
	require.NoError(t, err)
	afterCreate := count()
	assert.Greater(t, afterCreate, start)
	_, err = cl.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, afterCreate, count(), "another kind's write")
	_, err = pc.Update(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, afterCreate, count(), "an update that changes nothing is not a write")
	require.NoError(t, pc.Delete(ctx, "p", *metav1.NewDeleteOptions(0)))
	assert.Greater(t, count(), afterCreate)
}
