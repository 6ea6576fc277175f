// The convergence properties run the whole cluster (kubelets, node
// lifecycle, workload controllers, network) on random scenarios. make test
// runs a modest number of cases (TestMain's default), make test-props many
// (-rapid.checks=1000).

package runner_test

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	resourcehelper "k8s.io/component-helpers/resource"
	"pgregory.net/rapid"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/runner"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
)

// defaultChecks is the number of cases make test runs.
const defaultChecks = "100"

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		_ = flag.Set("rapid.checks", defaultChecks)
	}
	os.Exit(m.Run())
}

// faultWindow is when faults may happen; settle is how long the cluster
// then runs without them: past the 300 s eviction tolerations, the HPA's
// 5-minute scale-down stabilization and the scheduler's 5-minute
// unschedulable flush.
const (
	faultWindow = 10 * time.Minute
	settle      = 16 * time.Minute
)

// genCase draws a random scenario: 1-20 nodes of mixed capacities in up
// to three zones, 1-4 deployments with requests (some with a Service and
// load, some with an HPA), and a schedule of faults (crash, partition,
// recover, cordon, drain, scale, kill pod, load) in the fault window;
// at its end every node is recovered and uncordoned.
func genCase(t *rapid.T) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: convergence\n  description: A generated convergence case.\n")
	fmt.Fprintf(&b, "spec:\n  seed: %d\n  duration: %s\n  cluster:\n    nodes:\n", rapid.Uint64Range(1, 1<<20).Draw(t, "seed"),
		scenarios.FormatDuration(faultWindow+settle))
	var nodes []string
	total := rapid.IntRange(1, 20).Draw(t, "nodes")
	for g := 0; total > 0; g++ {
		count := rapid.IntRange(1, total).Draw(t, "group size")
		total -= count
		fmt.Fprintf(&b, "    - {name: g%d, count: %d, zone: %s, capacity: {cpu: %q, memory: %s}}\n", g, count,
			rapid.SampledFrom([]string{"zone-a", "zone-b", "zone-c"}).Draw(t, "zone"),
			rapid.SampledFrom([]string{"1", "2", "4", "8"}).Draw(t, "cpu"),
			rapid.SampledFrom([]string{"2Gi", "4Gi", "8Gi", "16Gi"}).Draw(t, "memory"))
		nodes = append(nodes, (scenarios.NodeGroup{Name: fmt.Sprintf("g%d", g), Count: count}).NodeNames()...)
	}
	b.WriteString("  objects:\n")
	type dep struct {
		name         string
		service, hpa bool
	}
	var deps []dep
	for i := range rapid.IntRange(1, 4).Draw(t, "deployments") {
		d := dep{name: fmt.Sprintf("d%d", i), service: rapid.Bool().Draw(t, "service")}
		d.hpa = d.service && rapid.IntRange(0, 2).Draw(t, "hpa") == 0
		deps = append(deps, d)
		fmt.Fprintf(&b, "  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: %s}, spec: {replicas: %d, selector: {matchLabels: {app: %s}}, "+
			"template: {metadata: {labels: {app: %s}, annotations: {kubesim.dev/idle-cpu: 10m, kubesim.dev/cpu-per-request: 1m}}, "+
			"spec: {containers: [{name: c, image: img, resources: {requests: {cpu: %s, memory: %s}}}]}}}}\n",
			d.name, rapid.IntRange(0, 8).Draw(t, "replicas"), d.name, d.name,
			rapid.SampledFrom([]string{"100m", "250m", "500m", "1"}).Draw(t, "request cpu"),
			rapid.SampledFrom([]string{"128Mi", "256Mi", "1Gi"}).Draw(t, "request memory"))
		if d.service {
			fmt.Fprintf(&b, "  - {apiVersion: v1, kind: Service, metadata: {name: %s}, spec: {selector: {app: %s}, ports: [{port: 80}]}}\n", d.name, d.name)
		}
		if d.hpa {
			fmt.Fprintf(&b, "  - {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: %s}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}, "+
				"minReplicas: 1, maxReplicas: %d, metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: %d}}}]}}\n",
				d.name, d.name, rapid.IntRange(2, 10).Draw(t, "max"), rapid.IntRange(40, 90).Draw(t, "target"))
		}
	}
	b.WriteString("  events:\n")
	n := rapid.IntRange(0, 12).Draw(t, "faults")
	times := make([]time.Duration, n)
	for i := range times {
		times[i] = time.Duration(rapid.IntRange(0, int(faultWindow/time.Second)-1).Draw(t, "at")) * time.Second
	}
	slices.Sort(times)
	// Node faults follow each node's state, so that every fault is one a
	// real operator could apply (no recovering a healthy node).
	down := map[string]bool{}     // crashed or partitioned
	cordoned := map[string]bool{} // cordoned
	pick := func(label string, ok func(string) bool) (string, bool) {
		var candidates []string
		for _, n := range nodes {
			if ok(n) {
				candidates = append(candidates, n)
			}
		}
		if len(candidates) == 0 {
			return "", false
		}
		return rapid.SampledFrom(candidates).Draw(t, label), true
	}
	for _, at := range times {
		head := fmt.Sprintf("  - {at: %s, action: ", scenarios.FormatDuration(at))
		switch a := rapid.SampledFrom([]string{"crashNode", "partitionNode", "recoverNode", "cordon", "uncordon", "drain", "scale", "killPod", "setLoad"}).Draw(t, "action"); a {
		case "scale":
			d := rapid.SampledFrom(deps).Draw(t, "deployment")
			fmt.Fprintf(&b, "%sscale, target: deployment/%s, replicas: %d}\n", head, d.name, rapid.IntRange(0, 8).Draw(t, "replicas"))
		case "killPod":
			d := rapid.SampledFrom(deps).Draw(t, "deployment")
			fmt.Fprintf(&b, "%skillPod, target: deployment/%s}\n", head, d.name)
		case "setLoad":
			var svcs []string
			for _, d := range deps {
				if d.service {
					svcs = append(svcs, d.name)
				}
			}
			if len(svcs) == 0 {
				continue
			}
			fmt.Fprintf(&b, "%ssetLoad, service: %s, rps: %d}\n", head, rapid.SampledFrom(svcs).Draw(t, "service"), rapid.IntRange(0, 500).Draw(t, "rps"))
		case "crashNode", "partitionNode":
			if n, ok := pick("node", func(n string) bool { return !down[n] }); ok {
				down[n] = true
				fmt.Fprintf(&b, "%s%s, node: %s}\n", head, a, n)
			}
		case "recoverNode":
			if n, ok := pick("node", func(n string) bool { return down[n] }); ok {
				down[n] = false
				fmt.Fprintf(&b, "%s%s, node: %s}\n", head, a, n)
			}
		case "cordon", "drain":
			if n, ok := pick("node", func(n string) bool { return !cordoned[n] }); ok {
				cordoned[n] = true
				fmt.Fprintf(&b, "%s%s, node: %s}\n", head, a, n)
			}
		case "uncordon":
			if n, ok := pick("node", func(n string) bool { return cordoned[n] }); ok {
				cordoned[n] = false
				fmt.Fprintf(&b, "%s%s, node: %s}\n", head, a, n)
			}
		}
	}
	// The faults stop: every node is recovered and uncordoned.
	for _, node := range nodes {
		if down[node] {
			fmt.Fprintf(&b, "  - {at: %s, action: recoverNode, node: %s}\n", scenarios.FormatDuration(faultWindow), node)
		}
		if cordoned[node] {
			fmt.Fprintf(&b, "  - {at: %s, action: uncordon, node: %s}\n", scenarios.FormatDuration(faultWindow), node)
		}
	}
	return b.String()
}

