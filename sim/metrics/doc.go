// Package metrics models metrics-server and the load that drives it.
//
// A Server is a state machine stepped by the engine: every Resolution
// (15 s, the metric-resolution of the official metrics-server manifests) a
// ticker "scrapes" every running pod and publishes its usage averaged over
// the last 15 s. Usage comes from a load model:
//
//	pod CPU    = idle-cpu    + rps × cpu-per-request
//	pod memory = idle-memory + rps × memory-per-request
//
// with the four values read from the pod annotations kubesim.dev/idle-cpu,
// kubesim.dev/cpu-per-request, kubesim.dev/idle-memory and
// kubesim.dev/memory-per-request (Kubernetes quantities; missing ⇒ 0;
// cpu-per-request is the CPU used per 1 request/s, e.g. "10m"). The pod's
// usage is split across its app containers in proportion to their requests
// of that resource (evenly if none has a request); init containers get none.
//
// rps comes from SetPodLoad (a direct per-workload setter) or from a
// LoadSource (the service traffic model, later). The rate is integrated
// piecewise: SetPodLoad and LoadChanged close the current segment at the
// engine's now before the rate changes, so a load change in the middle of
// a window is averaged exactly.
//
// Simplifications (documented for the README): a pod gets its first sample
// only after it has been Running for one full window observed by the
// server (upstream's first sample needs two kubelet scrapes, i.e. also about
// one resolution); memory is averaged like CPU (real memory is a point-in-time
// working set); there is no kubelet/cAdvisor delay and no scrape failure.
//
// Usage:
//
//	m := metrics.New(eng, listPods, nil)
//	m.SetPodLoad("default", labels.SelectorFromSet(labels.Set{"app": "web"}), 20)
//	eng.RunFor(time.Minute)
//	usage := m.PodMetrics("default", selector) // map[podName]PodMetric
package metrics
