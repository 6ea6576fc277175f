package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/runner"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/cluster"
)

type runFlags struct {
	seed      uint64
	until     time.Duration
	trace     string
	metrics   string
	output    string
	quiet     bool
	explain   []string
	namespace string
	progress  bool
}

func newRunCmd(e env) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run SCENARIO",
		Short: "Run a scenario and check its expectations",
		Long: `run builds the cluster of SCENARIO (a scenario file, or the name of a built-in
scenario: see kubesim scenarios), creates its objects, plays its timeline of faults
and kubectl actions on the simulated clock and checks its expectations.

It prints the seed, a timeline (simulated time, component, what happened: scheduled,
started, ready, notReady, tainted, evicted, scaled, ...), a summary of the cluster at
the end (nodes, workloads, pods by phase, services and endpoints) and every
expectation as PASS or FAIL with the simulated time it was decided and, on failure,
the value observed. A scenario with any problem is rejected before anything runs,
with FILE:LINE: field.path: message errors on stderr; with --output json they are
also one JSON document on stdout, as kubesim validate --output json gives them,
with "passed": false. Usage errors (flags) are text on stderr only.

On a terminal a progress bar shows the simulated time reached. --progress prints it
to stderr instead, one plain line every 5 seconds of wall time and one at the end
(for CI logs, where stdout is not a terminal and no bar is drawn); --progress=false
draws no bar. Neither changes stdout, the --trace or the --metrics file.

Exit codes: 0 every expectation passed; 1 an expectation failed, an action
errored, an --explain pod does not exist at the end and was never scheduled nor
deleted, or
the --trace or --metrics file could not be written (run errors, reported with the
run), or the output could not be written; 2 bad input or usage (nothing was run);
3 an internal error (a bug in kubesim).
Expectations due after --until are reported as not checked and do not fail the run.`,
		Example: `  kubesim run node-failure
  kubesim run node-failure --seed 42 --quiet
  kubesim run ./my-scenario.yaml --until 3m --trace trace.jsonl --metrics metrics.txt
  kubesim run pending-pods --explain pod/big
  kubesim run hpa --output json | jq .counts
  kubesim run ./big.yaml --progress -o json > report.json   # CI: progress on stderr
  kubesim run ./my-scenario.yaml -o json | jq -r '.errors[] | "\(.source): \(.message)"'`,
		Args: exactArgs(1, "one SCENARIO (a file or a built-in name)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScenario(e, cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.Uint64Var(&f.seed, "seed", 0, "random seed of the run (default: the scenario's spec.seed)")
	fl.DurationVar(&f.until, "until", 0, "stop at this simulated time instead of spec.duration (e.g. 90s, 5m)")
	fl.StringVar(&f.trace, "trace", "", "write every trace record to FILE as JSON lines")
	fl.StringVar(&f.metrics, "metrics", "", "write the run's metrics to FILE in the Prometheus text format")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json (one JSON document, for scripts)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print no timeline and no summary, only the expectations and errors")
	fl.StringArrayVar(&f.explain, "explain", nil, "after the run, explain why pod/NAME (or NAMESPACE/pod/NAME) is where it is, still Pending, not Ready or gone; repeatable")
	fl.StringVarP(&f.namespace, "namespace", "n", scenarios.DefaultNamespace, "namespace of --explain pods given as pod/NAME")
	fl.BoolVar(&f.progress, "progress", false, "print the simulated time reached to stderr every few seconds, one line each, and at the end (for CI logs); "+
		"default: a progress bar when stdout is a terminal; --progress=false: neither")
	return cmd
}

func runScenario(e env, cmd *cobra.Command, arg string, f *runFlags) error {
	if f.output != "text" && f.output != "json" {
		return usageError("--output must be text or json, not %q", f.output)
	}
	if f.until < 0 || (f.until == 0 && cmd.Flags().Changed("until")) {
		return usageError("--until must be greater than 0 (the simulated time to stop at), got %s", f.until)
	}
	type podName struct{ arg, ns, name string }
	var explain []podName
	for _, s := range f.explain {
		ns, name, err := podRef(s, f.namespace)
		if err != nil {
			return err
		}
		explain = append(explain, podName{s, ns, name})
	}
	if f.trace != "" && f.metrics != "" && sameFile(f.trace, f.metrics) {
		return usageError("--trace and --metrics name the same file (%s): the metrics would overwrite the trace", f.metrics)
	}
	sc, err := loadScenario(arg)
	if err != nil {
		if f.output == "json" {
			// The scenario's problems as a document too; stderr still
			// has them as text (printed by execute).
			doc := struct {
				runner.InputReport
				Passed bool `json:"passed"`
			}{InputReport: runner.NewInputReport(arg, nil, unwrapExit(err))}
			if werr := writeJSON(e.stdout, doc); werr != nil {
				return &exitError{code: exitFailed, err: werr}
			}
		}
		return err
	}
	opts := runner.Options{Until: f.until}
	if cmd.Flags().Changed("seed") {
		opts.Seed = &f.seed
	}
	var traceFile io.WriteCloser
	var traceBuf *bufio.Writer
	if f.trace != "" {
		if traceFile, err = createFile(f.trace); err != nil {
			return usageError("--trace: %v", err)
		}
		defer traceFile.Close()
		traceBuf = bufio.NewWriterSize(traceFile, 1<<16)
		var line []byte
		opts.Trace = func(r sim.Record) {
			line = r.AppendJSON(line[:0])
			line = append(line, '\n')
			_, _ = traceBuf.Write(line)
		}
	}
	if f.metrics != "" {
		// Fail on a bad path now rather than after the run.
		mf, err := createFile(f.metrics)
		if err != nil {
			return usageError("--metrics: %v", err)
		}
		mf.Close()
	}
	text := f.output == "text"
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	// The progress goes to stdout's terminal as a bar, or with --progress
	// to stderr as lines; neither changes what the run prints or writes.
	progressSet := cmd.Flags().Changed("progress")
	bar := &progress{w: out, enabled: text && e.terminal && !progressSet, columns: e.columns, clock: wallClock}
	var log *progressLog
	if f.progress {
		log = &progressLog{w: e.stderr, clock: wallClock, flush: func() { _ = out.Flush() }}
	}
	if text && !f.quiet {
		opts.Story = func(en runner.Entry) { bar.println(en.String()) }
	}
	r, err := runner.New(sc, opts)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	seed := r.Seed()
	if text {
		fmt.Fprintf(out, "kubesim run %s (seed %d, until %s)", displayName(arg), seed, scenarios.FormatDuration(r.Until()))
		if sc.Metadata.Description != "" && !f.quiet {
			fmt.Fprintf(out, "\n  %s", sc.Metadata.Description)
		}
		fmt.Fprint(out, "\n")
		if !f.quiet {
			fmt.Fprint(out, "\n")
		}
	}
	bar.start(r.Until())
	log.start(r.Until())
	advanceInSlices(r, wallClock, func(now time.Duration) {
		bar.update(now)
		log.update(now)
	})
	bar.clear()
	log.finish(r.Now())
	res := r.Finish()
	// An output file that cannot be written fails the run, as a run
	// error: the run is still reported, and the verdict, the JSON's passed
	// and errors[] and the exit code agree. Each is also said on stderr,
	// which a CI log shows when stdout goes to a file.
	var fileErrs []error
	fileError := func(flag string, err error) {
		res.Errors = append(res.Errors, runner.RunError{At: res.RanUntil, What: flag, Message: err.Error()})
		fileErrs = append(fileErrs, fmt.Errorf("%s: %v", flag, err))
	}
	if traceBuf != nil {
		err := traceBuf.Flush()
		if cerr := traceFile.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fileError("--trace", err)
		}
	}
	// A pod that cannot be explained (it does not exist then and was never
	// scheduled) fails the run, as kubesim explain exits 1 for it: the
	// answer says so in its place, and a run error makes the verdict, the
	// JSON's passed and the exit code agree.
	var explanations []string
	for _, p := range explain {
		s, err := r.Explain(p.ns, p.name)
		if err != nil {
			s = err.Error() + "\n"
			res.Errors = append(res.Errors, runner.RunError{At: res.RanUntil, What: "--explain " + p.arg, Message: err.Error()})
		}
		explanations = append(explanations, s)
	}
	if f.metrics != "" {
		if err := writeMetrics(f.metrics, r.Cluster()); err != nil {
			fileError("--metrics", err)
		}
	}
	var until time.Duration
	if cmd.Flags().Changed("until") {
		until = f.until
	}
	rerun := rerunCommand(displayName(arg), seed, until)
	if text {
		writeText(out, res, rerun, f.quiet, explanations)
	} else {
		rep := res.Report()
		rep.Rerun = rerun
		rep.Explanations = explanations
		if err := writeJSON(out, rep); err != nil {
			return &exitError{code: exitFailed, err: err}
		}
	}
	if len(fileErrs) > 0 {
		out.Flush()
		for _, err := range fileErrs {
			printError(e.stderr, err)
		}
	}
	if !res.OK() {
		return &exitError{code: exitFailed}
	}
	return nil
}

