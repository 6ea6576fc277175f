package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// actionSpec lists the fields an action takes besides at, action and
// namespace (which every event accepts).
type actionSpec struct {
	required []string
	optional []string
	// targets are the kinds a target may name (kubectl singular names).
	targets []string
}

var nodeOnly = actionSpec{required: []string{"node"}}

var actionSpecs = map[Action]actionSpec{
	ActionCrashNode:      nodeOnly,
	ActionPartitionNode:  nodeOnly,
	ActionRecoverNode:    nodeOnly,
	ActionAddNode:        {required: []string{"group"}},
	ActionDeleteNode:     nodeOnly,
	ActionCordon:         nodeOnly,
	ActionUncordon:       nodeOnly,
	ActionDrain:          nodeOnly,
	ActionFailZone:       {required: []string{"zone"}},
	ActionRecoverZone:    {required: []string{"zone"}},
	ActionApply:          {required: []string{"object"}},
	ActionDelete:         {required: []string{"target"}},
	ActionScale:          {required: []string{"target", "replicas"}, targets: []string{"deployment", "replicaset"}},
	ActionSetLoad:        {required: []string{"service", "rps"}, optional: []string{"rampTo", "rampDuration", "from"}},
	ActionSetPodLoad:     {required: []string{"target", "rps"}, optional: []string{"rampTo", "rampDuration"}, targets: []string{"deployment", "replicaset"}},
	ActionKillPod:        {required: []string{"target"}, optional: []string{"container"}, targets: []string{"pod", "deployment", "replicaset"}},
	ActionRolloutUndo:    {required: []string{"target"}, optional: []string{"toRevision"}, targets: []string{"deployment"}},
	ActionRolloutRestart: {required: []string{"target"}, targets: []string{"deployment"}},
	ActionLabelNode:      {required: []string{"node"}, optional: []string{"labels", "removeLabels"}},
	ActionTaintNode:      {required: []string{"node", "taints"}},
	ActionUntaintNode:    {required: []string{"node", "taints"}},
}

// eventFields is the union of every event field, in documentation order.
var eventFields = []string{"at", "action", "namespace", "node", "group", "zone", "object", "target", "container",
	"replicas", "service", "rps", "rampTo", "rampDuration", "from", "toRevision", "labels", "removeLabels", "taints"}

func actionNames() []string {
	out := make([]string, len(Actions))
	for i, a := range Actions {
		out[i] = string(a)
	}
	return out
}

// kubectlVerbs maps what a kubectl user may write for an action kubesim
// does not have (lowercased, without "-", "_" or spaces) to what to use.
var kubectlVerbs = map[string]string{
	"setimage":    "to change a container's image, apply the workload's manifest with the new image (action apply, as kubectl apply)",
	"image":       "to change a container's image, apply the workload's manifest with the new image (action apply, as kubectl apply)",
	"patch":       "to change an object, apply its changed manifest (action apply: kubectl apply's three-way merge)",
	"edit":        "to change an object, apply its changed manifest (action apply: kubectl apply's three-way merge)",
	"replace":     "to change an object, apply its changed manifest (action apply: kubectl apply's three-way merge)",
	"update":      "to change an object, apply its changed manifest (action apply: kubectl apply's three-way merge)",
	"annotate":    "to change an object, apply its changed manifest (action apply: kubectl apply's three-way merge)",
	"create":      "use action apply, which creates the object when it does not exist",
	"expose":      "use action apply, which creates the object when it does not exist",
	"autoscale":   "use action apply, which creates the object when it does not exist",
	"rollback":    "use rolloutUndo (kubectl rollout undo)",
	"undo":        "use rolloutUndo (kubectl rollout undo)",
	"restart":     "use rolloutRestart to restart a deployment's pods (kubectl rollout restart), killPod to kill a container",
	"label":       "labelNode labels a node; to change another object's labels, apply its manifest",
	"reboot":      "to reboot a node, crash it and recover it later (crashNode, then recoverNode)",
	"restartnode": "to reboot a node, crash it and recover it later (crashNode, then recoverNode)",
	"rebootnode":  "to reboot a node, crash it and recover it later (crashNode, then recoverNode)",
	"evict":       "use drain, which evicts a node's pods honouring PodDisruptionBudgets, or killPod",
}

// unknownActionHint follows "unknown action NAME": a suggestion for a
// misspelling, what to use instead of a kubectl verb, or the actions.
func unknownActionHint(name string) string {
	if s := suggest(name, actionNames()); s != "" {
		return s
	}
	key := strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(name))
	if h, ok := kubectlVerbs[key]; ok {
		return ": " + h
	}
	return ": the actions are " + strings.Join(actionNames(), ", ")
}

