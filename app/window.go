package app

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/infer/engine"
	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/render/cpu"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// Layout is how the panes are arranged.
type Layout int

// The layouts.
const (
	Layout1x3 Layout = iota // three views side by side
	Layout2x2               // three views and the 3D view
)

// Options configure the main window.
type Options struct {
	// OnLoaded, when set, is called on the UI goroutine after each load
	// ends, with the error if it failed (nil when cancelled or when a
	// series is to be picked).
	OnLoaded func(error)
	// OnSegmented, when set, is called on the UI goroutine after each AI
	// run ends, with its error (context.Canceled when cancelled).
	OnSegmented func(error)
	// OnEngine, when set, is called on the UI goroutine each time the
	// segmentation engine has been chosen, with the error if none could be.
	OnEngine func(error)
	// Engine chooses the segmentation engine (default: auto).
	Engine engine.Options
	// Labels, when set, is a label file opened onto the first study.
	Labels string
	// RecoveryDir is where autosaves go (default viewer.RecoveryDir()).
	RecoveryDir string
	// AutosaveInterval is how often unsaved work is autosaved (default
	// AutosaveInterval; negative: never).
	AutosaveInterval time.Duration
}

// Viewer is the main window: three linked slice views, the study
// information, menus, a status bar and the loading of studies.
type Viewer struct {
	engineOpts engine.Options // how the engine was asked for, for a reload
	app        fyne.App
	win        fyne.Window
	session    *viewer.Session

	views     [3]*SliceView
	view3d    *View3D
	pane3d    fyne.CanvasObject // view3d under its tool row
	info      *widget.Label
	panes     *fyne.Container
	side      *container.Scroll // the segments, AI and brush panels
	split     *container.Split  // the panes and the side panel
	layout    Layout
	maximised fyne.CanvasObject // a SliceView or pane3d; nil when the layout shows all panes

	renderer      render.Renderer
	rendererName  string
	status        *widget.Label
	loadInfo      string // load time and warnings of the open study
	presetMenu    *fyne.Menu
	crosshairItem *fyne.MenuItem    // View > Crosshair, checked while shown
	layoutItems   [2]*fyne.MenuItem // View > Layout, the active one checked
	interpItems   [2]*fyne.MenuItem // View > interpolation by render.Interp, the active one checked
	sideItem      *fyne.MenuItem    // View > Side panel, checked while shown
	linkItem      *fyne.MenuItem    // View > Link zoom and pan, checked while on
	recentMenu    *fyne.MenuItem
	loading       *loading
	onLoaded      func(error)

	tools         *toolBar
	segPanel      *segmentsPanel
	aiPanel       *aiPanel
	brushPanel    *brushPanel
	measurePanel  *measurementsPanel
	time          *timeBar // the time point of a 4D study
	editItems     editMenu
	ai            aiState
	categories    []string
	onSegmented   func(error)
	onEngine      func(error)
	files         segFiles
	recoveryDir   string
	pendingLabels string           // opened onto the next study loaded
	installSource string           // the checkpoint path last given to Install SegVol model
	restore       *labels.Recovery // a recovery to put on the next study loaded
	offerRecovery bool             // OfferRecovery waits for the study being loaded
	closing       dialog.Dialog    // the unsaved-changes question, when shown
	top           *fyne.Container  // the tool bar, and the review bar while reviewing a batch
	review        *reviewBar       // nil unless reviewing a batch
	pacs          pacsState

	messages   map[fyne.CanvasObject]dialog.Dialog // the message boxes up (showMessage), by their overlay
	openedFrom string                              // the folder a study was last chosen in (Open file or folder)
}

