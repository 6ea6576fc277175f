package mvcc

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustRange(t *testing.T, s *Store, key, end string, opts RangeOptions) *RangeResult {
	t.Helper()
	r, err := s.Range(key, end, opts)
	require.NoError(t, err)
	return r
}

func keysOf(kvs []KeyValue) []string {
	var out []string
	for _, kv := range kvs {
		out = append(out, kv.Key)
	}
	return out
}

func TestNewStoreStartsAtRevisionOne(t *testing.T) {
	s, _ := newTestStore(Config{})
	assert.Equal(t, int64(1), s.Rev())
	assert.Equal(t, int64(0), s.CompactRev())
	assert.Equal(t, 0, s.Len())
	r := mustRange(t, s, "", "\x00", RangeOptions{Rev: 1})
	assert.Equal(t, &RangeResult{Rev: 1}, r)
	assert.Equal(t, int64(2), s.Put("a", []byte("1"), 0), "the first write gets revision 2")
}

func TestErrorTexts(t *testing.T) {
	assert.EqualError(t, ErrCompacted, "mvcc: required revision has been compacted")
	assert.EqualError(t, ErrFutureRev, "mvcc: required revision is a future revision")

	s, _ := newTestStore(Config{})
	for range 5 {
		s.Put("a", []byte("v"), 0)
	} // revision 6
	_, err := s.Range("a", "", RangeOptions{Rev: 7})
	assert.ErrorIs(t, err, ErrFutureRev)

	assert.ErrorIs(t, s.Compact(7), ErrFutureRev)
	assert.ErrorIs(t, s.Compact(0), ErrCompacted, "compacting at or below the compact revision (0)")
	require.NoError(t, s.Compact(4))
	assert.ErrorIs(t, s.Compact(4), ErrCompacted)
	assert.ErrorIs(t, s.Compact(3), ErrCompacted)
	assert.Equal(t, int64(4), s.CompactRev())

	_, err = s.Range("a", "", RangeOptions{Rev: 3})
	assert.ErrorIs(t, err, ErrCompacted)
	r := mustRange(t, s, "a", "", RangeOptions{Rev: 4})
	require.Len(t, r.KVs, 1, "reading exactly at the compact revision is allowed")
	assert.Equal(t, int64(4), r.KVs[0].ModRevision)
	assert.Equal(t, int64(3), r.KVs[0].Version)
	// Future is checked before compacted, as in etcd.
	_, err = s.Range("a", "", RangeOptions{Rev: 100})
	assert.ErrorIs(t, err, ErrFutureRev)
}

func TestHeaderRevisionIsTheCurrentOne(t *testing.T) {
	s, _ := newTestStore(Config{})
	s.Put("a", []byte("1"), 0) // 2
	s.Put("b", []byte("1"), 0) // 3
	s.Put("c", []byte("1"), 0) // 4
	for _, rev := range []int64{0, -5, 2, 3, 4} {
		r := mustRange(t, s, "a", "\x00", RangeOptions{Rev: rev})
		assert.Equal(t, int64(4), r.Rev, "header revision for a read at %d", rev)
	}
	r := mustRange(t, s, "a", "\x00", RangeOptions{Rev: 2})
	assert.Equal(t, []string{"a"}, keysOf(r.KVs))
	r = mustRange(t, s, "zzz", "", RangeOptions{})
	assert.Equal(t, int64(4), r.Rev, "a miss carries the header revision too")
}

// TestIdenticalPutBumpsRevision: etcd writes a Put of an unchanged value
// like any other (the API server is what skips no-op updates).
func TestIdenticalPutBumpsRevision(t *testing.T) {
	s, _ := newTestStore(Config{})
	v := []byte("same")
	assert.Equal(t, int64(2), s.Put("k", v, 0))
	assert.Equal(t, int64(3), s.Put("k", v, 0))
	r := mustRange(t, s, "k", "", RangeOptions{})
	assert.Equal(t, []KeyValue{{Key: "k", Value: v, CreateRevision: 2, ModRevision: 3, Version: 2}}, r.KVs)
	assert.Equal(t, 2, s.Stats().Versions)
}

