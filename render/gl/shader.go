package gl

import (
	"fmt"
	"strings"

	"github.com/go-gl/gl/v3.3-core/gl"
)

// fullScreenShader draws one triangle that covers the viewport.
const fullScreenShader = `
void main() {
	gl_Position = vec4(float((gl_VertexID & 1) * 4 - 1), float((gl_VertexID >> 1) * 4 - 1), 0.0, 1.0);
}
`

// resliceShader computes, for each output pixel, its grey level and the
// label under it, with render/cpu's arithmetic in the same order and in double
// precision (precise forbids fused multiply-adds that Go does not do), so
// both pick the same voxels and round the same way.
// LINEAR and LABELS are compile-time choices: llvmpipe runs both sides of a
// branch on a uniform, which doubled the cost of a frame.
const resliceShader = `
#define real double
#define real3 dvec3
#define PRECISE precise
real R(uvec2 u) { return packDouble2x32(u); }

uniform VOXELS voxels;
uniform usampler3D labels;
uniform ivec3 dims;
// Reals as bits (see setReals): the plane's origin and row direction, the
// index step along a row, the world-to-index matrix by rows, and
// slope, intercept, window bottom and grey levels per unit.
uniform uvec2 origin[3], vdir[3], step[3], m[12], win[4];

layout(location = 0) out uvec2 result; // grey level, label

real voxel(ivec3 p) { return real(texelFetch(voxels, p, 0).r); }

real lerp(real a, real b, real t) {
	PRECISE real r = a + (b - a) * t;
	return r;
}

uint gray(real stored) {
	PRECISE real value = stored * R(win[0]) + R(win[1]);
	PRECISE real g = (value - R(win[2])) * R(win[3]);
	if (isnan(g) || g <= 0.0) return 0u;
	if (g >= 255.0) return 255u;
	return uint(g + 0.5);
}

void main() {
	ivec2 px = ivec2(gl_FragCoord.xy);
	real fx = real(px.x), fy = real(px.y);
	PRECISE real3 c = real3(R(origin[0]), R(origin[1]), R(origin[2])) + real3(R(vdir[0]), R(vdir[1]), R(vdir[2])) * fy;
	PRECISE real3 f;
	for (int a = 0; a < 3; a++) {
		PRECISE real start = R(m[4*a]) * c.x + R(m[4*a+1]) * c.y + R(m[4*a+2]) * c.z + R(m[4*a+3]);
		f[a] = start + R(step[a]) * fx;
	}
	// Nearest: voxel n covers [n-0.5, n+0.5).
	PRECISE real3 n = f + 0.5;
	bool inside = all(greaterThanEqual(n, real3(0.0))) && all(lessThan(n, real3(dims)));
	ivec3 ni = ivec3(n);

	uint g = 0u;
#ifdef LINEAR
	{
		// Within half a voxel outside the grid the edge value holds.
		if (all(greaterThanEqual(f, real3(-0.5))) && all(lessThan(f, real3(dims) - 0.5))) {
			real3 fc = max(real3(0.0), min(f, real3(dims - 1)));
			ivec3 b = ivec3(fc);
			b -= ivec3(equal(b, dims - 1)) * ivec3(greaterThan(b, ivec3(0)));
			PRECISE real3 t = fc - real3(b);
			ivec3 d = ivec3(greaterThan(dims, ivec3(1))); // no step on a one-voxel axis
			real c00 = lerp(voxel(b), voxel(b + ivec3(d.x, 0, 0)), t.x);
			real c10 = lerp(voxel(b + ivec3(0, d.y, 0)), voxel(b + ivec3(d.x, d.y, 0)), t.x);
			real c01 = lerp(voxel(b + ivec3(0, 0, d.z)), voxel(b + ivec3(d.x, 0, d.z)), t.x);
			real c11 = lerp(voxel(b + ivec3(0, d.y, d.z)), voxel(b + d), t.x);
			g = gray(lerp(lerp(c00, c10, t.y), lerp(c01, c11, t.y), t.z));
		}
	}
#else
	if (inside) {
		g = gray(voxel(ni));
	}
#endif
	uint label = 0u;
#ifdef LABELS
	if (inside) {
		label = texelFetch(labels, ni, 0).r;
	}
#endif
	result = uvec2(g, label);
}
`

