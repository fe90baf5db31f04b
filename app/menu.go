package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer"
)

// recentKey is the preference that lists recent studies, newest first.
const (
	recentKey = "recentStudies"
	maxRecent = 10
)

// quitShortcut is Ctrl+Q (Cmd+Q on macOS): File > Quit.
var quitShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyQ, Modifier: fyne.KeyModifierShortcutDefault}

// openShortcut is Ctrl+O (Cmd+O on macOS): File > Open file….
var openShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierShortcutDefault}

func (v *Viewer) mainMenu() *fyne.MainMenu {
	v.recentMenu = fyne.NewMenuItem("Recent studies", nil)
	v.recentMenu.ChildMenu = fyne.NewMenu("", v.recentItems()...)
	file := fyne.NewMenu("File",
		&fyne.MenuItem{Label: "Open file…", Action: v.openFileDialog, Shortcut: openShortcut},
		fyne.NewMenuItem("Open DICOM folder…", v.openFolderDialog),
		fyne.NewMenuItem("Open from PACS…", func() { v.openFromPACS() }),
		v.recentMenu,
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Open segmentation…", v.openLabelsDialog),
		&fyne.MenuItem{Label: "Save segmentation", Action: func() { v.save(nil) },
			Shortcut: &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault}},
		fyne.NewMenuItem("Save segmentation as…", func() { v.saveDialog(nil) }),
		fyne.NewMenuItem("Export DICOM SEG…", v.exportSEGDialog),
		fyne.NewMenuItem("Send segmentation to PACS", func() { v.sendSEGToPACS() }),
		fyne.NewMenuItem("Export statistics as CSV…", v.exportStatisticsDialog),
		fyne.NewMenuItem("Export segments as meshes…", v.exportMeshesDialog),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Save screenshot of view…", func() { v.saveScreenshotDialog(false) }),
		fyne.NewMenuItem("Save screenshot of layout…", func() { v.saveScreenshotDialog(true) }),
		fyne.NewMenuItemSeparator(),
		&fyne.MenuItem{Label: "Settings…", Action: v.showSettings, Shortcut: settingsShortcut},
		fyne.NewMenuItem("PACS servers…", func() { v.showPACSServers() }),
		fyne.NewMenuItemSeparator(),
		// Ours rather than the one Fyne adds, for its Ctrl+Q; it asks
		// about unsaved changes as closing the window does.
		&fyne.MenuItem{Label: "Quit", IsQuit: true, Action: v.closeIntercept, Shortcut: quitShortcut},
	)
	v.crosshairItem = &fyne.MenuItem{Label: "Crosshair (C)", Checked: true, Action: v.toggleCrosshair}
	v.layoutItems = [...]*fyne.MenuItem{
		Layout1x3: fyne.NewMenuItem("Layout 1x3", func() { v.SetLayout(Layout1x3) }),
		Layout2x2: fyne.NewMenuItem("Layout 2x2 (with the 3D view)", func() { v.SetLayout(Layout2x2) }),
	}
	v.layoutItems[v.layout].Checked = true
	v.sideItem = &fyne.MenuItem{Label: "Side panel", Checked: true, Action: v.toggleSidePanel}
	v.linkItem = &fyne.MenuItem{Label: "Link zoom and pan", Action: v.toggleLinked}
	v.interpItems = [...]*fyne.MenuItem{
		render.Nearest: fyne.NewMenuItem("Nearest-neighbour interpolation", func() { v.setInterp(render.Nearest) }),
		render.Linear:  {Label: "Linear interpolation", Checked: true, Action: func() { v.setInterp(render.Linear) }},
	}
	view := fyne.NewMenu("View",
		v.layoutItems[Layout1x3], v.layoutItems[Layout2x2], v.sideItem,
		fyne.NewMenuItem("Study information…", v.showStudyInfo),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Reset views (R)", v.resetViews),
		v.crosshairItem,
		v.linkItem,
		v.interpItems[render.Nearest], v.interpItems[render.Linear],
	)
	// The canvas takes Ctrl+O and Ctrl+, too, for drivers whose menus do not (the
	// main menu's shortcut wins where both do, so it runs once).
	v.win.Canvas().AddShortcut(openShortcut, func(fyne.Shortcut) { v.openFileDialog() })
	v.win.Canvas().AddShortcut(settingsShortcut, func(fyne.Shortcut) { v.showSettings() })
	v.win.Canvas().AddShortcut(quitShortcut, func(fyne.Shortcut) { v.closeIntercept() })
	v.presetMenu = fyne.NewMenu("Window", v.presetItems()...)
	return fyne.NewMainMenu(file, v.newEditMenu(), v.segmentationMenu(), view, v.presetMenu, v.helpMenu())
}

