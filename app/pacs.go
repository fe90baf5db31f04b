package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/zalando/go-keyring"

	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/dicomweb"
	"github.com/segvolapp/segvol/viewer/study"
)

// Preferences of the PACS settings. Secrets are never among them: they go
// to the OS keyring (Secret Service, Credential Manager, Keychain).
const (
	pacsServersKey = "pacsServers" // JSON list of pacsServer
	pacsCacheMBKey = "pacsCacheMB" // cache size limit in MB; 0 for the default
	// pacsRecentKey names the recent studies retrieved from a PACS: JSON,
	// cache folder to what a user knows it by.
	pacsRecentKey = "pacsRecentLabels"
	// pacsSentKey is what was sent: JSON list of pacsSent, newest last.
	pacsSentKey    = "pacsSent"
	keyringService = "segvol-pacs"
)

// pacsServer is one server as the settings keep it: everything but the
// password or token.
type pacsServer struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// QIDO, WADO and STOW override URL for servers that publish the
	// services apart.
	QIDO   string `json:"qido,omitempty"`
	WADO   string `json:"wado,omitempty"`
	STOW   string `json:"stow,omitempty"`
	Auth   string `json:"auth"` // none, basic, bearer
	User   string `json:"user,omitempty"`
	CAFile string `json:"caFile,omitempty"`
}

// pacsState is what the viewer holds of PACS work.
type pacsState struct {
	// secrets are passwords and tokens kept for this run only, where the
	// OS keyring is unavailable (no Secret Service on a bare Linux).
	secrets map[string]string
	// from is the server the open study was retrieved from, for Send.
	from string
}

func (v *Viewer) pacsServers() []pacsServer {
	var out []pacsServer
	json.Unmarshal([]byte(v.app.Preferences().String(pacsServersKey)), &out)
	return out
}

func (v *Viewer) setPACSServers(list []pacsServer) {
	b, _ := json.Marshal(list)
	v.app.Preferences().SetString(pacsServersKey, string(b))
}

func (v *Viewer) pacsServer(name string) (pacsServer, bool) {
	for _, s := range v.pacsServers() {
		if s.Name == name {
			return s, true
		}
	}
	return pacsServer{}, false
}

// keyringAccount names a server's secret in the keyring.
func keyringAccount(s pacsServer) string { return s.User + "@" + s.URL }

// keepSecret stores a server's secret in the keyring, or for this run
// only when there is none, and returns a note saying which.
func (v *Viewer) keepSecret(s pacsServer, secret string) string {
	acct := keyringAccount(s)
	if v.pacs.secrets == nil {
		v.pacs.secrets = map[string]string{}
	}
	if err := keyring.Set(keyringService, acct, secret); err != nil {
		v.pacs.secrets[acct] = secret
		return fmt.Sprintf("The system keyring is not available (%v): the password is kept only until SegVol closes.", oneLineErr(err))
	}
	delete(v.pacs.secrets, acct)
	return "The password is kept in the system keyring."
}

func (v *Viewer) secretOf(s pacsServer) (string, error) {
	acct := keyringAccount(s)
	if sec, ok := v.pacs.secrets[acct]; ok {
		return sec, nil
	}
	sec, err := keyring.Get(keyringService, acct)
	if err != nil {
		return "", fmt.Errorf("no password for %s: enter it in File > PACS servers (the system keyring: %v)", s.Name, oneLineErr(err))
	}
	return sec, nil
}

