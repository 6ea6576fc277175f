package simtest

import (
	"context"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
)

// RenewLease creates or renews a node's Lease in kube-node-lease, as a
// kubelet's heartbeat does, so the node lifecycle controller sees the node
// alive.
func RenewLease(cl client.Interface, eng *sim.Engine, node string) {
	leases := cl.CoordinationV1().Leases(v1NamespaceNodeLease)
	now := metav1.NewMicroTime(eng.Now())
	l, err := leases.Get(context.TODO(), node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		dur := int32(40)
		_, _ = leases.Create(context.TODO(), &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: v1NamespaceNodeLease},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &node, LeaseDurationSeconds: &dur, RenewTime: &now},
		}, metav1.CreateOptions{})
		return
	}
	if err != nil {
		return
	}
	l.Spec.RenewTime = &now
	_, _ = leases.Update(context.TODO(), l, metav1.UpdateOptions{})
}

const v1NamespaceNodeLease = "kube-node-lease"