func (v *Viewer) resetViews() {
	if v.session == nil {
		return
	}
	for _, o := range viewer.Orientations {
		v.session.ResetView(o)
	}
}

// toggleCrosshair shows or hides the crosshair in every view, as ITK-SNAP
// does, to see the anatomy under it; the cursor stays where it is.
func (v *Viewer) toggleCrosshair() {
	v.crosshairItem.Checked = !v.crosshairItem.Checked
	for _, sv := range v.views {
		sv.ShowCrosshair(v.crosshairItem.Checked)
	}
	v.win.MainMenu().Refresh()
}

// toggleLinked shares zoom and pan between the views, or stops it: a zoom
// or pan in one view then gives the others the same scale and moves them
// alike, as Slicer's linked views do.
func (v *Viewer) toggleLinked() {
	v.linkItem.Checked = !v.linkItem.Checked
	if v.session != nil {
		v.session.SetLinkedViews(v.linkItem.Checked)
	}
	v.win.MainMenu().Refresh()
}

// toggleSidePanel hides the side panel, giving the views the whole width,
// or shows it again.
func (v *Viewer) toggleSidePanel() {
	v.sideItem.Checked = !v.sideItem.Checked
	// The split's trailing part: the side panel in its fitting layout.
	if v.sideItem.Checked {
		v.split.Trailing.Show()
	} else {
		v.split.Trailing.Hide()
	}
	v.split.Refresh()
	v.win.MainMenu().Refresh()
}

// showStudyInfo shows the study information and the full status (the
// renderer's and the engine's reasons, every load warning), whatever the
// layout: the status bar may have to cut them short.
func (v *Viewer) showStudyInfo() {
	text := widget.NewLabel(v.info.Text + "\n" + strings.Join(v.statusParts(), "\n"))
	text.TextStyle.Monospace = true
	text.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom("Study information", "Close", container.NewVScroll(text), v.win)
	d.Resize(fyne.NewSize(720, 520))
	d.Show()
}

// viewRune handles the window's own letters in a view: C for the crosshair.
func (v *Viewer) viewRune(r rune) bool {
	if r == 'c' || r == 'C' {
		v.toggleCrosshair()
		return true
	}
	if t, ok := viewer.ToolForKey(r); ok {
		v.SetTool(t) // T asks for the structure's name, as its button does
		return true
	}
	return false
}

// setInterp chooses the sampling of the views, shown checked in the View
// menu and kept for the next study.
func (v *Viewer) setInterp(i render.Interp) {
	for j, it := range v.interpItems {
		it.Checked = render.Interp(j) == i
	}
	if m := v.win.MainMenu(); m != nil {
		m.Refresh()
	}
	if v.session != nil {
		v.session.SetInterp(i)
	}
}

// interp is the sampling checked in the View menu.
func (v *Viewer) interp() render.Interp {
	if v.interpItems[render.Nearest].Checked {
		return render.Nearest
	}
	return render.Linear
}

// presetItems are the window presets of the open study, the current one
// ticked.
func (v *Viewer) presetItems() []*fyne.MenuItem {
	if v.session == nil {
		return []*fyne.MenuItem{disabled("No study open")}
	}
	var items []*fyne.MenuItem
	for _, p := range v.session.Presets() {
		name := p.Name
		items = append(items, fyne.NewMenuItem(fmt.Sprintf("%s (W %s L %s)", name, num(p.Width), num(p.Center)),
			func() { v.session.ApplyPreset(name) }))
	}
	v.tickPreset(items)
	return items
}

// tickPreset ticks, of the Window menu's items, the preset the window is
// (the session names it), none after a drag away from every preset; it
// says whether a tick moved, as the menu is redrawn only then (a drag
// changes the window at every pointer move).
func (v *Viewer) tickPreset(items []*fyne.MenuItem) bool {
	cur := v.session.Window().Name
	moved := false
	for i, p := range v.session.Presets() {
		if on := cur != "" && p.Name == cur; i < len(items) && items[i].Checked != on {
			items[i].Checked, moved = on, true
		}
	}
	return moved
}

