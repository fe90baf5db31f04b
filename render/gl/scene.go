package gl

import (
	"fmt"
	"image"
	"math"
	"sort"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/segvolapp/segvol/render"
)

var _ render.SceneRenderer = (*Renderer)(nil)

// RenderScene implements render.SceneRenderer in the order render/cpu
// draws: opaque surfaces and the slice planes with a depth buffer, the
// volume ray cast in front of them from the 3D texture the slices use (no
// second copy of the volume), translucent surfaces back to front, the
// cursor.
func (r *Renderer) RenderScene(dst *image.RGBA, s *render.Scene, c render.Camera) error {
	if err := render.CheckScene(dst, s, c); err != nil {
		return err
	}
	return r.draw(dst, func(st *state, gen, labGen uint64) error { return st.renderScene(dst, s, c, gen, labGen) })
}

// sceneState is what the 3D scene keeps on the GPU.
type sceneState struct {
	mesh        *program
	plane, cast map[voxelKind]*program
	vao         uint32
	meshes      map[uint8]*meshBuf // by label
	scratch     uint32             // a buffer for per-frame vertices: planes, cursor, translucent triangles
	transfer    uint32
	transferKey transferKey
	tgt         *sceneTarget
	// The volume's render.Blocks as an RG32F texture (largest value,
	// transparent under the transfer of blocksFor), and which volume.
	blocks    *render.Blocks
	blocksTex uint32
	blocksVol texKey
	blocksFor transferKey
}

type transferKey struct {
	preset        render.Preset
	center, width float64
}

// meshBuf is one surface's vertex and index buffers and what they hold.
type meshBuf struct {
	pos, nrm, idx uint32
	count         int32 // indices
	rev           uint64
	first         *float32 // Positions' first element and length: another slice is another mesh
	n             int
	normals       bool
	lo, hi        [3]float64
}

func (m *meshBuf) bytes() int64 {
	b := int64(m.n)*4 + int64(m.count)*4
	if m.normals {
		b += int64(m.n) * 4
	}
	return b
}

func (m *meshBuf) free() {
	gl.DeleteBuffers(1, &m.pos)
	gl.DeleteBuffers(1, &m.nrm)
	gl.DeleteBuffers(1, &m.idx)
}

// sceneTarget is the framebuffer a 3D frame is drawn in: colour, the view
// depth (read by the ray caster) and a depth buffer; castFBO has the colour
// alone, for the ray caster to blend into while it reads the view depth.
type sceneTarget struct {
	size                  image.Point
	color, depth, depthRB uint32
	fbo, castFBO          uint32
}

func (t *sceneTarget) free() {
	gl.DeleteFramebuffers(1, &t.fbo)
	gl.DeleteFramebuffers(1, &t.castFBO)
	gl.DeleteRenderbuffers(1, &t.depthRB)
	gl.DeleteTextures(1, &t.color)
	gl.DeleteTextures(1, &t.depth)
}

func (s *sceneState) bytes() int64 {
	var n int64
	for _, m := range s.meshes {
		n += m.bytes()
	}
	if s.tgt != nil {
		n += int64(s.tgt.size.X*s.tgt.size.Y) * (4 + 4 + 4)
	}
	if s.transfer != 0 {
		n += render.TransferSize * 16
	}
	if s.blocks != nil {
		n += int64(len(s.blocks.Max)) * 8
	}
	return n
}

func (s *sceneState) free() {
	if s.mesh != nil {
		s.mesh.delete()
	}
	for _, ps := range []map[voxelKind]*program{s.plane, s.cast} {
		for _, p := range ps {
			p.delete()
		}
	}
	for _, m := range s.meshes {
		m.free()
	}
	if s.tgt != nil {
		s.tgt.free()
	}
	gl.DeleteBuffers(1, &s.scratch)
	gl.DeleteTextures(1, &s.transfer)
	gl.DeleteTextures(1, &s.blocksTex)
	gl.DeleteVertexArrays(1, &s.vao)
	*s = sceneState{}
}

