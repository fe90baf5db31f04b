package assets

import "embed"

// Component is one part of someone else's work that the programs or their
// installers carry, with the file in Licenses that holds its license.
type Component struct {
	Name    string
	License string // SPDX identifier
	File    string // path in Licenses
}

// Bundled lists what is compiled into the programs or shipped beside them.
var Bundled = []Component{
	{"Fyne (GUI toolkit)", "BSD-3-Clause", "licenses/fyne.txt"},
	{"go-gl/gl, go-gl/glfw and GLFW (OpenGL and windowing)", "MIT, BSD-3-Clause, Zlib", "licenses/go-gl.txt"},
	{"ONNX Runtime 1.30.0 (shipped beside the programs)", "MIT", "licenses/onnxruntime.txt"},
	{"onnxruntime_go (ONNX Runtime from Go)", "MIT", "licenses/onnxruntime_go.txt"},
	{"OpenJPEG (JPEG 2000 decoding)", "BSD-2-Clause", "licenses/openjpeg.txt"},
	{"CharLS (JPEG-LS decoding)", "BSD-3-Clause", "licenses/charls.txt"},
	{"libdeflate (fast .nii.gz reading)", "MIT", "licenses/libdeflate.txt"},
	{"suyashkumar/dicom (DICOM parsing)", "MIT", "licenses/suyashkumar-dicom.txt"},
	{"The Go standard library and runtime", "BSD-3-Clause", "licenses/go.txt"},
	{"The sample study (TotalSegmentator example CT)", "Apache-2.0", "licenses/sample-study.txt"},
}

// Licenses holds the license texts of Bundled.
//
//go:embed licenses/*.txt
var Licenses embed.FS
