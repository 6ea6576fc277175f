package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios/runner"
)

// errDiskFull is what a write to a full disk returns.
var errDiskFull = &os.PathError{Op: "write", Path: "full", Err: syscall.ENOSPC}

// fullWriter refuses every write, as a file on a full disk does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, errDiskFull }
func (fullWriter) Close() error              { return nil }

// withFullFile makes the output files whose name ends in ".full" refuse
// every write, for the duration of the test.
func withFullFile(t *testing.T) {
	t.Helper()
	orig := createFile
	createFile = func(path string) (io.WriteCloser, error) {
		if strings.HasSuffix(path, ".full") {
			return fullWriter{}, nil
		}
		return orig(path)
	}
	t.Cleanup(func() { createFile = orig })
}

// A --trace or --metrics file that cannot be written once the run began
// fails the run (exit 1), and the run is still reported: the verdict, the
// JSON's passed and errors[] and the exit code agree, as for any run error.
func TestRunOutputFileWriteErrorsAreRunErrorsAndTheRunIsReported(t *testing.T) {
	withFullFile(t)
	// A Service under load, so that there are metrics to write.
	file := write(t, "passing.yaml", strings.Replace(passing, "  events:\n",
		"  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}\n"+
			"  events:\n  - {at: 30s, action: setLoad, service: web, rps: 10}\n", 1))
	dir := t.TempDir()
	for _, flag := range []string{"--trace", "--metrics"} {
		t.Run(flag, func(t *testing.T) {
			path := filepath.Join(dir, "out.full")
			code, out, errOut := cli(t, "run", file, flag, path)
			assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			assert.Contains(t, out, "\nEXPECTATIONS\n  PASS  within 2m", "the expectations are reported")
			assert.Contains(t, out, "\nERRORS\n  at 3m: "+flag+": write full: no space left on device (seed 5)\n")
			assert.Contains(t, out, "FAIL: 2 passed, 0 failed, 1 error (seed 5;")
			assert.Equal(t, "kubesim: "+flag+": write full: no space left on device\n", errOut)

			code, out, errOut = cli(t, "run", file, flag, path, "-o", "json")
			assert.Equal(t, 1, code, errOut)
			var rep runner.Report
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&rep), "one JSON document on stdout: %q", out)
			assert.False(t, dec.More())
			assert.False(t, rep.Passed)
			assert.Equal(t, runner.ReportCounts{Passed: 2, Errors: 1}, rep.Counts)
			assert.Equal(t, []runner.ReportError{{At: "3m", What: flag, Message: "write full: no space left on device"}}, rep.Errors)
			assert.Equal(t, "kubesim: "+flag+": write full: no space left on device\n", errOut)
		})
	}
}

// --trace and --metrics naming one file would leave only the metrics in
// it (the trace overwritten at the end): bad usage, exit 2, nothing run,
// no file written. Throwaway devices such as /dev/null may take both.
func TestRunTraceAndMetricsInOneFileIsAUsageError(t *testing.T) {
	file := write(t, "passing.yaml", passing)
	dir := t.TempDir()
	same := filepath.Join(dir, "out.txt")
	for _, args := range [][]string{
		{"--trace", same, "--metrics", same},
		{"--trace", same, "--metrics", filepath.Join(dir, ".", "sub", "..", "out.txt")},
	} {
		code, out, errOut := cli(t, append([]string{"run", file}, args...)...)
		assert.Equal(t, 2, code, "%v: %s", args, errOut)
		assert.Empty(t, out, "nothing ran")
		assert.Contains(t, errOut, "kubesim: --trace and --metrics name the same file")
		assert.NoFileExists(t, same)
	}

	// The same existing file under two names (a link) is the same file.
	require.NoError(t, os.WriteFile(same, nil, 0o644))
	link := filepath.Join(dir, "link.txt")
	require.NoError(t, os.Symlink(same, link))
	code, _, errOut := cli(t, "run", file, "--trace", same, "--metrics", link)
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "kubesim: --trace and --metrics name the same file")

	code, out, errOut := cli(t, "run", file, "-q", "--trace", os.DevNull, "--metrics", os.DevNull)
	assert.Equal(t, 0, code, "%s\n%s", out, errOut)
}