// prepare compiles the programs and makes the buffers on first use.
func (s *sceneState) prepare() error {
	if s.mesh != nil {
		return nil
	}
	var err error
	if s.mesh, err = linkProgram(header, meshVertexShader, meshShader); err != nil {
		return err
	}
	s.plane, s.cast, s.meshes = map[voxelKind]*program{}, map[voxelKind]*program{}, map[uint8]*meshBuf{}
	gl.GenVertexArrays(1, &s.vao)
	gl.GenBuffers(1, &s.scratch)
	gl.GenTextures(1, &s.transfer)
	gl.ActiveTexture(gl.TEXTURE0 + unitTransfer)
	gl.BindTexture(gl.TEXTURE_2D, s.transfer)
	setNearest(gl.TEXTURE_2D)
	gl.TexImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, render.TransferSize, 1, 0, gl.RGBA, gl.FLOAT, nil)
	return checkError("3D scene set-up")
}

// volumeProgram compiles the plane or ray casting program for a voxel kind.
func (s *sceneState) volumeProgram(cache map[voxelKind]*program, k voxelKind, vertex, fragment string) (*program, error) {
	if p := cache[k]; p != nil {
		return p, nil
	}
	defs := header + "#define VOXELS " + k.sampler() + "\n" + fmt.Sprintf("#define TRANSFER_SIZE %d\n", render.TransferSize)
	p, err := linkProgram(defs, vertex, fragment)
	if err != nil {
		return nil, err
	}
	cache[k] = p
	return p, nil
}

func (s *sceneState) target(size image.Point) (*sceneTarget, error) {
	if s.tgt != nil && s.tgt.size == size {
		return s.tgt, nil
	}
	if s.tgt != nil {
		s.tgt.free()
		s.tgt = nil
	}
	t := &sceneTarget{size: size}
	var err error
	if t.color, t.fbo, err = colorTarget(size, gl.RGBA8, gl.RGBA); err != nil {
		t.free()
		return nil, err
	}
	gl.GenTextures(1, &t.depth)
	gl.ActiveTexture(gl.TEXTURE0 + unitDepth)
	gl.BindTexture(gl.TEXTURE_2D, t.depth)
	setNearest(gl.TEXTURE_2D)
	gl.TexImage2D(gl.TEXTURE_2D, 0, gl.R32F, int32(size.X), int32(size.Y), 0, gl.RED, gl.FLOAT, nil)
	gl.GenRenderbuffers(1, &t.depthRB)
	gl.BindRenderbuffer(gl.RENDERBUFFER, t.depthRB)
	gl.RenderbufferStorage(gl.RENDERBUFFER, gl.DEPTH_COMPONENT32F, int32(size.X), int32(size.Y))
	gl.BindFramebuffer(gl.FRAMEBUFFER, t.fbo)
	gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT1, gl.TEXTURE_2D, t.depth, 0)
	gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.RENDERBUFFER, t.depthRB)
	if st := gl.CheckFramebufferStatus(gl.FRAMEBUFFER); st != gl.FRAMEBUFFER_COMPLETE {
		t.free()
		return nil, fmt.Errorf("render/gl: %v 3D framebuffer incomplete (status 0x%x)", size, st)
	}
	gl.GenFramebuffers(1, &t.castFBO)
	gl.BindFramebuffer(gl.FRAMEBUFFER, t.castFBO)
	gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t.color, 0)
	if err := checkError("3D framebuffer"); err != nil {
		t.free()
		return nil, err
	}
	s.tgt = t
	return t, nil
}

