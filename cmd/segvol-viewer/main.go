// Command segvol-viewer shows a study in three linked views:
//
//	segvol-viewer [--labels MASK.nii.gz] [--backend auto|classic|segvol] [PATH]
//
// PATH is a NIfTI file, a DICOM file, a folder of DICOM files or a
// DICOMDIR; without it the bundled sample CT opens. --labels opens a
// segmentation (NIfTI label map, ITK-SNAP label file beside it) on it.
package main

import (
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/segvolapp/segvol/app"
	"github.com/segvolapp/segvol/assets"
	clipfiles "github.com/segvolapp/segvol/assets/clip"
	"github.com/segvolapp/segvol/infer/engine"
	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/render/gl"
	"github.com/segvolapp/segvol/viewer/mpr"
)

func main() {
	bench := flag.Duration("bench-scroll", 0, "after loading, scroll the axial view for this long, print the frames presented per second and quit")
	renderer := flag.String("renderer", "auto", "auto (OpenGL on a hardware driver, else CPU), gl or cpu")
	labelPath := flag.String("labels", "", "segmentation to open on the study (NIfTI label map)")
	review := flag.String("review", "", "output folder of a segvol batch run: step through its studies with their segmentations")
	backend := flag.String("backend", "auto", "segmentation engine: auto (SegVol when its models are installed, else the embedded default), classic or segvol")
	models := flag.String("models", "", "SegVol models folder (default: the one chosen in File > Settings, else the user models folder)")
	device := flag.String("device", "", "auto, cpu, cuda, directml or coreml (SegVol only; default: the one chosen in File > Settings, else auto)")
	layout := flag.String("layout", "1x3", "1x3 (three views) or 2x2 (with the 3D view)")
	volumePreset := flag.String("volume", "none", "the 3D view's volume rendering: none, ct-bone, ct-soft-tissue, ct-angio, mr-default or mip")
	rotate := flag.Duration("bench-rotate", 0, "after loading, show the 3D view alone and turn it for this long, print the frames presented per second and quit")
	autosave := flag.Duration("autosave", app.AutosaveInterval, "how often unsaved segmentation work goes to the recovery folder (0: never)")
	ortLib := flag.String("ort-lib", "", "ONNX Runtime library to load (default: the one chosen in File > Settings, else searched for)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: segvol-viewer [--renderer auto|gl|cpu] [--labels MASK.nii.gz | --review BATCH_DIR] [--backend auto|classic|segvol] [--models DIR] [--device D] [--ort-lib PATH] [--layout 1x3|2x2] [--volume PRESET] [--autosave 1m] [--bench-scroll 3s] [--bench-rotate 3s] [PATH]\n\nPATH: a NIfTI file, DICOM file, DICOM folder or DICOMDIR (default: the bundled sample CT)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	keepFreedHeap()
	if flag.NArg() > 1 || (*renderer != "auto" && *renderer != "gl" && *renderer != "cpu") || (*review != "" && (flag.NArg() > 0 || *labelPath != "")) ||
		(*layout != "1x3" && *layout != "2x2") {
		flag.Usage()
		os.Exit(2)
	}
	preset, err := render.ParsePreset(*volumePreset)
	if err != nil {
		fmt.Fprintf(os.Stderr, "segvol-viewer: --volume: %v\n", err)
		os.Exit(2)
	}
	if *rotate > 0 {
		*layout = "2x2"
	}
	path := flag.Arg(0)
	if path == "" {
		p, err := sampleFile()
		if err != nil {
			fmt.Fprintf(os.Stderr, "segvol-viewer: %v\n", err)
			os.Exit(1)
		}
		path = p
	}

	a := fyneapp.NewWithID("app.segvol.viewer")
	var v *app.Viewer
	first := true
	// The renderer in use is settled: at once for the CPU one, else when
	// OpenGL has been made (or has failed).
	settled := make(chan struct{})
	opt := app.Options{Labels: *labelPath, AutosaveInterval: cmp.Or(*autosave, -1), Engine: engine.Options{Backend: *backend, Models: *models, Device: *device, Library: *ortLib,
		Tokenizer: string(clipfiles.TokenizerJSON)}}
	opt.OnLoaded = func(err error) {
		if err != nil {
			fmt.Fprintf(os.Stderr, "segvol-viewer: %v\n", err)
			if first && (*bench > 0 || *rotate > 0) {
				os.Exit(1) // a benchmark on other data than asked for would mislead; waiting on would hang
			}
			return
		}
		if s := v.Session(); s != nil {
			// A line for scripts and the Xvfb test: the study is on screen.
			// Where the views lie in the window, for the screenshot test.
			for _, o := range []mpr.Orientation{mpr.Axial, mpr.Coronal, mpr.Sagittal} {
				at, size := v.ViewRect(o)
				fmt.Printf("segvol-viewer: view %v at %g,%g size %gx%g scale %g\n", o, at.X, at.Y, size.Width, size.Height, v.Window().Canvas().Scale())
			}
			if *layout == "2x2" {
				v3 := v.View3D()
				at, size := a.Driver().AbsolutePositionForObject(v3), v3.Size()
				fmt.Printf("segvol-viewer: view 3d at %g,%g size %gx%g scale %g\n", at.X, at.Y, size.Width, size.Height, v.Window().Canvas().Scale())
			}
			fmt.Printf("segvol-viewer: opened %s\n", s.Volume.Meta.Source)
		}
		if first && *bench > 0 {
			go benchScroll(v, *bench, settled)
		}
		if first && *rotate > 0 {
			go benchRotate(v, *rotate, settled)
		}
		first = false
	}
	// Lines for scripts and the Xvfb tests: the engine in use, each preview.
	opt.OnEngine = func(err error) {
		if err != nil {
			fmt.Fprintf(os.Stderr, "segvol-viewer: %v\n", err)
		}
		fmt.Printf("segvol-viewer: engine %s\n", v.EngineStatus())
	}
	opt.OnSegmented = func(err error) {
		if err != nil {
			fmt.Printf("segvol-viewer: segmentation failed: %v\n", err)
			return
		}
		fmt.Printf("segvol-viewer: preview %d voxels\n", v.Session().Edit().PreviewVoxels())
	}
	v = app.New(a, opt)
	if *layout == "2x2" {
		v.SetLayout(app.Layout2x2)
	}
	v.View3D().SetPreset(preset)
	v.Window().Show()
	fitScreen(v)
	// The notice goes first: hiding a dialog takes down those shown above
	// it, and the loading dialog is hidden when the study is in.
	v.FirstStartNotice()
	if *review != "" {
		if err := v.Review(*review); err != nil {
			// The window says so too; the sample opens meanwhile.
			fmt.Fprintf(os.Stderr, "segvol-viewer: %v\n", err)
			v.Open(path, "")
		}
	} else {
		v.Open(path, "")
	}
	v.OfferRecovery()
	if *renderer != "cpu" {
		go startGL(v, *renderer == "gl", settled)
	} else {
		sayRenderer("cpu", "--renderer cpu")
		close(settled)
	}
	a.Run()
}

// fitScreen sizes the window to the primary screen, which only GLFW knows
// (Fyne made it when it made the window; this runs on the main thread
// before the event loop, as GLFW asks). Its pixels become Fyne units at the
// window's scale, known once it is shown.
func fitScreen(v *app.Viewer) {
	m := glfw.GetPrimaryMonitor()
	if m == nil {
		return
	}
	mode := m.GetVideoMode()
	if mode == nil {
		return
	}
	s := v.Window().Canvas().Scale()
	v.FitScreen(fyne.NewSize(float32(mode.Width)/s, float32(mode.Height)/s))
}

// sayRenderer tells scripts and the package tests which renderer draws
// the views and why (the status bar says it to the user).
func sayRenderer(name, why string) {
	fmt.Printf("segvol-viewer: renderer %s (%s)\n", name, why)
}

// startGL makes the OpenGL renderer once the event loop runs (its hidden
// context window must be made on the main thread, next to Fyne's own) and
// hands it to the viewer; without OpenGL 3.3, or with a software driver,
// the CPU renderer stays, and the status bar says why. With required set
// (--renderer gl), a missing OpenGL is fatal and a software one is used.
func startGL(v *app.Viewer, required bool, settled chan<- struct{}) {
	var ctxWin *glfw.Window
	r, err := gl.New(func() (w *glfw.Window, err error) {
		fyne.DoAndWait(func() { w, err = gl.HiddenWindow() })
		ctxWin = w
		return w, err
	})
	// A software driver (llvmpipe, as under Xvfb or in a VM without a GPU)
	// runs the shader on the CPU, several times slower than render/cpu:
	// auto keeps the CPU renderer there.
	var software string
	if err == nil && !required && r.Software() {
		software = r.Device()
		r.Close()
		r = nil
	}
	if (err != nil || r == nil) && ctxWin != nil {
		fyne.DoAndWait(ctxWin.Destroy)
	}
	if err != nil && required {
		fmt.Fprintf(os.Stderr, "segvol-viewer: OpenGL renderer: %v\n", err)
		os.Exit(1)
	}
	fyne.Do(func() {
		defer close(settled)
		if software != "" {
			v.KeepCPURenderer(fmt.Sprintf("OpenGL is %s, a software driver: slower; --renderer gl uses it anyway", software))
			sayRenderer("cpu", "OpenGL is "+software+", a software driver")
			return
		}
		if r == nil {
			v.UseRenderer(nil, err)
			sayRenderer("cpu", fmt.Sprintf("OpenGL: %v", err))
			return
		}
		v.UseRenderer(r, nil)
		sayRenderer("gl", r.Device())
	})
}

// sampleFile writes the embedded sample study to the user cache once, so
// that it opens (and is remembered) like any other file.
func sampleFile() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	p := filepath.Join(dir, "segvol", assets.SampleName)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, assets.SampleCT) {
		return p, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("cannot unpack the sample study: %w", err)
	}
	if err := os.WriteFile(p, assets.SampleCT, 0o644); err != nil {
		return "", fmt.Errorf("cannot unpack the sample study: %w", err)
	}
	return p, nil
}

