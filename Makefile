# kubesim — two set-up commands: `make run` and `make test`.
GO ?= go
PKGS := ./...
# Packages whose tests exercise concurrency-free but pointer-heavy code paths
# worth running under the race detector (it also catches accidental goroutines).
RACE_PKGS := ./sim/...

.PHONY: run demo test test-props bench bench-scale bench-ab pgo lint build fuzz clean

# PGO is the CPU profile the compiler optimises with (profile-guided
# optimisation: hot calls inlined, hot paths laid out first). `go build` and
# `go run` of ./cmd/kubesim pick it up by themselves (-pgo=auto reads a main
# package's default.pgo); the benchmarks name it, as their test binaries are
# not that main package. `make pgo` records it afresh.
PGO := $(CURDIR)/cmd/kubesim/default.pgo

## run: the main job — run the built-in scenario that shows the most (a
## service under load through a node crash: endpoints, eviction, failover)
run:
	$(GO) run ./cmd/kubesim run service-failover

## demo: the core without a scheduler or kubelets (API server, store,
## informers, the Deployment and ReplicaSet controllers, a toy labeller)
demo:
	$(GO) run ./cmd/kubesim demo

## test: go vet + every test (the race detector on the core) + a short fuzz
## run of the scenario loader
test: lint
	$(GO) test -count=1 $(PKGS)
	$(GO) test -count=1 -race $(RACE_PKGS)
	$(MAKE) fuzz

## fuzz: fuzz the scenario loader briefly (go test -fuzz; never panics,
## errors always FILE:LINE), and the byte-delta codecs of the store and the
## stored Events (every delta rebuilds its value). The budgets are counts of
## executions (about 20 s in all here), not durations: Go 1.26's fuzz coordinator can report a
## spurious "context deadline exceeded" when a duration runs out
## (golang/go#75804, fixed in Go 1.27). Minimisation is bounded so the
## short run spends its time fuzzing.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzLoad -fuzztime=30000x -fuzzminimizetime=200x ./scenarios
	$(GO) test -run='^$$' -fuzz='^FuzzDelta$$' -fuzztime=20000x -fuzzminimizetime=200x ./internal/bytedelta
	$(GO) test -run='^$$' -fuzz='^FuzzDict$$' -fuzztime=20000x -fuzzminimizetime=200x ./internal/bytedelta

## test-props: the convergence and invariant properties with many random
## cases
test-props:
	$(GO) test -count=1 -run '^(TestConvergence|TestInvariants)$$' ./scenarios/runner/ -rapid.checks=1000 -timeout 60m

## bench: engine, store and watch benchmarks on one core, then a summary:
## the engine's rate against a bare container/heap loop measured in the same
## run (the ratio is the figure), store writes/s, watch fan-out to 1,000
## watchers (the raw output is kept in bench.out)
bench:
	$(GO) test -pgo=$(PGO) -run '^$$' -bench . -benchmem -cpu 1 ./sim/ ./sim/mvcc/ ./sim/apiserver/ | tee bench.out
	@awk -f .ci/bench-summary.awk bench.out

## bench-scale: the scheduling benchmarks at scale (500, 1,000 and 5,000
## nodes, the last also under a 1,900 MiB soft memory limit, and with that
## limit as its only collection trigger (GOGC=off), and once more so
## without kubelets, scoped as upstream's scheduler_perf; 5,000 nodes and
## 150,000 pods take about half a minute each here), on one core, then
## pods/s beside upstream's scheduler_perf threshold (810 pods/s at 5,000
## nodes) and the peak memory (raw output in bench-scale.out)
bench-scale:
	$(GO) test -pgo=$(PGO) -run '^$$' -bench 'Scale' -benchtime 1x -cpu 1 -timeout 60m ./sim/cluster/ | tee bench-scale.out
	@awk -f .ci/bench-summary.awk bench-scale.out

## bench-ab: a before/after of the 5,000-node memory-budget run on a noisy
## machine — the code at OLD (a git revision, default HEAD) and the working
## tree run alternately, N times each (default 3), then the means (see
## .ci/bench-ab for more: two revisions, another benchmark)
bench-ab:
	.ci/bench-ab -n $(or $(N),3) $(or $(OLD),HEAD)

## pgo: record cmd/kubesim/default.pgo afresh from the code as it is (about
## a minute): CPU profiles of the 5,000-node scale run (the whole cluster
## under load) and of the workload and service-traffic benchmarks (the
## controllers, kube-proxy and traffic over a simulated hour), merged. Run
## it after large changes; a stale profile still builds, it only helps less.
pgo:
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	$(GO) test -pgo=off -c -o $$tmp/cluster.test ./sim/cluster/ && \
	( cd $$tmp && \
	  ./cluster.test -test.run '^$$' -test.bench 'Scale5000Nodes150kPods$$' -test.benchtime 1x -test.cpu 1 -test.cpuprofile scale.prof && \
	  ./cluster.test -test.run '^$$' -test.bench 'WorkloadsHour$$' -test.benchtime 5s -test.cpu 1 -test.cpuprofile workloads.prof && \
	  ./cluster.test -test.run '^$$' -test.bench 'ServiceHourAt10kRPS$$' -test.benchtime 5s -test.cpu 1 -test.cpuprofile service.prof ) && \
	$(GO) tool pprof -proto $$tmp/scale.prof $$tmp/workloads.prof $$tmp/service.prof > $$tmp/merged.pgo && \
	mv $$tmp/merged.pgo $(PGO) && echo "wrote $(PGO)"

## lint: gofmt check + go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

build:
	$(GO) build -o bin/kubesim ./cmd/kubesim

clean:
	rm -rf bin bench.out bench-scale.out
