package apiserver

import (
	"errors"
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/mvcc"
)

// errConflictMsg is upstream's optimistic-lock message (storage.OptimisticLockErrorMsg).
const errConflictMsg = "the object has been modified; please apply your changes to the latest version and try again"

// Finalizers the API server adds for deletion propagation.
const (
	FinalizerOrphan     = metav1.FinalizerOrphanDependents // "orphan"
	FinalizerForeground = metav1.FinalizerDeleteDependents // "foregroundDeletion"
	maxGeneratedNameLen = 63 - 5                           // names.maxGeneratedNameLength
	// maxNameGenerationCreateAttempts is how many names a create with
	// generateName tries (registry.maxNameGenerationCreateAttempts).
	maxNameGenerationCreateAttempts = 8
	namespaceFinalizer              = string(v1.FinalizerKubernetes) // "kubernetes"
	userAPIServer                   = "apiserver"
)

// Create stores a new object in namespace (ignored for cluster-scoped
// resources), as POST /api/.../<resource> does: defaulting, admission,
// validation, then a create-if-absent transaction. It returns the stored
// object, which is shared and must not be modified.
func (s *Server) Create(user string, res *Resource, namespace string, in runtime.Object, opts metav1.CreateOptions) (runtime.Object, error) {
	return s.create(user, res, namespace, in.DeepCopyObject(), in.(metav1.Object).GetName(), opts)
}

// CreateOwned is Create for a caller that hands its object over: obj
// becomes the server's (it may be stored and shared), so the caller must
// not use it afterwards. It spares the copy of objects built only to be
// created, such as events. For a resource without a watch cache
// (NoWatchCache: events) the server keeps no reference to obj once the call
// has returned, so the caller may then reuse it for its next create.
func (s *Server) CreateOwned(user string, res *Resource, namespace string, obj runtime.Object, opts metav1.CreateOptions) (runtime.Object, error) {
	return s.create(user, res, namespace, obj, obj.(metav1.Object).GetName(), opts)
}

// create stores obj; requestedName is the name the request carried (empty
// when the server generates one from generateName).
func (s *Server) create(user string, res *Resource, namespace string, obj runtime.Object, requestedName string, opts metav1.CreateOptions) (runtime.Object, error) {
	if err := NoDryRun(opts.DryRun); err != nil {
		return nil, err
	}
	clearTypeMeta(obj)
	m := obj.(metav1.Object)
	if err := s.fixNamespace(res, namespace, m); err != nil {
		return nil, err
	}
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(generatedName(m.GetGenerateName(), s.generateNameSuffix()))
	}
	// Server-set fields (rest.FillObjectMetaSystemFields); clients cannot set them.
	m.SetUID(s.newUID())
	m.SetCreationTimestamp(metav1.NewTime(s.eng.Now().Truncate(timeGranularity)))
	m.SetResourceVersion("")
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetGeneration(0)
	if res.specEqual != nil {
		m.SetGeneration(1)
	}
	if res.defaults != nil {
		res.defaults(obj)
	}
	if res.prepareForCreate != nil {
		res.prepareForCreate(obj)
	}
	attrs := s.newAttributes()
	*attrs = Attributes{Operation: OpCreate, Resource: res, Namespace: m.GetNamespace(), Name: m.GetName(), Object: obj, User: user,
		nameGenerated: requestedName == "" && m.GetGenerateName() != ""}
	if err := s.admit(attrs); err != nil {
		return nil, err
	}
	if errs := s.validateCreate(res, obj); len(errs) > 0 {
		s.aborted(attrs)
		return nil, apierrors.NewInvalid(res.GroupKind(), m.GetName(), errs)
	}
	if err := s.builtinValidation(attrs); err != nil {
		s.aborted(attrs)
		return nil, err
	}
	normalizeTimes(obj)
	if p, ok := obj.(*v1.Pod); ok {
		s.intern.pod(p)
	}
	var key string
	var data []byte
	put := func() (int64, bool) {
		if res.NoWatchCache {
			// Events: written once, read rarely; the store keeps the key
			// and the value in one object (a big cluster holds hundreds of
			// thousands).
			key, data = res.keyWithValue(m.GetNamespace(), m.GetName(), encodeTransient(res, obj))
		} else {
			key, data = res.key(m.GetNamespace(), m.GetName()), encode(res, obj)
		}
		return s.store.PutIfMod(key, 0, data) // create if absent
	}
	rev, ok := put()
	// A generated name that is taken is generated again, up to
	// maxNameGenerationCreateAttempts in all (createWithGenerateNameRetry).
	for try := 1; !ok && requestedName == "" && m.GetGenerateName() != "" && try < maxNameGenerationCreateAttempts; try++ {
		m.SetName(generatedName(m.GetGenerateName(), s.generateNameSuffix()))
		attrs.Name = m.GetName()
		rev, ok = put()
	}
	if !ok {
		s.aborted(attrs)
		if m.GetGenerateName() != "" {
			// rest.CheckGeneratedNameError: whenever there is a generateName.
			return nil, apierrors.NewGenerateNameConflict(res.GroupResource(), m.GetName(), 1)
		}
		err := apierrors.NewAlreadyExists(res.GroupResource(), m.GetName())
		if held, found := s.store.Get(key); found && s.decodeKV(res, held).(metav1.Object).GetDeletionTimestamp() != nil {
			err.ErrStatus.Message = "object is being deleted: " + err.ErrStatus.Message
		}
		return nil, err
	}
	s.committed(res, key, rev, obj)
	s.stats.Creates++
	s.trace(user, "create", res, m, rev, "")
	s.afterWrite(attrs)
	return obj, nil
}

