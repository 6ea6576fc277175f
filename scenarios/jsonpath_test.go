package scenarios

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var testEpoch = metav1.NewTime(time.Date(2026, time.January, 1, 0, 0, 30, 0, time.UTC))

// Test objects as the API server would hold them: no TypeMeta (the runner's
// store does not keep it), status filled in. Each has an annotation, so the
// kubectl check below (which runs `kubectl annotate --local`) changes nothing.
func testDeployment() *appsv1.Deployment {
	replicas := int32(3)
	grace := int64(30)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "default", CreationTimestamp: testEpoch,
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"kubesim.dev/cpu-per-request": "10m"},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: v1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []v1.Container{
						{Name: "web", Image: "nginx", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
							v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("1Gi")}},
							Ports: []v1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 443}}},
						{Name: "sidecar", Image: "envoy"},
					},
				},
			},
		},
		Status: appsv1.DeploymentStatus{
			Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, ObservedGeneration: 1,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: v1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastTransitionTime: testEpoch},
				{Type: appsv1.DeploymentProgressing, Status: v1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastTransitionTime: testEpoch},
			},
		},
	}
}

func testNode() *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "worker-1", Labels: map[string]string{ZoneLabel: "zone-a"},
			Annotations: map[string]string{"kubesim.dev/group": "worker"}},
		Spec: v1.NodeSpec{Unschedulable: true, Taints: []v1.Taint{{Key: "node.kubernetes.io/unreachable", Effect: v1.TaintEffectNoExecute, TimeAdded: &testEpoch}}},
		Status: v1.NodeStatus{
			Capacity:    v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")},
			Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("3800m"), v1.ResourceMemory: resource.MustParse("7.5Gi")},
			Conditions:  []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionUnknown, Reason: "NodeStatusUnknown"}},
		},
	}
}

func testPod() *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{"kubesim.dev/note": "x"}},
		Spec: v1.PodSpec{NodeName: "worker-1", Containers: []v1.Container{{Name: "web", Image: "nginx"}}},
		Status: v1.PodStatus{
			Phase: v1.PodRunning, PodIP: "10.244.1.5", PodIPs: []v1.PodIP{{IP: "10.244.1.5"}},
			ContainerStatuses: []v1.ContainerStatus{{Name: "web", Ready: true, RestartCount: 0}},
		},
	}
}

type jsonPathCase struct {
	name     string
	obj      func() runtime.Object
	resource string
	template string
	want     string // what kubectl prints; verified with kubectl 1.32 (see TestJSONPathMatchesKubectl)
	wantErr  string // kubectl fails with this error instead
}

var jsonPathCases = []jsonPathCase{
	{"int field", func() runtime.Object { return testDeployment() }, "deployment", "{.spec.replicas}", "3", ""},
	{"status int", func() runtime.Object { return testDeployment() }, "deployment", "{.status.readyReplicas}", "2", ""},
	{"map prints as JSON", func() runtime.Object { return testDeployment() }, "deployment", "{.metadata.labels}", `{"app":"web","tier":"front"}`, ""},
	{"wildcard is space separated", func() runtime.Object { return testDeployment() }, "deployment", "{.spec.template.spec.containers[*].name}", "web sidecar", ""},
	{"nested wildcard", func() runtime.Object { return testDeployment() }, "deployment", "{.spec.template.spec.containers[0].ports[*].containerPort}", "80 443", ""},
	{"quantity", func() runtime.Object { return testDeployment() }, "deployment", "{.spec.template.spec.containers[0].resources.requests.cpu}", "100m", ""},
	{"filter", func() runtime.Object { return testDeployment() }, "deployment", `{.status.conditions[?(@.type=="Available")].status}`, "True", ""},
	{"missing key prints nothing", func() runtime.Object { return testDeployment() }, "deployment", "{.status.unavailableReplicas}", "", ""},
	{"kind and apiVersion are set", func() runtime.Object { return testDeployment() }, "deployment", "{.kind}/{.apiVersion}", "Deployment/apps/v1", ""},
	{"range", func() runtime.Object { return testDeployment() }, "deployment", "{range .spec.template.spec.containers[*]}{.name}={.image};{end}", "web=nginx;sidecar=envoy;", ""},
	{"empty struct", func() runtime.Object { return testDeployment() }, "deployment", "{.spec.strategy}", "{}", ""},
	{"time", func() runtime.Object { return testDeployment() }, "deployment", "{.metadata.creationTimestamp}", "2026-01-01T00:00:30Z", ""},
	{"escaped dot in key", func() runtime.Object { return testDeployment() }, "deployment", `{.metadata.annotations.kubesim\.dev/cpu-per-request}`, "10m", ""},
	{"literal text", func() runtime.Object { return testDeployment() }, "deployment", `replicas={.spec.replicas}{"\n"}`, "replicas=3\n", ""},
	{"int64", func() runtime.Object { return testDeployment() }, "deployment", "{.spec.template.spec.terminationGracePeriodSeconds}", "30", ""},
	{"list of conditions", func() runtime.Object { return testDeployment() }, "deployment", "{.status.conditions[*].type}", "Available Progressing", ""},
	{"out of range index fails", func() runtime.Object { return testDeployment() }, "deployment", "{.spec.template.spec.containers[5].name}", "",
		"array index out of bounds: index 5, length 2"},
	{"bool", func() runtime.Object { return testNode() }, "node", "{.spec.unschedulable}", "true", ""},
	{"node capacity", func() runtime.Object { return testNode() }, "node", "{.status.capacity.cpu} {.status.allocatable.memory}", "4 7680Mi", ""},
	{"taint list", func() runtime.Object { return testNode() }, "node", "{.spec.taints[0]}", `{"effect":"NoExecute","key":"node.kubernetes.io/unreachable","timeAdded":"2026-01-01T00:00:30Z"}`, ""},
	{"label with dots and slash", func() runtime.Object { return testNode() }, "node", `{.metadata.labels.topology\.kubernetes\.io/zone}`, "zone-a", ""},
	{"ready condition", func() runtime.Object { return testNode() }, "node", `{.status.conditions[?(@.type=="Ready")].reason}`, "NodeStatusUnknown", ""},
	{"pod phase", func() runtime.Object { return testPod() }, "pod", "{.status.phase}", "Running", ""},
	{"zero int kept", func() runtime.Object { return testPod() }, "pod", "{.status.containerStatuses[0].restartCount}", "0", ""},
	{"bool in list", func() runtime.Object { return testPod() }, "pod", "{.status.containerStatuses[*].ready}", "true", ""},
	{"pod ips", func() runtime.Object { return testPod() }, "pod", "{.status.podIPs}", `[{"ip":"10.244.1.5"}]`, ""},
}