// New builds the main window of app a; Show it, then Open a study.
func New(a fyne.App, opt Options) *Viewer {
	v := &Viewer{app: a, win: a.NewWindow("SegVol viewer"), onLoaded: opt.OnLoaded, onSegmented: opt.OnSegmented,
		onEngine: opt.OnEngine, pendingLabels: opt.Labels, recoveryDir: opt.RecoveryDir}
	if v.recoveryDir == "" {
		v.recoveryDir = viewer.RecoveryDir()
	}
	// The CPU renderer draws until UseRenderer hands over a GPU one: the
	// GL context can only be made once the app's event loop runs.
	v.renderer, v.rendererName = cpu.New(), "CPU renderer"
	for _, o := range viewer.Orientations {
		sv := NewSliceView(o, v.renderer)
		sv.OnDoubleTap = func() { v.toggleMaximised(sv) }
		sv.OnRenderError = v.renderFailed
		sv.OnToolError = v.report
		sv.OnFilled = v.filled
		sv.OnStroke = v.stroked
		sv.OnKey = v.segmentKey
		sv.OnRune = v.viewRune
		v.views[o] = sv
	}
	v.view3d = NewView3D()
	v.view3d.OnDoubleTap = func() { v.toggleMaximised(v.pane3d) }
	v.view3d.OnRenderError = v.render3DFailed
	v.pane3d = view3DPane(v.view3d)
	v.info = widget.NewLabel("No study open.\n\nFile > Open file… or drop a file or folder here.")
	v.info.Wrapping = fyne.TextWrapWord
	v.info.TextStyle.Monospace = true
	v.status = widget.NewLabel("")
	v.status.Wrapping = fyne.TextWrapWord // updateStatus keeps it to one line where it can
	v.panes = container.NewGridWithColumns(3)
	v.setPanes()
	v.tools = newToolBar(v)
	v.segPanel, v.aiPanel, v.brushPanel = newSegmentsPanel(v), newAIPanel(v), newBrushPanel(v)
	v.measurePanel = newMeasurementsPanel(v)
	// The side panel scrolls up and down only: it is never narrower than
	// its controls (the split stops there), so none lies past its right
	// edge, where a sideways scroll hid the Reject button and the lock
	// column. Its scroll bar has a gutter of its own, not the controls'
	// right edge. The segment list takes the height to spare.
	v.side = container.NewVScroll(scrollGutter(container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), v.aiPanel.content,
		widget.NewSeparator(), v.brushPanel.content, widget.NewSeparator(), v.measurePanel.content), nil, nil, v.segPanel.content)))
	v.side.SetMinSize(fyne.NewSize(sidePanelMin, 0))
	v.split = container.NewHSplit(v.panes, container.New(sidePanelLayout{v}, v.side))
	v.time = newTimeBar(v)
	v.top = container.NewVBox(v.tools.content)
	v.win.SetContent(container.NewBorder(v.top, container.NewVBox(v.time.content, v.status), nil, nil, v.split))
	v.win.SetMainMenu(v.mainMenu())
	v.win.SetOnDropped(v.dropped)
	v.win.Canvas().SetOnTypedKey(v.typedKey)
	v.win.Canvas().SetOnTypedRune(v.typedRune)
	v.win.SetCloseIntercept(v.closeIntercept)
	v.FitScreen(fyne.Size{})
	v.updateStatus()
	opt.Engine = v.withSettings(opt.Engine)
	v.engineOpts = opt.Engine
	v.loadEngine(opt.Engine)
	switch {
	case opt.AutosaveInterval == 0:
		v.startAutosave(AutosaveInterval)
	case opt.AutosaveInterval > 0:
		v.startAutosave(opt.AutosaveInterval)
	}
	return v
}

// UseRenderer switches the views to the GPU renderer r, or, when err says
// none could be made, keeps the CPU renderer and says why in the status bar.
func (v *Viewer) UseRenderer(r render.Renderer, err error) {
	if err != nil || r == nil {
		v.rendererName = fmt.Sprintf("CPU renderer (OpenGL unavailable: %v)", err)
		v.updateStatus()
		return
	}
	v.renderer, v.rendererName = r, "OpenGL renderer"
	for _, sv := range v.views {
		sv.SetRenderer(r)
	}
	if sr, ok := r.(render.SceneRenderer); ok {
		v.view3d.SetRenderer(sr)
	}
	v.updateStatus()
}

