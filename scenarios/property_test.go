package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// genEvent is one generated event: the YAML written and what must load.
type genEvent struct {
	yaml   string
	at     time.Duration
	action Action
	ref    string // node, zone, service or kind/name the event refers to ("" for none)
	field  string // the field holding ref
}

// genScenario draws a valid scenario: node groups, deployments with
// services, and a timeline whose references are valid at each event's time
// (the generator replays the world as it goes, as the loader does).
func genScenario(t *rapid.T) (string, []genEvent) {
	duration := time.Duration(rapid.IntRange(1, 120).Draw(t, "minutes")) * time.Minute
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: %s\nkind: Scenario\nspec:\n  seed: %d\n  duration: %s\n  cluster:\n    nodes:\n",
		APIVersion, rapid.Uint64().Draw(t, "seed"), FormatDuration(duration))
	var nodes, zones []string
	groups := rapid.IntRange(1, 3).Draw(t, "groups")
	for g := range groups {
		count := rapid.IntRange(1, 3).Draw(t, "count")
		zone := rapid.SampledFrom([]string{"zone-a", "zone-b"}).Draw(t, "zone")
		fmt.Fprintf(&b, "    - {name: g%d, count: %d, zone: %s, capacity: {cpu: \"%d\", memory: %dGi}}\n",
			g, count, zone, rapid.IntRange(1, 64).Draw(t, "cpu"), rapid.IntRange(1, 256).Draw(t, "mem"))
		for _, name := range (NodeGroup{Name: fmt.Sprintf("g%d", g), Count: count}).NodeNames() {
			nodes = append(nodes, name)
			zones = append(zones, zone)
		}
	}
	b.WriteString("  objects:\n")
	var deployments, services []string
	for d := range rapid.IntRange(0, 3).Draw(t, "deployments") {
		name := fmt.Sprintf("d%d", d)
		fmt.Fprintf(&b, "  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: %s}, spec: {replicas: %d, selector: {matchLabels: {app: %s}}, "+
			"template: {metadata: {labels: {app: %s}}, spec: {containers: [{name: c, image: img}]}}}}\n",
			name, rapid.IntRange(0, 10).Draw(t, "replicas"), name, name)
		fmt.Fprintf(&b, "  - {apiVersion: v1, kind: Service, metadata: {name: %s}, spec: {type: NodePort, selector: {app: %s}, ports: [{port: 80}]}}\n", name, name)
		deployments = append(deployments, name)
		services = append(services, name)
	}
	b.WriteString("  events:\n")
	n := rapid.IntRange(0, 15).Draw(t, "events")
	times := make([]time.Duration, n)
	for i := range times {
		times[i] = time.Duration(rapid.IntRange(0, int(duration/time.Second)).Draw(t, "at")) * time.Second
	}
	slices.Sort(times)
	var events []genEvent
	added, applied := 0, 0
	// Node faults follow each node's state, as the loader checks: crash a
	// node that is not crashed, partition a running one, recover one that
	// is down, fail a zone with a node still up.
	state := map[string]nodeState{}
	nodesIn := func(ok func(nodeState) bool) []int {
		var out []int
		for i, n := range nodes {
			if ok(state[n]) {
				out = append(out, i)
			}
		}
		return out
	}
	canCrash := func(s nodeState) bool { return s != nodeCrashed }
	canPartition := func(s nodeState) bool { return s == nodeRunning }
	canRecover := func(s nodeState) bool { return s != nodeRunning }
	for _, at := range times {
		var options []Action
		if len(nodes) > 0 {
			options = append(options, ActionCordon, ActionUncordon,
				ActionDrain, ActionDeleteNode, ActionLabelNode, ActionTaintNode, ActionUntaintNode)
		}
		if len(nodesIn(canCrash)) > 0 {
			options = append(options, ActionCrashNode, ActionFailZone)
		}
		if len(nodesIn(canPartition)) > 0 {
			options = append(options, ActionPartitionNode)
		}
		if len(nodesIn(canRecover)) > 0 {
			options = append(options, ActionRecoverNode)
		}
		options = append(options, ActionAddNode, ActionApply)
		if len(deployments) > 0 {
			options = append(options, ActionScale, ActionSetPodLoad, ActionKillPod, ActionRolloutUndo,
				ActionRolloutRestart, ActionDelete)
		}
		if len(services) > 0 {
			options = append(options, ActionSetLoad)
		}
		a := rapid.SampledFrom(options).Draw(t, "action")
		e := genEvent{at: at, action: a}
		head := fmt.Sprintf("  - {at: %s, action: %s", FormatDuration(at), a)
		switch a {
		case ActionAddNode:
			name := fmt.Sprintf("added%d", added)
			added++
			zone := rapid.SampledFrom([]string{"zone-a", "zone-c"}).Draw(t, "zone")
			e.yaml = fmt.Sprintf("%s, group: {name: %s, zone: %s, capacity: {cpu: 2, memory: 4Gi}}}", head, name, zone)
			nodes = append(nodes, name)
			zones = append(zones, zone)
		case ActionFailZone:
			i := rapid.SampledFrom(nodesIn(canCrash)).Draw(t, "zone node")
			e.ref, e.field = zones[i], "zone"
			e.yaml = fmt.Sprintf("%s, zone: %s}", head, e.ref)
			for j, z := range zones {
				if z == e.ref {
					state[nodes[j]] = nodeCrashed
				}
			}
		case ActionApply:
			name := fmt.Sprintf("applied%d", applied) // unique: a deleted name is never reused
			applied++
			e.yaml = fmt.Sprintf("%s, object: {apiVersion: apps/v1, kind: Deployment, metadata: {name: %s}, spec: {selector: {matchLabels: {app: x}}, "+
				"template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: img}]}}}}}", head, name)
			deployments = append(deployments, name)
		case ActionSetLoad:
			e.ref, e.field = rapid.SampledFrom(services).Draw(t, "service"), "service"
			e.yaml = fmt.Sprintf("%s, service: %s, rps: %d}", head, e.ref, rapid.IntRange(0, 1000).Draw(t, "rps"))
		case ActionScale, ActionSetPodLoad, ActionKillPod, ActionRolloutUndo, ActionRolloutRestart, ActionDelete:
			d := rapid.IntRange(0, len(deployments)-1).Draw(t, "deployment")
			e.ref, e.field = "deployment/"+deployments[d], "target"
			extra := map[Action]string{ActionScale: ", replicas: 2", ActionSetPodLoad: ", rps: 5"}[a]
			e.yaml = fmt.Sprintf("%s, target: %s%s}", head, e.ref, extra)
			if a == ActionDelete {
				deployments = slices.Delete(deployments, d, d+1)
			}
		default:
			i := rapid.IntRange(0, len(nodes)-1).Draw(t, "node")
			switch a {
			case ActionCrashNode:
				i = rapid.SampledFrom(nodesIn(canCrash)).Draw(t, "node")
				state[nodes[i]] = nodeCrashed
			case ActionPartitionNode:
				i = rapid.SampledFrom(nodesIn(canPartition)).Draw(t, "node")
				state[nodes[i]] = nodePartitioned
			case ActionRecoverNode:
				i = rapid.SampledFrom(nodesIn(canRecover)).Draw(t, "node")
				state[nodes[i]] = nodeRunning
			}
			e.ref, e.field = nodes[i], "node"
			extra := map[Action]string{
				ActionLabelNode:   ", labels: {a: b}",
				ActionTaintNode:   ", taints: [{key: k, effect: NoSchedule}]",
				ActionUntaintNode: ", taints: [{key: k}]",
			}[a]
			e.yaml = fmt.Sprintf("%s, node: %s%s}", head, e.ref, extra)
			if a == ActionDeleteNode {
				delete(state, nodes[i])
				nodes = slices.Delete(nodes, i, i+1)
				zones = slices.Delete(zones, i, i+1)
			}
		}
		e.yaml += fmt.Sprintf(" # event %d", len(events)) // makes every line unique
		events = append(events, e)
		b.WriteString(e.yaml + "\n")
	}
	fmt.Fprintf(&b, "  expect:\n  - {within: %s, count: pods, atLeast: 0}\n", FormatDuration(duration))
	from := time.Duration(rapid.IntRange(0, int(duration/time.Second)-1).Draw(t, "from")) * time.Second
	fmt.Fprintf(&b, "  - {throughout: %s, from: %s, count: nodes, atLeast: 0}\n", FormatDuration(duration), FormatDuration(from))
	return b.String(), events
}

