package runner

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	deployutil "github.com/kubesim/kubesim/controllers/deployment/util"
	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/cluster"
)

// RestartedAtAnnotation is the pod template annotation kubectl rollout
// restart sets.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// rampStep is the step of a load ramp's staircase; a ramp has at most
// maxRampSteps steps (longer ramps take longer steps).
const (
	rampStep     = time.Second
	maxRampSteps = 1000
)

// build creates the nodes of spec.cluster.nodes and then the objects, in
// order, at t=0. A node or object the cluster refuses is a run error; the
// rest is still created.
func (r *Run) build() {
	addNode := r.c.AddNode
	if r.opts.addNode != nil {
		addNode = r.opts.addNode
	}
	for _, g := range r.sc.Spec.Cluster.Nodes {
		for _, spec := range nodeSpecs(g) {
			r.story.emit(Entry{Time: 0, Component: "scenario", Verb: "addNode", Object: "node/" + spec.Name, Message: describeNode(spec)})
			if err := addNode(spec); err != nil {
				r.fail(0, g.Source, "add node "+spec.Name, err)
			}
		}
	}
	for _, m := range r.sc.InitialObjects() {
		m := m
		if err := r.applyManifest(&m); err != nil {
			r.fail(0, m.Source, "apply "+m.Ref().String(), err)
		}
	}
}

// nodeSpecs are the nodes of a group.
func nodeSpecs(g scenarios.NodeGroup) []cluster.NodeSpec {
	var out []cluster.NodeSpec
	for _, name := range g.NodeNames() {
		out = append(out, cluster.NodeSpec{
			Name:        name,
			Capacity:    g.Capacity.DeepCopy(),
			Allocatable: g.Allocatable.DeepCopy(),
			Labels:      cloneMap(g.Labels),
			Taints:      slices.Clone(g.Taints),
		})
	}
	return out
}

