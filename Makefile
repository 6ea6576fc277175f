# kubesim — two set-up commands: `make run` and `make test`.
GO ?= go
PKGS := ./...
# Packages whose tests exercise concurrency-free but pointer-heavy code paths
# worth running under the race detector (it also catches accidental goroutines).
RACE_PKGS := ./sim/...

.PHONY: run test test-short test-props bench lint build fuzz clean

## run: the main job — run the built-in demo and print its timeline
run:
	$(GO) run ./cmd/kubesim demo

## test: go vet + every test (the race detector on the core)
test: lint
	$(GO) test -count=1 $(PKGS)
	$(GO) test -count=1 -race $(RACE_PKGS)

## bench: engine, store and watch benchmarks, with the ratio against a bare heap loop
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./sim/ ./sim/mvcc/ ./sim/apiserver/

## lint: gofmt check + go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

build:
	$(GO) build -o bin/kubesim ./cmd/kubesim

clean:
	rm -rf bin
