// Package cache is the scheduler's view of where pods run: one NodeInfo per
// node with the requests, ports and images of the pods on it, including pods
// that are only "assumed" (the scheduler chose a node and is binding them,
// but the bound pod has not come back through the informer yet).
//
// Pod life cycle in the cache (upstream pkg/scheduler/backend/cache):
//
//	             +-------------------------------------------+
//	             |                  Add (informer)            |
//	             |                                            v
//	Initial +--------> Assumed +------------+---> Added <--+
//	        Assume           |  Add        |         |      | Update
//	                         |             |         +------+
//	        Forget (bind     |  expire     |  Remove
//	        failed) <--------+  (TTL>0)    +--------> Deleted
//
// The cache is also the scheduling snapshot: a scheduling cycle runs
// synchronously inside one engine event, so nothing can change the cache
// while a cycle reads it, and kubesim skips upstream's copy-on-cycle
// snapshot entirely. Of the snapshot it keeps the node list: Nodes is the
// real nodes in upstream's nodeTree order (node_tree.go: round robin over
// zones, each zone in the order its nodes were added), rebuilt only after a
// node add or remove, as UpdateSnapshot does.
package cache
