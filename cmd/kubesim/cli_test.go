package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/library"
	"github.com/kubesim/kubesim/scenarios/runner"
)

// cli runs kubesim with args and returns its exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := execute(args, env{stdout: &out, stderr: &errOut})
	return code, out.String(), errOut.String()
}

// write puts a scenario file in a temporary directory.
func write(t *testing.T, name, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(strings.TrimLeft(doc, "\n")), 0o644))
	return p
}

// passing runs today, without kubelets or controllers: it only uses the
// API server and kubectl-like actions.
const passing = `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata:
  name: passing
  description: Objects and kubectl actions only.
spec:
  seed: 5
  duration: 3m
  objects:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {mode: slow}}
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 1, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "nginx:1.27"}]}}}}
  events:
  - {at: 1m, action: scale, target: deployment/web, replicas: 4}
  - {at: 2m, action: delete, target: configmap/settings}
  expect:
  - {name: scaled, within: 2m, get: deployment/web, jsonpath: '{.spec.replicas}', equals: "4"}
  - {name: deleted, at: 3m, count: configmaps, equals: 0}
`

func failing() string {
	return strings.Replace(passing, `equals: "4"`, `equals: "5"`, 1)
}

func TestRunExitsZeroWhenEveryExpectationPasses(t *testing.T) {
	code, out, errOut := cli(t, "run", write(t, "passing.yaml", passing))
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "(seed 5, until 3m)", "the seed is printed at start")
	assert.Contains(t, out, "kubectl                scale            deployment/web  replicas 1 -> 4")
	assert.Contains(t, out, "PASS  within 2m")
	assert.Contains(t, out, "SUMMARY at 3m")
	assert.Contains(t, out, "DEPLOYMENTS")
	assert.Contains(t, out, "PASS: 2 passed, 0 failed")
	assert.Empty(t, errOut)
}

func TestRunExitsOneOnAFailureAndPrintsTheSeed(t *testing.T) {
	code, out, _ := cli(t, "run", write(t, "failing.yaml", failing()), "--seed", "9")
	require.Equal(t, 1, code, out)
	assert.Contains(t, out, "(seed 9, until 3m)")
	assert.Regexp(t, `FAIL  within 2m +scaled: decided at 2m, observed "4", wants "5" \[.*failing.yaml:16, seed 9\]`, out)
	assert.Contains(t, out, "FAIL: 1 passed, 1 failed (seed 9; rerun: kubesim run ")
}

func TestRunQuietPrintsOnlyTheOutcome(t *testing.T) {
	code, out, _ := cli(t, "run", "-q", write(t, "passing.yaml", passing))
	require.Equal(t, 0, code)
	assert.NotContains(t, out, "SUMMARY")
	assert.NotContains(t, out, "kubectl ")
	assert.Contains(t, out, "EXPECTATIONS")
}

func TestRunJSONIsOneDocument(t *testing.T) {
	for _, doc := range []string{passing, failing()} {
		code, out, _ := cli(t, "run", write(t, "s.yaml", doc), "--output", "json")
		var rep runner.Report
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&rep), out)
		assert.False(t, dec.More(), "exactly one document")
		assert.Equal(t, uint64(5), rep.Seed)
		assert.Equal(t, "passing", rep.Scenario)
		require.Len(t, rep.Expectations, 2)
		assert.Equal(t, "scaled", rep.Expectations[0].Name)
		assert.Equal(t, rep.Passed, code == 0, "exit code %d and passed=%v agree", code, rep.Passed)
		assert.Equal(t, []string{"web"}, []string{rep.Summary.Deployments[0].Name})
		// what each expectation wants, as the text's FAIL line says it: a
		// named expectation's description is only its name.
		wantScaled := `"4"`
		if !rep.Passed {
			wantScaled = `"5"`
		}
		assert.Equal(t, wantScaled, rep.Expectations[0].Wants)
		assert.Equal(t, "== 0", rep.Expectations[1].Wants)
		if !rep.Passed {
			assert.Equal(t, "FAIL", rep.Expectations[0].Status)
			assert.Equal(t, "4", rep.Expectations[0].Observed)
			assert.Equal(t, "2m", rep.Expectations[0].DecidedAt)
			assert.Equal(t, 1, rep.Counts.Failed)
		}
	}
}

func TestRunTraceIsJSONLinesAndDeterministic(t *testing.T) {
	file := write(t, "passing.yaml", passing)
	dir := t.TempDir()
	traces := []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")}
	for _, tr := range traces {
		code, _, errOut := cli(t, "run", "-q", file, "--trace", tr)
		require.Equal(t, 0, code, errOut)
	}
	a, err := os.ReadFile(traces[0])
	require.NoError(t, err)
	b, err := os.ReadFile(traces[1])
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b))
	sc := bufio.NewScanner(bytes.NewReader(a))
	lines := 0
	var sawScale bool
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), sc.Text())
		require.Contains(t, rec, "t")
		if rec["component"] == "kubectl" && rec["kind"] == "Deployment" && rec["verb"] == "update" {
			sawScale = true
		}
		lines++
	}
	assert.Greater(t, lines, 3)
	assert.True(t, sawScale, "the scale's write is in the trace")
}

