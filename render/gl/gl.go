// Package gl is the slice renderer on the GPU: the volume and its label map
// live in 3D textures, uploaded once in their native integer form, and a
// reslicing shader draws each plane into a framebuffer that is read back
// into the caller's image. It needs OpenGL 3.3; where there is none, New
// fails and the caller falls back to render/cpu. Both renderers sample the
// voxels render.Grid names, in the same integer arithmetic, so their labels
// agree exactly and their grey levels within one level.
//
// OpenGL contexts belong to one OS thread, so every GL call runs on a
// goroutine locked to its own thread, and Render hands it the work over a
// channel; one Renderer serves any number of views and goroutines.
package gl

import (
	"errors"
	"fmt"
	"image"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/segvolapp/segvol/render"
)

// Renderer draws slices with OpenGL. Its methods are safe for concurrent use.
type Renderer struct {
	mu      sync.Mutex    // serialises frames and Close
	thread  *thread       // owns the GL context
	st      *state        // nil once closed
	release func()        // gives the window back
	gen     atomic.Uint64 // bumped by Invalidate
	labGen  atomic.Uint64 // bumped by Invalidate and InvalidateLabels
	bytes   atomic.Int64  // texture and framebuffer bytes held on the GPU
	device  string        // GL_RENDERER
}

var _ render.Renderer = (*Renderer)(nil)

// ErrClosed is returned by Render after Close.
var ErrClosed = errors.New("render/gl: renderer closed")

// thread is a goroutine locked to its OS thread that runs the functions it
// is given, for APIs bound to one thread.
type thread struct{ jobs chan func() }

func newThread() *thread {
	t := &thread{jobs: make(chan func())}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		for f := range t.jobs {
			f()
		}
	}()
	return t
}

// do runs f on the thread and waits for it.
func (t *thread) do(f func()) {
	done := make(chan struct{})
	t.jobs <- func() { f(); close(done) }
	<-done
}

func (t *thread) stop() { close(t.jobs) }

// HiddenWindow makes an invisible 1x1 window with an OpenGL core context of
// version 3.3 or later, for New. GLFW must be initialised, and like every
// GLFW window call this must run on the thread that owns GLFW (under Fyne, inside
// fyne.DoAndWait). The window hints are reset afterwards so that windows made
// later by the caller are not hidden.
func HiddenWindow() (w *glfw.Window, err error) {
	defer recoverGLFW(&err)
	defer glfw.DefaultWindowHints()
	glfw.WindowHint(glfw.Visible, glfw.False)
	glfw.WindowHint(glfw.ContextVersionMajor, 3)
	glfw.WindowHint(glfw.ContextVersionMinor, 3)
	glfw.WindowHint(glfw.OpenGLProfile, glfw.OpenGLCoreProfile)
	glfw.WindowHint(glfw.OpenGLForwardCompatible, glfw.True)
	w, err = glfw.CreateWindow(1, 1, "segvol render", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("render/gl: no OpenGL 3.3 core context: %w", err)
	}
	return w, nil
}

// recoverGLFW turns the panics by which the GLFW binding reports some errors
// into an error, so that a machine without GL gets a fallback, not a crash.
func recoverGLFW(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("render/gl: glfw: %v", r)
	}
}

// New starts a renderer on the GL context of the hidden window that
// makeContext returns (see HiddenWindow); use it where another part of the
// program owns GLFW. makeContext is called once, from the calling goroutine.
// The window stays the caller's: destroy it, on GLFW's thread, after Close or
// when New fails.
func New(makeContext func() (*glfw.Window, error)) (*Renderer, error) {
	win, err := makeContext()
	if err != nil {
		return nil, err
	}
	return start(win, func() {})
}

// standaloneGLFW is the thread that owns GLFW for standalone renderers:
// initialised once and never terminated, because GLFW cannot be set up
// again from another thread once its first thread is gone.
var standaloneGLFW = sync.OnceValues(func() (*thread, error) {
	t := newThread()
	var err error
	t.do(func() {
		defer recoverGLFW(&err)
		if e := glfw.Init(); e != nil {
			err = fmt.Errorf("render/gl: glfw: %w", e)
		}
	})
	if err != nil {
		t.stop()
		return nil, err
	}
	return t, nil
})