// NoDryRun refuses a request that asks for a dry run (any dryRun
// option), which kubesim does not have: it would otherwise write for real.
func NoDryRun(dryRun []string) error {
	if len(dryRun) > 0 {
		return apierrors.NewBadRequest("dryRun is not supported by kubesim")
	}
	return nil
}

// generatedName is names.SimpleNameGenerator's name: the generateName,
// cut to leave room for the suffix, then the suffix.
func generatedName(base, suffix string) string {
	if len(base) > maxGeneratedNameLen {
		base = base[:maxGeneratedNameLen]
	}
	return base + suffix
}

// Update replaces an object, as PUT does. subresource is "" for the main
// resource or "status". If the object carries a resourceVersion the write is
// a compare-and-swap on it (Conflict if stale); without one it applies to
// the latest version. A write that changes nothing returns the existing
// object without bumping the revision.
func (s *Server) Update(user string, res *Resource, namespace string, in runtime.Object, subresource string, opts metav1.UpdateOptions) (runtime.Object, error) {
	if err := NoDryRun(opts.DryRun); err != nil {
		return nil, err
	}
	return s.updateIn(user, res, namespace, in, subresource, false)
}

// UpdateOwned is Update for a caller that hands its object over: obj
// becomes the server's (it may be stored and shared, as may anything it
// points to), so neither it nor what it references may be modified
// afterwards. It spares the copy of objects built only to be written, such
// as a kubelet's status updates.
func (s *Server) UpdateOwned(user string, res *Resource, namespace string, obj runtime.Object, subresource string, opts metav1.UpdateOptions) (runtime.Object, error) {
	if err := NoDryRun(opts.DryRun); err != nil {
		return nil, err
	}
	return s.updateIn(user, res, namespace, obj, subresource, true)
}

