package runner_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/library"
	"github.com/kubesim/kubesim/scenarios/runner"
	"github.com/kubesim/kubesim/sim"
)

var update = flag.Bool("update", false, "rewrite the golden timelines of testdata/timelines")

// loadBuiltin loads a built-in scenario with the API server's validation.
func loadBuiltin(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	sc, err := library.Load(name, scenarios.WithValidator(runner.Validator()))
	require.NoError(t, err)
	return sc
}

// traceOf runs a built-in scenario and returns its --trace bytes; with
// story it also tells the timeline (as kubesim run does without --quiet).
func traceOf(t *testing.T, name string, story bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var line []byte
	opts := runner.Options{Trace: func(r sim.Record) {
		line = append(r.AppendJSON(line[:0]), '\n')
		buf.Write(line)
	}}
	if story {
		opts.Story = func(runner.Entry) {}
	}
	_, err := runner.Execute(loadBuiltin(t, name), opts)
	require.NoError(t, err)
	return buf.Bytes()
}

// TestBuiltinsAreDeterministic: the same built-in scenario and seed give
// byte-identical --trace output, for every built-in; telling the timeline
// (or not, --quiet) does not change the run.
func TestBuiltinsAreDeterministic(t *testing.T) {
	names := library.Names()
	require.GreaterOrEqual(t, len(names), 8)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			a, b := traceOf(t, name, true), traceOf(t, name, true)
			require.NotEmpty(t, a)
			assert.True(t, bytes.Equal(a, b), "two runs of %s differ", name)
			assert.True(t, bytes.Equal(a, traceOf(t, name, false)), "the timeline changed the run of %s", name)
		})
	}
}

// TestBuiltinsRunTheSameInSlices: advancing a run in slices of any sizes
// (kubesim run advances in slices to draw its progress bar, as short as a
// millisecond when the cluster is busy) gives the same run as one call:
// the same trace, timeline, metrics and result.
func TestBuiltinsRunTheSameInSlices(t *testing.T) {
	type outcome struct {
		trace, story, metrics string
		report                runner.Report
	}
	run := func(t *testing.T, name string, slices []time.Duration) outcome {
		var trace, story strings.Builder
		var line []byte
		r, err := runner.New(loadBuiltin(t, name), runner.Options{
			Trace: func(rec sim.Record) {
				line = append(rec.AppendJSON(line[:0]), '\n')
				trace.Write(line)
			},
			Story: func(e runner.Entry) { story.WriteString(e.String() + "\n") },
		})
		require.NoError(t, err)
		for i := 0; len(slices) > 0 && r.Now() < r.Until(); i++ {
			r.AdvanceTo(r.Now() + slices[i%len(slices)])
		}
		res := r.Finish()
		return outcome{trace.String(), story.String(), r.Cluster().Metrics().Text(), res.Report()}
	}
	for _, name := range library.Names() {
		t.Run(name, func(t *testing.T) {
			whole := run(t, name, nil)
			sliced := run(t, name, []time.Duration{time.Millisecond, 7 * time.Second, 333 * time.Millisecond, time.Nanosecond, 5 * time.Second})
			assert.Equal(t, whole.trace, sliced.trace, "trace")
			assert.Equal(t, whole.story, sliced.story, "timeline")
			assert.Equal(t, whole.metrics, sliced.metrics, "metrics")
			assert.Equal(t, whole.report, sliced.report, "result")
		})
	}
}

// TestLibraryPasses: every built-in scenario passes every expectation, with
// no run error, on the whole cluster (cache mutation detection on). A
// "within" expectation must not hold from the start of the run: it would
// then check nothing about the scenario's story.
func TestLibraryPasses(t *testing.T) {
	for _, name := range library.Names() {
		t.Run(name, func(t *testing.T) {
			sc := loadBuiltin(t, name)
			r, err := runner.New(sc, runner.Options{DetectCacheMutations: true})
			require.NoError(t, err)
			res := r.Finish()
			requireOK(t, res)
			require.NoError(t, r.Cluster().Informers.CheckMutations())
			for _, e := range res.Expectations {
				if e.Expectation.Timing == scenarios.TimingWithin {
					assert.Greater(t, e.Evaluations, 1, "%s: %q held at its first evaluation", name, e.Expectation.Description())
				}
			}
		})
	}
}

// TestLibraryPassesWithOtherSeeds: the built-ins teach behaviour, not one
// seed's draws (jitter, tie-breaks, which pod a kill picks), so their
// expectations hold with other seeds too, as kubesim run --seed N offers.
func TestLibraryPassesWithOtherSeeds(t *testing.T) {
	for _, name := range library.Names() {
		for _, seed := range []uint64{2, 3, 7, 42, 1234} {
			t.Run(fmt.Sprintf("%s/seed-%d", name, seed), func(t *testing.T) {
				res, err := runner.Execute(loadBuiltin(t, name), runner.Options{Seed: &seed})
				require.NoError(t, err)
				require.Equal(t, seed, res.Seed)
				requireOK(t, res)
			})
		}
	}
}

