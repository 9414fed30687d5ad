# The commands a developer and CI run. `make test` is the one CI runs.
GO ?= go

.PHONY: test vet lint-flow flow-tests fuzz bench build

## test: vet, the whole test suite with the race detector, and the default flow's own checks.
## Test artifacts (the studio's browser screenshots) are kept under $(ARTIFACTS)/_artifacts.
ARTIFACTS ?= $(CURDIR)/test-output
test: vet
	rm -rf $(ARTIFACTS)/_artifacts && mkdir -p $(ARTIFACTS)
	$(GO) test -race -count=1 -artifacts -outputdir=$(ARTIFACTS) ./...
	$(GO) run ./cmd/tsunagu flows lint
	$(GO) run ./cmd/tsunagu flows test

vet:
	$(GO) vet ./...

## fuzz: a short run of every fuzz target (FUZZTIME=30s by default)
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./flows -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME)
	$(GO) test ./flows -run '^$$' -fuzz '^FuzzStep$$' -fuzztime $(FUZZTIME)

## bench: the benchmarks, for ratios measured in one run
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/tsunagu ./cmd/tsunagu
