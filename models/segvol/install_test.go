package modelcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	assets "github.com/segvolapp/segvol/assets/segvol"
	"github.com/segvolapp/segvol/infer/segvol/install"
)

// TestInstall installs each checkpoint of $SEGVOL_INSTALL_FROM (separated
// by spaces) with the Go installer into $SEGVOL_INSTALL_TO/<its name>, from
// the templates in $SEGVOL_TEMPLATES (those of a reduced depth) or else the
// embedded full-size ones. scripts/test-export.sh then runs
// TestGraphsMatchPyTorch on each folder.
func TestInstall(t *testing.T) {
	from, to := env(t, "SEGVOL_INSTALL_FROM"), env(t, "SEGVOL_INSTALL_TO")
	tpl := os.DirFS(os.Getenv("SEGVOL_TEMPLATES"))
	if os.Getenv("SEGVOL_TEMPLATES") == "" {
		tpl = assets.Templates
	}
	for _, src := range strings.Fields(from) {
		start := time.Now()
		m, err := install.Install(context.Background(), tpl, src, filepath.Join(to, filepath.Base(src)), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s layout, %d bytes, SHA-256 %s, installed in %.1f s", src, m.Layout, m.Bytes, m.SHA256, time.Since(start).Seconds())
	}
}
