package record

import (
	"encoding/binary"
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
