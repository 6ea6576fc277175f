package bytedelta

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

// roundTrip encodes old against next, checks that the delta rebuilds old,
// and returns the delta.
func roundTrip(t testing.TB, old, next []byte) []byte {
	d := Encode(nil, old, next)
	got := Apply(nil, d, next)
	if !bytes.Equal(got, old) {
		t.Fatalf("delta of %q against %q rebuilds %q", old, next, got)
	}
	return d
}

// A version that differs from the next in several places (a length prefix,
// a field inserted in the middle, a field removed, a tail appended) costs
// about the bytes that differ, not the stretch from the first difference
// to the last.
func TestDeltaCopiesEverySharedRun(t *testing.T) {
	spec := strings.Repeat("spec-bytes-", 30)
	status := strings.Repeat("status-bytes-", 20)
	old := []byte("\x0a\x20metadata-name-and-uid" + "\x12\xcf" + spec + "R\x00" + spec + "\x1a#" + status + "Message: not ready yet, waiting" + status)
	next := []byte("\x0a\x20metadata-name-and-uid" + "\x12\xd9" + spec + "R\x0anode-00001" + spec + "\x1aK" + status + status + "condition appended at the end")
	d := roundTrip(t, old, next)
	assert.Less(t, len(d), 80, "delta of a %d-byte value changed in four places", len(old))

	// The prefix/suffix form would have kept everything from the length
	// prefix on.
	pre := commonPrefix(old, next)
	assert.Greater(t, len(old)-pre-commonSuffix(old[pre:], next[pre:]), 500)
}

func TestDeltaEdgeCases(t *testing.T) {
	for _, c := range []struct{ name, old, next string }{
		{"equal", "0123456789abcdef", "0123456789abcdef"},
		{"empty old", "", "0123456789"},
		{"empty next", "0123456789abcdef", ""},
		{"both empty", "", ""},
		{"nothing shared", "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"},
		{"short", "abc", "abd"},
		{"next is a prefix", "0123456789abcdefXYZ", "0123456789abcdef"},
		{"old is a prefix", "0123456789abcdef", "0123456789abcdefXYZ"},
		{"repeats", strings.Repeat("ab", 100), strings.Repeat("ab", 90) + "c" + strings.Repeat("ab", 10)},
		{"shift beyond the window", strings.Repeat("x", 20) + strings.Repeat("0123456789", 10),
			strings.Repeat("y", 400) + strings.Repeat("0123456789", 10)},
	} {
		t.Run(c.name, func(t *testing.T) { roundTrip(t, []byte(c.old), []byte(c.next)) })
	}
	// Equal values: one copy op (header and offset).
	v := []byte(strings.Repeat("z", 300))
	assert.Equal(t, []byte{0xb0, 0x09, 0x00}, roundTrip(t, v, v))
}

// Every delta rebuilds its value exactly, for values that share runs
// (edits of one another) and for unrelated ones.
func TestDeltaRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		next := rapid.SliceOfN(rapid.Byte(), 0, 600).Draw(t, "next")
		old := slices.Clone(next)
		for _, e := range rapid.SliceOfN(rapid.IntRange(0, 2), 0, 8).Draw(t, "edits") {
			at := rapid.IntRange(0, len(old)).Draw(t, "at")
			n := rapid.IntRange(0, 300).Draw(t, "n")
			switch e {
			case 0: // insert
				old = slices.Insert(old, at, rapid.SliceOfN(rapid.Byte(), n, n).Draw(t, "ins")...)
			case 1: // delete
				old = slices.Delete(old, at, min(len(old), at+n))
			case 2: // overwrite
				for k := at; k < min(len(old), at+n); k++ {
					old[k] ^= 0x5a
				}
			}
		}
		d := Encode(nil, old, next)
		if got := Apply(nil, d, next); !bytes.Equal(got, old) {
			t.Fatalf("delta rebuilds %q, not %q", got, old)
		}
	})
}

