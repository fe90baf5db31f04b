package dicom

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// TestGatherSameAsScanLoad: files handed to a Gather as they arrive (in
// an order other than the slices', concurrently, as a PACS retrieve does)
// give the series and volume that Scan and Load of their folder give.
// Where the images go straight into the volume (native little endian,
// one image a file) the files are deleted before Load: it must not read
// them. Compressed and big-endian files fall back to reading them.
func TestGatherSameAsScanLoad(t *testing.T) {
	cases := []struct {
		name, dir string
		files     []string // nil: the whole folder
		direct    bool
	}{
		{"ct-3slice", filepath.Join(testdata, "dcmqi_ct3slice_seg", "ct-3slice"), nil, true},
		{"MR_small", filepath.Join(testdata, "pydicom_test_files"), []string{"MR_small.dcm"}, true},
		{"jpeg2000-ct", filepath.Join(testdata, "totalsegmentator", "example_ct_dicom_subset"), nil, false},
		{"big-endian", filepath.Join(testdata, "pydicom_test_files"), []string{"MR_small_bigendian.dcm"}, false},
		{"vsseg-mr-120", filepath.Join(sharedData, "niivue_vsseg_mr_dicom", "dicom"), nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.dir); err != nil {
				t.Skipf("%s absent", tc.dir)
			}
			names := tc.files
			if names == nil {
				ents, err := os.ReadDir(tc.dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ents {
					if !strings.HasSuffix(e.Name(), ".txt") { // the MR's manifest
						names = append(names, e.Name())
					}
				}
			}
			// Arrival order: neither the slices' nor its reverse.
			sort.Strings(names)
			names = append(names[len(names)/2:], names[:len(names)/2]...)
			// The folder as the cache holds it: named by arrival.
			dir := t.TempDir()
			files := make([][]byte, len(names))
			for i, n := range names {
				b, err := os.ReadFile(filepath.Join(tc.dir, n))
				if err != nil {
					t.Fatal(err)
				}
				files[i] = b
				write(t, filepath.Join(dir, fmt.Sprintf("%06d.dcm", i+1)), b)
			}
			want, err := Scan(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			ws, err := want.Select("")
			if err != nil {
				t.Fatal(err)
			}
			wv, err := Load(context.Background(), ws, nil)
			if err != nil {
				t.Fatal(err)
			}

			g := NewGather(len(names))
			var wg sync.WaitGroup
			for i, b := range files {
				keep := bytes.Clone(b)
				wg.Go(func() {
					g.Add(i, filepath.Join(dir, fmt.Sprintf("%06d.dcm", i+1)), b)
					if !bytes.Equal(b, keep) {
						t.Errorf("file %d changed by Add", i)
					}
				})
			}
			wg.Wait()
			got, err := g.Scan(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("gathered series differ from the scan:\n%+v\n%+v", got.Series[0], want.Series[0])
			}
			if tc.direct {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			}
			gs, _ := got.Select("")
			gv, err := g.Load(context.Background(), gs, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gv, wv) {
				t.Fatalf("gathered volume differs: %v %+v vs %v %+v", gv.Dims, gv.Geom, wv.Dims, wv.Geom)
			}
		})
	}
}

// TestGatherTooMany: more files than expected, or fewer, give up the
// direct volume and read the files: the same volume all the same.
func TestGatherTooMany(t *testing.T) {
	src := filepath.Join(testdata, "dcmqi_ct3slice_seg", "ct-3slice")
	for _, expected := range []int{2, 4} {
		g := NewGather(expected)
		for i, n := range []string{"01.dcm", "02.dcm", "03.dcm"} {
			b, err := os.ReadFile(filepath.Join(src, n))
			if err != nil {
				t.Fatal(err)
			}
			g.Add(i, filepath.Join(src, n), b)
		}
		scan, err := g.Scan(src)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := scan.Select("")
		got, err := g.Load(context.Background(), s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, loadOne(t, src)) {
			t.Errorf("expected %d: the volume differs from Load's", expected)
		}
	}
}
