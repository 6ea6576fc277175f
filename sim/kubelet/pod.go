package kubelet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	resourcehelper "k8s.io/component-helpers/resource"
	v1helper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/kubesim/kubesim/sim"
)

// podResyncPeriod is how long after a failed attempt (image pull error,
// missing image, no IP) the kubelet's pod worker tries again (upstream's
// pod worker back-off period).
const podResyncPeriod = 10 * time.Second

// cState is a container's state in the simulated runtime.
type cState uint8

const (
	// cNew: no container runs for this spec in the current sandbox (never
	// started, or started before a crash, or waiting for a pull retry).
	cNew cState = iota
	// cStarting: image pull, create and start in progress.
	cStarting
	// cRunning: the process runs (possibly being stopped).
	cRunning
	// cExited: the process exited; it may be restarted later.
	cExited
)

func (s cState) String() string {
	return [...]string{"new", "starting", "running", "exited"}[s]
}

// container is one container of a pod in the simulated runtime.
type container struct {
	w         *podWorker
	spec      *v1.Container
	name      string
	fieldPath string
	b         *Behaviour // behaviour of the current run (shared and read-only)

	state        cState
	everRan      bool
	init         bool // a regular init container (runs to completion)
	sidecar      bool // a restartable init container
	restartCount int32
	startedAt    time.Duration
	containerID  string
	imageID      string
	// exit is the termination of the current run (state cExited, or a
	// restart in progress); lastTerm the one before it.
	exit     *v1.ContainerStateTerminated
	lastTerm *v1.ContainerStateTerminated
	// waitReason/waitMessage override the waiting state shown (ErrImagePull,
	// ImagePullBackOff, ErrImageNeverPull, CrashLoopBackOff).
	waitReason, waitMessage string
	// wantStart: a restart is due; the pod's start pipeline picks it up.
	wantStart bool
	// killRestart: the due restart follows a probe kill at once; its
	// back-off update is made against lastTerm (none when nil).
	killRestart bool
	// oldSandbox: the container's last run was in a sandbox the node's
	// crash destroyed; none has run in the current one.
	oldSandbox bool

	started, ready bool
	stopping       bool
	restartOnStop  bool
	// awaitingTurn: a sidecar of a killed pod waits, at most turnGrace
	// seconds (its timer), for the containers it stops after.
	awaitingTurn bool
	turnGrace    int32
	pullSeq      int32
	// signaledAt is when the current run got (or, while a stop's preStop
	// hook runs, will get) its first stop signal; notSignaled before. A
	// process exits its stop duration after its first signal, however
	// often it is killed again.
	signaledAt time.Duration

	// timer is the container's one pending step; which one depends on the
	// state: the end of the start (cStarting), the behaviour's exit or the
	// end of a stop (cRunning), a restart after back-off (cExited).
	timer sim.Timer
	// probes is nil when the container has no probe.
	probes *[3]probeState

	// crashBackoff and pullBackoff are allocated at their first use.
	crashBackoff, pullBackoff *backoff
}

// notSignaled is container.signaledAt of a run that has had no stop signal.
const notSignaled time.Duration = -1

// defaultBehaviour is the behaviour of a container without annotations.
var defaultBehaviour = Behaviour{ExitCode: 1}

// probe returns the state of c's probe of kind (a zero state without
// spec when c has no probes).
func (c *container) probe(kind probeKind) *probeState {
	if c.probes == nil {
		return &noProbe
	}
	return &c.probes[kind]
}

var noProbe probeState

func (c *container) crashBO() *backoff {
	if c.crashBackoff == nil {
		c.crashBackoff = &backoff{}
	}
	return c.crashBackoff
}

func (c *container) pullBO() *backoff {
	if c.pullBackoff == nil {
		c.pullBackoff = &backoff{}
	}
	return c.pullBackoff
}

// backoff is client-go's flowcontrol.Backoff for one key, without jitter
// (the kubelet creates its back-offs without jitter).
type backoff struct {
	set        bool
	delay      time.Duration
	lastUpdate time.Duration
}

// expired is hasExpired: no update for 2 × max before eventTime.
func (b *backoff) expired(eventTime, max time.Duration) bool {
	return eventTime-b.lastUpdate > 2*max
}

// inBackoffSince is IsInBackOffSince(eventTime): now − eventTime < delay.
func (b *backoff) inBackoffSince(eventTime, now, max time.Duration) bool {
	if b == nil || !b.set || b.expired(eventTime, max) {
		return false
	}
	return now-eventTime < b.delay
}

// inBackoffSinceUpdate is IsInBackOffSinceUpdate: now − lastUpdate < delay.
func (b *backoff) inBackoffSinceUpdate(now, max time.Duration) bool {
	if b == nil || !b.set || b.expired(now, max) {
		return false
	}
	return now-b.lastUpdate < b.delay
}

// gc drops the entry if it was not updated for 2 × max by now: the
// kubelet's housekeeping (HandlePodCleanups, every 2 s) runs the crash
// back-off's GC; kubesim drops the entry exactly at that age.
func (b *backoff) gc(now, max time.Duration) {
	if b != nil && b.set && now-b.lastUpdate >= 2*max {
		*b = backoff{}
	}
}

// collectedAt is when gc drops the entry.
func (b *backoff) collectedAt(max time.Duration) time.Duration { return b.lastUpdate + 2*max }

// next is Next(eventTime): start at initial, or double up to max.
func (b *backoff) next(eventTime, now, initial, max time.Duration) {
	if !b.set || b.expired(eventTime, max) {
		b.delay = initial
	} else {
		b.delay = min(2*b.delay, max)
	}
	b.set = true
	b.lastUpdate = now
}

type probeKind uint8

const (
	probeStartup probeKind = iota
	probeReadiness
	probeLiveness
)

func (p probeKind) String() string { return [...]string{"Startup", "Readiness", "Liveness"}[p] }

type probeState struct {
	spec                *v1.Probe
	timer               sim.Timer
	successes, failures int32
}

// podWorker runs one pod on the node.
type podWorker struct {
	k   *Kubelet
	uid types.UID
	key string  // "namespace/name" (namespace() and name() read the pod)
	pod *v1.Pod // latest version seen (shared, read-only)
	// wrote is the object of the kubelet's last status write as the
	// server stored it, until the watch brings a version that is not it.
	wrote *v1.Pod
	// all is the init containers, then the regular ones, in spec order;
	// nInits of them are init containers (see inits and regular).
	all []*container

	req   resourceSum
	ports []hostPort

	rejection                *rejection // nil unless admission rejected the pod
	startTime                metav1.Time
	sandboxTimer, resyncTimr sim.Timer
	ip                       string // allocated sandbox IP ("" when none)
	statusIP                 string // IP reported in status (kept after termination)
	starting                 *container

	grace        int64 // grace period of the termination
	gen, written uint64
	flushTimer   sim.Timer

	nInits  int32
	initIdx int32 // the init container to run next

	// The flags, together so they pack into few words (a big cluster has a
	// worker per pod).
	counted      bool // req and ports are held on the node
	sandboxReady bool
	terminating  bool // deletion seen: containers being stopped
	done         bool // no container runs or will run again
	killed       bool // done because the pod was terminated (phase is terminal whatever the restart policy)
	crashed      bool // the node crashed under the pod and it has not been restarted yet
	deleteAfter  bool // delete the API object once the final status is written
	deleteSent   bool
	servingNow   bool // last answer of isServing reported to observers

	// one and onePtr back the containers of the common single-container
	// pod, so a worker is one allocation.
	one    container
	onePtr [1]*container
}

// rejection is why admission rejected a pod.
type rejection struct{ reason, msg string }

func newPodWorker(k *Kubelet, pod *v1.Pod) *podWorker {
	w := &podWorker{k: k, uid: pod.UID, key: pod.Namespace + "/" + pod.Name, pod: pod}
	if len(pod.Spec.InitContainers) == 0 && len(pod.Spec.Containers) == 1 {
		c := &pod.Spec.Containers[0]
		w.one = container{w: w, spec: c, name: c.Name, fieldPath: fieldPath(c.Name)}
		w.onePtr[0] = &w.one
		w.all = w.onePtr[:]
	} else {
		w.all = make([]*container, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
		for i := range pod.Spec.InitContainers {
			c := &pod.Spec.InitContainers[i]
			w.all = append(w.all, &container{w: w, spec: c, name: c.Name, init: !isRestartableInit(c), sidecar: isRestartableInit(c),
				fieldPath: "spec.initContainers{" + c.Name + "}"})
		}
		w.nInits = int32(len(w.all))
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			w.all = append(w.all, &container{w: w, spec: c, name: c.Name, fieldPath: fieldPath(c.Name)})
		}
	}
	for _, c := range w.all {
		c.b = &defaultBehaviour
		if c.spec.StartupProbe != nil || c.spec.ReadinessProbe != nil || c.spec.LivenessProbe != nil {
			c.probes = &[3]probeState{}
			for kind := range c.probes {
				c.probes[kind].spec = probeSpec(c.spec, probeKind(kind))
			}
		}
	}
	w.req = podRequests(pod)
	w.ports = podHostPorts(pod)
	return w
}