// Reading the metrics does not change them: a scenario with expectations
// that read the registry at every instant (within metric expectations)
// writes the same --metrics file, bit for bit, and the same trace, as
// the scenario without them. (Each read accounts the requests up to then,
// so the traffic model's batches follow the reads.)
func TestRunMetricsDoNotDependOnWhatTheExpectationsRead(t *testing.T) {
	src, err := os.ReadFile("../../scenarios/library/service-failover.yaml")
	require.NoError(t, err)
	const expect = "\n  expect:\n"
	require.Equal(t, 1, strings.Count(string(src), expect))
	watched := strings.Replace(string(src), expect, expect+
		"  - {within: 10m, metric: 'kubesim_request_duration_seconds_sum', atLeast: 1e9}\n"+
		"  - {within: 10m, metric: 'kubesim_request_duration_seconds_bucket{le=\"0.01\"}', atLeast: 1e9}\n", 1)
	dir := t.TempDir()
	run := func(name, doc string) (metrics, trace string) {
		file := filepath.Join(dir, name+".yaml")
		require.NoError(t, os.WriteFile(file, []byte(doc), 0o644))
		m, tr := filepath.Join(dir, name+".txt"), filepath.Join(dir, name+".jsonl")
		_, out, errOut := cli(t, "run", "-q", file, "--metrics", m, "--trace", tr)
		require.Empty(t, errOut, out)
		mb, err := os.ReadFile(m)
		require.NoError(t, err)
		tb, err := os.ReadFile(tr)
		require.NoError(t, err)
		return string(mb), string(tb)
	}
	m1, t1 := run("plain", string(src))
	m2, t2 := run("watched", watched)
	require.Contains(t, m1, "kubesim_request_duration_seconds_sum{")
	assert.Equal(t, t1, t2, "the same run")
	assert.Equal(t, m1, m2, "the same metrics")
}

// The JSON report is readable as it is, in a CI log or with grep: ">=",
// "<none>" and "&" are written as such, not as \u003e escapes (valid JSON
// either way, as in the trace).
func TestRunJSONDoesNotEscapeHTML(t *testing.T) {
	file := write(t, "s.yaml", strings.Replace(passing, "  expect:\n",
		"  expect:\n  - {at: 3m, metric: 'kubesim_requests_total', atLeast: 1}\n", 1))
	code, out, _ := cli(t, "run", file, "-o", "json")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, `"wants": ">= 1"`)
	assert.NotContains(t, out, `\u003e`)
	var rep runner.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, ">= 1", rep.Expectations[0].Wants)
}

// fakeRun is a run whose every simulated millisecond costs wall time on a
// fake clock: cost(t) per millisecond at simulated time t.
type fakeRun struct {
	now, until time.Duration
	wall       *time.Time
	cost       func(t time.Duration) time.Duration
}

func (f *fakeRun) AdvanceTo(t time.Duration) {
	t = min(max(t, f.now), f.until)
	for ; f.now < t; f.now += min(time.Millisecond, t-f.now) {
		*f.wall = f.wall.Add(f.cost(f.now) * min(time.Millisecond, t-f.now) / time.Millisecond)
	}
}
func (f *fakeRun) Now() time.Duration   { return f.now }
func (f *fakeRun) Until() time.Duration { return f.until }

// The progress bar keeps moving when the cluster is busy: kubesim run
// slices the simulated time finely while a slice takes long (2,000 nodes
// scheduling 20,000 pods: the first 3 s of a 10-minute run, one 200th,
// took 142 s of wall time before the first bar), coarsely when it runs
// fast, and ends exactly at the end of the run.
func TestRunAdvancesInSlicesThatKeepTheBarMoving(t *testing.T) {
	wall := time.Unix(0, 0)
	busy := 20 * time.Second
	r := &fakeRun{until: 10 * time.Minute, wall: &wall, cost: func(t time.Duration) time.Duration {
		if t < busy {
			return 47 * time.Millisecond // per simulated ms: 20 s of it take 16 minutes
		}
		return time.Microsecond
	}}
	var updates []time.Duration
	var walls []time.Time
	advanceInSlices(r, func() time.Time { return wall }, func(now time.Duration) {
		updates = append(updates, now)
		walls = append(walls, wall)
	})
	require.NotEmpty(t, updates)
	assert.Equal(t, r.until, updates[len(updates)-1], "the run ends at its end")
	assert.Equal(t, r.until, r.now)
	last := time.Unix(0, 0)
	for i, w := range walls {
		assert.LessOrEqual(t, w.Sub(last), time.Second, "update %d at %s came %s after the one before", i, updates[i], w.Sub(last))
		last = w
		if i > 0 {
			assert.Greater(t, updates[i], updates[i-1])
		}
	}
	quick := 0
	for _, u := range updates {
		if u > busy {
			quick++
		}
	}
	assert.Less(t, quick, slicesPerRun+20, "quick stretches go in slices of a 200th of the run")
	assert.Less(t, len(updates), 12000, "busy ones in slices of about %s of wall time", sliceWall)
}
