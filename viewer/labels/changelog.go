package labels

// ChangeLog numbers a sequence of changes and keeps what the latest 64
// changed, so that a copy made at an older revision (render/gl's label
// texture) is brought up to date by copying one box instead of all. The
// zero value is at revision 0, with nothing known before it.
type ChangeLog struct {
	rev    uint64
	recent [64]logEntry
}

type logEntry struct {
	rev   uint64
	c     Change
	known bool
}

// Revision is the latest revision.
func (l *ChangeLog) Revision() uint64 { return l.rev }

// Add starts a new revision that changed c; known false says that where it
// changed is not known.
func (l *ChangeLog) Add(c Change, known bool) {
	l.rev++
	l.recent[l.rev%uint64(len(l.recent))] = logEntry{l.rev, c, known}
}

// Since is the union of what the revisions after rev changed, false when
// that is no longer known.
func (l *ChangeLog) Since(rev uint64) (Change, bool) {
	if rev > l.rev || l.rev-rev > uint64(len(l.recent)) {
		return Change{}, false
	}
	var c Change
	for r := rev + 1; r <= l.rev; r++ {
		e := l.recent[r%uint64(len(l.recent))]
		if e.rev != r || !e.known {
			return Change{}, false
		}
		c.Merge(e.c)
	}
	return c, true
}
