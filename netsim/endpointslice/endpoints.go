package endpointslice

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// SelectPods returns the pods of svc's namespace that svc's selector
// matches, in the order given. A Service without a selector selects nothing
// (its EndpointSlices are managed by someone else).
func SelectPods(svc *v1.Service, pods []*v1.Pod) []*v1.Pod {
	if svc.Spec.Selector == nil {
		return nil
	}
	sel := labels.SelectorFromValidatedSet(svc.Spec.Selector)
	var out []*v1.Pod
	for _, p := range pods {
		if p.Namespace == svc.Namespace && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// IsPodReady reports whether the pod's Ready condition is True.
func IsPodReady(pod *v1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// ShouldPodBeInEndpoints is upstream's rule: the pod has an IP and is not
// terminal (Succeeded/Failed). Terminating pods are included.
func ShouldPodBeInEndpoints(pod *v1.Pod) bool {
	if pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
		return false
	}
	return pod.Status.PodIP != "" || len(pod.Status.PodIPs) > 0
}

// podToEndpoint builds the endpoint for pod (§7.1): ready = publishNotReady
// || (serving && !terminating), serving = pod Ready, terminating = pod has a
// deletionTimestamp; nodeName, zone (from the node's
// topology.kubernetes.io/zone label) and hostname when the pod's subdomain
// names the service.
func podToEndpoint(pod *v1.Pod, node *v1.Node, svc *v1.Service, addressType discovery.AddressType) discovery.Endpoint {
	serving := IsPodReady(pod)
	terminating := pod.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discovery.Endpoint{
		Addresses: endpointAddresses(pod.Status, addressType),
		Conditions: discovery.EndpointConditions{
			Ready:       &ready,
			Serving:     &serving,
			Terminating: &terminating,
		},
		TargetRef: &v1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if pod.Spec.NodeName != "" {
		n := pod.Spec.NodeName
		ep.NodeName = &n
	}
	if node != nil && node.Labels[v1.LabelTopologyZone] != "" {
		z := node.Labels[v1.LabelTopologyZone]
		ep.Zone = &z
	}
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
		h := pod.Spec.Hostname
		ep.Hostname = &h
	}
	return ep
}

// endpointAddresses returns the pod IPs of the address type, normalised.
// When status.podIPs is empty, status.podIP is used (kubesim's kubelet may
// set only the latter).
func endpointAddresses(status v1.PodStatus, addressType discovery.AddressType) []string {
	ips := make([]string, 0, len(status.PodIPs))
	for _, p := range status.PodIPs {
		ips = append(ips, p.IP)
	}
	if len(ips) == 0 && status.PodIP != "" {
		ips = append(ips, status.PodIP)
	}
	out := make([]string, 0, len(ips))
	var buf [64]byte
	for _, s := range ips {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		addr = addr.Unmap()
		if (addr.Is4() && addressType == discovery.AddressTypeIPv4) || (addr.Is6() && addressType == discovery.AddressTypeIPv6) {
			if b := addr.AppendTo(buf[:0]); string(b) != s {
				s = string(b) // normalised
			}
			out = append(out, s)
		}
	}
	return out
}

// endpointPorts resolves the service's ports for pod: numeric targetPorts
// as given, named ones looked up in the pod's container ports (and
// restartable init containers) with the same protocol. Ports that cannot be
// resolved are left out, as upstream.
func endpointPorts(svc *v1.Service, pod *v1.Pod) []discovery.EndpointPort {
	out := []discovery.EndpointPort{}
	if len(svc.Spec.Ports) == 0 && svc.Spec.ClusterIP == v1.ClusterIPNone {
		return out
	}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		num, ok := FindPort(pod, sp)
		if !ok {
			continue
		}
		name, proto, port := sp.Name, protocol(sp.Protocol), num
		out = append(out, discovery.EndpointPort{Name: &name, Port: &port, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

// namedTargetPorts reports whether a port of svc names its targetPort, so
// that its endpoint ports depend on each pod's container ports.
func namedTargetPorts(svc *v1.Service) bool {
	for i := range svc.Spec.Ports {
		if tp := svc.Spec.Ports[i].TargetPort; tp.Type == intstr.String && tp.StrVal != "" {
			return true
		}
	}
	return false
}

func protocol(p v1.Protocol) v1.Protocol {
	if p == "" {
		return v1.ProtocolTCP
	}
	return p
}

// FindPort resolves a service port's targetPort for pod. A missing
// targetPort means the service port number; a named targetPort must match a
// container port's name and protocol.
func FindPort(pod *v1.Pod, sp *v1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == tp.StrVal && protocol(p.Protocol) == protocol(sp.Protocol) {
					return p.ContainerPort, true
				}
			}
		}
		for _, c := range pod.Spec.InitContainers {
			if c.RestartPolicy == nil || *c.RestartPolicy != v1.ContainerRestartPolicyAlways {
				continue
			}
			for _, p := range c.Ports {
				if p.Name == tp.StrVal && protocol(p.Protocol) == protocol(sp.Protocol) {
					return p.ContainerPort, true
				}
			}
		}
		return 0, false
	case tp.Type == intstr.Int && tp.IntVal != 0:
		return tp.IntVal, true
	default:
		return sp.Port, true
	}
}

// endpointKey identifies an endpoint across syncs (upstream's
// endpointHash): addresses, hostname and target pod. Conditions, node and
// zone may change in place.
type endpointKey string

func keyOf(ep *discovery.Endpoint) endpointKey {
	addrs := ep.Addresses
	if !slices.IsSorted(addrs) {
		addrs = slices.Sorted(slices.Values(addrs))
	}
	n := len(addrs) + 2
	for _, a := range addrs {
		n += len(a)
	}
	if ep.Hostname != nil {
		n += len(*ep.Hostname)
	}
	if ep.TargetRef != nil {
		n += len(ep.TargetRef.Namespace) + 1 + len(ep.TargetRef.Name)
	}
	var b strings.Builder
	b.Grow(n)
	for i, a := range addrs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a)
	}
	b.WriteByte('|')
	if ep.Hostname != nil {
		b.WriteString(*ep.Hostname)
	}
	b.WriteByte('|')
	if ep.TargetRef != nil {
		b.WriteString(ep.TargetRef.Namespace)
		b.WriteByte('/')
		b.WriteString(ep.TargetRef.Name)
	}
	return endpointKey(b.String())
}

