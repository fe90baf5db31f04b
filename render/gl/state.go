package gl

import (
	"bytes"
	"fmt"
	"image"
	"strings"
	"sync/atomic"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/segvolapp/segvol/render"
)

// Texture units the programs read from.
const (
	unitVoxels = iota
	unitLabels
	unitSlice
	unitColors
	unitDepth    // the 3D scene's view depth, for the ray caster
	unitTransfer // the volume rendering's transfer table
	unitBlocks   // the volume's blocks for empty-space skipping
)

// maxTargets bounds the framebuffers kept for the sizes views are drawn at.
const maxTargets = 4

// state is everything that lives on the GL thread.
type state struct {
	win      *glfw.Window
	max3D    int32
	vao      uint32
	reslice  map[variant]*program
	compose  *program
	voxels   texture3D
	labels   texture3D
	labRev   uint64 // the render.Labels revision the label texture holds
	labRevOK bool   // whether labRev may be asked what changed since
	labVol   uint64 // the Invalidate generation of that upload
	colors   uint32
	palette  []uint8 // RGBA of labels 0..255; an allocation of its own, as cgo wants
	nColors  int
	targets  map[image.Point]*target
	accounts *atomic.Int64
	device   string // GL_RENDERER
	scene    sceneState
}

func newState(win *glfw.Window, accounts *atomic.Int64) (st *state, err error) {
	defer recoverGLFW(&err)
	win.MakeContextCurrent()
	if err := gl.Init(); err != nil {
		return nil, fmt.Errorf("render/gl: loading OpenGL: %w", err)
	}
	var major, minor int32
	gl.GetIntegerv(gl.MAJOR_VERSION, &major)
	gl.GetIntegerv(gl.MINOR_VERSION, &minor)
	// Integer textures, integer shader arithmetic and texelFetch: GL 3.3.
	if major < 3 || major == 3 && minor < 3 {
		return nil, fmt.Errorf("render/gl: OpenGL %d.%d, want 3.3 or later", major, minor)
	}
	st = &state{win: win, reslice: map[variant]*program{}, palette: make([]uint8, 256*4),
		targets: map[image.Point]*target{}, accounts: accounts, device: gl.GoStr(gl.GetString(gl.RENDERER))}
	gl.GetIntegerv(gl.MAX_3D_TEXTURE_SIZE, &st.max3D)
	// Core profiles draw only with a vertex array bound; the full-screen
	// triangle comes from gl_VertexID, so it stays empty.
	gl.GenVertexArrays(1, &st.vao)
	gl.BindVertexArray(st.vao)
	if st.compose, err = newProgram(header, composeShader); err != nil {
		st.free()
		return nil, err
	}
	gl.GenTextures(1, &st.colors)
	gl.ActiveTexture(gl.TEXTURE0 + unitColors)
	gl.BindTexture(gl.TEXTURE_2D, st.colors)
	setNearest(gl.TEXTURE_2D)
	gl.TexImage2D(gl.TEXTURE_2D, 0, gl.RGBA8UI, 256, 1, 0, gl.RGBA_INTEGER, gl.UNSIGNED_BYTE, gl.Ptr(st.palette))
	return st, checkError("colour table")
}

// header starts every shader.
const header = "#version 330 core\n"

func (st *state) free() {
	for _, p := range st.reslice {
		p.delete()
	}
	if st.compose != nil {
		st.compose.delete()
	}
	st.voxels.free()
	st.labels.free()
	for k, t := range st.targets {
		t.free()
		delete(st.targets, k)
	}
	st.scene.free()
	gl.DeleteTextures(1, &st.colors)
	gl.DeleteVertexArrays(1, &st.vao)
	st.account()
	glfw.DetachCurrentContext()
}

// account publishes the bytes held on the GPU.
func (st *state) account() {
	n := st.voxels.bytes + st.labels.bytes + 256*4 + st.scene.bytes()
	for _, t := range st.targets {
		n += t.bytes()
	}
	st.accounts.Store(n)
}

// uploadLabels brings the label texture up to date: only the box that
// changed since the revision it holds, where the labels can say (a brush
// dab, not the 78 MB of a 512x512x300 map), else all of it when gen or the
// slice changed. Invalidate (gen) says anything may have changed: all.
func (st *state) uploadLabels(l *render.Labels, dims [3]int, gen, labGen uint64) error {
	f, _ := formatOf(l.Data) // a []uint8 always has a format
	t := &st.labels
	if t.id != 0 && st.labRevOK && st.labVol == gen && l.Changed != nil && t.key.holds(f, dims) {
		if lo, hi, ok := l.Changed(st.labRev); ok {
			gl.ActiveTexture(gl.TEXTURE0 + unitLabels)
			gl.BindTexture(gl.TEXTURE_3D, t.id)
			if err := t.uploadBox(dims, f, lo, hi); err != nil {
				return err
			}
			st.labRev, t.key.gen = l.Revision, labGen
			return nil
		}
		t.key = texKey{} // changed, but no longer known where: all again
	}
	if err := t.upload(unitLabels, dims, f, labGen); err != nil {
		return err
	}
	st.labRev, st.labRevOK, st.labVol = l.Revision, l.Changed != nil, gen
	return nil
}

