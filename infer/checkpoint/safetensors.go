package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
)

// maxHeader is the safetensors library's own bound on the JSON header.
const maxHeader = 100 << 20

// readSafetensors lists a safetensors file: 8 bytes little-endian, the
// length of a JSON header {name: {dtype, shape, data_offsets: [begin, end]}}
// with offsets into the data that follow it.
func readSafetensors(f *os.File, size int64) ([]Tensor, error) {
	var n [8]byte
	if _, err := f.ReadAt(n[:], 0); err != nil {
		return nil, err
	}
	hl := binary.LittleEndian.Uint64(n[:])
	if hl > maxHeader || int64(hl) > size-8 {
		return nil, fmt.Errorf("safetensors header of %d bytes in a file of %d", hl, size)
	}
	h := make([]byte, hl)
	if _, err := f.ReadAt(h, 8); err != nil {
		return nil, err
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(h, &header); err != nil {
		return nil, fmt.Errorf("safetensors header: %w", err)
	}
	data := region{file: f, base: 8 + int64(hl), size: size - 8 - int64(hl)}
	var ts []Tensor
	for name, raw := range header {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			DType   string   `json:"dtype"`
			Shape   []int64  `json:"shape"`
			Offsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		t := Tensor{Name: name, Shape: e.Shape, data: data}
		for d := range dtypes {
			if d > 0 && dtypes[d].st == e.DType {
				t.DType = DType(d)
			}
		}
		if t.DType == 0 {
			return nil, fmt.Errorf("tensor %s: dtype %q not read", name, e.DType)
		}
		numel, err := checkedShape(e.Shape)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		b, end := e.Offsets[0], e.Offsets[1]
		es := t.DType.Size()
		if b < 0 || end < b || end > data.size || end-b != numel*es {
			return nil, fmt.Errorf("tensor %s: %s%v at bytes %d..%d of a data section of %d", name, t.DType, e.Shape, b, end, data.size)
		}
		t.offset = b
		if t.Shape == nil {
			t.Shape = []int64{}
		}
		ts = append(ts, t)
	}
	return ts, nil
}
