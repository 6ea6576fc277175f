package nodelifecycle

import (
	"container/heap"
	"fmt"
	"math"
	"time"

	"github.com/kubesim/kubesim/sim"
)

// EvictionRateLimiterBurst is the burst of every zone's tainting rate
// limiter (upstream scheduler.EvictionRateLimiterBurst).
const EvictionRateLimiterBurst = 1

// maxTokenInterval caps the interval of a very slow bucket so time
// arithmetic cannot overflow.
const maxTokenInterval = 100 * 365 * 24 * time.Hour

// TokenBucket is client-go's flowcontrol token bucket (golang.org/x/time/rate
// with a burst) on the engine's clock, in exact integer time: one token every
// 1/qps seconds, at most burst stored, full when created. A bucket with
// qps <= 0 never accepts (flowcontrol.NewFakeNeverRateLimiter).
type TokenBucket struct {
	qps      float64
	burst    int
	interval time.Duration // time to earn one token
	// emptyAt is the time at which the bucket would have held zero tokens had
	// nothing been taken since: tokens(now) = min(burst, (now-emptyAt)/interval).
	emptyAt time.Duration
}

// NewTokenBucket returns a full bucket at now.
func NewTokenBucket(qps float64, burst int, now time.Duration) *TokenBucket {
	if burst < 1 {
		panic(fmt.Sprintf("nodelifecycle: token bucket burst %d < 1", burst))
	}
	b := &TokenBucket{qps: qps, burst: burst}
	if qps > 0 {
		iv := float64(time.Second) / qps
		if iv > float64(maxTokenInterval) {
			iv = float64(maxTokenInterval)
		}
		b.interval = max(time.Duration(math.Round(iv)), 1)
		b.emptyAt = now - time.Duration(burst)*b.interval
	}
	return b
}

// QPS is the bucket's refill rate in tokens per second (0 for never).
func (b *TokenBucket) QPS() float64 {
	if b.qps <= 0 {
		return 0
	}
	return b.qps
}

// TryAccept takes a token if one is available at now.
func (b *TokenBucket) TryAccept(now time.Duration) bool {
	if b.qps <= 0 {
		return false
	}
	if full := now - time.Duration(b.burst)*b.interval; b.emptyAt < full {
		b.emptyAt = full
	}
	if now-b.emptyAt < b.interval {
		return false
	}
	b.emptyAt += b.interval
	return true
}

// NextToken is the earliest time at or after now at which TryAccept would
// succeed (sim.Forever for a bucket that never accepts).
func (b *TokenBucket) NextToken(now time.Duration) time.Duration {
	if b.qps <= 0 {
		return sim.Forever
	}
	return max(now, b.emptyAt+b.interval)
}

// TimedValue is a node waiting in a zone's tainting queue.
type TimedValue struct {
	// Value is the node name.
	Value string
	// UID is the node's UID when it was queued.
	UID string
	// AddedAt and ProcessAt are engine times; the value is not processed
	// before ProcessAt.
	AddedAt, ProcessAt time.Duration

	seq   uint64 // insertion order, breaking ProcessAt ties
	index int    // position in the heap
}

// timedQueue is a heap ordered by (ProcessAt, insertion order).
type timedQueue []*TimedValue

func (h timedQueue) Len() int { return len(h) }
func (h timedQueue) Less(i, j int) bool {
	if h[i].ProcessAt != h[j].ProcessAt {
		return h[i].ProcessAt < h[j].ProcessAt
	}
	return h[i].seq < h[j].seq
}
func (h timedQueue) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timedQueue) Push(x any) {
	v := x.(*TimedValue)
	v.index = len(*h)
	*h = append(*h, v)
}
func (h *timedQueue) Pop() any {
	old := *h
	n := len(old)
	v := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	v.index = -1
	return v
}

// RateLimitedTimedQueue is upstream's RateLimitedTimedQueue
// (pkg/controller/nodelifecycle/scheduler/rate_limited_queue.go): a queue of
// unique node names ordered by ProcessAt, drained by Try under a token
// bucket. A value that was processed stays "seen" (Add refuses it) until
// Remove is called for it, as upstream's UniqueQueue.
type RateLimitedTimedQueue struct {
	queue   timedQueue
	byValue map[string]*TimedValue // values in the queue
	set     map[string]bool        // values added and not removed
	limiter *TokenBucket
	seq     uint64
}