// render3DFailed falls back to the CPU renderer for the 3D view when the
// GPU one fails, and says so.
func (v *Viewer) render3DFailed(err error) {
	v.setStatusNote(fmt.Sprintf("3D view: %v", err))
	if _, isCPU := v.view3d.renderer.(*cpu.Renderer); !isCPU {
		v.view3d.SetRenderer(cpu.New())
	}
}

// KeepCPURenderer keeps the CPU renderer although OpenGL started, for the
// reason given (shown in the status bar).
func (v *Viewer) KeepCPURenderer(why string) {
	v.rendererName = "CPU renderer (" + why + ")"
	v.updateStatus()
}

// renderFailed falls back to the CPU renderer when the GPU one fails.
func (v *Viewer) renderFailed(err error) {
	if _, isCPU := v.renderer.(*cpu.Renderer); isCPU {
		v.setStatusNote(fmt.Sprintf("render error: %v", err))
		return
	}
	v.renderer, v.rendererName = cpu.New(), fmt.Sprintf("CPU renderer (OpenGL failed: %v)", err)
	for _, sv := range v.views {
		sv.SetRenderer(v.renderer)
	}
	v.updateStatus()
}

// Window is the Fyne window.
func (v *Viewer) Window() fyne.Window { return v.win }

// Session is the open study, or nil.
func (v *Viewer) Session() *viewer.Session { return v.session }

// View is the slice view of orientation o.
func (v *Viewer) View(o mpr.Orientation) *SliceView { return v.views[o] }

// View3D is the 3D view (in the 2x2 layout).
func (v *Viewer) View3D() *View3D { return v.view3d }

// SetSession shows a session in every pane.
func (v *Viewer) SetSession(s *viewer.Session) {
	if v.session != nil {
		v.forgetImage()
	}
	v.session = s
	s.SetLinkedViews(v.linkItem.Checked)
	s.SetInterp(v.interp())
	s.OnChange(func(c viewer.Change) {
		for _, o := range viewer.Orientations {
			if c.Affects(o) {
				v.views[o].Refresh()
			}
		}
		if c.What&viewer.WindowChanged != 0 {
			v.updateStatus()
			if v.tickPreset(v.presetMenu.Items) {
				v.presetMenu.Refresh()
			}
		}
		if c.What&viewer.VolumeChanged != 0 {
			v.timePointChanged(s)
		}
		v.segmentationChanged(c.What)
		if c.What&(viewer.CursorChanged|viewer.WindowChanged|viewer.LabelsChanged|viewer.PreviewChanged|viewer.VolumeChanged) != 0 {
			v.view3d.Refresh()
		}
	})
	for _, sv := range v.views {
		sv.SetSession(s)
	}
	v.view3d.SetSession(s)
	v.info.SetText(studyInfo(s))
	v.updateTitle()
	v.presetMenu.Items = v.presetItems()
	v.presetMenu.Refresh()
	v.CancelSegmentation()
	v.files.path = ""
	v.segPanel.sync()
	v.aiPanel.sync()
	v.brushPanel.sync()
	v.measurePanel.sync()
	v.time.sync()
	v.tools.sync(s.Edit().Tool())
	v.syncUndo()
	v.updateStatus()
}

// forgetImage lets the engine drop the last image's voxels and embeddings.
func (v *Viewer) forgetImage() {
	if f, ok := v.ai.seg.(interface{ Forget() }); ok {
		go f.Forget()
	}
}

// segmentationChanged follows the editor: the GPU renderer re-uploads
// labels changed in place, the panels and the Undo items follow.
func (v *Viewer) segmentationChanged(w viewer.What) {
	if w&viewer.LabelsChanged != 0 {
		if inv, ok := v.renderer.(interface{ InvalidateLabels() }); ok {
			inv.InvalidateLabels()
		}
		v.segPanel.sync()
		v.syncUndo()
		if v.loadInfo == noActiveNote && v.session.Edit().Active() != 0 {
			v.setStatusNote("")
		}
	}
	if w&viewer.PreviewChanged != 0 {
		v.aiPanel.sync()
	}
	v.updateTitle()
	if w&viewer.PromptsChanged != 0 {
		v.promptsChanged()
	}
	if w&viewer.ToolChanged != 0 {
		v.tools.sync(v.session.Edit().Tool())
	}
	if w&viewer.MeasuresChanged != 0 {
		v.measurePanel.sync()
		v.syncUndo()
	}
}

