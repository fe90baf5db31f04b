package labels

import (
	"image/color"
	"testing"
)

// TestDigest: the digest follows what a SEG of the map holds (a voxel, a
// name, a colour) and nothing else (visibility, opacity), and two maps
// loaded alike share it.
func TestDigest(t *testing.T) {
	a, b := sampleMap(t), sampleMap(t)
	d := a.Digest()
	if len(d) != 64 || b.Digest() != d {
		t.Fatalf("two loads of the sample: %q and %q", d, b.Digest())
	}
	v := a.Segments()[0].Value
	if err := a.SetVisible(v, false); err != nil {
		t.Fatal(err)
	}
	if err := a.SetOpacity(v, 0.2); err != nil {
		t.Fatal(err)
	}
	if a.Digest() != d {
		t.Error("hiding a segment changed the digest")
	}
	seen := map[string]string{d: "the sample"}
	for what, edit := range map[string]func(m *LabelMap) error{
		"a rename":   func(m *LabelMap) error { return m.Rename(v, "other") },
		"a recolour": func(m *LabelMap) error { return m.Recolor(v, color.NRGBA{1, 2, 3, 255}) },
		"a voxel": func(m *LabelMap) error {
			mask := make([]uint8, len(m.vox))
			mask[0] = 1
			_, err := m.Apply(mask, v, Add)
			return err
		},
	} {
		m := sampleMap(t)
		if err := edit(m); err != nil {
			t.Fatal(err)
		}
		if other, ok := seen[m.Digest()]; ok {
			t.Errorf("%s gives the digest of %s", what, other)
		}
		seen[m.Digest()] = what
	}
}
