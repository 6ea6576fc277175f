package apiserver

import (
	"sync"

	dockerref "github.com/distribution/reference"
)

// imageTagIsLatest reports whether upstream's parsers.ParseImageName
// (pkg/util/parsers) finds the tag "latest" in image, the rule by which
// SetDefaults_Container pulls Always: an image without tag and digest is
// "latest"; one that github.com/distribution/reference's
// ParseNormalizedNamed refuses has no tag, and pulls IfNotPresent
// (SetDefaults_Container ignores the parse error: validation reports it).
//
// A cluster runs few distinct images and the grammar is regular
// expressions, so the answers are kept, up to maxImageMemo of them (a
// pure function's memo: it changes no result).
func imageTagIsLatest(image string) bool {
	imageMemo.Lock()
	latest, ok := imageMemo.latest[image]
	imageMemo.Unlock()
	if ok {
		return latest
	}
	latest = parseImageTag(image) == "latest"
	imageMemo.Lock()
	if len(imageMemo.latest) < maxImageMemo {
		imageMemo.latest[image] = latest
	}
	imageMemo.Unlock()
	return latest
}

const maxImageMemo = 4096

var imageMemo = struct {
	sync.Mutex
	latest map[string]bool
}{latest: map[string]bool{}}

// parseImageTag is the tag parsers.ParseImageName returns: the image's
// tag, "latest" when it has neither tag nor digest, "" when it has only a
// digest or does not parse.
func parseImageTag(image string) string {
	named, err := dockerref.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	var tag, digest string
	if tagged, ok := named.(dockerref.Tagged); ok {
		tag = tagged.Tag()
	}
	if digested, ok := named.(dockerref.Digested); ok {
		digest = digested.Digest().String()
	}
	if tag == "" && digest == "" {
		tag = "latest"
	}
	return tag
}
