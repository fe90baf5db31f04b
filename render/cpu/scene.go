package cpu

import (
	"context"
	"fmt"
	"image"
	"math"
	"sort"
	"sync"

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
	return r.RenderSceneContext(context.Background(), dst, s, c)
}

// RenderSceneContext is RenderScene, given up when ctx ends (between
// stages, and between rows of the volume rendering, its costly part): the
// 3D view abandons a full frame of seconds that a turn of the camera has
// made stale, which else took both cores from the frames of the turn
// (CT bone turned at 4 frames/s instead of 16). It then returns ctx's
// error and dst holds a part of the picture.
func (r *Renderer) RenderSceneContext(ctx context.Context, dst *image.RGBA, s *render.Scene, c render.Camera) error {
	if err := render.CheckScene(dst, s, c); err != nil {
		return err
	}
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	p := render.NewProjection(c, w, h)
	if cap(r.depth) < w*h {
		r.depth = make([]float64, w*h)
	}
	f := &scene3d{ctx: ctx, dst: dst, s: s, c: c, p: &p, w: w, h: h, depth: r.depth[:w*h]}
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
	r.proj = f.projectVertices(opaque, r.proj)
	parallel.For(h, func(y0, y1 int) { f.rasterOpaque(opaque, r.proj, y0, y1) })
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.Volume != nil {
		f.vs = newVolumeSampler(s.Volume)
		if s.Planes {
			parallel.For(h, func(y0, y1 int) { f.planes(y0, y1) })
		}
		if s.Preset != render.NoVolume {
			f.tf = render.NewTransfer(s.Preset, s.Window)
			if !r.noBlocks {
				f.blocks = r.blocksOf(s.Volume)
				f.clearBlock = make([]bool, len(f.blocks.Max))
				for i := range f.clearBlock {
					f.clearBlock[i] = !f.tf.Visible(float64(f.blocks.Min[i]), float64(f.blocks.Max[i]))
				}
			}
			parallel.For(h, func(y0, y1 int) { f.cast(y0, y1) })
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(clear) > 0 {
		r.proj = f.projectVertices(clear, r.proj)
		tris := f.triangles(clear, r.proj)
		// Back to front by the depth of the triangles' centroids.
		sort.SliceStable(tris, func(i, j int) bool { return tris[i].mid > tris[j].mid })
		parallel.For(h, func(y0, y1 int) {
			for i := range tris {
				f.fill(&tris[i], y0, y1, false)
			}
		})
	}
	if s.ShowCursor {
		f.cursor()
	}
	return nil
}

// scene3d is what every row of one 3D render shares.
type scene3d struct {
	ctx   context.Context
	dst   *image.RGBA
	s     *render.Scene
	c     render.Camera
	p     *render.Projection
	w, h  int
	depth []float64 // per pixel; +Inf where nothing opaque was drawn
	vs    *volumeSampler
	tf    render.Transfer
	// blocks, when set, lets rays step over blocks that cannot show:
	// clearBlock[b] where the transfer makes all of block b transparent.
	blocks     *render.Blocks
	clearBlock []bool
}

// blockKey identifies the voxels blocks were computed from.
type blockKey struct {
	voxels           string // the slice's address and type
	dims             [3]int
	slope, intercept float64
}

// lastBlocks are the blocks of the volume last ray cast, by any Renderer:
// the 3D view's two (the UI goroutine's and its worker's) cast the same
// volume, and each computing them put a second on the first frame of a
// turn of a 512x512x300 CT.
var lastBlocks struct {
	sync.Mutex
	key    blockKey
	blocks *render.Blocks
}

// blocksOf is v's render.Blocks, computed once per volume.
func (r *Renderer) blocksOf(v *render.Volume) *render.Blocks {
	k := blockKey{fmt.Sprintf("%p %T", v.Voxels, v.Voxels), v.Dims, v.Slope, v.Intercept}
	lastBlocks.Lock()
	defer lastBlocks.Unlock()
	if lastBlocks.blocks == nil || lastBlocks.key != k {
		b := render.NewBlocks(v)
		lastBlocks.blocks, lastBlocks.key = &b, k
	}
	return lastBlocks.blocks
}

// skip is where a ray at parameter t (index space ray ir) goes next when
// t lies in a block that cannot change the picture (transparent, or for a
// MIP no brighter than best): the first sample past the block on the
// lattice base + n*step. ok is false when t's sample must be taken.
func (f *scene3d) skip(ir *ray, t, base, step, best float64, mip bool) (next float64, ok bool) {
	if f.blocks == nil {
		return 0, false
	}
	b, blk := f.blocks.Block(ir.at(t))
	if mip && float64(f.blocks.Max[b]) > best || !mip && !f.clearBlock[b] {
		return 0, false
	}
	next = base + math.Ceil((render.Exit(blk, ir.o, ir.d)-base)/step)*step
	return max(next, t+step), true
}

// tri is a triangle projected onto the image.
type tri struct {
	x, y, z [3]float64    // image position and depth of each corner
	n       [3][3]float64 // normal at each corner (world)
	col     [3]float64    // colour 0..255
	alpha   float64
	mid     float64 // depth of the centroid
}

// projectVertices projects every vertex of surfaces, in order, into proj
// (x, y, depth each; reused across frames: a 512x512x300 map's voxel faces
// are 10 million vertices).
func (f *scene3d) projectVertices(ms []*render.Surface, proj []float32) []float32 {
	n := 0
	for _, m := range ms {
		n += len(m.Positions)
	}
	if cap(proj) < n {
		proj = make([]float32, n)
	}
	proj = proj[:n]
	off := 0
	for _, m := range ms {
		pos, out := m.Positions, proj[off:off+len(m.Positions)]
		parallel.For(len(pos)/3, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				x, y, z := f.p.Project([3]float64{float64(pos[3*i]), float64(pos[3*i+1]), float64(pos[3*i+2])})
				out[3*i], out[3*i+1], out[3*i+2] = float32(x), float32(y), float32(z)
			}
		})
		off += len(pos)
	}
	return proj
}