// benchRotate shows the 3D view alone and turns it by 2 degrees 120 times a
// second, as a fast drag does, for d, and reports the frames drawn a
// second and the resolution they came down to (the view draws coarser
// while it moves when full frames are slow).
func benchRotate(v *app.Viewer, d time.Duration, settled <-chan struct{}) {
	<-settled
	v3 := v.View3D()
	fyne.DoAndWait(func() { v3.DoubleTapped(nil) })
	time.Sleep(settle)
	t := time.Now()
	v3.WaitLight()
	fmt.Printf("segvol-viewer: light copies of the surfaces built %.1f s after the view showed\n", time.Since(t).Seconds()+settle.Seconds())
	// The turn starts from the picture at rest, as a user's does: its
	// first full frame (which also finds the volume's empty blocks, once)
	// is done.
	for shown := false; !shown; time.Sleep(50 * time.Millisecond) {
		fyne.DoAndWait(func() { shown = v3.Frames() > 0 })
	}
	var start int
	var busy0 time.Duration
	fyne.DoAndWait(func() { start, busy0 = v3.Frames(), v3.Busy() })
	t0 := time.Now()
	tick := time.NewTicker(time.Second / 120)
	defer tick.Stop()
	var h float64
	fyne.DoAndWait(func() { h = float64(v3.Size().Height) })
	for time.Since(t0) < d {
		<-tick.C
		// 2 degrees: the trackball turns 200 degrees a view height.
		fyne.Do(func() { v3.Rotate(h/100, 0) })
	}
	var end int
	var size, last image.Point
	var busy time.Duration
	fyne.DoAndWait(func() {
		end, last, busy = v3.Frames(), v3.LastSize(), v3.Busy()-busy0
		s := v3.Size()
		size = image.Pt(int(s.Width*v.Window().Canvas().Scale()), int(s.Height*v.Window().Canvas().Scale()))
	})
	el := time.Since(t0).Seconds()
	n := end - start
	fmt.Printf("segvol-viewer: rotating: %d frames in %.2f s = %.1f frames/s, last frame %dx%d of a %dx%d view, rendering %.1f ms a frame\n",
		n, el, float64(n)/el, last.X, last.Y, size.X, size.Y, busy.Seconds()*1000/float64(max(n, 1)))
	fyne.Do(func() { fyne.CurrentApp().Quit() })
}

