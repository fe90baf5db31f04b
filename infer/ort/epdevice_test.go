//go:build linux

package ort

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	onnx "github.com/yalue/onnxruntime_go"
)

// TestOrtAPISlots checks the OrtApi slot numbers epdevice.go calls through
// against the C API header that onnxruntime_go v1.27 ships (C API 24),
// compiled here with offsetof.
func TestOrtAPISlots(t *testing.T) {
	src, err := os.ReadFile("epdevice.go")
	if err != nil {
		t.Fatal(err)
	}
	slots := regexp.MustCompile(`slot_(\w+) = (\d+),`).FindAllStringSubmatch(string(src), -1)
	if len(slots) < 8 {
		t.Fatalf("found %d slots in epdevice.go", len(slots))
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yalue/onnxruntime_go").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	header := strings.TrimSpace(string(out))
	var c strings.Builder
	c.WriteString("#include <stdio.h>\n#include <stddef.h>\n#include \"onnxruntime_c_api.h\"\nint main(void) {\n")
	for _, s := range slots {
		fmt.Fprintf(&c, "\tprintf(\"%s %%zu\\n\", offsetof(OrtApi, %s) / sizeof(void *));\n", s[1], s[1])
	}
	c.WriteString("\treturn ORT_API_VERSION != 24;\n}\n")
	dir := t.TempDir()
	prog := filepath.Join(dir, "slots")
	if err := os.WriteFile(prog+".c", []byte(c.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	if b, err := exec.Command(cc, "-I", header, "-o", prog, prog+".c").CombinedOutput(); err != nil {
		t.Fatalf("compiling against %s/onnxruntime_c_api.h: %v\n%s", header, err, b)
	}
	b, err := exec.Command(prog).Output()
	if err != nil {
		t.Fatalf("the header's ORT_API_VERSION is not 24 (%v): update the GetApi(24) call and the slots", err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if want := slots[i][1] + " " + slots[i][2]; line != want {
			t.Errorf("header says %q, epdevice.go %q", line, want)
		}
	}
}

// TestEPDeviceAppend runs a model on the CPU device as GetEpDevices lists it,
// added with options through SessionOptionsAppendExecutionProvider_V2: the
// path a plugin GPU provider takes, on the provider every library has. Its
// output must be the plain CPU session's.
func TestEPDeviceAppend(t *testing.T) {
	r := runtimeFor(t, CPU)
	defer r.Close()
	plugins.Lock()
	err := epAPILocked(r.path)
	plugins.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	d, err := findDevice(func(ep string) bool { return ep == "CPUExecutionProvider" }, hardwareCPU)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := findDevice(func(ep string) bool { return ep == "CPUExecutionProvider" }, hardwareGPU); err == nil || !strings.Contains(err.Error(), "CPUExecutionProvider") {
		t.Errorf("asking for a GPU of the CPU provider: %v, want a message listing the devices", err)
	}
	so, err := onnx.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer so.Destroy()
	// The provider's options reach ONNX Runtime, which keeps them as
	// session entries ep.<provider>.<key> (how use_tf32 reaches CUDA).
	if err := appendDevice(so, d, map[string]string{"use_tf32": "0", "note": "segvol"}); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"ep.cpuexecutionprovider.use_tf32": "0", "ep.cpuexecutionprovider.note": "segvol"} {
		if got, err := so.GetSessionConfigEntry(k); err != nil || got != want {
			t.Errorf("session entry %s = %q (%v), want %q", k, got, err, want)
		}
	}
	path := model(t, "prompt_encoder.onnx")
	ds, err := onnx.NewDynamicAdvancedSession(path, []string{"point_coords", "point_labels"}, []string{"point_tokens"}, so)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Destroy()
	coords, labels := randomTensor(5, 1, 3, 3), randomTensor(6, 1, 3)
	in := make([]onnx.Value, 2)
	for i, x := range []Tensor{coords, labels} {
		v, err := onnx.NewTensor(onnx.NewShape(x.Shape...), x.Data)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Destroy()
		in[i] = v
	}
	out := []onnx.Value{nil}
	if err := ds.Run(in, out); err != nil {
		t.Fatal(err)
	}
	defer out[0].Destroy()
	got := out[0].(*onnx.Tensor[float32]).GetData()

	s, err := r.NewSession(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Run(context.Background(), map[string]Tensor{"point_coords": coords, "point_labels": labels})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want["point_tokens"].Data) || len(got) == 0 {
		t.Fatalf("%d values through the EP device, %d through the plain session", len(got), len(want["point_tokens"].Data))
	}
	for i, x := range want["point_tokens"].Data {
		if got[i] != x {
			t.Fatalf("value %d: %g through the EP device, %g through the plain session", i, got[i], x)
		}
	}
}

// TestCUDAOnGPU runs the encoder graph on CUDA and compares it with the CPU.
// It needs an NVIDIA GPU, the CUDA 13 libraries and a CUDA-capable ONNX
// Runtime (scripts/fetch-ort.sh gpu); set SEGVOL_TEST_GPU=1 to run it.
func TestCUDAOnGPU(t *testing.T) {
	if os.Getenv("SEGVOL_TEST_GPU") == "" {
		t.Skip("SEGVOL_TEST_GPU not set: needs an NVIDIA GPU")
	}
	gpu := runtimeFor(t, CUDA)
	defer gpu.Close()
	if p := gpu.Provider(); p != "CUDA" {
		t.Fatalf("Provider() = %q, want CUDA", p)
	}
	cpu := runtimeFor(t, CPU)
	defer cpu.Close()
	in := map[string]Tensor{"image": randomTensor(7, 1, 1, 32, 256, 256)}
	var outs [2][]float32
	for i, r := range []*Runtime{gpu, cpu} {
		s, err := r.NewSession(model(t, "image_encoder.onnx"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = out["image_embedding"].Data
	}
	worst := 0.0
	for i := range outs[0] {
		worst = max(worst, math.Abs(float64(outs[0][i]-outs[1][i]))/(1+math.Abs(float64(outs[1][i]))))
	}
	t.Logf("CUDA vs CPU: largest relative difference %.3g over %d values", worst, len(outs[0]))
	if worst > 1e-3 {
		t.Errorf("CUDA and CPU differ by %g (relative)", worst)
	}
}
