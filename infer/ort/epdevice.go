//go:build linux

package ort

// Plugin execution providers (ONNX Runtime's EP-device API): a provider
// library exporting CreateEpFactories is registered with the environment,
// which then lists the devices it can run on; a session takes one of them
// through SessionOptionsAppendExecutionProvider_V2. The GPU builds we can
// fetch (asus4's 1.29 packages) ship CUDA only this way. onnxruntime_go
// v1.27 wraps the registration but not the device list nor the V2 append,
// so those two calls go through the C API here, by the slot numbers of
// OrtApi version 24 (the ABI only appends slots; TestOrtAPISlots checks
// them against the binding's header).

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// OrtApi's members used here, slot_<member> = its index in OrtApi.
enum {
	slot_GetErrorMessage = 2,
	slot_CreateEnv = 3,
	slot_ReleaseStatus = 93,
	slot_GetEpDevices = 303,
	slot_SessionOptionsAppendExecutionProvider_V2 = 304,
	slot_HardwareDevice_Type = 307,
	slot_EpDevice_EpName = 312,
	slot_EpDevice_Device = 316,
};

typedef void *(*getApiFn)(uint32_t);
typedef struct { getApiFn GetApi; const char *(*GetVersionString)(void); } apiBase;

static void **api;  // OrtApi version 24, as its array of function pointers
static void *env;   // the process's OrtEnv, shared with onnxruntime_go

// statusMessage turns an OrtStatus into a malloc'ed message (NULL for OK).
static char *statusMessage(void *status) {
	if (!status) return NULL;
	const char *msg = ((const char *(*)(void *))api[slot_GetErrorMessage])(status);
	char *copy = strdup(msg ? msg : "unknown error");
	((void (*)(void *))api[slot_ReleaseStatus])(status);
	return copy;
}

// epInit finds the API of the library onnxruntime_go loaded and takes a
// reference to its environment: CreateEnv returns the existing one.
static char *epInit(const char *lib) {
	if (api) return NULL;
	void *h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
	if (!h) return strdup("the library is not loaded");
	const apiBase *(*base)(void) = (const apiBase *(*)(void))dlsym(h, "OrtGetApiBase");
	dlclose(h);  // onnxruntime_go's own handle keeps it loaded
	if (!base) return strdup("no OrtGetApiBase");
	void **a = (void **)base()->GetApi(24);
	if (!a) return strdup("no C API version 24");
	void *e = NULL;
	char *err = statusMessage(((void *(*)(int, const char *, void **))a[slot_CreateEnv])(4, "segvol", &e));
	if (err) return err;
	api = a;
	env = e;
	return NULL;
}

// epDevices returns the devices of every registered provider.
static char *epDevices(void ***devices, size_t *n) {
	return statusMessage(((void *(*)(const void *, const void *const **, size_t *))api[slot_GetEpDevices])(env, (const void *const **)devices, n));
}

static void *epDeviceAt(void **devices, size_t i) { return devices[i]; }

static const char *epName(void *d) {
	return ((const char *(*)(const void *))api[slot_EpDevice_EpName])(d);
}

static int epHardwareType(void *d) {
	const void *hw = ((const void *(*)(const void *))api[slot_EpDevice_Device])(d);
	return ((int (*)(const void *))api[slot_HardwareDevice_Type])(hw);
}

static char *epAppend(void *so, void *device, char **keys, char **values, size_t n) {
	const void *devs[1] = {device};
	return statusMessage(((void *(*)(void *, void *, const void *const *, size_t, const char *const *, const char *const *, size_t))api[slot_SessionOptionsAppendExecutionProvider_V2])(so, env, devs, 1, (const char *const *)keys, (const char *const *)values, n));
}
*/
import "C"

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	onnx "github.com/yalue/onnxruntime_go"
)

// Hardware device types (OrtHardwareDeviceType).
const (
	hardwareCPU = 0
	hardwareGPU = 1
)

// plugins records the provider libraries registered in this process, by
// registration name: a library is registered once, and its failure is kept.
var plugins struct {
	sync.Mutex
	initErr  error
	initDone bool
	done     map[string]error
}

func cError(msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return errors.New(C.GoString(msg))
}

