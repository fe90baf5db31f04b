package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"
)

// fileKind lists the files a dialog shows: names ending in one of its
// suffixes, any case; "" stands for a name without an extension, as DICOM
// files often are. Folders always show.
type fileKind []string

var (
	niftiFiles        = fileKind{".nii.gz", ".nii"}
	dicomSEGFiles     = fileKind{".dcm", ""}
	segmentationFiles = fileKind{".nii.gz", ".nii", ".dcm", ".txt", ""}
	pngFiles          = fileKind{".png"}
	csvFiles          = fileKind{".csv"}
)

// Matches implements storage.FileFilter.
func (k fileKind) Matches(u fyne.URI) bool {
	name := strings.ToLower(u.Name())
	for _, s := range k {
		if s == "" && !strings.Contains(name, ".") || s != "" && strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// studyFile is where a file made from the open study goes by default: the
// study's folder (beside a DICOM series' folder, not inside it, where a
// rescan would take it for a series; the home folder for a study in the
// user cache) and the study's name with suffix.
func (v *Viewer) studyFile(suffix string) (dir, name string) {
	src := v.session.Volume.Meta.Source
	if abs, err := filepath.Abs(src); err == nil {
		src = abs
	}
	base := filepath.Base(src)
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		low := strings.ToLower(base)
		for _, ext := range []string{".nii.gz", ".nii", ".dcm"} {
			if strings.HasSuffix(low, ext) {
				base = base[:len(base)-len(ext)]
				break
			}
		}
	}
	dir = filepath.Dir(src)
	// A study in the user cache (the unpacked sample) is no place a user
	// would look for their work: it goes to their home folder instead.
	if cache, err := os.UserCacheDir(); err == nil {
		if rel, err := filepath.Rel(cache, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			if home, err := os.UserHomeDir(); err == nil {
				dir = home
			}
		}
	}
	return dir, base + suffix
}

// setFolder makes d start in dir rather than the last folder any dialog
// showed; a dir that cannot be listed leaves Fyne's choice.
func setFolder(d *dialog.FileDialog, dir string) {
	if dir == "" {
		return
	}
	if l, err := storage.ListerForURI(storage.NewFileURI(dir)); err == nil {
		d.SetLocation(l)
	}
}

// saveFile asks where to save, starting in dir with name filled in and
// only files of kind listed; then gets the path. A typed absolute path
// (or ~/…) is taken as it is: Fyne's dialog joins whatever is typed to the
// folder it shows.
func (v *Viewer) saveFile(title, dir, name string, kind fileKind, then func(path string)) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			v.showError(err)
			return
		}
		if w == nil {
			return
		}
		path := w.URI().Path()
		w.Close()
		then(path)
		dropEmpty(path)
	}, v.win)
	d.SetTitleText(title)
	d.SetFileName(name)
	d.SetFilter(kind)
	setFolder(d, dir)
	d.Resize(fyne.NewSize(800, 600))
	d.Show()
	v.takeTypedPaths(d, then)
}

// dropEmpty removes path when it is an empty file: Fyne's save dialog makes
// the file, empty, before asking us to write it, and a save under another
// name (seg -> seg.nii.gz) or a failed one leaves it so.
func dropEmpty(path string) {
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Size() == 0 {
		os.Remove(path)
	}
}

// takeTypedPaths wraps the Save button of file dialog d, just shown, so
// that an absolute path typed as the name is used as typed; other names go
// to Fyne as before. Without the entry or the button (another Fyne), the
// dialog is left as it is.
func (v *Viewer) takeTypedPaths(d *dialog.FileDialog, then func(path string)) {
	name, save := v.shownFileDialog()
	if name == nil || save == nil {
		return
	}
	fyneSave := save.OnTapped
	save.OnTapped = func() {
		path := typedPath(name.Text)
		if path == "" {
			fyneSave()
			return
		}
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			v.showError(fmt.Errorf("%s is a folder: type a file name", path))
			return
		} else if err == nil {
			dialog.ShowConfirm("Overwrite?", "Replace the file\n"+path+"?", func(ok bool) {
				if ok {
					d.Hide()
					then(path)
				}
			}, v.win)
			return
		}
		d.Hide()
		then(path)
	}
}

// shownFileDialog is the name entry and the confirm button of the file
// dialog on top of the window, nil where there is none.
func (v *Viewer) shownFileDialog() (name *widget.Entry, confirm *widget.Button) {
	pop, ok := v.win.Canvas().Overlays().Top().(*widget.PopUp)
	if !ok {
		return nil, nil
	}
	walk(pop.Content, func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Entry:
			name = w
		case *widget.Button:
			if w.Importance == widget.HighImportance {
				confirm = w
			}
		}
	})
	return name, confirm
}

// typedPath is the absolute path a typed file name stands for, with ~ for
// the home folder; "" for a name relative to the folder shown.
func typedPath(s string) string {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "~"); ok && (rest == "" || rest[0] == '/' || rest[0] == filepath.Separator) {
		if home, err := os.UserHomeDir(); err == nil {
			s = home + rest
		}
	}
	if !filepath.IsAbs(s) {
		return ""
	}
	return filepath.Clean(s)
}

// walk calls fn on o and everything containers, scrolls and forms hold.
func walk(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	fn(o)
	switch c := o.(type) {
	case *fyne.Container:
		for _, x := range c.Objects {
			walk(x, fn)
		}
	case *container.Scroll:
		walk(c.Content, fn)
	case *widget.Form:
		for _, it := range c.Items {
			walk(it.Widget, fn)
		}
	}
}
