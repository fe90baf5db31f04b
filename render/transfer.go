package render

import (
	"image/color"
	"math"
)

// Background is the colour behind a 3D scene.
var Background = color.NRGBA{R: 24, G: 26, B: 38, A: 255}

// CursorColor is the colour of the 3D cursor.
var CursorColor = color.NRGBA{R: 255, G: 220, B: 0, A: 255}

// Transfer is a preset's colour and opacity as a table over real values
// (HU for CT), which the renderers interpolate linearly between entries:
// entry i holds value Lo + i*(Hi-Lo)/(len-1); values outside [Lo, Hi] take
// the end entries. RGBA holds four numbers an entry: red, green and blue in
// 0..1 and the opacity of one mm of tissue of that value.
type Transfer struct {
	Lo, Hi float64
	RGBA   []float32
	Shade  bool // light by the gradient, as a surface

	visible []int32 // visible[i]: how many entries below i have opacity
}

// TransferSize is the number of entries of every table.
const TransferSize = 1024

// point is a control point of a preset: a value, its colour and its
// opacity per mm.
type point struct{ v, r, g, b, a float64 }

// The presets' control points, in the spirit of 3D Slicer's: the values
// pick out bone (above ~150 HU), contrast-filled vessels (~150-400 HU) and
// fat and muscle (-100..80 HU).
var presetPoints = map[Preset][]point{
	CTBone: {{-1024, 0, 0, 0, 0}, {140, .55, .25, .15, 0}, {300, .9, .8, .6, .25}, {700, 1, .98, .9, .9}, {3071, 1, 1, 1, 1}},
	CTSoftTissue: {{-1024, 0, 0, 0, 0}, {-500, .6, .45, .3, 0}, {-100, .9, .75, .55, .01}, {20, .75, .3, .25, .04},
		{80, .85, .45, .35, .08}, {250, .95, .9, .8, .4}, {1000, 1, 1, 1, .9}, {3071, 1, 1, 1, 1}},
	CTAngio: {{-1024, 0, 0, 0, 0}, {120, .7, .1, .05, 0}, {200, .9, .2, .1, .3}, {400, 1, .85, .75, .8}, {3071, 1, 1, 1, 1}},
}

// NewTransfer is preset p's table; MRDefault and MIP follow the window w
// (MR values have no fixed scale), the CT presets hold HU.
func NewTransfer(p Preset, w Options) Transfer {
	pts, ok := presetPoints[p]
	lo, hi := -1024.0, 3071.0
	if !ok { // a ramp over the window: grey for MIP, opacity too for MR
		lo, hi = w.Center-w.Width/2, w.Center+w.Width/2
		top := 0.0
		if p == MRDefault {
			top = .3
		}
		pts = []point{{lo, 0, 0, 0, 0}, {hi, 1, 1, 1, top}}
	}
	t := Transfer{Lo: lo, Hi: hi, RGBA: make([]float32, 4*TransferSize), Shade: p != MIP}
	j := 0
	for i := range TransferSize {
		v := lo + float64(i)*(hi-lo)/(TransferSize-1)
		for j+2 < len(pts) && v > pts[j+1].v {
			j++
		}
		a, b := pts[j], pts[j+1]
		f := math.Min(math.Max((v-a.v)/(b.v-a.v), 0), 1)
		mix := func(x, y float64) float32 { return float32(x + (y-x)*f) }
		t.RGBA[4*i], t.RGBA[4*i+1], t.RGBA[4*i+2], t.RGBA[4*i+3] = mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b), mix(a.a, b.a)
	}
	t.visible = make([]int32, TransferSize+1)
	for i := range TransferSize {
		t.visible[i+1] = t.visible[i]
		if t.RGBA[4*i+3] > 0 {
			t.visible[i+1]++
		}
	}
	return t
}

// At is the table interpolated at value v.
func (t *Transfer) At(v float64) (r, g, b, a float32) {
	u := (v - t.Lo) / (t.Hi - t.Lo) * (TransferSize - 1)
	switch {
	case !(u > 0): // NaN too
		u = 0
	case u > TransferSize-1:
		u = TransferSize - 1
	}
	i := int(u)
	if i == TransferSize-1 {
		i--
	}
	f := float32(u - float64(i))
	e := t.RGBA[4*i : 4*i+8]
	return e[0] + (e[4]-e[0])*f, e[1] + (e[5]-e[1])*f, e[2] + (e[6]-e[2])*f, e[3] + (e[7]-e[3])*f
}

// StepAlpha is the opacity of a step of length mm of tissue whose opacity
// per mm is a.
func StepAlpha(a float32, mm float64) float32 {
	return 1 - float32(math.Pow(1-math.Min(float64(a), 1), mm))
}

// SampleStep is the length in mm of a ray casting step: the smallest voxel
// spacing, 3D Slicer's default sample distance (half that doubles the time
// for little a clinician sees).
func SampleStep(v *Volume) float64 {
	s := math.Inf(1)
	for a := range 3 {
		r := v.WorldToIndex[a]
		s = math.Min(s, 1/math.Sqrt(r[0]*r[0]+r[1]*r[1]+r[2]*r[2]))
	}
	return s
}

// Shade is the fraction of its colour a surface of unit normal n shows
// seen along the camera's forward f, lit by a headlight: ambient plus
// diffuse light on either side (a surface cut open shows its inside). No
// specular highlight, as VTK's default: it would wash out the segment
// colours a reader matches to the legend.
func Shade(n, f [3]float64) float64 {
	return 0.25 + 0.75*math.Abs(dot(n, f))
}
