package apiserver

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/internalversion"
	listvalidation "k8s.io/apimachinery/pkg/apis/meta/internalversion/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubesim/kubesim/sim/mvcc"
)

// Get returns the current object, read from the store (a consistent read).
// The object is shared and must not be modified.
func (s *Server) Get(res *Resource, namespace, name string) (runtime.Object, error) {
	if !res.Namespaced {
		namespace = ""
	}
	obj, _, _, err := s.current(res, s.storedKey(res, namespace, name), name)
	return obj, err
}

// storedKey is res.key(namespace, name): the store's own string when the
// store holds the key (so reading or updating an object makes no key
// string), else a new one.
func (s *Server) storedKey(res *Resource, namespace, name string) string {
	s.keyBuf = res.appendKey(s.keyBuf[:0], namespace, name)
	if k, ok := s.store.KeyBytes(s.keyBuf); ok {
		return k
	}
	return string(s.keyBuf)
}

// GetLatest returns what Get returns, the current object, from the
// server's memo of what it last wrote for the key instead of from the
// store: one map lookup rather than the store's and the memo's. The memo
// follows every committed write of a resource with a watch cache (a
// delete removes its entry), so it holds exactly the store's current
// objects of such a resource; a resource without one is read through Get.
// The object is shared and must not be modified.
func (s *Server) GetLatest(res *Resource, namespace, name string) (runtime.Object, bool) {
	if res.NoWatchCache {
		obj, err := s.Get(res, namespace, name)
		return obj, err == nil
	}
	if !res.Namespaced {
		namespace = ""
	}
	s.keyBuf = res.appendKey(s.keyBuf[:0], namespace, name)
	e, ok := s.memo[string(s.keyBuf)]
	return e.obj, ok
}

// GetCached returns the object as the watch cache has it, as a GET with
// resourceVersion=0 is served by kube-apiserver: without a store read, and
// possibly a little behind the latest write (the watch delay). Resources
// without a watch cache are read from the store. The object is shared and
// must not be modified.
func (s *Server) GetCached(res *Resource, namespace, name string) (runtime.Object, error) {
	if res.NoWatchCache {
		return s.Get(res, namespace, name)
	}
	if !res.Namespaced {
		namespace = ""
	}
	s.keyBuf = res.appendKey(s.keyBuf[:0], namespace, name)
	if cur, ok := s.cachers[res].objs[string(s.keyBuf)]; ok {
		return cur.obj, nil
	}
	return nil, apierrors.NewNotFound(res.GroupResource(), name)
}

// Selector is a parsed label and field selector pair.
type Selector struct {
	Label labels.Selector
	Field fields.Selector
}

// Empty reports whether the selector matches everything.
func (sel Selector) Empty() bool {
	return (sel.Label == nil || sel.Label.Empty()) && (sel.Field == nil || sel.Field.Empty())
}

// ParseSelector parses ListOptions' label and field selectors for res and
// converts the field labels as the kind's field label conversion does
// upstream, rejecting those it does not know with its message.
func (s *Server) ParseSelector(res *Resource, opts metav1.ListOptions) (Selector, error) {
	sel, err := parseSelectors(opts)
	if err != nil {
		return sel, err
	}
	return sel, sel.convertFieldLabels(res)
}

// parseSelectors parses ListOptions' selectors (400 Bad Request with the
// parser's message, as the handler's DecodeParameters).
func parseSelectors(opts metav1.ListOptions) (Selector, error) {
	sel := Selector{Label: labels.Everything(), Field: fields.Everything()}
	if opts.LabelSelector != "" {
		ls, err := labels.Parse(opts.LabelSelector)
		if err != nil {
			return sel, apierrors.NewBadRequest(err.Error())
		}
		sel.Label = ls
	}
	if opts.FieldSelector != "" {
		fs, err := fields.ParseSelector(opts.FieldSelector)
		if err != nil {
			return sel, apierrors.NewBadRequest(err.Error())
		}
		sel.Field = fs
	}
	return sel, nil
}

// convertFieldLabels converts the field selector's labels for res (the
// handler's FieldSelector.Transform with ConvertFieldLabel; 400 Bad
// Request for a label the kind does not know).
func (sel *Selector) convertFieldLabels(res *Resource) error {
	if sel.Field == nil || sel.Field.Empty() {
		return nil
	}
	fs, err := sel.Field.Transform(func(label, value string) (string, string, error) {
		l, err := res.convertFieldLabel(label)
		return l, value, err
	})
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	sel.Field = fs
	return nil
}

