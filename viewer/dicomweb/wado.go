package dicomweb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"sync"
)

// Accept headers for a series retrieve. Asked first: the instances as
// stored, so JPEG 2000, JPEG-LS and the rest arrive untouched for our own
// decoders; then, for servers that refuse that, whatever syntax they
// choose (explicit VR little endian by default, PS3.18 8.7.3.5).
const (
	acceptAsStored   = `multipart/related; type="application/dicom"; transfer-syntax=*`
	acceptTranscoded = `multipart/related; type="application/dicom"`
)

// Progress is told the images received so far and the total expected (0
// when the server did not say).
type Progress func(done, total int)

// retrieveSeries streams a series (WADO-RS) into dir, one file per
// instance as each part arrives (written while the next one is received:
// creating 120 files cost as much as the parsing), and returns the number
// of instances.
// expected, when known from a search, is checked at the end: a series
// that comes short is an error.
// seen, if not nil, is shown each file as it is written (see diskWriter).
func (c *Client) retrieveSeries(ctx context.Context, studyUID, seriesUID, dir string, expected int, progress Progress, seen Seen) (int, error) {
	if err := checkUID(studyUID); err != nil {
		return 0, err
	}
	if err := checkUID(seriesUID); err != nil {
		return 0, err
	}
	u := c.srv.WADO + "/studies/" + studyUID + "/series/" + seriesUID
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	resp, err := c.request(ctx, "GET", u, acceptAsStored, nil, "")
	var se *StatusError
	if errors.As(err, &se) && (se.Code == 406 || se.Code == 400 || se.Code == 415) {
		resp, err = c.request(ctx, "GET", u, acceptTranscoded, nil, "")
	}
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" || params["boundary"] == "" {
		return 0, fmt.Errorf("the PACS answered the retrieve with %q, not a multipart DICOM answer", resp.Header.Get("Content-Type"))
	}
	guard := newStallGuard(resp.Body, c.limits.Stall, cancel)
	defer guard.stop()
	body := newCapped(guard, c.limits.MaxSeries, "the series")
	// Any stretch of the answer (a part, or what a hostile server sends
	// before or between parts, which NextPart would read on and on) is
	// bounded by one image and the read-ahead buffer.
	const readAhead = 1 << 20
	stretch := newCapped(body, c.limits.MaxInstance+readAhead, "one image")
	mr := multipart.NewReader(bufio.NewReaderSize(stretch, readAhead), params["boundary"])
	files := newOpener(dir)
	defer files.close() // after the writer's: it removes the files unused
	w := newDiskWriter(seen)
	// Wait for the writer on every return: Cache.Get removes the folder
	// after a failure, which must not race with a file being written.
	defer w.close()
	n := 0
	for {
		stretch.left = c.limits.MaxInstance + readAhead
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, c.bodyError(ctx, err)
		}
		f, err := files.next()
		if err != nil {
			return n, err
		}
		if err := c.savePart(ctx, part, n, f, w); err != nil {
			return n, err
		}
		n++
		if progress != nil {
			progress(n, expected)
		}
	}
	if err := w.close(); err != nil {
		return n, err
	}
	if n == 0 {
		return 0, fmt.Errorf("the PACS sent no images for series %s", seriesUID)
	}
	if expected > 0 && n < expected {
		return n, fmt.Errorf("the PACS sent %d of the series' %d images", n, expected)
	}
	return n, nil
}

// inMemory is the largest image received whole into memory and handed to
// the disk writer; a larger one (a multi-frame CT) is streamed to its file.
const inMemory = 16 << 20

// savePart receives one part (one DICOM instance) and has it written to
// f (which it closes), refusing a part that is not DICOM or is larger than
// Limits.MaxInstance.
func (c *Client) savePart(ctx context.Context, part *multipart.Part, i int, f *os.File, w *diskWriter) error {
	defer part.Close()
	if ct := part.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/dicom" {
			f.Close()
			return fmt.Errorf("the PACS sent a part of type %q where a DICOM image was expected", ct)
		}
	}
	r := newCapped(part, c.limits.MaxInstance, "one image")
	data := w.buffer()
	data, whole, err := readUpTo(r, data, inMemory)
	if err == nil && len(data) < 132 {
		err = errors.New("the PACS sent an empty or truncated image")
	} else if err == nil && !bytes.Equal(data[128:132], []byte("DICM")) {
		err = errors.New("the PACS sent a part that is not a DICOM file (no DICM preamble)")
	} else if err != nil {
		err = c.bodyError(ctx, err)
	}
	if err != nil || whole {
		if err != nil {
			f.Close()
			w.release(data)
			return err
		}
		w.write(i, f, data)
		return w.failed()
	}
	defer w.release(data)
	if w.seen != nil {
		w.seen(i, filepath.Base(f.Name()), nil)
	}
	_, err = chunked{f}.Write(data)
	if err == nil {
		// The wrapper hides WriteTo, which would read in 32 kB steps;
		// these are 1 MB.
		_, err = io.CopyBuffer(chunked{f}, struct{ io.Reader }{r}, make([]byte, 1<<20))
	}
	if err != nil {
		f.Close()
		var pe *os.PathError
		if errors.As(err, &pe) {
			return err
		}
		return c.bodyError(ctx, err)
	}
	return f.Close()
}

