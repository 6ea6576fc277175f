package mvcc

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/sim"
)

func newTestStore(cfg Config) (*Store, *sim.Engine) {
	eng := sim.New(1)
	return New(eng, cfg), eng
}

// foo is the key of the diagram tests.
func fooIndex(t *testing.T, s *Store) string {
	t.Helper()
	ki := s.lookup("foo")
	require.NotNil(t, ki, "foo is not indexed")
	return ki.String()
}

// readFoo returns what a Range of foo at rev returns: its mod revision, or 0
// if it does not exist then, or -1 on error.
func readFoo(s *Store, rev int64) int64 {
	r, err := s.Range("foo", "", RangeOptions{Rev: rev})
	if err != nil {
		return -1
	}
	if len(r.KVs) == 0 {
		return 0
	}
	return r.KVs[0].ModRevision
}

// TestGenerationDiagram replays the example of the keyIndex comment: the
// generations after each write and after each compaction, and the reads at
// every revision, which compaction must not change at or above the compact
// revision.
func TestGenerationDiagram(t *testing.T) {
	s, _ := newTestStore(Config{})
	v := []byte("v")
	assert.Equal(t, int64(2), s.Put("foo", v, 0))
	assert.Equal(t, int64(3), s.Put("foo", v, 0))
	n, rev := s.Delete("foo")
	assert.Equal(t, int64(1), n)
	assert.Equal(t, int64(4), rev)
	s.Put("foo", v, 0)
	s.Put("foo", v, 0)
	s.Delete("foo")
	assert.Equal(t, int64(8), s.Put("foo", v, 0))
	assert.Equal(t, "{8.0} {5.0 6.0 7.0(t)} {2.0 3.0 4.0(t)}", fooIndex(t, s))
	assert.Equal(t, 7, s.Stats().Versions)

	// What foo reads as at each revision: its mod revision, or 0 when absent.
	want := map[int64]int64{1: 0, 2: 2, 3: 3, 4: 0, 5: 5, 6: 6, 7: 0, 8: 8}
	checkReads := func(from int64) {
		t.Helper()
		for r := int64(1); r <= 8; r++ {
			if r < from {
				assert.Equal(t, int64(-1), readFoo(s, r), "read at %d, compacted at %d", r, from)
			} else {
				assert.Equal(t, want[r], readFoo(s, r), "read at %d, compacted at %d", r, from)
			}
		}
	}
	checkReads(0)

	steps := []struct {
		compact  int64
		index    string
		versions int
	}{
		{3, "{8.0} {5.0 6.0 7.0(t)} {3.0 4.0(t)}", 6},
		{4, "{8.0} {5.0 6.0 7.0(t)}", 4},
		{6, "{8.0} {6.0 7.0(t)}", 3},
		{8, "{8.0}", 1},
	}
	for _, st := range steps {
		require.NoError(t, s.Compact(st.compact))
		assert.Equal(t, st.index, fooIndex(t, s), "after compact(%d)", st.compact)
		assert.Equal(t, st.versions, s.Stats().Versions, "after compact(%d)", st.compact)
		checkReads(st.compact)
	}

	s.Delete("foo")
	assert.Equal(t, "{empty} {8.0 9.0(t)}", fooIndex(t, s))
	require.NoError(t, s.Compact(9))
	assert.Nil(t, s.lookup("foo"), "a key whose newest version at the compact revision is a tombstone leaves the index")
	st := s.Stats()
	assert.Equal(t, 0, st.IndexedKeys)
	assert.Equal(t, 0, st.Versions)
	assert.Equal(t, 0, s.Len())
}

// TestCompactTombstoneAtCompactRevKeepsNewerGeneration: the generation
// whose tombstone sits exactly at the compact revision goes, the newer one
// stays whole.
func TestCompactTombstoneAtCompactRevKeepsNewerGeneration(t *testing.T) {
	s, _ := newTestStore(Config{})
	v := []byte("v")
	s.Put("foo", v, 0)   // 2
	s.Put("foo", v, 0)   // 3
	s.Delete("foo")      // 4
	s.Put("foo", v, 0)   // 5
	s.Put("other", v, 0) // 6
	require.NoError(t, s.Compact(4))
	assert.Equal(t, "{5.0}", fooIndex(t, s))
	assert.Equal(t, int64(5), readFoo(s, 5))
	assert.Equal(t, int64(0), readFoo(s, 4))

	// Compacting above a key's last change keeps that change.
	require.NoError(t, s.Compact(6))
	assert.Equal(t, "{5.0}", fooIndex(t, s))
	r, err := s.Range("foo", "", RangeOptions{Rev: 6})
	require.NoError(t, err)
	require.Len(t, r.KVs, 1)
	assert.Equal(t, KeyValue{Key: "foo", Value: v, CreateRevision: 5, ModRevision: 5, Version: 1}, r.KVs[0])
}