// listOptions checks a list's or a watch's options as kube-apiserver's
// ListResource handler does before the storage sees them: the selectors
// parse (400), the options get the WatchList defaults (a watch from ""
// or "0" without resourceVersionMatch asks for the initial events,
// NotOlderThan: SetListOptionsDefaults, the WatchList feature being on)
// and validate (422 Invalid, ValidateListOptions), the field labels
// convert (400). It returns the options as defaulted and the selector.
func (s *Server) listOptions(res *Resource, opts metav1.ListOptions, watch bool) (metav1.ListOptions, Selector, error) {
	sel, err := parseSelectors(opts)
	if err != nil {
		return opts, sel, err
	}
	in := internalversion.ListOptions{Watch: watch, AllowWatchBookmarks: opts.AllowWatchBookmarks,
		ResourceVersion: opts.ResourceVersion, ResourceVersionMatch: opts.ResourceVersionMatch,
		Limit: opts.Limit, Continue: opts.Continue, SendInitialEvents: opts.SendInitialEvents}
	internalversion.SetListOptionsDefaults(&in, true)
	opts.SendInitialEvents, opts.ResourceVersionMatch = in.SendInitialEvents, in.ResourceVersionMatch
	if errs := listvalidation.ValidateListOptions(&in, true); len(errs) > 0 {
		return opts, sel, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "ListOptions"}, "", errs)
	}
	return opts, sel, sel.convertFieldLabels(res)
}

// Matches reports whether obj of resource res matches the selector.
func (sel Selector) Matches(res *Resource, obj runtime.Object) bool {
	if sel.Field == nil || sel.Field.Empty() {
		return sel.matches(res, obj, nil) // of is not read
	}
	return sel.matches(res, obj, new(objectFields))
}

// matches is Matches reading obj's fields through of, which a caller that
// matches many objects (the watch cache) keeps rather than allocate one
// per object.
func (sel Selector) matches(res *Resource, obj runtime.Object, of *objectFields) bool {
	m := obj.(metav1.Object)
	if sel.Label != nil && !sel.Label.Empty() && !sel.Label.Matches(labels.Set(m.GetLabels())) {
		return false
	}
	if sel.Field != nil && !sel.Field.Empty() {
		*of = objectFields{res, obj}
		ok := sel.Field.Matches(of)
		*of = objectFields{}
		if !ok {
			return false
		}
	}
	return true
}

// List returns the objects of res in namespace ("" = all namespaces) that
// match the options' selectors, in key order (namespace, then name), and the
// revision the list was read at (the list's resourceVersion), with
// upstream's resourceVersion semantics:
//   - "": the latest state (a consistent read);
//   - "0": any state: the watch cache's, which may not have the latest
//     writes yet (a resource without a watch cache reads the store);
//   - "N" with resourceVersionMatch NotOlderThan or none: the latest
//     state; 504 Timeout "Too large resource version" when N is ahead of
//     the store (the watch cache would wait for it 3 s in vain);
//   - "N" with Exact: the state at revision N, read from the store; 410
//     Gone "The resourceVersion for the provided list is too old." once N
//     is compacted.
//
// A limit pages the list (except from the watch cache with "0", which
// ignores it; a legacy "N" with a limit reads exactly N): List returns the
// first page, ListObject's list carries the continue token and, without
// selectors, remainingItemCount. Every page of a list is read at the first
// page's revision; continuing once it is compacted fails 410 Gone with a
// token that continues at the latest revision.
//
// The objects are shared and must not be modified.
func (s *Server) List(res *Resource, namespace string, opts metav1.ListOptions) ([]runtime.Object, int64, error) {
	objs, meta, err := s.list(res, namespace, opts)
	return objs, meta.rev, err
}

// listMeta is a list's metadata.
type listMeta struct {
	rev       int64  // its resourceVersion
	cont      string // the continue token of a page with more after it
	remaining *int64 // remainingItemCount
}

