package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	tplfiles "github.com/segvolapp/segvol/assets/segvol"
	"github.com/segvolapp/segvol/infer/hub"
	sv "github.com/segvolapp/segvol/infer/segvol"
	"github.com/segvolapp/segvol/infer/segvol/install"
)

const (
	installUsage  = "install SOURCE [--models DIR]"
	downloadUsage = "download [--models DIR] [--revision REV]"
	listUsage     = "list [--models DIR]"
)

// installHint names the commands that install SegVol into the models
// folder given as --models (empty for the user's).
func installHint(models string) string {
	flag := ""
	if models != "" {
		flag = " --models " + strconv.Quote(models)
	}
	return "`segvol models download" + flag + "` (from the Hugging Face hub, about " + strconv.Itoa(install.DownloadMB) + " MB) or `segvol models install SOURCE" + flag + "` (a checkpoint you have)"
}

// nextStep is an error whose message is replaced by one that says what to
// do next; errors.Is still finds the original.
type nextStep struct {
	err error
	msg string
}

func (e nextStep) Error() string { return e.msg }
func (e nextStep) Unwrap() error { return e.err }

// modelsDir is --models, else the user's models folder.
func modelsDir(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	return sv.DefaultDir()
}

func cmdModelsInstall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("models install", flag.ContinueOnError)
	models := fs.String("models", "", "SegVol models folder (default: the user models folder)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("segvol models "+installUsage, pos, 1)
	}
	dir, err := modelsDir(*models)
	if err != nil {
		return err
	}
	return installFrom(ctx, pos[0], dir, stdout, stderr)
}

func installFrom(ctx context.Context, source, dir string, stdout, stderr io.Writer) error {
	m, err := install.Install(ctx, tplfiles.Templates, source, dir, progressLines(stderr, "installing"))
	if err != nil {
		return err
	}
	printInstalled(stdout, m)
	return nil
}

func printInstalled(w io.Writer, m *install.Model) {
	fmt.Fprintf(w, "installed %s (%s layout, %s, SHA-256 %s) into %s\n", m.Source, m.Layout, m.Format, m.SHA256, m.Dir)
}

func cmdModelsDownload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("models download", flag.ContinueOnError)
	models := fs.String("models", "", "SegVol models folder (default: the user models folder)")
	revision := fs.String("revision", "main", "branch, tag or commit of "+install.Repo)
	if pos, err := parseInterleaved(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageError("segvol models "+downloadUsage, pos, 0)
	}
	dir, err := modelsDir(*models)
	if err != nil {
		return err
	}
	var file string
	lines := progressLines(stderr, "")
	m, err := install.Download(ctx, tplfiles.Templates, hub.NewClient(), *revision, dir, func(name string, done, total int64) {
		if name != file {
			file, lines = name, progressLines(stderr, "downloading "+name)
		}
		lines(done, total)
	}, progressLines(stderr, "installing"))
	if err != nil {
		return err
	}
	printInstalled(stdout, m)
	return nil
}

func cmdModelsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("models list", flag.ContinueOnError)
	models := fs.String("models", "", "SegVol models folder (default: the user models folder)")
	if pos, err := parseInterleaved(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageError("segvol models "+listUsage, pos, 0)
	}
	dir, err := modelsDir(*models)
	if err != nil {
		return err
	}
	installed, err := install.List(dir)
	if err != nil {
		return err
	}
	if len(installed) == 0 {
		fmt.Fprintf(stdout, "%s: no SegVol model installed; install it with %s\n", dir, installHint(*models))
		return nil
	}
	for _, m := range installed {
		fmt.Fprintf(stdout, "%s\n  source  %s (%s layout, %s, %d bytes)\n  sha256  %s\n  date    %s\n",
			m.Dir, m.Source, m.Layout, m.Format, m.Bytes, m.SHA256, m.Date.Format(time.RFC3339))
	}
	return nil
}

// progressLines prints what's "N%" each tenth of the way, as lines a log
// keeps (not a bar that redraws itself).
func progressLines(w io.Writer, what string) func(done, total int64) {
	last := -1
	return func(done, total int64) {
		if total <= 0 {
			return
		}
		if tenth := int(10 * done / total); tenth > last {
			last = tenth
			fmt.Fprintf(w, "segvol: %s %d%% (%d of %d MB)\n", what, 10*tenth, done>>20, total>>20)
		}
	}
}
