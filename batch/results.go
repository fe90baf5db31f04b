package batch

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/segvolapp/segvol/viewer/labels"
)

// StatusOK is the status of a row that was segmented; any other status is
// the error that stopped it.
const StatusOK = "ok"

var nan = math.NaN()

// ResultColumns are results.csv's columns.
var ResultColumns = []string{"study", "series", "name", "label", "voxels", "ml", "mean", "std", "min", "max",
	"dice", "hd95", "engine", "device", "seconds", "status", "needs_review", "corrected"}

// Result is one structure's row of results.csv. The intensities are the
// image's real values (HU for CT) inside the segment; NaN (an empty field)
// where there is nothing to measure.
type Result struct {
	Study, Series, Name     string
	Label, Voxels           int
	ML, Mean, Std, Min, Max float64
	Dice, HD95              float64
	Engine, Device          string
	Seconds                 float64
	Status                  string
	// NeedsReview is the reviewer's flag on the study (segvol-viewer
	// --review), "yes" in the table.
	NeedsReview bool
	// Corrected ("yes") says the study's segmentation was corrected by
	// hand in review and saved: the statistics, Dice and HD95 are the
	// corrected map's, while engine, device and seconds stay the batch's.
	Corrected bool
}

// WriteResults writes a header and one row per result.
func WriteResults(w io.Writer, res []Result) error {
	cw := csv.NewWriter(w)
	cw.Write(ResultColumns)
	for _, r := range res {
		cw.Write([]string{r.Study, r.Series, r.Name, strconv.Itoa(r.Label), strconv.Itoa(r.Voxels),
			labels.CSVNumber(r.ML, 4), labels.CSVNumber(r.Mean, 3), labels.CSVNumber(r.Std, 3),
			labels.CSVNumber(r.Min, -1), labels.CSVNumber(r.Max, -1), labels.CSVNumber(r.Dice, 4), labels.CSVNumber(r.HD95, 3),
			r.Engine, r.Device, labels.CSVNumber(r.Seconds, 3), r.Status, yes(r.NeedsReview), yes(r.Corrected)})
	}
	cw.Flush()
	return cw.Error()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

// ReadResultsFile reads a results.csv file.
func ReadResultsFile(path string) ([]Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadResults(f)
}

// ReadResults reads what WriteResults wrote.
func ReadResults(r io.Reader) ([]Result, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(ResultColumns, ",") {
		return nil, fmt.Errorf("not a results table (header %v)", recs)
	}
	var out []Result
	for _, c := range recs[1:] {
		if len(c) != len(ResultColumns) {
			return nil, fmt.Errorf("results row of %d fields", len(c))
		}
		var r Result
		var errs [2]error
		r.Study, r.Series, r.Name, r.Engine, r.Device, r.Status, r.NeedsReview = c[0], c[1], c[2], c[12], c[13], c[15], c[16] == "yes"
		r.Label, errs[0] = strconv.Atoi(c[3])
		r.Voxels, errs[1] = strconv.Atoi(c[4])
		for _, e := range errs {
			if e != nil {
				return nil, e
			}
		}
		for i, p := range []*float64{&r.ML, &r.Mean, &r.Std, &r.Min, &r.Max, &r.Dice, &r.HD95} {
			if *p, err = number(c[5+i]); err != nil {
				return nil, err
			}
		}
		if r.Seconds, err = number(c[14]); err != nil {
			return nil, err
		}
		r.Corrected = c[17] == "yes"
		out = append(out, r)
	}
	return out, nil
}

// number parses a field, empty meaning NaN.
func number(s string) (float64, error) {
	if s == "" {
		return nan, nil
	}
	return strconv.ParseFloat(s, 64)
}

// oneLine keeps an error to one line of a CSV cell.
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}
