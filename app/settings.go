package app

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/infer/engine"
	"github.com/segvolapp/segvol/infer/ort"
	"github.com/segvolapp/segvol/infer/segvol"
)

// The preferences File > Settings keeps for the segmentation engine; what
// the command line gives wins over them.
const (
	ortLibraryKey = "ortLibrary"   // ONNX Runtime library; "" to search
	modelsKey     = "modelsFolder" // SegVol models folder; "" for the default
	deviceKey     = "device"       // execution provider; "" for auto
)

// devices are the execution providers the settings offer (infer/ort).
var devices = []string{ort.Auto, ort.CPU, ort.CUDA, ort.DirectML, ort.CoreML}

// settingsShortcut is Ctrl+, (Cmd+, on macOS), as most desktop programs.
var settingsShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyComma, Modifier: fyne.KeyModifierShortcutDefault}

// withSettings fills what o leaves empty from the preferences.
func (v *Viewer) withSettings(o engine.Options) engine.Options {
	p := v.app.Preferences()
	if o.Library == "" {
		o.Library = p.String(ortLibraryKey)
	}
	if o.Models == "" {
		o.Models = p.String(modelsKey)
	}
	if o.Device == "" {
		o.Device = p.String(deviceKey)
	}
	return o
}

// showSettings is File > Settings…: the SegVol models folder, the device
// and the ONNX Runtime library.
func (v *Viewer) showSettings() {
	p := v.app.Preferences()
	models := widget.NewEntry()
	models.SetText(p.String(modelsKey))
	if dir, err := segvol.DefaultDir(); err == nil {
		models.SetPlaceHolder(dir)
	}
	device := widget.NewSelect(devices, nil)
	device.SetSelected(p.String(deviceKey))
	if device.Selected == "" {
		device.SetSelected(ort.Auto)
	}
	lib := widget.NewEntry()
	lib.SetText(p.String(ortLibraryKey))
	lib.SetPlaceHolder("searched for (SEGVOL_ORT_LIB, beside the program)")
	browseModels := widget.NewButton("Browse…", func() {
		v.pickFolder("SegVol models folder", "", models.SetText)
	})
	browseLib := widget.NewButton("Browse…", func() {
		v.pickFile("ONNX Runtime library (libonnxruntime.so, onnxruntime.dll or .dylib)", "", nil, lib.SetText)
	})
	loaded := "The app looks in this folder for the SegVol model (Help > Installing SegVol)."
	if cur := ort.LoadedLibrary(); cur != "" {
		loaded += "\nONNX Runtime in use: " + cur + ". Another library is loaded from the next start."
	}
	note := widget.NewLabel(loaded)
	note.Wrapping = fyne.TextWrapWord
	// The PACS servers have their own dialog (File > PACS servers…); this
	// is where a user looking for them in the settings finds it too.
	pacs := widget.NewButton("PACS servers…", func() { v.showPACSServers() })
	form := widget.NewForm(
		widget.NewFormItem("SegVol models folder", container.NewBorder(nil, nil, nil, browseModels, models)),
		widget.NewFormItem("Device", device),
		widget.NewFormItem("ONNX Runtime library", container.NewBorder(nil, nil, nil, browseLib, lib)),
		widget.NewFormItem("PACS", container.NewHBox(pacs)),
	)
	d := dialog.NewCustomConfirm("Settings", "Save", "Cancel", container.NewVBox(form, note), func(ok bool) {
		if ok {
			v.applySettings(models.Text, device.Selected, lib.Text)
		}
	}, v.win)
	d.Resize(fyne.NewSize(720, 0))
	d.Show()
}

// applySettings remembers the engine settings and loads the engine again
// with them. ONNX Runtime loads once per process, so another library
// takes effect from the next start; a models folder or a device now.
func (v *Viewer) applySettings(models, device, library string) {
	models, library = strings.TrimSpace(models), strings.TrimSpace(library)
	if device == ort.Auto {
		device = ""
	}
	p := v.app.Preferences()
	p.SetString(modelsKey, models)
	p.SetString(deviceKey, device)
	p.SetString(ortLibraryKey, library)
	o := v.engineOpts
	o.Models, o.Device, o.Library = models, device, library
	if o == v.engineOpts {
		return
	}
	var notes []string
	if cur := ort.LoadedLibrary(); cur != "" && library != v.engineOpts.Library {
		notes = append(notes, fmt.Sprintf("the ONNX Runtime library changes from the next start (%s is loaded)", cur))
	}
	v.engineOpts = o
	v.ai.seg = nil
	v.updateStatus()
	v.loadEngine(o)
	v.setStatusNote(strings.Join(append([]string{"settings saved"}, notes...), "; "))
}

// whyNoSegVol says why SegVol does not run, and where to read how to
// install it when its model is what is missing.
func whyNoSegVol(err error) string {
	if err == nil { // SegVol was not tried: the embedded default was chosen
		return "the embedded default is chosen in File > Settings or by --backend"
	}
	if errors.Is(err, segvol.ErrNoModels) {
		return err.Error() + ". Help > Installing SegVol says where to get the model and where to put it"
	}
	return err.Error()
}
