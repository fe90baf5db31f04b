// Package ort runs ONNX models through ONNX Runtime's shared library, which
// it loads at run time (github.com/yalue/onnxruntime_go), on the best
// execution provider it can start, with the CPU as the fallback. It always
// says which provider runs and why the others could not.
package ort

import (
	"fmt"
	"strings"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// PinnedVersion is the ONNX Runtime release that scripts/fetch-ort.sh
// (`make ort`) puts in third_party/onnxruntime.
const PinnedVersion = "1.30.0"

// Devices that Options.Device names.
const (
	Auto     = "auto"
	CPU      = "cpu"
	CUDA     = "cuda"
	DirectML = "directml"
	CoreML   = "coreml"
)

// Options says which library to load and where sessions run.
type Options struct {
	// LibPath is the shared library chosen in the settings; empty to search
	// (see Open).
	LibPath string
	// Device is auto (the default: the platform's GPU provider if it
	// starts), cpu, cuda, directml or coreml.
	Device string
	// Threads bounds the threads of one operator in a session; 0 lets ONNX
	// Runtime use one per physical core.
	Threads int
}

// Runtime is the loaded library plus a choice of execution provider; its
// sessions share it.
type Runtime struct {
	opts Options
	path string

	mu       sync.Mutex
	ep       provider
	why      []string // why providers other than ep could not run
	sessions map[*Session]struct{}
	closed   bool
}

// Open loads the shared library, once per process, from the first of these
// that exists: opts.LibPath, $SEGVOL_ORT_LIB, next to the executable, the
// folder `make ort` fills (found from the module root above the working
// directory or the executable). The error lists every place tried. It then
// picks the execution provider that opts.Device asks for, or the CPU with
// the reason when that one cannot start.
func Open(opts Options) (*Runtime, error) {
	want, err := wanted(opts.Device)
	if err != nil {
		return nil, err
	}
	path, err := load(opts.LibPath)
	if err != nil {
		return nil, err
	}
	r := &Runtime{opts: opts, path: path, sessions: map[*Session]struct{}{}}
	r.ep, r.why = r.probe(want)
	return r, nil
}

// Version is the loaded library's version ("1.30.0").
func (r *Runtime) Version() string { return onnx.GetVersion() }

// LibraryPath is the shared library in use.
func (r *Runtime) LibraryPath() string { return r.path }

// Provider names the execution provider new sessions use, followed by why
// the others asked for could not, e.g.
// "CPU (CUDA: libonnxruntime_providers_cuda.so not found in /opt/ort)".
func (r *Runtime) Provider() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return describe(r.ep, r.why)
}

// Close closes the sessions still open. The library stays loaded for the
// life of the process: ONNX Runtime cannot be unloaded and loaded again.
func (r *Runtime) Close() {
	r.mu.Lock()
	open := make([]*Session, 0, len(r.sessions))
	for s := range r.sessions {
		open = append(open, s)
	}
	r.closed = true
	r.mu.Unlock()
	for _, s := range open {
		s.Close()
	}
}

func describe(ep provider, why []string) string {
	if len(why) == 0 {
		return ep.String()
	}
	return fmt.Sprintf("%s (%s)", ep, strings.Join(why, "; "))
}
