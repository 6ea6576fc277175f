package runner

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/cluster"
)

// User is the component name of the runner's client: what the scenario
// does through the API server appears in the trace as "kubectl".
const User = "kubectl"

// Options configure a run.
type Options struct {
	// Seed overrides spec.seed when set.
	Seed *uint64
	// Until stops the run at this simulated time instead of spec.duration
	// (it may be earlier or later). Expectations due after it stay Pending.
	Until time.Duration
	// Trace receives every trace record of the run (for --trace).
	Trace sim.TraceSink
	// Story receives the timeline entries as they happen (see Story).
	Story func(Entry)
	// DetectCacheMutations makes informers panic when a component
	// modifies a shared cached object (tests).
	DetectCacheMutations bool
	// Setup runs on the new cluster before its informers start and before
	// anything of the scenario is created (tests, extra trace sinks).
	Setup func(*cluster.Cluster)

	// configure adjusts the cluster configuration (in-package tests).
	configure func(*cluster.Config)

	// addNode replaces Cluster.AddNode for the nodes of spec.cluster.nodes
	// (in-package tests that run before the kubelet model, with
	// simtest's Node objects and fake kubelet).
	addNode func(cluster.NodeSpec) error
}

// RunError is something that went wrong while the scenario ran (an action
// the cluster refused, a fault it could not apply, a component that is not
// built yet). Bad input never gets this far: the loader rejects it.
type RunError struct {
	// At is the simulated time of the failed action.
	At time.Duration
	// Source is the scenario line of the action ("" file when none).
	Source scenarios.Source
	// What names the action, e.g. "scale deployment/web".
	What string
	// Message is the error text.
	Message string
}

// String prints FILE:LINE: at TIME: what: message.
func (e RunError) String() string {
	where := ""
	if e.Source.File != "" {
		where = e.Source.String() + ": "
	}
	return fmt.Sprintf("%sat %s: %s: %s", where, scenarios.FormatDuration(e.At), e.What, e.Message)
}

// Result is the outcome of a run.
type Result struct {
	Scenario    string
	Description string
	Seed        uint64
	// Duration is spec.duration; RanUntil is where the run stopped.
	Duration time.Duration
	RanUntil time.Duration
	// Expectations are the checker's results, in spec order.
	Expectations []scenarios.Result
	// Errors are the run errors, by time.
	Errors []RunError
	// Summary is the cluster at the end of the run.
	Summary Summary
	// Events is the number of engine events run; Revision the store's
	// final revision.
	Events   uint64
	Revision int64
}

// Counts returns how many expectations passed, failed and are undecided.
func (r *Result) Counts() (passed, failed, pending int) {
	for _, e := range r.Expectations {
		switch e.Status {
		case scenarios.Passed:
			passed++
		case scenarios.Failed:
			failed++
		default:
			pending++
		}
	}
	return
}

// OK reports whether no expectation failed and nothing went wrong. An
// expectation left undecided because --until stopped the run early does
// not count as a failure.
func (r *Result) OK() bool {
	_, failed, _ := r.Counts()
	return failed == 0 && len(r.Errors) == 0
}

// Run is one scenario running on a fresh cluster. It is a state machine
// driven by its caller (New, then AdvanceTo as often as wanted, then
// Finish): the CLI advances it in slices to draw a progress bar, tests
// in one go. It starts no goroutines and reads no clock.
type Run struct {
	sc    *scenarios.Scenario
	opts  Options
	c     *cluster.Cluster
	api   *apiserver.Server
	chk   *scenarios.Checker
	story *storyteller
	// ends remembers how deleted pods ended, for Explain.
	ends  *podEnds
	seed  uint64
	until time.Duration

	errs []RunError
	// faults maps the text Cluster.Inject prefixes to a fault's errors to
	// the scenario event it came from; faultErrs counts the fault errors
	// already collected.
	faults    map[string]*scenarios.Event
	faultErrs int
	// ramps are the pending steps of load ramps, by load key, so that a
	// later setLoad of the same target replaces a ramp in progress.
	ramps map[string][]sim.Timer
	// rand is the "kubectl" random stream (killPod's choice of pod).
	rand *rand.Rand
	// dirty is set when an engine event ran since the last observation.
	dirty    bool
	finished *Result
}