// watchLog records one API watch: every event after the watch started.
type watchLog struct {
	resource string
	kind     string
	startRev int64
	events   []watchEvent
}

type watchEvent struct {
	typ  watch.EventType
	key  string
	rev  int64
	kind string
}

// recorder watches every resource from t=0 and records the API server's
// write trace records, to compare them; it also checks, at every bind, that
// the node is not over-committed.
type recorder struct {
	logs     []*watchLog
	writes   map[string][]watchEvent // by Kind
	problems []string                // found while the run went on
}

func newRecorder(instant func(*cluster.Cluster) []string) (*recorder, func(*cluster.Cluster)) {
	rec := &recorder{writes: map[string][]watchEvent{}}
	setup := func(c *cluster.Cluster) {
		for _, res := range c.API.Resources() {
			log := &watchLog{resource: res.Name, kind: res.Kind, startRev: c.Store.Rev()}
			rec.logs = append(rec.logs, log)
			kind := res.Kind
			_, err := c.API.Watch(res, "", metav1.ListOptions{ResourceVersion: "0"}, func(ev watch.Event) {
				m := ev.Object.(metav1.Object)
				rv, err := parseRV(m.GetResourceVersion())
				if err != nil {
					rec.problems = append(rec.problems, fmt.Sprintf("watch of %s: bad resourceVersion %q", kind, m.GetResourceVersion()))
					return
				}
				if rv <= log.startRev {
					return // the initial snapshot
				}
				log.events = append(log.events, watchEvent{typ: ev.Type, key: m.GetNamespace() + "/" + m.GetName(), rev: rv, kind: kind})
			})
			if err != nil {
				rec.problems = append(rec.problems, fmt.Sprintf("cannot watch %s: %v", res.Name, err))
			}
		}
		c.Engine.AddTraceSink(func(r sim.Record) {
			typ, ok := writeType(r)
			if !ok {
				return
			}
			rec.writes[r.Kind] = append(rec.writes[r.Kind], watchEvent{typ: typ, key: r.Namespace + "/" + r.Name, rev: r.RV, kind: r.Kind})
			if r.Verb == "bind" && r.Kind == "Pod" {
				rec.problems = append(rec.problems, overCommitted(c, r.Time, instant)...)
			}
		})
	}
	return rec, setup
}

