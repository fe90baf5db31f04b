// Package clip carries CLIP's tokenizer files inside the programs, for a
// SegVol checkpoint that comes without them (the bare GitHub .pth). See
// README.md for their origin.
package clip

import _ "embed"

// TokenizerJSON is SegVol's CLIP tokenizer.json, gzip-compressed (565 KB
// instead of 2.2 MB in every binary); infer/clip's Parse reads it as it is.
//
//go:embed tokenizer.json.gz
var TokenizerJSON []byte
