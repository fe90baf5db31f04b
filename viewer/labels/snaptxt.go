package labels

import (
	"bufio"
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// The ITK-SNAP label description file: '#' comment lines, then one line per
// label of seven whitespace-separated fields and a quoted name:
//
//	IDX  R  G  B  A  VIS  MSH  "LABEL"
//
// IDX is the label value, R G B are 0..255, A is the opacity 0..1, VIS and
// MSH are 0 or 1 (shown in slices, shown in 3D). Index 0 is the background
// ("Clear Label"). ITK-SNAP writes the fields right-aligned in columns of
// 5, 5, 4, 4, 8, 2 and 2 characters, separated by one space.

// maxDescriptionBytes bounds a label description file: 256 lines of a
// long name fit many times over.
const maxDescriptionBytes = 1 << 20

// lockedPrefix starts the comment line listing the locked labels.
const lockedPrefix = "# SegVol locked:"

// writeDescription writes the table in ITK-SNAP's layout.
func writeDescription(w io.Writer, segs []Segment) error {
	var b bytes.Buffer
	b.WriteString("################################################\n")
	b.WriteString("# ITK-SnAP Label Description File\n")
	b.WriteString("# written by SegVol\n")
	b.WriteString("# File format:\n")
	b.WriteString("# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL\n")
	b.WriteString("# IDX: label value; -R- -G- -B-: colour 0..255; -A--: opacity 0..1;\n")
	b.WriteString("# VIS: shown in slices (0/1); MSH: shown in 3D (0/1); LABEL: its name\n")
	b.WriteString("################################################\n")
	line := func(v int, c color.NRGBA, a float64, vis, msh int, name string) {
		// A quote would end the name early in ITK-SNAP's reader.
		name = strings.NewReplacer(`"`, "'", "\n", " ", "\r", " ").Replace(name)
		fmt.Fprintf(&b, "%5d %5d %4d %4d %8s %2d %2d    \"%s\"\n", v, c.R, c.G, c.B,
			strconv.FormatFloat(a, 'g', 4, 64), vis, msh, name)
	}
	line(0, color.NRGBA{}, 0, 0, 0, "Clear Label")
	for _, s := range segs {
		vis := 0
		if s.Visible {
			vis = 1
		}
		line(int(s.Value), s.Color, s.Opacity, vis, vis, s.Name)
	}
	// ITK-SNAP has no lock column: the locks go in a comment line, which
	// its reader skips, so the file reads there as before.
	var locked []string
	for _, s := range segs {
		if s.Locked {
			locked = append(locked, strconv.Itoa(int(s.Value)))
		}
	}
	if len(locked) > 0 {
		b.WriteString(lockedPrefix + " " + strings.Join(locked, " ") + "\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// ReadDescription reads an ITK-SNAP label description file: the segments
// it lists, background left out.
func ReadDescription(path string) ([]Segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	defer f.Close()
	return readDescription(path, f)
}

// readDescription parses an ITK-SNAP label description file into segments
// (background left out); name is for messages.
func readDescription(name string, r io.Reader) ([]Segment, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDescriptionBytes+1))
	if err != nil {
		return nil, fmt.Errorf("labels: %s: %w", name, err)
	}
	if len(data) > maxDescriptionBytes {
		return nil, fmt.Errorf("labels: %s: larger than %d bytes, not a label description file", name, maxDescriptionBytes)
	}
	var segs []Segment
	seen := map[int]bool{}
	var locked []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxDescriptionBytes)
	for ln := 1; sc.Scan(); ln++ {
		text := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(text, lockedPrefix); ok {
			locked = append(locked, strings.Fields(rest)...)
			continue
		}
		if text == "" || text[0] == '#' {
			continue
		}
		s, err := parseDescriptionLine(text)
		if err != nil {
			return nil, fmt.Errorf("labels: %s line %d: %w", name, ln, err)
		}
		if s.Value == 0 {
			continue
		}
		if seen[int(s.Value)] {
			return nil, fmt.Errorf("labels: %s line %d: label %d listed twice", name, ln, s.Value)
		}
		seen[int(s.Value)] = true
		segs = append(segs, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("labels: %s: %w", name, err)
	}
	// A lock of a label not listed, or not a number, is a comment like any
	// other: the segments read are what matters.
	for _, f := range locked {
		for i := range segs {
			if strconv.Itoa(int(segs[i].Value)) == f {
				segs[i].Locked = true
			}
		}
	}
	return segs, nil
}

// Describe applies a label description (ReadDescription's segments) to the
// table in one undoable step, as ITK-SNAP's Import Label Descriptions: each
// listed value takes the listed name, colour, visibility, opacity and lock, and
// becomes a segment if it was none. Voxels are left as they are.
func (m *LabelMap) Describe(segs []Segment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.changeTable("label descriptions", func(t *table) {
		for _, s := range segs {
			if s.Value != 0 {
				t.seg[s.Value], t.used[s.Value] = s, true
			}
		}
	})
}

func parseDescriptionLine(text string) (Segment, error) {
	q := strings.IndexByte(text, '"')
	end := strings.LastIndexByte(text, '"')
	if q < 0 || end == q {
		return Segment{}, fmt.Errorf("no quoted label name")
	}
	f := strings.Fields(text[:q])
	if len(f) != 7 {
		return Segment{}, fmt.Errorf("%d fields before the name, want 7 (IDX R G B A VIS MSH)", len(f))
	}
	var n [7]float64
	for i, s := range f {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return Segment{}, fmt.Errorf("field %d %q is not a number", i+1, s)
		}
		n[i] = x
	}
	if n[0] != math.Trunc(n[0]) || n[0] < 0 || n[0] > 255 {
		return Segment{}, fmt.Errorf("label %s does not fit a uint8 label map (0..255)", f[0])
	}
	var rgb [3]uint8
	for i := range 3 {
		if n[1+i] < 0 || n[1+i] > 255 {
			return Segment{}, fmt.Errorf("colour component %s outside 0..255", f[1+i])
		}
		rgb[i] = uint8(n[1+i])
	}
	if n[4] < 0 || n[4] > 1 {
		return Segment{}, fmt.Errorf("opacity %s outside 0..1", f[4])
	}
	return Segment{
		Value:   uint8(n[0]),
		Name:    text[q+1 : end],
		Color:   color.NRGBA{R: rgb[0], G: rgb[1], B: rgb[2], A: 255},
		Visible: n[5] != 0,
		Opacity: n[4],
	}, nil
}
