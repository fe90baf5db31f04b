package install

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/segvolapp/segvol/infer/hub"
)

// Repo is SegVol's repository on the Hugging Face hub.
const Repo = "BAAI/SegVol"

// DownloadMB is the size of Repo's checkpoint in MB (10^6 bytes, as the
// hub lists it): pytorch_model.bin, CLIP text tower included, whose
// float32 tensors take 723.6 MB. Every message that tells a user what a
// download costs says this one number.
const DownloadMB = 724

// weightFiles are the checkpoint files of a Hugging Face model folder, in
// the order Fetch prefers them (as transformers does: safetensors first).
var weightFiles = []string{"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"}

// folderFiles are the other files of the folder that installing reads when
// they are there: the tokenizer and the model's configuration.
var folderFiles = []string{"tokenizer.json", "vocab.json", "merges.txt", "config.json"}

// FetchProgress is told the file being downloaded and its bytes so far.
type FetchProgress func(file string, done, total int64)

// Fetch downloads SegVol's checkpoint at revision ("" is main) from the hub
// into a folder under dir named after the commit it resolved to, and
// returns that folder, ready for Install. Every file is pinned to that
// commit, resumes after a broken connection and is checked against the
// size and SHA-256 the hub reports (package hub); a folder of an earlier,
// interrupted Fetch of the same commit is resumed.
func Fetch(ctx context.Context, c *hub.Client, revision, dir string, progress FetchProgress) (string, error) {
	repo, err := c.ListFiles(ctx, Repo, revision)
	if err != nil {
		return "", err
	}
	var want []string
	for _, name := range weightFiles {
		if _, ok := repo.File(name); ok {
			want = append(want, name)
			if strings.HasSuffix(name, ".index.json") {
				want = append(want, shards(repo, strings.TrimSuffix(name, ".index.json"))...)
			}
			break
		}
	}
	if len(want) == 0 {
		return "", fmt.Errorf("%s at %s holds no checkpoint (none of %s)", Repo, repo.Commit, strings.Join(weightFiles, ", "))
	}
	for _, name := range folderFiles {
		if _, ok := repo.File(name); ok {
			want = append(want, name)
		}
	}
	folder := filepath.Join(dir, strings.ReplaceAll(Repo, "/", "-")+"@"+repo.Commit)
	for _, name := range want {
		var p func(done, total int64)
		if progress != nil {
			p = func(done, total int64) { progress(name, done, total) }
		}
		if _, err := c.Download(ctx, repo.ID, repo.Commit, name, folder, p); err != nil {
			return "", err
		}
	}
	return folder, nil
}

// shards are the files of a sharded checkpoint: "model-00001-of-00002.safetensors"
// and the like, listed beside its index.
func shards(repo hub.Repo, base string) []string {
	stem, ext := strings.TrimSuffix(base, filepath.Ext(base)), filepath.Ext(base)
	var out []string
	for _, f := range repo.Files {
		if strings.HasPrefix(f.Path, stem+"-") && strings.HasSuffix(f.Path, ext) && !strings.Contains(f.Path, "/") {
			out = append(out, f.Path)
		}
	}
	return out
}

// Download fetches SegVol at revision (Fetch) into the user's cache, where
// an interrupted download waits to be resumed and a cancelled one leaves
// the models folder as it was, then installs it into modelsDir. The
// downloaded checkpoint is removed once installed: the models folder holds
// all of it that SegVol uses, and its manifest the checkpoint's SHA-256.
func Download(ctx context.Context, tpl fs.FS, c *hub.Client, revision, modelsDir string, fetched FetchProgress, installed Progress) (*Model, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, fmt.Errorf("no folder to download SegVol into: %w", err)
	}
	folder, err := Fetch(ctx, c, revision, filepath.Join(cache, "segvol", "downloads"), fetched)
	if err != nil {
		return nil, err
	}
	m, err := Install(ctx, tpl, folder, modelsDir, installed)
	if err != nil {
		return nil, err
	}
	os.RemoveAll(folder)
	return m, nil
}
