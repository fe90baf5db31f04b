package app

import (
	"fmt"
	"runtime"
	"slices"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/assets"
	"github.com/segvolapp/segvol/viewer"
)

func (v *Viewer) helpMenu() *fyne.Menu {
	return fyne.NewMenu("Help", fyne.NewMenuItem("About SegVol", v.showAbout),
		fyne.NewMenuItem("Keyboard and mouse", v.showBindings),
		fyne.NewMenuItem("Installing SegVol", v.showInstall))
}

// bindings are the mouse and key actions that no menu shows, for Help >
// Keyboard and mouse; the tools' keys come from viewer.Tools.
var bindings = [][2]string{
	{"Mouse wheel, arrow keys", "next or previous slice"},
	{"Page Up/Down", "a tenth of the slices (at least 5) on or back"},
	{"Left drag (Navigate tool)", "move the crosshair in all views"},
	{"Right drag, Shift+left drag", "window/level"},
	{"Middle drag, Ctrl+left drag", "pan"},
	{"Ctrl+wheel", "zoom around the pointer"},
	{"R", "reset the view"},
	{"C", "hide or show the crosshair"},
	{"Double-click", "maximise a view, or back to the layout"},
	{"Right-click a prompt marker", "remove the prompt"},
	{"Enter", "accept the AI preview into the active segment"},
	{"Esc", "reject the AI preview"},
	{"Ctrl+Z", "undo"},
	{"Ctrl+Shift+Z, Ctrl+Y", "redo"},
	{"3D view: left drag", "rotate"},
	{"3D view: right drag, wheel", "zoom"},
	{"3D view: middle drag", "pan"},
	{"3D view: click on a surface", "move the cursor there"},
}

// showBindings lists the mouse actions and keys.
func (v *Viewer) showBindings() {
	d := dialog.NewCustom("Keyboard and mouse", "Close", container.NewVScroll(bindingsTable()), v.win)
	d.Resize(fyne.NewSize(640, 560))
	d.Show()
}

// bindingsTable is two columns, what to press and what it does.
func bindingsTable() *fyne.Container {
	rows := slices.Clone(bindings)
	for _, t := range viewer.Tools {
		rows = append(rows, [2]string{string(unicode.ToUpper(t.Key())), t.String() + " tool"})
	}
	grid := container.New(layout.NewFormLayout())
	for _, r := range rows {
		key := widget.NewLabelWithStyle(r[0], fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
		grid.Add(key)
		grid.Add(widget.NewLabel(r[1]))
	}
	return grid
}

// intendedUse says what the program is for, in Help > About and the
// first-start notice.
const intendedUse = "SegVol is for research and for reviewing segmentations, not for diagnosis " +
	"or treatment decisions: it is not a medical device. Every segmentation, by hand or by the AI, " +
	"must be checked by a qualified person before anyone relies on it."

// noticeKey is the preference that remembers the first-start notice was
// read; a test of the whole app sets it so the notice does not cover the
// window.
const noticeKey = "intendedUseNoticeRead"

// FirstStartNotice tells, once per user, what the program is for; it is
// remembered as read when its dialog is closed.
func (v *Viewer) FirstStartNotice() {
	p := v.app.Preferences()
	if p.Bool(noticeKey) {
		return
	}
	msg := widget.NewLabel(intendedUse + "\n\nHelp > About says this again.")
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom("What SegVol is for", "I understand", msg, v.win)
	d.Resize(fyne.NewSize(520, 0))
	// Enter closes it too: a user pressing it at start-up was left with a
	// notice that took no key.
	v.showMessage(d, func() { p.SetBool(noticeKey, true) })
}

// showAbout shows the version and the licenses of everything bundled.
func (v *Viewer) showAbout() {
	d := dialog.NewCustom("About SegVol", "Close", aboutContent(v.app.Metadata()), v.win)
	d.Resize(fyne.NewSize(720, 560))
	d.Show()
}

// versionText is the version line. The packages inject FyneApp.toml's
// metadata at build time; a plain go build has none (Fyne then reports its
// own default version, 0.0.1, with no ID) unless it runs inside the checkout.
func versionText(m fyne.AppMetadata) string {
	if m.ID == "" {
		return fmt.Sprintf("SegVol, development build (%s/%s)", runtime.GOOS, runtime.GOARCH)
	}
	return fmt.Sprintf("SegVol %s (build %d, %s/%s)", m.Version, m.Build, runtime.GOOS, runtime.GOARCH)
}

// aboutContent is the version and one collapsed section per bundled
// component that opens on its license text.
func aboutContent(m fyne.AppMetadata) fyne.CanvasObject {
	acc := widget.NewAccordion()
	for _, c := range assets.Bundled {
		text, err := assets.Licenses.ReadFile(c.File)
		if err != nil { // the embed test makes this unreachable in a release
			text = []byte(err.Error())
		}
		l := widget.NewLabel(string(text))
		l.Wrapping = fyne.TextWrapWord
		l.TextStyle.Monospace = true
		acc.Append(widget.NewAccordionItem(c.Name+" — "+c.License, l))
	}
	head := widget.NewLabel(versionText(m) + "\nAI-assisted 3D medical image segmentation.\n\n" + intendedUse +
		"\n\nIt carries the following, under their licenses:")
	head.Wrapping = fyne.TextWrapWord
	return container.NewBorder(head, nil, nil, nil, container.NewVScroll(acc))
}