// TestGenerationsWithinOneTxn: a txn that puts, deletes and re-creates a key
// makes a generation per life inside one main revision; reads at that
// revision see the last change, and compaction at it keeps only that.
func TestGenerationsWithinOneTxn(t *testing.T) {
	s, _ := newTestStore(Config{})
	s.Put("foo", []byte("old"), 0) // 2
	resp, err := s.Txn(TxnRequest{Success: []Op{
		OpPutKV("foo", []byte("a")),
		OpDel("foo", ""),
		OpPutKV("foo", []byte("b")),
		OpPutKV("foo", []byte("c")),
	}})
	require.NoError(t, err)
	assert.Equal(t, int64(3), resp.Rev)
	assert.Equal(t, "{3.2 3.3} {2.0 3.0 3.1(t)}", fooIndex(t, s))

	r, err := s.Range("foo", "", RangeOptions{})
	require.NoError(t, err)
	require.Len(t, r.KVs, 1)
	assert.Equal(t, KeyValue{Key: "foo", Value: []byte("c"), CreateRevision: 3, ModRevision: 3, Version: 2}, r.KVs[0])

	require.NoError(t, s.Compact(3))
	assert.Equal(t, "{3.3}", fooIndex(t, s))
	assert.Equal(t, 1, s.Stats().Versions)
	r, err = s.Range("foo", "", RangeOptions{Rev: 3})
	require.NoError(t, err)
	require.Len(t, r.KVs, 1)
	assert.Equal(t, []byte("c"), r.KVs[0].Value)
}

func TestKeyIndexPanicsOnRevisionGoingBackwards(t *testing.T) {
	ki := newKeyIndex("k")
	ki.put(entry{main: 5, create: 5, version: 1})
	assert.PanicsWithValue(t, `mvcc: change of "k" at revision 4.0, not after its last change 5.0`, func() {
		ki.put(entry{main: 4, create: 4, version: 1})
	})
	ki.put(entry{main: 6, tomb: true})
	assert.Panics(t, func() { ki.put(entry{main: 7, tomb: true}) }, "tombstone of a deleted key")
}

func TestKeyIndexFindAndFirstFrom(t *testing.T) {
	s, _ := newTestStore(Config{})
	for i := 0; i < 3; i++ {
		s.Put("foo", nil, 0)
	}
	s.Delete("foo")
	s.Put("foo", nil, 0) // {6.0} {2.0 3.0 4.0 5.0(t)}
	ki := s.lookup("foo")
	i, ok := ki.find(revision{4, 0})
	assert.True(t, ok)
	assert.Equal(t, 2, i)
	_, ok = ki.find(revision{4, 1})
	assert.False(t, ok)
	p, ok := ki.prevOf(i)
	require.True(t, ok)
	assert.Equal(t, revision{3, 0}, ki.entries[p].rev())
	_, ok = ki.prevOf(4)
	assert.False(t, ok, "the first put of a generation replaced nothing")
	_, ok = ki.prevOf(0)
	assert.False(t, ok, "nothing before the first entry")

	for from, want := range map[int64]int{1: 0, 3: 1, 5: 3, 6: 4, 7: 5} {
		assert.Equal(t, want, ki.firstFrom(from), "firstFrom(%d)", from)
	}
}

// Superseded versions are kept as reverse deltas against the next version
// when they share enough bytes, and read back whole at every revision.
func TestSupersededValuesAsDeltas(t *testing.T) {
	s, _ := newTestStore(Config{})
	base := make([]byte, 300)
	for i := range base {
		base[i] = byte(i)
	}
	var values [][]byte
	for i := 0; i < 5; i++ {
		v := slices.Clone(base)
		v[150] = byte(i) // one byte differs
		if i == 3 {
			v = slices.Insert(v, 200, []byte("longer")...)
		}
		values = append(values, v)
		s.Put("k", v, 0)
	}
	s.Put("k", []byte("short"), 0) // shares nothing: the previous stays whole
	values = append(values, []byte("short"))
	ki := s.lookup("k")
	for i := 0; i < 4; i++ {
		assert.True(t, ki.entries[i].delta, "entry %d kept as a delta", i)
		assert.Less(t, len(ki.entries[i].value), 64, "entry %d holds only the middle", i)
	}
	assert.False(t, ki.entries[4].delta, "nothing shared with the next version")
	assert.False(t, ki.entries[5].delta, "the live version is whole")
	for i, want := range values {
		r, err := s.Range("k", "", RangeOptions{Rev: int64(2 + i)})
		require.NoError(t, err)
		require.Len(t, r.KVs, 1)
		assert.Equal(t, want, r.KVs[0].Value, "value at revision %d", 2+i)
	}
	require.NoError(t, s.Compact(4))
	r, err := s.Range("k", "", RangeOptions{Rev: 4})
	require.NoError(t, err)
	assert.Equal(t, values[2], r.KVs[0].Value, "the kept version still reads whole after compaction")
}

// A key updated many times keeps one version whole every maxDeltaRun, so
// no read rebuilds more than maxDeltaRun deltas; every version reads back.
func TestDeltaRunsAreBounded(t *testing.T) {
	s, _ := newTestStore(Config{})
	var values [][]byte
	for i := 0; i < 50; i++ {
		v := []byte(strings.Repeat("x", 100) + fmt.Sprint(i) + strings.Repeat("y", 100))
		values = append(values, v)
		s.Put("k", v, 0)
	}
	ki := s.lookup("k")
	run, whole := 0, 0
	for _, e := range ki.entries {
		if e.delta {
			run++
			assert.LessOrEqual(t, run, maxDeltaRun)
		} else {
			run = 0
			whole++
		}
	}
	assert.Greater(t, whole, 1, "keyframes among the old versions")
	assert.Less(t, whole, 50/maxDeltaRun+3)
	for i, want := range values {
		r, err := s.Range("k", "", RangeOptions{Rev: int64(2 + i)})
		require.NoError(t, err)
		assert.Equal(t, want, r.KVs[0].Value, "version %d", i)
	}
}
