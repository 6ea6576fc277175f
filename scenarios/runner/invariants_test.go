// The invariant properties run the whole cluster on random scenarios with
// more kinds of faults than the convergence property (nodes added and
// deleted, zones failed and recovered, new images applied, rollouts
// restarted, deployments and services deleted) and check what upstream
// Kubernetes guarantees: at every pod change (its legal transitions), at
// every instant (pod addresses, no over-committed node), and once the
// faults stop and the cluster has settled (EndpointSlices and kube-proxy
// routes, workload status and revisions, owner references, HPA replicas,
// node Leases, informer caches). make test runs TestMain's default number
// of cases (about 10 s), make test-props 1,000.

package runner_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/runner"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
)

// invariantEvery is how often (simulated time) the instant invariants are
// checked, besides after every bind.
const invariantEvery = 5 * time.Second

// invariantDep is a generated deployment.
type invariantDep struct {
	name, cpu, memory string
	replicas, image   int
	service, hpa      bool
	deleted           bool // by a delete action, until an apply creates it again
	// strategy and behaviour are flow-style YAML fragments: the rollout
	// strategy and minReadySeconds, and the pod's annotations and grace
	// period that shape how its containers start, become ready and stop.
	strategy, annotations, grace string
}

// yaml is the deployment as a flow-style manifest.
func (d invariantDep) yaml() string {
	return fmt.Sprintf("{apiVersion: apps/v1, kind: Deployment, metadata: {name: %s}, spec: {replicas: %d, %sselector: {matchLabels: {app: %s}}, "+
		"template: {metadata: {labels: {app: %s}, annotations: {kubesim.dev/idle-cpu: 10m, kubesim.dev/cpu-per-request: 1m%s}}, "+
		"spec: {%scontainers: [{name: c, image: 'img:%d', readinessProbe: {httpGet: {port: 80}, periodSeconds: 5}, resources: {requests: {cpu: %s, memory: %s}}}]}}}}",
		d.name, d.replicas, d.strategy, d.name, d.name, d.annotations, d.grace, d.image, d.cpu, d.memory)
}

// drawBehaviour draws a deployment's rollout strategy and its pods'
// behaviour: slow starts, a readiness dip that ends before the faults do,
// slow preStop hooks and stops.
func (d *invariantDep) drawBehaviour(t *rapid.T) {
	d.strategy = rapid.SampledFrom([]string{"", "strategy: {type: Recreate}, ",
		"strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}, ", "strategy: {rollingUpdate: {maxSurge: 2, maxUnavailable: 0}}, ",
		"minReadySeconds: 10, "}).Draw(t, "strategy")
	for _, a := range []struct{ key, values string }{
		{"kubesim.dev/startup-duration", "5s 30s"},
		{"kubesim.dev/not-ready-between", "20s-40s 1m-3m"},
		{"kubesim.dev/prestop-duration", "5s 20s"},
		{"kubesim.dev/stop-duration", "2s 45s"},
	} {
		if v := rapid.SampledFrom(append([]string{"", ""}, strings.Fields(a.values)...)).Draw(t, a.key); v != "" {
			d.annotations += fmt.Sprintf(", %s: %s", a.key, v)
		}
	}
	d.grace = rapid.SampledFrom([]string{"", "terminationGracePeriodSeconds: 10, ", "terminationGracePeriodSeconds: 60, "}).Draw(t, "grace")
}

// invariantNode is a generated node and what the faults did to it.
type invariantNode struct {
	name, zone              string
	down, cordoned, deleted bool
}

