package scenarios

import (
	"fmt"
	"math"
	"path"
	"path/filepath"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// scenario decodes a scenario file and runs the static checks.
func (l *loader) scenario(name string, data []byte) *Scenario {
	d := &fileDec{l: l, file: name}
	l.errs.rank(name)
	docs, errLine, errMsg := parseDocuments(data)
	if errLine > 0 {
		l.errs.add(name, errLine, 0, "", errMsg)
		return nil
	}
	if len(docs) == 0 {
		l.errs.add(name, 1, 0, "", "empty file: expected a scenario (apiVersion: "+APIVersion+", kind: "+Kind+")")
		return nil
	}
	if len(docs) > 1 {
		d.errorf(body(docs[1]), "", "a scenario file holds one YAML document; put manifests under spec.objects or in spec.files")
	}
	root := body(docs[0])
	d.expandMerges(root, "", 0, map[*yaml.Node]bool{})
	d.checkTree(root, "", 0)
	if resolve(root).Kind != yaml.MappingNode {
		d.errorf(root, "", "a scenario must be a mapping, not %s", describe(root))
		return nil
	}
	top, _ := d.mapping(root, "", "apiVersion", "kind", "metadata", "spec")
	s := &Scenario{APIVersion: APIVersion, Kind: Kind, Source: Source{File: name, Line: 1}}
	if n := top.required("apiVersion"); n != nil {
		if v, ok := d.str(n, "apiVersion"); ok && v != APIVersion {
			hint := ""
			if _, isK8s := resourceForKind(scalarValue(top.get("kind"))); isK8s {
				hint = "; this looks like a Kubernetes manifest: put it under spec.objects or in spec.files"
			}
			d.errorf(n, "apiVersion", "must be %q, not %q%s", APIVersion, v, hint)
		}
	}
	if n := top.required("kind"); n != nil {
		if v, ok := d.str(n, "kind"); ok && v != Kind {
			d.errorf(n, "kind", "must be %q, not %q%s", Kind, v, suggest(v, []string{Kind}))
		}
	}
	s.Metadata.Name = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	if meta, ok := d.mapping(top.get("metadata"), "metadata", "name", "description"); ok {
		if n := meta.get("name"); n != nil {
			s.Metadata.Name, _ = d.nonEmpty(n, meta.sub("name"))
		}
		if n := meta.get("description"); n != nil {
			s.Metadata.Description, _ = d.str(n, meta.sub("description"))
		}
	}
	if n := top.required("spec"); n != nil {
		d.spec(n, s)
	}
	if !l.skipTimeline {
		l.checkTimeline(s)
	}
	return s
}

// scalarValue is a scalar node's text, or "".
func scalarValue(n *yaml.Node) string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func (d *fileDec) spec(n *yaml.Node, s *Scenario) {
	sp, ok := d.mapping(n, "spec", "seed", "duration", "cluster", "proxyMode", "objects", "files", "events", "expect")
	if !ok {
		return
	}
	s.Spec.Seed = DefaultSeed
	if v := sp.get("seed"); v != nil {
		s.Spec.Seed, _ = d.uinteger(v, sp.sub("seed"))
	}
	if v := sp.required("duration"); v != nil {
		if dur, ok := d.duration(v, sp.sub("duration")); ok {
			if dur == 0 {
				d.errorf(v, sp.sub("duration"), "must be greater than 0")
			} else {
				s.Spec.Duration = dur
				d.l.duration, d.l.durationNode = dur, v
			}
		}
	}
	if c, ok := d.mapping(sp.get("cluster"), sp.sub("cluster"), "nodes"); ok {
		items, _ := d.list(c.get("nodes"), c.sub("nodes"))
		for i, item := range items {
			if g, ok := d.nodeGroup(item, fmt.Sprintf("%s[%d]", c.sub("nodes"), i)); ok {
				s.Spec.Cluster.Nodes = append(s.Spec.Cluster.Nodes, g)
			} else {
				d.l.skipTimeline = true
			}
		}
	}
	s.Spec.ProxyMode = ProxyRoundRobin
	if v := sp.get("proxyMode"); v != nil {
		if m, ok := d.str(v, sp.sub("proxyMode")); ok {
			modes := []string{string(ProxyRoundRobin), string(ProxyRandom)}
			if !slices.Contains(modes, m) {
				d.errorf(v, sp.sub("proxyMode"), "unknown proxy mode %q%s: use roundRobin or random", m, suggest(m, modes))
			}
			s.Spec.ProxyMode = ProxyMode(m)
		}
	}
	items, _ := d.list(sp.get("objects"), sp.sub("objects"))
	for i, item := range items {
		if m := d.manifest(item, fmt.Sprintf("%s[%d]", sp.sub("objects"), i), nil, "", ""); m != nil {
			s.Spec.Objects = append(s.Spec.Objects, *m)
		}
	}
	files, _ := d.list(sp.get("files"), sp.sub("files"))
	listed := map[string]int{} // cleaned path → index in spec.files
	for i, item := range files {
		p := fmt.Sprintf("%s[%d]", sp.sub("files"), i)
		rel, ok := d.nonEmpty(item, p)
		if !ok {
			continue
		}
		clean := path.Clean(filepath.ToSlash(rel))
		if first, dup := listed[clean]; dup {
			d.errorf(item, p, "%q is listed twice (first as %s[%d]): each object is created once", rel, sp.sub("files"), first)
			continue
		}
		listed[clean] = i
		s.Spec.Files = append(s.Spec.Files, rel)
		s.Spec.FileObjects = append(s.Spec.FileObjects, d.manifestFile(item, p, rel)...)
	}
	events, _ := d.list(sp.get("events"), sp.sub("events"))
	for i, item := range events {
		if e, ok := d.event(item, fmt.Sprintf("%s[%d]", sp.sub("events"), i), i); ok {
			s.Spec.Events = append(s.Spec.Events, e)
		} else {
			d.l.skipNodeStates = true
			if mayCreate(item) {
				// The timeline without an event that may create a node or
				// an object would report follow-on errors: skip the replay.
				d.l.skipTimeline = true
			}
		}
	}
	exps, _ := d.list(sp.get("expect"), sp.sub("expect"))
	for i, item := range exps {
		if e, ok := d.expectation(item, fmt.Sprintf("%s[%d]", sp.sub("expect"), i), i); ok {
			s.Spec.Expect = append(s.Spec.Expect, e)
		} else {
			d.l.skipTimeline = true
		}
	}
}

// manifestFile reads one entry of spec.files and decodes its documents.
func (d *fileDec) manifestFile(item *yaml.Node, path, rel string) []Manifest {
	data, shown, err := d.l.read(rel)
	if err != nil {
		d.errorf(item, path, "cannot read %q: %s", rel, pathErrorText(err))
		return nil
	}
	fd := &fileDec{l: d.l, file: shown}
	d.l.errs.rank(shown)
	docs, errLine, errMsg := parseJSONStream(data)
	if docs == nil {
		docs, errLine, errMsg = parseDocuments(data)
	}
	if errLine > 0 {
		d.l.errs.add(shown, errLine, 0, "", errMsg)
	}
	if len(docs) == 0 && errLine == 0 {
		d.errorf(item, path, "%s holds no manifests", shown)
	}
	var out []Manifest
	for _, doc := range docs {
		root := body(doc)
		fd.expandMerges(root, "", 0, map[*yaml.Node]bool{})
		fd.checkTree(root, "", 0)
		if m := fd.manifest(root, "", nil, "", ""); m != nil {
			out = append(out, *m)
		}
	}
	return out
}

// --- node groups ---

func (d *fileDec) nodeGroup(n *yaml.Node, path string) (NodeGroup, bool) {
	g := NodeGroup{Count: 1, Source: Source{File: d.file, Line: lineOf(n)}}
	o, ok := d.mapping(n, path, "name", "count", "capacity", "allocatable", "labels", "taints", "zone")
	if !ok {
		return g, false
	}
	if v := o.required("name"); v != nil {
		if name, ok := d.nonEmpty(v, o.sub("name")); ok {
			g.Name = name
			for _, msg := range validation.IsDNS1123Subdomain(name) {
				d.errorf(v, o.sub("name"), "invalid node name %q: %s", name, msg)
			}
		}
	}
	if v := o.get("count"); v != nil {
		if c, ok := d.integer(v, o.sub("count"), 1, MaxNodes); ok {
			g.Count = int(c)
		}
	}
	// named holds the resources capacity names, valid or not: one whose
	// quantity is bad is reported at its key, and is neither missing nor
	// "not in capacity" for allocatable.
	named := map[v1.ResourceName]bool{}
	if v := o.required("capacity"); v != nil {
		g.Capacity, _ = d.resourceList(v, o.sub("capacity"))
		if g.Capacity != nil {
			for _, p := range pairs(resolve(v)) {
				named[v1.ResourceName(p.key.Value)] = true
			}
			var missing []string
			for _, r := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
				if !named[r] {
					missing = append(missing, string(r))
				}
			}
			if len(missing) > 0 {
				d.errorf(v, o.sub("capacity"), "must set %s", strings.Join(missing, " and "))
			}
			if _, has := g.Capacity[v1.ResourcePods]; !has {
				g.Capacity[v1.ResourcePods] = *resource.NewQuantity(DefaultMaxPods, resource.DecimalSI)
			}
		}
	}
	g.Allocatable = g.Capacity.DeepCopy()
	if v := o.get("allocatable"); v != nil {
		alloc, _ := d.resourceList(v, o.sub("allocatable"))
		for _, p := range pairs(v) {
			name := v1.ResourceName(p.key.Value)
			q, has := alloc[name]
			if !has {
				continue
			}
			c, inCap := g.Capacity[name]
			switch {
			case g.Capacity == nil:
			case !inCap && named[name]:
			case !inCap:
				d.errorf(p.key, joinKey(o.sub("allocatable"), p.key.Value), "%s is not in capacity", name)
			case q.Cmp(c) > 0:
				d.errorf(p.value, joinKey(o.sub("allocatable"), p.key.Value), "allocatable %s exceeds capacity %s", q.String(), c.String())
			default:
				g.Allocatable[name] = q
			}
		}
	}
	if v := o.get("labels"); v != nil {
		g.Labels = d.labels(v, o.sub("labels"))
	}
	if v := o.get("zone"); v != nil {
		if z, ok := d.nonEmpty(v, o.sub("zone")); ok {
			for _, msg := range validation.IsValidLabelValue(z) {
				d.errorf(v, o.sub("zone"), "invalid zone %q: %s", z, msg)
			}
			if old, has := g.Labels[ZoneLabel]; has && old != z {
				d.errorf(v, o.sub("zone"), "conflicts with label %s=%s", ZoneLabel, old)
			}
			if g.Labels == nil {
				g.Labels = map[string]string{}
			}
			g.Labels[ZoneLabel] = z
		}
	}
	g.Zone = g.Labels[ZoneLabel]
	if v := o.get("taints"); v != nil {
		g.Taints = d.taints(v, o.sub("taints"), false)
	}
	if g.Name != "" && g.Count > 1 {
		for _, msg := range validation.IsDNS1123Subdomain(fmt.Sprintf("%s-%d", g.Name, g.Count)) {
			d.errorf(o.key("count"), o.sub("name"), "node names %s-1 … %s-%d are invalid: %s", g.Name, g.Name, g.Count, msg)
		}
	}
	return g, g.Name != ""
}

