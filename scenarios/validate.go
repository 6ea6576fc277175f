package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
)

// The timeline checks replay the scenario without a cluster: which nodes
// and which user-created objects exist at each event, so that a reference to
// something that never exists (or no longer does) is an error before
// anything runs. Objects of Generated kinds (pods, replica sets, …) may be
// created by controllers, so a reference to one the scenario does not create
// is accepted where the action allows it.

type objKey struct {
	kind, namespace, name string
}

func (k objKey) String() string {
	s := strings.ToLower(k.kind) + "/" + k.name
	if k.namespace != "" {
		s += " in namespace " + k.namespace
	}
	return s
}

type nodeInfo struct {
	labels map[string]string
	// state is the machine's state (running, crashed, partitioned);
	// stateBy names the event that put it there, at stateAt ("" for a
	// node running since it was created).
	state   nodeState
	stateBy string
	stateAt time.Duration
}

// nodeState is a node's machine state as the faults leave it: the kubelet
// refuses a crash, partition or recovery that does not fit it.
type nodeState int

const (
	nodeRunning nodeState = iota
	nodeCrashed
	nodePartitioned
)

func (s nodeState) String() string {
	switch s {
	case nodeCrashed:
		return "crashed"
	case nodePartitioned:
		return "partitioned"
	}
	return "running"
}

// world is the replayed state at the current event.
type world struct {
	l     *loader
	file  string
	nodes map[string]nodeInfo
	// nodeOrder keeps node names in creation order for messages.
	nodeOrder []string
	objects   map[objKey]*Manifest
	gone      map[objKey]string // where an object (or node, kind "Node") was deleted
	created   map[objKey]time.Duration
	// namespaces is where each Namespace manifest of the scenario first
	// appears (objects, files, then apply events in time order), to tell
	// an object created before its namespace where the namespace comes.
	namespaces map[string]nsSource
	total      int // nodes ever created
	now        time.Duration
	// timeline is the scenario's events in the order they run.
	timeline []Event
}

// nsSource is where a Namespace manifest is, and when it is created.
type nsSource struct {
	src     Source
	at      time.Duration
	initial bool // in spec.objects or spec.files
}

func keyOf(r Resource, namespace, name string) objKey {
	if !r.Namespaced {
		namespace = ""
	}
	return objKey{kind: r.Kind, namespace: namespace, name: name}
}

func (l *loader) checkTimeline(s *Scenario) {
	w := &world{
		l: l, file: s.Source.File,
		nodes: map[string]nodeInfo{}, objects: map[objKey]*Manifest{},
		gone: map[objKey]string{}, created: map[objKey]time.Duration{},
	}
	for _, ns := range builtinNamespaces {
		w.created[objKey{kind: "Namespace", name: ns}] = 0
		w.objects[objKey{kind: "Namespace", name: ns}] = nil
	}
	for i, g := range s.Spec.Cluster.Nodes {
		w.addNodes(g, fmt.Sprintf("spec.cluster.nodes[%d]", i), "")
	}
	w.namespaces = map[string]nsSource{}
	for _, m := range s.InitialObjects() {
		if _, seen := w.namespaces[m.Name]; !seen && m.Resource.Kind == "Namespace" {
			w.namespaces[m.Name] = nsSource{src: m.Source, initial: true}
		}
	}
	w.timeline = s.Timeline()
	for _, e := range w.timeline {
		if m := e.Object; m != nil && m.Resource.Kind == "Namespace" {
			if _, seen := w.namespaces[m.Name]; !seen {
				w.namespaces[m.Name] = nsSource{src: m.Source, at: e.At}
			}
		}
	}
	for _, m := range s.InitialObjects() {
		w.create(m, "")
	}
	for _, e := range w.timeline {
		w.now = e.At
		w.event(e)
	}
	for _, e := range s.Spec.Expect {
		w.expectation(e)
	}
}

func (w *world) errorf(line int, path, format string, args ...any) {
	w.l.errs.add(w.file, line, 0, path, fmt.Sprintf(format, args...))
}

