// Package promstats is kubesim's small, deterministic metrics registry:
// counters, gauges and histograms with labels, exposed in the Prometheus
// text format and queried by selectors such as
// kubesim_requests_total{service="web",outcome="failed"}.
//
// Any component may register families on the run's Registry; scenario
// expectations read them with Sum, and `kubesim run --metrics FILE` writes
// WriteText's output. There are no timestamps and no goroutines: values
// change only inside engine events, and output order is fixed (families by
// name, series by label values, labels by name), so the same run always
// prints the same bytes.
//
//	reg := promstats.NewRegistry()
//	req := reg.Counter("kubesim_requests_total", "…", "namespace", "service", "pod", "node", "outcome")
//	req.With("default", "web", "web-1", "node-1", "served").Add(100)
//	n, err := reg.Sum(`kubesim_requests_total{service="web",outcome="served"}`)
//	reg.WriteText(f)
//
// Histograms additionally accept observations apportioned in expectation
// (ObserveShiftedExp), which lets the traffic model account millions of
// requests per call while keeping exact counts.
package promstats
