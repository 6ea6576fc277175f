package nodelifecycle

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
)

const s = time.Second

func TestComputeZoneState(t *testing.T) {
	ready := &v1.NodeCondition{Type: v1.NodeReady, Status: v1.ConditionTrue}
	notReady := &v1.NodeCondition{Type: v1.NodeReady, Status: v1.ConditionFalse}
	unknown := &v1.NodeCondition{Type: v1.NodeReady, Status: v1.ConditionUnknown}
	rep := func(c *v1.NodeCondition, n int) []*v1.NodeCondition {
		out := make([]*v1.NodeCondition, n)
		for i := range out {
			out[i] = c
		}
		return out
	}
	cat := func(parts ...[]*v1.NodeCondition) []*v1.NodeCondition {
		var out []*v1.NodeCondition
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name          string
		conds         []*v1.NodeCondition
		wantUnhealthy int
		want          ZoneState
	}{
		{"empty zone", nil, 0, StateNormal},
		{"all ready", rep(ready, 3), 0, StateNormal},
		{"one of three not ready", cat(rep(ready, 2), rep(unknown, 1)), 1, StateNormal},
		{"single node unknown", rep(unknown, 1), 1, StateFullDisruption},
		{"never reported counts as not ready", []*v1.NodeCondition{nil}, 1, StateFullDisruption},
		{"no ready node among many", cat(rep(notReady, 2), rep(unknown, 5)), 7, StateFullDisruption},
		{"2 of 3 not ready: not more than 2", cat(rep(ready, 1), rep(unknown, 2)), 2, StateNormal},
		{"3 of 5 not ready (60%)", cat(rep(ready, 2), rep(notReady, 1), rep(unknown, 2)), 3, StatePartialDisruption},
		{"3 of 6 not ready (50%)", cat(rep(ready, 3), rep(unknown, 3)), 3, StateNormal},
		{"11 of 20 not ready (exactly 55%)", cat(rep(ready, 9), rep(unknown, 11)), 11, StatePartialDisruption},
		{"27 of 50 not ready (54%)", cat(rep(ready, 23), rep(unknown, 27)), 27, StateNormal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, st := ComputeZoneState(tc.conds, 0.55)
			assert.Equal(t, tc.wantUnhealthy, n)
			assert.Equal(t, tc.want, st)
		})
	}
}

func TestTokenBucketExactIntervals(t *testing.T) {
	b := NewTokenBucket(0.1, 1, 0)
	assert.True(t, b.TryAccept(0), "a new bucket is full")
	assert.False(t, b.TryAccept(0))
	assert.Equal(t, 10*s, b.NextToken(0))
	assert.False(t, b.TryAccept(10*s-1))
	assert.True(t, b.TryAccept(10*s))
	// Unused time beyond one token is not banked (burst 1).
	assert.True(t, b.TryAccept(60*s))
	assert.False(t, b.TryAccept(65*s))
	assert.Equal(t, 70*s, b.NextToken(65*s))

	slow := NewTokenBucket(0.01, 1, 5*s)
	assert.True(t, slow.TryAccept(5*s))
	assert.Equal(t, 105*s, slow.NextToken(5*s))

	never := NewTokenBucket(0, 1, 0)
	assert.False(t, never.TryAccept(1000*s))
	assert.Equal(t, 0.0, never.QPS())
}

// drain runs Try at each tick of a 100 ms poll (upstream's pass period) from
// from to to and returns when each node was processed.
func drain(q *RateLimitedTimedQueue, from, to time.Duration) map[string]time.Duration {
	got := map[string]time.Duration{}
	for now := from; now <= to; now += 100 * time.Millisecond {
		q.Try(now, func(v TimedValue) (bool, time.Duration) {
			got[v.Value] = now
			return true, 0
		})
	}
	return got
}

func TestRateLimitedQueueNormalZoneOneNodePer10s(t *testing.T) {
	q := NewRateLimitedTimedQueue(NewTokenBucket(0.1, EvictionRateLimiterBurst, 0))
	for i := 1; i <= 4; i++ {
		require.True(t, q.Add(fmt.Sprintf("n%d", i), "", 3*s))
	}
	assert.Equal(t, []string{"n1", "n2", "n3", "n4"}, q.Values(), "ties on ProcessAt keep insertion order")
	got := drain(q, 3*s, 60*s)
	assert.Equal(t, map[string]time.Duration{"n1": 3 * s, "n2": 13 * s, "n3": 23 * s, "n4": 33 * s}, got)
	assert.Equal(t, 0, q.Len())
	assert.False(t, q.Add("n1", "", 61*s), "a processed node stays seen until removed")
	assert.True(t, q.Remove("n1"))
	assert.True(t, q.Add("n1", "", 61*s))
}