// syncMeshes uploads the surfaces whose content changed and drops those
// gone from the scene.
func (s *sceneState) syncMeshes(surfaces []render.Surface) error {
	seen := map[uint8]bool{}
	for i := range surfaces {
		m := &surfaces[i]
		seen[m.Label] = true
		var first *float32
		if len(m.Positions) > 0 {
			first = &m.Positions[0]
		}
		b := s.meshes[m.Label]
		if b != nil && b.rev == m.Revision && b.first == first && b.n == len(m.Positions) {
			continue
		}
		if b != nil {
			b.free()
		}
		b = &meshBuf{rev: m.Revision, first: first, n: len(m.Positions), normals: m.Normals != nil, count: int32(len(m.Indices))}
		b.lo, b.hi = boundsOf(m.Positions)
		gl.GenBuffers(1, &b.pos)
		bufferData(gl.ARRAY_BUFFER, b.pos, m.Positions)
		if b.normals {
			gl.GenBuffers(1, &b.nrm)
			bufferData(gl.ARRAY_BUFFER, b.nrm, m.Normals)
		}
		gl.GenBuffers(1, &b.idx)
		bufferData(gl.ELEMENT_ARRAY_BUFFER, b.idx, m.Indices)
		s.meshes[m.Label] = b
		if err := checkError(fmt.Sprintf("uploading the surface of label %d", m.Label)); err != nil {
			b.free()
			delete(s.meshes, m.Label)
			return err
		}
	}
	for l, b := range s.meshes {
		if !seen[l] {
			b.free()
			delete(s.meshes, l)
		}
	}
	return nil
}

func bufferData[T float32 | uint32](target, id uint32, data []T) {
	gl.BindBuffer(target, id)
	if len(data) == 0 {
		gl.BufferData(target, 0, nil, gl.STATIC_DRAW)
		return
	}
	gl.BufferData(target, len(data)*4, unsafe.Pointer(&data[0]), gl.STATIC_DRAW)
}

