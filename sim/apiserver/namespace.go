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

// deleteNamespace marks a namespace Terminating; the namespace lifecycle
// loop then deletes everything in it and finally the namespace itself, as
// the namespace controller does.
func (s *Server) deleteNamespace(user string, res *Resource, key string, cur runtime.Object, curRev int64, next runtime.Object) (runtime.Object, bool, error) {
	ns := next.(*v1.Namespace)
	now := metav1.NewTime(s.eng.Now().Truncate(timeGranularity))
	ns.DeletionTimestamp = &now
	ns.DeletionGracePeriodSeconds = ptrTo(int64(0))
	ns.Status.Phase = v1.NamespaceTerminating
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
			if m.GetDeletionTimestamp() == nil {
				_, _, _ = s.Delete("namespace-controller", r, name, m.GetName(), metav1.DeleteOptions{})
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
