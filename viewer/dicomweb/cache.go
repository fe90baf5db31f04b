package dicomweb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/study"
)

// Cache holds retrieved series on disk, one folder per series
// (Dir/<study UID>/<series UID>/), so a second open is instant and works
// offline. A series folder appears only complete: it is received into a
// temporary folder beside it and renamed into place. The folders are the
// user's alone (mode 0700): they hold patient data.
type Cache struct {
	Dir string
	// MaxBytes is the most the cache keeps; the series used longest ago
	// go first. 0 means no limit.
	MaxBytes int64
}

// DefaultCacheDir is the cache in the user's cache folder.
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "segvol", "pacs"), nil
}

// DefaultCacheBytes is the cache size when the settings name none.
const DefaultCacheBytes int64 = 10 << 30

const partialPrefix = ".partial-"

// SeriesDir is where a series is (or would be) in the cache.
func (c *Cache) SeriesDir(studyUID, seriesUID string) (string, error) {
	if err := checkUID(studyUID); err != nil {
		return "", err
	}
	if err := checkUID(seriesUID); err != nil {
		return "", err
	}
	return filepath.Join(c.Dir, studyUID, seriesUID), nil
}

// Has reports whether a complete copy of the series is cached.
func (c *Cache) Has(studyUID, seriesUID string) bool {
	d, err := c.SeriesDir(studyUID, seriesUID)
	if err != nil {
		return false
	}
	st, err := os.Stat(d)
	return err == nil && st.IsDir()
}

// Get returns the folder of a series, retrieving it from the server first
// when it is not cached. expected is the series' number of images from a
// search (0 if unknown). On any failure nothing of the series is left in
// the cache.
func (c *Cache) Get(ctx context.Context, cl *Client, studyUID, seriesUID string, expected int, progress Progress) (string, error) {
	dst, _, err := c.get(ctx, cl, studyUID, seriesUID, expected, progress, nil)
	return dst, err
}

// Open is Get, then study.Open of the series' folder. A series retrieved
// is read while it is written (dicom.Gather), so opening it reads no file
// back: the same volume, a pass over 60 MB less. The folder is returned
// ("" when the series could not be had) even when opening it fails.
func (c *Cache) Open(ctx context.Context, cl *Client, studyUID, seriesUID string, expected int, progress Progress) (string, *study.Study, error) {
	dst, err := c.SeriesDir(studyUID, seriesUID)
	if err != nil {
		return "", nil, err
	}
	g := dicom.NewGather(expected)
	var streamed atomic.Bool // a file too large for memory: g lacks it
	seen := func(i int, name string, data []byte) {
		if data == nil {
			streamed.Store(true)
			return
		}
		g.Add(i, filepath.Join(dst, name), data)
	}
	dst, retrieved, err := c.get(ctx, cl, studyUID, seriesUID, expected, progress, seen)
	if err != nil {
		return "", nil, err
	}
	if !retrieved || streamed.Load() {
		st, err := study.Open(ctx, dst, study.Options{})
		return dst, st, err
	}
	st, err := study.OpenGathered(ctx, dst, g, study.Options{})
	return dst, st, err
}

// get is Get, showing the files it retrieves to seen; retrieved says they
// were (the folder was not in the cache).
func (c *Cache) get(ctx context.Context, cl *Client, studyUID, seriesUID string, expected int, progress Progress, seen Seen) (string, bool, error) {
	dst, err := c.SeriesDir(studyUID, seriesUID)
	if err != nil {
		return "", false, err
	}
	if c.Has(studyUID, seriesUID) {
		now := time.Now()
		os.Chtimes(dst, now, now) // most recently used: evicted last
		return dst, false, nil
	}
	if cl == nil {
		return "", false, fmt.Errorf("series %s is not in the PACS cache", seriesUID)
	}
	if err := c.mkdir(filepath.Dir(dst)); err != nil {
		return "", false, err
	}
	tmp, err := os.MkdirTemp(c.Dir, partialPrefix)
	if err != nil {
		return "", false, fmt.Errorf("cannot write to the PACS cache: %w", err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; else the partial copy
	if _, err := cl.retrieveSeries(ctx, studyUID, seriesUID, tmp, expected, progress, seen); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		if c.Has(studyUID, seriesUID) {
			return dst, false, nil // another process cached it meanwhile
		}
		return "", false, fmt.Errorf("cannot write to the PACS cache: %w", err)
	}
	if err := c.Evict(dst); err != nil {
		return dst, true, err
	}
	return dst, true, nil
}

// mkdir makes the cache folder (mode 0700; one that exists is left as
// it is, as `segvol pacs get --out .` must not change the user's folder)
// and a study folder in it (0700).
func (c *Cache) mkdir(studyDir string) error {
	if c.Dir == "" {
		return errors.New("no PACS cache folder")
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("cannot make the PACS cache: %w", err)
	}
	if err := os.Mkdir(studyDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cannot make the PACS cache: %w", err)
	}
	return nil
}

// cached is one series folder in the cache.
type cached struct {
	dir   string
	bytes int64
	used  time.Time
}

func (c *Cache) list() ([]cached, error) {
	studies, err := os.ReadDir(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []cached
	for _, st := range studies {
		if !st.IsDir() || strings.HasPrefix(st.Name(), ".") {
			continue
		}
		series, err := os.ReadDir(filepath.Join(c.Dir, st.Name()))
		if err != nil {
			return nil, err
		}
		for _, se := range series {
			info, err := se.Info()
			if err != nil || !se.IsDir() {
				continue
			}
			dir := filepath.Join(c.Dir, st.Name(), se.Name())
			out = append(out, cached{dir: dir, bytes: dirBytes(dir), used: info.ModTime()})
		}
	}
	return out, nil
}

func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// Size is the bytes the cached series take.
func (c *Cache) Size() (int64, error) {
	all, err := c.list()
	var n int64
	for _, s := range all {
		n += s.bytes
	}
	return n, err
}

// Evict removes the series used longest ago until the cache fits
// MaxBytes, never the folder keep (the series being opened), and partial
// folders an interrupted retrieve left more than an hour ago.
func (c *Cache) Evict(keep string) error {
	if ents, err := os.ReadDir(c.Dir); err == nil {
		for _, e := range ents {
			if info, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), partialPrefix) && time.Since(info.ModTime()) > time.Hour {
				os.RemoveAll(filepath.Join(c.Dir, e.Name()))
			}
		}
	}
	if c.MaxBytes <= 0 {
		return nil
	}
	all, err := c.list()
	if err != nil {
		return err
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	var total int64
	for _, s := range all {
		total += s.bytes
	}
	for _, s := range all {
		if total <= c.MaxBytes {
			break
		}
		if s.dir == keep {
			continue
		}
		if err := os.RemoveAll(s.dir); err != nil {
			return fmt.Errorf("cannot trim the PACS cache: %w", err)
		}
		os.Remove(filepath.Dir(s.dir)) // the study folder, once empty
		total -= s.bytes
	}
	return nil
}

// Clear removes every cached series.
func (c *Cache) Clear() error {
	ents, err := os.ReadDir(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(c.Dir, e.Name())); err != nil {
			return fmt.Errorf("cannot clear the PACS cache: %w", err)
		}
	}
	return nil
}
