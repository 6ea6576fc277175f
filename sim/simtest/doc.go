// Package simtest has helpers for tests of components that need a running
// cluster before the real kubelet model is involved: ready nodes and a fake
// kubelet that runs every bound pod at once. Production code never uses it.
package simtest