// event decodes one entry of spec.events; usable is false when the entry
// is too broken for the timeline checks (its errors are reported).
func (d *fileDec) event(n *yaml.Node, path string, index int) (e Event, usable bool) {
	e = Event{Index: index, Namespace: DefaultNamespace, Source: Source{File: d.file, Line: lineOf(n)}}
	o, ok := d.mapping(n, path, eventFields...)
	if !ok {
		return e, false
	}
	before := len(d.l.errs.list)
	e.lines = o.lines()
	atOK := false
	if v := o.required("at"); v != nil {
		if at, ok := d.duration(v, o.sub("at")); ok {
			e.At, atOK = at, true
			d.checkWithinDuration(v, o.sub("at"), at)
		}
	}
	av := o.required("action")
	if av == nil {
		return e, false
	}
	name, ok := d.str(av, o.sub("action"))
	if !ok {
		return e, false
	}
	spec, known := actionSpecs[Action(name)]
	if !known {
		d.errorf(av, o.sub("action"), "unknown action %q%s", name, unknownActionHint(name))
		return e, false
	}
	e.Action = Action(name)
	takes := slices.Concat(spec.required, spec.optional)
	for _, k := range o.order {
		if k == "at" || k == "action" || k == "namespace" || slices.Contains(takes, k) {
			continue
		}
		d.errorf(o.key(k), o.sub(k), "field %q is not used by action %s (it takes %s)", k, name, strings.Join(takes, ", "))
	}
	for _, k := range spec.required {
		if o.get(k) == nil {
			d.errorf(o.n, path, "action %s needs field %q", name, k)
		}
	}
	if v := o.get("namespace"); v != nil {
		if ns, ok := d.nonEmpty(v, o.sub("namespace")); ok {
			e.Namespace = ns
			for _, msg := range validation.IsDNS1123Label(ns) {
				d.errorf(v, o.sub("namespace"), "invalid namespace %q: %s", ns, msg)
			}
		}
	}
	get := func(k string) *yaml.Node {
		if slices.Contains(takes, k) {
			return o.get(k)
		}
		return nil
	}
	if v := get("node"); v != nil {
		e.Node, _ = d.nonEmpty(v, o.sub("node"))
	}
	if v := get("group"); v != nil {
		if g, ok := d.nodeGroup(v, o.sub("group")); ok {
			e.Group = &g
		}
	}
	if v := get("zone"); v != nil {
		e.Zone, _ = d.nonEmpty(v, o.sub("zone"))
	}
	if v := get("object"); v != nil {
		var nsNode *yaml.Node
		if _, set := o.vals["namespace"]; set {
			nsNode = o.key("namespace")
		}
		e.Object = d.manifest(v, o.sub("object"), nsNode, o.sub("namespace"), e.Namespace)
		if e.Object != nil && e.Object.Resource.Namespaced {
			e.Namespace = e.Object.Namespace
		}
	}
	if v := get("target"); v != nil {
		e.Target, _ = d.target(v, o.sub("target"), e.Action, spec.targets)
	}
	if v := get("container"); v != nil {
		e.Container, _ = d.nonEmpty(v, o.sub("container"))
	}
	if v := get("replicas"); v != nil {
		r, _ := d.integer(v, o.sub("replicas"), 0, math.MaxInt32)
		e.Replicas = int32(r)
	}
	if v := get("service"); v != nil {
		e.Service, _ = d.nonEmpty(v, o.sub("service"))
	}
	if v := get("rps"); v != nil {
		var ok bool
		if e.RPS, ok = d.number(v, o.sub("rps"), 0); ok && e.Action == ActionSetLoad {
			d.loadRate(v, o.sub("rps"), e.RPS)
		}
	}
	rampTo, rampDur := get("rampTo"), get("rampDuration")
	if rampTo != nil {
		if r, ok := d.number(rampTo, o.sub("rampTo"), 0); ok {
			e.RampTo = &r
			if e.Action == ActionSetLoad {
				d.loadRate(rampTo, o.sub("rampTo"), r)
			}
		}
		if rampDur == nil {
			d.errorf(o.key("rampTo"), o.sub("rampTo"), "needs rampDuration (how long the ramp takes)")
		}
	}
	if rampDur != nil {
		if rd, ok := d.duration(rampDur, o.sub("rampDuration")); ok {
			e.RampDuration = rd
			if rd == 0 {
				d.errorf(rampDur, o.sub("rampDuration"), "must be greater than 0")
			}
			if d.l.duration > 0 && e.At+rd > d.l.duration {
				d.errorf(rampDur, o.sub("rampDuration"), "the ramp ends at %s, after the end of the run (spec.duration: %s)",
					FormatDuration(e.At+rd), FormatDuration(d.l.duration))
			}
		}
		if rampTo == nil {
			d.errorf(o.key("rampDuration"), o.sub("rampDuration"), "needs rampTo (the rate the ramp ends at)")
		}
	}
	if v := get("from"); v != nil {
		e.From, _ = d.nonEmpty(v, o.sub("from"))
	}
	if v := get("toRevision"); v != nil {
		e.ToRevision, _ = d.integer(v, o.sub("toRevision"), 0, math.MaxInt64)
	}
	if v := get("labels"); v != nil {
		e.Labels = d.labels(v, o.sub("labels"))
	}
	if v := get("removeLabels"); v != nil {
		e.RemoveLabels, _ = d.stringList(v, o.sub("removeLabels"))
		for i, k := range e.RemoveLabels {
			for _, msg := range validation.IsQualifiedName(k) {
				d.errorf(resolve(v).Content[i], fmt.Sprintf("%s[%d]", o.sub("removeLabels"), i), "invalid label key %q: %s", k, msg)
			}
		}
	}
	if e.Action == ActionLabelNode && len(e.Labels) == 0 && len(e.RemoveLabels) == 0 && len(d.l.errs.list) == before {
		d.errorf(o.n, path, "action labelNode needs labels or removeLabels")
	}
	if v := get("taints"); v != nil {
		e.Taints = d.taints(v, o.sub("taints"), e.Action == ActionUntaintNode)
		if len(resolve(v).Content) == 0 {
			d.errorf(v, o.sub("taints"), "must list at least one taint")
		}
	}
	return e, atOK && e.usable()
}

