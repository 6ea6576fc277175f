package scenarios

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// More objects for the jsonpath cases: text that JSON escapes, nested
// lists, int-or-string fields, quantities, times with microseconds, big
// integers.

func testRichPod() *v1.Pod {
	deadline := int64(1<<53 + 1) // not exact as a float64
	started := metav1.NewTime(testEpoch.Add(90e9))
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-0", Namespace: "shop", CreationTimestamp: testEpoch,
			Labels: map[string]string{"app": "shop", "app.kubernetes.io/name": "shop"},
			Annotations: map[string]string{
				"note":  `say "hi" <b>&amp;</b> — café 日本 \ end`,
				"empty": "",
			}},
		Spec: v1.PodSpec{
			NodeName:              "worker-2",
			ActiveDeadlineSeconds: &deadline,
			InitContainers:        []v1.Container{{Name: "init", Image: "busybox", Command: []string{"sh", "-c", "echo 'ready'\n\tdone"}}},
			Containers: []v1.Container{
				{Name: "web", Image: "nginx:1.27", Ports: []v1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: v1.ProtocolTCP}, {Name: "https", ContainerPort: 443, Protocol: v1.ProtocolTCP}},
					Env: []v1.EnvVar{{Name: "GREETING", Value: "line one\nline\ttwo"}},
					Resources: v1.ResourceRequirements{
						Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("1.5"), v1.ResourceMemory: resource.MustParse("0.5Gi")},
						Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("2000m"), v1.ResourceMemory: resource.MustParse("1e3")}}},
				{Name: "envoy", Image: "envoyproxy/envoy", Ports: []v1.ContainerPort{{ContainerPort: 9901, Protocol: v1.ProtocolTCP}}},
				{Name: "log", Image: "fluent-bit"},
			},
		},
		Status: v1.PodStatus{
			Phase: v1.PodRunning, PodIP: "10.244.2.7", PodIPs: []v1.PodIP{{IP: "10.244.2.7"}, {IP: "fd00::7"}},
			StartTime: &testEpoch,
			Conditions: []v1.PodCondition{
				{Type: v1.PodScheduled, Status: v1.ConditionTrue, LastTransitionTime: testEpoch},
				{Type: v1.PodReady, Status: v1.ConditionFalse, Reason: "ContainersNotReady", Message: "containers with unready status: [log]", LastTransitionTime: started},
			},
			InitContainerStatuses: []v1.ContainerStatus{{Name: "init", Ready: true, State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: testEpoch, FinishedAt: started}}}},
			ContainerStatuses: []v1.ContainerStatus{
				{Name: "web", Ready: true, Started: ptrTo(true), RestartCount: 0, State: v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: started}}},
				{Name: "envoy", Ready: true, Started: ptrTo(true), RestartCount: 2, State: v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: started}},
					LastTerminationState: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled", StartedAt: testEpoch, FinishedAt: started}}},
				{Name: "log", Ready: false, Started: ptrTo(false), RestartCount: 5, State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 2m40s restarting failed container=log"}}},
			},
		},
	}
}

func ptrTo[T any](v T) *T { return &v }

func testService() *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: testEpoch},
		Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeNodePort, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			Selector: map[string]string{"app": "web"},
			Ports: []v1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: 30080, Protocol: v1.ProtocolTCP},
				{Name: "https", Port: 443, TargetPort: intstr.FromString("https"), NodePort: 30443, Protocol: v1.ProtocolTCP},
			},
			SessionAffinity: v1.ServiceAffinityNone, ExternalTrafficPolicy: v1.ServiceExternalTrafficPolicyCluster,
		},
	}
}

func testHPA() *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: testEpoch},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptrTo(int32(2)), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: v1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptrTo(int32(50))}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: v1.ResourceMemory,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptrTo(resource.MustParse("0.25Gi"))}}},
			},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: 4, DesiredReplicas: 5, LastScaleTime: &testEpoch,
			CurrentMetrics: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: v1.ResourceCPU,
					Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptrTo(int32(49)), AverageValue: ptrTo(resource.MustParse("0.245"))}}},
			},
		},
	}
}

func testLease() *coordinationv1.Lease {
	renew := metav1.NewMicroTime(testEpoch.Add(123456789))
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "worker-1", Namespace: "kube-node-lease", CreationTimestamp: testEpoch,
			Annotations: map[string]string{"kubesim.dev/note": "x"}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptrTo("worker-1"), LeaseDurationSeconds: ptrTo(int32(40)), RenewTime: &renew},
	}
}

func testConfigMap() *v1.ConfigMap {
	return &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "default", CreationTimestamp: testEpoch},
		Data:       map[string]string{"-": "dash", "a.b": "dotted", "_x": "under", "Z": "upper", "9": "digit"},
		BinaryData: map[string][]byte{"blob": {0, 1, 2, 0xff}},
	}
}
