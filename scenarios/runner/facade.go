package runner

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubesim/kubesim/netsim/proxy"
	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim/cluster"
)

// The cluster facade method the runner needs that other work adds to
// sim/cluster. The runner finds it with a type assertion, so it compiles
// and runs before it lands; until then setPodLoad fails with a "not
// implemented yet" error, recorded like any other run error. An
// integration test (TestIntegrationFacade) asserts that *cluster.Cluster
// implements it once the workload controllers are merged.

// podLoader is added by the workload-controllers work: every pod of the
// namespace matching selector serves rps requests per second (the load
// model of metrics-server, which the HPA reads).
type podLoader interface {
	SetPodLoad(namespace string, selector labels.Selector, rps float64)
}

// errNotYet is the error of an action whose component is not built yet.
func errNotYet(what string) error { return fmt.Errorf("%s: not implemented yet in kubesim", what) }

// configureProxyMode puts the scenario's kube-proxy mode into the cluster
// configuration.
func configureProxyMode(cfg *cluster.Config, mode scenarios.ProxyMode) {
	switch mode {
	case scenarios.ProxyRandom:
		cfg.Network.ProxyMode = proxy.ModeRandom
	default:
		cfg.Network.ProxyMode = proxy.ModeRoundRobin
	}
}