func boundsOf(p []float32) (lo, hi [3]float64) {
	lo = [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi = [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for i := 0; i+2 < len(p); i += 3 {
		for a := range 3 {
			lo[a], hi[a] = min(lo[a], float64(p[i+a])), max(hi[a], float64(p[i+a]))
		}
	}
	return lo, hi
}

// clipMatrix is the camera's projection as a row-major 4x4 matrix from
// patient space to clip space, with image row 0 at the framebuffer's first
// row (so the read-back needs no flip) and depth from near to far along
// forward.
func clipMatrix(p *render.Projection, c render.Camera, w, h int, near, far float64) [16]float32 {
	r, u, f, e := c.Right(), c.Up, c.Forward, p.Eye()
	kx, ky := 2/(p.Scale()*float64(w)), 2/(p.Scale()*float64(h))
	if p.Perspective() {
		kx, ky = kx*p.Distance(), ky*p.Distance()
	}
	row := func(v [3]float64, k float64) [4]float64 {
		return [4]float64{v[0] * k, v[1] * k, v[2] * k, -(v[0]*e[0] + v[1]*e[1] + v[2]*e[2]) * k}
	}
	var m [4][4]float64
	m[0] = row(r, kx)
	m[1] = row(u, -ky)
	if p.Perspective() {
		a, b := (far+near)/(far-near), -2*far*near/(far-near)
		m[2] = row(f, a)
		m[2][3] += b
		m[3] = row(f, 1)
	} else {
		m[2] = row(f, 2/(far-near))
		m[2][3] -= (far + near) / (far - near)
		m[3] = [4]float64{0, 0, 0, 1}
	}
	var out [16]float32
	for i := range 4 {
		for j := range 4 {
			out[4*i+j] = float32(m[i][j])
		}
	}
	return out
}

func (st *state) renderScene(dst *image.RGBA, sc *render.Scene, c render.Camera, gen, labGen uint64) error {
	s := &st.scene
	if err := s.prepare(); err != nil {
		return err
	}
	size := dst.Rect.Size()
	t, err := s.target(size)
	if err != nil {
		return err
	}
	if err := s.syncMeshes(sc.Surfaces); err != nil {
		return err
	}
	p := render.NewProjection(c, size.X, size.Y)

	// The depth range holds everything drawn: the surfaces, the volume's
	// box and the cursor, as a sphere about the camera's centre.
	radius := 1.0
	grow := func(lo, hi [3]float64) {
		for n := range 8 {
			d := 0.0
			for a := range 3 {
				v := lo[a]
				if n>>a&1 == 1 {
					v = hi[a]
				}
				d += (v - c.Center[a]) * (v - c.Center[a])
			}
			radius = max(radius, math.Sqrt(d))
		}
	}
	for _, m := range s.meshes {
		if m.n > 0 {
			grow(m.lo, m.hi)
		}
	}
	var vf texFormat
	if sc.Volume != nil {
		lo, hi, err := render.Bounds(sc.Volume)
		if err != nil {
			return err
		}
		grow(lo, hi)
		if vf, err = formatOf(sc.Volume.Voxels); err != nil {
			return err
		}
		for a := range 3 {
			if sc.Volume.Dims[a] > int(st.max3D) {
				return fmt.Errorf("render/gl: volume %v exceeds the GPU's 3D texture size %d", sc.Volume.Dims, st.max3D)
			}
		}
		if err := st.voxels.upload(unitVoxels, sc.Volume.Dims, vf, gen); err != nil {
			return err
		}
	}
	if sc.ShowCursor {
		grow(sc.Cursor, sc.Cursor)
	}
	radius *= 1.01
	near, far := -radius, radius
	if c.Perspective {
		d := p.Distance()
		near, far = max(d-radius, d*1e-3), d+radius
	}
	clip := clipMatrix(&p, c, size.X, size.Y, near, far)
	eye := p.Eye()

	gl.Viewport(0, 0, int32(size.X), int32(size.Y))
	gl.BindFramebuffer(gl.FRAMEBUFFER, t.fbo)
	bufs := []uint32{gl.COLOR_ATTACHMENT0, gl.COLOR_ATTACHMENT1}
	gl.DrawBuffers(2, &bufs[0])
	bg := render.Background
	clearColor := [4]float32{float32(bg.R) / 255, float32(bg.G) / 255, float32(bg.B) / 255, 1}
	gl.ClearBufferfv(gl.COLOR, 0, &clearColor[0])
	farDepth := [4]float32{1e30, 0, 0, 0}
	gl.ClearBufferfv(gl.COLOR, 1, &farDepth[0])
	gl.ClearDepth(1)
	gl.Clear(gl.DEPTH_BUFFER_BIT)
	gl.Enable(gl.DEPTH_TEST)
	gl.DepthFunc(gl.LESS)
	gl.DepthMask(true)
	gl.Disable(gl.BLEND)
	gl.BindVertexArray(s.vao)

	mp := s.mesh
	gl.UseProgram(mp.id)
	gl.UniformMatrix4fv(mp.loc("clip"), 1, true, &clip[0])
	gl.Uniform3f(mp.loc("eye"), float32(eye[0]), float32(eye[1]), float32(eye[2]))
	gl.Uniform3f(mp.loc("forward"), float32(c.Forward[0]), float32(c.Forward[1]), float32(c.Forward[2]))
	gl.Uniform1i(mp.loc("unlit"), 0)
	gl.Uniform1i(mp.loc("vertexColors"), 0)
	var translucent []*render.Surface
	for i := range sc.Surfaces {
		m := &sc.Surfaces[i]
		switch {
		case m.Color.A == 255:
			b := s.meshes[m.Label]
			gl.Uniform4f(mp.loc("color"), float32(m.Color.R)/255, float32(m.Color.G)/255, float32(m.Color.B)/255, 1)
			gl.Uniform1i(mp.loc("faceNormals"), boolInt(!b.normals))
			attrib(0, b.pos, 3)
			if b.normals {
				attrib(1, b.nrm, 3)
			} else {
				gl.DisableVertexAttribArray(1)
			}
			gl.BindBuffer(gl.ELEMENT_ARRAY_BUFFER, b.idx)
			gl.DrawElements(gl.TRIANGLES, b.count, gl.UNSIGNED_INT, nil)
		case m.Color.A > 0:
			translucent = append(translucent, m)
		}
	}
	gl.DisableVertexAttribArray(1)

	if sc.Volume != nil && sc.Planes {
		if err := st.drawPlanes(sc, vf, clip, eye, c.Forward, gen, labGen); err != nil {
			return err
		}
	}
	if sc.Volume != nil && sc.Preset != render.NoVolume {
		if err := st.castVolume(t, sc, vf, &p, c); err != nil {
			return err
		}
	}
	if len(translucent) > 0 {
		st.drawTranslucent(translucent, &p)
	}
	if sc.ShowCursor {
		st.drawCursor(sc.Cursor, c)
	}
	gl.Disable(gl.DEPTH_TEST)
	gl.Disable(gl.BLEND)
	gl.BindVertexArray(st.vao)

	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, t.fbo)
	gl.ReadBuffer(gl.COLOR_ATTACHMENT0)
	gl.PixelStorei(gl.PACK_ALIGNMENT, 4)
	gl.PixelStorei(gl.PACK_ROW_LENGTH, int32(dst.Stride/4))
	gl.ReadPixels(0, 0, int32(size.X), int32(size.Y), gl.RGBA, gl.UNSIGNED_BYTE, gl.Ptr(&dst.Pix[0]))
	st.account()
	return checkError("drawing the 3D scene")
}

// attrib points vertex attribute loc at buffer id, n floats a vertex.
func attrib(loc, id uint32, n int32) {
	gl.BindBuffer(gl.ARRAY_BUFFER, id)
	gl.EnableVertexAttribArray(loc)
	gl.VertexAttribPointerWithOffset(loc, n, gl.FLOAT, false, 0, 0)
}

// scratchData fills the scratch buffer with per-frame vertices.
func (s *sceneState) scratchData(v []float32) {
	gl.BindBuffer(gl.ARRAY_BUFFER, s.scratch)
	gl.BufferData(gl.ARRAY_BUFFER, len(v)*4, unsafe.Pointer(&v[0]), gl.STREAM_DRAW)
}

// drawPlanes draws the axial, coronal and sagittal planes through the
// cursor as quads over the volume's box; the shader keeps what cuts the
// voxels.
func (st *state) drawPlanes(sc *render.Scene, vf texFormat, clip [16]float32, eye, forward [3]float64, gen, labGen uint64) error {
	s := &st.scene
	v := sc.Volume
	prog, err := s.volumeProgram(s.plane, vf.kind, meshVertexShader, planeShader)
	if err != nil {
		return err
	}
	tint := sc.Labels != nil && sc.Labels.Fill
	if tint {
		if err := st.uploadLabels(sc.Labels, v.Dims, gen, labGen); err != nil {
			return err
		}
		st.setColors(sc.Labels)
	}
	lo, hi, _ := render.Bounds(v)
	var quads []float32
	for a := range 3 {
		b, c := (a+1)%3, (a+2)%3
		corner := func(x, y float64) {
			var q [3]float64
			q[a], q[b], q[c] = sc.Cursor[a], x, y
			quads = append(quads, float32(q[0]), float32(q[1]), float32(q[2]))
		}
		corner(lo[b], lo[c])
		corner(hi[b], lo[c])
		corner(hi[b], hi[c])
		corner(lo[b], lo[c])
		corner(hi[b], hi[c])
		corner(lo[b], hi[c])
	}
	gl.UseProgram(prog.id)
	gl.UniformMatrix4fv(prog.loc("clip"), 1, true, &clip[0])
	gl.Uniform3f(prog.loc("eye"), float32(eye[0]), float32(eye[1]), float32(eye[2]))
	gl.Uniform3f(prog.loc("forward"), float32(forward[0]), float32(forward[1]), float32(forward[2]))
	o := sc.Window
	gl.Uniform2f(prog.loc("win"), float32(255/o.Width), float32(-(o.Center-o.Width/2)*255/o.Width))
	gl.Uniform1i(prog.loc("tint"), boolInt(tint))
	gl.Uniform1i(prog.loc("labels"), unitLabels)
	gl.Uniform1i(prog.loc("colors"), unitColors)
	gl.Uniform1i(prog.loc("nColors"), int32(st.nColors))
	setVolumeUniforms(prog, v)
	s.scratchData(quads)
	attrib(0, s.scratch, 3)
	gl.DrawArrays(gl.TRIANGLES, 0, int32(len(quads)/3))
	return nil
}

// setVolumeUniforms passes volumeCommon's uniforms.
func setVolumeUniforms(prog *program, v *render.Volume) {
	gl.Uniform1i(prog.loc("voxels"), unitVoxels)
	gl.Uniform3i(prog.loc("dims"), int32(v.Dims[0]), int32(v.Dims[1]), int32(v.Dims[2]))
	var m [9]float32
	for r := range 3 {
		for c := range 3 {
			m[3*r+c] = float32(v.WorldToIndex[r][c])
		}
	}
	gl.UniformMatrix3fv(prog.loc("w2i"), 1, true, &m[0])
	w := v.WorldToIndex
	gl.Uniform3f(prog.loc("w2iOff"), float32(w[0][3]), float32(w[1][3]), float32(w[2][3]))
	gl.Uniform2f(prog.loc("rescale"), float32(v.Slope), float32(v.Intercept))
}

// castVolume blends the ray cast volume into the colour, in front of the
// view depth drawn so far.
func (st *state) castVolume(t *sceneTarget, sc *render.Scene, vf texFormat, p *render.Projection, c render.Camera) error {
	s := &st.scene
	prog, err := s.volumeProgram(s.cast, vf.kind, fullScreenShader, volumeShader)
	if err != nil {
		return err
	}
	tf := render.NewTransfer(sc.Preset, sc.Window)
	key := transferKey{sc.Preset, sc.Window.Center, sc.Window.Width}
	gl.ActiveTexture(gl.TEXTURE0 + unitTransfer)
	gl.BindTexture(gl.TEXTURE_2D, s.transfer)
	if key != s.transferKey {
		gl.TexSubImage2D(gl.TEXTURE_2D, 0, 0, 0, render.TransferSize, 1, gl.RGBA, gl.FLOAT, gl.Ptr(tf.RGBA))
		s.transferKey = key
	}
	if err := s.syncBlocks(sc.Volume, vf, &tf, key, st.voxels.key.gen); err != nil {
		return err
	}
	gl.ActiveTexture(gl.TEXTURE0 + unitDepth)
	gl.BindTexture(gl.TEXTURE_2D, t.depth)
	gl.BindFramebuffer(gl.FRAMEBUFFER, t.castFBO)
	gl.Disable(gl.DEPTH_TEST)
	gl.Enable(gl.BLEND)
	if sc.Preset == render.MIP {
		gl.BlendEquation(gl.MAX)
	} else {
		gl.BlendEquation(gl.FUNC_ADD)
		gl.BlendFuncSeparate(gl.ONE, gl.ONE_MINUS_SRC_ALPHA, gl.ZERO, gl.ONE)
	}
	gl.UseProgram(prog.id)
	setVolumeUniforms(prog, sc.Volume)
	v3 := func(name string, v [3]float64) {
		gl.Uniform3f(prog.loc(name), float32(v[0]), float32(v[1]), float32(v[2]))
	}
	v3("center", c.Center)
	v3("right", c.Right())
	v3("up", c.Up)
	v3("forward", c.Forward)
	v3("eye", p.Eye())
	gl.Uniform1f(prog.loc("scale"), float32(p.Scale()))
	gl.Uniform2f(prog.loc("halfSize"), float32(t.size.X)/2, float32(t.size.Y)/2)
	gl.Uniform1i(prog.loc("persp"), boolInt(c.Perspective))
	gl.Uniform1i(prog.loc("mip"), boolInt(sc.Preset == render.MIP))
	gl.Uniform1i(prog.loc("shade"), boolInt(tf.Shade))
	gl.Uniform1i(prog.loc("depths"), unitDepth)
	gl.Uniform1i(prog.loc("transfer"), unitTransfer)
	gl.Uniform2f(prog.loc("transferRange"), float32(tf.Lo), float32(tf.Hi))
	gl.Uniform1f(prog.loc("stepMM"), float32(render.SampleStep(sc.Volume)))
	gl.Uniform1i(prog.loc("blocks"), unitBlocks)
	gl.Uniform3i(prog.loc("blockDims"), int32(s.blocks.Dims[0]), int32(s.blocks.Dims[1]), int32(s.blocks.Dims[2]))
	gl.BindVertexArray(st.vao)
	gl.DrawArrays(gl.TRIANGLES, 0, 3)
	gl.BlendEquation(gl.FUNC_ADD)
	gl.Disable(gl.BLEND)
	gl.Enable(gl.DEPTH_TEST)
	gl.BindVertexArray(s.vao)
	gl.BindFramebuffer(gl.FRAMEBUFFER, t.fbo)
	return nil
}

// syncBlocks brings the blocks texture up to the volume (computing its
// blocks once) and the transfer, and leaves it bound.
func (s *sceneState) syncBlocks(v *render.Volume, vf texFormat, tf *render.Transfer, key transferKey, gen uint64) error {
	vol := texKey{vf.first, vf.n, vf.internal, v.Dims, gen}
	gl.ActiveTexture(gl.TEXTURE0 + unitBlocks)
	if s.blocksTex != 0 && s.blocksVol == vol && s.blocksFor == key {
		gl.BindTexture(gl.TEXTURE_3D, s.blocksTex)
		return nil
	}
	if s.blocks == nil || s.blocksVol != vol {
		b := render.NewBlocks(v)
		s.blocks = &b
	}
	b := s.blocks
	data := make([]float32, 2*len(b.Max))
	for i := range b.Max {
		data[2*i] = b.Max[i]
		if !tf.Visible(float64(b.Min[i]), float64(b.Max[i])) {
			data[2*i+1] = 1
		}
	}
	if s.blocksTex == 0 {
		gl.GenTextures(1, &s.blocksTex)
	}
	gl.BindTexture(gl.TEXTURE_3D, s.blocksTex)
	setNearest(gl.TEXTURE_3D)
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, 4)
	gl.TexImage3D(gl.TEXTURE_3D, 0, gl.RG32F, int32(b.Dims[0]), int32(b.Dims[1]), int32(b.Dims[2]), 0, gl.RG, gl.FLOAT, gl.Ptr(data))
	s.blocksVol, s.blocksFor = vol, key
	return checkError("uploading the volume's blocks")
}

