package app

import (
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/infer/engine"
	"github.com/segvolapp/segvol/infer/ort"
)

// menuItem finds the item labelled label in the main menu called menu.
func menuItem(v *Viewer, menu, label string) *fyne.MenuItem {
	for _, m := range v.win.MainMenu().Items {
		if m.Label != menu {
			continue
		}
		for _, it := range m.Items {
			if it.Label == label {
				return it
			}
		}
	}
	return nil
}

// shownText is the text of every label in the dialog on top of v's window.
func shownText(v *Viewer) string {
	pop, ok := v.win.Canvas().Overlays().Top().(*widget.PopUp)
	if !ok {
		return ""
	}
	var b strings.Builder
	walk(pop.Content, func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Label:
			b.WriteString(w.Text + "\n")
		case *widget.Form:
			for _, it := range w.Items {
				b.WriteString(it.Text + "\n")
			}
		}
	})
	return b.String()
}

// The engine settings live in File > Settings… (Ctrl+,), not in the
// Segmentation menu: the models folder and the device are remembered and
// taken at once and at the next start; a missing model points to Help >
// Installing SegVol, which says where to get it and which folder the app
// looks in (the messages said "see models/README.md", a source file).
func TestSettingsAndInstallingSegVol(t *testing.T) {
	a := newTestApp(t)
	engines := make(chan error, 4)
	v := newViewer(t, a, Options{OnEngine: func(err error) { engines <- err }})
	await(t, "the engine", engines)
	for _, m := range v.win.MainMenu().Items {
		for _, it := range m.Items {
			if strings.Contains(it.Label, "ONNX Runtime") {
				t.Errorf("%s > %s is still there", m.Label, it.Label)
			}
		}
	}
	set := menuItem(v, "File", "Settings…")
	if set == nil || set.Shortcut == nil || set.Shortcut.ShortcutName() != settingsShortcut.ShortcutName() {
		t.Fatalf("File > Settings… %+v", set)
	}
	v.win.Canvas().(fyne.Shortcutable).TypedShortcut(settingsShortcut)
	if txt := shownText(v); !strings.Contains(txt, "SegVol models folder") || !strings.Contains(txt, "ONNX Runtime library") || !strings.Contains(txt, "Device") {
		t.Fatalf("Ctrl+, shows %q", txt)
	}
	// Set a models folder (one without the model) and the CPU, and Save.
	var entries []*widget.Entry
	var device *widget.Select
	var save, pacs *widget.Button
	settings := v.win.Canvas().Overlays().Top()
	walk(settings.(*widget.PopUp).Content, func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Entry:
			entries = append(entries, w)
		case *widget.Select:
			device = w
		case *widget.Button:
			switch w.Text {
			case "Save":
				save = w
			case "PACS servers…":
				pacs = w
			}
		}
	})
	// The PACS servers, from the settings too (the issue asks for Settings >
	// PACS servers); closing them comes back to the settings.
	if pacs == nil {
		t.Fatal("the settings have no PACS servers button")
	}
	test.Tap(pacs)
	if txt := shownText(v); !strings.Contains(txt, "DICOMweb URL") || !strings.Contains(txt, "Password or token") {
		t.Fatalf("PACS servers… shows %q", txt)
	}
	walk(v.win.Canvas().Overlays().Top().(*widget.PopUp).Content, func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Close" {
			test.Tap(b)
		}
	})
	if v.win.Canvas().Overlays().Top() != settings {
		t.Fatal("closing the PACS servers did not come back to the settings")
	}
	if len(entries) != 2 || device == nil || save == nil {
		t.Fatalf("settings dialog: %d entries, device %v, save %v", len(entries), device, save)
	}
	absent := filepath.Join(t.TempDir(), "absent")
	entries[0].SetText(absent)
	device.SetSelected(ort.CPU)
	test.Tap(save)
	await(t, "the engine again", engines)
	if v.engineOpts.Models != absent || v.engineOpts.Device != ort.CPU || v.ai.info.Models != absent {
		t.Errorf("engine options %+v, info %+v", v.engineOpts, v.ai.info)
	}
	w := newViewer(t, a, Options{})
	if w.engineOpts.Models != absent || w.engineOpts.Device != ort.CPU {
		t.Errorf("at the next start: %+v", w.engineOpts)
	}

	why := whyNoSegVol(v.ai.info.Fallback)
	if strings.Contains(why, "README") || !strings.Contains(why, "Help > Installing SegVol") || !strings.Contains(why, absent) {
		t.Errorf("fallback says %q", why)
	}
	install := menuItem(v, "Help", "Installing SegVol")
	if install == nil {
		t.Fatal("no Help > Installing SegVol")
	}
	install.Action()
	txt := shownText(v)
	for _, want := range []string{"BAAI/SegVol", "export.py", absent, "image_encoder.onnx", "File > Settings"} {
		if !strings.Contains(txt, want) {
			t.Errorf("Installing SegVol does not say %q:\n%s", want, txt)
		}
	}
}

// With SegVol asked for and its model missing, the error says where to
// read how to install it.
func TestMissingSegVolPointsToHelp(t *testing.T) {
	absent := filepath.Join(t.TempDir(), "absent")
	v := newViewer(t, newTestApp(t), Options{Engine: engine.Options{Backend: "segvol", Models: absent}})
	if txt := shownText(v); !strings.Contains(txt, "Help > Installing SegVol") || !strings.Contains(txt, absent) || strings.Contains(txt, "README") {
		t.Errorf("the engine error says %q", txt)
	}
}
