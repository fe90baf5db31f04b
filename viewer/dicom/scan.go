// Package dicom finds the image series in DICOM files, folders and DICOMDIRs
// and loads one series into a volume, every voxel where the DICOM places it.
//
// Headers are parsed with github.com/suyashkumar/dicom; where that library
// falls short (allocation before length checks, no Basic Offset Table, slow
// per-pixel native frames) our own code does the job, with a comment saying so.
package dicom

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/segvolapp/segvol/viewer/volume"
)

// Series is one image series found by Scan.
type Series struct {
	UID, Number, Modality, Description string
	Rows, Cols                         int
	Images                             int // number of 2D images (frames across files)
	Files                              []string
	// Orientation is ImageOrientationPatient: the row and column direction
	// cosines (LPS) shared by the series' images.
	Orientation [6]float64

	images     []image
	iop        bool // Orientation came from the files
	spacing    [2]float64
	thickness  float64
	between    float64
	pix        pixelFormat
	mosaicGrid int
	frameRows  int // stored frame size (a whole mosaic for a mosaic)
	frameCols  int
	meta       volume.Meta
	files      map[string]fileMeta
	// encapsulatedBytes is the compressed pixel data the files hold, to
	// bound what their headers may claim.
	encapsulatedBytes int64
}

// fileMeta is what Load needs to know of each file.
type fileMeta struct {
	ts     string
	frames int
}

// ScanResult is what Scan found.
type ScanResult struct {
	Series []*Series
	// Notes say which files were skipped and why.
	Notes []string
}

// Scan finds the image series under path: a file, a folder (recursive, files
// with or without extension), or a DICOMDIR. Non-image objects and
// unreadable files are skipped, each with a line in Notes.
func Scan(ctx context.Context, path string) (*ScanResult, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var files []string
	if st.IsDir() {
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return ctx.Err()
		})
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: empty folder, no DICOM files", path)
		}
	} else {
		files, err = dicomdirFiles(path)
		if err != nil {
			return nil, err
		}
	}
	infos, notes := scanFiles(ctx, files)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return result(infos, notes, path, len(files))
}

// result groups the files Scan parsed into series.
func result(infos []*fileInfo, notes []string, path string, files int) (*ScanResult, error) {
	res := &ScanResult{Series: group(infos, path), Notes: notes}
	if len(res.Series) == 0 {
		msg := fmt.Sprintf("%s: no DICOM image series found in %d file(s)", path, files)
		if len(notes) > 0 {
			msg += " (" + notes[0]
			if len(notes) > 1 {
				msg += fmt.Sprintf("; and %d more", len(notes)-1)
			}
			msg += ")"
		}
		return res, errors.New(msg)
	}
	return res, nil
}

