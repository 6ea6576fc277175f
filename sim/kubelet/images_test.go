package kubelet_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/sim/kubelet"
)

var getOpts = metav1.GetOptions{}

func TestImageCacheSkipsPullAndReportsImages(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.create(pod("a", ctr("c", "nginx:1.27")), "n1")
	e.at(sec(5))
	e.create(pod("b", ctr("c", "nginx:1.27")), "n1")
	e.at(sec(6))
	assert.Equal(t, []string{`5s Pulled: Container image "nginx:1.27" already present on machine`,
		`5.5s Created: Created container: c`, `5.5s Started: Started container c`}, e.events("b"))
	assert.Equal(t, v1.PodRunning, e.get("b").Status.Phase)

	// status.images is reported at the next status update (10 s loop),
	// which the scheduler's ImageLocality reads.
	n, err := e.cl.CoreV1().Nodes().Get(ctx, "n1", getOpts)
	require.NoError(t, err)
	assert.Empty(t, n.Status.Images)
	e.at(sec(10))
	n, err = e.cl.CoreV1().Nodes().Get(ctx, "n1", getOpts)
	require.NoError(t, err)
	require.Len(t, n.Status.Images, 1)
	assert.Equal(t, []string{"nginx:1.27"}, n.Status.Images[0].Names)
	assert.Equal(t, kubelet.ImageSizeBytes("nginx:1.27"), n.Status.Images[0].SizeBytes)
	assert.Equal(t, []string{"nginx:1.27"}, e.c.Kubelet("n1").Images())
}

// Pulls are serialized per node: a second image waits for the first pull;
// a pod needing an image being pulled joins that pull.
func TestSerializedPullsAndJoinedPulls(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	a := pod("a", ctr("c", "redis:7"))
	a.Annotations[kubelet.AnnotationImagePullDuration] = "10s"
	e.create(a, "n1")
	b := pod("b", ctr("c", "postgres:16"))
	b.Annotations[kubelet.AnnotationImagePullDuration] = "4s"
	e.create(b, "n1")
	c := pod("c", ctr("c", "redis:7"))
	e.create(c, "n1")
	e.at(sec(20))
	assert.Contains(t, e.events("a"), `10s Pulled: Successfully pulled image "redis:7" in 10s (10s including waiting). Image size: `+sizeOf("redis:7")+` bytes.`)
	assert.Contains(t, e.events("b"), `14s Pulled: Successfully pulled image "postgres:16" in 4s (14s including waiting). Image size: `+sizeOf("postgres:16")+` bytes.`)
	// c joined a's pull (same image, IfNotPresent).
	assert.Contains(t, e.events("c"), `10s Pulled: Successfully pulled image "redis:7" in 10s (10s including waiting). Image size: `+sizeOf("redis:7")+` bytes.`)
	assert.Equal(t, []string{"postgres:16", "redis:7"}, e.c.Kubelet("n1").Images())
}

// imagePullPolicy Always pulls every time, even when the image is present;
// Never never pulls.
func TestPullPolicies(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	e.create(pod("a", ctr("c", "app:1")), "n1")
	e.at(sec(5))
	always := ctr("c", "app:1")
	always.ImagePullPolicy = v1.PullAlways
	e.create(pod("b", always), "n1")
	never := ctr("c", "absent:1")
	never.ImagePullPolicy = v1.PullNever
	e.create(pod("n", never), "n1")
	e.at(sec(10))
	assert.Equal(t, []string{`5s Pulling: Pulling image "app:1"`,
		`7s Pulled: Successfully pulled image "app:1" in 2s (2s including waiting). Image size: ` + sizeOf("app:1") + ` bytes.`,
		`7.5s Created: Created container: c`, `7.5s Started: Started container c`}, e.events("b"))
	got := e.get("n")
	assert.Equal(t, "waiting:ErrImageNeverPull", state(containerStatus(got, "c")))
	assert.Equal(t, `Container image "absent:1" is not present with pull policy of Never`, containerStatus(got, "c").State.Waiting.Message)
	assert.Equal(t, v1.PodPending, got.Status.Phase)
}