func probeSpec(c *v1.Container, kind probeKind) *v1.Probe {
	switch kind {
	case probeStartup:
		return c.StartupProbe
	case probeReadiness:
		return c.ReadinessProbe
	}
	return c.LivenessProbe
}

// podRequests is what a pod takes on its node (resource.PodRequests: the
// larger of the containers' sum and any init container, plus overhead).
func podRequests(pod *v1.Pod) resourceSum {
	if len(pod.Spec.InitContainers) > 0 || pod.Spec.Overhead != nil || pod.Spec.Resources != nil {
		s := sumOf(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
		s.pods = 1
		return s
	}
	// The common case: the sum over the containers, as PodRequests
	// computes it, without building resource lists.
	s := resourceSum{pods: 1}
	for i := range pod.Spec.Containers {
		s.add(sumOf(pod.Spec.Containers[i].Resources.Requests), 1)
	}
	return s
}

func podHostPorts(pod *v1.Pod) []hostPort {
	var out []hostPort
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.HostPort > 0 {
					proto := p.Protocol
					if proto == "" {
						proto = v1.ProtocolTCP
					}
					out = append(out, hostPort{ip: p.HostIP, port: p.HostPort, protocol: proto})
				}
			}
		}
	}
	return out
}

func nodeAffinityMatches(pod *v1.Pod, node *v1.Node) bool {
	ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)
	return ok
}

func untoleratedNoExecute(pod *v1.Pod, node *v1.Node) bool {
	_, untolerated := v1helper.FindMatchingUntoleratedTaint(logr.Discard(), node.Spec.Taints, pod.Spec.Tolerations, func(t *v1.Taint) bool {
		return t.Effect == v1.TaintEffectNoExecute
	}, false)
	return untolerated
}

func (w *podWorker) now() time.Duration { return w.k.eng.Elapsed() }

// inits are the pod's init containers (regular and sidecars), in spec order.
func (w *podWorker) inits() []*container { return w.all[:w.nInits] }

// regular are the pod's regular containers, in spec order.
func (w *podWorker) regular() []*container { return w.all[w.nInits:] }

func (w *podWorker) namespace() string { return w.pod.Namespace }

func (w *podWorker) name() string { return w.pod.Name }

func (w *podWorker) time(at time.Duration) metav1.Time { return metav1.NewTime(sim.Epoch.Add(at)) }

func (w *podWorker) ref(c *container) v1.ObjectReference {
	r := v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: w.namespace(), Name: w.name(), UID: w.uid}
	if c != nil {
		r.FieldPath = c.fieldPath
	}
	return r
}

// trace records a pod-level step when the engine traces. A caller on a
// path every pod takes formats its message only if eng.Tracing(): the
// formatting would cost in untraced runs too.
func (w *podWorker) trace(verb, msg string) { w.k.trace(verb, "Pod", w.namespace(), w.name(), msg) }

// changed records a change of the pod's status and makes sure it is
// written at the end of the current instant (one write per pod per instant).
func (w *podWorker) changed() {
	w.gen++
	w.scheduleFlush()
}

func (w *podWorker) scheduleFlush() {
	if w.flushTimer.Pending() || !w.k.reachable() {
		return
	}
	w.flushTimer = w.k.eng.After(0, w.k.lblFlush, w.flush)
}

// ---- admission and start ----

// reject fails the pod at admission.
func (w *podWorker) reject(reason, msg string) {
	w.done = true
	w.rejection = &rejection{reason, "Pod was rejected: " + msg}
	w.startTime = metav1.NewTime(w.k.eng.Now())
	w.trace("rejected", reason+": "+msg)
	w.k.event(w.ref(nil), v1.EventTypeWarning, reason, msg)
	w.changed()
}

// admitted takes the pod's resources and starts it.
func (w *podWorker) admitted() {
	w.hold()
	w.startTime = metav1.NewTime(w.k.eng.Now())
	if w.k.eng.Tracing() {
		w.trace("admitted", fmt.Sprintf("pod admitted (%d/%d pods on the node)", w.k.used.pods, w.k.alloc.pods))
	}
	if w.pod.DeletionTimestamp != nil {
		w.changed()
		w.beginTermination()
		return
	}
	w.startSandbox()
	w.changed()
}

func (w *podWorker) hold() {
	if w.counted {
		return
	}
	w.counted = true
	w.k.used.add(w.req, 1)
	for _, p := range w.ports {
		w.k.hostPorts[p] = w.uid
	}
}

// release gives back the pod's resources, ports and IP.
func (w *podWorker) release() {
	if w.counted {
		w.counted = false
		w.k.used.add(w.req, -1)
		for _, p := range w.ports {
			if w.k.hostPorts[p] == w.uid {
				delete(w.k.hostPorts, p)
			}
		}
	}
	w.releaseIP()
}

func (w *podWorker) releaseIP() {
	if w.ip != "" && w.k.ipam != nil && !w.pod.Spec.HostNetwork {
		w.k.ipam.release(w.ip)
	}
	w.ip = ""
}

func (w *podWorker) startSandbox() {
	if w.k.cfg.SandboxDuration == 0 {
		w.sandboxUp()
		return
	}
	w.sandboxTimer = w.k.eng.After(w.k.cfg.SandboxDuration, w.k.lblSync, w.sandboxUp)
}

