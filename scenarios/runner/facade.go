package runner

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/promstats"
)

// The cluster facade methods the runner needs that other work adds to
// sim/cluster. The runner finds them with a type assertion, so it compiles
// and runs before they land; until then the action that needs one fails
// with a "not implemented yet" error, recorded like any other run error.
// An integration test (facade_integration_test.go) asserts that
// *cluster.Cluster implements each of them once the components are merged.

// podLoader is added by the workload-controllers work: every pod of the
// namespace matching selector serves rps requests per second (the load
// model of metrics-server, which the HPA reads).
type podLoader interface {
	SetPodLoad(namespace string, selector labels.Selector, rps float64)
}

// serviceLoader is added by the service-networking work: a steady request
// rate to a Service, from in-cluster clients (from ""), one node, or
// "external" (through the NodePort).
type serviceLoader interface {
	SetServiceLoad(namespace, service string, rps float64, from string) error
}

// metricsSource is added by the service-networking work: the run's
// Prometheus-style registry, with traffic accounted up to the current
// instant.
type metricsSource interface {
	Metrics() *promstats.Registry
}

// errNotYet is the error of an action whose component is not built yet.
func errNotYet(what string) error { return fmt.Errorf("%s: not implemented yet in kubesim", what) }

// configureProxyMode puts the scenario's kube-proxy mode into the cluster
// configuration. The network model's configuration is not on main yet
// (cluster.NetworkConfig is empty), so only the mode every kube-proxy
// model defaults to, round robin, can be honoured; asking for another is
// an error before the run starts rather than a silently different run.
// Once NetworkConfig grows its proxy settings, set them here.
func configureProxyMode(cfg *cluster.Config, mode scenarios.ProxyMode) error {
	switch mode {
	case "", scenarios.ProxyRoundRobin:
		return nil
	}
	return errNotYet(fmt.Sprintf("spec.proxyMode %s (the network model is not wired into sim/cluster)", mode))
}

// metricsOf returns the cluster's metrics registry, if the network model
// provides one.
func metricsOf(c *cluster.Cluster) (*promstats.Registry, bool) {
	m, ok := any(c).(metricsSource)
	if !ok {
		return nil, false
	}
	reg := m.Metrics()
	return reg, reg != nil
}
