package cluster

// This file is owned by the service-networking work: the ClusterIP/NodePort
// allocator, the EndpointSlice controller, DNS, kube-proxies, traffic and
// the Prometheus-style metrics registry.

// NetworkConfig configures the network model.
type NetworkConfig struct{}

type networkState struct{}

// installNetwork creates the network model.
func (c *Cluster) installNetwork() {}