// corners sets t to triangle k (its first index) of surface m, whose
// projected vertices are proj; false for one behind a perspective eye.
func (f *scene3d) corners(t *tri, m *render.Surface, proj []float32, k int) bool {
	near := float32(f.c.Height * 1e-3)
	for c := range 3 {
		i := m.Indices[k+c]
		z := proj[3*i+2]
		if f.c.Perspective && z < near {
			return false
		}
		t.x[c], t.y[c], t.z[c] = float64(proj[3*i]), float64(proj[3*i+1]), float64(z)
	}
	return true
}

// normals sets t's corner normals: the surface's, or its face's.
func normals(t *tri, m *render.Surface, k int) {
	if m.Normals == nil {
		n := faceNormal(m.Positions, m.Indices[k:k+3])
		t.n = [3][3]float64{n, n, n}
		return
	}
	for c := range 3 {
		i := m.Indices[k+c]
		t.n[c] = [3]float64{float64(m.Normals[3*i]), float64(m.Normals[3*i+1]), float64(m.Normals[3*i+2])}
	}
}

// rasterOpaque draws the opaque surfaces' triangles in rows y0..y1,
// straight from the projected vertices: no triangle is stored.
func (f *scene3d) rasterOpaque(ms []*render.Surface, proj []float32, y0, y1 int) {
	var t tri
	t.alpha = 1
	off := 0
	top, bottom := float32(y0)+0.5, float32(y1)-0.5
	for _, m := range ms {
		p := proj[off : off+len(m.Positions)]
		off += len(m.Positions)
		t.col = [3]float64{float64(m.Color.R), float64(m.Color.G), float64(m.Color.B)}
		for k := 0; k+2 < len(m.Indices); k += 3 {
			// Rows first: most triangles miss a worker's band.
			a, b, c := m.Indices[k], m.Indices[k+1], m.Indices[k+2]
			ya, yb, yc := p[3*a+1], p[3*b+1], p[3*c+1]
			if max(ya, yb, yc) < top || min(ya, yb, yc) > bottom {
				continue
			}
			if !f.corners(&t, m, p, k) {
				continue
			}
			normals(&t, m, k)
			f.fill(&t, y0, y1, true)
		}
	}
}