// advancer is the part of a runner.Run that advanceInSlices drives.
type advancer interface {
	AdvanceTo(t time.Duration)
	Now() time.Duration
	Until() time.Duration
}

// Slices of simulated time kubesim run advances in: at most a 200th of
// the run, at least a millisecond (or the run), sized so that one takes
// about sliceWall of wall time.
const (
	slicesPerRun = 200
	minSlice     = time.Millisecond
	sliceWall    = 100 * time.Millisecond
)

// advanceInSlices runs r to its end in slices of simulated time, calling
// update after each, for the progress bar. A busy stretch (thousands of
// pods scheduled in a few simulated seconds) can take minutes of wall
// time for a 200th of the run, so the slices start at a millisecond,
// double while a slice takes under half of sliceWall and shrink to a
// quarter when one takes longer than sliceWall. How the run is sliced does
// not change it (runner.Run.AdvanceTo); only the wall clock, read here in
// the shell, decides the slices.
func advanceInSlices(r advancer, clock func() time.Time, update func(now time.Duration)) {
	until := r.Until()
	maxStep := max(until/slicesPerRun, 1)
	step := min(minSlice, maxStep)
	for {
		next := until
		if now := r.Now(); now < until-step {
			next = now + step
		}
		began := clock()
		r.AdvanceTo(next)
		update(r.Now())
		if next >= until {
			return
		}
		switch took := clock().Sub(began); {
		case took > sliceWall:
			step = max(step/4, min(minSlice, maxStep))
		case took < sliceWall/2:
			step = min(step*2, maxStep)
		}
	}
}

