package alloc

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
)

// bitmap is a set of offsets [0, size) that can be reserved one at a time.
// It follows upstream's allocator.allocationBitmap with the
// randomScanStrategyWithOffset: offsets below staticSize form the "static"
// band that dynamic allocation uses only when the upper band is full, so
// addresses users ask for by hand rarely collide with random ones.
//
// Invariant: count equals the number of set bits in words.
type bitmap struct {
	words      []uint64
	size       int // number of usable offsets
	staticSize int // offsets [0, staticSize) are the static band
	count      int
	rng        *rand.Rand
}

func newBitmap(size, staticSize int, rng *rand.Rand) *bitmap {
	if size < 0 || staticSize < 0 || staticSize > size {
		panic(fmt.Sprintf("alloc: bad bitmap geometry size=%d static=%d", size, staticSize))
	}
	return &bitmap{words: make([]uint64, (size+63)/64), size: size, staticSize: staticSize, rng: rng}
}

func (b *bitmap) has(off int) bool {
	return b.words[off/64]&(1<<(uint(off)%64)) != 0
}

// reserve sets off and reports whether it was free.
func (b *bitmap) reserve(off int) bool {
	if off < 0 || off >= b.size {
		panic(fmt.Sprintf("alloc: offset %d outside [0,%d)", off, b.size))
	}
	if b.has(off) {
		return false
	}
	b.words[off/64] |= 1 << (uint(off) % 64)
	b.count++
	return true
}

// release clears off; releasing a free offset is a no-op, as upstream.
func (b *bitmap) release(off int) {
	if off < 0 || off >= b.size || !b.has(off) {
		return
	}
	b.words[off/64] &^= 1 << (uint(off) % 64)
	b.count--
}

// next reserves a free offset: a random start in the dynamic band, scanning
// forward with wrap-around; then the same in the static band. It reports
// false when every offset is taken.
func (b *bitmap) next() (int, bool) {
	if b.count >= b.size {
		return 0, false
	}
	if upper := b.size - b.staticSize; upper > 0 {
		start := b.rng.IntN(upper)
		if off, ok := b.scan(b.staticSize, upper, start); ok {
			b.reserve(off)
			return off, true
		}
	}
	if b.staticSize > 0 {
		start := b.rng.IntN(b.staticSize)
		if off, ok := b.scan(0, b.staticSize, start); ok {
			b.reserve(off)
			return off, true
		}
	}
	return 0, false
}

// scan looks for a free offset in [base, base+n), starting at base+start and
// wrapping around. It skips full 64-bit words.
func (b *bitmap) scan(base, n, start int) (int, bool) {
	for i := 0; i < n; {
		off := base + (start+i)%n
		w := b.words[off/64]
		if w == ^uint64(0) && off%64 == 0 && i+64 <= n && (start+i)%n+64 <= n {
			i += 64
			continue
		}
		if w&(1<<(uint(off)%64)) == 0 {
			return off, true
		}
		i++
	}
	return 0, false
}

// used is the number of reserved offsets.
func (b *bitmap) used() int { return b.count }

// forEach calls fn for each reserved offset in increasing order.
func (b *bitmap) forEach(fn func(int)) {
	for wi, w := range b.words {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			fn(wi*64 + t)
			w &^= 1 << uint(t)
		}
	}
}
