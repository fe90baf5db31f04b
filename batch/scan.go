package batch

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/segvolapp/segvol/internal/atomicfile"
	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/study"
)

// Scan writes a starting manifest at out for the studies under root: one
// row per NIfTI file and per DICOM series (of the modality, when given:
// NIfTI files carry none and are always listed), with the prompt columns
// empty for the user to fill. Paths are relative to out's folder. It
// returns the number of rows.
func Scan(ctx context.Context, root, out, modality string) (int, error) {
	outDir, err := filepath.Abs(filepath.Dir(out))
	if err != nil {
		return 0, err
	}
	rel := func(p string) string {
		abs, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		if r, err := filepath.Rel(outDir, abs); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.ToSlash(r)
		}
		return abs
	}
	var rows [][]string
	row := func(studyPath, series string) {
		r := make([]string, len(Columns))
		r[0], r[1] = studyPath, series
		rows = append(rows, r)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && study.IsNIfTI(p) {
			row(rel(p), "")
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, err
	}
	sc, err := dicom.Scan(ctx, root)
	if err != nil && len(rows) == 0 {
		return 0, err
	}
	if sc != nil {
		for _, s := range sc.Series {
			if modality != "" && !strings.EqualFold(s.Modality, modality) {
				continue
			}
			row(rel(commonDir(s.Files)), s.UID)
		}
	}
	if len(rows) == 0 {
		return 0, fmt.Errorf("no NIfTI file or DICOM series%s under %s", map[bool]string{true: " of modality " + modality}[modality != ""], root)
	}
	return len(rows), atomicfile.Write(out, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write(Columns)
		cw.WriteAll(rows)
		return cw.Error()
	})
}

// commonDir is the deepest folder holding every file.
func commonDir(files []string) string {
	dir := filepath.Dir(files[0])
	for _, f := range files[1:] {
		for !strings.HasPrefix(f, dir+string(filepath.Separator)) && dir != filepath.Dir(dir) {
			dir = filepath.Dir(dir)
		}
	}
	return dir
}
