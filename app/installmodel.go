package app

import (
	"context"
	"fmt"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	tplfiles "github.com/segvolapp/segvol/assets/segvol"
	"github.com/segvolapp/segvol/infer/hub"
	"github.com/segvolapp/segvol/infer/segvol/install"
)

// installModelDialog offers the three ways to install SegVol: a Hugging
// Face folder or a GitHub .pth, typed or pasted as a path (a hospital's
// shared drive is easier pasted than browsed to) or chosen with Browse, or
// a download from the hub.
func (v *Viewer) installModelDialog() {
	var d *dialog.CustomDialog
	path := widget.NewEntry()
	path.SetPlaceHolder("checkpoint folder or file")
	install := func() {
		p := typedPath(path.Text)
		if p == "" {
			v.showError(fmt.Errorf("type the full path of the checkpoint folder or file, or choose it with Browse"))
			return
		}
		v.installSource = p
		d.Hide()
		v.InstallModel(p)
	}
	path.OnSubmitted = func(string) { install() }
	browse := func(folder bool) func() {
		return func() {
			set := func(p string) { path.SetText(p) }
			if folder {
				v.pickFolder(set)
			} else {
				v.pickFile("", fileKind{".pth", ".bin", ".safetensors"}, set)
			}
		}
	}
	text := widget.NewLabel("SegVol needs its trained weights once: the folder downloaded from\n" +
		"Hugging Face (BAAI/SegVol) or the GitHub checkpoint file (SegVol_v1.pth),\n" +
		"or let the app download it from Hugging Face (about 720 MB).\n" +
		"No Python is needed; the weights are checked before anything is written.")
	d = dialog.NewCustom("Install SegVol model", "Close", container.NewVBox(text,
		container.NewBorder(nil, nil, nil, container.NewHBox(
			widget.NewButton("Browse folder…", browse(true)),
			widget.NewButton("Browse file…", browse(false)),
			&widget.Button{Text: "Install", Importance: widget.HighImportance, OnTapped: install}), path),
		widget.NewButton("Download from Hugging Face", func() { d.Hide(); v.DownloadModel("main") }),
	), v.win)
	d.Resize(fyne.NewSize(760, 0))
	d.Show()
	v.win.Canvas().Focus(path)
	// The path tried last, selected: a typo in a long path is corrected
	// after a failure rather than typed again, and typing replaces it.
	if v.installSource != "" {
		path.SetText(v.installSource)
		path.TypedShortcut(&fyne.ShortcutSelectAll{})
	}
}

// pickFolder asks for a folder, then gets its path.
func (v *Viewer) pickFolder(then func(path string)) {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil {
			v.showError(err)
			return
		}
		if u != nil {
			then(u.Path())
		}
	}, v.win)
	d.Resize(fyne.NewSize(800, 600))
	d.Show()
}

// InstallModel installs SegVol from a checkpoint folder or file into the
// models folder in the background, with a progress bar and Cancel, then
// switches the engine to it; a failed or cancelled install changes nothing.
func (v *Viewer) InstallModel(source string) {
	v.runInstall("Installing SegVol from "+filepath.Base(source), func(ctx context.Context, dir string, progress func(what string, done, total int64)) (*install.Model, error) {
		return install.Install(ctx, tplfiles.Templates, source, dir, func(done, total int64) { progress("installing", done, total) })
	})
}

// DownloadModel downloads SegVol at revision from the Hugging Face hub (the
// proxy and HF_ENDPOINT from the environment), then installs it.
func (v *Viewer) DownloadModel(revision string) {
	v.runInstall("Downloading SegVol from Hugging Face", func(ctx context.Context, dir string, progress func(what string, done, total int64)) (*install.Model, error) {
		return install.Download(ctx, tplfiles.Templates, hub.NewClient(), revision, dir,
			func(file string, done, total int64) { progress("downloading "+file, done, total) },
			func(done, total int64) { progress("installing", done, total) })
	})
}

// runInstall installs SegVol into the models folder (run) and reloads the
// engine, showing progress.
func (v *Viewer) runInstall(title string, run func(ctx context.Context, dir string, progress func(what string, done, total int64)) (*install.Model, error)) {
	dir := v.modelsFolder()
	if !filepath.IsAbs(dir) {
		v.showError(fmt.Errorf("no models folder to install SegVol into: %s; set one in File > Settings…", dir))
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	bar, stage := widget.NewProgressBar(), widget.NewLabel("")
	d := dialog.NewCustom(title, "Cancel", container.NewVBox(stage, bar), v.win)
	d.SetOnClosed(cancel)
	d.Resize(fyne.NewSize(480, 160))
	d.Show()
	progress := func(what string, done, total int64) {
		fyne.Do(func() {
			stage.SetText(fmt.Sprintf("%s: %d of %d MB", what, done>>20, total>>20))
			if total > 0 {
				bar.SetValue(float64(done) / float64(total))
			}
		})
	}
	go func() {
		m, err := run(ctx, dir, progress)
		cancelled := err != nil && ctx.Err() != nil // read before Hide, which cancels
		fyne.Do(func() {
			d.Hide()
			if err != nil {
				if cancelled {
					v.setStatusNote("SegVol install cancelled: nothing changed")
					return
				}
				v.showError(fmt.Errorf("SegVol was not installed (nothing changed): %w", err))
				return
			}
			v.ai.seg = nil
			v.updateStatus()
			v.loadEngine(v.engineOpts)
			v.setStatusNote(fmt.Sprintf("SegVol installed from %s (SHA-256 %.12s…) into %s", m.Source, m.SHA256, m.Dir))
		})
	}()
}