func (s *Server) updateIn(user string, res *Resource, namespace string, in runtime.Object, subresource string, owned bool) (runtime.Object, error) {
	im := in.(metav1.Object)
	if err := s.checkSubresource(res, subresource); err != nil {
		return nil, err
	}
	if res.Namespaced && im.GetNamespace() != "" && namespace != "" && im.GetNamespace() != namespace {
		return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if !res.Namespaced {
		namespace = ""
	} else if namespace == "" {
		namespace = im.GetNamespace()
	}
	name := im.GetName()
	if name == "" {
		return nil, apierrors.NewBadRequest("resource name may not be empty")
	}
	key := s.storedKey(res, namespace, name)
	cur, curRev, curData, err := s.current(res, key, name)
	if err != nil {
		return nil, err
	}
	if err := s.checkResourceVersion(res, name, im.GetResourceVersion(), curRev); err != nil {
		return nil, err
	}
	var obj runtime.Object
	switch {
	case owned:
		obj = in
	case subresource == "status":
		// /status keeps the stored spec (and what each status strategy
		// protects); metadata such as annotations may change.
		obj = copyForStatusUpdate(in, cur)
	default:
		obj = in.DeepCopyObject()
	}
	clearTypeMeta(obj)
	if subresource == "status" {
		prepareStatusUpdate(obj, cur)
	} else if res.HasStatus {
		copyStatus(obj, cur)
	}
	if res.defaults != nil && subresource == "" {
		res.defaults(obj)
	}
	return s.update(user, res, key, cur, curRev, curData, obj, subresource)
}

// update validates and stores obj as the next version of cur (the object
// stored at curRev with bytes curData). obj is owned by the server.
func (s *Server) update(user string, res *Resource, key string, cur runtime.Object, curRev int64, curData []byte, obj runtime.Object, subresource string) (runtime.Object, error) {
	m, om := obj.(metav1.Object), cur.(metav1.Object)
	// rest.BeforeUpdate: system fields come from the stored object.
	m.SetNamespace(om.GetNamespace())
	m.SetResourceVersion(om.GetResourceVersion()) // not stored; see encode
	m.SetCreationTimestamp(om.GetCreationTimestamp())
	m.SetDeletionTimestamp(om.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(om.GetDeletionGracePeriodSeconds())
	if m.GetUID() == "" {
		m.SetUID(om.GetUID())
	}
	m.SetGeneration(om.GetGeneration())
	if subresource == "" && res.specEqual != nil && !res.specEqual(obj, cur) {
		m.SetGeneration(om.GetGeneration() + 1)
	}
	if subresource == "" && res.prepareForUpdate != nil {
		res.prepareForUpdate(obj, cur)
	}
	attrs := s.newAttributes()
	*attrs = Attributes{Operation: OpUpdate, Resource: res, Subresource: subresource, Namespace: m.GetNamespace(), Name: m.GetName(), Object: obj, OldObject: cur, User: user}
	if err := s.admit(attrs); err != nil {
		return nil, err
	}
	var errs field.ErrorList
	errs = append(errs, validateMetaUpdate(m, om)...)
	if subresource == "" && res.validateUpdate != nil {
		errs = append(errs, res.validateUpdate(obj, cur)...)
	}
	if subresource == "status" && res.validateStatus != nil {
		errs = append(errs, res.validateStatus(obj, cur)...)
	}
	if len(errs) > 0 {
		s.aborted(attrs)
		return nil, apierrors.NewInvalid(res.GroupKind(), m.GetName(), errs)
	}
	if err := s.builtinValidation(attrs); err != nil {
		s.aborted(attrs)
		return nil, err
	}
	normalizeTimes(obj)
	if p, ok := obj.(*v1.Pod); ok {
		s.intern.podStatus(&p.Status)
	}
	// An object being deleted whose last finalizer was just removed goes
	// away (ShouldDeleteDuringUpdate; a namespace only once its
	// spec.finalizers are empty too, ShouldDeleteNamespaceDuringUpdate).
	if m.GetDeletionTimestamp() != nil && len(m.GetFinalizers()) == 0 &&
		(m.GetDeletionGracePeriodSeconds() == nil || *m.GetDeletionGracePeriodSeconds() == 0) && !namespaceFinalizing(obj) {
		s.aborted(attrs)
		return s.remove(user, res, key, cur, curRev, "finalizers removed")
	}
	data := encode(res, obj)
	if res.codec.sameValue(data, res.scratch, curData) {
		s.aborted(attrs)
		s.stats.NoopWrites++
		return cur, nil
	}
	rev, ok := s.store.PutIfMod(key, curRev, data)
	if !ok {
		// Unreachable while the server is the only writer, but kept honest.
		s.aborted(attrs)
		s.stats.Conflicts++
		return nil, apierrors.NewConflict(res.GroupResource(), m.GetName(), errors.New(errConflictMsg))
	}
	s.committed(res, key, rev, obj)
	s.stats.Updates++
	if s.eng.Tracing() {
		verb := "update"
		switch subresource {
		case "":
		case "binding":
			verb = "bind"
		default:
			verb = "update/" + subresource
		}
		s.trace(user, verb, res, m, rev, "")
	}
	s.afterWrite(attrs)
	return obj, nil
}

// Delete deletes an object as DELETE does: preconditions, graceful deletion
// (pods get a deletionTimestamp and stay until their kubelet deletes them
// with grace 0), finalizers (the object stays with a deletionTimestamp until
// they are removed) and propagation policy (Orphan and Foreground add the
// orphan / foregroundDeletion finalizers for the garbage collector). It
// returns the object as it is after the call and whether it is gone.
//
// A graceful deletion whose grace period is 0 (an explicit 0, an
// unscheduled or terminal pod, a kubelet's final delete) is two writes, as
// upstream's registry store (Store.Delete and
// updateForGracefulDeletionAndFinalizers): the object is first stored with
// its deletionTimestamp and deletionGracePeriodSeconds 0 (a MODIFIED watch
// event), then removed (DELETED, carrying that version). An object of a
// resource without graceful deletion, or already at
// deletionGracePeriodSeconds 0, is removed in one write.
func (s *Server) Delete(user string, res *Resource, namespace, name string, opts metav1.DeleteOptions) (runtime.Object, bool, error) {
	if !res.Namespaced {
		namespace = ""
	}
	if err := namespaceDeletable(res, name); err != nil {
		return nil, false, err
	}
	key := s.storedKey(res, namespace, name)
	cur, curRev, _, err := s.current(res, key, name)
	if err != nil {
		return nil, false, err
	}
	om := cur.(metav1.Object)
	// rest.BeforeDelete: options, then preconditions (its wording, which
	// names the kind), then a negative grace period counts as 1 s.
	if errs := metav1validation.ValidateDeleteOptions(&opts); len(errs) > 0 {
		return nil, false, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "DeleteOptions"}, "", errs)
	}
	if err := NoDryRun(opts.DryRun); err != nil {
		return nil, false, err
	}
	kindRes := schema.GroupResource{Group: res.GroupVersion.Group, Resource: res.Kind}
	if p := opts.Preconditions; p != nil {
		if p.UID != nil && *p.UID != om.GetUID() {
			return nil, false, apierrors.NewConflict(kindRes, name,
				fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *p.UID, om.GetUID()))
		}
		if p.ResourceVersion != nil && *p.ResourceVersion != om.GetResourceVersion() {
			return nil, false, apierrors.NewConflict(kindRes, name,
				fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", *p.ResourceVersion, om.GetResourceVersion()))
		}
	}
	if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds < 0 {
		opts.GracePeriodSeconds = ptrTo(int64(1))
	}

	if ns, ok := cur.(*v1.Namespace); ok {
		// The namespace REST Delete (pkg/registry/core/namespace/storage):
		// the first delete starts the namespace lifecycle; the namespace
		// goes only once its spec.finalizers are empty.
		if ns.DeletionTimestamp == nil {
			return s.deleteNamespace(user, res, key, ns, curRev, &opts)
		}
		if len(ns.Spec.Finalizers) > 0 {
			return cur, false, nil
		}
	}

	next := cur.DeepCopyObject()
	m := next.(metav1.Object)
	changed := false
	// Propagation policy ⇒ finalizers (genericregistry deletionFinalizersForGarbageCollection).
	fins := m.GetFinalizers()
	if gc, ok := gcFinalizers(fins, &opts, res.noGarbageCollection); ok {
		fins, changed = gc, true
	}
	m.SetFinalizers(fins)

	grace := int64(0)
	graceful := false
	now := s.eng.Now().Truncate(timeGranularity)
	if dt := om.GetDeletionTimestamp(); dt != nil {
		// Already being deleted (rest.BeforeDelete): while a graceful
		// deletion is pending, only an explicit shorter grace period
		// changes anything (not even finalizers), and it counts from the
		// first request: the deletionTimestamp moves by the difference.
		if old := om.GetDeletionGracePeriodSeconds(); res.gracePeriod != nil && old != nil && *old > 0 {
			if opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds >= *old {
				return cur, false, nil
			}
			grace, graceful = *opts.GracePeriodSeconds, true
			shorter := metav1.NewTime(dt.Add(secondsDuration(grace - *old)))
			m.SetDeletionTimestamp(&shorter)
			m.SetDeletionGracePeriodSeconds(&grace)
			changed = true
		}
	} else if res.gracePeriod != nil {
		grace, graceful = res.gracePeriod(cur, opts)
	}
	if om.GetDeletionTimestamp() != nil {
		if !changed && (len(m.GetFinalizers()) > 0 || graceful) {
			return cur, false, nil
		}
	} else if graceful || len(fins) > 0 {
		dt := metav1.NewTime(now.Add(secondsDuration(grace)))
		m.SetDeletionTimestamp(&dt)
		m.SetDeletionGracePeriodSeconds(&grace)
		if m.GetGeneration() > 0 {
			// rest.BeforeDelete bumps the generation of a graceful deletion.
			m.SetGeneration(m.GetGeneration() + 1)
		}
		changed = true
	}
	if len(m.GetFinalizers()) == 0 && !graceful {
		// No graceful strategy, or already at deletionGracePeriodSeconds 0
		// (rest.BeforeDelete: not graceful): errDeleteNow, one write.
		obj, err := s.remove(user, res, key, cur, curRev, "")
		return obj, err == nil, err
	}
	if !changed {
		return cur, false, nil
	}
	m.SetResourceVersion("")
	normalizeTimes(next)
	// A compare-and-swap on the version read, as the update path's:
	// every pod deletion comes through here.
	rev, ok := s.store.PutIfMod(key, curRev, encode(res, next))
	if !ok {
		return nil, false, apierrors.NewConflict(res.GroupResource(), name, errors.New(errConflictMsg))
	}
	s.committed(res, key, rev, next)
	s.stats.Updates++
	if s.eng.Tracing() {
		msg := ""
		if graceful {
			msg = fmt.Sprintf("graceful deletion, grace period %ds", grace)
		} else {
			msg = fmt.Sprintf("deletion waits for finalizers %v", m.GetFinalizers())
		}
		s.trace(user, "delete", res, m, rev, msg)
	}
	if graceful && grace == 0 && len(m.GetFinalizers()) == 0 {
		// A graceful deletion with nothing left to wait for: the version
		// with deletionGracePeriodSeconds 0 just written is removed
		// (updateForGracefulDeletionAndFinalizers: lastGraceful is 0, so
		// Store.Delete deletes immediately), and the DELETED event carries
		// it.
		obj, err := s.remove(user, res, key, next, rev, "")
		return obj, err == nil, err
	}
	return next, false, nil
}

