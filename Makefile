# The two set-up commands of the README are `make run` and `make test`; each
# installs what it needs on a Debian machine first.
SHELL := /bin/bash
GO := $(shell scripts/ensure-go.sh)
export CGO_ENABLED := 1
BIN := bin

# Build: cgo decoders for JPEG 2000 (OpenJPEG), JPEG-LS (CharLS), and
# libdeflate for fast .nii.gz reading.
APT_BUILD := gcc pkg-config libopenjp2-7-dev libcharls-dev libdeflate-dev
# Tests compare against peer tools and references on the same files.
APT_TEST := $(APT_BUILD) dcm2niix python3-nibabel python3-numpy dcmtk libgdcm-tools

SAMPLE := assets/sample/example_ct_sm.nii.gz
FUZZTIME ?= 10s

.PHONY: deps deps-test build test vet fuzz bench run clean

deps:
	scripts/apt-deps.sh $(APT_BUILD)
	$(GO) mod download

deps-test:
	scripts/apt-deps.sh $(APT_TEST)
	$(GO) mod download

build: deps
	$(GO) build -o $(BIN)/ ./cmd/segvol

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "not gofmt-formatted: $$unformatted"; exit 1; fi
	$(GO) vet ./...

test: deps-test vet
	$(GO) test ./...
	$(MAKE) --no-print-directory fuzz

# A short run of every fuzz target beyond its seed corpus (the seeds already
# run in `go test`); FUZZTIME=5m for a longer hunt.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Benchmarks, then the peer comparisons (dcm2niix, nibabel) on the same files
# in the same run; the scripts print the ratios.
bench: deps-test
	$(GO) test -run '^$$' -bench . -benchmem ./...
	scripts/bench-dicom.sh
	scripts/bench-nifti.sh

run: build
	$(BIN)/segvol info $(SAMPLE)

clean:
	rm -rf $(BIN)
