package proxy

import (
	"math"
	"math/rand/v2"
)

// binomial draws from Binomial(n, p) with rng. Small n are summed Bernoulli
// trials; larger n use inversion, visiting outcomes from the mode outwards
// (mode, mode+1, mode-1, mode+2, …) and subtracting their probabilities from
// one uniform draw. Any fixed visiting order is an exact inversion; starting
// at the mode makes the expected number of steps O(√(np(1-p))).
func binomial(rng *rand.Rand, n uint64, p float64) uint64 {
	switch {
	case n == 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	case n < 32:
		var k uint64
		for range n {
			if rng.Float64() < p {
				k++
			}
		}
		return k
	}
	nf := float64(n)
	mode := uint64(math.Floor((nf + 1) * p))
	if mode > n {
		mode = n
	}
	q := 1 - p
	lg := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	logPmf := lg(nf+1) - lg(float64(mode)+1) - lg(nf-float64(mode)+1) + float64(mode)*math.Log(p) + (nf-float64(mode))*math.Log(q)
	pm := math.Exp(logPmf)
	u := rng.Float64()
	if u -= pm; u < 0 {
		return mode
	}
	lo, hi := mode, mode
	pl, ph := pm, pm
	ratio := p / q
	for lo > 0 || hi < n {
		if hi < n {
			ph *= float64(n-hi) / float64(hi+1) * ratio
			hi++
			if u -= ph; u < 0 {
				return hi
			}
		}
		if lo > 0 {
			pl *= float64(lo) / float64(n-lo+1) / ratio
			lo--
			if u -= pl; u < 0 {
				return lo
			}
		}
		if ph < 1e-300 && pl < 1e-300 {
			break // the remaining mass is below float precision
		}
	}
	return mode
}

// multinomialEven splits n draws evenly at random over k cells, as
// iptables' probability chain does: cell i takes Binomial(rest, 1/(k-i)) of
// what the earlier cells left, the last cell the rest.
func multinomialEven(rng *rand.Rand, n uint64, k int) []uint64 {
	out := make([]uint64, k)
	rest := n
	for i := 0; i < k-1 && rest > 0; i++ {
		c := binomial(rng, rest, 1/float64(k-i))
		out[i] = c
		rest -= c
	}
	if k > 0 {
		out[k-1] += rest
	}
	return out
}
