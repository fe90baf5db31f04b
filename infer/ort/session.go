package ort

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// Tensor is a dense tensor in row-major order: float32 in Data, or for an
// int64 input (token ids) in Int64.
type Tensor struct {
	Shape []int64
	Data  []float32
	Int64 []int64
}

// Session runs one model. Run may be called from several goroutines at once.
type Session struct {
	r        *Runtime
	name     string // the model's file name, for messages
	ds       *onnx.DynamicAdvancedSession
	in, out  []port
	provider string

	mu     sync.RWMutex // Run holds it shared, Close exclusive
	closed bool
}

// port is a model input or output and its declared shape (-1: dynamic).
type port struct {
	name  string
	dims  []int64
	int64 bool // an int64 input, fed from Tensor.Int64
}

// NewSession loads a model that reads the named inputs and writes the named
// outputs (nil: all of the model's, in its order); every one must be a
// float32 tensor, except that inputs may be int64 tensors. The session runs on the runtime's provider; when that one
// fails to start it (no device, out of memory) the session runs on the CPU,
// and so do the runtime's later sessions, with the reason in Provider.
func (r *Runtime) NewSession(model string, inputs, outputs []string) (*Session, error) {
	name := filepath.Base(model)
	if st, err := os.Stat(model); err != nil || st.IsDir() {
		return nil, fmt.Errorf("ort: no model file %s", model)
	}
	ins, outs, err := onnxPorts(model)
	if err != nil {
		return nil, err
	}
	s := &Session{r: r, name: name}
	if s.in, err = pick(name, "input", ins, inputs); err != nil {
		return nil, err
	}
	if s.out, err = pick(name, "output", outs, outputs); err != nil {
		return nil, err
	}
	if len(s.in) == 0 || len(s.out) == 0 {
		return nil, fmt.Errorf("ort: %s has no inputs or no outputs to run", name)
	}
	inNames, outNames := names(s.in), names(s.out)

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, fmt.Errorf("ort: %s: the runtime is closed", name)
	}
	ep := r.ep
	r.mu.Unlock()
	s.ds, err = r.create(model, inNames, outNames, ep)
	if err != nil && ep != cpuEP {
		r.mu.Lock()
		r.why = append(r.why, fmt.Sprintf("%s: %s failed to start: %v", ep, name, err))
		r.ep = cpuEP
		r.mu.Unlock()
		s.ds, err = r.create(model, inNames, outNames, cpuEP)
	}
	if err != nil {
		return nil, fmt.Errorf("ort: %s: %v", name, err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		s.ds.Destroy()
		return nil, fmt.Errorf("ort: %s: the runtime is closed", name)
	}
	s.provider = describe(r.ep, r.why)
	r.sessions[s] = struct{}{}
	return s, nil
}

// create starts an ONNX Runtime session on ep.
func (r *Runtime) create(model string, inputs, outputs []string, ep provider) (*onnx.DynamicAdvancedSession, error) {
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	if r.opts.Threads > 0 {
		if err := so.SetIntraOpNumThreads(r.opts.Threads); err != nil {
			return nil, err
		}
	}
	if err := ep.appendTo(so, r.path); err != nil {
		return nil, err
	}
	if ep == cudaEP && pluginRegistered(cudaPluginName) {
		op, err := pluginCrashOp(model)
		if err != nil {
			return nil, err
		}
		if op != "" {
			return nil, fmt.Errorf("its %s would crash ONNX Runtime's CUDA plugin provider (export it again with this version's models/segvol/export.py)", op)
		}
	}
	return onnx.NewDynamicAdvancedSession(model, inputs, outputs, so)
}

// onnxPorts reads a model's inputs and outputs; graph optimisations are
// off since this session only answers that question.
func onnxPorts(model string) (ins, outs []onnx.InputOutputInfo, err error) {
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, nil, err
	}
	defer so.Destroy()
	if err := so.SetGraphOptimizationLevel(onnx.GraphOptimizationLevelDisableAll); err != nil {
		return nil, nil, err
	}
	ins, outs, err = onnx.GetInputOutputInfoWithOptions(model, so)
	if err != nil {
		return nil, nil, fmt.Errorf("ort: %s is not a model ONNX Runtime can load: %v", model, err)
	}
	return ins, outs, nil
}

// pick returns the requested ports of a model, checked to exist and to be
// float32 tensors (or int64 ones, for inputs).
func pick(model, kind string, have []onnx.InputOutputInfo, want []string) ([]port, error) {
	if want == nil {
		want = make([]string, len(have))
		for i, h := range have {
			want[i] = h.Name
		}
	}
	ports := make([]port, 0, len(want))
	for _, w := range want {
		i := 0
		for i < len(have) && have[i].Name != w {
			i++
		}
		if i == len(have) {
			all := make([]string, len(have))
			for j, h := range have {
				all[j] = h.Name
			}
			return nil, fmt.Errorf("ort: %s has no %s %q (its %ss: %s)", model, kind, w, kind, strings.Join(all, ", "))
		}
		h := have[i]
		ints := kind == "input" && h.DataType == onnx.TensorElementDataTypeInt64
		if h.OrtValueType != onnx.ONNXTypeTensor || (h.DataType != onnx.TensorElementDataTypeFloat && !ints) {
			want := "a float32 tensor"
			if kind == "input" {
				want = "a float32 or int64 tensor"
			}
			return nil, fmt.Errorf("ort: %s %s %q is %v, not %s", model, kind, w, &h, want)
		}
		ports = append(ports, port{w, h.Dimensions.Clone(), ints})
	}
	return ports, nil
}

