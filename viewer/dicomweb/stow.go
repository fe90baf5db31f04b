package dicomweb

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"strings"
	"time"
)

// StoreResult is what the server said of a STOW-RS request.
type StoreResult struct {
	Stored []string // SOP Instance UIDs the server accepted
	Failed []Failure
}

// Failure is one instance the server refused.
type Failure struct {
	SOPInstanceUID string
	Reason         int // PS3.18 / PS3.4 failure reason code (e.g. 0xA700 out of resources)
}

// Store sends DICOM files with STOW-RS, into studyUID when given (the
// server then refuses files of another study). The files are streamed,
// never held in memory together.
func (c *Client) Store(ctx context.Context, studyUID string, files ...string) (*StoreResult, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("nothing to send")
	}
	u := c.srv.STOW + "/studies"
	if studyUID != "" {
		if err := checkUID(studyUID); err != nil {
			return nil, err
		}
		u += "/" + studyUID
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return nil, err
		}
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeParts(mw, files))
	}()
	ctype := fmt.Sprintf(`multipart/related; type="application/dicom"; boundary=%s`, mw.Boundary())
	// No limit on the upload itself (a whole series may take long on a
	// slow link; Cancel stops it): the answer has Limits.Answer to begin
	// and Limits.Query to end.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	resp, err := c.request(ctx, "POST", u, "application/dicom+json, application/json", pr, ctype)
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if the request ended early
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	timer := time.AfterFunc(c.limits.Query, func() {
		cancel(fmt.Errorf("the PACS's answer to the store took longer than %v", c.limits.Query))
	})
	defer timer.Stop()
	body, err := io.ReadAll(newCapped(resp.Body, c.limits.MaxQuery, "the store answer"))
	if err != nil {
		return nil, c.bodyError(ctx, err)
	}
	res := &StoreResult{}
	if strings.TrimSpace(string(body)) == "" {
		return res, nil
	}
	var d dataset
	if err := json.Unmarshal(body, &d); err != nil {
		// Some servers wrap the answer in a one-element array.
		var arr []dataset
		if json.Unmarshal(body, &arr) != nil || len(arr) != 1 {
			return nil, fmt.Errorf("the PACS's store answer is not DICOM JSON: %v", err)
		}
		d = arr[0]
	}
	for _, it := range d.items(tagReferencedSOPs) {
		res.Stored = append(res.Stored, it.str(tagSOPInstanceUID))
	}
	for _, it := range d.items(tagFailedSOPs) {
		res.Failed = append(res.Failed, Failure{SOPInstanceUID: it.str(tagSOPInstanceUID), Reason: it.int(tagFailureReason)})
	}
	if len(res.Failed) > 0 {
		return res, fmt.Errorf("the PACS refused %d of %d objects (first: %s, reason 0x%04X)", len(res.Failed), len(files), res.Failed[0].SOPInstanceUID, res.Failed[0].Reason)
	}
	return res, nil
}

// writeParts writes each file as one application/dicom part.
func writeParts(mw *multipart.Writer, files []string) error {
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
		if err == nil {
			_, err = io.Copy(w, f)
		}
		f.Close()
		if err != nil {
			return err
		}
	}
	return mw.Close()
}
