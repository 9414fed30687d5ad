# The commands a developer and CI run. `make test` is the one CI runs.
GO ?= go

.PHONY: test test-cluster vet lint-flow flow-tests fuzz bench microbench build

## test: vet, the whole test suite with the race detector, and the default flow's own checks.
## Test artifacts (the studio's browser screenshots) are kept under $(ARTIFACTS)/_artifacts.
ARTIFACTS ?= $(CURDIR)/test-output
test: vet
	rm -rf $(ARTIFACTS)/_artifacts && mkdir -p $(ARTIFACTS)
	$(GO) test -race -count=1 -artifacts -outputdir=$(ARTIFACTS) ./...
	$(GO) run ./cmd/tsunagu flows lint
	$(GO) run ./cmd/tsunagu flows test

## test-cluster: two serve replicas on a Redis Cluster of 3 masters and 3
## replicas started on loopback ports (redis-server and redis-cli): a load of
## conversations with a failover by agreement and a master killed mid-run.
## The same load on a master and replica under 3 sentinels, the master
## killed. Then the full Slack loop (card, staff reply, note, close) on a
## cluster.
## Stops by itself in well under a minute and removes its nodes and files.
test-cluster:
	$(GO) test -count=1 -run '^(TestCluster|TestSentinel|TestServeFullLoop)$$' -v ./cmd/tsunagu -cluster

vet:
	$(GO) vet ./...

## fuzz: a short run of every fuzz target (FUZZTIME=30s by default)
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./flows -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME)
	$(GO) test ./flows -run '^$$' -fuzz '^FuzzStep$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bot/richmenu -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME)

## bench: the benchmark program (serve against its own Redis and fake LINE and
## Slack on loopback; prints its figures against redis-benchmark's SET/s of the
## same run), then the kill -9 test at 20,000 events. Stops by itself.
bench:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/tsunagu ./cmd/tsunagu
	$(GO) run ./cmd/tsunagu-bench -serve bin/tsunagu
	$(GO) test -count=1 -run '^TestKill9MidLoad$$' -v ./cmd/tsunagu -kill.events=20000 -kill.senders=32

## microbench: the Go benchmarks of single functions (a reply body, a flow step)
microbench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/tsunagu ./cmd/tsunagu
