package app

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// The side panel's controls give the keys back once used. Fyne focuses a
// list, check box, slider or choice that is clicked, and it then kept the
// keys: the tool letters and arrow keys typed with the pointer back over a
// view went to it (the arrows moved the list's highlight) unless the
// pointer's entering the view took them back, which it does not where the
// view was under the pointer already (a dialog closed over it, say). With
// no focus the keys go to the view under the pointer (Viewer.typedKey).
// An entry keeps the keys while text is typed into it, and gives them back
// on Enter or when the pointer enters a view.

// releaseKeys unfocuses o if it has the focus.
func (v *Viewer) releaseKeys(o fyne.Focusable) {
	if c := v.win.Canvas(); c.Focused() == o {
		c.Unfocus()
	}
}

// keyless makes the side-panel controls objs give the keys back once used.
func (v *Viewer) keyless(objs ...fyne.Focusable) {
	for _, o := range objs {
		release := func() { v.releaseKeys(o) }
		switch w := o.(type) {
		case *widget.Check:
			w.OnChanged = then(w.OnChanged, release)
		case *widget.Slider:
			w.OnChangeEnded = then(w.OnChangeEnded, release)
		case *widget.Select:
			w.OnChanged = then(w.OnChanged, release)
		case *widget.Entry:
			w.OnSubmitted = then(w.OnSubmitted, release)
		case *widget.List:
			w.OnSelected = then(w.OnSelected, release)
		default:
			panic(fmt.Sprintf("keyless: %T is not a control it knows", o))
		}
	}
}

// then is callback f (which may be nil) followed by g.
func then[T any](f func(T), g func()) func(T) {
	return func(x T) {
		if f != nil {
			f(x)
		}
		g()
	}
}

// tapRow is a list row's content that takes the row's clicks: the list's
// own click focuses the list even where the row was selected already, and
// then the list kept the keys.
type tapRow struct {
	widget.BaseWidget
	content fyne.CanvasObject
	onTap   func()
}

func newTapRow(content fyne.CanvasObject) *tapRow {
	r := &tapRow{content: content}
	r.ExtendBaseWidget(r)
	return r
}

func (r *tapRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.content) }

// Tapped implements fyne.Tappable.
func (r *tapRow) Tapped(*fyne.PointEvent) {
	if r.onTap != nil {
		r.onTap()
	}
}
