package app

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/zalando/go-keyring"

	"github.com/segvolapp/segvol/internal/testenv"
)

// secretService starts a private D-Bus session bus and a GNOME keyring
// (Secret Service) on it, its login keyring unlocked with a known
// password, all under a temporary HOME: the developer's own keyring is
// never touched.
func secretService(t *testing.T) (home string) {
	t.Helper()
	dbus := testenv.NeedTool(t, "dbus-daemon")
	gk := testenv.NeedTool(t, "gnome-keyring-daemon")
	home = t.TempDir()
	run := filepath.Join(home, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("XDG_RUNTIME_DIR", run)
	bus := "unix:path=" + filepath.Join(run, "bus")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	// The bus and the keyring run with no display: a Secret Service call
	// that would ask for a password (unlocking the login keyring before
	// --unlock has done so) then fails at once and the probe below tries
	// again, where under Xvfb gcr-prompter opened a window no one answers
	// and the test hung (once in three runs here).
	var noDisplay []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DISPLAY=") && !strings.HasPrefix(kv, "WAYLAND_DISPLAY=") {
			noDisplay = append(noDisplay, kv)
		}
	}
	start := func(cmd *exec.Cmd) {
		cmd.Env = noDisplay
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("%s:\n%s", cmd.Path, out.String())
			}
		})
	}
	// The bus activates no services: with Debian's session configuration
	// a probe that came before the keyring below had claimed its name
	// made the bus start a second gnome-keyring-daemon, locked, which
	// then asked for a password no one could give (CI, once).
	config := filepath.Join(home, "bus.conf")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(busConfig, bus)), 0o600); err != nil {
		t.Fatal(err)
	}
	start(exec.Command(dbus, "--config-file="+config, "--nofork"))
	for end := time.Now().Add(10 * time.Second); ; {
		if _, err := os.Stat(filepath.Join(run, "bus")); err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the D-Bus session bus did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	keyringd := exec.Command(gk, "--foreground", "--unlock", "--components=secrets")
	keyringd.Stdin = strings.NewReader("known password")
	start(keyringd)
	// Ready when it answers: a missing secret is "not found", not a bus
	// error.
	for end := time.Now().Add(10 * time.Second); ; {
		_, err := keyring.Get(keyringService, "nobody@probe")
		if errors.Is(err, keyring.ErrNotFound) {
			return home
		}
		if time.Now().After(end) {
			t.Fatalf("the Secret Service did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// busConfig is the configuration of a session bus listening at an
// address (%s) with no service folders, so nothing is started on demand.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// TestPACSSecretInKeyring: a PACS server saved with a password through
// File > PACS servers keeps the password in the Secret Service, where
// go-keyring reads it back, and the viewer uses it; no file under HOME
// (the settings, the keyring's own file) holds it in plain text.
func TestPACSSecretInKeyring(t *testing.T) {
	home := secretService(t)
	const secret = "kept-in-the-keyring s3cret"
	v := newViewer(t, newTestApp(t), Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	d := v.showPACSServers()
	d.servers.SetSelected("New server…")
	test.Type(d.name, "Hospital")
	d.url.SetText("https://pacs.example.org/dicom-web")
	d.auth.SetSelected("basic")
	d.user.SetText("radiologist")
	d.secret.SetText(secret)
	file := filepath.Join(home, "data", "keyrings", "login.keyring")
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	test.Tap(d.save)
	if !strings.Contains(d.result.Text, "kept in the system keyring") {
		t.Fatalf("save said %q", d.result.Text)
	}
	d.dlg.Hide()
	// The test's own keyring stored it (not some other Secret Service).
	waitFor(t, "the keyring file", func() bool {
		after, err := os.ReadFile(file)
		return err == nil && !bytes.Equal(after, before)
	})

	got, err := keyring.Get(keyringService, "radiologist@https://pacs.example.org/dicom-web")
	if err != nil || got != secret {
		t.Fatalf("keyring holds %q, %v", got, err)
	}
	s, ok := v.pacsServer("Hospital")
	if !ok {
		t.Fatal("the server was not saved")
	}
	c, err := v.pacsClient(s)
	if err != nil || c.Server().Secret != secret {
		t.Fatalf("the viewer's client: %v", err)
	}
	if pref := v.app.Preferences().String(pacsServersKey); !strings.Contains(pref, "radiologist") || strings.Contains(pref, secret) {
		t.Fatalf("settings %q", pref)
	}
	filepath.WalkDir(home, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the password in plain text", p)
		}
		return nil
	})
}