func describeNode(spec cluster.NodeSpec) string {
	cpu, mem := spec.Capacity[v1.ResourceCPU], spec.Capacity[v1.ResourceMemory]
	s := fmt.Sprintf("cpu %s, memory %s", cpu.String(), mem.String())
	if z := spec.Labels[scenarios.ZoneLabel]; z != "" {
		s += ", zone " + z
	}
	if len(spec.Taints) > 0 {
		var ts []string
		for _, t := range spec.Taints {
			ts = append(ts, taintString(t))
		}
		s += ", taints " + strings.Join(ts, ",")
	}
	return s
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// faultOf maps the node and zone actions to the cluster's faults.
func (r *Run) faultOf(e *scenarios.Event) ([]cluster.Fault, bool) {
	f := cluster.Fault{At: e.At, Node: e.Node}
	switch e.Action {
	case scenarios.ActionCrashNode:
		f.Action = cluster.FaultCrashNode
	case scenarios.ActionPartitionNode:
		f.Action = cluster.FaultPartitionNode
	case scenarios.ActionRecoverNode:
		f.Action = cluster.FaultRecoverNode
	case scenarios.ActionDeleteNode:
		f.Action = cluster.FaultDeleteNode
	case scenarios.ActionCordon:
		f.Action = cluster.FaultCordon
	case scenarios.ActionUncordon:
		f.Action = cluster.FaultUncordon
	case scenarios.ActionDrain:
		f.Action = cluster.FaultDrain
	case scenarios.ActionFailZone:
		f = cluster.Fault{At: e.At, Action: cluster.FaultFailZone, Zone: e.Zone}
	case scenarios.ActionRecoverZone:
		f = cluster.Fault{At: e.At, Action: cluster.FaultRecoverZone, Zone: e.Zone}
	case scenarios.ActionAddNode:
		var out []cluster.Fault
		for _, spec := range nodeSpecs(*e.Group) {
			spec := spec
			out = append(out, cluster.Fault{At: e.At, Action: cluster.FaultAddNode, Spec: &spec})
		}
		return out, true
	default:
		return nil, false
	}
	return []cluster.Fault{f}, true
}

// announce tells the story of a fault just before the cluster applies it.
func (r *Run) announce(e *scenarios.Event) {
	obj, msg := "", ""
	switch e.Action {
	case scenarios.ActionFailZone, scenarios.ActionRecoverZone:
		obj = "zone/" + e.Zone
	case scenarios.ActionAddNode:
		names := e.Group.NodeNames()
		obj = "node/" + strings.Join(names, ",")
		msg = describeNode(nodeSpecs(*e.Group)[0])
	default:
		obj = "node/" + e.Node
	}
	r.story.emit(Entry{Time: e.At, Component: "scenario", Verb: string(e.Action), Object: obj, Message: msg})
}

// describeEvent names an event for errors, e.g. "scale deployment/web".
func describeEvent(e *scenarios.Event) string {
	switch e.Action {
	case scenarios.ActionApply:
		return "apply " + e.Object.Ref().String()
	case scenarios.ActionAddNode:
		return "addNode " + e.Group.Name
	case scenarios.ActionFailZone, scenarios.ActionRecoverZone:
		return string(e.Action) + " " + e.Zone
	case scenarios.ActionSetLoad:
		return "setLoad service/" + e.Service
	case scenarios.ActionDelete, scenarios.ActionScale, scenarios.ActionSetPodLoad, scenarios.ActionKillPod,
		scenarios.ActionRolloutUndo, scenarios.ActionRolloutRestart:
		return string(e.Action) + " " + e.Target.String()
	}
	return string(e.Action) + " " + e.Node
}

// do runs a kubectl-like action at its time.
func (r *Run) do(e *scenarios.Event) {
	var err error
	switch e.Action {
	case scenarios.ActionApply:
		err = r.applyManifest(e.Object)
	case scenarios.ActionDelete:
		err = r.delete(e)
	case scenarios.ActionScale:
		err = r.scale(e)
	case scenarios.ActionRolloutUndo:
		err = r.rolloutUndo(e)
	case scenarios.ActionRolloutRestart:
		err = r.rolloutRestart(e)
	case scenarios.ActionSetLoad:
		err = r.setLoad(e)
	case scenarios.ActionSetPodLoad:
		err = r.setPodLoad(e)
	case scenarios.ActionKillPod:
		err = r.killPod(e)
	case scenarios.ActionLabelNode:
		err = r.labelNode(e)
	case scenarios.ActionTaintNode, scenarios.ActionUntaintNode:
		err = r.taintNode(e)
	default:
		panic(fmt.Sprintf("runner: action %q has no implementation", e.Action))
	}
	if err != nil {
		r.fail(e.At, e.Source, describeEvent(e), err)
	}
}

// resource is the API server's resource for a scenario kind.
func (r *Run) resource(res scenarios.Resource) *apiserver.Resource {
	ar, ok := r.api.Resource(res.Plural)
	if !ok {
		panic(fmt.Sprintf("runner: the API server does not serve %s, which the scenario format lists", res.Plural))
	}
	return ar
}

func (r *Run) tell(verb string, ref string, format string, args ...any) {
	r.story.emit(Entry{Time: r.Now(), Component: User, Verb: verb, Object: ref, Message: fmt.Sprintf(format, args...)})
}

// warn is a warning the user's command prints.
func (r *Run) warn(verb, ref, msg string) {
	r.story.emit(Entry{Time: r.Now(), Component: User, Verb: verb, Object: ref, Message: msg, Warning: true})
}

func refString(ns string, ref scenarios.Ref) string {
	if ns != "" && ns != scenarios.DefaultNamespace && ref.Resource.Namespaced {
		return ns + "/" + ref.String()
	}
	return ref.String()
}

// applyManifest is kubectl apply: create the object with the
// last-applied-configuration annotation, or compute the three-way
// strategic merge patch between that annotation, the manifest and the live
// object and send it (k8s.io/kubectl/pkg/cmd/apply, patcher.go).
func (r *Run) applyManifest(m *scenarios.Manifest) error {
	res := r.resource(m.Resource)
	ns := ""
	if m.Resource.Namespaced {
		ns = m.Namespace
	}
	ref := refString(ns, m.Ref())
	original, modified, err := m.AppliedConfiguration()
	if err != nil {
		return err
	}
	live, err := r.api.Get(res, ns, m.Name)
	if apierrors.IsNotFound(err) {
		obj := m.Object.DeepCopyObject()
		acc := obj.(metav1.Object)
		ann := cloneMap(acc.GetAnnotations())
		if ann == nil {
			ann = map[string]string{}
		}
		ann[v1.LastAppliedConfigAnnotation] = string(original)
		acc.SetAnnotations(ann)
		if _, err := r.api.Create(User, res, ns, obj, metav1.CreateOptions{}); err != nil {
			return err
		}
		r.tell("apply", ref, "created")
		return nil
	}
	if err != nil {
		return err
	}
	current, err := json.Marshal(withKind(live, res))
	if err != nil {
		return fmt.Errorf("cannot encode the live %s: %w", ref, err)
	}
	lastApplied, ok := live.(metav1.Object).GetAnnotations()[v1.LastAppliedConfigAnnotation]
	if !ok {
		// Nothing that apply set can be removed (no original).
		r.warn("apply", ref, fmt.Sprintf(warningNoLastAppliedConfigAnnotation, m.Resource.Plural+"/"+m.Name, v1.LastAppliedConfigAnnotation))
	}
	var last []byte
	if lastApplied != "" {
		last = []byte(lastApplied)
	}
	meta, err := strategicpatch.NewPatchMetaFromStruct(res.New())
	if err != nil {
		return fmt.Errorf("no patch metadata for %s: %w", res.Kind, err)
	}
	patch, err := strategicpatch.CreateThreeWayMergePatch(last, modified, current, meta, true)
	if err != nil {
		return fmt.Errorf("cannot compute the apply patch: %w", err)
	}
	patched := live
	if string(patch) != "{}" {
		if patched, err = r.api.Patch(User, res, ns, m.Name, types.StrategicMergePatchType, patch, ""); err != nil {
			return err
		}
	}
	if patched.(metav1.Object).GetDeletionTimestamp() != nil {
		r.warn("apply", ref, fmt.Sprintf(warningChangesOnDeletingResource, m.Name))
	}
	if string(patch) == "{}" {
		r.tell("apply", ref, "unchanged")
	} else {
		r.tell("apply", ref, "configured")
	}
	return nil
}

// kubectl apply's warnings (k8s.io/kubectl/pkg/cmd/apply/apply.go), on
// stderr before the line saying what it did.
const (
	warningNoLastAppliedConfigAnnotation = "Warning: resource %[1]s is missing the %[2]s annotation which is required by kubectl apply. " +
		"kubectl apply should only be used on resources created declaratively by either kubectl create --save-config or kubectl apply. " +
		"The missing annotation will be patched automatically."
	warningChangesOnDeletingResource = "Warning: Detected changes to resource %[1]s which is currently being deleted."
)

// delete is kubectl delete with the default background cascading.
func (r *Run) delete(e *scenarios.Event) error {
	res := r.resource(e.Target.Resource)
	ns := namespaceOf(e)
	bg := metav1.DeletePropagationBackground
	if _, _, err := r.api.Delete(User, res, ns, e.Target.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		return err
	}
	r.tell("delete", refString(ns, e.Target), "deleted (background cascading)")
	return nil
}

func namespaceOf(e *scenarios.Event) string {
	if e.Target.Resource.Namespaced {
		return e.Namespace
	}
	return ""
}

// scale is kubectl scale: the /scale subresource.
func (r *Run) scale(e *scenarios.Event) error {
	res := r.resource(e.Target.Resource)
	sc, err := r.api.GetScale(res, e.Namespace, e.Target.Name)
	if err != nil {
		return err
	}
	from := sc.Spec.Replicas
	sc.Spec.Replicas = e.Replicas
	if _, err := r.api.UpdateScale(User, res, e.Namespace, sc); err != nil {
		return err
	}
	r.tell("scale", refString(e.Namespace, e.Target), "replicas %d -> %d", from, e.Replicas)
	return nil
}

// deployment reads a deployment (a copy).
func (r *Run) deployment(e *scenarios.Event) (*appsv1.Deployment, *apiserver.Resource, error) {
	res := r.resource(e.Target.Resource)
	obj, err := r.api.Get(res, e.Namespace, e.Target.Name)
	if err != nil {
		return nil, nil, err
	}
	return obj.(*appsv1.Deployment).DeepCopy(), res, nil
}

// rolloutUndo is kubectl rollout undo [--to-revision]: the deployment's
// template becomes the chosen ReplicaSet's (deployment/util.Rollback).
func (r *Run) rolloutUndo(e *scenarios.Event) error {
	d, res, err := r.deployment(e)
	if err != nil {
		return err
	}
	rsRes, _ := r.api.Resource("replicasets")
	objs, _, err := r.api.List(rsRes, e.Namespace, metav1.ListOptions{})
	if err != nil {
		return err
	}
	rsList := make([]*appsv1.ReplicaSet, 0, len(objs))
	for _, o := range objs {
		rsList = append(rsList, o.(*appsv1.ReplicaSet))
	}
	updated, skipped, err := deployutil.Rollback(d, rsList, e.ToRevision)
	if err != nil {
		return err
	}
	ref := refString(e.Namespace, e.Target)
	if skipped != "" {
		r.tell("rolloutUndo", ref, "%s", skipped)
		return nil
	}
	if _, err := r.api.Update(User, res, e.Namespace, updated, "", metav1.UpdateOptions{}); err != nil {
		return err
	}
	to := "the previous revision"
	if e.ToRevision > 0 {
		to = "revision " + strconv.FormatInt(e.ToRevision, 10)
	}
	r.tell("rolloutUndo", ref, "rolled back to %s", to)
	return nil
}

// rolloutRestart is kubectl rollout restart: a strategic merge patch that
// stamps the pod template with kubectl.kubernetes.io/restartedAt.
func (r *Run) rolloutRestart(e *scenarios.Event) error {
	d, res, err := r.deployment(e)
	if err != nil {
		return err
	}
	ref := refString(e.Namespace, e.Target)
	if d.Spec.Paused {
		// kubectl: "error: %s %q %v" with the resource.group and the name.
		return fmt.Errorf("deployments.apps %q can't restart paused deployment (run rollout resume first)", d.Name)
	}
	at := r.c.Engine.Now().Format(time.RFC3339)
	if d.Spec.Template.Annotations[RestartedAtAnnotation] == at {
		// restartedAt has a resolution of one second: kubectl's patch would
		// be empty, and it refuses to send it (rollout_restart.go, RunRestart).
		return fmt.Errorf("failed to create patch for %s: if restart has already been triggered within the past second, please wait before attempting to trigger another", d.Name)
	}
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, RestartedAtAnnotation, at)
	if _, err := r.api.Patch(User, res, e.Namespace, e.Target.Name, types.StrategicMergePatchType, []byte(patch), ""); err != nil {
		return err
	}
	r.tell("rolloutRestart", ref, "restarted at %s", at)
	return nil
}

