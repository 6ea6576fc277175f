package informer

import (
	"fmt"
	"math"
	"time"

	"github.com/kubesim/kubesim/internal/fifo"
	"github.com/kubesim/kubesim/sim"
)

// RateLimiter decides how long an item waits before it is retried, as
// client-go's workqueue.TypedRateLimiter.
type RateLimiter[T comparable] interface {
	// When returns how long to wait before item is processed again.
	When(item T) time.Duration
	// Forget resets item's failure history.
	Forget(item T)
	// NumRequeues is how many times item has failed in a row.
	NumRequeues(item T) int
}

// ExponentialFailureRateLimiter waits base × 2^failures, capped at max
// (client-go's ItemExponentialFailureRateLimiter).
type ExponentialFailureRateLimiter[T comparable] struct {
	base, max time.Duration
	failures  map[T]int
}

// NewExponentialFailureRateLimiter returns an exponential per-item limiter.
func NewExponentialFailureRateLimiter[T comparable](base, max time.Duration) *ExponentialFailureRateLimiter[T] {
	return &ExponentialFailureRateLimiter[T]{base: base, max: max, failures: map[T]int{}}
}

// When implements RateLimiter.
func (r *ExponentialFailureRateLimiter[T]) When(item T) time.Duration {
	exp := r.failures[item]
	r.failures[item]++
	backoff := float64(r.base.Nanoseconds()) * math.Pow(2, float64(exp))
	if backoff > math.MaxInt64 {
		return r.max
	}
	d := time.Duration(backoff)
	if d > r.max {
		return r.max
	}
	return d
}

// Forget implements RateLimiter.
func (r *ExponentialFailureRateLimiter[T]) Forget(item T) { delete(r.failures, item) }

// NumRequeues implements RateLimiter.
func (r *ExponentialFailureRateLimiter[T]) NumRequeues(item T) int { return r.failures[item] }

// BucketRateLimiter is an overall token bucket (qps, burst) on the engine's
// clock, as client-go's BucketRateLimiter over golang.org/x/time/rate.
type BucketRateLimiter[T comparable] struct {
	eng    *sim.Engine
	qps    float64
	burst  float64
	tokens float64
	last   time.Duration
}

// NewBucketRateLimiter returns a token bucket that starts full.
func NewBucketRateLimiter[T comparable](eng *sim.Engine, qps float64, burst int) *BucketRateLimiter[T] {
	return &BucketRateLimiter[T]{eng: eng, qps: qps, burst: float64(burst), tokens: float64(burst), last: eng.Elapsed()}
}

// When reserves a token and returns the wait until it is available.
func (r *BucketRateLimiter[T]) When(T) time.Duration {
	now := r.eng.Elapsed()
	r.tokens = math.Min(r.burst, r.tokens+(now-r.last).Seconds()*r.qps)
	r.last = now
	r.tokens--
	if r.tokens >= 0 {
		return 0
	}
	return time.Duration(-r.tokens / r.qps * float64(time.Second))
}

// Forget implements RateLimiter.
func (r *BucketRateLimiter[T]) Forget(T) {}

// NumRequeues implements RateLimiter.
func (r *BucketRateLimiter[T]) NumRequeues(T) int { return 0 }

// MaxOfRateLimiter waits the longest of its limiters.
type MaxOfRateLimiter[T comparable] struct{ limiters []RateLimiter[T] }

// NewMaxOfRateLimiter combines limiters.
func NewMaxOfRateLimiter[T comparable](limiters ...RateLimiter[T]) *MaxOfRateLimiter[T] {
	return &MaxOfRateLimiter[T]{limiters: limiters}
}

// When implements RateLimiter.
func (r *MaxOfRateLimiter[T]) When(item T) time.Duration {
	var d time.Duration
	for _, l := range r.limiters {
		d = max(d, l.When(item))
	}
	return d
}

// Forget implements RateLimiter.
func (r *MaxOfRateLimiter[T]) Forget(item T) {
	for _, l := range r.limiters {
		l.Forget(item)
	}
}

// NumRequeues implements RateLimiter.
func (r *MaxOfRateLimiter[T]) NumRequeues(item T) int {
	n := 0
	for _, l := range r.limiters {
		n = max(n, l.NumRequeues(item))
	}
	return n
}

// DefaultControllerRateLimiter is client-go's default for controllers: the
// larger of a per-item exponential backoff (5 ms doubling to 1000 s) and an
// overall bucket of 10 qps with a burst of 100.
func DefaultControllerRateLimiter[T comparable](eng *sim.Engine) RateLimiter[T] {
	return NewMaxOfRateLimiter[T](
		NewExponentialFailureRateLimiter[T](5*time.Millisecond, 1000*time.Second),
		NewBucketRateLimiter[T](eng, 10, 100),
	)
}

// Queue is a work queue with client-go's semantics (an item queued several
// times before it is processed is processed once; an item is never processed
// twice at the same time; an item added while it is being processed is
// processed again afterwards) whose single worker the engine runs: each
// processed item is one engine event, so a UI can step through reconciles.
// The handler's error requeues the item rate-limited; success forgets it.
type Queue[T comparable] struct {
	eng     *sim.Engine
	name    string
	rl      RateLimiter[T]
	handler func(T) error

	queue      fifo.Ring[T]
	dirty      map[T]bool
	processing map[T]bool
	waiting    map[T]sim.Timer
	scheduled  bool
	shutDown   bool
	// Delay is how long after an item becomes ready the worker picks it up
	// (zero by default: in the same instant, in a later event).
	Delay time.Duration

	processed uint64
	// charge is what the handler running now has charged (Charge).
	charge time.Duration

	// The engine labels of the queue's events, and its worker as a func
	// value, made once: a queue is kicked for nearly every change.
	syncLabel, requeueLabel, doneLabel string
	workFn                             func()
}

