package dicomweb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

const tagInstanceUID = "00080018" // SOPInstanceUID

// checkStudies is how many studies Check counts before it says "more
// than": counting a hospital archive's every study would take minutes.
const checkStudies = 100

// Check is what Client.Check found, one line each, in plain words.
type Check struct {
	Search, Retrieve, Login, Send string
	// OK: search works, and retrieve too where there was a study to
	// retrieve from.
	OK bool
}

func (k Check) String() string {
	return strings.Join([]string{k.Search, k.Retrieve, k.Login, k.Send}, "\n")
}

// Check tries what a user depends on: a search (QIDO-RS), the retrieve of
// one image's metadata from the first study found (WADO-RS), and with
// them the credentials. Sending (STOW-RS) cannot be tried without storing
// something in the archive, so it is not.
func (c *Client) Check(ctx context.Context) Check {
	k := Check{Send: "Send (STOW-RS): not checked, as that would store something in the archive; sending is checked when you send."}
	studies, err := c.SearchStudies(ctx, StudyQuery{Limit: checkStudies + 1})
	if why := notDICOMweb(err); why != "" {
		k.Search = "Search (QIDO-RS): the server answered (" + why + "), but " + c.srv.QIDO +
			" does not look like a DICOMweb address: no search service (QIDO-RS) is there. It often ends in /dicom-web."
		k.Retrieve = "Retrieve (WADO-RS): not checked, as search failed."
		k.Login = "Login: not checked, as the search service was not found."
		return k
	}
	if err != nil {
		k.Search = "Search (QIDO-RS): failed: " + err.Error()
		k.Retrieve = "Retrieve (WADO-RS): not checked, as search failed."
		k.Login = c.login(err)
		return k
	}
	switch n := len(studies); {
	case n == 0:
		k.Search = "Search (QIDO-RS): works; no studies."
	case n > checkStudies:
		k.Search = fmt.Sprintf("Search (QIDO-RS): works; more than %d studies.", checkStudies)
	default:
		k.Search = fmt.Sprintf("Search (QIDO-RS): works; %d stud%s.", n, map[bool]string{true: "y", false: "ies"}[n == 1])
	}
	k.OK = true
	if len(studies) == 0 {
		k.Retrieve = "Retrieve (WADO-RS): not checked, as there is no study to retrieve from."
		k.Login = c.login(nil)
		return k
	}
	err = c.retrieveOne(ctx, studies[0].StudyInstanceUID)
	switch {
	case errors.Is(err, errNothingToRetrieve):
		k.Retrieve = "Retrieve (WADO-RS): not checked, as the first study found holds no images."
	case err != nil:
		k.Retrieve = "Retrieve (WADO-RS): failed: " + err.Error()
		k.OK = false
	default:
		k.Retrieve = "Retrieve (WADO-RS): works (read one image's header)."
	}
	// The search let us in; only a refused retrieve says otherwise.
	var se *StatusError
	if !errors.As(err, &se) || (se.Code != http.StatusUnauthorized && se.Code != http.StatusForbidden) {
		err = nil
	}
	k.Login = c.login(err)
	return k
}

// notDICOMweb says in a few words what a server answered that shows the
// address is not a QIDO-RS service (a web page, another REST API such as
// Orthanc's own at its root), or "" for any other outcome. Its raw answer
// is left out: Orthanc's JSON about a missing "since" argument tells a
// user nothing.
func notDICOMweb(err error) string {
	var se *StatusError
	switch {
	case errors.Is(err, errNotDICOMJSON):
		return "not with DICOM JSON"
	case errors.As(err, &se) && (se.Code == http.StatusBadRequest || se.Code == http.StatusNotFound || se.Code == http.StatusMethodNotAllowed):
		return fmt.Sprintf("%d %s", se.Code, http.StatusText(se.Code))
	}
	return ""
}

var errNothingToRetrieve = errors.New("no image to retrieve")

// retrieveOne reads the metadata (WADO-RS, DICOM JSON) of the first image
// of the first series of a study: a retrieve, small whatever the series.
func (c *Client) retrieveOne(ctx context.Context, studyUID string) error {
	series, err := c.SearchSeries(ctx, studyUID, "")
	if err != nil {
		return err
	}
	if len(series) == 0 {
		return errNothingToRetrieve
	}
	se := series[0].SeriesInstanceUID
	if err := checkUID(se); err != nil {
		return err
	}
	path := "/studies/" + studyUID + "/series/" + se
	var sop string
	if err := c.search(ctx, c.srv.QIDO+path+"/instances", url.Values{}, 1, tagInstanceUID, func(d dataset) { sop = d.str(tagInstanceUID) }); err != nil {
		return err
	}
	if sop == "" {
		return errNothingToRetrieve
	}
	if err := checkUID(sop); err != nil {
		return err
	}
	meta, err := c.query(ctx, c.srv.WADO+path+"/instances/"+sop+"/metadata")
	if err != nil {
		return err
	}
	if len(meta) == 0 || meta[0].str(tagInstanceUID) != sop {
		return errors.New("the server's answer is not the image's metadata")
	}
	return nil
}

// login says whether the credentials were accepted, from the error of the
// last request (nil: it succeeded).
func (c *Client) login(err error) string {
	var se *StatusError
	refused := errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden)
	what := map[Auth]string{AuthNone: "", AuthBasic: "user name or password", AuthBearer: "token"}[c.srv.Auth]
	switch {
	case refused && se.Code == http.StatusForbidden && c.srv.Auth != AuthNone:
		return "Login: the " + what + " was accepted, but this user may not do that (403 Forbidden)."
	case refused && c.srv.Auth == AuthNone:
		return "Login: the server asks for a user name and password or a token; set the authentication."
	case refused:
		return "Login: " + what + " refused."
	case err != nil && (se == nil || se.Code >= 500):
		return "Login: not checked, as the server could not be reached or failed."
	case c.srv.Auth == AuthNone:
		return "Login: none asked."
	}
	return "Login: " + what + " accepted."
}
