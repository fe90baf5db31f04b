package checkpoint

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// readTorch lists the tensors of torch.save's zip: PREFIX/data.pkl, the
// pickled object whose tensors refer to storages by key, and PREFIX/data/KEY,
// each storage's raw bytes.
func readTorch(f *os.File, size int64) ([]Tensor, error) {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, err
	}
	entries := map[string]*zip.File{}
	var pkl *zip.File
	for _, e := range zr.File {
		entries[e.Name] = e
		if path.Base(e.Name) == "data.pkl" && strings.Count(e.Name, "/") == 1 {
			pkl = e
		}
	}
	if pkl == nil {
		return nil, errors.New("a zip without data.pkl: not a torch.save checkpoint")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if e := entries[prefix+"byteorder"]; e != nil {
		b, err := readEntry(e, 16)
		if err != nil {
			return nil, err
		}
		if bo := strings.TrimSpace(string(b)); bo != "little" {
			return nil, fmt.Errorf("saved %q-endian: only little-endian checkpoints are read", bo)
		}
	}
	b, err := readEntry(pkl, maxPickle)
	if err != nil {
		return nil, err
	}
	storages := map[string]*storage{}
	v, err := unpickle(b, func(id tuple) (any, error) {
		if len(id) != 5 || id[0] != "storage" {
			return nil, fmt.Errorf("persistent id %v is not ('storage', type, key, location, numel)", id)
		}
		typ, ok1 := id[1].(storageType)
		key, ok2 := id[2].(string)
		numel, ok3 := id[4].(int64)
		if !ok1 || !ok2 || !ok3 || numel < 0 {
			return nil, fmt.Errorf("storage id with %s, %s, %s", typeName(id[1]), typeName(id[2]), typeName(id[4]))
		}
		if s := storages[key]; s != nil {
			if s.dtype != DType(typ) || s.numel != numel {
				return nil, fmt.Errorf("storage %s seen as both %s[%d] and %s[%d]", key, s.dtype, s.numel, DType(typ), numel)
			}
			return s, nil
		}
		s := &storage{key: key, dtype: DType(typ), numel: numel}
		storages[key] = s
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	sd, err := stateDict(v)
	if err != nil {
		return nil, err
	}
	ts := make([]Tensor, len(sd.keys))
	for i, k := range sd.keys {
		name := k.(string)
		rt := sd.vals[i].(*rawTensor)
		if ts[i], err = torchTensor(f, size, entries[prefix+"data/"+rt.st.key], rt); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		ts[i].Name = name
	}
	return ts, nil
}

// readEntry reads a small zip entry whole, up to limit bytes.
func readEntry(e *zip.File, limit int64) ([]byte, error) {
	if e.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", e.Name, e.UncompressedSize64, limit)
	}
	r, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, limit))
}

// torchTensor checks a tensor against its storage's entry.
func torchTensor(f *os.File, size int64, e *zip.File, rt *rawTensor) (Tensor, error) {
	st := rt.st
	if e == nil {
		return Tensor{}, fmt.Errorf("storage %s missing from the zip", st.key)
	}
	es := st.dtype.Size()
	if st.numel > (1<<50)/es || e.UncompressedSize64 < uint64(st.numel*es) {
		return Tensor{}, fmt.Errorf("storage %s holds %d bytes, not the %d of %d %s", st.key, e.UncompressedSize64, st.numel*es, st.numel, st.dtype)
	}
	off, err := e.DataOffset()
	if err != nil {
		return Tensor{}, err
	}
	r := region{file: f, base: off, size: st.numel * es}
	if e.Method != zip.Store {
		r.zf = e
	} else if off+r.size > size {
		return Tensor{}, fmt.Errorf("storage %s runs past the end of the file", st.key)
	}
	n, err := checkedShape(rt.shape)
	if err != nil {
		return Tensor{}, err
	}
	for _, s := range rt.strides {
		if s < 0 {
			return Tensor{}, fmt.Errorf("negative stride in %v", rt.strides)
		}
	}
	if rt.offset < 0 || (n > 0 && (rt.offset > st.numel || extent(rt.shape, rt.strides) > st.numel-rt.offset)) {
		return Tensor{}, fmt.Errorf("shape %v, strides %v from element %d reach past the %d elements of storage %s", rt.shape, rt.strides, rt.offset, st.numel, st.key)
	}
	t := Tensor{DType: st.dtype, Shape: rt.shape, data: r, offset: rt.offset * es}
	if !contiguous(rt.shape, rt.strides) {
		t.strides = rt.strides
		// A stride-0 view of a few values can claim any size: what it
		// yields is bounded as its file is.
		if t.Bytes() > size {
			return Tensor{}, fmt.Errorf("a view of shape %v, strides %v: %d bytes made contiguous, more than the whole file", rt.shape, rt.strides, t.Bytes())
		}
	}
	return t, nil
}

// stateDict finds the state dict in what torch.save saved: the object
// itself when it maps names to tensors, else its "state_dict" or "model"
// entry (how training scripts save a model with its optimizer).
func stateDict(v any) (*dict, error) {
	d, ok := v.(*dict)
	if !ok {
		return nil, fmt.Errorf("the checkpoint holds a %s, not a dict of tensors", typeName(v))
	}
	if isStateDict(d) {
		return d, nil
	}
	for _, k := range []string{"state_dict", "model"} {
		if i, ok := d.index[k]; ok {
			if sd, ok := d.vals[i].(*dict); ok && isStateDict(sd) {
				return sd, nil
			}
		}
	}
	var keys []string
	for _, k := range d.keys {
		keys = append(keys, fmt.Sprint(k))
	}
	sort.Strings(keys)
	if len(keys) > 10 {
		keys = append(keys[:10], "...")
	}
	return nil, fmt.Errorf("no state dict: the checkpoint is a dict with keys %v, neither all tensors nor with a state_dict or model entry that is", keys)
}

func isStateDict(d *dict) bool {
	for i, k := range d.keys {
		_, ok1 := k.(string)
		_, ok2 := d.vals[i].(*rawTensor)
		if !ok1 || !ok2 {
			return false
		}
	}
	return len(d.keys) > 0
}
