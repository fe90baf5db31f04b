package gl

// The 3D scene's shaders follow render/cpu's scene renderer step by step
// (render.Projection's rays, render.Shade, render.Transfer, the sample
// lattice along each ray), in single precision, so that the two pictures
// agree but for rounding at edges.

// meshVertexShader places patient-space vertices (surfaces, the slice
// planes' quads, the cursor's lines) with the camera's matrix.
const meshVertexShader = `
layout(location = 0) in vec3 position;
layout(location = 1) in vec3 normal;
layout(location = 2) in vec4 vcolor; // translucent triangles, sorted, carry their colour
uniform mat4 clip; // patient space to clip space
out vec3 world;
out vec3 vnormal;
out vec4 fcolor;
void main() {
	world = position;
	vnormal = normal;
	fcolor = vcolor;
	gl_Position = clip * vec4(position, 1.0);
}
`

// meshShader shades a surface by its normals (or, without any, its face's)
// under a headlight, as render.Shade, and writes the view depth.
const meshShader = `
in vec3 world;
in vec3 vnormal;
in vec4 fcolor;
uniform vec3 eye, forward;
uniform vec4 color;
uniform bool faceNormals, unlit, vertexColors;
layout(location = 0) out vec4 outColor;
layout(location = 1) out float outDepth;
void main() {
	vec4 col = vertexColors ? fcolor : color;
	float shade = 1.0;
	if (!unlit) {
		vec3 n = faceNormals ? cross(dFdx(world), dFdy(world)) : vnormal;
		shade = 0.25 + 0.75 * abs(dot(normalize(n), forward));
	}
	outColor = vec4(col.rgb * shade, col.a);
	outDepth = dot(world - eye, forward);
}
`

// volumeCommon samples the volume texture (the slices' own) in patient
// space: trilinear between voxel centres, the edge value beyond them.
const volumeCommon = `
uniform VOXELS voxels;
uniform ivec3 dims;
uniform mat3 w2i;    // patient position to index: w2i*p + w2iOff
uniform vec3 w2iOff;
uniform vec2 rescale; // real value = stored*rescale.x + rescale.y

float voxel(ivec3 p) { return float(texelFetch(voxels, p, 0).r); }

float value(vec3 idx) {
	vec3 x = clamp(idx, vec3(0.0), vec3(dims - 1));
	ivec3 b = min(ivec3(floor(x)), max(dims - 2, ivec3(0)));
	vec3 t = x - vec3(b);
	ivec3 d = ivec3(greaterThan(dims, ivec3(1)));
	float c00 = mix(voxel(b), voxel(b + ivec3(d.x, 0, 0)), t.x);
	float c10 = mix(voxel(b + ivec3(0, d.y, 0)), voxel(b + ivec3(d.x, d.y, 0)), t.x);
	float c01 = mix(voxel(b + ivec3(0, 0, d.z)), voxel(b + ivec3(d.x, 0, d.z)), t.x);
	float c11 = mix(voxel(b + ivec3(0, d.y, d.z)), voxel(b + d), t.x);
	return mix(mix(c00, c10, t.y), mix(c01, c11, t.y), t.z) * rescale.x + rescale.y;
}
`

// planeShader draws a slice plane's quad where it cuts the volume: the
// windowed value, tinted by the label there as the slice views tint.
const planeShader = `
in vec3 world;
in vec3 vnormal;
uniform vec3 eye, forward;
uniform vec2 win; // grey = real*win.x + win.y
uniform usampler3D labels;
uniform usampler2D colors;
uniform bool tint;
uniform int nColors;
layout(location = 0) out vec4 outColor;
layout(location = 1) out float outDepth;
` + volumeCommon + `
void main() {
	vec3 idx = w2i * world + w2iOff;
	if (any(lessThan(idx, vec3(-0.5))) || any(greaterThanEqual(idx, vec3(dims) - 0.5))) discard;
	float g = value(idx) * win.x + win.y;
	uint q = (isnan(g) || g <= 0.0) ? 0u : (g >= 255.0 ? 255u : uint(g + 0.5));
	uvec3 c3 = uvec3(q);
	if (tint) {
		uint v = texelFetch(labels, clamp(ivec3(floor(idx + 0.5)), ivec3(0), dims - 1), 0).r;
		if (v != 0u && int(v) < nColors) {
			uvec4 c = texelFetch(colors, ivec2(int(v), 0), 0);
			c3 = (c3 * (255u - c.a) + c.rgb * c.a + 127u) / 255u;
		}
	}
	outColor = vec4(vec3(c3) / 255.0, 1.0);
	outDepth = dot(world - eye, forward);
}
`

