package alloc

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/kubesim/kubesim/sim/apiserver"
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
// is the allocation step of upstream's Service storage (beginCreate,
// beginUpdate and afterDelete in pkg/registry/core/service/storage),
// which runs before the strategy's validation:
//
//   - op "CREATE": svc is the object about to be stored (old is nil).
//     Admit checks the cluster-IP fields (upstream's initIPFamilyFields:
//     ValidateServiceClusterIPsRelatedFields and the families this
//     IPv4 single-stack cluster has), fills in the IP families and family
//     policy, allocates the ClusterIP (random or as requested; not for
//     ExternalName or headless Services), the NodePorts of NodePort and
//     LoadBalancer Services and the health-check node port of a
//     LoadBalancer with externalTrafficPolicy Local, writing them into svc.
//   - op "UPDATE": svc is the new object, old the stored one. Admit keeps
//     the allocated values the new object left empty
//     (apiserver.PatchServiceAllocatedValues), checks the cluster-IP fields,
//     allocates what is new, releases what is no longer used (on Commit)
//     and clears the type-dependent fields a type change made meaningless
//     (apiserver.DropServiceTypeDependentFields).
//   - op "DELETE": svc is nil, old is the object being deleted; Admit
//     releases everything it holds.
//
// Everything else about the object (its type, ports, externalName, a
// changed cluster IP) is the API server's validation, which runs after
// Admit, as upstream's runs after the allocation; a Service holds node
// ports only while its type has them, so an ExternalName Service's
// nodePort is accepted and not reserved.
//
// svc must be the caller's private copy (Admit mutates it); old is never
// modified. Errors carry upstream's field paths and messages, e.g.
// `spec.clusterIPs: Invalid value: ["10.96.0.10"]: failed to allocate IP
// 10.96.0.10: provided IP is already allocated`; what upstream reports as
// a 500 Internal error (a full range, a taken health-check node port) is
// a single field.InternalError without a field path (see statusError). On
// error nothing is allocated or released.
//
// If the write can still fail after Admit (validation, the store), use
// Begin and Commit/Revert instead.
func (a *Allocator) Admit(op string, svc, old *v1.Service) field.ErrorList {
	t, errs := a.Begin(op, svc, old)
	if len(errs) > 0 {
		return errs
	}
	t.Commit()
	return nil
}

// Begin is Admit without the commit: on success the caller stores the
// object, then calls Commit, or Revert if the write failed.
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

// Origins of the errors upstream returns outside an Invalid: as
// apierrors.NewInternalError (HTTP 500, "Internal error occurred: ..."), or
// as a plain error, which the API server turns into a 500 of reason Unknown
// with the bare message.
const (
	originInternal = "alloc-internal-error"
	originPlain    = "alloc-plain-error"
)

// internalError is an error upstream returns as apierrors.NewInternalError.
func internalError(format string, args ...any) field.ErrorList {
	return field.ErrorList{field.InternalError(nil, fmt.Errorf(format, args...)).WithOrigin(originInternal)}
}

// plainError is an error upstream returns as a plain error.
func plainError(format string, args ...any) field.ErrorList {
	return field.ErrorList{field.InternalError(nil, fmt.Errorf(format, args...)).WithOrigin(originPlain)}
}

// statusError is errs as the API server's response: an Invalid, or the 500
// an internalError or plainError stands for.
func statusError(name string, errs field.ErrorList) error {
	if len(errs) == 1 {
		switch errs[0].Origin {
		case originInternal:
			return apierrors.NewInternalError(errors.New(errs[0].Detail))
		case originPlain:
			return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
				Reason: metav1.StatusReasonUnknown, Message: errs[0].Detail}}
		}
	}
	return apierrors.NewInvalid(serviceKind, name, errs)
}

func needsClusterIP(s *v1.Service) bool { return s.Spec.Type != v1.ServiceTypeExternalName }

func needsNodePorts(s *v1.Service) bool {
	return s.Spec.Type == v1.ServiceTypeNodePort || s.Spec.Type == v1.ServiceTypeLoadBalancer
}

