package runner

import (
	"errors"
	"strconv"
	"time"

	"github.com/kubesim/kubesim/scenarios"
)

// Report is the JSON document `kubesim run --output json` prints: one
// object a script can read. Times are durations in scenario syntax (5m,
// 1m30s).
type Report struct {
	Scenario string `json:"scenario"`
	// Description is the scenario's metadata.description; the key is
	// left out when it has none, as the README says.
	Description string `json:"description,omitempty"`
	Seed        uint64 `json:"seed"`
	// Rerun is the command line that replays the run (set by the CLI, which
	// knows how the scenario was named): a string, as seeds above 2^53 are
	// JSON numbers that many tools round.
	Rerun        string              `json:"rerun"`
	Duration     string              `json:"duration"`
	RanUntil     string              `json:"ranUntil"`
	Passed       bool                `json:"passed"`
	Counts       ReportCounts        `json:"counts"`
	Expectations []ReportExpectation `json:"expectations"`
	Errors       []ReportError       `json:"errors"`
	Summary      Summary             `json:"summary"`
	Events       uint64              `json:"events"`
	Revision     int64               `json:"revision"`
	// Explanations are the answers to kubesim run --explain, in order.
	Explanations []string `json:"explanations,omitempty"`
}

// ReportCounts counts expectations by outcome ("pending": not decided
// because the run stopped before their time).
type ReportCounts struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Pending int `json:"pending"`
	Errors  int `json:"errors"`
}

// ReportExpectation is one expectation's outcome.
type ReportExpectation struct {
	Index       int    `json:"index"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description"`
	Timing      string `json:"timing"`
	// From is where the window of a throughout starts ("0s" when the
	// scenario does not say); left out for at and within.
	From      string `json:"from,omitempty"`
	Time      string `json:"time"`
	Status    string `json:"status"`
	DecidedAt string `json:"decidedAt,omitempty"`
	Observed  string `json:"observed"`
	// Found says whether a get found its object when Observed was seen
	// (false: Observed is the "not found" text, not a value); left out
	// for count and metric, and for a get not evaluated yet.
	Found *bool `json:"found,omitempty"`
	// Wants is what the expectation wants, as the text output's FAIL line
	// says it: the quoted text of a get, the bounds of a count or metric.
	Wants  string `json:"wants"`
	Source string `json:"source"`
}

// ReportError is one run error.
type ReportError struct {
	At      string `json:"at"`
	Source  string `json:"source,omitempty"`
	What    string `json:"what"`
	Message string `json:"message"`
}

// Report turns the result into the JSON document.
func (r *Result) Report() Report {
	p, f, pend := r.Counts()
	rep := Report{
		Scenario: r.Scenario, Description: r.Description, Seed: r.Seed,
		Duration: scenarios.FormatDuration(r.Duration), RanUntil: scenarios.FormatDuration(r.RanUntil),
		Passed: r.OK(), Counts: ReportCounts{Passed: p, Failed: f, Pending: pend, Errors: len(r.Errors)},
		Expectations: []ReportExpectation{}, Errors: []ReportError{},
		Summary: r.Summary, Events: r.Events, Revision: r.Revision,
	}
	for _, e := range r.Expectations {
		x := e.Expectation
		re := ReportExpectation{Index: x.Index, Name: x.Name, Description: x.Description(), Timing: string(x.Timing),
			Time: scenarios.FormatDuration(x.Time), Status: e.Status.String(), Observed: e.Observed, Wants: x.Wants(), Source: x.Source.String()}
		if x.Kind == scenarios.ExpectGet && e.Evaluations > 0 {
			found := !e.NotFound
			re.Found = &found
		}
		if x.Timing == scenarios.TimingThroughout {
			re.From = scenarios.FormatDuration(x.From)
		}
		if e.Status != scenarios.Pending {
			re.DecidedAt = scenarios.FormatDuration(e.DecidedAt.Truncate(time.Millisecond))
		}
		rep.Expectations = append(rep.Expectations, re)
	}
	for _, e := range r.Errors {
		re := ReportError{At: scenarios.FormatDuration(e.At), What: e.What, Message: e.Message}
		if e.Source.File != "" {
			re.Source = e.Source.String()
		}
		rep.Errors = append(rep.Errors, re)
	}
	return rep
}

// InputReport is what `--output json` prints for one SCENARIO checked
// before anything runs: each of kubesim validate's, and kubesim run's
// document on exit 2 (with "passed": false beside it).
type InputReport struct {
	// File is the SCENARIO argument as given: a path, or a built-in's name.
	File string `json:"file"`
	// Valid is set when the scenario has no problem.
	Valid bool `json:"valid"`
	// Scenario is the scenario's metadata.name, when it loaded.
	Scenario string `json:"scenario,omitempty"`
	// Errors is every problem found; empty (not null) when valid.
	Errors []ReportInputError `json:"errors"`
}

// ReportInputError is one problem with a scenario, the JSON form of a
// FILE:LINE: field.path: message line. Source and Message are as in a run
// error's ReportError, so that a script can print either kind alike.
type ReportInputError struct {
	// Source is FILE:LINE, or FILE when the file cannot be read; empty
	// when the problem is not in a file (no such scenario).
	Source string `json:"source,omitempty"`
	File   string `json:"file,omitempty"`
	// Line is 1-based; left out when the file cannot be read.
	Line int `json:"line,omitempty"`
	// Column is 1-based; left out when unknown.
	Column int `json:"column,omitempty"`
	// Path is the field path, e.g. spec.events[2].node; left out when the
	// problem is not in one field (YAML syntax).
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// NewInputReport reports the SCENARIO arg as loaded: sc when err is nil,
// else err's problems, one item per line of a scenarios.ErrorList (any
// other error is one item with its message alone).
func NewInputReport(arg string, sc *scenarios.Scenario, err error) InputReport {
	rep := InputReport{File: arg, Errors: []ReportInputError{}}
	if err == nil {
		rep.Valid = true
		if sc != nil {
			rep.Scenario = sc.Metadata.Name
		}
		return rep
	}
	var list scenarios.ErrorList
	if !errors.As(err, &list) {
		rep.Errors = append(rep.Errors, ReportInputError{Message: err.Error()})
		return rep
	}
	for _, e := range list {
		src := e.File
		if e.Line > 0 {
			src += ":" + strconv.Itoa(e.Line)
		}
		rep.Errors = append(rep.Errors, ReportInputError{Source: src, File: e.File, Line: e.Line, Column: e.Column, Path: e.Path, Message: e.Message})
	}
	return rep
}
