// Package morph holds the binary-mask operations that engines and the
// evaluation share: an exact Euclidean distance transform, connected
// components, hole filling and bounding boxes, on flat masks in i-fastest
// order.
package morph

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sync"

	"github.com/segvolapp/segvol/internal/parallel"
)

// EDT returns, for every voxel with mask != 0, the squared Euclidean
// distance in mm² to the nearest voxel with mask == 0 (0 for those). With
// borderIsBackground, the grid is taken as surrounded by background, as
// when the mask is padded with zeros; otherwise a mask with no background
// voxel gives +Inf everywhere.
//
// It is exact: separable passes of the lower envelope of parabolas
// (Felzenszwalb and Huttenlocher), one per axis, each weighted by the axis
// spacing.
func EDT(mask []uint8, dims [3]int, spacing [3]float64, borderIsBackground bool) []float64 {
	d := make([]float64, len(mask))
	for n, m := range mask {
		if m != 0 {
			d[n] = math.Inf(1)
		}
	}
	stride := [3]int{1, dims[0], dims[0] * dims[1]}
	longest := max(dims[0], dims[1], dims[2])
	var e envelope
	e.init(longest + 2)
	line := make([]float64, longest)
	for a := range 3 {
		n, s := dims[a], stride[a]
		// Visit every line along axis a once: its start runs over the
		// other two axes.
		b, c := (a+1)%3, (a+2)%3
		for y := range dims[c] {
			for x := range dims[b] {
				start := x*stride[b] + y*stride[c]
				for q := range n {
					line[q] = d[start+q*s]
				}
				e.transform(line[:n], spacing[a], borderIsBackground)
				for q := range n {
					d[start+q*s] = line[q]
				}
			}
		}
	}
	return d
}

// envelope holds the buffers of one 1D pass.
type envelope struct {
	v []float64 // positions of the parabolas in the envelope (mm)
	h []float64 // their heights
	z []float64 // boundaries between them
}

func (e *envelope) init(n int) {
	e.v, e.h, e.z = make([]float64, n), make([]float64, n), make([]float64, n+1)
}

// transform replaces f[q] by min over p of f[p] + ((q-p)*s)², with sites of
// height 0 at p = -1 and p = len(f) when border is set.
func (e *envelope) transform(f []float64, s float64, border bool) {
	k := -1
	add := func(pos, height float64) {
		if math.IsInf(height, 1) {
			return
		}
		for k >= 0 {
			// Where the new parabola overtakes the last one kept.
			x := ((height + pos*pos) - (e.h[k] + e.v[k]*e.v[k])) / (2 * (pos - e.v[k]))
			if x > e.z[k] {
				k++
				e.v[k], e.h[k], e.z[k] = pos, height, x
				e.z[k+1] = math.Inf(1)
				return
			}
			k--
		}
		k = 0
		e.v[0], e.h[0], e.z[0], e.z[1] = pos, height, math.Inf(-1), math.Inf(1)
	}
	if border {
		add(-s, 0)
	}
	for q, x := range f {
		add(float64(q)*s, x)
	}
	if border {
		add(float64(len(f))*s, 0)
	}
	if k < 0 {
		return // no finite site: the line stays infinite
	}
	j := 0
	for q := range f {
		pos := float64(q) * s
		for e.z[j+1] < pos {
			j++
		}
		dx := pos - e.v[j]
		f[q] = dx*dx + e.h[j]
	}
}

// Connectivity is 6 (faces) or 26 (faces, edges and corners).
type Connectivity int

const (
	Faces   Connectivity = 6
	Corners Connectivity = 26
)