// shouldAllocateNodePorts: LoadBalancer services may opt out with
// spec.allocateLoadBalancerNodePorts=false (then only requested ports are
// reserved).
func shouldAllocateNodePorts(s *v1.Service) bool {
	switch s.Spec.Type {
	case v1.ServiceTypeNodePort:
		return true
	case v1.ServiceTypeLoadBalancer:
		return s.Spec.AllocateLoadBalancerNodePorts == nil || *s.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

// needsHealthCheck is upstream's apiservice.NeedsHealthCheck.
func needsHealthCheck(s *v1.Service) bool { return apiserver.ServiceNeedsHealthCheck(s) }

// isHeadless is the allocator's test (allocClusterIPs): clusterIPs starts
// with None.
func isHeadless(s *v1.Service) bool {
	return len(s.Spec.ClusterIPs) > 0 && s.Spec.ClusterIPs[0] == v1.ClusterIPNone
}

// allocatedIPs is the ClusterIPs a stored service holds (upstream's
// releaseClusterIPs: none for ExternalName and headless services).
func allocatedIPs(s *v1.Service) []string {
	if !needsClusterIP(s) || isHeadless(s) {
		return nil
	}
	var out []string
	for _, ip := range s.Spec.ClusterIPs {
		if familyOf(ip) == v1.IPv4Protocol {
			out = append(out, ip)
		}
	}
	return out
}

// allocatedPorts lists the distinct node ports a stored service holds:
// its ports' node ports while its type has node ports, and its
// health-check node port while it needs one.
func allocatedPorts(s *v1.Service) []int {
	out := nodePortsOf(s)
	if needsHealthCheck(s) && s.Spec.HealthCheckNodePort != 0 && !slices.Contains(out, int(s.Spec.HealthCheckNodePort)) {
		out = append(out, int(s.Spec.HealthCheckNodePort))
	}
	return out
}

// nodePortsOf lists the distinct node ports of a NodePort or LoadBalancer
// Service's ports (upstream's collectServiceNodePorts, which takes them
// from a Service of any type: see the package doc).
func nodePortsOf(s *v1.Service) []int {
	if !needsNodePorts(s) {
		return nil
	}
	var out []int
	for _, p := range s.Spec.Ports {
		if p.NodePort != 0 && !slices.Contains(out, int(p.NodePort)) {
			out = append(out, int(p.NodePort))
		}
	}
	return out
}

var specPath = field.NewPath("spec")

// familyOf is the family of a valid IP.
func familyOf(ip string) v1.IPFamily {
	switch {
	case netutils.IsIPv4String(ip):
		return v1.IPv4Protocol
	case netutils.IsIPv6String(ip):
		return v1.IPv6Protocol
	}
	return v1.IPFamilyUnknown
}

func policyOf(s *v1.Service) v1.IPFamilyPolicy {
	if s.Spec.IPFamilyPolicy == nil {
		return ""
	}
	return *s.Spec.IPFamilyPolicy
}

// otherFamily is the family that is not f.
func otherFamily(f v1.IPFamily) v1.IPFamily {
	if f == v1.IPv4Protocol {
		return v1.IPv6Protocol
	}
	return v1.IPv4Protocol
}

// clusterFamilies are the families this cluster serves: IPv4 only (the
// service CIDR is IPv4; kubesim has no secondary range).
var clusterFamilies = []v1.IPFamily{v1.IPv4Protocol}

// initIPFamilyFields is upstream's (pkg/registry/core/service/storage/
// alloc.go) for an IPv4 single-stack cluster: it defaults ipFamilyPolicy
// and ipFamilies and refuses what the cluster cannot serve. old is nil on
// a create. Its errors are the only ones reported before allocation.
func initIPFamilyFields(s, old *v1.Service) field.ErrorList {
	if s.Spec.Type == v1.ServiceTypeExternalName {
		return nil
	}
	if isMatchingPreferDualStackClusterIPFields(s, old) {
		return nil
	}
	if s.Spec.IPFamilyPolicy == nil {
		var p v1.IPFamilyPolicy
		switch {
		case old != nil && old.Spec.IPFamilyPolicy != nil:
			p = *old.Spec.IPFamilyPolicy
		case s.Spec.ClusterIP == v1.ClusterIPNone && len(s.Spec.Selector) == 0:
			p = v1.IPFamilyPolicyRequireDualStack // headless and selectorless
		default:
			p = v1.IPFamilyPolicySingleStack
		}
		s.Spec.IPFamilyPolicy = &p
	}
	if errs := apiserver.ValidateServiceClusterIPsRelatedFields(s); len(errs) > 0 {
		return errs
	}
	var errs field.ErrorList
	policyPath := specPath.Child("ipFamilyPolicy")
	if old != nil {
		if policyOf(s) == v1.IPFamilyPolicySingleStack {
			if slices.Equal(old.Spec.ClusterIPs, s.Spec.ClusterIPs) && len(s.Spec.ClusterIPs) > 1 {
				s.Spec.ClusterIPs = s.Spec.ClusterIPs[:1]
			}
			if slices.Equal(old.Spec.IPFamilies, s.Spec.IPFamilies) && len(s.Spec.IPFamilies) > 1 {
				s.Spec.IPFamilies = s.Spec.IPFamilies[:1]
			}
		} else {
			if len(s.Spec.ClusterIPs) > 0 && len(s.Spec.ClusterIPs) < len(old.Spec.ClusterIPs) {
				errs = append(errs, field.Invalid(policyPath, s.Spec.IPFamilyPolicy, "must be 'SingleStack' to release the secondary cluster IP"))
			}
			if len(s.Spec.IPFamilies) > 0 && len(s.Spec.IPFamilies) < len(old.Spec.IPFamilies) {
				errs = append(errs, field.Invalid(policyPath, s.Spec.IPFamilyPolicy, "must be 'SingleStack' to release the secondary IP family"))
			}
		}
	}
	if policyOf(s) == v1.IPFamilyPolicySingleStack {
		if len(s.Spec.ClusterIPs) == 2 {
			errs = append(errs, field.Invalid(policyPath, s.Spec.IPFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"))
		}
		if len(s.Spec.IPFamilies) == 2 {
			errs = append(errs, field.Invalid(policyPath, s.Spec.IPFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"))
		}
	}
	// Families follow the cluster IPs given.
	for i, ip := range s.Spec.ClusterIPs {
		if ip == v1.ClusterIPNone {
			break
		}
		if i < len(s.Spec.IPFamilies) {
			continue
		}
		if f := familyOf(ip); slices.Contains(clusterFamilies, f) {
			s.Spec.IPFamilies = append(s.Spec.IPFamilies, f)
		} else {
			errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(i), s.Spec.ClusterIPs, fmt.Sprintf("%s is not configured on this cluster", f)))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	// Headless and selectorless: any families, dual by default.
	if s.Spec.ClusterIP == v1.ClusterIPNone && len(s.Spec.Selector) == 0 {
		if len(s.Spec.IPFamilies) == 0 {
			s.Spec.IPFamilies = []v1.IPFamily{clusterFamilies[0]}
		}
		if len(s.Spec.IPFamilies) < 2 && policyOf(s) != v1.IPFamilyPolicySingleStack {
			s.Spec.IPFamilies = append(s.Spec.IPFamilies, otherFamily(s.Spec.IPFamilies[0]))
		}
		return nil
	}
	if policyOf(s) == v1.IPFamilyPolicyRequireDualStack && len(clusterFamilies) < 2 {
		errs = append(errs, field.Invalid(policyPath, s.Spec.IPFamilyPolicy, "this cluster is not configured for dual-stack services"))
	}
	for i, f := range s.Spec.IPFamilies {
		if !slices.Contains(clusterFamilies, f) {
			errs = append(errs, field.Invalid(specPath.Child("ipFamilies").Index(i), f, "not configured on this cluster"))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if len(s.Spec.IPFamilies) == 0 {
		s.Spec.IPFamilies = []v1.IPFamily{clusterFamilies[0]}
	}
	// (A dual-stack cluster would add its second family to a
	// PreferDualStack Service here.)
	return nil
}

// isMatchingPreferDualStackClusterIPFields is upstream's: an update of a
// PreferDualStack Service that keeps its type, cluster IPs and families
// is left as it is.
func isMatchingPreferDualStackClusterIPFields(s, old *v1.Service) bool {
	if old == nil || s.Spec.IPFamilyPolicy == nil || old.Spec.Type != s.Spec.Type {
		return false
	}
	switch s.Spec.Type {
	case v1.ServiceTypeClusterIP, v1.ServiceTypeNodePort, v1.ServiceTypeLoadBalancer:
	default:
		return false
	}
	if *s.Spec.IPFamilyPolicy != v1.IPFamilyPolicyPreferDualStack ||
		old.Spec.IPFamilyPolicy != nil && *old.Spec.IPFamilyPolicy != v1.IPFamilyPolicyPreferDualStack {
		return false
	}
	return slices.Equal(old.Spec.ClusterIPs, s.Spec.ClusterIPs) && slices.Equal(old.Spec.IPFamilies, s.Spec.IPFamilies)
}

func (a *Allocator) create(t *Txn, s *v1.Service) field.ErrorList {
	apiserver.NormalizeServiceClusterIPs(s, nil)
	if errs := initIPFamilyFields(s, nil); len(errs) > 0 {
		return errs
	}
	if errs := a.allocClusterIPs(t, s); len(errs) > 0 {
		return errs
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

// allocClusterIPs is upstream's: the cluster IP of each family (here the
// one family), as requested or the next free one; none for ExternalName
// and headless Services.
func (a *Allocator) allocClusterIPs(t *Txn, s *v1.Service) field.ErrorList {
	if !needsClusterIP(s) || isHeadless(s) {
		return nil
	}
	for i := range s.Spec.IPFamilies {
		if i >= len(s.Spec.ClusterIPs) {
			s.Spec.ClusterIPs = append(s.Spec.ClusterIPs, "")
		}
		want := s.Spec.ClusterIPs[i]
		got, err := a.allocateIP(want)
		if err != nil {
			if want == "" {
				return internalError("failed to allocate a serviceIP: %v", err)
			}
			return field.ErrorList{field.Invalid(specPath.Child("clusterIPs"), s.Spec.ClusterIPs, fmt.Sprintf("failed to allocate IP %s: %v", want, err))}
		}
		t.newIPs = append(t.newIPs, got)
		if want == "" { // a requested IP stays as the user wrote it
			s.Spec.ClusterIPs[i] = got
		}
		if i == 0 {
			s.Spec.ClusterIP = s.Spec.ClusterIPs[0]
		}
	}
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
					return internalError("failed to allocate a nodePort: %v", err)
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

// allocHealthCheckNodePort is upstream's; its errors are 500s, and the
// one for a full range names port 0 as upstream's does.
func (a *Allocator) allocHealthCheckNodePort(t *Txn, s *v1.Service) field.ErrorList {
	want := int(s.Spec.HealthCheckNodePort)
	got, err := a.allocatePort(want)
	if err != nil {
		if want != 0 {
			return internalError("failed to allocate requested HealthCheck NodePort %v: %v", want, err)
		}
		return internalError("failed to allocate a HealthCheck NodePort %v: %v", got, err)
	}
	t.newPorts = append(t.newPorts, got)
	s.Spec.HealthCheckNodePort = int32(got)
	return nil
}

// update is upstream's beginUpdate: patchAllocatedValues,
// normalizeClusterIPs and allocateUpdate (initIPFamilyFields,
// txnUpdateClusterIPs, txnUpdateNodePorts), then the strategy's
// dropTypeDependentFields.
func (a *Allocator) update(t *Txn, s, old *v1.Service) field.ErrorList {
	apiserver.PatchServiceAllocatedValues(s, old)
	apiserver.NormalizeServiceClusterIPs(s, old)
	if errs := initIPFamilyFields(s, old); len(errs) > 0 {
		return errs
	}

	// Cluster IPs (updateClusterIPs): ExternalName -> other allocates;
	// other -> ExternalName releases; otherwise they stay (a changed one
	// is validation's to refuse; single-stack: no upgrade or downgrade).
	if !isMatchingPreferDualStackClusterIPFields(s, old) {
		switch {
		case !needsClusterIP(old) && needsClusterIP(s):
			if errs := a.allocClusterIPs(t, s); len(errs) > 0 {
				return errs
			}
		case isHeadless(old):
		case needsClusterIP(old) && !needsClusterIP(s):
			t.oldIPs = append(t.oldIPs, allocatedIPs(old)...)
		}
	}

	// Node ports (txnUpdateNodePorts, updateNodePorts).
	oldPorts := nodePortsOf(old)
	if needsNodePorts(old) && (s.Spec.Type == v1.ServiceTypeExternalName || s.Spec.Type == v1.ServiceTypeClusterIP) {
		t.oldPorts = append(t.oldPorts, oldPorts...)
	}
	if needsNodePorts(s) {
		reserved := map[int]bool{}
		type protoPort struct {
			proto v1.Protocol
			port  int32
		}
		var seen []protoPort
		for i := range s.Spec.Ports {
			sp := &s.Spec.Ports[i]
			if sp.NodePort == 0 && !shouldAllocateNodePorts(s) {
				continue
			}
			if np := int(sp.NodePort); np != 0 {
				if !slices.Contains(oldPorts, np) && !reserved[np] {
					if _, err := a.allocatePort(np); err != nil {
						return field.ErrorList{field.Invalid(specPath.Child("ports").Index(i).Child("nodePort"), sp.NodePort, err.Error())}
					}
					t.newPorts = append(t.newPorts, np)
					reserved[np] = true
				}
			} else {
				got, err := a.allocatePort(0)
				if err != nil {
					return internalError("failed to allocate a nodePort: %v", err)
				}
				t.newPorts = append(t.newPorts, got)
				sp.NodePort = int32(got)
			}
			pp := protoPort{sp.Protocol, sp.NodePort}
			if slices.Contains(seen, pp) {
				return plainError("duplicate nodePort: {%s %d}", pp.proto, pp.port)
			}
			seen = append(seen, pp)
		}
		keep := nodePortsOf(s)
		for _, p := range oldPorts {
			if !slices.Contains(keep, p) {
				t.oldPorts = append(t.oldPorts, p)
			}
		}
	}

	// Health-check node port (updateHealthCheckNodePort).
	switch {
	case !needsHealthCheck(old) && needsHealthCheck(s):
		if errs := a.allocHealthCheckNodePort(t, s); len(errs) > 0 {
			return errs
		}
	case needsHealthCheck(old) && !needsHealthCheck(s):
		t.oldPorts = append(t.oldPorts, int(old.Spec.HealthCheckNodePort))
	}

	apiserver.DropServiceTypeDependentFields(s, old)
	return nil
}