// namespaceFinalizing reports whether obj is a namespace whose
// spec.finalizers are not empty yet.
func namespaceFinalizing(obj runtime.Object) bool {
	ns, ok := obj.(*v1.Namespace)
	return ok && len(ns.Spec.Finalizers) > 0
}

// gcFinalizers returns the finalizers a delete with opts leaves on an
// object that has fins, and whether they differ (as sets) from fins, as
// upstream's deletionFinalizersForGarbageCollection: orphan and
// foregroundDeletion are dropped, then added back as the options (an
// explicit policy, Background included, wins) or else the finalizers
// already there (the first of the two found) decide. No kubesim resource
// orphans its dependents by default. A resource whose garbage collection
// policy is Unsupported (unsupported) keeps neither.
func gcFinalizers(fins []string, opts *metav1.DeleteOptions, unsupported bool) ([]string, bool) {
	var orphan, foreground bool
	switch {
	case unsupported:
	case opts.OrphanDependents != nil:
		orphan = *opts.OrphanDependents
	case opts.PropagationPolicy != nil:
		orphan = *opts.PropagationPolicy == metav1.DeletePropagationOrphan
		foreground = *opts.PropagationPolicy == metav1.DeletePropagationForeground
	default:
		for _, f := range fins {
			if f == FinalizerOrphan || f == FinalizerForeground {
				orphan, foreground = f == FinalizerOrphan, f == FinalizerForeground
				break
			}
		}
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
	if len(out) == len(fins) && !slices.ContainsFunc(out, func(f string) bool { return !slices.Contains(fins, f) }) &&
		!slices.ContainsFunc(fins, func(f string) bool { return !slices.Contains(out, f) }) {
		return fins, false
	}
	return out, true
}

// remove deletes key from the store; the watch DELETED event carries the
// last object with the deletion revision as its resourceVersion.
func (s *Server) remove(user string, res *Resource, key string, cur runtime.Object, curRev int64, msg string) (runtime.Object, error) {
	resp, err := s.store.Txn(mvcc.TxnRequest{
		Compare: []mvcc.Compare{{Key: key, Target: mvcc.CompareMod, Result: mvcc.CompareEqual, Int: curRev}},
		Success: []mvcc.Op{mvcc.OpDel(key, "")},
	})
	m := cur.(metav1.Object)
	if err != nil || !resp.Succeeded {
		return nil, apierrors.NewConflict(res.GroupResource(), m.GetName(), errors.New(errConflictMsg))
	}
	gone := cur.DeepCopyObject()
	gone.(metav1.Object).SetResourceVersion(formatRV(resp.Rev))
	s.committedDelete(res, key, resp.Rev, gone)
	s.stats.Deletes++
	s.trace(user, "deleted", res, m, resp.Rev, msg)
	attrs := s.newAttributes()
	*attrs = Attributes{Operation: OpDelete, Resource: res, Namespace: m.GetNamespace(), Name: m.GetName(), OldObject: cur, User: user}
	s.afterWrite(attrs)
	return gone, nil
}

// current reads the object at key at the store's current revision.
func (s *Server) current(res *Resource, key, name string) (runtime.Object, int64, []byte, error) {
	kv, ok := s.store.Get(key)
	if !ok {
		return nil, 0, nil, apierrors.NewNotFound(res.GroupResource(), name)
	}
	return s.decodeKV(res, kv), kv.ModRevision, kv.Value, nil
}

// decodeKV returns the object stored in kv, from the memo when the server
// wrote that version itself (always, unless the memo was bypassed).
func (s *Server) decodeKV(res *Resource, kv mvcc.KeyValue) runtime.Object {
	if e, ok := s.memo[kv.Key]; ok && e.rev == kv.ModRevision {
		return e.obj
	}
	obj := decode(res, kv.Value)
	obj.(metav1.Object).SetResourceVersion(formatRV(kv.ModRevision))
	return obj
}

// committed records a successful put of obj at rev: the memo and the watch
// cache's pending log learn the decoded object.
//
// A resource without a watch cache keeps nothing of obj: its watchers, if
// any, get the change decoded from the store's bytes (see passThrough).
func (s *Server) committed(res *Resource, key string, rev int64, obj runtime.Object) {
	res.writes++
	obj.(metav1.Object).SetResourceVersion(formatRV(rev))
	if res.NoWatchCache {
		return
	}
	// The store's copy of the key: assigning a map entry stores the key
	// given, and an update's key is a fresh string.
	if k, ok := s.store.Key(key); ok {
		key = k
	}
	s.memo[key] = memoEntry{rev: rev, obj: obj}
	s.cachers[res].written(key, rev, obj)
}

func (s *Server) committedDelete(res *Resource, key string, rev int64, gone runtime.Object) {
	res.writes++
	delete(s.memo, key)
	s.cachers[res].written(key, rev, gone)
}

func (s *Server) fixNamespace(res *Resource, namespace string, m metav1.Object) error {
	if !res.Namespaced {
		m.SetNamespace("")
		return nil
	}
	if namespace == "" {
		namespace = m.GetNamespace()
	}
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	if m.GetNamespace() != "" && m.GetNamespace() != namespace {
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	m.SetNamespace(namespace)
	return nil
}

func (s *Server) checkSubresource(res *Resource, sub string) error {
	switch sub {
	case "":
		return nil
	case "status":
		if res.HasStatus {
			return nil
		}
	}
	return apierrors.NewNotFound(res.GroupResource(), sub)
}

func (s *Server) validateCreate(res *Resource, obj runtime.Object) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateMeta(res, obj.(metav1.Object))...)
	if res.validate != nil {
		errs = append(errs, res.validate(obj)...)
	}
	return errs
}

func (s *Server) trace(user, verb string, res *Resource, m metav1.Object, rev int64, msg string) {
	if !s.eng.Tracing() {
		return
	}
	if msg == "" && res.describe != nil {
		msg = res.describe(m.(runtime.Object))
	}
	s.eng.Trace(sim.Record{Component: user, Verb: verb, Kind: res.Kind, Namespace: m.GetNamespace(), Name: m.GetName(), RV: rev, Msg: msg})
}

func clearTypeMeta(obj runtime.Object) {
	obj.GetObjectKind().SetGroupVersionKind(emptyGVK)
}
