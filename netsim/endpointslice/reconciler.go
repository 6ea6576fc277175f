package endpointslice

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
)

// ControllerName is the managed-by label value of the slices this
// reconciler manages.
const ControllerName = "endpointslice-controller.k8s.io"

// DefaultMaxEndpointsPerSlice is kube-controller-manager's
// --max-endpoints-per-slice default.
const DefaultMaxEndpointsPerSlice = 100

// Reconciler computes how a Service's EndpointSlices must change. It is
// pure: it reads its inputs (never modifying them) and returns a Plan.
type Reconciler struct {
	// MaxEndpointsPerSlice caps endpoints per slice (1-1000); 0 means 100.
	MaxEndpointsPerSlice int
	// ControllerName is the managed-by label value; "" means ControllerName.
	ControllerName string
}

// NodeGetter looks a node up by name (the controller's node informer cache).
type NodeGetter func(name string) (*v1.Node, bool)

// Plan is the outcome of one reconcile: API writes to make, in this order
// (creates, updates, deletes), as upstream's finalize.
type Plan struct {
	// Create holds new slices: GenerateName "<svc>-" and no Name; the API
	// server names them.
	Create []*discovery.EndpointSlice
	// Update holds full replacement objects for existing slices (fresh
	// copies carrying the existing names and resourceVersions).
	Update []*discovery.EndpointSlice
	// Delete holds existing slices to delete (the objects passed in).
	Delete []*discovery.EndpointSlice
	// Added and Removed count endpoints added to and removed from slices
	// (upstream's endpoints_added/removed_per_sync).
	Added, Removed int
	// Errs lists pods that were skipped because their node is unknown; the
	// controller should retry the service later (upstream requeues).
	Errs []error
}

// Empty reports whether the plan makes no API write.
func (p Plan) Empty() bool { return len(p.Create)+len(p.Update)+len(p.Delete) == 0 }

func (r Reconciler) max() int {
	if r.MaxEndpointsPerSlice <= 0 {
		return DefaultMaxEndpointsPerSlice
	}
	return r.MaxEndpointsPerSlice
}

func (r Reconciler) controller() string {
	if r.ControllerName == "" {
		return ControllerName
	}
	return r.ControllerName
}

// Reconcile follows upstream's Reconciler.Reconcile
// (staging/src/k8s.io/endpointslice/reconciler.go) for svc, the pods its
// selector matches (see SelectPods), and its existing slices (those labelled
// kubernetes.io/service-name=<svc> and managed by this controller). Per
// address type and distinct port list it
//
//  1. removes endpoints no longer desired and updates changed ones in place;
//  2. fills the slices it is updating anyway, fullest first;
//  3. puts the remaining endpoints into the one unchanged slice they fit
//     into most tightly, or into new slices, without re-packing;
//
// keeps one empty placeholder slice when there is nothing to publish, and
// turns creates into updates of slices it would delete.
//
// Where upstream iterates maps, kubesim uses a fixed order: existing slices
// by name, desired endpoints by target pod, slices being filled by size
// (fullest first) then name. triggerTime, when not zero, is written to the
// endpoints.kubernetes.io/last-change-trigger-time annotation of written
// slices.
func (r Reconciler) Reconcile(svc *v1.Service, pods []*v1.Pod, existing []*discovery.EndpointSlice, nodes NodeGetter, triggerTime time.Time) Plan {
	var plan Plan
	types := addressTypes(svc)
	existing = slices.Clone(existing)
	slices.SortFunc(existing, func(a, b *discovery.EndpointSlice) int { return cmp.Compare(a.Name, b.Name) })

	var unsupported []*discovery.EndpointSlice
	byType := map[discovery.AddressType][]*discovery.EndpointSlice{}
	for _, s := range existing {
		if !slices.Contains(types, s.AddressType) {
			unsupported = append(unsupported, s)
			continue
		}
		byType[s.AddressType] = append(byType[s.AddressType], s)
	}
	// Upstream finalizes each address type on its own, then deletes the
	// slices of address types the Service no longer has.
	for _, at := range types {
		c, u, d := r.reconcileAddressType(&plan, svc, pods, byType[at], nodes, at)
		c, u, d = recycle(svc, c, u, d)
		plan.Create = append(plan.Create, c...)
		plan.Update = append(plan.Update, u...)
		plan.Delete = append(plan.Delete, d...)
	}
	plan.Delete = append(plan.Delete, unsupported...)
	r.finalize(&plan, svc, triggerTime)
	return plan
}