func (w *podWorker) sandboxUp() {
	if w.terminating || w.done || !w.k.alive() {
		return
	}
	switch {
	case w.pod.Spec.HostNetwork:
		w.ip = w.k.spec.InternalIP
	case w.k.ipam != nil:
		ip, err := w.k.ipam.allocate()
		if err != nil {
			w.k.event(w.ref(nil), v1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: "+err.Error())
			w.resync()
			return
		}
		w.ip = ip
	}
	w.statusIP = w.ip
	w.sandboxReady = true
	w.changed()
	w.advance()
}

// resync syncs the pod again after the pod worker's back-off period, as
// upstream's pod worker requeues a pod whose sync failed: the sandbox, or
// the containers whose start failed (the restarts among them through the
// crash back-off check, as every start goes through doBackOff).
func (w *podWorker) resync() {
	if w.resyncTimr.Pending() {
		return
	}
	w.resyncTimr = w.k.eng.After(podResyncPeriod, w.k.lblSync, func() {
		if !w.sandboxReady {
			w.sandboxUp()
			return
		}
		for _, c := range w.all {
			if c.state == cExited && !c.wantStart && c.startFailed() && !c.timer.Pending() {
				w.scheduleRestart(c, false)
			}
		}
		w.advance()
	})
}

// startFailed reports whether c's last start attempt failed (its image
// could not be had); it is tried again at the pod's resync.
func (c *container) startFailed() bool {
	switch c.waitReason {
	case reasonErrImagePull, reasonImagePullBackOff, reasonErrImageNeverPull:
		return true
	}
	return false
}

// held reports whether c, never started, waits for the pod's resync after
// a failed start: the pipeline goes on with the other containers
// meanwhile, as upstream's SyncPod goes on after a container's failed
// start.
func (w *podWorker) held(c *container) bool {
	return c.state == cNew && c.startFailed() && w.resyncTimr.Pending()
}

// advance moves the pod's start pipeline on: init containers one at a
// time in order (each must complete, or for a sidecar start, before the
// next), then the regular containers one after another, then any due
// restart. Only one container is being started at a time.
func (w *podWorker) advance() {
	if w.starting != nil || !w.sandboxReady || w.terminating || w.done || !w.k.alive() {
		return
	}
	for w.initIdx < w.nInits {
		c := w.inits()[w.initIdx]
		switch {
		case (c.state == cNew && !w.held(c)) || (c.state == cExited && c.wantStart):
			w.startContainer(c)
			return
		case c.state == cRunning && c.sidecar && c.started:
			w.initIdx++
		case c.state == cExited && c.init && c.exit.ExitCode == 0:
			w.initIdx++
		default:
			return // running, starting, waiting for a restart or a resync
		}
	}
	for _, c := range w.regular() {
		if c.state == cNew && !w.held(c) {
			w.startContainer(c)
			return
		}
	}
	for _, c := range w.all {
		if c.wantStart && c.state == cExited {
			w.startContainer(c)
			return
		}
	}
}

// startContainer begins the pull–create–start sequence of c.
func (w *podWorker) startContainer(c *container) {
	if c.state != cNew && c.state != cExited {
		panic(fmt.Sprintf("kubelet %s: start of container %s of pod %s in state %s", w.k.name, c.name, w.key, c.state))
	}
	w.starting = c
	c.state = cStarting
	c.wantStart = false
	c.b = &defaultBehaviour
	if hasBehaviourAnnotations(w.pod) {
		b, _ := BehaviourFor(w.pod, c.name) // admission validated the annotations
		c.b = &b
	}
	if c.exit != nil {
		// A restart: record the back-off update (flowcontrol Next).
		last := c.exit
		if c.killRestart {
			last = c.lastTerm
		}
		if last != nil {
			c.crashBackoff.gc(w.now(), w.k.cfg.CrashLoopBackOffMax)
			c.crashBO().next(last.FinishedAt.Sub(sim.Epoch), w.now(), w.k.cfg.CrashLoopBackOffInitial, w.k.cfg.CrashLoopBackOffMax)
		}
	}
	c.killRestart = false
	w.ensureImage(c)
}

// notStarting puts c back out of the start pipeline.
func (w *podWorker) notStarting(c *container) {
	if w.starting == c {
		w.starting = nil
	}
	c.pullSeq++
	if c.state == cStarting {
		c.timer.Stop()
		if c.exit != nil {
			c.state = cExited
		} else {
			c.state = cNew
		}
	}
}

func (w *podWorker) ensureImage(c *container) {
	image := c.spec.Image
	present := w.k.images.has(image)
	switch {
	case c.spec.ImagePullPolicy == v1.PullNever && !present:
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", image)
		w.k.event(w.ref(c), v1.EventTypeWarning, reasonErrImageNeverPull, msg)
		w.waitFailed(c, reasonErrImageNeverPull, msg)
		return
	case present && c.spec.ImagePullPolicy != v1.PullAlways:
		w.k.event(w.ref(c), v1.EventTypeNormal, "Pulled", factsOf(image).present)
		w.createAndStart(c)
		return
	}
	max := w.k.cfg.CrashLoopBackOffMax
	if c.pullBackoff.inBackoffSinceUpdate(w.now(), max) {
		msg := fmt.Sprintf("Back-off pulling image %q", image)
		w.k.event(w.ref(c), v1.EventTypeNormal, "BackOff", msg)
		w.k.event(w.ref(c), v1.EventTypeWarning, "Failed", "Error: "+reasonImagePullBackOff)
		w.waitFailed(c, reasonImagePullBackOff, msg)
		return
	}
	w.k.event(w.ref(c), v1.EventTypeNormal, "Pulling", factsOf(image).pulling)
	if w.k.eng.Tracing() {
		w.trace("pulling", fmt.Sprintf("container %s: pulling image %s", c.name, image))
	}
	d := w.k.jitter(w.k.cfg.ImagePullDuration)
	if c.b.ImagePullDuration != nil {
		d = *c.b.ImagePullDuration
	}
	c.pullSeq++
	seq := c.pullSeq
	w.k.images.request(image, d, c.b.ImagePullError, c.spec.ImagePullPolicy != v1.PullAlways, func(p *pull, requested time.Duration) {
		if c.pullSeq != seq || w.starting != c || !w.k.alive() {
			return
		}
		w.pulled(c, p, requested)
	})
}

func (w *podWorker) pulled(c *container, p *pull, requested time.Duration) {
	image := c.spec.Image
	if p.failMsg != "" {
		msg := fmt.Sprintf("failed to pull image %q: %s", image, p.failMsg)
		w.k.event(w.ref(c), v1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %s", image, p.failMsg))
		w.k.event(w.ref(c), v1.EventTypeWarning, "Failed", "Error: "+reasonErrImagePull)
		c.pullBO().next(w.now(), w.now(), w.k.cfg.CrashLoopBackOffInitial, w.k.cfg.CrashLoopBackOffMax)
		w.trace("pullFailed", fmt.Sprintf("container %s: %s", c.name, msg))
		w.waitFailed(c, reasonErrImagePull, msg)
		return
	}
	pullD := (p.end - p.start).Truncate(time.Millisecond)
	total := (w.now() - requested).Truncate(time.Millisecond)
	w.k.event(w.ref(c), v1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.",
		image, pullD, total, imageSize(image)))
	if w.k.eng.Tracing() {
		w.trace("pulled", fmt.Sprintf("container %s: pulled image %s in %v", c.name, image, total))
	}
	w.createAndStart(c)
}

// waitFailed leaves c waiting with reason, to be tried again at the pod
// worker's resync, and goes on with the pod's other containers.
func (w *podWorker) waitFailed(c *container, reason, msg string) {
	w.notStarting(c)
	if c.waitReason != reason || c.waitMessage != msg {
		c.waitReason, c.waitMessage = reason, msg
		w.changed()
	}
	w.resync()
	w.advance()
}

func (w *podWorker) createAndStart(c *container) {
	d := w.k.jitter(w.k.cfg.ContainerStartDuration)
	if c.b.StartDuration != nil {
		d = *c.b.StartDuration
	}
	c.timer = w.k.eng.After(d, w.k.lblStart, func() { w.containerStarted(c) })
}

// containerStarted: c's process runs.
func (w *podWorker) containerStarted(c *container) {
	if c.state != cStarting || w.starting != c {
		panic(fmt.Sprintf("kubelet %s: container %s of pod %s started in state %s", w.k.name, c.name, w.key, c.state))
	}
	if c.exit != nil {
		c.lastTerm = c.exit
		c.exit = nil
	}
	if c.everRan {
		c.restartCount++
	}
	c.everRan = true
	c.state = cRunning
	c.oldSandbox = false
	c.signaledAt = notSignaled
	c.startedAt = w.now()
	c.waitReason, c.waitMessage = "", ""
	c.imageID = factsOf(c.spec.Image).id
	c.containerID = containerID(w.uid, c.name, c.restartCount, w.k.bootID)
	w.starting = nil
	w.k.event(w.ref(c), v1.EventTypeNormal, "Created", "Created container: "+c.name)
	w.k.event(w.ref(c), v1.EventTypeNormal, "Started", "Started container "+c.name)
	if w.k.eng.Tracing() {
		w.trace("containerStarted", fmt.Sprintf("container %s started (restarts %d)", c.name, c.restartCount))
	}

	exitAfter, code, exits := c.b.exitAfter()
	if c.init && !exits {
		exitAfter, code, exits = w.k.jitter(w.k.cfg.InitContainerDuration), 0, true
	}
	if exits {
		c.timer = w.k.eng.After(exitAfter, w.k.lblExit, func() {
			reason := reasonCompleted
			if code != 0 {
				reason = reasonError
			}
			w.exited(c, code, reason, false)
		})
	}
	w.startProbes(c)
	w.changed()
	w.probeSync() // the pod's sync after the start (PLEG's ContainerStarted)
	w.updateServing()
	if c.b.StartupDuration > 0 {
		// The application accepts connections from then on (a stale wake-up
		// after a restart or a stop only recomputes the same answer).
		w.k.eng.After(c.b.StartupDuration, w.k.lblServe, w.updateServing)
	}
	w.advance()
}

const containerIDPrefix = "containerd://"

// containerID is a container's runtime ID: "containerd://" and the hex
// SHA-256 of "<pod UID>/<container>/<restart count>/<boot ID>", built in
// one string (the kubelet makes one for every container it starts).
func containerID(uid types.UID, name string, restart int32, boot string) string {
	var in [256]byte
	b := append(append(append(in[:0], uid...), '/'), name...)
	b = append(strconv.AppendInt(append(b, '/'), int64(restart), 10), '/')
	sum := sha256.Sum256(append(b, boot...))
	var out [len(containerIDPrefix) + 2*sha256.Size]byte
	copy(out[:], containerIDPrefix)
	hex.Encode(out[len(containerIDPrefix):], sum[:])
	return string(out[:])
}

// ---- probes ----

// Probes follow upstream's prober workers (pkg/kubelet/prober/worker.go,
// prober_manager.go; the default up to v1.37). A pod's probe workers start
// when the kubelet first syncs the pod (or syncs it again after a reboot)
// and tick every periodSeconds from then, whatever its containers do; a
// tick probes only a running container whose initialDelaySeconds have
// passed, liveness and readiness only once it started (its startup probe
// succeeded), startup only until then. At every sync of the pod a
// readiness worker whose container is started but not ready also runs at
// once and restarts its period (the prober manager's UpdatePodStatus
// triggers a manual run); kubesim syncs the pod when one of its
// containers starts or exits and when a probe result changes.

// probeAnchor is when the pod's probe workers started: its admission, or
// the kubelet's last boot if that came after (upstream's workers started
// within a period of the kubelet's own start first sleep a random part of
// a period; kubesim's do not).
func (w *podWorker) probeAnchor() time.Duration {
	return max(w.startTime.Sub(sim.Epoch), w.k.bootedAt)
}

func probePeriod(spec *v1.Probe) time.Duration {
	if spec.PeriodSeconds <= 0 {
		return 10 * time.Second
	}
	return time.Duration(spec.PeriodSeconds) * time.Second
}

func initialDelay(spec *v1.Probe) time.Duration {
	return time.Duration(spec.InitialDelaySeconds) * time.Second
}

// startProbes sets c's probe state for a new run: its startup and liveness
// probes first run at the pod's first tick after c's start and initial
// delay; its readiness probe is run by the sync that follows the start.
func (w *podWorker) startProbes(c *container) {
	if c.init {
		// No probes: started while it runs (the prober manager's
		// isContainerStarted); ready only once it completed.
		c.started, c.ready = true, false
		return
	}
	c.started = c.probe(probeStartup).spec == nil
	c.ready = c.started && c.probe(probeReadiness).spec == nil
	if c.probes == nil {
		return
	}
	anchor := w.probeAnchor()
	for kind := range c.probes {
		p := &c.probes[kind]
		p.successes, p.failures = 0, 0
		if p.spec == nil || probeKind(kind) == probeReadiness {
			continue
		}
		kind := probeKind(kind)
		period := probePeriod(p.spec)
		// A tick at the very instant of the start comes before the
		// container does (it is created by the sync after the tick).
		due := c.startedAt + max(initialDelay(p.spec), time.Nanosecond)
		ticks := max(1, (due-anchor+period-1)/period)
		p.timer = w.k.eng.At(anchor+ticks*period, w.k.lblProbe, func() { w.probe(c, kind) })
	}
}

func (w *podWorker) stopProbes(c *container) {
	if c.probes == nil {
		return
	}
	for kind := range c.probes {
		c.probes[kind].timer.Stop()
	}
}

// probe is a tick of c's probe worker of kind: it re-arms, and runs the
// probe if c is due one.
func (w *podWorker) probe(c *container, kind probeKind) {
	p := c.probe(kind)
	if c.state != cRunning || (c.stopping && kind != probeReadiness) || !w.k.alive() {
		return
	}
	if kind == probeStartup && c.started {
		return
	}
	p.timer = w.k.eng.After(probePeriod(p.spec), w.k.lblProbe, func() { w.probe(c, kind) })
	if (kind != probeStartup && !c.started) || w.now()-c.startedAt < initialDelay(p.spec) {
		return
	}
	w.runProbe(c, kind)
}

// probeSync is what a sync of the pod does to its probes: the readiness
// probe of each running container that is started but not ready runs at
// once, unless its initial delay has not passed, and its period restarts
// from now (UpdatePodStatus's manual trigger; worker.run resets the
// ticker).
func (w *podWorker) probeSync() {
	for _, c := range w.all {
		if c.probes == nil || c.state != cRunning || !c.started || c.ready {
			continue
		}
		p := &c.probes[probeReadiness]
		if p.spec == nil {
			continue
		}
		p.timer.Stop()
		p.timer = w.k.eng.After(probePeriod(p.spec), w.k.lblProbe, func() { w.probe(c, probeReadiness) })
		if w.now()-c.startedAt >= initialDelay(p.spec) {
			w.runProbe(c, probeReadiness)
		}
	}
}

// runProbe evaluates the probe against the behaviour model and applies
// the thresholds; a changed result syncs the pod.
func (w *podWorker) runProbe(c *container, kind probeKind) {
	p := c.probe(kind)
	ok, msg := w.probeOutcome(c, kind)
	if ok {
		p.successes++
		p.failures = 0
	} else {
		p.failures++
		p.successes = 0
		w.k.event(w.ref(c), v1.EventTypeWarning, "Unhealthy", kind.String()+" probe failed: "+msg)
	}
	failureThreshold := p.spec.FailureThreshold
	if failureThreshold <= 0 {
		failureThreshold = 3
	}
	successThreshold := p.spec.SuccessThreshold
	if successThreshold <= 0 {
		successThreshold = 1
	}
	switch kind {
	case probeStartup:
		if ok {
			c.started = true
			p.timer.Stop()
			w.trace("startupSucceeded", "container "+c.name+" passed its startup probe")
			if c.probe(probeReadiness).spec == nil {
				c.ready = true
			}
			w.changed()
			w.probeSync()
			w.advance() // a sidecar's start lets the next init container go
		} else if p.failures >= failureThreshold {
			w.probeKill(c, kind)
		}
	case probeReadiness:
		switch {
		case ok && !c.ready && p.successes >= successThreshold:
			c.ready = true
			w.trace("containerReady", "container "+c.name+" is ready")
			w.changed()
			w.probeSync()
		case !ok && c.ready && p.failures >= failureThreshold:
			c.ready = false
			w.trace("containerNotReady", "container "+c.name+" failed its readiness probe: "+msg)
			w.changed()
			w.probeSync()
		}
	case probeLiveness:
		if !ok && p.failures >= failureThreshold {
			w.probeKill(c, kind)
		}
	}
}

// probeKill kills c after its liveness or startup probe failed; it is
// restarted unless the restart policy is Never. A sidecar always is, and
// its Killing message says so no more than upstream's
// computeInitContainerActions does ("Init container NAME failed liveness
// probe"); a regular container's is computePodActions' (", will be
// restarted" when it will).
func (w *podWorker) probeKill(c *container, kind probeKind) {
	restart := w.pod.Spec.RestartPolicy != v1.RestartPolicyNever || c.sidecar
	var msg string
	switch {
	case c.sidecar:
		msg = "Init container " + c.name + " failed " + strings.ToLower(kind.String()) + " probe"
	case restart:
		msg = "Container " + c.name + " failed " + strings.ToLower(kind.String()) + " probe, will be restarted"
	default:
		msg = "Container " + c.name + " failed " + strings.ToLower(kind.String()) + " probe"
	}
	grace := w.podGrace()
	if ps := c.probe(kind).spec; ps.TerminationGracePeriodSeconds != nil {
		grace = *ps.TerminationGracePeriodSeconds
	}
	w.trace("probeFailed", msg)
	w.stopContainer(c, grace, msg, restart)
	w.probeSync() // the sync the failed result brought
}

// probeOutcome is the result of one probe run and, for a failure, upstream's
// style of message.
func (w *podWorker) probeOutcome(c *container, kind probeKind) (bool, string) {
	t := w.now() - c.startedAt
	b := c.b
	starting := t < b.StartupDuration
	failing := false
	switch kind {
	case probeReadiness:
		failing = b.NotReadyFrom != nil && t >= *b.NotReadyFrom && t < *b.NotReadyTo
	case probeLiveness:
		failing = b.LivenessFailsAfter != nil && t >= *b.LivenessFailsAfter
	}
	if !starting && !failing {
		return true, ""
	}
	spec := c.probe(kind).spec
	port := func(p intstr.IntOrString) string {
		if p.Type == intstr.Int {
			return itoa(p.IntVal)
		}
		for _, cp := range c.spec.Ports {
			if cp.Name == p.StrVal {
				return itoa(cp.ContainerPort)
			}
		}
		return p.StrVal
	}
	switch {
	case spec.HTTPGet != nil:
		if starting {
			// The URL the HTTP prober builds (scheme, host or the pod's IP,
			// port, path) and the dial error net/http reports.
			h := spec.HTTPGet
			scheme, host, path := strings.ToLower(string(h.Scheme)), h.Host, h.Path
			if scheme == "" {
				scheme = "http"
			}
			if host == "" {
				host = w.ip
			}
			if path != "" && !strings.HasPrefix(path, "/") {
				path = "/" + path
			}
			addr := host + ":" + port(h.Port)
			return false, fmt.Sprintf("Get \"%s://%s%s\": dial tcp %s: connect: connection refused", scheme, addr, path, addr)
		}
		code := 503
		if kind == probeLiveness {
			code = 500
		}
		return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", code)
	case spec.TCPSocket != nil:
		return false, fmt.Sprintf("dial tcp %s:%s: connect: connection refused", w.ip, port(spec.TCPSocket.Port))
	case spec.GRPC != nil:
		if starting {
			// The gRPC prober dials with grpc.WithBlock until its timeout.
			timeout := time.Duration(max(spec.TimeoutSeconds, 1)) * time.Second
			return false, fmt.Sprintf("timeout: failed to connect service %q within %v: context deadline exceeded", w.ip+":"+itoa(spec.GRPC.Port), timeout)
		}
		return false, `service unhealthy (responded with "NOT_SERVING")`
	}
	return false, "command exited with code 1"
}

// ---- exits, restarts, completion ----

// exited records that c's process ended with code. restartOverride forces
// a restart decision made before the stop (a probe kill).
func (w *podWorker) exited(c *container, code int32, reason string, restartOverride bool) {
	if c.state != cRunning {
		return
	}
	c.timer.Stop()
	w.stopProbes(c)
	forced := c.stopping && c.restartOnStop
	wasStopping := c.stopping
	c.stopping, c.restartOnStop, c.awaitingTurn = false, false, false
	c.state = cExited
	c.ready, c.started = false, false
	c.exit = &v1.ContainerStateTerminated{ExitCode: code, Reason: reason, StartedAt: w.time(c.startedAt),
		FinishedAt: w.time(w.now()), ContainerID: c.containerID}
	w.trace("containerExited", fmt.Sprintf("container %s exited with code %d (%s)", c.name, code, reason))
	w.updateServing()
	w.changed()
	w.probeSync() // the pod's sync after the exit (PLEG's ContainerDied)
	if w.terminating {
		w.wakeSidecars()
		w.checkTerminated()
		return
	}
	if w.done {
		w.wakeSidecars()
		w.checkDone()
		return
	}
	restart := false
	switch {
	case c.sidecar:
		restart = true
	case wasStopping && !forced:
		restart = false
	case forced || restartOverride:
		restart = true
	case c.init:
		restart = code != 0 && w.pod.Spec.RestartPolicy != v1.RestartPolicyNever
	default:
		switch w.pod.Spec.RestartPolicy {
		case v1.RestartPolicyAlways, "":
			restart = true
		case v1.RestartPolicyOnFailure:
			restart = code != 0
		}
	}
	if restart {
		w.scheduleRestart(c, forced)
		return
	}
	if c.init && code != 0 {
		w.complete("init container " + c.name + " failed")
		return
	}
	if !c.init && !c.sidecar && w.allRegularFinished() {
		w.complete("all containers exited")
		return
	}
	w.advance()
}

func (w *podWorker) allRegularFinished() bool {
	for _, c := range w.regular() {
		if c.state != cExited || c.wantStart || c.timer.Pending() {
			return false
		}
	}
	return true
}

// scheduleRestart restarts c at once or, while it is in CrashLoopBackOff,
// when its back-off (measured from its finish) expires, or earlier when
// the kubelet's housekeeping collects the back-off entry (2 × max after
// its last update). killed: the kubelet killed c to restart it (a failed
// probe); upstream restarts it in the sync that killed it, and doBackOff
// checks the pod status read before the kill: the back-off is measured
// from c's previous exited run, and without one c restarts at once with
// no back-off update.
func (w *podWorker) scheduleRestart(c *container, killed bool) {
	finish := c.exit.FinishedAt.Sub(sim.Epoch)
	max := w.k.cfg.CrashLoopBackOffMax
	since := finish
	if killed && c.lastTerm != nil {
		since = c.lastTerm.FinishedAt.Sub(sim.Epoch)
	}
	c.crashBackoff.gc(w.now(), max)
	if (!killed || c.lastTerm != nil) && c.crashBackoff.inBackoffSince(since, w.now(), max) {
		podDesc := fmt.Sprintf("%s_%s(%s)", w.name(), w.namespace(), w.uid)
		c.waitReason = reasonCrashLoopBackOff
		c.waitMessage = fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", c.crashBackoff.delay, c.name, podDesc)
		w.k.event(w.ref(c), v1.EventTypeWarning, "BackOff", fmt.Sprintf("Back-off restarting failed container %s in pod %s", c.name, podDesc))
		restartAt := min(finish+c.crashBackoff.delay, c.crashBackoff.collectedAt(max))
		w.trace("backOff", fmt.Sprintf("container %s in CrashLoopBackOff, restart in %v", c.name, restartAt-w.now()))
		c.timer = w.k.eng.At(restartAt, w.k.lblBackoff, func() {
			c.wantStart = true
			w.advance()
		})
		w.changed()
		return
	}
	c.wantStart = true
	c.killRestart = killed
	w.advance()
}

// complete: the pod's containers have finished for good (restartPolicy
// Never/OnFailure, or a failed init container with Never). Sidecars still
// running are stopped.
func (w *podWorker) complete(why string) {
	w.done = true
	w.notStartingAll()
	w.trace("podCompleted", why)
	for _, c := range w.all {
		if c.state == cRunning && !c.stopping {
			w.stopContainer(c, w.podGrace(), "", false)
		}
	}
	w.checkDone()
}

// checkDone finishes a completed pod once nothing runs: its sandbox goes,
// its resources are released.
func (w *podWorker) checkDone() {
	for _, c := range w.all {
		if c.state == cRunning {
			return
		}
	}
	w.sandboxReady = false
	w.release()
	w.changed()
	if w.pod.DeletionTimestamp != nil {
		w.deleteAfter = true
	}
}

func (w *podWorker) notStartingAll() {
	w.sandboxTimer.Stop()
	w.resyncTimr.Stop()
	for _, c := range w.all {
		w.notStarting(c)
		if c.state == cExited {
			c.timer.Stop() // a restart after back-off
		}
		c.wantStart, c.killRestart = false, false
	}
}

// ---- termination ----

func (w *podWorker) podGrace() int64 {
	if g := w.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return *g
	}
	return v1.DefaultTerminationGracePeriodSeconds
}

