// Package ctltest builds the minimal world the node controllers' tests need:
// an engine, the MVCC store, the API server and an informer factory with
// cache-mutation detection, but no scheduler, kubelet or other controller,
// so that each test sees only the controller under test. It also plays the
// kubelet's part where a test needs one: heartbeats (Lease renewals) until a
// given time, node and pod fixtures. Production code never imports it.
package ctltest