// addNodes records a group's nodes as running from now on; by names the
// addNode event ("" for spec.cluster.nodes).
func (w *world) addNodes(g NodeGroup, path, by string) {
	for _, name := range g.NodeNames() {
		if _, exists := w.nodes[name]; exists {
			w.errorf(g.Source.Line, path+".name", "node %q already exists", name)
			continue
		}
		w.total++
		if w.total > MaxNodes {
			w.errorf(g.Source.Line, path+".count", "a scenario may create at most %d nodes", MaxNodes)
			return
		}
		w.nodes[name] = nodeInfo{labels: g.Labels, stateBy: by, stateAt: w.now}
		w.nodeOrder = append(w.nodeOrder, name)
		delete(w.gone, objKey{kind: "Node", name: name})
		if _, seen := w.created[objKey{kind: "Node", name: name}]; !seen {
			w.created[objKey{kind: "Node", name: name}] = w.now
		}
	}
}

// create records a manifest as existing from now on (apply updates it).
func (w *world) create(m Manifest, applyPath string) {
	if m.Resource.Namespaced {
		nsKey := objKey{kind: "Namespace", name: m.Namespace}
		if _, ok := w.objects[nsKey]; !ok {
			msg := fmt.Sprintf("namespace %q does not exist", m.Namespace)
			if applyPath != "" {
				msg += " at " + FormatDuration(w.now)
			}
			later, comes := w.namespaces[m.Namespace]
			switch where, deleted := w.gone[nsKey]; {
			case deleted:
				msg += " (deleted by " + where + ")"
			case comes && later.initial && applyPath == "":
				msg = fmt.Sprintf("namespace %q does not exist yet: its Namespace manifest comes later, at %s (spec.objects are created first, then spec.files in order)", m.Namespace, later.src)
			case comes && !later.initial && later.at > w.now:
				msg += fmt.Sprintf(": it is created at %s (%s)", FormatDuration(later.at), later.src)
			default:
				msg += ": create it with a Namespace manifest before this object"
			}
			line, path := m.Source.Line, joinPath(m.path, "metadata.namespace")
			if m.nsLine > 0 {
				line, path = m.nsLine, m.nsPath
			}
			w.l.errs.add(m.Source.File, line, 0, path, msg)
			return
		}
	}
	k := keyOf(m.Resource, m.Namespace, m.Name)
	if prev, exists := w.objects[k]; exists && applyPath == "" {
		where := "a built-in object"
		if prev != nil {
			where = prev.Source.String()
		}
		line := m.Source.Line
		if m.nameLine > 0 {
			line = m.nameLine
		}
		w.l.errs.add(m.Source.File, line, 0, joinPath(m.path, "metadata.name"), fmt.Sprintf("%s is already defined at %s", k, where))
		return
	}
	mc := m
	w.objects[k] = &mc
	delete(w.gone, k)
	if _, seen := w.created[k]; !seen {
		w.created[k] = w.now
	}
}

// existingNodes lists the nodes that exist now, in creation order.
func (w *world) existingNodes() []string {
	return slices.DeleteFunc(slices.Clone(w.nodeOrder), func(n string) bool { _, ok := w.nodes[n]; return !ok })
}

func (w *world) nodeNames() string {
	names := w.existingNodes()
	if len(names) == 0 {
		return "there are no nodes then"
	}
	if len(names) > 6 {
		names = append(names[:6], "…")
	}
	return "nodes then: " + strings.Join(names, ", ")
}

// needNode checks that node exists at the current event.
func (w *world) needNode(e Event, field, name string) bool {
	if _, ok := w.nodes[name]; ok {
		return true
	}
	line, path := fieldLine(e.lines, field, e.Source), fmt.Sprintf("spec.events[%d].%s", e.Index, field)
	if where, deleted := w.gone[objKey{kind: "Node", name: name}]; deleted {
		w.errorf(line, path, "node %q was deleted by %s", name, where)
		return false
	}
	w.errorf(line, path, "node %q does not exist at %s%s (%s)", name, FormatDuration(e.At), suggestName(name, w.existingNodes()), w.nodeNames())
	return false
}