// genInvariantCase draws a random scenario: like genCase, plus faults that
// add and delete nodes, fail and recover zones, apply a new image and
// restart a rollout. At the end of the fault window every node left is
// recovered and uncordoned.
func genInvariantCase(t *rapid.T) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: invariants\n  description: A generated invariants case.\n")
	fmt.Fprintf(&b, "spec:\n  seed: %d\n  duration: %s\n  cluster:\n    nodes:\n", rapid.Uint64Range(1, 1<<20).Draw(t, "seed"),
		scenarios.FormatDuration(faultWindow+settle))
	zones := []string{"zone-a", "zone-b", "zone-c"}
	var nodes []*invariantNode
	group := func(name string, count int) string {
		zone := rapid.SampledFrom(zones).Draw(t, "zone")
		for _, n := range (scenarios.NodeGroup{Name: name, Count: count}).NodeNames() {
			nodes = append(nodes, &invariantNode{name: n, zone: zone})
		}
		return fmt.Sprintf("{name: %s, count: %d, zone: %s, capacity: {cpu: %q, memory: %s, pods: %q}}", name, count, zone,
			rapid.SampledFrom([]string{"1", "2", "4", "8"}).Draw(t, "cpu"),
			rapid.SampledFrom([]string{"2Gi", "4Gi", "8Gi", "16Gi"}).Draw(t, "memory"),
			rapid.SampledFrom([]string{"110", "3", "5"}).Draw(t, "pods"))
	}
	total := rapid.IntRange(1, 12).Draw(t, "nodes")
	for g := 0; total > 0; g++ {
		count := rapid.IntRange(1, total).Draw(t, "group size")
		total -= count
		fmt.Fprintf(&b, "    - %s\n", group(fmt.Sprintf("g%d", g), count))
	}
	b.WriteString("  objects:\n")
	var deps []*invariantDep
	var svcs []string
	for i := range rapid.IntRange(1, 4).Draw(t, "deployments") {
		d := &invariantDep{name: fmt.Sprintf("d%d", i), replicas: rapid.IntRange(0, 8).Draw(t, "replicas"), image: 1,
			cpu:     rapid.SampledFrom([]string{"100m", "250m", "500m", "1"}).Draw(t, "request cpu"),
			memory:  rapid.SampledFrom([]string{"128Mi", "256Mi", "1Gi"}).Draw(t, "request memory"),
			service: rapid.Bool().Draw(t, "service")}
		d.hpa = d.service && rapid.IntRange(0, 2).Draw(t, "hpa") == 0
		d.drawBehaviour(t)
		deps = append(deps, d)
		fmt.Fprintf(&b, "  - %s\n", d.yaml())
		if d.service {
			svcs = append(svcs, d.name)
			fmt.Fprintf(&b, "  - {apiVersion: v1, kind: Service, metadata: {name: %s}, spec: {selector: {app: %s}, publishNotReadyAddresses: %v, ports: [{port: 80}]}}\n",
				d.name, d.name, rapid.IntRange(0, 3).Draw(t, "publishNotReady") == 0)
		}
		if d.hpa {
			fmt.Fprintf(&b, "  - {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: %s}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}, "+
				"minReplicas: 1, maxReplicas: %d, metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: %d}}}]}}\n",
				d.name, d.name, rapid.IntRange(2, 10).Draw(t, "max"), rapid.IntRange(40, 90).Draw(t, "target"))
		}
	}
	b.WriteString("  events:\n")
	n := rapid.IntRange(0, 24).Draw(t, "faults")
	// The faults come spread over the window or in a burst, where they
	// race with each other's consequences.
	span := rapid.SampledFrom([]time.Duration{faultWindow, time.Minute, 15 * time.Second}).Draw(t, "burst")
	start := time.Duration(rapid.IntRange(0, int((faultWindow-span)/time.Second)).Draw(t, "burst start")) * time.Second
	times := make([]time.Duration, n)
	for i := range times {
		times[i] = start + time.Duration(rapid.IntRange(0, int(span/time.Second)-1).Draw(t, "at"))*time.Second
	}
	slices.Sort(times)
	pick := func(ok func(*invariantNode) bool) (*invariantNode, bool) {
		var candidates []*invariantNode
		for _, n := range nodes {
			if !n.deleted && ok(n) {
				candidates = append(candidates, n)
			}
		}
		if len(candidates) == 0 {
			return nil, false
		}
		return rapid.SampledFrom(candidates).Draw(t, "node"), true
	}
	liveDep := func() (*invariantDep, bool) {
		var live []*invariantDep
		for _, d := range deps {
			if !d.deleted {
				live = append(live, d)
			}
		}
		if len(live) == 0 {
			return nil, false
		}
		return rapid.SampledFrom(live).Draw(t, "deployment"), true
	}
	added := 0
	restarted := map[string]time.Duration{}
	for _, at := range times {
		head := fmt.Sprintf("  - {at: %s, action: ", scenarios.FormatDuration(at))
		switch a := rapid.SampledFrom([]string{"crashNode", "partitionNode", "recoverNode", "cordon", "uncordon", "drain",
			"addNode", "deleteNode", "failZone", "recoverZone", "scale", "apply", "rolloutRestart", "killPod", "setLoad", "delete"}).Draw(t, "action"); a {
		case "delete":
			if rapid.Bool().Draw(t, "delete service") {
				if len(svcs) > 0 {
					i := rapid.IntRange(0, len(svcs)-1).Draw(t, "service")
					fmt.Fprintf(&b, "%sdelete, target: service/%s}\n", head, svcs[i])
					svcs = slices.Delete(svcs, i, i+1)
				}
			} else if d, ok := liveDep(); ok {
				d.deleted = true
				fmt.Fprintf(&b, "%sdelete, target: deployment/%s}\n", head, d.name)
			}
		case "scale":
			d, ok := liveDep()
			if !ok {
				continue
			}
			d.replicas = rapid.IntRange(0, 8).Draw(t, "replicas")
			fmt.Fprintf(&b, "%sscale, target: deployment/%s, replicas: %d}\n", head, d.name, d.replicas)
		case "apply":
			d := rapid.SampledFrom(deps).Draw(t, "deployment")
			d.image++
			d.deleted = false
			fmt.Fprintf(&b, "%sapply, object: %s}\n", head, d.yaml())
		case "rolloutRestart", "killPod":
			d, ok := liveDep()
			if !ok {
				continue
			}
			if a == "rolloutRestart" {
				// kubectl refuses a second restart within the second.
				if last, ok := restarted[d.name]; ok && at-last < time.Second {
					continue
				}
				restarted[d.name] = at
			}
			fmt.Fprintf(&b, "%s%s, target: deployment/%s}\n", head, a, d.name)
		case "setLoad":
			if len(svcs) > 0 {
				fmt.Fprintf(&b, "%ssetLoad, service: %s, rps: %d}\n", head, rapid.SampledFrom(svcs).Draw(t, "service"), rapid.IntRange(0, 500).Draw(t, "rps"))
			}
		case "addNode":
			fmt.Fprintf(&b, "%saddNode, group: %s}\n", head, group(fmt.Sprintf("x%d", added), rapid.IntRange(1, 3).Draw(t, "added")))
			added++
		case "deleteNode":
			if n, ok := pick(func(*invariantNode) bool { return true }); ok {
				n.deleted = true
				fmt.Fprintf(&b, "%s%s, node: %s}\n", head, a, n.name)
			}
		case "failZone", "recoverZone":
			// Only a zone with a node the fault changes.
			zone := rapid.SampledFrom(zones).Draw(t, "zone")
			fail := a == "failZone"
			changes := false
			for _, n := range nodes {
				if n.zone == zone && !n.deleted && n.down != fail {
					changes = true
					n.down = fail
				}
			}
			if changes {
				fmt.Fprintf(&b, "%s%s, zone: %s}\n", head, a, zone)
			}
		case "crashNode", "partitionNode":
			if n, ok := pick(func(n *invariantNode) bool { return !n.down }); ok {
				n.down = true
				fmt.Fprintf(&b, "%s%s, node: %s}\n", head, a, n.name)
			}
		case "recoverNode":
			if n, ok := pick(func(n *invariantNode) bool { return n.down }); ok {
				n.down = false
				fmt.Fprintf(&b, "%s%s, node: %s}\n", head, a, n.name)
			}
		case "cordon", "drain":
			if n, ok := pick(func(n *invariantNode) bool { return !n.cordoned }); ok {
				n.cordoned = true
				fmt.Fprintf(&b, "%s%s, node: %s}\n", head, a, n.name)
			}
		case "uncordon":
			if n, ok := pick(func(n *invariantNode) bool { return n.cordoned }); ok {
				n.cordoned = false
				fmt.Fprintf(&b, "%s%s, node: %s}\n", head, a, n.name)
			}
		}
	}
	for _, n := range nodes {
		if n.deleted {
			continue
		}
		if n.down {
			fmt.Fprintf(&b, "  - {at: %s, action: recoverNode, node: %s}\n", scenarios.FormatDuration(faultWindow), n.name)
		}
		if n.cordoned {
			fmt.Fprintf(&b, "  - {at: %s, action: uncordon, node: %s}\n", scenarios.FormatDuration(faultWindow), n.name)
		}
	}
	return b.String()
}