func disabled(label string) *fyne.MenuItem {
	it := fyne.NewMenuItem(label, nil)
	it.Disabled = true
	return it
}

func (v *Viewer) recent() []string { return v.app.Preferences().StringList(recentKey) }

func (v *Viewer) recentItems() []*fyne.MenuItem {
	paths := v.recent()
	paths = slices.DeleteFunc(slices.Clone(paths), gone)
	if len(paths) == 0 {
		return []*fyne.MenuItem{disabled("None yet")}
	}
	items := make([]*fyne.MenuItem, len(paths))
	for i, p := range paths {
		items[i] = fyne.NewMenuItem(p, func() { v.openOther(p, "") })
	}
	v.labelRecent(items, paths)
	return items
}

// remember puts path first in the recent studies.
func (v *Viewer) remember(path string) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	list := slices.DeleteFunc(slices.Clone(v.recent()), func(s string) bool { return s == path })
	list = append([]string{path}, list...)
	if len(list) > maxRecent {
		list = list[:maxRecent]
	}
	v.app.Preferences().SetStringList(recentKey, list)
	v.refreshRecent()
}

// refreshRecent rebuilds File > Recent studies: after an open, and after
// files of its entries went away (PACS servers > Clear cache).
func (v *Viewer) refreshRecent() {
	v.recentMenu.ChildMenu.Items = v.recentItems()
	v.recentMenu.ChildMenu.Refresh()
}

// gone: a recent study whose files are no longer there (a cleared PACS
// cache, a deleted folder) is not offered; clicking it said "no such file
// or directory". It stays in the list, so a drive mounted again brings it
// back.
func gone(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// openFileDialog asks for a study, starting in the folder one was last
// chosen in (a failed open included: the user goes on from there), else
// the open study's folder.
func (v *Viewer) openFileDialog() {
	v.pickFile("Open study (NIfTI or DICOM file, DICOMDIR)", v.openFolder(), nil, func(path string) {
		v.openedFrom = filepath.Dir(path)
		v.openOther(path, "")
	})
}

// openFolder is where Open file and Open DICOM folder start.
func (v *Viewer) openFolder() string {
	if v.openedFrom != "" || v.session == nil {
		return v.openedFrom
	}
	dir, _ := v.studyFile("")
	return dir
}

// pickFile shows a file-open dialog titled title (what it opens: Fyne's
// "Open File" says nothing) in dir ("" for Fyne's choice) listing files of
// kind (nil for all) and calls then with the chosen path.
func (v *Viewer) pickFile(title, dir string, kind fileKind, then func(path string)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			v.showError(err)
			return
		}
		if r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		then(path)
	}, v.win)
	if kind != nil {
		d.SetFilter(kind)
	}
	d.SetTitleText(title)
	setFolder(d, dir)
	d.Resize(fyne.NewSize(800, 600))
	d.Show()
}

func (v *Viewer) openFolderDialog() {
	v.pickFolder("Open DICOM folder (a series, a study or a DICOMDIR's folder)", v.openFolder(), func(path string) {
		v.openedFrom = filepath.Dir(path)
		v.openOther(path, "")
	})
}

// dropped opens the first file or folder dropped on the window.
func (v *Viewer) dropped(_ fyne.Position, uris []fyne.URI) {
	for _, u := range uris {
		if u.Scheme() == "file" {
			v.openOther(u.Path(), "")
			return
		}
	}
}

// showError shows a one-line error; the app stays up.
func (v *Viewer) showError(err error) {
	v.showMessage(dialog.NewError(err, v.win), nil)
}

// showInfo shows a message with its title.
func (v *Viewer) showInfo(title, message string) {
	v.showMessage(dialog.NewInformation(title, message, v.win), nil)
}

// showMessage shows a message box that Enter or Esc closes as well as its
// OK button, as message boxes do elsewhere (Fyne's take clicks only): the
// keys reach typedKey, since nothing in the box takes the focus. closed,
// if not nil, runs once it is closed.
func (v *Viewer) showMessage(d dialog.Dialog, closed func()) {
	d.Show()
	top := v.win.Canvas().Overlays().Top()
	if v.messages == nil {
		v.messages = map[fyne.CanvasObject]dialog.Dialog{}
	}
	v.messages[top] = d
	d.SetOnClosed(func() {
		delete(v.messages, top)
		if closed != nil {
			closed()
		}
	})
}