// smallClusterNodes is how many nodes the default pod range (10.244.0.0/16
// in /24 blocks) holds; largeClusterCIDR is the range of larger scenarios.
const (
	smallClusterNodes = 256
	largeClusterCIDR  = "10.128.0.0/9"
)

// New builds the cluster of sc, schedules its objects at t=0 and its
// timeline, and returns the run at t=0 (nothing has run yet).
func New(sc *scenarios.Scenario, opts Options) (*Run, error) {
	seed := sc.Spec.Seed
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	cfg := cluster.Config{Seed: seed, DetectCacheMutations: opts.DetectCacheMutations}
	if sc.NodesCreated() > smallClusterNodes {
		// 10.244.0.0/16 holds 256 /24 node blocks; a larger cluster gets
		// 10.128.0.0/9 (32,768 blocks, clear of the Service range
		// 10.96.0.0/12), as kubeadm's --pod-network-cidr would give it.
		cfg.Kubelet.ClusterCIDR = largeClusterCIDR
	}
	configureProxyMode(&cfg, sc.Spec.ProxyMode)
	if opts.configure != nil {
		opts.configure(&cfg)
	}
	until := sc.Spec.Duration
	if opts.Until > 0 {
		until = opts.Until
	}
	c := cluster.New(cfg)
	r := &Run{
		sc: sc, opts: opts, c: c, api: c.API, seed: seed, until: until,
		chk:    scenarios.NewChecker(sc.Spec.Expect),
		faults: map[string]*scenarios.Event{},
		ramps:  map[string][]sim.Timer{},
		rand:   c.Engine.Rand(User),
	}
	if opts.Trace != nil {
		c.Engine.AddTraceSink(opts.Trace)
	}
	r.story = newStoryteller(opts.Story)
	r.ends = newPodEnds(c.API)
	c.Engine.AddTraceSink(func(rec sim.Record) {
		r.ends.record(rec)
		r.story.record(rec)
	})
	if opts.Setup != nil {
		opts.Setup(c)
	}
	c.Start()
	r.schedule()
	return r, nil
}

// Cluster is the cluster the scenario runs on.
func (r *Run) Cluster() *cluster.Cluster { return r.c }

// Seed is the seed of the run.
func (r *Run) Seed() uint64 { return r.seed }

// Until is the simulated time the run ends at.
func (r *Run) Until() time.Duration { return r.until }

// Now is the current simulated time.
func (r *Run) Now() time.Duration { return r.c.Engine.Elapsed() }

// Scenario is the scenario being run.
func (r *Run) Scenario() *scenarios.Scenario { return r.sc }

// schedule queues the t=0 build and every timeline event, in timeline
// order (events at one instant keep their file order, after the build).
func (r *Run) schedule() {
	eng := r.c.Engine
	eng.At(0, "scenario: create nodes and objects", r.build)
	for _, e := range r.sc.Timeline() {
		e := e
		if f, ok := r.faultOf(&e); ok {
			eng.At(e.At, "scenario: "+string(e.Action), func() { r.announce(&e) })
			for _, f := range f {
				r.faults[fmt.Sprintf("%s at %v", f, f.At)] = &e
				r.c.Inject(f)
			}
			continue
		}
		eng.At(e.At, "scenario: "+string(e.Action), func() { r.do(&e) })
	}
}

// fail records a run error and tells the story.
func (r *Run) fail(at time.Duration, src scenarios.Source, what string, err error) {
	re := RunError{At: at, Source: src, What: what, Message: err.Error()}
	r.errs = append(r.errs, re)
	r.story.emit(Entry{Time: at, Component: "scenario", Verb: "error", Object: what, Message: err.Error(), Warning: true})
}

