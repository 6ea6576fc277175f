package runner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim"
)

// Entry is one line of a run's timeline: who did what to which object, in
// the words a student would use (scheduled, started, ready, notReady,
// tainted, evicted, scaled, …). The timeline is derived from the trace
// and the Kubernetes Events the components write (see storyteller for what
// is left out and what is merged); the --trace file has everything.
type Entry struct {
	Time      time.Duration
	Component string
	Verb      string
	// Object is kind/name in kubectl's form (pod/web-7d4b9-x2x4k), with
	// "namespace/" in front outside the default namespace; "" when none.
	Object  string
	Message string
	// Warning marks something going wrong (a failed action, an
	// unschedulable pod, a Warning event, failing requests, a failed
	// expectation).
	Warning bool
}

// String prints the entry as a timeline line.
func (e Entry) String() string {
	mark := " "
	if e.Warning {
		mark = "!"
	}
	line := fmt.Sprintf("%s %s %-22s %-16s %s", FormatClock(e.Time), mark, e.Component, e.Verb, e.Object)
	if e.Message != "" {
		if e.Object != "" {
			line += "  "
		}
		line += e.Message
	}
	return strings.TrimRight(line, " ")
}

// FormatClock prints a simulated time as h:mm:ss.mmm (sim.FormatClock).
func FormatClock(d time.Duration) string { return sim.FormatClock(d) }

// hiddenVerbs are trace verbs of bookkeeping, of steps every pod goes
// through, or of facts another line of the same instant tells better:
// they never reach the timeline (they still count as told, see
// impliedBy).
var hiddenVerbs = map[string]bool{
	// API server, scheduler internals.
	"compact": true, "assume": true, "assumeExpired": true, "statusUpdateFailed": true, "clearNominationFailed": true,
	// Every pod: admission, image pulls (a failed pull is told by the
	// kubelet's Events), the phase Running that comes with the first start.
	"admitted": true, "pulling": true, "pulled": true, "pullFailed": true, "phaseRunning": true,
	// Node start-up: the scenario's addNode line tells it.
	"registered": true,
	// The node lifecycle controller tells "nodeNotReady: marking its N
	// pod(s) not ready" once for the node.
	"podNotReady": true,
	// kube-proxy programs rules after every endpoint change, on every
	// node: the endpointsUpdated line tells the change once.
	"start": true, "resync": true, "sync": true, "stop": true,
	// A load of up to 20 requests/s traces each request (the --trace
	// file has them): the failing and recovered lines tell the story.
	"request": true,
}

// hiddenComponentVerbs hides a verb of one component only: the cluster's
// record of applying a fault repeats the scenario's line announcing it
// (its effects are told by the components: nodeCrashed, ...).
var hiddenComponentVerbs = map[string]bool{
	"fault addNode": true, "fault deleteNode": true, "fault crashNode": true, "fault partitionNode": true,
	"fault recoverNode": true, "fault cordon": true, "fault uncordon": true,
	"fault failZone": true, "fault recoverZone": true, "fault killContainer": true,
	"fault labelNode": true, "fault taintNode": true, "fault untaintNode": true,
}

// mergedText is how an entry's message reads when it is merged into the
// line of an earlier entry of the same instant, component and object.
var mergedText = map[string]func(msg string) string{
	"tainted":   func(msg string) string { return "tainted " + msg },
	"untainted": func(msg string) string { return "untainted " + msg },
	// "Ready True → Unknown: marking its 2 pod(s) not ready" after the
	// status change itself.
	"nodeNotReady": func(msg string) string {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
		return msg
	},
	"ready": func(msg string) string {
		if msg == "pod is Ready" {
			return "Ready"
		}
		return msg
	},
	"deleted": func(msg string) string {
		if msg == "containers stopped; pod object removed" {
			return "stopped and removed"
		}
		return msg
	},
	"notReady": func(msg string) string {
		if msg == "pod is no longer Ready" {
			return "not Ready"
		}
		return msg
	},
}

