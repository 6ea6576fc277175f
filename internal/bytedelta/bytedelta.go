package bytedelta

import (
	"encoding/binary"
	"math/bits"
)

const (
	// minCopy is the shortest run of shared bytes worth a copy op (a copy
	// costs two to four bytes of header).
	minCopy = 8
	// resyncOld and resyncNew bound how far a resync looks ahead, in the
	// superseded value and in the next one, for the place where the two
	// line up again: the next version of an object more often gains bytes
	// (a field set, a condition added) than loses them.
	resyncOld = 64
	resyncNew = 256
	// resyncBuckets is the size of the resync's hash table (a power of 2
	// above resyncOld+1).
	resyncBuckets = 128
)

// Encode appends to dst the delta that rebuilds old from next, and returns
// it.
//
// Two versions of one object differ in a few places (a field set, a
// condition added, a length prefix grown), not just in one middle stretch:
// Encode walks both values, copying the runs they share and keeping the
// rest literally, and after each difference finds where they line up again
// (resync). It never reads beyond either value, and whatever it finds the
// delta rebuilds old exactly; finding less only costs bytes.
func Encode(dst, old, next []byte) []byte {
	i, j, lit := 0, 0, 0 // position in old, in next; start of the pending literal in old
	for i < len(old) {
		if j < len(next) {
			if m := commonPrefix(old[i:], next[j:]); m >= minCopy {
				dst = appendLiteral(dst, old[lit:i])
				dst = appendCopy(dst, j, m)
				i, j, lit = i+m, j+m, i+m
				continue
			}
		}
		a, b, ok := resync(old[i:], next[min(j, len(next)):])
		if ok {
			i, j = i+a, j+b // old[i:i+a] joins the pending literal
			continue
		}
		// Nothing lines up nearby: the rest is literal, but for a shared
		// suffix.
		s := 0
		if j < len(next) {
			s = commonSuffix(old[i:], next[j:])
		}
		if s < minCopy {
			s = 0
		}
		dst = appendLiteral(dst, old[lit:len(old)-s])
		if s > 0 {
			dst = appendCopy(dst, len(next)-s, s)
		}
		return dst
	}
	return appendLiteral(dst, old[lit:])
}

// resync finds where old and next line up again after a difference at
// their starts: a and b (a <= resyncOld, b <= resyncNew) with minCopy equal
// bytes at old[a:] and next[b:]. It indexes the 8-byte words starting in
// old's window (the first a for each hash), then takes the first b whose
// word is there; a hash collision can hide a match, which only costs bytes.
func resync(old, next []byte) (a, b int, ok bool) {
	if len(old) < minCopy || len(next) < minCopy {
		return 0, 0, false
	}
	var table [resyncBuckets]int8 // 1 + the first a whose word hashes there; 0 = none
	for a := 0; a <= resyncOld && a+minCopy <= len(old); a++ {
		if h := wordHash(old[a:]); table[h] == 0 {
			table[h] = int8(a + 1)
		}
	}
	for b := 0; b <= resyncNew && b+minCopy <= len(next); b++ {
		w := binary.LittleEndian.Uint64(next[b:])
		if a := int(table[wordHash(next[b:])]) - 1; a >= 0 && binary.LittleEndian.Uint64(old[a:]) == w {
			return a, b, true
		}
	}
	return 0, 0, false
}

// wordHash hashes the 8 bytes at the start of p into [0, resyncBuckets).
func wordHash(p []byte) int {
	const shift = 64 - 7 // log2(resyncBuckets) = 7
	return int(binary.LittleEndian.Uint64(p) * 0x9e3779b97f4a7c15 >> shift)
}

// appendCopy appends a copy of n bytes of the base at off.
func appendCopy(dst []byte, off, n int) []byte {
	dst = binary.AppendUvarint(dst, uint64(n)<<2)
	return binary.AppendUvarint(dst, uint64(off))
}

// appendBackCopy appends a copy of n bytes of the value itself, at off
// from its start (already rebuilt: off+n is at most the current length).
func appendBackCopy(dst []byte, off, n int) []byte {
	dst = binary.AppendUvarint(dst, uint64(n)<<2|2)
	return binary.AppendUvarint(dst, uint64(off))
}

func appendLiteral(dst, lit []byte) []byte {
	if len(lit) == 0 {
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(len(lit))<<1|1)
	return append(dst, lit...)
}

// Apply appends to dst the value that delta rebuilds from base, and returns
// it. delta must come from Encode against this base (or from a Dict made
// of it); Apply panics on anything else.
func Apply(dst, delta, base []byte) []byte {
	start := len(dst)
	for len(delta) > 0 {
		h, n := binary.Uvarint(delta)
		delta = delta[n:]
		if h&1 == 1 {
			size := int(h >> 1)
			dst = append(dst, delta[:size]...)
			delta = delta[size:]
			continue
		}
		size := int(h >> 2)
		off, n := binary.Uvarint(delta)
		delta = delta[n:]
		if h&2 == 0 {
			dst = append(dst, base[off:int(off)+size]...)
		} else {
			from := start + int(off)
			dst = append(dst, dst[from:from+size]...)
		}
	}
	return dst
}

// commonPrefix is the length of the longest common prefix of a and b.
func commonPrefix(a, b []byte) int {
	limit := min(len(a), len(b))
	n := 0
	for n+8 <= limit {
		if x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < limit && a[n] == b[n] {
		n++
	}
	return n
}

// commonSuffix is the length of the longest common suffix of a and b.
func commonSuffix(a, b []byte) int {
	n, la, lb := 0, len(a), len(b)
	for n+8 <= la && n+8 <= lb && binary.LittleEndian.Uint64(a[la-n-8:]) == binary.LittleEndian.Uint64(b[lb-n-8:]) {
		n += 8
	}
	for n < la && n < lb && a[la-1-n] == b[lb-1-n] {
		n++
	}
	return n
}