// AdvanceTo runs the cluster up to simulated time t (at most Until),
// evaluating expectations after the last event of every instant and at
// every deadline. Calling it in slices gives the same run as one call.
func (r *Run) AdvanceTo(t time.Duration) {
	eng := r.c.Engine
	t = min(max(t, eng.Elapsed()), max(r.until, eng.Elapsed()))
	for {
		limit := t
		deadline, hasDeadline := r.chk.NextDeadline()
		if hasDeadline && deadline < limit {
			limit = deadline
		}
		for {
			next, ok := eng.NextAt()
			if !ok || next > limit {
				break
			}
			if next > eng.Elapsed() && r.dirty {
				r.observe(eng.Elapsed())
			}
			eng.Step()
			r.dirty = true
		}
		if r.dirty {
			// The instant of the last event is complete: nothing else is
			// due before limit.
			r.observe(eng.Elapsed())
		}
		if limit > eng.Elapsed() {
			eng.RunUntil(limit)
		}
		if hasDeadline && deadline == limit {
			r.observe(limit)
		}
		if limit >= t {
			break
		}
	}
	r.collectFaultErrors()
	r.story.flush()
}

// observe lets the checker look at the cluster now.
func (r *Run) observe(now time.Duration) {
	r.dirty = false
	for _, res := range r.chk.Observe(now, view{r.c}) {
		r.story.decided(res)
	}
	if r.opts.Story != nil {
		r.story.watchTraffic(now, r.loadedServices(), r.requestStats)
	}
}

// loadedServices lists the Services that have a load (and those that had
// one), as timeline objects, sorted.
func (r *Run) loadedServices() []string {
	seen := map[string]bool{}
	for svc := range r.story.traffic {
		seen[svc] = true
	}
	for _, l := range r.c.Traffic().Loads() {
		seen[objectRef("Service", l.Namespace, l.Service)] = true
	}
	return sortedKeys(seen)
}

// requestStats reads a Service's request totals as accounted so far.
func (r *Run) requestStats(svc string) requestStats {
	ns, ref := scenarios.DefaultNamespace, svc
	if parts := strings.Split(svc, "/"); len(parts) == 3 {
		ns, ref = parts[0], parts[1]+"/"+parts[2]
	}
	name := strings.TrimPrefix(ref, "service/")
	tr := r.c.Traffic()
	st := tr.Stats(ns, name)
	return requestStats{Served: st.Served, Failed: st.Failed, Reasons: st.FailedByReason, Loaded: tr.HasLoad(ns, name), Failing: tr.Failing(ns, name)}
}

// collectFaultErrors turns the errors of injected faults into run errors
// attributed to their scenario events.
func (r *Run) collectFaultErrors() {
	all := r.c.FaultErrors()
	for _, err := range all[r.faultErrs:] {
		msg := err.Error()
		src, what, at := scenarios.Source{}, "fault", r.Now()
		for key, e := range r.faults {
			if strings.HasPrefix(msg, key+": ") {
				src, what, at, msg = e.Source, describeEvent(e), e.At, strings.TrimPrefix(msg, key+": ")
				break
			}
		}
		r.errs = append(r.errs, RunError{At: at, Source: src, What: what, Message: msg})
	}
	r.faultErrs = len(all)
}

// Finish runs to the end (if not there yet) and returns the result. It may
// be called more than once.
func (r *Run) Finish() *Result {
	if r.finished != nil {
		return r.finished
	}
	r.AdvanceTo(r.until)
	errs := slices.Clone(r.errs)
	slices.SortStableFunc(errs, func(a, b RunError) int { return cmp.Compare(a.At, b.At) })
	r.finished = &Result{
		Scenario:     r.sc.Metadata.Name,
		Description:  r.sc.Metadata.Description,
		Seed:         r.seed,
		Duration:     r.sc.Spec.Duration,
		RanUntil:     r.Now(),
		Expectations: r.chk.Results(),
		Errors:       errs,
		Summary:      summarize(r.c),
		Events:       r.c.Engine.Steps(),
		Revision:     r.c.Store.Rev(),
	}
	return r.finished
}

// Execute runs sc to the end with opts and returns the result.
func Execute(sc *scenarios.Scenario, opts Options) (*Result, error) {
	r, err := New(sc, opts)
	if err != nil {
		return nil, err
	}
	return r.Finish(), nil
}
