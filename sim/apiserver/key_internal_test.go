package apiserver

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/mvcc"
)

// storedKey is the store's own string for a key it holds (reads and
// updates make no key string) and res.key's for one it does not; the
// reads and writes that use it find their objects.
func TestStoredKey(t *testing.T) {
	eng := sim.New(1)
	store := mvcc.New(eng, mvcc.Config{})
	s := New(eng, store, DefaultConfig())
	res := s.mustResource("pods")
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "default"},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "i"}}}}
	_, err := s.Create("test", res, "default", pod, metav1.CreateOptions{})
	require.NoError(t, err)

	k := s.storedKey(res, "default", "a")
	held, ok := store.Key("/registry/pods/default/a")
	require.True(t, ok)
	assert.Equal(t, "/registry/pods/default/a", k)
	assert.Same(t, unsafe.StringData(held), unsafe.StringData(k), "the store's string")
	absent := s.storedKey(res, "default", "b")
	assert.Equal(t, res.key("default", "b"), absent)
	assert.Equal(t, "/registry/nodes/n", s.storedKey(s.mustResource("nodes"), "", "n"))

	got, err := s.Get(res, "default", "a")
	require.NoError(t, err)
	assert.Equal(t, "a", got.(*v1.Pod).Name)
	_, err = s.Get(res, "default", "b")
	assert.Error(t, err)
	eng.RunFor(time.Second) // the watch cache catches up
	got, err = s.GetCached(res, "default", "a")
	require.NoError(t, err)
	assert.Equal(t, "a", got.(*v1.Pod).Name)
	_, err = s.GetCached(res, "default", "b")
	assert.Error(t, err)
}