// epAPILocked makes the EP-device calls ready on the loaded library core;
// the caller holds plugins' lock.
func epAPILocked(core string) error {
	if !plugins.initDone {
		c := C.CString(core)
		plugins.initErr = cError(C.epInit(c))
		C.free(unsafe.Pointer(c))
		plugins.initDone = true
		plugins.done = map[string]error{}
	}
	if plugins.initErr != nil {
		return fmt.Errorf("the EP-device API of %s: %v", core, plugins.initErr)
	}
	return nil
}

// registerPlugin registers the provider library at path under name, once.
func registerPlugin(core, name, path string) error {
	plugins.Lock()
	defer plugins.Unlock()
	if err := epAPILocked(core); err != nil {
		return err
	}
	if err, ok := plugins.done[name]; ok {
		return err
	}
	err := onnx.RegisterExecutionProviderLibrary(name, path)
	if err != nil {
		// ONNX Runtime's message ends with the loader's, which names the
		// missing CUDA library; the binding's prefixes say nothing more.
		err = fmt.Errorf("registering %s: %v", path, innermost(err))
	}
	plugins.done[name] = err
	return err
}

// pluginRegistered reports whether the provider library registered under
// name loaded.
func pluginRegistered(name string) bool {
	plugins.Lock()
	defer plugins.Unlock()
	err, ok := plugins.done[name]
	return ok && err == nil
}

// epDevice is a device that a provider offers, as GetEpDevices lists it.
type epDevice struct{ ptr unsafe.Pointer }

// findDevice returns the first device of the given hardware type offered by
// a provider whose name match accepts, or why there is none. epAPILocked
// must have succeeded.
func findDevice(match func(ep string) bool, hardware int) (epDevice, error) {
	var devs *unsafe.Pointer
	var n C.size_t
	if err := cError(C.epDevices(&devs, &n)); err != nil {
		return epDevice{}, err
	}
	var seen []string
	for i := 0; i < int(n); i++ {
		d := C.epDeviceAt(devs, C.size_t(i))
		name := C.GoString(C.epName(d))
		if match(name) && int(C.epHardwareType(d)) == hardware {
			return epDevice{ptr: d}, nil
		}
		seen = append(seen, name)
	}
	kind := map[int]string{hardwareCPU: "CPU", hardwareGPU: "GPU"}[hardware]
	return epDevice{}, fmt.Errorf("no %s among the devices ONNX Runtime lists (%s)", kind, strings.Join(seen, ", "))
}

// sessionOptionsPtr is the OrtSessionOptions behind the binding's
// SessionOptions, whose only field is that pointer (checked, so that a new
// binding version that changes it fails here rather than crashing).
func sessionOptionsPtr(so *onnx.SessionOptions) (unsafe.Pointer, error) {
	t := reflect.TypeOf(*so)
	if t.NumField() != 1 || t.Field(0).Type.Kind() != reflect.Pointer || t.Size() != unsafe.Sizeof(uintptr(0)) {
		return nil, fmt.Errorf("onnxruntime_go's SessionOptions is no longer one pointer; update infer/ort/epdevice.go")
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(so)), nil
}

// appendDevice adds a provider's device to the session options, with the
// provider's options.
func appendDevice(so *onnx.SessionOptions, d epDevice, opts map[string]string) error {
	p, err := sessionOptionsPtr(so)
	if err != nil {
		return err
	}
	// Go arrays of C strings (one spare, so that &keys[0] exists).
	n := len(opts)
	keys, values := make([]*C.char, n+1), make([]*C.char, n+1)
	i := 0
	for k, v := range opts {
		keys[i], values[i] = C.CString(k), C.CString(v)
		defer C.free(unsafe.Pointer(keys[i]))
		defer C.free(unsafe.Pointer(values[i]))
		i++
	}
	return cError(C.epAppend(p, d.ptr, &keys[0], &values[0], C.size_t(n)))
}

// appendPlugin registers the provider library lib under name and adds the
// first GPU of a provider whose name match accepts to the session options,
// with the provider's options.
func appendPlugin(so *onnx.SessionOptions, core, name, lib string, match func(ep string) bool, opts map[string]string) error {
	if err := registerPlugin(core, name, lib); err != nil {
		return err
	}
	d, err := findDevice(match, hardwareGPU)
	if err != nil {
		return err
	}
	return appendDevice(so, d, opts)
}
