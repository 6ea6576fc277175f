package mvcc

import (
	"bytes"
	"hash/maphash"
)

// keyMap finds a key's keyIndex. Keys are looked up by directory (the key
// up to its last '/', as keyOrder groups them), each directory in a map of
// its own: a cluster's objects of one kind are one directory per namespace,
// so the pods the control loops read and write all the time sit in a map
// of their own rather than among the hundreds of thousands of Events that
// are written once and never read; a pod's lookup then touches a map a
// fraction of the size (at 5,000 nodes the run is about 2 % faster).
//
// Within a directory the map is from the key's 64-bit hash, not from the
// key: when a Go map of strings grows, it hashes every key it moves again,
// which reads the key's bytes — a cache miss per key once the store holds
// hundreds of thousands of them — and most of what storing a new key cost.
// A map from uint64 moves its keys without touching anything else.
//
// Two keys of a directory whose hashes collide (at a million keys, the
// chance that any two do is about 3·10⁻⁸) are kept apart: the first in
// byHash, the other in collided, which a lookup reads only when it holds
// something. The hash seed is random per process; nothing iterates the
// maps, so the order they would give never reaches a result.
type keyMap struct {
	seed maphash.Seed
	hash func(maphash.Seed, string) uint64 // maphash.String; tests force collisions
	// hashBytes is hash for a key given as bytes: the same value for the
	// same bytes (maphash.Bytes).
	hashBytes func(maphash.Seed, []byte) uint64
	dirs      map[string]*keySet
	n         int // keys indexed
	// recent holds the directories looked up last, the latest first: the
	// API server goes back and forth between a few (a pod, its Events).
	recent [4]*keySet
	// lastKey, lastHash and lastSet are the key get hashed last, its hash
	// (if hashed) and its directory (nil if it had none): a new key is
	// looked up, then added.
	lastKey  string
	lastHash uint64
	lastSet  *keySet
	hashed   bool
}

// keySet is the keys of one directory.
type keySet struct {
	dir      string
	byHash   map[uint64]*keyIndex
	collided map[string]*keyIndex
	n        int
}

func (m *keyMap) init() {
	m.seed = maphash.MakeSeed()
	m.hash = maphash.String
	m.hashBytes = maphash.Bytes
	m.dirs = map[string]*keySet{}
}

// dirSet returns the keys of directory dir (a string, or bytes looked up
// without making a string of them), nil if it has none.
func dirSet[D string | []byte](m *keyMap, dir D) *keySet {
	for i, ks := range m.recent {
		if ks != nil && ks.dir == string(dir) {
			m.promote(i, ks)
			return ks
		}
	}
	ks := m.dirs[string(dir)]
	if ks != nil {
		m.promote(len(m.recent)-1, ks)
	}
	return ks
}

// promote makes ks, at recent[i] or to replace it, the latest directory.
func (m *keyMap) promote(i int, ks *keySet) {
	copy(m.recent[1:i+1], m.recent[:i])
	m.recent[0] = ks
}

// get returns key's keyIndex, nil if there is none.
func (m *keyMap) get(key string) *keyIndex {
	ks := dirSet(m, dirOf(key))
	m.lastKey, m.lastSet, m.hashed = key, ks, false
	if ks == nil {
		return nil
	}
	h := m.hash(m.seed, key)
	m.lastHash, m.hashed = h, true
	if ki := ks.byHash[h]; ki != nil && ki.key == key {
		return ki
	}
	if len(ks.collided) > 0 {
		return ks.collided[key]
	}
	return nil
}

// getBytes is get for a key given as bytes, without making a string of it.
func (m *keyMap) getBytes(key []byte) *keyIndex {
	ks := dirSet(m, key[:bytes.LastIndexByte(key, '/')+1])
	if ks == nil {
		return nil
	}
	if ki := ks.byHash[m.hashBytes(m.seed, key)]; ki != nil && ki.key == string(key) {
		return ki
	}
	if len(ks.collided) > 0 {
		return ks.collided[string(key)]
	}
	return nil
}

// add indexes ki, whose key must not be indexed yet.
func (m *keyMap) add(ki *keyIndex) {
	var ks *keySet
	if ki.key == m.lastKey && m.lastSet != nil {
		ks = m.lastSet
	} else {
		ks = dirSet(m, dirOf(ki.key))
	}
	if ks == nil {
		dir := dirOf(ki.key)
		ks = &keySet{dir: dir, byHash: map[uint64]*keyIndex{}}
		m.dirs[dir] = ks
		m.promote(len(m.recent)-1, ks)
	}
	h := m.lastHash
	if !m.hashed || ki.key != m.lastKey {
		h = m.hash(m.seed, ki.key)
	}
	m.n++
	ks.n++
	if ks.byHash[h] == nil {
		ks.byHash[h] = ki
		return
	}
	if ks.collided == nil {
		ks.collided = map[string]*keyIndex{}
	}
	ks.collided[ki.key] = ki
}

// remove drops ki (which must be indexed).
func (m *keyMap) remove(ki *keyIndex) {
	ks := dirSet(m, dirOf(ki.key))
	h := m.hash(m.seed, ki.key)
	if ks.byHash[h] == ki {
		delete(ks.byHash, h)
	} else {
		delete(ks.collided, ki.key)
	}
	m.n--
	ks.n--
	if ks.n == 0 {
		// An empty directory goes (a namespace deleted, a kind no longer
		// used), and with it what it held.
		delete(m.dirs, ks.dir)
		for i, r := range m.recent {
			if r == ks {
				copy(m.recent[i:], m.recent[i+1:])
				m.recent[len(m.recent)-1] = nil
			}
		}
	}
	m.lastKey, m.lastSet, m.hashed = "", nil, false
}

// len is the number of keys indexed.
func (m *keyMap) len() int { return m.n }