// SyncCost is the virtual time a controller's sync takes when it reads n
// objects from its cache (see Queue.Charge): 1 µs per object, a modelled
// figure of the order of what upstream's controllers spend listing,
// claiming and counting the pods of a ReplicaSet, a Deployment, a Service
// or a PodDisruptionBudget, once it reaches SyncCostThreshold objects; a
// sync that reads fewer takes no time, so small clusters keep their
// instantaneous reactions.
func SyncCost(n int) time.Duration {
	if n < SyncCostThreshold {
		return 0
	}
	return time.Duration(n) * time.Microsecond
}

// SyncCostThreshold is the number of objects from which a sync takes time
// (SyncCost): 1,000, a millisecond of it.
const SyncCostThreshold = 1000

// NewQueue returns a queue whose items handler processes.
func NewQueue[T comparable](eng *sim.Engine, name string, rl RateLimiter[T], handler func(T) error) *Queue[T] {
	q := &Queue[T]{eng: eng, name: name, rl: rl, handler: handler,
		dirty: map[T]bool{}, processing: map[T]bool{}, waiting: map[T]sim.Timer{},
		syncLabel: name + " sync", requeueLabel: name + " requeue", doneLabel: name + " done"}
	q.workFn = q.work
	return q
}

// Add queues item unless it is already queued.
func (q *Queue[T]) Add(item T) {
	if q.shutDown || q.dirty[item] {
		return
	}
	q.dirty[item] = true
	if q.processing[item] {
		return // re-queued when the current processing ends
	}
	q.queue.Push(item)
	q.kick()
}

// AddAfter queues item after d; an earlier pending AddAfter wins.
func (q *Queue[T]) AddAfter(item T, d time.Duration) {
	if q.shutDown {
		return
	}
	if d <= 0 {
		q.Add(item)
		return
	}
	at := q.eng.Elapsed() + d
	if t, ok := q.waiting[item]; ok {
		if when, pending := t.When(); pending && when <= at {
			return
		}
		t.Stop()
	}
	q.waiting[item] = q.eng.After(d, q.requeueLabel, func() {
		delete(q.waiting, item)
		q.Add(item)
	})
}

// AddRateLimited queues item after the rate limiter's delay.
func (q *Queue[T]) AddRateLimited(item T) { q.AddAfter(item, q.rl.When(item)) }

// Forget clears item's failure history.
func (q *Queue[T]) Forget(item T) { q.rl.Forget(item) }

// NumRequeues is how many times item has been requeued after failures.
func (q *Queue[T]) NumRequeues(item T) int { return q.rl.NumRequeues(item) }

// Len is the number of items ready to be processed.
func (q *Queue[T]) Len() int { return q.queue.Len() }

// Processed is the number of items processed so far.
func (q *Queue[T]) Processed() uint64 { return q.processed }

// ShutDown stops the queue: pending and future items are dropped.
func (q *Queue[T]) ShutDown() {
	q.shutDown = true
	for item, t := range q.waiting {
		t.Stop()
		delete(q.waiting, item)
	}
	q.queue.Reset()
}

func (q *Queue[T]) kick() {
	if q.scheduled || q.queue.Len() == 0 || q.shutDown {
		return
	}
	q.scheduled = true
	q.eng.After(q.Delay, q.syncLabel, q.workFn)
}

// Charge, called by the handler, says that processing the current item
// takes d of virtual time (the engine runs the handler in an instant): the
// item stays in processing until then, so the changes that arrive
// meanwhile are folded into one more processing when it ends, as
// client-go's queue does for an item a worker is busy with. Other items
// are processed meanwhile, as by upstream's several workers. Without it a
// controller that reads all of a big object's pods on every change of any
// of them would do it once per change — quadratic work that upstream's
// controllers, whose syncs take real time, do not do.
func (q *Queue[T]) Charge(d time.Duration) {
	if d > 0 {
		q.charge += d
	}
}

// work processes the item at the head of the queue.
func (q *Queue[T]) work() {
	q.scheduled = false
	if q.queue.Len() == 0 || q.shutDown {
		return
	}
	item := q.queue.Pop()
	delete(q.dirty, item)
	q.processing[item] = true
	q.charge = 0
	err := q.callHandler(item)
	busy := q.charge
	q.charge = 0
	q.processed++
	if err != nil {
		q.AddRateLimited(item)
	} else {
		q.Forget(item)
	}
	if busy > 0 {
		q.eng.After(busy, q.doneLabel, func() { q.done(item) })
	} else {
		q.done(item)
	}
	q.kick()
}

// done ends the processing of item; it is queued again if it changed
// meanwhile.
func (q *Queue[T]) done(item T) {
	delete(q.processing, item)
	if q.dirty[item] && !q.shutDown {
		q.queue.Push(item)
		q.kick()
	}
}

func (q *Queue[T]) callHandler(item T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("%s: handler panicked on %v: %v", q.name, item, r))
		}
	}()
	return q.handler(item)
}