var invariantCaseGen = rapid.Custom(func(t *rapid.T) *scenarios.Scenario {
	doc := genInvariantCase(t)
	sc, err := scenarios.LoadBytes("invariants.yaml", []byte(doc), ".", scenarios.WithValidator(runner.Validator()))
	if err != nil {
		t.Fatalf("the generator wrote an invalid scenario: %v\n%s", err, doc)
	}
	return sc
})

// internalIP is a node's InternalIP address.
func internalIP(n *v1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == v1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

// orphanGrace is how long a pod may stay bound to a deleted node: the pod
// garbage collector notices it within a 20 s period, waits out the 40 s
// quarantine, and deletes it at the next period (upstream
// pkg/controller/podgc/gc_controller.go gcCheckPeriod, quarantineTime,
// gcOrphaned), plus slack for invariantEvery.
const orphanGrace = 90 * time.Second

// newInstantInvariants returns the checker of the invariants that hold at
// every instant (it keeps state, one per run): invariants, except that a
// pod may stay bound to a deleted node for orphanGrace; and every pod that
// has an IP and is bound to an existing node has it inside the node's
// podCIDR, hostIP the node's InternalIP, and no other such pod that is not
// terminal has the same IP (the kubelet's host-local IPAM hands out each
// address of its range once at a time). Pods of deleted nodes are left out
// of the address checks: the node IPAM controller hands their CIDR to a
// new node while they wait for the pod garbage collector.
func newInstantInvariants() func(*cluster.Cluster) []string {
	orphanSince := map[types.UID]time.Duration{}
	return func(c *cluster.Cluster) []string {
		now := c.Engine.Elapsed()
		return instantInvariants(c, func(p *v1.Pod) bool {
			since, ok := orphanSince[p.UID]
			if !ok {
				orphanSince[p.UID], since = now, now
			}
			return now-since <= orphanGrace
		})
	}
}

func instantInvariants(c *cluster.Cluster, orphanOK func(*v1.Pod) bool) []string {
	return append(invariantsTolerating(c, orphanOK), addressProblems(c)...)
}

// addressProblems checks the pod addresses (see newInstantInvariants).
func addressProblems(c *cluster.Cluster) []string {
	var problems []string
	nodes := map[string]*v1.Node{}
	for _, n := range list[*v1.Node](c, "nodes") {
		nodes[n.Name] = n
	}
	owner := map[string]string{}
	for _, p := range list[*v1.Pod](c, "pods") {
		n := nodes[p.Spec.NodeName]
		if n == nil || p.Status.PodIP == "" {
			continue
		}
		if p.Status.HostIP != internalIP(n) {
			problems = append(problems, fmt.Sprintf("pod %s/%s on %s has hostIP %q, the node's InternalIP is %q", p.Namespace, p.Name, n.Name, p.Status.HostIP, internalIP(n)))
		}
		ip, err := netip.ParseAddr(p.Status.PodIP)
		cidr, cerr := netip.ParsePrefix(n.Spec.PodCIDR)
		if err != nil || cerr != nil || !cidr.Contains(ip) {
			problems = append(problems, fmt.Sprintf("pod %s/%s on %s has IP %q outside the node's podCIDR %q", p.Namespace, p.Name, n.Name, p.Status.PodIP, n.Spec.PodCIDR))
		}
		if terminal(p) {
			continue
		}
		if other, dup := owner[p.Status.PodIP]; dup {
			problems = append(problems, fmt.Sprintf("pods %s and %s/%s both have IP %s", other, p.Namespace, p.Name, p.Status.PodIP))
		}
		owner[p.Status.PodIP] = p.Namespace + "/" + p.Name
	}
	return problems
}

// controllerOf is the UID and name of obj's controller ("" when none).
func controllerOf(m metav1.Object) (types.UID, string) {
	if ref := metav1.GetControllerOf(m); ref != nil {
		return ref.UID, ref.Kind + "/" + ref.Name
	}
	return "", ""
}

// settledInvariants hold once the faults have stopped and the cluster has
// settled: converged, and
//   - no pod is terminating or bound to a node that does not exist (the
//     pod garbage collector force-deletes pods of deleted nodes);
//   - every pod and ReplicaSet with a controller reference has its owner
//     (same UID), and every active pod a Deployment selects has one;
//   - a ReplicaSet's status counts its active pods (replicas, ready,
//     available, fully labeled) at its generation (upstream
//     pkg/controller/replicaset/replica_set_utils.go calculateStatus);
//   - a Deployment's status sums its ReplicaSets' (upstream
//     pkg/controller/deployment/sync.go calculateStatus);
//   - a Service's EndpointSlices list exactly the pods it selects that have
//     an IP, are not terminal and sit on an existing node, once each, with
//     upstream's conditions (pkg/controller/util/endpointslice podToEndpoint)
//     and at most 100 endpoints a slice;
//   - every watching informer's cache equals a fresh list.
func settledInvariants(c *cluster.Cluster) []string {
	problems := convergedWith(c, stuckRollout)
	nodes := map[string]*v1.Node{}
	for _, n := range list[*v1.Node](c, "nodes") {
		nodes[n.Name] = n
	}
	pods := list[*v1.Pod](c, "pods")
	rss := list[*appsv1.ReplicaSet](c, "replicasets")
	deps := list[*appsv1.Deployment](c, "deployments")
	uids := map[types.UID]string{}
	for _, rs := range rss {
		uids[rs.UID] = "ReplicaSet/" + rs.Name
	}
	for _, d := range deps {
		uids[d.UID] = "Deployment/" + d.Name
	}
	active := func(p *v1.Pod) bool { return p.DeletionTimestamp == nil && !terminal(p) }
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			problems = append(problems, fmt.Sprintf("pod %s is still terminating (node %q)", p.Name, p.Spec.NodeName))
		}
		if p.Spec.NodeName != "" && nodes[p.Spec.NodeName] == nil {
			problems = append(problems, fmt.Sprintf("pod %s is bound to node %s, which does not exist", p.Name, p.Spec.NodeName))
		}
		if uid, ref := controllerOf(p); uid != "" && uids[uid] != ref {
			problems = append(problems, fmt.Sprintf("pod %s: its controller %s does not exist", p.Name, ref))
		}
	}
	byRS := map[types.UID][]*v1.Pod{}
	for _, p := range pods {
		if uid, _ := controllerOf(p); uid != "" && active(p) {
			byRS[uid] = append(byRS[uid], p)
		}
	}
	rsOf := map[types.UID][]*appsv1.ReplicaSet{}
	for _, rs := range rss {
		uid, ref := controllerOf(rs)
		if uid != "" && uids[uid] != ref {
			problems = append(problems, fmt.Sprintf("replicaset %s: its controller %s does not exist", rs.Name, ref))
		}
		rsOf[uid] = append(rsOf[uid], rs)
		var want appsv1.ReplicaSetStatus
		tmpl := labels.SelectorFromSet(rs.Spec.Template.Labels)
		for _, p := range byRS[rs.UID] {
			want.Replicas++
			if tmpl.Matches(labels.Set(p.Labels)) {
				want.FullyLabeledReplicas++
			}
			if podReady(p) {
				want.ReadyReplicas++
				want.AvailableReplicas++ // minReadySeconds is 0
			}
		}
		got := rs.Status
		// With minReadySeconds, a pod Ready later than the first of a
		// burst is counted available only at the next sync: the requeue
		// on its turning Ready folds into the earlier one (client-go's
		// delaying queue keeps the earliest time per key), and a sync
		// requeues itself only when every replica is Ready (upstream
		// v1.32 pkg/controller/replicaset/replica_set.go syncReplicaSet,
		// issue kubernetes#29229; newer upstream requeues at
		// controller.FindMinNextPodAvailabilityCheck).
		if rs.Spec.MinReadySeconds > 0 && want.ReadyReplicas != *rs.Spec.Replicas && got.AvailableReplicas <= want.AvailableReplicas {
			want.AvailableReplicas = got.AvailableReplicas
		}
		if got.Replicas != want.Replicas || got.ReadyReplicas != want.ReadyReplicas || got.AvailableReplicas != want.AvailableReplicas ||
			got.FullyLabeledReplicas != want.FullyLabeledReplicas || got.ObservedGeneration != rs.Generation || want.Replicas != *rs.Spec.Replicas {
			problems = append(problems, fmt.Sprintf("replicaset %s (generation %d, spec.replicas %d): status replicas %d ready %d available %d fullyLabeled %d observedGeneration %d; its pods: %d active, %d ready, %d fully labeled",
				rs.Name, rs.Generation, *rs.Spec.Replicas, got.Replicas, got.ReadyReplicas, got.AvailableReplicas, got.FullyLabeledReplicas, got.ObservedGeneration,
				want.Replicas, want.ReadyReplicas, want.FullyLabeledReplicas))
		}
	}
	for _, d := range deps {
		sel, _ := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		for _, p := range pods {
			if p.Namespace == d.Namespace && active(p) && sel.Matches(labels.Set(p.Labels)) && metav1.GetControllerOf(p) == nil {
				problems = append(problems, fmt.Sprintf("pod %s of deployment %s has no controller (not adopted)", p.Name, d.Name))
			}
		}
		var want appsv1.DeploymentStatus
		var specSum int32
		var newRS *appsv1.ReplicaSet
		for _, rs := range rsOf[d.UID] {
			want.Replicas += rs.Status.Replicas
			want.ReadyReplicas += rs.Status.ReadyReplicas
			want.AvailableReplicas += rs.Status.AvailableReplicas
			specSum += *rs.Spec.Replicas
			if rs.Annotations["deployment.kubernetes.io/revision"] == d.Annotations["deployment.kubernetes.io/revision"] {
				newRS = rs
			}
		}
		if newRS != nil {
			want.UpdatedReplicas = newRS.Status.Replicas
		}
		want.UnavailableReplicas = max(specSum-want.AvailableReplicas, 0)
		got := d.Status
		// A stuck rollout keeps its surge: at most maxSurge more pods.
		complete := specSum == *d.Spec.Replicas && want.UpdatedReplicas == *d.Spec.Replicas
		if stuckRollout(d) {
			surge := 0 // Recreate
			if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
				surge, _ = intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, int(*d.Spec.Replicas), true)
			}
			complete = specSum <= *d.Spec.Replicas+int32(surge)
		}
		if newRS == nil || got.Replicas != want.Replicas || got.UpdatedReplicas != want.UpdatedReplicas || got.ReadyReplicas != want.ReadyReplicas ||
			got.AvailableReplicas != want.AvailableReplicas || got.UnavailableReplicas != want.UnavailableReplicas || got.ObservedGeneration != d.Generation || !complete {
			problems = append(problems, fmt.Sprintf("deployment %s (generation %d, spec.replicas %d, new replicaset found %v): status replicas %d updated %d ready %d available %d unavailable %d observedGeneration %d; "+
				"its replicasets: spec.replicas %d, replicas %d updated %d ready %d available %d",
				d.Name, d.Generation, *d.Spec.Replicas, newRS != nil, got.Replicas, got.UpdatedReplicas, got.ReadyReplicas, got.AvailableReplicas, got.UnavailableReplicas, got.ObservedGeneration,
				specSum, want.Replicas, want.UpdatedReplicas, want.ReadyReplicas, want.AvailableReplicas))
		}
	}
	problems = append(problems, revisionProblems(deps, rsOf)...)
	problems = append(problems, hpaProblems(c, deps)...)
	problems = append(problems, leaseProblems(c, nodes)...)
	problems = append(problems, endpointProblems(c, nodes, pods)...)
	problems = append(problems, proxyProblems(c)...)
	if err := c.Informers.CheckCaches(); err != nil {
		problems = append(problems, err.Error())
	}
	return problems
}