// badInput is one class of bad input: a scenario and the error line it
// must produce (after the file's directory).
type badInput struct{ doc, want string }

// badInputs has a case for every class of bad input the scenario format
// rejects before anything runs.
var badInputs = map[string]badInput{
	"YAML syntax: an unclosed bracket": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  events:
  - {at: 30s, action: crashNode, node: [worker
`, "bad.yaml:6: YAML syntax error: did not find expected ',' or ']'"},
	"YAML syntax: a misindented key": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes: []
   seed: 1
`, "bad.yaml:7: YAML syntax error: did not find expected key"},
	"YAML syntax: a tab in the indentation": {"apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nspec:\n\tduration: 1m\n",
		"bad.yaml:4: YAML syntax error: found character that cannot start any token: a tab indents this line; YAML does not allow tabs for indentation, indent with spaces"},
	"unknown field in the scenario": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duraton: 1m
`, `bad.yaml:4: spec.duraton: unknown field "duraton" (did you mean "duration"?)`},
	"misspelled field in a node group": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes:
    - {name: worker, capacity: {cpu: "2", memory: 4Gi}, lables: {a: b}}
`, `bad.yaml:7: spec.cluster.nodes[0].lables: unknown field "lables" (did you mean "labels"?)`},
	"misspelled field in a manifest": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - name: web
            image: nginx
            resources: {requets: {cpu: 100m}}
`, `bad.yaml:18: spec.objects[0].spec.template.spec.containers[0].resources.requets: unknown field "requets" (did you mean "requests"?)`},
	"wrong type in a manifest": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: two
      selector: {matchLabels: {app: web}}
      template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}
`, `bad.yaml:10: spec.objects[0].spec.replicas: must be an integer (int32), not a string ("two")`},
	"wrong type in the scenario": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes:
    - {name: worker, count: many, capacity: {cpu: "2", memory: 4Gi}}
`, `bad.yaml:7: spec.cluster.nodes[0].count: must be an integer, not a string ("many")`},
	"unknown action": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes: [{name: worker, capacity: {cpu: "2", memory: 4Gi}}]
  events:
  - {at: 30s, action: rebootNode, node: worker}
`, `bad.yaml:8: spec.events[0].action: unknown action "rebootNode": to reboot a node, crash it and recover it later (crashNode, then recoverNode)`},
	"a field the action needs is missing": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes: [{name: worker, capacity: {cpu: "2", memory: 4Gi}}]
  objects:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: i}]}}}}
  events:
  - {at: 30s, action: scale, target: deployment/web}
`, `bad.yaml:10: spec.events[0]: action scale needs field "replicas"`},
	"bad duration": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 10 minutes
`, `bad.yaml:4: spec.duration: invalid duration "10 minutes" (did you mean "10m"?): use Go/Kubernetes durations with units ns, us, ms, s, m, h (e.g. "90s", "1h30m")`},
	"bad duration of an event": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes: [{name: worker, capacity: {cpu: "2", memory: 4Gi}}]
  events:
  - {at: 1min, action: cordon, node: worker}
`, `bad.yaml:8: spec.events[0].at: invalid duration "1min" (did you mean "1m"?): use Go/Kubernetes durations with units ns, us, ms, s, m, h (e.g. "90s", "1h30m")`},
	"an at past the duration": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes: [{name: worker, capacity: {cpu: "2", memory: 4Gi}}]
  events:
  - {at: 2m, action: cordon, node: worker}
`, "bad.yaml:8: spec.events[0].at: 2m is after the end of the run (spec.duration: 1m)"},
	"a within past the duration": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  expect:
  - {within: 90s, count: pods, equals: 0}
`, "bad.yaml:6: spec.expect[0].within: 1m30s is after the end of the run (spec.duration: 1m)"},
	"a node that never exists": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes: [{name: worker, count: 2, capacity: {cpu: "2", memory: 4Gi}}]
  events:
  - {at: 30s, action: crashNode, node: worker-3}
`, `bad.yaml:8: spec.events[0].node: node "worker-3" does not exist at 30s (nodes then: worker-1, worker-2)`},
	"an object that never exists (action)": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  events:
  - {at: 30s, action: scale, target: deployment/web, replicas: 3}
`, "bad.yaml:6: spec.events[0].target: deployment/web in namespace default does not exist at 30s: no manifest or apply event creates it before then"},
	"an object that never exists (expectation)": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  expect:
  - {at: 30s, get: deployment/web, jsonpath: '{.status.readyReplicas}', equals: "1"}
`, "bad.yaml:6: spec.expect[0].get: deployment/web in namespace default is never created by the scenario"},
	"a manifest the API server rejects": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: -1
      selector: {matchLabels: {app: web}}
      template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: i}]}}