// workloadSelector reads the label selector of a deployment or replica set.
func (r *Run) workloadSelector(ns string, ref scenarios.Ref) (labels.Selector, error) {
	obj, err := r.api.Get(r.resource(ref.Resource), ns, ref.Name)
	if err != nil {
		return nil, err
	}
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		sel = o.Spec.Selector
	case *appsv1.ReplicaSet:
		sel = o.Spec.Selector
	default:
		return nil, fmt.Errorf("%s has no pod selector", ref)
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid selector: %w", ref, err)
	}
	return s, nil
}

// ramp sets a load now and, with a ramp, schedules a staircase of steps
// to rampTo; a new load for the same key cancels the steps left.
func (r *Run) ramp(key string, e *scenarios.Event, set func(rps float64) error) error {
	for _, t := range r.ramps[key] {
		t.Stop()
	}
	delete(r.ramps, key)
	if err := set(e.RPS); err != nil {
		return err
	}
	if e.RampTo == nil {
		return nil
	}
	steps := int(math.Ceil(float64(e.RampDuration) / float64(rampStep)))
	steps = min(max(steps, 1), maxRampSteps)
	from, to := e.RPS, *e.RampTo
	var timers []sim.Timer
	for k := 1; k <= steps; k++ {
		at := e.At + time.Duration(int64(e.RampDuration)*int64(k)/int64(steps))
		rps := from + (to-from)*float64(k)/float64(steps)
		if k == steps {
			rps = to
		}
		timers = append(timers, r.c.Engine.At(at, "scenario: ramp "+key, func() {
			if err := set(rps); err != nil {
				r.fail(r.Now(), e.Source, describeEvent(e)+" (ramp)", err)
			}
		}))
	}
	r.ramps[key] = timers
	return nil
}

