package morph

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randomMask(r *rand.Rand, dims [3]int, p float64) []uint8 {
	m := make([]uint8, dims[0]*dims[1]*dims[2])
	for n := range m {
		if r.Float64() < p {
			m[n] = 1
		}
	}
	return m
}

// bruteEDT measures every pair; background beyond the border is the padding
// ring at index -1 and dims along each axis.
func bruteEDT(mask []uint8, dims [3]int, sp [3]float64, border bool) []float64 {
	out := make([]float64, len(mask))
	lo, hi := 0, 0
	if border {
		lo, hi = -1, 1
	}
	for n, m := range mask {
		if m == 0 {
			continue
		}
		i, j, k := n%dims[0], (n/dims[0])%dims[1], n/(dims[0]*dims[1])
		best := math.Inf(1)
		for z := lo; z < dims[2]+hi; z++ {
			for y := lo; y < dims[1]+hi; y++ {
				for x := lo; x < dims[0]+hi; x++ {
					inside := x >= 0 && y >= 0 && z >= 0 && x < dims[0] && y < dims[1] && z < dims[2]
					if inside && mask[x+dims[0]*(y+dims[1]*z)] != 0 {
						continue
					}
					dx, dy, dz := float64(x-i)*sp[0], float64(y-j)*sp[1], float64(z-k)*sp[2]
					best = min(best, dx*dx+dy*dy+dz*dz)
				}
			}
		}
		out[n] = best
	}
	return out
}

func TestEDTMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 40 {
		dims := [3]int{1 + r.IntN(9), 1 + r.IntN(8), 1 + r.IntN(7)}
		sp := [3]float64{0.5 + r.Float64(), 0.5 + r.Float64(), 0.5 + 3*r.Float64()}
		mask := randomMask(r, dims, []float64{0.5, 0.9, 0.98}[trial%3])
		for _, border := range []bool{false, true} {
			got := EDT(mask, dims, sp, border)
			want := bruteEDT(mask, dims, sp, border)
			for n := range got {
				if math.IsInf(want[n], 1) != math.IsInf(got[n], 1) || (!math.IsInf(want[n], 1) && math.Abs(got[n]-want[n]) > 1e-9) {
					t.Fatalf("trial %d dims %v spacing %v border %v voxel %d: EDT %g, brute force %g", trial, dims, sp, border, n, got[n], want[n])
				}
			}
		}
	}
}

func TestEDTAllInsideWithoutBorderIsInfinite(t *testing.T) {
	d := EDT([]uint8{1, 1, 1, 1}, [3]int{2, 2, 1}, [3]float64{1, 1, 1}, false)
	for _, x := range d {
		if !math.IsInf(x, 1) {
			t.Fatalf("got %v, want +Inf everywhere", d)
		}
	}
}

// bruteComponents merges neighbours with union-find, a different method
// from the flood fill under test.
func bruteComponents(mask []uint8, dims [3]int, conn Connectivity) []int {
	parent := make([]int, len(mask))
	for n := range parent {
		parent[n] = n
	}
	var find func(int) int
	find = func(n int) int {
		for parent[n] != n {
			n = parent[n]
		}
		return n
	}
	for a, m := range mask {
		if m == 0 {
			continue
		}
		ai, aj, ak := a%dims[0], (a/dims[0])%dims[1], a/(dims[0]*dims[1])
		for b, mb := range mask {
			if mb == 0 {
				continue
			}
			bi, bj, bk := b%dims[0], (b/dims[0])%dims[1], b/(dims[0]*dims[1])
			di, dj, dk := abs(ai-bi), abs(aj-bj), abs(ak-bk)
			if di > 1 || dj > 1 || dk > 1 || (conn == Faces && di+dj+dk > 1) {
				continue
			}
			parent[find(a)] = find(b)
		}
	}
	root := make([]int, len(mask))
	for n := range mask {
		root[n] = -1
		if mask[n] != 0 {
			root[n] = find(n)
		}
	}
	return root
}

