package mvcc

import (
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
	// The kept version no longer pins the txn's record.
	ki := s.lookup("foo")
	assert.Len(t, ki.gens[0].revs[0].rec.events, 1)
}

func TestKeyIndexPanicsOnRevisionGoingBackwards(t *testing.T) {
	ki := newKeyIndex("k")
	rec := newRecord(5)
	rec.events = append(rec.events, Event{Type: EventPut, Kv: KeyValue{Key: "k"}})
	ki.put(keyRev{rev: revision{5, 0}, rec: rec})
	assert.PanicsWithValue(t, `mvcc: put of "k" at revision 4.0, not after its last change 5.0`, func() {
		ki.put(keyRev{rev: revision{4, 0}, rec: rec})
	})
	ki.tombstone(keyRev{rev: revision{6, 0}, rec: rec})
	assert.Panics(t, func() { ki.tombstone(keyRev{rev: revision{7, 0}, rec: rec}) }, "tombstone of a deleted key")
}

func TestKeyIndexFindAndFirstFrom(t *testing.T) {
	s, _ := newTestStore(Config{})
	for i := 0; i < 3; i++ {
		s.Put("foo", nil, 0)
	}
	s.Delete("foo")
	s.Put("foo", nil, 0) // {6.0} {2.0 3.0 4.0 5.0(t)}
	ki := s.lookup("foo")
	gi, j, ok := ki.find(revision{4, 0})
	assert.True(t, ok)
	assert.Equal(t, [2]int{0, 2}, [2]int{gi, j})
	_, _, ok = ki.find(revision{4, 1})
	assert.False(t, ok)
	p, ok := ki.prevOf(revision{4, 0})
	require.True(t, ok)
	assert.Equal(t, revision{3, 0}, p.rev)
	_, ok = ki.prevOf(revision{6, 0})
	assert.False(t, ok, "the first put of a generation replaced nothing")

	for from, want := range map[int64][2]int{1: {0, 0}, 3: {0, 1}, 5: {0, 3}, 6: {1, 0}, 7: {2, 0}} {
		gi, j := ki.firstFrom(from)
		if want[0] == 2 {
			// Past the last entry: the empty tail or the end.
			assert.True(t, gi == len(ki.gens) || j == len(ki.gens[gi].revs), "firstFrom(%d) = %d,%d", from, gi, j)
			continue
		}
		assert.Equal(t, want, [2]int{gi, j}, "firstFrom(%d)", from)
	}
}