// nodeFault checks that a crash, partition or recovery fits the node's
// state, as the kubelet will (sim/kubelet Crash, Partition, Recover), and
// records the new state. A refused fault leaves the state as it was.
func (w *world) nodeFault(e Event, where string) {
	info := w.nodes[e.Node]
	var next nodeState
	var refuse string
	switch e.Action {
	case ActionCrashNode:
		next = nodeCrashed
		if info.state == nodeCrashed {
			refuse = "is already crashed at %s%s"
		}
	case ActionPartitionNode:
		next = nodePartitioned
		switch info.state {
		case nodePartitioned:
			refuse = "is already partitioned at %s%s"
		case nodeCrashed:
			refuse = "is crashed at %s%s: a crashed node cannot be partitioned (recover it first)"
		}
	case ActionRecoverNode:
		next = nodeRunning
		if info.state == nodeRunning {
			refuse = "is neither crashed nor partitioned at %s%s: there is nothing to recover"
		}
	}
	if refuse != "" {
		w.errorf(fieldLine(e.lines, "node", e.Source), fmt.Sprintf("spec.events[%d].node", e.Index),
			"node %q "+refuse+"%s", e.Node, FormatDuration(e.At), w.since(info, e), w.runsLater(e, e.Node))
		return
	}
	info.state, info.stateBy, info.stateAt = next, where, e.At
	w.nodes[e.Node] = info
}

// zoneFault checks that failZone finds a node to crash and recoverZone one
// to recover (otherwise the action does nothing, which is never what the
// author meant), and records the new states.
func (w *world) zoneFault(e Event, where string) {
	var names []string
	acts := 0
	for _, n := range w.nodeOrder {
		info, ok := w.nodes[n]
		if !ok || info.labels[ZoneLabel] != e.Zone {
			continue
		}
		names = append(names, n)
		if (e.Action == ActionFailZone && info.state != nodeCrashed) || (e.Action == ActionRecoverZone && info.state != nodeRunning) {
			acts++
		}
	}
	if acts == 0 {
		what := "every node of zone %q is already crashed at %s: there is nothing to fail (nodes: %s)%s"
		if e.Action == ActionRecoverZone {
			what = "no node of zone %q is crashed or partitioned at %s: there is nothing to recover (nodes: %s)%s"
		}
		later := ""
		for _, n := range names {
			if later = w.runsLater(e, n); later != "" {
				break
			}
		}
		w.errorf(fieldLine(e.lines, "zone", e.Source), fmt.Sprintf("spec.events[%d].zone", e.Index),
			what, e.Zone, FormatDuration(e.At), strings.Join(names, ", "), later)
		return
	}
	for _, n := range names {
		info := w.nodes[n]
		switch {
		case e.Action == ActionFailZone && info.state != nodeCrashed:
			info.state, info.stateBy, info.stateAt = nodeCrashed, where, e.At
		case e.Action == ActionRecoverZone && info.state != nodeRunning:
			info.state, info.stateBy, info.stateAt = nodeRunning, where, e.At
		}
		w.nodes[n] = info
	}
}

// since names the event that put a node in its state, with a reminder of
// the order when it runs at the same time as e.
func (w *world) since(info nodeInfo, e Event) string {
	switch {
	case info.stateBy == "":
		return ""
	case info.stateAt == e.At:
		return " (since " + info.stateBy + ", which runs first: events at the same time run in file order)"
	}
	return " (since " + info.stateBy + ")"
}

// runsLater points at a fault on node at the same time as e but later in
// the file, which the author may have meant to run first.
func (w *world) runsLater(e Event, node string) string {
	for _, o := range w.timeline {
		if o.At != e.At || o.Index <= e.Index {
			continue
		}
		hits := false
		switch o.Action {
		case ActionCrashNode, ActionPartitionNode, ActionRecoverNode:
			hits = o.Node == node
		case ActionFailZone, ActionRecoverZone:
			info, ok := w.nodes[node]
			hits = ok && info.labels[ZoneLabel] == o.Zone
		}
		if hits {
			return fmt.Sprintf("; spec.events[%d] (line %d, %s) runs after this one: events at the same time run in file order",
				o.Index, o.Source.Line, o.Action)
		}
	}
	return ""
}

// needObject checks that a user-created object exists at the current event.
// Objects of Generated kinds that the scenario never names are accepted
// when lenient is set.
func (w *world) needObject(e Event, field string, k objKey, lenient bool) (*Manifest, bool) {
	if m, ok := w.objects[k]; ok {
		return m, true
	}
	r, _ := resourceForKind(k.kind)
	_, everCreated := w.created[k]
	if lenient && r.Generated && !everCreated {
		if _, deleted := w.gone[k]; !deleted {
			return nil, true
		}
	}
	line, path := fieldLine(e.lines, field, e.Source), fmt.Sprintf("spec.events[%d].%s", e.Index, field)
	switch where, deleted := w.gone[k]; {
	case deleted:
		w.errorf(line, path, "%s was deleted by %s", k, where)
	case everCreated:
		w.errorf(line, path, "%s does not exist yet at %s (it is created at %s)", k, FormatDuration(e.At), FormatDuration(w.created[k]))
	default:
		w.errorf(line, path, "%s does not exist at %s: no manifest or apply event creates it before then%s", k, FormatDuration(e.At), w.elsewhere(k))
	}
	return nil, false
}