func lineOf(n *yaml.Node) int {
	if n == nil || n.Line < 1 {
		return 1
	}
	return n.Line
}

// resourceList decodes node capacity or allocatable: resource names to
// quantities ("4", 8Gi, 500m; YAML numbers too).
func (d *fileDec) resourceList(n *yaml.Node, path string) (v1.ResourceList, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping of resource names to quantities, not %s", describe(n))
		return nil, false
	}
	out := v1.ResourceList{}
	ok := true
	for _, p := range pairs(n) {
		name := p.key.Value
		sub := joinKey(path, name)
		if _, dup := out[v1.ResourceName(name)]; dup {
			continue
		}
		if msg := checkResourceName(name); msg != "" {
			d.errorf(p.key, sub, "%s", msg)
			ok = false
			continue
		}
		v := p.value
		if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!str" && v.ShortTag() != "!!int" && v.ShortTag() != "!!float") {
			d.errorf(v, sub, "must be a quantity such as \"4\", \"500m\" or \"8Gi\", not %s", describe(v))
			ok = false
			continue
		}
		q, err := resource.ParseQuantity(v.Value)
		if err != nil {
			d.errorf(v, sub, "invalid value %q: %s", clip(v.Value), quantityHint)
			ok = false
			continue
		}
		if q.Sign() < 0 {
			d.errorf(v, sub, "must not be negative, got %s", v.Value)
			ok = false
			continue
		}
		if msg := tooLarge(v1.ResourceName(name), q); msg != "" {
			d.errorf(v, sub, "too large: %s (got %s)", msg, v.Value)
			ok = false
			continue
		}
		if name == string(v1.ResourcePods) && q.MilliValue()%1000 != 0 {
			d.errorf(v, sub, "must be a whole number of pods, got %s", v.Value)
			ok = false
			continue
		}
		if strings.Contains(name, "/") && q.MilliValue()%1000 != 0 {
			d.errorf(v, sub, "must be a whole number, got %s: an extended resource counts whole devices", v.Value)
			ok = false
			continue
		}
		out[v1.ResourceName(name)] = q
	}
	return out, ok
}

