package nodelifecycle

import (
	"fmt"
	"testing"

	"github.com/kubesim/kubesim/controllers/internal/ctltest"
)

// BenchmarkMonitorPass measures one monitor pass over 5,000 healthy nodes
// (the Kubernetes scale limit); pods are only looked at for nodes that turn
// not ready, so none are created.
func BenchmarkMonitorPass(b *testing.B) {
	env := ctltest.New(b, 1)
	for i := 0; i < 5000; i++ {
		name := fmt.Sprintf("n%04d", i)
		env.CreateNode(ctltest.Node(name, ctltest.Zone(fmt.Sprintf("z%d", i%3)), 0))
		env.RenewLease(name)
	}
	nc := newController(env, Config{})
	env.Start()
	env.Eng.RunFor(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		nc.monitorNodeHealth()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5000, "ns/node")
}