func TestWritesThatChangeNothingDoNotBump(t *testing.T) {
	s, _ := newTestStore(Config{})
	s.Put("a", []byte("1"), 0) // 2
	n, rev := s.Delete("missing")
	assert.Equal(t, [2]int64{0, 2}, [2]int64{n, rev})
	n, rev = s.DeleteRange("x", "z")
	assert.Equal(t, [2]int64{0, 2}, [2]int64{n, rev})

	resp, err := s.Txn(TxnRequest{Success: []Op{OpGet("a", "", RangeOptions{})}})
	require.NoError(t, err)
	assert.Equal(t, int64(2), resp.Rev, "read-only txn")
	resp, err = s.Txn(TxnRequest{
		Compare: []Compare{{Key: "a", Target: CompareVersion, Result: CompareEqual, Int: 7}},
		Success: []Op{OpPutKV("a", []byte("2"))},
	})
	require.NoError(t, err)
	assert.False(t, resp.Succeeded)
	assert.Equal(t, int64(2), resp.Rev, "failed compare with an empty else branch")
	resp, err = s.Txn(TxnRequest{Success: []Op{OpDel("missing", ""), OpDel("x", "\x00")}})
	require.NoError(t, err)
	assert.Equal(t, int64(2), resp.Rev, "txn whose deletes delete nothing")
	assert.Equal(t, int64(2), s.Rev())
	assert.Equal(t, 1, s.Stats().HistoryRevisions, "no history record for a write that changed nothing")
}

func TestCreateModVersionAcrossGenerations(t *testing.T) {
	s, _ := newTestStore(Config{})
	s.Put("k", []byte("1"), 7) // 2
	s.Put("k", []byte("2"), 0) // 3
	s.Delete("k")              // 4
	s.Put("x", []byte("1"), 0) // 5
	s.Put("k", []byte("3"), 0) // 6
	cases := []struct {
		rev  int64
		want []KeyValue
	}{
		{2, []KeyValue{{Key: "k", Value: []byte("1"), CreateRevision: 2, ModRevision: 2, Version: 1, Lease: 7}}},
		{3, []KeyValue{{Key: "k", Value: []byte("2"), CreateRevision: 2, ModRevision: 3, Version: 2}}},
		{4, nil},
		{5, nil},
		{6, []KeyValue{{Key: "k", Value: []byte("3"), CreateRevision: 6, ModRevision: 6, Version: 1}}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, mustRange(t, s, "k", "", RangeOptions{Rev: c.rev}).KVs, "at %d", c.rev)
	}
}

func TestRangeLimitCountMore(t *testing.T) {
	s, _ := newTestStore(Config{})
	for _, k := range []string{"e", "c", "a", "d", "b"} {
		s.Put(k, []byte(k), 0)
	}
	r := mustRange(t, s, "a", "\x00", RangeOptions{Limit: 2})
	assert.Equal(t, []string{"a", "b"}, keysOf(r.KVs))
	assert.Equal(t, int64(5), r.Count)
	assert.True(t, r.More)

	r = mustRange(t, s, "a", "\x00", RangeOptions{Limit: 5})
	assert.Len(t, r.KVs, 5)
	assert.False(t, r.More)

	r = mustRange(t, s, "b", "e", RangeOptions{CountOnly: true, Limit: 1})
	assert.Nil(t, r.KVs)
	assert.Equal(t, int64(3), r.Count)
	assert.False(t, r.More, "a count-only read returns nothing to be cut")

	r = mustRange(t, s, "c", "", RangeOptions{CountOnly: true})
	assert.Equal(t, &RangeResult{Count: 1, Rev: 6}, r)

	// Count counts the keys that existed at the revision read.
	s.Delete("c")
	assert.Equal(t, int64(4), mustRange(t, s, "a", "\x00", RangeOptions{CountOnly: true}).Count)
	assert.Equal(t, int64(5), mustRange(t, s, "a", "\x00", RangeOptions{CountOnly: true, Rev: 6}).Count)
}