// hiddenReasons are Event reasons that are noise in a timeline: steps
// every pod and node goes through.
var hiddenReasons = map[string]bool{
	"Pulling": true, "Pulled": true, "Created": true, "Starting": true,
	"NodeHasSufficientMemory": true, "NodeHasNoDiskPressure": true, "NodeHasSufficientPID": true,
	"NodeAllocatableEnforced": true, "RegisteredNode": true, "NodeReady": true,
}

// renamed are trace verbs told with another word.
var renamed = map[string]string{
	"bind":             "scheduled",
	"failedScheduling": "unschedulable",
	"preempt":          "preempted",
	"containerStarted": "started",
	"nodeReady":        "ready",
	"podDeleted":       "deleted",
}

// impliedBy drops an entry (Event reason or trace verb, lower case) when
// an entry with one of the listed verbs (lower case, after renaming, hidden
// ones included) is told at the same instant about the same object or by
// the same component: the Event repeats the trace, or the fact is part of
// the other one.
var impliedBy = map[string][]string{
	"failedscheduling":             {"unschedulable"},
	"scheduled":                    {"scheduled"},
	"preempted":                    {"preempted"},
	"started":                      {"started"},
	"killing":                      {"terminating"},
	"successfulcreate":             {"scaledup"},
	"successfuldelete":             {"scaleddown"},
	"scalingreplicaset":            {"scaled", "newreplicaset"},
	"successfulrescale":            {"scaled"},
	"failedgetresourcemetric":      {"reconcilefailed"},
	"failedcomputemetricsreplicas": {"reconcilefailed"},
	"taintmanagereviction":         {"evicted", "evictioncancelled"},
	"nodenotready":                 {"podnotready", "nodenotready"},
	"taintqueued":                  {"tainted"},
	"terminated":                   {"deleted"},
	"phasesucceeded":               {"deleted"},
	"phasefailed":                  {"deleted"},
	"ready":                        {"addnode"},
	"backoff":                      {"backoff"},
	"unhealthy":                    {"containernotready"},

	// The HPA's reconcile error names the step that failed; its other
	// Warning Events repeat the cause.
	"failedgetcontainerresourcemetric": {"reconcilefailed"},
	"failedgetscale":                   {"reconcilefailed"},
	"selectorrequired":                 {"reconcilefailed"},
	"invalidselector":                  {"reconcilefailed"},
	"ambiguousselector":                {"reconcilefailed"},
	"failedupdatestatus":               {"reconcilefailed"},
}

// whileTerminating are verbs (and Event reasons) that a pod's termination
// goes through: after "terminating" they are told by the final "deleted".
// "ready" is among them: a kubelet that writes the status of a pod it is
// stopping may report it Ready (upstream's kubelet keeps probing readiness
// and keeps Ready=True until the containers stop, pkg/kubelet/prober
// worker.doProbe; the EndpointSlice marks the endpoint terminating), e.g.
// when it reconnects after a partition; as a word on the termination's
// line it would read as if the pod became Ready again.
var whileTerminating = map[string]bool{
	"containerExited": true, "containerKilled": true, "terminated": true, "phaseSucceeded": true,
	"phaseFailed": true, "ready": true, "notReady": true, "Killing": true,
}

// lastOfInstant are verbs of which only the last entry about an object in
// an instant is told (the state it settled in).
var lastOfInstant = map[string]bool{"endpointsUpdated": true, "statusUpdated": true}

// isWrite reports whether r is one of the API server's write records.
func isWrite(r sim.Record) bool {
	if r.RV == 0 {
		return false
	}
	switch {
	case r.Verb == "create", r.Verb == "delete", r.Verb == "deleted", r.Verb == "bind", r.Verb == "patch",
		r.Verb == "update", strings.HasPrefix(r.Verb, "update/"):
		return true
	}
	return false
}

