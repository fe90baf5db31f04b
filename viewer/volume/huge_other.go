//go:build !linux

package volume

import "unsafe"

// hugePages is Linux-only advice (huge_linux.go).
func hugePages(p unsafe.Pointer, bytes int) {}