func oneLineErr(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// pacsClient connects to a configured server.
func (v *Viewer) pacsClient(s pacsServer) (*dicomweb.Client, error) {
	auth, err := dicomweb.ParseAuth(s.Auth)
	if err != nil {
		return nil, err
	}
	srv := dicomweb.Server{Name: s.Name, URL: s.URL, QIDO: s.QIDO, WADO: s.WADO, STOW: s.STOW, Auth: auth, User: s.User, CAFile: s.CAFile}
	if auth != dicomweb.AuthNone {
		if srv.Secret, err = v.secretOf(s); err != nil {
			return nil, err
		}
	}
	return dicomweb.New(srv, dicomweb.DefaultLimits)
}

// pacsCache is the cache of retrieved series in the user's cache folder.
func (v *Viewer) pacsCache() (*dicomweb.Cache, error) {
	dir, err := dicomweb.DefaultCacheDir()
	if err != nil {
		return nil, err
	}
	limit := dicomweb.DefaultCacheBytes
	if mb := v.app.Preferences().Int(pacsCacheMBKey); mb > 0 {
		limit = int64(mb) << 20
	}
	return &dicomweb.Cache{Dir: dir, MaxBytes: limit}, nil
}

// labelRecent names the recent studies that came from a PACS as the
// patient, date, modality and series, not their cache folder
// (~/.cache/segvol/pacs/<UID>/<UID>).
func (v *Viewer) labelRecent(items []*fyne.MenuItem, paths []string) {
	names := v.pacsRecentLabels()
	for i, p := range paths {
		if l, ok := names[p]; ok {
			items[i].Label = l
		}
	}
}

func (v *Viewer) pacsRecentLabels() map[string]string {
	m := map[string]string{}
	json.Unmarshal([]byte(v.app.Preferences().String(pacsRecentKey)), &m)
	return m
}

// nameRecent keeps the label of a series retrieved into dir, for when the
// open puts dir among the recent studies; labels of studies no longer in
// the list are dropped.
func (v *Viewer) nameRecent(dir string, st dicomweb.Study, se dicomweb.Series) {
	what := se.Description
	if what == "" {
		what = fmt.Sprintf("series %d", se.Number)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // as remember keeps it
	}
	old := v.pacsRecentLabels()
	m := map[string]string{dir: "PACS: " + joinSet(st.PatientName, displayDate(st.StudyDate), se.Modality, what)}
	for _, p := range v.recent() {
		if l, ok := old[p]; ok && p != dir {
			m[p] = l
		}
	}
	b, _ := json.Marshal(m)
	v.app.Preferences().SetString(pacsRecentKey, string(b))
}

// pacsSettings is the dialog of File > PACS servers…; its widgets are
// fields so the tests drive them.
type pacsSettings struct {
	dlg                         dialog.Dialog
	servers                     *widget.Select
	name, url, user, secret, ca *widget.Entry
	qido, wado, stow            *widget.Entry
	auth                        *widget.Select
	save, remove, test, clear   *widget.Button
	cacheMB                     *widget.Entry
	result                      *widget.Label
	resultBox                   *container.Scroll
	services                    *widget.Accordion
}

// showPACSServers is File > PACS servers…: add, edit, remove and test
// DICOMweb servers, and size or clear the cache.
func (v *Viewer) showPACSServers() *pacsSettings {
	d := &pacsSettings{
		name: widget.NewEntry(), url: widget.NewEntry(), user: widget.NewEntry(),
		secret: widget.NewPasswordEntry(), ca: widget.NewEntry(), cacheMB: widget.NewEntry(),
		result: widget.NewLabel(""), qido: widget.NewEntry(), wado: widget.NewEntry(), stow: widget.NewEntry(),
	}
	for _, e := range []*widget.Entry{d.qido, d.wado, d.stow} {
		e.SetPlaceHolder("optional: where it differs from the URL above")
	}
	d.result.Wrapping = fyne.TextWrapWord
	d.url.SetPlaceHolder("https://pacs.example.org/dicom-web")
	d.ca.SetPlaceHolder("optional: PEM file of the hospital's certificate authority")
	d.secret.SetPlaceHolder("kept in the system keyring; empty keeps the one stored")
	// The separate service URLs, which few servers need, fold away: open,
	// they took the room Test connection's answer needs on a 768-pixel
	// screen.
	d.services = widget.NewAccordion(widget.NewAccordionItem("Separate search, retrieve and store URLs (optional)", widget.NewForm(
		widget.NewFormItem("QIDO-RS (search)", d.qido),
		widget.NewFormItem("WADO-RS (retrieve)", d.wado),
		widget.NewFormItem("STOW-RS (store)", d.stow),
	)))
	d.auth = widget.NewSelect([]string{"none", "basic", "bearer"}, nil)
	d.auth.SetSelected("none")
	names := func() []string {
		var out []string
		for _, s := range v.pacsServers() {
			out = append(out, s.Name)
		}
		return append(out, "New server…")
	}
	d.servers = widget.NewSelect(names(), func(n string) {
		s, _ := v.pacsServer(n)
		d.name.SetText(s.Name)
		d.url.SetText(s.URL)
		d.qido.SetText(s.QIDO)
		d.wado.SetText(s.WADO)
		d.stow.SetText(s.STOW)
		if s.QIDO+s.WADO+s.STOW != "" {
			d.services.Open(0)
		} else {
			d.services.Close(0)
		}
		d.auth.SetSelected(map[bool]string{true: "none", false: s.Auth}[s.Auth == ""])
		d.user.SetText(s.User)
		d.ca.SetText(s.CAFile)
		d.secret.SetText("")
		d.result.SetText("")
	})
	// The first saved server shows, ready to test or edit; without one, a
	// new one's form.
	d.servers.SetSelectedIndex(0)
	form := func() (pacsServer, error) {
		s := pacsServer{Name: strings.TrimSpace(d.name.Text), URL: strings.TrimSpace(d.url.Text), Auth: d.auth.Selected,
			QIDO: strings.TrimSpace(d.qido.Text), WADO: strings.TrimSpace(d.wado.Text), STOW: strings.TrimSpace(d.stow.Text),
			User: strings.TrimSpace(d.user.Text), CAFile: strings.TrimSpace(d.ca.Text)}
		if s.Name == "" {
			return s, errors.New("give the server a name")
		}
		auth, err := dicomweb.ParseAuth(s.Auth)
		if err != nil {
			return s, err
		}
		srv := dicomweb.Server{URL: s.URL, QIDO: s.QIDO, WADO: s.WADO, STOW: s.STOW, Auth: auth, User: s.User, Secret: "checked-later", CAFile: s.CAFile}
		_, err = dicomweb.New(srv, dicomweb.DefaultLimits)
		return s, err
	}
	d.save = widget.NewButton("Save", func() {
		s, err := form()
		if err != nil {
			d.result.SetText("Not saved: " + err.Error())
			return
		}
		note := "Saved " + s.Name + "."
		if s.Auth != "none" && d.secret.Text != "" {
			note += " " + v.keepSecret(s, d.secret.Text)
		}
		list := v.pacsServers()
		replaced := false
		for i := range list {
			if list[i].Name == s.Name || list[i].Name == d.servers.Selected {
				list[i], replaced = s, true
				break
			}
		}
		if !replaced {
			list = append(list, s)
		}
		v.setPACSServers(list)
		d.servers.SetOptions(names())
		d.servers.Selected = s.Name
		d.servers.Refresh()
		d.result.SetText(note)
	})
	d.remove = widget.NewButton("Remove", func() {
		var keep []pacsServer
		for _, s := range v.pacsServers() {
			if s.Name != d.servers.Selected {
				keep = append(keep, s)
			} else if s.Auth != "none" {
				keyring.Delete(keyringService, keyringAccount(s))
			}
		}
		v.setPACSServers(keep)
		d.servers.SetOptions(names())
		d.servers.ClearSelected()
		d.result.SetText("Removed.")
	})
	d.test = widget.NewButton("Test connection", func() {
		s, err := form()
		if err != nil {
			d.result.SetText(err.Error())
			return
		}
		if s.Auth != "none" && d.secret.Text != "" {
			v.keepSecret(s, d.secret.Text)
		}
		// The client is made here: the secrets belong to the UI goroutine.
		c, err := v.pacsClient(s)
		if err != nil {
			d.result.SetText("Cannot connect: " + err.Error())
			return
		}
		d.result.SetText("Testing…")
		go func() {
			msg := testPACS(c)
			fyne.Do(func() { d.result.SetText(msg) })
		}()
	})
	if mb := v.app.Preferences().Int(pacsCacheMBKey); mb > 0 {
		d.cacheMB.SetText(strconv.Itoa(mb))
	}
	d.cacheMB.SetPlaceHolder(strconv.FormatInt(dicomweb.DefaultCacheBytes>>20, 10))
	d.cacheMB.OnChanged = func(s string) {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
			v.app.Preferences().SetInt(pacsCacheMBKey, n)
		}
	}
	cacheNote := widget.NewLabel("")
	showSize := func() {
		if c, err := v.pacsCache(); err == nil {
			n, _ := c.Size()
			cacheNote.SetText(fmt.Sprintf("%s holds %.1f MB", c.Dir, float64(n)/(1<<20)))
		}
	}
	showSize()
	d.clear = widget.NewButton("Clear cache", func() {
		c, err := v.pacsCache()
		if err == nil {
			err = c.Clear()
		}
		if err != nil {
			d.result.SetText(err.Error())
		}
		showSize()
		v.refreshRecent() // the cleared series leave File > Recent studies
	})
	browse := widget.NewButton("Browse…", func() { v.pickFile("CA certificate of the server (PEM)", "", nil, d.ca.SetText) })
	// Test connection's answer has room for seven lines (its five, two of
	// them wrapped): it had 64 pixels, 2.5 lines, so every test needed
	// scrolling. A longer answer scrolls rather than grow the dialog past
	// a 768-pixel screen.
	d.resultBox = container.NewVScroll(d.result)
	d.resultBox.SetMinSize(fyne.NewSize(0, widget.NewLabel(strings.Repeat("\n", 6)).MinSize().Height))
	content := container.NewVBox(
		widget.NewForm(
			widget.NewFormItem("Server", d.servers),
			widget.NewFormItem("Name", d.name),
			widget.NewFormItem("DICOMweb URL", d.url),
			widget.NewFormItem("", d.services),
			widget.NewFormItem("Authentication", d.auth),
			widget.NewFormItem("User", d.user),
			widget.NewFormItem("Password or token", d.secret),
			widget.NewFormItem("CA certificate", container.NewBorder(nil, nil, nil, browse, d.ca)),
		),
		container.NewHBox(d.save, d.test, d.remove),
		d.resultBox,
		widget.NewSeparator(),
		widget.NewForm(widget.NewFormItem("Cache limit (MB)", d.cacheMB)),
		container.NewBorder(nil, nil, nil, d.clear, cacheNote),
	)
	d.dlg = dialog.NewCustom("PACS servers", "Close", content, v.win)
	d.dlg.Resize(fyne.NewSize(900, 0))
	d.dlg.Show()
	return d
}