func TestRangeEndConventions(t *testing.T) {
	s, _ := newTestStore(Config{})
	for _, k := range []string{"a", "a/1", "a/2", "ab", "b", "b/1"} {
		s.Put(k, nil, 0)
	}
	cases := []struct {
		key, end string
		want     []string
	}{
		{"a", "", []string{"a"}},
		{"a/", PrefixEnd("a/"), []string{"a/1", "a/2"}},
		{"a", PrefixEnd("a"), []string{"a", "a/1", "a/2", "ab"}},
		{"ab", "\x00", []string{"ab", "b", "b/1"}},
		{"", "\x00", []string{"a", "a/1", "a/2", "ab", "b", "b/1"}},
		{"", PrefixEnd(""), []string{"a", "a/1", "a/2", "ab", "b", "b/1"}},
		{"a/1", "b", []string{"a/1", "a/2", "ab"}},
		{"b", "a", nil}, // end before key: empty
		{"a", "a", nil},
		{"a/3", "", nil},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, keysOf(mustRange(t, s, c.key, c.end, RangeOptions{}).KVs), "[%q, %q)", c.key, c.end)
	}
}

func TestPrefixEnd(t *testing.T) {
	for in, want := range map[string]string{
		"a":          "b",
		"abc":        "abd",
		"/registry/": "/registry0",
		"a\xff":      "b",
		"a\xff\xff":  "b",
		"\xff\xff":   "\x00",
		"":           "\x00",
	} {
		assert.Equal(t, want, PrefixEnd(in), "PrefixEnd(%q)", in)
	}
}

// TestRangeAtPastRevisionsIsStable is the core invariant: a read at a past
// revision returns what a read returned when that revision was current,
// before and after compaction, for every revision not compacted.
func TestRangeAtPastRevisionsIsStable(t *testing.T) {
	s, _ := newTestStore(Config{})
	snap := map[int64]*RangeResult{}
	record := func() {
		r := mustRange(t, s, "", "\x00", RangeOptions{})
		snap[s.Rev()] = r
	}
	record()
	keys := []string{"a", "b", "c", "a/x"}
	for i := range 40 {
		k := keys[i%len(keys)]
		switch i % 7 {
		case 3:
			s.Delete(k)
		case 5:
			_, err := s.Txn(TxnRequest{Success: []Op{OpPutKV(k, []byte{byte(i)}), OpDel("b", ""), OpPutKV("c", []byte{byte(i)})}})
			require.NoError(t, err)
		default:
			s.Put(k, []byte{byte(i)}, int64(i%3))
		}
		record()
	}
	check := func() {
		for rev, want := range snap {
			got, err := s.Range("", "\x00", RangeOptions{Rev: rev})
			if rev < s.CompactRev() {
				assert.ErrorIs(t, err, ErrCompacted)
				continue
			}
			require.NoError(t, err)
			assert.Equal(t, want.KVs, got.KVs, "at %d", rev)
			assert.Equal(t, want.Count, got.Count, "at %d", rev)
		}
	}
	check()
	for _, c := range []int64{5, 6, 20, 30, s.Rev()} {
		require.NoError(t, s.Compact(c))
		check()
	}
	st := s.Stats()
	assert.Equal(t, s.Len(), st.Versions, "compacted at the current revision: one version per live key")
	assert.Equal(t, s.Len(), st.IndexedKeys)
	assert.Equal(t, 1, st.HistoryRevisions)
}

func TestValuesAreSharedNotCopied(t *testing.T) {
	s, _ := newTestStore(Config{})
	v := []byte("payload")
	s.Put("k", v, 0)
	r := mustRange(t, s, "k", "", RangeOptions{})
	require.Len(t, r.KVs, 1)
	assert.Same(t, &v[0], &r.KVs[0].Value[0], "Put keeps the caller's slice; Range hands it out")
	r = mustRange(t, s, "", "\x00", RangeOptions{})
	assert.Same(t, &v[0], &r.KVs[0].Value[0])
}