func TestRateLimitedQueuePartialDisruptionSmallZoneStops(t *testing.T) {
	q := NewRateLimitedTimedQueue(NewTokenBucket(0.1, EvictionRateLimiterBurst, 0))
	q.Add("a", "", 0)
	q.Add("b", "", 0)
	q.Add("c", "", 0)
	q.SwapLimiter(0, 0) // ReducedQPSFunc for a zone of at most 50 nodes
	got := drain(q, 0, 1000*s)
	assert.Empty(t, got)
	_, ok := q.NextTry(0)
	assert.False(t, ok, "no wake-up while the limiter never gives tokens")
	assert.Equal(t, 3, q.Len())

	// Back to Normal: the never-limiter had no token, so the new bucket
	// starts drained and the first taint comes one interval later.
	q.SwapLimiter(0.1, 1000*s)
	got = drain(q, 1000*s, 1030*s)
	assert.Equal(t, map[string]time.Duration{"a": 1010 * s, "b": 1020 * s, "c": 1030 * s}, got)
}

func TestRateLimitedQueuePartialDisruptionLargeZoneSecondaryRate(t *testing.T) {
	q := NewRateLimitedTimedQueue(NewTokenBucket(0.1, EvictionRateLimiterBurst, 0))
	for _, n := range []string{"a", "b", "c"} {
		q.Add(n, "", 40*s)
	}
	// The Normal bucket still has its token at 40 s: the swap keeps the new
	// bucket full.
	q.SwapLimiter(0.01, 40*s)
	assert.Equal(t, 0.01, q.QPS())
	got := drain(q, 40*s, 300*s)
	assert.Equal(t, map[string]time.Duration{"a": 40 * s, "b": 140 * s, "c": 240 * s}, got)
	q.SwapLimiter(0.01, 300*s)
	assert.Equal(t, 0.01, q.QPS(), "same rate: the limiter is kept")
}

func TestRateLimitedQueueRetryTakesATokenFirst(t *testing.T) {
	q := NewRateLimitedTimedQueue(NewTokenBucket(1, EvictionRateLimiterBurst, 0))
	q.Add("a", "", 0)
	calls := 0
	q.Try(0, func(v TimedValue) (bool, time.Duration) {
		calls++
		return false, 50 * time.Millisecond
	})
	assert.Equal(t, 1, calls)
	head := q.Values()
	require.Equal(t, []string{"a"}, head)
	// Due at 50 ms + 1 ns; the next token is at 1 s.
	next, ok := q.NextTry(0)
	require.True(t, ok)
	assert.Equal(t, 1*s, next)
	q.Try(1*s, func(v TimedValue) (bool, time.Duration) { calls++; return true, 0 })
	assert.Equal(t, 2, calls)
	assert.Equal(t, 0, q.Len())
}

// TestSwapLimiterFromNeverToRate1IsANoOp: upstream's never limiter
// (flowcontrol.NewFakeNeverRateLimiter) reports QPS 1, and SwapLimiter keeps
// the limiter when QPS() equals the new rate, so a queue stopped by a rate of
// 0 stays stopped when the new rate is exactly 1.
func TestSwapLimiterFromNeverToRate1IsANoOp(t *testing.T) {
	q := NewRateLimitedTimedQueue(NewTokenBucket(1, EvictionRateLimiterBurst, 0))
	q.Add("a", "", 0)
	q.SwapLimiter(0, 0)
	q.SwapLimiter(1, 10*s)
	assert.Empty(t, drain(q, 10*s, 100*s), "still the never limiter")
	assert.Equal(t, 0.0, q.QPS())
	_, ok := q.NextTry(100 * s)
	assert.False(t, ok)

	// Any other rate replaces it (drained, as the never limiter has no token).
	q.SwapLimiter(2, 100*s)
	assert.Equal(t, 2.0, q.QPS())
	assert.Equal(t, map[string]time.Duration{"a": 100*s + 500*time.Millisecond}, drain(q, 100*s, 110*s))
}
