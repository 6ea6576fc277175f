package scenarios

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes/scheme"
)

// manifest decodes one Kubernetes manifest strictly into its typed object.
// path is the manifest's field path in its file ("" for a document of
// spec.files). nsNode (at nsPath) and eventNS carry an apply event's
// namespace field, when set. When the manifest has errors (all reported) it returns nil or,
// if its kind and name are readable, a placeholder without Object.
func (d *fileDec) manifest(n *yaml.Node, path string, nsNode *yaml.Node, nsPath, eventNS string) *Manifest {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(n, path, "a manifest must be a mapping, not %s", describe(n))
		return nil
	}
	before := len(d.l.errs.list)
	apiKey, apiNode := mappingKey(n, "apiVersion")
	kindKey, kindNode := mappingKey(n, "kind")
	var apiVersion string
	apiOK := false
	if apiKey == nil || isNull(apiNode) {
		d.errorf(n, joinPath(path, "apiVersion"), "required field is missing")
	} else {
		apiVersion, apiOK = d.str(apiNode, joinPath(path, "apiVersion"))
	}
	if kindKey == nil || isNull(kindNode) {
		d.errorf(n, joinPath(path, "kind"), "required field is missing")
		return nil
	}
	kind, kindOK := d.str(kindNode, joinPath(path, "kind"))
	if !kindOK {
		return nil
	}
	r, known := resourceForKind(kind)
	switch {
	case kind == Kind && apiVersion == APIVersion:
		d.errorf(kindNode, joinPath(path, "kind"), "this is a kubesim Scenario, not a Kubernetes manifest: spec.objects and spec.files hold manifests")
		return nil
	case kind == "List" || strings.HasSuffix(kind, "List"):
		d.errorf(kindNode, joinPath(path, "kind"), "%s is not supported: write one manifest per object", kind)
		return nil
	case !known:
		d.errorf(kindNode, joinPath(path, "kind"), "%s: kubesim serves %s", unsupportedKind(kind, apiVersion), strings.Join(manifestKinds(), ", "))
		return nil
	case r.Kind == "Node":
		d.errorf(kindNode, joinPath(path, "kind"), "nodes are declared in spec.cluster.nodes or added by addNode events, not as manifests")
		return nil
	case !r.Manifest:
		d.errorf(kindNode, joinPath(path, "kind"), "%s objects are created by kubesim's components, not by manifests", kind)
		return nil
	}
	if !apiOK {
		return nil
	}
	if apiVersion != r.APIVersion() {
		d.errorf(apiNode, joinPath(path, "apiVersion"), "kubesim serves %s as %s, not %q", kind, r.APIVersion(), apiVersion)
		return nil
	}
	obj := r.New()
	raw, decoded := d.decodeTyped(n, path, obj)
	if !decoded {
		return placeholder(n, r, path, eventNS, d.file)
	}
	obj.GetObjectKind().SetGroupVersionKind(r.GVK())
	acc, err := meta.Accessor(obj)
	if err != nil {
		panic(fmt.Sprintf("scenarios: %s has no ObjectMeta: %v", r.Kind, err))
	}
	name := acc.GetName()
	if name == "" {
		pos, _ := nodeAt(n, "metadata.name")
		msg := "required field is missing"
		if acc.GetGenerateName() != "" {
			msg += " (generateName is not supported: scenarios refer to objects by name)"
		}
		d.errorf(pos, joinPath(path, "metadata.name"), "%s", msg)
		return nil
	}
	ns := acc.GetNamespace()
	if r.Namespaced {
		switch {
		case ns == "":
			ns = eventNS
			if ns == "" {
				ns = DefaultNamespace
			}
		case nsNode != nil && ns != eventNS:
			pos, _ := nodeAt(n, "metadata.namespace")
			d.errorf(pos, joinPath(path, "metadata.namespace"), "namespace %q conflicts with the event's namespace %q (line %d)", ns, eventNS, nsNode.Line)
			return nil
		}
	} else {
		ns = "" // the API server clears it for cluster-scoped kinds
	}
	acc.SetNamespace(ns)
	if d.l.opts.validator != nil {
		for _, fe := range d.validate(obj, raw, r.Namespaced, ns) {
			pos, _ := nodeAt(n, fe.Field)
			d.errorf(pos, joinPath(path, fe.Field), "%s", fe.ErrorBody())
		}
	}
	if len(d.l.errs.list) != before {
		return placeholder(n, r, path, eventNS, d.file)
	}
	m := &Manifest{Object: obj, JSON: raw, Resource: r, Namespace: ns, Name: name, Source: Source{File: d.file, Line: lineOf(n)}, path: path}
	m.locate(n, nsNode, nsPath)
	return m
}

// locate records where the manifest's name and namespace are written.
func (m *Manifest) locate(n, nsNode *yaml.Node, nsPath string) {
	if pos, found := nodeAt(n, "metadata.name"); found {
		m.nameLine = lineOf(pos)
	}
	switch pos, found := nodeAt(n, "metadata.namespace"); {
	case found:
		m.nsLine, m.nsPath = lineOf(pos), joinPath(m.path, "metadata.namespace")
	case nsNode != nil:
		m.nsLine, m.nsPath = lineOf(nsNode), nsPath
	}
}