// elsewhere names the other namespaces where an object of k's kind and name
// exists now: the event most likely lacks its namespace.
func (w *world) elsewhere(k objKey) string {
	var in []string
	for o := range w.objects {
		if o.kind == k.kind && o.name == k.name && o.namespace != k.namespace {
			in = append(in, o.namespace)
		}
	}
	if len(in) == 0 {
		return ""
	}
	slices.Sort(in)
	if len(in) == 1 {
		return fmt.Sprintf(" (there is one in namespace %s: set the event's namespace)", in[0])
	}
	return fmt.Sprintf(" (namespaces %s each have one: set the event's namespace)", strings.Join(in, ", "))
}

func (w *world) event(e Event) {
	where := fmt.Sprintf("spec.events[%d] at %s (line %d)", e.Index, FormatDuration(e.At), e.Source.Line)
	switch e.Action {
	case ActionCrashNode, ActionPartitionNode, ActionRecoverNode:
		switch {
		case !w.needNode(e, "node", e.Node):
			w.l.skipNodeStates = true // which node it meant is unknown
		case !w.l.skipNodeStates:
			w.nodeFault(e, where)
		}
	case ActionCordon, ActionUncordon, ActionDrain, ActionTaintNode, ActionUntaintNode:
		w.needNode(e, "node", e.Node)
	case ActionLabelNode:
		if w.needNode(e, "node", e.Node) {
			info := w.nodes[e.Node]
			labels := map[string]string{}
			for k, v := range info.labels {
				labels[k] = v
			}
			for k, v := range e.Labels {
				labels[k] = v
			}
			for _, k := range e.RemoveLabels {
				delete(labels, k)
			}
			info.labels = labels
			w.nodes[e.Node] = info
		}
	case ActionDeleteNode:
		if w.needNode(e, "node", e.Node) {
			delete(w.nodes, e.Node)
			w.gone[objKey{kind: "Node", name: e.Node}] = where
		}
	case ActionAddNode:
		if e.Group != nil {
			w.addNodes(*e.Group, fmt.Sprintf("spec.events[%d].group", e.Index), where)
		}
	case ActionFailZone, ActionRecoverZone:
		var zones []string
		for _, n := range w.nodeOrder {
			if info, ok := w.nodes[n]; ok {
				if z := info.labels[ZoneLabel]; z != "" && !slices.Contains(zones, z) {
					zones = append(zones, z)
				}
			}
		}
		if !slices.Contains(zones, e.Zone) {
			known := "no node has a " + ZoneLabel + " label then"
			if len(zones) > 0 {
				known = "zones then: " + strings.Join(zones, ", ")
			}
			w.errorf(fieldLine(e.lines, "zone", e.Source), fmt.Sprintf("spec.events[%d].zone", e.Index),
				"no node is in zone %q at %s%s (%s)", e.Zone, FormatDuration(e.At), suggestName(e.Zone, zones), known)
			w.l.skipNodeStates = true // which zone it meant is unknown
			return
		}
		if !w.l.skipNodeStates {
			w.zoneFault(e, where)
		}
	case ActionApply:
		if e.Object != nil {
			w.create(*e.Object, "apply")
		}
	case ActionDelete:
		k := keyOf(e.Target.Resource, e.Namespace, e.Target.Name)
		if _, ok := w.needObject(e, "target", k, true); ok {
			delete(w.objects, k)
			w.gone[k] = where
			if k.kind == "Namespace" {
				for ok := range w.objects {
					if ok.namespace == k.name {
						delete(w.objects, ok)
						w.gone[ok] = where + " (its namespace)"
					}
				}
			}
		}
	case ActionScale, ActionSetPodLoad, ActionRolloutUndo, ActionRolloutRestart:
		w.needObject(e, "target", keyOf(e.Target.Resource, e.Namespace, e.Target.Name), false)
	case ActionKillPod:
		m, ok := w.needObject(e, "target", keyOf(e.Target.Resource, e.Namespace, e.Target.Name), e.Target.Resource.Kind == "Pod")
		if ok && m != nil && e.Container != "" {
			names := containerNames(m)
			if names != nil && !slices.Contains(names, e.Container) {
				w.errorf(fieldLine(e.lines, "container", e.Source), fmt.Sprintf("spec.events[%d].container", e.Index),
					"%s has no container %q%s (containers: %s)", e.Target, e.Container, suggest(e.Container, names), strings.Join(names, ", "))
			}
		}
	case ActionSetLoad:
		svcRes, _ := resourceForKind("Service")
		m, ok := w.needObject(e, "service", keyOf(svcRes, e.Namespace, e.Service), false)
		if svc, isSvc := objectOf(m).(*v1.Service); ok && isSvc {
			switch {
			case svc.Spec.Type == v1.ServiceTypeExternalName:
				w.errorf(fieldLine(e.lines, "service", e.Source), fmt.Sprintf("spec.events[%d].service", e.Index),
					"service %q is of type ExternalName and has no endpoints to carry load", e.Service)
			case e.From == FromExternal && svc.Spec.Type != v1.ServiceTypeNodePort && svc.Spec.Type != v1.ServiceTypeLoadBalancer:
				w.errorf(fieldLine(e.lines, "from", e.Source), fmt.Sprintf("spec.events[%d].from", e.Index),
					"external traffic enters through node ports, but service %q is of type %s (use NodePort or LoadBalancer)", e.Service, serviceType(svc))
			}
		}
		if e.From != "" && e.From != FromExternal {
			w.needNode(e, "from", e.From)
		}
	default:
		panic(fmt.Sprintf("scenarios: timeline check does not handle action %q", e.Action))
	}
}

