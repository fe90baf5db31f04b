package render

import (
	"fmt"
	"math"
)

// Camera is how a 3D view looks at patient space, as VTK's camera: it looks
// along Forward at Center, which it rotates about, with Up the screen's up.
// Height is the extent in mm of the plane through Center, across Forward,
// that the image's height spans; Perspective places the eye at the distance
// where that plane subtends a 30 degree view angle, else the projection is
// orthographic.
type Camera struct {
	Center      [3]float64 // LPS mm
	Forward, Up [3]float64 // unit and orthogonal
	Height      float64
	Perspective bool
}

// ViewAngle is the vertical view angle of a perspective camera, in degrees.
const ViewAngle = 30

// Direction is one of the six standard directions a view looks from.
type Direction uint8

// The standard directions, named for the side of the patient the camera is
// on: Anterior looks at the face, with the patient's left on the right of
// the image as in radiology.
const (
	Anterior Direction = iota
	Posterior
	Left
	Right
	Superior
	Inferior
)

var directionNames = [...]string{"A", "P", "L", "R", "S", "I"}

func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return fmt.Sprintf("Direction(%d)", d)
}

// Directions lists the six standard directions.
func Directions() []Direction {
	return []Direction{Anterior, Posterior, Left, Right, Superior, Inferior}
}

// ParseDirection reads a direction's letter (either case).
func ParseDirection(s string) (Direction, error) {
	for i, n := range directionNames {
		if len(s) == 1 && (s == n || s[0]+'A'-'a' == n[0]) {
			return Direction(i), nil
		}
	}
	return 0, fmt.Errorf("render: unknown view direction %q (want A, P, L, R, S or I)", s)
}

// View is the camera that looks from direction d at center, showing height
// mm: from the sides with the head up, from above and below with the face
// up, as 3D Slicer's standard views.
func View(d Direction, center [3]float64, height float64) Camera {
	c := Camera{Center: center, Height: height, Up: [3]float64{0, 0, 1}}
	switch d {
	case Anterior: // the camera at -y (anterior in LPS) looks towards +y
		c.Forward = [3]float64{0, 1, 0}
	case Posterior:
		c.Forward = [3]float64{0, -1, 0}
	case Left:
		c.Forward = [3]float64{-1, 0, 0}
	case Right:
		c.Forward = [3]float64{1, 0, 0}
	case Superior:
		c.Forward, c.Up = [3]float64{0, 0, -1}, [3]float64{0, -1, 0}
	case Inferior:
		c.Forward, c.Up = [3]float64{0, 0, 1}, [3]float64{0, -1, 0}
	}
	return c
}

// FitVolume is the camera that looks from d at the centre of v's box,
// showing all of it in a view of the given aspect (width over height).
func FitVolume(d Direction, v *Volume, aspect float64) (Camera, error) {
	return View(d, [3]float64{}, 1).Fit(v, aspect)
}

// Fit is c turned the same way but looking at the centre of v's box, the
// whole box (with a margin) in a view of the given aspect.
func (c Camera) Fit(v *Volume, aspect float64) (Camera, error) {
	lo, hi, err := Bounds(v)
	if err != nil {
		return Camera{}, err
	}
	for a := range 3 {
		c.Center[a] = (lo[a] + hi[a]) / 2
	}
	r := c.Right()
	w, h := 0.0, 0.0
	for n := range 8 {
		var p [3]float64
		for a := range 3 {
			p[a] = lo[a]
			if n>>a&1 == 1 {
				p[a] = hi[a]
			}
			p[a] -= c.Center[a]
		}
		w, h = max(w, 2*math.Abs(dot(p, r))), max(h, 2*math.Abs(dot(p, c.Up)))
	}
	if !(aspect > 0) {
		aspect = 1
	}
	c.Height = 1.1 * max(h, w/aspect)
	return c, nil
}

// Right is the screen's right in patient space.
func (c Camera) Right() [3]float64 { return cross(c.Forward, c.Up) }

