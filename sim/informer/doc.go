// Package informer provides what kubesim's controllers are built from, in
// the shape of client-go's: shared list+watch caches (Informer, Factory) with
// client-go's generated listers, event handlers (cache.ResourceEventHandler)
// and a de-duplicating, rate-limited work queue (Queue) whose workers the
// engine runs. A controller looks like upstream's:
//
//	pods := factory.Pods()
//	q := informer.NewQueue[string](eng, "replicaset", informer.DefaultControllerRateLimiter[string](eng), c.sync)
//	pods.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) { q.Add(key(obj)) }})
//	factory.Start()
//	// each queued key is processed by c.sync in its own engine event
//
// A sync that reads many objects charges the simulated time it takes
// (Queue.Charge with SyncCost); the changes that arrive meanwhile fold into
// one more sync of that key, as with client-go's queue and a busy worker.
//
// Everything here is deterministic: caches list in key order, handlers run in
// registration order inside the engine event that delivered the change, and
// the queue processes keys in FIFO order.
package informer
