package kubelet

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/kubesim/kubesim/sim"
)

// imageStore is a node's image cache and image puller. Pulls are serialized
// (upstream's default serializeImagePulls=true): a pull starts when the
// previous one ended. A container needing an image that is being pulled for
// another container (pull policy IfNotPresent) waits for that pull instead
// of starting another. Images stay on the node across crashes (they are on
// disk); kubesim never garbage-collects them.
type imageStore struct {
	k        *Kubelet
	present  map[string]int64 // image → size in bytes
	inflight map[string]*pull // IfNotPresent pulls in progress, by image
	// busyUntil is when the serialized puller is free again.
	busyUntil time.Duration
	pulls     []*pull // pulls not yet finished, in start order
	// gen counts changes of present (node status reports images).
	gen int
}

// imageFacts are the strings about one image that depend on nothing but
// its name: its digest reference and the messages of the events every pod
// of the image gets.
type imageFacts struct{ id, pulling, present string }

// imageFactsMemo is factsOf's memo.
var imageFactsMemo = newSharedMemo(func(image string) *imageFacts {
	return &imageFacts{id: imageID(image), pulling: fmt.Sprintf("Pulling image %q", image),
		present: fmt.Sprintf("Container image %q already present on machine", image)}
})

// factsOf returns image's facts.
func factsOf(image string) *imageFacts { return imageFactsMemo.get(image) }

// pull is one image pull; done callbacks run when it ends.
type pull struct {
	image    string
	start    time.Duration // when the bytes start flowing
	end      time.Duration
	failMsg  string
	shared   bool // joinable by other IfNotPresent requests
	timer    sim.Timer
	waiters  []pullWaiter
	finished bool
}

type pullWaiter struct {
	requested time.Duration
	done      func(p *pull, requested time.Duration)
}

func newImageStore(k *Kubelet) *imageStore {
	return &imageStore{k: k, present: map[string]int64{}, inflight: map[string]*pull{}}
}

// has reports whether image is on the node.
func (s *imageStore) has(image string) bool {
	_, ok := s.present[image]
	return ok
}

// request pulls image for a container. For a shareable request an
// in-flight pull of the same image is joined. done runs when the pull ends
// (success or failure).
func (s *imageStore) request(image string, d time.Duration, failMsg string, shareable bool, done func(p *pull, requested time.Duration)) {
	now := s.k.eng.Elapsed()
	if shareable && failMsg == "" {
		if p := s.inflight[image]; p != nil {
			p.waiters = append(p.waiters, pullWaiter{requested: now, done: done})
			return
		}
	}
	start := now
	if !s.k.cfg.ParallelImagePulls && s.busyUntil > start {
		start = s.busyUntil
	}
	p := &pull{image: image, start: start, end: start + d, failMsg: failMsg, shared: shareable && failMsg == ""}
	p.waiters = append(p.waiters, pullWaiter{requested: now, done: done})
	if !s.k.cfg.ParallelImagePulls {
		s.busyUntil = p.end
	}
	if p.shared {
		s.inflight[image] = p
	}
	s.pulls = append(s.pulls, p)
	p.timer = s.k.eng.At(p.end, s.k.lblPull, func() { s.finish(p) })
}

func (s *imageStore) finish(p *pull) {
	p.finished = true
	if s.inflight[p.image] == p {
		delete(s.inflight, p.image)
	}
	for i, q := range s.pulls {
		if q == p {
			s.pulls = append(s.pulls[:i], s.pulls[i+1:]...)
			break
		}
	}
	if p.failMsg == "" {
		if _, ok := s.present[p.image]; !ok {
			s.present[p.image] = imageSize(p.image)
			s.gen++
		}
	}
	for _, w := range p.waiters {
		w.done(p, w.requested)
	}
}

// cancel drops every pull in progress (the node crashed or stopped); their
// waiters are not called.
func (s *imageStore) cancel() {
	for _, p := range s.pulls {
		p.timer.Stop()
	}
	s.pulls = nil
	clear(s.inflight)
	s.busyUntil = s.k.eng.Elapsed()
}

// statusImages is status.images: the node's images by decreasing size
// (then name), at most max.
func (s *imageStore) statusImages(max int) []v1.ContainerImage {
	if len(s.present) == 0 {
		return nil
	}
	names := make([]string, 0, len(s.present))
	for n := range s.present {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := s.present[names[i]], s.present[names[j]]
		if a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	if len(names) > max {
		names = names[:max]
	}
	out := make([]v1.ContainerImage, len(names))
	for i, n := range names {
		out[i] = v1.ContainerImage{Names: []string{n}, SizeBytes: s.present[n]}
	}
	return out
}

// ImageSizeBytes is an image's simulated size: a deterministic value
// between 20 MiB and 500 MiB derived from its name.
func ImageSizeBytes(image string) int64 { return imageSize(image) }

func imageSize(image string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(image))
	return 20<<20 + int64(h.Sum64()%(480<<20))
}

// imageID is a deterministic digest reference for image.
func imageID(image string) string {
	sum := sha256.Sum256([]byte(image))
	name := image
	// Strip a tag (not a registry port) for the digest form.
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			break
		}
		if name[i] == ':' {
			name = name[:i]
			break
		}
	}
	return name + "@sha256:" + hex.EncodeToString(sum[:])
}
