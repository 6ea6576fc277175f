package apiserver

import (
	"errors"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubesim/kubesim/sim/mvcc"
)

// namespaceRetry is how often the namespace lifecycle re-checks a
// terminating namespace for remaining content.
const namespaceRetry = 5 * time.Second

// deleteNamespace marks a namespace Terminating, with the orphan /
// foregroundDeletion finalizers opts call for; the namespace lifecycle
// loop then deletes everything in it and finally the namespace itself, as
// the namespace controller does.
func (s *Server) deleteNamespace(user string, res *Resource, key string, cur *v1.Namespace, curRev int64, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	ns := cur.DeepCopy()
	now := metav1.NewTime(s.eng.Now().Truncate(timeGranularity))
	ns.DeletionTimestamp = &now
	ns.DeletionGracePeriodSeconds = ptrTo(int64(0))
	ns.Status.Phase = v1.NamespaceTerminating
	ns.Finalizers = namespaceGCFinalizers(ns.Finalizers, opts)
	ns.ResourceVersion = ""
	data := encode(res, ns)
	resp, err := s.store.Txn(mvcc.TxnRequest{
		Compare: []mvcc.Compare{{Key: key, Target: mvcc.CompareMod, Result: mvcc.CompareEqual, Int: curRev}},
		Success: []mvcc.Op{mvcc.OpPutKV(key, data)},
	})
	if err != nil || !resp.Succeeded {
		return nil, false, apierrors.NewConflict(res.GroupResource(), ns.Name, errors.New(errConflictMsg))
	}
	s.committed(res, key, resp.Rev, ns)
	s.stats.Updates++
	s.trace(user, "delete", res, ns, resp.Rev, "namespace Terminating")
	s.nsCleanup[ns.Name] = true
	s.eng.After(0, "namespace lifecycle "+ns.Name, func() { s.cleanupNamespace(ns.Name) })
	return ns, false, nil
}

// namespaceGCFinalizers returns the finalizers the first delete of a
// namespace with opts leaves on it, as the namespace REST Delete's
// shouldHaveOrphanFinalizer and shouldHaveDeleteDependentsFinalizer
// (pkg/registry/core/namespace/storage): orphanDependents decides first
// (false meaning foreground, unlike other resources), then
// propagationPolicy, else the finalizers stay. Upstream rebuilds a changed
// list from a map, in no set order; kubesim keeps the others in order and
// appends orphan, then foregroundDeletion.
func namespaceGCFinalizers(fins []string, opts *metav1.DeleteOptions) []string {
	hadOrphan, hadForeground := slices.Contains(fins, FinalizerOrphan), slices.Contains(fins, FinalizerForeground)
	orphan, foreground := hadOrphan, hadForeground
	switch {
	case opts.OrphanDependents != nil:
		orphan, foreground = *opts.OrphanDependents, !*opts.OrphanDependents
	case opts.PropagationPolicy != nil:
		orphan = *opts.PropagationPolicy == metav1.DeletePropagationOrphan
		foreground = *opts.PropagationPolicy == metav1.DeletePropagationForeground
	}
	if orphan == hadOrphan && foreground == hadForeground {
		return fins
	}
	var out []string
	for _, f := range fins {
		if f != FinalizerOrphan && f != FinalizerForeground {
			out = append(out, f)
		}
	}
	if orphan {
		out = append(out, FinalizerOrphan)
	}
	if foreground {
		out = append(out, FinalizerForeground)
	}
	return out
}

// cleanupNamespace deletes the content of a terminating namespace and, once
// it is empty, the namespace.
func (s *Server) cleanupNamespace(name string) {
	if !s.nsCleanup[name] {
		return
	}
	remaining := 0
	for _, r := range s.reg.list {
		if !r.Namespaced {
			continue
		}
		objs, _, err := s.ListSelected(r, name, Selector{})
		if err != nil {
			continue
		}
		for _, o := range objs {
			remaining++
			m := o.(metav1.Object)
			// Propagation Background, as the namespace controller
			// (namespaced_resources_deleter.go deleteCollection): it
			// also drops the orphan / foregroundDeletion finalizer of
			// an object already being deleted, which nothing else would
			// change.
			if m.GetDeletionTimestamp() == nil || hasGCFinalizer(m) {
				bg := metav1.DeletePropagationBackground
				_, _, _ = s.Delete("namespace-controller", r, name, m.GetName(), metav1.DeleteOptions{PropagationPolicy: &bg})
			}
		}
	}
	if remaining > 0 {
		s.eng.After(namespaceRetry, "namespace lifecycle "+name, func() { s.cleanupNamespace(name) })
		return
	}
	delete(s.nsCleanup, name)
	res := s.mustResource("namespaces")
	key := s.storedKey(res, "", name)
	cur, curRev, _, err := s.current(res, key, name)
	if err != nil {
		return
	}
	next := cur.DeepCopyObject().(*v1.Namespace)
	next.Spec.Finalizers = slices.DeleteFunc(next.Spec.Finalizers, func(f v1.FinalizerName) bool { return f == v1.FinalizerKubernetes })
	if len(next.Spec.Finalizers) == 0 && len(next.Finalizers) == 0 {
		_, _ = s.remove("namespace-controller", res, key, cur, curRev, "namespace emptied")
		return
	}
	_, _ = s.update("namespace-controller", res, key, cur, curRev, encode(res, cur), next, "")
}

func hasGCFinalizer(m metav1.Object) bool {
	return slices.ContainsFunc(m.GetFinalizers(), func(f string) bool { return f == FinalizerOrphan || f == FinalizerForeground })
}