`, "bad.yaml:10: spec.objects[0].spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
	"a Service the API server rejects": {`
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  objects:
  - apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      selector: {app: web}
      ports: [{port: 80, targetPort: 70000}]
`, "bad.yaml:11: spec.objects[0].spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive"},
	"empty file": {"", "bad.yaml:1: empty file: expected a scenario (apiVersion: kubesim.dev/v1alpha1, kind: Scenario)"},
}

// TestBadInputExitsTwoWithFileAndLine: every class of bad input exits 2
// with FILE:LINE: field.path: message, before anything runs (no output,
// no trace file), for run and for validate.
func TestBadInputExitsTwoWithFileAndLine(t *testing.T) {
	for name, tc := range badInputs {
		t.Run(name, func(t *testing.T) {
			file := write(t, "bad.yaml", tc.doc)
			trace := filepath.Join(t.TempDir(), "trace.jsonl")
			code, out, errOut := cli(t, "run", file, "--trace", trace)
			assert.Equal(t, 2, code)
			assert.Empty(t, out, "nothing ran")
			assert.Contains(t, errOut, filepath.Dir(file)+"/"+tc.want+"\n")
			assert.Contains(t, errOut, "nothing was run")
			assert.NoFileExists(t, trace, "no partial run")

			code, out, errOut = cli(t, "validate", file)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tc.want)
		})
	}
}

// TestEveryBadScenarioOfTheLoaderTestsExitsTwo runs the loader's bad
// corpus (scenarios/testdata/bad) through the CLI, with the API server's
// own validation: exit 2, every error line FILE:LINE: ..., nothing run.
func TestEveryBadScenarioOfTheLoaderTestsExitsTwo(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/testdata/bad/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	lineRE := regexp.MustCompile(`^[^:]+\.yaml:\d+: `)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			for _, cmd := range []string{"run", "validate"} {
				code, out, errOut := cli(t, cmd, file)
				assert.Equal(t, 2, code, cmd)
				if cmd == "run" {
					assert.Empty(t, out, "nothing ran")
				}
				lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
				require.NotEmpty(t, lines)
				assert.Regexp(t, `^kubesim: \d+ errors?; nothing was run$`, lines[len(lines)-1])
				for _, l := range lines[:len(lines)-1] {
					assert.Regexp(t, lineRE, l)
				}
			}
		})
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	file := write(t, "passing.yaml", passing)
	for _, args := range [][]string{
		{"run"},
		{"run", file, file},
		{"run", file, "--output", "yaml"},
		{"run", file, "--until", "-5s"},
		{"run", file, "--until", "0s"},
		{"run", file, "--until", "soon"},
		{"run", file, "--seed", "-1"},
		{"run", file, "--no-such-flag"},
		{"run", "no-such-scenario"},
		{"run", file, "--explain", "deployment/web"},
		{"run", file, "--trace", filepath.Join(t.TempDir(), "missing-dir", "t.jsonl")},
		{"validate"},
		{"explain", "pod/x"},
		{"explain", "pod/x", "--scenario", "nope.yaml"},
		{"explain", "pod", "--scenario", file},
		{"explain", "pod/x", "--scenario", file, "--at", "0s"},
		{"scenarios", "extra"},
		{"frobnicate"},
	} {
		code, out, errOut := cli(t, args...)
		assert.Equal(t, 2, code, "%v: stdout %q stderr %q", args, out, errOut)
		assert.NotEmpty(t, errOut, "%v says why", args)
	}
	_, _, errOut := cli(t, "run", "node-failur")
	assert.Contains(t, errOut, `did you mean "node-failure"?`)
}

func TestScenariosListsTheLibrary(t *testing.T) {
	code, out, _ := cli(t, "scenarios")
	require.Equal(t, 0, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, len(library.Names())+1, len(lines))
	assert.GreaterOrEqual(t, len(lines)-1, 8)
	assert.True(t, strings.HasPrefix(lines[0], "NAME"))
	for _, info := range library.List() {
		assert.Contains(t, out, info.Name)
		assert.Contains(t, out, info.Description)
	}
}

func TestValidateBuiltinsAndFiles(t *testing.T) {
	args := append([]string{"validate"}, library.Names()...)
	args = append(args, write(t, "passing.yaml", passing))
	code, out, errOut := cli(t, args...)
	require.Equal(t, 0, code, errOut)
	sc, err := library.Load("node-failure")
	require.NoError(t, err)
	assert.Contains(t, out, fmt.Sprintf("node-failure: valid: 3 nodes, 1 object, 2 events, %d expectations over 10m (seed 1)", len(sc.Spec.Expect)))
	assert.Contains(t, out, "passing.yaml: valid: 0 nodes, 2 objects, 2 events, 2 expectations over 3m (seed 5)")
}

func TestExplain(t *testing.T) {
	code, out, errOut := cli(t, "explain", "pod/big", "--scenario", "pending-pods", "--at", "1m")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "pod default/big at 0:01:00.000 (seed 1)")
	assert.Contains(t, out, "latest attempt:")
	assert.Contains(t, out, "Unschedulable")

	code, _, errOut = cli(t, "explain", "pod/nobody", "--scenario", "pending-pods", "--at", "1m")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "pod default/nobody does not exist at 0:01:00.000 and was never scheduled")
	assert.Contains(t, errOut, "(seed 1)")

	code, out, _ = cli(t, "run", "-q", "pending-pods", "--until", "1m", "--explain", "pod/big")
	assert.Contains(t, out, "EXPLAIN pod default/big at 0:01:00.000")
	assert.Equal(t, 0, code, "the expectations due by 1m pass, the later ones are not checked")

	// A scheduled pod: why it is on its node.
	code, out, errOut = cli(t, "explain", "pod/crasher", "--scenario", "self-healing", "--at", "10s")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "phase Running, on node worker-1")
	assert.Contains(t, out, "attempt 1: Unschedulable")
	assert.Contains(t, out, "Bound on worker-1")

	// Why it is not Ready: its container, conditions and Events, as
	// kubectl describe pod shows them.
	code, out, errOut = cli(t, "explain", "pod/crasher", "--scenario", "self-healing", "--at", "1m30s")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "      State:          Waiting\n        Reason:       CrashLoopBackOff\n")
	assert.Contains(t, out, "      Restart Count:  2\n")
	assert.Contains(t, out, "  Conditions:\n")
	assert.Contains(t, out, "Warning  BackOff")
}

func TestHelpHasExamplesForEveryCommand(t *testing.T) {
	root := newRootCmd(env{})
	for _, c := range append(root.Commands(), root) {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		assert.NotEmpty(t, c.Short, c.Name())
		assert.NotEmpty(t, c.Example, "%s has examples", c.Name())
	}
	code, out, _ := cli(t, "run", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "--until")
	assert.Contains(t, out, "Exit codes")
}

func TestDemoStillRuns(t *testing.T) {
	code, out, _ := cli(t, "demo")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "kubesim demo (seed 1)")
}

func TestNoProgressBarWhenNotATerminal(t *testing.T) {
	code, out, _ := cli(t, "run", write(t, "passing.yaml", passing))
	require.Equal(t, 0, code)
	assert.NotContains(t, out, "\r")
	assert.NotContains(t, out, "\033")
}

func TestProgressBarOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, enabled: true}
	p.start(10 * 60 * 1e9)
	p.update(60e9)
	assert.Empty(t, buf.String(), "no bar for a run that takes only a moment")
	p.began = p.began.Add(-progressDelay)
	p.update(5 * 60 * 1e9)
	assert.Equal(t, "\r\033[K[###############...............] 5m / 10m simulated", buf.String())
	buf.Reset()
	p.println("0:05:00.000   kubectl  scale")
	assert.Equal(t, "\r\033[K0:05:00.000   kubectl  scale\n", buf.String(), "a timeline line first erases the bar")
	buf.Reset()
	p.clear()
	assert.Empty(t, buf.String(), "nothing to erase once a line replaced the bar")
}

// While the simulated time crawls (a busy cluster: a second of it can
// take minutes), the bar shows it to the millisecond, so that it visibly
// moves; else to the second.
func TestProgressBarShowsMillisecondsWhenSlow(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, enabled: true}
	p.start(10 * time.Minute)
	p.began = p.began.Add(-progressDelay)
	p.update(3*time.Second + 5*time.Millisecond)
	assert.Equal(t, "\r\033[K[..............................] 3s / 10m simulated", buf.String())
	buf.Reset()
	p.lastDraw = p.lastDraw.Add(-time.Second)
	p.update(3*time.Second + 250*time.Millisecond)
	assert.Equal(t, "\r\033[K[..............................] 3.25s / 10m simulated", buf.String(), "the same second as the last draw")
	buf.Reset()
	p.lastDraw = p.lastDraw.Add(-time.Second)
	p.update(9 * time.Second)
	assert.Equal(t, "\r\033[K[..............................] 9s / 10m simulated", buf.String())
}

// On a narrow terminal the bar is shortened, then left out, so that its
// line never wraps: \r and erase-line reach only a line's last row, and
// every redraw of a wrapped bar would leave a row of it behind.
func TestProgressBarFitsTheTerminal(t *testing.T) {
	for _, tc := range []struct {
		columns int
		want    string
	}{
		{0, "[###############...............] 5m / 10m simulated"},
		{80, "[###############...............] 5m / 10m simulated"},
		{50, "[########.........] 5m / 10m simulated"},
		{40, "5m / 10m simulated"},
		{30, "5m / 10m simulated"},
		{12, "5m / 10m si"},
	} {
		var buf bytes.Buffer
		p := &progress{w: &buf, enabled: true, columns: tc.columns}
		p.start(10 * time.Minute)
		p.began = p.began.Add(-progressDelay)
		p.update(5 * time.Minute)
		assert.Equal(t, "\r\033[K"+tc.want, buf.String(), "%d columns", tc.columns)
		if tc.columns > 0 {
			assert.Less(t, len(tc.want), tc.columns, "the last column stays free")
		}
	}
}

func TestRunMetricsWritesThePrometheusText(t *testing.T) {
	file := write(t, "load.yaml", `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 2m
  objects:
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
  events:
  - {at: 30s, action: setLoad, service: web, rps: 10}
  expect:
  - {at: 2m, metric: 'kubesim_requests_total{service="web",outcome="failed"}', equals: 900}
