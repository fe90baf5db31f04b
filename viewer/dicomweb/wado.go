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
// instance as each part arrives, and returns the number of instances.
// expected, when known from a search, is checked at the end: a series
// that comes short is an error.
func (c *Client) retrieveSeries(ctx context.Context, studyUID, seriesUID, dir string, expected int, progress Progress) (int, error) {
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
	buf := make([]byte, 1<<20)
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
		if err := c.savePart(ctx, part, filepath.Join(dir, fmt.Sprintf("%06d.dcm", n+1)), buf); err != nil {
			return n, err
		}
		n++
		if progress != nil {
			progress(n, expected)
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("the PACS sent no images for series %s", seriesUID)
	}
	if expected > 0 && n < expected {
		return n, fmt.Errorf("the PACS sent %d of the series' %d images", n, expected)
	}
	return n, nil
}

// savePart writes one part (one DICOM instance) to path, refusing a part
// that is not DICOM or is larger than Limits.MaxInstance. buf (1 MB) is
// the copy buffer: big writes, as curl makes, not 32 kB ones.
func (c *Client) savePart(ctx context.Context, part *multipart.Part, path string, buf []byte) error {
	defer part.Close()
	if ct := part.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/dicom" {
			return fmt.Errorf("the PACS sent a part of type %q where a DICOM image was expected", ct)
		}
	}
	r := newCapped(part, c.limits.MaxInstance, "one image")
	const head = 132 // preamble and "DICM"
	if n, err := io.ReadFull(r, buf[:head]); err != nil {
		if n > 0 || err == io.EOF {
			return errors.New("the PACS sent an empty or truncated image")
		}
		return c.bodyError(ctx, err)
	}
	if !bytes.Equal(buf[128:head], []byte("DICM")) {
		return errors.New("the PACS sent a part that is not a DICOM file (no DICM preamble)")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(buf[:head])
	if err == nil {
		// The wrappers hide ReadFrom and WriteTo, which would copy in
		// their own small buffers.
		_, err = io.CopyBuffer(struct{ io.Writer }{f}, struct{ io.Reader }{r}, buf)
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
