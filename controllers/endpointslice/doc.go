// Package endpointslice is kube-controller-manager's EndpointSlice
// controller (pkg/controller/endpointslice): the shell of informers, work
// queue and API writes around the pure reconciler of
// netsim/endpointslice.
//
// Handlers only enqueue Service keys, as upstream's:
//
//   - a Service added, changed or deleted: its key, at once;
//   - a pod added or deleted: the Services selecting it, after
//     UpdatesBatchPeriod (default 0); a pod updated: only when its labels,
//     hostname/subdomain, deletion, readiness or IPs changed or it is
//     terminating (upstream compares deletionTimestamp pointers), then the
//     Services selecting its new labels and, when the labels changed, those
//     selecting its old labels (upstream's GetServicesToUpdateOnPodChange);
//   - a managed EndpointSlice added, changed or deleted by someone else
//     (the controller's own writes are recognised by their generation): its
//     Service, after max(1 s, UpdatesBatchPeriod).
//
// A sync reads the Service, its pods, its managed slices and the nodes from
// the informer caches; refuses to act on a cache that has not caught up
// with its own earlier writes (upstream's EndpointSliceTracker: the sync
// fails and is retried); computes the plan with Reconciler.Reconcile and
// writes it through the API server in upstream's order: creates (with
// generateName "<service>-", the API server appends the suffix), updates,
// deletes; slices carry a controller owner reference to the Service, so the
// garbage collector removes them with it. ExternalName Services and
// Services without a selector get no slices from it.
//
// Failures: a failed write or a pod on an unknown node records the Warning
// event FailedToUpdateEndpointSlices on the Service (source
// endpoint-slice-controller) and retries with a per-Service backoff of 1 s
// doubling to 1000 s (and an overall 10 qps bucket); after 15 failures in
// a row the Service is dropped until its next change.
//
// Trace records (component endpointslice-controller, kind Service):
// endpointsUpdated after every sync that wrote something, with the ready /
// not ready / terminating endpoint counts; syncFailed and syncDropped.
//
// Usage (sim/cluster wires it):
//
//	ctl, err := endpointslice.New(eng, c.Client(endpointslice.Name),
//		c.Recorder(endpointslice.EventSource, ""), c.Informers, endpointslice.Config{})
//	c.Start()
//
// Simplifications: one worker (upstream runs 5 concurrently; the engine
// processes one Service per event); no topology hints or
// trafficDistribution; no endpointslice metrics; the legacy Endpoints
// controller is not modelled.
package endpointslice
