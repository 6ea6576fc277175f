package controllerutil

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/dump"

	"github.com/kubesim/kubesim/controllers/podutil"
)

const (
	// SlowStartInitialBatchSize is the size of the first batch of creations;
	// each following batch doubles (1, 2, 4, 8, …).
	SlowStartInitialBatchSize = 1

	// PodDeletionCostAnnotation ranks pods of a ReplicaSet on scale-down:
	// lower cost is deleted first (int32, default 0).
	PodDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

	// Reasons used in events and in a ReplicaSet's ReplicaFailure condition.

	// FailedCreatePodReason: a pod creation failed.
	FailedCreatePodReason = "FailedCreate"
	// SuccessfulCreatePodReason: a pod was created.
	SuccessfulCreatePodReason = "SuccessfulCreate"
	// FailedDeletePodReason: a pod deletion failed.
	FailedDeletePodReason = "FailedDelete"
	// SuccessfulDeletePodReason: a pod was deleted.
	SuccessfulDeletePodReason = "SuccessfulDelete"
)

// PodKey returns the "namespace/name" key of a pod, as expectations use it.
func PodKey(pod *v1.Pod) string {
	return pod.Namespace + "/" + pod.Name
}

// IsPodActive reports whether a pod still counts towards its controller's
// replicas: not Succeeded, not Failed and not being deleted.
func IsPodActive(p *v1.Pod) bool {
	return v1.PodSucceeded != p.Status.Phase &&
		v1.PodFailed != p.Status.Phase &&
		p.DeletionTimestamp == nil
}

// FilterActivePods returns the active pods of pods, in their order.
func FilterActivePods(pods []*v1.Pod) []*v1.Pod {
	var result []*v1.Pod
	for _, p := range pods {
		if IsPodActive(p) {
			result = append(result, p)
		}
	}
	return result
}

// IsPodTerminating reports whether a pod is being deleted but not yet in a
// terminal phase.
func IsPodTerminating(p *v1.Pod) bool {
	return !podutil.IsPodTerminal(p) && p.DeletionTimestamp != nil
}

var podPhaseToOrdinal = map[v1.PodPhase]int{v1.PodPending: 0, v1.PodUnknown: 1, v1.PodRunning: 2}

// ActivePodsWithRanks sorts pods so that the ones to delete first come
// first. Pods and Rank have equal length; Rank[i] is, for Pods[i], the number
// of active related pods on the same node. Less applies, in order:
//
//  1. unassigned (no nodeName) before assigned;
//  2. phase Pending < Unknown < Running;
//  3. not Ready before Ready;
//  4. lower controller.kubernetes.io/pod-deletion-cost first;
//  5. higher Rank first (doubled-up nodes lose pods first);
//  6. both Ready: more recently Ready first;
//  7. more container restarts first (regular containers, then sidecars);
//  8. newer creationTimestamp first.
//
// Rules 6 and 8 compare floor(log2(now − t)) buckets (LogarithmicScaleDown,
// default on since v1.22); pods in the same bucket are ordered by UID. If Now
// is zero the raw times are compared.
type ActivePodsWithRanks struct {
	// Pods is the list of pods being ranked.
	Pods []*v1.Pod
	// Rank is the per-pod colocation rank used by rule 5.
	Rank []int
	// Now is the reference time of the logarithmic comparisons.
	Now metav1.Time
}

// Len implements sort.Interface.
func (s ActivePodsWithRanks) Len() int { return len(s.Pods) }

// Swap implements sort.Interface.
func (s ActivePodsWithRanks) Swap(i, j int) {
	s.Pods[i], s.Pods[j] = s.Pods[j], s.Pods[i]
	s.Rank[i], s.Rank[j] = s.Rank[j], s.Rank[i]
}