// placeholder stands for a manifest that did not decode, so that the
// timeline checks still know the object it names (the scenario is rejected
// anyway). It has no Object; nil when the name cannot be read.
func placeholder(n *yaml.Node, r Resource, path, eventNS, file string) *Manifest {
	_, md := mappingKey(n, "metadata")
	if md == nil || md.Kind != yaml.MappingNode {
		return nil
	}
	_, nameNode := mappingKey(md, "name")
	name := scalarValue(nameNode)
	if name == "" {
		return nil
	}
	ns := ""
	if r.Namespaced {
		_, nsNode := mappingKey(md, "namespace")
		ns = cmp.Or(scalarValue(nsNode), eventNS, DefaultNamespace)
	}
	m := &Manifest{Resource: r, Namespace: ns, Name: name, Source: Source{File: file, Line: lineOf(n)}, path: path}
	m.locate(n, nil, "")
	return m
}

// validate runs the injected validator on a copy carrying the
// last-applied-configuration annotation, as kubectl apply sends the object
// (its size counts towards the API server's limit on annotations). A panic
// in it is an internal error; it is reported as a field error rather than
// crashing the load, so bad input can never take the process down.
func (d *fileDec) validate(obj runtime.Object, raw []byte, namespaced bool, ns string) (errs field.ErrorList) {
	defer func() {
		if r := recover(); r != nil {
			errs = field.ErrorList{field.InternalError(nil, fmt.Errorf("validation panicked: %v", r))}
		}
	}()
	obj = obj.DeepCopyObject()
	if original, _, err := appliedConfiguration(raw, obj, namespaced, ns); err == nil {
		acc, _ := meta.Accessor(obj)
		ann := maps.Clone(acc.GetAnnotations())
		if ann == nil {
			ann = map[string]string{}
		}
		ann[v1.LastAppliedConfigAnnotation] = string(original)
		acc.SetAnnotations(ann)
	}
	return d.l.opts.validator.Validate(obj)
}

// AppliedConfiguration is kubectl's GetModifiedConfiguration
// (k8s.io/kubectl/pkg/util/apply.go) with its unstructured JSON encoding:
// the manifest as written (with the namespace kubectl fills in or
// clears), without the annotation (original, which becomes the
// last-applied-configuration annotation), and with it (modified, the
// patch target of kubectl apply).
func (m *Manifest) AppliedConfiguration() (original, modified []byte, err error) {
	return appliedConfiguration(m.JSON, m.Object, m.Resource.Namespaced, m.Namespace)
}

func appliedConfiguration(raw []byte, object runtime.Object, namespaced bool, ns string) (original, modified []byte, err error) {
	if raw == nil {
		if raw, err = json.Marshal(object); err != nil {
			return nil, nil, fmt.Errorf("cannot encode the manifest: %w", err)
		}
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, nil, fmt.Errorf("cannot read the manifest back: %w", err)
	}
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	// The resource builder's SetNamespace and FilterNamespace
	// (k8s.io/cli-runtime/pkg/resource): a cluster-scoped object has none.
	if namespaced {
		md["namespace"] = ns
	} else {
		delete(md, "namespace")
	}
	// kubectl sets the annotations to a non-nil map before encoding, so a
	// manifest without annotations records "annotations":{}.
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		md["annotations"] = ann
	}
	delete(ann, v1.LastAppliedConfigAnnotation)
	if original, err = json.Marshal(obj); err != nil {
		return nil, nil, err
	}
	// The unstructured JSON encoder kubectl uses (json.Encoder) ends with a
	// newline, which the annotation keeps.
	original = append(original, '\n')
	ann[v1.LastAppliedConfigAnnotation] = string(original)
	if modified, err = json.Marshal(obj); err != nil {
		return nil, nil, err
	}
	return original, modified, nil
}

// unsupportedKind says why kubesim refuses a kind it does not serve: a
// Kubernetes kind it does not simulate (StatefulSet, Job, …) is named as
// such, a CustomResourceDefinition or a kind of a group Kubernetes does not
// serve is a custom resource, anything else is an unknown kind (a typo,
// with a suggestion).
func unsupportedKind(kind, apiVersion string) string {
	if kind == "CustomResourceDefinition" {
		return kind + " is not supported (custom resources are not simulated)"
	}
	groups := map[string]bool{}
	for gvk := range scheme.Scheme.AllKnownTypes() {
		if gvk.Kind == kind && gvk.Version != runtime.APIVersionInternal && !strings.HasSuffix(kind, "Options") {
			return kind + " is not supported"
		}
		groups[gvk.Group] = true
	}
	if gv, err := schema.ParseGroupVersion(apiVersion); err == nil && apiVersion != "" && !groups[gv.Group] {
		return fmt.Sprintf("unknown kind %q in %s: custom resources are not supported", kind, apiVersion)
	}
	return fmt.Sprintf("unknown kind %q%s", kind, suggest(kind, manifestKinds()))
}
