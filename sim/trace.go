package sim

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Record is one entry of the structured trace: a state change, stamped with
// the simulated time at which it happened. The trace of a run is the sequence
// of its records; the same scenario and seed produce byte-identical traces.
type Record struct {
	// Time is the simulated time since Epoch; Engine.Trace fills it in.
	Time time.Duration
	// Component is who acted: "apiserver", "scheduler", "kubelet/node-1", ...
	Component string
	// Verb is what happened, in lowerCamelCase: "create", "update", "bind",
	// "scheduled", "started", "nodeNotReady", ...
	Verb string
	// Kind, Namespace and Name identify the object acted on, when there is one.
	Kind      string
	Namespace string
	Name      string
	// RV is the object's resourceVersion after the change; 0 when none.
	RV int64
	// Msg is a short human-readable message.
	Msg string
}

// TraceSink receives every trace record as it is emitted. Sinks run inside
// the engine's event loop and must not re-enter the engine.
type TraceSink func(Record)

type tracer struct {
	sinks []TraceSink
}

// AddTraceSink registers a sink for all later records.
func (e *Engine) AddTraceSink(s TraceSink) { e.tracer.sinks = append(e.tracer.sinks, s) }

// Tracing reports whether any sink is registered. Callers building an
// expensive message may check it first.
func (e *Engine) Tracing() bool { return len(e.tracer.sinks) > 0 }

// Trace stamps r with the current simulated time and hands it to every sink.
func (e *Engine) Trace(r Record) {
	if len(e.tracer.sinks) == 0 {
		return
	}
	r.Time = e.now
	for _, s := range e.tracer.sinks {
		s(r)
	}
}

// AppendJSON appends r as one JSON object (no trailing newline) with a fixed
// field order: t (seconds since the epoch of the run, as a decimal), component,
// verb, kind, namespace, name, rv, msg. Empty fields are omitted.
func (r Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"t":`...)
	b = AppendSeconds(b, r.Time)
	b = appendField(b, "component", r.Component)
	b = appendField(b, "verb", r.Verb)
	b = appendField(b, "kind", r.Kind)
	b = appendField(b, "namespace", r.Namespace)
	b = appendField(b, "name", r.Name)
	if r.RV != 0 {
		b = append(b, `,"rv":`...)
		b = strconv.AppendInt(b, r.RV, 10)
	}
	b = appendField(b, "msg", r.Msg)
	return append(b, '}')
}

// FormatClock prints a simulated time (not negative) as the timeline's
// clock, h:mm:ss.mmm (cut to the millisecond): kubesim run's timeline and
// kubesim explain print instants so.
func FormatClock(d time.Duration) string {
	return string(AppendClock(make([]byte, 0, 12), d))
}

// AppendClock appends d as FormatClock prints it.
func AppendClock(b []byte, d time.Duration) []byte {
	b = strconv.AppendInt(b, int64(d/time.Hour), 10)
	m, sec, ms := (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second, (d%time.Second)/time.Millisecond
	return append(b, ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+sec/10), byte('0'+sec%10),
		'.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

// AppendSeconds appends d as decimal seconds with no trailing zeros
// (90s ⇒ 90, 1.5s ⇒ 1.5, 1ms ⇒ 0.001).
func AppendSeconds(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	b = strconv.AppendInt(b, int64(d/time.Second), 10)
	frac := int64(d % time.Second)
	if frac == 0 {
		return b
	}
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 9
	for n > 0 && digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

func appendField(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return AppendJSONString(b, value)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