func (st *state) render(dst *image.RGBA, p render.Plane, v *render.Volume, l *render.Labels, o render.Options, gen, labGen uint64) error {
	vf, err := formatOf(v.Voxels)
	if err != nil {
		return err
	}
	size := dst.Rect.Size()
	g, err := render.NewGrid(p, v, size.X, size.Y)
	if err != nil {
		return err
	}
	for a := 0; a < 3; a++ {
		if v.Dims[a] > int(st.max3D) {
			return fmt.Errorf("render/gl: volume %v exceeds the GPU's 3D texture size %d", v.Dims, st.max3D)
		}
	}
	if err := st.voxels.upload(unitVoxels, v.Dims, vf, gen); err != nil {
		return err
	}
	if l != nil {
		if err := st.uploadLabels(l, v.Dims, gen, labGen); err != nil {
			return err
		}
		st.setColors(l)
	}
	prog, err := st.resliceProgram(variant{vf.kind, o.Interp == render.Linear, l != nil})
	if err != nil {
		return err
	}
	t, err := st.target(size)
	if err != nil {
		return err
	}
	st.account()
	gl.Viewport(0, 0, int32(size.X), int32(size.Y))

	// Pass 1: the grey level and the label under each pixel.
	gl.BindFramebuffer(gl.FRAMEBUFFER, t.sliceFBO)
	gl.UseProgram(prog.id)
	st.setReslice(prog, &g, v, o)
	gl.DrawArrays(gl.TRIANGLES, 0, 3)

	// Pass 2: the label overlay, which needs the neighbours' labels.
	gl.BindFramebuffer(gl.FRAMEBUFFER, t.outFBO)
	gl.UseProgram(st.compose.id)
	gl.ActiveTexture(gl.TEXTURE0 + unitSlice)
	gl.BindTexture(gl.TEXTURE_2D, t.slice)
	c := st.compose
	gl.Uniform1i(c.loc("slice"), unitSlice)
	gl.Uniform1i(c.loc("colors"), unitColors)
	fill, outline, n, hatched := false, false, 0, uint8(0)
	if l != nil {
		fill, outline, n, hatched = l.Fill, l.Outline, st.nColors, l.Hatched
	}
	gl.Uniform1i(c.loc("fill"), boolInt(fill))
	gl.Uniform1i(c.loc("outline"), boolInt(outline))
	gl.Uniform1i(c.loc("nColors"), int32(n))
	gl.Uniform1ui(c.loc("hatched"), uint32(hatched))
	gl.Uniform1i(c.loc("hatchPeriod"), render.HatchPeriod)
	gl.Uniform1i(c.loc("hatchWidth"), render.HatchWidth)
	gl.DrawArrays(gl.TRIANGLES, 0, 3)

	// Framebuffer row y is image row y: nothing to flip.
	gl.PixelStorei(gl.PACK_ALIGNMENT, 4)
	gl.PixelStorei(gl.PACK_ROW_LENGTH, int32(dst.Stride/4))
	gl.ReadPixels(0, 0, int32(size.X), int32(size.Y), gl.RGBA, gl.UNSIGNED_BYTE, gl.Ptr(&dst.Pix[0]))
	return checkError("drawing")
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// setReslice passes the grid, the volume's size and the window to the
// reslicing program.
func (st *state) setReslice(prog *program, g *render.Grid, v *render.Volume, o render.Options) {
	gl.Uniform3i(prog.loc("origin"), g.O[0], g.O[1], g.O[2])
	gl.Uniform3i(prog.loc("stepX"), g.U[0], g.U[1], g.U[2])
	gl.Uniform3i(prog.loc("stepY"), g.V[0], g.V[1], g.V[2])
	gl.Uniform1i(prog.loc("frac"), int32(g.Frac))
	lo, scale := o.Center-o.Width/2, 255/o.Width
	gl.Uniform2f(prog.loc("win"), float32(v.Slope*scale), float32((v.Intercept-lo)*scale))
	gl.Uniform3i(prog.loc("dims"), int32(v.Dims[0]), int32(v.Dims[1]), int32(v.Dims[2]))
	gl.Uniform1i(prog.loc("voxels"), unitVoxels)
	gl.Uniform1i(prog.loc("labels"), unitLabels)
}

// setColors uploads the colour table when it changed.
func (st *state) setColors(l *render.Labels) {
	pal := make([]uint8, 256*4)
	n := min(len(l.Colors), 256)
	for i, c := range l.Colors[:n] {
		pal[4*i], pal[4*i+1], pal[4*i+2], pal[4*i+3] = c.R, c.G, c.B, c.A
	}
	st.nColors = n
	if bytes.Equal(pal, st.palette) {
		return
	}
	st.palette = pal
	gl.ActiveTexture(gl.TEXTURE0 + unitColors)
	gl.BindTexture(gl.TEXTURE_2D, st.colors)
	gl.TexSubImage2D(gl.TEXTURE_2D, 0, 0, 0, 256, 1, gl.RGBA_INTEGER, gl.UNSIGNED_BYTE, gl.Ptr(st.palette))
}

// variant is what a reslicing program is compiled for.
type variant struct {
	kind           voxelKind
	linear, labels bool
}

// resliceProgram compiles each variant when it is first drawn.
func (st *state) resliceProgram(v variant) (*program, error) {
	if p := st.reslice[v]; p != nil {
		return p, nil
	}
	defs := header + "#define VOXELS " + v.kind.sampler() + "\n"
	if v.linear {
		defs += "#define LINEAR\n"
	}
	if v.labels {
		defs += "#define LABELS\n"
	}
	p, err := newProgram(defs, resliceShader)
	if err != nil {
		return nil, err
	}
	st.reslice[v] = p
	return p, nil
}

// target is the pair of framebuffers one output size is drawn through.
type target struct {
	size             image.Point
	slice, out       uint32 // textures: RG8UI grey+label, RGBA8 colour
	sliceFBO, outFBO uint32
}

func (t *target) bytes() int64 { return int64(t.size.X*t.size.Y) * (2 + 4) }

func (t *target) free() {
	gl.DeleteFramebuffers(1, &t.sliceFBO)
	gl.DeleteFramebuffers(1, &t.outFBO)
	gl.DeleteTextures(1, &t.slice)
	gl.DeleteTextures(1, &t.out)
}

func (st *state) target(size image.Point) (*target, error) {
	if t := st.targets[size]; t != nil {
		return t, nil
	}
	if len(st.targets) >= maxTargets {
		for k, t := range st.targets {
			t.free()
			delete(st.targets, k)
		}
	}
	t := &target{size: size}
	var err error
	if t.slice, t.sliceFBO, err = colorTarget(size, gl.RG8UI, gl.RG_INTEGER); err == nil {
		t.out, t.outFBO, err = colorTarget(size, gl.RGBA8, gl.RGBA)
	}
	if err != nil {
		t.free()
		return nil, err
	}
	st.targets[size] = t
	return t, nil
}

func colorTarget(size image.Point, internal int32, format uint32) (tex, fbo uint32, err error) {
	gl.GenTextures(1, &tex)
	gl.ActiveTexture(gl.TEXTURE0 + unitSlice)
	gl.BindTexture(gl.TEXTURE_2D, tex)
	setNearest(gl.TEXTURE_2D)
	gl.TexImage2D(gl.TEXTURE_2D, 0, internal, int32(size.X), int32(size.Y), 0, format, gl.UNSIGNED_BYTE, nil)
	gl.GenFramebuffers(1, &fbo)
	gl.BindFramebuffer(gl.FRAMEBUFFER, fbo)
	gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0)
	if s := gl.CheckFramebufferStatus(gl.FRAMEBUFFER); s != gl.FRAMEBUFFER_COMPLETE {
		return tex, fbo, fmt.Errorf("render/gl: %v framebuffer incomplete (status 0x%x)", size, s)
	}
	return tex, fbo, checkError("framebuffer")
}

