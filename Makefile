# unworkable: build, test and install.
#
#   make / make build   build ./unworkable
#   make test           what CI runs: external test programs, go vet, gofmt,
#                       go test -race ./... (includes the interop and hostile
#                       suites), then each fuzz target briefly; as root, in a
#                       network namespace with only loopback (scripts/test.sh)
#   make demo           a two-instance loopback download of a random payload
#   make bench          Go benchmarks, magnet start-up beside aria2c, the
#                       loopback comparison (needs shared/bench), then
#                       make bench-dht
#   make bench-dht      a DHT of 32 of our processes on loopback: lookup
#                       times, idle cost, a query flood (scripts/dht-bench.sh)
#   make fuzz           each fuzz target for FUZZTIME (default 30s)
#   make fuzz-ci        each fuzz target for 100,000 inputs (part of make test)
#   make install        binary and man page below $(DESTDIR)$(PREFIX)
#   make clean

VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
PREFIX   ?= /usr/local
DESTDIR  ?=
FUZZTIME ?= 30s
GO       ?= go

BIN      = unworkable
# the man page, wherever it lives
MAN      = $(firstword $(wildcard cmd/unworkable/unworkable.1 unworkable.1) unworkable.1)

.PHONY: all build test test-steps deps vet fmt-check gotest demo bench bench-dht fuzz fuzz-ci install uninstall clean

all: build

# CGO_ENABLED=0: a static binary without libc and its loader, 1.5 MiB less
# resident memory (the pure-Go resolver is all we need).
build:
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/unworkable

test: deps
	GO=$(GO) MAKE=$(MAKE) scripts/test.sh

# What scripts/test.sh runs, inside the namespace when it can.
test-steps: vet fmt-check gotest fuzz-ci

deps:
	scripts/deps.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$out"; exit 1; fi

gotest:
	$(GO) test -race ./...

demo:
	scripts/demo.sh

bench:
	GO=$(GO) scripts/bench.sh
	GO=$(GO) scripts/dht-bench.sh

bench-dht:
	GO=$(GO) scripts/dht-bench.sh

fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

# A count, not a duration: with -fuzztime=5s the fuzzer now and then fails
# with "context deadline exceeded" when the time runs out mid-input.
fuzz-ci:
	FUZZTIME=100000x GO=$(GO) scripts/fuzz.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/$(BIN)
	install -m 0644 $(MAN) $(DESTDIR)$(PREFIX)/share/man/man1/unworkable.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/$(BIN) $(DESTDIR)$(PREFIX)/share/man/man1/unworkable.1

clean:
	rm -f $(BIN) *.test *.prof
