package mvcc

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestKeyOrderModel checks keyOrder against a plain sorted set: random
// adds, removals, re-creations and ranges.
func TestKeyOrderModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var o keyOrder
		o.init()
		live := map[string]*keyIndex{}
		// Keys in nested directories ("", "a/", "a/b/", "b/"...), so ranges
		// merge several directories and start inside them.
		keyGen := rapid.Map(rapid.IntRange(0, 3000), func(i int) string {
			dirs := []string{"", "a/", "a/b/", "a-/", "b/", "a/b/c/"}
			return dirs[i%len(dirs)] + fmt.Sprintf("k%04d", i/len(dirs))
		})
		boundGen := rapid.OneOf(keyGen, rapid.SampledFrom([]string{"", "a", "a/", "a/b/", "a/b/c", "a0", "b/", "c", "k0100"}))
		for i := 0; i < 400; i++ {
			k := keyGen.Draw(t, "key")
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 6: // add (or re-create after removal)
				if _, ok := live[k]; !ok {
					ki := newKeyIndex(k)
					o.add(ki)
					live[k] = ki
				}
			case op < 8:
				if ki, ok := live[k]; ok {
					o.remove(ki)
					delete(live, k)
				}
			default:
				k = boundGen.Draw(t, "lo")
				hi := boundGen.Draw(t, "hi")
				if rapid.Bool().Draw(t, "open") {
					hi = ""
				}
				var want []string
				for key := range live {
					if key >= k && (hi == "" || key < hi) {
						want = append(want, key)
					}
				}
				slices.Sort(want)
				limit := rapid.IntRange(0, len(want)+1).Draw(t, "limit")
				var got []string
				o.ascend(k, hi, func(ki *keyIndex) bool {
					require.Same(t, live[ki.key], ki)
					got = append(got, ki.key)
					return len(got) != limit
				})
				if limit > 0 && limit < len(want) {
					want = want[:limit]
				}
				require.Equal(t, want, got, "ascend(%q, %q)", k, hi)
			}
			require.Equal(t, len(live), o.Len())
		}
	})
}

// TestHistoryRing checks the revision-indexed ring through growth and
// trimming, with single- and multi-key writes.
func TestHistoryRing(t *testing.T) {
	var h history
	a, b := newKeyIndex("a"), newKeyIndex("b")
	for m := int64(2); m < 200; m++ {
		keys := []*keyIndex{a}
		if m%7 == 0 {
			keys = []*keyIndex{a, b, a}
		}
		h.push(m, keys)
		if m%50 == 0 {
			h.trimBelow(m - 20)
		}
	}
	h.trimBelow(180)
	require.Equal(t, 200-180, h.Len())
	_, _, ok := h.keys(179)
	require.False(t, ok)
	one, many, ok := h.keys(180)
	require.True(t, ok)
	require.Same(t, a, one)
	require.Nil(t, many)
	_, many, ok = h.keys(182)
	require.True(t, ok)
	require.Equal(t, []*keyIndex{a, b, a}, many)
	var seen []int64
	changes := 0
	h.ascend(0, 1000, func(m int64, keys []*keyIndex) bool { seen = append(seen, m); changes += len(keys); return true })
	require.Len(t, seen, 20)
	require.Equal(t, int64(199), seen[19])
	require.Equal(t, 20+2*3, changes, "182, 189 and 196 changed three keys")
	require.Equal(t, changes, h.trimBelow(1000))
	require.Empty(t, h.multi)
	require.Panics(t, func() { h.push(2000, []*keyIndex{a}); h.push(2002, []*keyIndex{a}) }, "a gap in revisions")
}
