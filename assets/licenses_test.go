package assets

import (
	"io/fs"
	"testing"
)

// TestLicensesMatchBundled checks that every bundled component has a
// non-empty license text and that no text is left unlisted.
func TestLicensesMatchBundled(t *testing.T) {
	listed := map[string]bool{}
	for _, c := range Bundled {
		b, err := Licenses.ReadFile(c.File)
		if err != nil || len(b) < 200 {
			t.Errorf("%s: license text %s missing or too short (%d bytes, %v)", c.Name, c.File, len(b), err)
		}
		listed[c.File] = true
	}
	files, err := fs.Glob(Licenses, "licenses/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !listed[f] {
			t.Errorf("%s is embedded but no component in Bundled names it", f)
		}
	}
}
