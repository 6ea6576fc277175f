package scenarios

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// fakeAPIServer answers kubectl get for one object at a time: legacy
// discovery of every kind kubesim knows (/api, /apis and each group
// version) and GET of the object it holds, as the JSON a real API server
// returns (apiVersion and kind set). Nothing else: kubectl get -o jsonpath
// asks for no more.
type fakeAPIServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	path string // the object's URL path
	body []byte // its JSON
}

func newFakeAPIServer(t *testing.T) *fakeAPIServer {
	t.Helper()
	f := &fakeAPIServer{}
	groups := map[string][]metav1.APIResource{} // "v1" or "group/version"
	var groupList metav1.APIGroupList
	groupList.TypeMeta = metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}
	for _, r := range Resources {
		gv := r.APIVersion()
		if _, seen := groups[gv]; !seen && r.Group != "" {
			v := metav1.GroupVersionForDiscovery{GroupVersion: gv, Version: r.Version}
			groupList.Groups = append(groupList.Groups, metav1.APIGroup{Name: r.Group, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v})
		}
		groups[gv] = append(groups[gv], metav1.APIResource{Name: r.Plural, SingularName: r.Singular(), Namespaced: r.Namespaced,
			Kind: r.Kind, ShortNames: r.ShortNames, Verbs: metav1.Verbs{"get", "list"}})
	}
	write := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		require.NoError(t, json.NewEncoder(w).Encode(v))
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := req.URL.Path
		switch {
		case p == "/api":
			write(w, metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
				ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: req.Host}}})
			return
		case p == "/apis":
			write(w, groupList)
			return
		}
		gv := strings.TrimPrefix(strings.TrimPrefix(p, "/api/"), "/apis/")
		if list, ok := groups[gv]; ok {
			write(w, metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv, APIResources: list})
			return
		}
		f.mu.Lock()
		path, body := f.path, f.body
		f.mu.Unlock()
		if p != path {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// get runs `kubectl get KIND NAME -o jsonpath=TEMPLATE` against the server
// holding obj and returns its standard output, or its standard error and
// an error when it fails.
func (f *fakeAPIServer) get(t *testing.T, kubectl string, obj runtime.Object, r Resource, template string) (string, error) {
	t.Helper()
	obj = obj.DeepCopyObject()
	obj.GetObjectKind().SetGroupVersionKind(r.GVK())
	acc, err := meta.Accessor(obj)
	require.NoError(t, err)
	body, err := json.Marshal(obj)
	require.NoError(t, err)
	path := "/api/v1/"
	if r.Group != "" {
		path = "/apis/" + r.APIVersion() + "/"
	}
	if r.Namespaced {
		path += "namespaces/" + acc.GetNamespace() + "/"
	}
	path += r.Plural + "/" + acc.GetName()
	f.mu.Lock()
	f.path, f.body = path, body
	f.mu.Unlock()

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(kubeconfig, nil, 0o600))
	args := []string{"get", r.Plural + "." + r.Group, acc.GetName(), "-o", "jsonpath=" + template,
		"--server", f.srv.URL, "--cache-dir", filepath.Join(dir, "cache"), "--request-timeout", "20s"}
	if r.Group == "" {
		args[1] = r.Plural
	}
	if r.Namespaced {
		args = append(args, "--namespace", acc.GetNamespace())
	}
	cmd := exec.Command(kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HOME="+dir)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stderr.String(), err
	}
	return stdout.String(), nil
}
