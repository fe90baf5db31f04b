package checkpoint

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
)

// region is a run of bytes in a file that a tensor's data lie in: a torch
// storage (a zip entry) or the data section of a safetensors file.
type region struct {
	file *os.File
	base int64     // where the bytes start in the file
	size int64     // how many
	zf   *zip.File // set when the entry is compressed: read through it
}

// open reads n bytes from off on.
func (r region) open(off, n int64) (io.Reader, error) {
	if off < 0 || n < 0 || off+n > r.size {
		return nil, fmt.Errorf("bytes %d..%d outside the %d of the storage", off, off+n, r.size)
	}
	if r.zf == nil {
		return &section{io.NewSectionReader(r.file, r.base+off, n), r.file, r.base + off}, nil
	}
	// torch stores its entries uncompressed; a re-zipped checkpoint is read
	// from the start of the entry (its reader holds no file of its own).
	rc, err := r.zf.Open()
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(io.Discard, rc, off); err != nil {
		return nil, err
	}
	return io.LimitReader(rc, n), nil
}

// section is the bytes of a contiguous tensor in a file. Copied into
// another file, it goes through a handle of its own placed at the data, so
// that the kernel copies the bytes (copy_file_range on Linux) without
// passing them through user memory: it halves the time of streaming a
// checkpoint into an external-data file.
type section struct {
	*io.SectionReader
	file *os.File
	off  int64 // of the section in file
}

// WriteTo copies what is left of the section to w.
func (s *section) WriteTo(w io.Writer) (int64, error) {
	pos, _ := s.Seek(0, io.SeekCurrent)
	if dst, ok := w.(*os.File); ok {
		if n, ok, err := s.copyFile(dst, pos); ok {
			return n, err
		}
	}
	return io.CopyBuffer(w, struct{ io.Reader }{s.SectionReader}, make([]byte, 1<<20))
}

func (s *section) copyFile(dst *os.File, pos int64) (int64, bool, error) {
	f, err := os.Open(s.file.Name())
	if err != nil {
		return 0, false, nil
	}
	defer f.Close()
	a, err1 := s.file.Stat()
	b, err2 := f.Stat()
	if err1 != nil || err2 != nil || !os.SameFile(a, b) { // the path names another file now
		return 0, false, nil
	}
	if _, err := f.Seek(s.off+pos, io.SeekStart); err != nil {
		return 0, false, nil
	}
	n, err := dst.ReadFrom(io.LimitReader(f, s.Size()-pos))
	s.Seek(pos+n, io.SeekStart)
	return n, true, err
}

// contiguous tells whether strides lay shape out in C order (the stride of
// a dimension of size 1 does not matter; nor do any when there are no
// elements).
func contiguous(shape, strides []int64) bool {
	want := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] == 0 {
			return true
		}
		if shape[i] != 1 && strides[i] != want {
			return false
		}
		want *= shape[i]
	}
	return true
}

// gather reads the part of the storage a strided view reaches and yields
// its elements in C order.
func gather(t Tensor) (io.Reader, error) {
	if t.Elements() == 0 {
		return bytes.NewReader(nil), nil
	}
	es := t.DType.Size()
	span := extent(t.Shape, t.strides)
	r, err := t.data.open(t.offset, span*es)
	if err != nil {
		return nil, err
	}
	// Read, not allocated up front: a compressed entry's size is only a
	// claim until it is read.
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if int64(len(src)) != span*es {
		return nil, fmt.Errorf("storage ends after %d of %d bytes", len(src), span*es)
	}
	return &gatherReader{src: src, es: es, shape: t.Shape, strides: t.strides,
		idx: make([]int64, len(t.Shape)), left: t.Elements(), buf: make([]byte, 0, 64<<10)}, nil
}

// extent is the number of storage elements a view with at least one element
// reaches from its offset.
func extent(shape, strides []int64) int64 {
	n := int64(1)
	for i, d := range shape {
		n += (d - 1) * strides[i]
	}
	return n
}

// gatherReader walks a strided view's indices in C order.
type gatherReader struct {
	src            []byte
	es             int64
	shape, strides []int64
	idx            []int64
	pos, left      int64 // storage element at idx; elements still to yield
	buf, out       []byte
}

func (g *gatherReader) Read(p []byte) (int, error) {
	if len(g.out) == 0 {
		if g.left == 0 {
			return 0, io.EOF
		}
		g.fill()
	}
	n := copy(p, g.out)
	g.out = g.out[n:]
	return n, nil
}

func (g *gatherReader) fill() {
	b := g.buf[:0]
	for g.left > 0 && len(b)+int(g.es) <= cap(b) {
		b = append(b, g.src[g.pos*g.es:(g.pos+1)*g.es]...)
		g.left--
		for k := len(g.idx) - 1; k >= 0; k-- {
			g.idx[k]++
			g.pos += g.strides[k]
			if g.idx[k] < g.shape[k] {
				break
			}
			g.pos -= g.strides[k] * g.shape[k]
			g.idx[k] = 0
		}
	}
	g.out = b
}