var standardResources = []string{"cpu", "memory", "pods", "ephemeral-storage"}

// checkResourceName accepts the node resources Kubernetes knows: cpu,
// memory, pods, ephemeral-storage, hugepages-<size> and extended resources
// (a domain-qualified name such as example.com/gpu).
func checkResourceName(name string) string {
	switch {
	case slices.Contains(standardResources, name):
		return ""
	case strings.HasPrefix(name, "hugepages-"):
		if _, err := resource.ParseQuantity(strings.TrimPrefix(name, "hugepages-")); err != nil {
			return fmt.Sprintf("invalid hugepages resource %q: the suffix must be a page size such as 2Mi", name)
		}
		return ""
	case strings.Contains(name, "/"):
		if msgs := validation.IsQualifiedName(name); len(msgs) > 0 {
			return fmt.Sprintf("invalid extended resource name %q: %s", name, msgs[0])
		}
		return ""
	}
	return fmt.Sprintf("unknown resource %q%s: use cpu, memory, pods, ephemeral-storage, hugepages-<size> or an extended resource such as example.com/gpu",
		name, suggest(name, standardResources))
}

// labels decodes and validates a label map.
func (d *fileDec) labels(n *yaml.Node, path string) map[string]string {
	m, _ := d.stringMap(n, path)
	for _, p := range pairs(n) {
		sub := joinKey(path, p.key.Value)
		for _, msg := range validation.IsQualifiedName(p.key.Value) {
			d.errorf(p.key, sub, "invalid label key %q: %s", p.key.Value, msg)
		}
		if v, ok := m[p.key.Value]; ok {
			for _, msg := range validation.IsValidLabelValue(v) {
				d.errorf(p.value, sub, "invalid label value %q: %s", v, msg)
			}
		}
	}
	return m
}