// placeholderEqual compares placeholder slices as upstream does: ObjectMeta
// only by namespace and labels, everything else deeply (nil and empty
// slices alike).
var placeholderEqual = conversion.EqualitiesOrDie(
	func(a, b metav1.OwnerReference) bool { return a.String() == b.String() },
	func(a, b metav1.ObjectMeta) bool { return a.Namespace == b.Namespace && maps.Equal(a.Labels, b.Labels) },
)

func (r Reconciler) reconcileAddressType(plan *Plan, svc *v1.Service, pods []*v1.Pod, existing []*discovery.EndpointSlice,
	nodes NodeGetter, at discovery.AddressType) (create, update, del []*discovery.EndpointSlice) {
	existingByPorts := map[portMapKey][]*discovery.EndpointSlice{}
	var portKeys []portMapKey
	for _, s := range existing {
		if !ownedBy(s, svc) {
			del = append(del, s)
			continue
		}
		k := keyOfPorts(s.Ports)
		if _, ok := existingByPorts[k]; !ok {
			portKeys = append(portKeys, k)
		}
		existingByPorts[k] = append(existingByPorts[k], s)
	}

	desired := map[portMapKey]*endpointSet{}
	desiredPorts := map[portMapKey][]discovery.EndpointPort{}
	// Without a named targetPort every pod gets the same ports: resolve
	// them once.
	var samePorts []discovery.EndpointPort
	var sameKey portMapKey
	if !namedTargetPorts(svc) {
		samePorts = endpointPorts(svc, nil)
		sortPorts(samePorts)
		sameKey = keyOfPorts(samePorts)
	}
	for _, pod := range pods {
		if !ShouldPodBeInEndpoints(pod) {
			continue
		}
		ports, k := samePorts, sameKey
		if ports == nil {
			ports = endpointPorts(svc, pod)
			sortPorts(ports)
			k = keyOfPorts(ports)
		}
		if _, ok := desired[k]; !ok {
			desired[k] = newEndpointSet()
			desiredPorts[k] = ports
		}
		var node *v1.Node
		if nodes != nil {
			if n, ok := nodes(pod.Spec.NodeName); ok {
				node = n
			} else if !svc.Spec.PublishNotReadyAddresses {
				plan.Errs = append(plan.Errs, fmt.Errorf("skipping Pod %s for Service %s/%s: Node %s Not Found", pod.Name, svc.Namespace, svc.Name, pod.Spec.NodeName))
				continue
			}
		}
		ep := podToEndpoint(pod, node, svc, at)
		if len(ep.Addresses) > 0 {
			desired[k].insert(&ep)
		}
	}

	keys := make([]portMapKey, 0, len(desired))
	for k := range desired {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c, u, d := r.reconcilePorts(plan, svc, existingByPorts[k], desired[k], desiredPorts[k], at)
		create = append(create, c...)
		update = append(update, u...)
		del = append(del, d...)
	}
	for _, k := range portKeys {
		if _, ok := desired[k]; !ok {
			del = append(del, existingByPorts[k]...)
		}
	}

	if len(existing) == len(del) && len(create) == 0 {
		ph := newSlice(svc, []discovery.EndpointPort{}, at, r.controller())
		if len(del) == 1 && placeholderEqual.DeepEqual(del[0], ph) {
			del = del[:0]
		} else {
			create = append(create, ph)
		}
	}
	return create, update, del
}

