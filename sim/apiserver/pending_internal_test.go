package apiserver

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"pgregory.net/rapid"
)

// The watch cache's pending writes come back in order whatever the lag
// between writes and their store events, and only to the event of the
// oldest one.
func TestPendingWritesInOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := &cacher{}
		var want []int64
		rev := int64(0)
		for _, write := range rapid.SliceOfN(rapid.Bool(), 1, 3000).Draw(t, "writeOrTake") {
			if write || len(want) == 0 {
				rev++
				c.written(fmt.Sprint("k", rev), rev, &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint(rev)}})
				want = append(want, rev)
				continue
			}
			require.Nil(t, c.takePending("other", want[0]), "another key: nothing taken")
			require.Nil(t, c.takePending(fmt.Sprint("k", want[0]), want[0]+1), "another revision: nothing taken")
			obj := c.takePending(fmt.Sprint("k", want[0]), want[0])
			require.NotNil(t, obj)
			require.Equal(t, fmt.Sprint(want[0]), obj.(*v1.Pod).Name)
			want = want[1:]
		}
		require.Equal(t, len(want), c.pending.Len())
	})
}
