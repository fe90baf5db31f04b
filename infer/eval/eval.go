// Package eval runs the interactive protocol of the CVPR 2025 challenge on
// foundation models for interactive 3D biomedical segmentation against a
// reference mask: a prediction from the target's 3D bounding box, then
// corrective clicks, each at the centre of the largest error region.
package eval

import (
	"context"
	"fmt"
	"time"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/infer/morph"
)

// Step is one prediction of the protocol.
type Step struct {
	// Click is the click added before this prediction; nil for the box
	// step, and for a step after a perfect mask (the protocol then adds no
	// click but predicts again).
	Click   *infer.Point
	Dice    float64
	Seconds float64 // time of the Segment call alone
}

// Result is the outcome of Run.
type Result struct {
	Steps     []Step // the box step, then one per click
	FinalDice float64
	// DSCAUC is the challenge's area under the Dice curve: the trapezoid
	// rule over the Dice after each click (the box step left out, as the
	// box is optional there), with unit step, so it ranges over 0..clicks-1.
	DSCAUC float64
	// DSCAUCNormalized is DSCAUC divided by clicks-1, in 0..1: the mean
	// height of the curve. With one click it is that click's Dice, with
	// none the box step's.
	DSCAUCNormalized float64
}

// Run evaluates seg on img against target (1 = inside) with the box step
// and then clicks corrective clicks. Each step's prompt holds the box, all
// clicks so far and the previous mask.
func Run(ctx context.Context, seg infer.Segmenter, img infer.Image, target []uint8, clicks int) (Result, error) {
	var res Result
	if err := img.Validate(); err != nil {
		return res, err
	}
	if len(target) != img.Len() {
		return res, fmt.Errorf("reference mask holds %d voxels for a %dx%dx%d image", len(target), img.Dims[0], img.Dims[1], img.Dims[2])
	}
	box, ok := BoundingBox(target, img.Dims)
	if !ok {
		return res, fmt.Errorf("reference mask is empty")
	}
	p := infer.Prompt{Box: &box}
	var pred []uint8
	for step := 0; step <= clicks; step++ {
		var click *infer.Point
		if step > 0 {
			if c, ok := NextClick(pred, target, img.Dims, img.Spacing); ok {
				click = &c
				p.Points = append(p.Points, c)
			}
			p.Previous = pred
		}
		start := time.Now()
		next, err := seg.Segment(ctx, img, p, nil)
		if err != nil {
			return res, fmt.Errorf("step %d: %w", step, err)
		}
		if len(next) != img.Len() {
			return res, fmt.Errorf("step %d: %s returned %d voxels for %d", step, seg.Name(), len(next), img.Len())
		}
		pred = next
		res.Steps = append(res.Steps, Step{Click: click, Dice: Dice(pred, target), Seconds: time.Since(start).Seconds()})
	}
	res.FinalDice = res.Steps[len(res.Steps)-1].Dice
	res.DSCAUC, res.DSCAUCNormalized = auc(res.Steps, clicks)
	return res, nil
}

func auc(steps []Step, clicks int) (area, normalized float64) {
	if clicks == 0 {
		return 0, steps[0].Dice
	}
	d := steps[1:]
	if clicks == 1 {
		return 0, d[0].Dice
	}
	for i := 1; i < len(d); i++ {
		area += (d[i-1].Dice + d[i].Dice) / 2
	}
	return area, area / float64(clicks-1)
}

// Dice is 2|A∩B|/(|A|+|B|) of two masks (nonzero = inside); two empty
// masks agree perfectly.
func Dice(a, b []uint8) float64 {
	var inter, na, nb int
	for n := range a {
		x, y := a[n] != 0, b[n] != 0
		if x {
			na++
		}
		if y {
			nb++
		}
		if x && y {
			inter++
		}
	}
	if na+nb == 0 {
		return 1
	}
	return 2 * float64(inter) / float64(na+nb)
}

// BoundingBox is the smallest box holding every nonzero voxel of mask;
// false when there is none.
func BoundingBox(mask []uint8, dims [3]int) (infer.Box, bool) {
	lo, hi, n := morph.Bounds(mask, dims)
	return infer.Box{Min: lo, Max: hi}, n > 0
}

// NextClick is the challenge's simulated click: in the largest
// 26-connected region where pred and target disagree, the voxel farthest
// (in mm, the grid border counting as boundary) from the region's
// boundary; positive when the target is there (a miss), negative when not
// (a spill). Ties go to the first voxel in storage order, where the
// challenge draws one at random with a fixed seed. False when pred is
// perfect.
func NextClick(pred, target []uint8, dims [3]int, spacing [3]float64) (infer.Point, bool) {
	errMask := make([]uint8, len(target))
	for n := range target {
		if (pred[n] != 0) != (target[n] != 0) {
			errMask[n] = 1
		}
	}
	labels, sizes := morph.Components(errMask, dims, morph.Corners)
	if len(sizes) == 0 {
		return infer.Point{}, false
	}
	largest := 0
	for l, s := range sizes {
		if s > sizes[largest] {
			largest = l
		}
	}
	want := int32(largest + 1)
	region := make([]uint8, len(target))
	for n, l := range labels {
		if l == want {
			region[n] = 1
		}
	}
	// The region's own box, padded by one voxel of background, bounds the
	// transform: the result inside the region is the same.
	box, _ := BoundingBox(region, dims)
	var cd [3]int
	for a := range 3 {
		cd[a] = box.Max[a] - box.Min[a] + 1
	}
	crop := make([]uint8, cd[0]*cd[1]*cd[2])
	c := 0
	for k := box.Min[2]; k <= box.Max[2]; k++ {
		for j := box.Min[1]; j <= box.Max[1]; j++ {
			o := box.Min[0] + dims[0]*(j+dims[1]*k)
			c += copy(crop[c:], region[o:o+cd[0]])
		}
	}
	dist := morph.EDT(crop, cd, spacing, true)
	best := -1
	for n, d := range dist {
		if crop[n] != 0 && (best < 0 || d > dist[best]) {
			best = n
		}
	}
	i := box.Min[0] + best%cd[0]
	j := box.Min[1] + (best/cd[0])%cd[1]
	k := box.Min[2] + best/(cd[0]*cd[1])
	return infer.Point{I: i, J: j, K: k, Positive: target[i+dims[0]*(j+dims[1]*k)] != 0}, true
}
