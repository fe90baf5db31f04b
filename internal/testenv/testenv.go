// Package testenv is what tests share about their environment: the peer
// tools they compare against (installed by `make test`, so missing ones
// fail in CI and skip on a developer's machine) and Debian's Python, where
// nibabel lives.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Python is Debian's interpreter, where python3-nibabel and python3-numpy
// install; a python3 earlier on PATH (pyenv) may lack them.
const Python = "/usr/bin/python3"

// Missing stops a test that lacks something `make test` installs: a skip
// on a developer's machine, a failure in CI (where the env var CI is set).
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format+" (required in CI)", args...)
	}
	t.Skipf(format, args...)
}

// NeedTool returns the path of a reference tool, or stops the test as
// Missing does.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not installed", name)
	}
	return p
}

// Dciodvfy runs dicom3tools' IOD validator on a DICOM file, fails the test
// on every error it reports and returns its warnings.
func Dciodvfy(t testing.TB, path string) []string {
	t.Helper()
	NeedTool(t, "dciodvfy")
	out, _ := exec.Command("dciodvfy", path).CombinedOutput()
	var warnings []string
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "Error"):
			t.Errorf("dciodvfy %s: %s", filepath.Base(path), l)
		case strings.HasPrefix(l, "Warning"):
			warnings = append(warnings, l)
		}
	}
	return warnings
}
