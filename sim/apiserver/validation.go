package apiserver

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validation follows pkg/apis/*/validation upstream, with its messages, for
// the fields kubesim models. The README lists what is not checked.

var nameFns = map[string]apivalidation.ValidateNameFunc{
	"namespaces": apivalidation.NameIsDNSLabel,
	"services":   apivalidation.NameIsDNS1035Label,
}

func validateMeta(res *Resource, m metav1.Object) field.ErrorList {
	fn, ok := nameFns[res.Name]
	if !ok {
		if plainMetaValid(res, m) {
			return nil
		}
		fn = nameIsDNSSubdomain
	}
	return sortErrs(apivalidation.ValidateObjectMetaAccessor(m, res.Namespaced, fn, field.NewPath("metadata")))
}

// plainMetaValid is an exact shortcut of ValidateObjectMetaAccessor with
// DNS-subdomain names for the plain metadata of most objects (a name, a
// namespace, nothing else): it reports true only when upstream's checks
// would find nothing.
func plainMetaValid(res *Resource, m metav1.Object) bool {
	if m.GetGenerateName() != "" || !isDNS1123Subdomain(m.GetName()) || m.GetGeneration() < 0 ||
		len(m.GetLabels()) > 0 || len(m.GetAnnotations()) > 0 || len(m.GetOwnerReferences()) > 0 ||
		len(m.GetFinalizers()) > 0 || len(m.GetManagedFields()) > 0 {
		return false
	}
	if res.Namespaced {
		return isDNS1123Label(m.GetNamespace())
	}
	return m.GetNamespace() == ""
}

// isDNS1123Label reports exactly what validation.IsDNS1123Label accepts.
func isDNS1123Label(s string) bool {
	return len(s) <= validation.DNS1123LabelMaxLength && !strings.Contains(s, ".") && isDNS1123Subdomain(s)
}

// nameIsDNSSubdomain is apivalidation.NameIsDNSSubdomain with a fast path
// for the common valid name (the upstream check is a regular expression).
func nameIsDNSSubdomain(name string, prefix bool) []string {
	if !prefix && isDNS1123Subdomain(name) {
		return nil
	}
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// isDNS1123Subdomain reports exactly what validation.IsDNS1123Subdomain
// accepts: at most 253 characters, dot-separated labels of lower-case
// alphanumerics and '-', each starting and ending alphanumeric.
func isDNS1123Subdomain(s string) bool {
	if len(s) == 0 || len(s) > validation.DNS1123SubdomainMaxLength {
		return false
	}
	start := true // at the start of a label
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			start = false
		case c == '-':
			if start || i+1 == len(s) || s[i+1] == '.' {
				return false
			}
		case c == '.':
			if start {
				return false
			}
			start = true
		default:
			return false
		}
	}
	return !start
}

func validateMetaUpdate(m, old metav1.Object) field.ErrorList {
	if metaUnchanged(m, old) {
		// The stored metadata was valid and the update changes none of
		// it: upstream's checks cannot fail.
		return nil
	}
	return sortErrs(apivalidation.ValidateObjectMetaAccessorUpdate(m, old, field.NewPath("metadata")))
}

// metaUnchanged reports whether an update leaves the metadata a client may
// set as it was (the system fields are copied from the stored object
// before validation).
func metaUnchanged(m, old metav1.Object) bool {
	return m.GetName() == old.GetName() && m.GetNamespace() == old.GetNamespace() && m.GetUID() == old.GetUID() &&
		m.GetGenerateName() == old.GetGenerateName() &&
		maps.Equal(m.GetLabels(), old.GetLabels()) && maps.Equal(m.GetAnnotations(), old.GetAnnotations()) &&
		slices.Equal(m.GetFinalizers(), old.GetFinalizers()) &&
		(len(m.GetOwnerReferences()) == 0 && len(old.GetOwnerReferences()) == 0 ||
			apiequality.Semantic.DeepEqual(m.GetOwnerReferences(), old.GetOwnerReferences())) &&
		len(m.GetManagedFields()) == 0 && len(old.GetManagedFields()) == 0
}

// sortErrs orders errors produced from map iteration deterministically.
func sortErrs(errs field.ErrorList) field.ErrorList {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Field != errs[j].Field {
			return errs[i].Field < errs[j].Field
		}
		return errs[i].ErrorBody() < errs[j].ErrorBody()
	})
	return errs
}

func validateLabels(l map[string]string, path *field.Path) field.ErrorList {
	return sortErrs(metav1validation.ValidateLabels(l, path))
}

// ---- pods ----

func validatePod(p *v1.Pod) field.ErrorList {
	return validatePodSpec(&p.Spec, specPath, true)
}

// pathFunc is a field path built only if an error names it: a pod's spec
// is validated on every create and rarely has anything wrong, and each
// built path element is an allocation. (Func literals a validator only
// calls live on the stack.)
type pathFunc func() *field.Path

func specPath() *field.Path { return field.NewPath("spec") }

var supportedRestartPolicies = []string{string(v1.RestartPolicyAlways), string(v1.RestartPolicyNever), string(v1.RestartPolicyOnFailure)}
var supportedDNSPolicies = []string{string(v1.DNSClusterFirstWithHostNet), string(v1.DNSClusterFirst), string(v1.DNSDefault), string(v1.DNSNone)}

func validatePodSpec(s *v1.PodSpec, path pathFunc, requireImage bool) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	// An empty part is skipped, and a path is built only for an error or
	// a part with something in it.
	if len(s.InitContainers) > 0 {
		errs = append(errs, validateContainers(s.InitContainers, func() *field.Path { return path().Child("initContainers") }, names, requireImage, true)...)
	}
	if len(s.Containers) == 0 {
		errs = append(errs, field.Required(path().Child("containers"), ""))
	}
	errs = append(errs, validateContainers(s.Containers, func() *field.Path { return path().Child("containers") }, names, requireImage, false)...)
	if !slicesContains(supportedRestartPolicies, string(s.RestartPolicy)) {
		if s.RestartPolicy == "" {
			errs = append(errs, field.Required(path().Child("restartPolicy"), ""))
		} else {
			errs = append(errs, field.NotSupported(path().Child("restartPolicy"), s.RestartPolicy, supportedRestartPolicies))
		}
	}
	if s.DNSPolicy != "" && !slicesContains(supportedDNSPolicies, string(s.DNSPolicy)) {
		errs = append(errs, field.NotSupported(path().Child("dnsPolicy"), s.DNSPolicy, supportedDNSPolicies))
	}
	if s.TerminationGracePeriodSeconds != nil && *s.TerminationGracePeriodSeconds < 0 {
		errs = append(errs, field.Invalid(path().Child("terminationGracePeriodSeconds"), *s.TerminationGracePeriodSeconds, "must be greater than or equal to 0"))
	}
	if s.ActiveDeadlineSeconds != nil && *s.ActiveDeadlineSeconds <= 0 {
		errs = append(errs, field.Invalid(path().Child("activeDeadlineSeconds"), *s.ActiveDeadlineSeconds, "must be between 1 and 2147483647, inclusive"))
	}
	if len(s.NodeSelector) > 0 {
		errs = append(errs, validateLabels(s.NodeSelector, path().Child("nodeSelector"))...)
	}
	if len(s.Tolerations) > 0 {
		errs = append(errs, validateTolerations(s.Tolerations, func() *field.Path { return path().Child("tolerations") })...)
	}
	if s.Affinity != nil {
		errs = append(errs, validateAffinity(s.Affinity, path().Child("affinity"))...)
	}
	if len(s.TopologySpreadConstraints) > 0 {
		errs = append(errs, validateTopologySpread(s.TopologySpreadConstraints, path().Child("topologySpreadConstraints"))...)
	}
	if s.PriorityClassName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(s.PriorityClassName) {
			errs = append(errs, field.Invalid(path().Child("priorityClassName"), s.PriorityClassName, msg))
		}
	}
	if s.NodeName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(s.NodeName) {
			errs = append(errs, field.Invalid(path().Child("nodeName"), s.NodeName, msg))
		}
	}
	return errs
}

func validateContainers(cs []v1.Container, path pathFunc, names sets.Set[string], requireImage, init bool) field.ErrorList {
	var errs field.ErrorList
	for i := range cs {
		c := &cs[i]
		p := func() *field.Path { return path().Index(i) }
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(p().Child("name"), ""))
		default:
			for _, msg := range validation.IsDNS1123Label(c.Name) {
				errs = append(errs, field.Invalid(p().Child("name"), c.Name, msg))
			}
			if names.Has(c.Name) {
				errs = append(errs, field.Duplicate(p().Child("name"), c.Name))
			}
			names.Insert(c.Name)
		}
		if requireImage && strings.TrimSpace(c.Image) == "" {
			errs = append(errs, field.Required(p().Child("image"), ""))
		}
		if c.ImagePullPolicy != "" && c.ImagePullPolicy != v1.PullAlways && c.ImagePullPolicy != v1.PullIfNotPresent && c.ImagePullPolicy != v1.PullNever {
			errs = append(errs, field.NotSupported(p().Child("imagePullPolicy"), c.ImagePullPolicy,
				[]string{string(v1.PullAlways), string(v1.PullIfNotPresent), string(v1.PullNever)}))
		}
		if len(c.Ports) > 0 {
			errs = append(errs, validatePorts(c.Ports, p().Child("ports"))...)
		}
		if len(c.Resources.Limits) > 0 || len(c.Resources.Requests) > 0 {
			errs = append(errs, validateResources(&c.Resources, func() *field.Path { return p().Child("resources") })...)
		}
		if init && (c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil) &&
			(c.RestartPolicy == nil || *c.RestartPolicy != v1.ContainerRestartPolicyAlways) {
			for _, pr := range []struct {
				name  string
				probe *v1.Probe
			}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
				if pr.probe != nil {
					errs = append(errs, field.Forbidden(p().Child(pr.name), "may not be set for init containers without restartPolicy=Always"))
				}
			}
			continue
		}
		if c.LivenessProbe != nil {
			errs = append(errs, validateProbe(c.LivenessProbe, p().Child("livenessProbe"), true)...)
		}
		if c.ReadinessProbe != nil {
			errs = append(errs, validateProbe(c.ReadinessProbe, p().Child("readinessProbe"), false)...)
		}
		if c.StartupProbe != nil {
			errs = append(errs, validateProbe(c.StartupProbe, p().Child("startupProbe"), true)...)
		}
	}
	return errs
}

var supportedProtocols = []string{string(v1.ProtocolSCTP), string(v1.ProtocolTCP), string(v1.ProtocolUDP)}

func validatePorts(ports []v1.ContainerPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := path.Index(i)
		if port.Name != "" {
			for _, msg := range validation.IsValidPortName(port.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), port.Name, msg))
			}
			if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
			}
			names.Insert(port.Name)
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, field.Invalid(p.Child("containerPort"), port.ContainerPort, msg))
			}
		}
		if port.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(port.HostPort)) {
				errs = append(errs, field.Invalid(p.Child("hostPort"), port.HostPort, msg))
			}
		}
		if port.Protocol == "" {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else if !slicesContains(supportedProtocols, string(port.Protocol)) {
			errs = append(errs, field.NotSupported(p.Child("protocol"), port.Protocol, supportedProtocols))
		}
	}
	return errs
}

func validateResourceList(rl v1.ResourceList, path pathFunc) field.ErrorList {
	var errs field.ErrorList
	var buf [8]v1.ResourceName
	for _, name := range sortedResourceNames(rl, buf[:0]) {
		q := rl[name]
		for _, msg := range qualifiedNameErrs(string(name)) {
			errs = append(errs, field.Invalid(path().Key(string(name)), name, msg))
		}
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(path().Key(string(name)), q.String(), "must be greater than or equal to 0"))
		}
		if (name == v1.ResourcePods || isExtendedResource(name)) && q.MilliValue()%1000 != 0 {
			errs = append(errs, field.Invalid(path().Key(string(name)), q.String(), "must be an integer"))
		}
	}
	return errs
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

func validateResources(r *v1.ResourceRequirements, path pathFunc) field.ErrorList {
	var errs field.ErrorList
	if len(r.Limits) > 0 {
		errs = append(errs, validateResourceList(r.Limits, func() *field.Path { return path().Child("limits") })...)
	}
	if len(r.Requests) > 0 {
		errs = append(errs, validateResourceList(r.Requests, func() *field.Path { return path().Child("requests") })...)
	}
	var buf [8]v1.ResourceName
	for _, name := range sortedResourceNames(r.Requests, buf[:0]) {
		req := r.Requests[name]
		lim, ok := r.Limits[name]
		switch {
		case ok && req.Cmp(lim) != 0 && !overcommitAllowed(name):
			errs = append(errs, field.Invalid(path().Child("requests").Key(string(name)), req.String(),
				fmt.Sprintf("must be equal to %s limit of %s", name, lim.String())))
		case ok && req.Cmp(lim) > 0:
			errs = append(errs, field.Invalid(path().Child("requests").Key(string(name)), req.String(),
				fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
		case !ok && !overcommitAllowed(name):
			errs = append(errs, field.Required(path().Child("limits"), "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

func validateProbe(pr *v1.Probe, path *field.Path, successMustBeOne bool) field.ErrorList {
	if pr == nil {
		return nil
	}
	var errs field.ErrorList
	handlers := 0
	if pr.Exec != nil {
		handlers++
	}
	if pr.HTTPGet != nil {
		handlers++
	}
	if pr.TCPSocket != nil {
		handlers++
	}
	if pr.GRPC != nil {
		handlers++
	}
	if handlers == 0 {
		errs = append(errs, field.Required(path, "must specify a handler type"))
	} else if handlers > 1 {
		errs = append(errs, field.Forbidden(path, "may not specify more than 1 handler type"))
	}
	nonNeg := func(name string, v int32) {
		if v < 0 {
			errs = append(errs, field.Invalid(path.Child(name), int64(v), "must be greater than or equal to 0"))
		}
	}
	nonNeg("initialDelaySeconds", pr.InitialDelaySeconds)
	nonNeg("timeoutSeconds", pr.TimeoutSeconds)
	nonNeg("periodSeconds", pr.PeriodSeconds)
	nonNeg("successThreshold", pr.SuccessThreshold)
	nonNeg("failureThreshold", pr.FailureThreshold)
	if successMustBeOne && pr.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(path.Child("successThreshold"), pr.SuccessThreshold, "must be 1"))
	}
	return errs
}

var supportedTaintEffects = []string{string(v1.TaintEffectNoExecute), string(v1.TaintEffectNoSchedule), string(v1.TaintEffectPreferNoSchedule)}

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
			for _, msg := range validation.IsValidLabelValue(t.Value) {
				errs = append(errs, field.Invalid(p().Child("operator"), t.Value, msg))
			}
		case v1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(p().Child("operator"), t, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(p().Child("operator"), t.Operator, []string{string(v1.TolerationOpEqual), string(v1.TolerationOpExists)}))
		}
		if t.Effect != "" && !slicesContains(supportedTaintEffects, string(t.Effect)) {
			errs = append(errs, field.NotSupported(p().Child("effect"), t.Effect, supportedTaintEffects))
		}
	}
	return errs
}

var supportedNodeSelectorOps = []string{"DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"}

func validateNodeSelectorTerm(term v1.NodeSelectorTerm, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for j, req := range term.MatchExpressions {
		p := path.Child("matchExpressions").Index(j)
		errs = append(errs, metav1validation.ValidateLabelName(req.Key, p.Child("key"))...)
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
			errs = append(errs, field.NotSupported(p.Child("operator"), req.Operator, supportedNodeSelectorOps))
		}
	}
	return errs
}

func validateAffinity(a *v1.Affinity, path *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	if na := a.NodeAffinity; na != nil {
		if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			p := path.Child("nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
			if len(r.NodeSelectorTerms) == 0 {
				errs = append(errs, field.Required(p, "must have at least one node selector term"))
			}
			for i, t := range r.NodeSelectorTerms {
				errs = append(errs, validateNodeSelectorTerm(t, p.Index(i))...)
			}
		}
		for i, t := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			p := path.Child("nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			if t.Weight <= 0 || t.Weight > 100 {
				errs = append(errs, field.Invalid(p.Child("weight"), t.Weight, "must be in the range 1-100"))
			}
			errs = append(errs, validateNodeSelectorTerm(t.Preference, p.Child("preference"))...)
		}
	}
	podTerms := func(terms []v1.PodAffinityTerm, p *field.Path) {
		for i, t := range terms {
			if t.TopologyKey == "" {
				errs = append(errs, field.Required(p.Index(i).Child("topologyKey"), "can not be empty"))
			}
		}
	}
	weighted := func(terms []v1.WeightedPodAffinityTerm, p *field.Path) {
		for i, t := range terms {
			if t.Weight <= 0 || t.Weight > 100 {
				errs = append(errs, field.Invalid(p.Index(i).Child("weight"), t.Weight, "must be in the range 1-100"))
			}
			if t.PodAffinityTerm.TopologyKey == "" {
				errs = append(errs, field.Required(p.Index(i).Child("podAffinityTerm", "topologyKey"), "can not be empty"))
			}
		}
	}
	if pa := a.PodAffinity; pa != nil {
		podTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, path.Child("podAffinity", "requiredDuringSchedulingIgnoredDuringExecution"))
		weighted(pa.PreferredDuringSchedulingIgnoredDuringExecution, path.Child("podAffinity", "preferredDuringSchedulingIgnoredDuringExecution"))
	}
	if pa := a.PodAntiAffinity; pa != nil {
		podTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, path.Child("podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"))
		weighted(pa.PreferredDuringSchedulingIgnoredDuringExecution, path.Child("podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution"))
	}
	return errs
}

func validateTopologySpread(cs []v1.TopologySpreadConstraint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	supported := []string{string(v1.DoNotSchedule), string(v1.ScheduleAnyway)}
	for i, c := range cs {
		p := path.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(p.Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
		}
		if !slicesContains(supported, string(c.WhenUnsatisfiable)) {
			errs = append(errs, field.NotSupported(p.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, supported))
		}
		if c.MinDomains != nil && *c.MinDomains <= 0 {
			errs = append(errs, field.Invalid(p.Child("minDomains"), *c.MinDomains, "must be greater than 0"))
		}
	}
	return errs
}

// validatePodUpdate enforces pod spec immutability (ValidatePodUpdate).
func validatePodUpdate(p, old *v1.Pod) field.ErrorList {
	errs := validatePodSpec(&p.Spec, specPath, true)
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

// ---- nodes, namespaces ----

func validateNode(n *v1.Node) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateTaints(n.Spec.Taints, field.NewPath("spec", "taints"))...)
	errs = append(errs, validateResourceList(n.Status.Capacity, func() *field.Path { return field.NewPath("status", "capacity") })...)
	errs = append(errs, validateResourceList(n.Status.Allocatable, func() *field.Path { return field.NewPath("status", "allocatable") })...)
	return errs
}

func validateNodeUpdate(n, old *v1.Node) field.ErrorList {
	errs := validateNode(n)
	if old.Spec.PodCIDR != "" && n.Spec.PodCIDR != old.Spec.PodCIDR {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDR"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	return errs
}

func validateTaints(ts []v1.Taint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, t := range ts {
		p := path.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		for _, msg := range validation.IsValidLabelValue(t.Value) {
			errs = append(errs, field.Invalid(p.Child("value"), t.Value, msg))
		}
		if t.Effect == "" {
			errs = append(errs, field.Required(p.Child("effect"), ""))
		} else if !slicesContains(supportedTaintEffects, string(t.Effect)) {
			errs = append(errs, field.NotSupported(p.Child("effect"), t.Effect, supportedTaintEffects))
		}
		k := t.Key + ":" + string(t.Effect)
		if seen[k] {
			errs = append(errs, field.Duplicate(p, t.ToString()))
		}
		seen[k] = true
	}
	return errs
}

func validateNamespace(*v1.Namespace) field.ErrorList { return nil }

// ---- services ----

var supportedServiceTypes = []string{string(v1.ServiceTypeClusterIP), string(v1.ServiceTypeExternalName), string(v1.ServiceTypeLoadBalancer), string(v1.ServiceTypeNodePort)}

func validateService(s *v1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if !slicesContains(supportedServiceTypes, string(s.Spec.Type)) {
		errs = append(errs, field.NotSupported(spec.Child("type"), s.Spec.Type, supportedServiceTypes))
	}
	headless := s.Spec.ClusterIP == v1.ClusterIPNone
	if s.Spec.Type == v1.ServiceTypeExternalName {
		if s.Spec.ExternalName == "" {
			errs = append(errs, field.Required(spec.Child("externalName"), ""))
		}
	} else if len(s.Spec.Ports) == 0 && !headless {
		errs = append(errs, field.Required(spec.Child("ports"), ""))
	}
	names := sets.New[string]()
	for i, sp := range s.Spec.Ports {
		p := spec.Child("ports").Index(i)
		if len(s.Spec.Ports) > 1 && sp.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else if sp.Name != "" {
			for _, msg := range validation.IsDNS1123Label(sp.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), sp.Name, msg))
			}
			if names.Has(sp.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), sp.Name))
			}
			names.Insert(sp.Name)
		}
		for _, msg := range validation.IsValidPortNum(int(sp.Port)) {
			errs = append(errs, field.Invalid(p.Child("port"), sp.Port, msg))
		}
		if !slicesContains(supportedProtocols, string(sp.Protocol)) {
			errs = append(errs, field.NotSupported(p.Child("protocol"), sp.Protocol, supportedProtocols))
		}
		if sp.TargetPort.Type == intstr.Int {
			for _, msg := range validation.IsValidPortNum(sp.TargetPort.IntValue()) {
				errs = append(errs, field.Invalid(p.Child("targetPort"), sp.TargetPort, msg))
			}
		} else {
			for _, msg := range validation.IsValidPortName(sp.TargetPort.StrVal) {
				errs = append(errs, field.Invalid(p.Child("targetPort"), sp.TargetPort, msg))
			}
		}
		if sp.NodePort != 0 && s.Spec.Type != v1.ServiceTypeNodePort && s.Spec.Type != v1.ServiceTypeLoadBalancer {
			errs = append(errs, field.Forbidden(p.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
		}
	}
	errs = append(errs, validateLabels(s.Spec.Selector, spec.Child("selector"))...)
	switch s.Spec.SessionAffinity {
	case v1.ServiceAffinityNone, v1.ServiceAffinityClientIP:
	default:
		errs = append(errs, field.NotSupported(spec.Child("sessionAffinity"), s.Spec.SessionAffinity,
			[]string{string(v1.ServiceAffinityClientIP), string(v1.ServiceAffinityNone)}))
	}
	if c := s.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
		if t := *c.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPServiceAffinitySeconds {
			errs = append(errs, field.Invalid(spec.Child("sessionAffinityConfig", "clientIP", "timeoutSeconds"), t,
				fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPServiceAffinitySeconds)))
		}
	}
	if s.Spec.ExternalTrafficPolicy != "" && s.Spec.Type != v1.ServiceTypeNodePort && s.Spec.Type != v1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Invalid(spec.Child("externalTrafficPolicy"), s.Spec.ExternalTrafficPolicy,
			"may only be set for externally-accessible services"))
	}
	return errs
}

func validateServiceUpdate(s, old *v1.Service) field.ErrorList {
	errs := validateService(s)
	if old.Spec.ClusterIP != "" && s.Spec.ClusterIP != "" && s.Spec.ClusterIP != old.Spec.ClusterIP &&
		old.Spec.Type != v1.ServiceTypeExternalName && s.Spec.Type != v1.ServiceTypeExternalName {
		errs = append(errs, field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), s.Spec.ClusterIPs, "may not change once set"))
	}
	return errs
}

func validateEvent(e *v1.Event) field.ErrorList {
	var errs field.ErrorList
	if e.InvolvedObject.Namespace != "" && e.InvolvedObject.Namespace != e.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("involvedObject", "namespace"), e.InvolvedObject.Namespace, "does not match event.namespace"))
	}
	return errs
}

// ---- apps ----

func validateSelectorAndTemplate(sel *metav1.LabelSelector, tmpl *v1.PodTemplateSpec, kind string) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if sel == nil {
		errs = append(errs, field.Required(spec.Child("selector"), ""))
	} else {
		errs = append(errs, sortErrs(metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, spec.Child("selector")))...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(spec.Child("selector"), sel, "empty selector is invalid for "+kind))
		}
	}
	tp := spec.Child("template")
	errs = append(errs, validateLabels(tmpl.Labels, tp.Child("metadata", "labels"))...)
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err == nil && !s.Empty() && !s.Matches(labels.Set(tmpl.Labels)) {
			errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), tmpl.Labels, "`selector` does not match template `labels`"))
		}
	}
	errs = append(errs, validatePodSpec(&tmpl.Spec, func() *field.Path { return tp.Child("spec") }, true)...)
	if tmpl.Spec.RestartPolicy != "" && tmpl.Spec.RestartPolicy != v1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), tmpl.Spec.RestartPolicy, []string{string(v1.RestartPolicyAlways)}))
	}
	if tmpl.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(tp.Child("spec", "activeDeadlineSeconds"), *tmpl.Spec.ActiveDeadlineSeconds, "activeDeadlineSeconds in ReplicaSet is not Supported"))
	}
	return errs
}

func nonNegative(path *field.Path, v int64) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(path, v, "must be greater than or equal to 0")}
	}
	return nil
}

func validateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	errs = append(errs, nonNegative(spec.Child("replicas"), int64(derefInt32(rs.Spec.Replicas, 1)))...)
	errs = append(errs, nonNegative(spec.Child("minReadySeconds"), int64(rs.Spec.MinReadySeconds))...)
	errs = append(errs, validateSelectorAndTemplate(rs.Spec.Selector, &rs.Spec.Template, "deployment")...)
	return errs
}

func validateReplicaSetUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	errs := validateReplicaSet(rs)
	if !apiequality.Semantic.DeepEqual(rs.Spec.Selector, old.Spec.Selector) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), rs.Spec.Selector, "field is immutable"))
	}
	return errs
}

func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	errs = append(errs, nonNegative(spec.Child("replicas"), int64(derefInt32(d.Spec.Replicas, 1)))...)
	errs = append(errs, validateSelectorAndTemplate(d.Spec.Selector, &d.Spec.Template, "deployment")...)
	errs = append(errs, validateDeploymentStrategy(&d.Spec.Strategy, spec.Child("strategy"))...)
	errs = append(errs, nonNegative(spec.Child("minReadySeconds"), int64(d.Spec.MinReadySeconds))...)
	if d.Spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(spec.Child("revisionHistoryLimit"), int64(*d.Spec.RevisionHistoryLimit))...)
	}
	if p := d.Spec.ProgressDeadlineSeconds; p != nil {
		errs = append(errs, nonNegative(spec.Child("progressDeadlineSeconds"), int64(*p))...)
		if *p <= d.Spec.MinReadySeconds {
			errs = append(errs, field.Invalid(spec.Child("progressDeadlineSeconds"), *p, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateDeploymentUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := validateDeployment(d)
	if !apiequality.Semantic.DeepEqual(d.Spec.Selector, old.Spec.Selector) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), d.Spec.Selector, "field is immutable"))
	}
	return errs
}

func validateDeploymentStrategy(st *appsv1.DeploymentStrategy, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch st.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if st.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(path.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if st.RollingUpdate == nil {
			errs = append(errs, field.Required(path.Child("rollingUpdate"), "this should be defaulted and never be nil"))
			break
		}
		ru := st.RollingUpdate
		p := path.Child("rollingUpdate")
		errs = append(errs, validatePositiveIntOrPercent(ru.MaxUnavailable, p.Child("maxUnavailable"))...)
		errs = append(errs, validatePositiveIntOrPercent(ru.MaxSurge, p.Child("maxSurge"))...)
		if ru.MaxUnavailable != nil && getPercentOrInt(*ru.MaxUnavailable) > 100 && ru.MaxUnavailable.Type == intstr.String {
			errs = append(errs, field.Invalid(p.Child("maxUnavailable"), ru.MaxUnavailable.String(), "must not be greater than 100%"))
		}
		if ru.MaxUnavailable != nil && ru.MaxSurge != nil && getPercentOrInt(*ru.MaxUnavailable) == 0 && getPercentOrInt(*ru.MaxSurge) == 0 {
			errs = append(errs, field.Invalid(p.Child("maxUnavailable"), ru.MaxUnavailable.String(), "may not be 0 when `maxSurge` is 0"))
		}
	case "":
		errs = append(errs, field.Required(path.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(path.Child("type"), st.Type, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)}))
	}
	return errs
}

func getPercentOrInt(v intstr.IntOrString) int {
	if v.Type == intstr.Int {
		return v.IntValue()
	}
	var n int
	if _, err := fmt.Sscanf(strings.TrimSuffix(v.StrVal, "%"), "%d", &n); err != nil {
		return -1
	}
	return n
}

func validatePositiveIntOrPercent(v *intstr.IntOrString, path *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	if v.Type == intstr.String {
		if msgs := validation.IsValidPercent(v.StrVal); len(msgs) > 0 {
			return field.ErrorList{field.Invalid(path, v.StrVal, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")}
		}
		return nil
	}
	return nonNegative(path, int64(v.IntValue()))
}

// ---- autoscaling, policy, scheduling, discovery, coordination ----

func validateHPA(h *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	ref := spec.Child("scaleTargetRef")
	if h.Spec.ScaleTargetRef.Kind == "" {
		errs = append(errs, field.Required(ref.Child("kind"), ""))
	}
	if h.Spec.ScaleTargetRef.Name == "" {
		errs = append(errs, field.Required(ref.Child("name"), ""))
	}
	minR := derefInt32(h.Spec.MinReplicas, 1)
	if minR < 1 {
		errs = append(errs, field.Invalid(spec.Child("minReplicas"), minR, "must be greater than or equal to 1"))
	}
	if h.Spec.MaxReplicas < 1 {
		errs = append(errs, field.Invalid(spec.Child("maxReplicas"), h.Spec.MaxReplicas, "must be greater than 0"))
	}
	if h.Spec.MaxReplicas < minR {
		errs = append(errs, field.Invalid(spec.Child("maxReplicas"), h.Spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	for i, m := range h.Spec.Metrics {
		errs = append(errs, validateMetricSpec(m, spec.Child("metrics").Index(i))...)
	}
	if b := h.Spec.Behavior; b != nil {
		errs = append(errs, validateScalingRules(b.ScaleUp, spec.Child("behavior", "scaleUp"))...)
		errs = append(errs, validateScalingRules(b.ScaleDown, spec.Child("behavior", "scaleDown"))...)
	}
	return errs
}

// validateMetricSpec is upstream's validateMetricSpec for the metric
// sources kubesim's HPA reads (Resource, ContainerResource); Pods, Object
// and External sources are accepted without checking their contents (the
// controller reports them as unsupported).
func validateMetricSpec(m autoscalingv2.MetricSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	types := []string{"ContainerResource", "External", "Object", "Pods", "Resource"}
	if m.Type == "" {
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric source type"))
	}
	if !slicesContains(types, string(m.Type)) {
		errs = append(errs, field.NotSupported(p.Child("type"), m.Type, types))
	}
	// Only the first source set (in upstream's order) is checked.
	var present []string
	for _, src := range []struct {
		name string
		set  bool
	}{{"object", m.Object != nil}, {"external", m.External != nil}, {"pods", m.Pods != nil}, {"resource", m.Resource != nil}, {"containerResource", m.ContainerResource != nil}} {
		if !src.set {
			continue
		}
		present = append(present, src.name)
		if len(present) > 1 {
			continue
		}
		switch src.name {
		case "resource":
			errs = append(errs, validateResourceSource(m.Resource.Name, nil, m.Resource.Target, p.Child("resource"))...)
		case "containerResource":
			errs = append(errs, validateResourceSource(m.ContainerResource.Name, &m.ContainerResource.Container, m.ContainerResource.Target, p.Child("containerResource"))...)
		}
	}
	expected := ""
	switch m.Type {
	case autoscalingv2.ObjectMetricSourceType, autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType,
		autoscalingv2.ExternalMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
		expected = strings.ToLower(string(m.Type[:1])) + string(m.Type[1:])
		if !slicesContains(present, expected) {
			errs = append(errs, field.Required(p.Child(expected), "must populate information for the given metric source"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), m.Type, types))
	}
	if len(present) != 1 {
		for _, name := range present {
			if name != expected {
				errs = append(errs, field.Forbidden(p.Child(name), "must populate the given metric source only"))
			}
		}
	}
	return errs
}

// validateResourceSource is upstream's validateResourceSource and, with
// container non-nil, validateContainerResourceSource: a resource name, the
// container (a DNS-1123 label), and exactly one of averageUtilization and
// averageValue.
func validateResourceSource(name v1.ResourceName, container *string, t autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), "must specify a resource name"))
	} else if container != nil {
		errs = append(errs, validateContainerResourceName(name, p.Child("name"))...)
	}
	if container != nil {
		if *container == "" {
			errs = append(errs, field.Required(p.Child("container"), "must specify a container"))
		} else {
			for _, msg := range validation.IsDNS1123Label(*container) {
				errs = append(errs, field.Invalid(p.Child("container"), *container, msg))
			}
		}
	}
	errs = append(errs, validateMetricTarget(t, p.Child("target"))...)
	if t.AverageUtilization == nil && t.AverageValue == nil {
		errs = append(errs, field.Required(p.Child("target", "averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if t.AverageUtilization != nil && t.AverageValue != nil {
		errs = append(errs, field.Forbidden(p.Child("target", "averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

// standardResourceNames are upstream's helper.standardResources: the
// unqualified resource names the API knows (IsStandardResourceName also
// takes hugepages-<size> and requests.hugepages-<size>).
var standardResourceNames = []string{"cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
	"requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods",
	"resourcequotas", "services", "replicationcontrollers", "secrets", "configmaps", "persistentvolumeclaims", "storage",
	"requests.storage", "services.nodeports", "services.loadbalancers"}

// validateContainerResourceName is upstream's ValidateContainerResourceName
// (pkg/apis/core/validation): a qualified name; unqualified, a resource
// the API knows and one a container may request (cpu, memory,
// ephemeral-storage, hugepages-<size>); qualified outside kubernetes.io,
// an extended resource name.
func validateContainerResourceName(name v1.ResourceName, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	s := string(name)
	for _, msg := range qualifiedNameErrs(s) {
		errs = append(errs, field.Invalid(p, s, msg))
	}
	if !strings.Contains(s, "/") {
		if len(errs) == 0 && !slicesContains(standardResourceNames, s) && !strings.HasPrefix(s, v1.ResourceHugePagesPrefix) &&
			!strings.HasPrefix(s, v1.ResourceRequestsHugePagesPrefix) {
			errs = append(errs, field.Invalid(p, s, "must be a standard resource type or fully qualified"))
		}
		if name != v1.ResourceCPU && name != v1.ResourceMemory && name != v1.ResourceEphemeralStorage && !strings.HasPrefix(s, v1.ResourceHugePagesPrefix) {
			errs = append(errs, field.Invalid(p, s, "must be a standard resource for containers"))
		}
	} else if !strings.Contains(s, v1.ResourceDefaultNamespacePrefix) && !isExtendedResource(name) {
		errs = append(errs, field.Invalid(p, s, "doesn't follow extended resource name standard"))
	}
	return errs
}

// validateMetricTarget is upstream's: a known type and positive values;
// which value goes with which type is not checked (the controller reads
// averageValue first, then averageUtilization).
func validateMetricTarget(t autoscalingv2.MetricTarget, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Type == "" {
		errs = append(errs, field.Required(path.Child("type"), "must specify a metric target type"))
	}
	if t.Type != autoscalingv2.UtilizationMetricType && t.Type != autoscalingv2.ValueMetricType && t.Type != autoscalingv2.AverageValueMetricType {
		errs = append(errs, field.Invalid(path.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(path.Child("value"), t.Value, "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(path.Child("averageValue"), t.AverageValue, "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(path.Child("averageUtilization"), t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

// validateScalingRules is upstream's validateScalingRules and
// validateScalingPolicy (after defaulting, so an empty policy list is one
// given as []).
func validateScalingRules(r *autoscalingv2.HPAScalingRules, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r == nil {
		return nil
	}
	if w := r.StabilizationWindowSeconds; w != nil && *w < 0 {
		errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), *w, "must be greater than or equal to zero"))
	}
	if w := r.StabilizationWindowSeconds; w != nil && *w > 3600 {
		errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), *w, "must be less than or equal to 3600"))
	}
	selectPolicies := []string{string(autoscalingv2.DisabledPolicySelect), string(autoscalingv2.MaxChangePolicySelect), string(autoscalingv2.MinChangePolicySelect)}
	if r.SelectPolicy != nil && !slicesContains(selectPolicies, string(*r.SelectPolicy)) {
		errs = append(errs, field.NotSupported(p.Child("selectPolicy"), *r.SelectPolicy, selectPolicies))
	}
	pp := p.Child("policies")
	if len(r.Policies) == 0 {
		errs = append(errs, field.Required(pp, "must specify at least one Policy"))
	}
	for j, pol := range r.Policies {
		ip := pp.Index(j)
		if pol.Type != autoscalingv2.PodsScalingPolicy && pol.Type != autoscalingv2.PercentScalingPolicy {
			errs = append(errs, field.NotSupported(ip.Child("type"), pol.Type, []string{"Percent", "Pods"}))
		}
		if pol.Value <= 0 {
			errs = append(errs, field.Invalid(ip.Child("value"), pol.Value, "must be greater than zero"))
		}
		if pol.PeriodSeconds <= 0 {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), pol.PeriodSeconds, "must be greater than zero"))
		}
		if pol.PeriodSeconds > 1800 {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), pol.PeriodSeconds, "must be less than or equal to 1800"))
		}
	}
	return errs
}

func validatePDB(p *policyv1.PodDisruptionBudget) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if p.Spec.MinAvailable != nil && p.Spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(spec, p.Spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	for _, v := range []struct {
		name string
		val  *intstr.IntOrString
	}{{"minAvailable", p.Spec.MinAvailable}, {"maxUnavailable", p.Spec.MaxUnavailable}} {
		errs = append(errs, validatePositiveIntOrPercent(v.val, spec.Child(v.name))...)
		if v.val != nil && v.val.Type == intstr.String && getPercentOrInt(*v.val) > 100 {
			errs = append(errs, field.Invalid(spec.Child(v.name), v.val.StrVal, "must not be greater than 100%"))
		}
	}
	if p.Spec.Selector != nil {
		errs = append(errs, sortErrs(metav1validation.ValidateLabelSelector(p.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, spec.Child("selector")))...)
	}
	return errs
}

// HighestUserDefinablePriority is the largest priority a user-created
// PriorityClass may have.
const HighestUserDefinablePriority = 1000000000

// systemPriorityClasses are the classes the API server creates at start
// (pkg/apis/scheduling/v1 SystemPriorityClasses), by name: value and
// globalDefault.
var systemPriorityClasses = map[string]struct {
	value         int32
	globalDefault bool
}{
	"system-node-critical":    {2000001000, false},
	"system-cluster-critical": {2000000000, false},
}

// validatePriorityClass is upstream's ValidatePriorityClass (less the
// object metadata, validated for every resource).
func validatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if strings.HasPrefix(pc.Name, "system-") {
		if err := knownSystemPriorityClass(pc); err != nil {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"), "priority class names with 'system-' prefix are reserved for system use only. error: "+err.Error()))
		}
	} else if pc.Value > HighestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", HighestUserDefinablePriority)))
	}
	if pc.PreemptionPolicy != nil {
		switch p := *pc.PreemptionPolicy; p {
		case v1.PreemptLowerPriority, v1.PreemptNever:
		case "":
			errs = append(errs, field.Required(field.NewPath("preemptionPolicy"), ""))
		default:
			errs = append(errs, field.NotSupported(field.NewPath("preemptionPolicy"), p, []string{string(v1.PreemptLowerPriority), string(v1.PreemptNever)}))
		}
	}
	return errs
}

// knownSystemPriorityClass is upstream's IsKnownSystemPriorityClass.
func knownSystemPriorityClass(pc *schedulingv1.PriorityClass) error {
	spc, ok := systemPriorityClasses[pc.Name]
	switch {
	case !ok:
		return fmt.Errorf("%v is not a known system priority class", pc.Name)
	case spc.value != pc.Value:
		return fmt.Errorf("value of %v PriorityClass must be %v", pc.Name, spc.value)
	case spc.globalDefault != pc.GlobalDefault:
		return fmt.Errorf("globalDefault of %v PriorityClass must be %v", pc.Name, spc.globalDefault)
	}
	return nil
}

// validatePriorityClassUpdate is upstream's ValidatePriorityClassUpdate:
// value and preemptionPolicy are immutable, nothing else is checked again.
func validatePriorityClassUpdate(pc, old *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if pc.Value != old.Value {
		errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	return append(errs, apivalidation.ValidateImmutableField(pc.PreemptionPolicy, old.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
}

var supportedAddressTypes = []string{string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6), string(discoveryv1.AddressTypeFQDN)}

func validateEndpointSlice(es *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	if !slicesContains(supportedAddressTypes, string(es.AddressType)) {
		if es.AddressType == "" {
			errs = append(errs, field.Required(field.NewPath("addressType"), ""))
		} else {
			errs = append(errs, field.NotSupported(field.NewPath("addressType"), es.AddressType, supportedAddressTypes))
		}
	}
	if len(es.Endpoints) > 1000 {
		errs = append(errs, field.TooMany(field.NewPath("endpoints"), len(es.Endpoints), 1000))
	}
	for i, ep := range es.Endpoints {
		p := field.NewPath("endpoints").Index(i)
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(p.Child("addresses"), "must contain at least 1 address"))
		} else if len(ep.Addresses) > 100 {
			errs = append(errs, field.TooMany(p.Child("addresses"), len(ep.Addresses), 100))
		}
	}
	if len(es.Ports) > 20000 {
		errs = append(errs, field.TooMany(field.NewPath("ports"), len(es.Ports), 20000))
	}
	return errs
}

func validateEndpointSliceUpdate(es, old *discoveryv1.EndpointSlice) field.ErrorList {
	errs := validateEndpointSlice(es)
	if es.AddressType != old.AddressType {
		errs = append(errs, field.Invalid(field.NewPath("addressType"), es.AddressType, "field is immutable"))
	}
	return errs
}

func validateLease(l *coordinationv1.Lease) field.ErrorList {
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "leaseDurationSeconds"), *d, "must be greater than 0")}
	}
	return nil
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// maxClientIPServiceAffinitySeconds is the longest ClientIP affinity timeout (one day).
const maxClientIPServiceAffinitySeconds = 86400

var _ = resource.Quantity{}
