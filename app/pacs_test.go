package app

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/internal/orthanctest"
	"github.com/segvolapp/segvol/viewer/dicomweb"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/study"
)

// TestPACSOpenAndSend drives the PACS dialogs against a real Orthanc with
// basic authentication: add the server (no Secret Service here, as on a
// bare Linux: the password is kept for the run, and said so; never in the
// preferences), test the connection, search by a wildcard name, open the
// study's series (the same volume as from disk, cached 0700), paint a
// segment and send it, which the app then finds in the study.
func TestPACSOpenAndSend(t *testing.T) {
	o := orthanctest.Start(t, orthanctest.Options{Auth: true})
	ct3 := filepath.Join(dcmqiDir, "ct-3slice")
	files, _ := filepath.Glob(filepath.Join(ct3, "*.dcm"))
	o.Upload(t, files...)
	cacheHome := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cacheHome)
	// No session bus: the keyring is unavailable, deterministically, and a
	// developer's own keyring is left alone.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))

	loaded := make(chan error, 1)
	v := newViewer(t, newTestApp(t), Options{OnLoaded: func(err error) { loaded <- err }, RecoveryDir: t.TempDir(), AutosaveInterval: -1})

	d := v.showPACSServers()
	d.servers.SetSelected("New server…")
	test.Type(d.name, "Orthanc")
	d.url.SetText(o.DICOMweb)
	d.auth.SetSelected("basic")
	d.user.SetText(orthanctest.User)
	d.secret.SetText(orthanctest.Password)
	test.Tap(d.save)
	if !strings.Contains(d.result.Text, "keyring is not available") || !strings.Contains(d.result.Text, "until SegVol closes") {
		t.Errorf("save said %q", d.result.Text)
	}
	if pref := v.app.Preferences().String(pacsServersKey); strings.Contains(pref, orthanctest.Password) || !strings.Contains(pref, o.DICOMweb) {
		t.Fatalf("preferences %q", pref)
	}
	d.secret.SetText("wrong")
	test.Tap(d.test)
	waitFor(t, "the connection test", func() bool { return strings.HasPrefix(d.result.Text, "Not everything works") })
	if !strings.Contains(d.result.Text, "user name or password refused") {
		t.Errorf("test with a wrong password said %q", d.result.Text)
	}
	d.secret.SetText(orthanctest.Password)
	test.Tap(d.test)
	waitFor(t, "the connection test", func() bool { return strings.HasPrefix(d.result.Text, "Connected") })
	for _, want := range []string{"Search (QIDO-RS): works; 1 study.", "Retrieve (WADO-RS): works", "user name or password accepted", "sending is checked when you send"} {
		if !strings.Contains(d.result.Text, want) {
			t.Errorf("test said %q, want %q", d.result.Text, want)
		}
	}
	d.url.SetText("http://127.0.0.1:1/dicom-web")
	test.Tap(d.test)
	waitFor(t, "the failing connection test", func() bool { return strings.HasPrefix(d.result.Text, "Not everything works") })
	if !strings.Contains(d.result.Text, "cannot reach the PACS") || !strings.Contains(d.result.Text, "Retrieve (WADO-RS): not checked") {
		t.Errorf("test of a dead server said %q", d.result.Text)
	}
	d.dlg.Hide()

	b := v.openFromPACS()
	b.patient.SetText("JAN*")
	b.modality.SetText("ct")
	test.Tap(b.search)
	waitFor(t, "the study search", func() bool { return b.search.Disabled() == false && len(b.studies) > 0 })
	if len(b.studies) != 1 || b.studies[0].PatientName != "JANCT000" {
		t.Fatalf("studies %+v (%s)", b.studies, b.status.Text)
	}
	if b.status.Text != "1 study" {
		t.Errorf("one study found: the browser says %q", b.status.Text)
	}
	b.studyList.Select(0)
	waitFor(t, "the series list", func() bool { return len(b.series) > 0 })
	b.seriesList.Select(0)
	if b.open.Disabled() {
		t.Fatal("Open is disabled with a series chosen")
	}
	test.Tap(b.open)
	if err := await(t, "the retrieved study", loaded); err != nil {
		t.Fatal(err)
	}
	disk, err := study.Open(context.Background(), ct3, study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := v.Session().Volume
	if got.Dims != disk.Volume.Dims || got.Geom != disk.Volume.Geom || !reflect.DeepEqual(got.Data, disk.Volume.Data) {
		t.Fatal("the study opened from the PACS differs from its files")
	}
	// File > Recent studies names it as a user knows it, not by its
	// cache folder.
	recent := func() (labels []string) {
		for _, it := range v.recentMenu.ChildMenu.Items {
			labels = append(labels, it.Label)
		}
		return labels
	}
	if got, want := recent(), []string{"PACS: JANCT000, 2003-04-17, CT, series 2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recent studies %q, want %q", got, want)
	}
	cache := &dicomweb.Cache{Dir: filepath.Join(cacheHome, "segvol", "pacs")}
	if !cache.Has(b.studies[0].StudyInstanceUID, b.series[0].SeriesInstanceUID) {
		t.Error("the series is not in the cache")
	}
	if st, err := os.Stat(cache.Dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("cache folder mode %v %v", st.Mode().Perm(), err)
	}

	// A second open comes from the cache: it works with the server gone.
	v.setPACSServers([]pacsServer{{Name: "Orthanc", URL: "http://127.0.0.1:1/dicom-web", Auth: "none"}})
	test.Tap(b.open)
	if err := await(t, "the cached study", loaded); err != nil {
		t.Fatalf("offline open from the cache: %v", err)
	}
	v.setPACSServers([]pacsServer{{Name: "Orthanc", URL: o.DICOMweb, Auth: "basic", User: orthanctest.User}})

	e := v.Session().Edit()
	if _, err := e.AddSegment("liver"); err != nil {
		t.Fatal(err)
	}
	centre := v.Session().Frame().Centre()
	if _, err := e.Edit(func(m *labels.LabelMap, val uint8) (labels.Change, error) {
		return m.Paint(labels.Brush{RadiusMM: 15}, centre, val)
	}); err != nil {
		t.Fatal(err)
	}
	// Send asks first, naming the server, the study and the segments;
	// Cancel stores nothing.
	c, _ := dicomweb.New(dicomweb.Server{URL: o.DICOMweb, Auth: dicomweb.AuthBasic, User: orthanctest.User, Secret: orthanctest.Password}, dicomweb.DefaultLimits)
	segSeries := func() int {
		ss, err := c.SearchSeries(context.Background(), b.studies[0].StudyInstanceUID, "SEG")
		if err != nil {
			t.Fatal(err)
		}
		return len(ss)
	}
	p := v.sendSEGToPACS()
	for _, want := range []string{"Send the segmentation to Orthanc (" + o.DICOMweb + ")?", "\n\nStudy: JANCT000, 2003-04-17\nSegments (1): liver\n"} {
		if !strings.Contains(p.text.Text, want) {
			t.Errorf("the send question %q does not say %q", p.text.Text, want)
		}
	}
	test.Tap(p.cancel)
	if n := segSeries(); n != 0 {
		t.Fatalf("%d SEG series in the study after Cancel", n)
	}
	send := func(label string) {
		t.Helper()
		p := v.sendSEGToPACS()
		if p.send.Text != label {
			t.Errorf("the send button reads %q, want %q", p.send.Text, label)
		}
		if again := strings.Contains(p.text.Text, "already sent to Orthanc on "); again != (label != "Send") {
			t.Errorf("the send question reads %q", p.text.Text)
		}
		v.setStatusNote("")
		test.Tap(p.send)
		waitFor(t, "the send", func() bool {
			return strings.Contains(v.status.Text, "sent to Orthanc") || strings.Contains(v.status.Text, "failed")
		})
		if !strings.Contains(v.status.Text, "found in the study as SEG series") {
			t.Fatalf("status %q", v.status.Text)
		}
	}
	send("Send")
	// The same segmentation again: said, and sent as a second series.
	send("Send again as a new series")
	if n := segSeries(); n != 2 {
		t.Errorf("%d SEG series in the study after two sends", n)
	}
	// Changed since, it is another segmentation: asked as a first send.
	if _, err := e.Edit(func(m *labels.LabelMap, val uint8) (labels.Change, error) {
		return m.Paint(labels.Brush{RadiusMM: 5}, centre, 0)
	}); err != nil {
		t.Fatal(err)
	}
	send("Send")

	// After a restart (a new window on the same preferences) the same
	// segmentation, drawn again on the study opened from its files, is
	// known as sent: it asked as a first send, and could go twice.
	w := newViewer(t, v.app, Options{OnLoaded: func(err error) { loaded <- err }, RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	w.pacs.secrets = v.pacs.secrets // what the keyring would give it
	w.Open(ct3, "")
	if err := await(t, "the study from its files", loaded); err != nil {
		t.Fatal(err)
	}
	we := w.Session().Edit()
	if _, err := we.AddSegment("liver"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		mm  float64
		val uint8
	}{{15, we.Active()}, {5, 0}} {
		if _, err := we.Edit(func(m *labels.LabelMap, _ uint8) (labels.Change, error) {
			return m.Paint(labels.Brush{RadiusMM: r.mm}, centre, r.val)
		}); err != nil {
			t.Fatal(err)
		}
	}
	first := v
	v = w // send sends from v
	send("Send again as a new series")
	if n := segSeries(); n != 4 {
		t.Errorf("%d SEG series in the study after four sends", n)
	}
	// Renamed, it is another segmentation.
	if err := we.Do(func(m *labels.LabelMap) error { return m.Rename(we.Active(), "spleen") }); err != nil {
		t.Fatal(err)
	}
	send("Send")
	v = first

	// The cache limit and Clear of the settings.
	d = v.showPACSServers()
	test.Type(d.cacheMB, "512")
	if c, _ := v.pacsCache(); c.MaxBytes != 512<<20 || c.Dir != cache.Dir {
		t.Errorf("cache %+v after setting 512 MB", c)
	}
	test.Tap(d.clear)
	if n, _ := cache.Size(); n != 0 || cache.Has(b.studies[0].StudyInstanceUID, b.series[0].SeriesInstanceUID) {
		t.Errorf("after Clear the cache holds %d bytes", n)
	}
	// Its files gone, it leaves the recent studies (clicking it said "no
	// such file or directory"); the files opened after the restart stay.
	if abs, _ := filepath.Abs(ct3); !reflect.DeepEqual(recent(), []string{abs}) {
		t.Errorf("recent studies after Clear cache: %q", recent())
	}
}

// TestPACSNoServer: the PACS commands without a configured server say
// where to add one.
func TestPACSNoServer(t *testing.T) {
	v := newViewer(t, newTestApp(t), Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	b := v.openFromPACS()
	if !strings.Contains(b.status.Text, "File > PACS servers") {
		t.Errorf("browser says %q", b.status.Text)
	}
	test.Tap(b.search)
	if !strings.Contains(b.status.Text, "choose a PACS server") {
		t.Errorf("search without a server says %q", b.status.Text)
	}
}

// TestPACSRetrieveCancel: Cancel in the retrieve's progress dialog stops
// a retrieve from a server that hangs mid-answer (a hostile test server:
// the failure Orthanc cannot play), says so, opens nothing and leaves
// nothing in the cache.
func TestPACSRetrieveCancel(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/dicom+json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/series"):
			w.Write([]byte(`[{"0020000D":{"vr":"UI","Value":["1.2.3"]},"0020000E":{"vr":"UI","Value":["1.2.3.4"]},"00080060":{"vr":"CS","Value":["CT"]},"00201209":{"vr":"IS","Value":[3]}}]`))
		case strings.HasSuffix(r.URL.Path, "/studies"):
			w.Write([]byte(`[{"0020000D":{"vr":"UI","Value":["1.2.3"]},"00100010":{"vr":"PN","Value":[{"Alphabetic":"DOE^JANE"}]}}]`))
		default:
			w.Header().Set("Content-Type", `multipart/related; type="application/dicom"; boundary=b`)
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	}))
	defer s.Close()
	cacheHome := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cacheHome)
	loaded := make(chan error, 1)
	v := newViewer(t, newTestApp(t), Options{OnLoaded: func(err error) { loaded <- err }, RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	v.setPACSServers([]pacsServer{{Name: "hangs", URL: s.URL, Auth: "none"}})
	b := v.openFromPACS()
	test.Tap(b.search)
	waitFor(t, "the study search", func() bool { return len(b.studies) > 0 })
	b.studyList.Select(0)
	waitFor(t, "the series list", func() bool { return len(b.series) > 0 })
	b.seriesList.Select(0)
	test.Tap(b.open)
	if b.cancel == nil {
		t.Fatal("no Cancel while retrieving")
	}
	test.Tap(b.cancel)
	waitFor(t, "the cancel", func() bool { return b.status.Text == "Retrieve cancelled." })
	select {
	case err := <-loaded:
		t.Fatalf("a study was opened (%v)", err)
	default:
	}
	if v.Session() != nil {
		t.Error("a session after a cancelled retrieve")
	}
	filepath.WalkDir(cacheHome, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left in the cache: %s", p)
		}
		return nil
	})
}

