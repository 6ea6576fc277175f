package runner

import (
	"github.com/kubesim/kubesim/netsim/proxy"
	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim/cluster"
)

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
