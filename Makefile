# xdrhook — see README.md. Every target works offline once modules are cached.
GO        ?= go
BIN       ?= bin/xdrhook
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
FUZZTIME  ?= 60s
# Packages with goroutines of their own: `make test` runs them again
# under the race detector (short tier).
RACE_PKGS ?= ./pool/... ./h1client/... ./h2client/... ./auth/... ./dataplane/... ./perf/xdrsim/... ./perf/sink/... ./perf/baseline/... ./perf/harness/... ./cmd/...
# Timeout of a test binary in the system tier and `make reliability`.
TIMEOUT   ?= 60m

.PHONY: all build run test test-unit test-race test-system bench pgo fuzz lint generate clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/xdrhook

# The embedded demo: XDR emulator → xdrhook → sink in one process, live
# progress, a summary at the end. DEMO_ARGS="--duration 0" runs until Ctrl-C.
DEMO_ARGS ?= --duration 15s
run: build
	$(BIN) demo $(DEMO_ARGS)

# Two tiers, one switch (-short):
#  - make test, the short tier (~2 minutes on 2 cores, warm caches): every
#    package with -short (unit, golden, interop with the Aerospike client,
#    in-process end-to-end), then RACE_PKGS under the race detector. Tests
#    that start processes or take long skip themselves under -short
#    ("system tier: run by make test-system").
#  - make test-system, the system tier: every package without -short —
#    the process-level tests (perf/reliability at the default 20 s soak,
#    perf/e2e, perf/scaleout, perf/suite, deploy's static build and live
#    dashboard check, h2 through nginx, VictoriaLogs, the msgp generator)
#    and the full sweeps of the unit tests. Needs nginx-light (see .ci/run).
test: test-unit test-race

test-unit:
	$(GO) test -short -shuffle=on -count=1 ./...

test-race:
	$(GO) test -race -short -shuffle=on -count=1 $$($(GO) list $(RACE_PKGS) 2>/dev/null)

test-system:
	$(GO) test -shuffle=on -count=1 -timeout $(TIMEOUT) ./...

# Benchmarks are built with the binary's profile (below), as the binary is.
bench:
	$(GO) test -pgo=$(PGO) -run '^$$' -bench . -benchmem ./wire/... ./encode/... ./pool/... ./dataplane/... ./perf/xdrsim/... ./expression/...

