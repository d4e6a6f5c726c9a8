# tawthiq — `make test` installs what the tests need (Debian) and runs them all.
GO          ?= go
export GOTOOLCHAIN := local
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         := $(CURDIR)/bin
# Under `make test` nothing may be skipped for want of a system package.
TEST_ENV    := TAWTHIQ_REQUIRE_POSTGRES=1 TAWTHIQ_REQUIRE_SOFTHSM=1 TAWTHIQ_REQUIRE_OPENSSL=1 TAWTHIQ_REQUIRE_TOOLS=1
# A count, not a duration: Go 1.26's fuzz coordinator can report a spurious "context
# deadline exceeded" when a duration ends mid-execution (golang/go#75804, fixed in 1.27).
FUZZTIME    ?= 50000x

.PHONY: test deps lint unit fuzz bench build run

test: deps lint unit fuzz

deps:
	bash scripts/test-deps.sh

build:
	$(GO) build -o $(BIN)/tawthiq ./cmd/tawthiq

run:
	$(GO) run ./cmd/tawthiq serve

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOBIN=$(BIN) $(GO) install $(STATICCHECK)
	$(BIN)/staticcheck ./...

unit:
	$(TEST_ENV) $(GO) test -count=1 -timeout 20m ./...

# Every fuzz target runs briefly; a crash fails the build. Minimizing a new input may take
# 60 s by default, the whole run for a slow target (FuzzValidate): 2 s leaves the time to fuzzing.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
	  done; \
	done

# Every benchmark of the tree (TSA, OCSP, CRL, issuance, validation, store, ...); see docs/performance.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...