// settle is how long the scroll benchmark lets the window draw before it
// starts.
const settle = 500 * time.Millisecond

// benchScroll asks for a new axial slice 120 times a second, twice a 60 Hz
// display's rate, as a fast wheel does, for d, and reports how many frames
// were drawn: the rate the window keeps up with while scrolling. It goes up
// one slice at a time and from the last slice back to the first: bouncing
// at the ends asked for the same slice again two requests later (up, then
// down), so at half the bounces a frame had nothing new to show (8 frames
// in 4 s on the 30-slice sample). It starts once the renderer is settled
// and the window has drawn for a while: the window's first frames (its
// shaders, textures and, for OpenGL, the volume's upload) are start-up, not
// scrolling.
func benchScroll(v *app.Viewer, d time.Duration, settled <-chan struct{}) {
	<-settled
	time.Sleep(settle)
	view := v.View(mpr.Axial)
	// The CPU times are read on the UI thread: Fyne runs it on main.
	var start int
	var ut0, pt0 time.Duration
	fyne.DoAndWait(func() { start = view.Frames(); ut0, pt0, _ = cpuTimes() })
	t0 := time.Now()
	tick := time.NewTicker(time.Second / 120)
	defer tick.Stop()
	for time.Since(t0) < d {
		<-tick.C
		fyne.Do(func() {
			s := v.Session()
			step := 1
			if n, count, _ := s.Slice(mpr.Axial); n == count-1 {
				step = -n
			}
			s.ScrollView(mpr.Axial, step)
		})
	}
	var end int
	var ut1, pt1 time.Duration
	ok := false
	fyne.DoAndWait(func() { end = view.Frames(); ut1, pt1, ok = cpuTimes() })
	el := time.Since(t0).Seconds()
	n := end - start
	fmt.Printf("segvol-viewer: scrolling: %d frames in %.2f s = %.1f frames/s", n, el, float64(n)/el)
	if ok && n > 0 {
		// CPU per frame tells a change's effect even when other programs
		// share the cores and the frame rate with it.
		perFrame := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(n) }
		fmt.Printf("; CPU per frame: UI thread %.2f ms, process %.2f ms", perFrame(ut1-ut0), perFrame(pt1-pt0))
	}
	fmt.Println()
	fyne.Do(func() { fyne.CurrentApp().Quit() })
}