// NewRateLimitedTimedQueue returns an empty queue limited by limiter.
func NewRateLimitedTimedQueue(limiter *TokenBucket) *RateLimitedTimedQueue {
	return &RateLimitedTimedQueue{byValue: map[string]*TimedValue{}, set: map[string]bool{}, limiter: limiter}
}

// Add queues value for processing at now unless it was added before and not
// removed. It reports whether it was added.
func (q *RateLimitedTimedQueue) Add(value, uid string, now time.Duration) bool {
	if q.set[value] {
		return false
	}
	q.seq++
	v := &TimedValue{Value: value, UID: uid, AddedAt: now, ProcessAt: now, seq: q.seq}
	heap.Push(&q.queue, v)
	q.byValue[value] = v
	q.set[value] = true
	return true
}

// Remove takes value out of the queue and forgets it, so it can be added
// again. It reports whether value was known.
func (q *RateLimitedTimedQueue) Remove(value string) bool {
	if !q.set[value] {
		return false
	}
	delete(q.set, value)
	q.removeFromQueue(value)
	return true
}

// Has reports whether value is waiting in the queue.
func (q *RateLimitedTimedQueue) Has(value string) bool { return q.byValue[value] != nil }

func (q *RateLimitedTimedQueue) removeFromQueue(value string) {
	if v := q.byValue[value]; v != nil {
		heap.Remove(&q.queue, v.index)
		delete(q.byValue, value)
	}
}

// Len is the number of values waiting.
func (q *RateLimitedTimedQueue) Len() int { return len(q.queue) }

// Values returns the waiting values in processing order.
func (q *RateLimitedTimedQueue) Values() []string {
	cp := make(timedQueue, len(q.queue))
	for i, v := range q.queue {
		c := *v
		cp[i] = &c
		cp[i].index = i
	}
	out := make([]string, 0, len(cp))
	for cp.Len() > 0 {
		out = append(out, heap.Pop(&cp).(*TimedValue).Value)
	}
	return out
}

// ActionFunc processes a value; it returns false and a wait to have the value
// retried no earlier than wait (plus 1 ns) from now.
type ActionFunc func(TimedValue) (bool, time.Duration)

// Try processes values in order while the limiter gives tokens and the head
// is due, exactly as upstream: a token is taken before the head's ProcessAt
// is checked; a value whose action succeeds leaves the queue but stays seen.
func (q *RateLimitedTimedQueue) Try(now time.Duration, fn ActionFunc) {
	for q.queue.Len() > 0 {
		head := q.queue[0]
		if !q.limiter.TryAccept(now) {
			return
		}
		if now < head.ProcessAt {
			return
		}
		if ok, wait := fn(*head); !ok {
			head.ProcessAt = now + wait + 1
			heap.Fix(&q.queue, head.index)
		} else {
			q.removeFromQueue(head.Value)
		}
	}
}

// NextTry is when a Try could next make progress: the later of the head's
// ProcessAt and the limiter's next token; ok is false when the queue is
// empty or the limiter never gives tokens.
func (q *RateLimitedTimedQueue) NextTry(now time.Duration) (time.Duration, bool) {
	if q.queue.Len() == 0 || q.limiter.QPS() <= 0 {
		return 0, false
	}
	return max(q.queue[0].ProcessAt, q.limiter.NextToken(now)), true
}

// QPS is the current limiter's rate.
func (q *RateLimitedTimedQueue) QPS() float64 { return q.limiter.QPS() }

// SwapLimiter replaces the limiter by one of newQPS unless the rate is the
// same. As upstream, if the old limiter has no token left at now, the new
// one starts drained (one token taken), which is right for a burst of 1.
//
// The comparison uses the rate upstream's limiter reports: its never
// limiter (flowcontrol.NewFakeNeverRateLimiter) reports 1, so a stopped
// queue stays stopped when newQPS is exactly 1.
func (q *RateLimitedTimedQueue) SwapLimiter(newQPS float64, now time.Duration) {
	if newQPS < 0 {
		newQPS = 0
	}
	reported := q.limiter.QPS()
	if reported <= 0 {
		reported = 1
	}
	if reported == newQPS {
		return
	}
	nl := NewTokenBucket(newQPS, EvictionRateLimiterBurst, now)
	if newQPS > 0 && !q.limiter.TryAccept(now) {
		nl.TryAccept(now)
	}
	q.limiter = nl
}