func TestTxnCompares(t *testing.T) {
	s, _ := newTestStore(Config{})
	s.Put("other", nil, 0)     // 2
	s.Put("k", []byte("m"), 0) // 3
	s.Put("k", []byte("m"), 5) // 4: version 2, create 3, mod 4, lease 5
	cmpK := func(target CompareTarget, result CompareResult, n int64, v string) bool {
		resp, err := s.Txn(TxnRequest{Compare: []Compare{{Key: "k", Target: target, Result: result, Int: n, Value: []byte(v)}}})
		require.NoError(t, err)
		return resp.Succeeded
	}
	cmpMissing := func(target CompareTarget, result CompareResult, n int64, v string) bool {
		resp, err := s.Txn(TxnRequest{Compare: []Compare{{Key: "missing", Target: target, Result: result, Int: n, Value: []byte(v)}}})
		require.NoError(t, err)
		return resp.Succeeded
	}
	for _, c := range []struct {
		target CompareTarget
		val    int64
	}{{CompareVersion, 2}, {CompareCreate, 3}, {CompareMod, 4}, {CompareLease, 5}} {
		assert.True(t, cmpK(c.target, CompareEqual, c.val, ""), "target %d =", c.target)
		assert.False(t, cmpK(c.target, CompareEqual, c.val+1, ""), "target %d =", c.target)
		assert.True(t, cmpK(c.target, CompareNotEqual, c.val+1, ""), "target %d !=", c.target)
		assert.True(t, cmpK(c.target, CompareGreater, c.val-1, ""), "target %d >", c.target)
		assert.False(t, cmpK(c.target, CompareGreater, c.val, ""), "target %d >", c.target)
		assert.True(t, cmpK(c.target, CompareLess, c.val+1, ""), "target %d <", c.target)
		assert.False(t, cmpK(c.target, CompareLess, c.val, ""), "target %d <", c.target)
		// A missing key has 0 for every number.
		assert.True(t, cmpMissing(c.target, CompareEqual, 0, ""), "missing key, target %d = 0", c.target)
		assert.True(t, cmpMissing(c.target, CompareLess, 1, ""), "missing key, target %d < 1", c.target)
	}
	assert.True(t, cmpK(CompareValue, CompareEqual, 0, "m"))
	assert.True(t, cmpK(CompareValue, CompareGreater, 0, "a"))
	assert.True(t, cmpK(CompareValue, CompareLess, 0, "n"))
	assert.True(t, cmpK(CompareValue, CompareNotEqual, 0, "mm"))
	// A value compare against a missing key is false, whatever the operator.
	for _, op := range []CompareResult{CompareEqual, CompareNotEqual, CompareGreater, CompareLess} {
		assert.False(t, cmpMissing(CompareValue, op, 0, ""), "missing key, value op %d", op)
	}
	// All compares must hold.
	resp, err := s.Txn(TxnRequest{Compare: []Compare{
		{Key: "k", Target: CompareVersion, Result: CompareEqual, Int: 2},
		{Key: "k", Target: CompareMod, Result: CompareEqual, Int: 3},
	}})
	require.NoError(t, err)
	assert.False(t, resp.Succeeded)
}

