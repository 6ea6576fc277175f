package scheduler

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSmokeSchedulesPods(t *testing.T) {
	e := newEnv(t, DefaultConfig(), true)
	e.addNodes(node("n1", "2", "4Gi"), node("n2", "2", "4Gi"))
	e.addPods(pod("a", "1500m", "1Gi"), pod("b", "1500m", "1Gi"), pod("c", "1500m", "1Gi"))
	e.settle()
	require.Len(t, e.api.binds, 2)
	require.NotEqual(t, e.api.binds["default/a"], e.api.binds["default/b"])
	c := e.api.conds["default/c"]
	require.Equal(t, "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.", c.Message)
	a, ok := e.s.Explain("default", "c")
	require.True(t, ok)
	t.Log(a)
	a, _ = e.s.Explain("default", "a")
	t.Log(a)
}
