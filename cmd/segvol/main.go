// Command segvol is the headless side of the application: it inspects and
// converts studies for scripts and reports, with no GUI dependencies.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/segvolapp/segvol/batch"
)

var usage = `usage: segvol COMMAND [ARGS]

commands:
  info PATH [--series UID|N] [--json]     describe a study (NIfTI file, DICOM file, folder or DICOMDIR)
  convert PATH OUT.nii[.gz] [--series UID|N]  write the study as NIfTI
  render PATH [--series UID|N] --view axial|sagittal|coronal --slice N [--window C,W]
         [--labels MASK.nii.gz] [--size PX] [--interp nearest|linear] --out FILE.png
                                          draw one view as the viewer does (CPU renderer)
  render PATH --view 3d [--labels MASK.nii.gz] [--from A|P|L|R|S|I] [--azimuth A --elevation E]
         [--volume PRESET] [--planes] [--size PX] --out FILE.png
                                          draw the 3D view (segment surfaces, volume rendering, planes)
  segment --image PATH [--series UID|N] [--point i,j,k]... [--negative i,j,k]...
          [--box i0,j0,k0,i1,j1,k1] [--text PHRASE] [--backend auto|classic|segvol] --out MASK.nii.gz
                                          segment from a box, clicks (voxel indices as info reports them) and/or
                                          text (a category name; any phrase with text_encoder.onnx)
  eval --image IMAGE --labels LABELMAP --label N [--clicks 5] [--backend auto|classic|segvol] [--json]
                                          box + corrective clicks protocol (CVPR 2025 interactive challenge)
  export-seg --image DICOM_DIR [--series UID|N] --labels MASK.nii.gz [--names LABELS.txt]
             [--algorithm MANUAL|SEMIAUTOMATIC|AUTOMATIC] --out SEG.dcm
                                          write a label map as a DICOM SEG referencing its source series
  mesh --labels MASK [--image PATH] [--label N|NAME]... [--smooth F] [--decimate F] [--ras]
       [--format stl|obj|ply] --out FILE|DIR
                                          segment surfaces (closed, smoothed) in patient coordinates (LPS, or RAS),
                                          one file for all (format by extension) or one per segment in a folder
  batch MANIFEST.csv --out DIR [--workers N] [--seg] [--force] [--backend auto|classic|segvol] [--models DIR] [--device D]
                                          segment a cohort: one CSV row per structure, with the columns
                                          ` + strings.Join(batch.Columns, ", ") + `
                                          (the project's README.md, section "Batch runs over a cohort", says
                                          what each holds and what DIR gets)
  batch MANIFEST.csv --out DIR --slurm [--slurm-script] [--shards N] [--partition P] [--gpus-per-task N]
        [--cpus-per-task N] [--mem M] [--time T] [--max-parallel K] [--sbatch-arg ARG]...
                                          the same as a Slurm job array
  batch --scan ROOT --out MANIFEST.csv [--modality CT]   write a starting manifest
  batch status|collect DIR                 a batch's studies done, failed and pending; merge its results.csv
` + modelsUsage() + pacsUsage

// errUsage marks mistakes in the command line, which exit with status 2.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the exit status. A panic in a reader
// becomes one line on stderr: a user sees what failed, not a trace.
func run(args []string, stdout, stderr io.Writer) (status int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "segvol: internal error: %v\n", r)
			status = 3
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if len(args) == 2 && (args[0] == "models" || args[0] == "pacs") && (args[1] == "-h" || args[1] == "--help") {
		fmt.Fprint(stdout, commandUsage(args[0])) // the group's commands; each has its --help
		return 0
	}
	var err error
	switch args[0] {
	case "info":
		err = cmdInfo(ctx, args[1:], stdout, stderr)
	case "convert":
		err = cmdConvert(ctx, args[1:], stdout, stderr)
	case "render":
		err = cmdRender(ctx, args[1:], stdout, stderr)
	case "segment":
		err = cmdSegment(ctx, args[1:], stdout, stderr)
	case "eval":
		err = cmdEval(ctx, args[1:], stdout, stderr)
	case "export-seg":
		err = cmdExportSeg(ctx, args[1:], stdout, stderr)
	case "mesh":
		err = cmdMesh(ctx, args[1:], stdout, stderr)
	case "models":
		err = cmdModels(ctx, args[1:], stdout, stderr)
	case "batch":
		err = cmdBatch(ctx, args[1:], stdout, stderr)
	case "pacs":
		err = cmdPACS(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	if err == nil {
		return 0
	}
	if h := (helpRequest{}); errors.As(err, &h) {
		fmt.Fprint(stdout, commandUsage(h.fs.Name()))
		h.fs.SetOutput(stdout)
		h.fs.PrintDefaults()
		return 0
	}
	fmt.Fprintf(stderr, "segvol: %s\n", oneLine(err.Error()))
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// oneLine keeps an error message to a single line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.ReplaceAll(s, "\n", "; ")
}

// usageError is a command line's mistake: the command's usage, and first
// the arguments past the want positional ones it takes, named, since the
// usage alone does not say which word was not understood.
func usageError(usage string, pos []string, want int) error {
	if len(pos) > want {
		extra := make([]string, len(pos)-want)
		for i, a := range pos[want:] {
			extra[i] = strconv.Quote(a)
		}
		return fmt.Errorf("%w: %s not understood (an argument too many, or a flag without its --); %s", errUsage, strings.Join(extra, ", "), usage)
	}
	return fmt.Errorf("%w: %s", errUsage, usage)
}

// helpRequest is -h or --help given to the command whose flags are fs: run
// prints its lines of the usage and its flags.
type helpRequest struct{ fs *flag.FlagSet }

func (helpRequest) Error() string { return "help requested" }

// commandUsage is the lines of the usage about the command called name
// ("batch", "models install"): those that start with it and the indented
// ones that go on from them.
func commandUsage(name string) string {
	var b strings.Builder
	in := false
	for _, line := range strings.SplitAfter(usage, "\n") {
		switch {
		case strings.HasPrefix(line, "  "+name+" "):
			in = true
		case !strings.HasPrefix(line, "   "):
			in = false
		}
		if in {
			b.WriteString(line)
		}
	}
	return b.String()
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments (Go's flag package stops at the first positional
// one), and returns the positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, helpRequest{fs}
		} else if err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
