// Package fifo is a first-in first-out queue in a ring buffer. kubesim's
// queues are filled at the back and drained at the front all the time (a
// work queue for nearly every change, the watch cache's window of recent
// events); a slice consumed from its front runs past its end and is
// reallocated again and again, where a ring reuses its buffer.
package fifo

// Ring holds items oldest first. The zero value is empty and ready.
type Ring[T any] struct {
	buf  []T
	head int // index in buf of the oldest item
	n    int
}

// Len is the number of items.
func (r *Ring[T]) Len() int { return r.n }

// At returns the item i places from the oldest (0 ≤ i < Len), in place.
func (r *Ring[T]) At(i int) *T { return &r.buf[(r.head+i)%len(r.buf)] }

// Push adds v at the back, doubling the buffer when it is full.
func (r *Ring[T]) Push(v T) {
	if r.n == len(r.buf) {
		grown := make([]T, max(8, 2*len(r.buf)))
		for i := 0; i < r.n; i++ {
			grown[i] = *r.At(i)
		}
		r.buf, r.head = grown, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
}

// Pop removes the oldest item (Len must be > 0) and returns it; its slot
// keeps nothing alive.
func (r *Ring[T]) Pop() T {
	p := r.At(0)
	v := *p
	var zero T
	*p = zero
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return v
}

// Reset empties the ring and lets its buffer go.
func (r *Ring[T]) Reset() { *r = Ring[T]{} }
