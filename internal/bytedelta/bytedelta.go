package bytedelta

import (
	"encoding/binary"
	"math/bits"
	"slices"
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
	dst = binary.AppendUvarint(dst, uint64(n)<<3|opBackCopy)
	return binary.AppendUvarint(dst, uint64(off))
}

// Op headers (see doc.go): the low bits say which op.
const (
	opBackCopy = 2  // h&7
	opHex      = 6  // h&15: h>>4 lower-case hex digits, packed two per byte
	opUUID     = 14 // h&15: a lower-case UUID, its 32 digits packed in 16 bytes
)

// minHexRun is the shortest run of hex digits packed (shorter ones cost
// more in op headers than packing saves).
const minHexRun = 12

// uuidLen is the length of a UUID's text, 8-4-4-4-12 hex digits, and
// uuidGroups the spans of its digit groups.
const uuidLen = 36

var uuidGroups = [5][2]int{{0, 8}, {9, 13}, {14, 18}, {19, 23}, {24, 36}}

// appendLiteral appends lit as ops: literal bytes, except that the UUIDs
// and long runs of lower-case hex digits in it (object UIDs, container IDs,
// event name suffixes: random, so no copy finds them) are packed two
// digits to a byte.
func appendLiteral(dst, lit []byte) []byte {
	start := 0 // of the bytes not yet written
	for i := 0; i < len(lit); {
		if !isHex(lit[i]) {
			i++
			continue
		}
		if len(lit)-i >= uuidLen {
			if d, ok := appendUUID(dst, lit[start:i], lit[i:i+uuidLen]); ok {
				dst = d
				i += uuidLen
				start = i
				continue
			}
		}
		n := 1
		for i+n < len(lit) && isHex(lit[i+n]) {
			n++
		}
		if n >= minHexRun {
			dst = appendPlain(dst, lit[start:i])
			dst = binary.AppendUvarint(dst, uint64(n)<<4|opHex)
			dst = packHex(dst, lit[i:i+n])
			start = i + n
		}
		i += n
	}
	return appendPlain(dst, lit[start:])
}

func appendPlain(dst, lit []byte) []byte {
	if len(lit) == 0 {
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(len(lit))<<1|1)
	return append(dst, lit...)
}

func isHex(c byte) bool { return c-'0' < 10 || c-'a' < 6 }

// nibbles maps a lower-case hex digit to its value, anything else to
// 0xff.
var nibbles = func() (t [256]byte) {
	for c := range t {
		t[c] = 0xff
	}
	for i, c := range hexDigits {
		t[c] = byte(i)
	}
	return t
}()

// appendUUID appends plain (a pending literal) and the UUID op for u if u
// (uuidLen bytes) is a lower-case UUID's text; else it returns dst
// unchanged and false. The four dashes are checked first: most hex runs
// in a value are not UUIDs.
func appendUUID(dst, plain, u []byte) ([]byte, bool) {
	if len(u) != uuidLen || u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-' {
		return dst, false
	}
	var packed [16]byte // the 32 digits, two to a byte
	var bad byte
	k := 0
	for _, g := range uuidGroups {
		for j := g[0]; j < g[1]; j += 2 {
			hi, lo := nibbles[u[j]], nibbles[u[j+1]]
			bad |= hi | lo
			packed[k] = hi<<4 | lo&15
			k++
		}
	}
	if bad&0xf0 != 0 {
		return dst, false
	}
	dst = appendPlain(dst, plain)
	dst = append(dst, opUUID)
	return append(dst, packed[:]...), true
}

// packHex appends the hex digits of h two to a byte, the first in the high
// nibble (an odd count leaves the last low nibble 0).
func packHex(dst, h []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, (len(h)+1)/2)[:n+(len(h)+1)/2]
	out := dst[n:]
	for i := range out {
		b := nibble(h[2*i]) << 4
		if 2*i+1 < len(h) {
			b |= nibble(h[2*i+1])
		}
		out[i] = b
	}
	return dst
}

func nibble(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

const hexDigits = "0123456789abcdef"

// unpackHex appends the n digits packed in p.
func unpackHex(dst, p []byte, n int) []byte {
	for i := 0; i < n; i++ {
		b := p[i/2]
		if i%2 == 0 {
			b >>= 4
		}
		dst = append(dst, hexDigits[b&15])
	}
	return dst
}

// Apply appends to dst the value that delta rebuilds from base, and returns
// it. delta must come from Encode against this base (or from a Dict made
// of it); Apply panics on anything else.
func Apply(dst, delta, base []byte) []byte {
	start := len(dst)
	for len(delta) > 0 {
		h, n := binary.Uvarint(delta)
		delta = delta[n:]
		switch {
		case h&1 == 1:
			size := int(h >> 1)
			dst = append(dst, delta[:size]...)
			delta = delta[size:]
		case h&3 == 0:
			off, n := binary.Uvarint(delta)
			delta = delta[n:]
			dst = append(dst, base[off:int(off)+int(h>>2)]...)
		case h&7 == opBackCopy:
			size := int(h >> 3)
			off, n := binary.Uvarint(delta)
			delta = delta[n:]
			from := start + int(off)
			dst = append(dst, dst[from:from+size]...)
		case h&15 == opHex:
			digits := int(h >> 4)
			dst = unpackHex(dst, delta, digits)
			delta = delta[(digits+1)/2:]
		case h == opUUID:
			for k, g := range uuidGroups {
				if k > 0 {
					dst = append(dst, '-')
				}
				digits := g[1] - g[0]
				dst = unpackHex(dst, delta, digits)
				delta = delta[digits/2:]
			}
		default:
			panic("bytedelta: unknown op")
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
