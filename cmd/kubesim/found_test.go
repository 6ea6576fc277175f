package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// foundDoc gets an object deleted at 30s, one that stays, and counts.
const foundDoc = `
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: found}
spec:
  seed: 5
  duration: 1m
  objects:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {mode: slow}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: nope}, data: {mode: slow}}
  events:
  - {at: 30s, action: delete, target: configmap/nope}
  expect:
  - {name: missing, at: 1m, get: configmap/nope, jsonpath: '{.data.mode}', equals: slow}
  - {name: present, at: 1m, get: configmap/settings, jsonpath: '{.data.mode}', equals: fast}
  - {name: counted, at: 1m, count: configmaps, equals: 1}
`

// A get whose object is missing says so in a boolean a script can test,
// "found": false, beside the observed text meant for people; a get that
// found its object has "found": true; count and metric have no "found".
func TestRunJSONSaysWhetherAGetFoundItsObject(t *testing.T) {
	code, out, errOut := cli(t, "run", write(t, "found.yaml", foundDoc), "-o", "json")
	require.Equal(t, exitFailed, code, errOut)
	var doc struct {
		Expectations []map[string]any `json:"expectations"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.Len(t, doc.Expectations, 3)
	missing, present, counted := doc.Expectations[0], doc.Expectations[1], doc.Expectations[2]
	assert.Equal(t, false, missing["found"], "%v", missing)
	assert.Equal(t, "configmap/nope not found in namespace default", missing["observed"], "observed stays as it was")
	assert.Equal(t, true, present["found"], "%v", present)
	assert.Equal(t, "slow", present["observed"])
	assert.NotContains(t, counted, "found", "not a get")

	// A get not evaluated before --until has no observation: no "found".
	_, out, _ = cli(t, "run", write(t, "found.yaml", foundDoc), "-o", "json", "--until", "20s")
	doc.Expectations = nil
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	assert.NotContains(t, doc.Expectations[0], "found", "%v", doc.Expectations[0])
}