// updateTitle names the study in the window's title, marked with a "*"
// while the segmentation has unsaved changes, as editors do.
func (v *Viewer) updateTitle() {
	if v.session == nil {
		return
	}
	t := "SegVol viewer — " + studyTitle(v.session)
	if v.session.Edit().Dirty() {
		t = "*" + t
	}
	if t != v.win.Title() {
		v.win.SetTitle(t)
	}
}

// SetLayout arranges the panes 1x3 or 2x2.
func (v *Viewer) SetLayout(l Layout) {
	v.layout, v.maximised = l, nil
	for i, it := range v.layoutItems {
		it.Checked = Layout(i) == l
	}
	if m := v.win.MainMenu(); m != nil {
		m.Refresh()
	}
	v.setPanes()
}

func (v *Viewer) setPanes() {
	switch {
	case v.maximised != nil:
		v.panes.Layout = container.NewGridWithColumns(1).Layout
		v.panes.Objects = []fyne.CanvasObject{v.maximised}
	case v.layout == Layout2x2:
		v.panes.Layout = container.NewGridWithColumns(2).Layout
		v.panes.Objects = []fyne.CanvasObject{v.views[0], v.views[1], v.views[2], v.pane3d}
	default:
		v.panes.Layout = container.NewGridWithColumns(3).Layout
		v.panes.Objects = []fyne.CanvasObject{v.views[0], v.views[1], v.views[2]}
	}
	v.panes.Refresh()
}

// toggleMaximised shows one pane alone, or the layout again.
func (v *Viewer) toggleMaximised(pane fyne.CanvasObject) {
	if v.maximised == pane {
		v.maximised = nil
	} else {
		v.maximised = pane
	}
	v.setPanes()
}

// activeView is the view the keys go to when no view has the focus: the
// one under the pointer, else the axial one.
func (v *Viewer) activeView() *SliceView {
	for _, sv := range v.views {
		if sv.hovering {
			return sv
		}
	}
	return v.views[mpr.Axial]
}

// typedKey and typedRune get the keys no widget has the focus for; while a
// dialog is up they are its, not the views' (typing a segment's name into
// a dialog whose entry had lost the focus switched tools behind it).
func (v *Viewer) typedKey(ev *fyne.KeyEvent) {
	top := v.win.Canvas().Overlays().Top()
	if top == nil {
		v.activeView().TypedKey(ev)
		return
	}
	if d, ok := v.messages[top]; ok {
		switch ev.Name {
		case fyne.KeyReturn, fyne.KeyEnter, fyne.KeyEscape:
			d.Hide()
		}
	}
}

func (v *Viewer) typedRune(r rune) {
	if v.win.Canvas().Overlays().Top() == nil {
		v.activeView().TypedRune(r)
	}
}

// ViewRect is where view o lies in the window's canvas (for scripts and
// tests that look at screenshots).
func (v *Viewer) ViewRect(o mpr.Orientation) (fyne.Position, fyne.Size) {
	sv := v.views[o]
	return fyne.CurrentApp().Driver().AbsolutePositionForObject(sv), sv.Size()
}

