package apiserver

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Operation is the kind of write an admission plugin is asked about.
type Operation string

// Admission operations.
const (
	OpCreate Operation = "CREATE"
	OpUpdate Operation = "UPDATE"
	OpDelete Operation = "DELETE"
)

// Attributes describe one write for admission plugins.
type Attributes struct {
	Operation   Operation
	Resource    *Resource
	Subresource string
	Namespace   string
	Name        string
	// Object is the object about to be stored (create, update); plugins may
	// mutate it. OldObject is the stored object (update, delete); it is
	// shared and must not be mutated.
	Object    runtime.Object
	OldObject runtime.Object
	// User is the component making the request.
	User string
	// DeleteOptions are the options of a delete.
	DeleteOptions *metav1.DeleteOptions

	// nameGenerated: Name was generated from the object's generateName,
	// which upstream's admission runs before.
	nameGenerated bool
}

// requestName is the name upstream's admission errors give the object
// (admission.extractResourceName): on a create whose name the server
// generates, the generateName, since upstream generates it after
// admission.
func (a *Attributes) requestName() string {
	if a.nameGenerated {
		return a.Object.(metav1.Object).GetGenerateName()
	}
	return a.Name
}

// AdmissionPlugin is a mutating-and-validating admission step, run after
// defaulting and before validation, as kube-apiserver's admission chain.
// An error rejects the request and is returned to the client as is (use
// k8s.io/apimachinery/pkg/api/errors to build it). Plugins must not keep
// the Attributes or the objects they point to after the call returns.
type AdmissionPlugin interface {
	Admit(a *Attributes) error
}

// CommitObserver is implemented by plugins that need to know when an
// admitted write was stored (e.g. to confirm a reserved ClusterIP) and when
// it was not (to release it). Exactly one of Committed and Aborted follows
// every Admit call that returned nil. Committed is also called, with
// Operation OpDelete and the last object in OldObject, when an object
// finally leaves the store (which for a graceful delete or pending
// finalizers is later than the DELETE request). Admit, Committed and
// Aborted of one write get the same *Attributes, so an observer may key
// what it reserved by it until Committed or Aborted returns; the server
// reuses it for a later write after that.
type CommitObserver interface {
	Committed(a *Attributes)
	Aborted(a *Attributes)
}

// CreateValidator is implemented by admission plugins whose check of a
// create can run on its own, without effect and without the cluster's
// state (the Service allocator's cluster-IP checks and allocation, undone
// at once). Validate runs it where Create runs the plugin, after
// defaulting and before validation, on the same copy, so what it fills in
// is validated too; like Create, it reports the plugin's errors alone.
type CreateValidator interface {
	ValidateCreate(a *Attributes) field.ErrorList
}

// admit runs the built-in admission plugins and then the registered ones,
// for creates and updates.
func (s *Server) admit(a *Attributes) error {
	if err := s.builtinAdmission(a); err != nil {
		return err
	}
	for i, p := range s.admission {
		if err := p.Admit(a); err != nil {
			s.abortAdmitted(a, i)
			return err
		}
	}
	return nil
}

// abortAdmitted tells the first n plugins that the write did not happen.
func (s *Server) abortAdmitted(a *Attributes, n int) {
	for _, p := range s.admission[:n] {
		if o, ok := p.(CommitObserver); ok {
			o.Aborted(a)
		}
	}
}

// afterWrite tells every plugin that the admitted write was stored; the
// write's Attributes are then released.
func (s *Server) afterWrite(a *Attributes) {
	for _, p := range s.admission {
		if o, ok := p.(CommitObserver); ok {
			o.Committed(a)
		}
	}
	s.releaseAttributes(a)
}

// aborted tells every plugin that an admitted write failed later; the
// write's Attributes are then released.
func (s *Server) aborted(a *Attributes) {
	s.abortAdmitted(a, len(s.admission))
	s.releaseAttributes(a)
}

// newAttributes returns Attributes for a write, recycled from an earlier
// write: every write makes one, and the write that made it releases it
// once the plugins were told how it ended (afterWrite or aborted; a write
// its admission refused leaves its own to the collector). Plugins keep
// none past that (see AdmissionPlugin), so none sees one reused.
func (s *Server) newAttributes() *Attributes {
	if n := len(s.attrsFree); n > 0 {
		a := s.attrsFree[n-1]
		s.attrsFree = s.attrsFree[:n-1]
		return a
	}
	return &Attributes{}
}

func (s *Server) releaseAttributes(a *Attributes) {
	*a = Attributes{} // keeps no object alive
	if len(s.attrsFree) < maxFreeAttributes {
		s.attrsFree = append(s.attrsFree, a)
	}
}

// maxFreeAttributes bounds the recycled Attributes (writes nest only as
// deep as admission plugins write from inside a write).
const maxFreeAttributes = 16
