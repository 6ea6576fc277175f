package bytedelta

import (
	"encoding/binary"
	"fmt"
)

// Dict compresses short values that share phrases with a fixed base (the
// dictionary): a delta copies the runs of a value found in the base and
// keeps the rest literally. The base is indexed once, so an encoding costs
// one hash per byte not covered by a copy.
type Dict struct {
	base []byte
	// table maps the hash of the dictMatch bytes at a base offset to the
	// last such offset + 1 (0: none). 16-bit offsets, and about one slot
	// per base offset up to 2,048 (see tableBits), keep it small — 2 KiB
	// for a pod's 1 KiB base, at most 4 KiB: an encoding touches it at
	// random, and a busy program's caches hold little of a bigger one.
	// Where two offsets hash alike the later one stays; on kubesim's
	// values that costs no bytes (their stored sizes are the same as with
	// the 16 KiB tables before), as the runs worth copying recur in a base.
	table []uint16
	shift uint8 // 64 - log2(len(table))
}

const (
	minTableBits  = selfTableBits // Encode's self table takes the low bits of the same hash
	maxTableBits  = 11
	selfTableBits = 8
	// dictMatch is the shortest run copied from the base (a copy op costs
	// two or three bytes).
	dictMatch = 6
)

// MaxDictBase is the longest base a dictionary takes (its offsets are 16
// bits).
const MaxDictBase = 1<<16 - 2

// NewDict returns a dictionary with base (kept, not copied; the caller
// must not modify it). Bases beyond MaxDictBase are refused.
func NewDict(base []byte) *Dict {
	if len(base) > MaxDictBase {
		panic(fmt.Sprintf("bytedelta: a dictionary of %d bytes, over %d", len(base), MaxDictBase))
	}
	bits := tableBits(len(base))
	d := &Dict{base: base, table: make([]uint16, 1<<bits), shift: uint8(64 - bits)}
	for i := 0; i+8 <= len(base); i++ {
		d.table[d.hash(binary.LittleEndian.Uint64(base[i:]))] = uint16(i + 1)
	}
	return d
}

// tableBits is log2 of the table's size for a base of n bytes: the
// smallest power of two of at least as many slots as the base has offsets,
// within [minTableBits, maxTableBits].
func tableBits(n int) int {
	b := minTableBits
	for b < maxTableBits && 1<<b < n {
		b++
	}
	return b
}

// hash hashes the dictMatch bytes at the start of the 8-byte word w into
// the table.
func (d *Dict) hash(w uint64) int {
	return int((w << 16) * 0x9e3779b97f4a7c15 >> d.shift)
}

// Encode appends to dst the delta of src against the dictionary: at each
// position, the longer of the runs found in the base and earlier in src.
func (d *Dict) Encode(dst, src []byte) []byte {
	// self maps the hash of the bytes at a position of src to the last
	// such position + 1; positions past its range are not indexed.
	var self [1 << selfTableBits]uint16
	i, lit := 0, 0
	for i+8 <= len(src) {
		w := binary.LittleEndian.Uint64(src[i:])
		h := d.hash(w)
		s, c, m := i, -1, 0 // the best run: src[s:s+m] from base[c:] (or, if back, src[c:])
		back := false
		if cand := int(d.table[h]) - 1; cand >= 0 && binary.LittleEndian.Uint32(d.base[cand:]) == uint32(w) {
			c, m = cand, commonPrefix(src[i:], d.base[cand:])
			for s > lit && c > 0 && src[s-1] == d.base[c-1] {
				s, c, m = s-1, c-1, m+1
			}
		}
		sh := h & (1<<selfTableBits - 1)
		if cand := int(self[sh]) - 1; cand >= 0 && cand < i && binary.LittleEndian.Uint32(src[cand:]) == uint32(w) {
			// The run must end before i: it is rebuilt by the time it is
			// copied.
			bm := commonPrefix(src[i:min(len(src), i+(i-cand))], src[cand:i])
			bs, bc := i, cand
			for bs > lit && bc > 0 && src[bs-1] == src[bc-1] {
				bs, bc, bm = bs-1, bc-1, bm+1
			}
			bm = min(bm, bs-bc)      // the copy reads only bytes rebuilt before it
			if bm > m && bs+bm > i { // and it gets past i
				s, c, m, back = bs, bc, bm, true
			}
		}
		if i < 1<<16-1 {
			self[sh] = uint16(i + 1)
		}
		if m < dictMatch {
			// Step faster through a long literal stretch (an ID, a
			// hash), as Snappy does.
			i += 1 + (i-lit)>>4
			continue
		}
		dst = appendLiteral(dst, src[lit:s])
		if back {
			dst = appendBackCopy(dst, c, m)
		} else {
			dst = appendCopy(dst, c, m)
		}
		i = s + m
		lit = i
	}
	return appendLiteral(dst, src[lit:])
}

// Decode appends to dst the value that delta (from Encode) rebuilds.
func (d *Dict) Decode(dst, delta []byte) []byte { return Apply(dst, delta, d.base) }