// setNearest makes the bound texture complete without mipmaps; integer
// textures cannot be filtered anyway, and the shaders interpolate themselves.
func setNearest(target uint32) {
	gl.TexParameteri(target, gl.TEXTURE_MIN_FILTER, gl.NEAREST)
	gl.TexParameteri(target, gl.TEXTURE_MAG_FILTER, gl.NEAREST)
	gl.TexParameteri(target, gl.TEXTURE_MAX_LEVEL, 0)
}

func checkError(what string) error {
	if e := gl.GetError(); e != gl.NO_ERROR {
		var names []string
		for ; e != gl.NO_ERROR; e = gl.GetError() {
			names = append(names, glErrorName(e))
		}
		return fmt.Errorf("render/gl: %s: %s", what, strings.Join(names, ", "))
	}
	return nil
}

func glErrorName(e uint32) string {
	switch e {
	case gl.OUT_OF_MEMORY:
		return "out of GPU memory"
	case gl.INVALID_ENUM:
		return "GL_INVALID_ENUM"
	case gl.INVALID_VALUE:
		return "GL_INVALID_VALUE"
	case gl.INVALID_OPERATION:
		return "GL_INVALID_OPERATION"
	case gl.INVALID_FRAMEBUFFER_OPERATION:
		return "GL_INVALID_FRAMEBUFFER_OPERATION"
	}
	return fmt.Sprintf("GL error 0x%x", e)
}