func parseRV(s string) (int64, error) {
	var v int64
	_, err := fmt.Sscan(s, &v)
	return v, err
}

// writeType maps an API server write record to the watch event it causes.
func writeType(r sim.Record) (watch.EventType, bool) {
	if r.RV == 0 || r.Kind == "" {
		return "", false
	}
	switch {
	case r.Verb == "create":
		return watch.Added, true
	case r.Verb == "deleted":
		return watch.Deleted, true
	case r.Verb == "update", r.Verb == "bind", r.Verb == "delete", strings.HasPrefix(r.Verb, "update/"):
		return watch.Modified, true
	}
	return "", false
}

// check compares every watch with the writes: each saw every change of its
// resource once, in order, with growing revisions.
func (rec *recorder) check() []string {
	var problems []string
	for _, log := range rec.logs {
		var last int64
		for _, e := range log.events {
			if e.rev <= last {
				problems = append(problems, fmt.Sprintf("watch %s: revision %d after %d (%s %s)", log.resource, e.rev, last, e.typ, e.key))
			}
			last = e.rev
		}
		want := rec.writes[log.kind]
		if !slices.Equal(want, log.events) {
			problems = append(problems, fmt.Sprintf("watch %s saw %d events, the API server made %d writes; first difference: %s",
				log.resource, len(log.events), len(want), firstDiff(want, log.events)))
		}
	}
	return problems
}

func firstDiff(a, b []watchEvent) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("#%d write %+v, watch %+v", i, a[i], b[i])
		}
	}
	if len(a) > len(b) {
		return fmt.Sprintf("write %+v never seen", a[len(b)])
	}
	if len(b) > len(a) {
		return fmt.Sprintf("watch event %+v matches no write", b[len(a)])
	}
	return "none"
}

// list reads every object of a resource (shared: read only).
func list[T runtime.Object](c *cluster.Cluster, name string) []T {
	res, _ := c.API.Resource(name)
	objs, _, err := c.API.List(res, "", metav1.ListOptions{})
	if err != nil {
		panic(err)
	}
	out := make([]T, len(objs))
	for i, o := range objs {
		out[i] = o.(T)
	}
	return out
}

func podReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func nodeReady(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func terminal(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
}

// used sums the requests of the non-terminal pods bound to each node.
func used(pods []*v1.Pod) map[string]v1.ResourceList {
	out := map[string]v1.ResourceList{}
	for _, p := range pods {
		if p.Spec.NodeName == "" || terminal(p) {
			continue
		}
		u := out[p.Spec.NodeName]
		if u == nil {
			u = v1.ResourceList{}
			out[p.Spec.NodeName] = u
		}
		for name, q := range resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{}) {
			sum := u[name]
			sum.Add(q)
			u[name] = sum
		}
		pods := u[v1.ResourcePods]
		pods.Add(resource.MustParse("1"))
		u[v1.ResourcePods] = pods
	}
	return out
}

// overCommitted checks, right after a bind, that no node is
// over-committed (with instant: invariants or more).
func overCommitted(c *cluster.Cluster, at time.Duration, instant func(*cluster.Cluster) []string) []string {
	var out []string
	for _, p := range instant(c) {
		out = append(out, fmt.Sprintf("at %s, after a bind: %s", scenarios.FormatDuration(at), p))
	}
	return out
}

// invariants hold at every step: no node over-committed, every bound pod
// on an existing node.
func invariants(c *cluster.Cluster) []string { return invariantsTolerating(c, nil) }

// invariantsTolerating is invariants, except that a pod for which orphanOK
// (when not nil) answers true may be bound to a node that does not exist.
func invariantsTolerating(c *cluster.Cluster, orphanOK func(*v1.Pod) bool) []string {
	var problems []string
	nodes := map[string]*v1.Node{}
	for _, n := range list[*v1.Node](c, "nodes") {
		nodes[n.Name] = n
	}
	pods := list[*v1.Pod](c, "pods")
	podsRes, _ := c.API.Resource("pods")
	for _, p := range pods {
		// GetLatest (the traffic model's question whether a pod exists)
		// answers from the server's memo: it must be the store's object.
		if got, ok := c.API.GetLatest(podsRes, p.Namespace, p.Name); !ok || got != runtime.Object(p) {
			problems = append(problems, fmt.Sprintf("GetLatest of pod %s/%s is not the stored object (found %v)", p.Namespace, p.Name, ok))
		}
	}
	for node, u := range used(pods) {
		n, ok := nodes[node]
		if !ok {
			for _, p := range pods {
				if p.Spec.NodeName == node && p.DeletionTimestamp == nil && !terminal(p) && (orphanOK == nil || !orphanOK(p)) {
					problems = append(problems, fmt.Sprintf("pod %s/%s is bound to node %s, which does not exist", p.Namespace, p.Name, node))
				}
			}
			continue
		}
		for name, q := range u {
			if alloc, ok := n.Status.Allocatable[name]; ok && q.Cmp(alloc) > 0 {
				problems = append(problems, fmt.Sprintf("node %s over-committed: %s requested %s of %s", node, name, q.String(), alloc.String()))
			}
		}
	}
	return problems
}

// fits reports whether pod fits in what node n has left.
func fits(p *v1.Pod, n *v1.Node, u v1.ResourceList) bool {
	req := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
	req[v1.ResourcePods] = resource.MustParse("1")
	for name, q := range req {
		alloc, ok := n.Status.Allocatable[name]
		if !ok {
			if q.IsZero() {
				continue
			}
			return false
		}
		left := alloc.DeepCopy()
		left.Sub(u[name])
		if q.Cmp(left) > 0 {
			return false
		}
	}
	return true
}

// schedulable reports whether new pods may go to n: Ready, not cordoned,
// no NoSchedule or NoExecute taint.
func schedulable(n *v1.Node) bool {
	if !nodeReady(n) || n.Spec.Unschedulable {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute {
			return false
		}
	}
	return true
}

// converged checks the settled cluster.
func converged(c *cluster.Cluster) []string { return convergedWith(c, nil) }

