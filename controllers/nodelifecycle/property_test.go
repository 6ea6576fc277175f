package nodelifecycle

import (
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/controllers/internal/ctltest"
	"github.com/kubesim/kubesim/controllers/nodeutil"
)

// TestPropertyDeadNodes: random clusters (1–3 zones, 1–12 nodes) whose
// nodes stop heartbeating at random times. Checked for every run:
//   - a node whose last renewal is at L turns Unknown exactly at the first
//     5 s tick strictly after L+50 s, and a node that keeps renewing never
//     does;
//   - a NoExecute taint only ever lands on a node already Unknown;
//   - in each zone, NoExecute taints are at least one token (10 s) apart,
//     and no node is tainted twice (nodes never come back here);
//   - when every zone ends fully disrupted no NoExecute taint is left;
//     otherwise every Unknown node of a Normal or FullDisruption zone ends
//     tainted.
func TestPropertyDeadNodes(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		env := ctltest.New(t, 1)
		zones := rapid.IntRange(1, 3).Draw(rt, "zones")
		n := rapid.IntRange(1, 12).Draw(rt, "nodes")
		const end = 900 * s
		type nodeSpec struct {
			name, zone string
			last       time.Duration // last renewal; -1 = never stops
		}
		var nodes []nodeSpec
		for i := 0; i < n; i++ {
			spec := nodeSpec{name: fmt.Sprintf("n%02d", i), zone: fmt.Sprintf("z%d", rapid.IntRange(0, zones-1).Draw(rt, "zone")), last: -1}
			phase := time.Duration(rapid.IntRange(1, 10).Draw(rt, "phase")) * s
			until := end
			if rapid.Bool().Draw(rt, "dies") {
				stop := time.Duration(rapid.IntRange(0, 40).Draw(rt, "renewals"))
				spec.last = phase + stop*10*s
				until = spec.last
			}
			env.CreateNode(ctltest.Node(spec.name, ctltest.Zone(spec.zone), 0))
			env.HeartbeatUntil(spec.name, phase, 10*s, until)
			nodes = append(nodes, spec)
		}
		nc := newController(env, Config{})
		env.Start()
		env.Eng.RunUntil(end)

		unknownAt := map[string]time.Duration{}
		for _, r := range env.Traced(Component, "statusUnknown") {
			if _, dup := unknownAt[r.Name]; dup {
				rt.Fatalf("%s marked Unknown twice", r.Name)
			}
			unknownAt[r.Name] = r.Time
		}
		zoneOf := map[string]string{}
		for _, nd := range nodes {
			zoneOf[nd.name] = nd.zone
			got, ok := unknownAt[nd.name]
			if nd.last < 0 {
				if ok {
					rt.Fatalf("%s keeps renewing but turned Unknown at %v", nd.name, got)
				}
				continue
			}
			want := (nd.last+50*s)/(5*s)*(5*s) + 5*s
			if want > end {
				continue
			}
			if !ok || got != want {
				rt.Fatalf("%s: last renewal %v: Unknown at %v (seen %v), want %v", nd.name, nd.last, got, ok, want)
			}
		}
		lastTaint := map[string]time.Duration{}
		taintedOnce := map[string]bool{}
		for _, r := range env.Traced(Component, "tainted") {
			if !strings.Contains(r.Msg, ":NoExecute") {
				continue
			}
			if taintedOnce[r.Name] {
				rt.Fatalf("%s NoExecute-tainted twice (again at %v)", r.Name, r.Time)
			}
			taintedOnce[r.Name] = true
			u, ok := unknownAt[r.Name]
			if !ok || r.Time < u {
				rt.Fatalf("%s NoExecute-tainted at %v before turning Unknown (%v)", r.Name, r.Time, u)
			}
			z := zoneOf[r.Name]
			if prev, ok := lastTaint[z]; ok && r.Time-prev < 10*s {
				rt.Fatalf("zone %s: NoExecute taints at %v and %v, less than a token apart", z, prev, r.Time)
			}
			lastTaint[z] = r.Time
		}
		states := map[string]ZoneState{}
		allFull := true
		for _, z := range nc.Zones() {
			states[z.Zone] = z.State
			if z.State != StateFullDisruption {
				allFull = false
			}
		}
		for _, nd := range nodes {
			node := env.GetNode(nd.name)
			tainted := nodeutil.TaintExists(node.Spec.Taints, UnreachableTaintTemplate)
			if allFull && tainted {
				rt.Fatalf("every zone fully disrupted, yet %s keeps its NoExecute taint", nd.name)
			}
			u, unknown := unknownAt[nd.name]
			st := states[nd.zone]
			if !allFull && unknown && u < end-200*s && (st == StateNormal || st == StateFullDisruption) && !tainted {
				rt.Fatalf("%s Unknown since %v in %s zone %s, not tainted by %v", nd.name, u, st, nd.zone, end)
			}
			if v := nodeCond(node, v1.NodeReady).Status; unknown != (v == v1.ConditionUnknown) {
				rt.Fatalf("%s: Ready=%s but traced Unknown=%v", nd.name, v, unknown)
			}
		}
	})
}