`)
	metrics := filepath.Join(t.TempDir(), "metrics.txt")
	code, out, errOut := cli(t, "run", "-q", file, "--metrics", metrics)
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	data, err := os.ReadFile(metrics)
	require.NoError(t, err)
	assert.Contains(t, string(data), "# TYPE kubesim_requests_total counter\n")
	assert.Contains(t, string(data), `kubesim_requests_total{namespace="default",node="",outcome="failed",pod="",service="web"} 900`,
		"no pod backs the service: 90 s at 10 rps fail")
}

// The summary's node table shows each node's STATUS as kubectl get nodes
// does (SchedulingDisabled beside Ready when cordoned), and in TAINTS only
// taints.
func TestRunSummaryNodeTable(t *testing.T) {
	p := write(t, "cordon.yaml", `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: cordon}
spec:
  seed: 1
  duration: 30s
  cluster:
    nodes:
    - {name: w, count: 2, zone: zone-a, capacity: {cpu: "4", memory: 8Gi}}
  events:
  - {at: 10s, action: cordon, node: w-1}
  - {at: 10s, action: taintNode, node: w-2, taints: [{key: dedicated, value: gpu, effect: NoSchedule}]}
`)
	code, out, _ := cli(t, "run", p)
	require.Equal(t, 0, code, out)
	rows := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (f[0] == "NODES" || f[0] == "w-1" || f[0] == "w-2") {
			rows[f[0]] = strings.Join(f, " ")
		}
	}
	assert.Equal(t, "NODES ZONE STATUS PODS CPU REQ/ALLOC MEMORY REQ/ALLOC TAINTS", rows["NODES"])
	assert.Equal(t, "w-1 zone-a Ready,SchedulingDisabled 0 0/4 0/8Gi node.kubernetes.io/unschedulable:NoSchedule", rows["w-1"])
	assert.Equal(t, "w-2 zone-a Ready 0 0/4 0/8Gi dedicated=gpu:NoSchedule", rows["w-2"])
}

// writeSummary renders each table kubectl-style, one row per object,
// namespaced names only outside the default namespace.
func TestWriteSummaryTables(t *testing.T) {
	var b bytes.Buffer
	writeSummary(&b, runner.Summary{
		Nodes: []runner.NodeSummary{
			{Name: "a", Zone: "zone-a", Status: "NotReady,SchedulingDisabled", Ready: "Unknown", Unschedulable: true, Taints: []string{"node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"}, Pods: 2, CPU: "200m/4", Memory: "256Mi/8Gi",
				DrainWaiting: []string{"default/db-1", "shop/api-2"}},
			{Name: "b", Status: "Unknown", CPU: "0/4", Memory: "0/8Gi"},
		},
		Deployments: []runner.DeploymentSummary{{Namespace: "default", Name: "web", Replicas: 3, Updated: 2, Ready: 1, Available: 1, Revision: "2"}},
		HPAs:        []runner.HPASummary{{Namespace: "shop", Name: "api", Target: "Deployment/api", Targets: "cpu: 70%/50%", Min: 2, Max: 10, Current: 4, Desired: 8}},
		Pods:        runner.PodSummary{Total: 5, Running: 3, Ready: 2, Pending: 1, Unschedulable: 1, Failed: 1, Unknown: 1, Terminating: 2},
		Services: []runner.ServiceSummary{{Namespace: "default", Name: "web", Type: "ClusterIP", ClusterIP: "10.96.0.10", Ready: 1, NotReady: 1, Terminating: 2, Served: 100, Failed: 7},
			{Namespace: "default", Name: "ext", Type: "ExternalName"}},
	})
	var rows []string
	for _, line := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			rows = append(rows, strings.Join(f, " "))
		}
	}
	assert.Equal(t, []string{
		"NODES ZONE STATUS PODS CPU REQ/ALLOC MEMORY REQ/ALLOC TAINTS",
		"a zone-a NotReady,SchedulingDisabled 2 200m/4 256Mi/8Gi node.kubernetes.io/unreachable:NoSchedule,node.kubernetes.io/unreachable:NoExecute",
		"b - Unknown 0 0/4 0/8Gi -",
		"a: the drain still retries evicting 2 pod(s), which the API refused (429: a PodDisruptionBudget forbids it): db-1, shop/api-2",
		"DEPLOYMENTS READY UP-TO-DATE AVAILABLE REVISION",
		"web 1/3 2 1 2",
		"HPAS REFERENCE TARGETS MIN MAX CURRENT DESIRED",
		"shop/api Deployment/api cpu: 70%/50% 2 10 4 8",
		"PODS 5 total: 3 Running (2 ready), 1 Pending (1 unschedulable), 0 Succeeded, 1 Failed, 1 Unknown; 2 Terminating",
		"SERVICES TYPE CLUSTER-IP ENDPOINTS READY NOT READY TERMINATING REQUESTS SERVED FAILED",
		"web ClusterIP 10.96.0.10 1 1 2 100 7",
		"ext ExternalName <none> 0 0 0 0 0",
	}, rows)
}

// The README's scenario-format snippets (node groups, every event action,
// every expectation kind) are what users copy: put together in one
// scenario, with the objects they refer to, they validate and run without
// an action being refused.
func TestReadmeScenarioSnippetsValidate(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	var nodes, events, expects string
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		b := m[1]
		switch {
		case strings.HasPrefix(b, "nodes:\n"):
			nodes = strings.TrimPrefix(b, "nodes:\n")
		case strings.HasPrefix(b, "events:\n"):
			events = strings.TrimPrefix(b, "events:\n")
		case strings.HasPrefix(b, "- "):
			expects += b
		}
	}
	require.NotEmpty(t, nodes, "the README's node group example")
	require.NotEmpty(t, events, "the README's events example")
	require.Equal(t, 7, strings.Count(expects, "\n- "), "the README's expectation examples")
	indent := func(s string, n int) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
	}
	doc := `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: readme}