func rampText(e *scenarios.Event) string {
	if e.RampTo == nil {
		return ""
	}
	return fmt.Sprintf(", ramping to %g over %s", *e.RampTo, scenarios.FormatDuration(e.RampDuration))
}

// setLoad sets the request rate to a Service.
func (r *Run) setLoad(e *scenarios.Event) error {
	from := e.From
	err := r.ramp("service/"+e.Namespace+"/"+e.Service, e, func(rps float64) error {
		// A ramp's steps keep a load's resolution of 0.001 requests/s.
		return r.c.SetServiceLoad(e.Namespace, e.Service, math.Round(rps*1000)/1000, from)
	})
	if err != nil {
		return err
	}
	origin := "from clients in the cluster"
	switch {
	case from == scenarios.FromExternal:
		origin = "from outside, through the node ports"
	case from != "":
		origin = "from node " + from
	}
	ref := "service/" + e.Service
	if e.Namespace != scenarios.DefaultNamespace {
		ref = e.Namespace + "/" + ref
	}
	r.tell("setLoad", ref, "%g requests/s %s%s", e.RPS, origin, rampText(e))
	return nil
}

// setPodLoad sets the requests per second each pod of a workload serves.
func (r *Run) setPodLoad(e *scenarios.Event) error {
	sel, err := r.workloadSelector(e.Namespace, e.Target)
	if err != nil {
		return err
	}
	err = r.ramp("pods/"+e.Namespace+"/"+e.Target.String(), e, func(rps float64) error {
		return r.c.SetPodLoad(e.Namespace, sel, rps)
	})
	if err != nil {
		return err
	}
	r.tell("setPodLoad", refString(e.Namespace, e.Target), "%g requests/s per pod (%s)%s", e.RPS, sel, rampText(e))
	return nil
}