// drawTranslucent blends the translucent surfaces' triangles, sorted back
// to front by their centroids' depth across all of them as render/cpu
// does, over what is drawn, without writing depth.
func (st *state) drawTranslucent(ms []*render.Surface, p *render.Projection) {
	type tri struct {
		m     *render.Surface
		first int
		depth float64
	}
	var tris []tri
	for _, m := range ms {
		for i := 0; i+2 < len(m.Indices); i += 3 {
			d := 0.0
			for k := range 3 {
				j := m.Indices[i+k]
				_, _, z := p.Project([3]float64{float64(m.Positions[3*j]), float64(m.Positions[3*j+1]), float64(m.Positions[3*j+2])})
				d += z / 3
			}
			tris = append(tris, tri{m, i, d})
		}
	}
	sort.SliceStable(tris, func(i, j int) bool { return tris[i].depth > tris[j].depth })
	// Interleaved position, normal and colour of each corner.
	v := make([]float32, 0, len(tris)*3*10)
	for _, tr := range tris {
		m := tr.m
		var fn [3]float32
		if m.Normals == nil {
			var c [3][3]float32
			for k := range 3 {
				j := m.Indices[tr.first+k]
				c[k] = [3]float32(m.Positions[3*j : 3*j+3])
			}
			a := [3]float32{c[1][0] - c[0][0], c[1][1] - c[0][1], c[1][2] - c[0][2]}
			b := [3]float32{c[2][0] - c[0][0], c[2][1] - c[0][1], c[2][2] - c[0][2]}
			fn = [3]float32{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
		}
		col := [4]float32{float32(m.Color.R) / 255, float32(m.Color.G) / 255, float32(m.Color.B) / 255, float32(m.Color.A) / 255}
		for k := range 3 {
			j := m.Indices[tr.first+k]
			v = append(v, m.Positions[3*j:3*j+3]...)
			if m.Normals != nil {
				v = append(v, m.Normals[3*j:3*j+3]...)
			} else {
				v = append(v, fn[:]...)
			}
			v = append(v, col[:]...)
		}
	}
	s := &st.scene
	bufs := []uint32{gl.COLOR_ATTACHMENT0, gl.NONE}
	gl.DrawBuffers(2, &bufs[0])
	gl.DepthMask(false)
	gl.Enable(gl.BLEND)
	gl.BlendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ZERO, gl.ONE)
	mp := s.mesh // its camera uniforms are set
	gl.UseProgram(mp.id)
	gl.Uniform1i(mp.loc("faceNormals"), 0)
	gl.Uniform1i(mp.loc("vertexColors"), 1)
	s.scratchData(v)
	const stride = 10 * 4
	for loc, n := range []int32{3, 3, 4} {
		gl.EnableVertexAttribArray(uint32(loc))
		gl.VertexAttribPointerWithOffset(uint32(loc), n, gl.FLOAT, false, stride, uintptr([]int{0, 12, 24}[loc]))
	}
	gl.DrawArrays(gl.TRIANGLES, 0, int32(len(v)/10))
	gl.DisableVertexAttribArray(1)
	gl.DisableVertexAttribArray(2)
	gl.Uniform1i(mp.loc("vertexColors"), 0)
	gl.Disable(gl.BLEND)
	gl.DepthMask(true)
	bufs[1] = gl.COLOR_ATTACHMENT1
	gl.DrawBuffers(2, &bufs[0])
}

// drawCursor draws the cursor's three axis-parallel lines, as long as
// render/cpu's, hidden behind what is opaque.
func (st *state) drawCursor(cur [3]float64, c render.Camera) {
	s := &st.scene
	half := c.Height / 40
	var v []float32
	for a := range 3 {
		lo, hi := cur, cur
		lo[a] -= half
		hi[a] += half
		v = append(v, float32(lo[0]), float32(lo[1]), float32(lo[2]), float32(hi[0]), float32(hi[1]), float32(hi[2]))
	}
	mp := s.mesh // its camera uniforms are set
	gl.UseProgram(mp.id)
	gl.Uniform1i(mp.loc("unlit"), 1)
	cc := render.CursorColor
	gl.Uniform4f(mp.loc("color"), float32(cc.R)/255, float32(cc.G)/255, float32(cc.B)/255, 1)
	gl.DepthFunc(gl.LEQUAL)
	s.scratchData(v)
	attrib(0, s.scratch, 3)
	gl.DrawArrays(gl.LINES, 0, 6)
	gl.DepthFunc(gl.LESS)
	gl.Uniform1i(mp.loc("unlit"), 0)
}