// revisionProblems checks a Deployment's revisions: its ReplicaSets have
// distinct revisions, the Deployment's is the highest, and each
// ReplicaSet's name ends in its pod-template-hash label (upstream
// pkg/controller/deployment/sync.go getNewReplicaSet, util.MaxRevision).
func revisionProblems(deps []*appsv1.Deployment, rsOf map[types.UID][]*appsv1.ReplicaSet) []string {
	var problems []string
	const revision = "deployment.kubernetes.io/revision"
	for _, d := range deps {
		seen := map[string]string{}
		highest := 0
		for _, rs := range rsOf[d.UID] {
			r := rs.Annotations[revision]
			if other, dup := seen[r]; dup {
				problems = append(problems, fmt.Sprintf("deployment %s: replicasets %s and %s both have revision %q", d.Name, other, rs.Name, r))
			}
			seen[r] = rs.Name
			var n int
			if _, err := fmt.Sscan(r, &n); err != nil {
				problems = append(problems, fmt.Sprintf("replicaset %s: revision %q", rs.Name, r))
			}
			highest = max(highest, n)
			if h := rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; h == "" || rs.Name != d.Name+"-"+h {
				problems = append(problems, fmt.Sprintf("replicaset %s of deployment %s has pod-template-hash %q", rs.Name, d.Name, h))
			}
		}
		if len(rsOf[d.UID]) > 0 && d.Annotations[revision] != fmt.Sprint(highest) {
			problems = append(problems, fmt.Sprintf("deployment %s has revision %q, its newest replicaset %d", d.Name, d.Annotations[revision], highest))
		}
	}
	return problems
}