// Orbit turns the camera about Center: azimuth degrees about Up, then
// elevation degrees about Right, as VTK's Azimuth and Elevation. From the
// anterior view a positive azimuth moves the camera towards the patient's
// left, a positive elevation towards the head.
func (c Camera) Orbit(azimuth, elevation float64) Camera {
	c.Forward = rotate(c.Forward, c.Up, azimuth)
	r := c.Right()
	// Turning about Right by -elevation lifts the camera for a positive one.
	c.Forward = rotate(c.Forward, r, -elevation)
	c.Up = rotate(c.Up, r, -elevation)
	c.Forward, c.Up = orthonormal(c.Forward, c.Up)
	return c
}

// Trackball is Orbit for a mouse drag of (dx, dy) pixels (y down) in a view
// h pixels high: a drag across the view's height turns it 200 degrees, and
// the scene follows the mouse.
func (c Camera) Trackball(dx, dy float64, h int) Camera {
	k := 200 / float64(max(h, 1))
	return c.Orbit(-dx*k, dy*k)
}

// Pan moves Center so that the scene follows a drag of (dx, dy) pixels in a
// view h pixels high.
func (c Camera) Pan(dx, dy float64, h int) Camera {
	s := c.Height / float64(max(h, 1))
	r := c.Right()
	for a := range 3 {
		c.Center[a] += -r[a]*dx*s + c.Up[a]*dy*s
	}
	return c
}

// Zoom magnifies by f (> 1 comes closer).
func (c Camera) Zoom(f float64) Camera {
	if f > 0 {
		c.Height /= f
	}
	return c
}

func (c Camera) check() error {
	f, u := c.Forward, c.Up
	if math.Abs(dot(f, f)-1) > 1e-6 || math.Abs(dot(u, u)-1) > 1e-6 || math.Abs(dot(f, u)) > 1e-6 {
		return fmt.Errorf("render: camera forward %v and up %v are not orthonormal", f, u)
	}
	if !(c.Height > 0) || math.IsInf(c.Height, 0) {
		return fmt.Errorf("render: camera height %g must be positive", c.Height)
	}
	return nil
}

// Projection maps patient space to a w x h image and back for one camera.
// Depth is the distance along Forward from the eye (perspective) or from
// the plane through Center (orthographic), so that rasterised triangles and
// cast rays compare in the same measure.
type Projection struct {
	c            Camera
	right        [3]float64
	eye          [3]float64 // the depth origin
	scale        float64    // mm per pixel on the plane through Center
	dist         float64    // eye to Center (perspective)
	halfW, halfH float64
}

// NewProjection is c's projection onto a w x h image.
func NewProjection(c Camera, w, h int) Projection {
	p := Projection{c: c, right: c.Right(), scale: c.Height / float64(h), halfW: float64(w) / 2, halfH: float64(h) / 2, eye: c.Center}
	if c.Perspective {
		p.dist = c.Height / 2 / math.Tan(ViewAngle*math.Pi/360)
		for a := range 3 {
			p.eye[a] = c.Center[a] - c.Forward[a]*p.dist
		}
	}
	return p
}

// Eye is where depth is measured from: the eye of a perspective camera,
// else Center.
func (p *Projection) Eye() [3]float64 { return p.eye }

// Scale is the size in mm of a pixel on the plane through Center.
func (p *Projection) Scale() float64 { return p.scale }

// Distance is from the eye to Center (0 for an orthographic camera).
func (p *Projection) Distance() float64 { return p.dist }

// Perspective says whether rays diverge from an eye.
func (p *Projection) Perspective() bool { return p.c.Perspective }

// Project is the image position (x right, y down, in pixels; pixel centres
// at half-integers) and depth of a patient position.
func (p *Projection) Project(q [3]float64) (x, y, depth float64) {
	d := sub(q, p.eye)
	depth = dot(d, p.c.Forward)
	sx, sy := dot(d, p.right)/p.scale, dot(d, p.c.Up)/p.scale
	if p.c.Perspective {
		k := p.dist / depth
		sx, sy = sx*k, sy*k
	}
	return p.halfW + sx, p.halfH - sy, depth
}

