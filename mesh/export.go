package mesh

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/segvolapp/segvol/internal/atomicfile"
)

// Format is a mesh file format.
type Format uint8

// The formats Write knows: binary STL (3D printing, most CAD), Wavefront OBJ
// and binary PLY (with per-vertex colour).
const (
	STL Format = iota
	OBJ
	PLY
)

// Ext is the format's file extension, with its dot.
func (f Format) Ext() string { return [...]string{".stl", ".obj", ".ply"}[f] }

func (f Format) String() string { return strings.ToUpper(f.Ext()[1:]) }

// ParseFormat reads a format name or extension: "stl", ".OBJ", "ply".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimPrefix(s, ".")) {
	case "stl":
		return STL, nil
	case "obj":
		return OBJ, nil
	case "ply":
		return PLY, nil
	}
	return 0, fmt.Errorf("mesh format %q: want stl, obj or ply", s)
}

// Space is the patient coordinate convention of a written file.
type Space uint8

// LPS is DICOM's (and ours, and 3D Slicer's default for files since 4.11);
// RAS is NIfTI's and older Slicer's. The file says which, as Slicer writes
// it: "SPACE=LPS" in the STL header, a comment in OBJ and PLY.
const (
	LPS Space = iota
	RAS
)

func (s Space) String() string { return [...]string{"LPS", "RAS"}[s] }

// Part is one segment to write: its mesh, name and display colour.
type Part struct {
	Mesh  *Mesh
	Name  string
	Color [3]uint8
}

// Write writes the parts as one file of format f in space s. STL has no
// parts: their triangles follow one another. OBJ names each part an
// object; PLY gives each vertex its part's colour.
func Write(w io.Writer, f Format, parts []Part, s Space) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var err error
	switch f {
	case STL:
		err = writeSTL(bw, parts, s)
	case OBJ:
		err = writeOBJ(bw, parts, s)
	case PLY:
		err = writePLY(bw, parts, s)
	default:
		err = fmt.Errorf("mesh: unknown format %d", f)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// WriteFile writes the parts as one file, in the format its extension
// names, replacing path whole or not at all.
func WriteFile(path string, parts []Part, s Space) error {
	f, err := ParseFormat(filepath.Ext(path))
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, f, parts, s) })
}