// storyteller turns trace records into timeline entries: informative but
// not flooding. What it leaves out:
//   - the API server's writes, and Event updates (a repeated Event is the
//     same fact told again);
//   - bookkeeping and the steps every pod and node goes through
//     (hiddenVerbs, hiddenReasons);
//   - an Event that repeats a trace record of the same instant, and facts
//     another entry of the instant implies (impliedBy);
//   - the steps of a pod's termination between "terminating" and
//     "deleted";
//   - all but the last endpoints update of a Service in an instant, and an
//     entry that repeats the previous one about the same object;
//   - "untainted" for a taint it never told being added (a new node's
//     not-ready taint).
//
// The entries of one instant by one component about one object are
// merged into one line. Entries are held until the clock moves on, so
// that these rules see the whole instant.
type storyteller struct {
	out     func(Entry)
	pending []pendingEntry
	now     time.Duration
	// last maps an object to the verb and message of its last entry.
	last map[string]string
	// tainted holds "node/NAME TAINT" of the taints told added.
	tainted map[string]bool
	// terminating holds the pods told terminating and not yet deleted.
	terminating map[string]bool
	// traffic watches the request outcomes of every loaded Service.
	traffic map[string]*serviceWatch
}

type pendingEntry struct {
	Entry
	event  bool   // from a Kubernetes Event
	key    string // the Event's reason or the trace verb, lower case, after renaming
	hidden bool   // told (for impliedBy) but not printed
}

func newStoryteller(out func(Entry)) *storyteller {
	return &storyteller{out: out, last: map[string]string{}, tainted: map[string]bool{},
		terminating: map[string]bool{}, traffic: map[string]*serviceWatch{}}
}

// objectRef prints kind/name with the namespace in front when not default.
func objectRef(kind, namespace, name string) string {
	if kind == "" && name == "" {
		return ""
	}
	s := strings.ToLower(kind) + "/" + name
	if kind == "" {
		s = name
	}
	if namespace != "" && namespace != scenarios.DefaultNamespace {
		s = namespace + "/" + s
	}
	return s
}

// record receives every trace record.
func (s *storyteller) record(r sim.Record) {
	if s.out == nil {
		return
	}
	if r.Kind == "Event" {
		if r.Verb == "create" {
			if p, ok := eventEntry(r); ok {
				s.add(p)
			}
		}
		return
	}
	if isWrite(r) {
		return
	}
	e := Entry{Time: r.Time, Component: r.Component, Verb: r.Verb, Object: objectRef(r.Kind, r.Namespace, r.Name), Message: r.Msg}
	if v, ok := renamed[r.Verb]; ok {
		e.Verb = v
	}
	hidden := hiddenVerbs[r.Verb] || hiddenComponentVerbs[componentName(r.Component)+" "+r.Verb]
	switch r.Verb {
	case "bind":
		if e.Message != "" {
			e.Message = "on " + e.Message
		}
	case "failedScheduling", "error", "bindFailed", "statusRejected", "evictionRefused", "backOff", "containerKilled",
		"statusUnknown", "nodeNotReady", "nodeCrashed", "nodePartitioned", "reconcileFailed", "containerNotReady":
		e.Warning = true
	case "containerExited":
		e.Warning = !strings.Contains(r.Msg, "with code 0 ")
	case "progressing":
		// Only a stalled rollout is news; progress is told by "scaled".
		hidden = !strings.Contains(r.Msg, "ProgressDeadlineExceeded")
		e.Warning = !hidden
	case "zoneStateChanged", "zoneRateChanged":
		zone := r.Name
		if zone == "" || zone == `""` {
			zone = "(no zone)"
		}
		e.Object = "zone/" + zone
		hidden = strings.HasPrefix(r.Msg, "Initial → Normal")
	case "endpointsUpdated":
		// "2 ready, 1 not ready, 0 terminating endpoint(s) in 1 slice(s); +1/-0 …"
		if head, _, ok := strings.Cut(r.Msg, ";"); ok {
			e.Message = head
		}
	case "tainted":
		s.tainted[e.Object+" "+r.Msg[:strings.IndexByte(r.Msg+" ", ' ')]] = true
	case "untainted":
		key := e.Object + " " + r.Msg[:strings.IndexByte(r.Msg+" ", ' ')]
		hidden = !s.tainted[key]
		delete(s.tainted, key)
	}
	if s.terminating[e.Object] && whileTerminating[r.Verb] {
		hidden = true
	}
	switch r.Verb {
	case "terminating":
		s.terminating[e.Object] = true
	case "podDeleted":
		delete(s.terminating, e.Object)
	}
	s.add(pendingEntry{Entry: e, key: strings.ToLower(e.Verb), hidden: hidden})
}

