package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
)

// patchTypes are the patch types every resource serves, in the order of
// upstream's API installer, which also serves server-side apply
// (application/apply-patch+yaml); kubesim does not.
var patchTypes = []string{string(types.JSONPatchType), string(types.MergePatchType), string(types.StrategicMergePatchType)}

// maxJSONPatchOperations is the most operations a JSON patch may have
// (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go).
const maxJSONPatchOperations = 10000

// ValidatePatchRequest checks a PATCH request before its object is read,
// in PatchResource's order: the patch type (415 for one the server does
// not serve), then the options (kubesim refuses any dryRun; force is only
// for apply patches). The client calls it; Patch checks the type again.
func ValidatePatchRequest(pt types.PatchType, opts metav1.PatchOptions) error {
	if err := checkPatchType(pt); err != nil {
		return err
	}
	if err := NoDryRun(opts.DryRun); err != nil {
		return err
	}
	if errs := metav1validation.ValidatePatchOptions(&opts, pt); len(errs) > 0 {
		return apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "PatchOptions"}, "", errs)
	}
	return nil
}

// checkPatchType is negotiation.NewUnsupportedMediaTypeError for a patch
// type the server does not serve.
func checkPatchType(pt types.PatchType) error {
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
		return nil
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType,
		Reason:  metav1.StatusReasonUnsupportedMediaType,
		Message: "the body of the request was in an unknown format - accepted media types include: " + strings.Join(patchTypes, ", ")}}
}

// unknownError is how the API server answers an error that is not an API
// status (responsewriters.ErrorToAPIStatus): a 500 with its text.
func unknownError(err error) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
		Reason: metav1.StatusReasonUnknown, Message: err.Error()}}
}

// Patch applies a JSON patch, JSON merge patch or strategic merge patch to
// the current object and stores the result like an update (to subresource
// "" or "status"), as upstream's PatchResource and patcher do
// (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go): the
// patch applies to the object encoded at its served version, apiVersion
// and kind included; the result may not move the object to another
// namespace or name; a resourceVersion in it is a precondition.
// Server-side apply is not supported (415).
func (s *Server) Patch(user string, res *Resource, namespace, name string, pt types.PatchType, data []byte, subresource string) (runtime.Object, error) {
	if err := checkPatchType(pt); err != nil {
		return nil, err
	}
	if err := s.checkSubresource(res, subresource); err != nil {
		return nil, err
	}
	if !res.Namespaced {
		namespace = ""
	}
	key := s.storedKey(res, namespace, name)
	cur, curRev, curData, err := s.current(res, key, name)
	if err != nil {
		return nil, err
	}
	obj, err := applyPatch(res, cur, pt, data)
	if err != nil {
		return nil, err
	}
	clearTypeMeta(obj)
	m := obj.(metav1.Object)
	// patcher.applyPatch: rest.EnsureObjectNamespaceMatchesRequestNamespace,
	// then checkName.
	switch {
	case !res.Namespaced || m.GetNamespace() == "":
		m.SetNamespace(namespace)
	case m.GetNamespace() != namespace:
		return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if m.GetName() != name {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), name))
	}
	if err := s.checkResourceVersion(res, name, m.GetResourceVersion(), curRev); err != nil {
		return nil, err
	}
	if subresource == "status" {
		prepareStatusUpdate(obj, cur)
	} else if res.HasStatus {
		copyStatus(obj, cur)
	}
	if subresource == "" && res.defaults != nil {
		res.defaults(obj)
	}
	return s.update(user, res, key, cur, curRev, curData, obj, subresource)
}

// checkResourceVersion is the registry store's optimistic concurrency
// (Store.Update) for an update or a patch result carrying rv: one that is
// not a number fails with the parser's error
// (APIObjectVersioner.ObjectResourceVersion); empty or 0 is an
// unconditional update, which the resources with noUnconditionalUpdate
// refuse; any other must be the stored object's.
func (s *Server) checkResourceVersion(res *Resource, name, rv string, curRev int64) error {
	var n uint64
	if rv != "" {
		var err error
		if n, err = strconv.ParseUint(rv, 10, 64); err != nil {
			return unknownError(err)
		}
	}
	switch {
	case n == 0 && res.noUnconditionalUpdate:
		gr := res.GroupResource()
		return apierrors.NewInvalid(schema.GroupKind{Group: gr.Group, Kind: gr.Resource}, name,
			field.ErrorList{field.Invalid(field.NewPath("metadata", "resourceVersion"), n, "must be specified for an update")})
	case n != 0 && n != uint64(curRev):
		s.stats.Conflicts++
		return apierrors.NewConflict(res.GroupResource(), name, fmt.Errorf("%s", errConflictMsg))
	}
	return nil
}

