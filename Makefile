# The two set-up commands of the README are `make run` and `make test`; each
# installs what it needs on a Debian machine first.
SHELL := /bin/bash
GO := $(shell scripts/ensure-go.sh)
export CGO_ENABLED := 1
BIN := bin

# Build: cgo decoders for JPEG 2000 (OpenJPEG), JPEG-LS (CharLS), libdeflate
# for fast .nii.gz reading, and the X11/OpenGL headers Fyne and go-gl need.
APT_BUILD := gcc pkg-config libopenjp2-7-dev libcharls-dev libdeflate-dev \
	libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
# Tests compare against peer tools and references on the same files, and run
# the GL renderer and the app in a real X server (Xvfb, Mesa llvmpipe).
APT_TEST := $(APT_BUILD) dcm2niix python3-nibabel python3-numpy dcmtk libgdcm-tools dicom3tools \
	xvfb xauth x11-apps imagemagick xdotool python3-vtk9 curl \
	gnome-keyring dbus-daemon
# Real servers: a PACS for the DICOMweb tests (viewer/dicomweb), which start
# their own Orthanc on a free port, and a one-node Slurm cluster for the
# batch tests (scripts/slurm-local.sh); the packages' services are not started.
APT_TEST_SERVICES := orthanc orthanc-dicomweb orthanc-python slurm-wlm munge
XVFB := xvfb-run -a -s "-screen 0 1600x1000x24"

# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with
# "context deadline exceeded" when a -fuzztime duration ends while a worker is
# mid-call (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline.
FUZZTIME ?= 150000x

.PHONY: deps deps-test ort build test vet fuzz bench run clean

deps:
	scripts/apt-deps.sh $(APT_BUILD)
	$(GO) mod download

deps-test: ort
	scripts/apt-deps.sh $(APT_TEST)
	scripts/apt-deps.sh --no-start $(APT_TEST_SERVICES)
	$(GO) mod download

# ONNX Runtime's shared library, pinned and checked by SHA-256, into
# third_party/onnxruntime/ (see the script for the GPU variant).
ort:
	scripts/fetch-ort.sh

build: deps ort
	$(GO) build -o $(BIN)/ ./cmd/segvol ./cmd/segvol-viewer

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "not gofmt-formatted: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# The race detector runs too: the app's UI updates come from loading,
# engine and segmentation goroutines.
# The batch tests submit real job arrays to a one-node Slurm cluster on
# 127.0.0.1 (scripts/slurm-local.sh; it stays up for the next run).
test: export SLURM_CONF = $(or $(SEGVOL_SLURM_DIR),/tmp/segvol-slurm)/slurm.conf
test: deps-test vet
	scripts/slurm-local.sh start
	$(XVFB) $(GO) test ./...
	$(XVFB) $(GO) test -race ./...
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory test-export

# The SegVol export proved without the real weights (models/segvol/README.md):
# a random checkpoint at reduced encoder depth (SEGVOL_TEST_DEPTH=12 for the
# full size), export, ONNX Runtime from Go against PyTorch, zoom-out-zoom-in.
.PHONY: test-export
test-export: ort
	scripts/apt-deps.sh python3-torch python3-onnx time
	GO="$(GO)" scripts/test-export.sh

# A short run of every fuzz target beyond its seed corpus (the seeds already
# run in `go test`); FUZZTIME=5000000x for a longer hunt.
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
bench: export SLURM_CONF = $(or $(SEGVOL_SLURM_DIR),/tmp/segvol-slurm)/slurm.conf
bench: deps-test
	scripts/slurm-local.sh start
	$(XVFB) $(GO) test -run '^$$' -bench . -benchmem ./...
	scripts/bench-dicom.sh
	scripts/bench-nifti.sh
	scripts/bench-mesh.sh
	SEGVOL_TEST_DEPTH=12 GO="$(GO)" scripts/test-export.sh --bench

# Opens the viewer on the bundled sample study.
run: build
	$(BIN)/segvol-viewer

clean:
	rm -rf $(BIN)

# Installers into dist/ (packaging/README.md), each with ONNX Runtime beside
# the programs: Linux tar.xz (fyne package layout) and .deb; Windows zip and
# NSIS installer, cross-compiled with mingw-w64 and the codecs built from
# Debian's sources; a macOS .app on an Apple-silicon Mac only.
APT_PACKAGE_LINUX := dpkg-dev xz-utils
APT_PACKAGE_WINDOWS := gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 cmake curl nsis zip imagemagick
.PHONY: package-linux package-windows package-macos test-packages
package-linux: deps ort
	scripts/apt-deps.sh $(APT_PACKAGE_LINUX)
	GO="$(GO)" scripts/package-linux.sh

package-windows:
	scripts/apt-deps.sh $(APT_PACKAGE_WINDOWS)
	GO="$(GO)" scripts/package-windows.sh

package-macos:
	GO="$(GO)" scripts/package-macos.sh

# Checks the built packages: contents, .deb Depends, ONNX Runtime found by
# the installed CLI, SegVol installed from random checkpoints by the .deb's
# CLI with no Python in reach and segmenting, PE headers and imports of the
# Windows files, then the viewer installed from the .deb opens the sample
# under Xvfb (screenshot) and installs SegVol from its menus.
# The Windows packages run under Wine (one prefix per run, scripts/wine-prefix.sh)
# on Xvfb: installer, CLI against the Linux build, SegVol, viewer, uninstaller.
test-packages: package-linux package-windows
	scripts/apt-deps.sh xvfb xauth x11-apps imagemagick desktop-file-utils python3-torch unzip xdotool
	ckpt=$$(mktemp -d) && wine=$$(mktemp -d) && tmp=$$(mktemp -d) && scripts/test-checkpoints.sh $$ckpt && scripts/wine-prefix.sh $$wine && \
	  SEGVOL_DIST=$(CURDIR)/dist SEGVOL_CHECKPOINTS=$$ckpt SEGVOL_WINEPREFIX=$$wine $(XVFB) $(GO) test -count=1 -timeout 30m -v ./packaging/ && \
	  dpkg-deb -x dist/segvol_*_amd64.deb $$tmp && \
	  SEGVOL_VIEWER_BIN=$$tmp/opt/segvol/segvol-viewer SEGVOL_CHECKPOINTS=$$ckpt $(GO) test -count=1 -v \
	    -run 'TestAppShowsSampleUnderXvfb|TestInstallSegVolThroughMenusUnderXvfb' ./cmd/segvol-viewer; \
	  rc=$$?; WINEPREFIX=$$wine wineserver -k; rm -rf $$ckpt $$wine $$tmp; exit $$rc