// componentName strips the host of "kubelet/worker-1".
func componentName(c string) string {
	name, _, _ := strings.Cut(c, "/")
	return name
}

// eventEntry reads an Event's trace record: "Type Reason Kind/Name: message".
func eventEntry(r sim.Record) (pendingEntry, bool) {
	typ, rest, ok1 := strings.Cut(r.Msg, " ")
	reason, rest, ok2 := strings.Cut(rest, " ")
	obj, msg, ok3 := strings.Cut(rest, ": ")
	if !ok1 || !ok2 || !ok3 || hiddenReasons[reason] {
		return pendingEntry{}, false
	}
	kind, name, _ := strings.Cut(obj, "/")
	return pendingEntry{
		Entry: Entry{Time: r.Time, Component: r.Component, Verb: reason, Object: objectRef(kind, r.Namespace, name),
			Message: msg, Warning: typ == "Warning"},
		event: true, key: strings.ToLower(reason),
	}, true
}

// emit adds an entry the runner itself tells (actions, checks, traffic).
func (s *storyteller) emit(e Entry) {
	if s.out == nil {
		return
	}
	s.add(pendingEntry{Entry: e, key: strings.ToLower(e.Verb)})
}

// decided tells an expectation's outcome.
func (s *storyteller) decided(res scenarios.Result) {
	// The line's time says when; a within also says by when, a
	// throughout over which window.
	msg := res.Expectation.Description()
	if t := res.Expectation.Timing; t == scenarios.TimingWithin || t == scenarios.TimingThroughout {
		msg += " (" + res.Expectation.When() + ")"
	}
	e := Entry{Time: res.DecidedAt, Component: "expect", Verb: res.Status.String(), Message: msg}
	if res.Status == scenarios.Failed {
		e.Warning = true
		e.Message += fmt.Sprintf(" (observed %q)", res.Observed)
	}
	s.emit(e)
}

func (s *storyteller) add(p pendingEntry) {
	if p.Time != s.now {
		s.flush()
		s.now = p.Time
	}
	if p.event && s.terminating[p.Object] && whileTerminating[p.Verb] {
		p.hidden = true
	}
	s.pending = append(s.pending, p)
}

// flush hands out the entries of the current instant.
func (s *storyteller) flush() {
	if len(s.pending) == 0 {
		return
	}
	byObject := map[string]bool{}    // object + " " + key
	byComponent := map[string]bool{} // component name + " " + key
	lastIndex := map[string]int{}    // object + " " + verb → index of its last entry
	for i, p := range s.pending {
		if !p.event {
			byObject[p.Object+" "+p.key] = true
			byComponent[componentName(p.Component)+" "+p.key] = true
		}
		lastIndex[p.Object+" "+p.Verb] = i
	}
	implied := func(p pendingEntry) bool {
		for _, v := range impliedBy[p.key] {
			if v == p.key && !p.event {
				continue // a trace does not imply itself
			}
			if byObject[p.Object+" "+v] || byComponent[componentName(p.Component)+" "+v] && p.event {
				return true
			}
		}
		return false
	}
	var lines []Entry
	merged := map[string]int{} // component + object → index in lines
	for i, p := range s.pending {
		if p.hidden || implied(p) {
			continue
		}
		if lastOfInstant[p.Verb] && lastIndex[p.Object+" "+p.Verb] != i {
			continue
		}
		// Each action of the scenario is a line of its own: a crash at 0s
		// is not a detail of the node's addNode, an apply right after a
		// delete is not a detail of the delete, and an apply that changes
		// the object again is told even when its line repeats the last one.
		action := !p.event && (p.Component == "scenario" || p.Component == User)
		if p.Object != "" {
			key := p.Verb + "\x00" + p.Message
			if s.last[p.Object] == key && !action {
				continue
			}
			s.last[p.Object] = key
		}
		mk := p.Component + "\x00" + p.Object
		if action {
			mk += "\x00" + strconv.Itoa(i)
		}
		if j, ok := merged[mk]; ok && p.Object != "" {
			text := p.Message
			if f := mergedText[p.Verb]; f != nil && !p.event {
				text = f(text)
			}
			if !strings.Contains(lines[j].Message, text) {
				lines[j].Message = strings.TrimPrefix(strings.TrimSuffix(lines[j].Message, ".")+"; "+text, "; ")
			}
			lines[j].Warning = lines[j].Warning || p.Warning
			continue
		}
		merged[mk] = len(lines)
		lines = append(lines, p.Entry)
	}
	for _, e := range lines {
		s.out(e)
	}
	s.pending = s.pending[:0]
}

