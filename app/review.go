package app

import (
	"fmt"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/batch"
)

// reviewBar steps through the studies of a batch (segvol-viewer --review
// DIR): each opens with the batch's segmentation, which Save writes back
// in place, and "Needs review" flags it in the batch's results.csv.
type reviewBar struct {
	v          *Viewer
	dir        string
	items      []batch.ReviewItem
	at         int
	label      *widget.Label
	problem    *widget.Label // why the batch failed on the study, if it did
	flag       *widget.Check
	setting    bool // the flag is being set to the study's, not by the user
	prev, next *widget.Button
	content    fyne.CanvasObject
}

// Review opens the first study of the batch in dir, with a bar above the
// views to go to the previous and next ones and flag them; a folder that
// is no batch's output is refused in a dialog.
func (v *Viewer) Review(dir string) error {
	items, err := batch.ReviewList(dir)
	if err != nil {
		// Said in the window: started from a launcher, there is no terminal.
		v.showError(err)
		return err
	}
	r := &reviewBar{v: v, dir: dir, items: items, label: widget.NewLabel(""), problem: widget.NewLabel("")}
	// The batch's error can be long: cut to the window's width, not widening it.
	r.problem.Truncation = fyne.TextTruncateEllipsis
	r.problem.Importance = widget.DangerImportance
	r.flag = widget.NewCheck("Needs review", r.setFlag)
	r.prev = widget.NewButtonWithIcon("Previous", theme.NavigateBackIcon(), func() { r.step(-1) })
	r.next = widget.NewButtonWithIcon("Next", theme.NavigateNextIcon(), func() { r.step(1) })
	r.content = container.NewBorder(nil, nil, container.NewHBox(r.prev, r.next, r.label, r.flag), nil, r.problem)
	v.review = r
	v.top.Add(r.content)
	r.show(0)
	return nil
}

// show opens study i with its segmentation.
func (r *reviewBar) show(i int) {
	r.at = i
	it := r.items[i]
	r.label.SetText(fmt.Sprintf("Batch study %d of %d: %s", i+1, len(r.items), it.ID))
	r.problem.SetText("")
	if it.Failed != "" {
		r.problem.SetText("Failed in the batch: " + it.Failed)
	}
	r.setting = true
	r.flag.SetChecked(it.NeedsReview)
	r.setting = false
	enable(r.prev, i > 0)
	enable(r.next, i < len(r.items)-1)
	r.v.pendingLabels = it.Segmentation
	r.v.Open(it.Study, it.Series)
}

// showing reports whether path is the study the bar is on.
func (r *reviewBar) showing(path string) bool { return samePath(path, r.items[r.at].Study) }

// samePath reports whether a and b name the same file, relative or not.
func samePath(a, b string) bool {
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	return abs(a) == abs(b)
}

// leaveReview takes the bar away: another study was opened, which is none
// of the batch's (the bar's flag and Save would act on the wrong study).
func (v *Viewer) leaveReview() {
	v.top.Remove(v.review.content)
	v.setStatusNote("left the review of " + v.review.dir)
	v.review = nil
}

func enable(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// step goes d studies on, asking first about unsaved corrections.
func (r *reviewBar) step(d int) {
	i := r.at + d
	if i < 0 || i >= len(r.items) {
		return
	}
	r.v.unsavedThen("Go on", func() { r.show(i) })
}

// saved recomputes the batch's rows of the study whose segmentation was
// saved back to path (results.csv keeps the batch's statistics true to
// the corrected map) and returns its id; "" when path is no study's.
func (r *reviewBar) saved(path string) (string, error) {
	for _, it := range r.items {
		if samePath(it.Segmentation, path) {
			return it.ID, batch.Corrected(r.dir, it.ID, r.v.session.Volume, r.v.session.Edit().Labels())
		}
	}
	return "", nil
}

// corrected drops the batch's failure from study id: its rows now come
// from the corrected segmentation.
func (r *reviewBar) corrected(id string) {
	for i := range r.items {
		if r.items[i].ID == id {
			r.items[i].Failed = ""
		}
	}
	if r.items[r.at].ID == id {
		r.problem.SetText("")
	}
}

func (r *reviewBar) setFlag(on bool) {
	if r.setting {
		return
	}
	// The tool keys go on working: a click on the box focused it, and it
	// took the next D or N typed with the pointer still over the bar.
	r.v.win.Canvas().Unfocus()
	it := &r.items[r.at]
	if err := batch.SetNeedsReview(r.dir, it.ID, on); err != nil {
		r.v.showError(err)
		return
	}
	it.NeedsReview = on
	if on {
		r.v.setStatusNote(it.ID + " flagged for review in results.csv")
	} else {
		r.v.setStatusNote(it.ID + " no longer flagged for review")
	}
}
