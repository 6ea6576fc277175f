package cluster

// This file is owned by the cluster-runtime work (kubelets, node
// registration, fault injection): see faults.go for the API it implements.

// KubeletConfig configures the kubelet model.
type KubeletConfig struct{}

// runtimeState is the Cluster's kubelet and fault bookkeeping.
type runtimeState struct {
	faultErrors []error
}

// installRuntime creates the kubelet machinery.
func (c *Cluster) installRuntime() {}
