//go:build !cgo

package codec

// Without cgo there is no CharLS or OpenJPEG; say so instead of "unknown".
func init() {
	const why = "needs a build with cgo (CharLS / OpenJPEG)"
	for _, ts := range []string{JPEGLSLossless, JPEGLSNearLossless, JPEG2000Lossless, JPEG2000, HTJ2KLossless, HTJ2KLosslessRPCL, HTJ2K} {
		unsupported[ts] = why
	}
}
