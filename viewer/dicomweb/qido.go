package dicomweb

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// StudyQuery is a study search. Text fields take DICOM wildcards (`*` any
// run of characters, `?` one); empty fields match everything.
type StudyQuery struct {
	PatientName, PatientID, AccessionNumber string
	// StudyDate is a DICOM date or range: "20240131", "20240101-20240131",
	// "20240101-" or "-20240131".
	StudyDate string
	Modality  string // matched against ModalitiesInStudy
	StudyUID  string
	// Limit caps the number of studies returned (0: DefaultMaxResults).
	Limit int
}

// DefaultMaxResults bounds a search that names no limit: a query of "*"
// on a hospital's archive must not fetch millions of studies.
const DefaultMaxResults = 1000

// pageSize is how many results one QIDO request asks for; the client pages
// with offset so servers that cap their answers (Orthanc, dcm4chee) still
// give everything.
var pageSize = 100

// Study is one study a search found.
type Study struct {
	StudyInstanceUID string
	PatientName      string
	PatientID        string
	BirthDate        string
	StudyDate        string
	StudyTime        string
	AccessionNumber  string
	Description      string
	Modalities       []string
	Series           int // NumberOfStudyRelatedSeries (0 when the server does not say)
	Instances        int
}

// Series is one series of a study.
type Series struct {
	StudyInstanceUID  string
	SeriesInstanceUID string
	Modality          string
	Number            int
	Description       string
	Date              string
	Instances         int // NumberOfSeriesRelatedInstances
}

// DICOM tags as PS3.18's JSON model keys them.
const (
	tagStudyDate         = "00080020"
	tagSeriesDate        = "00080021"
	tagStudyTime         = "00080030"
	tagAccession         = "00080050"
	tagModality          = "00080060"
	tagModalitiesInStudy = "00080061"
	tagStudyDescription  = "00081030"
	tagSeriesDescription = "0008103E"
	tagPatientName       = "00100010"
	tagPatientID         = "00100020"
	tagBirthDate         = "00100030"
	tagStudyUID          = "0020000D"
	tagSeriesUID         = "0020000E"
	tagSeriesNumber      = "00200011"
	tagStudySeries       = "00201206"
	tagStudyInstances    = "00201208"
	tagSeriesInstances   = "00201209"
	tagSOPInstanceUID    = "00081155"
	tagFailureReason     = "00081197"
	tagFailedSOPs        = "00081198"
	tagReferencedSOPs    = "00081199"
)

// dataset is one object of the DICOM JSON model (PS3.18 F.2).
type dataset map[string]struct {
	VR    string            `json:"vr"`
	Value []json.RawMessage `json:"Value"`
}

// str is the first value of a tag as text: a person name's alphabetic
// form, a number's digits, "" when absent.
func (d dataset) str(tag string) string {
	vs := d.strs(tag)
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func (d dataset) strs(tag string) []string {
	var out []string
	for _, raw := range d[tag].Value {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
			continue
		}
		var pn struct{ Alphabetic string }
		if json.Unmarshal(raw, &pn) == nil && pn.Alphabetic != "" {
			out = append(out, pn.Alphabetic)
			continue
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			out = append(out, n.String())
		}
	}
	return out
}

func (d dataset) int(tag string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(d.str(tag)))
	return n
}

// items is a sequence's items.
func (d dataset) items(tag string) []dataset {
	var out []dataset
	for _, raw := range d[tag].Value {
		var it dataset
		if json.Unmarshal(raw, &it) == nil {
			out = append(out, it)
		}
	}
	return out
}

var studyFields = []string{tagStudyDate, tagStudyTime, tagAccession, tagModalitiesInStudy, tagStudyDescription,
	tagPatientName, tagPatientID, tagBirthDate, tagStudyUID, tagStudySeries, tagStudyInstances}

var seriesFields = []string{tagStudyUID, tagSeriesUID, tagModality, tagSeriesNumber, tagSeriesDescription,
	tagSeriesDate, tagSeriesInstances}

// SearchStudies finds the studies that match q.
func (c *Client) SearchStudies(ctx context.Context, q StudyQuery) ([]Study, error) {
	v := url.Values{}
	set := func(tag, val string) {
		if val = strings.TrimSpace(val); val != "" {
			v.Set(tag, val)
		}
	}
	set(tagPatientName, q.PatientName)
	set(tagPatientID, q.PatientID)
	set(tagAccession, q.AccessionNumber)
	set(tagStudyDate, q.StudyDate)
	set(tagModalitiesInStudy, q.Modality)
	set(tagStudyUID, q.StudyUID)
	for _, f := range studyFields {
		v.Add("includefield", f)
	}
	var out []Study
	err := c.search(ctx, c.srv.QIDO+"/studies", v, q.Limit, tagStudyUID, func(d dataset) {
		out = append(out, Study{
			StudyInstanceUID: d.str(tagStudyUID),
			PatientName:      d.str(tagPatientName),
			PatientID:        d.str(tagPatientID),
			BirthDate:        d.str(tagBirthDate),
			StudyDate:        d.str(tagStudyDate),
			StudyTime:        d.str(tagStudyTime),
			AccessionNumber:  d.str(tagAccession),
			Description:      d.str(tagStudyDescription),
			Modalities:       d.strs(tagModalitiesInStudy),
			Series:           d.int(tagStudySeries),
			Instances:        d.int(tagStudyInstances),
		})
	})
	return out, err
}