// endpointSet is a set of desired endpoints that pops in a fixed order (by
// target pod, then addresses), where upstream pops in map order.
type endpointSet struct {
	byKey map[endpointKey]*discovery.Endpoint
	order []endpointKey // sorted lazily
	dirty bool
}

func newEndpointSet() *endpointSet {
	return &endpointSet{byKey: map[endpointKey]*discovery.Endpoint{}}
}

func (s *endpointSet) insert(ep *discovery.Endpoint) {
	k := keyOf(ep)
	if _, ok := s.byKey[k]; !ok {
		s.order = append(s.order, k)
		s.dirty = true
	}
	s.byKey[k] = ep
}

// take removes and returns the desired endpoint with ep's key, or nil.
func (s *endpointSet) take(ep *discovery.Endpoint) *discovery.Endpoint {
	k := keyOf(ep)
	want, ok := s.byKey[k]
	if ok {
		delete(s.byKey, k)
	}
	return want
}

func (s *endpointSet) len() int { return len(s.byKey) }

// pop removes and returns the first remaining endpoint in order.
func (s *endpointSet) pop() *discovery.Endpoint {
	if s.dirty {
		slices.SortFunc(s.order, func(a, b endpointKey) int {
			return compareEndpoints(s.byKey[a], s.byKey[b], a, b)
		})
		s.dirty = false
	}
	for len(s.order) > 0 {
		k := s.order[0]
		s.order = s.order[1:]
		if ep, ok := s.byKey[k]; ok {
			delete(s.byKey, k)
			return ep
		}
	}
	return nil
}

func compareEndpoints(a, b *discovery.Endpoint, ka, kb endpointKey) int {
	ra, rb := refName(a), refName(b)
	if c := cmp.Compare(ra, rb); c != 0 {
		return c
	}
	return cmp.Compare(ka, kb)
}

func refName(ep *discovery.Endpoint) string {
	if ep == nil || ep.TargetRef == nil {
		return ""
	}
	return ep.TargetRef.Namespace + "/" + ep.TargetRef.Name
}

// endpointsEqualBeyondKey is upstream's EndpointsEqualBeyondHash: node,
// zone, conditions and target (ignoring its resourceVersion).
func endpointsEqualBeyondKey(a, b *discovery.Endpoint) bool {
	if !eqPtr(a.NodeName, b.NodeName) || !eqPtr(a.Zone, b.Zone) ||
		!eqPtr(a.Conditions.Ready, b.Conditions.Ready) ||
		!eqPtr(a.Conditions.Serving, b.Conditions.Serving) ||
		!eqPtr(a.Conditions.Terminating, b.Conditions.Terminating) {
		return false
	}
	if (a.TargetRef == nil) != (b.TargetRef == nil) {
		return false
	}
	if a.TargetRef != nil {
		ra, rb := *a.TargetRef, *b.TargetRef
		ra.ResourceVersion, rb.ResourceVersion = "", ""
		if ra != rb {
			return false
		}
	}
	return true
}