// hpaProblems checks each HorizontalPodAutoscaler of an existing
// Deployment: the Deployment's replicas are 0 (scaling disabled) or
// within [minReplicas, maxReplicas], and the autoscaler's status.currentReplicas is the
// Deployment's spec.replicas (the scale subresource's spec.replicas:
// upstream pkg/controller/podautoscaler/horizontal.go reconcileAutoscaler).
func hpaProblems(c *cluster.Cluster, deps []*appsv1.Deployment) []string {
	var problems []string
	byName := map[string]*appsv1.Deployment{}
	for _, d := range deps {
		byName[d.Namespace+"/"+d.Name] = d
	}
	for _, h := range list[*autoscalingv2.HorizontalPodAutoscaler](c, "horizontalpodautoscalers") {
		d := byName[h.Namespace+"/"+h.Spec.ScaleTargetRef.Name]
		if d == nil {
			continue
		}
		// Zero replicas turn the autoscaler off (upstream
		// pkg/controller/podautoscaler/horizontal.go reconcileAutoscaler:
		// ScalingDisabled).
		if r := *d.Spec.Replicas; r != 0 && (r < *h.Spec.MinReplicas || r > h.Spec.MaxReplicas) {
			problems = append(problems, fmt.Sprintf("hpa %s: deployment has %d replicas, outside [%d, %d]", h.Name, r, *h.Spec.MinReplicas, h.Spec.MaxReplicas))
		}
		if h.Status.CurrentReplicas != *d.Spec.Replicas {
			problems = append(problems, fmt.Sprintf("hpa %s: status.currentReplicas %d, the deployment's spec.replicas %d", h.Name, h.Status.CurrentReplicas, *d.Spec.Replicas))
		}
	}
	return problems
}