// WriteFiles writes one file per part into dir (made if missing), named
// after the segment ("liver.stl"; "_<value>" added to a name taken twice),
// and returns their paths.
func WriteFiles(dir string, f Format, parts []Part, s Space) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	used := map[string]bool{}
	for _, p := range parts {
		name := fileName(p.Name)
		if used[strings.ToLower(name)] { // case-blind file systems (Windows, macOS)
			name += "_" + strconv.Itoa(int(p.Mesh.Label))
		}
		used[strings.ToLower(name)] = true
		path := filepath.Join(dir, name+f.Ext())
		if err := atomicfile.Write(path, func(w io.Writer) error { return Write(w, f, []Part{p}, s) }); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// fileName makes a segment name safe as a file name on every system.
func fileName(s string) string {
	b := []byte(strings.TrimSpace(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		return "segment" + string(b)
	}
	return string(b)
}

// sign turns LPS into the file's space: RAS negates x and y (a rotation
// about z, so triangles keep their outward winding).
func (s Space) sign() [3]float32 {
	if s == RAS {
		return [3]float32{-1, -1, 1}
	}
	return [3]float32{1, 1, 1}
}

func names(parts []Part) string {
	n := make([]string, len(parts))
	for i, p := range parts {
		n[i] = p.Name
	}
	return strings.Join(n, ", ")
}

// oneLine keeps a name from breaking a line-based header.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func writeSTL(w *bufio.Writer, parts []Part, s Space) error {
	header := make([]byte, 80)
	copy(header, "SPACE="+s.String()+" segvol: "+oneLine(names(parts)))
	n := 0
	for _, p := range parts {
		n += len(p.Mesh.Triangles) / 3
	}
	if n > math.MaxUint32 {
		return fmt.Errorf("mesh: %d triangles exceed what STL can count", n)
	}
	w.Write(header)
	binary.Write(w, binary.LittleEndian, uint32(n))
	sg := s.sign()
	rec := make([]byte, 50)
	for _, p := range parts {
		pos, tri := p.Mesh.Positions, p.Mesh.Triangles
		for t := 0; t < len(tri); t += 3 {
			var v [3][3]float32
			for c := range 3 {
				i := 3 * int(tri[t+c])
				for a := range 3 {
					v[c][a] = sg[a] * pos[i+a]
				}
			}
			nrm := faceNormal(v)
			put := func(off int, x [3]float32) {
				for a := range 3 {
					binary.LittleEndian.PutUint32(rec[off+4*a:], math.Float32bits(x[a]))
				}
			}
			put(0, nrm)
			put(12, v[0])
			put(24, v[1])
			put(36, v[2])
			if _, err := w.Write(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

func faceNormal(v [3][3]float32) [3]float32 {
	var u, w [3]float64
	for a := range 3 {
		u[a] = float64(v[1][a] - v[0][a])
		w[a] = float64(v[2][a] - v[0][a])
	}
	n := [3]float64{u[1]*w[2] - u[2]*w[1], u[2]*w[0] - u[0]*w[2], u[0]*w[1] - u[1]*w[0]}
	l := math.Sqrt(n[0]*n[0] + n[1]*n[1] + n[2]*n[2])
	if l == 0 {
		return [3]float32{}
	}
	return [3]float32{float32(n[0] / l), float32(n[1] / l), float32(n[2] / l)}
}

func writeOBJ(w *bufio.Writer, parts []Part, s Space) error {
	fmt.Fprintf(w, "# SPACE=%s\n# segvol: %d segments, patient coordinates in mm\n", s, len(parts))
	sg := s.sign()
	base := 1 // OBJ counts vertices from 1, across objects
	for _, p := range parts {
		m := p.Mesh
		fmt.Fprintf(w, "o %s\n", oneLine(p.Name))
		for i := 0; i < len(m.Positions); i += 3 {
			fmt.Fprintf(w, "v %g %g %g\n", sg[0]*m.Positions[i], sg[1]*m.Positions[i+1], sg[2]*m.Positions[i+2])
		}
		for i := 0; i < len(m.Normals); i += 3 {
			fmt.Fprintf(w, "vn %g %g %g\n", sg[0]*m.Normals[i], sg[1]*m.Normals[i+1], sg[2]*m.Normals[i+2])
		}
		for t := 0; t < len(m.Triangles); t += 3 {
			a, b, c := base+int(m.Triangles[t]), base+int(m.Triangles[t+1]), base+int(m.Triangles[t+2])
			if _, err := fmt.Fprintf(w, "f %d//%d %d//%d %d//%d\n", a, a, b, b, c, c); err != nil {
				return err
			}
		}
		base += m.Vertices()
	}
	return nil
}

func writePLY(w *bufio.Writer, parts []Part, s Space) error {
	nv, nt := 0, 0
	for _, p := range parts {
		nv += p.Mesh.Vertices()
		nt += len(p.Mesh.Triangles) / 3
	}
	if nv > math.MaxInt32 {
		return fmt.Errorf("mesh: %d vertices exceed what PLY's int indices hold", nv)
	}
	fmt.Fprintf(w, "ply\nformat binary_little_endian 1.0\ncomment SPACE=%s\n", s)
	for _, p := range parts {
		fmt.Fprintf(w, "comment segment %d %s\n", p.Mesh.Label, oneLine(p.Name))
	}
	fmt.Fprintf(w, "element vertex %d\n", nv)
	for _, c := range []string{"x", "y", "z", "nx", "ny", "nz"} {
		fmt.Fprintf(w, "property float %s\n", c)
	}
	fmt.Fprintf(w, "property uchar red\nproperty uchar green\nproperty uchar blue\n")
	fmt.Fprintf(w, "element face %d\nproperty list uchar int vertex_indices\nend_header\n", nt)
	sg := s.sign()
	rec := make([]byte, 27)
	for _, p := range parts {
		m := p.Mesh
		for i := 0; i < len(m.Positions); i += 3 {
			for a := range 3 {
				binary.LittleEndian.PutUint32(rec[4*a:], math.Float32bits(sg[a]*m.Positions[i+a]))
				binary.LittleEndian.PutUint32(rec[12+4*a:], math.Float32bits(sg[a]*m.Normals[i+a]))
			}
			copy(rec[24:], p.Color[:])
			w.Write(rec)
		}
	}
	face := make([]byte, 13)
	face[0] = 3
	base := 0
	for _, p := range parts {
		m := p.Mesh
		for t := 0; t < len(m.Triangles); t += 3 {
			for c := range 3 {
				binary.LittleEndian.PutUint32(face[1+4*c:], uint32(base+int(m.Triangles[t+c])))
			}
			if _, err := w.Write(face); err != nil {
				return err
			}
		}
		base += m.Vertices()
	}
	return nil
}
