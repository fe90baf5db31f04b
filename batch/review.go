package batch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReviewFile in a study's folder is the reviewer's "needs review" flag;
// results.csv shows it in its needs_review column.
const ReviewFile = "needs_review"

// ReviewItem is one study of a batch to look at in the viewer.
type ReviewItem struct {
	ID, Study, Series string // Study: the absolute path
	Segmentation      string // DIR/ID/segmentation.nii.gz
	NeedsReview       bool
	// Failed is why the batch failed on some of the study's structures,
	// as results.csv says ("liver: line 5: box ... outside the image"),
	// or "" when it failed on none.
	Failed string
}

// ReviewList is the studies of the batch in dir that have a segmentation,
// in manifest order.
func ReviewList(dir string) ([]ReviewItem, error) {
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	m, err := ReadManifest(st.Manifest)
	if err != nil {
		return nil, err
	}
	var out []ReviewItem
	for _, s := range m.Studies {
		seg := filepath.Join(dir, s.ID, SegmentationFile)
		if _, err := os.Stat(seg); err != nil {
			continue
		}
		out = append(out, ReviewItem{ID: s.ID, Study: s.Path, Series: s.Series, Segmentation: seg, NeedsReview: needsReview(dir, s.ID),
			Failed: failures(dir, s)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no segmentation yet: run the batch first", dir)
	}
	return out, nil
}

// SetNeedsReview sets or clears a study's flag and rewrites results.csv.
func SetNeedsReview(dir, id string, on bool) error {
	path := filepath.Join(dir, id, ReviewFile)
	var err error
	if on {
		err = os.WriteFile(path, nil, 0o644)
	} else if err = os.Remove(path); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return err
	}
	st, err := ReadState(dir)
	if err != nil {
		return err
	}
	m, err := ReadManifest(st.Manifest)
	if err != nil {
		return err
	}
	_, err = Collect(m, dir)
	return err
}

// failures is the errors of st's rows in its results, "name: status"
// joined by "; ".
func failures(dir string, st *Study) string {
	res, _ := readStudy(dir, st)
	var out []string
	for _, r := range res {
		if r.Status != StatusOK {
			out = append(out, r.Name+": "+r.Status)
		}
	}
	return strings.Join(out, "; ")
}

func needsReview(dir, id string) bool {
	_, err := os.Stat(filepath.Join(dir, id, ReviewFile))
	return err == nil
}
