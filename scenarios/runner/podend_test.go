package runner

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubesim/kubesim/sim"
)

// The deleted pods a run remembers are bounded: the oldest record goes
// first, and a name deleted again and again keeps one record (its latest)
// and no growing list of stale ones.
func TestPodEndsAreBounded(t *testing.T) {
	e := &podEnds{byName: map[types.NamespacedName]*podEnd{}}
	removed := func(name string, at time.Duration) {
		end := e.add(types.NamespacedName{Namespace: "default", Name: name}, sim.Record{Time: at, Component: "kubectl"})
		end.gone, end.removed = true, at
	}
	for i := range maxPodEnds + 10 {
		removed(fmt.Sprintf("p-%d", i), time.Duration(i)*time.Second)
	}
	assert.Len(t, e.byName, maxPodEnds)
	_, ok := e.ended("default", "p-9")
	assert.False(t, ok, "the oldest records are forgotten")
	end, ok := e.ended("default", fmt.Sprintf("p-%d", maxPodEnds+9))
	require.True(t, ok)
	assert.Equal(t, "kubectl", end.by)

	for i := range 10 * maxPodEnds {
		removed("again", time.Duration(i)*time.Second)
	}
	assert.Len(t, e.byName, maxPodEnds)
	assert.LessOrEqual(t, len(e.order), 2*maxPodEnds+1, "stale entries are dropped")
	end, ok = e.ended("default", "again")
	require.True(t, ok)
	assert.Equal(t, time.Duration(10*maxPodEnds-1)*time.Second, end.removed, "the latest deletion of the name")
}