func (s *Server) list(res *Resource, namespace string, opts metav1.ListOptions) ([]runtime.Object, listMeta, error) {
	opts, sel, err := s.listOptions(res, opts, false)
	if err != nil {
		return nil, listMeta{}, err
	}
	if !res.Namespaced {
		namespace = ""
	}
	var rv int64
	if opts.ResourceVersion != "" {
		if rv, err = ParseResourceVersion(opts.ResourceVersion); err != nil {
			return nil, listMeta{}, apierrors.NewBadRequest(err.Error())
		}
	}
	if opts.Continue != "" {
		return s.listContinue(res, namespace, sel, opts)
	}
	switch {
	case opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact ||
		opts.ResourceVersionMatch == "" && opts.Limit > 0 && rv > 0:
		objs, meta, err := s.listAt(res, namespace, sel, rv, opts.Limit, "")
		return objs, meta, listError(err)
	case opts.ResourceVersion == "0" && !res.NoWatchCache:
		objs, rev := s.cachers[res].list(namespace, sel)
		return objs, listMeta{rev: rev}, nil
	}
	objs, meta, err := s.listAt(res, namespace, sel, 0, opts.Limit, "")
	if err != nil {
		return nil, listMeta{}, listError(err)
	}
	if rv > meta.rev {
		// The watch cache waits for N, then gives up (retry after 1 s);
		// etcd's read checks it at once (validateMinimumResourceVersion).
		retry := 1
		if res.NoWatchCache {
			retry = 0
		}
		return nil, listMeta{}, tooLargeResourceVersion(rv, meta.rev, retry)
	}
	return objs, meta, nil
}

// listContinue serves the page a continue token asks for, from the store
// at the token's revision (the watch cache serves no continuation).
func (s *Server) listContinue(res *Resource, namespace string, sel Selector, opts metav1.ListOptions) ([]runtime.Object, listMeta, error) {
	prefix, _ := res.rangeFor(namespace)
	key, rv, err := decodeContinue(opts.Continue, prefix)
	if err != nil {
		return nil, listMeta{}, apierrors.NewBadRequest(fmt.Sprintf("invalid continue token: %v", err))
	}
	if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
		return nil, listMeta{}, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
	}
	objs, meta, err := s.listAt(res, namespace, sel, max(rv, 0), opts.Limit, key)
	if errors.Is(err, mvcc.ErrCompacted) {
		// handleCompactedErrorForPaging: the rest may be listed at the
		// latest revision (token revision -1), inconsistently.
		se := apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. " +
			"You can start a new list without the continue parameter, or use the continue token in this response to retrieve " +
			"the remainder of the results. Continuing with the provided token results in an inconsistent list - objects " +
			"that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
		se.ErrStatus.ListMeta.Continue = encodeContinue(key, prefix, -1)
		return nil, listMeta{}, se
	}
	return objs, meta, listError(err)
}

// listAt reads the objects of res in namespace matching sel from the store
// at revision at (0: the latest), from key from ("": the first) on, at most
// limit of them (0: all), as the etcd3 store's GetList: a page that leaves
// keys after its last item has a continue token, and, when sel selects
// everything, the number of keys left. Errors are the store's.
func (s *Server) listAt(res *Resource, namespace string, sel Selector, at, limit int64, from string) ([]runtime.Object, listMeta, error) {
	prefix, end := res.rangeFor(namespace)
	start := prefix
	if from != "" {
		start = from
	}
	ro := mvcc.RangeOptions{Rev: at}
	if limit > 0 && sel.Empty() {
		ro.Limit = limit + 1 // one more tells whether there are more
	}
	rr, err := s.store.Range(start, end, ro)
	if err != nil {
		return nil, listMeta{}, err
	}
	meta := listMeta{rev: at}
	if at == 0 {
		meta.rev = rr.Rev
	}
	out := make([]runtime.Object, 0, len(rr.KVs))
	var lastKey string
	for _, kv := range rr.KVs {
		if limit > 0 && int64(len(out)) >= limit {
			meta.cont = encodeContinue(lastKey+"\x00", prefix, meta.rev)
			if sel.Empty() {
				n := rr.Count - limit
				meta.remaining = &n
			}
			break
		}
		lastKey = kv.Key
		obj := s.decodeKV(res, kv)
		if sel.Matches(res, obj) {
			out = append(out, obj)
		}
	}
	return out, meta, nil
}

// continueToken is a continue token's content (storage.continueToken): the
// revision of the list and the key to continue from, after the prefix.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

