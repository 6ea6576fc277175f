// Package alloc owns Service ClusterIP and NodePort allocation: the
// simulator's counterpart of kube-apiserver's ipallocator and portallocator
// and of the allocation step of the Service REST storage.
//
// ClusterIPs come from an IPv4 range (10.96.0.0/12 by default) without its
// network and broadcast addresses; NodePorts from 30000-32767. Like upstream,
// each range is split into a small static band at the bottom (the first
// min(max(16, size/16), 256) addresses, min(max(16, size/32), 128) ports) and
// a dynamic band above it: a random allocation starts at a random offset of
// the dynamic band and scans forward, and falls back to the static band only
// when the dynamic band is full. Random draws come from the engine streams
// "ipallocator" and "portallocator".
//
// The API server calls the allocator as an admission-style hook inside every
// Service write:
//
//	alc, _ := alloc.New(eng, alloc.Config{})
//	// create: svc is the API server's own copy, mutated in place
//	if errs := alc.Admit(alloc.OpCreate, svc, nil); len(errs) > 0 { return Invalid(errs) }
//	// update
//	errs := alc.Admit(alloc.OpUpdate, newSvc, storedSvc)
//	// delete
//	alc.Admit(alloc.OpDelete, nil, storedSvc)
//
// When the store write may still fail after the hook, use Begin and then
// Txn.Commit or Txn.Revert. Admission does exactly that as a
// sim/apiserver admission plugin and commit observer; the cluster wiring
// registers it:
//
//	api.AddAdmission(alloc.NewAdmission(alc))
//
// As in upstream's Service storage (store.Create calls BeginCreate before
// rest.BeforeCreate's validation), the allocator runs before the API
// server's validation and checks first only the cluster-IP fields
// (initIPFamilyFields); allocation errors are reported alone, everything
// else is validation's, which then sees the allocated values. The API
// server's Validate runs the same steps and undoes them
// (apiserver.CreateValidator), so kubesim validate reports what a run does.
//
// Headless services (clusterIP: None) and ExternalName services get no IP;
// only NodePort and LoadBalancer services hold node ports (LoadBalancer ones
// with externalTrafficPolicy Local also a health-check node port). The
// cluster is IPv4 single-stack: IPv6 and dual-stack requests get
// upstream's errors for such a cluster ("IPv6 is not configured on this
// cluster", "this cluster is not configured for dual-stack services").
//
// Differences from upstream: an ExternalName Service's nodePort (which
// upstream accepts without reserving) is never reserved or released; upstream
// releases it when the Service is deleted, and a later change of the
// Service to NodePort keeps it unreserved (its repair loop reconciles both
// within minutes), whereas here the change reserves it like any new node
// port.
package alloc
