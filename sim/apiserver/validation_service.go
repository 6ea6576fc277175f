package apiserver

import (
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	supportedServiceTypes     = []string{string(v1.ServiceTypeClusterIP), string(v1.ServiceTypeExternalName), string(v1.ServiceTypeLoadBalancer), string(v1.ServiceTypeNodePort)}
	supportedSessionAffinity  = []string{string(v1.ServiceAffinityClientIP), string(v1.ServiceAffinityNone)}
	supportedExternalPolicies = []string{string(v1.ServiceExternalTrafficPolicyCluster), string(v1.ServiceExternalTrafficPolicyLocal)}
	supportedInternalPolicies = []string{string(v1.ServiceInternalTrafficPolicyCluster), string(v1.ServiceInternalTrafficPolicyLocal)}
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
// kubesim models (the cluster IPs are the allocator's, netsim/alloc).
func validateService(s *v1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	headless := s.Spec.ClusterIP == v1.ClusterIPNone
	if len(s.Spec.Ports) == 0 && !headless && s.Spec.Type != v1.ServiceTypeExternalName {
		errs = append(errs, field.Required(spec.Child("ports"), ""))
	}
	switch s.Spec.Type {
	case v1.ServiceTypeLoadBalancer, v1.ServiceTypeNodePort:
		if headless {
			errs = append(errs, field.Invalid(spec.Child("clusterIPs").Index(0), v1.ClusterIPNone, fmt.Sprintf("may not be set to 'None' for %s services", s.Spec.Type)))
		}
	case v1.ServiceTypeExternalName:
		if s.Spec.ClusterIP != "" || len(s.Spec.ClusterIPs) > 0 {
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
	// validateServiceExternalTrafficPolicy: externally accessible means
	// NodePort or LoadBalancer (or ClusterIP with external IPs).
	external := s.Spec.Type == v1.ServiceTypeNodePort || s.Spec.Type == v1.ServiceTypeLoadBalancer ||
		s.Spec.Type == v1.ServiceTypeClusterIP && len(s.Spec.ExternalIPs) > 0
	switch {
	case !external && s.Spec.ExternalTrafficPolicy != "":
		errs = append(errs, field.Invalid(spec.Child("externalTrafficPolicy"), s.Spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
	case external && s.Spec.ExternalTrafficPolicy == "":
		errs = append(errs, field.Required(spec.Child("externalTrafficPolicy"), ""))
	case external && !slices.Contains(supportedExternalPolicies, string(s.Spec.ExternalTrafficPolicy)):
		errs = append(errs, field.NotSupported(spec.Child("externalTrafficPolicy"), s.Spec.ExternalTrafficPolicy, supportedExternalPolicies))
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

// validateServiceUpdate is ValidateServiceUpdate: a set cluster IP may not
// change (validateUpgradeDowngradeClusterIPs, for single-stack services),
// then the new object is validated.
func validateServiceUpdate(s, old *v1.Service) field.ErrorList {
	var errs field.ErrorList
	if old.Spec.ClusterIP != "" && s.Spec.ClusterIP != "" && s.Spec.ClusterIP != old.Spec.ClusterIP &&
		old.Spec.Type != v1.ServiceTypeExternalName && s.Spec.Type != v1.ServiceTypeExternalName {
		errs = append(errs, field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), s.Spec.ClusterIPs, "may not change once set"))
	}
	return append(errs, validateService(s)...)
}