// usable reports whether an event decoded well enough for the timeline
// checks to replay it (it may still have errors, e.g. a time past the end).
func (e *Event) usable() bool {
	switch e.Action {
	case ActionAddNode:
		return e.Group != nil
	case ActionFailZone, ActionRecoverZone:
		return e.Zone != ""
	case ActionApply:
		return e.Object != nil
	case ActionDelete, ActionScale, ActionSetPodLoad, ActionKillPod, ActionRolloutUndo, ActionRolloutRestart:
		return e.Target.Name != ""
	case ActionSetLoad:
		return e.Service != ""
	case "":
		return false
	}
	return e.Node != ""
}

// target decodes kind/name and checks the kind suits the action.
func (d *fileDec) target(n *yaml.Node, path string, action Action, kinds []string) (Ref, bool) {
	s, ok := d.nonEmpty(n, path)
	if !ok {
		return Ref{}, false
	}
	ref, err := ParseRef(s)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return Ref{}, false
	}
	switch {
	case len(kinds) > 0 && !slices.Contains(kinds, ref.Resource.Singular()):
		d.errorf(n, path, "action %s cannot target a %s (use %s)", action, ref.Resource.Kind, strings.Join(kinds, " or "))
		return Ref{}, false
	case action == ActionDelete && ref.Resource.Kind == "Node":
		d.errorf(n, path, "use action deleteNode to delete a node")
		return Ref{}, false
	case !ref.Resource.Manifest && action == ActionDelete:
		d.errorf(n, path, "%s objects are managed by kubesim and cannot be deleted by a scenario", ref.Resource.Kind)
		return Ref{}, false
	}
	for _, msg := range validation.IsDNS1123Subdomain(ref.Name) {
		d.errorf(n, path, "invalid name %q: %s", ref.Name, msg)
		return Ref{}, false
	}
	return ref, true
}

// checkWithinDuration reports a time past spec.duration.
func (d *fileDec) checkWithinDuration(n *yaml.Node, path string, t time.Duration) {
	if d.l.duration > 0 && t > d.l.duration {
		d.errorf(n, path, "%s is after the end of the run (spec.duration: %s)", FormatDuration(t), FormatDuration(d.l.duration))
	}
}

// FormatDuration prints a duration the way scenarios write them: 5m, 1h30m,
// 90s is 1m30s, 1.5s stays 1.5s.
func FormatDuration(t time.Duration) string {
	s := t.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// loadRate checks a setLoad rate against what the traffic model takes: 0
// (no load), or 0.001 (its resolution) to 1e9 requests/s.
func (d *fileDec) loadRate(n *yaml.Node, path string, rps float64) {
	switch {
	case rps > 0 && rps < 0.001:
		d.errorf(n, path, "must be 0 or at least 0.001 (a load's rate has a resolution of 0.001 requests/s), got %s", n.Value)
	case rps > 1e9:
		d.errorf(n, path, "must be at most 1e9 requests/s, got %s", n.Value)
	}
}
