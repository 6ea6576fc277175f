package apiserver

import (
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// timeGranularity is the precision of metav1.Time once stored: its protobuf
// and JSON forms keep whole seconds, so the server truncates every Time it
// stores, exactly as a real round trip through etcd would.
const timeGranularity = time.Second

var emptyGVK = schema.GroupVersionKind{}

func secondsDuration(s int64) time.Duration { return time.Duration(s) * time.Second }

type protoUnmarshaler interface {
	Unmarshal([]byte) error
}

// encode serialises obj, of resource res, for the store: its generated
// protobuf marshaller, as kube-apiserver stores objects in etcd, then the
// resource's storage transform (valueCodec). The encoding is deterministic
// (map keys are sorted), so equal objects have equal encodings: that is how
// the server detects writes that change nothing (valueCodec.sameValue).
// resourceVersion is not stored.
func encode(res *Resource, obj runtime.Object) []byte {
	// Marshalled into the resource's scratch buffer: only the transformed
	// form is kept.
	res.scratch = marshal(obj, res.scratch[:0])
	return res.codec.store(res.scratch)
}

// encodeTransient is encode's value in the resource's codec buffer, valid
// until its next encoding: for a caller that copies it.
func encodeTransient(res *Resource, obj runtime.Object) []byte {
	res.scratch = marshal(obj, res.scratch[:0])
	return res.codec.transform(res.scratch)
}

type protoMarshaler interface {
	Marshal() ([]byte, error)
}

// marshal is obj's protobuf encoding, without resourceVersion, in buf when
// it fits (else in a new slice of the exact size).
func marshal(obj runtime.Object, buf []byte) []byte {
	m := obj.(metav1.Object)
	rv := m.GetResourceVersion()
	m.SetResourceVersion("")
	pm := obj.(sizedMarshaler)
	size := pm.Size()
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	n, err := pm.MarshalToSizedBuffer(buf)
	m.SetResourceVersion(rv)
	if err != nil || n != size {
		panic(fmt.Sprintf("apiserver: encode %T %s: %d of %d bytes: %v", obj, m.GetName(), n, size, err))
	}
	return buf
}

// decode returns the object whose stored bytes (see encode) are data.
func decode(res *Resource, data []byte) runtime.Object {
	obj := res.New()
	if err := obj.(protoUnmarshaler).Unmarshal(res.codec.load(data)); err != nil {
		panic(fmt.Sprintf("apiserver: decode %s: %v", res.Name, err))
	}
	return obj
}

// copyStatus sets dst's status to src's (same type).
func copyStatus(dst, src runtime.Object) {
	switch d := dst.(type) {
	case *v1.Pod:
		d.Status = src.(*v1.Pod).Status
	case *v1.Node:
		d.Status = src.(*v1.Node).Status
	case *v1.Namespace:
		d.Status = src.(*v1.Namespace).Status
	case *v1.Service:
		d.Status = src.(*v1.Service).Status
	case *appsv1.Deployment:
		d.Status = src.(*appsv1.Deployment).Status
	case *appsv1.ReplicaSet:
		d.Status = src.(*appsv1.ReplicaSet).Status
	case *autoscalingv2.HorizontalPodAutoscaler:
		d.Status = src.(*autoscalingv2.HorizontalPodAutoscaler).Status
	case *policyv1.PodDisruptionBudget:
		d.Status = src.(*policyv1.PodDisruptionBudget).Status
	default:
		panic(fmt.Sprintf("apiserver: %T has no status", dst))
	}
}

// copyForStatusUpdate is the server's copy of the object of a /status
// update: only what the update may change (metadata and status) is copied
// from the caller's object; the spec is the stored one, shared with the
// stored version (stored objects are never modified). Kinds without a fast
// path are deep-copied whole.
func copyForStatusUpdate(in, cur runtime.Object) runtime.Object {
	if p, ok := in.(*v1.Pod); ok {
		c := cur.(*v1.Pod)
		out := &v1.Pod{}
		p.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
		out.Spec = c.Spec
		p.Status.DeepCopyInto(&out.Status)
		return out
	}
	return in.DeepCopyObject()
}

// prepareStatusUpdate applies the status strategies' PrepareForUpdate to an
// update through /status: the spec comes from the stored object, and so do
// the labels of apps objects and the owner references of pods; a pod's
// observedGeneration values the update leaves at 0 are kept.
func prepareStatusUpdate(obj, old runtime.Object) {
	switch o := obj.(type) {
	case *v1.Pod:
		p := old.(*v1.Pod)
		o.Spec = p.Spec
		o.OwnerReferences = p.OwnerReferences
		keepObservedGeneration(&o.Status, &p.Status)
	case *v1.Node:
		o.Spec = old.(*v1.Node).Spec
	case *v1.Namespace:
		o.Spec = old.(*v1.Namespace).Spec
	case *v1.Service:
		o.Spec = old.(*v1.Service).Spec
	case *appsv1.Deployment:
		d := old.(*appsv1.Deployment)
		o.Spec = d.Spec
		o.Labels = d.Labels
	case *appsv1.ReplicaSet:
		rs := old.(*appsv1.ReplicaSet)
		o.Spec = rs.Spec
		o.Labels = rs.Labels
	case *autoscalingv2.HorizontalPodAutoscaler:
		o.Spec = old.(*autoscalingv2.HorizontalPodAutoscaler).Spec
	case *policyv1.PodDisruptionBudget:
		o.Spec = old.(*policyv1.PodDisruptionBudget).Spec
	default:
		panic(fmt.Sprintf("apiserver: %T has no status", obj))
	}
}

// keepObservedGeneration is upstream's preserveOldObservedGeneration
// (pkg/registry/core/pod/strategy.go): a status.observedGeneration of 0
// takes the stored one, and so does a condition's, from the stored
// condition of its type (the n-th of a type from the n-th, as validation
// allows repeated types). The conditions are copied before the first
// change: the kubelet hands over statuses whose conditions it shares
// between pods.
func keepObservedGeneration(st, old *v1.PodStatus) {
	if st.ObservedGeneration == 0 {
		st.ObservedGeneration = old.ObservedGeneration
	}
	copied := false
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.ObservedGeneration != 0 {
			continue
		}
		nth := 0
		for j := range i {
			if st.Conditions[j].Type == c.Type {
				nth++
			}
		}
		var g int64
		for j := range old.Conditions {
			if old.Conditions[j].Type != c.Type {
				continue
			}
			if nth == 0 {
				g = old.Conditions[j].ObservedGeneration
				break
			}
			nth--
		}
		if g == 0 {
			continue
		}
		if !copied {
			st.Conditions = slices.Clone(st.Conditions)
			copied = true
		}
		st.Conditions[i].ObservedGeneration = g
	}
}

