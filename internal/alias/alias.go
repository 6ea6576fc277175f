// Package alias tells whether two slices are one in memory. kubesim's
// stored objects are immutable and share their unchanged parts from one
// version to the next (an update copies the spec struct, not the slices
// in it), so "the same backing array" is a cheap and exact test that a
// part did not change — cheaper than comparing the contents.
package alias

// Same reports whether a and b are the same elements in memory: the same
// length and, unless empty, the same first element. Two empty slices are
// the same whatever their nil-ness.
func Same[E any](a, b []E) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
