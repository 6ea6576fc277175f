package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withFakeWallClock makes kubesim's wall clock advance by step at every
// reading, so that a run of a few milliseconds looks like one of many
// seconds to the progress bar and log (and to the slicing of the run).
func withFakeWallClock(t *testing.T, step time.Duration) {
	t.Helper()
	var mu sync.Mutex
	now := time.Unix(1_000_000, 0)
	old := wallClock
	wallClock = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
	t.Cleanup(func() { wallClock = old })
}

// The progress log prints one plain line (no \r, no escape sequence: a CI
// log keeps every byte) every progressLogInterval of wall time, and one at
// the end with the run's wall time.
func TestProgressLogPrintsALineEveryFewSecondsOfWallTime(t *testing.T) {
	var buf bytes.Buffer
	wall := time.Unix(0, 0)
	p := &progressLog{w: &buf, clock: func() time.Time { return wall }}
	p.start(10 * time.Minute)
	wall = wall.Add(progressLogInterval - time.Millisecond)
	p.update(time.Minute)
	assert.Empty(t, buf.String(), "not before %s", progressLogInterval)
	wall = wall.Add(time.Millisecond)
	p.update(90*time.Second + 1500*time.Microsecond)
	assert.Equal(t, "progress: 1m30.001s / 10m simulated (15%), 5s elapsed\n", buf.String())
	buf.Reset()
	wall = wall.Add(progressLogInterval - time.Second)
	p.update(2 * time.Minute)
	assert.Empty(t, buf.String(), "the next one %s after the last", progressLogInterval)
	wall = wall.Add(time.Second + 700*time.Millisecond)
	p.update(5 * time.Minute)
	assert.Equal(t, "progress: 5m / 10m simulated (50%), 10s elapsed\n", buf.String())
	buf.Reset()
	wall = wall.Add(62 * time.Second)
	p.finish(10 * time.Minute)
	assert.Equal(t, "progress: 10m / 10m simulated (100%), 1m12s elapsed, done\n", buf.String())
}

// --progress prints the progress to stderr, where stdout is not a terminal
// (CI), and changes nothing else: stdout, the --trace and the --metrics
// files are the same bytes with and without it.
func TestRunProgressGoesToStderrAndChangesNothingElse(t *testing.T) {
	withFakeWallClock(t, 20*time.Millisecond)
	file := write(t, "passing.yaml", passing)
	for _, output := range []string{"text", "json"} {
		type outcome struct {
			code                           int
			stdout, stderr, trace, metrics string
		}
		run := func(extra ...string) outcome {
			dir := t.TempDir()
			tr, me := filepath.Join(dir, "t.jsonl"), filepath.Join(dir, "m.txt")
			args := append([]string{"run", file, "-o", output, "--trace", tr, "--metrics", me}, extra...)
			code, out, errOut := cli(t, args...)
			trace, err := os.ReadFile(tr)
			require.NoError(t, err)
			metrics, err := os.ReadFile(me)
			require.NoError(t, err)
			return outcome{code, out, errOut, string(trace), string(metrics)}
		}
		plain, progress := run(), run("--progress")
		require.Equal(t, exitOK, plain.code, plain.stderr)
		assert.Equal(t, plain.code, progress.code, output)
		assert.Equal(t, plain.stdout, progress.stdout, "%s: stdout is the same with --progress", output)
		assert.Equal(t, plain.trace, progress.trace, output)
		assert.Equal(t, plain.metrics, progress.metrics, output)
		assert.Empty(t, plain.stderr, "%s: no progress unless asked for, when stdout is not a terminal", output)

		lines := strings.Split(strings.TrimSuffix(progress.stderr, "\n"), "\n")
		require.GreaterOrEqual(t, len(lines), 2, "%s: some lines during the run and one at its end:\n%s", output, progress.stderr)
		lineRE := regexp.MustCompile(`^progress: [0-9a-z.]+ / 3m simulated \(\d+%\), [0-9hms]+ elapsed$`)
		for _, l := range lines[:len(lines)-1] {
			assert.Regexp(t, lineRE, l, output)
		}
		assert.Regexp(t, `^progress: 3m / 3m simulated \(100%\), [0-9hms]+ elapsed, done$`, lines[len(lines)-1], output)
		assert.NotContains(t, progress.stderr, "\r")
		assert.NotContains(t, progress.stderr, "\033")
	}
}

// On a terminal the bar is drawn by default; --progress puts plain lines
// on stderr instead, and --progress=false draws nothing.
func TestRunProgressFlagOnATerminal(t *testing.T) {
	withFakeWallClock(t, 20*time.Millisecond)
	file := write(t, "passing.yaml", passing)
	term := func(args ...string) (string, string) {
		var out, errOut bytes.Buffer
		code := execute(args, env{stdout: &out, stderr: &errOut, terminal: true, columns: 80})
		require.Equal(t, exitOK, code, errOut.String())
		return out.String(), errOut.String()
	}
	out, errOut := term("run", file)
	assert.Contains(t, out, "\r\033[K[", "the bar, by default")
	assert.Empty(t, errOut)

	out, errOut = term("run", file, "--progress")
	assert.NotContains(t, out, "\r")
	assert.Contains(t, errOut, "progress: 3m / 3m simulated (100%)")

	out, errOut = term("run", file, "--progress=false")
	assert.NotContains(t, out, "\r")
	assert.Empty(t, errOut)
}
