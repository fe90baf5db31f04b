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
// label under it. The voxel index is render.Grid's fixed point, evaluated in
// exact integer arithmetic as render/cpu does, so both pick the same voxels;
// the interpolation and window arithmetic are single precision, within a
// grey level of render/cpu's.
// LINEAR and LABELS are compile-time choices: llvmpipe runs both sides of a
// branch on a uniform, which doubled the cost of a frame.
const resliceShader = `
uniform VOXELS voxels;
uniform usampler3D labels;
uniform ivec3 dims;
// render.Grid: pixel (x, y) has the index (origin + stepX*x + stepY*y) / 2^frac.
uniform ivec3 origin, stepX, stepY;
uniform int frac;
// The window as a function of the stored value: grey = stored*win.x + win.y.
uniform vec2 win;

layout(location = 0) out uvec2 result; // grey level, label

float voxel(ivec3 p) { return float(texelFetch(voxels, p, 0).r); }

uint gray(float stored) {
	float g = stored * win.x + win.y;
	if (isnan(g) || g <= 0.0) return 0u;
	if (g >= 255.0) return 255u;
	return uint(g + 0.5);
}

void main() {
	ivec2 px = ivec2(gl_FragCoord.xy);
	ivec3 f = origin + stepX * px.x + stepY * px.y;
	// Nearest: the voxel whose cell holds the index.
	ivec3 n = (f + (1 << (frac - 1))) >> frac;
	bool inside = all(greaterThanEqual(n, ivec3(0))) && all(lessThan(n, dims));

	uint g = 0u;
	if (inside) {
#ifdef LINEAR
		// Within half a voxel outside the grid the edge value holds.
		ivec3 fc = clamp(f, ivec3(0), (dims - 1) << frac);
		ivec3 b = min(fc >> frac, max(dims - 2, ivec3(0)));
		vec3 t = vec3(fc - (b << frac)) * exp2(-float(frac));
		ivec3 d = ivec3(greaterThan(dims, ivec3(1))); // no step on a one-voxel axis
		float c00 = mix(voxel(b), voxel(b + ivec3(d.x, 0, 0)), t.x);
		float c10 = mix(voxel(b + ivec3(0, d.y, 0)), voxel(b + ivec3(d.x, d.y, 0)), t.x);
		float c01 = mix(voxel(b + ivec3(0, 0, d.z)), voxel(b + ivec3(d.x, 0, d.z)), t.x);
		float c11 = mix(voxel(b + ivec3(0, d.y, d.z)), voxel(b + d), t.x);
		g = gray(mix(mix(c00, c10, t.y), mix(c01, c11, t.y), t.z));
#else
		g = gray(voxel(n));
#endif
	}
	uint label = 0u;
#ifdef LABELS
	if (inside) {
		label = texelFetch(labels, n, 0).r;
	}
#endif
	result = uvec2(g, label);
}
`

// composeShader lays the label overlay on the grey image as render/cpu's
// overlay does: a tint of each segment's colour and opacity, and opaque
// outlines where a 4-neighbour in the output has another label, and the
// stripes of the hatched label (render.Hatch).
const composeShader = `
uniform usampler2D slice; // grey level, label
uniform usampler2D colors;
uniform bool fill, outline;
uniform int nColors;
uniform uint hatched;
uniform int hatchPeriod, hatchWidth;

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
			bool stripe = v == hatched && ((p.x + p.y) & (hatchPeriod - 1)) < hatchWidth;
			if (edge || stripe) {
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
	return linkProgram(header, fullScreenShader, fragment)
}

// linkProgram compiles a vertex and a fragment source, each after header,
// and links them.
func linkProgram(header, vertex, fragment string) (*program, error) {
	vs, err := compile(gl.VERTEX_SHADER, header+vertex)
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
