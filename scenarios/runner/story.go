package runner

import (
	"fmt"
	"strings"
	"time"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim"
)

// Entry is one line of a run's timeline: who did what to which object, in
// the words a student would use (scheduled, started, ready, notReady,
// tainted, evicted, scaled, …). The timeline is derived from the trace
// and the Kubernetes Events the components write; plain API writes are
// left out (the --trace file has every one of them).
type Entry struct {
	Time      time.Duration
	Component string
	Verb      string
	// Object is kind/name in kubectl's form (pod/web-7d4b9-x2x4k), with
	// "namespace/" in front outside the default namespace; "" when none.
	Object  string
	Message string
	// Warning marks something going wrong (a failed action, an
	// unschedulable pod, a Warning event, a failed expectation).
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

// FormatClock prints a simulated time as h:mm:ss.mmm.
func FormatClock(d time.Duration) string {
	return fmt.Sprintf("%d:%02d:%02d.%03d", d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second, (d%time.Second)/time.Millisecond)
}

// hiddenVerbs are trace verbs of internal bookkeeping, not part of the
// story.
var hiddenVerbs = map[string]bool{
	"compact": true, "assume": true, "assumeExpired": true, "statusUpdateFailed": true, "clearNominationFailed": true,
}

// renamed are trace verbs told with another word.
var renamed = map[string]string{
	"bind":             "scheduled",
	"failedScheduling": "unschedulable",
	"preempt":          "preempted",
}

// hiddenReasons are Event reasons that are noise in a timeline (every pod
// pulls and creates its containers).
var hiddenReasons = map[string]bool{"Pulling": true, "Pulled": true, "Created": true}

// eventSynonyms maps Event reasons (lower case) to the trace verb that
// tells the same thing, so that a fact is told once per instant.
var eventSynonyms = map[string]string{
	"failedscheduling": "unschedulable",
	"scheduled":        "scheduled",
	"preempted":        "preempted",
}

// writeVerbs are the verbs of the API server's write records.
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

// storyteller turns trace records into timeline entries. Entries of one
// instant are held until the clock moves on, so that an Event telling what
// a trace record already told is dropped; an entry repeating the previous
// one about the same object is dropped too.
type storyteller struct {
	out     func(Entry)
	pending []pendingEntry
	now     time.Duration
	last    map[string]string // object → verb+message of its last entry
}

type pendingEntry struct {
	Entry
	event  bool   // from a Kubernetes Event
	reason string // the Event's reason, lower case
}

func newStoryteller(out func(Entry)) *storyteller {
	return &storyteller{out: out, last: map[string]string{}}
}

// objectRef prints kind/name with the namespace in front when not default.
func objectRef(kind, namespace, name string) string {
	if kind == "" && name == "" {
		return ""
	}
	s := strings.ToLower(kind) + "/" + name
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
	if r.Kind == "Event" && (r.Verb == "create" || r.Verb == "update") {
		if p, ok := eventEntry(r); ok {
			s.add(p)
		}
		return
	}
	if isWrite(r) || hiddenVerbs[r.Verb] {
		return
	}
	e := Entry{Time: r.Time, Component: r.Component, Verb: r.Verb, Object: objectRef(r.Kind, r.Namespace, r.Name), Message: r.Msg}
	if v, ok := renamed[r.Verb]; ok {
		e.Verb = v
	}
	switch e.Verb {
	case "scheduled":
		if e.Message != "" {
			e.Message = "on " + e.Message
		}
	case "unschedulable", "error", "bindFailed":
		e.Warning = true
	}
	s.add(pendingEntry{Entry: e})
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
		event: true, reason: strings.ToLower(reason),
	}, true
}

// emit adds an entry the runner itself tells (actions, checks).
func (s *storyteller) emit(e Entry) {
	if s.out == nil {
		return
	}
	s.add(pendingEntry{Entry: e})
}

// decided tells an expectation's outcome.
func (s *storyteller) decided(res scenarios.Result) {
	e := Entry{Time: res.DecidedAt, Component: "expect", Verb: res.Status.String(), Message: res.Expectation.String()}
	if res.Status == scenarios.Failed {
		e.Warning = true
		e.Message += fmt.Sprintf(" (observed %s)", res.Observed)
	}
	s.emit(e)
}

func (s *storyteller) add(p pendingEntry) {
	if p.Time != s.now {
		s.flush()
		s.now = p.Time
	}
	s.pending = append(s.pending, p)
}

// flush hands out the entries of the current instant.
func (s *storyteller) flush() {
	if len(s.pending) == 0 {
		return
	}
	told := map[string]bool{}
	for _, p := range s.pending {
		if !p.event {
			told[p.Object+" "+strings.ToLower(p.Verb)] = true
		}
	}
	for _, p := range s.pending {
		if p.event {
			v := p.reason
			if syn, ok := eventSynonyms[v]; ok {
				v = syn
			}
			if told[p.Object+" "+strings.ToLower(v)] {
				continue
			}
		}
		if p.Object != "" {
			key := p.Verb + "\x00" + p.Message
			if s.last[p.Object] == key {
				continue
			}
			s.last[p.Object] = key
		}
		s.out(p.Entry)
	}
	s.pending = s.pending[:0]
}
