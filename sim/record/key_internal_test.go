package record

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"testing"

	"pgregory.net/rapid"
)

// keyOf is hash/fnv's FNV-1a 128 over the parts, each followed by a 0 byte.
func TestKeyOfIsFNV128a(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.SliceOf(rapid.String()).Draw(t, "parts")
		h := fnv.New128a()
		for _, p := range parts {
			_, _ = h.Write([]byte(p))
			_, _ = h.Write([]byte{0})
		}
		sum := h.Sum(nil)
		want := eventKey{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
		if got := keyOf(parts...); got != want {
			t.Fatalf("keyOf(%q) = %x, want %x", parts, got, want)
		}
	})
}

// correlationKey separates parts (no two splits of the same bytes collide)
// and spreads keys: no collision among many similar events.
func TestCorrelationKeyDistinct(t *testing.T) {
	seen := map[eventKey]string{}
	add := func(desc string, k eventKey) {
		if prev, ok := seen[k]; ok {
			t.Fatalf("%s collides with %s", desc, prev)
		}
		seen[k] = desc
	}
	add("ab|c", correlationKey("ab", "c"))
	add("a|bc", correlationKey("a", "bc"))
	add("abc|", correlationKey("abc", ""))
	add("|abc", correlationKey("", "abc"))
	add("abcdefgh|", correlationKey("abcdefgh", ""))
	add("abcdefg|h", correlationKey("abcdefg", "h"))
	for i := 0; i < 200000; i++ {
		pod := fmt.Sprintf("pod-%06d", i)
		add(pod+"/Pulled", correlationKey("default", "Pod", pod, "uid", "Normal", "Pulled", `Container image "x" already present on machine`))
		add(pod+"/Started", correlationKey("default", "Pod", pod, "uid", "Normal", "Started", "Started container c"))
	}
	if correlationKey("a") != correlationKey("a") {
		t.Fatal("not deterministic")
	}
}
