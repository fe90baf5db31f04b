package app

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/nifti"
)

// TestTimePointSlider opens a 4D fMRI run (20 volumes): the time bar shows,
// and moving its slider shows that volume (nibabel-checked reader) in the
// views; a 3D study hides the bar.
func TestTimePointSlider(t *testing.T) {
	path := filepath.Join("..", "testdata", "nibabel_testdata", "functional.nii")
	v, err := openViewer(t, Options{}, path)
	if err != nil {
		t.Fatal(err)
	}
	v.Window().Resize(fyne.NewSize(1200, 720))
	b := v.time
	if !b.content.Visible() || b.slider.Max != 20 || b.label.Text != "1/20" {
		t.Fatalf("time bar shown %v, slider max %v, label %q", b.content.Visible(), b.slider.Max, b.label.Text)
	}
	s := v.Session()
	before := v.View(mpr.Axial).Frames()
	b.slider.SetValue(8)
	waitFor(t, "time point 8", func() bool { return s.Volume.Meta.TimePoint == 7 })
	want, err := nifti.ReadTimePoint(path, 7)
	if err != nil {
		t.Fatal(err)
	}
	first, err := nifti.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	same, differ := 0, 0
	for i := range s.Volume.Len() {
		if s.Volume.Value(i) == want.Value(i) {
			same++
		}
		if want.Value(i) != first.Value(i) {
			differ++
		}
	}
	if same != want.Len() || differ == 0 {
		t.Errorf("the session holds %d of volume 8's %d voxels (%d differ from volume 1)", same, want.Len(), differ)
	}
	if fmt.Sprintf("%p", s.RenderVolume().Voxels) != fmt.Sprintf("%p", s.Volume.Data) {
		t.Error("the views do not render volume 8")
	}
	v.Window().Canvas().Capture()
	if v.View(mpr.Axial).Frames() == before {
		t.Error("the axial view did not redraw")
	}
	if b.label.Text != "8/20" || !strings.Contains(v.info.Text, "showing volume 8") {
		t.Errorf("label %q, information %q", b.label.Text, v.info.Text)
	}
	v.SetSession(openSample(t))
	if b.content.Visible() {
		t.Error("the time bar shows for a 3D study")
	}
}
