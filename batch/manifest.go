// Package batch runs the segmentation engines over a cohort described by a
// manifest (a CSV with one row per structure), on this machine or as a
// Slurm job array, and tabulates what they found. It is a front end, like
// app/: it uses viewer/study, the engines and viewer/labels, and nothing
// below imports it.
package batch

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Columns are the manifest's columns; study and name are required, and a
// row needs a prompt (text, box or a positive point).
var Columns = []string{"study", "series", "id", "name", "label", "text", "box", "points", "negative", "reference", "reference_label"}

// Row is one structure to segment. Positions are LPS millimetres.
type Row struct {
	Line           int // in the manifest file, for messages
	Name           string
	Label          uint8
	Text           string
	Box            *[2][3]float64 // two opposite corners
	Points         [][3]float64
	Negative       [][3]float64
	Reference      string // label map (absolute path), or ""
	ReferenceLabel int
	cells          map[string]string // as written, for the hash
}

// Study is the rows of one study (path and series); they make one label
// map in DIR/ID.
type Study struct {
	ID     string
	Path   string // absolute
	Given  string // as the manifest wrote it, for results.csv
	Series string
	Rows   []Row
}

// Manifest is a parsed and checked manifest: its studies in the order they
// first appear.
type Manifest struct {
	Path    string
	Studies []*Study
}

// maxErrors is how many row errors one message lists.
const maxErrors = 20

// ReadManifest parses and checks the manifest at path: every error that
// can be found without reading the studies (a missing column, a bad
// number, a study or reference that does not exist, duplicate labels or
// ids) is reported here, naming its line, before any work starts.
func ReadManifest(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return parseManifest(abs, f)
}

func parseManifest(path string, r io.Reader) (*Manifest, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: no header row: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !isColumn(h) {
			return nil, fmt.Errorf("%s:1: unknown column %q (columns: %s)", path, h, strings.Join(Columns, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%s:1: column %q appears twice", path, h)
		}
		col[h] = i
	}
	for _, need := range []string{"study", "name"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s:1: missing column %q (the header has %s)", path, need, strings.Join(header, ", "))
		}
	}
	m := &Manifest{Path: path}
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", filepath.Base(path), line, fmt.Sprintf(format, args...)))
	}
	byKey := map[string]*Study{}
	byID := map[string]*Study{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rec) != len(header) {
			bad(line, "%d fields for %d columns", len(rec), len(header))
			continue
		}
		cells := map[string]string{}
		for name, i := range col {
			cells[name] = strings.TrimSpace(rec[i])
		}
		row, studyPath, err := parseRow(filepath.Dir(path), cells)
		if err != nil {
			bad(line, "%v", err)
			continue
		}
		row.Line = line
		key := studyPath + "\x00" + cells["series"]
		st := byKey[key]
		if st == nil {
			id := cells["id"]
			if id == "" {
				id = defaultID(filepath.Dir(path), studyPath, cells["series"])
			} else if !validID.MatchString(id) {
				bad(line, "id %q: use letters, digits, '.', '_' and '-' only (it names a folder)", id)
				continue
			}
			if other := byID[id]; other != nil {
				bad(line, "id %q is already the output folder of %s (series %q): give this study another id", id, other.Given, other.Series)
				continue
			}
			st = &Study{ID: id, Path: studyPath, Given: cells["study"], Series: cells["series"]}
			byKey[key], byID[id] = st, st
			m.Studies = append(m.Studies, st)
		} else if id := cells["id"]; id != "" && id != st.ID {
			bad(line, "id %q differs from %q given to the same study above", id, st.ID)
			continue
		}
		if row.Label == 0 {
			row.Label = uint8(min(len(st.Rows)+1, 255))
		}
		for _, o := range st.Rows {
			if o.Label == row.Label {
				bad(line, "label %d is already %q (line %d) in study %s", row.Label, o.Name, o.Line, st.ID)
			}
			if strings.EqualFold(o.Name, row.Name) {
				bad(line, "name %q is already used (line %d) in study %s", row.Name, o.Line, st.ID)
			}
		}
		st.Rows = append(st.Rows, row)
	}
	if len(errs) > maxErrors {
		errs = append(errs[:maxErrors], fmt.Errorf("and %d more errors", len(errs)-maxErrors))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(m.Studies) == 0 {
		return nil, fmt.Errorf("%s: no rows under the header", path)
	}
	return m, nil
}

