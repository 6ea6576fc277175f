package runner_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/scenarios/runner"
)

// explainCase is one golden explanation: a scenario (a file of
// testdata/explain or a built-in), the pod asked about and when.
type explainCase struct {
	name     string // the golden file testdata/explain/NAME.txt
	scenario string // testdata/explain/SCENARIO.yaml, or a built-in
	builtin  bool
	pod      string
	at       time.Duration
	// wants are lines (or parts of lines) the explanation must have,
	// besides matching its golden file: what the case is about.
	wants []string
}

var explainCases = []explainCase{
	{
		name: "crashloop", scenario: "self-healing", builtin: true, pod: "crasher", at: 90 * time.Second,
		wants: []string{
			// kubectl shows a waiting container's reason only; explain its
			// message too: how long the back-off is.
			"  Containers:\n    app:\n      State:          Waiting\n        Reason:       CrashLoopBackOff\n" +
				"        Message:      back-off 20s restarting failed container=app pod=crasher_default(",
			"      Last State:     Terminated\n        Reason:       Error\n        Exit Code:    3\n" +
				"        Started:      0:00:57.000\n        Finished:     0:01:17.000\n",
			"      Ready:          False\n      Restart Count:  2\n",
			"    Ready                      False   ContainersNotReady\n",
			"BackOff",
			"Back-off restarting failed container app in pod crasher_default",
		},
	},
	{
		name: "readiness", scenario: "readiness", pod: "web", at: time.Minute,
		wants: []string{
			"      State:          Running\n        Started:      0:00:04.000\n      Ready:          False\n      Restart Count:  0\n",
			"      Last probe failure: Readiness probe failed: HTTP probe failed with statuscode: 503 (at 0:00:59.000)\n",
			"  Warning  Unhealthy",
		},
	},
	{
		name: "healthy", scenario: "healthy", pod: "web", at: time.Minute,
		wants: []string{
			"  Init Containers:\n    migrate:\n      State:          Terminated\n        Reason:       Completed\n        Exit Code:    0\n",
			"    proxy (sidecar):\n      State:          Running\n",
			"  Containers:\n    app:\n      State:          Running\n        Started:      0:00:11.000\n      Ready:          True\n      Restart Count:  0\n",
			"    Ready                      True\n",
			"  Events (the last 10 of 14):\n",
		},
	},
	{
		name: "preempted", scenario: "preempted", pod: "low", at: time.Minute,
		wants: []string{
			"  the pod no longer exists: DisruptionTarget=True (PreemptionByScheduler): default-scheduler: preempting to accommodate a higher priority pod\n",
			// nginx exits 0 on SIGTERM within its 3 s: Succeeded (the
			// kubelet's terminal phase of a pod it stopped).
			"  deleted at 0:00:30.000 (grace period 30s), removed at 0:00:33.000; its last phase was Succeeded, on node w\n",
			"    Normal   Killing           0:00:30.000  kubelet            Stopping container c\n",
			"Preempted by pod ",
		},
	},
	{
		name: "taint-evicted", scenario: "taint-evicted", pod: "p", at: time.Minute,
		wants: []string{
			"  the pod no longer exists: DisruptionTarget=True (DeletionByTaintManager): Taint manager: deleting due to NoExecute taint\n",
			"  deleted at 0:00:30.000 (grace period 30s), removed at 0:00:35.000; its last phase was Succeeded, on node w\n",
			"Killing",
		},
	},
}

// TestExplainGolden compares kubesim explain's answers with their golden
// files (go test -run TestExplainGolden -update rewrites them): the
// containers, conditions and Events of a pod that exists, how a deleted
// pod ended. The same seed gives the same text.
func TestExplainGolden(t *testing.T) {
	for _, c := range explainCases {
		t.Run(c.name, func(t *testing.T) {
			got := explainAt(t, c)
			assert.Equal(t, got, explainAt(t, c), "the same seed explains the same")
			for _, w := range c.wants {
				assert.Contains(t, got, w)
			}
			golden := filepath.Join("testdata", "explain", c.name+".txt")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "missing golden file; run with -update")
			assert.Equal(t, string(want), got)
		})
	}
}

func explainAt(t *testing.T, c explainCase) string {
	t.Helper()
	var sc *scenarios.Scenario
	if c.builtin {
		sc = loadBuiltin(t, c.scenario)
	} else {
		var err error
		sc, err = scenarios.Load(filepath.Join("testdata", "explain", c.scenario+".yaml"), scenarios.WithValidator(runner.Validator()))
		require.NoError(t, err)
	}
	r, err := runner.New(sc, runner.Options{Until: c.at})
	require.NoError(t, err)
	r.Finish()
	text, err := r.Explain("default", c.pod)
	require.NoError(t, err)
	return text
}

// kubectl describe pod finds Events by the pod's name and uid: the taint
// eviction controller's TaintManagerEviction names the pod without its uid
// (upstream's emitPodDeletionEvent), so it is not among them; the pod's
// DisruptionTarget condition tells the same.
func TestExplainListsThePodsEventsAsKubectlFindsThem(t *testing.T) {
	text := explainAt(t, explainCase{scenario: "taint-evicted", pod: "p", at: time.Minute})
	assert.NotContains(t, text, "TaintManagerEviction")
	assert.Contains(t, text, "Killing")
}

// A pod deleted without a DisruptionTarget condition: explain says who
// deleted it, when, and its last phase, also for a pod the scheduler never
// placed (spec.nodeName), which it used to call never scheduled.
func TestExplainSaysWhoDeletedAPod(t *testing.T) {
	sc, err := scenarios.LoadBytes("test.yaml", []byte(`apiVersion: kubesim.dev/v1alpha1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodes:
    - {name: w, capacity: {cpu: "2", memory: 4Gi}}
  objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {nodeName: w, containers: [{name: c, image: nginx:1.27}]}}
  events:
  - {at: 20s, action: delete, target: pod/p}
`), ".", scenarios.WithValidator(runner.Validator()))
	require.NoError(t, err)
	r, err := runner.New(sc, runner.Options{})
	require.NoError(t, err)
	r.Finish()
	text, err := r.Explain("default", "p")
	require.NoError(t, err)
	assert.Contains(t, text, "  the pod no longer exists: deleted by kubectl\n"+
		"  deleted at 0:00:20.000 (grace period 30s), removed at 0:00:20.000; its last phase was Succeeded, on node w\n")
	assert.Contains(t, text, "  the scheduler has no attempt on record for it\n")
	assert.Contains(t, text, "Stopping container c")
}