// A failing pull shows ErrImagePull, then ImagePullBackOff while the pull
// back-off (10 s doubling) runs, and retries after it.
func TestImagePullBackOff(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("c", "private/app:1"))
	p.Annotations[kubelet.AnnotationImagePullError] = "pull access denied"
	p.Annotations[kubelet.AnnotationImagePullDuration] = "1s"
	e.create(p, "n1")
	e.at(sec(1))
	got := e.get("p")
	assert.Equal(t, "waiting:ErrImagePull", state(containerStatus(got, "c")))
	assert.Equal(t, `failed to pull image "private/app:1": pull access denied`, containerStatus(got, "c").State.Waiting.Message)
	// Resync at 11 s: the 10 s back-off (from 1 s) is over: pull again,
	// failing at 12 s (back-off 20 s); resync at 22 s: in back-off.
	e.at(sec(22))
	got = e.get("p")
	assert.Equal(t, "waiting:ImagePullBackOff", state(containerStatus(got, "c")))
	assert.Equal(t, `Back-off pulling image "private/app:1"`, containerStatus(got, "c").State.Waiting.Message)
	var pulls []string
	for _, ev := range e.events("p") {
		if len(ev) > 0 && contains(ev, "Pulling:") {
			pulls = append(pulls, ev)
		}
	}
	assert.Equal(t, []string{`0s Pulling: Pulling image "private/app:1"`, `11s Pulling: Pulling image "private/app:1"`}, pulls)
	e.at(sec(33))
	assert.Equal(t, "waiting:ErrImagePull", state(containerStatus(e.get("p"), "c")), "retried at 32 s when the 20 s back-off ended")
}

// A container whose image cannot be pulled does not hold back the pod's
// other containers: upstream's SyncPod tries every container to start in
// one pass, a failed start only ending that container's attempt
// (pkg/kubelet/kuberuntime/kuberuntime_manager.go), and the failed one is
// tried again when the pod worker syncs the pod again.
func TestPullFailureHoldsBackNoOtherContainer(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	p := pod("p", ctr("pull", "private/app:1"), ctr("web", "img:1"), ctr("crash", "img:1"))
	p.Annotations[kubelet.AnnotationImagePullError+".pull"] = "pull access denied"
	p.Annotations[kubelet.AnnotationImagePullDuration] = "1s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationCrashAfter+".crash"] = "5s"
	e.create(p, "n1")
	// pull fails at 1; img:1 pulled 1–2: web and crash start at 2; crash
	// exits at 7 and is restarted at once.
	e.at(sec(8))
	got := e.get("p")
	assert.Equal(t, "running", state(containerStatus(got, "web")))
	assert.Equal(t, "running", state(containerStatus(got, "crash")))
	assert.Equal(t, int32(1), containerStatus(got, "crash").RestartCount)
	assert.Equal(t, "waiting:ErrImagePull", state(containerStatus(got, "pull")))
	// The pod worker's resync at 11 tries the pull again (the 10 s pull
	// back-off from 1 is over): it fails at 12.
	e.at(sec(12))
	var pulls []string
	for _, ev := range e.events("p") {
		if contains(ev, `Pulling: Pulling image "private/app:1"`) {
			pulls = append(pulls, ev)
		}
	}
	assert.Equal(t, []string{`0s Pulling: Pulling image "private/app:1"`, `11s Pulling: Pulling image "private/app:1"`}, pulls)
}

// A restart whose image pull fails is tried again at the pod worker's next
// sync, through the crash back-off check like any restart (upstream's
// doBackOff runs before every start).
func TestFailedRestartIsRetried(t *testing.T) {
	e := newEnv(t, kubelet.Config{})
	e.node("n1", "4", "8Gi")
	c := ctr("c", "img:1")
	c.ImagePullPolicy = v1.PullAlways
	p := pod("p", c)
	p.Annotations[kubelet.AnnotationImagePullDuration] = "1s"
	p.Annotations[kubelet.AnnotationStartDuration] = "0s"
	p.Annotations[kubelet.AnnotationCrashAfter] = "10s"
	e.create(p, "n1")
	e.at(sec(5))
	setAnnotation(e, "p", kubelet.AnnotationImagePullError, "registry down")
	// Exit at 11, restart at once: its pull fails at 12. Resync at 22: the
	// crash back-off (10 s from 11) is over: the restart pulls again.
	e.at(sec(21))
	fixed := e.get("p")
	delete(fixed.Annotations, kubelet.AnnotationImagePullError)
	_, err := e.cl.CoreV1().Pods("default").Update(ctx, fixed, metav1.UpdateOptions{})
	require.NoError(t, err)
	e.at(sec(30))
	s := containerStatus(e.get("p"), "c")
	assert.Equal(t, "running", state(s))
	assert.Equal(t, int32(1), s.RestartCount)
	assert.Equal(t, []time.Duration{sec(1), sec(23)}, e.times("containerStarted", "p"))
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