func TestComponentsMatchUnionFind(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 30 {
		dims := [3]int{1 + r.IntN(7), 1 + r.IntN(7), 1 + r.IntN(5)}
		mask := randomMask(r, dims, 0.35)
		for _, conn := range []Connectivity{Faces, Corners} {
			labels, sizes := Components(mask, dims, conn)
			root := bruteComponents(mask, dims, conn)
			count := make([]int, len(sizes)+1)
			for a := range mask {
				count[labels[a]]++
				for b := range mask {
					if (root[a] >= 0 && root[a] == root[b]) != (labels[a] != 0 && labels[a] == labels[b]) {
						t.Fatalf("dims %v conn %d: voxels %d and %d disagree with union-find", dims, conn, a, b)
					}
				}
			}
			for l, s := range sizes {
				if count[l+1] != s {
					t.Fatalf("component %d: size %d, counted %d", l+1, s, count[l+1])
				}
			}
		}
	}
}

func TestComponentsDiagonalOnlyJoinsWith26(t *testing.T) {
	mask := []uint8{1, 0, 0, 0, 0, 0, 0, 1} // corners (0,0,0) and (1,1,1)
	dims := [3]int{2, 2, 2}
	if _, s := Components(mask, dims, Faces); len(s) != 2 {
		t.Errorf("6-connected: %d components, want 2", len(s))
	}
	if _, s := Components(mask, dims, Corners); len(s) != 1 {
		t.Errorf("26-connected: %d components, want 1", len(s))
	}
}

func TestFillHoles(t *testing.T) {
	dims := [3]int{5, 5, 5}
	mask := make([]uint8, 125)
	// A hollow 3x3x3 shell centred at (2,2,2), and a notch open to the border.
	for k := 1; k <= 3; k++ {
		for j := 1; j <= 3; j++ {
			for i := 1; i <= 3; i++ {
				mask[i+5*(j+5*k)] = 1
			}
		}
	}
	mask[2+5*(2+5*2)] = 0
	mask[0+5*(0+5*0)] = 0
	FillHoles(mask, dims)
	if mask[2+5*(2+5*2)] != 1 {
		t.Error("enclosed voxel not filled")
	}
	if mask[0] != 0 || mask[4+5*(4+5*4)] != 0 {
		t.Error("background that reaches the border was filled")
	}
}

// Bounds against a direct scan, on sparse random masks (some empty) of odd
// sizes, so that the workers' slabs are uneven.
func TestBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 40 {
		dims := [3]int{1 + r.IntN(17), 1 + r.IntN(13), 1 + r.IntN(11)}
		mask := randomMask(r, dims, []float64{0, 0.001, 0.01, 0.3}[trial%4])
		for i, x := range mask {
			mask[i] = x * uint8(1+r.IntN(255)) // any nonzero value, 128-255 too
		}
		wantLo, wantHi, wantN := dims, [3]int{-1, -1, -1}, 0
		n := 0
		for k := range dims[2] {
			for j := range dims[1] {
				for i := range dims[0] {
					if mask[n] != 0 {
						wantN++
						p := [3]int{i, j, k}
						for a := range 3 {
							wantLo[a], wantHi[a] = min(wantLo[a], p[a]), max(wantHi[a], p[a])
						}
					}
					n++
				}
			}
		}
		lo, hi, got := Bounds(mask, dims)
		if got != wantN || (wantN > 0 && (lo != wantLo || hi != wantHi)) || (wantN == 0 && hi[0] >= lo[0]) {
			t.Fatalf("%v: Bounds %v..%v (%d voxels), want %v..%v (%d)", dims, lo, hi, got, wantLo, wantHi, wantN)
		}
	}
}

func TestNonzeroBytes(t *testing.T) {
	for v := range 256 {
		for pos := range 16 {
			// Byte pos%8 is v; from pos 8 on, byte (pos+3)%8 is 1 as well.
			x := uint64(v) << (8 * (pos % 8))
			if pos >= 8 {
				x |= 1 << (8 * ((pos + 3) % 8))
			}
			got := nonzeroBytes(x)
			var want uint64
			for b := range 8 {
				if x>>(8*b)&0xff != 0 {
					want |= 0x80 << (8 * b)
				}
			}
			if got != want {
				t.Fatalf("nonzeroBytes(%#x) = %#x, want %#x", x, got, want)
			}
		}
	}
}