// testPACS says, in plain words, what works: search, retrieve, the
// credentials; and that sending is checked only when one sends.
func testPACS(c *dicomweb.Client) string {
	k := c.Check(context.Background())
	if k.OK {
		return "Connected.\n" + k.String()
	}
	return "Not everything works:\n" + k.String()
}

// pacsBrowser is the dialog of File > Open from PACS….
type pacsBrowser struct {
	dlg                                     dialog.Dialog
	server                                  *widget.Select
	patient, patientID, accession, from, to *widget.Entry
	modality                                *widget.Entry
	search, open                            *widget.Button
	cancel                                  *widget.Button // of the retrieve under way, if any
	studyList, seriesList                   *widget.List
	status                                  *widget.Label
	// hidden says which of the study's series are not offered, as they
	// are not images (SEG, SR, PR…).
	hidden *widget.Label

	studies []dicomweb.Study
	series  []dicomweb.Series
	study   int // the selected study, -1 for none
	chosen  int // the selected series, -1 for none
}

// openFromPACS is File > Open from PACS…: search studies, list a study's
// series, retrieve one (progress, Cancel) and open it.
func (v *Viewer) openFromPACS() *pacsBrowser {
	b := &pacsBrowser{patient: widget.NewEntry(), patientID: widget.NewEntry(), accession: widget.NewEntry(),
		from: widget.NewEntry(), to: widget.NewEntry(), modality: widget.NewEntry(), status: widget.NewLabel(""), study: -1, chosen: -1,
		hidden: widget.NewLabel("")}
	b.status.Wrapping = fyne.TextWrapWord
	b.hidden.Wrapping = fyne.TextWrapWord
	b.patient.SetPlaceHolder("name, * and ? as wildcards")
	b.from.SetPlaceHolder("from YYYY-MM-DD")
	b.to.SetPlaceHolder("to YYYY-MM-DD")
	b.modality.SetPlaceHolder("CT, MR…")
	var names []string
	for _, s := range v.pacsServers() {
		names = append(names, s.Name)
	}
	b.server = widget.NewSelect(names, nil)
	if len(names) > 0 {
		b.server.SetSelected(names[0])
	} else {
		b.status.SetText("No PACS server yet: add one in File > PACS servers…")
	}
	b.studyList = widget.NewList(func() int { return len(b.studies) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			s := b.studies[i]
			o.(*widget.Label).SetText(fmt.Sprintf("%s  %s (%s)  %s  %s  %d series", displayDate(s.StudyDate), s.PatientName, s.PatientID,
				strings.Join(s.Modalities, ","), s.Description, s.Series))
		})
	b.seriesList = widget.NewList(func() int { return len(b.series) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			s := b.series[i]
			o.(*widget.Label).SetText(fmt.Sprintf("%d  %s  %s  %s", s.Number, s.Modality, s.Description, nOf(s.Instances, "image")))
		})
	// Asked before the retrieve: the study on screen goes when it opens.
	b.open = widget.NewButton("Open", func() { v.unsavedThen("Open", func() { v.retrieveAndOpen(b) }) })
	b.open.Disable()
	client := func() (*dicomweb.Client, pacsServer, error) {
		s, ok := v.pacsServer(b.server.Selected)
		if !ok {
			return nil, s, errors.New("choose a PACS server (File > PACS servers… adds one)")
		}
		c, err := v.pacsClient(s)
		return c, s, err
	}
	b.search = widget.NewButton("Search", func() {
		c, _, err := client()
		if err != nil {
			b.status.SetText(err.Error())
			return
		}
		q := dicomweb.StudyQuery{PatientName: b.patient.Text, PatientID: b.patientID.Text, AccessionNumber: b.accession.Text,
			Modality: strings.ToUpper(strings.TrimSpace(b.modality.Text))}
		f, okf := dicomDate(b.from.Text)
		t, okt := dicomDate(b.to.Text)
		if !okf || !okt {
			b.status.SetText("Study date: use YYYY-MM-DD (or YYYYMMDD).")
			return
		}
		if f != "" || t != "" {
			q.StudyDate = f + "-" + t
		}
		b.status.SetText("Searching…")
		b.search.Disable()
		go func() {
			ss, err := c.SearchStudies(context.Background(), q)
			fyne.Do(func() {
				b.search.Enable()
				b.studies, b.series, b.study, b.chosen = ss, nil, -1, -1
				b.studyList.UnselectAll()
				b.studyList.Refresh()
				b.seriesList.Refresh()
				b.open.Disable()
				if err != nil {
					b.status.SetText(err.Error())
					return
				}
				b.status.SetText(nItems(len(ss), "study", "studies"))
			})
		}()
	})
	// Enter in any search field searches.
	for _, e := range []*widget.Entry{b.patient, b.patientID, b.accession, b.from, b.to, b.modality} {
		e.OnSubmitted = func(string) {
			if !b.search.Disabled() {
				b.search.OnTapped()
			}
		}
	}
	b.studyList.OnSelected = func(i widget.ListItemID) {
		c, _, err := client()
		if err != nil {
			b.status.SetText(err.Error())
			return
		}
		b.study, b.chosen = i, -1
		b.series = nil
		b.hidden.SetText("")
		b.seriesList.UnselectAll()
		b.seriesList.Refresh()
		b.open.Disable()
		uid := b.studies[i].StudyInstanceUID
		b.status.SetText("Listing the series…")
		go func() {
			ss, err := c.SearchSeries(context.Background(), uid, "")
			fyne.Do(func() {
				if b.study != i {
					return // another study was chosen meanwhile
				}
				if err != nil {
					b.status.SetText(err.Error())
					return
				}
				var note string
				b.series, note = imageSeries(ss)
				b.seriesList.Refresh()
				b.hidden.SetText(note)
				b.status.SetText(nItems(len(b.series), "image series", "image series"))
			})
		}()
	}
	b.seriesList.OnSelected = func(i widget.ListItemID) {
		b.chosen = i
		b.open.Enable()
	}
	form := widget.NewForm(
		widget.NewFormItem("Server", b.server),
		widget.NewFormItem("Patient name", b.patient),
		widget.NewFormItem("Patient ID", b.patientID),
		widget.NewFormItem("Accession number", b.accession),
		widget.NewFormItem("Study date", container.NewGridWithColumns(2, b.from, b.to)),
		widget.NewFormItem("Modality", b.modality),
	)
	// Side by side, so each list has the dialog's height for its rows.
	lists := container.NewHSplit(
		container.NewBorder(widget.NewLabel("Studies"), nil, nil, nil, b.studyList),
		container.NewBorder(widget.NewLabel("Series"), b.hidden, nil, nil, b.seriesList))
	lists.SetOffset(0.6)
	content := container.NewBorder(container.NewVBox(form, b.search), container.NewVBox(b.status, b.open), nil, nil, lists)
	b.dlg = dialog.NewCustom("Open from PACS", "Close", content, v.win)
	b.dlg.Resize(fyne.NewSize(1000, 760))
	b.dlg.Show()
	return b
}

