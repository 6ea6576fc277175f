package kubelet

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	v1 "k8s.io/api/core/v1"
)

// GenerateContainersReadyCondition's messages, as upstream words them
// (pkg/kubelet/status/generate.go).
func TestContainersReadyConditionMessages(t *testing.T) {
	always := v1.ContainerRestartPolicyAlways
	spec := &v1.PodSpec{
		InitContainers: []v1.Container{{Name: "once"}, {Name: "side", RestartPolicy: &always}},
		Containers:     []v1.Container{{Name: "a"}, {Name: "b"}, {Name: "c"}},
	}
	st := func(name string, ready bool) v1.ContainerStatus { return v1.ContainerStatus{Name: name, Ready: ready} }
	for _, tc := range []struct {
		statuses []v1.ContainerStatus
		status   v1.ConditionStatus
		message  string
	}{
		{nil, v1.ConditionFalse, "containers with unknown status: [side a b c]"},
		{[]v1.ContainerStatus{st("side", true), st("a", false), st("b", true)}, v1.ConditionFalse,
			"containers with unknown status: [c], containers with unready status: [a]"},
		{[]v1.ContainerStatus{st("side", false), st("a", false), st("b", true), st("c", false)}, v1.ConditionFalse,
			"containers with unready status: [side a c]"},
		{[]v1.ContainerStatus{st("side", true), st("a", true), st("b", true), st("c", true)}, v1.ConditionTrue, ""},
	} {
		got := containersReadyCondition(spec, tc.statuses, v1.PodRunning)
		assert.Equal(t, tc.status, got.Status, tc.message)
		assert.Equal(t, tc.message, got.Message)
		if tc.status == v1.ConditionFalse {
			assert.Equal(t, reasonContainersNotReady, got.Reason)
		} else {
			assert.Empty(t, got.Reason)
		}
	}
}

// A container's ID is containerd's scheme and the hash of its pod, name,
// restart count and the node's boot: stable across runs, new on a restart
// or a reboot.
func TestContainerID(t *testing.T) {
	sum := sha256.Sum256([]byte("uid-1/web/2/boot-a"))
	assert.Equal(t, "containerd://"+hex.EncodeToString(sum[:]), containerID("uid-1", "web", 2, "boot-a"))
	assert.NotEqual(t, containerID("uid-1", "web", 2, "boot-a"), containerID("uid-1", "web", 3, "boot-a"))
	assert.NotEqual(t, containerID("uid-1", "web", 2, "boot-a"), containerID("uid-1", "web", 2, "boot-b"))
}