func TestTxnBranchesAndResponses(t *testing.T) {
	s, _ := newTestStore(Config{})
	s.Put("a", []byte("a1"), 0) // 2
	s.Put("b", []byte("b1"), 0) // 3
	put := OpPutKV("a", []byte("a2"))
	put.PrevKV = true
	del := OpDel("a", "\x00")
	del.PrevKV = true
	resp, err := s.Txn(TxnRequest{
		Compare: []Compare{{Key: "a", Target: CompareMod, Result: CompareEqual, Int: 2}},
		Success: []Op{
			put,
			OpGet("a", "", RangeOptions{}),       // sees the txn's own write
			OpGet("a", "", RangeOptions{Rev: 3}), // an explicit past revision does not
			OpPutKV("c", []byte("c1")),
			del,
		},
		Failure: []Op{OpPutKV("failed", nil)},
	})
	require.NoError(t, err)
	a1 := KeyValue{Key: "a", Value: []byte("a1"), CreateRevision: 2, ModRevision: 2, Version: 1}
	a2 := KeyValue{Key: "a", Value: []byte("a2"), CreateRevision: 2, ModRevision: 4, Version: 2}
	b1 := KeyValue{Key: "b", Value: []byte("b1"), CreateRevision: 3, ModRevision: 3, Version: 1}
	c1 := KeyValue{Key: "c", Value: []byte("c1"), CreateRevision: 4, ModRevision: 4, Version: 1}
	assert.Equal(t, &TxnResponse{
		Succeeded: true,
		Rev:       4,
		Responses: []OpResponse{
			{PrevKVs: []KeyValue{a1}},
			{Range: &RangeResult{KVs: []KeyValue{a2}, Count: 1, Rev: 4}},
			{Range: &RangeResult{KVs: []KeyValue{a1}, Count: 1, Rev: 4}},
			{},
			{Deleted: 3, PrevKVs: []KeyValue{a2, b1, c1}},
		},
	}, resp)
	assert.Equal(t, int64(4), s.Rev())
	assert.Equal(t, 0, s.Len())

	// The else branch runs when a compare fails; its range header is the
	// current revision, since nothing was written before it.
	resp, err = s.Txn(TxnRequest{
		Compare: []Compare{{Key: "a", Target: CompareVersion, Result: CompareGreater, Int: 0}},
		Success: []Op{OpPutKV("never", nil)},
		Failure: []Op{OpGet("a", "", RangeOptions{Rev: 2}), OpPutKV("z", nil)},
	})
	require.NoError(t, err)
	assert.False(t, resp.Succeeded)
	assert.Equal(t, &RangeResult{KVs: []KeyValue{a1}, Count: 1, Rev: 4}, resp.Responses[0].Range)
	assert.Equal(t, int64(5), resp.Rev)
	assert.Equal(t, int64(0), mustRange(t, s, "never", "", RangeOptions{}).Count)
}

func TestTxnWithBadRangeAppliesNothing(t *testing.T) {
	s, _ := newTestStore(Config{})
	for range 4 {
		s.Put("a", []byte("v"), 0)
	} // 5
	require.NoError(t, s.Compact(4))
	for _, c := range []struct {
		rev int64
		err error
	}{{6, ErrFutureRev}, {3, ErrCompacted}} {
		resp, err := s.Txn(TxnRequest{Success: []Op{
			OpPutKV("b", []byte("x")),
			OpGet("a", "", RangeOptions{Rev: c.rev}),
		}})
		assert.ErrorIs(t, err, c.err)
		assert.Nil(t, resp)
		assert.Equal(t, int64(5), s.Rev(), "nothing applied")
		assert.Equal(t, int64(0), mustRange(t, s, "b", "", RangeOptions{}).Count, "nothing applied")
	}
	// Only the branch that runs is checked.
	resp, err := s.Txn(TxnRequest{
		Success: []Op{OpPutKV("b", []byte("x"))},
		Failure: []Op{OpGet("a", "", RangeOptions{Rev: 99})},
	})
	require.NoError(t, err)
	assert.Equal(t, int64(6), resp.Rev)
}

func TestTxnSubRevisionsAndIndexedLease(t *testing.T) {
	s, _ := newTestStore(Config{})
	resp, err := s.Txn(TxnRequest{Success: []Op{
		{Type: OpPut, Key: "x", Value: []byte("1"), Lease: 9},
		OpPutKV("y", []byte("1")),
		OpPutKV("x", []byte("2")),
	}})
	require.NoError(t, err)
	assert.Equal(t, int64(2), resp.Rev)
	assert.Equal(t, "{2.0 2.2}", s.lookup("x").String())
	assert.Equal(t, "{2.1}", s.lookup("y").String())
	r := mustRange(t, s, "x", "", RangeOptions{})
	assert.Equal(t, []KeyValue{{Key: "x", Value: []byte("2"), CreateRevision: 2, ModRevision: 2, Version: 2}}, r.KVs,
		"the last put of a txn wins; a put without a lease clears it")
}