// encodeContinue is storage.EncodeContinue for a key under prefix.
func encodeContinue(key, prefix string, rev int64) string {
	out, err := json.Marshal(&continueToken{APIVersion: "meta.k8s.io/v1", ResourceVersion: rev, StartKey: strings.TrimPrefix(key, prefix)})
	if err != nil {
		panic(fmt.Sprintf("apiserver: encode continue token: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(out)
}

// decodeContinue is storage.DecodeContinue: the key (under prefix) and
// revision a continue token names, with upstream's errors.
func decodeContinue(token, prefix string) (string, int64, error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", 0, fmt.Errorf("continue key is not valid: %v", err)
	}
	var c continueToken
	if err := json.Unmarshal(data, &c); err != nil {
		return "", 0, fmt.Errorf("continue key is not valid: %v", err)
	}
	if c.APIVersion != "meta.k8s.io/v1" {
		return "", 0, fmt.Errorf("continue key is not valid: server does not recognize this encoded version %v", c.APIVersion)
	}
	if c.ResourceVersion == 0 {
		return "", 0, errors.New("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	}
	if c.StartKey == "" {
		return "", 0, errors.New("continue key is not valid: encoded start key empty (version meta.k8s.io/v1)")
	}
	// No climbing above the prefix (path.Clean must leave the key as is).
	key := c.StartKey
	if !strings.HasPrefix(key, "/") {
		key = "/" + key
	}
	if path.Clean(key) != key {
		return "", 0, fmt.Errorf("continue key is not valid: %v", c.StartKey)
	}
	return prefix + key[1:], c.ResourceVersion, nil
}

// listError is the API error of a failed store read, as the etcd3 store's
// interpretListError leaves it.
func listError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mvcc.ErrCompacted):
		return apierrors.NewResourceExpired("The resourceVersion for the provided list is too old.")
	case errors.Is(err, mvcc.ErrFutureRev):
		// Not interpreted upstream: the handler answers etcd's error as is.
		return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
			Reason: metav1.StatusReasonUnknown, Message: "etcdserver: " + err.Error()}}
	}
	return apierrors.NewInternalError(err)
}

// tooLargeResourceVersion is storage.NewTooLargeResourceVersionError: a
// read asked for a revision the server has not reached.
func tooLargeResourceVersion(rv, current int64, retrySeconds int) error {
	err := apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", rv, current), retrySeconds)
	err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}
	return err
}

// ListSelected is List with an already parsed selector.
func (s *Server) ListSelected(res *Resource, namespace string, sel Selector) ([]runtime.Object, int64, error) {
	if !res.Namespaced {
		namespace = ""
	}
	start, end := res.rangeFor(namespace)
	rr, err := s.store.Range(start, end, mvcc.RangeOptions{})
	if err != nil {
		return nil, 0, apierrors.NewInternalError(err)
	}
	out := make([]runtime.Object, 0, len(rr.KVs))
	for _, kv := range rr.KVs {
		obj := s.decodeKV(res, kv)
		if sel.Matches(res, obj) {
			out = append(out, obj)
		}
	}
	return out, rr.Rev, nil
}

// ListNamePrefix returns the current objects of res in namespace whose
// names begin with prefix, in name order, reading only their keys (an
// object's Events are named "<object>.<suffix>": kubesim explain finds a
// pod's Events among a large run's without decoding the others). The
// objects are shared and must not be modified.
func (s *Server) ListNamePrefix(res *Resource, namespace, prefix string) ([]runtime.Object, error) {
	if !res.Namespaced {
		namespace = ""
	}
	start := res.key(namespace, prefix)
	rr, err := s.store.Range(start, prefixEnd(start), mvcc.RangeOptions{})
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out := make([]runtime.Object, 0, len(rr.KVs))
	for _, kv := range rr.KVs {
		out = append(out, s.decodeKV(res, kv))
	}
	return out, nil
}

// ListObject is List wrapped into the resource's typed list (e.g.
// *v1.PodList) with its metadata set. Items are copies the caller owns.
func (s *Server) ListObject(res *Resource, namespace string, opts metav1.ListOptions) (runtime.Object, error) {
	objs, meta, err := s.list(res, namespace, opts)
	if err != nil {
		return nil, err
	}
	l := res.NewList()
	res.setItems(l, objs)
	lm := l.(metav1.ListInterface)
	lm.SetResourceVersion(formatRV(meta.rev))
	lm.SetContinue(meta.cont)
	lm.SetRemainingItemCount(meta.remaining)
	return l.DeepCopyObject(), nil
}

// list returns the watch cache's objects in namespace ("" = all) matching
// sel, in key order, and the cache's resourceVersion (a list from "0").
func (c *cacher) list(namespace string, sel Selector) ([]runtime.Object, int64) {
	start, _ := c.res.rangeFor(namespace)
	keys := make([]string, 0, len(c.objs))
	for k, cur := range c.objs {
		if strings.HasPrefix(k, start) && sel.matches(c.res, cur.obj, &c.fields) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]runtime.Object, len(keys))
	for i, k := range keys {
		out[i] = c.objs[k].obj
	}
	return out, c.rev
}