func FuzzDelta(f *testing.F) {
	f.Add([]byte("0123456789abcdef-old-tail"), []byte("0123456789abcdef-new-tail"))
	f.Add([]byte(strings.Repeat("ab", 50)), []byte(strings.Repeat("ab", 40)+"x"))
	f.Add([]byte{}, []byte("next"))
	f.Add([]byte("uid 3f54e7d7-52af-4a33-bfe7-a732d0f141f4 phase Pending"), []byte("uid 3f54e7d7-52af-4a33-bfe7-a732d0f141f4 phase Running 0123456789abcdef0123"))
	f.Fuzz(func(t *testing.T, old, next []byte) {
		roundTrip(t, old, next)
	})
}

// BenchmarkDelta encodes a pod-sized value against a next version with
// changes in four places, as the store does on every update.
func BenchmarkDelta(b *testing.B) {
	spec := strings.Repeat("spec-bytes-", 40)
	status := strings.Repeat("status-bytes-", 25)
	old := []byte("\x0a\x20metadata-name-and-uid" + "\x12\xcf" + spec + "R\x00" + spec + "\x1a#" + status + "Message: not ready yet, waiting" + status)
	next := []byte("\x0a\x20metadata-name-and-uid" + "\x12\xd9" + spec + "R\x0anode-00001" + spec + "\x1aK" + status + status + "condition appended at the end")
	var buf [1024]byte
	b.SetBytes(int64(len(old)))
	for b.Loop() {
		Encode(buf[:0], old, next)
	}
}

// A dictionary round-trips any value, and compresses one made of its
// phrases to a fraction.
func TestDictRoundTripProperty(t *testing.T) {
	base := []byte("Successfully assigned default/web-0 to node-00000; Started container web; Created container: web; kubelet-node-00000")
	d := NewDict(base)
	src := []byte("Started container api; Successfully assigned default/api-7 to node-01234; kubelet-node-01234")
	enc := d.Encode(nil, src)
	assert.Equal(t, src, d.Decode(nil, enc))
	assert.Less(t, len(enc), len(src)/2, "%q", enc)
	rapid.Check(t, func(t *rapid.T) {
		src := rapid.SliceOfN(rapid.ByteRange('0', '3'), 0, 400).Draw(t, "src")
		// Splice in runs of the base and repeats of src itself (runs of
		// one byte among them), so that both kinds of copies happen.
		for _, at := range rapid.SliceOfN(rapid.IntRange(0, len(base)-1), 0, 6).Draw(t, "runs") {
			n := rapid.IntRange(0, len(base)-at).Draw(t, "n")
			pos := rapid.IntRange(0, len(src)).Draw(t, "pos")
			src = slices.Insert(src, pos, base[at:at+n]...)
		}
		for range rapid.IntRange(0, 4).Draw(t, "repeats") {
			if len(src) == 0 {
				break
			}
			from := rapid.IntRange(0, len(src)-1).Draw(t, "from")
			run := slices.Clone(src[from:rapid.IntRange(from, len(src)).Draw(t, "to")])
			if rapid.Bool().Draw(t, "same byte") {
				run = bytes.Repeat(src[from:from+1], rapid.IntRange(1, 40).Draw(t, "times"))
			}
			src = slices.Insert(src, rapid.IntRange(0, len(src)).Draw(t, "at"), run...)
		}
		if got := d.Decode(nil, d.Encode(nil, src)); !bytes.Equal(got, src) {
			t.Fatalf("%q decodes as %q", src, got)
		}
	})
}

