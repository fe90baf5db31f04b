package app

import (
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// Fyne's test driver has no UI goroutine: fyne.Do runs its function at once
// on the goroutine that calls it, so a background load, engine start or
// segmentation would update the widgets while the test reads or drives
// them (the race detector reported it, and CI once crashed on it). The
// tests therefore hold uiMu while they act, as the UI goroutine would, and
// let background updates in only while they wait (await, waitFor).
var (
	uiMu   sync.Mutex
	uiHeld *testing.T // the test holding uiMu
)

// serialDriver runs fyne.Do functions one at a time, under uiMu.
type serialDriver struct{ fyne.Driver }

func (d serialDriver) DoFromGoroutine(fn func(), _ bool) {
	uiMu.Lock()
	defer uiMu.Unlock()
	fn()
}

type serialApp struct {
	fyne.App
	driver serialDriver
}

func (a *serialApp) Driver() fyne.Driver { return a.driver }

// newTestApp is test.NewTempApp with fyne.Do serialised against the test,
// which holds the UI until it ends or waits.
func newTestApp(t *testing.T) fyne.App {
	t.Helper()
	// Timers of a test's widgets (the segment statistics' 300 ms) can fire
	// after it ends, when test.NewTempApp's cleanup has put the previous app
	// back: that one serialises fyne.Do too, or two such timers ran their
	// updates at once (the race detector caught it in CI). Registered before
	// NewTempApp's own cleanup, this runs after it.
	t.Cleanup(func() {
		if prev := fyne.CurrentApp(); prev != nil {
			if _, ok := prev.(*serialApp); !ok {
				fyne.SetCurrentApp(&serialApp{App: prev, driver: serialDriver{prev.Driver()}})
			}
		}
	})
	inner := test.NewTempApp(t)
	a := &serialApp{App: inner, driver: serialDriver{inner.Driver()}}
	fyne.SetCurrentApp(a)
	if uiHeld != t {
		uiMu.Lock()
		uiHeld = t
		t.Cleanup(func() {
			uiHeld = nil
			uiMu.Unlock()
		})
	}
	return a
}

// await receives from ch, letting background work update the UI meanwhile.
func await[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	uiMu.Unlock()
	defer uiMu.Lock()
	select {
	case v := <-ch:
		return v
	case <-time.After(60 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// waitFor polls cond, letting background work update the UI between polls.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		uiMu.Unlock()
		time.Sleep(10 * time.Millisecond)
		uiMu.Lock()
	}
}
