package viewer

import (
	"fmt"
	"math"

	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// brush is the brush of the current settings at a point of view o.
func (e *Editor) brush(o mpr.Orientation, at [3]float64) labels.Brush {
	b := labels.Brush{RadiusMM: e.BrushMM, Range: e.Range}
	if !e.Brush3D {
		b.Plane = &labels.Plane{Point: at, Normal: o.Normal()}
	}
	return b
}

// StrokeAt paints (brush) or erases (eraser) at screen point (x, y) of
// view o. The dabs of one drag, until EndStroke, are one undo step; a dab
// follows the previous one with dabs every half radius so a fast drag
// leaves no gaps.
func (e *Editor) StrokeAt(o mpr.Orientation, x, y float64) error {
	if !e.tool.Painting() {
		return nil
	}
	if e.tool == ToolBrush && e.active == 0 {
		return fmt.Errorf("no active segment: add one in the segments panel")
	}
	if e.RangeErr != nil {
		return e.RangeErr
	}
	s := e.s
	to := s.views[o].ScreenToWorld(s.frame, s.cursor, x, y)
	from := to
	if !e.stroke {
		if sg, _ := e.labels.Segment(e.active); e.tool == ToolBrush && !sg.Visible {
			// Painting a hidden segment showed nothing while it changed
			// voxels; it is shown, as 3D Slicer's editor does.
			if err := e.labels.SetVisible(e.active, true); err != nil {
				return err
			}
		}
		e.showOverlay()
		e.labels.Begin(e.tool.String())
		e.stroke, e.strokeDid = true, labels.Change{}
	} else {
		from = e.lastDab
	}
	dist := math.Sqrt(sq(to[0]-from[0]) + sq(to[1]-from[1]) + sq(to[2]-from[2]))
	steps := max(1, int(math.Ceil(dist/math.Max(e.BrushMM/2, 0.1))))
	var err error
	for i := 1; i <= steps && err == nil; i++ {
		f := float64(i) / float64(steps)
		p := [3]float64{from[0] + (to[0]-from[0])*f, from[1] + (to[1]-from[1])*f, from[2] + (to[2]-from[2])*f}
		var c labels.Change
		if e.tool == ToolBrush {
			c, err = e.labels.Paint(e.brush(o, p), p, e.active)
		} else {
			c, err = e.labels.Erase(e.brush(o, p), p, 0)
		}
		e.strokeDid.Merge(c)
	}
	e.lastDab = to
	e.labelsChanged()
	return err
}

// minOpacity is the least overlay opacity an edit leaves: below it the
// segments are hard to see.
const minOpacity = 0.2

// showOverlay draws the segments again where the overlay draws none (Fill
// and Outline both off, or an opacity near 0), so that an edit changes
// only voxels the user sees: with the overall opacity dragged to 0, a
// stroke took voxels from the liver with nothing on the slices showing it.
func (e *Editor) showOverlay() {
	if e.opacity < minOpacity || !e.fill && !e.outline {
		e.SetOverlay(e.fill || !e.outline, e.outline, max(e.opacity, 0.5))
	}
}

// StrokeDid is what the open or last brush or eraser stroke changed, and
// the voxels of locked segments it left alone.
func (e *Editor) StrokeDid() labels.Change { return e.strokeDid }

// EndStroke closes the open brush stroke (one undo step).
func (e *Editor) EndStroke() {
	if e.stroke {
		e.stroke = false
		e.labels.End()
		e.labelsChanged() // the step is now in the journal
	}
}

func sq(x float64) float64 { return x * x }

// FillAt floods the active segment from the voxel under screen point
// (x, y) of view o through the 6-connected voxels whose value lies in
// Range, or within FillTolerance of the clicked value; one undo step,
// "3D fill". It reports what it took from other segments (painted over,
// as the brush does), for the user to be told.
func (e *Editor) FillAt(o mpr.Orientation, x, y float64) (labels.Change, []labels.Take, error) {
	if e.active == 0 {
		return labels.Change{}, nil, fmt.Errorf("no active segment: add one in the segments panel")
	}
	if e.RangeErr != nil {
		return labels.Change{}, nil, e.RangeErr
	}
	p := e.s.ProbeAt(o, x, y)
	if !p.Inside {
		return labels.Change{}, nil, fmt.Errorf("the click is outside the image")
	}
	e.showOverlay()
	lo, hi := p.Value-e.FillTolerance, p.Value+e.FillTolerance
	if e.Range != nil {
		lo, hi = e.Range[0], e.Range[1]
	}
	if p.Value < lo || p.Value > hi {
		return labels.Change{}, nil, fmt.Errorf("the clicked value %g is outside the fill range %g..%g", p.Value, lo, hi)
	}
	mask := Flood(e.s.Volume.Dims, p.Index, func(n int) bool {
		v := e.s.Volume.Value(n)
		return v >= lo && v <= hi
	})
	takes := e.labels.Takes(mask, e.active, labels.Add)
	e.labels.Begin("3D fill")
	c, err := e.labels.Apply(mask, e.active, labels.Add)
	e.labels.End()
	e.labelsChanged()
	if err != nil {
		return c, nil, err
	}
	return c, takes, nil
}

// Flood is the mask (1 inside) of the voxels 6-connected to seed for which
// in is true.
func Flood(dims [3]int, seed [3]int, in func(n int) bool) []uint8 {
	mask := make([]uint8, dims[0]*dims[1]*dims[2])
	sx, sxy := dims[0], dims[0]*dims[1]
	start := seed[0] + sx*(seed[1]+dims[1]*seed[2])
	if !in(start) {
		return mask
	}
	mask[start] = 1
	stack := []int{start}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		i, j, k := n%sx, n/sx%dims[1], n/sxy
		visit := func(m int) {
			if mask[m] == 0 && in(m) {
				mask[m] = 1
				stack = append(stack, m)
			}
		}
		if i > 0 {
			visit(n - 1)
		}
		if i < dims[0]-1 {
			visit(n + 1)
		}
		if j > 0 {
			visit(n - sx)
		}
		if j < dims[1]-1 {
			visit(n + sx)
		}
		if k > 0 {
			visit(n - sxy)
		}
		if k < dims[2]-1 {
			visit(n + sxy)
		}
	}
	return mask
}