// TestJSONPathText checks kubesim's jsonpath output against what kubectl
// printed for the same objects (recorded in jsonPathCases).
func TestJSONPathText(t *testing.T) {
	for _, c := range jsonPathCases {
		t.Run(c.name, func(t *testing.T) {
			r, ok := LookupResource(c.resource)
			require.True(t, ok)
			j, err := compileJSONPath(c.template)
			require.NoError(t, err)
			got, err := JSONPathText(c.obj(), r, j)
			if c.wantErr != "" {
				require.EqualError(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

// TestJSONPathMatchesKubectl re-derives the recorded outputs with the real
// kubectl when it is installed: each object is written as the JSON the API
// server would return (apiVersion and kind set) and printed with
// `kubectl annotate --local -f FILE <absent-key>- -o jsonpath=TEMPLATE`,
// which works offline and leaves objects that already have annotations
// unchanged. Without kubectl it still checks that every recorded output is
// what kubesim prints, so it never passes vacuously.
func TestJSONPathMatchesKubectl(t *testing.T) {
	kubectl, lookErr := exec.LookPath("kubectl")
	dir := t.TempDir()
	for i, c := range jsonPathCases {
		r, _ := LookupResource(c.resource)
		obj := c.obj()
		j, err := compileJSONPath(c.template)
		require.NoError(t, err)
		ours, err := JSONPathText(obj, r, j)
		if c.wantErr != "" {
			require.EqualError(t, err, c.wantErr, c.name)
		} else {
			require.NoError(t, err)
			require.Equal(t, c.want, ours, c.name)
		}
		if lookErr != nil {
			continue
		}
		obj.GetObjectKind().SetGroupVersionKind(r.GVK())
		data, err := json.Marshal(obj)
		require.NoError(t, err)
		file := filepath.Join(dir, c.resource+string(rune('a'+i))+".json")
		require.NoError(t, os.WriteFile(file, data, 0o644))
		out, err := exec.Command(kubectl, "annotate", "--local", "-f", file, "kubesim-absent-key-", "-o", "jsonpath="+c.template).CombinedOutput()
		if c.wantErr != "" {
			require.Error(t, err, "%s: kubectl should fail", c.name)
			assert.Contains(t, string(out), "Error executing template: "+c.wantErr+".", c.name)
			continue
		}
		require.NoError(t, err, "%s: %s", c.name, out)
		assert.Equal(t, c.want, string(out), "%s: kubectl disagrees with the recorded output", c.name)
	}
	if lookErr != nil {
		t.Logf("kubectl not installed: compared with the recorded kubectl outputs only")
	}
}
