// Package atomicfile writes files so that a crash or a full disk never
// leaves half a file where a good one was: the user's masks and studies are
// only ever replaced whole.
package atomicfile

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// Write creates or replaces path with what write produces. The bytes go to
// a temporary file in the same folder (so the rename cannot cross file
// systems), which is synced and renamed over path; the folder is synced so
// the rename itself survives a crash. On any error the temporary file is
// removed and path is left as it was.
func Write(path string, write func(w io.Writer) error) error {
	if err := WriteNoDirSync(path, write); err != nil {
		return err
	}
	// Not every platform can sync a folder; the file is safe either way.
	SyncDir(filepath.Dir(path))
	return nil
}

// WriteNoDirSync is Write without the sync of the folder: the file's bytes
// are on disk before its name is, but the rename itself may not survive a
// crash until the folder is synced (SyncDir). A caller writing several
// files into one folder syncs it once after the last rename: a folder's
// sync is the costly one (a journal commit, 3-10 ms on ext4 here).
func WriteNoDirSync(path string, write func(w io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	// 64 KiB: a large image is written in few enough calls, and a batch
	// writing three small files per study does not allocate (and clear)
	// 3 MiB for them.
	w := bufio.NewWriterSize(f, 64<<10)
	if err = write(w); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// SyncDir makes the renames done in dir survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
