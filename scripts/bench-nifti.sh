#!/usr/bin/env bash
# Times reading a 512x512x300 int16 CT .nii.gz with nibabel (the peer) and
# with viewer/nifti, on the same file in the same run, and prints the ratio
# (target: ours <= 0.5 x nibabel) and our peak memory.
#
# The file is made from real data: the 512x512x20 TotalSegmentator CT
# (dcm2niix conversion) linearly interpolated along z to 300 slices, so it
# compresses like a real CT. It is cached in $SEGVOL_BENCH_DIR.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3 # Debian's python, where python3-nibabel lives
src=${SEGVOL_BENCH_SRC:-$root/../shared/data/totalsegmentator/ref_dcm2niix_debian_example_ct_dicom/0_FDG_TK_KM.nii.gz}
dir=${SEGVOL_BENCH_DIR:-${TMPDIR:-/tmp}/segvol-bench}
nii=$dir/ct_512x512x300_int16.nii.gz
mkdir -p "$dir"

if [ ! -s "$nii" ]; then
	[ -f "$src" ] || { echo "bench-nifti: source CT $src not found" >&2; exit 1; }
	echo "generating $nii from $src"
	"$py" - "$src" "$nii" <<'PY'
import gzip, sys
import nibabel as nib
import numpy as np
src, out = sys.argv[1:3]
img = nib.load(src)
raw = np.asanyarray(img.dataobj.get_unscaled()).astype(np.float32)
nz = 300
z = np.linspace(0, raw.shape[2] - 1, nz)
k0 = np.floor(z).astype(int)
k1 = np.minimum(k0 + 1, raw.shape[2] - 1)
w = (z - k0).astype(np.float32)
vol = np.empty(raw.shape[:2] + (nz,), np.int16)
for k in range(nz):
    vol[:, :, k] = np.rint(raw[:, :, k0[k]] * (1 - w[k]) + raw[:, :, k1[k]] * w[k])
aff = img.affine.copy()
aff[:3, 2] *= (raw.shape[2] - 1) / (nz - 1)
hdr = img.header.copy()
hdr.set_data_dtype(np.int16)
new = nib.Nifti1Image(vol, aff, hdr)
new.header.set_slope_inter(*img.header.get_slope_inter())
with gzip.open(out + ".tmp", "wb", compresslevel=6) as f:  # level 6 like dcm2niix and pigz
    f.write(new.to_bytes())
import os
os.replace(out + ".tmp", out)
PY
fi
ls -l "$nii"

# The issue's measure is np.asanyarray(dataobj), which also applies the
# rescale (a float array); the unscaled int16 load is timed too, for honesty.
read -r nib_s nib_raw_s < <("$py" - "$nii" <<'PY'
import sys, time
import nibabel as nib
import numpy as np
def best(load):
    b = 1e9
    for _ in range(3):
        t = time.perf_counter()
        a = load()
        b = min(b, time.perf_counter() - t)
        del a
    return b
f = sys.argv[1]
print(f"{best(lambda: np.asanyarray(nib.load(f).dataobj)):.4f}",
      f"{best(lambda: np.asanyarray(nib.load(f).dataobj.get_unscaled())):.4f}")
PY
)

cd "$root"
go test -c -o "$dir/nifti.test" ./viewer/nifti/
out=$(SEGVOL_BENCH_NII=$nii "$dir/nifti.test" -test.run '^$' -test.bench '^BenchmarkRead$' -test.benchtime 3x -test.count 3 -test.benchmem)
echo "$out" | grep Benchmark
go_s=$(echo "$out" | awk '/^BenchmarkRead/ { s = $3 / 1e9; if (best == "" || s < best) best = s } END { printf "%.4f", best }')

peak=""
if [ -x /usr/bin/time ]; then
	peak=$(SEGVOL_BENCH_NII=$nii /usr/bin/time -v "$dir/nifti.test" -test.run '^$' -test.bench '^BenchmarkRead$' -test.benchtime 1x 2>&1 >/dev/null |
		awk '/Maximum resident set size/ { printf "%.0f", $6 / 1024 }')
fi

echo "nibabel np.asanyarray(dataobj), best of 3:  ${nib_s} s"
echo "nibabel dataobj.get_unscaled(), best of 3:  ${nib_raw_s} s"
echo "segvol nifti.Read, best of 3x3:             ${go_s} s"
awk -v g="$go_s" -v n="$nib_s" -v r="$nib_raw_s" 'BEGIN {
	printf "ratio segvol/nibabel:           %.3f (target <= 0.5)\n", g / n
	printf "ratio segvol/nibabel unscaled:  %.3f\n", g / r }'
if [ -n "$peak" ]; then
	echo "peak RSS of one read (whole test binary): ${peak} MB (voxels 150 MiB; target <= 1.5x + 100 MB = 325 MB)"
fi
