package mvcc

import "hash/maphash"

// keyMap finds a key's keyIndex. It is a map from the key's 64-bit hash,
// not from the key: when a Go map of strings grows, it hashes every key
// it moves again, which reads the key's bytes — a cache miss per key once
// the store holds hundreds of thousands of them (the Events of a large
// run), and most of what storing a new key cost. A map from uint64 moves
// its keys without touching anything else.
//
// Two keys whose hashes collide (at a million keys, the chance that any
// two do is about 3·10⁻⁸) are kept apart: the first in byHash, the other in collided, which
// a lookup reads only when it holds something. The hash seed is random per
// process; nothing iterates the map, so the order it would give never
// reaches a result.
type keyMap struct {
	seed maphash.Seed
	hash func(maphash.Seed, string) uint64 // maphash.String; tests force collisions
	// hashBytes is hash for a key given as bytes: the same value for the
	// same bytes (maphash.Bytes).
	hashBytes func(maphash.Seed, []byte) uint64
	byHash    map[uint64]*keyIndex
	collided  map[string]*keyIndex
	// lastKey and lastHash are the key get hashed last and its hash (if
	// hashed): a new key is looked up, then added.
	lastKey  string
	lastHash uint64
	hashed   bool
}

func (m *keyMap) init() {
	m.seed = maphash.MakeSeed()
	m.hash = maphash.String
	m.hashBytes = maphash.Bytes
	m.byHash = map[uint64]*keyIndex{}
}

// get returns key's keyIndex, nil if there is none.
func (m *keyMap) get(key string) *keyIndex {
	h := m.hash(m.seed, key)
	m.lastKey, m.lastHash, m.hashed = key, h, true
	if ki := m.byHash[h]; ki != nil && ki.key == key {
		return ki
	}
	if len(m.collided) > 0 {
		return m.collided[key]
	}
	return nil
}

// getBytes is get for a key given as bytes, without making a string of it.
func (m *keyMap) getBytes(key []byte) *keyIndex {
	if ki := m.byHash[m.hashBytes(m.seed, key)]; ki != nil && ki.key == string(key) {
		return ki
	}
	if len(m.collided) > 0 {
		return m.collided[string(key)]
	}
	return nil
}

// add indexes ki, whose key must not be indexed yet.
func (m *keyMap) add(ki *keyIndex) {
	h := m.lastHash
	if !m.hashed || ki.key != m.lastKey {
		h = m.hash(m.seed, ki.key)
	}
	if m.byHash[h] == nil {
		m.byHash[h] = ki
		return
	}
	if m.collided == nil {
		m.collided = map[string]*keyIndex{}
	}
	m.collided[ki.key] = ki
}

// remove drops ki (which must be indexed).
func (m *keyMap) remove(ki *keyIndex) {
	h := m.hash(m.seed, ki.key)
	if m.byHash[h] == ki {
		delete(m.byHash, h)
		return
	}
	delete(m.collided, ki.key)
}

// len is the number of keys indexed.
func (m *keyMap) len() int { return len(m.byHash) + len(m.collided) }
