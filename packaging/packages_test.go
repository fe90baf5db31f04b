// Package packaging holds the installer templates; its tests check the
// packages that `make package-linux` and `make package-windows` put in
// dist/ (run by `make test-packages`; skipped when none are built).
package packaging

import (
	"archive/zip"
	"bytes"
	"debug/pe"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dist finds the built packages matching pattern: in $SEGVOL_DIST when set
// (then they must be there), else in the checkout's dist/.
func dist(t *testing.T, pattern string) string {
	t.Helper()
	dir, must := os.Getenv("SEGVOL_DIST"), true
	if dir == "" {
		dir, must = filepath.Join("..", "dist"), false
	}
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	switch {
	case len(m) == 1:
		// Absolute: the tests run tools in other folders.
		abs, err := filepath.Abs(m[0])
		if err != nil {
			t.Fatal(err)
		}
		return abs
	case len(m) > 1:
		t.Fatalf("several packages match %s: %v", pattern, m)
	case must:
		t.Fatalf("no %s in %s", pattern, dir)
	}
	t.Skipf("no %s in %s (make package-linux / package-windows)", pattern, dir)
	return ""
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ortFound runs an installed segvol CLI with SegVol and an empty models
// folder, away from any checkout and with no ONNX Runtime setting: it gets
// past loading ONNX Runtime (found next to the executable) to the missing
// model files.
func ortFound(t *testing.T, cli string) {
	t.Helper()
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	os.Mkdir(models, 0o755)
	cmd := exec.Command(cli, "segment", "--image", "never-read.nii.gz",
		"--backend", "segvol", "--models", models, "--box", "1,1,1,2,2,2", "--out", filepath.Join(dir, "m.nii.gz"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SEGVOL_ORT_LIB=", "HOME="+dir, "XDG_CONFIG_HOME=")
	out, _ := cmd.CombinedOutput()
	if strings.Contains(string(out), "ort:") || !strings.Contains(string(out), "is missing") {
		t.Errorf("%s did not find its ONNX Runtime:\n%s", cli, out)
	}
}

func TestLinuxTarball(t *testing.T) {
	tarball := dist(t, "segvol-*-linux-amd64.tar.xz")
	dir := t.TempDir()
	run(t, dir, "tar", "-xJf", tarball)
	for _, f := range []string{"Makefile", "usr/local/share/applications/app.segvol.viewer.desktop",
		"usr/local/share/pixmaps/app.segvol.viewer.png", "usr/local/lib/segvol/libonnxruntime.so.1",
		"usr/local/lib/segvol/segvol-viewer", "usr/local/bin/segvol-viewer", "usr/local/bin/segvol"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("tarball: %v", err)
		}
	}
	// Its own Makefile installs it into a prefix, links kept.
	prefix := t.TempDir()
	run(t, dir, "make", "install", "PREFIX="+prefix)
	ortFound(t, filepath.Join(prefix, "bin", "segvol"))
	if _, err := exec.LookPath("desktop-file-validate"); err == nil {
		out, err := exec.Command("desktop-file-validate", filepath.Join(prefix, "share/applications/app.segvol.viewer.desktop")).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("desktop-file-validate: %v\n%s", err, out)
		}
	}
}

func TestDeb(t *testing.T) {
	deb := dist(t, "segvol_*_amd64.deb")
	dir := t.TempDir()
	depends := run(t, dir, "dpkg-deb", "-f", deb, "Depends")
	t.Logf("Depends: %s", strings.TrimSpace(depends))
	for _, p := range []string{"libc6", "libgl1", "libx11-6", "libopenjp2-7", "libcharls2", "libdeflate0", "libstdc++6", "libxcursor1", "libxrandr2"} {
		if !strings.Contains(depends, p+" ") && !strings.Contains(depends, p+",") && !strings.HasSuffix(strings.TrimSpace(depends), p) {
			t.Errorf("Depends lacks %s", p)
		}
	}
	run(t, dir, "dpkg-deb", "-x", deb, dir)
	for _, f := range []string{"opt/segvol/segvol-viewer", "opt/segvol/segvol", "opt/segvol/libonnxruntime.so.1",
		"usr/share/applications/app.segvol.viewer.desktop", "usr/share/icons/hicolor/256x256/apps/app.segvol.viewer.png",
		"usr/share/doc/segvol/copyright"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("deb: %v", err)
		}
	}
	for _, l := range []string{"segvol", "segvol-viewer"} {
		if to, err := os.Readlink(filepath.Join(dir, "usr/bin", l)); err != nil || to != "/opt/segvol/"+l {
			t.Errorf("/usr/bin/%s links to %q (%v)", l, to, err)
		}
	}
	ortFound(t, filepath.Join(dir, "opt/segvol/segvol"))
}

// windowsDLLs are the system libraries the exes may import: nothing from
// mingw (libstdc++, libgcc, winpthread) that a Windows machine lacks.
var windowsDLLs = map[string]bool{"kernel32.dll": true, "user32.dll": true, "gdi32.dll": true,
	"shell32.dll": true, "opengl32.dll": true, "msvcrt.dll": true, "advapi32.dll": true,
	"ole32.dll": true, "winmm.dll": true, "ws2_32.dll": true, "dwmapi.dll": true, "imm32.dll": true,
	"comdlg32.dll": true, "oleaut32.dll": true, "version.dll": true, "uxtheme.dll": true}

func TestWindowsZip(t *testing.T) {
	z, err := zip.OpenReader(dist(t, "segvol-*-windows-amd64.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	files := map[string][]byte{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(f.Name)] = b
		if filepath.Dir(f.Name) != filepath.Dir(z.File[0].Name) {
			t.Errorf("%s is not in the folder of the exes", f.Name)
		}
	}
	want := map[string]uint16{ // file: subsystem (0 for a DLL)
		"segvol-viewer.exe": pe.IMAGE_SUBSYSTEM_WINDOWS_GUI, "segvol.exe": pe.IMAGE_SUBSYSTEM_WINDOWS_CUI,
		"onnxruntime.dll": 0, "DirectML.dll": 0,
	}
	for name, sub := range want {
		b, ok := files[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		f, err := pe.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		opt, _ := f.OptionalHeader.(*pe.OptionalHeader64)
		if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || opt == nil {
			t.Errorf("%s: machine %#x, not amd64", name, f.Machine)
			continue
		}
		if isDLL := f.Characteristics&pe.IMAGE_FILE_DLL != 0; isDLL != (sub == 0) {
			t.Errorf("%s: DLL flag %v", name, isDLL)
		}
		if sub != 0 {
			if opt.Subsystem != sub {
				t.Errorf("%s: subsystem %d, want %d", name, opt.Subsystem, sub)
			}
			// debug/pe's ImportedLibraries is a stub; symbols are "name:DLL".
			syms, err := f.ImportedSymbols()
			if err != nil {
				t.Fatal(err)
			}
			libs := map[string]bool{}
			for _, s := range syms {
				_, dll, _ := strings.Cut(s, ":")
				libs[strings.ToLower(dll)] = true
			}
			for l := range libs {
				if !windowsDLLs[l] {
					t.Errorf("%s imports %s, which Windows lacks", name, l)
				}
			}
			if !libs["kernel32.dll"] {
				t.Errorf("%s: no imports read (%d symbols)", name, len(syms))
			}
			t.Logf("%s: %d bytes, imports %v", name, len(b), slices.Sorted(maps.Keys(libs)))
		}
	}
	if !bytes.Contains(files["onnxruntime.dll"], []byte("OrtGetApiBase")) {
		t.Error("onnxruntime.dll has no OrtGetApiBase")
	}
}

func TestWindowsInstaller(t *testing.T) {
	setup := dist(t, "segvol-*-windows-amd64-setup.exe")
	b, err := os.ReadFile(setup)
	if err != nil {
		t.Fatal(err)
	}
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// NSIS's amd64 stub, like the programs it installs (segvol.nsi says
	// why); its compressed payload follows the PE image.
	opt, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok || f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || opt.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
		t.Errorf("installer: machine %#x, optional header %T", f.Machine, f.OptionalHeader)
	}
	if !bytes.Contains(b, []byte("NullsoftInst")) {
		t.Error("installer has no NSIS payload")
	}
	t.Logf("installer: %d bytes", len(b))
}