// Less reports whether Pods[i] should be deleted before Pods[j].
func (s ActivePodsWithRanks) Less(i, j int) bool {
	pi, pj := s.Pods[i], s.Pods[j]
	// 1. Unassigned < assigned.
	if pi.Spec.NodeName != pj.Spec.NodeName && (len(pi.Spec.NodeName) == 0 || len(pj.Spec.NodeName) == 0) {
		return len(pi.Spec.NodeName) == 0
	}
	// 2. PodPending < PodUnknown < PodRunning.
	if podPhaseToOrdinal[pi.Status.Phase] != podPhaseToOrdinal[pj.Status.Phase] {
		return podPhaseToOrdinal[pi.Status.Phase] < podPhaseToOrdinal[pj.Status.Phase]
	}
	// 3. Not ready < ready.
	if podutil.IsPodReady(pi) != podutil.IsPodReady(pj) {
		return !podutil.IsPodReady(pi)
	}
	// 4. Lower pod-deletion-cost < higher pod-deletion-cost.
	ci, _ := GetDeletionCostFromPodAnnotations(pi.Annotations)
	cj, _ := GetDeletionCostFromPodAnnotations(pj.Annotations)
	if ci != cj {
		return ci < cj
	}
	// 5. Doubled up < not doubled up.
	if s.Rank[i] != s.Rank[j] {
		return s.Rank[i] > s.Rank[j]
	}
	// 6. Been ready for empty time < less time < more time.
	if podutil.IsPodReady(pi) && podutil.IsPodReady(pj) {
		readyTime1 := podReadyTime(pi)
		readyTime2 := podReadyTime(pj)
		if !readyTime1.Equal(readyTime2) {
			if s.Now.IsZero() || readyTime1.IsZero() || readyTime2.IsZero() {
				return afterOrZero(readyTime1, readyTime2)
			}
			rankDiff := logarithmicRankDiff(*readyTime1, *readyTime2, s.Now)
			if rankDiff == 0 {
				return pi.UID < pj.UID
			}
			return rankDiff < 0
		}
	}
	// 7. Pods with containers with higher restart counts < lower restart counts.
	if res := compareMaxContainerRestarts(pi, pj); res != nil {
		return *res
	}
	// 8. Empty creation time pods < newer pods < older pods.
	if !pi.CreationTimestamp.Equal(&pj.CreationTimestamp) {
		if s.Now.IsZero() || pi.CreationTimestamp.IsZero() || pj.CreationTimestamp.IsZero() {
			return afterOrZero(&pi.CreationTimestamp, &pj.CreationTimestamp)
		}
		rankDiff := logarithmicRankDiff(pi.CreationTimestamp, pj.CreationTimestamp, s.Now)
		if rankDiff == 0 {
			return pi.UID < pj.UID
		}
		return rankDiff < 0
	}
	return false
}

// afterOrZero reports whether t1 is after t2, a zero time counting as after
// any non-zero time.
func afterOrZero(t1, t2 *metav1.Time) bool {
	if t1.Time.IsZero() || t2.Time.IsZero() {
		return t1.Time.IsZero()
	}
	return t1.After(t2.Time)
}

// logarithmicRankDiff returns floor(log2(now−t1)) − floor(log2(now−t2)), the
// durations taken in nanoseconds; a non-positive duration has rank −1.
func logarithmicRankDiff(t1, t2, now metav1.Time) int64 {
	d1 := now.Sub(t1.Time)
	d2 := now.Sub(t2.Time)
	r1 := int64(-1)
	r2 := int64(-1)
	if d1 > 0 {
		r1 = int64(math.Log2(float64(d1)))
	}
	if d2 > 0 {
		r2 = int64(math.Log2(float64(d2)))
	}
	return r1 - r2
}

// podReadyTime returns the lastTransitionTime of a True Ready condition, or a
// zero time.
func podReadyTime(pod *v1.Pod) *metav1.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodReady && c.Status == v1.ConditionTrue {
			return &c.LastTransitionTime
		}
	}
	return &metav1.Time{}
}