func TestStatsCountWhatIsHeld(t *testing.T) {
	s, eng := newTestStore(Config{})
	s.Put("a", nil, 0)
	s.Put("a", nil, 0)
	s.Put("b", nil, 0)
	s.Delete("b")
	s.Watch("a", WatchOptions{}, func(WatchResponse) {})
	s.Watch("a", WatchOptions{End: "\x00"}, func(WatchResponse) {})
	s.Put("a", nil, 0) // one delivery event: both watchers have delay 0
	assert.Equal(t, Stats{
		Rev: 6, LiveKeys: 1, IndexedKeys: 2, Versions: 5,
		HistoryRevisions: 5, HistoryEvents: 5,
		Watchers: 2, RangeWatchers: 1, PendingDeliveries: 1,
	}, s.Stats())
	eng.RunFor(0)
	require.NoError(t, s.Compact(6))
	assert.Equal(t, Stats{
		Rev: 6, CompactRev: 6, LiveKeys: 1, IndexedKeys: 1, Versions: 1,
		HistoryRevisions: 1, HistoryEvents: 1,
		Watchers: 2, RangeWatchers: 1,
	}, s.Stats())
}

func TestNewPanicsOnBadConfig(t *testing.T) {
	assert.Panics(t, func() { New(nil, Config{}) })
	_, eng := newTestStore(Config{})
	assert.Panics(t, func() { New(eng, Config{WatchDelay: -1}) })
}

// Key hands out the store's own copy of a key, deleted keys' included, so
// that a caller's long-lived map can share it.
func TestKeyIsTheStoresCopy(t *testing.T) {
	s, _ := newTestStore(Config{})
	s.Put(strings.Clone("/registry/pods/default/a"), []byte("v"), 0)
	probe := strings.Clone("/registry/pods/default/a")
	k, ok := s.Key(probe)
	require.True(t, ok)
	assert.Equal(t, probe, k)
	assert.NotSame(t, unsafe.StringData(probe), unsafe.StringData(k), "not the caller's string")
	k2, _ := s.Key(strings.Clone(probe))
	assert.Same(t, unsafe.StringData(k), unsafe.StringData(k2), "always the same copy")
	k3, ok := s.KeyBytes([]byte(probe))
	require.True(t, ok)
	assert.Same(t, unsafe.StringData(k), unsafe.StringData(k3), "KeyBytes: the same copy")
	_, ok = s.KeyBytes([]byte("/registry/pods/default/b"))
	assert.False(t, ok)
	s.Delete(probe)
	_, ok = s.Key(probe)
	assert.True(t, ok, "a deleted key stays until its tombstone is compacted")
	_, ok = s.Key("/registry/pods/default/b")
	assert.False(t, ok)
}

// New keys' indexes come from slabs of 8 KiB (one size class, at most one
// keyIndex's bytes unused), one after another, each index its own.
func TestKeyIndexSlab(t *testing.T) {
	size := int(unsafe.Sizeof(keyIndex{}))
	require.LessOrEqual(t, keyIndexSlab*size, 8192)
	require.Greater(t, keyIndexSlab*size, 8192-size)
	s, _ := newTestStore(Config{})
	var kis []*keyIndex
	for i := range keyIndexSlab + 1 {
		k := fmt.Sprintf("/registry/events/default/e%03d", i)
		s.Put(k, []byte("v"), 0)
		kis = append(kis, s.lookup(k))
	}
	for i, ki := range kis {
		require.Equal(t, fmt.Sprintf("/registry/events/default/e%03d", i), ki.key)
		require.Len(t, ki.entries, 1)
		require.Same(t, &ki.one[0], &ki.entries[0], "a single version lives in the index itself")
	}
	for i := 1; i < keyIndexSlab; i++ {
		assert.Equal(t, uintptr(unsafe.Pointer(kis[0]))+uintptr(i*size), uintptr(unsafe.Pointer(kis[i])), "index %d in the first slab", i)
	}
}