func eqPtr[T comparable](a, b *T) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	return a == nil || *a == *b
}

// portMapKey identifies a distinct list of endpoint ports, in any order.
type portMapKey string

func keyOfPorts(ports []discovery.EndpointPort) portMapKey {
	if len(ports) == 1 {
		return portMapKey(portKey(&ports[0]))
	}
	parts := make([]string, 0, len(ports))
	for i := range ports {
		parts = append(parts, portKey(&ports[i]))
	}
	slices.Sort(parts)
	return portMapKey(strings.Join(parts, ";"))
}

// portKey is one port's part of a portMapKey: name/protocol/port/appProtocol.
func portKey(p *discovery.EndpointPort) string {
	return deref(p.Name) + "/" + deref(p.Protocol) + "/" + derefInt(p.Port) + "/" + deref(p.AppProtocol)
}

func deref[T ~string](p *T) string {
	if p == nil {
		return "<nil>"
	}
	return string(*p)
}

func derefInt(p *int32) string {
	if p == nil {
		return "<nil>"
	}
	return strconv.Itoa(int(*p))
}

// sortPorts orders a slice's ports by name, then number, then protocol.
func sortPorts(ports []discovery.EndpointPort) {
	slices.SortStableFunc(ports, func(a, b discovery.EndpointPort) int {
		return cmp.Compare(portKey(&a), portKey(&b))
	})
}

// generateNamePrefix is upstream's getEndpointSlicePrefix: "<svc>-" when
// that is a valid name prefix, else the service name.
func generateNamePrefix(svcName string) string {
	prefix := svcName + "-"
	if len(apivalidation.NameIsDNSSubdomain(prefix, true)) != 0 {
		return svcName
	}
	return prefix
}

// ownedBy reports whether slice has an owner reference to svc.
func ownedBy(slice *discovery.EndpointSlice, svc *v1.Service) bool {
	for _, o := range slice.OwnerReferences {
		if o.UID == svc.UID && o.Kind == "Service" && o.APIVersion == "v1" {
			return true
		}
	}
	return false
}

func isReservedLabel(k string) bool {
	return k == discovery.LabelServiceName || k == discovery.LabelManagedBy || k == v1.IsHeadlessService
}

// sliceLabels returns the labels a slice of svc must carry and whether the
// slice's copy of the service's own labels is out of date.
func sliceLabels(slice *discovery.EndpointSlice, svc *v1.Service, controller string) (map[string]string, bool) {
	have := map[string]string{}
	for k, v := range slice.Labels {
		if !isReservedLabel(k) {
			have[k] = v
		}
	}
	want := map[string]string{}
	for k, v := range svc.Labels {
		if !isReservedLabel(k) {
			want[k] = v
		}
	}
	changed := !maps.Equal(have, want)
	if svc.Spec.ClusterIP == v1.ClusterIPNone || svc.Spec.ClusterIP == "" {
		want[v1.IsHeadlessService] = ""
	}
	want[discovery.LabelServiceName] = svc.Name
	want[discovery.LabelManagedBy] = controller
	return want, changed
}

// newSlice returns an empty slice for svc with the given ports: generateName
// "<svc>-", labels, and a controller owner reference to the Service.
func newSlice(svc *v1.Service, ports []discovery.EndpointPort, addressType discovery.AddressType, controller string) *discovery.EndpointSlice {
	owner := metav1.NewControllerRef(svc, schema.GroupVersionKind{Version: "v1", Kind: "Service"})
	s := &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    generateNamePrefix(svc.Name),
			Namespace:       svc.Namespace,
			OwnerReferences: []metav1.OwnerReference{*owner},
		},
		Ports:       ports,
		AddressType: addressType,
		Endpoints:   []discovery.Endpoint{},
	}
	s.Labels, _ = sliceLabels(s, svc, controller)
	return s
}

// addressTypes lists the address types svc's slices use, in a fixed order
// (upstream's getAddressTypesForService).
func addressTypes(svc *v1.Service) []discovery.AddressType {
	var v4, v6 bool
	for _, f := range svc.Spec.IPFamilies {
		v4 = v4 || f == v1.IPv4Protocol
		v6 = v6 || f == v1.IPv6Protocol
	}
	if !v4 && !v6 {
		if ip := svc.Spec.ClusterIP; ip != "" && ip != v1.ClusterIPNone {
			if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
				v6 = true
			} else {
				v4 = true
			}
		} else {
			v4, v6 = true, true
		}
	}
	var out []discovery.AddressType
	if v4 {
		out = append(out, discovery.AddressTypeIPv4)
	}
	if v6 {
		out = append(out, discovery.AddressTypeIPv6)
	}
	return out
}
