// Package seg writes and reads DICOM Segmentation objects (SEG): binary
// masks, one segment per item, each frame one slice of one segment, placed
// by its plane position and referencing the source images it was drawn on.
//
// The types are plain (masks are []uint8 in a volume's grid) so that label
// maps and segment tables elsewhere in the program can be converted without
// this package knowing them.
package seg

import (
	"math"
	"strings"
)

// SOPClassSegmentation and SOPClassLabelMapSegmentation are the storage
// SOP classes read; the first is the one written.
const (
	SOPClassSegmentation         = "1.2.840.10008.5.1.4.1.1.66.4"
	SOPClassLabelMapSegmentation = "1.2.840.10008.5.1.4.1.1.66.7"
)

// Code is a coded concept (a Code Sequence item).
type Code struct {
	Value, Scheme, Meaning string // CodeValue, CodingSchemeDesignator, CodeMeaning
}

// Segment describes one segment of a segmentation.
type Segment struct {
	// Number identifies the segment: for WriteLabelMap the label value of
	// its voxels. DICOM numbers a SEG's segments 1..N in order, so Write
	// stores the i-th segment as i+1 and Read returns those numbers.
	Number      int
	Label       string
	Description string
	// Category and Type are the SegmentedPropertyCategory and Type codes;
	// Write fills empty ones from the label (see CodeFor).
	Category, Type Code
	// Color is the display colour in sRGB; DICOM stores it as CIELab.
	Color [3]uint8
	// Algorithm is MANUAL, SEMIAUTOMATIC or AUTOMATIC (MANUAL when empty);
	// AlgorithmName names the tool for the latter two.
	Algorithm, AlgorithmName string
}

// Codes for what CodeFor cannot name: a generic tissue.
var (
	CategoryAnatomy = Code{"123037004", "SCT", "Anatomical Structure"}
	CategoryTissue  = Code{"85756007", "SCT", "Tissue"}
	TypeTissue      = Code{"85756007", "SCT", "Tissue"}
)

// anatomy maps normalised structure names to SNOMED CT concepts.
var anatomy = map[string]Code{
	"liver":              {"10200004", "SCT", "Liver"},
	"spleen":             {"78961009", "SCT", "Spleen"},
	"kidney":             {"64033007", "SCT", "Kidney"},
	"kidney right":       {"9846003", "SCT", "Right kidney"},
	"right kidney":       {"9846003", "SCT", "Right kidney"},
	"kidney left":        {"18639004", "SCT", "Left kidney"},
	"left kidney":        {"18639004", "SCT", "Left kidney"},
	"aorta":              {"15825003", "SCT", "Aorta"},
	"gallbladder":        {"28231008", "SCT", "Gallbladder"},
	"stomach":            {"69695003", "SCT", "Stomach"},
	"pancreas":           {"15776009", "SCT", "Pancreas"},
	"esophagus":          {"32849002", "SCT", "Esophagus"},
	"heart":              {"80891009", "SCT", "Heart"},
	"lung":               {"39607008", "SCT", "Lung"},
	"urinary bladder":    {"89837001", "SCT", "Urinary bladder"},
	"bladder":            {"89837001", "SCT", "Urinary bladder"},
	"brain":              {"12738006", "SCT", "Brain"},
	"trachea":            {"44567001", "SCT", "Trachea"},
	"duodenum":           {"38848004", "SCT", "Duodenum"},
	"colon":              {"71854001", "SCT", "Colon"},
	"small bowel":        {"30315005", "SCT", "Small intestine"},
	"small intestine":    {"30315005", "SCT", "Small intestine"},
	"prostate":           {"41216001", "SCT", "Prostate"},
	"inferior vena cava": {"64131007", "SCT", "Inferior vena cava"},
	"spinal cord":        {"2748008", "SCT", "Spinal cord"},
	"adrenal gland":      {"23451007", "SCT", "Adrenal gland"},
	"thyroid":            {"69748006", "SCT", "Thyroid"},
	"thyroid gland":      {"69748006", "SCT", "Thyroid"},
}

// CodeFor returns the category and type codes for a structure name
// ("liver", "kidney_right", "lung_upper_lobe_left" falls back to "lung"),
// and false with the generic Tissue codes for a name it does not know.
func CodeFor(name string) (category, typ Code, known bool) {
	n := strings.Join(strings.Fields(strings.ToLower(strings.NewReplacer("_", " ", "-", " ").Replace(name))), " ")
	if c, ok := anatomy[n]; ok {
		return CategoryAnatomy, c, true
	}
	// The longest known name the label starts with: a lobe is lung.
	best := ""
	for k := range anatomy {
		if strings.HasPrefix(n, k+" ") && len(k) > len(best) {
			best = k
		}
	}
	if best != "" {
		return CategoryAnatomy, anatomy[best], true
	}
	return CategoryTissue, TypeTissue, false
}

// D65 white point (CIE 1931 2°), the reference of sRGB.
var white = [3]float64{0.95047, 1.0, 1.08883}

// rgbToLab converts sRGB to the DICOM CIELab encoding: L* 0..100 and a*, b*
// -128..127 scaled to 0..65535.
func rgbToLab(c [3]uint8) [3]int {
	var lin [3]float64
	for i, v := range c {
		x := float64(v) / 255
		if x <= 0.04045 {
			lin[i] = x / 12.92
		} else {
			lin[i] = math.Pow((x+0.055)/1.055, 2.4)
		}
	}
	xyz := [3]float64{
		0.4124564*lin[0] + 0.3575761*lin[1] + 0.1804375*lin[2],
		0.2126729*lin[0] + 0.7151522*lin[1] + 0.0721750*lin[2],
		0.0193339*lin[0] + 0.1191920*lin[1] + 0.9503041*lin[2],
	}
	var f [3]float64
	for i := range f {
		t := xyz[i] / white[i]
		if t > 216.0/24389 {
			f[i] = math.Cbrt(t)
		} else {
			f[i] = (24389.0/27*t + 16) / 116
		}
	}
	l, a, b := 116*f[1]-16, 500*(f[0]-f[1]), 200*(f[1]-f[2])
	return [3]int{
		clampU16(l * 65535 / 100),
		clampU16((a + 128) * 65535 / 255),
		clampU16((b + 128) * 65535 / 255),
	}
}

// labToRGB is the inverse of rgbToLab.
func labToRGB(lab [3]int) [3]uint8 {
	l := float64(lab[0]) * 100 / 65535
	a := float64(lab[1])*255/65535 - 128
	b := float64(lab[2])*255/65535 - 128
	fy := (l + 16) / 116
	f := [3]float64{fy + a/500, fy, fy - b/200}
	var xyz [3]float64
	for i, v := range f {
		if v*v*v > 216.0/24389 {
			xyz[i] = v * v * v * white[i]
		} else {
			xyz[i] = (116*v - 16) / (24389.0 / 27) * white[i]
		}
	}
	lin := [3]float64{
		3.2404542*xyz[0] - 1.5371385*xyz[1] - 0.4985314*xyz[2],
		-0.9692660*xyz[0] + 1.8760108*xyz[1] + 0.0415560*xyz[2],
		0.0556434*xyz[0] - 0.2040259*xyz[1] + 1.0572252*xyz[2],
	}
	var out [3]uint8
	for i, v := range lin {
		if v <= 0.0031308 {
			v *= 12.92
		} else {
			v = 1.055*math.Pow(v, 1/2.4) - 0.055
		}
		out[i] = uint8(math.Max(0, math.Min(255, math.Round(v*255))))
	}
	return out
}

func clampU16(v float64) int {
	return int(math.Max(0, math.Min(65535, math.Round(v))))
}