// Components labels the connected components of the voxels with
// mask != 0: labels[n] is 0 outside the mask and 1..len(sizes) inside, in
// the order of each component's first voxel in i-fastest order;
// sizes[l-1] is the voxel count of component l.
func Components(mask []uint8, dims [3]int, conn Connectivity) (labels []int32, sizes []int) {
	labels = make([]int32, len(mask))
	nb := neighbours(conn)
	var queue []int32
	for start, m := range mask {
		if m == 0 || labels[start] != 0 {
			continue
		}
		l := int32(len(sizes) + 1)
		labels[start] = l
		queue = append(queue[:0], int32(start))
		size := 0
		for len(queue) > 0 {
			n := int(queue[len(queue)-1])
			queue = queue[:len(queue)-1]
			size++
			i, j, k := n%dims[0], (n/dims[0])%dims[1], n/(dims[0]*dims[1])
			for _, o := range nb {
				x, y, z := i+o[0], j+o[1], k+o[2]
				if x < 0 || y < 0 || z < 0 || x >= dims[0] || y >= dims[1] || z >= dims[2] {
					continue
				}
				m := x + dims[0]*(y+dims[1]*z)
				if mask[m] != 0 && labels[m] == 0 {
					labels[m] = l
					queue = append(queue, int32(m))
				}
			}
		}
		sizes = append(sizes, size)
	}
	return labels, sizes
}

func neighbours(conn Connectivity) [][3]int {
	var nb [][3]int
	for dz := -1; dz <= 1; dz++ {
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				s := abs(dx) + abs(dy) + abs(dz)
				if s == 0 || (conn == Faces && s > 1) {
					continue
				}
				nb = append(nb, [3]int{dx, dy, dz})
			}
		}
	}
	return nb
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// FillHoles sets to 1 every background voxel that cannot reach the grid's
// border through face-connected background.
func FillHoles(mask []uint8, dims [3]int) {
	bg := make([]uint8, len(mask))
	for n, m := range mask {
		if m == 0 {
			bg[n] = 1
		}
	}
	labels, sizes := Components(bg, dims, Faces)
	outside := make([]bool, len(sizes)+1)
	for n, l := range labels {
		if l == 0 || outside[l] {
			continue
		}
		i, j, k := n%dims[0], (n/dims[0])%dims[1], n/(dims[0]*dims[1])
		if i == 0 || j == 0 || k == 0 || i == dims[0]-1 || j == dims[1]-1 || k == dims[2]-1 {
			outside[l] = true
		}
	}
	for n, l := range labels {
		if l != 0 && !outside[l] {
			mask[n] = 1
		}
	}
}

// Bounds is the smallest box lo..hi (inclusive) holding every nonzero voxel
// of mask, and their count n; hi < lo when there is none. The viewer calls
// it on the UI goroutine for each AI result, a 78 MB mask on a 512x512x300
// CT: rows are split among the cores and read 8 bytes at a time.
func Bounds(mask []uint8, dims [3]int) (lo, hi [3]int, n int) {
	lo, hi = dims, [3]int{-1, -1, -1}
	var mu sync.Mutex
	parallel.For(dims[2], func(k0, k1 int) {
		plo, phi, pn := dims, [3]int{-1, -1, -1}, 0
		for k := k0; k < k1; k++ {
			for j := range dims[1] {
				first, last, c := rowBounds(mask[dims[0]*(j+dims[1]*k):][:dims[0]])
				if c == 0 {
					continue
				}
				pn += c
				plo = [3]int{min(plo[0], first), min(plo[1], j), min(plo[2], k)}
				phi = [3]int{max(phi[0], last), max(phi[1], j), max(phi[2], k)}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		n += pn
		for a := range 3 {
			lo[a], hi[a] = min(lo[a], plo[a]), max(hi[a], phi[a])
		}
	})
	return lo, hi, n
}

// rowBounds is the first and last nonzero byte of row and their count.
func rowBounds(row []uint8) (first, last, n int) {
	first, last = -1, -1
	i := 0
	for ; i+8 <= len(row); i += 8 {
		nz := nonzeroBytes(binary.LittleEndian.Uint64(row[i:]))
		if nz == 0 {
			continue
		}
		if first < 0 {
			first = i + bits.TrailingZeros64(nz)/8
		}
		last = i + 7 - bits.LeadingZeros64(nz)/8
		n += bits.OnesCount64(nz)
	}
	for ; i < len(row); i++ {
		if row[i] != 0 {
			if first < 0 {
				first = i
			}
			last = i
			n++
		}
	}
	return first, last, n
}

// nonzeroBytes has the top bit of each nonzero byte of x set, and no other.
func nonzeroBytes(x uint64) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	// Adding low7 to the low 7 bits carries into the top bit unless they
	// are all zero; or-ing x adds the bytes whose top bit was set.
	return ((x & low7) + low7 | x) &^ low7
}
