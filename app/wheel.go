package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// wheelToPanel is list l, in the side panel, with the mouse wheel passed
// on to the panel when the list has nothing (more) to scroll that way.
// Fyne gives the wheel to the innermost scroller under the pointer, so an
// empty or short list (the AI prompts, the measurements) stopped the panel
// scrolling, and Run, Accept and Reject below the fold could only be
// reached by dragging its scroll bar. A see-through layer over the list
// takes the wheel instead (it takes no clicks: the rows still get those).
func (v *Viewer) wheelToPanel(l *widget.List) fyne.CanvasObject {
	return v.wheelPass(l, l)
}

// wheelThrough is entry e, in the side panel, with the mouse wheel given
// to the panel: an entry scrolls its text sideways inside itself, so the
// wheel over it did nothing and the panel stopped under the pointer.
func (v *Viewer) wheelThrough(e *widget.Entry) fyne.CanvasObject {
	return v.wheelPass(e, nil)
}

func (v *Viewer) wheelPass(o fyne.CanvasObject, l *widget.List) fyne.CanvasObject {
	w := &wheelPass{list: l, panel: func() *container.Scroll { return v.side }}
	w.ExtendBaseWidget(w)
	return container.NewStack(o, w)
}

type wheelPass struct {
	widget.BaseWidget
	list  *widget.List             // nil: the wheel goes to the panel
	panel func() *container.Scroll // nil until the window is built
}

func (w *wheelPass) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewWithoutLayout())
}

// Scrolled scrolls the list while it can go that way, else the panel.
// The list clamps the offset to its rows, whatever their heights (an
// ellipse's row is three lines), so an unchanged offset is its end.
func (w *wheelPass) Scrolled(ev *fyne.ScrollEvent) {
	if l := w.list; l != nil {
		from := l.GetScrollOffset()
		if l.ScrollToOffset(from - ev.Scrolled.DY); l.GetScrollOffset() != from {
			return
		}
	}
	if p := w.panel(); p != nil {
		p.Scrolled(ev)
	}
}

// showInSidePanel scrolls the side panel as little as brings o whole into
// sight: on a 1366x768 screen a result's Accept and Reject lay below the
// fold, and the user scrolled for them after every prompt.
func (v *Viewer) showInSidePanel(o fyne.CanvasObject) {
	p := v.side
	if p == nil || !o.Visible() {
		return
	}
	// Laid out now: the result's own lines (its size, the box hint) moved
	// o down after a position taken before them, and the segment list
	// gives up rows for them where the panel is short.
	v.refitSidePanel()
	p.Refresh()
	p.Content.Refresh()
	d := fyne.CurrentApp().Driver()
	top := d.AbsolutePositionForObject(o).Y - d.AbsolutePositionForObject(p).Y + p.Offset.Y
	bottom := top + o.Size().Height
	switch {
	case bottom > p.Offset.Y+p.Size().Height:
		// A padding below it, as between the panel's controls.
		p.ScrollToOffset(fyne.NewPos(p.Offset.X, bottom+theme.Padding()-p.Size().Height))
	case top < p.Offset.Y:
		p.ScrollToOffset(fyne.NewPos(p.Offset.X, top))
	}
}
