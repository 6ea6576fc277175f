package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
	v1 "k8s.io/api/core/v1"
)

// Marshal writes a scenario as YAML that Load reads back to the same
// scenario: every field the loader fills is written, defaults are left
// out, and the manifests of spec.files are inlined under spec.objects so
// that the output is one self-contained file (the property tests print a
// shrunk failing case this way, for `kubesim run` to reproduce). Manifests
// are written as their authors wrote them (Manifest.JSON) or, for ones
// built in Go, from the typed object with null fields left out. Nothing
// depends on map order: keys are sorted.
func Marshal(s *Scenario) ([]byte, error) {
	e := &encoder{}
	root := e.mapping(
		"apiVersion", str(APIVersion),
		"kind", str(Kind),
		"metadata", e.metadata(s.Metadata),
		"spec", e.spec(&s.Spec),
	)
	if e.err != nil {
		return nil, e.err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type encoder struct {
	err error
}

// mapping builds a block mapping from key, value pairs; nil values are
// left out.
func (e *encoder) mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		v, _ := kv[i+1].(*yaml.Node)
		if v == nil {
			continue
		}
		n.Content = append(n.Content, str(kv[i].(string)), v)
	}
	return n
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func integer(v int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v, 10)}
}

func uinteger(v uint64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(v, 10)}
}

func number(v float64) *yaml.Node {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	tag := "!!float"
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		tag = "!!int"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s}
}

func boolean(v bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

// strMap writes a string map with sorted keys (nil when empty).
func strMap(m map[string]string) *yaml.Node {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, k := range keys {
		n.Content = append(n.Content, str(k), str(m[k]))
	}
	return n
}

func (e *encoder) metadata(m Metadata) *yaml.Node {
	var desc *yaml.Node
	if m.Description != "" {
		desc = str(m.Description)
	}
	return e.mapping("name", str(m.Name), "description", desc)
}

func (e *encoder) spec(sp *Spec) *yaml.Node {
	var proxy, cluster, objects, events, expect *yaml.Node
	if sp.ProxyMode != "" && sp.ProxyMode != ProxyRoundRobin {
		proxy = str(string(sp.ProxyMode))
	}
	if len(sp.Cluster.Nodes) > 0 {
		var groups []*yaml.Node
		for _, g := range sp.Cluster.Nodes {
			groups = append(groups, e.nodeGroup(g))
		}
		cluster = e.mapping("nodes", seq(groups...))
	}
	if all := slices.Concat(sp.Objects, sp.FileObjects); len(all) > 0 {
		objects = seq()
		for _, m := range all {
			objects.Content = append(objects.Content, e.manifest(m))
		}
	}
	if len(sp.Events) > 0 {
		events = seq()
		for _, ev := range sp.Events {
			events.Content = append(events.Content, e.event(ev))
		}
	}
	if len(sp.Expect) > 0 {
		expect = seq()
		for i := range sp.Expect {
			expect.Content = append(expect.Content, e.expectation(&sp.Expect[i]))
		}
	}
	return e.mapping(
		"seed", uinteger(sp.Seed),
		"duration", str(FormatDuration(sp.Duration)),
		"proxyMode", proxy,
		"cluster", cluster,
		"objects", objects,
		"events", events,
		"expect", expect,
	)
}

// resources writes a resource list with sorted names (nil when empty).
func resources(rl v1.ResourceList) *yaml.Node {
	if len(rl) == 0 {
		return nil
	}
	names := make([]string, 0, len(rl))
	for k := range rl {
		names = append(names, string(k))
	}
	slices.Sort(names)
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, k := range names {
		q := rl[v1.ResourceName(k)]
		n.Content = append(n.Content, str(k), str(q.String()))
	}
	return n
}

func sameResources(a, b v1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, q := range a {
		if o, ok := b[k]; !ok || o.Cmp(q) != 0 {
			return false
		}
	}
	return true
}

func (e *encoder) nodeGroup(g NodeGroup) *yaml.Node {
	var count, zone, alloc *yaml.Node
	if g.Count > 1 {
		count = integer(int64(g.Count))
	}
	labels := g.Labels
	if g.Zone != "" && labels[ZoneLabel] == g.Zone {
		zone = str(g.Zone)
		labels = make(map[string]string, len(g.Labels))
		for k, v := range g.Labels {
			if k != ZoneLabel {
				labels[k] = v
			}
		}
	}
	if !sameResources(g.Allocatable, g.Capacity) {
		alloc = resources(g.Allocatable)
	}
	return e.mapping(
		"name", str(g.Name),
		"count", count,
		"zone", zone,
		"capacity", resources(g.Capacity),
		"allocatable", alloc,
		"labels", strMap(labels),
		"taints", taintList(g.Taints),
	)
}

func taintList(ts []v1.Taint) *yaml.Node {
	if len(ts) == 0 {
		return nil
	}
	n := seq()
	for _, t := range ts {
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{str("key"), str(t.Key)}}
		if t.Value != "" {
			m.Content = append(m.Content, str("value"), str(t.Value))
		}
		if t.Effect != "" {
			m.Content = append(m.Content, str("effect"), str(string(t.Effect)))
		}
		n.Content = append(n.Content, m)
	}
	return n
}