func isColumn(h string) bool {
	for _, c := range Columns {
		if c == h {
			return true
		}
	}
	return false
}

// parseRow checks one row's cells and returns it with its study's
// absolute path.
func parseRow(dir string, c map[string]string) (Row, string, error) {
	r := Row{Name: c["name"], Text: c["text"], cells: c}
	if c["study"] == "" {
		return r, "", errors.New("study is empty")
	}
	if r.Name == "" {
		return r, "", errors.New("name is empty")
	}
	studyPath := resolve(dir, c["study"])
	if _, err := os.Stat(studyPath); err != nil {
		return r, "", fmt.Errorf("study %s does not exist", studyPath)
	}
	if s := c["label"]; s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 255 {
			return r, "", fmt.Errorf("label %q is not a whole number 1..255", s)
		}
		r.Label = uint8(v)
	}
	if s := c["box"]; s != "" {
		v, err := numbers(s, 6)
		if err != nil {
			return r, "", fmt.Errorf("box: %v", err)
		}
		r.Box = &[2][3]float64{{v[0], v[1], v[2]}, {v[3], v[4], v[5]}}
	}
	var err error
	if r.Points, err = points(c["points"]); err != nil {
		return r, "", fmt.Errorf("points: %v", err)
	}
	if r.Negative, err = points(c["negative"]); err != nil {
		return r, "", fmt.Errorf("negative: %v", err)
	}
	if r.Text == "" && r.Box == nil && len(r.Points) == 0 {
		return r, "", errors.New("no prompt: give text, a box or positive points")
	}
	ref, refLabel := c["reference"], c["reference_label"]
	switch {
	case ref == "" && refLabel != "":
		return r, "", errors.New("reference_label without a reference")
	case ref != "":
		r.Reference = resolve(dir, ref)
		if _, err := os.Stat(r.Reference); err != nil {
			return r, "", fmt.Errorf("reference %s does not exist", r.Reference)
		}
		v, err := strconv.Atoi(refLabel)
		if err != nil || v < 1 {
			return r, "", fmt.Errorf("reference_label %q is not a positive whole number (the structure's value in the reference)", refLabel)
		}
		r.ReferenceLabel = v
	}
	return r, studyPath, nil
}

// resolve is p, relative to the manifest's folder unless absolute.
func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// numbers parses n numbers separated by spaces or commas.
func numbers(s string, n int) ([]float64, error) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	if len(f) != n {
		return nil, fmt.Errorf("want %d numbers (mm), got %q", n, s)
	}
	out := make([]float64, n)
	for i, x := range f {
		v, err := strconv.ParseFloat(x, 64)
		if err != nil || v != v {
			return nil, fmt.Errorf("%q is not a number", x)
		}
		out[i] = v
	}
	return out, nil
}

// points parses "x y z; x y z".
func points(s string) ([][3]float64, error) {
	var out [][3]float64
	for _, p := range strings.Split(s, ";") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		v, err := numbers(p, 3)
		if err != nil {
			return nil, err
		}
		out = append(out, [3]float64{v[0], v[1], v[2]})
	}
	return out, nil
}

var validID = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// defaultID names a study's output folder after its path relative to the
// manifest (extension dropped, separators as '_') and its series.
func defaultID(dir, studyPath, series string) string {
	rel, err := filepath.Rel(dir, studyPath)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = strings.TrimPrefix(studyPath, string(filepath.Separator))
	}
	for _, ext := range []string{".nii.gz", ".nii", ".dcm"} {
		if strings.HasSuffix(strings.ToLower(rel), ext) {
			rel = rel[:len(rel)-len(ext)]
			break
		}
	}
	if series != "" {
		rel += "_" + series
	}
	id := regexp.MustCompile(`[^A-Za-z0-9.-]+`).ReplaceAllString(rel, "_")
	id = strings.Trim(id, "_.")
	if id == "" {
		id = "study"
	}
	return id
}

// Hash identifies the study's manifest rows: a study whose outputs carry
// the same hash is done.
func (s *Study) Hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\n", s.Path, s.Series, s.ID)
	for _, r := range s.Rows {
		for _, c := range Columns {
			v := r.cells[c]
			if c == "reference" {
				v = r.Reference
			}
			fmt.Fprintf(h, "%s=%s\x00", c, v)
		}
		fmt.Fprintf(h, "label=%d\n", r.Label)
	}
	return hex.EncodeToString(h.Sum(nil))
}