// reconcilePorts is upstream's reconcileByPortMapping.
func (r Reconciler) reconcilePorts(plan *Plan, svc *v1.Service, existing []*discovery.EndpointSlice, desired *endpointSet,
	ports []discovery.EndpointPort, at discovery.AddressType) (create, update, del []*discovery.EndpointSlice) {
	max := r.max()
	byName := map[string]*discovery.EndpointSlice{}
	var unchanged, toUpdate []string // names, in existing (name) order

	// 1. Drop endpoints no longer desired; update changed ones in place.
	for _, s := range existing {
		byName[s.Name] = s
		kept := []discovery.Endpoint{}
		changed := false
		for i := range s.Endpoints {
			ep := &s.Endpoints[i]
			if want := desired.take(ep); want != nil {
				kept = append(kept, *want)
				if !endpointsEqualBeyondKey(want, ep) {
					changed = true
				}
			}
		}
		labels, labelsChanged := sliceLabels(s, svc, r.controller())
		switch {
		case changed || len(kept) != len(s.Endpoints):
			plan.Removed += len(s.Endpoints) - len(kept)
			if len(kept) == 0 {
				del = append(del, s)
			} else {
				c := s.DeepCopy()
				c.Endpoints = kept
				c.Labels = labels
				byName[s.Name] = c
				toUpdate = append(toUpdate, s.Name)
			}
		case labelsChanged:
			c := s.DeepCopy()
			c.Labels = labels
			byName[s.Name] = c
			toUpdate = append(toUpdate, s.Name)
		default:
			unchanged = append(unchanged, s.Name)
		}
	}
	plan.Added += desired.len()

	// 2. Fill the slices being updated anyway, fullest first.
	if desired.len() > 0 && len(toUpdate) > 0 {
		fill := slices.Clone(toUpdate)
		slices.SortStableFunc(fill, func(a, b string) int {
			return cmp.Compare(len(byName[b].Endpoints), len(byName[a].Endpoints))
		})
		for _, name := range fill {
			s := byName[name]
			for desired.len() > 0 && len(s.Endpoints) < max {
				s.Endpoints = append(s.Endpoints, *desired.pop())
			}
		}
	}

	// 3. Fit the rest into one unchanged slice if possible, else new slices.
	for desired.len() > 0 {
		var target *discovery.EndpointSlice
		if desired.len() < max && len(unchanged) > 0 {
			target = sliceToFill(unchanged, byName, desired.len(), max)
		}
		if target == nil {
			target = newSlice(svc, slices.Clone(ports), at, r.controller())
		} else {
			target = target.DeepCopy()
			byName[target.Name] = target
		}
		for desired.len() > 0 && len(target.Endpoints) < max {
			target.Endpoints = append(target.Endpoints, *desired.pop())
		}
		if target.Name != "" {
			toUpdate = append(toUpdate, target.Name)
			unchanged = slices.DeleteFunc(unchanged, func(n string) bool { return n == target.Name })
		} else {
			create = append(create, target)
		}
	}

	slices.Sort(toUpdate)
	for _, name := range toUpdate {
		update = append(update, byName[name])
	}
	return create, update, del
}

// sliceToFill is upstream's getSliceToFill: the slice closest to full after
// adding n endpoints, or nil if none has room. Ties go to the first name.
func sliceToFill(names []string, byName map[string]*discovery.EndpointSlice, n, max int) *discovery.EndpointSlice {
	closest := max
	var best *discovery.EndpointSlice
	for _, name := range names {
		s := byName[name]
		diff := max - (n + len(s.Endpoints))
		if diff >= 0 && diff < closest {
			closest, best = diff, s
			if diff == 0 {
				break
			}
		}
	}
	return best
}

// recycle is the first step of upstream's finalize, run per address type:
// creates become updates of slices that would be deleted (same address
// type, owned by the service). Like upstream it pairs the last create with
// each delete in turn, and the recycled slice takes only the old slice's
// name: the update carries no resourceVersion, so the API server applies
// it unconditionally.
func recycle(svc *v1.Service, create, update, del []*discovery.EndpointSlice) ([]*discovery.EndpointSlice, []*discovery.EndpointSlice, []*discovery.EndpointSlice) {
	for i := 0; i < len(del) && len(create) > 0; {
		old := del[i]
		c := create[len(create)-1]
		if old.AddressType == c.AddressType && ownedBy(old, svc) {
			c.Name = old.Name
			create = create[:len(create)-1]
			update = append(update, c)
			del = slices.Delete(del, i, i+1)
		} else {
			i++
		}
	}
	return create, update, del
}

// finalize is the rest of upstream's finalize minus the API calls: no
// creates for a service being deleted, trigger-time annotations on
// everything written.
func (r Reconciler) finalize(plan *Plan, svc *v1.Service, triggerTime time.Time) {
	if svc.DeletionTimestamp != nil {
		plan.Create = nil
	}
	for _, s := range plan.Create {
		setTriggerTime(s, triggerTime)
	}
	for _, s := range plan.Update {
		setTriggerTime(s, triggerTime)
	}
}

func setTriggerTime(s *discovery.EndpointSlice, t time.Time) {
	if t.IsZero() {
		if s.Annotations != nil {
			delete(s.Annotations, v1.EndpointsLastChangeTriggerTime)
		}
		return
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[v1.EndpointsLastChangeTriggerTime] = t.UTC().Format(time.RFC3339Nano)
}