// manifest writes a manifest as written (JSON) or from its typed object.
func (e *encoder) manifest(m Manifest) *yaml.Node {
	data := m.JSON
	if data == nil {
		if m.Object == nil {
			e.fail(fmt.Errorf("%s: manifest %s has neither JSON nor an object", m.Source, m.Ref()))
			return str("")
		}
		var err error
		if data, err = json.Marshal(m.Object); err != nil {
			e.fail(fmt.Errorf("%s: cannot encode %s: %w", m.Source, m.Ref(), err))
			return str("")
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		e.fail(fmt.Errorf("%s: cannot re-read %s as YAML: %v", m.Source, m.Ref(), err))
		return str("")
	}
	n := doc.Content[0]
	if m.JSON == nil {
		pruneGenerated(n, 0)
		if m.Resource.Namespaced && m.Namespace != "" && m.Namespace != DefaultNamespace {
			setNamespace(n, m.Namespace)
		}
	}
	blockStyle(n)
	return n
}

// pruneGenerated drops what encoding a typed object adds that nobody
// writes: null fields and an empty top-level status.
func pruneGenerated(n *yaml.Node, depth int) {
	if n.Kind != yaml.MappingNode {
		for _, c := range n.Content {
			pruneGenerated(c, depth+1)
		}
		return
	}
	var kept []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Tag == "!!null" {
			continue
		}
		if depth == 0 && k.Value == "status" && v.Kind == yaml.MappingNode && len(v.Content) == 0 {
			continue
		}
		pruneGenerated(v, depth+1)
		kept = append(kept, k, v)
	}
	n.Content = kept
}

// setNamespace sets metadata.namespace in a manifest mapping.
func setNamespace(n *yaml.Node, ns string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "metadata" && n.Content[i+1].Kind == yaml.MappingNode {
			md := n.Content[i+1]
			for j := 0; j+1 < len(md.Content); j += 2 {
				if md.Content[j].Value == "namespace" {
					md.Content[j+1] = str(ns)
					return
				}
			}
			md.Content = append(md.Content, str("namespace"), str(ns))
			return
		}
	}
}

