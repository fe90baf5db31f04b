#!/usr/bin/env bash
# Times the surfaces of every segment of a 512x512x300 label map (built by
# mesh's BenchmarkSurfaces from the bundled sample: 61 structures) with
# segvol's mesh package and with VTK's vtkDiscreteFlyingEdges3D +
# vtkWindowedSincPolyDataFilter (Debian's python3-vtk9), which is what 3D
# Slicer runs, on the same map in the same run. Prints the ratio (target:
# ours <= 1 x VTK), the triangle counts and enclosed volumes side by side,
# and our memory (target: all surfaces within 200 MB): the meshes, the peak
# heap of a build (MB-meshes, MB-peak-heap) and the whole process's RSS.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3 # Debian's python, where python3-vtk9 and nibabel live
dir=${SEGVOL_BENCH_DIR:-${TMPDIR:-/tmp}/segvol-bench}/mesh
mkdir -p "$dir"
cd "$root"
go test -c -o "$dir/mesh.test" ./mesh/
cd mesh # the benchmark reads the sample relative to its package

# Ours, best of 3; the first run writes the map and our per-label numbers.
out=$(SEGVOL_BENCH_MESH_DIR=$dir "$dir/mesh.test" -test.run '^$' -test.bench '^BenchmarkSurfaces$' -test.benchtime 1x -test.count 3 -test.benchmem)
echo "$out" | grep Benchmark
go_s=$(echo "$out" | awk '/^BenchmarkSurfaces/ { s = $3 / 1e9; if (best == "" || s < best) best = s } END { printf "%.3f", best }')
peak=""
if [ -x /usr/bin/time ]; then
	peak=$(/usr/bin/time -v "$dir/mesh.test" -test.run '^$' -test.bench '^BenchmarkSurfaces$' -test.benchtime 1x 2>&1 >/dev/null |
		awk '/Maximum resident set size/ { printf "%.0f", $6 / 1024 }')
fi

# VTK, best of 2, on the same map; each segment as Slicer converts it:
# its box padded with one voxel of background (so the surface closes),
# discrete flying edges, windowed sinc with Slicer's settings for
# smoothing 0.5, point normals. The boxes are found before the clock runs.
"$py" - "$dir/map.nii.gz" "$dir/vtk.json" <<'PY'
import json, sys, time
import nibabel as nib
import numpy as np
import vtk
from vtk.util.numpy_support import numpy_to_vtk

src, out = sys.argv[1:3]
img = nib.load(src)
a = np.asarray(img.dataobj, dtype=np.uint8)
spacing = np.sqrt((img.affine[:3, :3] ** 2).sum(axis=0))
image = vtk.vtkImageData()
image.SetDimensions(*a.shape)
image.SetSpacing(*spacing)
image.GetPointData().SetScalars(numpy_to_vtk(a.ravel(order="F"), deep=True))

boxes = {}
for v in np.unique(a):
    if v == 0:
        continue
    box = []
    m = a == v
    for axis in range(3):
        other = tuple(x for x in range(3) if x != axis)
        idx = np.nonzero(m.any(axis=other))[0]
        box += [int(idx[0]), int(idx[-1])]
    boxes[int(v)] = box
del m

def surface(v, box):
    voi = vtk.vtkExtractVOI()
    voi.SetInputData(image)
    voi.SetVOI(*box)
    pad = vtk.vtkImageConstantPad()
    pad.SetInputConnection(voi.GetOutputPort())
    pad.SetOutputWholeExtent(box[0] - 1, box[1] + 1, box[2] - 1, box[3] + 1, box[4] - 1, box[5] + 1)
    pad.SetConstant(0)
    fe = vtk.vtkDiscreteFlyingEdges3D()
    fe.SetInputConnection(pad.GetOutputPort())
    fe.SetValue(0, v)
    fe.ComputeNormalsOff()
    fe.ComputeGradientsOff()
    fe.ComputeScalarsOff()
    sm = vtk.vtkWindowedSincPolyDataFilter()
    sm.SetInputConnection(fe.GetOutputPort())
    sm.SetNumberOfIterations(20)
    sm.SetPassBand(10 ** (-4 * 0.5))
    sm.BoundarySmoothingOff()
    sm.FeatureEdgeSmoothingOff()
    sm.NonManifoldSmoothingOn()
    sm.NormalizeCoordinatesOn()
    nm = vtk.vtkPolyDataNormals()
    nm.SetInputConnection(sm.GetOutputPort())
    nm.ComputePointNormalsOn()
    nm.SplittingOff()
    nm.Update()
    return nm.GetOutput()

best = 1e9
for _ in range(2):
    t = time.perf_counter()
    polys = {v: surface(v, b) for v, b in boxes.items()}
    best = min(best, time.perf_counter() - t)
rows = {}
for v, p in polys.items():
    mp = vtk.vtkMassProperties()
    mp.SetInputData(p)
    mp.Update()
    rows[v] = {"Triangles": p.GetNumberOfPolys(), "Volume": mp.GetVolume()}
backend = vtk.vtkSMPTools.GetBackend() if hasattr(vtk.vtkSMPTools, "GetBackend") else "?"
json.dump({"seconds": best, "backend": backend, "threads": vtk.vtkSMPTools.GetEstimatedNumberOfThreads(), "labels": rows}, open(out, "w"))
PY

"$py" - "$dir/go.json" "$dir/vtk.json" "$go_s" "${peak:-}" <<'PY'
import json, sys
ours = {int(k): v for k, v in json.load(open(sys.argv[1])).items()}
peer = json.load(open(sys.argv[2]))
theirs = {int(k): v for k, v in peer["labels"].items()}
go_s, peak = float(sys.argv[3]), sys.argv[4]
print(f"{'label':>5} {'voxels mL':>10} {'segvol tris':>12} {'VTK tris':>10} {'segvol mL':>10} {'VTK mL':>10} {'segvol/vox':>10} {'VTK/vox':>8}")
for v in sorted(set(ours) | set(theirs)):
    o, t = ours.get(v), theirs.get(v)
    if o is None or t is None:
        print(f"{v:5d} only in {'segvol' if o else 'VTK'}")
        continue
    print(f"{v:5d} {o['Voxels']/1e3:10.2f} {o['Triangles']:12d} {t['Triangles']:10d} {o['Volume']/1e3:10.2f} {t['Volume']/1e3:10.2f} "
          f"{o['Volume']/o['Voxels']:10.4f} {t['Volume']/o['Voxels']:8.4f}")
to, tt = sum(o["Triangles"] for o in ours.values()), sum(t["Triangles"] for t in theirs.values())
print(f"labels: segvol {len(ours)}, VTK {len(theirs)}; triangles: segvol {to}, VTK {tt}")
print(f"VTK (SMP backend {peer['backend']}, {peer['threads']} threads), best of 2: {peer['seconds']:.3f} s")
print(f"segvol mesh.Extract, best of 3:                 {go_s:.3f} s")
print(f"ratio segvol/VTK: {go_s / peer['seconds']:.3f} (target <= 1)")
if peak:
    print(f"peak RSS of one build (whole benchmark binary, the 75 MiB map and its making included): {peak} MB (target: surfaces within 200 MB)")
PY