// sameFile reports whether two output paths name one regular file (or
// one path that does not exist yet): writing both would leave only the
// second. Devices such as /dev/null may take both.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return sa.Mode().IsRegular() && os.SameFile(sa, sb)
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

// createFile creates (or truncates) an output file: the --trace and
// --metrics files. Tests replace it to make writes fail.
var createFile = func(path string) (io.WriteCloser, error) { return os.Create(path) }

// writeMetrics writes the cluster's metrics registry in the Prometheus
// text format.
func writeMetrics(path string, c *cluster.Cluster) error {
	f, err := createFile(path)
	if err != nil {
		return err
	}
	if err := c.Metrics().WriteText(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// progress draws a one-line progress bar at the bottom of a terminal for
// runs that take more than a moment. Timeline lines go through println so
// the bar never mixes with them. It reads the wall clock: the simulation
// does not.
type progress struct {
	w       io.Writer
	enabled bool
	// clock is the wall clock (nil: time.Now).
	clock func() time.Time
	// columns is the terminal's width (0: unknown): a line longer than
	// that wraps, and \r then erases only its last row.
	columns  int
	until    time.Duration
	began    time.Time
	lastDraw time.Time
	shown    bool
	now      time.Duration
	// drawn is set once the bar was drawn, at simulated time drawnAt.
	drawn   bool
	drawnAt time.Duration
}

// minBarWidth is the narrowest bar drawn: on a terminal with less room
// the progress is the text alone.
const minBarWidth = 10

// progressDelay is how long a run goes before a bar appears.
const progressDelay = 300 * time.Millisecond

func (p *progress) wall() time.Time {
	if p.clock == nil {
		return time.Now()
	}
	return p.clock()
}

func (p *progress) start(until time.Duration) {
	p.until, p.began = until, p.wall()
}

func (p *progress) println(line string) {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) update(now time.Duration) {
	p.now = now
	if !p.enabled {
		return
	}
	if t := p.wall(); t.Sub(p.began) < progressDelay || t.Sub(p.lastDraw) < 100*time.Millisecond {
		return
	}
	p.lastDraw = p.wall()
	// The simulated time to the second, or to the millisecond while it
	// crawls (still in the second of the last draw).
	at := now.Truncate(time.Second)
	if p.drawn && at == p.drawnAt.Truncate(time.Second) {
		at = now.Truncate(time.Millisecond)
	}
	p.drawn, p.drawnAt = true, now
	text := fmt.Sprintf("%s / %s simulated", scenarios.FormatDuration(at), scenarios.FormatDuration(p.until))
	// The bar and its text fit in the terminal's width less its last
	// column (writing there wraps on some terminals): a shorter bar, or
	// the text alone, cut if need be. The bar keeps one width all along:
	// room is kept for the longest text, the simulated time taking at most
	// 10 characters more than its end ("1h" then "59m59.999s").
	width := 30
	if p.columns > 0 {
		room := p.columns - 1
		longest := 2*len(scenarios.FormatDuration(p.until)) + 10 + len(" /  simulated")
		width = min(width, room-longest-3)
		if width < minBarWidth {
			width = 0
			text = text[:min(len(text), max(room, 0))]
		}
	}
	fmt.Fprint(p.w, "\r\033[K")
	if width > 0 {
		done := width
		if p.until > 0 {
			done = int(int64(width) * int64(now) / int64(p.until))
		}
		fmt.Fprintf(p.w, "[%s%s] ", strings.Repeat("#", done), strings.Repeat(".", width-done))
	}
	fmt.Fprint(p.w, text)
	if f, ok := p.w.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	p.shown = true
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// wallClock is the wall clock of kubesim run's progress and of the slices
// it advances the run in; tests replace it. The simulation never reads it.
var wallClock = time.Now

// progressLogInterval is the wall time between two lines of --progress.
const progressLogInterval = 5 * time.Second

// progressLog prints kubesim run --progress's lines to stderr: the
// simulated time reached, every progressLogInterval of wall time, and at
// the end. Plain lines, for CI logs, where a bar's \r would pile up. A nil
// progressLog prints nothing.
type progressLog struct {
	w     io.Writer
	clock func() time.Time
	// flush writes out what stdout holds first, so that a log with both
	// reads in order; nil: nothing to flush.
	flush       func()
	until       time.Duration
	began, last time.Time
}

func (p *progressLog) start(until time.Duration) {
	if p == nil {
		return
	}
	p.until, p.began = until, p.clock()
	p.last = p.began
}

func (p *progressLog) update(now time.Duration) {
	if p == nil {
		return
	}
	t := p.clock()
	if t.Sub(p.last) < progressLogInterval {
		return
	}
	p.last = t
	p.line(now, t, "")
}

// finish prints the last line, with the run's wall time.
func (p *progressLog) finish(now time.Duration) {
	if p == nil {
		return
	}
	p.line(now, p.clock(), ", done")
}

func (p *progressLog) line(now time.Duration, t time.Time, suffix string) {
	if p.flush != nil {
		p.flush()
	}
	pct := int64(100)
	if p.until > 0 {
		pct = int64(now) * 100 / int64(p.until)
	}
	fmt.Fprintf(p.w, "progress: %s / %s simulated (%d%%), %s elapsed%s\n", scenarios.FormatDuration(now.Truncate(time.Millisecond)),
		scenarios.FormatDuration(p.until), pct, scenarios.FormatDuration(t.Sub(p.began).Truncate(time.Second)), suffix)
}
