package apiserver

import (
	"fmt"
	"math"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validatePod is ValidatePodCreate less the object metadata (validated for
// every resource): the spec, then what is checked only for a pod and never
// for a template (validateContainersOnlyForPod), then the create-only
// checks.
func validatePod(p *v1.Pod) field.ErrorList {
	errs := validatePodSpec(&p.Spec, specPath, true)
	errs = append(errs, validateImageWhitespace(p.Spec.Containers, "containers")...)
	errs = append(errs, validateImageWhitespace(p.Spec.InitContainers, "initContainers")...)
	if p.Spec.NodeName != "" && len(p.Spec.SchedulingGates) != 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return errs
}

// validateImageWhitespace is validateContainerOnlyForPod.
func validateImageWhitespace(cs []v1.Container, list string) field.ErrorList {
	var errs field.ErrorList
	for i := range cs {
		if img := cs[i].Image; len(img) != len(strings.TrimSpace(img)) {
			errs = append(errs, field.Invalid(field.NewPath("spec", list).Index(i).Child("image"), img, "must not have leading or trailing whitespace"))
		}
	}
	return errs
}

// pathFunc is a field path built only if an error names it: a pod's spec
// is validated on every create and rarely has anything wrong, and each
// built path element is an allocation. (Func literals a validator only
// calls live on the stack.)
type pathFunc func() *field.Path

func specPath() *field.Path { return field.NewPath("spec") }

// The supported values in the order upstream lists them in its messages.
var (
	supportedRestartPolicies = []string{string(v1.RestartPolicyAlways), string(v1.RestartPolicyOnFailure), string(v1.RestartPolicyNever)}
	supportedDNSPolicies     = []string{string(v1.DNSClusterFirstWithHostNet), string(v1.DNSClusterFirst), string(v1.DNSDefault), string(v1.DNSNone)}
	supportedPullPolicies    = []string{string(v1.PullAlways), string(v1.PullIfNotPresent), string(v1.PullNever)}
	supportedMessagePolicies = []string{string(v1.TerminationMessageReadFile), string(v1.TerminationMessageFallbackToLogsOnError)}
	supportedPreemption      = []string{string(v1.PreemptLowerPriority), string(v1.PreemptNever)}
)

// validatePodSpec is ValidatePodSpec, in its order, for the fields kubesim
// models. isPod is opts.ResourceIsPod: the spec is a pod's, not a
// template's.
func validatePodSpec(s *v1.PodSpec, path pathFunc, isPod bool) field.ErrorList {
	var errs field.ErrorList
	if s.TerminationGracePeriodSeconds == nil {
		errs = append(errs, field.Required(path().Child("terminationGracePeriodSeconds"), ""))
	}
	errs = append(errs, validateContainers(s.Containers, s.TerminationGracePeriodSeconds, path)...)
	if len(s.InitContainers) > 0 {
		errs = append(errs, validateInitContainers(s.InitContainers, s.Containers, s.TerminationGracePeriodSeconds, path)...)
	}
	if s.HostNetwork {
		errs = append(errs, validateHostNetworkPorts(s.Containers, path, isPod)...)
	}
	switch s.RestartPolicy {
	case v1.RestartPolicyAlways, v1.RestartPolicyOnFailure, v1.RestartPolicyNever:
	case "":
		errs = append(errs, field.Required(path().Child("restartPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(path().Child("restartPolicy"), s.RestartPolicy, supportedRestartPolicies))
	}
	switch s.DNSPolicy {
	case v1.DNSClusterFirstWithHostNet, v1.DNSClusterFirst, v1.DNSDefault, v1.DNSNone:
	case "":
		errs = append(errs, field.Required(path().Child("dnsPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(path().Child("dnsPolicy"), s.DNSPolicy, supportedDNSPolicies))
	}
	if len(s.NodeSelector) > 0 {
		errs = append(errs, validateLabels(s.NodeSelector, path().Child("nodeSelector"))...)
	}
	if s.Affinity != nil {
		errs = append(errs, validateAffinity(s.Affinity, path().Child("affinity"))...)
	}
	if len(s.TopologySpreadConstraints) > 0 {
		errs = append(errs, validateTopologySpread(s.TopologySpreadConstraints, path().Child("topologySpreadConstraints"))...)
	}
	if s.ServiceAccountName != "" {
		errs = append(errs, dnsSubdomainErrs(s.ServiceAccountName, func() *field.Path { return path().Child("serviceAccountName") })...)
	}
	if s.NodeName != "" {
		errs = append(errs, dnsSubdomainErrs(s.NodeName, func() *field.Path { return path().Child("nodeName") })...)
	}
	if d := s.ActiveDeadlineSeconds; d != nil && (*d < 1 || *d > math.MaxInt32) {
		errs = append(errs, field.Invalid(path().Child("activeDeadlineSeconds"), *d, validation.InclusiveRangeError(1, math.MaxInt32)))
	}
	if s.Hostname != "" {
		errs = append(errs, dnsLabelErrs(s.Hostname, func() *field.Path { return path().Child("hostname") })...)
	}
	if s.Subdomain != "" {
		errs = append(errs, dnsLabelErrs(s.Subdomain, func() *field.Path { return path().Child("subdomain") })...)
	}
	if len(s.Tolerations) > 0 {
		errs = append(errs, validateTolerations(s.Tolerations, func() *field.Path { return path().Child("tolerations") })...)
	}
	if s.PriorityClassName != "" {
		errs = append(errs, dnsSubdomainErrs(s.PriorityClassName, func() *field.Path { return path().Child("priorityClassName") })...)
	}
	if p := s.PreemptionPolicy; p != nil && *p != v1.PreemptLowerPriority && *p != v1.PreemptNever {
		if *p == "" {
			errs = append(errs, field.Required(path().Child("preemptionPolicy"), ""))
		} else {
			errs = append(errs, field.NotSupported(path().Child("preemptionPolicy"), p, supportedPreemption))
		}
	}
	return errs
}

// dnsSubdomainErrs is the Invalid errors of NameIsDNSSubdomain, with a
// fast path for the common valid name.
func dnsSubdomainErrs(s string, path pathFunc) field.ErrorList {
	if isDNS1123Subdomain(s) {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(s) {
		errs = append(errs, field.Invalid(path(), s, msg))
	}
	return errs
}

// dnsLabelErrs is ValidateDNS1123Label, with a fast path for the common
// valid name.
func dnsLabelErrs(s string, path pathFunc) field.ErrorList {
	if isDNS1123Label(s) {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(s) {
		errs = append(errs, field.Invalid(path(), s, msg))
	}
	return errs
}

// validateContainers is upstream's validateContainers: each container's
// common checks, then its name's uniqueness, lifecycle and probes; host
// port conflicts across all of them last.
func validateContainers(cs []v1.Container, grace *int64, spec pathFunc) field.ErrorList {
	if len(cs) == 0 {
		return field.ErrorList{field.Required(spec().Child("containers"), "")}
	}
	var errs field.ErrorList
	var buf [8]string
	names := buf[:0]
	hostPorts := false
	for i := range cs {
		c := &cs[i]
		p := func() *field.Path { return spec().Child("containers").Index(i) }
		errs = append(errs, validateContainerCommon(c, p)...)
		if slices.Contains(names, c.Name) {
			errs = append(errs, field.Duplicate(p().Child("name"), c.Name))
		} else {
			names = append(names, c.Name)
		}
		if c.Lifecycle != nil {
			errs = append(errs, validateLifecycle(c.Lifecycle, grace, func() *field.Path { return p().Child("lifecycle") })...)
		}
		errs = append(errs, validateProbes(c, p, grace)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(p().Child("restartPolicy"), "may not be set for non-init containers"))
		}
		for j := range c.Ports {
			hostPorts = hostPorts || c.Ports[j].HostPort != 0
		}
	}
	if hostPorts {
		errs = append(errs, hostPortConflicts(cs, spec().Child("containers"))...)
	}
	return errs
}

// validateInitContainers is upstream's validateInitContainers: a name must
// differ from every regular container's and earlier init container's; only
// a restartable (sidecar) init container may have a lifecycle and probes.
func validateInitContainers(ics, cs []v1.Container, grace *int64, spec pathFunc) field.ErrorList {
	var errs field.ErrorList
	names := make([]string, 0, len(cs)+len(ics))
	for i := range cs {
		names = append(names, cs[i].Name)
	}
	for i := range ics {
		c := &ics[i]
		p := func() *field.Path { return spec().Child("initContainers").Index(i) }
		errs = append(errs, validateContainerCommon(c, p)...)
		restartAlways := false
		if c.RestartPolicy != nil {
			if *c.RestartPolicy != v1.ContainerRestartPolicyAlways {
				errs = append(errs, field.NotSupported(p().Child("restartPolicy"), *c.RestartPolicy, []string{string(v1.ContainerRestartPolicyAlways)}))
			}
			restartAlways = *c.RestartPolicy == v1.ContainerRestartPolicyAlways
		}
		if slices.Contains(names, c.Name) {
			errs = append(errs, field.Duplicate(p().Child("name"), c.Name))
		} else if c.Name != "" {
			names = append(names, c.Name)
		}
		// Upstream checks each init container alone, under index 0
		// (checkHostPortConflicts([]core.Container{ctr}, fldPath)).
		errs = append(errs, hostPortConflicts(ics[i:i+1], spec().Child("initContainers"))...)
		if restartAlways {
			if c.Lifecycle != nil {
				errs = append(errs, validateLifecycle(c.Lifecycle, grace, func() *field.Path { return p().Child("lifecycle") })...)
			}
			errs = append(errs, validateProbes(c, p, grace)...)
			continue
		}
		const initForbidden = "may not be set for init containers without restartPolicy=Always"
		if c.Lifecycle != nil {
			errs = append(errs, field.Forbidden(p().Child("lifecycle"), initForbidden))
		}
		if c.LivenessProbe != nil {
			errs = append(errs, field.Forbidden(p().Child("livenessProbe"), initForbidden))
		}
		if c.ReadinessProbe != nil {
			errs = append(errs, field.Forbidden(p().Child("readinessProbe"), initForbidden))
		}
		if c.StartupProbe != nil {
			errs = append(errs, field.Forbidden(p().Child("startupProbe"), initForbidden))
		}
	}
	return errs
}

// validateContainerCommon is upstream's validateContainerCommon for the
// fields kubesim models: name, image, termination message policy, ports,
// pull policy, resources.
func validateContainerCommon(c *v1.Container, p pathFunc) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(p().Child("name"), ""))
	} else {
		errs = append(errs, dnsLabelErrs(c.Name, func() *field.Path { return p().Child("name") })...)
	}
	if len(c.Image) == 0 {
		errs = append(errs, field.Required(p().Child("image"), ""))
	}
	switch c.TerminationMessagePolicy {
	case v1.TerminationMessageReadFile, v1.TerminationMessageFallbackToLogsOnError:
	case "":
		errs = append(errs, field.Required(p().Child("terminationMessagePolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p().Child("terminationMessagePolicy"), c.TerminationMessagePolicy, supportedMessagePolicies))
	}
	if len(c.Ports) > 0 {
		errs = append(errs, validatePorts(c.Ports, func() *field.Path { return p().Child("ports") })...)
	}
	switch c.ImagePullPolicy {
	case v1.PullAlways, v1.PullIfNotPresent, v1.PullNever:
	case "":
		errs = append(errs, field.Required(p().Child("imagePullPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p().Child("imagePullPolicy"), c.ImagePullPolicy, supportedPullPolicies))
	}
	if len(c.Resources.Limits) > 0 || len(c.Resources.Requests) > 0 {
		errs = append(errs, validateResources(&c.Resources, func() *field.Path { return p().Child("resources") })...)
	}
	return errs
}

// hostPortConflicts is AccumulateUniqueHostPorts: a protocol, host IP and
// host port may be used once.
func hostPortConflicts(cs []v1.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	var seen []string
	for ci := range cs {
		for pi, port := range cs[ci].Ports {
			if port.HostPort == 0 {
				continue
			}
			s := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIP, port.HostPort)
			if slices.Contains(seen, s) {
				errs = append(errs, field.Duplicate(path.Index(ci).Child("ports").Index(pi).Child("hostPort"), s))
			} else {
				seen = append(seen, s)
			}
		}
	}
	return errs
}

// validateHostNetworkPorts is validatePodHostNetworkDeps: with hostNetwork
// a host port is its container port (a template may leave it 0, defaulted
// in the pod).
func validateHostNetworkPorts(cs []v1.Container, spec pathFunc, isPod bool) field.ErrorList {
	var errs field.ErrorList
	for i := range cs {
		for j, port := range cs[i].Ports {
			if hp, cp := port.HostPort, port.ContainerPort; (isPod || hp != 0) && hp != cp {
				errs = append(errs, field.Invalid(spec().Child("containers").Index(i).Child("ports").Index(j).Child("hostPort"),
					port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

var supportedProtocols = []string{string(v1.ProtocolSCTP), string(v1.ProtocolTCP), string(v1.ProtocolUDP)}

// validatePorts is validateContainerPorts: an invalid name is not also
// checked for uniqueness.
func validatePorts(ports []v1.ContainerPort, path pathFunc) field.ErrorList {
	var errs field.ErrorList
	var buf [4]string
	names := buf[:0]
	for i, port := range ports {
		p := func() *field.Path { return path().Index(i) }
		if port.Name != "" {
			if msgs := portNameErrs(port.Name); len(msgs) > 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(p().Child("name"), port.Name, msg))
				}
			} else if slices.Contains(names, port.Name) {
				errs = append(errs, field.Duplicate(p().Child("name"), port.Name))
			} else {
				names = append(names, port.Name)
			}
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(p().Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, field.Invalid(p().Child("containerPort"), port.ContainerPort, msg))
			}
		}
		if port.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(port.HostPort)) {
				errs = append(errs, field.Invalid(p().Child("hostPort"), port.HostPort, msg))
			}
		}
		if port.Protocol == "" {
			errs = append(errs, field.Required(p().Child("protocol"), ""))
		} else if !slices.Contains(supportedProtocols, string(port.Protocol)) {
			errs = append(errs, field.NotSupported(p().Child("protocol"), port.Protocol, supportedProtocols))
		}
	}
	return errs
}

// validatePortNumOrName is ValidatePortNumOrName.
func validatePortNumOrName(port intstr.IntOrString, path pathFunc) field.ErrorList {
	var errs field.ErrorList
	if port.Type == intstr.Int {
		for _, msg := range validation.IsValidPortNum(port.IntValue()) {
			errs = append(errs, field.Invalid(path(), port.IntValue(), msg))
		}
	} else {
		for _, msg := range portNameErrs(port.StrVal) {
			errs = append(errs, field.Invalid(path(), port.StrVal, msg))
		}
	}
	return errs
}

// portNameErrs is validation.IsValidPortName with a fast path for the
// common valid name.
func portNameErrs(name string) []string {
	if isValidPortName(name) {
		return nil
	}
	return validation.IsValidPortName(name)
}

// isValidPortName reports exactly what validation.IsValidPortName accepts
// (an IANA_SVC_NAME): at most 15 characters of a-z, 0-9 and '-', at least
// one letter, no "--", no '-' at either end.
func isValidPortName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9' || c == '-':
		default:
			return false
		}
	}
	return letter
}

// validateResourceList checks a node's capacity or allocatable: names and
// quantities.
func validateResourceList(rl v1.ResourceList, path pathFunc) field.ErrorList {
	var errs field.ErrorList
	var buf [8]v1.ResourceName
	for _, name := range sortedResourceNames(rl, buf[:0]) {
		q := rl[name]
		for _, msg := range qualifiedNameErrs(string(name)) {
			errs = append(errs, field.Invalid(path().Key(string(name)), name, msg))
		}
		errs = append(errs, validateQuantity(name, q, func() *field.Path { return path().Key(string(name)) })...)
	}
	return errs
}

// validateQuantity is ValidateResourceQuantityValue: not negative, and a
// whole number for the resources counted in units.
func validateQuantity(name v1.ResourceName, q resource.Quantity, path pathFunc) field.ErrorList {
	var errs field.ErrorList
	if q.Sign() < 0 {
		errs = append(errs, field.Invalid(path(), q.String(), "must be greater than or equal to 0"))
	}
	if isIntegerResource(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(path(), q, "must be an integer"))
	}
	return errs
}

// isIntegerResource is upstream's helper.IsIntegerResourceName.
func isIntegerResource(name v1.ResourceName) bool {
	switch name {
	case v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage:
		return false
	case v1.ResourcePods, v1.ResourceQuotas, v1.ResourceServices, v1.ResourceReplicationControllers, v1.ResourceSecrets,
		v1.ResourceConfigMaps, v1.ResourcePersistentVolumeClaims, v1.ResourceServicesNodePorts, v1.ResourceServicesLoadBalancers:
		return true
	}
	return isExtendedResource(name)
}

// isExtendedResource is upstream's helper.IsExtendedResourceName: a
// domain-qualified name outside kubernetes.io (nvidia.com/gpu), counted in
// whole units and never overcommitted.
func isExtendedResource(name v1.ResourceName) bool {
	s := string(name)
	if !strings.Contains(s, "/") || strings.Contains(s, v1.ResourceDefaultNamespacePrefix) || strings.HasPrefix(s, v1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(v1.DefaultResourceRequestsPrefix+s)) == 0
}

// overcommitAllowed is upstream's helper.IsOvercommitAllowed: a request
// may be below its limit only for native resources other than hugepages.
func overcommitAllowed(name v1.ResourceName) bool {
	s := string(name)
	native := !strings.Contains(s, "/") || strings.Contains(s, v1.ResourceDefaultNamespacePrefix)
	return native && !strings.HasPrefix(s, v1.ResourceHugePagesPrefix)
}

// wellKnownNames are qualified names nearly every pod carries (resource
// names, the keys of the tolerations admission adds): valid, as
// TestWellKnownNamesAreQualified checks, so not split and checked again on
// every write.
var wellKnownNames = []string{string(v1.ResourceCPU), string(v1.ResourceMemory), string(v1.ResourcePods),
	string(v1.ResourceEphemeralStorage), string(v1.ResourceStorage), v1.TaintNodeNotReady, v1.TaintNodeUnreachable}

// qualifiedNameErrs is validation.IsQualifiedName(name).
func qualifiedNameErrs(name string) []string {
	if slices.Contains(wellKnownNames, name) {
		return nil
	}
	return validation.IsQualifiedName(name)
}

// standardResources is upstream's helper standardResources: the names a
// resource may have without a domain.
var standardResources = []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage,
	v1.ResourceRequestsCPU, v1.ResourceRequestsMemory, v1.ResourceRequestsEphemeralStorage, v1.ResourceLimitsCPU,
	v1.ResourceLimitsMemory, v1.ResourceLimitsEphemeralStorage, v1.ResourcePods, v1.ResourceQuotas, v1.ResourceServices,
	v1.ResourceReplicationControllers, v1.ResourceSecrets, v1.ResourceConfigMaps, v1.ResourcePersistentVolumeClaims,
	v1.ResourceStorage, v1.ResourceRequestsStorage, v1.ResourceServicesNodePorts, v1.ResourceServicesLoadBalancers}

// containerResourceNameErrs is validateContainerResourceName: a qualified
// name; without a domain, one of the standard resources and one a
// container may ask for (cpu, memory, ephemeral-storage, hugepages-*);
// with one outside kubernetes.io, an extended resource.
func containerResourceNameErrs(name v1.ResourceName, path pathFunc) field.ErrorList {
	switch name {
	case v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage:
		return nil
	}
	var errs field.ErrorList
	s := string(name)
	for _, msg := range validation.IsQualifiedName(s) {
		errs = append(errs, field.Invalid(path(), name, msg))
	}
	hugePages := strings.HasPrefix(s, v1.ResourceHugePagesPrefix)
	domainless := !strings.Contains(s, "/")
	if len(errs) == 0 && domainless && !slices.Contains(standardResources, name) && !hugePages &&
		!strings.HasPrefix(s, v1.ResourceRequestsHugePagesPrefix) {
		errs = append(errs, field.Invalid(path(), name, "must be a standard resource type or fully qualified"))
	}
	switch {
	case domainless:
		if !hugePages {
			errs = append(errs, field.Invalid(path(), name, "must be a standard resource for containers"))
		}
	case !strings.Contains(s, v1.ResourceDefaultNamespacePrefix) && !isExtendedResource(name):
		errs = append(errs, field.Invalid(path(), name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// sortedResourceNames appends the names in rl to names, sorted (a caller
// passes a small array's slice: the lists are short and validated on
// every write).
func sortedResourceNames(rl v1.ResourceList, names []v1.ResourceName) []v1.ResourceName {
	for n := range rl {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// validateResources is validateResourceRequirements for a container, in
// its order: each limit, then each request and how it compares with its
// limit. Upstream walks the maps; kubesim walks the names sorted. A
// request above its limit is reported on resources.requests, not on the
// resource's key, as upstream does.
func validateResources(r *v1.ResourceRequirements, path pathFunc) field.ErrorList {
	var errs field.ErrorList
	var buf [8]v1.ResourceName
	for _, name := range sortedResourceNames(r.Limits, buf[:0]) {
		p := func() *field.Path { return path().Child("limits").Key(string(name)) }
		errs = append(errs, containerResourceNameErrs(name, p)...)
		errs = append(errs, validateQuantity(name, r.Limits[name], p)...)
	}
	for _, name := range sortedResourceNames(r.Requests, buf[:0]) {
		req := r.Requests[name]
		p := func() *field.Path { return path().Child("requests").Key(string(name)) }
		errs = append(errs, containerResourceNameErrs(name, p)...)
		errs = append(errs, validateQuantity(name, req, p)...)
		lim, ok := r.Limits[name]
		switch {
		case ok && req.Cmp(lim) != 0 && !overcommitAllowed(name):
			errs = append(errs, field.Invalid(path().Child("requests"), req.String(),
				fmt.Sprintf("must be equal to %s limit of %s", name, lim.String())))
		case ok && req.Cmp(lim) > 0:
			errs = append(errs, field.Invalid(path().Child("requests"), req.String(),
				fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
		case !ok && !overcommitAllowed(name):
			errs = append(errs, field.Required(path().Child("limits"), "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

// validateProbes checks a container's three probes as validateLivenessProbe,
// validateReadinessProbe and validateStartupProbe do.
func validateProbes(c *v1.Container, p pathFunc, grace *int64) field.ErrorList {
	var errs field.ErrorList
	if pr := c.LivenessProbe; pr != nil {
		path := func() *field.Path { return p().Child("livenessProbe") }
		errs = append(errs, validateProbe(pr, path, grace)...)
		if pr.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(path().Child("successThreshold"), pr.SuccessThreshold, "must be 1"))
		}
	}
	if pr := c.ReadinessProbe; pr != nil {
		path := func() *field.Path { return p().Child("readinessProbe") }
		errs = append(errs, validateProbe(pr, path, grace)...)
		if pr.TerminationGracePeriodSeconds != nil {
			errs = append(errs, field.Invalid(path().Child("terminationGracePeriodSeconds"), pr.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
		}
	}
	if pr := c.StartupProbe; pr != nil {
		path := func() *field.Path { return p().Child("startupProbe") }
		errs = append(errs, validateProbe(pr, path, grace)...)
		if pr.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(path().Child("successThreshold"), pr.SuccessThreshold, "must be 1"))
		}
	}
	return errs
}

// validateProbe is upstream's validateProbe.
func validateProbe(pr *v1.Probe, path pathFunc, grace *int64) field.ErrorList {
	h := &pr.ProbeHandler
	errs := validateHandler(handler{exec: h.Exec, httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, grpc: h.GRPC}, grace, path)
	for _, f := range [...]struct {
		name string
		v    int32
	}{{"initialDelaySeconds", pr.InitialDelaySeconds}, {"timeoutSeconds", pr.TimeoutSeconds}, {"periodSeconds", pr.PeriodSeconds},
		{"successThreshold", pr.SuccessThreshold}, {"failureThreshold", pr.FailureThreshold}} {
		if f.v < 0 {
			errs = append(errs, field.Invalid(path().Child(f.name), int64(f.v), "must be greater than or equal to 0"))
		}
	}
	if g := pr.TerminationGracePeriodSeconds; g != nil && *g <= 0 {
		errs = append(errs, field.Invalid(path().Child("terminationGracePeriodSeconds"), *g, "must be greater than 0"))
	}
	return errs
}

// handler is upstream's commonHandler: a probe's or a lifecycle hook's
// actions.
type handler struct {
	exec      *v1.ExecAction
	httpGet   *v1.HTTPGetAction
	tcpSocket *v1.TCPSocketAction
	grpc      *v1.GRPCAction
	sleep     *v1.SleepAction
}

var supportedHTTPSchemes = []string{string(v1.URISchemeHTTP), string(v1.URISchemeHTTPS)}

// validateHandler is upstream's validateHandler: exactly one action, the
// second and later ones reported on their own paths.
func validateHandler(h handler, grace *int64, path pathFunc) field.ErrorList {
	var errs field.ErrorList
	n := 0
	one := func(name string) bool {
		if n > 0 {
			errs = append(errs, field.Forbidden(path().Child(name), "may not specify more than 1 handler type"))
			return false
		}
		n++
		return true
	}
	if h.exec != nil && one("exec") && len(h.exec.Command) == 0 {
		errs = append(errs, field.Required(path().Child("exec", "command"), ""))
	}
	if h.httpGet != nil && one("httpGet") {
		if h.httpGet.Path == "" {
			errs = append(errs, field.Required(path().Child("httpGet", "path"), ""))
		}
		errs = append(errs, validatePortNumOrName(h.httpGet.Port, func() *field.Path { return path().Child("httpGet", "port") })...)
		if !slices.Contains(supportedHTTPSchemes, string(h.httpGet.Scheme)) {
			errs = append(errs, field.NotSupported(path().Child("httpGet", "scheme"), h.httpGet.Scheme, supportedHTTPSchemes))
		}
		for _, hdr := range h.httpGet.HTTPHeaders {
			for _, msg := range validation.IsHTTPHeaderName(hdr.Name) {
				errs = append(errs, field.Invalid(path().Child("httpGet", "httpHeaders"), hdr.Name, msg))
			}
		}
	}
	if h.tcpSocket != nil && one("tcpSocket") {
		errs = append(errs, validatePortNumOrName(h.tcpSocket.Port, func() *field.Path { return path().Child("tcpSocket", "port") })...)
	}
	if h.grpc != nil && one("grpc") {
		errs = append(errs, validatePortNumOrName(intstr.FromInt32(h.grpc.Port), func() *field.Path { return path().Child("grpc", "port") })...)
	}
	if h.sleep != nil && one("sleep") && grace != nil && (h.sleep.Seconds < 0 || h.sleep.Seconds > *grace) {
		// PodLifecycleSleepActionAllowZero (on since v1.33).
		errs = append(errs, field.Invalid(path().Child("sleep"), h.sleep.Seconds,
			fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", *grace)))
	}
	if n == 0 {
		errs = append(errs, field.Required(path(), "must specify a handler type"))
	}
	return errs
}

// validateLifecycle is upstream's validateLifecycle.
func validateLifecycle(l *v1.Lifecycle, grace *int64, path pathFunc) field.ErrorList {
	var errs field.ErrorList
	for _, hook := range []struct {
		name string
		h    *v1.LifecycleHandler
	}{{"postStart", l.PostStart}, {"preStop", l.PreStop}} {
		if h := hook.h; h != nil {
			errs = append(errs, validateHandler(handler{exec: h.Exec, httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, sleep: h.Sleep}, grace,
				func() *field.Path { return path().Child(hook.name) })...)
		}
	}
	return errs
}

// supportedTaintEffects in the order upstream's validateTaintEffect lists
// them.
var supportedTaintEffects = []string{string(v1.TaintEffectNoSchedule), string(v1.TaintEffectPreferNoSchedule), string(v1.TaintEffectNoExecute)}

// validateTolerations is ValidateTolerations.
func validateTolerations(ts []v1.Toleration, path pathFunc) field.ErrorList {
	var errs field.ErrorList
	for i, t := range ts {
		p := func() *field.Path { return path().Index(i) }
		if t.Key != "" && len(qualifiedNameErrs(t.Key)) > 0 {
			errs = append(errs, metav1validation.ValidateLabelName(t.Key, p().Child("key"))...)
		}
		if t.Key == "" && t.Operator != v1.TolerationOpExists {
			errs = append(errs, field.Invalid(p().Child("operator"), t.Operator,
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != v1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(p().Child("effect"), t.Effect,
				"effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case v1.TolerationOpEqual, "":
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
				errs = append(errs, field.Invalid(p().Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case v1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(p().Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(p().Child("operator"), t.Operator, []string{string(v1.TolerationOpEqual), string(v1.TolerationOpExists)}))
		}
		if t.Effect != "" && !slices.Contains(supportedTaintEffects, string(t.Effect)) {
			errs = append(errs, field.NotSupported(p().Child("effect"), t.Effect, supportedTaintEffects))
		}
	}
	return errs
}

// validateNodeSelectorRequirement is ValidateNodeSelectorRequirement;
// values are label values unless anyValues (preferred terms).
func validateNodeSelectorRequirement(req v1.NodeSelectorRequirement, anyValues bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch req.Operator {
	case v1.NodeSelectorOpIn, v1.NodeSelectorOpNotIn:
		if len(req.Values) == 0 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case v1.NodeSelectorOpExists, v1.NodeSelectorOpDoesNotExist:
		if len(req.Values) > 0 {
			errs = append(errs, field.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case v1.NodeSelectorOpGt, v1.NodeSelectorOpLt:
		if len(req.Values) != 1 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
	}
	errs = append(errs, metav1validation.ValidateLabelName(req.Key, p.Child("key"))...)
	if !anyValues {
		for i, v := range req.Values {
			for _, msg := range validation.IsValidLabelValue(v) {
				errs = append(errs, field.Invalid(p.Child("values").Index(i), v, msg))
			}
		}
	}
	return errs
}

// validateNodeSelectorTerm is ValidateNodeSelectorTerm.
func validateNodeSelectorTerm(term v1.NodeSelectorTerm, anyValues bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for j, req := range term.MatchExpressions {
		errs = append(errs, validateNodeSelectorRequirement(req, anyValues, path.Child("matchExpressions").Index(j))...)
	}
	for j, req := range term.MatchFields {
		p := path.Child("matchFields").Index(j)
		switch req.Operator {
		case v1.NodeSelectorOpIn, v1.NodeSelectorOpNotIn:
			if len(req.Values) != 1 {
				errs = append(errs, field.Required(p.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
			}
		default:
			errs = append(errs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
		}
		if req.Key != metav1.ObjectNameField {
			errs = append(errs, field.Invalid(p.Child("key"), req.Key, "not a valid field selector key"))
			continue
		}
		for i, v := range req.Values {
			errs = append(errs, dnsSubdomainErrs(v, func() *field.Path { return p.Child("values").Index(i) })...)
		}
	}
	return errs
}

// validateAffinity is upstream's validateAffinity.
func validateAffinity(a *v1.Affinity, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if na := a.NodeAffinity; na != nil {
		np := path.Child("nodeAffinity")
		if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			p := np.Child("requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
			if len(r.NodeSelectorTerms) == 0 {
				errs = append(errs, field.Required(p, "must have at least one node selector term"))
			}
			for i, t := range r.NodeSelectorTerms {
				errs = append(errs, validateNodeSelectorTerm(t, false, p.Index(i))...)
			}
		}
		for i, t := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			p := np.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			if t.Weight <= 0 || t.Weight > 100 {
				errs = append(errs, field.Invalid(p.Child("weight"), t.Weight, "must be in the range 1-100"))
			}
			errs = append(errs, validateNodeSelectorTerm(t.Preference, true, p.Child("preference"))...)
		}
	}
	podTerms := func(pa *v1.PodAffinity, anti *v1.PodAntiAffinity, p *field.Path) {
		var required []v1.PodAffinityTerm
		var preferred []v1.WeightedPodAffinityTerm
		if pa != nil {
			required, preferred = pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution
		} else {
			required, preferred = anti.RequiredDuringSchedulingIgnoredDuringExecution, anti.PreferredDuringSchedulingIgnoredDuringExecution
		}
		for i, t := range required {
			errs = append(errs, validatePodAffinityTerm(t, p.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
		}
		for i, t := range preferred {
			wp := p.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			if t.Weight <= 0 || t.Weight > 100 {
				errs = append(errs, field.Invalid(wp.Child("weight"), t.Weight, "must be in the range 1-100"))
			}
			errs = append(errs, validatePodAffinityTerm(t.PodAffinityTerm, wp.Child("podAffinityTerm"))...)
		}
	}
	if a.PodAffinity != nil {
		podTerms(a.PodAffinity, nil, path.Child("podAffinity"))
	}
	if a.PodAntiAffinity != nil {
		podTerms(nil, a.PodAntiAffinity, path.Child("podAntiAffinity"))
	}
	return errs
}

// validatePodAffinityTerm is upstream's validatePodAffinityTerm (less
// matchLabelKeys and mismatchLabelKeys, which kubesim does not model).
func validatePodAffinityTerm(t v1.PodAffinityTerm, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateLabelSelector(t.LabelSelector, path.Child("labelSelector"))...)
	errs = append(errs, validateLabelSelector(t.NamespaceSelector, path.Child("namespaceSelector"))...)
	for _, ns := range t.Namespaces {
		for _, msg := range apivalidation.ValidateNamespaceName(ns, false) {
			errs = append(errs, field.Invalid(path.Child("namespace"), ns, msg))
		}
	}
	if t.TopologyKey == "" {
		errs = append(errs, field.Required(path.Child("topologyKey"), "can not be empty"))
	}
	return append(errs, metav1validation.ValidateLabelName(t.TopologyKey, path.Child("topologyKey"))...)
}

// validateTopologySpread is validateTopologySpreadConstraints (less
// matchLabelKeys).
func validateTopologySpread(cs []v1.TopologySpreadConstraint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	whenUnsatisfiable := []string{string(v1.DoNotSchedule), string(v1.ScheduleAnyway)}
	inclusion := []string{string(v1.NodeInclusionPolicyHonor), string(v1.NodeInclusionPolicyIgnore)}
	for i, c := range cs {
		p := path.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(p.Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
		}
		if !slices.Contains(whenUnsatisfiable, string(c.WhenUnsatisfiable)) {
			errs = append(errs, field.NotSupported(p.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, whenUnsatisfiable))
		}
		for _, rest := range cs[i+1:] {
			if c.TopologyKey == rest.TopologyKey && c.WhenUnsatisfiable == rest.WhenUnsatisfiable {
				errs = append(errs, field.Duplicate(p.Child("{topologyKey, whenUnsatisfiable}"), fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
				break
			}
		}
		if c.MinDomains != nil {
			if *c.MinDomains <= 0 {
				errs = append(errs, field.Invalid(p.Child("minDomains"), c.MinDomains, "must be greater than zero"))
			}
			if c.WhenUnsatisfiable != v1.DoNotSchedule {
				errs = append(errs, field.Invalid(p.Child("minDomains"), c.MinDomains,
					fmt.Sprintf("can only use minDomains if whenUnsatisfiable=%s, not %s", v1.DoNotSchedule, c.WhenUnsatisfiable)))
			}
		}
		if np := c.NodeAffinityPolicy; np != nil && !slices.Contains(inclusion, string(*np)) {
			errs = append(errs, field.NotSupported(p.Child("nodeAffinityPolicy"), np, inclusion))
		}
		if np := c.NodeTaintsPolicy; np != nil && !slices.Contains(inclusion, string(*np)) {
			errs = append(errs, field.NotSupported(p.Child("nodeTaintsPolicy"), np, inclusion))
		}
		errs = append(errs, validateLabelSelector(c.LabelSelector, p.Child("labelSelector"))...)
	}
	return errs
}

// validatePodUpdate enforces pod spec immutability (ValidatePodUpdate).
func validatePodUpdate(p, old *v1.Pod) field.ErrorList {
	errs := validatePodSpec(&p.Spec, specPath, true)
	errs = append(errs, validateImageWhitespace(p.Spec.Containers, "containers")...)
	errs = append(errs, validateImageWhitespace(p.Spec.InitContainers, "initContainers")...)
	// Allowed changes: container images, activeDeadlineSeconds, additional
	// tolerations, removal of scheduling gates.
	mungedSpec := *p.Spec.DeepCopy()
	for i := range mungedSpec.Containers {
		if i < len(old.Spec.Containers) {
			mungedSpec.Containers[i].Image = old.Spec.Containers[i].Image
		}
	}
	for i := range mungedSpec.InitContainers {
		if i < len(old.Spec.InitContainers) {
			mungedSpec.InitContainers[i].Image = old.Spec.InitContainers[i].Image
		}
	}
	mungedSpec.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	if tolerationsAddOnly(p.Spec.Tolerations, old.Spec.Tolerations) {
		mungedSpec.Tolerations = old.Spec.Tolerations
	}
	if len(p.Spec.SchedulingGates) <= len(old.Spec.SchedulingGates) {
		mungedSpec.SchedulingGates = old.Spec.SchedulingGates
	}
	if !apiequality.Semantic.DeepEqual(mungedSpec, old.Spec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"),
			"pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"))
	}
	return errs
}

func tolerationsAddOnly(now, old []v1.Toleration) bool {
	for _, o := range old {
		found := false
		for _, n := range now {
			if apiequality.Semantic.DeepEqual(o, n) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

var supportedPhases = []string{string(v1.PodFailed), string(v1.PodPending), string(v1.PodRunning), string(v1.PodSucceeded), string(v1.PodUnknown)}

func validatePodStatusUpdate(p, old *v1.Pod) field.ErrorList {
	var errs field.ErrorList
	path := func() *field.Path { return field.NewPath("status") }
	if p.Status.Phase != "" && !slicesContains(supportedPhases, string(p.Status.Phase)) {
		errs = append(errs, field.NotSupported(path().Child("phase"), p.Status.Phase, supportedPhases))
	}
	// A terminal pod stays terminal (ValidatePodStatusUpdate).
	if (old.Status.Phase == v1.PodSucceeded || old.Status.Phase == v1.PodFailed) && p.Status.Phase != old.Status.Phase {
		errs = append(errs, field.Forbidden(path().Child("phase"),
			fmt.Sprintf("cannot transition from a terminal phase %q to another phase %q", old.Status.Phase, p.Status.Phase)))
	}
	if old.Spec.NodeName == "" && p.Status.NominatedNodeName == "" && len(p.Status.ContainerStatuses) > 0 && p.Spec.NodeName == "" {
		errs = append(errs, field.Forbidden(path().Child("containerStatuses"), "may not be set for a pod that is not bound to a node"))
	}
	return errs
}
