package runner

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubesim/kubesim/netsim/alloc"
	"github.com/kubesim/kubesim/scenarios"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/apiserver"
	"github.com/kubesim/kubesim/sim/cluster"
	"github.com/kubesim/kubesim/sim/mvcc"
)

// Validator returns a scenarios.Validator that runs the API server's own
// defaulting and validation (apiserver.Server.Validate, with the Service
// allocator's checks before it, as in the cluster) and the cluster's check
// of kubesim.dev/ annotations (cluster.ValidateAnnotations, which its
// admission runs) on every manifest, so that a manifest the cluster would
// reject is a FILE:LINE error before the run. It uses a scratch API server
// and allocator of its own, whose only allocation is the default/kubernetes
// Service's cluster IP; each manifest is checked on its own.
func Validator() scenarios.Validator {
	eng := sim.New(0)
	s := apiserver.New(eng, mvcc.New(eng, mvcc.Config{}), apiserver.DefaultConfig())
	alc, err := alloc.New(eng, alloc.Config{})
	if err != nil {
		panic(fmt.Sprintf("runner: the default service ranges: %v", err))
	}
	if errs := alc.Admit(alloc.OpCreate, cluster.KubernetesService(alc.KubernetesServiceIP()), nil); len(errs) > 0 {
		panic(fmt.Sprintf("runner: default/kubernetes: %v", errs))
	}
	s.AddAdmission(alloc.NewAdmission(alc))
	return scenarios.ValidatorFunc(func(obj runtime.Object) field.ErrorList {
		return append(s.Validate(obj), cluster.ValidateAnnotations(obj)...)
	})
}

// Load reads and checks a scenario file with the API server's validation.
func Load(path string) (*scenarios.Scenario, error) {
	return scenarios.Load(path, scenarios.WithValidator(Validator()))
}