// SearchSeries lists the series of a study, optionally of one modality.
func (c *Client) SearchSeries(ctx context.Context, studyUID, modality string) ([]Series, error) {
	if err := checkUID(studyUID); err != nil {
		return nil, err
	}
	v := url.Values{}
	if modality != "" {
		v.Set(tagModality, modality)
	}
	for _, f := range seriesFields {
		v.Add("includefield", f)
	}
	var out []Series
	err := c.search(ctx, c.srv.QIDO+"/studies/"+studyUID+"/series", v, 0, tagSeriesUID, func(d dataset) {
		s := Series{
			StudyInstanceUID:  d.str(tagStudyUID),
			SeriesInstanceUID: d.str(tagSeriesUID),
			Modality:          d.str(tagModality),
			Number:            d.int(tagSeriesNumber),
			Description:       d.str(tagSeriesDescription),
			Date:              d.str(tagSeriesDate),
			Instances:         d.int(tagSeriesInstances),
		}
		if s.StudyInstanceUID == "" {
			s.StudyInstanceUID = studyUID
		}
		out = append(out, s)
	})
	return out, err
}

// search runs a QIDO-RS query page by page (limit/offset) until the server
// has no more, limit results are in, or the server is seen to ignore the
// offset (a page that repeats a result already had).
func (c *Client) search(ctx context.Context, base string, v url.Values, limit int, key string, add func(dataset)) error {
	if limit <= 0 {
		limit = DefaultMaxResults
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.limits.Query, fmt.Errorf("the PACS search took longer than %v", c.limits.Query))
	defer cancel()
	seen := map[string]bool{}
	for offset := 0; len(seen) < limit; {
		n := min(pageSize, limit-len(seen))
		v.Set("limit", strconv.Itoa(n))
		v.Set("offset", strconv.Itoa(offset))
		page, err := c.query(ctx, base+"?"+encodeQuery(v))
		if err != nil {
			return err
		}
		fresh := 0
		for _, d := range page {
			uid := d.str(key)
			if uid == "" || seen[uid] {
				continue
			}
			seen[uid] = true
			fresh++
			add(d)
			if len(seen) == limit {
				break
			}
		}
		if fresh == 0 {
			return nil
		}
		offset += len(page)
	}
	return nil
}

// query fetches one page of results.
func (c *Client) query(ctx context.Context, u string) ([]dataset, error) {
	resp, err := c.request(ctx, "GET", u, "application/dicom+json, application/json", nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == 204 {
		return nil, nil // PS3.18: no match
	}
	body, err := io.ReadAll(newCapped(resp.Body, c.limits.MaxQuery, "one page of search results"))
	if err != nil {
		return nil, c.bodyError(ctx, err)
	}
	var page []dataset
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotDICOMJSON, err)
	}
	return page, nil
}

// errNotDICOMJSON is a search answer that is not DICOM JSON: often a web
// page or another API at the address given.
var errNotDICOMJSON = errors.New("the PACS's search answer is not DICOM JSON")

// bodyError says why reading an answer failed: the guards' causes first,
// then an answer cut short.
func (c *Client) bodyError(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	if ctx.Err() != nil {
		return fmt.Errorf("cancelled: %w", context.Canceled)
	}
	var big errTooBig
	if errors.As(err, &big) {
		return err
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		return errors.New("the PACS's answer is not well-formed multipart (a line of more than 1 MB)")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("the PACS's answer ended early (the connection was cut)")
	}
	return fmt.Errorf("reading the PACS's answer: %w", err)
}

// checkUID refuses what is not a DICOM UID; UIDs name cache folders and
// URL paths, so "../" or "?" must never pass.
func checkUID(uid string) error {
	if uid == "" || len(uid) > 64 {
		return fmt.Errorf("%q is not a DICOM UID", uid)
	}
	for _, r := range uid {
		if (r < '0' || r > '9') && r != '.' {
			return fmt.Errorf("%q is not a DICOM UID (digits and dots)", uid)
		}
	}
	return nil
}

// encodeQuery is url.Values.Encode that leaves DICOM's wildcards and name
// separator (* ? ^) and the other characters RFC 3986 allows in a query
// unescaped: Orthanc's DICOMweb plugin (1.7) matches "%2A" literally.
func encodeQuery(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, val := range v[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(queryEscape(k))
			b.WriteByte('=')
			b.WriteString(queryEscape(val))
		}
	}
	return b.String()
}

func queryEscape(s string) string {
	const keep = "-._~*?^,:/@!$'()"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
