package mvcc

import (
	"errors"
	"time"
)

// Errors with etcd's texts.
var (
	// ErrCompacted: the requested revision is older than the compact revision.
	ErrCompacted = errors.New("mvcc: required revision has been compacted")
	// ErrFutureRev: the requested revision is newer than the current revision.
	ErrFutureRev = errors.New("mvcc: required revision is a future revision")
)

// KeyValue is one version of a key, as etcd's mvccpb.KeyValue.
// Values handed out by the store are shared: callers must not modify Value.
type KeyValue struct {
	Key            string
	Value          []byte
	CreateRevision int64 // revision of the put that began this generation of the key
	ModRevision    int64 // revision of the last put (or of the delete, in a DELETE event)
	Version        int64 // 1 on creation, +1 per put; 0 in a DELETE event
	Lease          int64
}

// RangeOptions qualify a Range. The zero value reads every key in the range
// at the current revision.
type RangeOptions struct {
	Rev       int64 // <= 0: the current revision
	Limit     int64 // > 0: return at most Limit keys (Count still counts all)
	CountOnly bool  // return no KVs, only Count
}

// RangeResult is the answer to a Range.
type RangeResult struct {
	KVs   []KeyValue // in key order
	Count int64      // number of keys in the range at Rev, ignoring Limit
	Rev   int64      // the store's current revision (etcd's header.revision), not the requested one
	More  bool       // Limit cut the result short
}

// CompareTarget is what a Compare looks at.
type CompareTarget int

const (
	CompareVersion CompareTarget = iota
	CompareCreate
	CompareMod
	CompareValue
	CompareLease
)

// CompareResult is a Compare's operator.
type CompareResult int

const (
	CompareEqual CompareResult = iota
	CompareNotEqual
	CompareGreater
	CompareLess
)

// Compare is one condition of a Txn, on a single key. A missing key has
// version, create revision, mod revision and lease 0 and an empty value that
// compares unequal to every value (as etcd: a value compare on a missing key fails).
type Compare struct {
	Key    string
	Target CompareTarget
	Result CompareResult
	Int    int64  // for version, create, mod, lease
	Value  []byte // for value
}

// OpType is the kind of an Op.
type OpType int

const (
	OpRange OpType = iota
	OpPut
	OpDelete
)

// Op is one operation of a Txn branch.
type Op struct {
	Type  OpType
	Key   string
	End   string // Range and Delete: "" means the single key Key
	Value []byte // Put
	Lease int64  // Put
	Range RangeOptions
	// PrevKV asks a Put or Delete to return the previous value(s).
	PrevKV bool
}

// OpGet, OpPutKV and OpDel build ops.
func OpGet(key, end string, opts RangeOptions) Op {
	return Op{Type: OpRange, Key: key, End: end, Range: opts}
}
func OpPutKV(key string, value []byte) Op { return Op{Type: OpPut, Key: key, Value: value} }
func OpDel(key, end string) Op            { return Op{Type: OpDelete, Key: key, End: end} }

// OpResponse is the result of one Op.
type OpResponse struct {
	Range   *RangeResult // OpRange
	Deleted int64        // OpDelete: number of keys deleted
	PrevKVs []KeyValue   // OpPut/OpDelete with PrevKV
}

// TxnRequest is If(Compare...) Then(Success...) Else(Failure...).
type TxnRequest struct {
	Compare []Compare
	Success []Op
	Failure []Op
}

// TxnResponse tells which branch ran and what each op returned.
type TxnResponse struct {
	Succeeded bool
	Responses []OpResponse
	// Rev is the store's revision after the txn: the txn's own revision if it
	// wrote anything, else the unchanged current revision.
	Rev int64
}

// EventType is PUT or DELETE.
type EventType int

const (
	EventPut EventType = iota
	EventDelete
)

func (t EventType) String() string {
	if t == EventDelete {
		return "DELETE"
	}
	return "PUT"
}

// Event is one change seen by a watcher.
type Event struct {
	Type EventType
	// Kv is the new version; for DELETE it carries the key, ModRevision = the
	// deletion revision, Version 0 and no value.
	Kv KeyValue
	// PrevKV is the version before the change, when the watch asked for it
	// and the store still had it.
	PrevKV *KeyValue
}

// WatchResponse is one delivery to a watcher.
type WatchResponse struct {
	WatchID int64
	Events  []Event
	// CompactRevision is set when the watch was cancelled because its start
	// revision had been compacted; Err is then ErrCompacted.
	CompactRevision int64
	// Canceled is true in the last response a watcher receives.
	Canceled bool
	Err      error
	// Rev is the store's revision when the response was produced.
	Rev int64
}

// WatchOptions qualify a Watch.
type WatchOptions struct {
	// End: "" watches the single key; otherwise the range [key, End).
	// Use PrefixEnd(key) to watch a prefix.
	End string
	// StartRev: 0 means only changes after the current revision.
	StartRev int64
	// PrevKV attaches the previous version to every event.
	PrevKV bool
	// Delay overrides the store's default delivery delay for this watcher.
	// Negative means: use the store's default (see DefaultDelay).
	Delay time.Duration
	// Transient promises that the callback keeps neither a response's
	// Events slice nor pointers into it once it returns (what it copies
	// out — keys, values, whole KeyValues — it may keep): the store then
	// reuses the slice for a later write. A watch cache consuming every
	// write says so.
	Transient bool
}

// DefaultDelay, as WatchOptions.Delay, selects the store's Config.WatchDelay.
const DefaultDelay time.Duration = -1