// dicomDate turns a date typed as YYYY-MM-DD or YYYYMMDD into DICOM's
// YYYYMMDD; false for anything else ("2003-04-01" went out as is, and
// matched nothing).
func dicomDate(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true
	}
	for _, layout := range []string{"2006-01-02", "20060102"} {
		if d, err := time.Parse(layout, s); err == nil {
			return d.Format("20060102"), true
		}
	}
	return "", false
}

// imageSeries keeps the series that may be opened as images, sorted by
// series number, then description, and says how many of what are left out
// (SEG, SR, PR…: opening one ended in an error full of cache paths).
func imageSeries(all []dicomweb.Series) ([]dicomweb.Series, string) {
	var keep []dicomweb.Series
	left := map[string]int{}
	for _, s := range all {
		if why := dicom.NonImageModality(s.Modality); why != "" {
			left[s.Modality+" ("+why+")"]++
			continue
		}
		keep = append(keep, s)
	}
	sort.SliceStable(keep, func(i, j int) bool {
		a, b := keep[i], keep[j]
		if a.Number != b.Number {
			return a.Number < b.Number
		}
		return a.Description < b.Description
	})
	if len(left) == 0 {
		return keep, ""
	}
	var kinds []string
	for k, n := range left {
		kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(kinds)
	return keep, "Not shown, as they are not images: " + strings.Join(kinds, ", ") + "."
}

// retrieveAndOpen retrieves the chosen series into the cache (progress,
// Cancel) and opens it; a cached series opens at once, offline too.
func (v *Viewer) retrieveAndOpen(b *pacsBrowser) {
	if b.study < 0 || b.chosen < 0 {
		return
	}
	st, se := b.studies[b.study], b.series[b.chosen]
	s, _ := v.pacsServer(b.server.Selected)
	cache, err := v.pacsCache()
	if err != nil {
		v.showError(err)
		return
	}
	open := func(dir string) {
		b.dlg.Hide()
		v.pacs.from = s.Name
		v.nameRecent(dir, st, se)
		v.Open(dir, "")
	}
	if cache.Has(st.StudyInstanceUID, se.SeriesInstanceUID) {
		dir, err := cache.Get(context.Background(), nil, st.StudyInstanceUID, se.SeriesInstanceUID, se.Instances, nil)
		if err == nil {
			open(dir)
			return
		}
	}
	c, err := v.pacsClient(s)
	if err != nil {
		b.status.SetText(err.Error())
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	bar := widget.NewProgressBar()
	label := widget.NewLabel(fmt.Sprintf("Retrieving %s %s (%s)…", se.Modality, se.Description, nOf(se.Instances, "image")))
	b.cancel = widget.NewButton("Cancel", cancel)
	prog := dialog.NewCustomWithoutButtons("Retrieving from PACS", container.NewVBox(label, bar, b.cancel), v.win)
	prog.Resize(fyne.NewSize(420, 0))
	prog.Show()
	go func() {
		// Open, not Get: the images are read as they arrive, so the
		// study opens without reading the cache back.
		dir, opened, err := cache.Open(ctx, c, st.StudyInstanceUID, se.SeriesInstanceUID, se.Instances, func(done, total int) {
			if total > 0 {
				fyne.Do(func() { bar.SetValue(float64(done) / float64(total)) })
			}
		})
		cancelled := ctx.Err() != nil
		cancel()
		fyne.Do(func() {
			prog.Hide()
			b.cancel = nil
			switch {
			case cancelled:
				b.status.SetText("Retrieve cancelled.")
			case dir == "": // not retrieved
				b.status.SetText(err.Error())
			default: // retrieved; an error opening it is the viewer's to show
				b.dlg.Hide()
				v.pacs.from = s.Name
				v.nameRecent(dir, st, se)
				v.openWith(dir, "", func(context.Context, func(done, total int)) (*study.Study, error) { return opened, err })
			}
		})
	}()
}

// pacsSend is the question File > Send segmentation to PACS asks before
// it stores anything; its widgets are fields so the tests drive them.
type pacsSend struct {
	dlg          dialog.Dialog
	text         *widget.Label
	send, cancel *widget.Button
}

// pacsSent is a segmentation sent: the same one (by content) sent again
// to the same server and series is asked about twice, in a later run too
// (the preferences keep the list).
type pacsSent struct {
	Server string    `json:"server"` // its STOW-RS address
	Study  string    `json:"study"`
	Series string    `json:"series"` // the image series it was drawn on
	Digest string    `json:"digest"` // labels.LabelMap.Digest
	When   time.Time `json:"when"`
	Found  string    `json:"found"` // what the search after the send found
}

// maxPACSSent bounds the list of sends the preferences keep: the oldest
// are forgotten.
const maxPACSSent = 500

func (v *Viewer) pacsSentList() []pacsSent {
	var out []pacsSent
	json.Unmarshal([]byte(v.app.Preferences().String(pacsSentKey)), &out)
	return out
}

// pacsSentBefore is the last send of the same segmentation to the same
// server and series.
func (v *Viewer) pacsSentBefore(k pacsSent) (pacsSent, bool) {
	list := v.pacsSentList()
	for i := len(list) - 1; i >= 0; i-- {
		if p := list[i]; p.Server == k.Server && p.Study == k.Study && p.Series == k.Series && p.Digest == k.Digest {
			return p, true
		}
	}
	return pacsSent{}, false
}

// rememberPACSSent adds a send to the list the preferences keep.
func (v *Viewer) rememberPACSSent(p pacsSent) {
	list := append(v.pacsSentList(), p)
	list = list[max(len(list)-maxPACSSent, 0):]
	b, _ := json.Marshal(list)
	v.app.Preferences().SetString(pacsSentKey, string(b))
}

// sendSEGToPACS is File > Send segmentation to PACS: the DICOM SEG of the
// open segmentation, stored with STOW-RS into the study it was drawn on,
// then found there with a query. It asks first, naming the server, the
// study and the segments, and says when this segmentation was already
// sent there; nil when there is nothing to ask (an error was shown).
func (v *Viewer) sendSEGToPACS() *pacsSend {
	if v.session == nil {
		return nil
	}
	if v.session.Series() == nil {
		v.showError(errors.New("sending to a PACS needs a study opened from DICOM"))
		return nil
	}
	name := v.pacs.from
	if name == "" {
		if list := v.pacsServers(); len(list) > 0 {
			name = list[0].Name
		}
	}
	s, ok := v.pacsServer(name)
	if !ok {
		v.showError(errors.New("no PACS server: add one in File > PACS servers…"))
		return nil
	}
	c, err := v.pacsClient(s)
	if err != nil {
		v.showError(err)
		return nil
	}
	tmp, err := os.MkdirTemp("", "segvol-send-")
	if err != nil {
		v.showError(err)
		return nil
	}
	path := filepath.Join(tmp, "seg.dcm")
	if err := v.session.ExportSEG(path); err != nil {
		os.RemoveAll(tmp)
		v.showError(err)
		return nil
	}
	o, err := dicom.ReadObject(path)
	if err != nil {
		os.RemoveAll(tmp)
		v.showError(err)
		return nil
	}
	m := v.session.Edit().Labels()
	var segs []string
	for _, st := range m.Statistics() {
		if sg, ok := m.Segment(st.Value); ok && st.Voxels > 0 {
			segs = append(segs, sg.Name)
		}
	}
	study := v.session.Volume.Meta.StudyInstanceUID
	key := pacsSent{Server: cmp.Or(s.STOW, s.URL), Study: study, Series: v.session.Volume.Meta.SeriesInstanceUID, Digest: m.Digest()}
	prev, again := v.pacsSentBefore(key)
	// What the file holds, as the archive will show it.
	el := o.Elements
	text := fmt.Sprintf("Send the segmentation to %s (%s)?", s.Name, s.URL)
	sendLabel := "Send"
	if again {
		text = fmt.Sprintf("This segmentation was already sent to %s on %s (%s).\nSend it again, as a new series, to %s (%s)?",
			s.Name, prev.When.Format("2006-01-02 at 15:04"), prev.Found, s.Name, s.URL)
		sendLabel = "Send again as a new series"
	}
	text += fmt.Sprintf("\n\nStudy: %s\nSegments (%d): %s\n\nIt is stored in that study as a new DICOM SEG series.",
		joinSet(dicom.String(el, tag.PatientName), displayDate(dicom.String(el, tag.StudyDate)), dicom.String(el, tag.StudyDescription)),
		len(segs), strings.Join(segs, ", "))
	p := &pacsSend{text: widget.NewLabel(text)}
	p.text.Wrapping = fyne.TextWrapWord
	p.send = widget.NewButton(sendLabel, func() {
		p.dlg.Hide()
		v.setStatusNote("sending the segmentation to " + s.Name + "…")
		go func() {
			defer os.RemoveAll(tmp)
			msg, err := sendAndFind(c, study, path)
			fyne.Do(func() {
				if err != nil {
					v.showError(fmt.Errorf("send to %s: %w", s.Name, err))
					v.setStatusNote("sending failed")
					return
				}
				key.When, key.Found = time.Now(), msg
				v.rememberPACSSent(key)
				v.setStatusNote(fmt.Sprintf("sent to %s: %s", s.Name, msg))
			})
		}()
	})
	p.send.Importance = widget.HighImportance
	p.cancel = widget.NewButton("Cancel", func() {
		p.dlg.Hide()
		os.RemoveAll(tmp)
	})
	p.dlg = dialog.NewCustomWithoutButtons("Send segmentation to PACS",
		container.NewBorder(nil, container.NewHBox(layout.NewSpacer(), p.cancel, p.send), nil, nil, p.text), v.win)
	p.dlg.Resize(fyne.NewSize(560, 0))
	p.dlg.Show()
	return p
}

// displayDate shows a DICOM date (YYYYMMDD) as YYYY-MM-DD; anything else
// as it is.
func displayDate(d string) string {
	if t, err := time.Parse("20060102", d); err == nil {
		return t.Format("2006-01-02")
	}
	return d
}

// joinSet joins the parts that are set, with commas.
func joinSet(parts ...string) string {
	var set []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			set = append(set, p)
		}
	}
	return strings.Join(set, ", ")
}

// sendAndFind stores the SEG at path into study and looks it up by its
// series: a server that says "stored" but cannot find it has not kept it.
func sendAndFind(c *dicomweb.Client, study, path string) (string, error) {
	o, err := dicom.ReadObject(path)
	if err != nil {
		return "", err
	}
	segSeries := dicom.String(o.Elements, tag.SeriesInstanceUID)
	ctx := context.Background()
	if _, err := c.Store(ctx, study, path); err != nil {
		return "", err
	}
	found, err := c.SearchSeries(ctx, study, "SEG")
	if err != nil {
		return "", fmt.Errorf("stored, but the check failed: %w", err)
	}
	for _, f := range found {
		if f.SeriesInstanceUID == segSeries {
			return fmt.Sprintf("found in the study as SEG series %d", f.Number), nil
		}
	}
	return "", errors.New("the server said it stored the SEG, but a search of the study does not find it")
}
