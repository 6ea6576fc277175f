package framework

import (
	"strconv"
	"strings"
)

// MaxNodeScore is the highest score a score plugin may give a node.
const MaxNodeScore int64 = 100

// Code is the outcome class of a plugin call, as in upstream's framework.Code.
type Code uint8

const (
	// Success means the plugin accepted the pod (or the node).
	Success Code = iota
	// Unschedulable means the node does not fit now but preemption may help.
	Unschedulable
	// UnschedulableAndUnresolvable means the node does not fit and removing
	// pods from it cannot change that, so preemption skips it.
	UnschedulableAndUnresolvable
	// Error is an internal error; the pod is retried after an error backoff.
	Error
	// Skip (from PreFilter or PreScore) means the plugin has nothing to do for
	// this pod in this cycle; its Filter or Score is not called.
	Skip
)

// String is the upstream name of the code.
func (c Code) String() string {
	switch c {
	case Success:
		return "Success"
	case Unschedulable:
		return "Unschedulable"
	case UnschedulableAndUnresolvable:
		return "UnschedulableAndUnresolvable"
	case Error:
		return "Error"
	case Skip:
		return "Skip"
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// Status is the immutable result of a plugin call. A nil *Status means
// Success. Statuses are shared between nodes and cycles (plugins keep the
// common ones in package variables), so callers must never modify one.
type Status struct {
	code    Code
	plugin  string
	reasons []string
}

// NewStatus returns a status with the given code, rejecting plugin and
// reasons (each reason is one entry of the FailedScheduling histogram).
func NewStatus(code Code, plugin string, reasons ...string) *Status {
	return &Status{code: code, plugin: plugin, reasons: reasons}
}

// Code is the status code; Success for a nil status.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// Plugin is the name of the plugin that produced the status.
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// Reasons are the human-readable reasons; callers must not modify the slice.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Message joins the reasons with ", " as upstream's Status.Message does.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.reasons, ", ")
}

// IsSuccess reports whether the status is nil or Success.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsSkip reports whether the status is Skip.
func (s *Status) IsSkip() bool { return s.Code() == Skip }

// IsRejected reports whether the status is Unschedulable or
// UnschedulableAndUnresolvable.
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}
