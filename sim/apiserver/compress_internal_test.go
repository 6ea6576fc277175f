package apiserver

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/sim"
)

// Every value comes back from the store's transform exactly, whatever the
// dictionaries the values before it made; equal values are the same value
// and different ones are not, across dictionaries too.
func TestStoredValuesRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		reg := newRegistry()
		res := reg.byName[rapid.SampledFrom([]string{"events", "pods", "configmaps"}).Draw(t, "resource")]
		// Values alike (one alphabet, lengths around the thresholds) and not.
		gen := rapid.OneOf(rapid.SliceOfN(rapid.ByteRange('a', 'd'), 0, 600), rapid.SliceOfN(rapid.Byte(), 0, 3000))
		var raws, stored [][]byte
		// equal(i, j): stored[i], made from raws[i], against stored[j].
		equal := func(i, j int) bool { return res.codec.sameValue(stored[i], raws[i], stored[j]) }
		for range rapid.IntRange(1, 30).Draw(t, "values") {
			raw := gen.Draw(t, "raw")
			st := res.codec.store(append([]byte(nil), raw...))
			require.NotEmpty(t, st)
			require.LessOrEqual(t, len(st), len(raw)+1, "never more than the tag over the raw value")
			raws, stored = append(raws, raw), append(stored, st)
		}
		require.LessOrEqual(t, len(res.codec.dicts), maxDicts)
		for i := range raws {
			require.Equal(t, string(raws[i]), string(res.codec.load(stored[i])), "value %d", i)
			j := rapid.IntRange(0, len(raws)-1).Draw(t, "other")
			assert.Equal(t, string(raws[i]) == string(raws[j]), equal(i, j), "values %d and %d", i, j)
		}
	})
}

// An event as the kubelet records it is stored in well under half its
// protobuf size (the fixed dictionary of events).
func TestEventsAreStoredCompressed(t *testing.T) {
	reg := newRegistry()
	at := metav1.NewTime(sim.Epoch.Add(12345e9))
	ev := &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "pod-004711.18867252ab697a75", Namespace: "default",
		UID: "86de5103-8114-485c-8610-81063c2b1d05", CreationTimestamp: at},
		InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "pod-004711", UID: "21c20853-0310-4480-b092-4128726cfab7",
			APIVersion: "v1", FieldPath: "spec.containers{c}"},
		Reason: "Pulled", Message: `Container image "registry.k8s.io/pause:3.10" already present on machine`,
		Source: v1.EventSource{Component: "kubelet", Host: "node-01234"}, FirstTimestamp: at, LastTimestamp: at, Count: 1,
		Type: v1.EventTypeNormal, ReportingController: "kubelet", ReportingInstance: "node-01234"}
	plain := marshal(ev, nil)
	stored := encode(reg.byName["events"], ev)
	assert.Less(t, len(stored), len(plain)/2, "%d bytes stored for %d", len(stored), len(plain))
	back := decode(reg.byName["events"], stored).(*v1.Event)
	assert.Equal(t, plain, marshal(back, nil), "decodes to the same event")
	assert.Equal(t, ev.Message, back.Message)
	assert.Len(t, reg.byName["events"].codec.dicts, 1, "events keep their one dictionary")
}

// Pods of one template are stored as deltas against the resource's first
// values: a Pending pod makes the first dictionary, the first Running one
// (which adds a status the first lacks) the second, and every later pod,
// Pending or Running, takes a fraction of its encoding.
func TestPodsAreStoredAgainstTheirOwnKind(t *testing.T) {
	res := newRegistry().byName["pods"]
	encode(res, samplePod(0, false))
	encode(res, samplePod(0, true))
	require.Len(t, res.codec.dicts, 2)
	for i := 1; i < 20; i++ {
		for _, running := range []bool{false, true} {
			p := samplePod(i, running)
			plain, stored := marshal(p, nil), encode(res, p)
			assert.Less(t, len(stored), len(plain)/3, "pod %d (running %v): %d bytes stored for %d", i, running, len(stored), len(plain))
			assert.Equal(t, plain, marshal(decode(res, stored), nil))
		}
	}
	assert.Len(t, res.codec.dicts, 2, "pods alike make no more dictionaries")
}

// keyWithValue gives the key res.key gives and a copy of the value, whose
// appends never reach the key; transform gives what store gives.
func TestKeyWithValue(t *testing.T) {
	reg, twin := newRegistry(), newRegistry() // twin's codecs see the same values
	rapid.Check(t, func(t *rapid.T) {
		name := rapid.SampledFrom([]string{"events", "nodes"}).Draw(t, "resource")
		res := reg.byName[name]
		ns, obj := rapid.StringMatching(`[a-z]{0,8}`).Draw(t, "namespace"), rapid.StringMatching(`[a-z0-9.-]{1,20}`).Draw(t, "name")
		value := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "value")
		key, v := res.keyWithValue(ns, obj, value)
		require.Equal(t, res.key(ns, obj), key)
		require.Equal(t, string(value), string(v))
		require.Equal(t, len(v), cap(v), "the value ends where the key starts")
		_ = append(v, 'x')
		require.Equal(t, res.key(ns, obj), key, "an append to the value leaves the key")
		require.Equal(t, string(res.codec.store(append([]byte(nil), value...))), string(twin.byName[name].codec.transform(value)))
	})
}

