package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/simtest"
)

// BenchmarkServiceHourAt10kRPS runs one simulated hour of 10,000 requests/s
// from every node to a Service of 10 pods on 5 nodes, through the API
// server, EndpointSlice controller, kube-proxies and the aggregate traffic
// regime (36 million requests).
func BenchmarkServiceHourAt10kRPS(b *testing.B) {
	for b.Loop() {
		c := cluster.New(cluster.Config{Seed: 1})
		for i := range 5 {
			if err := simtest.AddNodes(c, simtest.Node(fmt.Sprint("node-", i), "8", "16Gi", nil)); err != nil {
				b.Fatal(err)
			}
		}
		simtest.StartFakeRuntime(c, simtest.FakeRuntimeConfig{StartDelay: time.Second})
		c.Start()
		cl := c.Client("bench")
		if _, err := cl.CoreV1().Services("default").Create(bg, serviceFor("web"), createOpts); err != nil {
			b.Fatal(err)
		}
		for i := range 10 {
			p := podSpec("web")
			p.Name, p.Namespace = fmt.Sprint("web-", i), "default"
			if _, err := cl.CoreV1().Pods("default").Create(bg, p, createOpts); err != nil {
				b.Fatal(err)
			}
		}
		c.Engine.RunFor(10 * time.Second)
		if err := c.SetServiceLoad("default", "web", 10000, ""); err != nil {
			b.Fatal(err)
		}
		steps := c.Engine.Steps()
		c.Engine.RunFor(time.Hour)
		got, _ := c.Metrics().Sum(`kubesim_requests_total{outcome="served"}`)
		if got != 36e6 {
			b.Fatalf("served %v requests, want 36e6", got)
		}
		b.ReportMetric(float64(c.Engine.Steps()-steps), "events/hour")
	}
}
