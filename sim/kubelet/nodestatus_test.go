package kubelet_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/sim/cluster"
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

// A rebooted machine runs a new kubelet process: it registers again
// (tryRegisterWithAPIServer finds the Node and reconciles the default
// labels and the attach-detach annotation, not the other labels), records
// the events of a kubelet start, and its first status update records
// Rebooted (nodestatus.MachineInfo sees another boot ID) and the
// transitions from the Unknown conditions the node lifecycle controller
// set.
func TestRebootRegistersAgain(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	require.NoError(t, e.c.AddNode(cluster.NodeSpec{Name: "n1",
		Capacity: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi")},
		Labels:   map[string]string{v1.LabelTopologyZone: "z1", "team": "a"}}))
	firstBoot := e.getNode("n1").Status.NodeInfo.BootID
	e.at(61 * time.Second)
	require.NoError(t, e.c.CrashNode("n1"))
	e.at(2 * time.Minute)
	ready := func() v1.NodeCondition {
		for _, c := range e.getNode("n1").Status.Conditions {
			if c.Type == v1.NodeReady {
				return c
			}
		}
		return v1.NodeCondition{}
	}
	require.Equal(t, v1.ConditionUnknown, ready().Status, "the node lifecycle controller gave up on the node")

	require.NoError(t, e.c.LabelNode("n1", map[string]string{v1.LabelTopologyZone: "z2", "team": "b"}, []string{v1.LabelHostname}))
	n := e.getNode("n1")
	delete(n.Annotations, "volumes.kubernetes.io/controller-managed-attach-detach")
	_, err := e.cl.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
	require.NoError(t, err)

	e.at(3 * time.Minute)
	require.NoError(t, e.c.RecoverNode("n1"))
	n = e.getNode("n1")
	assert.Equal(t, "n1", n.Labels[v1.LabelHostname])
	assert.Equal(t, "z1", n.Labels[v1.LabelTopologyZone], "a default label (updateDefaultLabels)")
	assert.Equal(t, "b", n.Labels["team"], "not a default label: left as it is")
	assert.Equal(t, "true", n.Annotations["volumes.kubernetes.io/controller-managed-attach-detach"])
	boot := n.Status.NodeInfo.BootID
	require.NotEqual(t, firstBoot, boot)
	assert.Equal(t, v1.ConditionTrue, ready().Status)
	assert.Equal(t, []string{
		"3m0s Starting: Starting kubelet.",
		"3m0s NodeHasSufficientMemory: Node n1 status is now: NodeHasSufficientMemory",
		"3m0s NodeHasNoDiskPressure: Node n1 status is now: NodeHasNoDiskPressure",
		"3m0s NodeHasSufficientPID: Node n1 status is now: NodeHasSufficientPID",
		"3m0s NodeAllocatableEnforced: Updated Node Allocatable limit across pods",
		"3m0s Rebooted: Node n1 has been rebooted, boot id: " + boot,
		"3m0s NodeHasSufficientMemory: Node n1 status is now: NodeHasSufficientMemory",
		"3m0s NodeHasNoDiskPressure: Node n1 status is now: NodeHasNoDiskPressure",
		"3m0s NodeHasSufficientPID: Node n1 status is now: NodeHasSufficientPID",
		"3m0s NodeReady: Node n1 status is now: NodeReady",
	}, e.kubeletEvents("n1", 3*time.Minute))

	// A partition heals without a new kubelet process: no Starting, no
	// Rebooted.
	e.at(4 * time.Minute)
	require.NoError(t, e.c.PartitionNode("n1"))
	e.at(6 * time.Minute)
	require.NoError(t, e.c.RecoverNode("n1"))
	e.at(6*time.Minute + time.Second)
	for _, ev := range e.kubeletEvents("n1", 4*time.Minute) {
		assert.NotContains(t, ev, "Starting")
		assert.NotContains(t, ev, "Rebooted")
	}
	assert.Equal(t, boot, e.getNode("n1").Status.NodeInfo.BootID)
}

// The kubelet records NodeNotSchedulable / NodeSchedulable when it sees
// spec.unschedulable change at a status update (recordNodeSchedulableEvent),
// whether or not it writes the status.
func TestCordonRecordsSchedulableEvents(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.at(15 * time.Second)
	require.NoError(t, e.c.Cordon("n1"))
	e.at(31 * time.Second)
	require.NoError(t, e.c.Uncordon("n1"))
	e.at(45 * time.Second)
	var got []string
	for _, ev := range e.kubeletEvents("n1", time.Second) {
		if strings.Contains(ev, "Schedulable") {
			got = append(got, ev)
		}
	}
	assert.Equal(t, []string{"20s NodeNotSchedulable: Node n1 status is now: NodeNotSchedulable",
		"40s NodeSchedulable: Node n1 status is now: NodeSchedulable"}, got)
}

// A Node deleted behind a running kubelet's back is not registered again
// (registrationCompleted stays true; kubernetes/kubernetes#71398), and
// once the garbage collector removed its Lease the kubelet does not create
// one: the owner reference needs the Node's UID, read afresh
// (pkg/kubelet/util/nodelease.go SetNodeOwnerFunc), and without it the
// lease controller skips the create.
func TestNodeDeletedUnderARunningKubelet(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.at(15 * time.Second)
	require.NoError(t, e.cl.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}))
	e.at(3 * time.Minute)
	_, err := e.cl.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "not registered again: %v", err)
	_, err = e.cl.CoordinationV1().Leases(v1.NamespaceNodeLease).Get(ctx, "n1", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the Lease is gone: %v", err)
	var creates []time.Duration
	for _, r := range e.recs {
		if r.Kind == "Lease" && r.Name == "n1" && r.Verb == "create" {
			creates = append(creates, r.Time)
		}
	}
	assert.Equal(t, []time.Duration{0}, creates)
}

// A Node deleted while its machine is down is registered anew when the
// machine boots again (a new kubelet process), and its Lease is owned by
// the new Node.
func TestNodeDeletedWhileCrashedRegistersAgain(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	old := e.getNode("n1").UID
	e.at(15 * time.Second)
	require.NoError(t, e.c.CrashNode("n1"))
	require.NoError(t, e.cl.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}))
	e.at(time.Minute)
	require.NoError(t, e.c.RecoverNode("n1"))
	n := e.getNode("n1")
	assert.NotEqual(t, old, n.UID)
	assert.Equal(t, []v1.Taint{{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoSchedule}}, n.Spec.Taints,
		"registered again: the NodeTaint admission plugin's taint")
	e.at(time.Minute + time.Second)
	lease, err := e.cl.CoordinationV1().Leases(v1.NamespaceNodeLease).Get(ctx, "n1", metav1.GetOptions{})
	require.NoError(t, err)
	require.Len(t, lease.OwnerReferences, 1)
	assert.Equal(t, n.UID, lease.OwnerReferences[0].UID)
}

// Since v1.23 the status update puts back kubernetes.io/os and
// kubernetes.io/arch when they are missing or wrong (Kubelet.updateNode).
func TestStatusUpdateRestoresOSAndArchLabels(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.at(15 * time.Second)
	require.NoError(t, e.c.LabelNode("n1", map[string]string{v1.LabelArchStable: "arm64"}, []string{v1.LabelOSStable}))
	e.at(20 * time.Second)
	n := e.getNode("n1")
	assert.Equal(t, "linux", n.Labels[v1.LabelOSStable])
	assert.Equal(t, "amd64", n.Labels[v1.LabelArchStable])
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
