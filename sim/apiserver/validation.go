package apiserver

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validation follows pkg/apis/*/validation upstream, with its messages,
// field paths and order, for the fields kubesim models: object metadata
// here, the rest in validation_*.go by API group. Where upstream walks a
// map (labels, annotations, resource lists) and so reports in no fixed
// order, kubesim walks the keys sorted. The README lists what is not
// checked.

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
	errs := orderMapErrs(apivalidation.ValidateObjectMetaAccessor(m, res.Namespaced, fn, field.NewPath("metadata")), m)
	return append(errs, kubeFinalizerErrs(m)...)
}

// standardFinalizers are the finalizers that need no domain
// (helper.IsStandardFinalizerName).
var standardFinalizers = []string{string(v1.FinalizerKubernetes), metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents}

// kubeFinalizerErrs is the check pkg/apis/core/validation's
// ValidateObjectMeta and ValidateObjectMetaUpdate add to apimachinery's
// (validateKubeFinalizerName): a finalizer without a domain is a standard
// one.
func kubeFinalizerErrs(m metav1.Object) field.ErrorList {
	var errs field.ErrorList
	for i, f := range m.GetFinalizers() {
		if !strings.Contains(f, "/") && !slices.Contains(standardFinalizers, f) {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "finalizers").Index(i), f, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// orderMapErrs makes ObjectMeta validation's label and annotation errors,
// which it reports in map order, come in key order (validateLabels,
// validateAnnotations), where upstream's first one is: they are reported
// together, after the name, namespace and generation.
func orderMapErrs(errs field.ErrorList, m metav1.Object) field.ErrorList {
	isMapErr := func(e *field.Error) bool { return e.Field == "metadata.labels" || e.Field == "metadata.annotations" }
	at := slices.IndexFunc(errs, isMapErr)
	if at < 0 {
		return errs
	}
	mapErrs := validateLabels(m.GetLabels(), field.NewPath("metadata", "labels"))
	mapErrs = append(mapErrs, validateAnnotations(m.GetAnnotations(), field.NewPath("metadata", "annotations"))...)
	return slices.Insert(slices.DeleteFunc(errs, isMapErr), at, mapErrs...)
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
	errs := orderMapErrs(apivalidation.ValidateObjectMetaAccessorUpdate(m, old, field.NewPath("metadata")), m)
	return append(errs, kubeFinalizerErrs(m)...)
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

// validateLabels is metav1validation.ValidateLabels walking the keys in
// order (upstream walks the map): each key's errors, then its value's.
func validateLabels(l map[string]string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(l)) {
		errs = append(errs, metav1validation.ValidateLabelName(k, path)...)
		for _, msg := range validation.IsValidLabelValue(l[k]) {
			errs = append(errs, field.Invalid(path, l[k], msg))
		}
	}
	return errs
}

// validateAnnotations is apivalidation.ValidateAnnotations walking the keys
// in order: each key (a qualified name in any case), then the total size.
func validateAnnotations(a map[string]string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(a)) {
		for _, msg := range validation.IsQualifiedName(strings.ToLower(k)) {
			errs = append(errs, field.Invalid(path, k, msg))
		}
	}
	if apivalidation.ValidateAnnotationsSize(a) != nil {
		errs = append(errs, field.TooLong(path, "", apivalidation.TotalAnnotationSizeLimitB))
	}
	return errs
}

// validateLabelSelector is metav1validation.ValidateLabelSelector (strict:
// label values checked) with matchLabels in key order.
func validateLabelSelector(sel *metav1.LabelSelector, path *field.Path) field.ErrorList {
	if sel == nil {
		return nil
	}
	errs := validateLabels(sel.MatchLabels, path.Child("matchLabels"))
	for i, expr := range sel.MatchExpressions {
		errs = append(errs, metav1validation.ValidateLabelSelectorRequirement(expr, metav1validation.LabelSelectorValidationOptions{},
			path.Child("matchExpressions").Index(i))...)
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
		if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
			errs = append(errs, field.Invalid(p.Child("value"), t.Value, strings.Join(msgs, ";")))
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

func validateEvent(e *v1.Event) field.ErrorList {
	var errs field.ErrorList
	if e.InvolvedObject.Namespace != "" && e.InvolvedObject.Namespace != e.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("involvedObject", "namespace"), e.InvolvedObject.Namespace, "does not match event.namespace"))
	}
	return errs
}

// ---- scheduling, discovery, coordination ----

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
