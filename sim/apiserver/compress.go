package apiserver

import (
	"fmt"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/internal/bytedelta"
	"github.com/kubesim/kubesim/sim"
)

// The store holds every value through a storage transform, as
// kube-apiserver's EncryptionConfiguration transforms values on their way
// to etcd and back, and no client can tell: each value is a delta against
// one of a few dictionaries (internal/bytedelta), which turns the protobuf
// framing and the phrases objects of a kind share into short copies.
//
// Objects of one kind are much alike — pods of one template differ in
// their names, UIDs, node, IPs and times — so a resource's dictionaries
// are its own values: the first value the resource stores becomes its
// first dictionary, and a later value that compresses to more than a fifth
// of its size against the newest dictionary becomes the next (a pod that
// is Running brings the status fields a Pending one lacks), up to
// maxDicts (see wantsDict). A running pod of ~960 bytes is stored in ~100,
// and the store's reverse deltas between a key's versions shrink with it.
// Events, the bulk of a busy cluster's writes and rarely read back, use
// one fixed dictionary of typical events instead (a 355-byte event takes
// about 130).
//
// A stored value is one tag byte, then the payload: tagRaw and the
// protobuf encoding, or i+1 and its delta against dictionary i. Everything
// is decided by the sequence of writes alone, so a run and its replay
// store the same bytes.
type valueCodec struct {
	dicts []*bytedelta.Dict
	fixed bool   // the dictionaries were given: no value becomes one
	buf   []byte // load's result (a server is used by one engine at a time)
	out   []byte // transform's result
}

const (
	tagRaw = 0
	// maxDicts bounds the dictionaries of a resource.
	maxDicts = 8
	// minCompressed is the shortest value worth a delta.
	minCompressed = 64
	// minDictBase and maxDictBase bound the values that may become a
	// dictionary.
	minDictBase = 256
	maxDictBase = 16 << 10
)

// A resource's values become dictionaries only up to the dictionaries'
// own limit (this fails to compile otherwise).
var _ [bytedelta.MaxDictBase - maxDictBase]struct{}

func newFixedCodec(d *bytedelta.Dict) valueCodec {
	return valueCodec{dicts: []*bytedelta.Dict{d}, fixed: true}
}

// store transforms raw (an encoding the caller reuses) into a value of
// its own, exactly sized, for the store.
func (c *valueCodec) store(raw []byte) []byte { return exact(c.transform(raw)) }

// transform is store's value in the codec's buffer, valid until its next
// transform (a server is used by one engine at a time).
func (c *valueCodec) transform(raw []byte) []byte {
	c.out = c.appendValue(c.out[:0], raw)
	return c.out
}

// appendValue appends raw's stored value to out.
func (c *valueCodec) appendValue(out, raw []byte) []byte {
	start := len(out)
	if len(raw) >= minCompressed {
		if n := len(c.dicts); n > 0 {
			out = c.dicts[n-1].Encode(append(out, byte(n)), raw)
			if size := len(out) - start - 1; size < len(raw) && !c.wantsDict(raw, size) {
				return out
			}
			out = out[:start]
		}
		if c.wantsDict(raw, len(raw)) {
			c.dicts = append(c.dicts, bytedelta.NewDict(exact(raw)))
			n := len(c.dicts)
			return c.dicts[n-1].Encode(append(out, byte(n)), raw)
		}
	}
	return append(append(out, tagRaw), raw...)
}

// wantsDict reports whether raw, which compresses to n bytes against the
// newest dictionary (len(raw) if there is none), should become the next
// one: it compresses to more than a fifth, its length is within
// [minDictBase, maxDictBase] (short values — leases — are mostly names and
// times), and there is room.
func (c *valueCodec) wantsDict(raw []byte, n int) bool {
	return !c.fixed && len(c.dicts) < maxDicts && len(raw) >= minDictBase && len(raw) <= maxDictBase && 5*n > len(raw)
}

// load undoes store: the protobuf encoding of a stored value. The result
// is data itself past its tag when the value is stored whole, else the
// codec's buffer, valid until the next load: callers copy what they keep
// (protobuf unmarshalling does) and never modify it.
func (c *valueCodec) load(data []byte) []byte {
	if len(data) == 0 {
		panic("apiserver: an empty stored value")
	}
	tag := int(data[0])
	if tag == tagRaw {
		return data[1:]
	}
	if tag > len(c.dicts) {
		panic(fmt.Sprintf("apiserver: a stored value names dictionary %d of %d", tag, len(c.dicts)))
	}
	c.buf = c.dicts[tag-1].Decode(c.buf[:0], data[1:])
	return c.buf
}

// sameValue reports whether stored, which store made from raw, holds the
// same encoding as the stored value cur. Values made against one
// dictionary are equal exactly when their bytes are (the transform is
// deterministic); across dictionaries, raw is compared with cur decoded.
func (c *valueCodec) sameValue(stored, raw, cur []byte) bool {
	if len(cur) > 0 && stored[0] == cur[0] {
		return string(stored) == string(cur)
	}
	return len(cur) > 0 && string(raw) == string(c.load(cur))
}

func exact(b []byte) []byte { return append(make([]byte, 0, len(b)), b...) }

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
		add(&v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web-7d9c6b5f4-x2x8q.18867252ab697a75", Namespace: metav1.NamespaceDefault,
			UID: "1b380f46-5a01-4ed8-8fb8-da942ae26d35", CreationTimestamp: at},
			InvolvedObject: ref, Reason: s.reason, Message: s.message, Source: s.source, FirstTimestamp: at, LastTimestamp: at,
			Count: 1, Type: s.typ, ReportingController: s.source.Component, ReportingInstance: s.source.Host})
	}
	return bytedelta.NewDict(samples)
})