// UUIDs and long hex runs in literals are packed two digits to a byte;
// anything near them (upper case, short runs, a broken UUID, runs at the
// ends) comes back exactly.
func TestHexLiteralsArePacked(t *testing.T) {
	uid := "3f54e7d7-52af-4a33-bfe7-a732d0f141f4"
	cid := "containerd://fbd527f7a850799aca87c56e99eedd3374539b0c90d743e745c4654000ff7ded"
	name := "pod-000123.18867252ab697a75"
	src := []byte("\x24" + uid + "\x12" + cid + "\x1a" + name)
	enc := appendLiteral(nil, src)
	assert.Equal(t, src, Apply(nil, enc, nil))
	// The UUID takes 17 bytes instead of 36, the container ID's 64 digits
	// 34, the name's 16-digit suffix 10; each split adds a literal header.
	assert.LessOrEqual(t, len(enc), len(src)-50, "%d bytes for %d", len(enc), len(src))

	d := NewDict([]byte("\x24\x12containerd://\x1apod-"))
	got := d.Encode(nil, src)
	assert.Equal(t, src, d.Decode(nil, got))
	assert.Less(t, len(got), len(src)/2+10, "%d bytes for %d", len(got), len(src))

	for _, s := range []string{uid, uid[:35], "x" + uid + "y", strings.ToUpper(uid), "0123456789a", "0123456789ab", "0123456789abc",
		uid + uid, "a-" + uid[2:], uid[:8] + "+" + uid[9:], "fffffffffffffffffffffffffffffffffffffffffffffffffffffff"} {
		enc := appendLiteral(nil, []byte(s))
		assert.Equal(t, s, string(Apply(nil, enc, nil)), "%q as %q", s, enc)
	}
	rapid.Check(t, func(t *rapid.T) {
		src := rapid.SliceOfN(rapid.SampledFrom([]byte("0123456789abcdefAF-x")), 0, 200).Draw(t, "src")
		if got := Apply(nil, appendLiteral(nil, src), nil); !bytes.Equal(got, src) {
			t.Fatalf("%q comes back as %q", src, got)
		}
	})
}

// The longest base a dictionary takes is used to its end (16-bit offsets),
// and a longer one is refused.
func TestDictBaseLimit(t *testing.T) {
	base := bytes.Repeat([]byte{'.'}, MaxDictBase)
	copy(base[MaxDictBase-16:], "the end of base!")
	d := NewDict(base)
	src := []byte("xyz: the end of base!")
	enc := d.Encode(nil, src)
	assert.Equal(t, src, d.Decode(nil, enc))
	assert.Less(t, len(enc), len(src)-8, "the run at the base's end is copied: %q", enc)
	assert.Panics(t, func() { NewDict(make([]byte, MaxDictBase+1)) })
}

// A dictionary's table has about a slot per base offset, within
// [minTableBits, maxTableBits]; every size finds the base's runs.
func TestDictTableSize(t *testing.T) {
	for _, c := range []struct{ n, bits int }{{0, minTableBits}, {100, minTableBits}, {256, minTableBits}, {257, 9},
		{1000, 10}, {1024, 10}, {1025, 11}, {4096, 11}, {MaxDictBase, maxTableBits}} {
		assert.Equal(t, c.bits, tableBits(c.n), "base of %d bytes", c.n)
		base := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz-"), c.n/37+1)[:c.n]
		d := NewDict(base)
		assert.Len(t, d.table, 1<<c.bits)
		if c.n >= 64 {
			src := append([]byte("head:"), base[c.n-40:]...)
			enc := d.Encode(nil, src)
			assert.Equal(t, src, d.Decode(nil, enc))
			assert.Less(t, len(enc), 16, "the 40-byte run is copied: %q", enc)
		}
	}
}

func FuzzDict(f *testing.F) {
	f.Add([]byte("the base dictionary text"), []byte("the base text, dictionary"))
	f.Add([]byte("uid: "), []byte("uid: 3f54e7d7-52af-4a33-bfe7-a732d0f141f4 id: fbd527f7a850799aca87c56e99eedd33"))
	f.Add([]byte{}, []byte("anything"))
	f.Fuzz(func(t *testing.T, base, src []byte) {
		d := NewDict(base)
		if got := d.Decode(nil, d.Encode(nil, src)); !bytes.Equal(got, src) {
			t.Fatalf("%q decodes as %q", src, got)
		}
	})
}