// Ray is the ray through image position (x, y): its points are origin +
// t*dir, dir a unit vector, and their depth is depth0 + t*dDepth.
func (p *Projection) Ray(x, y float64) (origin, dir [3]float64, depth0, dDepth float64) {
	sx, sy := (x-p.halfW)*p.scale, (p.halfH-y)*p.scale
	var q [3]float64 // on the plane through Center
	for a := range 3 {
		q[a] = p.c.Center[a] + p.right[a]*sx + p.c.Up[a]*sy
	}
	if !p.c.Perspective {
		return q, p.c.Forward, 0, 1
	}
	dir = sub(q, p.eye)
	n := math.Sqrt(dot(dir, dir))
	for a := range 3 {
		dir[a] /= n
	}
	return p.eye, dir, 0, dot(dir, p.c.Forward)
}

// Pick is the first surface a ray through image position (x, y) of a w x h
// view meets: the point hit (LPS mm) and the surface's label. It tests every
// triangle, which takes a few milliseconds for a million: fine for a click.
func Pick(surfaces []Surface, c Camera, w, h int, x, y float64) (hit [3]float64, label uint8, ok bool) {
	p := NewProjection(c, w, h)
	o, d, _, _ := p.Ray(x, y)
	best := math.Inf(1) // orthographic rays start on the plane through Center: t may be negative
	for si := range surfaces {
		s := &surfaces[si]
		if s.Color.A == 0 {
			continue
		}
		for t := 0; t+2 < len(s.Indices); t += 3 {
			v0, v1, v2 := vertex(s.Positions, s.Indices[t]), vertex(s.Positions, s.Indices[t+1]), vertex(s.Positions, s.Indices[t+2])
			tt, ok := intersect(o, d, v0, v1, v2)
			if !ok || tt >= best || (c.Perspective && tt <= 0) {
				continue
			}
			best, label = tt, s.Label
		}
	}
	if math.IsInf(best, 1) {
		return hit, 0, false
	}
	for a := range 3 {
		hit[a] = o[a] + best*d[a]
	}
	return hit, label, true
}

// intersect is the ray parameter where o + t*d crosses triangle v0 v1 v2
// (either side), by Möller and Trumbore's method.
func intersect(o, d, v0, v1, v2 [3]float64) (float64, bool) {
	e1, e2 := sub(v1, v0), sub(v2, v0)
	pv := cross(d, e2)
	det := dot(e1, pv)
	if math.Abs(det) < 1e-12 {
		return 0, false
	}
	inv := 1 / det
	tv := sub(o, v0)
	u := dot(tv, pv) * inv
	if u < 0 || u > 1 {
		return 0, false
	}
	qv := cross(tv, e1)
	v := dot(d, qv) * inv
	if v < 0 || u+v > 1 {
		return 0, false
	}
	return dot(e2, qv) * inv, true
}

func vertex(pos []float32, i uint32) [3]float64 {
	return [3]float64{float64(pos[3*i]), float64(pos[3*i+1]), float64(pos[3*i+2])}
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func sub(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }

func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// rotate turns v by deg degrees about the unit axis k (right-handed).
func rotate(v, k [3]float64, deg float64) [3]float64 {
	s, c := math.Sincos(deg * math.Pi / 180)
	kv := cross(k, v)
	kd := dot(k, v) * (1 - c)
	var r [3]float64
	for a := range 3 {
		r[a] = v[a]*c + kv[a]*s + k[a]*kd
	}
	return r
}

// orthonormal renormalises f and makes u orthogonal to it, against the
// drift of many small rotations.
func orthonormal(f, u [3]float64) ([3]float64, [3]float64) {
	f = unit(f)
	d := dot(f, u)
	for a := range 3 {
		u[a] -= d * f[a]
	}
	return f, unit(u)
}

func unit(v [3]float64) [3]float64 {
	n := math.Sqrt(dot(v, v))
	return [3]float64{v[0] / n, v[1] / n, v[2] / n}
}
