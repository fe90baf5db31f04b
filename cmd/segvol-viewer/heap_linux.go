//go:build linux && cgo

package main

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static void keepFreedHeap(void) {
#ifdef __GLIBC__
	// More than the texture of a maximised view on a 4K screen (33 MB).
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}
*/
import "C"

// keepFreedHeap stops glibc from handing freed heap back to the system at
// once. Fyne uploads each new slice image as a new texture and Mesa's
// software renderer (llvmpipe, as under Xvfb) frees the old one: with
// glibc's default the heap shrank and grew by a texture every frame, and
// page faults took a third of the UI thread's time while scrolling.
func keepFreedHeap() { C.keepFreedHeap() }
