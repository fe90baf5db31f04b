//go:build !linux

package main

import "time"

// cpuTimes is what the benchmark reports on Linux only.
func cpuTimes() (thread, process time.Duration, ok bool) { return 0, 0, false }
