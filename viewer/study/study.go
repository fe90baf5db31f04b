// Package study opens whatever a user points at — a NIfTI file, a DICOM
// file, a folder of DICOM files or a DICOMDIR — as one volume, so that the
// CLI and the app share one entry point and one set of messages.
package study

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

// Options select and report on what Open reads.
type Options struct {
	// Series picks one DICOM series by SeriesInstanceUID or 1-based index
	// when a folder holds several; empty means "the only one".
	Series string
	// Progress, when set, is called with files done and total while DICOM
	// loads.
	Progress func(done, total int)
}

// Study is what Open found: the volume, and for DICOM the series that were
// there and what the scan skipped.
type Study struct {
	Volume *volume.Volume
	Scan   *dicom.ScanResult // nil for NIfTI
}

// IsNIfTI reports whether path is a NIfTI-1 or NIfTI-2 file, judged by its
// header rather than its name (gzip is looked through).
func IsNIfTI(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.IsDir() {
		return false
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		return false
	}
	var r io.Reader = io.MultiReader(bytes.NewReader(head), f)
	if head[0] == 0x1f && head[1] == 0x8b {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return false
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			return false
		}
		defer zr.Close()
		r = zr
	}
	hdr := make([]byte, 348)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return false
	}
	// sizeof_hdr is 348 (NIfTI-1) or 540 (NIfTI-2), in either byte order;
	// the magic at 344 (NIfTI-1) or 4 (NIfTI-2) confirms it.
	le, be := binary.LittleEndian.Uint32(hdr), binary.BigEndian.Uint32(hdr)
	switch {
	case le == 348 || be == 348:
		m := string(hdr[344:347])
		return m == "n+1" || m == "ni1"
	case le == 540 || be == 540:
		m := string(hdr[4:7])
		return m == "n+2" || m == "ni2"
	}
	return false
}

// hasNIfTIName reports whether path's name ends in .nii or .nii.gz.
func hasNIfTIName(path string) bool {
	low := strings.ToLower(path)
	return strings.HasSuffix(low, ".nii") || strings.HasSuffix(low, ".nii.gz")
}

// Open reads the study at path.
func Open(ctx context.Context, path string, opt Options) (*Study, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, unwrapPath(err))
	}
	// A file named as NIfTI is read as NIfTI, so that one that is not says
	// why in NIfTI's words (it was scanned as DICOM, and "not a DICOM
	// file" puzzled its user); the name is checked first, sparing such a
	// file a header read that nifti.Read does again.
	if hasNIfTIName(path) || IsNIfTI(path) {
		if opt.Series != "" {
			return nil, fmt.Errorf("%s is a NIfTI file: it has no series to choose", path)
		}
		v, err := nifti.Read(path)
		if err != nil {
			return nil, err
		}
		return &Study{Volume: v}, nil
	}
	scan, err := dicom.Scan(ctx, path)
	if err != nil {
		return nil, err
	}
	return load(ctx, scan, opt, dicom.Load)
}

// OpenGathered is Open of the DICOM folder path whose files g has read as
// they were written (a PACS retrieve): neither scanned nor, mostly, read
// again.
func OpenGathered(ctx context.Context, path string, g *dicom.Gather, opt Options) (*Study, error) {
	scan, err := g.Scan(path)
	if err != nil {
		return nil, err
	}
	return load(ctx, scan, opt, g.Load)
}

// load reads the series opt selects of scan with read.
func load(ctx context.Context, scan *dicom.ScanResult, opt Options, read func(context.Context, *dicom.Series, func(done, total int)) (*volume.Volume, error)) (*Study, error) {
	s, err := scan.Select(opt.Series)
	if err != nil {
		return &Study{Scan: scan}, err
	}
	v, err := read(ctx, s, opt.Progress)
	if err != nil {
		return &Study{Scan: scan}, err
	}
	return &Study{Volume: v, Scan: scan}, nil
}

// ReadTimePoint reads volume t (from 0) of the 4D study v was opened from,
// for the viewer's time-point slider: from series, for a DICOM one, else
// from the NIfTI file.
func ReadTimePoint(ctx context.Context, v *volume.Volume, series *dicom.Series, t int) (*volume.Volume, error) {
	if v.Meta.TimePoints < 2 {
		return nil, fmt.Errorf("%s is not a 4D study", v.Meta.Source)
	}
	if series != nil {
		return dicom.LoadTimePoint(ctx, series, t, nil)
	}
	return nifti.ReadTimePoint(v.Meta.Source, t)
}

// unwrapPath drops the *PathError wrapper whose text would repeat the path.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