// leaseProblems checks that every Node has its Lease in kube-node-lease,
// held by the node and owned by it, and that no Lease outlives its Node
// (the garbage collector deletes it).
func leaseProblems(c *cluster.Cluster, nodes map[string]*v1.Node) []string {
	var problems []string
	leases := map[string]bool{}
	for _, l := range list[*coordinationv1.Lease](c, "leases") {
		if l.Namespace != v1.NamespaceNodeLease {
			continue
		}
		leases[l.Name] = true
		n := nodes[l.Name]
		if n == nil {
			problems = append(problems, fmt.Sprintf("lease %s outlives its node", l.Name))
			continue
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != n.Name {
			problems = append(problems, fmt.Sprintf("lease %s has holderIdentity %v", l.Name, l.Spec.HolderIdentity))
		}
		if uid, ref := controllerOf(l); ref != "" && uid != n.UID {
			problems = append(problems, fmt.Sprintf("lease %s is controlled by %s, not the node's UID", l.Name, ref))
		}
		if len(l.OwnerReferences) == 0 || l.OwnerReferences[0].UID != n.UID {
			problems = append(problems, fmt.Sprintf("lease %s is not owned by node %s (%v)", l.Name, n.Name, l.OwnerReferences))
		}
	}
	for name := range nodes {
		if !leases[name] {
			problems = append(problems, fmt.Sprintf("node %s has no lease", name))
		}
	}
	slices.Sort(problems)
	return problems
}

// stuckRollout reports whether a rollout is stuck as upstream's would be:
// past its progress deadline (Progressing False, ProgressDeadlineExceeded)
// with a pod that cannot be scheduled (convergedWith checks that no node
// has room for it), so that with maxUnavailable 0 the old ReplicaSet is
// never scaled down (upstream pkg/controller/deployment/rolling.go
// reconcileOldReplicaSets: maxScaledDown is 0).
func stuckRollout(d *appsv1.Deployment) bool {
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentProgressing {
			return cond.Status == v1.ConditionFalse && cond.Reason == "ProgressDeadlineExceeded" && d.Status.UnavailableReplicas > 0
		}
	}
	return false
}