spec:
  duration: 30m
  cluster:
    nodes:
` + indent(nodes, 4) + `
  objects:
  - {apiVersion: v1, kind: Namespace, metadata: {name: shop}}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers: [{name: web, image: nginx}, {name: sidecar, image: envoy}]
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}}
  events:
` + indent(events, 2) + `
  expect:
` + indent(expects, 2) + "\n"
	p := write(t, "readme.yaml", doc)
	code, out, errOut := cli(t, "validate", p)
	require.Equal(t, 0, code, "%s\n%s\n%s", doc, out, errOut)
	assert.Contains(t, out, "4 nodes, 3 objects, 22 events, 8 expectations")
	// The expectations were not written for these events; what matters is
	// that every action runs: no run error.
	code, out, errOut = cli(t, "run", "-o", "json", p)
	require.Contains(t, []int{0, 1}, code, errOut)
	var rep struct {
		Errors       []any `json:"errors"`
		Expectations []any `json:"expectations"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Len(t, rep.Expectations, 8)
	assert.Empty(t, rep.Errors)
}

// A within expectation decided at an instant that is no whole millisecond
// says "decided at" the same millisecond the timeline prints for it (the
// timeline's clock truncates; rounding disagreed half the time).
func TestDecidedAtAgreesWithTheTimelineClock(t *testing.T) {
	doc := `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: clock}
spec:
  duration: 1m
  cluster:
    nodes: [{name: w, capacity: {cpu: "4", memory: 8Gi}}]
  objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: c, image: "nginx:1"}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {containers: [{name: c, image: "redis:7"}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: c}, spec: {containers: [{name: c, image: "envoy:1"}]}}
  expect:
  - {name: a runs, within: 1m, get: pod/a, jsonpath: '{.status.phase}', equals: Running}
  - {name: b runs, within: 1m, get: pod/b, jsonpath: '{.status.phase}', equals: Running}
  - {name: c runs, within: 1m, get: pod/c, jsonpath: '{.status.phase}', equals: Running}
`
	p := write(t, "clock.yaml", doc)
	timeline := regexp.MustCompile(`(?m)^(\d+):(\d\d):(\d\d)\.(\d\d\d) +expect +PASS +(\w) runs`)
	decided := regexp.MustCompile(`(?m)PASS  within 1m +(\w) runs \(decided at ([^)]+)\)`)
	for seed := 1; seed <= 8; seed++ {
		code, out, errOut := cli(t, "run", p, "--seed", fmt.Sprint(seed))
		require.Equal(t, 0, code, errOut)
		clock := map[string]string{}
		for _, m := range timeline.FindAllStringSubmatch(out, -1) {
			var h, mi, s, ms int
			_, err := fmt.Sscanf(m[1]+" "+m[2]+" "+m[3]+" "+m[4], "%d %d %d %d", &h, &mi, &s, &ms)
			require.NoError(t, err)
			d := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second + time.Duration(ms)*time.Millisecond
			clock[m[5]] = scenarios.FormatDuration(d)
		}
		got := decided.FindAllStringSubmatch(out, -1)
		require.Len(t, got, 3, out)
		for _, m := range got {
			assert.Equal(t, clock[m[1]], m[2], "seed %d, pod %s", seed, m[1])
		}
	}
}

