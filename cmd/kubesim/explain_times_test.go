package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// explain prints every instant as the timeline's clock (h:mm:ss.mmm), as
// its own first line and its earlier attempts do: the latest attempt said
// "at 330s", in text and in -o json's explanations alike.
func TestExplainPrintsInstantsAsTheTimelineClock(t *testing.T) {
	code, out, errOut := cli(t, "explain", "pod/big", "--scenario", "pending-pods", "--at", "6m")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "pod default/big at 0:06:00.000 (seed 1)")
	assert.Contains(t, out, "    0:00:01.000  attempt 2: Unschedulable")
	assert.Contains(t, out, "    pod default/big attempt 3 at 0:05:30.000 (cycle ")
	assert.NotRegexp(t, `at \d+(\.\d+)?s\b`, out, "no instant in seconds")

	code, js, errOut := cli(t, "run", "pending-pods", "--until", "6m", "--explain", "pod/big", "-o", "json")
	require.Equal(t, exitOK, code, errOut)
	var rep struct {
		Explanations []string `json:"explanations"`
	}
	require.NoError(t, json.Unmarshal([]byte(js), &rep))
	require.Len(t, rep.Explanations, 1)
	assert.Contains(t, rep.Explanations[0], "attempt 3 at 0:05:30.000 (cycle ")
	assert.Equal(t, out, rep.Explanations[0], "the same answer as kubesim explain")
}
