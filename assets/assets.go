// Package assets holds the files the programs carry inside them: the sample
// study the viewer opens when started without a path.
package assets

import _ "embed"

// SampleName is the file name of the sample study.
const SampleName = "example_ct_sm.nii.gz"

// SampleCT is the TotalSegmentator example CT (Apache-2.0, see
// sample/README.md), as its .nii.gz bytes.
//
//go:embed sample/example_ct_sm.nii.gz
var SampleCT []byte