var taintEffects = []string{string(v1.TaintEffectNoSchedule), string(v1.TaintEffectPreferNoSchedule), string(v1.TaintEffectNoExecute)}

// taints decodes a core/v1 Taint list. For untaintNode (match) a taint
// names a key and optionally an effect.
func (d *fileDec) taints(n *yaml.Node, path string, match bool) []v1.Taint {
	var out []v1.Taint
	_, decoded := d.decodeTyped(n, path, &out)
	items := resolve(n).Content
	seen := map[string]int{}
	for i, t := range out {
		if i >= len(items) {
			break
		}
		item := resolve(items[i])
		p := fmt.Sprintf("%s[%d]", path, i)
		at := func(f string) *yaml.Node { pos, _ := nodeAt(item, f); return pos }
		if t.Key == "" {
			d.errorf(item, p+".key", "required field is missing")
		} else {
			for _, msg := range validation.IsQualifiedName(t.Key) {
				d.errorf(at("key"), p+".key", "invalid taint key %q: %s", t.Key, msg)
			}
		}
		if match {
			if t.Value != "" {
				d.errorf(at("value"), p+".value", "untaintNode matches taints by key and effect; remove the value")
			}
		} else {
			for _, msg := range validation.IsValidLabelValue(t.Value) {
				d.errorf(at("value"), p+".value", "invalid taint value %q: %s", t.Value, msg)
			}
		}
		switch {
		case t.Effect == "" && !match:
			d.errorf(item, p+".effect", "required field is missing (NoSchedule, PreferNoSchedule or NoExecute)")
		case t.Effect != "" && !slices.Contains(taintEffects, string(t.Effect)):
			d.errorf(at("effect"), p+".effect", "unknown effect %q%s: use NoSchedule, PreferNoSchedule or NoExecute",
				t.Effect, suggest(string(t.Effect), taintEffects))
		}
		if t.TimeAdded != nil {
			d.errorf(at("timeAdded"), p+".timeAdded", "is set by kubesim, not by scenarios")
		}
		k := t.Key + ":" + string(t.Effect)
		if first, dup := seen[k]; dup {
			d.errorf(item, p, "duplicate taint %s (same key and effect as item %d)", k, first)
		}
		seen[k] = i
	}
	if !decoded {
		return nil
	}
	return out
}

// mayCreate reports whether a broken event entry might have created
// something (it has a group or object field).
func mayCreate(n *yaml.Node) bool {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	g, _ := mappingKey(n, "group")
	o, _ := mappingKey(n, "object")
	return g != nil || o != nil
}

// Node resources are counted in 64-bit integers (the scheduler's
// framework.NewResource: cpu in millicores, the rest in units), so a
// quantity beyond them would wrap and leave every pod Pending with a
// misleading "Insufficient cpu".
var (
	maxMilliQuantity = resource.NewMilliQuantity(math.MaxInt64, resource.DecimalSI)
	maxUnitQuantity  = resource.NewQuantity(math.MaxInt64, resource.DecimalSI)
)

// tooLarge says why q is beyond what a node's resource name can count, or
// "" if it is not.
func tooLarge(name v1.ResourceName, q resource.Quantity) string {
	if name == v1.ResourceCPU {
		if q.Cmp(*maxMilliQuantity) > 0 {
			return fmt.Sprintf("the scheduler counts cpu in millicores in a 64-bit integer, so at most %d", int64(math.MaxInt64/1000))
		}
		return ""
	}
	if q.Cmp(*maxUnitQuantity) > 0 {
		return fmt.Sprintf("at most %d", int64(math.MaxInt64))
	}
	return ""
}