// composeShader lays the label overlay on the grey image as render/cpu's
// overlay does: a tint of each segment's colour and opacity, and opaque
// outlines where a 4-neighbour in the output has another label.
const composeShader = `
uniform usampler2D slice; // grey level, label
uniform usampler2D colors;
uniform bool fill, outline;
uniform int nColors;

out vec4 color;

uint labelAt(ivec2 p) { return texelFetch(slice, p, 0).g; }

void main() {
	ivec2 p = ivec2(gl_FragCoord.xy);
	ivec2 last = textureSize(slice, 0) - 1;
	uvec2 s = texelFetch(slice, p, 0).rg;
	uvec3 q = uvec3(s.r);
	uint v = s.g;
	if (v != 0u && int(v) < nColors) {
		uvec4 c = texelFetch(colors, ivec2(int(v), 0), 0);
		if (c.a != 0u) {
			bool edge = outline && (p.x == 0 || p.y == 0 || p.x == last.x || p.y == last.y ||
				labelAt(p - ivec2(1, 0)) != v || labelAt(p + ivec2(1, 0)) != v ||
				labelAt(p - ivec2(0, 1)) != v || labelAt(p + ivec2(0, 1)) != v);
			if (edge) {
				q = c.rgb;
			} else if (fill) {
				q = (q * (255u - c.a) + c.rgb * c.a + 127u) / 255u;
			}
		}
	}
	color = vec4(vec3(q) / 255.0, 1.0);
}
`

// program is a linked vertex+fragment program and its uniform locations.
type program struct {
	id   uint32
	locs map[string]int32
}

func (p *program) loc(name string) int32 {
	if l, ok := p.locs[name]; ok {
		return l
	}
	l := gl.GetUniformLocation(p.id, gl.Str(name+"\x00"))
	p.locs[name] = l
	return l
}

func (p *program) delete() { gl.DeleteProgram(p.id) }

// newProgram compiles the full-screen vertex shader and fragment source,
// each after header (the GLSL version and defines), and links them.
func newProgram(header, fragment string) (*program, error) {
	vs, err := compile(gl.VERTEX_SHADER, header+fullScreenShader)
	if err != nil {
		return nil, err
	}
	defer gl.DeleteShader(vs)
	fs, err := compile(gl.FRAGMENT_SHADER, header+fragment)
	if err != nil {
		return nil, err
	}
	defer gl.DeleteShader(fs)
	id := gl.CreateProgram()
	gl.AttachShader(id, vs)
	gl.AttachShader(id, fs)
	gl.LinkProgram(id)
	var ok int32
	gl.GetProgramiv(id, gl.LINK_STATUS, &ok)
	if ok == gl.FALSE {
		msg := infoLog(id, gl.GetProgramiv, gl.GetProgramInfoLog)
		gl.DeleteProgram(id)
		return nil, fmt.Errorf("render/gl: linking shaders: %s", msg)
	}
	return &program{id: id, locs: map[string]int32{}}, nil
}

func compile(kind uint32, src string) (uint32, error) {
	id := gl.CreateShader(kind)
	csrc, free := gl.Strs(src + "\x00")
	gl.ShaderSource(id, 1, csrc, nil)
	free()
	gl.CompileShader(id)
	var ok int32
	gl.GetShaderiv(id, gl.COMPILE_STATUS, &ok)
	if ok == gl.FALSE {
		msg := infoLog(id, gl.GetShaderiv, gl.GetShaderInfoLog)
		gl.DeleteShader(id)
		return 0, fmt.Errorf("render/gl: compiling shader: %s", msg)
	}
	return id, nil
}

func infoLog(id uint32, get func(uint32, uint32, *int32), log func(uint32, int32, *int32, *uint8)) string {
	var n int32
	get(id, gl.INFO_LOG_LENGTH, &n)
	if n <= 0 {
		return "no log"
	}
	buf := make([]uint8, n)
	log(id, n, nil, &buf[0])
	return strings.TrimRight(string(buf), "\x00\n")
}
