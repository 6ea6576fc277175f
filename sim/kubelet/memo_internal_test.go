package kubelet

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestSharedMemo(t *testing.T) {
	calls := map[string]int{}
	var mu sync.Mutex
	m := newSharedMemo(func(k string) string {
		mu.Lock()
		calls[k]++
		mu.Unlock()
		return "<" + k + ">"
	})
	require.Equal(t, "<a>", m.get("a"))
	require.Equal(t, "<a>", m.get("a"))
	require.Equal(t, 1, calls["a"], "computed once while held")

	// A full table is emptied, not grown: it never holds more than the
	// limit, and every answer is still the function's.
	for i := 0; i < 3*sharedMemoLimit; i++ {
		k := fmt.Sprint(i)
		require.Equal(t, "<"+k+">", m.get(k))
		require.LessOrEqual(t, m.len(), sharedMemoLimit)
	}
	require.Equal(t, "<a>", m.get("a"))
	require.Equal(t, 2, calls["a"], "recomputed after the table was emptied")

	// Clusters run in parallel by tests share the memo (go test -race).
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				k := fmt.Sprint(i % 50)
				if got := m.get(k); got != "<"+k+">" {
					t.Errorf("get(%q) = %q", k, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestImageFactsAndFieldPaths(t *testing.T) {
	for _, image := range []string{"registry.k8s.io/pause:3.10", "nginx", "localhost:5000/app:v1"} {
		f := factsOf(image)
		require.Equal(t, imageID(image), f.id)
		require.Equal(t, fmt.Sprintf("Pulling image %q", image), f.pulling)
		require.Equal(t, fmt.Sprintf("Container image %q already present on machine", image), f.present)
		require.Same(t, f, factsOf(image), "one shared value per image")
	}
	require.Equal(t, "spec.containers{web}", fieldPath("web"))
}

// A pod worker (with its one container embedded) is allocated for every
// pod a kubelet runs: 150,000 of them in the scale benchmark, whose peak
// memory is near its 2 GiB target. On 64-bit platforms it stays within
// the runtime's 576-byte size class (the next is 640): 568 bytes (71
// words) and the 8-byte type header the runtime puts before an object of
// more than 512 bytes that holds pointers.
func TestPodWorkerFitsItsSizeClass(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(podWorker{}), 71*unsafe.Sizeof(uintptr(0)),
		"group new bool fields with the others, or move rarely used ones behind a pointer")
}
