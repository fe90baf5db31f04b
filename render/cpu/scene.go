package cpu

import (
	"image"
	"math"
	"sort"

	"github.com/segvolapp/segvol/internal/parallel"
	"github.com/segvolapp/segvol/render"
)

var _ render.SceneRenderer = (*Renderer)(nil)

// RenderScene implements render.SceneRenderer: opaque surfaces and the
// slice planes into a depth buffer, then the volume rendering in front of
// them, then the translucent surfaces back to front, then the cursor.
// Translucent surfaces are blended over the volume rendering rather than
// inside it: what VTK does without depth peeling.
func (r *Renderer) RenderScene(dst *image.RGBA, s *render.Scene, c render.Camera) error {
	if err := render.CheckScene(dst, s, c); err != nil {
		return err
	}
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	p := render.NewProjection(c, w, h)
	if cap(r.depth) < w*h {
		r.depth = make([]float64, w*h)
	}
	f := &scene3d{dst: dst, s: s, c: c, p: &p, w: w, h: h, depth: r.depth[:w*h]}
	bg := render.Background
	parallel.For(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			pix := dst.Pix[y*dst.Stride:]
			for x := range w {
				pix[4*x], pix[4*x+1], pix[4*x+2], pix[4*x+3] = bg.R, bg.G, bg.B, 255
				f.depth[y*w+x] = math.Inf(1)
			}
		}
	})
	var opaque, clear []*render.Surface
	for i := range s.Surfaces {
		m := &s.Surfaces[i]
		switch {
		case m.Color.A == 255:
			opaque = append(opaque, m)
		case m.Color.A > 0:
			clear = append(clear, m)
		}
	}
	tris := f.project(opaque)
	parallel.For(h, func(y0, y1 int) { f.raster(tris, y0, y1, true) })
	if s.Volume != nil {
		f.vs = newVolumeSampler(s.Volume)
		if s.Planes {
			parallel.For(h, func(y0, y1 int) { f.planes(y0, y1) })
		}
		if s.Preset != render.NoVolume {
			f.tf = render.NewTransfer(s.Preset, s.Window)
			parallel.For(h, func(y0, y1 int) { f.cast(y0, y1) })
		}
	}
	if len(clear) > 0 {
		tris := f.project(clear)
		// Back to front by the depth of the triangles' centroids.
		sort.SliceStable(tris, func(i, j int) bool { return tris[i].mid > tris[j].mid })
		parallel.For(h, func(y0, y1 int) { f.raster(tris, y0, y1, false) })
	}
	if s.ShowCursor {
		f.cursor()
	}
	return nil
}

// scene3d is what every row of one 3D render shares.
type scene3d struct {
	dst   *image.RGBA
	s     *render.Scene
	c     render.Camera
	p     *render.Projection
	w, h  int
	depth []float64 // per pixel; +Inf where nothing opaque was drawn
	vs    *volumeSampler
	tf    render.Transfer
}

// tri is a triangle projected onto the image.
type tri struct {
	x, y, z [3]float64    // image position and depth of each corner
	n       [3][3]float64 // normal at each corner (world)
	col     [3]float64    // colour 0..255
	alpha   float64
	mid     float64 // depth of the centroid
}

// project projects the triangles of surfaces; those behind a perspective
// eye are dropped.
func (f *scene3d) project(ms []*render.Surface) []tri {
	var out []tri
	for _, m := range ms {
		vx := make([][3]float64, len(m.Positions)/3)
		parallel.For(len(vx), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				x, y, z := f.p.Project([3]float64{float64(m.Positions[3*i]), float64(m.Positions[3*i+1]), float64(m.Positions[3*i+2])})
				vx[i] = [3]float64{x, y, z}
			}
		})
		near := f.c.Height * 1e-3
		col := [3]float64{float64(m.Color.R), float64(m.Color.G), float64(m.Color.B)}
		for t := 0; t+2 < len(m.Indices); t += 3 {
			var tr tri
			tr.col, tr.alpha = col, float64(m.Color.A)/255
			behind := false
			for k := range 3 {
				i := m.Indices[t+k]
				tr.x[k], tr.y[k], tr.z[k] = vx[i][0], vx[i][1], vx[i][2]
				behind = behind || (f.c.Perspective && tr.z[k] < near)
				if m.Normals != nil {
					tr.n[k] = [3]float64{float64(m.Normals[3*i]), float64(m.Normals[3*i+1]), float64(m.Normals[3*i+2])}
				}
			}
			if behind {
				continue
			}
			if m.Normals == nil {
				n := faceNormal(m.Positions, m.Indices[t:t+3])
				tr.n = [3][3]float64{n, n, n}
			}
			tr.mid = (tr.z[0] + tr.z[1] + tr.z[2]) / 3
			out = append(out, tr)
		}
	}
	return out
}