func nodeNameOf(obj runtime.Object) string {
	if p, ok := obj.(*v1.Pod); ok {
		return p.Spec.NodeName
	}
	return ""
}

func truncTime(t *metav1.Time) {
	if t != nil && !t.IsZero() && t.Nanosecond() != 0 {
		t.Time = t.Time.Truncate(timeGranularity)
	}
}

func truncTimeP(t *metav1.Time) {
	if t != nil {
		truncTime(t)
	}
}

func truncMicro(t *metav1.MicroTime) {
	if t != nil && !t.IsZero() && t.Nanosecond()%1000 != 0 {
		t.Time = t.Time.Truncate(time.Microsecond)
	}
}

// normalizeTimes truncates the timestamps of obj to what storing it would
// keep (seconds for Time, microseconds for MicroTime), so the objects the
// server hands out equal what a client decoding etcd's bytes would see.
func normalizeTimes(obj runtime.Object) {
	m := obj.(metav1.Object)
	ct := m.GetCreationTimestamp()
	if ct.Nanosecond() != 0 {
		truncTime(&ct)
		m.SetCreationTimestamp(ct)
	}
	switch o := obj.(type) {
	case *v1.Pod:
		truncTimeP(o.Status.StartTime)
		for i := range o.Status.Conditions {
			truncTime(&o.Status.Conditions[i].LastProbeTime)
			truncTime(&o.Status.Conditions[i].LastTransitionTime)
		}
		for _, cs := range [][]v1.ContainerStatus{o.Status.InitContainerStatuses, o.Status.ContainerStatuses, o.Status.EphemeralContainerStatuses} {
			for i := range cs {
				truncState(&cs[i].State)
				truncState(&cs[i].LastTerminationState)
			}
		}
	case *v1.Node:
		for i := range o.Spec.Taints {
			truncTimeP(o.Spec.Taints[i].TimeAdded)
		}
		for i := range o.Status.Conditions {
			truncTime(&o.Status.Conditions[i].LastHeartbeatTime)
			truncTime(&o.Status.Conditions[i].LastTransitionTime)
		}
	case *v1.Namespace:
		for i := range o.Status.Conditions {
			truncTime(&o.Status.Conditions[i].LastTransitionTime)
		}
	case *v1.Event:
		truncTime(&o.FirstTimestamp)
		truncTime(&o.LastTimestamp)
		truncMicro(&o.EventTime)
		if o.Series != nil {
			truncMicro(&o.Series.LastObservedTime)
		}
	case *appsv1.Deployment:
		for i := range o.Status.Conditions {
			truncTime(&o.Status.Conditions[i].LastUpdateTime)
			truncTime(&o.Status.Conditions[i].LastTransitionTime)
		}
	case *appsv1.ReplicaSet:
		for i := range o.Status.Conditions {
			truncTime(&o.Status.Conditions[i].LastTransitionTime)
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		truncTimeP(o.Status.LastScaleTime)
		for i := range o.Status.Conditions {
			truncTime(&o.Status.Conditions[i].LastTransitionTime)
		}
	case *coordinationv1.Lease:
		truncMicro(o.Spec.AcquireTime)
		truncMicro(o.Spec.RenewTime)
	case *policyv1.PodDisruptionBudget:
		for i := range o.Status.Conditions {
			truncTime(&o.Status.Conditions[i].LastTransitionTime)
		}
		for k, t := range o.Status.DisruptedPods {
			if t.Nanosecond() != 0 {
				truncTime(&t)
				o.Status.DisruptedPods[k] = t
			}
		}
	}
}

func truncState(s *v1.ContainerState) {
	if s.Running != nil {
		truncTime(&s.Running.StartedAt)
	}
	if s.Terminated != nil {
		truncTime(&s.Terminated.StartedAt)
		truncTime(&s.Terminated.FinishedAt)
	}
}
