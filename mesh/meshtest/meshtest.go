// Package meshtest reads back the binary STL files package mesh writes, for
// the tests of what writes them (segvol mesh, the app's export): an
// independent parse of the bytes, not mesh's own code.
package meshtest

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
)

// STL is a binary STL file: its 80-byte header (trailing NULs cut) and its
// triangles' corners.
type STL struct {
	Header    string
	Triangles [][3][3]float32
}

// ReadSTL reads a binary STL file, refusing one whose length does not match
// the triangle count it states.
func ReadSTL(path string) (STL, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return STL{}, err
	}
	if len(b) < 84 {
		return STL{}, fmt.Errorf("%s: %d bytes, shorter than an STL header", path, len(b))
	}
	n := int(binary.LittleEndian.Uint32(b[80:]))
	if len(b) != 84+50*n {
		return STL{}, fmt.Errorf("%s: %d bytes for %d triangles", path, len(b), n)
	}
	s := STL{Header: strings.TrimRight(string(b[:80]), "\x00"), Triangles: make([][3][3]float32, n)}
	for i := range n {
		rec := b[84+50*i+12:] // after the facet normal
		for c := range 3 {
			for a := range 3 {
				s.Triangles[i][c][a] = math.Float32frombits(binary.LittleEndian.Uint32(rec[12*c+4*a:]))
			}
		}
	}
	return s, nil
}