// kubesim run --explain for a pod that never existed says so once, without
// a doubled prefix, and fails the run as kubesim explain does (exit 1):
// the run's errors name it, so the verdict, the JSON's passed and the exit
// code agree.
func TestRunExplainOfAPodThatNeverExistedFailsTheRun(t *testing.T) {
	const missing = "pod default/ghost does not exist at 0:01:00.000 and was never scheduled"
	code, out, errOut := cli(t, "run", "-q", "pending-pods", "--until", "1m", "--explain", "pod/ghost", "--explain", "pod/big")
	assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "\nEXPLAIN "+missing+"\n")
	assert.NotContains(t, out, "explain: ")
	assert.Contains(t, out, "\nEXPLAIN pod default/big at 0:01:00.000", "the other pod is still explained")
	assert.Contains(t, out, "ERRORS\n  at 1m: --explain pod/ghost: "+missing+" (seed 1)\n")
	assert.Contains(t, out, "FAIL: 3 passed, 0 failed, 5 not checked (after --until), 1 error (seed 1;")

	code, out, _ = cli(t, "run", "pending-pods", "--until", "1m", "--explain", "pod/ghost", "-o", "json")
	assert.Equal(t, 1, code)
	var rep runner.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.False(t, rep.Passed)
	assert.Equal(t, []string{missing + "\n"}, rep.Explanations)
	require.Len(t, rep.Errors, 1)
	assert.Equal(t, runner.ReportError{At: "1m", What: "--explain pod/ghost", Message: missing}, rep.Errors[0])
}

