package apiserver

import (
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/internal/bytedelta"
	"github.com/kubesim/kubesim/sim"
)

// Events are most of what a busy cluster stores (four for every pod that
// starts: Scheduled, Pulled, Created, Started) and are rarely read back, so
// the server stores them compressed, as deltas against a dictionary of
// typical events (internal/bytedelta): the protobuf framing and the phrases
// every event repeats ("Successfully assigned", "kubelet", "already present
// on machine", "spec.containers{...}") become copies, names, UIDs and times
// stay literal. A 330-byte event takes about 170. It is a storage
// transformer as kube-apiserver's EncryptionConfiguration is one: values
// are transformed on their way to the store and back, and no client can
// tell. The encoding is deterministic, so equal events still have equal
// bytes.

// storedValue transforms an encoded object for the store.
func storedValue(res *Resource, data []byte) []byte {
	if !res.compressed {
		return data
	}
	var buf [1024]byte
	out := eventDict().Encode(buf[:0], data)
	// An exact-size copy: the store keeps it.
	return append(make([]byte, 0, len(out)), out...)
}

// loadedValue undoes storedValue.
func loadedValue(res *Resource, data []byte) []byte {
	if !res.compressed {
		return data
	}
	return eventDict().Decode(nil, data)
}

// eventDict is the compression dictionary of events: the encodings of a
// few events like those the cluster's components record.
var eventDict = sync.OnceValue(func() *bytedelta.Dict {
	var samples []byte
	add := func(ev *v1.Event) {
		data, err := ev.Marshal()
		if err != nil {
			panic(err)
		}
		samples = append(samples, data...)
	}
	at := metav1.NewTime(sim.Epoch)
	pod := v1.ObjectReference{Kind: "Pod", Namespace: metav1.NamespaceDefault, Name: "web-7d9c6b5f4-x2x8q",
		UID: "8f4e2a1c-3b5d-4e6f-8a9b-0c1d2e3f4a5b", APIVersion: "v1", FieldPath: "spec.containers{web}"}
	kubelet := v1.EventSource{Component: "kubelet", Host: "node-00000"}
	for _, s := range []struct {
		reason, message, typ string
		source               v1.EventSource
		fieldPath            bool
	}{
		{"Scheduled", "Successfully assigned default/web-7d9c6b5f4-x2x8q to node-00000", v1.EventTypeNormal, v1.EventSource{Component: "default-scheduler"}, false},
		{"Pulling", `Pulling image "registry.k8s.io/pause:3.10"`, v1.EventTypeNormal, kubelet, true},
		{"Pulled", `Successfully pulled image "registry.k8s.io/pause:3.10" in 2.178s (2.178s including waiting). Image size: 313860535 bytes.`, v1.EventTypeNormal, kubelet, true},
		{"Pulled", `Container image "registry.k8s.io/pause:3.10" already present on machine`, v1.EventTypeNormal, kubelet, true},
		{"Created", "Created container: web", v1.EventTypeNormal, kubelet, true},
		{"Started", "Started container web", v1.EventTypeNormal, kubelet, true},
		{"Killing", "Stopping container web", v1.EventTypeNormal, kubelet, true},
		{"BackOff", "Back-off restarting failed container web in pod web-7d9c6b5f4-x2x8q_default(8f4e2a1c-3b5d-4e6f-8a9b-0c1d2e3f4a5b)", v1.EventTypeWarning, kubelet, true},
		{"FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.", v1.EventTypeWarning, v1.EventSource{Component: "default-scheduler"}, false},
		{"SuccessfulCreate", "Created pod: web-7d9c6b5f4-x2x8q", v1.EventTypeNormal, v1.EventSource{Component: "replicaset-controller"}, false},
		{"Starting", "Starting kubelet.", v1.EventTypeNormal, kubelet, false},
		{"NodeHasSufficientMemory", "Node node-00000 status is now: NodeHasSufficientMemory", v1.EventTypeNormal, kubelet, false},
		{"NodeReady", "Node node-00000 status is now: NodeReady", v1.EventTypeNormal, kubelet, false},
		{"RegisteredNode", "Node node-00000 event: Registered Node node-00000 in Controller", v1.EventTypeNormal, v1.EventSource{Component: "node-controller"}, false},
	} {
		ref := pod
		if !s.fieldPath {
			ref.FieldPath = ""
		}
		if strings.HasPrefix(s.message, "Node ") || s.reason == "Starting" {
			ref = v1.ObjectReference{Kind: "Node", Name: "node-00000", UID: "node-00000", APIVersion: "v1"}
		}
		instance := s.source.Component
		if s.source.Host != "" {
			instance += "-" + s.source.Host
		}
		add(&v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web-7d9c6b5f4-x2x8q.18867252ab697a75", Namespace: metav1.NamespaceDefault,
			UID: "1b380f46-5a01-4ed8-8fb8-da942ae26d35", CreationTimestamp: at},
			InvolvedObject: ref, Reason: s.reason, Message: s.message, Source: s.source, FirstTimestamp: at, LastTimestamp: at,
			Count: 1, Type: s.typ, ReportingController: s.source.Component, ReportingInstance: instance})
	}
	return bytedelta.NewDict(samples)
})