// killPod kills a container of a pod: the named pod, or one running pod of
// a workload drawn from the run's "kubectl" random stream.
func (r *Run) killPod(e *scenarios.Event) error {
	pod, err := r.pickPod(e)
	if err != nil {
		return err
	}
	if reason := r.notRunningThere(pod, e.Container); reason != "" {
		// a named pod: say why, without announcing a kill that cannot happen
		return fmt.Errorf("pod/%s cannot be killed: %s", pod.Name, reason)
	}
	container := e.Container
	shown := container
	if shown == "" && len(pod.Spec.Containers) > 0 {
		shown = pod.Spec.Containers[0].Name
	}
	ref := "pod/" + pod.Name
	if pod.Namespace != scenarios.DefaultNamespace {
		ref = pod.Namespace + "/" + ref
	}
	r.tell("killPod", ref, "killing container %s on %s", shown, cmpOr(pod.Spec.NodeName, "no node"))
	return r.c.Apply(cluster.Fault{At: e.At, Action: cluster.FaultKillContainer, Namespace: pod.Namespace, Pod: pod.Name, Container: container})
}

// pickPod finds the pod killPod targets: the named pod, or, for a
// workload, one of its running pods (Running and not terminating, on a
// machine that is up, with the container running in the node's runtime —
// not just in the API's status, which a partitioned node cannot update),
// sorted by name and drawn from the run's random stream.
func (r *Run) pickPod(e *scenarios.Event) (*v1.Pod, error) {
	podRes, _ := r.api.Resource("pods")
	if e.Target.Resource.Kind == "Pod" {
		obj, err := r.api.Get(podRes, e.Namespace, e.Target.Name)
		if err != nil {
			return nil, err
		}
		return obj.(*v1.Pod), nil
	}
	sel, err := r.workloadSelector(e.Namespace, e.Target)
	if err != nil {
		return nil, err
	}
	objs, _, err := r.api.List(podRes, e.Namespace, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var running []*v1.Pod
	var why []string // why each other pod does not count, by name
	for _, o := range objs {
		p := o.(*v1.Pod)
		if reason := r.notRunning(p, e.Container); reason != "" {
			why = append(why, p.Name+": "+reason)
			continue
		}
		running = append(running, p)
	}
	if len(running) == 0 {
		slices.Sort(why)
		if len(why) == 0 {
			why = []string{"no pod matches its selector"}
		}
		if len(why) > maxNotRunning {
			why = append(why[:maxNotRunning], fmt.Sprintf("%d more", len(why)-maxNotRunning))
		}
		return nil, fmt.Errorf("%s has no running pod (%s)", e.Target, strings.Join(why, "; "))
	}
	slices.SortFunc(running, func(a, b *v1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return running[r.rand.IntN(len(running))], nil
}

// maxNotRunning bounds the pods a killPod error explains.
const maxNotRunning = 5

// notRunning says why killPod does not pick a workload's pod ("" when it
// may): the pod is not Running, is terminating, is not bound, its node's
// machine is down, or the container is not running there.
func (r *Run) notRunning(p *v1.Pod, container string) string {
	switch {
	case p.DeletionTimestamp != nil:
		return "Terminating"
	case p.Status.Phase != v1.PodRunning:
		return "phase " + cmpOr(string(p.Status.Phase), "Pending")
	}
	return r.notRunningThere(p, container)
}

// notRunningThere says why the container of a pod does not run on its node
// ("" when it does), whatever the API's possibly stale status says.
func (r *Run) notRunningThere(p *v1.Pod, container string) string {
	switch {
	case p.Spec.NodeName == "":
		return "not bound to a node"
	case !r.c.NodeRunning(p.Spec.NodeName):
		if k := r.c.Kubelet(p.Spec.NodeName); k != nil {
			return fmt.Sprintf("its node %s is %s", p.Spec.NodeName, strings.ToLower(string(k.State())))
		}
		return fmt.Sprintf("its node %s is down", p.Spec.NodeName)
	case !r.containerRunning(p, container):
		if container == "" && len(p.Spec.Containers) > 0 {
			container = p.Spec.Containers[0].Name
		}
		return fmt.Sprintf("container %s is not running on %s", container, p.Spec.NodeName)
	}
	return ""
}

// containerRunning reports whether the container (the pod's first one when
// name is "") runs in the runtime of the pod's node.
func (r *Run) containerRunning(p *v1.Pod, name string) bool {
	if name == "" && len(p.Spec.Containers) > 0 {
		name = p.Spec.Containers[0].Name
	}
	k := r.c.Kubelet(p.Spec.NodeName)
	if k == nil {
		return false
	}
	for _, c := range k.Containers(p.Namespace, p.Name) {
		if c.Name == name {
			return c.Running
		}
	}
	return false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// patchNode reads a node, lets change modify a copy and sends the two-way
// strategic merge patch between them, as kubectl label and taint do.
func (r *Run) patchNode(name string, change func(n *v1.Node) error) error {
	nodeRes, _ := r.api.Resource("nodes")
	obj, err := r.api.Get(nodeRes, "", name)
	if err != nil {
		return err
	}
	before := obj.(*v1.Node)
	after := before.DeepCopy()
	if err := change(after); err != nil {
		return err
	}
	patch, err := twoWayPatch(before, after)
	if err != nil {
		return err
	}
	if string(patch) == "{}" {
		return nil
	}
	_, err = r.api.Patch(User, nodeRes, "", name, types.StrategicMergePatchType, patch, "")
	return err
}

func twoWayPatch(before, after runtime.Object) ([]byte, error) {
	a, err := json.Marshal(before)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(after)
	if err != nil {
		return nil, err
	}
	return strategicpatch.CreateTwoWayMergePatch(a, b, before)
}

// labelNode is kubectl label node: set labels, remove label keys.
func (r *Run) labelNode(e *scenarios.Event) error {
	err := r.patchNode(e.Node, func(n *v1.Node) error {
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		for k, v := range e.Labels {
			n.Labels[k] = v
		}
		for _, k := range e.RemoveLabels {
			delete(n.Labels, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var parts []string
	for _, k := range sortedKeys(e.Labels) {
		parts = append(parts, k+"="+e.Labels[k])
	}
	for _, k := range e.RemoveLabels {
		parts = append(parts, k+"-")
	}
	r.tell("labelNode", "node/"+e.Node, "%s", strings.Join(parts, " "))
	return nil
}

// taintNode is kubectl taint node: taintNode adds or replaces (same key
// and effect) taints; untaintNode removes taints by key, and by effect
// when one is given.
func (r *Run) taintNode(e *scenarios.Event) error {
	err := r.patchNode(e.Node, func(n *v1.Node) error {
		if e.Action == scenarios.ActionTaintNode {
			// kubectl's reorganizeTaints (taint/utils.go): the taints given
			// first, then the node's others in their order.
			taints := slices.Clone(e.Taints)
			for _, cur := range n.Spec.Taints {
				if !slices.ContainsFunc(e.Taints, func(t v1.Taint) bool { return t.MatchTaint(&cur) }) {
					taints = append(taints, cur)
				}
			}
			n.Spec.Taints = taints
			return nil
		}
		for _, t := range e.Taints {
			before := len(n.Spec.Taints)
			n.Spec.Taints = slices.DeleteFunc(n.Spec.Taints, func(cur v1.Taint) bool {
				return cur.Key == t.Key && (t.Effect == "" || cur.Effect == t.Effect)
			})
			if len(n.Spec.Taints) == before {
				return fmt.Errorf("taint %q not found", taintString(t))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var parts []string
	for _, t := range e.Taints {
		parts = append(parts, taintString(t))
	}
	verb := "tainted"
	if e.Action == scenarios.ActionUntaintNode {
		verb = "untainted"
	}
	r.tell(string(e.Action), "node/"+e.Node, "%s %s", verb, strings.Join(parts, ", "))
	return nil
}

// taintString prints a taint as kubectl does: key[=value]:Effect.
func taintString(t v1.Taint) string {
	s := t.Key
	if t.Value != "" {
		s += "=" + t.Value
	}
	if t.Effect != "" {
		s += ":" + string(t.Effect)
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