// endpointProblems compares every selector Service's EndpointSlices with
// the pods it selects.
func endpointProblems(c *cluster.Cluster, nodes map[string]*v1.Node, pods []*v1.Pod) []string {
	var problems []string
	slicesOf := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range list[*discoveryv1.EndpointSlice](c, "endpointslices") {
		k := s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
		slicesOf[k] = append(slicesOf[k], s)
		if len(s.Endpoints) > 100 {
			problems = append(problems, fmt.Sprintf("endpointslice %s has %d endpoints (at most 100)", s.Name, len(s.Endpoints)))
		}
	}
	boolStr := func(b *bool) string {
		if b == nil {
			return "nil"
		}
		return fmt.Sprint(*b)
	}
	for _, svc := range list[*v1.Service](c, "services") {
		if svc.Spec.Selector == nil {
			continue
		}
		want := map[string]string{}
		for _, p := range pods {
			n := nodes[p.Spec.NodeName]
			if p.Namespace != svc.Namespace || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(p.Labels)) ||
				terminal(p) || p.Status.PodIP == "" || n == nil {
				continue
			}
			serving := podReady(p)
			terminating := p.DeletionTimestamp != nil
			ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
			want[p.Name] = fmt.Sprintf("addresses [%s] node %s zone %s ready %v serving %v terminating %v",
				p.Status.PodIP, p.Spec.NodeName, n.Labels[v1.LabelTopologyZone], ready, serving, terminating)
		}
		got := map[string]string{}
		for _, s := range slicesOf[svc.Namespace+"/"+svc.Name] {
			for _, ep := range s.Endpoints {
				if ep.TargetRef == nil {
					problems = append(problems, fmt.Sprintf("service %s: endpoint %v has no targetRef", svc.Name, ep.Addresses))
					continue
				}
				if _, dup := got[ep.TargetRef.Name]; dup {
					problems = append(problems, fmt.Sprintf("service %s: pod %s is listed twice", svc.Name, ep.TargetRef.Name))
				}
				node, zone := "", ""
				if ep.NodeName != nil {
					node = *ep.NodeName
				}
				if ep.Zone != nil {
					zone = *ep.Zone
				}
				got[ep.TargetRef.Name] = fmt.Sprintf("addresses [%s] node %s zone %s ready %s serving %s terminating %s",
					strings.Join(ep.Addresses, " "), node, zone, boolStr(ep.Conditions.Ready), boolStr(ep.Conditions.Serving), boolStr(ep.Conditions.Terminating))
			}
		}
		for _, name := range sortedKeys(want, got) {
			if want[name] != got[name] {
				problems = append(problems, fmt.Sprintf("service %s: endpoint of pod %s is {%s}, the pod says {%s}", svc.Name, name, got[name], want[name]))
			}
		}
	}
	return problems
}

// proxyProblems checks that every node's kube-proxy, synced, routes each
// selector Service's ClusterIP to its ready endpoints (to the serving
// terminating ones when none is ready: upstream
// pkg/proxy/topology.go CategorizeEndpoints), by ip:port.
func proxyProblems(c *cluster.Cluster) []string {
	var problems []string
	var want = map[string][]string{}
	for _, s := range list[*discoveryv1.EndpointSlice](c, "endpointslices") {
		svc := s.Labels[discoveryv1.LabelServiceName]
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				want[svc] = append(want[svc], ep.Addresses[0]+":80")
			}
		}
	}
	for _, node := range c.Proxies().Nodes() {
		p := c.Proxies().Proxy(node)
		if !p.Synced() {
			problems = append(problems, fmt.Sprintf("kube-proxy of %s is not synced (running %v)", node, p.Running()))
			continue
		}
		for _, svc := range list[*v1.Service](c, "services") {
			if svc.Spec.Selector == nil {
				continue
			}
			var got []string
			for _, e := range p.Route(svc.Namespace, svc.Name, "", false).Endpoints {
				got = append(got, e.Key)
			}
			w := slices.Clone(want[svc.Name])
			slices.Sort(w)
			slices.Sort(got)
			if !slices.Equal(w, got) {
				problems = append(problems, fmt.Sprintf("kube-proxy of %s routes service %s to %v, its ready endpoints are %v", node, svc.Name, got, w))
			}
		}
	}
	return problems
}

// sortedKeys is the union of the maps' keys, sorted.
func sortedKeys(ms ...map[string]string) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// podHistory is what a pod's earlier versions fix for its later ones.
type podHistory struct {
	node        string
	terminal    v1.PodPhase
	deletion    *metav1.Time
	restarts    map[string]int32
	seenVersion string
}

// podTransitions watches every pod and checks, at every change, what
// upstream never lets a pod do: leave a terminal phase (the kubelet's
// status manager refuses it), move to another node or lose its node
// (spec.nodeName is immutable once set), lose or postpone its
// deletionTimestamp (a second delete may only shorten the grace period),
// leave the API while it runs on a node that is down (a pod on an
// unreachable node stays Terminating until its kubelet returns or the Node
// is deleted: only the kubelet deletes a running bound pod, and the pod
// garbage collector marks an orphan Failed first), count fewer restarts of
// a container (the kubelet carries the count over
// a node reboot: kuberuntime calcRestartCountByLogDir), or be Ready
// without running (unless the pod garbage collector failed it, which
// leaves its Ready condition).
type podTransitions struct {
	pods     map[types.UID]*podHistory
	problems []string
}

