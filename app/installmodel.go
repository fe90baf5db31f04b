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

// downloadSize is what every text about SegVol's download says it costs.
var downloadSize = fmt.Sprintf("about %d MB", install.DownloadMB)

// installModelDialog offers the three ways to install SegVol: a Hugging
// Face folder or a GitHub .pth, typed or pasted as a path (a hospital's
// shared drive is easier pasted than browsed to) or chosen with Browse, or
// a download from the hub. An install that fails leaves the dialog open
// with the path, selected, and why under it: a typo in a long path is
// corrected, not typed again.
func (v *Viewer) installModelDialog() {
	var d *dialog.CustomDialog
	path := widget.NewEntry()
	path.SetPlaceHolder("checkpoint folder or file")
	problem := widget.NewLabel("")
	problem.Wrapping = fyne.TextWrapWord
	problem.Importance = widget.DangerImportance
	problem.Hide()
	failed := func(err error) {
		problem.SetText(err.Error())
		problem.Show()
		v.win.Canvas().Focus(path)
		path.TypedShortcut(&fyne.ShortcutSelectAll{})
	}
	install := func() {
		p := typedPath(path.Text)
		if p == "" {
			failed(fmt.Errorf("type the full path of the checkpoint folder or file, or choose it with Browse"))
			return
		}
		v.installSource = p
		problem.Hide()
		v.InstallModel(p, func(err error) {
			if err == nil {
				d.Hide()
				return
			}
			failed(err)
		})
	}
	path.OnSubmitted = func(string) { install() }
	browse := func(folder bool) func() {
		return func() {
			set := func(p string) { path.SetText(p) }
			if folder {
				v.pickFolder("SegVol checkpoint folder (from Hugging Face)", "", set)
			} else {
				v.pickFile("SegVol checkpoint file (.pth, .bin or .safetensors)", "", fileKind{".pth", ".bin", ".safetensors"}, set)
			}
		}
	}
	text := widget.NewLabel("SegVol needs its trained weights once: the folder downloaded from\n" +
		"Hugging Face (BAAI/SegVol) or the GitHub checkpoint file (SegVol_v1.pth),\n" +
		"or let the app download it from Hugging Face (" + downloadSize + ").\n" +
		"No Python is needed; the weights are checked before anything is written.")
	d = dialog.NewCustom("Install SegVol model", "Close", container.NewVBox(text,
		container.NewBorder(nil, nil, nil, container.NewHBox(
			widget.NewButton("Browse folder…", browse(true)),
			widget.NewButton("Browse file…", browse(false)),
			&widget.Button{Text: "Install", Importance: widget.HighImportance, OnTapped: install}), path),
		problem,
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

// pickFolder asks for a folder in a dialog titled title, starting in dir
// ("" for Fyne's choice), then gets its path.
func (v *Viewer) pickFolder(title, dir string, then func(path string)) {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil {
			v.showError(err)
			return
		}
		if u != nil {
			then(u.Path())
		}
	}, v.win)
	d.SetTitleText(title)
	setFolder(d, dir)
	d.Resize(fyne.NewSize(800, 600))
	d.Show()
}

// InstallModel installs SegVol from a checkpoint folder or file into the
// models folder in the background, with a progress bar and Cancel, then
// switches the engine to it; a failed or cancelled install changes nothing.
// done, when not nil, is told the outcome (nil once installed) instead of
// an error dialog.
func (v *Viewer) InstallModel(source string, done func(error)) {
	v.runInstall("Installing SegVol from "+filepath.Base(source), func(ctx context.Context, dir string, progress func(what string, done, total int64)) (*install.Model, error) {
		return install.Install(ctx, tplfiles.Templates, source, dir, func(done, total int64) { progress("installing", done, total) })
	}, done)
}

// DownloadModel downloads SegVol at revision from the Hugging Face hub (the
// proxy and HF_ENDPOINT from the environment), then installs it.
func (v *Viewer) DownloadModel(revision string) {
	v.runInstall("Downloading SegVol from Hugging Face", func(ctx context.Context, dir string, progress func(what string, done, total int64)) (*install.Model, error) {
		return install.Download(ctx, tplfiles.Templates, hub.NewClient(), revision, dir,
			func(file string, done, total int64) { progress("downloading "+file, done, total) },
			func(done, total int64) { progress("installing", done, total) })
	}, nil)
}

// runInstall installs SegVol into the models folder (run) and reloads the
// engine, showing progress; done, when not nil, is told the outcome (see
// InstallModel).
func (v *Viewer) runInstall(title string, run func(ctx context.Context, dir string, progress func(what string, done, total int64)) (*install.Model, error), done func(error)) {
	if done == nil {
		done = func(err error) {
			if err != nil {
				v.showError(err)
			}
		}
	}
	dir := v.modelsFolder()
	if !filepath.IsAbs(dir) {
		done(fmt.Errorf("no models folder to install SegVol into: %s; set one in File > Settings…", dir))
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
				done(fmt.Errorf("SegVol was not installed (nothing changed): %w", err))
				return
			}
			v.ai.seg = nil
			v.updateStatus()
			v.loadEngine(v.engineOpts)
			v.setStatusNote(fmt.Sprintf("SegVol installed from %s (SHA-256 %.12s…) into %s", m.Source, m.SHA256, m.Dir))
			done(nil)
		})
	}()
}