// updateStatus shows the status parts in the status bar. When the whole
// does not fit the window, the long ones lose their reasons, then go
// (View > Study information has them whole); the note of what was just
// done stays whole, on a second line if need be (cut to "Interpolate axial
// slices (…)" the user could not read what it did).
func (v *Viewer) updateStatus() {
	const sep, more = "  ·  ", "more in View > Study information"
	parts := v.statusParts()
	text := strings.Join(parts, sep)
	// The window pads its content, the label its text: without the
	// window's padding "fits" was 8 too wide, and a note that just fitted
	// took the bar to two lines (the views above it jumped 19 px).
	room := v.win.Canvas().Size().Width - 2*theme.Padding() - 2*theme.InnerPadding()
	fits := func(s string) bool { return fyne.MeasureText(s, theme.TextSize(), v.status.TextStyle).Width <= room }
	if !fits(text) {
		others := parts
		if v.loadInfo != "" {
			others = parts[:len(parts)-1]
		}
		for i, p := range others {
			others[i] = brief(p)
		}
		text = strings.Join(append(parts, more), sep)
		if !fits(text) && v.loadInfo != "" {
			text = v.loadInfo + sep + more
		}
	}
	v.status.SetText(text)
	// A note longer than the window wraps: the window lays out again to
	// give the status bar its lines (it keeps the old height otherwise).
	if root, ok := v.win.Content().(*fyne.Container); ok && v.status.MinSize().Height != v.status.Size().Height && root.Layout != nil {
		root.Layout.Layout(root.Objects, root.Size())
	}
}

// brief is a long status part without its parenthesised reason (OpenGL's
// or the engine's, a warning's detail).
func brief(s string) string {
	const long = 48
	if i := strings.Index(s, " ("); len(s) > long && i > 0 {
		return s[:i] + " (…)"
	}
	return s
}

// statusParts are the renderer, the engine, the window and the load time
// and warnings, in full.
func (v *Viewer) statusParts() []string {
	parts := []string{v.rendererName, v.EngineStatus()}
	if v.session != nil {
		w := v.session.Window()
		name := w.Name
		if name == "" {
			name = "custom"
		}
		parts = append(parts, fmt.Sprintf("window %s (W %s L %s)", name, num(w.Width), num(w.Center)))
	}
	if v.loadInfo != "" {
		parts = append(parts, v.loadInfo)
	}
	return parts
}

func (v *Viewer) setStatusNote(s string) {
	v.loadInfo = s
	v.updateStatus()
}

// The window's sizes, in Fyne units.
var (
	// defaultWindow is the size when the screen's is not known: it fits a
	// 1280x800 screen with room for a panel and a title bar.
	defaultWindow = fyne.NewSize(1200, 720)
	// minWindow is the smallest size FitScreen chooses on a screen that
	// has room for it.
	minWindow = fyne.NewSize(1024, 640)
)

// sidePanelMin is the narrowest the side panel is dragged to, where its
// controls (at most 300 wide: four buttons in a row) and its scroll bar's
// gutter fit.
const sidePanelMin = 320

// sidePanelWidth is the side panel's width when the window opens.
const sidePanelWidth = 340

// FitScreen sizes the window to 95% of the width and 90% of the height of
// a screen of the given size (in Fyne units; the height leaves room for a
// task bar and a title bar; the width gives the tool row its 1180 from a 1280 wide
// screen up, where 85% of a 1366x768 laptop's made it scroll), at least
// minWindow where the screen has room for it; a zero screen (not known)
// gives defaultWindow. The side panel keeps its width.
func (v *Viewer) FitScreen(screen fyne.Size) {
	size := defaultWindow
	if screen.Width > 0 && screen.Height > 0 {
		size = fyne.NewSize(screen.Width*0.95, screen.Height*0.9).Max(minWindow).Min(screen)
	}
	v.win.Resize(size)
	v.split.SetOffset(1 - float64(sidePanelWidth)/float64(size.Width))
}

// scrollGutter leaves room on the right of o for the scroll bar of the
// scroller or list o lies in, which Fyne draws over the content (it
// covered the lock boxes, and grows when the pointer nears it).
func scrollGutter(o fyne.CanvasObject) *fyne.Container {
	return container.New(layout.NewCustomPaddedLayout(0, 0, 0, theme.ScrollBarSize()), o)
}

// inGutter is the object scrollGutter was given: a list row's parts.
func inGutter(o fyne.CanvasObject) *fyne.Container {
	return o.(*fyne.Container).Objects[0].(*fyne.Container)
}
