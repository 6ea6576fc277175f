package fifo_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/kubesim/kubesim/internal/fifo"
)

// A ring behaves as a slice that grows at the back and shrinks at the
// front.
func TestRingAgainstSlice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var r fifo.Ring[*int]
		var model []*int
		for _, op := range rapid.SliceOfN(rapid.IntRange(0, 3), 1, 500).Draw(t, "ops") {
			switch {
			case op == 0 && len(model) > 0:
				got := r.Pop()
				if got != model[0] {
					t.Fatalf("Pop() = %v, want %v", got, model[0])
				}
				model = model[1:]
			case op == 1 && rapid.IntRange(0, 20).Draw(t, "reset") == 0:
				r.Reset()
				model = nil
			default:
				v := new(int)
				r.Push(v)
				model = append(model, v)
			}
			if r.Len() != len(model) {
				t.Fatalf("Len() = %d, want %d", r.Len(), len(model))
			}
			for i, want := range model {
				if got := *r.At(i); got != want {
					t.Fatalf("At(%d) = %v, want %v", i, got, want)
				}
			}
		}
	})
}

// Draining and refilling reuses the buffer.
func TestRingReusesItsBuffer(t *testing.T) {
	var r fifo.Ring[int]
	allocs := testing.AllocsPerRun(100, func() {
		for i := 0; i < 5; i++ {
			r.Push(i)
		}
		for r.Len() > 0 {
			r.Pop()
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per fill and drain, want 0", allocs)
	}
}
