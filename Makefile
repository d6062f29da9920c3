# xdrhook — see README.md. Every target works offline once modules are cached.
GO        ?= go
BIN       ?= bin/xdrhook
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
FUZZTIME  ?= 60s
# Packages with concurrency run under the race detector in `make test`.
RACE_PKGS ?= ./pool/... ./dataplane/... ./perf/...

.PHONY: all build run test test-unit test-race bench fuzz lint generate clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/xdrhook

# The embedded demo: XDR emulator → xdrhook → sink in one process, live
# progress, a summary at the end. DEMO_ARGS="--duration 0" runs until Ctrl-C.
DEMO_ARGS ?= --duration 15s
run: build
	$(BIN) demo $(DEMO_ARGS)

test: test-unit test-race

test-unit:
	$(GO) test -shuffle=on -count=1 ./...

test-race:
	$(GO) test -race -shuffle=on -count=1 $$($(GO) list $(RACE_PKGS) 2>/dev/null)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./wire/... ./encode/... ./pool/...

# Each fuzz target of FUZZ_PKGS for FUZZTIME (CI: FUZZTIME=10s).
FUZZ_PKGS ?= ./fuzz ./encode
fuzz:
	@for p in $(FUZZ_PKGS); do \
		for t in $$($(GO) test $$p -list '^Fuzz' | grep ^Fuzz); do \
			echo "== $$p $$t ($(FUZZTIME))"; \
			$(GO) test $$p -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) || exit 1; \
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
