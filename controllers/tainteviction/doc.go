// Package tainteviction is kube-controller-manager's taint eviction
// controller (upstream pkg/controller/tainteviction, "taint-eviction-controller"
// since v1.29) on kubesim's engine.
//
// For every pod bound to a node with NoExecute taints it decides, from the
// pod's tolerations, when the pod must go: a taint no toleration matches ⇒
// delete now; otherwise after the smallest tolerationSeconds of the
// tolerations used (the first matching toleration of each taint), never if
// none of them sets tolerationSeconds. The countdown starts when the
// controller sees the taint (or the pod), is kept when the taints change but
// stay tolerated, and is cancelled when the node loses its NoExecute taints.
// A deletion due at once has no countdown to cancel: it goes ahead even if
// the taint goes in the same instant (upstream starts it without a timer).
// A due pod gets the DisruptionTarget condition (reason
// DeletionByTaintManager) and a normal graceful DELETE; the
// TaintManagerEviction event "Marking for deletion Pod ns/name" precedes it.
// Countdowns are engine timers, not a poll.
//
// A deleted pod stays Terminating until its kubelet confirms: on an
// unreachable node that is when the node returns, when the pod is force
// deleted, or when PodGC removes it (node deleted, or out-of-service taint).
//
// Usage (sim/cluster does this):
//
//	tc := tainteviction.New(eng, factory, client, recorder)
//	factory.Start()
package tainteviction
