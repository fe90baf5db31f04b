package ort

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	onnx "github.com/yalue/onnxruntime_go"
)

// provider is an execution provider.
type provider int

const (
	cpuEP provider = iota
	cudaEP
	directMLEP
	coreMLEP
)

func (p provider) String() string {
	return [...]string{"CPU", "CUDA", "DirectML", "CoreML"}[p]
}

// wanted lists the providers to try, best first, for a device name; the CPU
// is always the fallback and is not listed.
func wanted(device string) ([]provider, error) {
	switch device {
	case "", Auto:
		switch runtime.GOOS {
		case "windows":
			return []provider{cudaEP, directMLEP}, nil
		case "darwin":
			return []provider{coreMLEP}, nil
		default:
			return []provider{cudaEP}, nil
		}
	case CPU:
		return nil, nil
	case CUDA:
		return []provider{cudaEP}, nil
	case DirectML:
		return []provider{directMLEP}, nil
	case CoreML:
		return []provider{coreMLEP}, nil
	}
	return nil, fmt.Errorf("ort: unknown device %q (auto, cpu, cuda, directml or coreml)", device)
}

// probe returns the first provider of want that this library and machine
// accept, or the CPU, with the reason each one before it was refused. A
// provider can still fail when a session starts (no device, out of memory);
// NewSession falls back then.
func (r *Runtime) probe(want []provider) (provider, []string) {
	var why []string
	for _, p := range want {
		err := p.missing(r.path)
		if err == nil {
			var so *onnx.SessionOptions
			so, err = onnx.NewSessionOptions()
			if err == nil {
				err = p.appendTo(so, r.path)
				so.Destroy()
			}
		}
		if err == nil {
			return p, why
		}
		why = append(why, fmt.Sprintf("%s: %v", p, err))
	}
	return cpuEP, why
}

// missing says why p cannot run on this platform or next to this library,
// before ONNX Runtime is asked (its own message for a missing provider
// library is only "Failed to load shared library").
func (p provider) missing(lib string) error {
	switch p {
	case cudaEP:
		if runtime.GOOS == "darwin" {
			return fmt.Errorf("not available on macOS")
		}
		name := cudaLibName()
		dir := filepath.Dir(lib)
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("%s not found in %s", name, dir)
		}
	case directMLEP:
		if runtime.GOOS != "windows" {
			return fmt.Errorf("Windows only")
		}
	case coreMLEP:
		if runtime.GOOS != "darwin" {
			return fmt.Errorf("macOS only")
		}
	}
	return nil
}

// cudaPluginName is the CUDA provider library's registration name.
const cudaPluginName = "CUDA"

// cudaLibName is the CUDA provider library's file name.
func cudaLibName() string {
	if runtime.GOOS == "windows" {
		return "onnxruntime_providers_cuda.dll"
	}
	return "libonnxruntime_providers_cuda.so"
}

// cudaOptions turn TF32 matrix products off: on by default, they put the
// point tokens 0.02 and the image embedding 3e-3 away from the exported
// model's float32 (measured on an H200), beyond export.py's self-check.
var cudaOptions = map[string]string{"use_tf32": "0"}

func appendCUDA(so *onnx.SessionOptions) error {
	co, err := onnx.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer co.Destroy()
	if err := co.Update(cudaOptions); err != nil {
		return err
	}
	return so.AppendExecutionProviderCUDA(co)
}

// appendTo adds p to the session options of a session of the library lib
// (the CPU needs nothing).
func (p provider) appendTo(so *onnx.SessionOptions, lib string) error {
	switch p {
	case cudaEP:
		// A core built with CUDA (Microsoft's GPU releases) takes it
		// directly; otherwise the provider library may be a plugin
		// (asus4's packages), which the core loads through its EP-device
		// API.
		err := appendCUDA(so)
		if err == nil {
			return nil
		}
		perr := appendPlugin(so, lib, cudaPluginName, filepath.Join(filepath.Dir(lib), cudaLibName()), func(ep string) bool {
			return strings.Contains(strings.ToLower(ep), "cuda")
		}, cudaOptions)
		if perr == nil {
			return nil
		}
		return fmt.Errorf("%v; as a plugin: %v", innermost(err), perr)
	case directMLEP:
		// DirectML runs neither memory patterns nor parallel execution.
		if err := so.SetMemPattern(false); err != nil {
			return err
		}
		if err := so.SetExecutionMode(onnx.ExecutionModeSequential); err != nil {
			return err
		}
		return so.AppendExecutionProviderDirectML(0)
	case coreMLEP:
		// ML Program is the CoreML format that covers the most operators.
		return so.AppendExecutionProviderCoreMLV2(map[string]string{"ModelFormat": "MLProgram"})
	}
	return nil
}
