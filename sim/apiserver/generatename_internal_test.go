package apiserver

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/mvcc"
)

// zerosThen is a rand source whose first n draws make IntN return 0 (so
// generateName suffixes come out "bbbbb"; a draw of 0 itself would be
// rejected by IntN) and then varied values.
type zerosThen struct{ n, calls int }

func (z *zerosThen) Uint64() uint64 {
	z.calls++
	if z.calls <= z.n {
		return 1 << 58
	}
	return uint64(z.calls) * 0x9e3779b97f4a7c15
}

// A create whose generated name is taken tries again with a new name, up
// to 8 attempts in all, before it answers with a GenerateNameConflict
// (registry.Store.createWithGenerateNameRetry,
// maxNameGenerationCreateAttempts = 8).
func TestGenerateNameRetriesOnConflict(t *testing.T) {
	eng := sim.New(1)
	s := New(eng, mvcc.New(eng, mvcc.Config{}), DefaultConfig())
	cms := s.mustResource("configmaps")
	src := &zerosThen{n: 1 << 30}
	s.rand = rand.New(src)
	gen := func() (*v1.ConfigMap, error) {
		obj, err := s.Create("test", cms, "default", &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "cfg-"}}, metav1.CreateOptions{})
		if err != nil {
			return nil, err
		}
		return obj.(*v1.ConfigMap), nil
	}
	first, err := gen()
	require.NoError(t, err)
	require.Equal(t, "cfg-bbbbb", first.Name)

	before := src.calls
	_, err = gen()
	require.Error(t, err)
	assert.True(t, apierrors.IsAlreadyExists(err))
	assert.EqualError(t, err, `configmaps "cfg-bbbbb" already exists, the server was not able to generate a unique name for the object`)
	assert.Equal(t, 8*5, src.calls-before-2, "eight names of five characters (and one uid)")

	src.n, src.calls = 7+5, 0 // the next create's first name collides, its second does not
	second, err := gen()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(second.Name, "cfg-"))
	assert.NotEqual(t, "cfg-bbbbb", second.Name)
	assert.Len(t, second.Name, len("cfg-bbbbb"))
}