// objectOf is a manifest's object; nil for a placeholder or a built-in.
func objectOf(m *Manifest) any {
	if m == nil {
		return nil
	}
	return m.Object
}

func serviceType(svc *v1.Service) string {
	if svc.Spec.Type == "" {
		return string(v1.ServiceTypeClusterIP)
	}
	return string(svc.Spec.Type)
}

// containerNames lists the containers of a pod or of a workload's
// template, then its init containers (sidecars among them): the kubelet
// kills any of them.
func containerNames(m *Manifest) []string {
	var spec *v1.PodSpec
	switch o := objectOf(m).(type) {
	case *v1.Pod:
		spec = &o.Spec
	case *appsv1.Deployment:
		spec = &o.Spec.Template.Spec
	case *appsv1.ReplicaSet:
		spec = &o.Spec.Template.Spec
	default:
		return nil
	}
	names := make([]string, 0, len(spec.Containers)+len(spec.InitContainers))
	for _, c := range spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range spec.InitContainers {
		names = append(names, c.Name)
	}
	return names
}

// expectation checks the references of an expectation: the namespace and,
// for kinds only scenarios create, the object must exist by its time (by
// the from of a throughout).
func (w *world) expectation(e Expectation) {
	path := fmt.Sprintf("spec.expect[%d]", e.Index)
	var r Resource
	switch e.Kind {
	case ExpectGet:
		r = e.Target.Resource
	case ExpectCount:
		r = e.Resource
	default:
		return
	}
	// A throughout is evaluated from its from on: what it reads must be
	// there by then, as by the time of an at or within.
	by := e.firstChecked()
	byText, missing := FormatDuration(by), ""
	if e.Timing == TimingThroughout {
		byText += " (the start of the throughout window)"
		missing = ": a missing object fails a throughout"
	}
	ns := e.namespaceFor(r)
	if ns != "" {
		if t, ok := w.created[objKey{kind: "Namespace", name: ns}]; !ok || t > by {
			w.errorf(fieldLine(e.lines, "namespace", e.Source), path+".namespace", "namespace %q is not created by %s", ns, byText)
			return
		}
	}
	if e.Kind != ExpectGet || r.Generated {
		return
	}
	k := keyOf(r, ns, e.Target.Name)
	t, ok := w.created[k]
	switch {
	case ok && t <= by:
	case ok:
		w.errorf(fieldLine(e.lines, "get", e.Source), path+".get", "%s is only created at %s, after %s%s", k, FormatDuration(t), byText, missing)
	case r.Kind == "Node":
		w.errorf(fieldLine(e.lines, "get", e.Source), path+".get", "node %q is never created%s", e.Target.Name, suggestName(e.Target.Name, w.nodeOrder))
	default:
		w.errorf(fieldLine(e.lines, "get", e.Source), path+".get", "%s is never created by the scenario", k)
	}
}