// TestLibraryTimelines compares the timeline of every built-in with its
// golden file (testdata/timelines/NAME.txt; go test -run
// TestLibraryTimelines -update rewrites them): the story kubesim run tells.
func TestLibraryTimelines(t *testing.T) {
	for _, name := range library.Names() {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			_, err := runner.Execute(loadBuiltin(t, name), runner.Options{Story: func(e runner.Entry) {
				b.WriteString(e.String() + "\n")
			}})
			require.NoError(t, err)
			got := b.String()
			lines := strings.Count(got, "\n")
			assert.Less(t, lines, 220, "%s: the timeline floods (%d lines)", name, lines)
			golden := filepath.Join("testdata", "timelines", name+".txt")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "missing golden file; run with -update")
			assert.Equal(t, string(want), got)
		})
	}
}

// TestLibraryLoadsWithDescriptions: every built-in loads with the API
// server's validation and says what it shows.
func TestLibraryLoadsWithDescriptions(t *testing.T) {
	infos := library.List()
	require.GreaterOrEqual(t, len(infos), 8)
	for _, info := range infos {
		sc := loadBuiltin(t, info.Name)
		assert.Equal(t, info.Name, sc.Metadata.Name, "the file name is the scenario name")
		assert.NotEmpty(t, info.Description, info.Name)
		assert.NotEmpty(t, sc.Spec.Expect, "%s checks something", info.Name)
	}
	assert.True(t, library.Has("node-failure"))
	assert.False(t, library.Has("no-such-scenario"))
	_, err := library.Load("no-such-scenario")
	assert.Error(t, err)
}

// TestExplainOnARealRun: kubesim explain's answers on the whole cluster,
// for a pod that never fits and for one that was scheduled after a failed
// attempt.
func TestExplainOnARealRun(t *testing.T) {
	r, err := runner.New(loadBuiltin(t, "pending-pods"), runner.Options{Until: 3 * time.Minute})
	require.NoError(t, err)
	r.Finish()
	text, err := r.Explain("default", "big")
	require.NoError(t, err)
	assert.Contains(t, text, "pod default/big at 0:03:00.000 (seed 1)")
	assert.Contains(t, text, "phase Pending, not bound to a node, PodScheduled=False (Unschedulable): 0/2 nodes are available: 2 Insufficient cpu.")
	assert.Contains(t, text, "attempt 1: Unschedulable: 0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }")
	assert.Contains(t, text, "attempt 2 at 0:00:01.000 (cycle")
	for _, node := range []string{"worker-1", "worker-2"} {
		assert.Regexp(t, `\n +`+node+` +NodeResourcesFit +Insufficient cpu`, text, "every node is listed with the filter that rejected it")
	}
	assert.Contains(t, text, "waits for events relevant to NodeResourcesFit")

	// The node added at 2m cannot fit it either, so it is not retried then;
	// the unschedulable pool's 5-minute flush retries it at 5m30s.
	r, err = runner.New(loadBuiltin(t, "pending-pods"), runner.Options{Until: 6 * time.Minute})
	require.NoError(t, err)
	r.Finish()
	text, err = r.Explain("default", "big")
	require.NoError(t, err)
	assert.Contains(t, text, "attempt 3 at 0:05:30.000 (cycle")
	assert.Contains(t, text, "requeued by: UnschedulableTimeout")
	assert.Regexp(t, `\n +extra +NodeResourcesFit +Insufficient cpu`, text)

	r, err = runner.New(loadBuiltin(t, "self-healing"), runner.Options{Until: 10 * time.Second})
	require.NoError(t, err)
	r.Finish()
	text, err = r.Explain("default", "crasher")
	require.NoError(t, err)
	assert.Contains(t, text, "on node worker-1")
	assert.Contains(t, text, "attempt 1: Unschedulable", "the first attempt met the new nodes' not-ready taint")
	assert.Contains(t, text, "node.kubernetes.io/not-ready")
	assert.Contains(t, text, "Bound on worker-1", "the latest attempt bound it")
}

// TestSummaryCountsRequestsPerService: the summary lists the scenario's
// Services (not the API server's own) with their request totals.
func TestSummaryCountsRequestsPerService(t *testing.T) {
	res, err := runner.Execute(loadBuiltin(t, "service-failover"), runner.Options{})
	require.NoError(t, err)
	require.Len(t, res.Summary.Services, 1)
	svc := res.Summary.Services[0]
	assert.Equal(t, "web", svc.Name)
	assert.Equal(t, 3, svc.Ready)
	assert.Equal(t, uint64(30*570), svc.Served+svc.Failed, "30 requests/s from 30 s to 10 m")
	assert.GreaterOrEqual(t, svc.Failed, uint64(460))
	assert.LessOrEqual(t, svc.Failed, uint64(470))
}
