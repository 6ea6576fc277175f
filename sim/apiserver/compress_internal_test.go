package apiserver

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/sim"
)

// Every value, event-like or not, comes back from the store's transform
// exactly.
func TestCompressedValuesRoundTrip(t *testing.T) {
	events := newRegistry().byName["events"]
	require.True(t, events.compressed)
	rapid.Check(t, func(t *rapid.T) {
		data := rapid.SliceOfN(rapid.Byte(), 0, 3000).Draw(t, "data")
		stored := storedValue(events, data)
		if got := loadedValue(events, stored); !bytes.Equal(got, data) {
			t.Fatalf("%q stored as %q loads as %q", data, stored, got)
		}
	})
}

// An event as the kubelet records it is stored in well under half its
// protobuf size, and the transform leaves other resources alone.
func TestEventsAreStoredCompressed(t *testing.T) {
	reg := newRegistry()
	at := metav1.NewTime(sim.Epoch.Add(12345e9))
	ev := &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "pod-004711.18867252ab697a75", Namespace: "default",
		UID: "86de5103-8114-485c-8610-81063c2b1d05", CreationTimestamp: at},
		InvolvedObject: v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "pod-004711", UID: "21c20853-0310-4480-b092-4128726cfab7",
			APIVersion: "v1", FieldPath: "spec.containers{c}"},
		Reason: "Pulled", Message: `Container image "registry.k8s.io/pause:3.10" already present on machine`,
		Source: v1.EventSource{Component: "kubelet", Host: "node-01234"}, FirstTimestamp: at, LastTimestamp: at, Count: 1,
		Type: v1.EventTypeNormal, ReportingController: "kubelet", ReportingInstance: "kubelet-node-01234"}
	plain := marshal(ev, nil)
	stored := encode(reg.byName["events"], ev)
	assert.Less(t, len(stored), len(plain)/2, "%d bytes stored for %d", len(stored), len(plain))
	back := decode(reg.byName["events"], stored).(*v1.Event)
	assert.Equal(t, plain, marshal(back, nil), "decodes to the same event")
	assert.Equal(t, ev.Message, back.Message)

	cm := &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	assert.Equal(t, marshal(cm, nil), encode(reg.byName["configmaps"], cm), "only events are compressed")
}