// triangles lists the triangles of surfaces, for sorting.
func (f *scene3d) triangles(ms []*render.Surface, proj []float32) []tri {
	var out []tri
	off := 0
	for _, m := range ms {
		p := proj[off : off+len(m.Positions)]
		off += len(m.Positions)
		for k := 0; k+2 < len(m.Indices); k += 3 {
			t := tri{col: [3]float64{float64(m.Color.R), float64(m.Color.G), float64(m.Color.B)}, alpha: float64(m.Color.A) / 255}
			if !f.corners(&t, m, p, k) {
				continue
			}
			normals(&t, m, k)
			t.mid = (t.z[0] + t.z[1] + t.z[2]) / 3
			out = append(out, t)
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

// fill draws the pixels of triangle t in rows y0..y1 whose centres it
// covers (edges shared by two triangles drawn once, by the top-left rule as
// OpenGL), with a depth test; an opaque one writes the depth, a translucent
// one blends. Normals and depth are interpolated perspective-correct.
func (f *scene3d) fill(t *tri, y0, y1 int, opaque bool) {
	fw := f.c.Forward
	persp := f.c.Perspective
	area := (t.x[1]-t.x[0])*(t.y[2]-t.y[0]) - (t.x[2]-t.x[0])*(t.y[1]-t.y[0])
	if area == 0 || math.IsNaN(area) {
		return
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
		return
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
	for y := y0; y < y1 && f.ctx.Err() == nil; y++ {
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
			if !(t0 < t1) {
				continue
			}
			q := row[4*x : 4*x+4 : 4*x+4]
			// The samples sit on a lattice fixed in the volume, so that they
			// do not crawl over it as the camera turns, and the ray's ends
			// are sampled too: without them a ray whose stretch in the box
			// (or in front of a surface) is shorter than a step gets a
			// sample or none by where the lattice falls, which shows as
			// stripes where rays graze the box's faces and wood grain on
			// surfaces under the volume. With them the picture changes
			// continuously as the ends move.
			if mip {
				// A MIP samples where the ray crosses the voxel planes of
				// the index axis it runs along most: there the value is
				// bilinear in the other two, so a structure one voxel thin
				// is never stepped over, as a fixed step in mm does by
				// where the samples fall (a dotted grid over thin walls),
				// and no more samples are taken than one a voxel.
				base, ps := planes(&ir)
				best := f.vs.value(ir.at(t0))
				for t := base + math.Floor((t0-base)/ps)*ps + ps; t < t1; {
					if next, ok := f.skip(&ir, t, base, ps, best, true); ok {
						t = next
						continue
					}
					best = max(best, f.vs.value(ir.at(t)))
					t += ps
				}
				best = max(best, f.vs.value(ir.at(t1)))
				r, _, _, _ := f.tf.At(best)
				g := clamp255(float64(r) * 255)
				q[0], q[1], q[2] = max(q[0], g), max(q[1], g), max(q[2], g)
				continue
			}
			var cr, cg, cb, ca float64
			// Each lattice sample stands for the step about it, cut to the
			// ray's stretch; one whose step is cut is taken at the cut end
			// and weighs by what is left, so that opacity grows smoothly
			// with the stretch's length.
			for t := math.Ceil((t0-step/2)/step) * step; t-step/2 < t1 && ca < 0.99; t += step {
				at := min(max(t, t0), t1)
				mm := min(t+step/2, t1) - max(t-step/2, t0)
				if mm <= 0 {
					continue
				}
				if at == t {
					if next, ok := f.skip(&ir, t, 0, step, 0, false); ok {
						t = next - step // the loop adds step
						continue
					}
				}
				idx := ir.at(at)
				r, g, b, a := f.tf.At(f.vs.value(idx))
				if a <= 0 {
					continue
				}
				al := float64(render.StepAlpha(a, mm))
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

// planes is the lattice of a ray's crossings of the voxel planes of the
// index axis it runs along most: base + n*step, in mm along the ray.
func planes(ir *ray) (base, step float64) {
	a := 0
	for b := 1; b < 3; b++ {
		if math.Abs(ir.d[b]) > math.Abs(ir.d[a]) {
			a = b
		}
	}
	return -ir.o[a] / ir.d[a], 1 / math.Abs(ir.d[a])
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
