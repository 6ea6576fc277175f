package scenarios

import (
	"fmt"
	"time"
)

// Status is where an expectation stands.
type Status int

// Statuses.
const (
	Pending Status = iota // not decided yet
	Passed
	Failed
)

// String prints PENDING, PASS or FAIL.
func (s Status) String() string {
	switch s {
	case Pending:
		return "PENDING"
	case Passed:
		return "PASS"
	case Failed:
		return "FAIL"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Result is the state of one expectation.
type Result struct {
	Expectation *Expectation
	Status      Status
	// DecidedAt is the simulated time (since the start) the status was
	// decided; meaningful once Status is not Pending.
	DecidedAt time.Duration
	// Observed is the value seen when the status was decided (for a failed
	// within: the value at its deadline); for a pending within, the last
	// value seen.
	Observed string
	// NotFound is set when Observed says that a get's object does not
	// exist (Observation.NotFound).
	NotFound bool
	// Evaluations counts how often the expectation was evaluated.
	Evaluations int

	// inWindow is set once a throughout was evaluated at its From.
	inWindow bool

	// A count's last observation and the ChangeCount of its kind then,
	// and whether each object it listed matched (by UID and version).
	listed    bool
	listedAt  uint64
	listedObs Observation
	memo      *countMemo
	// A metric's matching samples (their indexes into Metric's list) and
	// the MetricShape they were matched at, and a buffer for its values.
	metricMatched bool
	metricShape   uint64
	metricIdx     []int
	metricValues  []float64
}

// ChangeCounter is implemented by a Cluster that counts the changes of each
// kind of object: ChangeCount(r) moves whenever an object of kind r is
// created, changed or deleted (false: not counted). While it stays the
// same a count expectation's observation does too, so the checker reuses
// it rather than list the kind again at every instant of a within.
type ChangeCounter interface {
	ChangeCount(r Resource) (uint64, bool)
}

// MetricValuer is implemented by a Cluster that reads a metric's values
// without their labels: MetricValues(name, buf) appends to buf the values
// of the samples Metric(name) returns, in the same order, and returns them
// with a shape that stays the same for as long as Metric(name) returns the
// same labels in the same order. While it does, a metric expectation sums
// the values of the samples it matched before rather than build and match
// every sample's labels again at every instant of a within.
type MetricValuer interface {
	MetricValues(name string, buf []float64) (values []float64, shape uint64)
}

// Checker decides expectations as simulated time advances, independently
// of how the runner schedules its work. The runner drives it:
//
//	chk := scenarios.NewChecker(sc.Spec.Expect)
//	for !chk.Done() {
//		next, _ := chk.NextDeadline()
//		// run the engine up to next, calling chk.Observe(now, cluster) each
//		// time the clock is about to move past an instant (after the last
//		// event at that instant ran), so `within` sees every state
//		eng.RunUntil(next)
//		chk.Observe(next, cluster) // an `at` is evaluated exactly at its time
//	}
//
// An `at` expectation is evaluated once, when Observe is called with its
// time. A `within` expectation is evaluated on every Observe up to its
// deadline and passes the first time it holds; if it has not held when
// Observe is called at the deadline, it fails with the value seen then.
// A `throughout` expectation is evaluated on every Observe from its From
// (a deadline of its own) to its Time and fails the first time it does not
// hold, with the value seen then; if it held at every one, it passes at
// Time. Observe must be called at every deadline NextDeadline reports, with
// non-decreasing times; skipping one is a runner bug and panics.
type Checker struct {
	results []Result
	last    time.Duration
	started bool
}

// NewChecker starts every expectation as Pending.
func NewChecker(exps []Expectation) *Checker {
	c := &Checker{results: make([]Result, len(exps))}
	for i := range exps {
		c.results[i] = Result{Expectation: &exps[i], Status: Pending}
	}
	return c
}

// NextDeadline is the earliest time of a pending expectation (an at's
// instant, a within's deadline, a throughout's From until it was evaluated
// there and its Time after); false when all are decided.
func (c *Checker) NextDeadline() (time.Duration, bool) {
	var next time.Duration
	found := false
	for i := range c.results {
		r := &c.results[i]
		if r.Status != Pending {
			continue
		}
		t := r.Expectation.Time
		if r.Expectation.Timing == TimingThroughout && !r.inWindow {
			t = r.Expectation.From
		}
		if !found || t < next {
			next, found = t, true
		}
	}
	return next, found
}

// Observe evaluates the pending expectations that are due at now against
// cl and returns the ones decided by this call, in spec order.
func (c *Checker) Observe(now time.Duration, cl Cluster) []Result {
	if c.started && now < c.last {
		panic(fmt.Sprintf("scenarios: Checker.Observe at %v after %v: time went backwards", now, c.last))
	}
	c.started, c.last = true, now
	var decided []Result
	for i := range c.results {
		r := &c.results[i]
		if r.Status != Pending {
			continue
		}
		e := r.Expectation
		if now > e.Time {
			panic(fmt.Sprintf("scenarios: expectation %d (%s) was due at %v but Observe was first called at %v after it; "+
				"the runner must call Observe at every NextDeadline", e.Index, e, e.Time, now))
		}
		switch e.Timing {
		case TimingAt:
			if now < e.Time {
				continue
			}
		case TimingThroughout:
			if now < e.From {
				continue
			}
			if !r.inWindow && now > e.From {
				panic(fmt.Sprintf("scenarios: expectation %d (%s) starts at %v but Observe was first called at %v after it; "+
					"the runner must call Observe at every NextDeadline", e.Index, e, e.From, now))
			}
			r.inWindow = true
		}
		obs := r.evaluate(cl)
		r.Evaluations++
		r.Observed, r.NotFound = obs.Value, obs.NotFound
		switch {
		case e.Timing == TimingThroughout:
			// fails at the first instant it does not hold
			switch {
			case !obs.Holds:
				r.Status, r.DecidedAt = Failed, now
			case now == e.Time:
				r.Status, r.DecidedAt = Passed, now
			default:
				continue
			}
		case obs.Holds:
			r.Status, r.DecidedAt = Passed, now
		case now == e.Time:
			r.Status, r.DecidedAt = Failed, now
		default:
			continue
		}
		decided = append(decided, *r)
	}
	return decided
}

// evaluate evaluates r's expectation against cl, reusing a count's last
// observation while its kind has not changed (see ChangeCounter).
func (r *Result) evaluate(cl Cluster) Observation {
	e := r.Expectation
	if mv, ok := cl.(MetricValuer); ok && e.Kind == ExpectMetric {
		return r.evalMetric(cl, mv)
	}
	cc, ok := cl.(ChangeCounter)
	if e.Kind != ExpectCount || !ok {
		return e.Evaluate(cl)
	}
	n, ok := cc.ChangeCount(e.Resource)
	if !ok {
		return e.Evaluate(cl)
	}
	if r.listed && r.listedAt == n {
		return r.listedObs
	}
	if r.memo == nil {
		r.memo = &countMemo{}
	}
	obs := e.evalCount(cl, r.memo)
	r.listed, r.listedAt, r.listedObs = true, n, obs
	return obs
}

// evalMetric is Expectation.evalMetric reading only the values while the
// metric's shape stays the same: the matched samples' values are added in
// the same order, so the sum is the same, bit for bit.
func (r *Result) evalMetric(cl Cluster, mv MetricValuer) Observation {
	e := r.Expectation
	values, shape := mv.MetricValues(e.Metric.Name, r.metricValues[:0])
	r.metricValues = values
	if !r.metricMatched || shape != r.metricShape {
		samples := cl.Metric(e.Metric.Name)
		if len(samples) != len(values) {
			panic(fmt.Sprintf("scenarios: metric %s has %d samples but %d values", e.Metric.Name, len(samples), len(values)))
		}
		r.metricIdx = r.metricIdx[:0]
		for i, s := range samples {
			if e.Metric.Matches(s.Labels) {
				r.metricIdx = append(r.metricIdx, i)
			}
		}
		r.metricMatched, r.metricShape = true, shape
	}
	var sum float64
	for _, i := range r.metricIdx {
		sum += values[i]
	}
	return e.metricObservation(sum, len(r.metricIdx))
}

// Results returns the state of every expectation, in spec order.
func (c *Checker) Results() []Result {
	out := make([]Result, len(c.results))
	copy(out, c.results)
	return out
}

// Done reports whether every expectation is decided.
func (c *Checker) Done() bool {
	_, pending := c.NextDeadline()
	return !pending
}

// AllPassed reports whether every expectation passed (true for none).
func (c *Checker) AllPassed() bool {
	for _, r := range c.results {
		if r.Status != Passed {
			return false
		}
	}
	return true
}