func (tr *podTransitions) setup(c *cluster.Cluster) {
	tr.pods = map[types.UID]*podHistory{}
	res, _ := c.API.Resource("pods")
	nodes, _ := c.API.Resource("nodes")
	_, err := c.API.Watch(res, "", metav1.ListOptions{ResourceVersion: "0"}, func(ev watch.Event) {
		p, ok := ev.Object.(*v1.Pod)
		if !ok {
			return
		}
		tr.observe(p, ev.Type == watch.Deleted, c.Engine.Elapsed())
		if ev.Type == watch.Deleted && p.Spec.NodeName != "" && !terminal(p) && !c.NodeUp(p.Spec.NodeName) {
			if _, ok := c.API.GetLatest(nodes, "", p.Spec.NodeName); ok {
				tr.problems = append(tr.problems, fmt.Sprintf("at %s, pod %s/%s was deleted while running on node %s, which is down and still exists",
					scenarios.FormatDuration(c.Engine.Elapsed()), p.Namespace, p.Name, p.Spec.NodeName))
			}
		}
	})
	if err != nil {
		tr.problems = append(tr.problems, "cannot watch pods: "+err.Error())
	}
	// The addresses are checked after every write of a pod's status too
	// (until the first problem).
	c.Engine.AddTraceSink(func(r sim.Record) {
		if r.Kind != "Pod" || r.RV == 0 || !strings.HasPrefix(r.Verb, "update") || len(tr.problems) > 0 {
			return
		}
		for _, p := range addressProblems(c) {
			tr.problems = append(tr.problems, fmt.Sprintf("at %s, after %s of pod %s/%s: %s", scenarios.FormatDuration(r.Time), r.Verb, r.Namespace, r.Name, p))
		}
	})
}

func (tr *podTransitions) observe(p *v1.Pod, deleted bool, now time.Duration) {
	h := tr.pods[p.UID]
	if h == nil {
		h = &podHistory{restarts: map[string]int32{}}
		tr.pods[p.UID] = h
	}
	bad := func(format string, args ...any) {
		tr.problems = append(tr.problems, fmt.Sprintf("at %s, pod %s/%s (resourceVersion %s, after %s): ", scenarios.FormatDuration(now), p.Namespace, p.Name, p.ResourceVersion, h.seenVersion)+fmt.Sprintf(format, args...))
	}
	if h.node != "" && p.Spec.NodeName != h.node {
		bad("spec.nodeName changed from %s to %q", h.node, p.Spec.NodeName)
	}
	if h.terminal != "" && p.Status.Phase != h.terminal {
		bad("phase went from %s to %s", h.terminal, p.Status.Phase)
	}
	switch {
	case h.deletion != nil && p.DeletionTimestamp == nil:
		bad("deletionTimestamp %s cleared", h.deletion)
	case h.deletion != nil && h.deletion.Before(p.DeletionTimestamp):
		bad("deletionTimestamp moved later, from %s to %s", h.deletion, p.DeletionTimestamp)
	}
	statuses := append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if prev, ok := h.restarts[cs.Name]; ok && cs.RestartCount < prev {
			bad("container %s restartCount went from %d to %d", cs.Name, prev, cs.RestartCount)
		}
		h.restarts[cs.Name] = cs.RestartCount
	}
	if podReady(p) && p.Status.Phase != v1.PodRunning && !disruptionTarget(p) {
		bad("Ready in phase %s", p.Status.Phase)
	}
	h.node, h.deletion, h.seenVersion = p.Spec.NodeName, p.DeletionTimestamp, p.ResourceVersion
	if terminal(p) {
		h.terminal = p.Status.Phase
	}
	if deleted {
		delete(tr.pods, p.UID)
	}
}

// disruptionTarget reports whether a pod has the DisruptionTarget
// condition: the pod garbage collector marks an orphaned pod Failed with it
// and leaves its other conditions (Ready among them) as they were
// (upstream pkg/controller/podgc/gc_controller.go
// markFailedAndDeletePodWithCondition applies only the phase and that
// condition).
func disruptionTarget(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.DisruptionTarget {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// runInvariantCase runs a case with the pod transitions checked at every
// change, the instant invariants every invariantEvery and the settled ones
// at its end.
func runInvariantCase(sc *scenarios.Scenario) caseResult {
	tr := &podTransitions{}
	instant := newInstantInvariants()
	return runCaseEvery(sc, invariantEvery, tr.setup, func(c *cluster.Cluster) []string {
		return append(slices.Clone(tr.problems), instant(c)...)
	}, settledInvariants)
}

// TestInvariants: random clusters, workloads and faults (nodes added and
// deleted, zones failed, new images, restarts among them); the instant
// invariants hold after every bind and every 5 simulated seconds, and the
// settled ones once the faults stop. A failing case is printed as a
// scenario that kubesim run reproduces.
func TestInvariants(t *testing.T) {
	dir := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		sc := invariantCaseGen.Draw(t, "scenario")
		if got := runInvariantCase(sc); got.failed() {
			t.Fatal(failureReport(sc, got, runInvariantCase, dir))
		}
	})
}
