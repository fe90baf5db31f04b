package ort

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// EnvLib names the environment variable that points at the library.
const EnvLib = "SEGVOL_ORT_LIB"

// loaded is the library this process loaded; ONNX Runtime keeps one
// environment per process.
var loaded struct {
	sync.Mutex
	path string
}

// place is one candidate for the library: where it comes from, and the
// file, or a note saying why there is none.
type place struct{ where, path, note string }

// load returns the path of the loaded library, loading it first if needed.
func load(settings string) (string, error) {
	loaded.Lock()
	defer loaded.Unlock()
	if loaded.path != "" {
		if settings != "" && !sameFile(settings, loaded.path) {
			return "", fmt.Errorf("ort: ONNX Runtime is already loaded from %s in this process; restart to use %s", loaded.path, settings)
		}
		return loaded.path, nil
	}
	// A library chosen by hand that is not there is an error, not a reason
	// to load another one silently.
	if settings != "" {
		if st, err := os.Stat(settings); err != nil || st.IsDir() {
			return "", fmt.Errorf("ort: the ONNX Runtime library chosen in the settings, %s, is not there", settings)
		}
	}
	var tried []string
	for _, p := range places(settings) {
		if p.path == "" {
			tried = append(tried, p.where+": "+p.note)
			continue
		}
		if st, err := os.Stat(p.path); err != nil || st.IsDir() {
			tried = append(tried, fmt.Sprintf("%s: %s absent", p.where, p.path))
			continue
		}
		onnx.SetSharedLibraryPath(p.path)
		// Fatal only: the reasons a provider cannot start come back as
		// errors and are reported by Provider, not printed on stderr.
		if err := onnx.InitializeEnvironment(onnx.WithLogLevelFatal()); err != nil {
			if strings.Contains(err.Error(), "ORT API base") {
				return "", fmt.Errorf("ort: %s (%s) is older than ONNX Runtime 1.24, which this build needs (C API 24); run `make ort`", p.path, p.where)
			}
			return "", fmt.Errorf("ort: cannot load ONNX Runtime from %s (%s): %v", p.path, p.where, innermost(err))
		}
		loaded.path = p.path
		return p.path, nil
	}
	return "", fmt.Errorf("ort: no ONNX Runtime library found (run `make ort`, or set %s or the library in the settings); tried %s", EnvLib, strings.Join(tried, "; "))
}

// LoadedLibrary is the ONNX Runtime library this process has loaded, or ""
// before the first Open: it stays for the life of the process.
func LoadedLibrary() string {
	loaded.Lock()
	defer loaded.Unlock()
	return loaded.path
}

// innermost is the error at the end of err's chain: the loader's or ONNX
// Runtime's own message, without the binding's prefixes.
func innermost(err error) error {
	for errors.Unwrap(err) != nil {
		err = errors.Unwrap(err)
	}
	return err
}

// places lists the candidates in the order Open documents.
func places(settings string) []place {
	ps := []place{{"settings", settings, "not set"}, {"$" + EnvLib, os.Getenv(EnvLib), "not set"}}
	var starts []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dir := filepath.Dir(exe)
		starts = append(starts, dir)
		for _, name := range libNames() {
			ps = append(ps, place{"next to the executable", filepath.Join(dir, name), ""})
		}
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	seen := map[string]bool{}
	for _, s := range starts {
		root := moduleRoot(s)
		if root == "" || seen[root] {
			continue
		}
		seen[root] = true
		dir := filepath.Join(root, "third_party", "onnxruntime", PinnedVersion, runtime.GOOS+"-"+runtime.GOARCH)
		for _, name := range libNames() {
			ps = append(ps, place{"make ort", filepath.Join(dir, name), ""})
		}
	}
	if len(seen) == 0 {
		ps = append(ps, place{"make ort", "", "no segvol checkout above the working directory or the executable"})
	}
	return ps
}

// libNames are the file names of the library on this platform, the one the
// npm package ships first.
func libNames() []string {
	switch runtime.GOOS {
	case "windows":
		return []string{"onnxruntime.dll"}
	case "darwin":
		return []string{"libonnxruntime.1.dylib", "libonnxruntime.dylib"}
	default:
		return []string{"libonnxruntime.so.1", "libonnxruntime.so"}
	}
}

// moduleRoot is the nearest folder at or above dir holding this module's
// go.mod, or "" (an installed executable far from any checkout).
func moduleRoot(dir string) string {
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.HasPrefix(b, []byte("module github.com/segvolapp/segvol\n")) {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
