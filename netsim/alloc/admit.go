package alloc

import (
	"fmt"
	"net/netip"
	"slices"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Txn is the allocation part of one Service write. New ClusterIPs and
// NodePorts are reserved when the Txn is made (so a concurrent write cannot
// take them); what the write gives up is released only by Commit. Revert
// undoes the reservations. This mirrors upstream's allocation transactions
// in pkg/registry/core/service/storage/transaction.go.
//
// Exactly one of Commit or Revert must be called; calling either twice, or
// both, panics.
type Txn struct {
	a *Allocator
	// reserved now; given back by Revert
	newIPs   []string
	newPorts []int
	// given up by the write; released by Commit
	oldIPs   []string
	oldPorts []int
	done     bool
}

// Commit makes the write's allocations final and releases what it gave up.
func (t *Txn) Commit() {
	t.finish("Commit")
	for _, ip := range t.oldIPs {
		t.a.releaseIP(ip)
	}
	for _, p := range t.oldPorts {
		t.a.releasePort(p)
	}
}

// Revert gives back what the write reserved; what it would have released
// stays allocated.
func (t *Txn) Revert() {
	t.finish("Revert")
	for _, ip := range t.newIPs {
		t.a.releaseIP(ip)
	}
	for _, p := range t.newPorts {
		t.a.releasePort(p)
	}
}

func (t *Txn) finish(verb string) {
	if t.done {
		panic(fmt.Sprintf("alloc: %s on a finished transaction", verb))
	}
	t.done = true
}

// Admit runs the allocator inside a Service write and commits at once. It
// is the admission-style hook the API server calls:
//
//   - op "CREATE": svc is the object about to be stored (old is nil). Admit
//     allocates its ClusterIP (spec.clusterIP / clusterIPs, random or as
//     requested) and, for NodePort and LoadBalancer services, its NodePorts
//     and health-check node port, writing them into svc.
//   - op "UPDATE": svc is the new object, old the stored one. Admit keeps the
//     allocated values the new object left empty (as upstream's
//     patchAllocatedValues), clears type-dependent fields the type change
//     made meaningless (dropTypeDependentFields), allocates what is new and
//     releases what is no longer used.
//   - op "DELETE": svc is nil, old is the object being deleted; Admit
//     releases everything it holds.
//
// svc must be the caller's private copy (Admit mutates it); old is never
// modified. Errors carry upstream's field paths and messages, e.g.
// `spec.clusterIPs: Invalid value: ["10.96.0.10"]: failed to allocate IP
// 10.96.0.10: provided IP is already allocated`. On error nothing is
// allocated or released.
//
// Call Admit after every other check of the write has passed, immediately
// before storing: if the store can still refuse the write, use Begin and
// Commit/Revert instead.
func (a *Allocator) Admit(op string, svc, old *v1.Service) field.ErrorList {
	t, errs := a.Begin(op, svc, old)
	if len(errs) > 0 {
		return errs
	}
	t.Commit()
	return nil
}

// Begin is Admit without the commit: on success the caller stores the
// object, then calls Commit, or Revert if the store refused it.
func (a *Allocator) Begin(op string, svc, old *v1.Service) (*Txn, field.ErrorList) {
	t := &Txn{a: a}
	var errs field.ErrorList
	switch op {
	case OpCreate:
		if svc == nil {
			panic("alloc: CREATE without an object")
		}
		errs = a.create(t, svc)
	case OpUpdate:
		if svc == nil || old == nil {
			panic("alloc: UPDATE needs the new and the old object")
		}
		errs = a.update(t, svc, old)
	case OpDelete:
		if old == nil {
			panic("alloc: DELETE needs the deleted object as old")
		}
		t.oldIPs = append(t.oldIPs, allocatedIPs(old)...)
		t.oldPorts = append(t.oldPorts, allocatedPorts(old)...)
	default:
		panic(fmt.Sprintf("alloc: unknown operation %q", op))
	}
	if len(errs) > 0 {
		t.Revert()
		return nil, errs
	}
	return t, nil
}

func svcType(s *v1.Service) v1.ServiceType {
	if s.Spec.Type == "" {
		return v1.ServiceTypeClusterIP
	}
	return s.Spec.Type
}

func needsClusterIP(s *v1.Service) bool { return svcType(s) != v1.ServiceTypeExternalName }

func needsNodePorts(s *v1.Service) bool {
	t := svcType(s)
	return t == v1.ServiceTypeNodePort || t == v1.ServiceTypeLoadBalancer
}

// shouldAllocateNodePorts: LoadBalancer services may opt out with
// spec.allocateLoadBalancerNodePorts=false (then only requested ports are
// reserved).
func shouldAllocateNodePorts(s *v1.Service) bool {
	switch svcType(s) {
	case v1.ServiceTypeNodePort:
		return true
	case v1.ServiceTypeLoadBalancer:
		return s.Spec.AllocateLoadBalancerNodePorts == nil || *s.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

// needsHealthCheck is upstream's apiservice.NeedsHealthCheck.
func needsHealthCheck(s *v1.Service) bool {
	return svcType(s) == v1.ServiceTypeLoadBalancer && s.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal
}

func isHeadless(s *v1.Service) bool {
	return s.Spec.ClusterIP == v1.ClusterIPNone || (len(s.Spec.ClusterIPs) > 0 && s.Spec.ClusterIPs[0] == v1.ClusterIPNone)
}

// allocatedIPs is the ClusterIP a stored service holds ("" and None hold
// nothing).
func allocatedIPs(s *v1.Service) []string {
	if !needsClusterIP(s) {
		return nil
	}
	ip := s.Spec.ClusterIP
	if ip == "" && len(s.Spec.ClusterIPs) > 0 {
		ip = s.Spec.ClusterIPs[0]
	}
	if ip == "" || ip == v1.ClusterIPNone {
		return nil
	}
	return []string{ip}
}

// allocatedPorts lists the distinct node ports a stored service holds,
// health-check node port included.
func allocatedPorts(s *v1.Service) []int {
	var out []int
	for _, p := range s.Spec.Ports {
		if p.NodePort != 0 && !slices.Contains(out, int(p.NodePort)) {
			out = append(out, int(p.NodePort))
		}
	}
	if needsHealthCheck(s) && s.Spec.HealthCheckNodePort != 0 && !slices.Contains(out, int(s.Spec.HealthCheckNodePort)) {
		out = append(out, int(s.Spec.HealthCheckNodePort))
	}
	return out
}

var specPath = field.NewPath("spec")

// validate checks the type-dependent rules allocation relies on (a subset of
// upstream's ValidateService).
func validate(s *v1.Service) field.ErrorList {
	var errs field.ErrorList
	t := svcType(s)
	switch t {
	case v1.ServiceTypeClusterIP, v1.ServiceTypeNodePort, v1.ServiceTypeLoadBalancer, v1.ServiceTypeExternalName:
	default:
		return field.ErrorList{field.NotSupported(specPath.Child("type"), t,
			[]v1.ServiceType{v1.ServiceTypeClusterIP, v1.ServiceTypeExternalName, v1.ServiceTypeLoadBalancer, v1.ServiceTypeNodePort})}
	}
	ipsPath := specPath.Child("clusterIPs")
	if s.Spec.ClusterIP != "" && len(s.Spec.ClusterIPs) > 0 && s.Spec.ClusterIPs[0] != s.Spec.ClusterIP {
		errs = append(errs, field.Invalid(ipsPath, s.Spec.ClusterIPs, "first value must match `clusterIP`"))
	}
	if len(s.Spec.ClusterIPs) > 1 {
		errs = append(errs, field.Invalid(ipsPath, s.Spec.ClusterIPs, "kubesim supports single-stack services only (one cluster IP)"))
	}
	// Headless selectorless Services may name both families even on a
	// single-stack cluster (their endpoints are written by the user).
	anyFamily := isHeadless(s) && len(s.Spec.Selector) == 0
	for i, f := range s.Spec.IPFamilies {
		if f != v1.IPv4Protocol && !(anyFamily && f == v1.IPv6Protocol) {
			errs = append(errs, field.NotSupported(specPath.Child("ipFamilies").Index(i), f, []v1.IPFamily{v1.IPv4Protocol}))
		}
	}
	if len(s.Spec.IPFamilies) > 2 || len(s.Spec.IPFamilies) == 2 && s.Spec.IPFamilies[0] == s.Spec.IPFamilies[1] {
		errs = append(errs, field.Invalid(specPath.Child("ipFamilies"), s.Spec.IPFamilies, "may specify no more than one IP for each IP family"))
	}
	if p := s.Spec.IPFamilyPolicy; p != nil && *p == v1.IPFamilyPolicyRequireDualStack && !anyFamily {
		errs = append(errs, field.NotSupported(specPath.Child("ipFamilyPolicy"), *p,
			[]v1.IPFamilyPolicy{v1.IPFamilyPolicySingleStack, v1.IPFamilyPolicyPreferDualStack}))
	}
	if t == v1.ServiceTypeExternalName {
		if s.Spec.ClusterIP != "" || len(s.Spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(ipsPath, "may not be set for ExternalName services"))
		}
		if s.Spec.ExternalName == "" {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		}
	} else if ip := firstIP(s); ip != "" && ip != v1.ClusterIPNone {
		if addr, err := netip.ParseAddr(ip); err != nil {
			errs = append(errs, field.Invalid(ipsPath.Index(0), ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
		} else if !addr.Is4() {
			errs = append(errs, field.Invalid(ipsPath.Index(0), ip, "kubesim supports IPv4 cluster IPs only"))
		}
	}
	if isHeadless(s) && (t == v1.ServiceTypeNodePort || t == v1.ServiceTypeLoadBalancer) {
		errs = append(errs, field.Invalid(ipsPath.Index(0), v1.ClusterIPNone, fmt.Sprintf("may not be set to 'None' for %s services", t)))
	}
	if !needsNodePorts(s) {
		for i, p := range s.Spec.Ports {
			if p.NodePort != 0 {
				errs = append(errs, field.Forbidden(specPath.Child("ports").Index(i).Child("nodePort"),
					fmt.Sprintf("may not be used when `type` is '%s'", t)))
			}
		}
	}
	return errs
}

func firstIP(s *v1.Service) string {
	if s.Spec.ClusterIP != "" {
		return s.Spec.ClusterIP
	}
	if len(s.Spec.ClusterIPs) > 0 {
		return s.Spec.ClusterIPs[0]
	}
	return ""
}

// setIPFields writes an allocated (or None) cluster IP and the family
// fields the API server defaults on an IPv4 single-stack cluster: IPv4 and
// SingleStack (a requested PreferDualStack stays), except for headless
// Services without a selector, which upstream defaults to RequireDualStack
// with both families (pkg/registry/core/service/storage, "default
// headless+selectorless").
func setIPFields(s *v1.Service, ip string) {
	s.Spec.ClusterIP = ip
	s.Spec.ClusterIPs = []string{ip}
	if ip == v1.ClusterIPNone && len(s.Spec.Selector) == 0 {
		if s.Spec.IPFamilyPolicy == nil {
			p := v1.IPFamilyPolicyRequireDualStack
			s.Spec.IPFamilyPolicy = &p
		}
		if len(s.Spec.IPFamilies) == 0 {
			s.Spec.IPFamilies = []v1.IPFamily{v1.IPv4Protocol}
		}
		switch {
		case *s.Spec.IPFamilyPolicy == v1.IPFamilyPolicySingleStack:
			s.Spec.IPFamilies = s.Spec.IPFamilies[:1]
		case *s.Spec.IPFamilyPolicy == v1.IPFamilyPolicyRequireDualStack && len(s.Spec.IPFamilies) == 1:
			other := v1.IPv6Protocol
			if s.Spec.IPFamilies[0] == v1.IPv6Protocol {
				other = v1.IPv4Protocol
			}
			s.Spec.IPFamilies = append(slices.Clone(s.Spec.IPFamilies), other)
		}
		return
	}
	s.Spec.IPFamilies = []v1.IPFamily{v1.IPv4Protocol}
	if s.Spec.IPFamilyPolicy == nil {
		p := v1.IPFamilyPolicySingleStack
		s.Spec.IPFamilyPolicy = &p
	}
}

func (a *Allocator) create(t *Txn, s *v1.Service) field.ErrorList {
	if errs := validate(s); len(errs) > 0 {
		return errs
	}
	if needsClusterIP(s) {
		if errs := a.allocClusterIP(t, s); len(errs) > 0 {
			return errs
		}
	}
	if needsNodePorts(s) {
		if errs := a.initNodePorts(t, s); len(errs) > 0 {
			return errs
		}
	}
	if needsHealthCheck(s) {
		if errs := a.allocHealthCheckNodePort(t, s); len(errs) > 0 {
			return errs
		}
	}
	return nil
}

func (a *Allocator) allocClusterIP(t *Txn, s *v1.Service) field.ErrorList {
	if isHeadless(s) {
		setIPFields(s, v1.ClusterIPNone)
		return nil
	}
	want := firstIP(s)
	got, err := a.allocateIP(want)
	if err != nil {
		if want == "" {
			return field.ErrorList{field.InternalError(specPath.Child("clusterIPs"), fmt.Errorf("failed to allocate a serviceIP: %v", err))}
		}
		shown := s.Spec.ClusterIPs
		if len(shown) == 0 {
			shown = []string{want}
		}
		return field.ErrorList{field.Invalid(specPath.Child("clusterIPs"), shown, fmt.Sprintf("failed to allocate IP %s: %v", want, err))}
	}
	t.newIPs = append(t.newIPs, got)
	setIPFields(s, got)
	return nil
}

// initNodePorts follows upstream's initNodePorts: service ports with the
// same port number share one node port; requested node ports are reserved,
// others drawn at random.
func (a *Allocator) initNodePorts(t *Txn, s *v1.Service) field.ErrorList {
	byPort := map[int32]int32{}
	for i := range s.Spec.Ports {
		sp := &s.Spec.Ports[i]
		if sp.NodePort == 0 && !shouldAllocateNodePorts(s) {
			continue
		}
		path := specPath.Child("ports").Index(i).Child("nodePort")
		shared := byPort[sp.Port]
		switch {
		case shared == 0:
			np := sp.NodePort
			if np == 0 {
				// a later entry with the same port number may ask for one
				for _, other := range s.Spec.Ports[i:] {
					if other.Port == sp.Port && other.NodePort != 0 {
						np = other.NodePort
						break
					}
				}
			}
			got, err := a.allocatePort(int(np))
			if err != nil {
				if np == 0 {
					return field.ErrorList{field.InternalError(path, fmt.Errorf("failed to allocate a nodePort: %v", err))}
				}
				return field.ErrorList{field.Invalid(path, np, err.Error())}
			}
			t.newPorts = append(t.newPorts, got)
			sp.NodePort = int32(got)
			byPort[sp.Port] = int32(got)
		case sp.NodePort == 0:
			sp.NodePort = shared
		case sp.NodePort != shared:
			got, err := a.allocatePort(int(sp.NodePort))
			if err != nil {
				return field.ErrorList{field.Invalid(path, sp.NodePort, err.Error())}
			}
			t.newPorts = append(t.newPorts, got)
		}
	}
	return nil
}

func (a *Allocator) allocHealthCheckNodePort(t *Txn, s *v1.Service) field.ErrorList {
	path := specPath.Child("healthCheckNodePort")
	want := int(s.Spec.HealthCheckNodePort)
	got, err := a.allocatePort(want)
	if err != nil {
		if want != 0 {
			return field.ErrorList{field.InternalError(path, fmt.Errorf("failed to allocate requested HealthCheck NodePort %d: %v", want, err))}
		}
		return field.ErrorList{field.InternalError(path, fmt.Errorf("failed to allocate a HealthCheck NodePort: %v", err))}
	}
	t.newPorts = append(t.newPorts, got)
	s.Spec.HealthCheckNodePort = int32(got)
	return nil
}

func (a *Allocator) update(t *Txn, s, old *v1.Service) field.ErrorList {
	patchAllocatedValues(s, old)
	normalizeClusterIPs(s, old)
	dropTypeDependentFields(s, old)
	errs := validate(s)
	if needsClusterIP(old) && needsClusterIP(s) && firstIP(old) != "" && firstIP(s) != firstIP(old) {
		errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), firstIP(s), "may not change once set"))
	}
	if len(errs) > 0 {
		return errs
	}

	// ClusterIP: ExternalName -> other allocates; other -> ExternalName
	// releases; otherwise the IP is immutable.
	switch {
	case !needsClusterIP(old) && needsClusterIP(s):
		if errs := a.allocClusterIP(t, s); len(errs) > 0 {
			return errs
		}
	case needsClusterIP(old) && !needsClusterIP(s):
		t.oldIPs = append(t.oldIPs, allocatedIPs(old)...)
	case needsClusterIP(s) && firstIP(s) != "":
		setIPFields(s, firstIP(s))
	}

	// NodePorts, as upstream's updateNodePorts.
	oldPorts := nodePortsOf(old)
	var keep []int
	if needsNodePorts(s) {
		reserved := map[int]bool{}
		for i := range s.Spec.Ports {
			sp := &s.Spec.Ports[i]
			if sp.NodePort == 0 && !shouldAllocateNodePorts(s) {
				continue
			}
			path := specPath.Child("ports").Index(i).Child("nodePort")
			if sp.NodePort != 0 {
				np := int(sp.NodePort)
				if !slices.Contains(oldPorts, np) && !reserved[np] {
					if _, err := a.allocatePort(np); err != nil {
						return field.ErrorList{field.Invalid(path, sp.NodePort, err.Error())}
					}
					t.newPorts = append(t.newPorts, np)
					reserved[np] = true
				}
			} else {
				got, err := a.allocatePort(0)
				if err != nil {
					return field.ErrorList{field.InternalError(path, fmt.Errorf("failed to allocate a nodePort: %v", err))}
				}
				t.newPorts = append(t.newPorts, got)
				sp.NodePort = int32(got)
			}
			keep = append(keep, int(sp.NodePort))
		}
	}
	for _, p := range oldPorts {
		if !slices.Contains(keep, p) {
			t.oldPorts = append(t.oldPorts, p)
		}
	}

	// Health-check node port transitions.
	switch {
	case !needsHealthCheck(old) && needsHealthCheck(s):
		if errs := a.allocHealthCheckNodePort(t, s); len(errs) > 0 {
			return errs
		}
	case needsHealthCheck(old) && !needsHealthCheck(s):
		if old.Spec.HealthCheckNodePort != 0 {
			t.oldPorts = append(t.oldPorts, int(old.Spec.HealthCheckNodePort))
		}
	}
	return nil
}

func nodePortsOf(s *v1.Service) []int {
	var out []int
	for _, p := range s.Spec.Ports {
		if p.NodePort != 0 && !slices.Contains(out, int(p.NodePort)) {
			out = append(out, int(p.NodePort))
		}
	}
	return out
}

// patchAllocatedValues keeps allocated values an update left empty (for
// example a `kubectl apply` of a manifest without clusterIP), as upstream.
func patchAllocatedValues(s, old *v1.Service) {
	if needsClusterIP(old) && needsClusterIP(s) {
		if s.Spec.ClusterIP == "" {
			s.Spec.ClusterIP = old.Spec.ClusterIP
		}
		if len(s.Spec.ClusterIPs) == 0 && len(old.Spec.ClusterIPs) > 0 {
			s.Spec.ClusterIPs = slices.Clone(old.Spec.ClusterIPs)
		}
		if len(s.Spec.IPFamilies) == 0 && len(old.Spec.IPFamilies) > 0 {
			s.Spec.IPFamilies = slices.Clone(old.Spec.IPFamilies)
		}
		if s.Spec.IPFamilyPolicy == nil && old.Spec.IPFamilyPolicy != nil {
			p := *old.Spec.IPFamilyPolicy
			s.Spec.IPFamilyPolicy = &p
		}
	}
	if needsNodePorts(old) && needsNodePorts(s) {
		for i := range s.Spec.Ports {
			if s.Spec.Ports[i].NodePort != 0 {
				continue
			}
			for _, op := range old.Spec.Ports {
				if op.Port == s.Spec.Ports[i].Port && op.Protocol == s.Spec.Ports[i].Protocol && op.NodePort != 0 {
					s.Spec.Ports[i].NodePort = op.NodePort
					break
				}
			}
		}
	}
	if needsHealthCheck(old) && needsHealthCheck(s) && s.Spec.HealthCheckNodePort == 0 {
		s.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
	}
}

// normalizeClusterIPs keeps clusterIPs in step with a clusterIP an update
// changed without touching clusterIPs (a patch of the singular field, as
// kubectl apply of an older manifest sends): the update case of upstream's
// NormalizeClusterIPs (pkg/registry/core/service/storage/storage.go), run
// before validation, so a changed IP is one "may not change once set".
func normalizeClusterIPs(s, old *v1.Service) {
	if len(old.Spec.ClusterIPs) > 0 && len(s.Spec.ClusterIPs) == 0 && old.Spec.ClusterIP == s.Spec.ClusterIP {
		s.Spec.ClusterIPs = slices.Clone(old.Spec.ClusterIPs)
	}
	if old.Spec.ClusterIP == s.Spec.ClusterIP || !slices.Equal(old.Spec.ClusterIPs, s.Spec.ClusterIPs) {
		return
	}
	if old.Spec.ClusterIP != "" && s.Spec.ClusterIP == "" {
		s.Spec.ClusterIPs = nil // cleared: clear on the user's behalf
		return
	}
	s.Spec.ClusterIPs = []string{s.Spec.ClusterIP}
}

// dropTypeDependentFields clears, on a type change, fields the new type
// does not use when they still hold the old allocated values (upstream's
// strategy.go), so changing the type alone is a valid update.
func dropTypeDependentFields(s, old *v1.Service) {
	if needsClusterIP(old) && !needsClusterIP(s) && firstIP(s) == firstIP(old) {
		s.Spec.ClusterIP = ""
		s.Spec.ClusterIPs = nil
		s.Spec.IPFamilies = nil
		s.Spec.IPFamilyPolicy = nil
	}
	if needsNodePorts(old) && !needsNodePorts(s) {
		for i := range s.Spec.Ports {
			np := s.Spec.Ports[i].NodePort
			if np != 0 && slices.Contains(nodePortsOf(old), int(np)) {
				s.Spec.Ports[i].NodePort = 0
			}
		}
	}
	if needsHealthCheck(old) && !needsHealthCheck(s) && s.Spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort {
		s.Spec.HealthCheckNodePort = 0
	}
}
