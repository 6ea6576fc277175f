package nodeutil

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/controllers/internal/ctltest"
	"github.com/kubesim/kubesim/sim/record"
)

func TestTaintSetDiff(t *testing.T) {
	want := []v1.Taint{{Key: "a", Effect: v1.TaintEffectNoSchedule}, {Key: "b", Effect: v1.TaintEffectNoSchedule}}
	have := []v1.Taint{{Key: "b", Effect: v1.TaintEffectNoSchedule, Value: "x"}, {Key: "a", Effect: v1.TaintEffectNoExecute}}
	add, remove := TaintSetDiff(want, have)
	require.Len(t, add, 1)
	assert.Equal(t, "a", add[0].Key)
	assert.Equal(t, v1.TaintEffectNoSchedule, add[0].Effect)
	require.Len(t, remove, 1)
	assert.Equal(t, v1.TaintEffectNoExecute, remove[0].Effect, "key and effect both count")
}

func TestZoneName(t *testing.T) {
	assert.Equal(t, `""`, ZoneName(""))
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{v1.LabelTopologyZone: "z1"}}}
	assert.Equal(t, "z1", ZoneName(ZoneKey(n)))
	n.Labels[v1.LabelTopologyRegion] = "r1"
	assert.Equal(t, "r1/z1", ZoneName(ZoneKey(n)))
}

func TestUpdatePodCondition(t *testing.T) {
	t0 := ctltest.At(10 * time.Second)
	t1 := ctltest.At(20 * time.Second)
	st := v1.PodStatus{}
	assert.True(t, UpdatePodCondition(&st, &v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue}, t0))
	assert.False(t, UpdatePodCondition(&st, &v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue}, t1), "no change")
	assert.True(t, st.Conditions[0].LastTransitionTime.Equal(&t0), "same status keeps the transition time")
	assert.True(t, UpdatePodCondition(&st, &v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionFalse}, t1))
	assert.True(t, st.Conditions[0].LastTransitionTime.Equal(&t1))
	assert.Len(t, st.Conditions, 1)
}

func TestSwapAndRemoveTaintsThroughAPI(t *testing.T) {
	env := ctltest.New(t, 1)
	n := ctltest.Node("n1", nil, 0)
	n.Spec.Taints = []v1.Taint{{Key: "keep", Effect: v1.TaintEffectNoSchedule}, {Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoExecute}}
	env.CreateNode(n)
	c := env.Client("node-controller")
	unreachable := &v1.Taint{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute}
	notReady := &v1.Taint{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoExecute}
	added, removed, err := SwapNodeControllerTaint(context.TODO(), c, []*v1.Taint{unreachable}, []*v1.Taint{notReady}, "n1", ctltest.At(5*time.Second))
	require.NoError(t, err)
	require.Len(t, added, 1)
	require.Len(t, removed, 1)
	got := env.GetNode("n1").Spec.Taints
	require.Len(t, got, 2)
	assert.Equal(t, "keep", got[0].Key)
	assert.Equal(t, v1.TaintNodeUnreachable, got[1].Key)
	assert.Equal(t, ctltest.At(5*time.Second).Unix(), got[1].TimeAdded.Unix())
	assert.Nil(t, unreachable.TimeAdded, "the template is not modified")

	// Nothing to do: no write.
	added, removed, err = SwapNodeControllerTaint(context.TODO(), c, nil, []*v1.Taint{notReady}, "n1", ctltest.At(6*time.Second))
	require.NoError(t, err)
	assert.Empty(t, added)
	assert.Empty(t, removed)
	// The cached node says the taint is absent: no API call at all.
	removed, err = RemoveTaintOffNode(context.TODO(), c, "missing-node", &v1.Node{}, unreachable)
	require.NoError(t, err)
	assert.Empty(t, removed)
	removed, err = RemoveTaintOffNode(context.TODO(), c, "n1", env.GetNode("n1"), unreachable)
	require.NoError(t, err)
	assert.Len(t, removed, 1)
	assert.Equal(t, []v1.Taint{{Key: "keep", Effect: v1.TaintEffectNoSchedule}}, env.GetNode("n1").Spec.Taints)
}

func TestMarkPodsNotReadyAndIndex(t *testing.T) {
	env := ctltest.New(t, 1)
	env.CreateNode(ctltest.Node("n1", nil, 0))
	pods := env.Factory.Pods()
	require.NoError(t, AddPodNodeNameIndexer(pods.Informer))
	require.NoError(t, AddPodNodeNameIndexer(pods.Informer), "idempotent")
	env.CreatePod(ctltest.Pod("default", "a", "n1", 0))
	env.CreatePod(ctltest.Pod("default", "b", "n1", 0))
	env.CreatePod(ctltest.Pod("default", "c", "n2", 0))
	env.Start()
	onN1, err := PodsAssignedToNode(pods.GetIndexer(), "n1")
	require.NoError(t, err)
	require.Len(t, onN1, 2)
	assert.Equal(t, "a", onN1[0].Name)
	env.Eng.RunFor(30 * time.Second)
	c := env.Client("node-controller")
	var marked []string
	require.NoError(t, MarkPodsNotReady(context.TODO(), c, record.New(c, env.Eng, "node-controller", ""), onN1, "n1",
		metav1.NewTime(env.Eng.Now()), func(p *v1.Pod) { marked = append(marked, p.Name) }))
	assert.Equal(t, []string{"a", "b"}, marked)
	p := env.GetPod("default", "a")
	assert.Equal(t, v1.PodRunning, p.Status.Phase)
	for _, cond := range p.Status.Conditions {
		if cond.Type == v1.PodReady {
			assert.Equal(t, v1.ConditionFalse, cond.Status)
			assert.Equal(t, ctltest.At(30*time.Second).Unix(), cond.LastTransitionTime.Unix())
		}
	}
	assert.Len(t, env.Events("NodeNotReady"), 2)
	env.CheckMutations()
}