// chunked writes to a file in pieces of at most writeChunk bytes. A whole
// image (0.5 MB) in one write has the kernel take large page-cache folios
// from its big free blocks; on a VM whose host has taken those back (free
// page reporting: a Firecracker VM here) each of their pages costs a host
// fault. MR120 Cache.Open, mean of 26 (against curl and an open of the
// same files, same runs): 233-341 ms writing whole images, 154-265 ms in
// 16-64 kB pieces (7 A/B pairs, load 1.0-2.6), system time 223-312 ->
// 139-241 ms. curl writes 16 kB at a time.
type chunked struct{ f *os.File }

const writeChunk = 64 << 10

func (c chunked) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := c.f.Write(p[n:min(len(p), n+writeChunk)])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readUpTo appends what r has to data, up to limit bytes; whole says r
// ended within them.
func readUpTo(r io.Reader, data []byte, limit int) ([]byte, bool, error) {
	for len(data) < limit {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Read(data[len(data):min(cap(data), limit)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, true, nil
		}
		if err != nil {
			return data, false, err
		}
	}
	return data, false, nil
}

// Seen is shown file i (from 0) of a retrieve, name in its folder, while
// it is written: data is the whole file, or nil for one too large to hold
// in memory (streamed to disk). data is only valid during the call.
type Seen func(i int, name string, data []byte)

// diskWriter writes received images on a goroutine of its own, so the
// next image is received while the last one is written: two buffers of
// at most one image (inMemory) each. seen is shown each image after it
// is written, on the same goroutine: on two cores a goroutine of its own
// gained nothing, the receiver and the server needing the other core.
type diskWriter struct {
	seen Seen
	jobs chan diskJob
	free chan []byte
	done chan struct{}
	mu   sync.Mutex
	err  error
	once sync.Once
}

type diskJob struct {
	i    int
	f    *os.File
	data []byte
}

func newDiskWriter(seen Seen) *diskWriter {
	w := &diskWriter{seen: seen, jobs: make(chan diskJob), free: make(chan []byte, 2), done: make(chan struct{})}
	w.free <- nil
	w.free <- nil
	go func() {
		defer close(w.done)
		for j := range w.jobs {
			if w.failed() == nil {
				_, err := chunked{j.f}.Write(j.data)
				if cerr := j.f.Close(); err == nil {
					err = cerr
				}
				if w.seen != nil {
					w.seen(j.i, filepath.Base(j.f.Name()), j.data)
				}
				if err != nil {
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
				}
			} else {
				j.f.Close()
			}
			w.release(j.data)
		}
	}()
	return w
}

// buffer waits for a free buffer (length 0).
func (w *diskWriter) buffer() []byte { return <-w.free }

func (w *diskWriter) release(b []byte) { w.free <- b[:0] }

// write hands data, file i, from buffer, to the writer, which writes it
// to f and closes f.
func (w *diskWriter) write(i int, f *os.File, data []byte) { w.jobs <- diskJob{i, f, data} }

// failed is the first write error so far.
func (w *diskWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// close waits until every image handed over is written.
func (w *diskWriter) close() error {
	w.once.Do(func() { close(w.jobs) })
	<-w.done
	return w.failed()
}

// opener creates the files of a retrieve (dir/000001.dcm, ...) a few
// ahead of need, on a goroutine of its own: on the development VM's ext4
// creating a file costs 0.3 ms (36 ms for the 120 of the MR, where
// writing their 61 MB took 12 ms), which the writer then no longer waits
// for: MR120 Cache.Open, median of 16, 158-234 ms against 175-274 ms
// creating each file when its image came (3 runs, load 2.2-2.4). It
// holds no image, only files open ahead.
type opener struct {
	files chan created
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

type created struct {
	f   *os.File
	err error
}

const openAhead = 4

func newOpener(dir string) *opener {
	o := &opener{files: make(chan created, openAhead), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		defer close(o.files)
		for i := 1; ; i++ {
			f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%06d.dcm", i)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			select {
			case o.files <- created{f, err}:
			case <-o.stop:
				discard(created{f, err})
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return o
}

// next is the next file, in order.
func (o *opener) next() (*os.File, error) {
	c, ok := <-o.files
	if !ok {
		return nil, errors.New("cannot write to the PACS cache: no more files")
	}
	return c.f, c.err
}

// close stops the opener and removes the files it made that were not
// used, so that the folder holds just the images.
func (o *opener) close() {
	o.once.Do(func() { close(o.stop) })
	<-o.done
	for c := range o.files {
		discard(c)
	}
}

func discard(c created) {
	if c.err == nil {
		c.f.Close()
		os.Remove(c.f.Name())
	}
}
