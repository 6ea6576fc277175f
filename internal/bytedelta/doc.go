// Package bytedelta encodes a byte string as instructions that rebuild it
// from another one (the base): copy a run of the base, or take literal
// bytes. The store keeps superseded versions of an object as deltas against
// the next version (Encode); the API server stores every value as a delta
// against a dictionary (Dict): a resource's own first values, or for
// events a fixed set of typical events.
//
// A delta is a sequence of ops, each a uvarint header h and its operand:
//
//	h&1 == 1:  the h>>1 literal bytes that follow
//	h&3 == 0:  copy h>>2 bytes of the base, from the offset given by the
//	           uvarint that follows
//	h&7 == 2:  copy h>>3 bytes of the value being rebuilt, from the offset
//	           (from its start) given by the uvarint that follows; they
//	           are rebuilt already (Dict's repeats: a pod's name in an
//	           event's name, its involved object and its message)
//	h&15 == 6: h>>4 lower-case hex digits, packed two to a byte (the
//	           first in the high nibble) in the (h>>4+1)/2 bytes that follow
//	h == 14:   a lower-case UUID (8-4-4-4-12 hex digits and dashes), its
//	           32 digits packed in the 16 bytes that follow
//
// The last two keep the random parts of objects (UIDs, container IDs, the
// hex suffix of an event's name), which no copy finds, at half their size.
//
// General-purpose compressors with dictionaries exist (S2, zstd), but for
// values of a few hundred bytes their per-call set-up (S2 clears a 64 KiB
// hash table on every call) costs several times the encoding itself; a
// Dict here indexes its base once.
package bytedelta
