//go:build !linux || !cgo

package main

// keepFreedHeap tunes glibc's allocator; elsewhere there is nothing to do.
func keepFreedHeap() {}
