package app

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/infer/segvol"
)

// modelsFolder is the folder the app looks in for the SegVol model: the
// one the engine looked in, else the one set, else the default.
func (v *Viewer) modelsFolder() string {
	if v.ai.info.Models != "" {
		return v.ai.info.Models
	}
	if v.engineOpts.Models != "" {
		return v.engineOpts.Models
	}
	dir, err := segvol.DefaultDir()
	if err != nil {
		return "(none: " + err.Error() + ")"
	}
	return dir
}

// installText is Help > Installing SegVol: where to get the model, how to
// make the files the app runs, and where to put them (models/README.md and
// models/segvol/README.md for a user who has neither).
func installText(folder string) string {
	return strings.Join([]string{
		"Without SegVol the app segments from points and boxes with its embedded method. " +
			"SegVol adds segmenting a structure by name (\"liver\") and usually better shapes.",
		"The short way: Segmentation > Install SegVol model… downloads it from Hugging Face, or takes the folder you " +
			"downloaded from there or the GitHub checkpoint (SegVol_v1.pth), checks it and installs it into\n    " + folder +
			"\nwith no Python; the app then uses it at once. By hand, it needs:",
		"1. The model. SegVol is by BAAI-DCAI (arXiv 2311.13385). Its weights are on Hugging Face as BAAI/SegVol " +
			"(pytorch_model.bin, " + downloadSize + ", with the CLIP tokenizer files beside it). Check the license on its model card " +
			"before you share them.",
		"2. The files the app runs. The export script of this program's source, models/segvol/export.py, turns the " +
			"weights into them on any machine with Python 3, PyTorch and onnx (add transformers for structure names):\n" +
			"    python3 models/segvol/export.py --checkpoint SegVol/pytorch_model.bin --out \"" + folder + "\"",
		fmt.Sprintf("3. The folder. The app looks in\n    %s\nfor %s, %s and %s (with %s, and %s and %s for structure names). "+
			"Another folder can be set in File > Settings….",
			folder, segvol.EncoderFile, segvol.PromptFile, segvol.DecoderFile, segvol.ManifestFile, segvol.TextIndexFile, segvol.TextVectorFile),
		"4. ONNX Runtime, the library that runs the model. The packages carry it; File > Settings… picks another, for " +
			"example the CUDA build for an NVIDIA GPU, and the device to run on.",
		"Then start the app again (or save the settings): the status bar says \"AI: segvol on …\" when SegVol runs, " +
			"and why not when it does not.",
	}, "\n\n")
}

// showInstall shows Help > Installing SegVol.
func (v *Viewer) showInstall() {
	l := widget.NewLabel(installText(v.modelsFolder()))
	l.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom("Installing SegVol", "Close", container.NewVScroll(l), v.win)
	d.Resize(fyne.NewSize(720, 560))
	d.Show()
}
