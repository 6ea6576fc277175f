package scheduler

import (
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// referenceSelect is selectHost as upstream writes it (the first node of
// the highest total, then one draw among the ties), with the attempt's
// order as explainStore.order gives it: every scored node sorted by
// attemptRecord.better (higher total, the chosen node, examination order).
func referenceSelect(total []int64, rng *rand.Rand) (chosen int, order []int) {
	best, ties := 0, 1
	for i := 1; i < len(total); i++ {
		switch {
		case total[i] > total[best]:
			best, ties = i, 1
		case total[i] == total[best]:
			ties++
		}
	}
	chosen = best
	if ties > 1 {
		k := rng.IntN(ties)
		for i := best; ; i++ {
			if total[i] == total[best] {
				if k == 0 {
					chosen = i
					break
				}
				k--
			}
		}
	}
	order = make([]int, len(total))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case total[a] != total[b]:
			if total[a] > total[b] {
				return -1
			}
			return 1
		case (a == chosen) != (b == chosen):
			if a == chosen {
				return -1
			}
			return 1
		}
		return a - b
	})
	return chosen, order
}

// selectHost picks the node upstream's selection picks, drawing the same
// numbers from the same stream, and finds the explain record's top nodes
// in the order the record's full sort gives them.
func TestSelectHostAgainstReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 40).Draw(t, "nodes")
		// Few distinct totals, so ties (at the top and below) are common.
		total := rapid.SliceOfN(rapid.Int64Range(0, 4), n, n).Draw(t, "total")
		seed := rapid.Uint64().Draw(t, "seed")

		s := &Scheduler{rng: rand.New(rand.NewPCG(seed, 0))}
		var top topNodes
		got := s.selectHost(total, &top)

		ref := rand.New(rand.NewPCG(seed, 0))
		want, order := referenceSelect(total, ref)
		if got != want {
			t.Fatalf("selectHost(%v) = %d, want %d", total, got, want)
		}
		if g, w := top.order[:top.n], order[:min(maxTop, len(order))]; !slices.Equal(g, w) {
			t.Fatalf("top of %v (chosen %d) = %v, want %v", total, got, g, w)
		}
		// The same draws: both streams are in the same place.
		if a, b := s.rng.Uint64(), ref.Uint64(); a != b {
			t.Fatalf("selectHost drew differently from the reference")
		}
	})
}
