package mvcc

import (
	"hash/maphash"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestPointLookupsAgainstAMap adds and removes random keys in a few
// directories, many of them with colliding hashes, and checks every point
// lookup against a plain map, and that the directories held are those
// with keys, each hashing exactly its live keys.
func TestPointLookupsAgainstAMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var m keyOrder
		m.init()
		if rapid.Bool().Draw(t, "colliding hash") {
			m.points.hash = func(_ maphash.Seed, key string) uint64 { return uint64(len(key) % 3) }
			m.points.hashBytes = func(_ maphash.Seed, key []byte) uint64 { return uint64(len(key) % 3) }
		}
		want := map[string]*keyIndex{}
		key := rapid.StringMatching(`(/?[ab]{0,2}/)?[a-c]{0,3}`)
		for range rapid.IntRange(0, 60).Draw(t, "ops") {
			k := key.Draw(t, "key")
			if ki := want[k]; ki != nil {
				if rapid.Bool().Draw(t, "remove") {
					m.remove(ki)
					delete(want, k)
				}
			} else {
				ki := newKeyIndex(k)
				m.add(ki)
				want[k] = ki
			}
			require.Equal(t, len(want), m.Len())
			dirs := map[string]int{}
			for k := range want {
				dirs[dirOf(k)]++
			}
			require.Len(t, m.dirs, len(dirs), "directories held")
			for name, d := range m.dirs {
				require.Equal(t, dirs[name], d.hashed(), "keys hashed in %q", name)
			}
			for _, d := range m.recent {
				if d != nil {
					require.Same(t, m.dirs[d.name], d, "recent directory %q", d.name)
				}
			}
			for _, probe := range []string{k, "", "a", "ab", "abc", "cab", "a/", "a/b", "/a/c", "b/", dirOf(k)} {
				got, gotBytes := m.get(probe), m.getBytes([]byte(probe))
				if w := want[probe]; w != nil {
					require.Same(t, w, got, "get(%q)", probe)
					require.Same(t, w, gotBytes, "getBytes(%q)", probe)
				} else {
					require.Nil(t, got, "get(%q)", probe)
					require.Nil(t, gotBytes, "getBytes(%q)", probe)
				}
			}
		}
	})
}