// update takes a new version of the pod from the watch.
func (w *podWorker) update(pod *v1.Pod) {
	if pod.UID != w.uid {
		return
	}
	old := w.pod
	w.pod = pod
	// The kubelet's own last write, with nothing changed since: its status
	// is the kubelet's by construction.
	own := pod == w.wrote && w.gen == w.written
	if pod != w.wrote {
		w.wrote = nil
	}
	if !w.done && gatesChanged(old, pod) {
		w.changed() // Ready depends on the readiness gates' conditions
	}
	if !w.done && pod.Generation != old.Generation {
		// A spec change (or the deletion's bump): the sync it triggers
		// reports the new generation (SetPodStatus).
		w.changed()
	}
	if !w.done && w.rejection == nil && !own && conditionStatus(old.Status.Conditions, v1.PodReady) != conditionStatus(pod.Status.Conditions, v1.PodReady) &&
		w.statusDiverged(pod) {
		// Someone else flipped Ready (the node lifecycle controller's
		// MarkPodsNotReady, racing with a partition healing): the status
		// manager's reconcile writes the kubelet's own status again.
		w.changed()
	}
	if pod.DeletionTimestamp == nil {
		return
	}
	if w.terminating {
		// A later delete may have shortened the grace period (the API
		// server lowers deletionGracePeriodSeconds): UpdatePod kills again.
		if grace := w.effectiveGrace(w.grace); grace != w.grace {
			w.shortenGrace(grace)
		}
		return
	}
	switch {
	case w.deleteSent:
		// Finished and deleted: this is the watch catching up with the
		// kubelet's own last writes.
	case w.rejection != nil || w.done:
		if w.rejection == nil && !w.killed && w.pod.Status.Phase != v1.PodSucceeded && w.pod.Status.Phase != v1.PodFailed {
			// Finished without a terminal phase (a Never pod left with no
			// sandbox after a node crash): TerminatePod gives it one.
			w.killed = true
			w.changed()
		}
		if w.flushTimer.Pending() || w.gen != w.written {
			w.deleteAfter = true
			w.scheduleFlush()
		} else {
			w.k.deletePod(w.namespace(), w.name(), w.uid)
			w.deleteSent = true
		}
	case w.killed:
		// The termination already finished (this is a later version of the
		// pod, e.g. the one with the final status): only the deletion is
		// left, sent or pending.
		if !w.deleteSent {
			w.deleteAfter = true
			w.scheduleFlush()
		}
	case w.crashed:
		// Nothing runs; the recovery will finish the deletion.
	default:
		w.beginTermination()
	}
}