// blockStyle clears the flow and quoting styles JSON input carries, so the
// encoder writes ordinary block YAML (quoting only where a plain scalar
// would read as another type).
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *encoder) event(ev Event) *yaml.Node {
	var ns *yaml.Node
	if ev.Namespace != "" && ev.Namespace != DefaultNamespace {
		ns = str(ev.Namespace)
	}
	if ev.Action == ActionApply && ev.Object != nil && !ev.Object.Resource.Namespaced {
		ns = nil
	}
	n := e.mapping("at", str(FormatDuration(ev.At)), "action", str(string(ev.Action)), "namespace", ns)
	add := func(k string, v *yaml.Node) {
		if v != nil {
			n.Content = append(n.Content, str(k), v)
		}
	}
	switch ev.Action {
	case ActionCrashNode, ActionPartitionNode, ActionRecoverNode, ActionDeleteNode, ActionCordon, ActionUncordon, ActionDrain:
		add("node", str(ev.Node))
	case ActionAddNode:
		if ev.Group != nil {
			add("group", e.nodeGroup(*ev.Group))
		}
	case ActionFailZone, ActionRecoverZone:
		add("zone", str(ev.Zone))
	case ActionApply:
		if ev.Object != nil {
			add("object", e.manifest(*ev.Object))
		}
	case ActionDelete, ActionRolloutRestart:
		add("target", str(ev.Target.String()))
	case ActionScale:
		add("target", str(ev.Target.String()))
		add("replicas", integer(int64(ev.Replicas)))
	case ActionSetLoad:
		add("service", str(ev.Service))
		add("rps", number(ev.RPS))
		e.ramp(ev, add)
		if ev.From != "" {
			add("from", str(ev.From))
		}
	case ActionSetPodLoad:
		add("target", str(ev.Target.String()))
		add("rps", number(ev.RPS))
		e.ramp(ev, add)
	case ActionKillPod:
		add("target", str(ev.Target.String()))
		if ev.Container != "" {
			add("container", str(ev.Container))
		}
	case ActionRolloutUndo:
		add("target", str(ev.Target.String()))
		if ev.ToRevision != 0 {
			add("toRevision", integer(ev.ToRevision))
		}
	case ActionLabelNode:
		add("node", str(ev.Node))
		add("labels", strMap(ev.Labels))
		if len(ev.RemoveLabels) > 0 {
			rm := seq()
			for _, k := range ev.RemoveLabels {
				rm.Content = append(rm.Content, str(k))
			}
			add("removeLabels", rm)
		}
	case ActionTaintNode, ActionUntaintNode:
		add("node", str(ev.Node))
		add("taints", taintList(ev.Taints))
	default:
		e.fail(fmt.Errorf("%s: cannot encode action %q", ev.Source, ev.Action))
	}
	return n
}

func (e *encoder) ramp(ev Event, add func(string, *yaml.Node)) {
	if ev.RampTo != nil {
		add("rampTo", number(*ev.RampTo))
		add("rampDuration", str(FormatDuration(ev.RampDuration)))
	}
}

func (e *encoder) expectation(x *Expectation) *yaml.Node {
	var name *yaml.Node
	if x.Name != "" {
		name = str(x.Name)
	}
	var from *yaml.Node
	if x.Timing == TimingThroughout && x.From > 0 {
		from = str(FormatDuration(x.From))
	}
	n := e.mapping("name", name, string(x.Timing), str(FormatDuration(x.Time)), "from", from)
	add := func(k string, v *yaml.Node) {
		if v != nil {
			n.Content = append(n.Content, str(k), v)
		}
	}
	nsNode := func() {
		if x.Namespace != "" && x.Namespace != DefaultNamespace {
			add("namespace", str(x.Namespace))
		}
	}
	switch x.Kind {
	case ExpectGet:
		add("get", str(x.Target.String()))
		nsNode()
		add("jsonpath", str(x.JSONPath))
		add("equals", str(x.Text))
	case ExpectCount:
		add("count", str(x.Resource.Plural))
		nsNode()
		if x.AllNamespaces {
			add("allNamespaces", boolean(true))
		}
		if x.LabelSelector != "" {
			add("labelSelector", str(x.LabelSelector))
		}
		if x.FieldSelector != "" {
			add("fieldSelector", str(x.FieldSelector))
		}
		e.bounds(x.Bounds, true, add)
	case ExpectMetric:
		add("metric", str(x.Metric.String()))
		e.bounds(x.Bounds, false, add)
	default:
		e.fail(fmt.Errorf("%s: cannot encode expectation kind %q", x.Source, x.Kind))
	}
	return n
}

func (e *encoder) bounds(b Bounds, whole bool, add func(string, *yaml.Node)) {
	put := func(k string, v *float64) {
		if v == nil {
			return
		}
		if whole {
			add(k, integer(int64(*v)))
			return
		}
		add(k, number(*v))
	}
	put("equals", b.Equals)
	put("atLeast", b.AtLeast)
	put("atMost", b.AtMost)
}
