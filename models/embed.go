// Package models carries SegVol's category list (categories.txt) into the
// programs, for the structure names a text prompt suggests wherever the
// program is installed; the rest of this folder is data and the Python
// reference (models/segvol).
package models

import _ "embed"

// Categories is categories.txt: one structure name per line, # comments.
//
//go:embed categories.txt
var Categories []byte