// samplePod is the i-th pod of a template, Pending or Running.
func samplePod(i int, running bool) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%05d", i), Namespace: "default",
		UID: types.UID(fmt.Sprintf("0b6d3c2e-5f1a-4c8e-9d7b-2a4e6f8c0%03d", i)), CreationTimestamp: metav1.NewTime(sim.Epoch)},
		Spec: v1.PodSpec{NodeName: fmt.Sprintf("node-%03d", i%7), Containers: []v1.Container{{Name: "web", Image: "registry.k8s.io/nginx:1.27",
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}}}},
			Tolerations: []v1.Toleration{{Key: v1.TaintNodeNotReady, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}}}}
	if running {
		at := metav1.NewTime(sim.Epoch.Add(3e9))
		ip := fmt.Sprintf("10.0.%d.%d", i%7, i%250+2)
		cond := func(t v1.PodConditionType) v1.PodCondition {
			return v1.PodCondition{Type: t, Status: v1.ConditionTrue, LastTransitionTime: at}
		}
		p.Status = v1.PodStatus{Phase: v1.PodRunning, PodIP: ip, PodIPs: []v1.PodIP{{IP: ip}}, StartTime: &at,
			HostIP: fmt.Sprintf("172.16.0.%d", i%7), QOSClass: v1.PodQOSBurstable,
			Conditions: []v1.PodCondition{cond(v1.PodReadyToStartContainers), cond(v1.PodInitialized), cond(v1.PodReady),
				cond(v1.ContainersReady), cond(v1.PodScheduled)},
			ContainerStatuses: []v1.ContainerStatus{{Name: "web", Ready: true, Image: "registry.k8s.io/nginx:1.27",
				ImageID:     "registry.k8s.io/nginx@sha256:6f731803067f31e94ef5b69886fd237b34be5aba29183bbb1ba34b849077e1ca",
				ContainerID: fmt.Sprintf("containerd://%064x", i*7919), State: v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: at}}}}}
	}
	return p
}

// BenchmarkStoreTransform measures the storage transform of pods (Pending
// and Running, against their own dictionaries) and of events (against the
// fixed one).
func BenchmarkStoreTransform(b *testing.B) {
	b.Run("pods", func(b *testing.B) {
		res := newRegistry().byName["pods"]
		var raws [][]byte
		for i := range 64 {
			raws = append(raws, marshal(samplePod(i, i%2 == 1), nil))
		}
		res.codec.store(raws[0])
		res.codec.store(raws[1])
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			res.codec.transform(raws[i%len(raws)])
		}
	})
	b.Run("events", func(b *testing.B) {
		res := newRegistry().byName["events"]
		var raws [][]byte
		for i := range 64 {
			raws = append(raws, marshal(sampleEvent(i), nil))
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			res.codec.transform(raws[i%len(raws)])
		}
	})
}

// sampleEvent is the i-th event like those a kubelet records.
func sampleEvent(i int) *v1.Event {
	at := metav1.NewTime(sim.Epoch.Add(time.Duration(12345+i) * time.Second))
	reasons := [...]string{"Pulling", "Pulled", "Created", "Started"}
	msgs := [...]string{`Pulling image "registry.k8s.io/pause:3.10"`,
		`Successfully pulled image "registry.k8s.io/pause:3.10" in 2.178s (2.178s including waiting). Image size: 313860535 bytes.`,
		"Created container: c", "Started container c"}
	return &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%06d.18867252ab6%05x", i, i), Namespace: "default",
		UID: types.UID(fmt.Sprintf("86de5103-8114-485c-8610-81063c2%05d", i)), CreationTimestamp: at},
		InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: fmt.Sprintf("pod-%06d", i),
			UID: types.UID(fmt.Sprintf("21c20853-0310-4480-b092-41287%07d", i)), APIVersion: "v1", FieldPath: "spec.containers{c}"},
		Reason: reasons[i%4], Message: msgs[i%4],
		Source: v1.EventSource{Component: "kubelet", Host: fmt.Sprintf("node-%05d", i%5000)}, FirstTimestamp: at, LastTimestamp: at, Count: 1,
		Type: v1.EventTypeNormal, ReportingController: "kubelet", ReportingInstance: fmt.Sprintf("node-%05d", i%5000)}
}
