SHELL := /bin/bash
# traefik-zk-sidecar — build, test, demo.
#
#   make demo   ZooKeeper ensemble + Traefik + the sidecar + a demo app, until Ctrl-C
#               (TLS=1: every hop encrypted, client certificates, throw-away CA;
#                PROVIDER=http: Traefik polls the sidecar's GET /v1/traefik instead of ZooKeeper)
#   make test   unit tests, then integration tests against real ZooKeeper and Traefik
#
# Both install what they need: ZooKeeper from Debian's package (as root) and
# Traefik built once from its Go module into $(TRAEFIK_BIN).

TRAEFIK_VERSION := v3.6.12
CACHE_DIR       ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/traefik-zk-sidecar
TRAEFIK_BIN     ?= $(CACHE_DIR)/traefik-$(TRAEFIK_VERSION)/traefik
BIN             := bin/traefik-zk-sidecar
GO              ?= go
export TRAEFIK_BIN

# The compose command: Compose v2's plugin when the docker CLI has it, else
# the standalone docker-compose (v1, Debian's package).
COMPOSE ?= $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; \
	elif command -v docker-compose >/dev/null 2>&1; then echo docker-compose; fi)

.PHONY: all build test unit integration demo stack deps zookeeper traefik vet fmt-check clean bench bench-check chaos fuzz compose-check images compose-e2e docker-check

all: build

build:
	$(GO) build -o $(BIN) ./cmd/traefik-zk-sidecar

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -count=1 ./internal/... ./kvschema/... ./provider/... ./cmd/... ./examples/... ./integration/stats/... ./integration/harness/... ./integration/images/...
	cd examples/zoe && python3 -B -m unittest

# Integration tests must run here, never skip: ZK_SIDECAR_INTEGRATION=1.
integration: deps build
	@echo "integration: go test ./integration/... (full log: integration-test.log)"
	@ZK_SIDECAR_INTEGRATION=1 SIDECAR_BIN=$(CURDIR)/$(BIN) \
		$(GO) test -count=1 -timeout 40m -v ./integration/... > integration-test.log 2>&1; rc=$$?; \
	grep -E '^(=== RUN|\s*--- |PASS|FAIL|ok|integration:)|^\s+[a-z_]+_test\.go:[0-9]+: ' integration-test.log; \
	if [ $$rc -ne 0 ]; then echo "--- integration tests failed; last 150 lines of integration-test.log:"; tail -150 integration-test.log; fi; \
	exit $$rc

test: fmt-check vet unit fuzz compose-check bench-check integration compose-e2e

deps: zookeeper traefik

# ZooKeeper and a Java runtime from Debian's packages, when missing.
zookeeper:
	@if [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null; then \
		echo "zookeeper: installed"; \
	else \
		echo "zookeeper: installing Debian's package (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zookeeper >/dev/null; \
	fi

# Traefik cannot be `go install`ed (its go.mod has replace directives); the
# module in integration/tools/traefik pins it and repeats them. Its build.sh
# prints progress every 30 s: a first build takes about 9 minutes.
traefik: $(TRAEFIK_BIN)

$(TRAEFIK_BIN):
	@mkdir -p $(dir $@)
	@GO=$(GO) integration/tools/traefik/build.sh $@

# docker-compose.yml and the Dockerfile, checked with the libraries Docker
# Compose and BuildKit use (no Docker engine needed).
compose-check:
	cd integration/tools/composecheck && GOWORK=off $(GO) run . -compose ../../../docker-compose.yml -dockerfile ../../../Dockerfile

# Images the compose stack needs, built here without a registry
# (integration/images/build.sh): Debian base from debootstrap, Go, ZooKeeper,
# Traefik, the demo app and the sidecar from ./Dockerfile.
images: docker-check traefik
	@command -v debootstrap >/dev/null || { echo "images: installing Debian's debootstrap (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
	integration/images/build.sh

# docker-compose.yml run end to end with those images, then the integration
# suite against the containerized ensemble and Traefik, the containerized
# chaos run, and docker-compose.tls.yml (every hop encrypted). Part of make test
# where a Docker engine and a compose command are there; says why otherwise.
compose-e2e: build
	@if reason=$$($(MAKE) -s --no-print-directory docker-check 2>/dev/null); then \
		$(MAKE) --no-print-directory images && \
		COMPOSE="$(COMPOSE)" SIDECAR_BIN=$(CURDIR)/$(BIN) integration/images/compose-e2e.sh; \
	else \
		echo "compose-e2e: SKIPPED: $$reason"; \
	fi

docker-check:
	@command -v docker >/dev/null || { echo "no docker command on this machine"; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "no Docker engine answers (docker info failed)"; exit 1; }
	@[ -n "$(COMPOSE)" ] || { echo "neither 'docker compose' nor docker-compose is installed"; exit 1; }

# Each fuzz target briefly (FUZZTIME=5m for a long run); findings land in testdata/fuzz.
# The default is a count, not a duration: with Go 1.26 a duration can end a
# clean run with a spurious "context deadline exceeded" (golang/go#75804).
FUZZTIME ?= 100000x
fuzz:
	@set -eo pipefail; for spec in $$(grep -l '^func Fuzz' $$(git ls-files '*_test.go') | xargs -n1 dirname | sort -u); do \
		for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$spec/*_test.go | sed 's/^func //'); do \
			echo "fuzz: $$spec $$target ($(FUZZTIME))"; \
			if ! $(GO) test ./$$spec -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) > fuzz.log 2>&1; then \
				grep -v '^fuzz: elapsed' fuzz.log; exit 1; fi; tail -1 fuzz.log; \
		done; \
	done

# Benchmarks against real ZooKeeper and Traefik; writes docs/bench/. The
# bench is its own Go module (its plotting libraries stay out of the
# sidecar's go.mod); it uses this checkout's harness through a replace, so
# a new dependency of the harness also needs `go mod tidy` in its folder.
bench: deps build
	cd integration/cmd/bench && GOWORK=off $(GO) build -o $(CURDIR)/bin/bench .
	bin/bench -sidecar $(CURDIR)/$(BIN) -out docs/bench

# The bench module's vet and unit tests (no ZooKeeper or Traefik needed).
bench-check:
	cd integration/cmd/bench && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) test -count=1 ./...
	cd integration/tools/traefik && GOWORK=off $(GO) vet ./rebuildcost && GOWORK=off $(GO) test -count=1 ./rebuildcost

# Chaos run: leader kill, ensemble freeze, sidecar SIGKILL, two replicas.
chaos: deps build
	ZK_SIDECAR_INTEGRATION=1 ZK_SIDECAR_CHAOS=1 SIDECAR_BIN=$(CURDIR)/$(BIN) $(if $(PROVIDER),ZK_SIDECAR_CHAOS_PROVIDER=$(PROVIDER)) \
		$(GO) test -count=1 -timeout 30m -v -run 'TestChaos' ./integration/

# Built, not "go run": go run exits 1 after an interrupt even when the
# program shut down cleanly, and Ctrl-C is how the demo is meant to end.
demo: deps build
	$(GO) build -o bin/demo ./integration/cmd/demo
	bin/demo -sidecar $(CURDIR)/$(BIN) $(if $(TLS),-tls) $(if $(PROVIDER),-provider=$(PROVIDER))

# A local ensemble and Traefik for trying the sidecar by hand; prints the
# serve command line to paste. Built, not "go run", for a clean Ctrl-C.
stack: deps build
	$(GO) build -o bin/stack ./integration/cmd/stack
	bin/stack

clean:
	rm -rf bin integration-test.log fuzz.log compose-e2e.log compose-e2e-chaos.log