func names(ps []port) []string {
	n := make([]string, len(ps))
	for i, p := range ps {
		n[i] = p.name
	}
	return n
}

// Provider names the execution provider this session runs on, followed by
// why the others asked for could not (as Runtime.Provider).
func (s *Session) Provider() string { return s.provider }

// Run feeds every input of the session by name and returns every output.
func (s *Session) Run(ctx context.Context, in map[string]Tensor) (map[string]Tensor, error) {
	out := make(map[string]Tensor, len(s.out))
	if err := s.RunInto(ctx, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// RunInto is Run storing the outputs in out. An output of fixed shape that
// out already holds is written in place into its Data, so that runs that
// pass the same map reuse their buffers (the decoder's 2M-value logits); the
// other outputs are allocated and stored in out.
//
// Cancelling ctx stops the run between two operators (ONNX Runtime's
// terminate flag), not inside one, and Run returns ctx's error.
func (s *Session) RunInto(ctx context.Context, in, out map[string]Tensor) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("ort: %s: the session is closed", s.name)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ort: %s: %w", s.name, err)
	}
	for k := range in {
		if !hasPort(s.in, k) {
			return fmt.Errorf("ort: %s has no input %q (its inputs: %s)", s.name, k, strings.Join(names(s.in), ", "))
		}
	}
	var values []onnx.Value
	defer func() {
		for _, v := range values {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	ins := make([]onnx.Value, len(s.in))
	for i, p := range s.in {
		t, ok := in[p.name]
		if !ok {
			return fmt.Errorf("ort: %s: input %q is missing", s.name, p.name)
		}
		v, err := p.value(t)
		if err != nil {
			return fmt.Errorf("ort: %s: input %q: %v", s.name, p.name, err)
		}
		ins[i] = v
		values = append(values, v)
	}
	outs := make([]onnx.Value, len(s.out))
	given := make([]bool, len(s.out))
	for i, p := range s.out {
		if !p.fixed() {
			continue // ONNX Runtime allocates it once it knows the shape
		}
		t, ok := out[p.name]
		if !ok {
			// Allocated here, ONNX Runtime writes straight into Go memory
			// instead of into its own buffer that is then copied.
			t = Tensor{Shape: p.dims, Data: make([]float32, count(p.dims))}
			out[p.name] = t
		}
		v, err := p.value(t)
		if err != nil {
			return fmt.Errorf("ort: %s: output %q: %v", s.name, p.name, err)
		}
		outs[i], given[i] = v, true
		values = append(values, v)
	}

	ro, err := onnx.NewRunOptions()
	if err != nil {
		return fmt.Errorf("ort: %s: %v", s.name, err)
	}
	defer ro.Destroy()
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		ro.Terminate()
		close(fired)
	})
	err = s.ds.RunWithOptions(ins, outs, ro)
	if !stop() {
		<-fired // ro must outlive Terminate
	}
	runtime.KeepAlive(in) // ONNX Runtime read the inputs' Go memory
	for i, v := range outs {
		if !given[i] && v != nil {
			values = append(values, v)
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("ort: %s: %w", s.name, ctxErr)
	}
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // ONNX Runtime's own message, without the binding's prefix
		}
		return fmt.Errorf("ort: %s: %v", s.name, err)
	}
	for i, p := range s.out {
		if given[i] {
			continue
		}
		t, ok := outs[i].(*onnx.Tensor[float32])
		if !ok {
			return fmt.Errorf("ort: %s: output %q is not a float32 tensor", s.name, p.name)
		}
		out[p.name] = Tensor{Shape: t.GetShape(), Data: t.GetData()}
	}
	return nil
}

// Close releases the session; a Run in progress finishes first.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.r.mu.Lock()
	delete(s.r.sessions, s)
	s.r.mu.Unlock()
	return s.ds.Destroy()
}

func hasPort(ps []port, name string) bool {
	for _, p := range ps {
		if p.name == name {
			return true
		}
	}
	return false
}

// fixed says whether every dimension of the port is known.
func (p port) fixed() bool {
	for _, d := range p.dims {
		if d < 0 {
			return false
		}
	}
	return true
}

// value wraps t's memory (no copy) as an ONNX Runtime tensor, after
// checking it against the declared shape.
func (p port) value(t Tensor) (onnx.Value, error) {
	if len(t.Shape) != len(p.dims) {
		return nil, fmt.Errorf("shape %s, the model wants %s", shapeString(t.Shape), shapeString(p.dims))
	}
	for i, d := range t.Shape {
		if d < 0 || (p.dims[i] >= 0 && d != p.dims[i]) {
			return nil, fmt.Errorf("shape %s, the model wants %s", shapeString(t.Shape), shapeString(p.dims))
		}
	}
	if p.int64 {
		if n := count(t.Shape); n < 0 || int64(len(t.Int64)) != n {
			return nil, fmt.Errorf("%d int64 values for shape %s", len(t.Int64), shapeString(t.Shape))
		}
		return onnx.NewTensor(onnx.Shape(t.Shape), t.Int64)
	}
	if n := count(t.Shape); n < 0 || int64(len(t.Data)) != n {
		return nil, fmt.Errorf("%d values for shape %s", len(t.Data), shapeString(t.Shape))
	}
	return onnx.NewTensor(onnx.Shape(t.Shape), t.Data)
}

// count is the number of values of a shape, or -1 when it overflows.
func count(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt64/d) {
			return -1
		}
		n *= d
	}
	return n
}

// shapeString prints a shape as [1,N?,768], "?" for a dynamic dimension.
func shapeString(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
		if d < 0 {
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}