// File > PACS servers… opens on the first saved server, its fields filled
// (it opened on "(Select one)" with empty fields, as if none were saved:
// fresh look).
func TestPACSServersOpensOnSaved(t *testing.T) {
	v := newViewer(t, newTestApp(t), Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	d := v.showPACSServers()
	if d.servers.Selected != "New server…" || d.url.Text != "" {
		t.Errorf("with no server saved: %q selected, URL %q", d.servers.Selected, d.url.Text)
	}
	d.dlg.Hide()
	v.setPACSServers([]pacsServer{{Name: "Radiology", URL: "https://pacs.example.org/dicom-web", Auth: "basic", User: "dr"}})
	d = v.showPACSServers()
	if d.servers.Selected != "Radiology" || d.url.Text != "https://pacs.example.org/dicom-web" || d.user.Text != "dr" || d.auth.Selected != "basic" {
		t.Errorf("with Radiology saved: %q selected, URL %q, user %q, auth %q", d.servers.Selected, d.url.Text, d.user.Text, d.auth.Selected)
	}
}

// TestPACSBrowserDatesAndSeries: study dates typed as YYYY-MM-DD or
// YYYYMMDD find the study (2003-04-17 went out as "2003-04-17-" and found
// nothing, silently); anything else is told without a search; Enter in a
// field searches; the study's SEG series (two, of a real dcmqi study) are
// not offered for opening but said to be left out.
func TestPACSBrowserDatesAndSeries(t *testing.T) {
	o := orthanctest.Start(t, orthanctest.Options{})
	files, _ := filepath.Glob(filepath.Join(dcmqiDir, "ct-3slice", "*.dcm"))
	o.Upload(t, append(files, filepath.Join(dcmqiDir, "liver.dcm"), filepath.Join(dcmqiDir, "partial_overlaps.dcm"))...)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	v := newViewer(t, newTestApp(t), Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	v.setPACSServers([]pacsServer{{Name: "Orthanc", URL: o.DICOMweb, Auth: "none"}})
	b := v.openFromPACS()
	enter := func(e *widget.Entry) { e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) }
	search := func(e *widget.Entry, from, to string) int {
		t.Helper()
		b.from.SetText(from)
		b.to.SetText(to)
		b.status.SetText("")
		enter(e)
		waitFor(t, "the search", func() bool {
			return !b.search.Disabled() && strings.HasSuffix(b.status.Text, "studies") || b.status.Text == "1 study"
		})
		return len(b.studies)
	}
	for _, tc := range []struct {
		from, to string
		want     int
	}{{"2003-04-17", "2003-04-17", 1}, {"20030417", "", 1}, {"", "2003-04-16", 0}, {"2003-04-18", "", 0}, {" 2003-04-01 ", "2003-04-30", 1}} {
		if n := search(b.patient, tc.from, tc.to); n != tc.want {
			t.Errorf("study date %q to %q: %d studies (%s), want %d", tc.from, tc.to, n, b.status.Text, tc.want)
		}
	}
	for _, bad := range []string{"17/04/2003", "2003-4-17", "2003-02-30", "yesterday"} {
		b.from.SetText(bad)
		enter(b.modality)
		if !strings.Contains(b.status.Text, "Study date: use YYYY-MM-DD") || b.search.Disabled() {
			t.Errorf("study date %q: status %q, searching %v", bad, b.status.Text, b.search.Disabled())
		}
	}
	if search(b.modality, "2003-04-17", "") != 1 {
		t.Fatal("no study")
	}
	b.studyList.Select(0)
	waitFor(t, "the series list", func() bool { return b.hidden.Text != "" || len(b.series) > 0 })
	waitFor(t, "the series note", func() bool { return strings.Contains(b.status.Text, "series") })
	if len(b.series) != 1 || b.series[0].Modality != "CT" || b.status.Text != "1 image series" {
		t.Errorf("series offered %+v (%s), want the CT one", b.series, b.status.Text)
	}
	if b.hidden.Text != "Not shown, as they are not images: 2 SEG (segmentation object)." {
		t.Errorf("the note of what is not shown reads %q", b.hidden.Text)
	}
}

// TestImageSeries: the series list is sorted by number, then description,
// and leaves out each kind of non-image object, counted.
func TestImageSeries(t *testing.T) {
	got, note := imageSeries([]dicomweb.Series{
		{Number: 3, Modality: "CT", Description: "b"}, {Number: 1, Modality: "SEG"}, {Number: 3, Modality: "CT", Description: "a"},
		{Number: 2, Modality: "MR"}, {Number: 5, Modality: "SR"}, {Number: 6, Modality: "SEG"}, {Number: 7, Modality: "RTSTRUCT"},
	})
	var order []string
	for _, s := range got {
		order = append(order, fmt.Sprint(s.Number, s.Description))
	}
	if want := []string{"2", "3a", "3b"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if want := "Not shown, as they are not images: 1 RTSTRUCT (RT structure set), 1 SR (structured report), 2 SEG (segmentation object)."; note != want {
		t.Errorf("note %q, want %q", note, want)
	}
}

// TestPACSServersFitsSmallScreen: on a 1366x768 screen the PACS servers
// dialog fits, its Close button shows, and every line of Test
// connection's answer shows without scrolling (2.5 of 5 did), here the
// longest one: an address that is not DICOMweb's (a server answering 400
// plays Orthanc's root).
func TestPACSServersFitsSmallScreen(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		w.Write([]byte(`{"Details":"Missing \"since\" argument","HttpError":"Bad Request"}`))
	}))
	defer s.Close()
	v := newViewer(t, newTestApp(t), Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	// The screen less the menu bar of a maximised window.
	v.win.Resize(fyne.NewSize(1366, 740))
	v.setPACSServers([]pacsServer{{Name: "Orthanc root", URL: s.URL, Auth: "none"}})
	d := v.showPACSServers()
	test.Tap(d.test)
	waitFor(t, "the connection test", func() bool { return strings.HasPrefix(d.result.Text, "Not everything works") })
	if !strings.Contains(d.result.Text, "does not look like a DICOMweb address") {
		t.Errorf("test of a non-DICOMweb address said %q", d.result.Text)
	}
	canvas := v.win.Canvas().Size()
	var closeBtn *widget.Button
	for _, o := range test.LaidOutObjects(v.win.Canvas().Overlays().Top()) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Close" {
			closeBtn = b
		}
	}
	if closeBtn == nil {
		t.Fatal("no Close button")
	}
	drv := fyne.CurrentApp().Driver()
	if pos := drv.AbsolutePositionForObject(closeBtn); pos.Y < 0 || pos.Y+closeBtn.Size().Height > canvas.Height {
		t.Errorf("the Close button at y %v-%v, out of the %v-high window", pos.Y, pos.Y+closeBtn.Size().Height, canvas.Height)
	}
	if need, have := d.result.MinSize().Height, d.resultBox.Size().Height; need > have {
		t.Errorf("the answer needs %v pixels, its area shows %v: it scrolls", need, have)
	}
}
