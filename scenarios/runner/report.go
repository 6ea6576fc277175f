package runner

import (
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
