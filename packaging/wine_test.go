package packaging

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segvolapp/segvol/internal/screentest"
	"github.com/segvolapp/segvol/internal/testenv"
)

// wine runs the Windows packages in the one Wine prefix of a test run,
// made by scripts/wine-prefix.sh (Wine's first start is slow); make
// test-packages passes it in $SEGVOL_WINEPREFIX and runs the tests under
// xvfb-run, whose display Wine's windows use.
type wine struct {
	prefix string
	user   string // the Wine user: C:\users\<user>
}

func needWine(t *testing.T) *wine {
	t.Helper()
	p := os.Getenv("SEGVOL_WINEPREFIX")
	if p == "" && os.Getenv("SEGVOL_DIST") == "" {
		// Not make test-packages (a plain go test with dist/ built): as
		// TestDebInstallsSegVol without its checkpoints.
		t.Skip("SEGVOL_WINEPREFIX is not set (make test-packages makes the prefix with scripts/wine-prefix.sh)")
	}
	testenv.NeedTool(t, "wine")
	if p == "" {
		testenv.Missing(t, "SEGVOL_WINEPREFIX is not set (make test-packages makes the prefix with scripts/wine-prefix.sh)")
	}
	if os.Getenv("DISPLAY") == "" {
		testenv.Missing(t, "no DISPLAY for Wine (make test-packages runs these tests under xvfb-run)")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return &wine{prefix: p, user: u.Username}
}

// command runs a Windows program (a Windows path, or a Linux one, which
// Wine also takes) in the prefix, with no ONNX Runtime setting.
func (w *wine) command(exe string, args ...string) *exec.Cmd {
	cmd := exec.Command("wine", append([]string{exe}, args...)...)
	cmd.Env = append(os.Environ(), "WINEPREFIX="+w.prefix, "WINEDEBUG=-all",
		"WINEDLLOVERRIDES=mscoree,mshtml=", "SEGVOL_ORT_LIB=", "LANG=C.UTF-8")
	// A program a Windows program starts (the viewer from start, the
	// uninstaller's copy of itself) inherits the output pipes: stop
	// waiting for them once the program itself has ended.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (w *wine) run(t *testing.T, exe string, args ...string) string {
	t.Helper()
	out, err := w.command(exe, args...).CombinedOutput()
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		t.Fatalf("wine %s %s: %v\n%s", exe, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// host is where a path on the prefix's C: drive, or on the UNC share
// \\server\share (Wine's dosdevices/unc), lies on this machine.
func (w *wine) host(p string) string {
	var dir, rest string
	switch {
	case strings.HasPrefix(p, `C:\`):
		dir, rest = filepath.Join(w.prefix, "drive_c"), p[3:]
	case strings.HasPrefix(p, `\\`):
		dir, rest = filepath.Join(w.prefix, "dosdevices", "unc"), p[2:]
	default:
		panic("not a C: or UNC path: " + p)
	}
	return filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/")))
}

// appData is the Wine user's AppData folder (Roaming and Local below it).
func (w *wine) appData() string { return `C:\users\` + w.user + `\AppData` }

// winPath is a Linux path as Windows programs see it: Wine's Z: drive is /.
func winPath(p string) string { return "Z:" + strings.ReplaceAll(p, "/", `\`) }

// reg returns the 64-bit registry view of key and its subkeys, false when
// key is absent.
func (w *wine) reg(t *testing.T, key string) (string, bool) {
	t.Helper()
	out, err := w.command("reg", "query", key, "/s", "/reg:64").CombinedOutput()
	return string(out), err == nil
}

// debCLI is the Linux CLI of the .deb in dist/, unpacked: the reference the
// Windows build is compared with.
func debCLI(t *testing.T) string {
	t.Helper()
	deb := dist(t, "segvol_*_amd64.deb")
	dir := t.TempDir()
	run(t, dir, "dpkg-deb", "-x", deb, dir)
	return filepath.Join(dir, "opt/segvol/segvol")
}

// repoFile is the absolute path of a file of the checkout.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A study the CLIs are compared on, with a box prompt inside it.
type study struct{ name, path, box string }

func sampleStudy(t *testing.T) study {
	return study{"sample", repoFile(t, "assets/sample/example_ct_sm.nii.gz"), "20,20,5,100,80,25"}
}

// j2kStudy is five CT slices in JPEG 2000 Lossless (OpenJPEG, linked
// statically into the exe).
func j2kStudy(t *testing.T) study {
	return study{"j2k-dicom", repoFile(t, "testdata/totalsegmentator/example_ct_dicom_subset"), "150,150,0,350,350,4"}
}

// cliMatchesLinux runs the Windows CLI exe under Wine and the Linux CLI on
// the studies, the study and the outputs given to Windows as winStudy and
// winOut make them: info must agree on everything but the path, and the
// NIfTI of convert and the mask of the classic segmenter must be the same
// bytes once decompressed (same header, same voxels).
func cliMatchesLinux(t *testing.T, w *wine, exe, linux string, studies []study, winStudy func(study) string, winOut func(name string) (win, host string)) {
	t.Helper()
	out := t.TempDir()
	for _, s := range studies {
		lin := func(args ...string) string { t.Helper(); return run(t, out, linux, args...) }
		wpath := winStudy(s)
		li, wi := lin("info", s.path, "--json"), w.run(t, exe, "info", wpath, "--json")
		if a, b := infoSansPath(t, li, s.path), infoSansPath(t, wi, wpath); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: info differs:\nLinux   %s\nWindows %s", s.name, li, wi)
		}
		for _, c := range []struct {
			name string
			args func(src, dst string) []string
		}{
			{"convert", func(src, dst string) []string { return []string{"convert", src, dst} }},
			{"classic", func(src, dst string) []string {
				return []string{"segment", "--image", src, "--backend", "classic", "--box", s.box, "--out", dst}
			}},
		} {
			ref := filepath.Join(out, s.name+"-"+c.name+"-linux.nii.gz")
			lin(c.args(s.path, ref)...)
			wdst, got := winOut(s.name + "-" + c.name + "-windows.nii.gz")
			log := w.run(t, exe, c.args(wpath, wdst)...)
			if c.name == "classic" && !strings.Contains(log, "by classic") {
				t.Errorf("%s: not segmented by classic:\n%s", s.name, log)
			}
			if a, b := gunzip(t, ref), gunzip(t, got); !bytes.Equal(a, b) {
				t.Errorf("%s %s: the Windows NIfTI (%d bytes) differs from Linux's (%d bytes) first at byte %d",
					s.name, c.name, len(b), len(a), firstDiff(a, b))
			}
		}
	}
}

// infoSansPath is info's JSON without the study's path, which its notes
// and warnings (about files it skipped) give in the platform's form.
func infoSansPath(t *testing.T, js, path string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("info --json: %v\n%s", err, js)
	}
	delete(m, "path")
	for _, k := range []string{"notes", "warnings"} {
		list, _ := m[k].([]any)
		for i, v := range list {
			if s, ok := v.(string); ok {
				list[i] = strings.ReplaceAll(strings.ReplaceAll(s, path, "STUDY"), `\`, "/")
			}
		}
	}
	return m
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// onZ gives Windows the Linux paths themselves, on Wine's Z: drive.
func onZ(t *testing.T) (func(study) string, func(string) (string, string)) {
	dir := t.TempDir()
	return func(s study) string { return winPath(s.path) },
		func(name string) (string, string) { return winPath(filepath.Join(dir, name)), filepath.Join(dir, name) }
}

// segvolMatchesLinux installs the random-weight SegVol checkpoint of
// $SEGVOL_CHECKPOINTS (scripts/test-checkpoints.sh) with the Windows CLI
// into its default models folder, which must be under AppData, then
// segments the sample from a box with ONNX Runtime's CPU provider from the
// onnxruntime.dll beside the exe, reading the models through a non-ASCII
// UNC path (\\server\share\Études\modèles, the same folder), and compares
// the mask with the Linux CLI's on the same model files.
func segvolMatchesLinux(t *testing.T, w *wine, exe, linux string) {
	t.Helper()
	src := os.Getenv("SEGVOL_CHECKPOINTS")
	if src == "" {
		testenv.Missing(t, "SEGVOL_CHECKPOINTS is not set (make test-packages makes them with scripts/test-checkpoints.sh)")
	}
	log := w.run(t, exe, "models", "install", winPath(filepath.Join(src, "SegVol_v1.pth")))
	models := w.host(w.appData() + `\Roaming\segvol\models`)
	if _, err := os.Stat(filepath.Join(models, "image_encoder.onnx")); err != nil {
		t.Fatalf("models install did not write the user's models folder under AppData: %v\n%s", err, log)
	}
	share := w.share(t)
	if err := os.Mkdir(filepath.Join(share, "Études"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(models, filepath.Join(share, "Études", "modèles")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sample := sampleStudy(t)
	win := filepath.Join(dir, "windows.nii.gz")
	log = w.run(t, exe, "segment", "--image", winPath(sample.path), "--backend", "segvol", "--device", "cpu",
		"--models", `\\server\share\Études\modèles`, "--box", sample.box, "--out", winPath(win))
	t.Logf("Windows: %s", log)
	if !strings.Contains(log, "SegVol on CPU, ONNX Runtime") || !strings.Contains(log, "by segvol") {
		t.Fatalf("not segmented by SegVol on ONNX Runtime's CPU provider:\n%s", log)
	}
	lin := filepath.Join(dir, "linux.nii.gz")
	run(t, dir, linux, "segment", "--image", sample.path, "--backend", "segvol", "--device", "cpu", "--models", models, "--box", sample.box, "--out", lin)
	a, b := gunzip(t, lin), gunzip(t, win)
	if len(a) != len(b) || len(a) < niftiData {
		t.Fatalf("masks of %d and %d bytes", len(a), len(b))
	}
	// The contract lets logits differ by 1e-3 between runtimes: a voxel
	// whose logit lies that close to 0 may flip. With random weights few
	// do; more than 0.1% of the mask means a different computation.
	var fg, diff int
	for i := niftiData; i < len(a); i++ {
		if a[i] != 0 {
			fg++
		}
		if a[i] != b[i] {
			diff++
		}
	}
	t.Logf("SegVol masks: %d voxels on Linux, %d differ on Windows", fg, diff)
	if fg == 0 || diff > max(10, fg/1000) {
		t.Errorf("SegVol masks: %d voxels on Linux, %d differ on Windows", fg, diff)
	}
}

// share makes the UNC share \\server\share, which Wine finds at
// dosdevices/unc/server/share, a new empty folder, and returns it.
func (w *wine) share(t *testing.T) string {
	t.Helper()
	share := t.TempDir()
	unc := w.host(`\\server\share`)
	if err := os.MkdirAll(filepath.Dir(unc), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Remove(unc)
	if err := os.Symlink(share, unc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(unc) })
	return share
}

// ortFoundUnderWine: the Windows CLI exe, with SegVol and an empty models
// folder and no ONNX Runtime setting, gets past loading ONNX Runtime
// (found next to the exe) to the missing model files.
func ortFoundUnderWine(t *testing.T, w *wine, exe string) {
	t.Helper()
	dir := t.TempDir()
	out, _ := w.command(exe, "segment", "--image", "never-read.nii.gz", "--backend", "segvol", "--device", "cpu",
		"--models", winPath(dir), "--box", "1,1,1,2,2,2", "--out", winPath(filepath.Join(dir, "m.nii.gz"))).CombinedOutput()
	if strings.Contains(string(out), "ort:") || !strings.Contains(string(out), "is missing") {
		t.Errorf("%s did not find its ONNX Runtime:\n%s", exe, out)
	}
}

// niftiData is where a NIfTI-1 file's voxels start (header and extension
// flag) as the CLI writes it.
const niftiData = 352

// viewerShowsSample starts the Windows viewer exe on the bundled sample
// under Wine and Xvfb: a screenshot shows three different, non-blank
// views, and what it writes (the unpacked sample, its preferences with
// the recent study, the autosave of a brush dab) lands under the Wine
// user's AppData, none of it in
// the program's folder.
func viewerShowsSample(t *testing.T, w *wine, exe string) {
	t.Helper()
	testenv.NeedTool(t, "xwd")
	testenv.NeedTool(t, "xdotool")
	programDir := filepath.Dir(exe)
	before, _ := os.ReadDir(programDir)
	prefs := w.viewerPrefs(t)
	recovery := w.host(w.appData() + `\Local\segvol\recovery`)
	os.RemoveAll(recovery)
	cmd := w.command(exe, "--autosave", "2s", "--labels", winPath(repoFile(t, "assets/sample/example_seg.nii.gz")))
	seen, lines := screentest.Start(t, cmd, "segvol-viewer: opened", 3*time.Minute)
	renderer := screentest.WaitLine(t, lines, "segvol-viewer: renderer", time.Minute)
	t.Logf("under Wine: %s", renderer)
	rects := screentest.ViewRects(t, seen)
	origin := windowOrigin(t, cmd.Process.Pid)
	screentest.ThreeViews(t, screentest.Screenshot(t, os.Getenv("DISPLAY")), rects, origin)

	// A brush dab in the axial view (a click gives it the keys, D picks the
	// brush, a click paints): unsaved work, which the autosave (every 2 s
	// here) must put under AppData.
	ax := rects["axial"]
	at := origin.Add(image.Pt((ax.Min.X+ax.Max.X)/2, (ax.Min.Y+ax.Max.Y)/2))
	for _, args := range [][]string{{"mousemove", fmt.Sprint(at.X), fmt.Sprint(at.Y), "click", "1"}, {"key", "d"}, {"click", "1"}} {
		if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v\n%s", args, err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for end := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		if entries, _ := os.ReadDir(recovery); len(entries) > 0 {
			t.Logf("autosaved under AppData: %s", entries[0].Name())
			break
		}
		if time.Now().After(end) {
			t.Errorf("no autosave in %s a minute after a brush dab", recovery)
			break
		}
	}

	sample := w.host(w.appData() + `\Local\segvol\example_ct_sm.nii.gz`)
	if _, err := os.Stat(sample); err != nil {
		t.Errorf("the sample was not unpacked into the user cache under AppData: %v", err)
	}
	// Fyne writes preferences a moment after a change.
	waitFor(t, prefs, "example_ct_sm", 20*time.Second)
	after, _ := os.ReadDir(programDir)
	if len(after) != len(before) {
		t.Errorf("the viewer wrote into its program folder: %d entries before, %d after", len(before), len(after))
	}
}

// viewerPrefs writes the viewer's preferences, which Fyne keeps in
// %APPDATA%\fyne\<app id>, as a user would leave them: the first-start
// notice read (it would cover the views) and the CPU as SegVol's device
// (File > Settings): DirectML cannot start under Wine on a display
// (packaging/README.md), and the models of the SegVol test are installed.
// It returns where they lie.
func (w *wine) viewerPrefs(t *testing.T) string {
	t.Helper()
	prefs := w.host(w.appData() + `\Roaming\fyne\app.segvol.viewer\preferences.json`)
	if err := os.MkdirAll(filepath.Dir(prefs), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prefs, []byte(`{"intendedUseNoticeRead":true,"device":"cpu"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return prefs
}

// waitFor waits until the file holds text.
func waitFor(t *testing.T, file, text string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(time.Second) {
		b, _ := os.ReadFile(file)
		if bytes.Contains(b, []byte(text)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not name %s after %v: %s", filepath.Base(file), text, timeout, b)
		}
	}
}

// windowOrigin is where the viewer's window content starts on the screen:
// Wine places windows itself where there is no window manager.
func windowOrigin(t *testing.T, pid int) image.Point {
	t.Helper()
	out, err := exec.Command("xdotool", "search", "--onlyvisible", "--name", "SegVol").Output()
	ids := strings.Fields(string(out))
	if err != nil || len(ids) == 0 {
		t.Fatalf("no SegVol window on the display: %v", err)
	}
	var biggest image.Rectangle
	for _, id := range ids {
		geo, err := exec.Command("xdotool", "getwindowgeometry", "--shell", id).Output()
		if err != nil {
			continue
		}
		var x, y, wd, ht int
		for _, l := range strings.Fields(string(geo)) {
			k, v, _ := strings.Cut(l, "=")
			n := 0
			fmt.Sscan(v, &n)
			switch k {
			case "X":
				x = n
			case "Y":
				y = n
			case "WIDTH":
				wd = n
			case "HEIGHT":
				ht = n
			}
		}
		if r := image.Rect(x, y, x+wd, y+ht); r.Dx()*r.Dy() > biggest.Dx()*biggest.Dy() {
			biggest = r
		}
	}
	t.Logf("viewer window at %v (pid %d)", biggest, pid)
	return biggest.Min
}

// installedFiles are what the installer puts into its folder.
var installedFiles = []string{"DirectML.dll", "LICENSES.txt", "onnxruntime.dll", "segvol-viewer.exe", "segvol.exe", "segvol.ico", "uninstall.exe"}

const uninstallKey = `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\SegVol`

// TestWindowsInstallerUnderWine runs the NSIS installer silently into a
// folder with a space in its name, checks its Start-menu entries and
// uninstall entry, runs the installed programs (CLI against the Linux
// build, SegVol on ONNX Runtime, the viewer), then the silent uninstaller,
// which must remove every installed file, the shortcuts and the registry
// entries and leave the user's models and preferences.
func TestWindowsInstallerUnderWine(t *testing.T) {
	setup := dist(t, "segvol-*-windows-amd64-setup.exe")
	w := needWine(t)
	linux := debCLI(t)
	const dir = `C:\Program Files\SegVol Wine Test`
	// /D= must come last and unquoted, spaces and all: Wine quotes an
	// argument with spaces when it builds the command line, so the
	// folder goes in as its space-separated words.
	w.run(t, setup, append([]string{"/S"}, strings.Fields("/D="+dir)...)...)
	hostDir := w.host(dir)
	t.Cleanup(func() { os.RemoveAll(hostDir) })
	entries, err := os.ReadDir(hostDir)
	if err != nil {
		t.Fatalf("nothing installed in %s: %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, installedFiles) {
		t.Errorf("installed %v, want %v", names, installedFiles)
	}
	menu := w.host(`C:\ProgramData\Microsoft\Windows\Start Menu\Programs\SegVol`)
	for _, l := range []string{"SegVol.lnk", "Uninstall SegVol.lnk"} {
		if b, err := os.ReadFile(filepath.Join(menu, l)); err != nil {
			t.Errorf("Start menu: %v", err)
		} else if target := map[string]string{"SegVol.lnk": "segvol-viewer.exe", "Uninstall SegVol.lnk": "uninstall.exe"}[l]; !bytes.Contains(b, []byte(target)) {
			t.Errorf("Start menu %s does not point at %s", l, target)
		}
	}
	key, ok := w.reg(t, uninstallKey)
	if !ok || !strings.Contains(key, `"`+dir+`\uninstall.exe"`) || !strings.Contains(key, "DisplayName    REG_SZ    SegVol") {
		t.Errorf("uninstall entry (64-bit registry view):\n%s", key)
	}
	if assoc, ok := w.reg(t, `HKLM\Software\Classes\.nii`); ok {
		t.Errorf("file associations made without being asked for:\n%s", assoc)
	}

	// An upgrade (the installer again, no /D) goes into the same folder, not
	// the default one beside it: a file removed meanwhile comes back there.
	licences := filepath.Join(hostDir, "LICENSES.txt")
	if err := os.Remove(licences); err != nil {
		t.Fatal(err)
	}
	w.run(t, setup, "/S")
	if _, err := os.Stat(licences); err != nil {
		t.Errorf("the upgrade did not install into %s: %v", dir, err)
	}
	def := w.host(`C:\Program Files\SegVol`)
	if _, err := os.Stat(def); err == nil {
		os.RemoveAll(def)
		t.Errorf("the upgrade installed into the default folder, not %s", dir)
	}

	exe := func(name string) string { return dir + `\` + name }
	t.Run("cli", func(t *testing.T) {
		winStudy, winOut := onZ(t)
		cliMatchesLinux(t, w, exe("segvol.exe"), linux, []study{sampleStudy(t), j2kStudy(t)}, winStudy, winOut)
	})
	t.Run("segvol", func(t *testing.T) { segvolMatchesLinux(t, w, exe("segvol.exe"), linux) })
	t.Run("viewer", func(t *testing.T) { viewerShowsSample(t, w, filepath.Join(hostDir, "segvol-viewer.exe")) })

	// The uninstaller copies itself away and returns at once: wait for it.
	userData := []string{w.host(w.appData() + `\Roaming\fyne\app.segvol.viewer\preferences.json`)}
	if os.Getenv("SEGVOL_CHECKPOINTS") != "" {
		userData = append(userData, w.host(w.appData()+`\Roaming\segvol\models\image_encoder.onnx`))
	}
	w.run(t, exe("uninstall.exe"), "/S")
	waitGone(t, hostDir, time.Minute)
	if _, err := os.Stat(menu); err == nil {
		t.Error("the Start-menu folder is left after uninstalling")
	}
	for _, k := range []string{uninstallKey, `HKLM\Software\SegVol`} {
		if out, ok := w.reg(t, k); ok {
			t.Errorf("%s is left after uninstalling:\n%s", k, out)
		}
	}
	for _, f := range userData {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("the uninstaller removed the user's data: %v", err)
		}
	}
}

// waitGone waits for a folder to disappear.
func waitGone(t *testing.T, dir string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(time.Second) {
		left, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			var names []string
			for _, e := range left {
				names = append(names, e.Name())
			}
			t.Fatalf("after uninstalling, %s still holds %v", dir, names)
		}
	}
}

// TestWindowsZipUnderWine runs the portable zip from a folder, as from a
// USB stick, with no installation: its CLI finds ONNX Runtime beside
// itself and matches the Linux build with the study and outputs at a
// non-ASCII path (C:\Users\José\Études\scan.nii.gz), a path longer than
// MAX_PATH and a UNC path (\\server\share\study), and the viewer keeps its
// settings under AppData. (SegVol runs in the installer's test: the same
// exe, with its models read through a non-ASCII UNC path.)
func TestWindowsZipUnderWine(t *testing.T) {
	zip := dist(t, "segvol-*-windows-amd64.zip")
	w := needWine(t)
	linux := debCLI(t)
	stick := w.host(`C:\SegVol portable`)
	if err := os.MkdirAll(stick, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stick) })
	run(t, stick, "unzip", "-q", zip)
	folder, _ := filepath.Glob(filepath.Join(stick, "segvol-*-windows-amd64"))
	if len(folder) != 1 {
		t.Fatalf("the zip holds no single folder: %v", folder)
	}
	exe := `C:\SegVol portable\` + filepath.Base(folder[0]) + `\segvol.exe`
	ortFoundUnderWine(t, w, exe)

	share := w.share(t)
	var long strings.Builder
	long.WriteString(`C:\long`)
	for i := range 12 {
		fmt.Fprintf(&long, `\folder %02d of a deeply nested study tree`, i)
	}
	if long.Len() <= 260 {
		t.Fatalf("the long path has only %d characters", long.Len())
	}
	for _, c := range []struct {
		name, dir, file string // file: the study's name there
		study           study
		host            string
	}{
		{"non-ASCII", `C:\Users\José\Études`, "scan.nii.gz", sampleStudy(t), w.host(`C:\users\José\Études`)},
		{"long", long.String(), "study", j2kStudy(t), w.host(long.String())},
		{"UNC", `\\server\share`, "study", j2kStudy(t), share},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.MkdirAll(c.host, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(filepath.Join(c.host, c.file)) })
			run(t, c.host, "cp", "-r", c.study.path, filepath.Join(c.host, c.file))
			winStudy := func(study) string { return c.dir + `\` + c.file }
			winOut := func(name string) (string, string) { return c.dir + `\` + name, filepath.Join(c.host, name) }
			cliMatchesLinux(t, w, exe, linux, []study{c.study}, winStudy, winOut)
		})
	}
	t.Run("viewer", func(t *testing.T) { viewerShowsSample(t, w, filepath.Join(folder[0], "segvol-viewer.exe")) })
}

// TestWindowsFileAssociationUnderWine installs with the optional file
// association (/ASSOCIATE): .nii is SegVol's, opening one through the
// shell starts the viewer on it, SegVol is in .gz's "Open with" list for
// .nii.gz, and the uninstaller takes all of it back. It installs over what
// earlier installers left (their folder in the 32-bit registry view), so
// it also proves that an upgrade finds that folder and the uninstaller
// removes that key too.
func TestWindowsFileAssociationUnderWine(t *testing.T) {
	setup := dist(t, "segvol-*-windows-amd64-setup.exe")
	w := needWine(t)
	const dir = `C:\SegVol-associated`
	const oldKey = `HKLM\Software\SegVol`
	w.run(t, "reg", "add", oldKey, "/v", "InstallDir", "/d", dir, "/f", "/reg:32")
	w.run(t, setup, "/S", "/ASSOCIATE")
	t.Cleanup(func() { os.RemoveAll(w.host(dir)) })
	if out := w.run(t, "cmd", "/c", "assoc", ".nii"); !strings.Contains(out, ".nii=SegVol.NIfTI") {
		t.Errorf("assoc .nii: %s", out)
	}
	if out := w.run(t, "cmd", "/c", "ftype", "SegVol.NIfTI"); !strings.Contains(out, `"`+dir+`\segvol-viewer.exe" "%1"`) {
		t.Errorf("ftype SegVol.NIfTI: %s", out)
	}
	if out, _ := w.reg(t, `HKLM\Software\Classes\.gz\OpenWithProgids`); !strings.Contains(out, "SegVol.NIfTI") {
		t.Errorf(".gz's Open with list lacks SegVol:\n%s", out)
	}

	// Opening a .nii through the shell (as a double-click does) starts the
	// viewer on it: it becomes its most recent study.
	prefs := w.viewerPrefs(t)
	nii := filepath.Join(t.TempDir(), "opened-by-association.nii")
	run(t, ".", debCLI(t), "convert", sampleStudy(t).path, nii)
	w.run(t, "start", winPath(nii))
	waitFor(t, prefs, filepath.Base(nii), time.Minute)
	// Ends the viewer (Wine 8's taskkill does not find it by name): every
	// process of this test prefix, which later calls start again.
	// The uninstaller can delete the exe once the viewer has exited: -w
	// waits for the server and its processes to be gone.
	for _, arg := range []string{"-k", "-w"} {
		server := exec.Command("wineserver", arg)
		server.Env = append(os.Environ(), "WINEPREFIX="+w.prefix)
		server.Run()
	}

	w.run(t, dir+`\uninstall.exe`, "/S")
	waitGone(t, w.host(dir), time.Minute)
	for _, k := range []string{`HKLM\Software\Classes\.nii`, `HKLM\Software\Classes\SegVol.NIfTI`} {
		if out, ok := w.reg(t, k); ok {
			t.Errorf("%s is left after uninstalling:\n%s", k, out)
		}
	}
	if out, _ := w.reg(t, `HKLM\Software\Classes\.gz`); strings.Contains(out, "SegVol") {
		t.Errorf(".gz still names SegVol after uninstalling:\n%s", out)
	}
	if out, err := w.command("reg", "query", oldKey, "/reg:32").CombinedOutput(); err == nil {
		t.Errorf("%s (32-bit view) is left after uninstalling:\n%s", oldKey, out)
	}
}