// applyPatch returns the patched copy of cur: a new object of the
// resource's type.
func applyPatch(res *Resource, cur runtime.Object, pt types.PatchType, data []byte) (runtime.Object, error) {
	obj := res.New()
	if pt == types.StrategicMergePatchType {
		return obj, strategicPatch(res, cur, data, obj)
	}
	orig, err := encodeVersioned(res, cur)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	patched, err := applyJSPatch(pt, orig, data)
	if err != nil {
		return nil, err
	}
	// jsonPatcher.applyPatchToCurrentObject: decoded by the scope's codec,
	// case-sensitively (unknown fields are dropped).
	if err := kjson.UnmarshalCaseSensitivePreserveInts(patched, obj); err != nil {
		return nil, apierrors.NewInvalid(schema.GroupKind{}, "", field.ErrorList{field.Invalid(field.NewPath("patch"), string(patched), err.Error())})
	}
	return obj, nil
}

// encodeVersioned is the JSON of a stored object (which carries no type
// meta) as the codec writes it: kind and apiVersion first.
func encodeVersioned(res *Resource, obj runtime.Object) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil || !obj.GetObjectKind().GroupVersionKind().Empty() || len(data) < 2 {
		return data, err
	}
	prefix := fmt.Sprintf(`{"kind":%q,"apiVersion":%q`, res.Kind, res.GroupVersion.String())
	out := make([]byte, 0, len(prefix)+len(data)+1)
	out = append(out, prefix...)
	if data[1] != '}' {
		out = append(out, ',')
	}
	return append(out, data[1:]...), nil
}

// applyJSPatch is jsonPatcher.applyJSPatch.
func applyJSPatch(pt types.PatchType, orig, data []byte) ([]byte, error) {
	if pt == types.MergePatchType {
		patched, err := jsonpatch.MergePatch(orig, data)
		switch {
		case err == jsonpatch.ErrBadJSONPatch:
			return nil, apierrors.NewBadRequest(err.Error())
		case err != nil:
			return nil, unknownError(err)
		}
		return patched, nil
	}
	p, err := jsonpatch.DecodePatch(data)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if len(p) > maxJSONPatchOperations {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("The allowed maximum operations in a JSON patch is %d, got %d", maxJSONPatchOperations, len(p)))
	}
	patched, err := p.Apply(orig)
	if err != nil {
		// The library's error is not passed on.
		return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
	}
	return patched, nil
}

// strategicPatch is smpPatcher.applyPatchToCurrentObject with
// strategicPatchObject and applyPatchToObject: the patch map (ints kept)
// merged into the object's unstructured form, decoded into obj.
func strategicPatch(res *Resource, cur runtime.Object, data []byte, obj runtime.Object) error {
	orig, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cur)
	if err != nil {
		return unknownError(err)
	}
	orig["apiVersion"] = res.GroupVersion.String()
	orig["kind"] = res.Kind
	patch := map[string]any{}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, &patch); err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	patched, err := strategicpatch.StrategicMergeMapPatch(orig, patch, obj)
	if err != nil {
		return strategicPatchError(err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(patched, obj); err != nil {
		return apierrors.NewInvalid(schema.GroupKind{}, "", field.ErrorList{field.Invalid(field.NewPath("patch"), fmt.Sprintf("%+v", patch), err.Error())})
	}
	return nil
}

// strategicPatchError is interpretStrategicMergePatchError.
func strategicPatchError(err error) error {
	switch err {
	case mergepatch.ErrBadJSONDoc, mergepatch.ErrBadPatchFormatForPrimitiveList, mergepatch.ErrBadPatchFormatForRetainKeys,
		mergepatch.ErrBadPatchFormatForSetElementOrderList, mergepatch.ErrUnsupportedStrategicMergePatchFormat:
		return apierrors.NewBadRequest(err.Error())
	case mergepatch.ErrNoListOfLists, mergepatch.ErrPatchContentNotMatchRetainKeys:
		return apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
	}
	return unknownError(err)
}
