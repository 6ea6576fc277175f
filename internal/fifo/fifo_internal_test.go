package fifo

import "testing"

// The slots outside the ring's window hold nothing (a popped item is not
// kept alive), and the buffer is at most twice the most items held.
func TestRingSlotsOutsideTheWindowAreEmpty(t *testing.T) {
	var r Ring[*int]
	most := 0
	for round := 0; round < 50; round++ {
		for i := 0; i < round%13+1; i++ {
			r.Push(new(int))
			most = max(most, r.Len())
		}
		for i := 0; i < round%7 && r.Len() > 0; i++ {
			r.Pop()
		}
		for i := range r.buf {
			inside := (i-r.head+len(r.buf))%len(r.buf) < r.n
			if !inside && r.buf[i] != nil {
				t.Fatalf("round %d: slot %d outside the window holds an item", round, i)
			}
		}
		if len(r.buf) > max(8, 2*most) {
			t.Fatalf("round %d: buffer %d for at most %d items", round, len(r.buf), most)
		}
	}
}