func faceNormal(pos []float32, ix []uint32) [3]float64 {
	var v [3][3]float64
	for k := range 3 {
		v[k] = [3]float64{float64(pos[3*ix[k]]), float64(pos[3*ix[k]+1]), float64(pos[3*ix[k]+2])}
	}
	a := [3]float64{v[1][0] - v[0][0], v[1][1] - v[0][1], v[1][2] - v[0][2]}
	b := [3]float64{v[2][0] - v[0][0], v[2][1] - v[0][1], v[2][2] - v[0][2]}
	return normalize([3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]})
}

func normalize(v [3]float64) [3]float64 {
	n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	if n == 0 {
		return v
	}
	return [3]float64{v[0] / n, v[1] / n, v[2] / n}
}

// raster draws the triangles' pixels in rows y0..y1 whose centres they
// cover (edges shared by two triangles drawn once, by the top-left rule as
// OpenGL), with a depth test; opaque ones write the depth, translucent ones
// blend. Normals and depth are interpolated perspective-correct.
func (f *scene3d) raster(tris []tri, y0, y1 int, opaque bool) {
	fw := f.c.Forward
	persp := f.c.Perspective
	for ti := range tris {
		t := &tris[ti]
		area := (t.x[1]-t.x[0])*(t.y[2]-t.y[0]) - (t.x[2]-t.x[0])*(t.y[1]-t.y[0])
		if area == 0 || math.IsNaN(area) {
			continue
		}
		// Orient the corners so that the edge functions are positive inside.
		a, b, cc := 0, 1, 2
		if area < 0 {
			b, cc = 2, 1
			area = -area
		}
		xs := [3]float64{t.x[a], t.x[b], t.x[cc]}
		ys := [3]float64{t.y[a], t.y[b], t.y[cc]}
		zs := [3]float64{t.z[a], t.z[b], t.z[cc]}
		ns := [3][3]float64{t.n[a], t.n[b], t.n[cc]}
		minY := max(y0, int(math.Ceil(min(ys[0], ys[1], ys[2])-0.5)))
		maxY := min(y1-1, int(math.Floor(max(ys[0], ys[1], ys[2])-0.5)))
		minX := max(0, int(math.Ceil(min(xs[0], xs[1], xs[2])-0.5)))
		maxX := min(f.w-1, int(math.Floor(max(xs[0], xs[1], xs[2])-0.5)))
		if minY > maxY || minX > maxX {
			continue
		}
		// Edge k runs from corner k+1 to k+2, opposite corner k.
		var ex, ey [3]float64
		var topLeft [3]bool
		for k := range 3 {
			i, j := (k+1)%3, (k+2)%3
			ex[k], ey[k] = xs[j]-xs[i], ys[j]-ys[i]
			// In image coordinates (y down) with positive area, a top edge
			// is horizontal going left, a left edge goes up.
			topLeft[k] = (ey[k] == 0 && ex[k] < 0) || ey[k] < 0
		}
		for y := minY; y <= maxY; y++ {
			py := float64(y) + 0.5
			row := f.dst.Pix[y*f.dst.Stride:]
			for x := minX; x <= maxX; x++ {
				px := float64(x) + 0.5
				var e [3]float64
				in := true
				for k := range 3 {
					i := (k + 1) % 3
					e[k] = ex[k]*(py-ys[i]) - ey[k]*(px-xs[i])
					if e[k] < 0 || (e[k] == 0 && !topLeft[k]) {
						in = false
						break
					}
				}
				if !in {
					continue
				}
				w0, w1, w2 := e[0]/area, e[1]/area, e[2]/area
				var z float64
				if persp { // 1/z is linear on the image
					iz := w0/zs[0] + w1/zs[1] + w2/zs[2]
					z = 1 / iz
					w0, w1, w2 = w0/zs[0]*z, w1/zs[1]*z, w2/zs[2]*z
				} else {
					z = w0*zs[0] + w1*zs[1] + w2*zs[2]
				}
				di := y*f.w + x
				if !(z < f.depth[di]) {
					continue
				}
				var n [3]float64
				for a := range 3 {
					n[a] = w0*ns[0][a] + w1*ns[1][a] + w2*ns[2][a]
				}
				diff := render.Shade(normalize(n), fw)
				q := row[4*x : 4*x+4 : 4*x+4]
				for ch := range 3 {
					v := t.col[ch] * diff
					if !opaque {
						v = float64(q[ch])*(1-t.alpha) + v*t.alpha
					}
					q[ch] = clamp255(v)
				}
				if opaque {
					f.depth[di] = z
				}
			}
		}
	}
}