// gatesChanged reports whether a readiness gate's condition changed
// between two versions of a pod.
func gatesChanged(old, cur *v1.Pod) bool {
	for _, g := range cur.Spec.ReadinessGates {
		if conditionStatus(old.Status.Conditions, g.ConditionType) != conditionStatus(cur.Status.Conditions, g.ConditionType) {
			return true
		}
	}
	return false
}

// effectiveGrace is calculateEffectiveGracePeriod (pkg/kubelet/pod_workers.go)
// for the pod's current version, given the termination's grace period so
// far (0 before it starts): the pod's deletionGracePeriodSeconds if that
// is lower (the API server's value is "bedrock truth"), else, for a
// termination not yet started, its terminationGracePeriodSeconds; never
// below 1 s. A grace period only ever decreases.
func (w *podWorker) effectiveGrace(current int64) int64 {
	grace, overridden := current, false
	if d := w.pod.DeletionGracePeriodSeconds; d != nil && (grace == 0 || *d < grace) {
		grace, overridden = *d, true
	}
	if !overridden && grace == 0 {
		grace = w.podGrace()
	}
	return max(grace, 1)
}

// beginTermination stops the pod's containers gracefully: each runs its
// preStop hook, then gets the stop signal, and is killed when the grace
// period (with a one-time 2 s extension after a preStop hook) runs out.
func (w *podWorker) beginTermination() {
	w.terminating = true
	w.grace = w.effectiveGrace(0)
	w.notStartingAll()
	w.trace("terminating", fmt.Sprintf("pod deleted: stopping containers (grace %ds)", w.grace))
	for _, c := range w.all {
		if c.state == cRunning && !c.stopping {
			w.stopContainer(c, w.grace, "", false)
		}
	}
	w.checkTerminated()
}

