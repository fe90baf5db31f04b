package dicom

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/segvolapp/segvol/viewer/volume"
)

// Gather reads a series from files in memory as they arrive, each under
// the path it is being stored at, so that the folder opens afterwards
// without a scan and, for the common series of single-frame native images,
// without reading a file again: a PACS retrieve decodes while it writes.
// It keeps no file: their voxels go straight into the volume, allocated
// from the first image and the number expected, in arrival order; Load
// puts the slices in order at the end (one slice of scratch). A number
// expected that the files do not bear out costs no more than its virtual
// memory (bounded by volume.MaxVoxels, as any open): pages are used only
// as images fill them.
type Gather struct {
	expected int
	mu       sync.Mutex
	infos    []*fileInfo // by arrival; nil for a file skipped
	notes    []string
	// direct holds while every file so far is one native little-endian
	// image like the first; data is their voxels, slot i from file i.
	direct bool
	first  *Series
	data   any
	slot   map[string]int
}

// NewGather gathers a series of expected files (0: unknown, then only the
// headers are kept and Load reads the files).
func NewGather(expected int) *Gather {
	return &Gather{expected: expected, direct: expected > 0, slot: map[string]int{}}
}

// Add parses file i (from 0) of the series, b, which is being stored at
// path, and decodes its image. It is safe for concurrent use, does not
// change b and keeps nothing of it.
func (g *Gather) Add(i int, path string, b []byte) {
	r, err := parseRaw(path, b)
	var fi *fileInfo
	if err == nil {
		fi, err = parseHeader(r)
	}
	fi, note := kept(path, fi, err)
	g.mu.Lock()
	for len(g.infos) <= i {
		g.infos, g.notes = append(g.infos, nil), append(g.notes, "")
	}
	g.infos[i], g.notes[i] = fi, note
	direct := g.direct && fi != nil && i < g.expected && fi.mosaicGrid == 0 && fi.frames == 1 &&
		len(fi.images) == 1 && r.pixLen >= 0 && r.bo == binary.LittleEndian
	if direct && g.first == nil {
		s := &Series{Rows: fi.rows, Cols: fi.cols, frameRows: fi.rows, frameCols: fi.cols, pix: fi.pix}
		if g.data, err = volume.Alloc(s.dtype(), [3]int{fi.cols, fi.rows, g.expected}); err == nil {
			g.first = s
		}
	}
	s := g.first
	direct = direct && s != nil && fi.rows == s.Rows && fi.cols == s.Cols && fi.pix == s.pix &&
		r.pixLen >= s.Rows*s.Cols*s.pix.bitsAllocated/8
	if direct {
		g.slot[path] = i
	} else {
		g.direct, g.data = false, nil // Load reads the files: free it now
	}
	data := g.data
	g.mu.Unlock()
	if direct {
		s.put(data, i*s.Rows*s.Cols, r.data[r.pixValue:], 0, 0)
	}
}

// Scan is what Scan of the folder (source) would find, from the headers
// gathered.
func (g *Gather) Scan(source string) (*ScanResult, error) {
	var infos []*fileInfo
	var notes []string
	for i, fi := range g.infos {
		if fi != nil {
			infos = append(infos, fi)
		}
		if g.notes[i] != "" {
			notes = append(notes, g.notes[i])
		}
	}
	return result(infos, notes, source, len(g.infos))
}

// Load is Load of s, a series of g.Scan: from the voxels gathered when
// every image of the volume arrived whole in them, else from the files.
func (g *Gather) Load(ctx context.Context, s *Series, progress func(done, total int)) (*volume.Volume, error) {
	if !g.direct || len(g.infos) != g.expected || s.pix != g.first.pix || s.Rows != g.first.Rows || s.Cols != g.first.Cols {
		return Load(ctx, s, progress)
	}
	p, dims, err := s.prepare(0)
	if err != nil {
		return nil, err
	}
	if p.timePoints > 1 || p.resample != nil || dims[2] != g.expected {
		return Load(ctx, s, progress)
	}
	from := make([]int, len(p.images))
	used := make([]bool, len(p.images))
	for k, im := range p.images {
		j, ok := g.slot[im.file]
		if !ok || used[j] || im.frame != 0 || im.tile >= 0 {
			return Load(ctx, s, progress)
		}
		from[k], used[j] = j, true
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	plane := s.Rows * s.Cols
	switch d := g.data.(type) {
	case []uint8:
		reorder(d, plane, from)
	case []int8:
		reorder(d, plane, from)
	case []uint16:
		reorder(d, plane, from)
	case []int16:
		reorder(d, plane, from)
	case []uint32:
		reorder(d, plane, from)
	case []int32:
		reorder(d, plane, from)
	default:
		return nil, fmt.Errorf("series %s: no voxels of type %T", s.UID, g.data)
	}
	if progress != nil {
		progress(len(s.Files), len(s.Files))
	}
	v, err := s.assemble(p, dims, g.data, 0)
	g.direct, g.data = false, nil // the volume's now; a second Load reads the files
	return v, err
}

// reorder moves the planes of d (plane values each) so that plane k holds
// what plane from[k] held, in place with one plane of scratch, following
// the permutation's cycles.
func reorder[T any](d []T, plane int, from []int) {
	tmp := make([]T, plane)
	done := make([]bool, len(from))
	at := func(k int) []T { return d[k*plane : (k+1)*plane] }
	for start := range from {
		if done[start] || from[start] == start {
			continue
		}
		copy(tmp, at(start))
		k := start
		for from[k] != start {
			copy(at(k), at(from[k]))
			done[k] = true
			k = from[k]
		}
		copy(at(k), tmp)
		done[k] = true
	}
}