// convergedWith is converged, except that a deployment for which stuck
// (when not nil) answers true need not have spec.replicas active pods.
func convergedWith(c *cluster.Cluster, stuck func(*appsv1.Deployment) bool) []string {
	problems := invariants(c)
	nodes := list[*v1.Node](c, "nodes")
	byName := map[string]*v1.Node{}
	for _, n := range nodes {
		byName[n.Name] = n
	}
	pods := list[*v1.Pod](c, "pods")
	u := used(pods)
	for _, p := range pods {
		if n := byName[p.Spec.NodeName]; podReady(p) && p.Spec.NodeName != "" && (n == nil || !nodeReady(n)) {
			problems = append(problems, fmt.Sprintf("pod %s is Ready on node %s, which is not Ready", p.Name, p.Spec.NodeName))
		}
	}
	for _, d := range list[*appsv1.Deployment](c, "deployments") {
		sel, _ := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		var active []*v1.Pod
		for _, p := range pods {
			if p.Namespace == d.Namespace && sel.Matches(labels.Set(p.Labels)) && p.DeletionTimestamp == nil && !terminal(p) {
				active = append(active, p)
			}
		}
		if int32(len(active)) != *d.Spec.Replicas && (stuck == nil || !stuck(d)) {
			problems = append(problems, fmt.Sprintf("deployment %s wants %d replicas and has %d active pods", d.Name, *d.Spec.Replicas, len(active)))
		}
		for _, p := range active {
			if podReady(p) {
				continue
			}
			var cond *v1.PodCondition
			for i := range p.Status.Conditions {
				if p.Status.Conditions[i].Type == v1.PodScheduled {
					cond = &p.Status.Conditions[i]
				}
			}
			if p.Status.Phase != v1.PodPending || p.Spec.NodeName != "" || cond == nil || cond.Reason != v1.PodReasonUnschedulable {
				problems = append(problems, fmt.Sprintf("pod %s of %s is not ready and not Pending/Unschedulable (phase %s, node %q)", p.Name, d.Name, p.Status.Phase, p.Spec.NodeName))
				continue
			}
			for _, n := range nodes {
				if schedulable(n) && fits(p, n, u[n.Name]) {
					problems = append(problems, fmt.Sprintf("pod %s of %s is Unschedulable but node %s has room for it", p.Name, d.Name, n.Name))
					break
				}
			}
		}
	}
	slicesOf := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range list[*discoveryv1.EndpointSlice](c, "endpointslices") {
		k := s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
		slicesOf[k] = append(slicesOf[k], s)
	}
	for _, svc := range list[*v1.Service](c, "services") {
		if svc.Spec.Selector == nil {
			continue
		}
		var want, got []string
		for _, p := range pods {
			if p.Namespace == svc.Namespace && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(p.Labels)) &&
				podReady(p) && p.DeletionTimestamp == nil {
				want = append(want, p.Name)
			}
		}
		for _, s := range slicesOf[svc.Namespace+"/"+svc.Name] {
			for _, ep := range s.Endpoints {
				if (ep.Conditions.Ready == nil || *ep.Conditions.Ready) && ep.TargetRef != nil {
					got = append(got, ep.TargetRef.Name)
				}
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			problems = append(problems, fmt.Sprintf("service %s: ready endpoints %v, ready pods %v", svc.Name, got, want))
		}
	}
	return problems
}

// caseResult is what went wrong in a convergence case ("" when nothing),
// with the hash of its trace (to show that a reproducer replays it).
type caseResult struct {
	What      string
	Problems  []string
	TraceHash string
}

func (r caseResult) failed() bool { return r.What != "" }

// runCase runs a scenario to its end, checking the invariants after every
// bind and every simulated minute, then the convergence properties with
// converge (converged, or a stricter check in tests of the reporting).
func runCase(sc *scenarios.Scenario, converge func(*cluster.Cluster) []string) caseResult {
	return runCaseEvery(sc, time.Minute, nil, invariants, converge)
}

