package apiserver

import "strings"

// imageTagIsLatest reports whether upstream's parsers.ParseImageName
// finds the tag "latest" in image, the rule by which SetDefaults_Container
// pulls Always: an image without tag and digest is "latest"; one that
// github.com/distribution/reference ParseNormalizedNamed refuses
// (uppercase repository, characters or separators its grammar does not
// allow, a digest other than sha256/384/512 in lowercase hex, a name over
// 255 characters) has no tag, and pulls IfNotPresent.
func imageTagIsLatest(image string) bool {
	tag, ok := imageTag(image)
	return ok && tag == "latest"
}

// imageTag parses image as ParseNormalizedNamed does and returns its tag
// ("latest" when it has neither tag nor digest), or false if it does not
// parse.
func imageTag(image string) (string, bool) {
	if len(image) == 64 && isLowerHex(image) {
		return "", false // "cannot specify 64-byte hexadecimal strings"
	}
	name, digest, hasDigest := strings.Cut(image, "@")
	if hasDigest && !validDigest(digest) {
		return "", false
	}
	tag := ""
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, tag = name[:i], name[i+1:]
		if !validTag(tag) {
			return "", false
		}
	}
	// splitDockerDomain: the first component is a registry if it is
	// localhost, holds a '.' or ':' or an uppercase letter; otherwise the
	// name is on docker.io, under library/ when it has one component.
	domain, remote, found := strings.Cut(name, "/")
	if !found || domain != "localhost" && !strings.ContainsAny(domain, ".:") && strings.ToLower(domain) == domain {
		domain, remote = "docker.io", name
	}
	nameLen := len(domain) + 1 + len(remote)
	if domain == "docker.io" && !strings.Contains(remote, "/") {
		nameLen += len("library/")
	}
	if nameLen > 255 || !validDomain(domain) && !validPathComponent(domain) {
		return "", false
	}
	for c := range strings.SplitSeq(remote, "/") {
		if !validPathComponent(c) {
			return "", false
		}
	}
	if tag == "" && !hasDigest {
		tag = "latest"
	}
	return tag, true
}

// validPathComponent: [a-z0-9]+ runs joined by one '.', one or two '_', or
// any number of '-'.
func validPathComponent(s string) bool {
	for i := 0; ; {
		j := i
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j == i {
			return false
		}
		if j == len(s) {
			return true
		}
		switch s[j] {
		case '.':
			j++
		case '_':
			j++
			if j < len(s) && s[j] == '_' {
				j++
			}
		case '-':
			for j < len(s) && s[j] == '-' {
				j++
			}
		default:
			return false
		}
		i = j
	}
}

// validDomain: a host name of dot-separated labels ([a-zA-Z0-9], '-'
// inside) or a bracketed IPv6 address, with an optional numeric port.
func validDomain(s string) bool {
	host := s
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 2 || strings.Trim(s[1:end], "0123456789abcdefABCDEF:") != "" {
			return false
		}
		rest := s[end+1:]
		return rest == "" || rest[0] == ':' && validPort(rest[1:])
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if !validPort(s[i+1:]) {
			return false
		}
		host = s[:i]
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.Trim(label, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "" {
			return false
		}
	}
	return true
}

func validPort(p string) bool { return p != "" && strings.Trim(p, "0123456789") == "" }

// validTag: a word character, then up to 127 word characters, '.' or '-'.
func validTag(t string) bool {
	if t == "" || len(t) > 128 || t[0] == '.' || t[0] == '-' {
		return false
	}
	return strings.Trim(t, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.-") == ""
}

// validDigest: an algorithm the runtime knows (sha256, sha384, sha512)
// and its hash in lowercase hex (go-digest's Digest.Validate).
func validDigest(d string) bool {
	alg, hex, _ := strings.Cut(d, ":")
	want := 0
	switch alg {
	case "sha256":
		want = 64
	case "sha384":
		want = 96
	case "sha512":
		want = 128
	}
	return want > 0 && len(hex) == want && isLowerHex(hex)
}

func isLowerHex(s string) bool {
	return strings.Trim(s, "0123456789abcdef") == ""
}
