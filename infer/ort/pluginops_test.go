package ort

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/segvolapp/segvol/infer/ort/orttest"
)

// The operators that crash the CUDA plugin provider are found in a model's
// graph: the tests' own decoder tiles, a Resize by output size is caught and
// one by scales is not.
func TestPluginCrashOp(t *testing.T) {
	resize := func(sizes bool) string {
		g := &orttest.Graph{}
		g.Input("x", 1, 1, 4, 4, 4)
		if sizes {
			g.Int64s("sizes", 1, 1, 8, 8, 8)
			g.Node("Resize", []string{"x", "", "", "sizes"}, []string{"y"})
		} else {
			g.Floats("scales", []int64{5}, []float32{1, 1, 2, 2, 2})
			g.Node("Resize", []string{"x", "", "scales"}, []string{"y"})
		}
		g.Output("y", 1, 1, 8, 8, 8)
		path := filepath.Join(t.TempDir(), "resize.onnx")
		if err := g.Write(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	garbage := filepath.Join(t.TempDir(), "garbage.onnx")
	if err := os.WriteFile(garbage, []byte{0x3a, 0xff, 0xff, 0x03}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{model(t, "mask_decoder.onnx"), "Tile"},
		{model(t, "image_encoder.onnx"), ""},
		{model(t, "prompt_encoder.onnx"), ""},
		{resize(true), "Resize by output size"},
		{resize(false), ""},
	} {
		got, err := pluginCrashOp(c.path)
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", filepath.Base(c.path), got, err, c.want)
		}
	}
	if _, err := pluginCrashOp(garbage); err == nil {
		t.Error("a truncated file passed as a model")
	}
}