func clamp255(v float64) uint8 {
	switch {
	case v <= 0 || v != v:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

// planes draws the axial, coronal and sagittal planes through the cursor,
// where they cut the volume, in the slices' window with the labels' tint.
func (f *scene3d) planes(y0, y1 int) {
	win := newWindow(f.s.Window)
	l := f.s.Labels
	for y := y0; y < y1; y++ {
		row := f.dst.Pix[y*f.dst.Stride:]
		for x := range f.w {
			o, d, z0, dz := f.p.Ray(float64(x)+0.5, float64(y)+0.5)
			di := y*f.w + x
			for a := range 3 {
				if d[a] == 0 {
					continue
				}
				t := (f.s.Cursor[a] - o[a]) / d[a]
				z := z0 + t*dz
				if !(z < f.depth[di]) || (f.c.Perspective && t <= 0) {
					continue
				}
				idx, ok := f.vs.index([3]float64{o[0] + t*d[0], o[1] + t*d[1], o[2] + t*d[2]})
				if !ok {
					continue
				}
				g := win.gray(f.vs.value(idx))
				q := row[4*x : 4*x+4 : 4*x+4]
				q[0], q[1], q[2] = g, g, g
				if l != nil && l.Fill {
					if v := l.Data[f.vs.nearest(idx)]; v != 0 && int(v) < len(l.Colors) {
						c := l.Colors[v]
						al := uint32(c.A)
						q[0] = uint8((uint32(g)*(255-al) + uint32(c.R)*al + 127) / 255)
						q[1] = uint8((uint32(g)*(255-al) + uint32(c.G)*al + 127) / 255)
						q[2] = uint8((uint32(g)*(255-al) + uint32(c.B)*al + 127) / 255)
					}
				}
				f.depth[di] = z
			}
		}
	}
}

// cast ray casts the volume in front of what is drawn: front to back with
// the preset's transfer, or the brightest value for MIP.
func (f *scene3d) cast(y0, y1 int) {
	step := render.SampleStep(f.s.Volume)
	fw := f.c.Forward
	mip := f.s.Preset == render.MIP
	for y := y0; y < y1; y++ {
		row := f.dst.Pix[y*f.dst.Stride:]
		for x := range f.w {
			o, d, z0, dz := f.p.Ray(float64(x)+0.5, float64(y)+0.5)
			ir := f.vs.ray(o, d)
			t0, t1, ok := f.vs.clip(&ir)
			if !ok {
				continue
			}
			if f.c.Perspective {
				t0 = max(t0, 0)
			}
			if zt := (f.depth[y*f.w+x] - z0) / dz; zt < t1 {
				t1 = zt
			}
			q := row[4*x : 4*x+4 : 4*x+4]
			// The samples sit on a lattice of the step along the ray, so
			// that they do not crawl over the volume as the box clip moves.
			first := math.Ceil(t0/step) * step
			if mip {
				best := math.Inf(-1)
				for t := first; t < t1; t += step {
					idx := ir.at(t)
					best = max(best, f.vs.value(idx))
				}
				if !math.IsInf(best, -1) {
					r, _, _, _ := f.tf.At(best)
					g := clamp255(float64(r) * 255)
					q[0], q[1], q[2] = max(q[0], g), max(q[1], g), max(q[2], g)
				}
				continue
			}
			var cr, cg, cb, ca float64
			for t := first; t < t1 && ca < 0.99; t += step {
				idx := ir.at(t)
				r, g, b, a := f.tf.At(f.vs.value(idx))
				if a <= 0 {
					continue
				}
				al := float64(render.StepAlpha(a, step))
				sh := 1.0
				if f.tf.Shade {
					if n, ok := f.vs.gradient(idx); ok {
						sh = render.Shade(n, fw)
					}
				}
				k := (1 - ca) * al
				cr += k * float64(r) * sh
				cg += k * float64(g) * sh
				cb += k * float64(b) * sh
				ca += k
			}
			if ca > 0 {
				q[0] = clamp255(cr*255 + (1-ca)*float64(q[0]))
				q[1] = clamp255(cg*255 + (1-ca)*float64(q[1]))
				q[2] = clamp255(cb*255 + (1-ca)*float64(q[2]))
			}
		}
	}
}

// cursor draws the cursor as three short axis-parallel lines, hidden where
// something opaque lies in front.
func (f *scene3d) cursor() {
	half := f.c.Height / 40
	for a := range 3 {
		lo, hi := f.s.Cursor, f.s.Cursor
		lo[a] -= half
		hi[a] += half
		x0, y0, z0 := f.p.Project(lo)
		x1, y1, z1 := f.p.Project(hi)
		n := int(math.Ceil(max(math.Abs(x1-x0), math.Abs(y1-y0)))) + 1
		for i := 0; i <= n; i++ {
			u := float64(i) / float64(n)
			x, y := int(math.Floor(x0+(x1-x0)*u)), int(math.Floor(y0+(y1-y0)*u))
			z := z0 + (z1-z0)*u
			if x < 0 || y < 0 || x >= f.w || y >= f.h || z > f.depth[y*f.w+x]+half/4 {
				continue
			}
			q := f.dst.Pix[y*f.dst.Stride+4*x:]
			q[0], q[1], q[2] = render.CursorColor.R, render.CursorColor.G, render.CursorColor.B
		}
	}
}