// shortenGrace kills the pod's running containers again with grace, the
// shorter grace period a later delete asked for, counted from now: upstream's
// UpdatePod cancels the terminating sync when the grace shortens and
// SyncTerminatingPod runs killPod again, whose killContainer records
// Killing, runs the preStop hook again (a hook still running from the
// first kill fails with the cancelled context: FailedPreStopHook), sends
// the stop signal and kills when what is left of grace (at least 2 s) runs
// out. The runtime's wait for the first kill is given up with the
// cancelled context; a process already signalled still exits on its own
// schedule, counted from its first signal.
func (w *podWorker) shortenGrace(grace int64) {
	if w.k.eng.Tracing() {
		w.trace("graceShortened", fmt.Sprintf("deletion grace period %ds → %ds: stopping containers again", w.grace, grace))
	}
	w.grace = grace
	now := w.now()
	for _, c := range w.all {
		if c.state != cRunning {
			continue
		}
		if c.signaledAt == notSignaled || c.signaledAt > now {
			if c.stopping && !c.awaitingTurn && c.preStopDuration() > 0 {
				w.k.event(w.ref(c), v1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed")
			}
			c.signaledAt = notSignaled
		}
		c.stopping, c.restartOnStop, c.awaitingTurn = false, false, false
		w.stopContainer(c, grace, "", false)
	}
}

// preStopDuration is how long c's preStop hook runs (0: no hook).
func (c *container) preStopDuration() time.Duration {
	if c.b.PreStopDuration != nil {
		return *c.b.PreStopDuration
	}
	if lc := c.spec.Lifecycle; lc != nil && lc.PreStop != nil && lc.PreStop.Sleep != nil {
		return time.Duration(lc.PreStop.Sleep.Seconds) * time.Second
	}
	return 0
}

// stopContainer kills c (killContainer): the Killing event, the preStop
// hook if there is one and time is left, the stop signal, then exit after
// the process's stop duration or a kill when the time is up.
func (w *podWorker) stopContainer(c *container, grace int64, msg string, restart bool) {
	if c.stopping || c.state != cRunning {
		return
	}
	c.stopping, c.restartOnStop = true, restart
	c.timer.Stop()
	if c.probes != nil {
		// The readiness probe goes on until the container exits
		// (worker.doProbe ends only liveness and startup probes).
		c.probes[probeStartup].timer.Stop()
		c.probes[probeLiveness].timer.Stop()
	}
	if msg == "" {
		msg = "Stopping container " + c.name
	}
	w.k.event(w.ref(c), v1.EventTypeNormal, "Killing", msg)
	preStop := time.Duration(0)
	if grace > 0 {
		preStop = min(c.preStopDuration(), time.Duration(grace)*time.Second)
	}
	// Upstream subtracts the hook's whole seconds and never gives less than
	// 2 s (minimumGracePeriodInSeconds).
	remaining := grace - int64(preStop/time.Second)
	if c.sidecar && (w.terminating || w.done) && remaining > 0 {
		// The pod is killed: after its hook the sidecar waits for its turn
		// (upstream's terminationOrdering.waitForTurn).
		c.turnGrace = int32(min(remaining, math.MaxInt32))
		c.timer = w.k.eng.After(preStop, w.k.lblStop, func() { w.awaitTurn(c) })
		return
	}
	w.signal(c, preStop, remaining)
}

// signal sends c the stop signal after delay: it exits its stop duration
// after its first signal, or is killed when remaining seconds (at least 2)
// run out.
func (w *podWorker) signal(c *container, delay time.Duration, remaining int64) {
	if remaining < 2 {
		remaining = 2
	}
	if c.signaledAt == notSignaled {
		c.signaledAt = w.now() + delay
	}
	window := time.Duration(remaining) * time.Second
	at, code, reason := c.signaledAt+c.b.StopDuration, int32(0), reasonCompleted
	if killAt := w.now() + delay + window; at > killAt {
		at, code, reason = killAt, 137, reasonError
	}
	c.timer = w.k.eng.At(at, w.k.lblStop, func() { w.exited(c, code, reason, false) })
}

// awaitTurn: sidecar c of a killed pod finished its preStop hook; it is
// stopped once the regular containers and the next sidecar in spec order
// exited, or when its turnGrace seconds run out.
func (w *podWorker) awaitTurn(c *container) {
	if w.turnDue(c) {
		w.signal(c, 0, int64(c.turnGrace))
		return
	}
	c.awaitingTurn = true
	c.timer = w.k.eng.After(time.Duration(c.turnGrace)*time.Second, w.k.lblStop, func() {
		c.awaitingTurn = false
		w.signal(c, 0, 0)
	})
}

// turnDue reports whether the containers sidecar c stops after have exited.
func (w *podWorker) turnDue(c *container) bool {
	for _, r := range w.regular() {
		if r.state == cRunning {
			return false
		}
	}
	inits := w.inits()
	for i := range inits {
		if inits[i] != c {
			continue
		}
		for _, next := range inits[i+1:] {
			if next.sidecar {
				return next.state != cRunning
			}
		}
	}
	return true
}

// wakeSidecars stops the sidecars whose turn came with an exit.
func (w *podWorker) wakeSidecars() {
	for _, c := range w.inits() {
		if c.awaitingTurn && w.turnDue(c) {
			// What is left of its turnGrace seconds less the whole
			// seconds it waited: the seconds to its timer, rounded up.
			due, ok := c.timer.When()
			if !ok {
				panic(fmt.Sprintf("kubelet: sidecar %s of %s awaits its turn without a timer", c.name, w.key))
			}
			c.timer.Stop()
			c.awaitingTurn = false
			w.signal(c, 0, int64((due-w.now()+time.Second-1)/time.Second))
		}
	}
}

// checkTerminated finishes a termination once every container stopped:
// the final status (terminal phase) is written, then the pod deleted.
func (w *podWorker) checkTerminated() {
	for _, c := range w.all {
		if c.state == cRunning {
			return
		}
	}
	w.finishTermination()
}

func (w *podWorker) finishTermination() {
	w.terminating = false
	w.done, w.killed = true, true
	w.sandboxReady = false
	w.release()
	w.trace("terminated", "all containers stopped")
	w.deleteAfter = w.pod.DeletionTimestamp != nil
	w.changed()
}

// removed: the pod object is gone from the API (deleted by the kubelet
// itself, or force-deleted): whatever still runs is killed at once.
func (w *podWorker) removed() {
	w.notStartingAll()
	w.flushTimer.Stop()
	for _, c := range w.all {
		c.timer.Stop()
		w.stopProbes(c)
		if c.state == cRunning {
			c.state = cExited
			w.trace("containerKilled", "pod object removed: container "+c.name+" killed")
		}
	}
	w.release()
	delete(w.k.workers, w.uid)
	if w.k.byKey[w.key] == w {
		delete(w.k.byKey, w.key)
	}
	w.updateServing()
}

// ---- node crash and recovery ----

// lose: the node crashed under the pod. Running containers are gone; they
// will be seen as exited with reason Unknown (exit code 255), as a container
// runtime reports them after a reboot.
func (w *podWorker) lose() {
	w.notStartingAll()
	w.flushTimer.Stop()
	for _, c := range w.all {
		c.timer.Stop()
		w.stopProbes(c)
		if c.state == cRunning {
			c.exit = &v1.ContainerStateTerminated{ExitCode: 255, Reason: reasonUnknown, StartedAt: w.time(c.startedAt),
				FinishedAt: w.time(w.now()), ContainerID: c.containerID}
			c.state = cExited
		}
		c.oldSandbox = c.everRan
		c.stopping, c.restartOnStop, c.awaitingTurn = false, false, false
		c.ready, c.started = false, false
	}
	if w.rejection != nil || (w.done && !w.terminating) {
		return
	}
	w.crashed = true
	w.sandboxReady = false
	w.releaseIP()
	w.starting = nil
	w.initIdx = 0
	w.updateServing()
}

// recover reconciles the pod with its current version after the node
// recovered: a partitioned node's pod just catches up (a deletion it
// missed starts its termination now); a crashed node's pod is finished if
// it was deleted meanwhile, else started again from scratch in a new
// sandbox (init containers run again; every container that had run counts
// a restart), as upstream's computePodActions does when the sandbox
// changed: not a restartPolicy Never pod that had created a container, and
// not an OnFailure pod's regular containers that had succeeded.
func (w *podWorker) recover(pod *v1.Pod) {
	w.pod = pod
	if w.crashed {
		w.crashed = false
		switch {
		case pod.DeletionTimestamp != nil || w.terminating:
			w.finishTermination()
		case pod.Spec.RestartPolicy == v1.RestartPolicyNever && w.anyRan():
			// No new sandbox for a Never pod that created a container
			// (computePodActions): it stays with its exited containers.
			w.done = true
			w.release()
			w.changed()
		default:
			onFailure := pod.Spec.RestartPolicy == v1.RestartPolicyOnFailure
			for _, c := range w.all {
				if onFailure && !c.init && !c.sidecar && c.exit != nil && c.exit.ExitCode == 0 {
					continue // succeeded: not started again
				}
				c.state = cNew
				c.wantStart, c.killRestart = false, false
				// The kubelet's back-offs and why starts failed (its
				// reasonCache) lived in memory.
				c.crashBackoff, c.pullBackoff = nil, nil
				c.waitReason, c.waitMessage = "", ""
			}
			w.startSandbox()
			w.changed()
		}
		return
	}
	if !w.done && w.rejection == nil && w.statusDiverged(pod) {
		// Someone else changed a condition the kubelet owns while it could
		// not see it (the node lifecycle controller's MarkPodsNotReady):
		// the status manager's reconcile writes its own status again.
		w.changed()
	}
	if w.gen != w.written || w.deleteAfter && !w.deleteSent {
		w.scheduleFlush()
	}
	if pod.DeletionTimestamp != nil {
		w.update(pod) // a deletion missed, or a shorter grace period
	}
}

// statusDiverged reports whether the status of pod as the API server has
// it differs from the kubelet's own in a condition the kubelet owns (the
// status manager's needsReconcile).
func (w *podWorker) statusDiverged(pod *v1.Pod) bool {
	want := w.apiStatus(&pod.Status)
	for _, c := range want.Conditions {
		if kubeletOwned(c.Type) && conditionStatus(pod.Status.Conditions, c.Type) != c.Status {
			return true
		}
	}
	return false
}

// regularStartedInSandbox reports whether a regular container started in
// the pod's current sandbox (upstream's HasAnyActiveRegularContainerStarted:
// one with a container, running or exited, in it).
func (w *podWorker) regularStartedInSandbox() bool {
	for _, c := range w.regular() {
		if c.everRan && !c.oldSandbox && c.state != cNew {
			return true
		}
	}
	return false
}

// anyRan reports whether any of the pod's containers, init containers
// included, ever ran.
func (w *podWorker) anyRan() bool {
	for _, c := range w.all {
		if c.everRan {
			return true
		}
	}
	return false
}

func (w *podWorker) anyRegularRan() bool {
	for _, c := range w.regular() {
		if c.everRan {
			return true
		}
	}
	return false
}

// ---- serving ----

// isServing reports whether the pod's sandbox is up and every regular
// container runs with its application started (AnnotationStartupDuration
// passed since the container's start); a container being stopped still
// serves.
func (w *podWorker) isServing() bool {
	if !w.sandboxReady {
		return false
	}
	for _, c := range w.regular() {
		if c.state != cRunning || w.now()-c.startedAt < c.b.StartupDuration {
			return false
		}
	}
	return len(w.regular()) > 0
}

func (w *podWorker) updateServing() {
	// A removed worker's containers are stopped (removed), and a stopped
	// node's kubelet is not alive: neither serves.
	s := w.isServing() && w.k.alive()
	if s == w.servingNow {
		return
	}
	w.servingNow = s
	for _, fn := range w.k.observers {
		fn(w.namespace(), w.name(), s)
	}
}

// ---- status ----

// flush writes the pod's status if it changed since the last write, then
// deletes the pod if its termination is finished.
func (w *podWorker) flush() {
	if !w.k.reachable() {
		return
	}
	if w.gen != w.written {
		for try := 0; ; try++ {
			// The status manager writes on top of the pod version it knows,
			// with that resourceVersion as a precondition; on a conflict it
			// reads the latest version and tries again.
			var cur *v1.Pod
			if try == 0 && w.pod.ResourceVersion != "" {
				cp := *w.pod // shallow: the server copies what it stores
				cur = &cp
			} else {
				var err error
				cur, err = w.k.c.CoreV1().Pods(w.namespace()).Get(context.TODO(), w.name(), metav1.GetOptions{})
				if err != nil || cur.UID != w.uid {
					w.written = w.gen
					return // gone or replaced
				}
			}
			old := cur.Status
			cur.Status = w.apiStatus(&old)
			// pods.UpdateStatus, minus the copies: the kubelet hands the
			// object over (its metadata is the cached version's, shared
			// and never modified; its status is new) and does not use the
			// response.
			_, err := w.k.c.Server().UpdateOwned(w.k.c.User(), w.k.podsRes, w.namespace(), cur, "status", metav1.UpdateOptions{})
			if err != nil && apierrors.IsConflict(err) && try < 3 {
				continue
			}
			if err != nil {
				w.trace("statusRejected", err.Error())
			}
			w.written = w.gen
			if err == nil {
				w.wrote = cur
			}
			if err == nil && w.k.eng.Tracing() {
				w.traceStatus(&old, &cur.Status)
			}
			break
		}
	}
	if w.deleteAfter && !w.deleteSent {
		w.deleteSent = true
		w.k.deletePod(w.namespace(), w.name(), w.uid)
	}
}

// traceStatus emits the pod-level transitions a student follows.
func (w *podWorker) traceStatus(old, cur *v1.PodStatus) {
	if old.Phase != cur.Phase {
		w.trace("phase"+string(cur.Phase), fmt.Sprintf("phase %s → %s", old.Phase, cur.Phase))
	}
	o, n := conditionStatus(old.Conditions, v1.PodReady), conditionStatus(cur.Conditions, v1.PodReady)
	if o != n {
		if n == v1.ConditionTrue {
			w.trace("ready", "pod is Ready")
		} else if o == v1.ConditionTrue {
			w.trace("notReady", "pod is no longer Ready")
		}
	}
}

// apiStatus is the status the kubelet writes (generateAPIPodStatus merged
// with the API's status as the status manager does). It reports the
// generation of the latest version of the pod the kubelet has seen as
// status.observedGeneration and on the conditions it owns (the status
// manager's SetPodStatus; generate.go).
func (w *podWorker) apiStatus(old *v1.PodStatus) v1.PodStatus {
	now := metav1.NewTime(w.k.eng.Now())
	gen := w.pod.Generation
	st := v1.PodStatus{QOSClass: old.QOSClass, NominatedNodeName: old.NominatedNodeName, StartTime: old.StartTime,
		ObservedGeneration: gen}
	if st.StartTime == nil || st.StartTime.IsZero() {
		t := w.startTime
		st.StartTime = &t
	}
	if w.rejection != nil {
		st.Phase, st.Reason, st.Message = v1.PodFailed, w.rejection.reason, w.rejection.msg
		st.Conditions = w.k.conditions(old.Conditions, nil, now)
		return st
	}
	spec := &w.pod.Spec
	terminalPod := w.killed
	if len(w.inits()) > 0 {
		st.InitContainerStatuses = make([]v1.ContainerStatus, 0, len(w.inits()))
	}
	// TerminatePod: a container that never ran is reported terminated
	// (ContainerStatusUnknown) if the pod has initialized; of the init
	// containers, all but the trailing ones that never ran (never the first).
	lastRan := 0
	for i, c := range w.inits() {
		if c.everRan {
			lastRan = i
		}
	}
	for i, c := range w.inits() {
		st.InitContainerStatuses = append(st.InitContainerStatuses, c.apiStatus(len(w.inits()) > 0, terminalPod && i <= lastRan))
	}
	regularMissing := terminalPod && w.hasInitialized()
	if len(w.regular()) > 0 {
		st.ContainerStatuses = make([]v1.ContainerStatus, 0, len(w.regular()))
	}
	for _, c := range w.regular() {
		st.ContainerStatuses = append(st.ContainerStatuses, c.apiStatus(len(w.inits()) > 0, regularMissing))
	}
	if len(st.ContainerStatuses) > 1 {
		// By name, as upstream's convertToAPIContainerStatuses sorts them
		// (SortedContainerStatuses); init containers keep the spec order.
		slices.SortFunc(st.ContainerStatuses, func(a, b v1.ContainerStatus) int { return strings.Compare(a.Name, b.Name) })
	}
	all := st.ContainerStatuses // read only below
	if len(st.InitContainerStatuses) > 0 {
		all = append(append([]v1.ContainerStatus(nil), st.ContainerStatuses...), st.InitContainerStatuses...)
	}
	// generated: the statuses the conditions come from. Upstream's
	// generateAPIPodStatus sees a container that never ran as waiting and
	// derives phase and conditions from that; TerminatePod then reports it
	// ContainerStatusUnknown and turns the phase to Failed, conditions
	// untouched.
	generated := all
	if terminalPod && w.anyReportedMissing(lastRan, regularMissing) {
		generated = make([]v1.ContainerStatus, 0, len(w.all))
		for _, c := range w.all {
			generated = append(generated, c.apiStatus(len(w.inits()) > 0, false))
		}
	}
	st.Phase = podPhase(spec, generated, terminalPod, w.regularStartedInSandbox())
	condPhase := st.Phase
	if terminalPod && st.Phase != v1.PodSucceeded && st.Phase != v1.PodFailed {
		st.Phase = v1.PodFailed // TerminatePod: a terminated pod is never Pending or Running
	}
	if (old.Phase == v1.PodSucceeded || old.Phase == v1.PodFailed) && st.Phase != old.Phase {
		st.Phase = old.Phase // terminal phases are final
	}
	if st.Phase == old.Phase {
		st.Reason, st.Message = old.Reason, old.Message
	}
	ready := v1.ConditionFalse
	if w.sandboxReady {
		ready = v1.ConditionTrue
	}
	initialized := initializedCondition(spec, generated, condPhase)
	containersReady := containersReadyCondition(spec, generated, condPhase)
	podReady := readyCondition(spec, old.Conditions, containersReady)
	kubeletConds := []v1.PodCondition{{Type: v1.PodReadyToStartContainers, Status: ready}, initialized, podReady, containersReady,
		{Type: v1.PodScheduled, Status: v1.ConditionTrue}}
	for i := range kubeletConds {
		kubeletConds[i].ObservedGeneration = gen
	}
	st.Conditions = w.k.conditions(old.Conditions, kubeletConds, now)
	if ip := w.k.spec.InternalIP; ip != "" {
		st.HostIP = ip
		st.HostIPs = w.k.hostIPs(ip)
	}
	if w.statusIP != "" {
		st.PodIP = w.statusIP
		st.PodIPs = []v1.PodIP{{IP: w.statusIP}}
	}
	return st
}

// anyReportedMissing reports whether a terminated pod's status shows a
// container that never ran as terminated (ContainerStatusUnknown): an init
// container up to index lastRan, or a regular one if regularMissing.
func (w *podWorker) anyReportedMissing(lastRan int, regularMissing bool) bool {
	n := int(w.nInits)
	for i, c := range w.all {
		if c.state != cRunning && c.exit == nil && ((i < n && i <= lastRan) || (i >= n && regularMissing)) {
			return true
		}
	}
	return false
}

// hasInitialized reports whether the pod ever completed its initialization
// (the status manager's hasPodInitialized).
func (w *podWorker) hasInitialized() bool {
	if w.nInits == 0 || w.anyRegularRan() {
		return true
	}
	last := w.all[w.nInits-1]
	if last.sidecar {
		return last.state == cRunning && last.started
	}
	return (last.exit != nil && last.exit.ExitCode == 0) || (last.lastTerm != nil && last.lastTerm.ExitCode == 0)
}

// showsStartFailure reports whether c's status shows why its last start
// failed (CrashLoopBackOff, ErrImagePull…) in place of its state. As
// upstream's convertToAPIContainerStatuses (pkg/kubelet/kubelet_pods.go),
// only for a container to be restarted (kubecontainer's
// ShouldContainerBeRestarted): never once the pod is being deleted; one
// that ran only if the restart policy restarts it (a sidecar always is);
// not an init container, sidecars included, whose last run completed.
func (c *container) showsStartFailure() bool {
	if c.waitReason == "" || c.w.pod.DeletionTimestamp != nil {
		return false
	}
	if c.exit == nil {
		return true
	}
	code := c.exit.ExitCode
	switch {
	case (c.init || c.sidecar) && code == 0:
		return false
	case c.sidecar:
		return true
	}
	switch c.w.pod.Spec.RestartPolicy {
	case v1.RestartPolicyNever:
		return false
	case v1.RestartPolicyOnFailure:
		return code != 0
	}
	return true
}

// apiStatus is the container's status as the kubelet reports it; missing:
// if it never ran, it is reported terminated with ContainerStatusUnknown.
func (c *container) apiStatus(podHasInits, missing bool) v1.ContainerStatus {
	w := c.w
	s := v1.ContainerStatus{Name: c.name, Image: c.spec.Image, ImageID: c.imageID, RestartCount: c.restartCount,
		ContainerID: c.containerID, Started: w.k.boolPtr(false)}
	if c.lastTerm != nil {
		s.LastTerminationState.Terminated = c.lastTerm.DeepCopy()
	}
	switch {
	case c.state == cRunning:
		s.State.Running = &v1.ContainerStateRunning{StartedAt: w.time(c.startedAt)}
		s.Started = w.k.boolPtr(c.started)
		s.Ready = c.ready
	case c.exit != nil:
		if c.showsStartFailure() {
			s.State.Waiting = &v1.ContainerStateWaiting{Reason: c.waitReason, Message: c.waitMessage}
			s.LastTerminationState.Terminated = c.exit.DeepCopy()
		} else {
			s.State.Terminated = c.exit.DeepCopy()
		}
		s.Ready = c.init && c.exit.ExitCode == 0
	case missing:
		s.State.Terminated = &v1.ContainerStateTerminated{ExitCode: 137, Reason: reasonContainerStatusUnknown, Message: msgContainerStatusUnknown}
		s.ContainerID = ""
	default:
		reason := reasonContainerCreating
		if podHasInits {
			reason = reasonPodInitializing
		}
		msg := ""
		if c.showsStartFailure() {
			reason, msg = c.waitReason, c.waitMessage
		}
		s.State.Waiting = &v1.ContainerStateWaiting{Reason: reason, Message: msg}
		s.ContainerID = ""
		if !c.everRan {
			s.ImageID = ""
		}
	}
	return s
}
