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
// between writes and their store events, and a steady lag does not make
// the buffer grow: the window moves back to the buffer's start.
func TestPendingWritesWindow(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := &cacher{}
		var want []int64
		rev := int64(0)
		maxLag := 0
		for _, write := range rapid.SliceOfN(rapid.Bool(), 1, 3000).Draw(t, "writeOrTake") {
			if write || len(want) == 0 {
				rev++
				c.written(fmt.Sprint("k", rev), rev, &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint(rev)}})
				want = append(want, rev)
				maxLag = max(maxLag, len(want))
				continue
			}
			obj := c.takePending(fmt.Sprint("k", want[0]), want[0])
			require.NotNil(t, obj)
			require.Equal(t, fmt.Sprint(want[0]), obj.(*v1.Pod).Name)
			want = want[1:]
			require.Nil(t, c.takePending("other", rev+1), "not the oldest: nothing taken")
		}
		require.Len(t, c.pending, len(want))
		require.LessOrEqual(t, cap(c.pendingBuf), 4*max(maxLag, 4), "the buffer stays within a few times the longest lag")
		for i, p := range c.pendingBuf[:cap(c.pendingBuf)] {
			inWindow := false
			for _, q := range c.pending {
				if p.obj != nil && p.obj == q.obj {
					inWindow = true
				}
			}
			require.True(t, p.obj == nil || inWindow, "slot %d outside the window holds no object", i)
		}
	})
}