// volumeShader ray casts the volume in front of what is drawn (the view
// depth in depths): front to back through the transfer table, or the
// brightest value for MIP (blended with MAX).
const volumeShader = `
uniform vec3 center, right, up, forward, eye;
uniform float scale;
uniform vec2 halfSize;
uniform bool persp, mip, shade;
uniform sampler2D depths;
uniform sampler2D transfer; // render.TransferSize x 1, RGBA32F
uniform vec2 transferRange;
uniform float stepMM;
// render.Blocks: per block its largest value and whether the transfer
// makes all of it transparent.
uniform sampler3D blocks;
uniform ivec3 blockDims;
out vec4 color;
` + volumeCommon + `
const int N = TRANSFER_SIZE; // defined as render.TransferSize

vec4 transferAt(float v) {
	float u = (v - transferRange.x) / (transferRange.y - transferRange.x) * float(N - 1);
	if (!(u > 0.0)) u = 0.0;
	if (u > float(N - 1)) u = float(N - 1);
	int i = min(int(u), N - 2);
	return mix(texelFetch(transfer, ivec2(i, 0), 0), texelFetch(transfer, ivec2(i + 1, 0), 0), u - float(i));
}

// skipTo is where a ray at t goes next when its block cannot change the
// picture (as render/cpu's skip): past the block, on the sample lattice
// base + n*step; -1 when t's sample must be taken.
float skipTo(vec3 io, vec3 id, float t, float best, float base, float step) {
	ivec3 blk = clamp(ivec3(floor((io + t * id + 0.5) / 8.0)), ivec3(0), blockDims - 1);
	vec2 b = texelFetch(blocks, blk, 0).rg;
	if (mip ? b.r > best : b.g < 0.5) return -1.0;
	float te = 1e30;
	for (int a = 0; a < 3; a++) {
		float lo = float(blk[a] * 8) - 0.5;
		if (id[a] > 0.0) te = min(te, (lo + 8.0 - io[a]) / id[a]);
		else if (id[a] < 0.0) te = min(te, (lo - io[a]) / id[a]);
	}
	return max(base + ceil((te - base) / step) * step, t + step);
}

void main() {
	vec2 px = gl_FragCoord.xy;
	vec3 q = center + right * ((px.x - halfSize.x) * scale) + up * ((halfSize.y - px.y) * scale);
	vec3 o = q, d = forward;
	float dz = 1.0;
	if (persp) {
		o = eye;
		d = normalize(q - eye);
		dz = dot(d, forward);
	}
	vec3 io = w2i * o + w2iOff, id = w2i * d;
	float t0 = -1e30, t1 = 1e30;
	for (int a = 0; a < 3; a++) {
		float lo = -0.5, hi = float(dims[a]) - 0.5;
		if (id[a] == 0.0) {
			if (io[a] < lo || io[a] >= hi) discard;
			continue;
		}
		float ta = (lo - io[a]) / id[a], tb = (hi - io[a]) / id[a];
		t0 = max(t0, min(ta, tb));
		t1 = min(t1, max(ta, tb));
	}
	if (!(t0 < t1)) discard;
	if (persp) t0 = max(t0, 0.0);
	// The depth is along forward from the eye (or the plane through the
	// centre): z = t*dz.
	t1 = min(t1, texelFetch(depths, ivec2(px), 0).r / dz);
	if (!(t0 < t1)) discard;
	// As render/cpu: the ends are sampled too, a MIP on the ray's
	// crossings of the voxel planes of its main index axis, the presets
	// on a lattice of stepMM whose cut end steps weigh by their length.
	if (mip) {
		int a = abs(id.x) >= abs(id.y) ? (abs(id.x) >= abs(id.z) ? 0 : 2) : (abs(id.y) >= abs(id.z) ? 1 : 2);
		float base = -io[a] / id[a], ps = 1.0 / abs(id[a]);
		float best = value(io + t0 * id);
		for (float t = base + floor((t0 - base) / ps) * ps + ps; t < t1;) {
			float next = skipTo(io, id, t, best, base, ps);
			if (next >= 0.0) {
				t = next;
				continue;
			}
			best = max(best, value(io + t * id));
			t += ps;
		}
		best = max(best, value(io + t1 * id));
		float g = clamp(transferAt(best).r, 0.0, 1.0);
		color = vec4(vec3(g), 1.0);
		return;
	}
	vec3 c = vec3(0.0);
	float ca = 0.0;
	for (float t = ceil((t0 - stepMM / 2.0) / stepMM) * stepMM; t - stepMM / 2.0 < t1 && ca < 0.99; t += stepMM) {
		float at = clamp(t, t0, t1);
		float mm = min(t + stepMM / 2.0, t1) - max(t - stepMM / 2.0, t0);
		if (mm <= 0.0) continue;
		if (at == t) {
			float next = skipTo(io, id, t, 0.0, 0.0, stepMM);
			if (next >= 0.0) {
				t = next - stepMM; // the loop adds stepMM
				continue;
			}
		}
		vec3 idx = io + at * id;
		vec4 s = transferAt(value(idx));
		if (s.a <= 0.0) continue;
		float al = 1.0 - pow(1.0 - min(s.a, 1.0), mm);
		float sh = 1.0;
		if (shade) {
			vec3 g = vec3(value(idx + vec3(1, 0, 0)) - value(idx - vec3(1, 0, 0)),
				value(idx + vec3(0, 1, 0)) - value(idx - vec3(0, 1, 0)),
				value(idx + vec3(0, 0, 1)) - value(idx - vec3(0, 0, 1))) / 2.0;
			vec3 w = transpose(w2i) * g;
			if (dot(w, w) > 0.0) sh = 0.25 + 0.75 * abs(dot(normalize(w), forward));
		}
		float k = (1.0 - ca) * al;
		c += k * s.rgb * sh;
		ca += k;
	}
	if (ca <= 0.0) discard;
	color = vec4(c, ca); // premultiplied: blended ONE, ONE_MINUS_SRC_ALPHA
}
`
