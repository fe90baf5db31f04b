package dicom

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	dcm "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// Siemens private tags of a mosaic.
var (
	tagImagesInMosaic = tag.Tag{Group: 0x0019, Element: 0x100A}
	tagCSAImageHeader = tag.Tag{Group: 0x0029, Element: 0x1010}
)

// isMosaic reports a Siemens mosaic: one stored image that holds a grid of
// slices.
func isMosaic(el []*dcm.Element) bool {
	for _, s := range strs(el, tag.ImageType) {
		if strings.EqualFold(strings.TrimSpace(s), "MOSAIC") {
			return true
		}
	}
	return false
}

// unpackMosaic lists the tiles of a mosaic as images at their true
// positions.
func (fi *fileInfo) unpackMosaic(el []*dcm.Element, base image) error {
	csa := csaTags(bytesOf(el, tagCSAImageHeader))
	n := intOf(el, tagImagesInMosaic, 0)
	if b := bytesOf(el, tagImagesInMosaic); len(b) == 2 {
		// Implicit VR: the library cannot know this private tag is US.
		n = int(binary.LittleEndian.Uint16(b))
	}
	if v := csa["NumberOfImagesInMosaic"]; n <= 0 && len(v) > 0 {
		f, _ := strconv.ParseFloat(strings.TrimSpace(v[0]), 64)
		n = int(f)
	}
	if n <= 0 || n > fi.rows*fi.cols {
		return fmt.Errorf("mosaic without a valid number of images (%d)", n)
	}
	grid := int(math.Ceil(math.Sqrt(float64(n))))
	if fi.rows%grid != 0 || fi.cols%grid != 0 {
		return fmt.Errorf("mosaic of %dx%d cannot hold a %dx%d grid", fi.cols, fi.rows, grid, grid)
	}
	if !fi.hasIOP || !base.hasPos {
		return fmt.Errorf("mosaic without ImagePositionPatient or ImageOrientationPatient")
	}
	fi.mosaicGrid, fi.tileRows, fi.tileCols = grid, fi.rows/grid, fi.cols/grid
	rowDir := [3]float64{fi.iop[0], fi.iop[1], fi.iop[2]}
	colDir := [3]float64{fi.iop[3], fi.iop[4], fi.iop[5]}
	// The stored position is that of the whole mosaic's first pixel; the
	// first tile is centred in it, so move by half the size difference along
	// rows and columns (the fact nibabel's MosaicWrapper documents).
	shiftRows := float64(fi.rows-fi.tileRows) / 2 * fi.spacing[0]
	shiftCols := float64(fi.cols-fi.tileCols) / 2 * fi.spacing[1]
	first := add(base.pos, add(scale(colDir, shiftRows), scale(rowDir, shiftCols)))
	// Tiles follow the CSA slice normal, which may point against the cross
	// product of the row and column directions.
	normal := cross(rowDir, colDir)
	if v := csa["SliceNormalVector"]; len(v) >= 3 {
		var sn [3]float64
		ok := true
		for i := range sn {
			f, err := strconv.ParseFloat(strings.TrimSpace(v[i]), 64)
			ok = ok && err == nil
			sn[i] = f
		}
		if ok && math.Abs(norm(sn)-1) < 0.01 {
			normal = sn
		}
	}
	step := fi.between
	if step <= 0 {
		step = fi.thickness
	}
	if step <= 0 {
		return fmt.Errorf("mosaic without SpacingBetweenSlices or SliceThickness")
	}
	fi.images = make([]image, n)
	for t := range fi.images {
		im := base
		im.tile = t
		im.pos = add(first, scale(normal, step*float64(t)))
		fi.images[t] = im
	}
	return nil
}

func bytesOf(el []*dcm.Element, t tag.Tag) []byte {
	e := find(el, t)
	if e == nil {
		return nil
	}
	b, _ := e.Value.GetValue().([]byte)
	return b
}

// csaTags reads the string values of a Siemens CSA2 ("SV10") header; a
// malformed or CSA1 header yields what was read before the problem.
func csaTags(b []byte) map[string][]string {
	out := map[string][]string{}
	if len(b) < 16 || string(b[:4]) != "SV10" {
		return out
	}
	le := binary.LittleEndian
	nTags := int(le.Uint32(b[8:]))
	off := 16
	for t := 0; t < nTags && off+84 <= len(b); t++ {
		name := strings.TrimRight(string(b[off:off+64]), "\x00")
		if i := strings.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		vm := int(int32(le.Uint32(b[off+64:])))
		nItems := int(int32(le.Uint32(b[off+76:])))
		off += 84
		if nItems < 0 || nItems > 1000 {
			return out
		}
		var vals []string
		for i := 0; i < nItems; i++ {
			if off+16 > len(b) {
				return out
			}
			n := int(int32(le.Uint32(b[off+4:])))
			off += 16
			if n < 0 || off+n > len(b) {
				return out
			}
			if i < vm || vm == 0 {
				v := string(b[off : off+n])
				if j := strings.IndexByte(v, 0); j >= 0 {
					v = v[:j]
				}
				if v != "" {
					vals = append(vals, v)
				}
			}
			off += (n + 3) &^ 3
		}
		out[name] = vals
	}
	return out
}
