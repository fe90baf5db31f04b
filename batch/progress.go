package batch

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress reports studies as they end: a bar redrawn in place on a
// terminal (count, rate, time left), one line per study otherwise (logs,
// Slurm's output files).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	total    int
	ended    int // done, failed or skipped
	ran      int // of ended, those that ran (the rate counts only them)
	start    time.Time
}

func newProgress(w io.Writer, terminal bool, total int) *progress {
	return &progress{w: w, terminal: terminal, total: total, start: time.Now()}
}

// study records one study's end: errMsg is "" when it succeeded, took < 0
// when it was skipped as done.
func (p *progress) study(id, errMsg string, took time.Duration) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended++
	if took >= 0 {
		p.ran++
	}
	if !p.terminal {
		what := "ok"
		switch {
		case took < 0:
			what = "done before, skipped"
		case errMsg != "":
			what = "FAILED: " + errMsg
		}
		fmt.Fprintf(p.w, "batch: [%d/%d] %s %s", p.ended, p.total, id, what)
		if took >= 0 {
			fmt.Fprintf(p.w, " (%.1f s)", took.Seconds())
		}
		fmt.Fprintln(p.w)
		return
	}
	if errMsg != "" {
		fmt.Fprintf(p.w, "\r\033[K%s FAILED: %s\n", id, errMsg)
	}
	const width = 30
	fill := width * p.ended / max(p.total, 1)
	line := fmt.Sprintf("\r\033[K[%s%s] %d/%d", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), p.ended, p.total)
	if el := time.Since(p.start); p.ran > 0 && el > 0 {
		rate := float64(p.ran) / el.Seconds()
		left := time.Duration(float64(p.total-p.ended) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf("  %.2f studies/min  %s left", rate*60, left)
	}
	fmt.Fprint(p.w, line)
}

func (p *progress) finish() {
	if p.w != nil && p.terminal {
		fmt.Fprintln(p.w)
	}
}
