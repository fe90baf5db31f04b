#!/usr/bin/env bash
# Times DICOM-to-memory loading of the 120-slice MR series against
# dcm2niix -z n converting the same folder, in the same run, and prints the
# ratio (ours / dcm2niix; the goal is <= 1.0) and our peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:-../shared/data/niivue_vsseg_mr_dicom/dicom}
[ -d "$SRC" ] || { echo "bench-dicom: $SRC absent, nothing to compare" >&2; exit 0; }
command -v dcm2niix >/dev/null || { echo "bench-dicom: dcm2niix not installed" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Warm the page cache for both tools alike.
cat "$SRC"/* > /dev/null

best=
for i in 1 2 3; do
  rm -rf "$tmp/out"; mkdir "$tmp/out"
  s=$(date +%s.%N)
  dcm2niix -z n -o "$tmp/out" -f out "$SRC" > /dev/null
  e=$(date +%s.%N)
  t=$(echo "$e - $s" | bc)
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
echo "dcm2niix -z n: best of 3 = ${best} s"

go test -c -o "$tmp/dicom.test" ./viewer/dicom/
cd viewer/dicom # the tests find their data relative to the package folder
ns=$("$tmp/dicom.test" -test.run '^$' -test.bench '^BenchmarkLoadVSSeg$' -test.benchtime 5x -test.benchmem \
  | awk '/^BenchmarkLoadVSSeg/ {print $3}')
ours=$(echo "scale=4; $ns / 1000000000" | bc)
echo "segvol Scan+Load: ${ours} s/op (GOMAXPROCS=$(nproc))"
echo "ratio ours/dcm2niix = $(echo "scale=3; $ours / $best" | bc)"

/usr/bin/time -v "$tmp/dicom.test" -test.run '^TestLoadPeakMemory$' -test.v 2> "$tmp/time.txt" | grep -E 'peak heap|PASS|FAIL' || true
grep 'Maximum resident' "$tmp/time.txt" | sed 's/^\s*/peak RSS of the test binary (whole process): /'
