package alloc

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubesim/kubesim/sim/apiserver"
)

// Admission plugs an Allocator into the API server as an admission plugin
// and commit observer, the place of upstream's allocation step inside the
// Service REST storage (pkg/registry/core/service/storage):
//
//   - Admit, for a Service create or update (not /status), reserves the
//     ClusterIP and NodePorts the object needs and writes them into it, or
//     rejects the write with 422 Invalid and upstream's field error, such
//     as "failed to allocate IP 10.96.0.10: provided IP is already
//     allocated" on spec.clusterIPs, or with 500 Internal error where
//     upstream does (a full range).
//   - Committed makes the reservation final once the write was stored, and
//     releases what an update gave up.
//   - Aborted gives the reservation back when the write was not stored
//     (validation failed, a no-op write, a conflict).
//   - Committed with OpDelete (the Service finally left the store) releases
//     everything it held.
//
// Register it before any Service is written:
//
//	api.AddAdmission(alloc.NewAdmission(alc))
type Admission struct {
	a *Allocator
	// open holds the transaction of each admitted write until the API
	// server says whether it was stored.
	open map[*apiserver.Attributes]*Txn
}

var (
	_ apiserver.AdmissionPlugin = (*Admission)(nil)
	_ apiserver.CommitObserver  = (*Admission)(nil)
	_ apiserver.CreateValidator = (*Admission)(nil)
)

// NewAdmission returns the admission plugin for a.
func NewAdmission(a *Allocator) *Admission {
	return &Admission{a: a, open: map[*apiserver.Attributes]*Txn{}}
}

// Allocator is the allocator the plugin drives.
func (p *Admission) Allocator() *Allocator { return p.a }

var serviceKind = schema.GroupKind{Kind: "Service"}

func isServiceWrite(a *apiserver.Attributes) bool {
	return a.Resource != nil && a.Resource.Name == "services" && a.Subresource == ""
}

// Admit implements apiserver.AdmissionPlugin.
func (p *Admission) Admit(a *apiserver.Attributes) error {
	if !isServiceWrite(a) || (a.Operation != apiserver.OpCreate && a.Operation != apiserver.OpUpdate) {
		return nil
	}
	if _, dup := p.open[a]; dup {
		panic(fmt.Sprintf("alloc: write to Service %s/%s admitted twice", a.Namespace, a.Name))
	}
	svc, ok := a.Object.(*v1.Service)
	if !ok {
		panic(fmt.Sprintf("alloc: services write carries %T", a.Object))
	}
	var old *v1.Service
	if a.Operation == apiserver.OpUpdate {
		old = a.OldObject.(*v1.Service)
	}
	t, errs := p.a.Begin(string(a.Operation), svc, old)
	if len(errs) > 0 {
		return statusError(a.Name, errs)
	}
	p.open[a] = t
	return nil
}

// ValidateCreate implements apiserver.CreateValidator: the checks and
// allocations Admit makes on a create, undone at once, so the API
// server's Validate reports what a create reports and validates what the
// allocation filled in.
func (p *Admission) ValidateCreate(a *apiserver.Attributes) field.ErrorList {
	if !isServiceWrite(a) || a.Operation != apiserver.OpCreate {
		return nil
	}
	svc, ok := a.Object.(*v1.Service)
	if !ok {
		panic(fmt.Sprintf("alloc: services write carries %T", a.Object))
	}
	t, errs := p.a.Begin(OpCreate, svc, nil)
	if len(errs) > 0 {
		return errs
	}
	t.Revert()
	return nil
}

// Committed implements apiserver.CommitObserver.
func (p *Admission) Committed(a *apiserver.Attributes) {
	if !isServiceWrite(a) {
		return
	}
	if a.Operation == apiserver.OpDelete {
		old, ok := a.OldObject.(*v1.Service)
		if !ok {
			panic(fmt.Sprintf("alloc: services delete carries %T", a.OldObject))
		}
		p.a.Admit(OpDelete, nil, old)
		return
	}
	if t, ok := p.open[a]; ok {
		delete(p.open, a)
		t.Commit()
	}
}

// Aborted implements apiserver.CommitObserver.
func (p *Admission) Aborted(a *apiserver.Attributes) {
	if t, ok := p.open[a]; ok {
		delete(p.open, a)
		t.Revert()
	}
}

// Pending is the number of admitted writes the API server has not yet
// reported as stored or aborted (0 between requests).
func (p *Admission) Pending() int { return len(p.open) }