// runCaseEvery is runCase checking instant (invariants or more) after
// every bind and every period of simulated time; setup (when not nil)
// runs on the cluster before it starts, as runner.Options.Setup.
func runCaseEvery(sc *scenarios.Scenario, every time.Duration, setup func(*cluster.Cluster), instant, converge func(*cluster.Cluster) []string) caseResult {
	rec, recSetup := newRecorder(instant)
	if setup != nil {
		record := recSetup
		recSetup = func(c *cluster.Cluster) { record(c); setup(c) }
	}
	hash := sha256.New()
	var line []byte
	opts := runner.Options{Setup: recSetup, DetectCacheMutations: true, Trace: func(r sim.Record) {
		line = append(r.AppendJSON(line[:0]), '\n')
		hash.Write(line)
	}}
	r, err := runner.New(sc, opts)
	if err != nil {
		return caseResult{What: "runner.New failed", Problems: []string{err.Error()}}
	}
	c := r.Cluster()
	res := caseResult{}
	fail := func(what string, problems []string) {
		if !res.failed() && len(problems) > 0 {
			res.What, res.Problems = what, problems
		}
	}
	for at := every; at <= r.Until() && !res.failed(); at += every {
		r.AdvanceTo(at)
		fail("invariant broken after a bind", rec.problems)
		fail(fmt.Sprintf("invariant broken at %s", scenarios.FormatDuration(at)), instant(c))
	}
	out := r.Finish()
	if err := c.Informers.CheckMutations(); err != nil {
		fail("a component modified a shared cached object", []string{err.Error()})
	}
	var errs []string
	for _, e := range out.Errors {
		if !strings.Contains(e.Message, "has no running pod") { // killPod when no pod of the workload runs is legitimate
			errs = append(errs, e.String())
		}
	}
	fail("the run had errors", errs)
	var failedExp []string
	for _, e := range out.Expectations {
		if e.Status == scenarios.Failed {
			failedExp = append(failedExp, e.Expectation.String()+": observed "+e.Observed)
		}
	}
	fail("an expectation of the scenario failed", failedExp)
	fail("the cluster did not converge", converge(c))
	fail("watches and writes disagree", rec.check())
	res.TraceHash = hex.EncodeToString(hash.Sum(nil))
	return res
}

// position is the "file:line: " a run error starts with: the printed
// scenario is laid out differently from the generated one.
var position = regexp.MustCompile(`^\S+:\d+: `)

// withoutPositions strips the positions from problems.
func withoutPositions(problems []string) []string {
	out := make([]string, len(problems))
	for i, p := range problems {
		out[i] = position.ReplaceAllString(p, "")
	}
	return out
}

// reproducerHeader introduces the YAML of a failing case.
const reproducerHeader = "reproduce: save this as convergence.yaml and run kubesim run convergence.yaml --trace trace.jsonl\n"

// failureReport describes a failing case and prints it as a scenario that
// kubesim run reproduces: it writes the scenario with scenarios.Marshal,
// loads the file as kubesim run does and runs it again, and says whether
// the same failure came back.
func failureReport(sc *scenarios.Scenario, got caseResult, run func(*scenarios.Scenario) caseResult, dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (seed %d):\n  %s\n", got.What, sc.Spec.Seed, strings.Join(got.Problems, "\n  "))
	out, err := scenarios.Marshal(sc)
	if err != nil {
		fmt.Fprintf(&b, "cannot print the scenario: %v\n", err)
		return b.String()
	}
	file := filepath.Join(dir, "convergence.yaml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		fmt.Fprintf(&b, "cannot write %s: %v\n", file, err)
	} else if re, err := runner.Load(file); err != nil {
		fmt.Fprintf(&b, "BUG: the printed scenario does not load: %v\n", err)
	} else if again := run(re); again.What != got.What || !slices.Equal(withoutPositions(again.Problems), withoutPositions(got.Problems)) {
		fmt.Fprintf(&b, "BUG: the printed scenario does not reproduce the failure; it gives %q: %v\n", again.What, again.Problems)
	} else {
		b.WriteString("the scenario below reproduces it (checked)\n")
	}
	b.WriteString(reproducerHeader)
	b.Write(out)
	return b.String()
}