// dicomdirFiles returns the files a DICOMDIR references, or the file itself
// when it is not a DICOMDIR.
func dicomdirFiles(path string) ([]string, error) {
	r, err := readRaw(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fi, err := parseHeaderElements(r)
	r.release()
	if err != nil || find(fi, tag.DirectoryRecordSequence) == nil {
		return []string{path}, nil
	}
	dir := filepath.Dir(path)
	seen := map[string]bool{}
	var files []string
	for _, rec := range seqItems(find(fi, tag.DirectoryRecordSequence)) {
		parts := strs(rec, tag.ReferencedFileID)
		if len(parts) == 0 {
			continue
		}
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		p := filepath.Join(append([]string{dir}, parts...)...)
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: DICOMDIR references no files", path)
	}
	return files, nil
}

// scanFiles parses the headers of files in parallel.
func scanFiles(ctx context.Context, files []string) ([]*fileInfo, []string) {
	infos := make([]*fileInfo, len(files))
	notes := make([]string, len(files))
	parallel(ctx, len(files), func(i int) {
		r, err := readRaw(files[i])
		var fi *fileInfo
		if err == nil {
			fi, err = parseHeader(r)
			r.release()
		}
		infos[i], notes[i] = kept(files[i], fi, err)
	})
	var kept []*fileInfo
	var out []string
	for i := range files {
		if infos[i] != nil {
			kept = append(kept, infos[i])
		}
		if notes[i] != "" {
			out = append(out, notes[i])
		}
	}
	return kept, out
}

// kept is the header of an image file, or nil and the note that says why
// the file is skipped.
func kept(path string, fi *fileInfo, err error) (*fileInfo, string) {
	switch {
	case err != nil:
		return nil, fmt.Sprintf("%s: skipped: %v", path, err)
	case fi.nonImageReason != "":
		return nil, fmt.Sprintf("%s: skipped: %s", path, fi.nonImageReason)
	}
	return fi, ""
}

// parallel runs work(0..n-1) on GOMAXPROCS goroutines, stopping early when
// ctx is done.
func parallel(ctx context.Context, n int, work func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				work(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// seriesKey splits series by UID, then orientation, size and pixel format.
type seriesKey struct {
	uid        string
	iop        [6]float64 // rounded
	rows, cols int
	pix        pixelFormat
	mosaic     int
}

// group sorts the images of the files into series.
func group(infos []*fileInfo, source string) []*Series {
	byKey := map[seriesKey]*Series{}
	var out []*Series
	for _, fi := range infos {
		k := seriesKey{uid: fi.seriesUID, rows: fi.tileRows, cols: fi.tileCols, pix: fi.pix, mosaic: fi.mosaicGrid}
		for i, v := range fi.iop {
			k.iop[i] = math.Round(v*1e3) / 1e3
		}
		s := byKey[k]
		if s == nil {
			s = &Series{
				UID: fi.seriesUID, Number: fi.number, Modality: fi.meta.Modality,
				Description: fi.meta.SeriesDescription, Rows: fi.tileRows, Cols: fi.tileCols,
				Orientation: fi.iop, iop: fi.hasIOP, spacing: fi.spacing, thickness: fi.thickness,
				between: fi.between, pix: fi.pix, mosaicGrid: fi.mosaicGrid,
				frameRows: fi.rows, frameCols: fi.cols, meta: fi.meta,
				files: map[string]fileMeta{},
			}
			s.meta.Source = source
			byKey[k] = s
			out = append(out, s)
		}
		s.images = append(s.images, fi.images...)
		s.Files = append(s.Files, fi.path)
		s.files[fi.path] = fileMeta{ts: fi.ts, frames: fi.frames}
		s.encapsulatedBytes += fi.encapsulatedBytes
	}
	for _, s := range out {
		s.Images = len(s.images)
		sort.Strings(s.Files)
	}
	sort.SliceStable(out, func(a, b int) bool {
		na, ea := strconv.Atoi(out[a].Number)
		nb, eb := strconv.Atoi(out[b].Number)
		switch {
		case ea == nil && eb == nil && na != nb:
			return na < nb
		case (ea == nil) != (eb == nil):
			return ea == nil
		case out[a].UID != out[b].UID:
			return out[a].UID < out[b].UID
		case out[a].Rows != out[b].Rows:
			return out[a].Rows > out[b].Rows
		}
		return out[a].Images > out[b].Images
	})
	return out
}

// Select picks a series by UID or 1-based index string; with sel == "" it
// returns the only series, or an error listing them when there are several.
func (r *ScanResult) Select(sel string) (*Series, error) {
	if sel == "" {
		if len(r.Series) == 1 {
			return r.Series[0], nil
		}
		return nil, fmt.Errorf("%d series found, choose one by number or UID:\n%s", len(r.Series), r.List())
	}
	if n, err := strconv.Atoi(sel); err == nil {
		if n < 1 || n > len(r.Series) {
			return nil, fmt.Errorf("series %d does not exist: there are %d", n, len(r.Series))
		}
		return r.Series[n-1], nil
	}
	var found []*Series
	for _, s := range r.Series {
		if s.UID == sel {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no series with UID %s; there are:\n%s", sel, r.List())
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("UID %s holds %d image stacks (orientations or sizes), choose one by number:\n%s", sel, len(found), r.List())
}

// List is one line per series: its index, number, modality, size and
// description.
func (r *ScanResult) List() string {
	var b strings.Builder
	for i, s := range r.Series {
		fmt.Fprintf(&b, "  %d: #%s %s %dx%d, %d images, %q (UID %s)\n",
			i+1, s.Number, s.Modality, s.Cols, s.Rows, s.Images, s.Description, s.UID)
	}
	return b.String()
}
