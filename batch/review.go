package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/volume"
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
	m, err := manifestOf(dir)
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
	m, err := manifestOf(dir)
	if err != nil {
		return err
	}
	_, err = Collect(m, dir)
	return err
}

// manifestOf reads the manifest the batch in dir was run with.
func manifestOf(dir string) (*Manifest, error) {
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	return ReadManifest(st.Manifest)
}

// Corrected recomputes the rows of study id of the batch in dir from lm,
// its segmentation as the reviewer corrected and saved it, on vol (the
// study's image), with the batch's own code: voxels, mL, intensities, and
// Dice and HD95 against the manifest's references. The rows are marked
// corrected and ok (the map is now the reviewer's, whatever the engine
// failed on), and keep the batch's engine, device and seconds; a rerun of
// the batch keeps them as it keeps any study done (--force redoes it).
// DIR/results.csv is rewritten with every study's rows and flags.
func Corrected(dir, id string, vol *volume.Volume, lm *labels.LabelMap) error {
	m, err := manifestOf(dir)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(m.Studies, func(s *Study) bool { return s.ID == id })
	if i < 0 {
		return fmt.Errorf("%s is not a study of the batch in %s", id, dir)
	}
	st := m.Studies[i]
	res, ok := readStudy(dir, st)
	if !ok {
		return fmt.Errorf("%s: the batch's results for it are missing or from an older manifest: run the batch again first", id)
	}
	for i := range res {
		res[i].Status, res[i].Corrected = StatusOK, true
	}
	measure(context.Background(), st, res, lm, vol)
	if err := writeStudyResults(dir, st, res); err != nil {
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
