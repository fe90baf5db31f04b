//go:build !linux

package ort

import (
	"errors"

	onnx "github.com/yalue/onnxruntime_go"
)

// appendPlugin is Linux-only for now: the plugin provider libraries we can
// fetch (CUDA from asus4's packages) are Linux builds; on Windows CUDA goes
// through a core library built with it, and DirectML is built in.
func appendPlugin(so *onnx.SessionOptions, core, name, lib string, match func(ep string) bool, opts map[string]string) error {
	return errors.New("plugin execution providers are only wired on Linux")
}

func pluginRegistered(name string) bool { return false }
