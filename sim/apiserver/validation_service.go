package apiserver

import (
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

var (
	supportedServiceTypes     = []string{string(v1.ServiceTypeClusterIP), string(v1.ServiceTypeExternalName), string(v1.ServiceTypeLoadBalancer), string(v1.ServiceTypeNodePort)}
	supportedSessionAffinity  = []string{string(v1.ServiceAffinityClientIP), string(v1.ServiceAffinityNone)}
	supportedExternalPolicies = []string{string(v1.ServiceExternalTrafficPolicyCluster), string(v1.ServiceExternalTrafficPolicyLocal)}
	supportedInternalPolicies = []string{string(v1.ServiceInternalTrafficPolicyCluster), string(v1.ServiceInternalTrafficPolicyLocal)}
	supportedIPFamilies       = []string{string(v1.IPv4Protocol), string(v1.IPv6Protocol)}
	supportedIPFamilyPolicies = []string{string(v1.IPFamilyPolicyPreferDualStack), string(v1.IPFamilyPolicyRequireDualStack), string(v1.IPFamilyPolicySingleStack)}
)

// coreServicePort is pkg/apis/core.ServicePort: upstream reports a
// duplicate port with the internal type, which has no json tags.
type coreServicePort struct {
	Name        string
	Protocol    v1.Protocol
	AppProtocol *string
	Port        int32
	TargetPort  intstr.IntOrString
	NodePort    int32
}

// validateService is ValidateService, in its order, for the fields
// kubesim models. It sees the object the allocator (netsim/alloc) filled
// in, as upstream's strategy validates after the storage's allocation.
func validateService(s *v1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	headless := isHeadlessService(s)
	if len(s.Spec.Ports) == 0 && !headless && s.Spec.Type != v1.ServiceTypeExternalName {
		errs = append(errs, field.Required(spec.Child("ports"), ""))
	}
	switch s.Spec.Type {
	case v1.ServiceTypeLoadBalancer, v1.ServiceTypeNodePort:
		if headless {
			errs = append(errs, field.Invalid(spec.Child("clusterIPs").Index(0), v1.ClusterIPNone, fmt.Sprintf("may not be set to 'None' for %s services", s.Spec.Type)))
		}
	case v1.ServiceTypeExternalName:
		// prepareForCreate/Update made clusterIPs follow clusterIP.
		if len(s.Spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(spec.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(s.Spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(spec.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if s.Spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(spec.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		// The name (a CNAME) may end in a dot.
		if cname := strings.TrimSuffix(s.Spec.ExternalName, "."); cname != "" {
			errs = append(errs, dnsSubdomainErrs(cname, func() *field.Path { return spec.Child("externalName") })...)
		} else {
			errs = append(errs, field.Required(spec.Child("externalName"), ""))
		}
	}
	var names []string
	for i := range s.Spec.Ports {
		errs = append(errs, validateServicePort(&s.Spec.Ports[i], len(s.Spec.Ports) > 1, &names, spec.Child("ports").Index(i))...)
	}
	if s.Spec.Selector != nil {
		errs = append(errs, validateLabels(s.Spec.Selector, spec.Child("selector"))...)
	}
	switch s.Spec.SessionAffinity {
	case v1.ServiceAffinityNone:
		if s.Spec.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(spec.Child("sessionAffinityConfig"), fmt.Sprintf("must not be set when session affinity is %s", v1.ServiceAffinityNone)))
		}
	case v1.ServiceAffinityClientIP:
		errs = append(errs, validateClientIPAffinityConfig(s.Spec.SessionAffinityConfig, spec.Child("sessionAffinityConfig"))...)
	case "":
		errs = append(errs, field.Required(spec.Child("sessionAffinity"), ""))
	default:
		errs = append(errs, field.NotSupported(spec.Child("sessionAffinity"), s.Spec.SessionAffinity, supportedSessionAffinity))
	}
	errs = append(errs, ValidateServiceClusterIPsRelatedFields(s)...)
	if s.Spec.Type == "" {
		errs = append(errs, field.Required(spec.Child("type"), ""))
	} else if !slices.Contains(supportedServiceTypes, string(s.Spec.Type)) {
		errs = append(errs, field.NotSupported(spec.Child("type"), s.Spec.Type, supportedServiceTypes))
	}
	if s.Spec.Type == v1.ServiceTypeClusterIP {
		for i := range s.Spec.Ports {
			if s.Spec.Ports[i].NodePort != 0 {
				errs = append(errs, field.Forbidden(spec.Child("ports").Index(i).Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
		}
	}
	// Each (protocol, node port) and each (protocol, port) once.
	for i, sp := range s.Spec.Ports {
		if sp.NodePort == 0 {
			continue
		}
		for _, prev := range s.Spec.Ports[:i] {
			if prev.NodePort == sp.NodePort && prev.Protocol == sp.Protocol {
				errs = append(errs, field.Duplicate(spec.Child("ports").Index(i).Child("nodePort"), sp.NodePort))
				break
			}
		}
	}
	for i, sp := range s.Spec.Ports {
		for _, prev := range s.Spec.Ports[:i] {
			if prev.Port == sp.Port && prev.Protocol == sp.Protocol {
				errs = append(errs, field.Duplicate(spec.Child("ports").Index(i), coreServicePort{Protocol: sp.Protocol, Port: sp.Port}))
				break
			}
		}
	}
	if s.Spec.AllocateLoadBalancerNodePorts != nil && s.Spec.Type != v1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(spec.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if s.Spec.Type == v1.ServiceTypeLoadBalancer && s.Spec.AllocateLoadBalancerNodePorts == nil {
		errs = append(errs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), ""))
	}
	// validateServiceExternalTrafficPolicy.
	external := externallyAccessible(s)
	switch {
	case !external && s.Spec.ExternalTrafficPolicy != "":
		errs = append(errs, field.Invalid(spec.Child("externalTrafficPolicy"), s.Spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
	case external && s.Spec.ExternalTrafficPolicy == "":
		errs = append(errs, field.Required(spec.Child("externalTrafficPolicy"), ""))
	case external && !slices.Contains(supportedExternalPolicies, string(s.Spec.ExternalTrafficPolicy)):
		errs = append(errs, field.NotSupported(spec.Child("externalTrafficPolicy"), s.Spec.ExternalTrafficPolicy, supportedExternalPolicies))
	}
	// The health-check node port (the allocator's when needed).
	hc := spec.Child("healthCheckNodePort")
	switch {
	case !ServiceNeedsHealthCheck(s) && s.Spec.HealthCheckNodePort != 0:
		errs = append(errs, field.Invalid(hc, s.Spec.HealthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
	case ServiceNeedsHealthCheck(s) && s.Spec.HealthCheckNodePort == 0:
		errs = append(errs, field.Required(hc, ""))
	case ServiceNeedsHealthCheck(s):
		for _, msg := range validation.IsValidPortNum(int(s.Spec.HealthCheckNodePort)) {
			errs = append(errs, field.Invalid(hc, s.Spec.HealthCheckNodePort, msg))
		}
	}
	if p := s.Spec.InternalTrafficPolicy; p != nil && !slices.Contains(supportedInternalPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(spec.Child("internalTrafficPolicy"), *p, supportedInternalPolicies))
	}
	return errs
}

// validateServicePort is upstream's validateServicePort.
func validateServicePort(sp *v1.ServicePort, requireName bool, names *[]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && sp.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else if sp.Name != "" {
		errs = append(errs, dnsLabelErrs(sp.Name, func() *field.Path { return p.Child("name") })...)
		if slices.Contains(*names, sp.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), sp.Name))
		} else {
			*names = append(*names, sp.Name)
		}
	}
	for _, msg := range validation.IsValidPortNum(int(sp.Port)) {
		errs = append(errs, field.Invalid(p.Child("port"), sp.Port, msg))
	}
	if sp.Protocol == "" {
		errs = append(errs, field.Required(p.Child("protocol"), ""))
	} else if !slices.Contains(supportedProtocols, string(sp.Protocol)) {
		errs = append(errs, field.NotSupported(p.Child("protocol"), sp.Protocol, supportedProtocols))
	}
	errs = append(errs, validatePortNumOrName(sp.TargetPort, func() *field.Path { return p.Child("targetPort") })...)
	if sp.AppProtocol != nil {
		for _, msg := range validation.IsQualifiedName(*sp.AppProtocol) {
			errs = append(errs, field.Invalid(p.Child("appProtocol"), *sp.AppProtocol, msg))
		}
	}
	return errs
}

// maxClientIPServiceAffinitySeconds is the longest ClientIP affinity timeout (one day).
const maxClientIPServiceAffinitySeconds = 86400

// validateClientIPAffinityConfig is upstream's.
func validateClientIPAffinityConfig(c *v1.SessionAffinityConfig, path *field.Path) field.ErrorList {
	detail := fmt.Sprintf("when session affinity type is %s", v1.ServiceAffinityClientIP)
	switch {
	case c == nil:
		return field.ErrorList{field.Required(path, detail)}
	case c.ClientIP == nil:
		return field.ErrorList{field.Required(path.Child("clientIP"), detail)}
	case c.ClientIP.TimeoutSeconds == nil:
		return field.ErrorList{field.Required(path.Child("clientIP", "timeoutSeconds"), detail)}
	}
	if t := c.ClientIP.TimeoutSeconds; *t <= 0 || *t > maxClientIPServiceAffinitySeconds {
		return field.ErrorList{field.Invalid(path.Child("clientIP", "timeoutSeconds"), t,
			fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPServiceAffinitySeconds))}
	}
	return nil
}

// ServiceNeedsHealthCheck is upstream's apiservice.NeedsHealthCheck: a
// LoadBalancer Service with externalTrafficPolicy Local has a
// health-check node port.
func ServiceNeedsHealthCheck(s *v1.Service) bool {
	return s.Spec.Type == v1.ServiceTypeLoadBalancer && s.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal
}

// isHeadlessService is upstream's: clusterIPs is exactly ["None"].
func isHeadlessService(s *v1.Service) bool {
	return len(s.Spec.ClusterIPs) == 1 && s.Spec.ClusterIPs[0] == v1.ClusterIPNone
}

// ValidateServiceClusterIPsRelatedFields is upstream's (pkg/apis/core/
// validation): clusterIP and clusterIPs agree, the IPs, families and
// family policy are well-formed and match one another. ValidateService
// runs it; the allocator also runs it first, as upstream's
// initIPFamilyFields does before allocating, and then reports its errors
// alone.
func ValidateServiceClusterIPsRelatedFields(s *v1.Service) field.ErrorList {
	// ExternalName Services may set none of these (ValidateService).
	if s.Spec.Type == v1.ServiceTypeExternalName {
		return nil
	}
	var errs field.ErrorList
	spec := field.NewPath("spec")
	ipsPath, famPath, policyPath := spec.Child("clusterIPs"), spec.Child("ipFamilies"), spec.Child("ipFamilyPolicy")
	if s.Spec.ClusterIP != "" {
		if len(s.Spec.ClusterIPs) == 0 {
			errs = append(errs, field.Required(ipsPath, ""))
		} else if s.Spec.ClusterIPs[0] != s.Spec.ClusterIP {
			errs = append(errs, field.Invalid(ipsPath, s.Spec.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(s.Spec.ClusterIPs) != 0 {
		errs = append(errs, field.Invalid(ipsPath, s.Spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	for i, f := range s.Spec.IPFamilies {
		if !slices.Contains(supportedIPFamilies, string(f)) {
			errs = append(errs, field.NotSupported(famPath.Index(i), f, supportedIPFamilies))
		}
		if slices.Contains(s.Spec.IPFamilies[:i], f) {
			errs = append(errs, field.Duplicate(famPath.Index(i), f))
		}
	}
	if p := s.Spec.IPFamilyPolicy; p != nil && !slices.Contains(supportedIPFamilyPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(policyPath, p, supportedIPFamilyPolicies))
	}
	invalidIPs := false
	for i, ip := range s.Spec.ClusterIPs {
		if i == 0 && ip == v1.ClusterIPNone {
			if len(s.Spec.ClusterIPs) > 1 {
				invalidIPs = true
				errs = append(errs, field.Invalid(ipsPath, s.Spec.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		// Legacy IP parsing: StrictIPCIDRValidation is off by default.
		ipErrs := validation.IsValidIPForLegacyField(ipsPath.Index(i), ip, false, nil)
		invalidIPs = invalidIPs || len(ipErrs) > 0
		errs = append(errs, ipErrs...)
	}
	if len(s.Spec.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(ipsPath, s.Spec.ClusterIPs, "may only hold up to 2 values"))
	}
	// Bad IPs would skew the checks below.
	if invalidIPs {
		return errs
	}
	if len(s.Spec.ClusterIPs) > 1 {
		if dual, err := netutils.IsDualStackIPStrings(s.Spec.ClusterIPs); err != nil {
			errs = append(errs, field.InternalError(ipsPath, fmt.Errorf("failed to check for dual stack with error:%v", err)))
		} else if !dual {
			errs = append(errs, field.Invalid(ipsPath, s.Spec.ClusterIPs, "may specify no more than one IP for each IP family"))
		}
	}
	if !isHeadlessService(s) && len(s.Spec.ClusterIPs) > 0 && len(s.Spec.IPFamilies) > 0 {
		for i, ip := range s.Spec.ClusterIPs {
			if i > len(s.Spec.IPFamilies)-1 {
				break
			}
			if s.Spec.IPFamilies[i] == v1.IPv4Protocol && netutils.IsIPv6String(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			}
			if s.Spec.IPFamilies[i] == v1.IPv6Protocol && !netutils.IsIPv6String(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return errs
}

// validateServiceUpdate is ValidateServiceUpdate: the cluster IPs and
// families may not change (validateUpgradeDowngradeClusterIPs and
// ...IPFamilies: on kubesim's single-stack cluster no upgrade or downgrade
// gets this far), nor the health-check node port
// (validateServiceExternalTrafficFieldsUpdate); then the new object is
// validated.
func validateServiceUpdate(s, old *v1.Service) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateUpgradeDowngradeClusterIPs(old, s)...)
	errs = append(errs, validateUpgradeDowngradeIPFamilies(old, s)...)
	if ServiceNeedsHealthCheck(old) && ServiceNeedsHealthCheck(s) && s.Spec.HealthCheckNodePort != old.Spec.HealthCheckNodePort {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "healthCheckNodePort"), "field is immutable"))
	}
	return append(errs, validateService(s)...)
}

// validateUpgradeDowngradeClusterIPs is upstream's.
func validateUpgradeDowngradeClusterIPs(old, s *v1.Service) field.ErrorList {
	if s.Spec.Type == v1.ServiceTypeExternalName || old.Spec.Type == v1.ServiceTypeExternalName {
		return nil
	}
	if isHeadlessService(old) && isHeadlessService(s) {
		return nil
	}
	var errs field.ErrorList
	ips := field.NewPath("spec", "clusterIPs")
	policy := field.NewPath("spec", "ipFamilyPolicy")
	oldIPs, newIPs := old.Spec.ClusterIPs, s.Spec.ClusterIPs
	switch {
	case len(oldIPs) == len(newIPs):
		for i, ip := range oldIPs {
			if ip != newIPs[i] {
				errs = append(errs, field.Invalid(ips.Index(i), newIPs, "may not change once set"))
			}
		}
	case len(oldIPs) > len(newIPs):
		if len(newIPs) == 0 {
			errs = append(errs, field.Invalid(ips.Index(0), newIPs, "primary clusterIP can not be unset"))
		}
		if len(oldIPs) > 0 && len(newIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(ips.Index(0), newIPs, "may not change once set"))
		}
		if len(newIPs) == 1 && (s.Spec.IPFamilyPolicy == nil || *s.Spec.IPFamilyPolicy != v1.IPFamilyPolicySingleStack) {
			errs = append(errs, field.Invalid(policy, s.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	default:
		if len(oldIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(ips.Index(0), newIPs, "may not change once set"))
		}
	}
	return errs
}

// validateUpgradeDowngradeIPFamilies is upstream's (its quirks kept: a
// downgrade checks clusterIPs for an unset primary family and reports a
// changed primary family with the clusterIPs).
func validateUpgradeDowngradeIPFamilies(old, s *v1.Service) field.ErrorList {
	if s.Spec.Type == v1.ServiceTypeExternalName || old.Spec.Type == v1.ServiceTypeExternalName {
		return nil
	}
	if isHeadlessService(old) != isHeadlessService(s) || isHeadlessService(s) {
		return nil
	}
	var errs field.ErrorList
	fams := field.NewPath("spec", "ipFamilies")
	oldF, newF := old.Spec.IPFamilies, s.Spec.IPFamilies
	switch {
	case len(oldF) == len(newF):
		for i, f := range oldF {
			if f != newF[i] {
				errs = append(errs, field.Invalid(fams.Index(0), newF, "may not change once set"))
			}
		}
	case len(oldF) > len(newF):
		if len(s.Spec.ClusterIPs) == 0 {
			errs = append(errs, field.Invalid(fams.Index(0), newF, "primary ipFamily can not be unset"))
		}
		if len(newF) > 0 && newF[0] != oldF[0] {
			errs = append(errs, field.Invalid(fams.Index(0), s.Spec.ClusterIPs, "may not change once set"))
		}
		if len(newF) == 1 && (s.Spec.IPFamilyPolicy == nil || *s.Spec.IPFamilyPolicy != v1.IPFamilyPolicySingleStack) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), s.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary ipFamily"))
		}
	default:
		if len(oldF) > 0 && len(newF) > 0 && newF[0] != oldF[0] {
			errs = append(errs, field.Invalid(fams.Index(0), s.Spec.ClusterIPs, "may not change once set"))
		}
	}
	return errs
}
