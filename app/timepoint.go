package app

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/study"
)

// timeBar is the time-point slider of a 4D study, hidden for a 3D one. A
// time point is read from the file when chosen, one read at a time: while
// one is read, only the last one asked for is remembered.
type timeBar struct {
	v       *Viewer
	slider  *widget.Slider
	label   *widget.Label
	content *fyne.Container
	reading bool // a time point is being read
	want    int  // the time point asked for last, from 0
	syncing bool // the slider is being set from the session, not the user
}

func newTimeBar(v *Viewer) *timeBar {
	b := &timeBar{v: v, label: widget.NewLabel("")}
	b.slider = widget.NewSlider(1, 2)
	b.slider.Step = 1
	b.slider.OnChanged = func(x float64) {
		if !b.syncing {
			b.show(int(x) - 1)
		}
	}
	v.keyless(b.slider)
	b.content = container.NewBorder(nil, nil, widget.NewLabel("Time point"), b.label, b.slider)
	b.content.Hide()
	return b
}

// sync follows the session: shown for a 4D study, at its time point.
func (b *timeBar) sync() {
	s := b.v.session
	if s == nil || s.Volume.Meta.TimePoints < 2 {
		b.content.Hide()
		return
	}
	m := s.Volume.Meta
	b.syncing = true
	b.slider.Max = float64(m.TimePoints)
	b.slider.SetValue(float64(m.TimePoint + 1))
	b.syncing = false
	b.label.SetText(fmt.Sprintf("%d/%d", m.TimePoint+1, m.TimePoints))
	b.content.Show()
}

// show reads time point t in the background and shows it.
func (b *timeBar) show(t int) {
	b.want = t
	s := b.v.session
	if b.reading || s == nil || t == s.Volume.Meta.TimePoint {
		return
	}
	b.reading = true
	cur, series := s.Volume, s.Series()
	go func() {
		vol, err := study.ReadTimePoint(context.Background(), cur, series, t)
		fyne.Do(func() {
			b.reading = false
			if b.v.session != s {
				return // another study was opened meanwhile
			}
			if err == nil {
				err = s.SetTimePoint(vol)
			}
			if err != nil {
				b.v.showError(err)
				b.sync()
				return
			}
			if b.want != t {
				b.show(b.want)
			}
		})
	}()
}

// timePointChanged follows a new time point: the engine forgets the last
// image, the study information, statistics and slider follow.
func (v *Viewer) timePointChanged(s *viewer.Session) {
	v.forgetImage()
	v.info.SetText(studyInfo(s))
	v.segPanel.sync()
	v.time.sync()
}