// serviceWatch follows the request outcomes of one Service for the
// timeline: when requests start failing and when they are all served
// again.
type serviceWatch struct {
	served, failed uint64
	reasons        map[string]uint64
	loaded         bool // the Service had a load at the last look
	failing        bool
	since          time.Duration // when the current failing spell began
	failedAtStart  uint64
	lastChange     time.Duration // when served or failed last moved, or the load started
	lastFailure    time.Duration // when failed last moved
}

// requestStats is what the storyteller reads of the traffic model: exact
// totals per Service accounted so far (never forcing accounting, so that
// telling the story does not change the run).
type requestStats struct {
	Served, Failed uint64
	Reasons        map[string]uint64
	// Loaded says the Service has a load now.
	Loaded bool
	// Failing says some of its requests fail under the current routing,
	// whatever the last ones happened to reach.
	Failing bool
}

// watchTraffic compares each Service's request totals with the last look
// and tells when requests start failing and when they are all served
// again: when requests are served, none failed since the last look and
// the routing sends none where they fail (a batch that happened to miss a
// dead endpoint is no recovery). A failing spell ends without a word when
// the load is removed.
func (s *storyteller) watchTraffic(now time.Duration, services []string, stats func(svc string) requestStats) {
	if s.out == nil {
		return
	}
	for _, svc := range services {
		st := stats(svc)
		w := s.traffic[svc]
		if w == nil {
			w = &serviceWatch{reasons: map[string]uint64{}, lastChange: now}
			s.traffic[svc] = w
		}
		started := st.Loaded && !w.loaded
		w.loaded = st.Loaded
		dServed, dFailed := st.Served-w.served, st.Failed-w.failed
		if dServed == 0 && dFailed == 0 {
			if started {
				w.lastChange = now // the new load's requests count from here
			}
			w.failing = w.failing && st.Loaded
			continue
		}
		elapsed := now - w.lastChange
		switch {
		case dFailed > 0 && !w.failing:
			w.failing, w.since, w.failedAtStart = true, w.lastChange, w.failed
			why, most := "", uint64(0)
			for _, r := range sortedReasons(st.Reasons) {
				if d := st.Reasons[r] - w.reasons[r]; d > most {
					why, most = r, d
				}
			}
			msg := fmt.Sprintf("%d of %d requests failed in the last %s", dFailed, dFailed+dServed, shortDuration(elapsed))
			if why != "" {
				msg += ": " + why
			}
			s.emit(Entry{Time: now, Component: "traffic", Verb: "failing", Object: svc, Message: msg, Warning: true})
		case dFailed == 0 && w.failing && !st.Failing:
			w.failing = false
			s.emit(Entry{Time: now, Component: "traffic", Verb: "recovered", Object: svc,
				Message: fmt.Sprintf("every request served again; %d failed in %s", st.Failed-w.failedAtStart, shortDuration(w.lastFailure-w.since))})
		}
		if dFailed > 0 {
			w.lastFailure = now
		}
		w.failing = w.failing && st.Loaded
		w.served, w.failed, w.lastChange = st.Served, st.Failed, now
		w.reasons = st.Reasons
	}
}

func sortedReasons(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// shortDuration prints a duration the way the scenario format writes them.
func shortDuration(d time.Duration) string {
	return scenarios.FormatDuration(d.Round(time.Millisecond))
}
