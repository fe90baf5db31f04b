package volume

import (
	"syscall"
	"unsafe"
)

// hugePages asks Linux to back the 2 MiB-aligned part of a large new voxel
// array with huge pages, before it is filled. A view across the slices
// (sagittal, coronal) touches a new 4 KiB page every row: with 4 KiB pages
// the TLB misses dominate, and the kernel here gives huge pages only to
// memory that asks (transparent_hugepage=madvise). Advice only: an error
// changes nothing but speed.
func hugePages(p unsafe.Pointer, bytes int) {
	const huge = 2 << 20
	start := (uintptr(p) + huge - 1) &^ (huge - 1)
	end := (uintptr(p) + uintptr(bytes)) &^ (huge - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	_ = syscall.Madvise(b, 14) // MADV_HUGEPAGE
}
