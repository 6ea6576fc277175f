// Package queue is the scheduler's scheduling queue (upstream
// pkg/scheduler/backend/queue): activeQ, backoffQ, the unschedulable pool
// and the tracking of pods "in flight" (popped and not yet done).
//
// The queue is a pure data structure: every method takes the current
// simulated time, and the scheduler owns the engine timers that call
// FlushBackoffCompleted and FlushUnschedulableLeftover. Pod moves are
// decided by a hint function supplied by the caller (the rejecting plugins'
// queueing hints).
//
//	Add ──► activeQ ──Pop──► in flight ──Done (bound)──► gone
//	(gated ► unschedulable pool until ungated)
//	               in flight ──AddUnschedulableIfNotPresent──►
//	                   error, no rejector, or a hinted event while in flight ──► backoffQ
//	                   otherwise ──► unschedulable pool
//	unschedulable ──hinted event / 5-min leftover flush──► backoffQ (still backing off) or activeQ
//	backoffQ ──backoff expired──► activeQ
package queue