// NewStandalone initialises GLFW itself, on a thread of its own, and makes a
// hidden window there, for tests and command-line tools where nothing else
// uses GLFW. Linux and Windows allow that; on macOS use New from the main
// thread.
func NewStandalone() (*Renderer, error) {
	g, err := standaloneGLFW()
	if err != nil {
		return nil, err
	}
	var win *glfw.Window
	g.do(func() { win, err = HiddenWindow() })
	if err != nil {
		return nil, err
	}
	r, err := start(win, func() { g.do(win.Destroy) })
	if err != nil {
		g.do(win.Destroy)
	}
	return r, err
}

// start makes the window's context current on a thread of the renderer's
// own and prepares the shaders there.
func start(win *glfw.Window, release func()) (*Renderer, error) {
	r := &Renderer{thread: newThread(), release: release}
	var err error
	r.thread.do(func() {
		r.st, err = newState(win, &r.bytes)
		if err == nil {
			r.device = r.st.device
		}
	})
	if err != nil {
		r.thread.stop()
		return nil, err
	}
	return r, nil
}

// Device is the OpenGL renderer's name as the driver gives it, e.g.
// "NVIDIA H200/PCIe/SSE2" or "llvmpipe (LLVM 15.0.6, 256 bits)".
func (r *Renderer) Device() string { return r.device }

// Software reports whether the driver draws on the CPU (Mesa's llvmpipe,
// softpipe or swrast, Windows' basic render driver): there the shader runs
// on the same cores as everything else, and render/cpu is several times
// faster (README, Performance).
func (r *Renderer) Software() bool {
	d := strings.ToLower(r.device)
	for _, s := range []string{"llvmpipe", "softpipe", "swrast", "software rasterizer", "basic render"} {
		if strings.Contains(d, s) {
			return true
		}
	}
	return false
}

// Close frees the GPU resources and lets go of the context. Render returns
// ErrClosed afterwards.
func (r *Renderer) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st == nil {
		return
	}
	r.thread.do(r.st.free)
	r.thread.stop()
	r.release()
	r.st = nil
}

// Invalidate tells the renderer that the voxels or the label map changed in
// place (same slices), so the next Render uploads them again. A different
// slice is noticed without it.
func (r *Renderer) Invalidate() {
	r.gen.Add(1)
	r.labGen.Add(1)
}

// InvalidateLabels tells the renderer that only the label map changed in
// place: an edit re-uploads the labels, not the image (a 512x512x300 CT is
// 150 MB; its labels a third of that).
func (r *Renderer) InvalidateLabels() { r.labGen.Add(1) }

// TextureBytes is the GPU memory the renderer holds: the volume and label
// textures, the colour table and the framebuffers.
func (r *Renderer) TextureBytes() int64 { return r.bytes.Load() }

// Render implements render.Renderer.
func (r *Renderer) Render(dst *image.RGBA, p render.Plane, v *render.Volume, l *render.Labels, o render.Options) error {
	if err := render.Check(dst, v, l, o); err != nil {
		return err
	}
	return r.draw(dst, func(st *state, gen, labGen uint64) error { return st.render(dst, p, v, l, o, gen, labGen) })
}

// draw checks that dst can take a read-back and runs fn on the GL thread
// with the textures' generations, unless the renderer is closed.
func (r *Renderer) draw(dst *image.RGBA, fn func(st *state, gen, labGen uint64) error) error {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	if dst.Stride%4 != 0 || len(dst.Pix) < (h-1)*dst.Stride+4*w {
		return fmt.Errorf("render/gl: destination %v with stride %d holds %d bytes", dst.Rect, dst.Stride, len(dst.Pix))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st == nil {
		return ErrClosed
	}
	var err error
	r.thread.do(func() { err = fn(r.st, r.gen.Load(), r.labGen.Load()) })
	return err
}
