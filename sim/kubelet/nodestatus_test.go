package kubelet_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/sim/kubelet"
)

// kubeletEvents lists "t Reason: message" for the Events node's kubelet
// recorded about its Node from time from on.
func (e *env) kubeletEvents(node string, from time.Duration) []string {
	var out []string
	for _, r := range e.recs {
		if r.Kind != "Event" || (r.Verb != "create" && r.Verb != "update") || r.Component != "kubelet/"+node || r.Time < from {
			continue
		}
		parts := strings.SplitN(r.Msg, " ", 4)
		if len(parts) < 4 || parts[2] != "Node/"+node+":" {
			continue
		}
		out = append(out, fmt.Sprintf("%v %s: %s", r.Time, parts[1], parts[3]))
	}
	return out
}

func (e *env) getNode(name string) *v1.Node {
	e.t.Helper()
	n, err := e.cl.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	require.NoError(e.t, err)
	return n
}

// The condition setters update the kubelet's conditions where they are
// and append missing ones; conditions other components add keep their
// place, and a status that only differs in order is not written.
func TestNodeConditionsKeepTheirOrder(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.at(15 * time.Second)
	n := e.getNode("n1")
	n.Status.Conditions = append(n.Status.Conditions, v1.NodeCondition{Type: "KernelDeadlock", Status: v1.ConditionFalse,
		Reason: "KernelHasNoDeadlock", Message: "kernel has no deadlock", LastTransitionTime: at0(15 * time.Second)})
	_, err := e.cl.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.at(6 * time.Minute)
	var types []string
	for _, c := range e.getNode("n1").Status.Conditions {
		types = append(types, string(c.Type))
	}
	assert.Equal(t, []string{"MemoryPressure", "DiskPressure", "PIDPressure", "Ready", "KernelDeadlock"}, types)
	var writes []time.Duration
	for _, r := range e.recs {
		if r.Kind == "Node" && r.Name == "n1" && r.Verb == "update/status" && r.Component == "kubelet/n1" {
			writes = append(writes, r.Time)
		}
	}
	assert.Equal(t, []time.Duration{5 * time.Minute}, writes, "only the report-frequency write")
}
