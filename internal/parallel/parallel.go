// Package parallel splits loops over rows or slices across the CPUs, for the
// engines' hot loops (rendering, block averaging, mask upsampling).
package parallel

import (
	"runtime"
	"sync"
)

// For calls f on consecutive chunks [lo, hi) that cover [0, n), one chunk
// per CPU, and returns when all are done. With one CPU, or n < 2, it calls
// f(0, n) on the calling goroutine.
func For(n int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, min(lo+chunk, n))
	}
	wg.Wait()
}
