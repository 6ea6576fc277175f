package mvcc

import (
	"bytes"
	"hash/maphash"
)

// keyHashes is how keyOrder finds a key's keyIndex: each directory maps
// its live keys' 64-bit hashes to their keyIndexes (keyDir.byHash). The
// directories are separate maps so that a pod's lookup searches the pods'
// map, a fraction of the size of one holding the hundreds of thousands of
// Events too (at 5,000 nodes the run is about 2 % faster). The maps are
// from the hash, not from the key: when a Go map of strings grows, it
// hashes every key it moves again, which reads the key's bytes — a cache
// miss per key once the store holds hundreds of thousands of them — and
// most of what storing a new key cost. A map from uint64 moves its keys
// without touching anything else.
//
// Two keys of a directory whose hashes collide (at a million keys, the
// chance that any two do is about 3·10⁻⁸) are kept apart: the first in
// byHash, the other in collided, which a lookup reads only when it holds
// something. The hash seed is random per process; nothing iterates the
// maps, so the order they would give never reaches a result.
type keyHashes struct {
	seed maphash.Seed
	hash func(maphash.Seed, string) uint64 // maphash.String; tests force collisions
	// hashBytes is hash for a key given as bytes: the same value for the
	// same bytes (maphash.Bytes).
	hashBytes func(maphash.Seed, []byte) uint64
	// lastKey, lastHash and lastDir are the key get looked up last, its
	// hash (if hashed) and its directory (nil if it had none): a new key is
	// looked up, then added.
	lastKey  string
	lastHash uint64
	lastDir  *keyDir
	hashed   bool
}

func (p *keyHashes) init() {
	p.seed = maphash.MakeSeed()
	p.hash = maphash.String
	p.hashBytes = maphash.Bytes
}

// dirOfLast is the directory of key if get looked it up last and found
// the directory, else nil.
func (p *keyHashes) dirOfLast(key string) *keyDir {
	if key == p.lastKey {
		return p.lastDir
	}
	return nil
}

// hashOf is key's hash, computed once for a lookup and the add after it.
func (p *keyHashes) hashOf(key string) uint64 {
	if p.hashed && key == p.lastKey {
		return p.lastHash
	}
	return p.hash(p.seed, key)
}

// get returns key's keyIndex, nil if there is none.
func (o *keyOrder) get(key string) *keyIndex {
	p := &o.points
	d := dirFor(o, dirOf(key))
	p.lastKey, p.lastDir, p.hashed = key, d, false
	if d == nil {
		return nil
	}
	h := p.hash(p.seed, key)
	p.lastHash, p.hashed = h, true
	if ki := d.byHash[h]; ki != nil && ki.key == key {
		return ki
	}
	if len(d.collided) > 0 {
		return d.collided[key]
	}
	return nil
}

// getBytes is get for a key given as bytes, without making a string of it.
func (o *keyOrder) getBytes(key []byte) *keyIndex {
	d := dirFor(o, key[:bytes.LastIndexByte(key, '/')+1])
	if d == nil {
		return nil
	}
	if ki := d.byHash[o.points.hashBytes(o.points.seed, key)]; ki != nil && ki.key == string(key) {
		return ki
	}
	if len(d.collided) > 0 {
		return d.collided[string(key)]
	}
	return nil
}

// index makes ki, a new key of d, found by its hash.
func (p *keyHashes) index(d *keyDir, ki *keyIndex) {
	h := p.hashOf(ki.key)
	if d.byHash[h] == nil {
		d.byHash[h] = ki
		return
	}
	if d.collided == nil {
		d.collided = map[string]*keyIndex{}
	}
	d.collided[ki.key] = ki
}

// unindex drops ki, a key of d, from d's hash map.
func (p *keyHashes) unindex(d *keyDir, ki *keyIndex) {
	h := p.hash(p.seed, ki.key)
	if d.byHash[h] == ki {
		delete(d.byHash, h)
	} else {
		delete(d.collided, ki.key)
	}
	p.lastKey, p.lastDir, p.hashed = "", nil, false
}

// hashed is the number of keys d's hash maps hold (its live keys).
func (d *keyDir) hashed() int { return len(d.byHash) + len(d.collided) }