// TestGeneratedScenariosLoad: every generated valid scenario loads, and its
// timeline holds exactly the generated events.
func TestGeneratedScenariosLoad(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		doc, events := genScenario(t)
		s, err := LoadBytes("gen.yaml", []byte(doc), ".")
		if err != nil {
			t.Fatalf("generated scenario rejected:\n%s\n%v", doc, err)
		}
		if len(s.Spec.Events) != len(events) {
			t.Fatalf("%d events loaded, %d generated", len(s.Spec.Events), len(events))
		}
		for i, e := range s.Timeline() {
			g := events[i]
			if e.At != g.at || e.Action != g.action {
				t.Fatalf("event %d: loaded %s at %v, generated %s at %v", i, e.Action, e.At, g.action, g.at)
			}
		}
	})
}

// TestBrokenReferenceIsReportedAtItsLine: replacing the reference of one
// generated event with a name that never exists makes the load fail with an
// error at that event's line and field.
func TestBrokenReferenceIsReportedAtItsLine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		doc, events := genScenario(t)
		var candidates []int
		for i, e := range events {
			if e.ref != "" {
				candidates = append(candidates, i)
			}
		}
		if len(candidates) == 0 {
			return
		}
		i := rapid.SampledFrom(candidates).Draw(t, "broken event")
		e := events[i]
		ghost := "ghost"
		if e.field == "target" {
			ghost = "deployment/ghost"
		}
		broken := strings.Replace(e.yaml, e.field+": "+e.ref, e.field+": "+ghost, 1)
		doc = strings.Replace(doc, e.yaml+"\n", broken+"\n", 1)
		line := 1 + strings.Count(doc[:strings.Index(doc, broken)], "\n")
		_, err := LoadBytes("gen.yaml", []byte(doc), ".")
		if err == nil {
			t.Fatalf("broken reference accepted:\n%s", doc)
		}
		prefix := fmt.Sprintf("gen.yaml:%d: spec.events[%d].%s: ", line, i, e.field)
		if !strings.Contains(err.Error(), prefix) {
			t.Fatalf("want an error starting %q, got:\n%v\nin:\n%s", prefix, err, doc)
		}
	})
}
