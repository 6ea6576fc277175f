// Package mvcc is an in-memory key-value store with etcd v3's semantics:
// a global revision, per-key create/mod revisions and versions, generations
// and tombstones, ranges at past revisions, transactions, watches delivered
// through the simulation engine, and compaction.
package mvcc