// rerunArgs returns the arguments of the "rerun: kubesim ..." hint of a
// text run's verdict line, unquoting single-quoted words as a shell does.
func rerunArgs(t *testing.T, out string) []string {
	t.Helper()
	m := regexp.MustCompile(`rerun: kubesim (.*)\)\n$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	var args []string
	for _, w := range regexp.MustCompile(`'[^']*'|\S+`).FindAllString(m[1], -1) {
		args = append(args, strings.Trim(w, "'"))
	}
	return args
}

// The rerun hint replays the run exactly: the scenario, the seed and,
// when the run was stopped early or late, --until; running it prints the
// same output.
func TestRunRerunHintReproducesTheRun(t *testing.T) {
	file := write(t, "passing.yaml", passing)
	code, out, _ := cli(t, "run", file, "--until", "90s", "--seed", "3")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "rerun: kubesim run "+file+" --seed 3 --until 1m30s)")
	args := rerunArgs(t, out)
	code2, out2, _ := cli(t, args...)
	assert.Equal(t, code, code2)
	assert.Equal(t, out, out2, "the hint's command prints the same run")

	code, out, _ = cli(t, "run", "-q", file)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "rerun: kubesim run "+file+" --seed 5)", "no --until when the run went to spec.duration")

	spaced := filepath.Join(t.TempDir(), "my scenario.yaml")
	require.NoError(t, os.WriteFile(spaced, []byte(strings.TrimLeft(passing, "\n")), 0o644))
	code, out, _ = cli(t, "run", "-q", spaced, "--until", "2m")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "rerun: kubesim run '"+spaced+"' --seed 5 --until 2m)", "a path a shell would split is quoted")
	assert.Equal(t, []string{"run", spaced, "--seed", "5", "--until", "2m"}, rerunArgs(t, out))
}

// readmeJSONKeys reads the README's list of the keys of kubesim run -o
// json: every key, and whether the README says when it is present (a
// condition in parentheses, "(when …)" or "(if …)", or "with --flag").
func readmeJSONKeys(t *testing.T) (always, sometimes []string) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	const intro = "`-o json` prints one document ("
	i := strings.Index(string(readme), intro)
	require.GreaterOrEqual(t, i, 0, "the README lists the JSON document's keys")
	var items []string
	depth, start := 1, i+len(intro)
	for j := start; depth > 0; j++ {
		require.Less(t, j, len(readme), "unbalanced parentheses after %q", intro)
		switch readme[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				items = append(items, string(readme[start:j]))
			}
		case ',':
			if depth == 1 {
				items = append(items, string(readme[start:j]))
				start = j + 1
			}
		}
	}
	keyRE := regexp.MustCompile("^\\s*(?:and )?`(\\w+)(?:\\[\\])?`(.*)$")
	condRE := regexp.MustCompile("^\\s*(\\((when|if) |with `--)")
	for _, item := range items {
		m := keyRE.FindStringSubmatch(strings.ReplaceAll(item, "\n", " "))
		require.NotNil(t, m, "a key in backquotes: %q", item)
		if condRE.MatchString(m[2]) {
			sometimes = append(sometimes, m[1])
		} else {
			always = append(always, m[1])
		}
	}
	return always, sometimes
}