// compareMaxContainerRestarts returns true if pi has more restarts than pj,
// false if fewer, nil if equal (regular containers first, then sidecars).
func compareMaxContainerRestarts(pi, pj *v1.Pod) *bool {
	regularI, sidecarI := maxContainerRestarts(pi)
	regularJ, sidecarJ := maxContainerRestarts(pj)
	if regularI != regularJ {
		res := regularI > regularJ
		return &res
	}
	if sidecarI != sidecarJ {
		res := sidecarI > sidecarJ
		return &res
	}
	return nil
}

// maxContainerRestarts returns the highest restart count among regular
// containers and among restartable init containers (sidecars).
func maxContainerRestarts(pod *v1.Pod) (regularRestarts, sidecarRestarts int) {
	for _, c := range pod.Status.ContainerStatuses {
		regularRestarts = max(regularRestarts, int(c.RestartCount))
	}
	names := sets.New[string]()
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			names.Insert(c.Name)
		}
	}
	for _, c := range pod.Status.InitContainerStatuses {
		if names.Has(c.Name) {
			sidecarRestarts = max(sidecarRestarts, int(c.RestartCount))
		}
	}
	return regularRestarts, sidecarRestarts
}

// GetDeletionCostFromPodAnnotations parses the pod-deletion-cost annotation.
// Missing ⇒ 0; an invalid value (not an int32, a leading '+' or leading
// zeros) ⇒ 0 and an error, as upstream.
func GetDeletionCostFromPodAnnotations(annotations map[string]string) (int32, error) {
	value, ok := annotations[PodDeletionCostAnnotation]
	if !ok {
		return 0, nil
	}
	if !validFirstDigit(value) {
		return 0, fmt.Errorf("invalid value %q", value)
	}
	i, err := strconv.ParseInt(value, 10, 32)
	if err != nil {
		return 0, err
	}
	return int32(i), nil
}

func validFirstDigit(str string) bool {
	if len(str) == 0 {
		return false
	}
	return str[0] == '-' || (str[0] == '0' && str == "0") || (str[0] >= '1' && str[0] <= '9')
}

// SlowStartBatch calls fn count times in batches of initialBatchSize, then
// double the previous batch, capped by what remains (1, 2, 4, 8, …). Upstream
// runs a batch's calls in parallel; the simulator calls them in order, but
// keeps the semantics: a batch always runs to its end, and if any call in it
// failed no further batch starts. It returns the number of successful calls
// and the first error. The caller's "skipped" count is count − successes
// (failed calls included), which upstream subtracts from its expectations.
func SlowStartBatch(count int, initialBatchSize int, fn func() error) (int, error) {
	remaining := count
	successes := 0
	for batchSize := min(remaining, initialBatchSize); batchSize > 0; batchSize = min(2*batchSize, remaining) {
		var firstErr error
		failed := 0
		for i := 0; i < batchSize; i++ {
			if err := fn(); err != nil {
				failed++
				if firstErr == nil {
					firstErr = err
				}
			}
		}
		successes += batchSize - failed
		if failed > 0 {
			return successes, firstErr
		}
		remaining -= batchSize
	}
	return successes, nil
}

// GetPodFromTemplate builds the pod a controller creates from template:
// labels, annotations and finalizers copied from the template, GenerateName
// "<parent>-" (the API server appends 5 random characters), the controller
// owner reference, and a deep copy of the spec.
func GetPodFromTemplate(template *v1.PodTemplateSpec, parent metav1.Object, controllerRef *metav1.OwnerReference) *v1.Pod {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Labels:       copyStringMap(template.Labels),
			Annotations:  copyStringMap(template.Annotations),
			GenerateName: getPodsPrefix(parent.GetName()),
			Namespace:    parent.GetNamespace(),
			Finalizers:   append([]string(nil), template.Finalizers...),
		},
	}
	if controllerRef != nil {
		pod.OwnerReferences = append(pod.OwnerReferences, *controllerRef)
	}
	pod.Spec = *template.Spec.DeepCopy()
	return pod
}

