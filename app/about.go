package app

import (
	"fmt"
	"runtime"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/assets"
)

func (v *Viewer) helpMenu() *fyne.Menu {
	return fyne.NewMenu("Help", fyne.NewMenuItem("About SegVol", v.showAbout))
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
	head := widget.NewLabel(versionText(m) + "\nAI-assisted 3D medical image segmentation.\n\nIt carries the following, under their licenses:")
	head.Wrapping = fyne.TextWrapWord
	return container.NewBorder(head, nil, nil, nil, container.NewVScroll(acc))
}
