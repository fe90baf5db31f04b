package labels

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/segvolapp/segvol/internal/atomicfile"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

// Recovery is an autosaved label map that a restarted app can offer back.
type Recovery struct {
	Path     string    `json:"-"`      // the recovery record
	Labels   string    `json:"labels"` // its label map file, in the same folder
	Source   string    `json:"source"` // the study it segments
	Time     time.Time `json:"time"`   // when it was written
	Dims     [3]int    `json:"dims"`
	Segments []Segment `json:"segments"`
}

const (
	recoveryPrefix = "segvol-recovery-"
	recoveryExt    = ".json"
)

// autosaveState is what Autosave remembers between calls. Its own mutex
// serialises autosaves without holding up edits; a timer that fires while
// a slow save is still writing skips instead of queueing (TryLock).
type autosaveState struct {
	mu       sync.Mutex
	revision uint64
	labels   string // the label file of the last record
	written  bool
}

// Autosave writes the label map, its segment table and the source study's
// path to a recovery record in dir (created if needed), each file
// atomically, and returns the record's path. It is safe to call from any
// goroutine: the voxels are copied under a read lock (a memory copy) and
// written outside it. It does nothing when nothing changed since the last
// autosave, or when another autosave of this map is still running.
func (m *LabelMap) Autosave(dir string) (string, error) {
	a := &m.auto
	if !a.mu.TryLock() {
		return "", nil
	}
	defer a.mu.Unlock()
	key := m.recoveryKey()
	record := filepath.Join(dir, key+recoveryExt)

	m.mu.RLock()
	rev := m.log.Revision()
	if a.written && rev == a.revision {
		m.mu.RUnlock()
		return record, nil
	}
	vox := append([]uint8(nil), m.vox...)
	rec := Recovery{Source: m.source, Time: time.Now().UTC(), Dims: m.dims, Segments: m.segmentsLocked()}
	m.mu.RUnlock()

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("labels: autosave: %w", err)
	}
	// A new label file per revision, named by the record only once it is
	// complete: a crash mid-write leaves the previous pair intact.
	rec.Labels = fmt.Sprintf("%s-%d.nii.gz", key, rev)
	if err := nifti.Write(filepath.Join(dir, rec.Labels), m.asVolume(vox)); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("labels: autosave: %w", err)
	}
	if err := writeAtomic(record, data, atomicfile.Write); err != nil {
		return "", err
	}
	if a.written && a.labels != rec.Labels {
		os.Remove(filepath.Join(dir, a.labels))
	}
	a.revision, a.labels, a.written = rev, rec.Labels, true
	return record, nil
}

// recoveryKey names this map's recovery files: the process and the study,
// so two windows or two runs never overwrite each other's record.
func (m *LabelMap) recoveryKey() string {
	h := fnv.New32a()
	h.Write([]byte(m.source))
	return fmt.Sprintf("%s%d-%08x", recoveryPrefix, os.Getpid(), h.Sum32())
}

// FindRecovery lists the recovery records in dir whose label file exists,
// newest first. A missing folder is no recovery; an unreadable record is
// skipped (a recovery offer must not fail the start-up).
func FindRecovery(dir string) ([]Recovery, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	var out []Recovery
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, recoveryPrefix) || !strings.HasSuffix(name, recoveryExt) {
			continue
		}
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var r Recovery
		if json.Unmarshal(data, &r) != nil || r.Labels != filepath.Base(r.Labels) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, r.Labels)); err != nil {
			continue
		}
		r.Path = path
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out, nil
}

// LoadRecovery restores a recovered label map onto img (the study at
// r.Source, opened again by the app), with its segment table.
func LoadRecovery(r Recovery, img *volume.Volume) (*LabelMap, error) {
	m, err := New(img)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(filepath.Dir(r.Path), r.Labels)
	lv, err := nifti.Read(path)
	if err != nil {
		return nil, err
	}
	if err := m.takeVoxels(path, lv); err != nil {
		return nil, err
	}
	m.fillTable(r.Segments)
	return m, nil
}

// RemoveRecovery deletes a record and its label file (after the user
// declined it, or once the work is saved).
func RemoveRecovery(r Recovery) error {
	err := os.Remove(filepath.Join(filepath.Dir(r.Path), r.Labels))
	if e := os.Remove(r.Path); e != nil && err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	return nil
}