// getPodsPrefix is "<name>-" unless that is not a valid generateName prefix.
func getPodsPrefix(controllerName string) string {
	prefix := controllerName + "-"
	if len(apivalidation.NameIsDNSSubdomain(prefix, true)) != 0 {
		prefix = controllerName
	}
	return prefix
}

func copyStringMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ComputeHash returns the pod-template-hash of template, exactly as upstream
// controller.ComputeHash: FNV-32a over the go-spew rendering of the template
// value (k8s.io/utils/dump.ForHash: Indent " ", SortKeys, DisableMethods,
// SpewKeys, "%#v"), then — if collisionCount is set — its value as 8 bytes
// (little-endian uint32 then 4 zero bytes), and the decimal sum encoded with
// rand.SafeEncodeString. The value depends on the k8s.io/api struct layout,
// like upstream's depends on the cluster version.
func ComputeHash(template *v1.PodTemplateSpec, collisionCount *int32) string {
	hasher := fnv.New32a()
	_, _ = hasher.Write([]byte(dump.ForHash(*template)))
	if collisionCount != nil {
		collisionCountBytes := make([]byte, 8)
		binary.LittleEndian.PutUint32(collisionCountBytes, uint32(*collisionCount))
		_, _ = hasher.Write(collisionCountBytes)
	}
	return rand.SafeEncodeString(fmt.Sprint(hasher.Sum32()))
}

// FilterActiveReplicaSets returns the non-nil replica sets with spec.replicas > 0.
func FilterActiveReplicaSets(replicaSets []*apps.ReplicaSet) []*apps.ReplicaSet {
	var active []*apps.ReplicaSet
	for i := range replicaSets {
		if replicaSets[i] != nil && *(replicaSets[i].Spec.Replicas) > 0 {
			active = append(active, replicaSets[i])
		}
	}
	return active
}

// ReplicaSetsByCreationTimestamp sorts replica sets oldest first, by name on ties.
type ReplicaSetsByCreationTimestamp []*apps.ReplicaSet

func (o ReplicaSetsByCreationTimestamp) Len() int      { return len(o) }
func (o ReplicaSetsByCreationTimestamp) Swap(i, j int) { o[i], o[j] = o[j], o[i] }
func (o ReplicaSetsByCreationTimestamp) Less(i, j int) bool {
	if o[i].CreationTimestamp.Equal(&o[j].CreationTimestamp) {
		return o[i].Name < o[j].Name
	}
	return o[i].CreationTimestamp.Before(&o[j].CreationTimestamp)
}

// ReplicaSetsBySizeOlder sorts by spec.replicas descending, older first on ties
// (used when scaling down proportionally).
type ReplicaSetsBySizeOlder []*apps.ReplicaSet

func (o ReplicaSetsBySizeOlder) Len() int      { return len(o) }
func (o ReplicaSetsBySizeOlder) Swap(i, j int) { o[i], o[j] = o[j], o[i] }
func (o ReplicaSetsBySizeOlder) Less(i, j int) bool {
	if *(o[i].Spec.Replicas) == *(o[j].Spec.Replicas) {
		return ReplicaSetsByCreationTimestamp(o).Less(i, j)
	}
	return *(o[i].Spec.Replicas) > *(o[j].Spec.Replicas)
}

// ReplicaSetsBySizeNewer sorts by spec.replicas descending, newer first on ties
// (used when scaling up proportionally).
type ReplicaSetsBySizeNewer []*apps.ReplicaSet

func (o ReplicaSetsBySizeNewer) Len() int      { return len(o) }
func (o ReplicaSetsBySizeNewer) Swap(i, j int) { o[i], o[j] = o[j], o[i] }
func (o ReplicaSetsBySizeNewer) Less(i, j int) bool {
	if *(o[i].Spec.Replicas) == *(o[j].Spec.Replicas) {
		return ReplicaSetsByCreationTimestamp(o).Less(j, i)
	}
	return *(o[i].Spec.Replicas) > *(o[j].Spec.Replicas)
}
