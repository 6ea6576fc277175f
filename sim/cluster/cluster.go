package cluster

import (
	"github.com/kubesim/kubesim/scheduler"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/informer"
	"github.com/kubesim/kubesim/sim/mvcc"
	"github.com/kubesim/kubesim/sim/record"
)

// Config configures a cluster.
type Config struct {
	// Seed seeds every random stream of the run.
	Seed uint64
	// APIServer configures the API server (DefaultConfig if zero).
	APIServer apiserver.Config
	// DetectCacheMutations makes informers panic when a component modifies
	// a shared cached object (for tests).
	DetectCacheMutations bool
	// Scheduler configures kube-scheduler (DefaultConfig if zero); set
	// NoScheduler to run without one.
	Scheduler   scheduler.Config
	NoScheduler bool
	// Kubelet, NodeControllers, Workloads and Network configure the other
	// components (see their files); zero values mean upstream defaults.
	Kubelet         KubeletConfig
	NodeControllers NodeControllersConfig
	Workloads       WorkloadsConfig
	Network         NetworkConfig
}

// Cluster is a simulated cluster.
type Cluster struct {
	Engine    *sim.Engine
	Store     *mvcc.Store
	API       *apiserver.Server
	Informers *informer.Factory
	// Scheduler is kube-scheduler (nil with Config.NoScheduler).
	Scheduler *scheduler.Scheduler

	cfg Config
	runtimeState
	nodeControllersState
	workloadsState
	networkState
}

// New builds a cluster at time zero.
func New(cfg Config) *Cluster {
	if cfg.APIServer == (apiserver.Config{}) {
		cfg.APIServer = apiserver.DefaultConfig()
	}
	eng := sim.New(cfg.Seed)
	store := mvcc.New(eng, mvcc.Config{WatchDelay: cfg.APIServer.WatchDelay})
	api := apiserver.New(eng, store, cfg.APIServer)
	var opts []informer.Option
	if cfg.DetectCacheMutations {
		opts = append(opts, informer.DetectMutations())
	}
	c := &Cluster{Engine: eng, Store: store, API: api, Informers: informer.NewFactory(api, opts...), cfg: cfg}
	// Order matters only where one component feeds another: the network
	// model (traffic) feeds the metrics pipeline of the workload controllers.
	if !cfg.NoScheduler {
		c.installScheduler(cfg.Scheduler)
	}
	c.installRuntime()
	c.installNodeControllers()
	c.installNetwork()
	c.installWorkloads()
	return c
}

// Client returns a clientset acting as component.
func (c *Cluster) Client(component string) client.Interface { return client.New(c.API, component) }

// Recorder returns an event recorder for component (host for node agents).
func (c *Cluster) Recorder(component, host string) *record.Recorder {
	return record.New(c.Client(component), c.Engine, component, host)
}

// Start starts the shared informers (components created later start theirs
// as they are created).
func (c *Cluster) Start() { c.Informers.Start() }