// topKeys returns the top-level keys of a JSON document, sorted.
func topKeys(t *testing.T, doc string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(doc), &m), doc)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The README's list of the keys of -o json is true: the keys it lists
// without a condition are always there (a scenario without a description,
// a run without --explain), and with every condition met the document has
// exactly the keys it lists.
func TestReadmeListsTheKeysOfTheJSONReport(t *testing.T) {
	always, sometimes := readmeJSONKeys(t)
	sort.Strings(always)
	all := append(slices.Clone(always), sometimes...)
	sort.Strings(all)

	bare := write(t, "bare.yaml", strings.Replace(passing, "  description: Objects and kubectl actions only.\n", "", 1))
	_, out, _ := cli(t, "run", bare, "-o", "json")
	assert.Equal(t, always, topKeys(t, out), "a scenario without a description, no --explain")

	_, out, _ = cli(t, "run", write(t, "passing.yaml", passing), "-o", "json", "--explain", "pod/x")
	assert.Equal(t, all, topKeys(t, out), "a scenario with a description, with --explain")
}

// A scenario file that does not exist is bad input (exit 2, nothing run)
// reported without a line number, by run, validate and explain alike.
func TestMissingScenarioFileIsReportedWithoutALine(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	for _, args := range [][]string{{"run", missing}, {"validate", missing}, {"explain", "pod/x", "--scenario", missing}} {
		code, out, errOut := cli(t, args...)
		assert.Equal(t, 2, code, args)
		assert.Empty(t, out, args)
		assert.Equal(t, missing+": cannot read scenario: no such file or directory\nkubesim: 1 error; nothing was run\n", errOut, args)
	}
}

// The JSON report carries the command that replays the run, as the text
// verdict line does: a seed above 2^53 is a JSON number that jq 1.6 and
// JavaScript round, so a pipeline replays from the string instead.
func TestRunJSONCarriesTheRerunCommand(t *testing.T) {
	file := write(t, "passing.yaml", passing)
	_, out, _ := cli(t, "run", file, "-o", "json", "--seed", "9007199254740993", "--until", "30s")
	var rep struct {
		Rerun string `json:"rerun"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, "kubesim run "+file+" --seed 9007199254740993 --until 30s", rep.Rerun)

	_, text, _ := cli(t, "run", file, "--seed", "9007199254740993", "--until", "30s")
	assert.Contains(t, text, "rerun: "+rep.Rerun+")")
}

// panickyWriter panics on the first write: a stand-in for a bug anywhere
// below a command.
type panickyWriter struct{}

func (panickyWriter) Write([]byte) (int, error) { panic("boom") }

// A panic is a bug in kubesim, not bad input: it exits 3 (Go's own exit
// for a panic is 2, which the README reserves for bad input and usage),
// with the panic and its stack on stderr.
func TestInternalErrorExitsThree(t *testing.T) {
	var errOut bytes.Buffer
	code := execute([]string{"scenarios"}, env{stdout: panickyWriter{}, stderr: &errOut})
	assert.Equal(t, 3, code)
	assert.True(t, strings.HasPrefix(errOut.String(), "kubesim: internal error (a bug in kubesim; please report it with the command line): "), errOut.String())
	assert.Contains(t, errOut.String(), "boom")
	assert.Contains(t, errOut.String(), "goroutine ")
}

// "-" (standard input, as kubectl apply -f - reads it) is not supported:
// the error says so and what to do, where it said "-" was neither a
// scenario file nor a built-in and listed the built-ins.
func TestStdinScenarioIsRefusedClearly(t *testing.T) {
	for _, cmd := range []string{"run", "validate"} {
		code, out, errOut := cli(t, cmd, "-")
		assert.Equal(t, exitUsage, code, cmd)
		assert.Empty(t, out, cmd)
		assert.Equal(t, "kubesim: kubesim does not read a scenario from standard input (\"-\"): write it to a file and give its path (spec.files are read relative to the file's directory)\n", errOut, cmd)
	}
}

// Every command's help lists exit code 3 (a panic exits 3 whatever the
// command), as kubesim --help does; run, validate and explain left it out.
func TestEveryCommandsHelpListsExitCode3(t *testing.T) {
	for _, cmd := range []string{"run", "validate", "explain"} {
		code, out, _ := cli(t, cmd, "--help")
		require.Equal(t, exitOK, code, cmd)
		assert.Contains(t, strings.Join(strings.Fields(out), " "), "3 an internal error (a bug in kubesim)", cmd)
	}
}

// The expectations' descriptions start in one column, however long a
// timing is ("throughout 30s-2m50s" is wider than "within 2m").
func TestExpectationLinesLineUp(t *testing.T) {
	sc := strings.Replace(passing, "  - {name: deleted, at: 3m, count: configmaps, equals: 0}\n",
		"  - {name: deleted, at: 3m, count: configmaps, equals: 0}\n"+
			"  - {name: one deployment, from: 30s, throughout: 2m50s, count: deployments, equals: 1}\n", 1)
	code, out, errOut := cli(t, "run", "-q", write(t, "lined.yaml", sc))
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var starts []int
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  PASS  ") {
			for _, name := range []string{"scaled", "deleted", "one deployment"} {
				if i := strings.Index(line, name); i > 0 {
					starts = append(starts, i)
				}
			}
		}
	}
	require.Len(t, starts, 3, out)
	assert.Equal(t, []int{starts[0], starts[0], starts[0]}, starts, out)
}
