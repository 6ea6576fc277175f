// Package endpointslice owns the pure logic of the EndpointSlice
// controller: given a Service, the pods its selector matches, the nodes they
// run on and the Service's existing slices, Reconciler.Reconcile returns the
// slices to create, update and delete, following upstream's reconciler
// (staging/src/k8s.io/endpointslice/reconciler.go) step by step: at most 100
// endpoints per slice, stale endpoints removed, changed ones updated in
// place, free space filled, new slices only when needed, no re-packing, one
// placeholder slice when nothing is published, creates recycled into
// updates of slices about to be deleted.
//
// Endpoint conditions follow §7.1: ready = pod Ready and not terminating (or
// publishNotReadyAddresses), serving = pod Ready, terminating = pod has a
// deletionTimestamp; nodeName, zone (node label topology.kubernetes.io/zone)
// and hostname are filled in. Slices are labelled kubernetes.io/service-name
// and endpointslice.kubernetes.io/managed-by, owned by the Service, and
// created with generateName "<svc>-" (the API server appends 5 random
// characters).
//
// The controller shell (informer handlers, work queue, API writes) lives
// elsewhere; its sync is:
//
//	pods := endpointslice.SelectPods(svc, podLister.List(svc.Namespace))
//	plan := endpointslice.Reconciler{}.Reconcile(svc, pods, slicesOf(svc), nodeLister.Get, now)
//	for _, s := range plan.Create { client.Create(s) }
//	for _, s := range plan.Update { client.Update(s) }
//	for _, s := range plan.Delete { client.Delete(s.Namespace, s.Name) }
//	if len(plan.Errs) > 0 { requeue with backoff }
//
// Determinism: where upstream iterates Go maps (and so packs endpoints in a
// random order) kubesim uses a fixed order, so a plan depends only on its
// inputs, not on their order; a slice's ports are sorted by name, number
// and protocol (upstream sorts them by hash). Simplifications: no topology hints
// (trafficDistribution / topology-aware routing), so hints are never set;
// a Service port whose targetPort is unset resolves to the service port
// number (the API server's defaulting normally fills it in).
package endpointslice