// caseGen draws a generated scenario.
var caseGen = rapid.Custom(func(t *rapid.T) *scenarios.Scenario {
	doc := genCase(t)
	sc, err := scenarios.LoadBytes("convergence.yaml", []byte(doc), ".", scenarios.WithValidator(runner.Validator()))
	if err != nil {
		t.Fatalf("the generator wrote an invalid scenario: %v\n%s", err, doc)
	}
	return sc
})

// TestConvergence: random clusters, workloads and faults; the invariants
// hold after every bind and every simulated minute, and once the faults
// stop and the cluster settles, it converges. A failing case (shrunk by
// rapid) is printed as a scenario that kubesim run reproduces, checked by
// running the printed file again.
func TestConvergence(t *testing.T) {
	dir := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		sc := caseGen.Draw(t, "scenario")
		if got := runCase(sc, converged); got.failed() {
			t.Fatal(failureReport(sc, got, func(sc *scenarios.Scenario) caseResult { return runCase(sc, converged) }, dir))
		}
	})
}

// TestConvergenceReproducersReplayTheRun: a generated case printed with
// scenarios.Marshal and loaded from a file as kubesim run loads it gives
// the same run, byte for byte (its trace hash), so any failure it shows is
// reproduced.
func TestConvergenceReproducersReplayTheRun(t *testing.T) {
	dir := t.TempDir()
	for i := range 4 {
		sc := caseGen.Example(i)
		first := runCase(sc, converged)
		out, err := scenarios.Marshal(sc)
		require.NoError(t, err)
		file := filepath.Join(dir, fmt.Sprintf("case-%d.yaml", i))
		require.NoError(t, os.WriteFile(file, out, 0o644))
		re, err := runner.Load(file)
		require.NoError(t, err, "%s", out)
		again := runCase(re, converged)
		assert.Equal(t, first, again, "case %d:\n%s", i, out)
	}
}

// TestConvergenceFailureReportReproduces drives the failure path with a
// convergence check that cannot hold (every deployment one more ready pod
// than it has): the report names the problem, says the printed scenario
// reproduced it, and the printed YAML loads and fails the same way.
func TestConvergenceFailureReportReproduces(t *testing.T) {
	tooStrict := func(c *cluster.Cluster) []string {
		var p []string
		for _, d := range list[*appsv1.Deployment](c, "deployments") {
			p = append(p, fmt.Sprintf("deployment %s: wants %d ready pods", d.Name, d.Status.ReadyReplicas+1))
		}
		return p
	}
	var sc *scenarios.Scenario
	for i := 0; sc == nil; i++ {
		if c := caseGen.Example(i); len(c.InitialObjects()) > 0 {
			sc = c
		}
	}
	got := runCase(sc, tooStrict)
	require.True(t, got.failed())
	assert.Equal(t, "the cluster did not converge", got.What)
	report := failureReport(sc, got, func(sc *scenarios.Scenario) caseResult { return runCase(sc, tooStrict) }, t.TempDir())
	assert.Contains(t, report, "the scenario below reproduces it (checked)")
	assert.NotContains(t, report, "BUG")
	_, yamlText, ok := strings.Cut(report, reproducerHeader)
	require.True(t, ok, report)
	re, err := scenarios.LoadBytes("convergence.yaml", []byte(yamlText), ".", scenarios.WithValidator(runner.Validator()))
	require.NoError(t, err, yamlText)
	assert.Equal(t, got, runCase(re, tooStrict))
}

// TestConvergenceRegressions runs the cases that once found a bug
// (testdata/convergence/*.yaml; each says which): they converge.
func TestConvergenceRegressions(t *testing.T) {
	files, err := filepath.Glob("testdata/convergence/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			sc, err := runner.Load(file)
			require.NoError(t, err)
			got := runCase(sc, converged)
			assert.False(t, got.failed(), "%s: %v", got.What, got.Problems)
		})
	}
}
