// Package client is kubesim's typed clientset: the subset of client-go's
// kubernetes.Interface that kubesim's components use, with the same method
// signatures, so controller code reads like upstream's
// (c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})).
//
// Calls go straight to the in-process API server, synchronously and in zero
// simulated time. Every object a call returns is the caller's own copy.
// Each client carries the name of the component using it; the API server
// records it in the trace of every write.
//
// There is no Watch on the typed clients: components watch through
// informers (package informer), whose events the engine delivers.
package client