# cmd/xdrhook/default.pgo is the CPU profile `go build` optimizes the
# binary with (profile-guided optimization: -pgo=auto picks it up). It is
# the binary under the bench scenarios of every format, h2c (batched and one
# small record per request), one record per request over HTTP/1.1 and
# pipelined, merged with the microbenchmarks of the record path (decode,
# the four encoders, run longest), which weight the per-record code. ~2 minutes;
# regenerate after changing hot code, and commit it.
PGO     := $(CURDIR)/cmd/xdrhook/default.pgo
PGO_OUT ?= perf/out/pgo
pgo: build
	@rm -rf $(PGO_OUT) && mkdir -p $(PGO_OUT)
	@set -e; for s in "json" "flat-json" "message-pack" "avro" "json --proto h2c" "json --batch 1" "json --batch 1 --size small --proto h2c" "json --batch 1 --size small --proto http1-pipelined"; do \
		d=$$(echo $$s | tr -c 'a-z0-9\n' -); \
		$(BIN) bench --connector xdrhook --format $$s --measure 5s --profile $(PGO_OUT)/$$d --out $(PGO_OUT)/logs; \
	done
	$(GO) test -run '^$$' -bench '^Benchmark(DecodeTypical|SplitAndDecode)$$' -benchtime 2s -cpuprofile $(PGO_OUT)/wire.pprof -o $(PGO_OUT)/wire.test ./wire
	$(GO) test -run '^$$' -bench '^Benchmark(JSON|FlatJSON|MsgPack|Avro)$$' -benchtime 6s -cpuprofile $(PGO_OUT)/encode.pprof -o $(PGO_OUT)/encode.test ./encode
	$(GO) tool pprof -proto $(PGO_OUT)/*/cpu.pprof $(PGO_OUT)/wire.pprof $(PGO_OUT)/encode.pprof > $(PGO).new
	mv $(PGO).new $(PGO)

# Each fuzz target of FUZZ_PKGS for FUZZTIME (CI: FUZZTIME=10s). A run
# that fails with nothing but "context deadline exceeded" and writes no
# failing input is Go's fuzz coordinator missing its own -fuzztime deadline
# on a starved machine (golang/go#75804, fixed in go1.27): the corpus is
# replayed, and only a failure there fails the target.
FUZZ_PKGS ?= ./fuzz ./encode ./expression
fuzz:
	@log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for p in $(FUZZ_PKGS); do \
		for t in $$($(GO) test $$p -list '^Fuzz' | grep ^Fuzz); do \
			echo "== $$p $$t ($(FUZZTIME))"; \
			if $(GO) test $$p -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) >$$log 2>&1; then cat $$log; continue; fi; \
			cat $$log; \
			if grep -q '^    context deadline exceeded$$' $$log && ! grep -q 'Failing input written' $$log; then \
				echo "== $$t: the fuzz coordinator's deadline race (golang/go#75804), no failing input: replaying the corpus"; \
				$(GO) test $$p -run "^$$t\$$" -count=1 || exit 1; \
			else exit 1; fi; \
		done; \
	done

generate:
	$(GO) generate ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	@$(GO) generate ./... && git diff --exit-code -- '*_gen.go' || { echo "generated code is not current: run make generate"; exit 1; }

clean:
	rm -rf bin

# The perf suite (perf/REPORT.md): microbenchmarks into perf/out/micro.txt
# (benchstat input; 5 passes over all of them, so the runs of one benchmark
# are half a minute apart and a burst of load on the shared machine hits
# one of them, not all; the report takes the median), then `xdrhook bench
# suite`: end-to-end scenarios in separate processes against the naive
# baseline, Benthos as a real peer on the same json records (built once
# from the Go module proxy into ~/.cache/xdrhook-peers/benthos-v4.60.0;
# skipped with the reason in the report when it cannot be built), latency
# and scaling sweeps, report + JSON + SVG charts.
# ~10 minutes; writes perf/REPORT.md, perf/report.json and perf/*.svg.
# QUICK=1: a few short scenarios (~1 minute, CI; no Benthos), report in perf/out/.
# PROFILE=1: also CPU and allocation profiles of xdrhook (perf/out/profile/:
# the headline — heaviest — scenario, one per request, h2c), in the report.
# The record path's scaling (the report's "Scaling of the record path"):
# each pass also runs these at -cpu 1 and 2, back to back.
SCALING_BENCH = EngineRecordPath|RecordPathControl
QUICK    ?=
PROFILE  ?=
PERF_OUT ?= perf/out
PERF_REPORT = $(if $(filter 1 yes true,$(QUICK)),$(PERF_OUT),perf)

.PHONY: perf
perf: build
	@mkdir -p $(PERF_OUT)
	@echo "== microbenchmarks → $(PERF_OUT)/micro.txt"
	@{ rc=0; for i in $(if $(filter 1 yes true,$(QUICK)),1,1 2 3 4 5); do \
		$(GO) test -pgo=$(PGO) -run '^$$' -bench . -skip '$(SCALING_BENCH)' -benchmem -benchtime $(if $(filter 1 yes true,$(QUICK)),100ms,200ms) ./wire ./encode ./pool ./dataplane ./auth || rc=1; \
		$(GO) test -pgo=$(PGO) -run '^$$' -bench '$(SCALING_BENCH)' -cpu 1,2 -benchmem -benchtime $(if $(filter 1 yes true,$(QUICK)),200ms,500ms) ./dataplane || rc=1; \
		done; echo $$rc > $(PERF_OUT)/micro.rc; } | tee $(PERF_OUT)/micro.txt; exit $$(cat $(PERF_OUT)/micro.rc)
	$(BIN) bench suite --out $(PERF_OUT) --report $(PERF_REPORT) --micro $(PERF_OUT)/micro.txt \
		$(if $(filter 1 yes true,$(QUICK)),--quick) $(if $(filter 1 yes true,$(PROFILE)),--profile) \
		--command "make perf$(if $(QUICK), QUICK=$(QUICK))$(if $(PROFILE), PROFILE=$(PROFILE))"

# Process-level reliability scenarios (perf/reliability; docs/guarantees.md),
# verbose: destination faults, SIGKILL and SIGTERM under load, XDR-side
# abuse, hostile frames, a deep XDR pipeline, security, VictoriaLogs as a
# real downstream (built with `go install` into the user cache the first
# time), and a soak of SOAK (the test's -soak flag; default 20s,
# SOAK=10m for a long one). Each scenario prints its figures; ~4 minutes
# plus the soak. make test-system runs them too, at the default soak.
SOAK ?= 20s
.PHONY: reliability
reliability:
	$(GO) test -v -count=1 -timeout $(TIMEOUT) ./perf/reliability -soak $(SOAK)
